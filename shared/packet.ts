// Packets: the .cleanroom files members carry between machines. docs/packets.md is the
// specification; this file is its reference implementation.
//
//   magic "CLRMPKT1" | u32be header length | header (canonical JSON) | Ed25519 signature (64)
//   | chunkCount frames of (u32be length | secretstream ciphertext) | end of file
//
// The signature covers the header, and the header carries a hash of every frame byte, so the
// sender's signature covers the whole file. Reading checks sizes first, then the signature, then
// the hash, and only then decrypts: nothing an attacker controls reaches a parser of any depth
// (beyond the bounded canonical header) until the sender's signature has been verified.
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
export const packetFormat = 'cleanroom-packet/1';
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
} as const;

const magicBytes = utf8(packetMagic);
const magicLength = 8;
const lengthFieldBytes = 4;
/** Bytes before the header: magic and the header length field. */
const headerOffset = magicLength + lengthFieldBytes;

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

export const packetHeaderSchema = object({
  format: oneOf([packetFormat]),
  room: hashHexSchema,
  sender: refine(memberRefSchema, canonicalKeysRule),
  recipients: refine(array(packetRecipientSchema, { min: 1, max: packetLimits.maxRecipients }), (recipients) => {
    if (!unique(recipients, (r) => r.signPublicKey)) return 'recipients must not list a signPublicKey twice';
    if (!unique(recipients, (r) => r.boxPublicKey)) return 'recipients must not list a boxPublicKey twice';
    return null;
  }),
  createdAt: timestampSchema,
  stream: streamSchema,
});
/** The header exactly as it is in the file, sealed keys and stream description included. */
export type PacketWireHeader = Infer<typeof packetHeaderSchema>;

/** The plaintext inside the stream. Closed: a field this version does not know is refused. */
const entriesSchema = array(signedEntrySchema, { max: packetLimits.maxEntries });
export const packetBodySchema = object({ entries: entriesSchema });

// ---- Public types (what callers see) ------------------------------------------------------------

export interface PacketHeader {
  readonly format: 'cleanroom-packet/1';
  readonly room: string;
  readonly sender: MemberRef;
  readonly recipients: readonly MemberRef[];
  readonly createdAt: string;
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
}

