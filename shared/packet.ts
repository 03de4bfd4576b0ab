// Packets: the .cleanroom files members carry between machines. docs/packets.md is the
// specification; this file is its reference implementation.
//
//   magic "CLRMPKT1" | u32be header length | header (canonical JSON) | Ed25519 signature (64)
//   | chunkCount frames of (u32be length | secretstream ciphertext)
//   | (cleanroom-packet/2 only) each payload's bytes, in header order | end of file
//
// The signature covers the header, and the header carries a hash of every frame byte and of every
// payload, so the sender's signature covers the whole file. Reading checks sizes first, then the
// signature, then the hashes, and only then decrypts: nothing an attacker controls reaches a parser
// of any depth (beyond the bounded canonical header) until the sender's signature has been verified.
//
// Payloads can be far larger than memory, so everything here also works from a file's first bytes
// and its size (readPacketEnvelope, readPacketLayout, openPacketContents): the payload bytes are
// never needed here, and electron/core/packet-stream.ts streams them from the file.
import { decodeCanonical, encodeCanonical } from './canonical.js';
import {
  concatBytes,
  createHasher,
  createSecretStreamDecryptor,
  createSecretStreamEncryptor,
  fromBase64Url,
  hash,
  openSealedBox,
  randomBytes,
  sealedBoxOverheadBytes,
  sealToBoxKey,
  secretStreamHeaderBytes,
  secretStreamKeyBytes,
  secretStreamOverheadBytes,
  sign,
  signatureBytes,
  signPublicKeyOf,
  toBase64Url,
  toHex,
  utf8,
  verify,
  wipe,
} from './crypto.js';
import { type AssetDescriptor } from './asset.js';
import { CleanroomError } from './errors.js';
import { aliasSchema } from './identity.js';
import {
  boxPublicKeySchema,
  hashHexSchema,
  memberRefSchema,
  type MemberRef,
  type SignedEntry,
  signedEntrySchema,
  signPublicKeySchema,
  timestampSchema,
} from './room.js';
import { array, type Infer, integer, type Issue, object, oneOf, parse, refine, type Schema, string } from './validate.js';

export const packetFileExtension = '.cleanroom';

/**
 * Whether a folder importer should pick up this file name: a `.cleanroom` file that is not hidden
 * and not a write in progress (writers use a hidden `.<name>.partial`; other tools use `.tmp`).
 */
export function isPacketFileName(name: string): boolean {
  const lower = name.toLowerCase();
  if (name.startsWith('.') || lower.endsWith('.partial') || lower.endsWith('.tmp')) return false;
  return lower.endsWith(packetFileExtension);
}

/** The first 8 bytes of every packet. The digit changes only if the envelope layout changes. */
export const packetMagic = 'CLRMPKT1';
/** Feed entries only. Still written when a packet carries no payloads, so older readers read it. */
export const packetFormat = 'cleanroom-packet/1';
/** Feed entries, then asset payloads after the frames (docs/packets.md §16). */
export const packetFormatV2 = 'cleanroom-packet/2';
export const packetFormats = [packetFormat, packetFormatV2] as const;
export type PacketFormat = (typeof packetFormats)[number];
/** Domain tag prefixed to the header bytes before signing, so no other signed object can pass as one. */
export const packetSignatureContext = 'cleanroom/packet/v1\n';

export const packetLimits = {
  /** Whole file; checked before anything else is read. */
  maxPacketBytes: 64 * 1024 * 1024,
  /** The header length field must be 1..maxHeaderBytes. */
  maxHeaderBytes: 65_536,
  /** Plaintext bytes per chunk (every chunk but the last is exactly this long). */
  minChunkSize: 64,
  maxChunkSize: 1024 * 1024,
  defaultChunkSize: 64 * 1024,
  maxRecipients: 16,
  maxEntries: 65_536,
  /** Payloads per packet (cleanroom-packet/2): a snapshot references at most 200 assets. */
  maxPayloads: 256,
  /** Bytes per payload: 1 TiB. The whole file is then at most maxPacketBytes + 256 TiB, a safe integer. */
  maxPayloadBytes: 2 ** 40,
} as const;

const magicBytes = utf8(packetMagic);
const magicLength = 8;
const lengthFieldBytes = 4;
/** Bytes before the header: magic and the header length field. */
const headerOffset = magicLength + lengthFieldBytes;
/**
 * The first bytes of a file that always hold the magic, the length field, the largest allowed
 * header and the signature: a streaming reader reads this much (or the whole file, if shorter) to
 * call readPacketEnvelope.
 */
export const packetPrologueBytes = headerOffset + packetLimits.maxHeaderBytes + signatureBytes;

