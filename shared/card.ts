// Identity cards: the file a person hands over so others can invite them.
//
// A card is canonical JSON (plus an optional trailing newline) carrying the alias, both public
// keys, the fingerprint and sharing identifier derived from them, and a self-signature by the
// card's signing key over a domain tag and the rest of the card. The signature proves the sender
// holds the secret key; the fingerprint, compared by phone, proves the keys are the right ones.
import { canonicalString, decodeCanonical, encodeCanonical, strictUtf8Text } from './canonical.js';
import { concatBytes, fingerprintOf, fromBase64Url, sign, toBase64Url, utf8, verify } from './crypto.js';
import { CleanroomError } from './errors.js';
import { aliasSchema, type IdentityPublic } from './identity.js';
import { timestampSchema } from './primitives.js';
import { type Infer, literal, object, parse, string } from './validate.js';

export const cardFormat = 'cleanroom-card/1';
export const cardFileExtension = '.cleanroom-card';
/** Cards are a few hundred bytes; anything larger is refused before it is parsed. */
export const maxCardBytes = 4096;

const cardSignatureTag = 'cleanroom/card/v1\n';

const base64urlField = (what: string, length: number) =>
  string({ min: length, max: length, pattern: /^[A-Za-z0-9_-]+$/, patternMessage: `${what} must be base64url` });

export const identityCardSchema = object({
  format: literal(cardFormat),
  alias: aliasSchema,
  /** Ed25519 public key, base64url (32 bytes). */
  signPublicKey: base64urlField('signPublicKey', 43),
  /** X25519 public key, base64url (32 bytes). */
  boxPublicKey: base64urlField('boxPublicKey', 43),
  fingerprint: string({ min: 64, max: 64, pattern: /^[0-9a-f]+$/, patternMessage: 'fingerprint must be 64 lowercase hex digits' }),
  sharingId: string({ min: 20, max: 20, pattern: /^[0-9A-HJKMNP-TV-Z]+$/, patternMessage: 'sharingId must be 20 Crockford base32 characters' }),
  createdAt: timestampSchema,
  /** Ed25519 by signPublicKey over the card signature tag and the canonical card without this field. */
  signature: base64urlField('signature', 86),
});
export type IdentityCard = Infer<typeof identityCardSchema>;

type UnsignedCard = Omit<IdentityCard, 'signature'>;

function signedMessage(card: UnsignedCard): Uint8Array {
  const { format, alias, signPublicKey, boxPublicKey, fingerprint, sharingId, createdAt } = card;
  return concatBytes(utf8(cardSignatureTag), encodeCanonical({ format, alias, signPublicKey, boxPublicKey, fingerprint, sharingId, createdAt }));
}

/**
 * Decodes base64url, refusing any spelling other than the one toBase64Url writes: otherwise one
 * key could appear under two strings and be counted as two people.
 */
export function decodeCanonicalBase64Url(text: string): Uint8Array | null {
  let decoded: Uint8Array;
  try {
    decoded = fromBase64Url(text);
  } catch {
    return null;
  }
  return toBase64Url(decoded) === text ? decoded : null;
}

/** A card for this identity, self-signed with its signing key. */
export function makeCard(identity: IdentityPublic, signSecretKey: Uint8Array): IdentityCard {
  const unsigned: UnsignedCard = {
    format: cardFormat,
    alias: identity.alias,
    signPublicKey: identity.signPublicKey,
    boxPublicKey: identity.boxPublicKey,
    fingerprint: identity.fingerprint,
    sharingId: identity.sharingId,
    createdAt: identity.createdAt,
  };
  return { ...unsigned, signature: toBase64Url(sign(signedMessage(unsigned), signSecretKey)) };
}

/** The card file's text. */
export function encodeCard(card: IdentityCard): string {
  return `${canonicalString(card)}\n`;
}

function refuse(reason: string): never {
  throw new CleanroomError('BAD_CARD', reason);
}

/**
 * Why a card file is refused before it is read, or null: the size is the file's own, since the
 * text a host would hand to parseCard can be longer (a non-UTF-8 byte becomes three).
 */
export function cardFileSizeProblem(fileName: string, size: number): string | null {
  if (size === 0) return `${fileName} is empty.`;
  return size > maxCardBytes ? `${fileName} is too large to be an identity card (${size} bytes; at most ${maxCardBytes}).` : null;
}

/** A card file's text from its bytes, or why it cannot be a card (too large, or not UTF-8 text). */
export function cardFileText(fileName: string, bytes: Uint8Array): { ok: true; text: string } | { ok: false; reason: string } {
  const tooLarge = cardFileSizeProblem(fileName, bytes.length);
  if (tooLarge !== null) return { ok: false, reason: tooLarge };
  const text = strictUtf8Text(bytes);
  return text === null ? { ok: false, reason: `${fileName} is not an identity card: it is not UTF-8 text.` } : { ok: true, text };
}

/** Parses and checks a card file; CleanroomError('BAD_CARD', reason) when anything is off. */
export function parseCard(text: string): IdentityCard {
  const size = utf8(text).length;
  if (size > maxCardBytes) refuse(`card is too large (${size} bytes; at most ${maxCardBytes})`);
  // Editors and mail clients add line endings; that is the only slack. The JSON itself must be
  // the canonical form, so the text a person reads is exactly the text that was signed.
  const body = text.replace(/[ \t\r\n]+$/, '');
  let value: unknown;
  try {
    value = decodeCanonical(utf8(body), 'card', { maxBytes: maxCardBytes, maxDepth: 2 });
  } catch (error) {
    if (error instanceof CleanroomError) refuse(error.message);
    throw error;
  }
  const checked = parse(identityCardSchema, value);
  if (!checked.ok) refuse(checked.issue.path === '' ? checked.issue.message.replace(/^value /, 'card ') : checked.issue.message);
  const card = checked.value;

  const signKey = decodeCanonicalBase64Url(card.signPublicKey);
  const boxKey = decodeCanonicalBase64Url(card.boxPublicKey);
  if (signKey === null || signKey.length !== 32) refuse('signPublicKey is not a 32-byte base64url key');
  if (boxKey === null || boxKey.length !== 32) refuse('boxPublicKey is not a 32-byte base64url key');
  const expected = fingerprintOf(signKey, boxKey);
  if (card.fingerprint !== expected.fingerprint || card.sharingId !== expected.sharingId) {
    refuse("fingerprint does not match the card's keys");
  }
  const signature = decodeCanonicalBase64Url(card.signature);
  if (signature === null || !verify(signature, signedMessage(card), signKey)) refuse('signature does not match');
  return card;
}

const windowsReservedNames = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/;

/** "st-mary-hospital.cleanroom-card" */
export function cardFileName(alias: string): string {
  let slug = alias
    .normalize('NFC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '');
  if (slug === '') slug = 'identity';
  if (windowsReservedNames.test(slug)) slug = `${slug}-card`;
  return `${slug}${cardFileExtension}`;
}
