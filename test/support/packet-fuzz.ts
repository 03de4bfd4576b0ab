// Packet fixtures and the packet fuzzer's generator and oracle, shared by the tamper suite, the
// bounded fuzz unit test and `npm run fuzz`.
//
// Every fuzz case is a pure function of (corpus, seed): a seeded PRNG picks a mutation of a valid
// packet (or random bytes), the parser runs, and the oracle checks what came back. The corpus
// itself uses fresh keys each run, so a failure is reported with its seed *and* its bytes.
import { canonicalString, encodeCanonical, decodeCanonical } from '../../shared/canonical.js';
import {
  concatBytes,
  createSecretStreamEncryptor,
  generateBoxKeyPair,
  generateSigningKeyPair,
  hash,
  type KeyPair,
  randomBytes,
  sealToBoxKey,
  secretStreamKeyBytes,
  type SecretStreamTag,
  toBase64Url,
  toHex,
} from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';
import { nextEntry, roomIdOf, signEntry } from '../../shared/feed.js';
import {
  assemblePacket,
  cipherHashOf,
  encodeFrame,
  encodePacket,
  type EncodePacketOptions,
  openPacket,
  packetFormat,
  type PacketLayout,
  packetLayout,
  type PacketWireHeader,
  readPacketHeader,
  readPacketWireHeader,
  signPacketHeader,
} from '../../shared/packet.js';
import { defaultPolicy, type EntryBody, type MemberRef, type RoomDefinition, type SignedEntry } from '../../shared/room.js';

// ---- Parties and real signed feeds ---------------------------------------------------------------

export interface Party {
  readonly alias: string;
  readonly sign: KeyPair;
  readonly box: KeyPair;
  readonly ref: MemberRef;
  /** What openPacket takes. */
  readonly recipientKeys: { readonly boxPublicKey: Uint8Array; readonly boxSecretKey: Uint8Array };
}

/** Call after cryptoReady(). */
export function makeParty(alias: string): Party {
  const sign = generateSigningKeyPair();
  const box = generateBoxKeyPair();
  return {
    alias,
    sign,
    box,
    ref: { alias, signPublicKey: toBase64Url(sign.publicKey), boxPublicKey: toBase64Url(box.publicKey) },
    recipientKeys: { boxPublicKey: box.publicKey, boxSecretKey: box.secretKey },
  };
}

export const fixedTime = new Date('2025-03-01T09:30:00.000Z');
const minutesAfter = (minutes: number): Date => new Date(fixedTime.getTime() + minutes * 60_000);

/** A room definition with these members, created by the first. */
export function makeRoomDefinition(members: readonly Party[], name = 'Readmissions'): RoomDefinition {
  const creator = members[0];
  if (creator === undefined) throw new Error('a room needs members');
  return {
    format: 'cleanroom-room/1',
    name,
    site: 'St. Mary Hospital, ward 4',
    createdBy: creator.ref.signPublicKey,
    members: members.map((m) => m.ref),
    policy: defaultPolicy,
    createdAt: fixedTime.toISOString(),
    invitationExpiresAt: minutesAfter(14 * 24 * 60).toISOString(),
    nonce: toBase64Url(randomBytes(16)),
  };
}

/** Appends signed entries with these bodies to `author`'s feed (continuing `previous`). */
export function appendEntries(room: string, author: Party, previous: SignedEntry | null, bodies: readonly EntryBody[]): SignedEntry[] {
  const out: SignedEntry[] = [];
  let last = previous;
  for (const body of bodies) {
    const at = minutesAfter((last?.entry.seq ?? 0) + 1);
    last = signEntry(nextEntry(room, author.ref.signPublicKey, last, body, at), author.sign.secretKey);
    out.push(last);
  }
  return out;
}

/** A creator's feed: room.created, then `extra` more entries (amendments), all really signed. */
export function makeCreatorFeed(members: readonly Party[], extra = 2): { room: string; definition: RoomDefinition; entries: SignedEntry[] } {
  const definition = makeRoomDefinition(members);
  const room = roomIdOf(definition);
  const creator = members[0] as Party;
  const bodies: EntryBody[] = [{ type: 'room.created', definition }];
  for (let i = 0; i < extra; i++) {
    bodies.push(i % 2 === 0 ? { type: 'amendment.proposed', addMembers: [] } : { type: 'amendment.signed', amendment: 'ab'.repeat(32) });
  }
  return { room, definition, entries: appendEntries(room, creator, null, bodies) };
}

/** What encodePacket takes for `entries` from `sender` to `recipients`, created at fixedTime; `overrides` win. */
export function packetOptions(
  room: string,
  entries: readonly SignedEntry[],
  sender: Party,
  recipients: readonly Party[],
  overrides: Partial<EncodePacketOptions> = {},
): EncodePacketOptions {
  return {
    room,
    sender: sender.ref,
    signSecretKey: sender.sign.secretKey,
    recipients: recipients.map((r) => r.ref),
    entries,
    createdAt: fixedTime,
    ...overrides,
  };
}

