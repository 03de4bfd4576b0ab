// cleanroom-packet/2: payloads after the feed frames, bound by hashes in the signed header, and
// readable from a file's first bytes and its size alone (the payloads may be larger than memory).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { concatBytes, cryptoReady, hash, randomBytes, toHex } from '../../shared/crypto.js';
import {
  checkPayloadsAgainstDescriptors,
  encodePacket,
  encodePacketHead,
  type EncodePacketOptions,
  openPacket,
  openPacketContents,
  packetFormatOf,
  packetLayout,
  packetLimits,
  packetPrologueBytes,
  payloadRefOf,
  readPacketEnvelope,
  readPacketLayout,
} from '../../shared/packet.js';
import { type SignedEntry } from '../../shared/room.js';
import { isError, makeCreatorFeed, makeParty, packetOptions, type Party } from '../support/packet-fuzz.js';

const assetId = (): string => toHex(randomBytes(32));

describe('cleanroom-packet/2', () => {
  let hospital: Party;
  let insurer: Party;
  let room: string;
  let entries: SignedEntry[];
  let options: (overrides?: Partial<EncodePacketOptions>) => EncodePacketOptions;

  before(async () => {
    await cryptoReady();
    hospital = makeParty('St Mary Hospital');
    insurer = makeParty('Acme Insurance');
    const feed = makeCreatorFeed([hospital, insurer], 2);
    room = feed.room;
    entries = feed.entries;
    options = (overrides = {}) => packetOptions(room, entries, hospital, [insurer], { chunkSize: 64, ...overrides });
  });

  it('round-trips two payloads after the frames, in header order, and still writes /1 without payloads', () => {
    const payloads = [
      { asset: assetId(), bytes: randomBytes(1000) },
      { asset: assetId(), bytes: randomBytes(17) },
    ];
    const packet = encodePacket(options({ payloads }));
    const { header, contents } = openPacket(packet, insurer.recipientKeys);
    assert.equal(header.format, 'cleanroom-packet/2');
    assert.deepEqual(contents.entries, entries);
    assert.deepEqual(header.payloads, payloads.map(payloadRefOf));
    const layout = packetLayout(packet);
    assert.equal(layout.payloads[0]?.offset, layout.framesEnd);
    assert.equal(layout.frames.at(-1)?.end, layout.framesEnd);
    layout.payloads.forEach((span, index) => assert.deepEqual(packet.subarray(span.offset, span.end), payloads[index]?.bytes));
    assert.equal(layout.payloads.at(-1)?.end, packet.length);

    const plain = encodePacket(options());
    assert.equal(openPacket(plain, insurer.recipientKeys).header.format, 'cleanroom-packet/1');
    assert.equal(packetFormatOf(plain), 'cleanroom-packet/1');
    assert.equal(packetFormatOf(packet), 'cleanroom-packet/2');
  });

  it('is read from its first bytes and its size alone, however large its payloads', () => {
    // A 5 GiB and a 1 TiB payload described; only the head exists, which is all a reader needs.
    const refs = [
      { asset: assetId(), hash: toHex(hash(utf8Bytes('a'))), size: 5 * 2 ** 30 },
      { asset: assetId(), hash: toHex(hash(utf8Bytes('b'))), size: packetLimits.maxPayloadBytes },
    ];
    const head = encodePacketHead({ ...options(), payloads: refs });
    const fileSize = head.length + refs[0]!.size + refs[1]!.size;
    const prologue = head.subarray(0, Math.min(head.length, packetPrologueBytes));
    const envelope = readPacketEnvelope(prologue, fileSize);
    assert.equal(envelope.framesEnd, head.length);
    assert.deepEqual(
      envelope.payloads.map((p) => [p.offset, p.end]),
      [
        [head.length, head.length + refs[0]!.size],
        [head.length + refs[0]!.size, fileSize],
      ],
    );
    const layout = readPacketLayout(head, fileSize);
    const { header, contents } = openPacketContents(head, layout, insurer.recipientKeys);
    assert.deepEqual(header.payloads, refs);
    assert.deepEqual(contents.entries, entries);

    // The sizes must add up exactly: checked from the file's size before a payload byte is read.
    assert.throws(() => readPacketEnvelope(prologue, fileSize - 1), isError('BAD_PACKET', /^packet is truncated: it is \d+ bytes, and its header, frames and 2 payloads take \d+$/));
    assert.throws(() => readPacketEnvelope(prologue, fileSize + 3), isError('BAD_PACKET', /^3 unexpected bytes after the last payload$/));
    assert.throws(() => readPacketEnvelope(prologue, head.length), isError('BAD_PACKET', /^packet is truncated/));
  });

  it('keeps the 64 MiB cap for anything that is not a /2 packet', () => {
    const plain = encodePacket(options());
    const big = packetLimits.maxPacketBytes + 1;
    assert.throws(() => readPacketEnvelope(plain, big), isError('BAD_PACKET', /^packet size 67108865 bytes is over the 64 MiB limit$/));
    assert.throws(() => readPacketEnvelope(new Uint8Array(1000), big), isError('BAD_PACKET', /^packet size 67108865 bytes is over the 64 MiB limit$/));
    assert.equal(packetFormatOf(new Uint8Array(1000)), null);
  });

  it('refuses payload bytes that do not match the signed hash, naming the payload', () => {
    const payloads = [
      { asset: assetId(), bytes: randomBytes(300) },
      { asset: assetId(), bytes: randomBytes(300) },
    ];
    const packet = encodePacket(options({ payloads }));
    const layout = packetLayout(packet);
    const changed = Uint8Array.from(packet);
    const at = (layout.payloads[1]?.offset as number) + 150;
    changed[at] = (changed[at] as number) ^ 0x80;
    assert.throws(
      () => openPacket(changed, insurer.recipientKeys),
      isError('BAD_PACKET', new RegExp(`^payload 2 of 2 \\(asset ${payloads[1]!.asset.slice(0, 12)}\\) does not match its hash in the signed header: it was changed$`)),
    );
    // Swapped payloads of the same size: each is at the other's place.
    const swapped = concatBytes(packet.subarray(0, layout.framesEnd), payloads[1]!.bytes, payloads[0]!.bytes);
    assert.throws(() => openPacket(swapped, insurer.recipientKeys), isError('BAD_PACKET', /^payload 1 of 2 .* does not match its hash/));
  });

  it('refuses to write payload lists a reader would refuse', () => {
    const ref = { asset: assetId(), hash: toHex(randomBytes(32)), size: 10 };
    const refused = (payloads: unknown, message: RegExp) =>
      assert.throws(() => encodePacketHead({ ...options(), payloads: payloads as never }), isError('BAD_REQUEST', message));
    refused([ref, { ...ref, hash: toHex(randomBytes(32)) }], /payloads must not list an asset twice/);
    refused([ref, { ...ref, asset: assetId() }], /payloads must not list a hash twice/);
    refused([{ ...ref, size: 0 }], /size must be between 1 and/);
    refused([{ ...ref, size: packetLimits.maxPayloadBytes + 1 }], /size must be between 1 and/);
    refused([{ ...ref, hash: 'x' }], /hash/);
    refused(Array.from({ length: packetLimits.maxPayloads + 1 }, () => ({ asset: assetId(), hash: toHex(randomBytes(32)), size: 1 })), /at most 256/);
  });

  it('matches payloads to the descriptors the room knows', () => {
    const bytes = randomBytes(64);
    const ref = payloadRefOf({ asset: assetId(), bytes });
    const descriptor = { name: 'visits', payload: { hash: ref.hash, size: ref.size, encryption: 'secretstream-xchacha20poly1305/1' as const, chunkSize: 65536 } };
    checkPayloadsAgainstDescriptors([ref], (id) => (id === ref.asset ? descriptor : undefined));
    assert.throws(() => checkPayloadsAgainstDescriptors([ref], () => undefined), isError('BAD_PACKET', new RegExp(`^payload for unknown asset ${ref.asset} \\(payload 1 of 1\\)`)));
    const otherHash = { ...descriptor, payload: { ...descriptor.payload, hash: toHex(randomBytes(32)) } };
    assert.throws(() => checkPayloadsAgainstDescriptors([ref], () => otherHash), isError('BAD_PACKET', /^the payload for asset "visits" \([0-9a-f]{12}\) does not match its descriptor/));
    const otherSize = { ...descriptor, payload: { ...descriptor.payload, size: 65 } };
    assert.throws(() => checkPayloadsAgainstDescriptors([ref], () => otherSize), isError('BAD_PACKET', /does not match its descriptor: hash [0-9a-f]{12}…, 64 bytes; the descriptor says [0-9a-f]{12}…, 65 bytes$/));
  });
});

function utf8Bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