// ---- Header schema ------------------------------------------------------------------------------

/**
 * base64url without padding that decodes to exactly `bytes` bytes and re-encodes to itself. The
 * last check refuses strings whose unused trailing bits are set, so each key has one spelling.
 */
function isCanonicalBase64Url(text: string, bytes: number): boolean {
  try {
    const decoded = fromBase64Url(text);
    return decoded.length === bytes && toBase64Url(decoded) === text;
  } catch {
    return false;
  }
}

const base64UrlLength = (bytes: number): number => Math.ceil((bytes * 4) / 3);

function base64UrlBytesSchema(what: string, bytes: number): Schema<string> {
  const length = base64UrlLength(bytes);
  return refine(string({ min: length, max: length, pattern: /^[A-Za-z0-9_-]+$/, patternMessage: `${what} must be base64url` }), (text) =>
    isCanonicalBase64Url(text, bytes) ? null : `${what} is not the canonical base64url of ${bytes} bytes`,
  );
}

const canonicalKeysRule = (member: { signPublicKey: string; boxPublicKey: string }): string | null => {
  if (!isCanonicalBase64Url(member.signPublicKey, 32)) return 'signPublicKey is not the canonical base64url of 32 bytes';
  if (!isCanonicalBase64Url(member.boxPublicKey, 32)) return 'boxPublicKey is not the canonical base64url of 32 bytes';
  return null;
};

const contentKeySealedBytes = secretStreamKeyBytes + sealedBoxOverheadBytes;

const packetRecipientSchema = refine(
  object({
    alias: aliasSchema,
    signPublicKey: signPublicKeySchema,
    boxPublicKey: boxPublicKeySchema,
    /** crypto_box_seal(contentKey, boxPublicKey): 32 + 48 bytes. */
    sealedKey: base64UrlBytesSchema('sealedKey', contentKeySealedBytes),
  }),
  canonicalKeysRule,
);

function unique<T>(items: readonly T[], key: (item: T) => string): boolean {
  return new Set(items.map(key)).size === items.length;
}

/** Frames the stream must have: every chunk but the last holds exactly chunkSize bytes. */
const expectedChunkCount = (plaintextLength: number, chunkSize: number): number => Math.ceil(plaintextLength / chunkSize);

const streamSchema = refine(
  object({
    /** The 24-byte secretstream header from init_push. */
    header: base64UrlBytesSchema('stream.header', secretStreamHeaderBytes),
    chunkSize: integer({ min: packetLimits.minChunkSize, max: packetLimits.maxChunkSize }),
    chunkCount: integer({ min: 1, max: Math.ceil(packetLimits.maxPacketBytes / packetLimits.minChunkSize) }),
    plaintextLength: integer({ min: 1, max: packetLimits.maxPacketBytes }),
    /** BLAKE2b-256 over every frame byte, length prefixes included. */
    cipherHash: hashHexSchema,
  }),
  (stream) => {
    const expected = expectedChunkCount(stream.plaintextLength, stream.chunkSize);
    return stream.chunkCount === expected
      ? null
      : `stream.chunkCount must be ${expected} for plaintextLength ${stream.plaintextLength} and chunkSize ${stream.chunkSize}`;
  },
);

const headerFields = {
  room: hashHexSchema,
  sender: refine(memberRefSchema, canonicalKeysRule),
  recipients: refine(array(packetRecipientSchema, { min: 1, max: packetLimits.maxRecipients }), (recipients) => {
    if (!unique(recipients, (r) => r.signPublicKey)) return 'recipients must not list a signPublicKey twice';
    if (!unique(recipients, (r) => r.boxPublicKey)) return 'recipients must not list a boxPublicKey twice';
    return null;
  }),
  createdAt: timestampSchema,
  stream: streamSchema,
};

export const packetHeaderSchema = object({ format: oneOf([packetFormat]), ...headerFields });

/** One payload in a cleanroom-packet/2 header: which asset, and the signed hash and size of its bytes. */
export const packetPayloadRefSchema = object({
  /** The asset id: hashCanonical(descriptor) of its asset.added entry. */
  asset: hashHexSchema,
  /** hex BLAKE2b-256 of the payload bytes (the encrypted payload file, as the descriptor says). */
  hash: hashHexSchema,
  size: integer({ min: 1, max: packetLimits.maxPayloadBytes }),
});
export type PacketPayloadRef = Infer<typeof packetPayloadRefSchema>;

const payloadRefsSchema = refine(array(packetPayloadRefSchema, { min: 1, max: packetLimits.maxPayloads }), (payloads) => {
  if (!unique(payloads, (p) => p.asset)) return 'payloads must not list an asset twice';
  if (!unique(payloads, (p) => p.hash)) return 'payloads must not list a hash twice';
  return null;
});