function publicHeader(wire: PacketWireHeader): PacketHeader {
  return {
    format: wire.format,
    room: wire.room,
    sender: { alias: wire.sender.alias, signPublicKey: wire.sender.signPublicKey, boxPublicKey: wire.sender.boxPublicKey },
    recipients: wire.recipients.map((r) => ({ alias: r.alias, signPublicKey: r.signPublicKey, boxPublicKey: r.boxPublicKey })),
    createdAt: wire.createdAt,
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

export interface PacketLayout {
  readonly header: PacketWireHeader;
  readonly headerBytes: Uint8Array;
  readonly headerOffset: number;
  readonly signatureOffset: number;
  readonly framesOffset: number;
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

interface Envelope {
  readonly header: PacketWireHeader;
  readonly headerBytes: Uint8Array;
  readonly framesOffset: number;
}

/** Checks 1–6: size cap, magic, header length, canonical header, header schema, signature. */
function checkEnvelope(bytes: Uint8Array): Envelope {
  if (bytes.length > packetLimits.maxPacketBytes) {
    refuse(`packet size ${bytes.length} bytes is over the ${mib(packetLimits.maxPacketBytes)} limit`);
  }
  if (bytes.length < magicLength || !magicBytes.every((byte, i) => bytes[i] === byte)) {
    refuse(`not a Cleanroom packet: the file does not start with "${packetMagic}"`);
  }
  if (bytes.length < headerOffset) refuse('packet is truncated before the header length');
  const headerLength = readU32be(bytes, magicLength);
  if (headerLength < 1 || headerLength > packetLimits.maxHeaderBytes) {
    refuse(`header length ${headerLength} is outside 1..${packetLimits.maxHeaderBytes} bytes`);
  }
  const signatureOffset = headerOffset + headerLength;
  const framesOffset = signatureOffset + signatureBytes;
  if (bytes.length < framesOffset) refuse('packet is truncated inside the header or its signature');
  const headerBytes = bytes.subarray(headerOffset, signatureOffset);
  const value = decodeCanonical(headerBytes, 'packet header', { maxBytes: packetLimits.maxHeaderBytes });
  const format = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).format : undefined;
  if (typeof format === 'string' && format !== packetFormat) {
    refuse(`packet header format "${format.slice(0, 40)}" is not supported: this version reads ${packetFormat}`);
  }
  const checked = parse(packetHeaderSchema, value);
  if (!checked.ok) refuse(`packet header: ${issueText(checked.issue)}`);
  const header = checked.value;
  const signature = bytes.subarray(signatureOffset, framesOffset);
  if (!verify(signature, packetSignedMessage(headerBytes), fromBase64Url(header.sender.signPublicKey))) {
    refuse(`header signature does not verify with the sender's key (${header.sender.alias})`);
  }
  return { header, headerBytes, framesOffset };
}

/** Checks 7–8: frame count and lengths as the header says, nothing after the last, cipherHash. */
function checkFrames(bytes: Uint8Array, envelope: Envelope): PacketFrameSpan[] {
  const { stream } = envelope.header;
  const frames: PacketFrameSpan[] = [];
  let offset = envelope.framesOffset;
  for (let index = 0; index < stream.chunkCount; index++) {
    const where = `frame ${index + 1} of ${stream.chunkCount}`;
    if (bytes.length - offset < lengthFieldBytes) refuse(`packet is truncated: ${where} is missing`);
    const length = readU32be(bytes, offset);
    const expected = expectedFrameLength(stream, index);
    if (length !== expected) refuse(`${where} is ${length} bytes; the header says ${expected}`);
    const cipherOffset = offset + lengthFieldBytes;
    if (bytes.length - cipherOffset < length) refuse(`packet is truncated inside ${where}`);
    frames.push({ offset, cipherOffset, length, end: cipherOffset + length });
    offset = cipherOffset + length;
  }
  const extra = bytes.length - offset;
  if (extra !== 0) refuse(`${extra} unexpected byte${extra === 1 ? '' : 's'} after the last frame`);
  if (cipherHashOf(bytes.subarray(envelope.framesOffset)) !== stream.cipherHash) {
    refuse('ciphertext hash does not match the signed header: the frames were changed');
  }
  return frames;
}

/** Every check before decryption; returns where everything is. Throws BAD_PACKET like openPacket. */
export function packetLayout(bytes: Uint8Array): PacketLayout {
  const envelope = checkEnvelope(bytes);
  const frames = checkFrames(bytes, envelope);
  return {
    header: envelope.header,
    headerBytes: envelope.headerBytes,
    headerOffset,
    signatureOffset: headerOffset + envelope.headerBytes.length,
    framesOffset: envelope.framesOffset,
    frames,
  };
}

/** Size caps, magic, canonical header and its signature; throws CleanroomError('BAD_PACKET', reason). */
export function readPacketHeader(bytes: Uint8Array): PacketHeader {
  return publicHeader(checkEnvelope(bytes).header);
}

/** The full header of a packet whose envelope checks pass (for tests and diagnostics). */
export function readPacketWireHeader(bytes: Uint8Array): PacketWireHeader {
  return checkEnvelope(bytes).header;
}

/** Checks 10–12: secretstream tags and lengths, frame by frame. */
function decryptFrames(bytes: Uint8Array, layout: PacketLayout, contentKey: Uint8Array): Uint8Array {
  const { stream } = layout.header;
  const decryptor = createSecretStreamDecryptor(fromBase64Url(stream.header), contentKey);
  if (decryptor === null) refuse('the stream header or content key has the wrong length');
  // Safe to allocate: the frame check bounded plaintextLength by the file's actual size.
  const plaintext = new Uint8Array(stream.plaintextLength);
  try {
    let written = 0;
    layout.frames.forEach((frame, index) => {
      const where = `frame ${index + 1} of ${stream.chunkCount}`;
      const pulled = decryptor.pull(bytes.subarray(frame.cipherOffset, frame.end));
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

/**
 * Every check of docs/packets.md, then decryption for this recipient. Throws BAD_PACKET with the
 * failed check, or NOT_A_MEMBER when the packet is not addressed to this recipient.
 */
export function openPacket(
  bytes: Uint8Array,
  recipient: { readonly boxPublicKey: Uint8Array; readonly boxSecretKey: Uint8Array },
): { header: PacketHeader; contents: PacketContents } {
  const layout = packetLayout(bytes);
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
    plaintext = decryptFrames(bytes, layout, contentKey);
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
 * Writes a packet exactly as openPacket reads it. The sender is not added as a recipient; callers
 * add themselves if they want to read their own packet. Refuses (BAD_REQUEST) what a reader would.
 */
export function encodePacket(options: EncodePacketOptions): Uint8Array {
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

  const header: PacketWireHeader = {
    format: packetFormat,
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
  const headerBytes = encodeCanonical(header);
  if (headerBytes.length > packetLimits.maxHeaderBytes) refuseInput(`the header is over ${packetLimits.maxHeaderBytes} bytes`);
  const packet = assemblePacket(headerBytes, signPacketHeader(headerBytes, options.signSecretKey), frames);
  if (packet.length > packetLimits.maxPacketBytes) refuseInput(`the packet is over the ${mib(packetLimits.maxPacketBytes)} limit`);
  return packet;
}