/** For assert.throws: a CleanroomError with this code and, when given, a message matching `message`. */
export const isError = (code: string, message?: RegExp) => (thrown: unknown) =>
  thrown instanceof CleanroomError && thrown.code === code && (message === undefined || message.test(thrown.message));

// ---- Hand-built packets: what a malicious *sender* (who holds a valid signing key) could write ---

export interface CraftOptions {
  readonly room: string;
  readonly sender: Party;
  readonly recipients: readonly Party[];
  /** Plaintext to encrypt: need not be canonical or even JSON. */
  readonly plaintext: Uint8Array;
  readonly chunkSize: number;
  /** Tag of each chunk; default message…message, final. */
  readonly tags?: (index: number, count: number) => SecretStreamTag;
  /** Edits the header before it is encoded and signed. */
  readonly editHeader?: (header: Record<string, unknown>) => void;
  /** Edits the frame list (ciphertexts without length prefixes) before hashing and signing. */
  readonly editFrames?: (ciphertexts: Uint8Array[]) => Uint8Array[];
  /** Signs with this key instead of the sender's. */
  readonly signWith?: Uint8Array;
}

/** Builds a packet by hand, correctly signed unless told otherwise, with whatever inside. */
export function craftPacket(options: CraftOptions): Uint8Array {
  const { plaintext, chunkSize } = options;
  const count = Math.max(1, Math.ceil(plaintext.length / chunkSize));
  const key = randomBytes(secretStreamKeyBytes);
  const encryptor = createSecretStreamEncryptor(key);
  let ciphertexts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const tag = options.tags?.(i, count) ?? (i === count - 1 ? 'final' : 'message');
    ciphertexts.push(encryptor.push(plaintext.subarray(i * chunkSize, (i + 1) * chunkSize), tag));
  }
  encryptor.dispose();
  if (options.editFrames) ciphertexts = options.editFrames(ciphertexts);
  const frameBytes = concatBytes(...ciphertexts.map(encodeFrame));
  const header: Record<string, unknown> = {
    format: packetFormat,
    room: options.room,
    sender: options.sender.ref,
    recipients: options.recipients.map((r) => ({ ...r.ref, sealedKey: toBase64Url(sealToBoxKey(key, r.box.publicKey)) })),
    createdAt: fixedTime.toISOString(),
    stream: {
      header: toBase64Url(encryptor.header),
      chunkSize,
      chunkCount: ciphertexts.length,
      plaintextLength: plaintext.length,
      cipherHash: cipherHashOf(frameBytes),
    },
  };
  options.editHeader?.(header);
  const headerBytes = encodeCanonical(header);
  return assemblePacket(headerBytes, signPacketHeader(headerBytes, options.signWith ?? options.sender.sign.secretKey), frameBytes);
}

/** The header of a valid packet as a plain object, for editing. */
export function headerObjectOf(packet: Uint8Array): Record<string, unknown> {
  return structuredClone(readPacketWireHeader(packet)) as unknown as Record<string, unknown>;
}

/** Replaces a valid packet's header, re-signing it, and keeps (or replaces) its frame bytes. */
export function resignPacket(packet: Uint8Array, header: unknown, signSecretKey: Uint8Array, frameBytes?: Uint8Array): Uint8Array {
  const layout = layoutOf(packet);
  const headerBytes = encodeCanonical(header);
  return assemblePacket(headerBytes, signPacketHeader(headerBytes, signSecretKey), frameBytes ?? packet.subarray(layout.framesOffset));
}

// ---- Seeded PRNG -----------------------------------------------------------------------------------

/** sfc32: small, fast, good enough for choosing mutations; a pure function of its seed. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.next();
  }

  /** Uniform 32-bit unsigned integer. */
  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Integer in [0, n). */
  below(n: number): number {
    return n <= 0 ? 0 : Math.floor((this.next() / 0x1_0000_0000) * n);
  }

  /** Integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.below(max - min + 1);
  }

  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.below(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

// ---- Corpus ----------------------------------------------------------------------------------------

export interface CorpusPacket {
  readonly bytes: Uint8Array;
  /** Canonical plaintext inside it ({ entries }). */
  readonly plaintext: Uint8Array;
  /** Payload bytes after the frames (cleanroom-packet/2), in header order; empty for /1. */
  readonly payloads: readonly { readonly asset: string; readonly bytes: Uint8Array }[];
  readonly sender: Party;
  /** Whether `corpus.reader` is among its recipients. */
  readonly addressedToReader: boolean;
}

export interface FuzzCorpus {
  readonly room: string;
  readonly reader: Party;
  readonly parties: readonly Party[];
  readonly packets: readonly CorpusPacket[];
  /** Hex hashes of every payload a legitimate sender put in a corpus packet. */
  readonly payloadHashes: ReadonlySet<string>;
}

const fuzzPayload = (size: number): { asset: string; bytes: Uint8Array } => ({ asset: toHex(randomBytes(32)), bytes: randomBytes(size) });