export const packetHeaderV2Schema = object({ format: oneOf([packetFormatV2]), ...headerFields, payloads: payloadRefsSchema });

/** The header exactly as it is in the file, sealed keys, stream and payload descriptions included. */
export type PacketWireHeader = Infer<typeof packetHeaderSchema> | Infer<typeof packetHeaderV2Schema>;

/** The plaintext inside the stream. Closed: a field this version does not know is refused. */
const entriesSchema = array(signedEntrySchema, { max: packetLimits.maxEntries });
export const packetBodySchema = object({ entries: entriesSchema });

// ---- Public types (what callers see) ------------------------------------------------------------

export interface PacketHeader {
  readonly format: PacketFormat;
  readonly room: string;
  readonly sender: MemberRef;
  readonly recipients: readonly MemberRef[];
  readonly createdAt: string;
  /** The payloads after the frames, in file order; empty for cleanroom-packet/1. */
  readonly payloads: readonly PacketPayloadRef[];
}

export interface PacketContents {
  readonly entries: readonly SignedEntry[];
}

export interface EncodePacketOptions {
  readonly room: string;
  readonly sender: MemberRef;
  readonly signSecretKey: Uint8Array;
  readonly recipients: readonly MemberRef[];
  readonly entries: readonly SignedEntry[];
  readonly createdAt: Date;
  /** Plaintext bytes per chunk; small values are for tests of chunk handling. */
  readonly chunkSize?: number;
  /** Payload bytes to carry after the frames (cleanroom-packet/2); in memory, so small ones only. */
  readonly payloads?: readonly { readonly asset: string; readonly bytes: Uint8Array }[];
}

/** What encodePacketHead needs: the payloads by reference; their bytes are appended by the caller. */
export interface EncodePacketHeadOptions extends Omit<EncodePacketOptions, 'payloads'> {
  readonly payloads?: readonly PacketPayloadRef[];
}

function publicHeader(wire: PacketWireHeader): PacketHeader {
  return {
    format: wire.format,
    room: wire.room,
    sender: { alias: wire.sender.alias, signPublicKey: wire.sender.signPublicKey, boxPublicKey: wire.sender.boxPublicKey },
    recipients: wire.recipients.map((r) => ({ alias: r.alias, signPublicKey: r.signPublicKey, boxPublicKey: r.boxPublicKey })),
    createdAt: wire.createdAt,
    payloads: wire.format === packetFormatV2 ? wire.payloads.map((p) => ({ asset: p.asset, hash: p.hash, size: p.size })) : [],
  };
}

// ---- Pure byte helpers (also used by tests to cut and splice packets) ---------------------------

function u32be(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, false);
  return out;
}

function readU32be(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset + offset, 4).getUint32(0, false);
}

/** The bytes the sender signs: the domain tag, then the header bytes. */
export const packetSignedMessage = (headerBytes: Uint8Array): Uint8Array => concatBytes(utf8(packetSignatureContext), headerBytes);

export const signPacketHeader = (headerBytes: Uint8Array, signSecretKey: Uint8Array): Uint8Array =>
  sign(packetSignedMessage(headerBytes), signSecretKey);

/** One frame on disk: u32be length, then the secretstream ciphertext. */
export const encodeFrame = (ciphertext: Uint8Array): Uint8Array => concatBytes(u32be(ciphertext.length), ciphertext);

/** header.stream.cipherHash: hex BLAKE2b-256 over all frame bytes, length prefixes included. */
export const cipherHashOf = (frameBytes: Uint8Array): string => toHex(hash(frameBytes));

/** magic | u32be header length | header | signature | frames. No checks: tests build bad packets with it. */
export function assemblePacket(headerBytes: Uint8Array, signature: Uint8Array, frameBytes: Uint8Array): Uint8Array {
  return concatBytes(magicBytes, u32be(headerBytes.length), headerBytes, signature, frameBytes);
}

/** Ciphertext length of frame `index` (0-based) for a stream description that passed the schema. */
export function expectedFrameLength(stream: PacketWireHeader['stream'], index: number): number {
  const plain = index < stream.chunkCount - 1 ? stream.chunkSize : stream.plaintextLength - stream.chunkSize * (stream.chunkCount - 1);
  return plain + secretStreamOverheadBytes;
}

export interface PacketFrameSpan {
  /** Offset of the frame's u32be length prefix in the file. */
  readonly offset: number;
  /** Offset of its ciphertext (offset + 4). */
  readonly cipherOffset: number;
  /** Ciphertext length. */
  readonly length: number;
  /** Offset just past the frame. */
  readonly end: number;
}

