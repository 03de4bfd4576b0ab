// Feed entries: each member's signed, hash-chained log in a room.
//
// An entry names its room, author, sequence number and the id of the author's previous entry, so
// a member's feed is a chain nobody can reorder, shorten in the middle or splice. Ids and
// signatures use distinct domain tags so an entry id can never be mistaken for a signed message.
import { encodeCanonical, hashCanonical } from './canonical.js';
import { concatBytes, fromBase64Url, hash, sign, toBase64Url, toHex, utf8, verify } from './crypto.js';
import { type EntryBody, type RoomDefinition, type SignedEntry, type UnsignedEntry } from './room.js';

export const entryFormat = 'cleanroom-entry/1';
const entryIdTag = 'cleanroom/entry/v1\n';
const entrySignatureTag = 'cleanroom/entry-signature/v1\n';

/** The room id: hex BLAKE2b-256 of the definition's canonical encoding. */
export function roomIdOf(definition: RoomDefinition): string {
  return hashCanonical(definition);
}

/** An entry's id: hex BLAKE2b-256 of a domain tag and its canonical encoding. */
export function entryId(entry: UnsignedEntry): string {
  return toHex(hash(concatBytes(utf8(entryIdTag), encodeCanonical(entry))));
}

/** The next entry in `author`'s feed after `previous` (null: the first). */
export function nextEntry(room: string, author: string, previous: SignedEntry | null, body: EntryBody, at: Date): UnsignedEntry {
  return {
    format: entryFormat,
    room,
    author,
    seq: previous ? previous.entry.seq + 1 : 1,
    prev: previous ? entryId(previous.entry) : null,
    at: at.toISOString(),
    body,
  };
}

function signedMessage(entry: UnsignedEntry): Uint8Array {
  return concatBytes(utf8(entrySignatureTag), encodeCanonical(entry));
}

export function signEntry(entry: UnsignedEntry, signSecretKey: Uint8Array): SignedEntry {
  return { entry, signature: toBase64Url(sign(signedMessage(entry), signSecretKey)) };
}

/** True when the signature is entry.author's over this exact entry. Never throws. */
export function verifyEntrySignature(signed: SignedEntry): boolean {
  let publicKey: Uint8Array;
  let signature: Uint8Array;
  let message: Uint8Array;
  try {
    publicKey = fromBase64Url(signed.entry.author);
    signature = fromBase64Url(signed.signature);
    message = signedMessage(signed.entry);
  } catch {
    return false;
  }
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  return verify(signature, message, publicKey);
}