/** Valid packets of a few shapes (chunk sizes, recipient counts, /1 and /2 with payloads), plus some not for the reader. */
export function buildFuzzCorpus(): FuzzCorpus {
  const reader = makeParty('Acme Insurance');
  const hospital = makeParty('St Mary Hospital');
  const lab = makeParty('North Lab');
  const parties = [hospital, reader, lab];
  const feed = makeCreatorFeed(parties, 3);
  const readerFeed = appendEntries(feed.room, reader, null, [{ type: 'room.joined' }]);
  const shapes: { sender: Party; recipients: Party[]; entries: SignedEntry[]; chunkSize: number; payloads?: { asset: string; bytes: Uint8Array }[] }[] = [
    { sender: hospital, recipients: [reader], entries: feed.entries, chunkSize: 64 },
    { sender: hospital, recipients: [lab, reader, hospital], entries: feed.entries.slice(0, 2), chunkSize: 200 },
    { sender: hospital, recipients: [reader], entries: feed.entries.slice(0, 1), chunkSize: 65_536 },
    { sender: reader, recipients: [reader, hospital], entries: readerFeed, chunkSize: 64 },
    { sender: hospital, recipients: [reader], entries: [], chunkSize: 64 },
    { sender: lab, recipients: [hospital, lab], entries: feed.entries.slice(0, 1), chunkSize: 128 },
    // cleanroom-packet/2: payloads after the frames (two of different sizes; one of the same size as another's).
    { sender: hospital, recipients: [reader], entries: feed.entries, chunkSize: 64, payloads: [fuzzPayload(100), fuzzPayload(700)] },
    { sender: reader, recipients: [reader, lab], entries: readerFeed, chunkSize: 200, payloads: [fuzzPayload(100)] },
    { sender: hospital, recipients: [lab], entries: feed.entries.slice(0, 2), chunkSize: 64, payloads: [fuzzPayload(33)] },
  ];
  const packets = shapes.map((shape) => ({
    bytes: encodePacket(packetOptions(feed.room, shape.entries, shape.sender, shape.recipients, { chunkSize: shape.chunkSize, payloads: shape.payloads })),
    plaintext: encodeCanonical({ entries: shape.entries }),
    payloads: shape.payloads ?? [],
    sender: shape.sender,
    addressedToReader: shape.recipients.includes(reader),
  }));
  const payloadHashes = new Set(packets.flatMap((p) => p.payloads.map((payload) => toHex(hash(payload.bytes)))));
  return { room: feed.room, reader, parties, packets, payloadHashes };
}

// ---- Mutations -------------------------------------------------------------------------------------

export interface FuzzInput {
  /** What was done, for failure reports. */
  readonly mutation: string;
  readonly bytes: Uint8Array;
  /**
   * When the case was (re)signed by a legitimate sender key, the plaintext it may legitimately
   * yield; null when only an untouched corpus packet may be accepted.
   */
  readonly plaintext: Uint8Array | null;
}

const interestingU32 = [0, 1, 16, 17, 63, 64, 65, 81, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x1_0000, 0x1_0001, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff];
const interestingBytes = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x30, 0x39];

function setU32(bytes: Uint8Array, offset: number, value: number): void {
  if (offset + 4 <= bytes.length) new DataView(bytes.buffer, bytes.byteOffset + offset, 4).setUint32(0, value >>> 0, false);
}

function splice(bytes: Uint8Array, start: number, deleteCount: number, insert: Uint8Array = new Uint8Array(0)): Uint8Array {
  return concatBytes(bytes.subarray(0, start), insert, bytes.subarray(Math.min(bytes.length, start + deleteCount)));
}

/** A random JSON-ish value: sometimes canonical, sometimes not encodable at all. */
function randomJson(rng: Prng, depth = 0): unknown {
  switch (rng.below(depth > 3 ? 4 : 7)) {
    case 0:
      return rng.pick([0, 1, -1, 2 ** 53, 1.5, -0, 65_536, 4_294_967_295]);
    case 1:
      return rng.pick(['', 'cleanroom-packet/1', 'a'.repeat(rng.below(100)), '\u0000', '\ud800', 'é', 'ab'.repeat(32)]);
    case 2:
      return rng.pick([true, false, null]);
    case 3:
      return toBase64Url(rng.bytes(rng.pick([16, 24, 32, 80])));
    case 4:
      return Array.from({ length: rng.below(4) }, () => randomJson(rng, depth + 1));
    default: {
      const keys = ['format', 'room', 'sender', 'recipients', 'createdAt', 'stream', 'entries', 'header', 'chunkSize', 'chunkCount', 'plaintextLength', 'cipherHash', 'x', '__proto__'];
      const out: Record<string, unknown> = {};
      for (let i = rng.below(6); i > 0; i--) out[rng.pick(keys)] = randomJson(rng, depth + 1);
      return out;
    }
  }
}

function tryCanonical(value: unknown): Uint8Array | null {
  try {
    return encodeCanonical(value);
  } catch {
    return null;
  }
}