export interface PacketPayloadSpan extends PacketPayloadRef {
  /** Offset of the payload's first byte in the file. */
  readonly offset: number;
  /** Offset just past it (offset + size). */
  readonly end: number;
}

/** What checks 1–6 establish from a file's first bytes and its size. */
export interface PacketEnvelope {
  readonly header: PacketWireHeader;
  readonly headerBytes: Uint8Array;
  readonly headerOffset: number;
  readonly signatureOffset: number;
  readonly framesOffset: number;
  /** Where the frames end if they are as the header says: the head a reader must hold for readPacketLayout. */
  readonly framesEnd: number;
  /** The payloads (cleanroom-packet/2) and where they are; empty for /1. */
  readonly payloads: readonly PacketPayloadSpan[];
}

export interface PacketLayout extends PacketEnvelope {
  readonly frames: readonly PacketFrameSpan[];
}

// ---- Checks, in the order of docs/packets.md ----------------------------------------------------

function refuse(reason: string): never {
  throw new CleanroomError('BAD_PACKET', reason);
}

const mib = (bytes: number): string => `${bytes / (1024 * 1024)} MiB`;

/** A schema issue as one line that names the field, e.g. "room: must be 64 hex digits". */
const issueText = (issue: Issue): string =>
  issue.path === '' || issue.message.includes(issue.path) ? issue.message : `${issue.path}: ${issue.message}`;

/** Bytes of all frames for a stream description that passed the schema: 4 + 17 per frame, plus the plaintext. */
const framesByteLength = (stream: PacketWireHeader['stream']): number =>
  stream.chunkCount * (lengthFieldBytes + secretStreamOverheadBytes) + stream.plaintextLength;

const sizeRefusal = (size: number): string => `packet size ${size} bytes is over the ${mib(packetLimits.maxPacketBytes)} limit`;

/** The format a file's first bytes claim, if they hold a canonical header with a string format; no checks beyond that. */
export function packetFormatOf(head: Uint8Array): string | null {
  try {
    if (head.length < headerOffset || !magicBytes.every((byte, i) => head[i] === byte)) return null;
    const headerLength = readU32be(head, magicLength);
    if (headerLength < 1 || headerLength > packetLimits.maxHeaderBytes || head.length < headerOffset + headerLength) return null;
    const value = decodeCanonical(head.subarray(headerOffset, headerOffset + headerLength), 'packet header', { maxBytes: packetLimits.maxHeaderBytes });
    const format = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).format : undefined;
    return typeof format === 'string' ? format : null;
  } catch {
    return null;
  }
}

/** Checks 2–5: magic, header length, canonical header, header schema (for its format). */
function checkHeader(head: Uint8Array, fileSize: number): { header: PacketWireHeader; headerBytes: Uint8Array; framesOffset: number } {
  if (fileSize < magicLength || head.length < magicLength || !magicBytes.every((byte, i) => head[i] === byte)) {
    refuse(`not a Cleanroom packet: the file does not start with "${packetMagic}"`);
  }
  if (fileSize < headerOffset) refuse('packet is truncated before the header length');
  const headerLength = readU32be(head, magicLength);
  if (headerLength < 1 || headerLength > packetLimits.maxHeaderBytes) {
    refuse(`header length ${headerLength} is outside 1..${packetLimits.maxHeaderBytes} bytes`);
  }
  const signatureOffset = headerOffset + headerLength;
  const framesOffset = signatureOffset + signatureBytes;
  if (fileSize < framesOffset) refuse('packet is truncated inside the header or its signature');
  // A caller that read fewer bytes than packetPrologueBytes of a longer file is a bug, not a bad packet.
  if (head.length < framesOffset) throw new Error('readPacketEnvelope needs the first packetPrologueBytes bytes of the file');
  const headerBytes = head.subarray(headerOffset, signatureOffset);
  const value = decodeCanonical(headerBytes, 'packet header', { maxBytes: packetLimits.maxHeaderBytes });
  const format = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).format : undefined;
  if (typeof format === 'string' && !(packetFormats as readonly string[]).includes(format)) {
    refuse(`packet header format "${format.slice(0, 40)}" is not supported: this version reads ${packetFormats.join(' and ')}`);
  }
  const checked = format === packetFormatV2 ? parse(packetHeaderV2Schema, value) : parse(packetHeaderSchema, value);
  if (!checked.ok) refuse(`packet header: ${issueText(checked.issue)}`);
  return { header: checked.value, headerBytes, framesOffset };
}