/** Semantic edits a malicious sender could sign: each must be refused by a later check (or be harmless). */
const headerEdits: ((h: Record<string, unknown>, rng: Prng, corpus: FuzzCorpus) => void)[] = [
  (h, rng) => ((h.stream as Record<string, unknown>).chunkSize = rng.pick(interestingU32)),
  (h, rng) => ((h.stream as Record<string, unknown>).chunkCount = rng.pick(interestingU32)),
  (h, rng) => ((h.stream as Record<string, unknown>).plaintextLength = rng.pick(interestingU32)),
  (h, rng) => ((h.stream as Record<string, unknown>).header = toBase64Url(rng.bytes(24))),
  (h, rng) => ((h.stream as Record<string, unknown>).cipherHash = Buffer.from(rng.bytes(32)).toString('hex')),
  (h, rng) => {
    const recipients = h.recipients as Record<string, unknown>[];
    const target = recipients[rng.below(recipients.length)] as Record<string, unknown>;
    target.sealedKey = toBase64Url(rng.bytes(80));
  },
  (h, rng, corpus) => {
    const recipients = h.recipients as Record<string, unknown>[];
    const target = recipients[rng.below(recipients.length)] as Record<string, unknown>;
    target.boxPublicKey = rng.pick(corpus.parties).ref.boxPublicKey;
  },
  (h) => (h.recipients as unknown[]).push(...(h.recipients as unknown[])),
  (h) => (h.recipients = []),
  (h, rng) => (h.room = Buffer.from(rng.bytes(32)).toString('hex')),
  (h, rng) => (h[rng.pick(['extra', 'entries', 'version'])] = rng.below(10)),
  (h, rng) => delete h[rng.pick(['format', 'room', 'sender', 'recipients', 'createdAt', 'stream'])],
  (h, rng) => (h[rng.pick(['format', 'room', 'sender', 'recipients', 'createdAt', 'stream'])] = randomJson(rng)),
  (h, rng) => (h.format = rng.pick(['cleanroom-packet/2', 'cleanroom-packet/0', ''])),
  (h, rng) => (h.createdAt = rng.pick(['2025-13-01T00:00:00Z', 'yesterday', '2025-03-01T09:30:00.000Z'])),
  (h) => ((h.recipients as Record<string, unknown>[]).reverse()),
  // cleanroom-packet/2's payload list (a /1 header gains one it may not have).
  (h, rng) => {
    const payloads = h.payloads as Record<string, unknown>[] | undefined;
    if (payloads === undefined || payloads.length === 0) {
      h.payloads = [{ asset: 'ab'.repeat(32), hash: 'cd'.repeat(32), size: rng.between(1, 100) }];
      if (rng.chance(0.5)) h.format = 'cleanroom-packet/2';
      return;
    }
    const target = payloads[rng.below(payloads.length)] as Record<string, unknown>;
    switch (rng.below(8)) {
      case 0:
        target.size = (target.size as number) + rng.pick([1, -1, 1000, -(target.size as number)]);
        break;
      case 1:
        target.hash = Buffer.from(rng.bytes(32)).toString('hex');
        break;
      case 2:
        target.asset = Buffer.from(rng.bytes(32)).toString('hex');
        break;
      case 3:
        payloads.push({ ...target });
        break;
      case 4:
        h.payloads = [];
        break;
      case 5:
        target.extra = 1;
        break;
      case 6:
        target.size = rng.pick(interestingU32.map((v) => v * 4096));
        break;
      default:
        payloads.reverse();
    }
  },
];

/** Frame edits a malicious sender could sign (cipherHash recomputed): secretstream must catch them. */
const frameEdits: ((frames: Uint8Array[], rng: Prng, other: Uint8Array[]) => Uint8Array[])[] = [
  (f, rng) => {
    const i = rng.below(f.length);
    const copy = Uint8Array.from(f[i] as Uint8Array);
    const at = rng.below(copy.length);
    copy[at] = (copy[at] as number) ^ (1 << rng.below(8));
    return f.map((x, j) => (j === i ? copy : x));
  },
  (f, rng) => {
    const i = rng.below(f.length);
    const j = rng.below(f.length);
    const out = [...f];
    [out[i], out[j]] = [f[j] as Uint8Array, f[i] as Uint8Array];
    return out;
  },
  (f, rng) => f.filter((_, j) => j !== rng.below(f.length)),
  (f, rng) => {
    const i = rng.below(f.length);
    return [...f.slice(0, i + 1), f[i] as Uint8Array, ...f.slice(i + 1)];
  },
  (f, rng, other) => f.map((x, j) => (j === rng.below(f.length) && other[j] ? (other[j] as Uint8Array) : x)),
];