/**
 * Checks 1–6 from the first bytes of a file (at least packetPrologueBytes of it, or all of it) and
 * its size. A file over maxPacketBytes is only accepted as far as this as a cleanroom-packet/2
 * whose signed sizes add up to exactly the file's size: anything else of that size is refused by
 * the size check, having cost one bounded read.
 */
function checkEnvelope(head: Uint8Array, fileSize: number): PacketEnvelope {
  if (!Number.isSafeInteger(fileSize) || fileSize < 0) throw new Error('fileSize must be a whole number of bytes');
  const oversize = fileSize > packetLimits.maxPacketBytes;
  let checked: ReturnType<typeof checkHeader>;
  try {
    checked = checkHeader(head, fileSize);
  } catch (error) {
    if (oversize && error instanceof CleanroomError) refuse(sizeRefusal(fileSize));
    throw error;
  }
  const { header, headerBytes, framesOffset } = checked;
  const framesEnd = framesOffset + framesByteLength(header.stream);
  const payloads: PacketPayloadSpan[] = [];
  if (header.format === packetFormat) {
    if (oversize) refuse(sizeRefusal(fileSize));
  } else {
    // Check 5b, before the signature and before any byte after the header is read: the sizes the
    // header gives must add up to exactly the file's size, so a cut or padded file is refused here.
    if (framesEnd > packetLimits.maxPacketBytes) refuse(`the header and frames are over the ${mib(packetLimits.maxPacketBytes)} limit`);
    let offset = framesEnd;
    for (const payload of header.payloads) {
      payloads.push({ asset: payload.asset, hash: payload.hash, size: payload.size, offset, end: offset + payload.size });
      offset += payload.size;
    }
    const count = `${header.payloads.length} payload${header.payloads.length === 1 ? '' : 's'}`;
    if (fileSize < offset) refuse(`packet is truncated: it is ${fileSize} bytes, and its header, frames and ${count} take ${offset}`);
    if (fileSize > offset) {
      const extra = fileSize - offset;
      refuse(`${extra} unexpected byte${extra === 1 ? '' : 's'} after the last payload`);
    }
  }
  const signatureOffset = headerOffset + headerBytes.length;
  const signature = head.subarray(signatureOffset, framesOffset);
  if (!verify(signature, packetSignedMessage(headerBytes), fromBase64Url(header.sender.signPublicKey))) {
    refuse(`header signature does not verify with the sender's key (${header.sender.alias})`);
  }
  return { header, headerBytes, headerOffset, signatureOffset, framesOffset, framesEnd, payloads };
}

/**
 * Checks 7–8: frame count and lengths as the header says, nothing after the last (for /1), the
 * cipher hash. `head` holds the file's bytes up to min(fileSize, envelope.framesEnd) at least.
 */
function checkFrames(head: Uint8Array, fileSize: number, envelope: PacketEnvelope): PacketFrameSpan[] {
  const { stream } = envelope.header;
  if (head.length < Math.min(fileSize, envelope.framesEnd)) throw new Error('readPacketLayout needs the file up to the end of the frames');
  const frames: PacketFrameSpan[] = [];
  let offset = envelope.framesOffset;
  for (let index = 0; index < stream.chunkCount; index++) {
    const where = `frame ${index + 1} of ${stream.chunkCount}`;
    if (fileSize - offset < lengthFieldBytes) refuse(`packet is truncated: ${where} is missing`);
    const length = readU32be(head, offset);
    const expected = expectedFrameLength(stream, index);
    if (length !== expected) refuse(`${where} is ${length} bytes; the header says ${expected}`);
    const cipherOffset = offset + lengthFieldBytes;
    if (fileSize - cipherOffset < length) refuse(`packet is truncated inside ${where}`);
    frames.push({ offset, cipherOffset, length, end: cipherOffset + length });
    offset = cipherOffset + length;
  }
  // For /2 the envelope already matched the file's size to the header; for /1 nothing may follow.
  const extra = envelope.header.format === packetFormat ? fileSize - offset : 0;
  if (extra !== 0) refuse(`${extra} unexpected byte${extra === 1 ? '' : 's'} after the last frame`);
  if (cipherHashOf(head.subarray(envelope.framesOffset, offset)) !== stream.cipherHash) {
    refuse('ciphertext hash does not match the signed header: the frames were changed');
  }
  return frames;
}

function checkInMemorySize(bytes: Uint8Array): void {
  if (bytes.length > packetLimits.maxPacketBytes) refuse(sizeRefusal(bytes.length));
}

/**
 * Checks 1–6 (and 5b for /2) of a packet file from its first bytes and its size: `head` is the
 * first packetPrologueBytes bytes of the file, or all of it if shorter. Throws BAD_PACKET.
 */
export function readPacketEnvelope(head: Uint8Array, fileSize: number): PacketEnvelope {
  return checkEnvelope(head, fileSize);
}

/**
 * Every check before decryption (1–8), from the file's bytes up to `readPacketEnvelope(...).framesEnd`
 * (or all of it if shorter) and its size. The payload bytes are not needed. Throws BAD_PACKET.
 */
export function readPacketLayout(head: Uint8Array, fileSize: number): PacketLayout {
  const envelope = checkEnvelope(head, fileSize);
  return { ...envelope, frames: checkFrames(head, fileSize, envelope) };
}

/** Every check before decryption of a packet held in memory (at most maxPacketBytes); returns where everything is. */
export function packetLayout(bytes: Uint8Array): PacketLayout {
  checkInMemorySize(bytes);
  return readPacketLayout(bytes, bytes.length);
}

/** Size caps, magic, canonical header and its signature; throws CleanroomError('BAD_PACKET', reason). */
export function readPacketHeader(bytes: Uint8Array): PacketHeader {
  checkInMemorySize(bytes);
  return publicHeader(checkEnvelope(bytes, bytes.length).header);
}

/** The full header of a packet whose envelope checks pass (for tests and diagnostics). */
export function readPacketWireHeader(bytes: Uint8Array): PacketWireHeader {
  checkInMemorySize(bytes);
  return checkEnvelope(bytes, bytes.length).header;
}

/** Checks 10–12: secretstream tags and lengths, frame by frame. */
function decryptFrames(head: Uint8Array, layout: PacketLayout, contentKey: Uint8Array): Uint8Array {
  const { stream } = layout.header;
  const decryptor = createSecretStreamDecryptor(fromBase64Url(stream.header), contentKey);
  if (decryptor === null) refuse('the stream header or content key has the wrong length');
  // Safe to allocate: the frame check bounded plaintextLength by the file's actual size.
  const plaintext = new Uint8Array(stream.plaintextLength);
  try {
    let written = 0;
    layout.frames.forEach((frame, index) => {
      const where = `frame ${index + 1} of ${stream.chunkCount}`;
      const pulled = decryptor.pull(head.subarray(frame.cipherOffset, frame.end));
      if (pulled === null) refuse(`${where} does not decrypt: it was changed, moved or taken from another packet`);
      const { message, tag } = pulled;
      const last = index === layout.frames.length - 1;
      if (!last && tag !== 'message') refuse(`${where} is tagged "${tag}"; only the last frame may end the stream`);
      if (last && tag !== 'final') refuse(`the last frame is tagged "${tag}", not "final": the stream is incomplete`);
      if (message.length !== frame.length - secretStreamOverheadBytes || written + message.length > plaintext.length) {
        refuse(`${where} decrypts to the wrong length`);
      }
      plaintext.set(message, written);
      written += message.length;
    });
    if (written !== stream.plaintextLength) refuse(`plaintext is ${written} bytes; the header says ${stream.plaintextLength}`);
  } finally {
    decryptor.dispose();
  }
  return plaintext;
}

export interface PacketRecipientKeys {
  readonly boxPublicKey: Uint8Array;
  readonly boxSecretKey: Uint8Array;
}

/**
 * Checks 9–14 on a layout from readPacketLayout: recipient, sealed key, decryption, contents.
 * `head` is the same bytes the layout was read from. Payload bytes are not read: their check (15)
 * is the caller's, by hashing them as they are copied (electron/core/packet-stream.ts).
 */
export function openPacketContents(head: Uint8Array, layout: PacketLayout, recipient: PacketRecipientKeys): { header: PacketHeader; contents: PacketContents } {
  const { header } = layout;
  const ourKey = toBase64Url(recipient.boxPublicKey);
  const entry = header.recipients.find((r) => r.boxPublicKey === ourKey);
  if (entry === undefined) throw new CleanroomError('NOT_A_MEMBER', 'this packet is not addressed to you');

  const contentKey = openSealedBox(fromBase64Url(entry.sealedKey), recipient.boxPublicKey, recipient.boxSecretKey);
  if (contentKey === null || contentKey.length !== secretStreamKeyBytes) {
    refuse('the content key sealed to you does not open with your key');
  }
  let plaintext: Uint8Array;
  try {
    plaintext = decryptFrames(head, layout, contentKey);
  } finally {
    wipe(contentKey);
  }

  const value = decodeCanonical(plaintext, 'packet contents', { maxBytes: packetLimits.maxPacketBytes });
  const checked = parse(packetBodySchema, value);
  if (!checked.ok) refuse(`packet contents: ${issueText(checked.issue)}`);
  const { entries } = checked.value;
  const strayIndex = entries.findIndex((signed) => signed.entry.room !== header.room);
  if (strayIndex >= 0) refuse(`packet contents: entries[${strayIndex}] belongs to another room than the packet`);
  return { header: publicHeader(header), contents: { entries } };
}