/** Rebuilds a corpus packet with edited frames and a header that matches them, validly signed. */
function resignedWithFrames(source: CorpusPacket, frames: Uint8Array[], rng: Prng): Uint8Array {
  const header = headerObjectOf(source.bytes);
  const stream = header.stream as PacketWireHeader['stream'];
  const frameBytes = concatBytes(...frames.map(encodeFrame));
  const totalPlain = frames.reduce((sum, f) => sum + Math.max(0, f.length - 17), 0);
  const chunkCount = frames.length;
  // Keep the header self-consistent when possible, so the case reaches decryption.
  const chunkSize = chunkCount > 1 ? Math.max(64, (frames[0]?.length ?? 81) - 17) : stream.chunkSize;
  const edited = { ...header, stream: { ...stream, chunkCount, plaintextLength: rng.chance(0.8) ? totalPlain : stream.plaintextLength, chunkSize, cipherHash: cipherHashOf(frameBytes) } };
  // The payloads stay after the frames, so /2 cases reach decryption too.
  return resignPacket(source.bytes, edited, source.sender.sign.secretKey, concatBytes(frameBytes, ...source.payloads.map((p) => p.bytes)));
}

// Generators take corpus packets apart on every case; their layouts never change.
const layouts = new WeakMap<Uint8Array, PacketLayout>();
function layoutOf(packet: Uint8Array): PacketLayout {
  let layout = layouts.get(packet);
  if (layout === undefined) {
    layout = packetLayout(packet);
    layouts.set(packet, layout);
  }
  return layout;
}

function ciphertextsOf(packet: Uint8Array): Uint8Array[] {
  return layoutOf(packet).frames.map((f) => packet.subarray(f.cipherOffset, f.end));
}