/** 'payload 2 of 3 (asset "visits", 1a2b3c4d5e6f)': how refusals name a payload; the name when the caller knows it. */
export function describePayload(payloads: readonly PacketPayloadRef[], index: number, name?: string): string {
  const id = (payloads[index] as PacketPayloadRef).asset.slice(0, 12);
  return `payload ${index + 1} of ${payloads.length} (asset ${name === undefined ? id : `"${name}", ${id}`})`;
}

/** Check 15's message when a payload's bytes do not hash to what the signed header says. */
export const payloadHashRefusal = (payloads: readonly PacketPayloadRef[], index: number, name?: string): string =>
  `${describePayload(payloads, index, name)} does not match its hash in the signed header: it was changed`;

/**
 * Every check of docs/packets.md on a packet held in memory, then decryption for this recipient,
 * then (for /2) each payload's hash. Throws BAD_PACKET with the failed check, or NOT_A_MEMBER when
 * the packet is not addressed to this recipient. Payload bytes are at layout offsets:
 * `header.payloads[i]` is `bytes` from packetLayout(bytes).payloads[i].offset to .end.
 */
export function openPacket(bytes: Uint8Array, recipient: PacketRecipientKeys): { header: PacketHeader; contents: PacketContents } {
  const layout = packetLayout(bytes);
  const opened = openPacketContents(bytes, layout, recipient);
  layout.payloads.forEach((payload, index) => {
    if (toHex(hash(bytes.subarray(payload.offset, payload.end))) !== payload.hash) refuse(payloadHashRefusal(layout.payloads, index));
  });
  return opened;
}

/** The asset a payload belongs to, as the room knows it: its asset.added descriptor. */
export type DescriptorLookup = (assetId: string) => Pick<AssetDescriptor, 'name' | 'payload'> | undefined;

/**
 * Check 16, for the importer, once the entries are known: every payload must belong to an asset
 * the room knows (in the packet's entries or already held), with that descriptor's payload hash
 * and size. Throws BAD_PACKET naming the asset.
 */
export function checkPayloadsAgainstDescriptors(payloads: readonly PacketPayloadRef[], descriptorOf: DescriptorLookup): void {
  payloads.forEach((payload, index) => {
    const descriptor = descriptorOf(payload.asset);
    if (descriptor === undefined) {
      refuse(`payload for unknown asset ${payload.asset} (payload ${index + 1} of ${payloads.length}): no asset.added entry describes it`);
    }
    if (descriptor.payload.hash !== payload.hash || descriptor.payload.size !== payload.size) {
      refuse(
        `the payload for asset "${descriptor.name}" (${payload.asset.slice(0, 12)}) does not match its descriptor: ` +
          `hash ${payload.hash.slice(0, 12)}…, ${payload.size} bytes; the descriptor says ${descriptor.payload.hash.slice(0, 12)}…, ${descriptor.payload.size} bytes`,
      );
    }
  });
}

// ---- Writing ------------------------------------------------------------------------------------

function refuseInput(reason: string): never {
  throw new CleanroomError('BAD_REQUEST', `cannot write packet: ${reason}`);
}

function checkInput<T>(schema: Schema<T>, value: unknown, what: string): T {
  const checked = schema.check(value, what);
  if (!checked.ok) refuseInput(issueText(checked.issue));
  return checked.value;
}

/**
 * Everything of a packet before its payloads (magic, header, signature, frames), exactly as
 * readPacketLayout reads it: cleanroom-packet/1 without payloads, /2 with them. The caller appends
 * each payload's bytes in the order given (electron/core/packet-stream.ts streams them from the
 * vault). The sender is not added as a recipient; callers add themselves if they want to read
 * their own packet. Refuses (BAD_REQUEST) what a reader would.
 */