const generators: { name: string; weight: number; make: (rng: Prng, corpus: FuzzCorpus) => FuzzInput }[] = [
  {
    name: 'random bytes',
    weight: 1,
    make(rng) {
      const body = rng.bytes(rng.below(600));
      const variant = rng.below(3);
      if (variant === 0) return { mutation: 'random bytes', bytes: body, plaintext: null };
      const headerLength = variant === 1 ? rng.pick(interestingU32) : Math.min(body.length, rng.below(300));
      const prefix = new Uint8Array(12);
      prefix.set(Buffer.from('CLRMPKT1'));
      setU32(prefix, 8, headerLength);
      return { mutation: `magic + header length ${headerLength} + random`, bytes: concatBytes(prefix, body), plaintext: null };
    },
  },
  {
    name: 'random canonical header',
    weight: 1,
    make(rng) {
      const header = tryCanonical(randomJson(rng)) ?? encodeCanonical({});
      const prefix = new Uint8Array(12);
      prefix.set(Buffer.from('CLRMPKT1'));
      setU32(prefix, 8, header.length);
      return { mutation: 'magic + random JSON header', bytes: concatBytes(prefix, header, rng.bytes(rng.below(200))), plaintext: null };
    },
  },
  {
    name: 'bit flips',
    weight: 4,
    make(rng, corpus) {
      const bytes = Uint8Array.from(rng.pick(corpus.packets).bytes);
      const flips = rng.between(1, 4);
      const at: number[] = [];
      for (let i = 0; i < flips; i++) {
        const position = rng.below(bytes.length);
        at.push(position);
        bytes[position] = (bytes[position] as number) ^ (1 << rng.below(8));
      }
      return { mutation: `bit flips at ${at.join(',')}`, bytes, plaintext: null };
    },
  },
  {
    name: 'byte set',
    weight: 2,
    make(rng, corpus) {
      const bytes = Uint8Array.from(rng.pick(corpus.packets).bytes);
      const position = rng.below(bytes.length);
      bytes[position] = rng.chance(0.5) ? rng.pick(interestingBytes) : rng.below(256);
      return { mutation: `byte ${position} set to ${bytes[position]}`, bytes, plaintext: null };
    },
  },
  {
    name: 'insert / delete',
    weight: 2,
    make(rng, corpus) {
      const source = rng.pick(corpus.packets).bytes;
      const position = rng.below(source.length + 1);
      const count = rng.between(1, 16);
      return rng.chance(0.5)
        ? { mutation: `insert ${count} bytes at ${position}`, bytes: splice(source, position, 0, rng.bytes(count)), plaintext: null }
        : { mutation: `delete ${count} bytes at ${position}`, bytes: splice(source, position, count), plaintext: null };
    },
  },
  {
    name: 'truncate / append',
    weight: 2,
    make(rng, corpus) {
      const source = rng.pick(corpus.packets).bytes;
      const layout = layoutOf(source);
      const boundaries = [0, 8, 12, layout.signatureOffset, layout.framesOffset, ...layout.frames.flatMap((f) => [f.cipherOffset, f.end])].filter((b) => b < source.length);
      switch (rng.below(3)) {
        case 0: {
          const cut = rng.pick(boundaries);
          return { mutation: `cut at boundary ${cut}`, bytes: source.subarray(0, cut), plaintext: null };
        }
        case 1: {
          const cut = rng.below(source.length);
          return { mutation: `cut at ${cut}`, bytes: source.subarray(0, cut), plaintext: null };
        }
        default: {
          const extra = rng.chance(0.5) ? rng.bytes(rng.between(1, 64)) : source.subarray(layout.framesOffset, (layout.frames[0]?.end ?? layout.framesOffset));
          return { mutation: `append ${extra.length} bytes`, bytes: concatBytes(source, extra), plaintext: null };
        }
      }
    },
  },
  {
    name: 'frame surgery',
    weight: 3,
    make(rng, corpus) {
      const source = rng.pick(corpus.packets).bytes;
      const layout = layoutOf(source);
      const frames = layout.frames.map((f) => source.subarray(f.offset, f.end));
      const head = source.subarray(0, layout.framesOffset);
      const i = rng.below(frames.length);
      const j = rng.below(frames.length);
      switch (rng.below(4)) {
        case 0: {
          const out = [...frames];
          [out[i], out[j]] = [frames[j] as Uint8Array, frames[i] as Uint8Array];
          return { mutation: `swap frames ${i} and ${j}`, bytes: concatBytes(head, ...out), plaintext: null };
        }
        case 1:
          return { mutation: `duplicate frame ${i}`, bytes: concatBytes(head, ...frames.slice(0, i + 1), frames[i] as Uint8Array, ...frames.slice(i + 1)), plaintext: null };
        case 2:
          return { mutation: `drop frame ${i}`, bytes: concatBytes(head, ...frames.filter((_, k) => k !== i)), plaintext: null };
        default: {
          const other = rng.pick(corpus.packets).bytes;
          const otherLayout = layoutOf(other);
          const donor = otherLayout.frames[rng.below(otherLayout.frames.length)];
          if (donor === undefined) return { mutation: 'no donor frame', bytes: source, plaintext: null };
          const out = [...frames];
          out[i] = other.subarray(donor.offset, donor.end);
          return { mutation: `frame ${i} from another packet`, bytes: concatBytes(head, ...out), plaintext: null };
        }
      }
    },
  },
  {
    name: 'length fields',
    weight: 2,
    make(rng, corpus) {
      const source = rng.pick(corpus.packets).bytes;
      const layout = layoutOf(source);
      const bytes = Uint8Array.from(source);
      const frame = rng.chance(0.5) ? layout.frames[rng.below(layout.frames.length)] : undefined;
      const offset = frame === undefined ? 8 : frame.offset;
      const original = new DataView(bytes.buffer).getUint32(offset, false);
      const value = rng.pick([original + 1, original - 1, rng.pick(interestingU32), rng.next()]);
      setU32(bytes, offset, value);
      return { mutation: `length field at ${offset} set to ${value >>> 0}`, bytes, plaintext: null };
    },
  },
  {
    name: 'splice headers',
    weight: 1,
    make(rng, corpus) {
      const a = rng.pick(corpus.packets).bytes;
      const b = rng.pick(corpus.packets).bytes;
      const la = layoutOf(a);
      const lb = layoutOf(b);
      return { mutation: 'header of one packet, frames of another', bytes: concatBytes(a.subarray(0, la.framesOffset), b.subarray(lb.framesOffset)), plaintext: null };
    },
  },
  {
    name: 'resigned header edit',
    weight: 3,
    make(rng, corpus) {
      const source = rng.pick(corpus.packets);
      const header = headerObjectOf(source.bytes);
      const edit = rng.below(headerEdits.length);
      (headerEdits[edit] as (typeof headerEdits)[number])(header, rng, corpus);
      const headerBytes = tryCanonical(header);
      if (headerBytes === null) return { mutation: `header edit ${edit} (not encodable)`, bytes: source.bytes, plaintext: source.plaintext };
      const signer = rng.chance(0.9) ? source.sender : rng.pick(corpus.parties);
      const frames = source.bytes.subarray(layoutOf(source.bytes).framesOffset);
      return {
        mutation: `header edit ${edit} signed by ${signer.alias}`,
        bytes: assemblePacket(headerBytes, signPacketHeader(headerBytes, signer.sign.secretKey), frames),
        plaintext: source.plaintext,
      };
    },
  },
  {
    name: 'resigned frame edit',
    weight: 3,
    make(rng, corpus) {
      const source = rng.pick(corpus.packets);
      const other = ciphertextsOf(rng.pick(corpus.packets).bytes);
      const edit = rng.below(frameEdits.length);
      const frames = (frameEdits[edit] as (typeof frameEdits)[number])(ciphertextsOf(source.bytes), rng, other);
      if (frames.length === 0) return { mutation: `frame edit ${edit} (no frames left)`, bytes: source.bytes, plaintext: source.plaintext };
      return { mutation: `frame edit ${edit}, re-hashed and re-signed`, bytes: resignedWithFrames(source, frames, rng), plaintext: source.plaintext };
    },
  },
  {
    name: 'payload surgery',
    weight: 3,
    make(rng, corpus) {
      const source = rng.pick(corpus.packets.filter((p) => p.payloads.length > 0));
      const layout = layoutOf(source.bytes);
      const head = source.bytes.subarray(0, layout.framesEnd);
      const blocks = source.payloads.map((p) => p.bytes);
      const i = rng.below(blocks.length);
      const j = rng.below(blocks.length);
      switch (rng.below(7)) {
        case 0: {
          const copy = blocks.map((b) => Uint8Array.from(b));
          const target = copy[i] as Uint8Array;
          const at = rng.below(target.length);
          target[at] = (target[at] as number) ^ (1 << rng.below(8));
          return { mutation: `payload ${i} byte ${at} flipped`, bytes: concatBytes(head, ...copy), plaintext: null };
        }
        case 1: {
          const out = [...blocks];
          [out[i], out[j]] = [blocks[j] as Uint8Array, blocks[i] as Uint8Array];
          return { mutation: `payloads ${i} and ${j} swapped`, bytes: concatBytes(head, ...out), plaintext: null };
        }
        case 2: {
          // Another packet's payload of the same size where possible, else random bytes of this size.
          const donor = corpus.packets.flatMap((p) => p.payloads).find((p) => p.bytes.length === (blocks[i] as Uint8Array).length && p.bytes !== blocks[i]);
          const out = [...blocks];
          out[i] = donor?.bytes ?? rng.bytes((blocks[i] as Uint8Array).length);
          return { mutation: `payload ${i} substituted${donor ? ' by another packet\'s' : ''}`, bytes: concatBytes(head, ...out), plaintext: null };
        }
        case 3: {
          const cut = rng.between(layout.framesEnd, source.bytes.length - 1);
          return { mutation: `cut inside the payloads at ${cut}`, bytes: source.bytes.subarray(0, cut), plaintext: null };
        }
        case 4:
          return { mutation: 'payload bytes dropped', bytes: head, plaintext: null };
        case 5: {
          // The real sender lists the payloads in another order and writes them in that order: legitimate.
          const header = headerObjectOf(source.bytes);
          const order = source.payloads.map((_, k) => k).reverse();
          header.payloads = order.map((k) => (header.payloads as unknown[])[k]);
          const bytes = resignPacket(source.bytes, header, source.sender.sign.secretKey, concatBytes(source.bytes.subarray(layout.framesOffset, layout.framesEnd), ...order.map((k) => blocks[k] as Uint8Array)));
          return { mutation: 'payloads reordered and re-signed', bytes, plaintext: source.plaintext };
        }
        default: {
          // The real sender signs a header for different payload bytes than the file has.
          const header = headerObjectOf(source.bytes);
          const forged = rng.bytes((blocks[i] as Uint8Array).length);
          ((header.payloads as Record<string, unknown>[])[i] as Record<string, unknown>).hash = toHex(hash(forged));
          const bytes = resignPacket(source.bytes, header, source.sender.sign.secretKey);
          return { mutation: `payload ${i} hash re-signed for other bytes`, bytes, plaintext: null };
        }
      }
    },
  },
  {
    name: 'crafted plaintext',
    weight: 3,
    make(rng, corpus) {
      const source = rng.pick(corpus.packets.filter((p) => p.addressedToReader));
      const entries = decodeCanonical(source.plaintext) as { entries: unknown[] };
      const candidates: (() => Uint8Array)[] = [
        () => rng.bytes(rng.between(1, 300)),
        () => tryCanonical(randomJson(rng)) ?? encodeCanonical([]),
        () => Buffer.from(JSON.stringify({ entries: entries.entries }, null, rng.below(3))),
        () => encodeCanonical({ entries: entries.entries, extra: 1 }),
        () => tryCanonical({ entries: [...entries.entries, randomJson(rng)] }) ?? encodeCanonical({ entries: [null] }),
        () => Buffer.from(canonicalString(entries).replace('"entries"', '"entries" ')),
        () => Buffer.from('['.repeat(rng.between(60, 5000))),
        () => {
          // One field of one entry replaced: schema (or canonical form) must catch it.
          const copy = structuredClone(entries) as { entries: Record<string, Record<string, unknown>>[] };
          const target = copy.entries[rng.below(copy.entries.length)];
          if (target?.entry) target.entry[rng.pick(['room', 'seq', 'author', 'at', 'body', 'format', 'prev'])] = randomJson(rng);
          return tryCanonical(copy) ?? encodeCanonical({ entries: [] });
        },
        () => source.plaintext,
      ];
      const plaintext = (candidates[rng.below(candidates.length)] as () => Uint8Array)();
      if (plaintext.length === 0) return { mutation: 'empty plaintext (skipped)', bytes: source.bytes, plaintext: source.plaintext };
      const tagsVariant = rng.below(4);
      const bytes = craftPacket({
        room: corpus.room,
        sender: source.sender,
        recipients: [corpus.reader],
        plaintext,
        chunkSize: rng.pick([64, 65, 100, 4096]),
        tags: tagsVariant === 0 ? (i, n) => (rng.chance(0.2) ? rng.pick(['message', 'push', 'rekey', 'final'] as const) : i === n - 1 ? 'final' : 'message') : undefined,
      });
      return { mutation: `crafted plaintext (${plaintext.length} bytes${tagsVariant === 0 ? ', random tags' : ''})`, bytes, plaintext };
    },
  },
];

const totalWeight = generators.reduce((sum, g) => sum + g.weight, 0);

/** The input for case `seed`: a pure function of the corpus and the seed. */
export function makeFuzzInput(corpus: FuzzCorpus, seed: number): FuzzInput {
  const rng = new Prng(seed);
  let roll = rng.below(totalWeight);
  for (const generator of generators) {
    if (roll < generator.weight) {
      const input = generator.make(rng, corpus);
      return { ...input, mutation: `${generator.name}: ${input.mutation}` };
    }
    roll -= generator.weight;
  }
  throw new Error('unreachable: weights');
}

/** Mixes a run's base seed and a case number into one 32-bit case seed. */
export function caseSeed(baseSeed: number, index: number): number {
  let x = (baseSeed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

// ---- Oracle ----------------------------------------------------------------------------------------

export type FuzzOutcome = 'accepted' | 'BAD_PACKET' | 'NOT_A_MEMBER';

export interface FuzzVerdict {
  readonly outcome: FuzzOutcome | 'FAILED';
  /** The refusal message, or what went wrong for FAILED. */
  readonly detail: string;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((byte, i) => byte === b[i]);

function describeThrown(thrown: unknown): string {
  if (thrown instanceof CleanroomError) return `CleanroomError ${thrown.code}: ${thrown.message}`;
  if (thrown instanceof Error) return `${thrown.name}: ${thrown.message}\n${thrown.stack ?? ''}`;
  return `non-error thrown: ${String(thrown)}`;
}

/**
 * Runs readPacketHeader and openPacket on the input and judges the result:
 *   - the only exceptions are CleanroomError BAD_PACKET / NOT_A_MEMBER, with a message;
 *   - openPacket accepts only an untouched corpus packet, or a legitimately signed one whose
 *     contents are exactly the plaintext the case says it may yield;
 *   - NOT_A_MEMBER only for a packet whose signed header really does not list the reader;
 *   - readPacketHeader and openPacket agree on envelope refusals.
 */
export function judgeFuzzInput(corpus: FuzzCorpus, input: FuzzInput): FuzzVerdict {
  const fail = (detail: string): FuzzVerdict => ({ outcome: 'FAILED', detail });
  let headerRefusal: string | null = null;
  try {
    readPacketHeader(input.bytes);
  } catch (thrown) {
    if (!(thrown instanceof CleanroomError) || thrown.code !== 'BAD_PACKET' || thrown.message === '') {
      return fail(`readPacketHeader threw ${describeThrown(thrown)}`);
    }
    headerRefusal = thrown.message;
  }
  let opened: ReturnType<typeof openPacket>;
  try {
    opened = openPacket(input.bytes, corpus.reader.recipientKeys);
  } catch (thrown) {
    if (!(thrown instanceof CleanroomError) || thrown.message === '') return fail(`openPacket threw ${describeThrown(thrown)}`);
    if (headerRefusal !== null && (thrown.code !== 'BAD_PACKET' || thrown.message !== headerRefusal)) {
      return fail(`readPacketHeader refused with "${headerRefusal}" but openPacket with ${describeThrown(thrown)}`);
    }
    if (thrown.code === 'BAD_PACKET') return { outcome: 'BAD_PACKET', detail: thrown.message };
    if (thrown.code === 'NOT_A_MEMBER') {
      const listed = readPacketWireHeader(input.bytes).recipients.some((r) => r.boxPublicKey === corpus.reader.ref.boxPublicKey);
      return listed ? fail('NOT_A_MEMBER for a packet that lists the reader') : { outcome: 'NOT_A_MEMBER', detail: thrown.message };
    }
    return fail(`openPacket threw ${describeThrown(thrown)}`);
  }
  if (headerRefusal !== null) return fail(`readPacketHeader refused ("${headerRefusal}") a packet openPacket accepted`);
  // Every payload of an accepted packet is bytes a legitimate sender wrote, and what its header says.
  const acceptedLayout = packetLayout(input.bytes);
  for (const [index, span] of acceptedLayout.payloads.entries()) {
    const actual = toHex(hash(input.bytes.subarray(span.offset, span.end)));
    if (actual !== span.hash || actual !== opened.header.payloads[index]?.hash) return fail(`payload ${index} was accepted with bytes that do not match its header`);
    if (!corpus.payloadHashes.has(actual)) return fail(`payload ${index} was accepted with bytes no legitimate sender wrote`);
  }
  const yielded = encodeCanonical({ entries: opened.contents.entries });
  const original = corpus.packets.find((p) => sameBytes(p.bytes, input.bytes));
  if (original !== undefined) {
    return sameBytes(yielded, original.plaintext) ? { outcome: 'accepted', detail: 'original packet' } : fail('an original packet decrypted to different contents');
  }
  if (input.plaintext !== null && sameBytes(yielded, input.plaintext)) return { outcome: 'accepted', detail: 'validly signed variant' };
  return fail('a changed packet was accepted');
}

/** Groups refusal messages into check names for coverage reports (numbers and quotes removed). */
export function refusalKind(detail: string): string {
  return detail
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\([^)]*\)/g, '(…)')
    .replace(/\d+/g, 'N')
    .replace(/\[N\]/g, '')
    .slice(0, 90);
}