export function encodePacketHead(options: EncodePacketHeadOptions): Uint8Array {
  const chunkSize = options.chunkSize ?? packetLimits.defaultChunkSize;
  checkInput(hashHexSchema, options.room, 'room');
  const sender = checkInput(refine(memberRefSchema, canonicalKeysRule), options.sender, 'sender');
  if (toBase64Url(signPublicKeyOf(options.signSecretKey)) !== sender.signPublicKey) {
    refuseInput("the signing key is not the sender's");
  }
  if (options.recipients.length === 0) refuseInput('there are no recipients');
  const recipients = checkInput(
    refine(array(refine(memberRefSchema, canonicalKeysRule), { min: 1, max: packetLimits.maxRecipients }), (list) =>
      unique(list, (r) => r.signPublicKey) && unique(list, (r) => r.boxPublicKey) ? null : 'a recipient is listed twice',
    ),
    options.recipients,
    'recipients',
  );
  const payloads = options.payloads === undefined || options.payloads.length === 0 ? [] : checkInput(payloadRefsSchema, options.payloads, 'payloads');
  if (!Number.isSafeInteger(chunkSize) || chunkSize < packetLimits.minChunkSize || chunkSize > packetLimits.maxChunkSize) {
    refuseInput(`chunkSize must be ${packetLimits.minChunkSize}..${packetLimits.maxChunkSize}`);
  }
  if (Number.isNaN(options.createdAt.getTime())) refuseInput('createdAt is not a valid date');
  const body = { entries: checkInput(entriesSchema, options.entries, 'entries') };
  const strayIndex = body.entries.findIndex((signed) => signed.entry.room !== options.room);
  if (strayIndex >= 0) refuseInput(`entries[${strayIndex}] belongs to another room`);

  const plaintext = encodeCanonical(body);
  const chunkCount = expectedChunkCount(plaintext.length, chunkSize);
  const frameBytesTotal = plaintext.length + chunkCount * (lengthFieldBytes + secretStreamOverheadBytes);
  if (frameBytesTotal > packetLimits.maxPacketBytes) refuseInput(`the contents are over the ${mib(packetLimits.maxPacketBytes)} limit`);

  const contentKey = randomBytes(secretStreamKeyBytes);
  const encryptor = createSecretStreamEncryptor(contentKey);
  const frames = new Uint8Array(frameBytesTotal);
  const hasher = createHasher();
  let sealedKeys: string[];
  try {
    let offset = 0;
    for (let index = 0; index < chunkCount; index++) {
      const chunk = plaintext.subarray(index * chunkSize, Math.min(plaintext.length, (index + 1) * chunkSize));
      const frame = encodeFrame(encryptor.push(chunk, index === chunkCount - 1 ? 'final' : 'message'));
      hasher.update(frame);
      frames.set(frame, offset);
      offset += frame.length;
    }
    sealedKeys = recipients.map((r) => toBase64Url(sealToBoxKey(contentKey, fromBase64Url(r.boxPublicKey))));
  } finally {
    encryptor.dispose();
    wipe(contentKey);
  }

  const common = {
    room: options.room,
    sender,
    recipients: recipients.map((r, i) => ({ ...r, sealedKey: sealedKeys[i] as string })),
    createdAt: options.createdAt.toISOString(),
    stream: {
      header: toBase64Url(encryptor.header),
      chunkSize,
      chunkCount,
      plaintextLength: plaintext.length,
      cipherHash: toHex(hasher.digest()),
    },
  };
  const header: PacketWireHeader =
    payloads.length === 0
      ? { format: packetFormat, ...common }
      : { format: packetFormatV2, ...common, payloads: payloads.map((p) => ({ asset: p.asset, hash: p.hash, size: p.size })) };
  const headerBytes = encodeCanonical(header);
  if (headerBytes.length > packetLimits.maxHeaderBytes) refuseInput(`the header is over ${packetLimits.maxHeaderBytes} bytes`);
  const head = assemblePacket(headerBytes, signPacketHeader(headerBytes, options.signSecretKey), frames);
  if (head.length > packetLimits.maxPacketBytes) refuseInput(`the packet is over the ${mib(packetLimits.maxPacketBytes)} limit`);
  return head;
}

/** The reference for a payload held in memory: its asset, BLAKE2b-256 and size. */
export const payloadRefOf = (payload: { readonly asset: string; readonly bytes: Uint8Array }): PacketPayloadRef => ({
  asset: payload.asset,
  hash: toHex(hash(payload.bytes)),
  size: payload.bytes.length,
});

/**
 * Writes a whole packet in memory exactly as openPacket reads it (at most maxPacketBytes in all):
 * cleanroom-packet/1, or /2 when `payloads` are given. Large payloads go through
 * electron/core/packet-stream.ts instead.
 */
export function encodePacket(options: EncodePacketOptions): Uint8Array {
  const payloads = options.payloads ?? [];
  const head = encodePacketHead({ ...options, payloads: payloads.map(payloadRefOf) });
  const packet = concatBytes(head, ...payloads.map((p) => p.bytes));
  if (packet.length > packetLimits.maxPacketBytes) refuseInput(`the packet is over the ${mib(packetLimits.maxPacketBytes)} limit`);
  return packet;
}
