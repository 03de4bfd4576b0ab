import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { decodeCanonical, encodeCanonical } from '../../shared/canonical.js';
import { cryptoReady, fromBase64Url, toHex } from '../../shared/crypto.js';
import { entryId, verifyEntrySignature } from '../../shared/feed.js';
import {
  encodePacket,
  type EncodePacketOptions,
  isPacketFileName,
  openPacket,
  packetLayout,
  packetLimits,
  packetMagic,
  readPacketHeader,
  readPacketWireHeader,
} from '../../shared/packet.js';
import { type SignedEntry } from '../../shared/room.js';
import { appendEntries, fixedTime, isError, makeCreatorFeed, makeParty, packetOptions, type Party } from '../support/packet-fuzz.js';
import { repoRoot } from '../support/paths.js';

describe('packets', () => {
  let hospital: Party;
  let insurer: Party;
  let lab: Party;
  let outsider: Party;
  let room: string;
  let entries: SignedEntry[];
  let options: (overrides?: Partial<EncodePacketOptions>) => EncodePacketOptions;

  before(async () => {
    await cryptoReady();
    hospital = makeParty('St Mary Hospital');
    insurer = makeParty('Acme Insurance');
    lab = makeParty('North Lab');
    outsider = makeParty('Outsider');
    const feed = makeCreatorFeed([hospital, insurer, lab], 3);
    room = feed.room;
    entries = feed.entries;
    options = (overrides = {}) => packetOptions(room, entries, hospital, [insurer], overrides);
  });

  it('round-trips real signed entries to one recipient', () => {
    const packet = encodePacket(options());
    const { header, contents } = openPacket(packet, insurer.recipientKeys);
    assert.deepEqual(contents.entries, entries);
    assert.ok(contents.entries.every(verifyEntrySignature));
    assert.deepEqual(header, {
      format: 'cleanroom-packet/1',
      room,
      sender: hospital.ref,
      recipients: [insurer.ref],
      createdAt: fixedTime.toISOString(),
      payloads: [],
    });
  });

  it('round-trips to several recipients, each opening their own sealed key', () => {
    const packet = encodePacket(options({ recipients: [insurer.ref, lab.ref, hospital.ref], chunkSize: 100 }));
    for (const party of [insurer, lab, hospital]) {
      const { header, contents } = openPacket(packet, party.recipientKeys);
      assert.deepEqual(contents.entries, entries);
      assert.deepEqual(header.recipients, [insurer.ref, lab.ref, hospital.ref]);
    }
  });

  it('round-trips an empty feed and a feed spanning several default-size chunks', () => {
    assert.deepEqual(openPacket(encodePacket(options({ entries: [] })), insurer.recipientKeys).contents.entries, []);
    const first = entries[0] as SignedEntry;
    const long = [first, ...appendEntries(room, hospital, first, Array.from({ length: 400 }, () => ({ type: 'amendment.signed' as const, amendment: 'cd'.repeat(32) })))];
    const packet = encodePacket(options({ entries: long }));
    assert.ok(packetLayout(packet).frames.length >= 3, 'several 64 KiB chunks');
    assert.deepEqual(openPacket(packet, insurer.recipientKeys).contents.entries, long);
  });

  it('refuses a reader who is not a recipient with NOT_A_MEMBER, after checking the packet', () => {
    const packet = encodePacket(options());
    assert.throws(() => openPacket(packet, outsider.recipientKeys), isError('NOT_A_MEMBER', /^this packet is not addressed to you$/));
    // The sender is not a recipient unless listed.
    assert.throws(() => openPacket(packet, hospital.recipientKeys), isError('NOT_A_MEMBER'));
    // A damaged packet says it is damaged, whoever reads it.
    const damaged = Uint8Array.from(packet);
    damaged[damaged.length - 1] = (damaged[damaged.length - 1] as number) ^ 1;
    assert.throws(() => openPacket(damaged, outsider.recipientKeys), isError('BAD_PACKET'));
  });

  it('shows who a packet is from without any key, and checks the signature to do so', () => {
    const packet = encodePacket(options({ recipients: [insurer.ref, lab.ref] }));
    const header = readPacketHeader(packet);
    assert.equal(header.sender.alias, 'St Mary Hospital');
    assert.deepEqual(header.sender, hospital.ref);
    assert.deepEqual(header.recipients, [insurer.ref, lab.ref]);
    assert.equal(header.room, room);
    assert.ok(!('sealedKey' in (header.recipients[0] as object)), 'sealed keys are not handed on');
    const layout = packetLayout(packet);
    const forged = Uint8Array.from(packet);
    forged[layout.signatureOffset] = (forged[layout.signatureOffset] as number) ^ 1;
    assert.throws(() => readPacketHeader(forged), isError('BAD_PACKET', /signature/));
  });

  it('lays the file out as documented', () => {
    const chunkSize = 64;
    const packet = encodePacket(options({ chunkSize }));
    assert.equal(new TextDecoder().decode(packet.subarray(0, 8)), packetMagic);
    const layout = packetLayout(packet);
    const headerLength = new DataView(packet.buffer, packet.byteOffset).getUint32(8, false);
    assert.equal(layout.headerBytes.length, headerLength);
    assert.equal(layout.signatureOffset, 12 + headerLength);
    assert.equal(layout.framesOffset, layout.signatureOffset + 64);
    assert.deepEqual(decodeCanonical(layout.headerBytes), readPacketWireHeader(packet));
    const plaintextLength = encodeCanonical({ entries }).length;
    const { stream } = layout.header;
    assert.equal(stream.plaintextLength, plaintextLength);
    assert.equal(stream.chunkCount, Math.ceil(plaintextLength / chunkSize));
    assert.equal(layout.frames.length, stream.chunkCount);
    layout.frames.slice(0, -1).forEach((frame) => assert.equal(frame.length, chunkSize + 17));
    assert.equal(layout.frames.at(-1)?.end, packet.length);
    assert.match(stream.cipherHash, /^[0-9a-f]{64}$/);
    assert.equal(layout.header.recipients[0]?.sealedKey.length, 107);
  });

  it('encrypts afresh each time', () => {
    const a = encodePacket(options());
    const b = encodePacket(options());
    assert.notDeepEqual(a, b);
    assert.deepEqual(openPacket(a, insurer.recipientKeys), openPacket(b, insurer.recipientKeys));
  });

  it('refuses to write what a reader would refuse', () => {
    const refused = (overrides: Partial<EncodePacketOptions>, message: RegExp) =>
      assert.throws(() => encodePacket(options(overrides)), isError('BAD_REQUEST', message));
    refused({ recipients: [] }, /no recipients/);
    refused({ recipients: [insurer.ref, insurer.ref] }, /listed twice/);
    refused({ recipients: Array.from({ length: packetLimits.maxRecipients + 1 }, () => makeParty('Many').ref) }, /at most 16/);
    refused({ signSecretKey: insurer.sign.secretKey }, /signing key is not the sender's/);
    refused({ chunkSize: 63 }, /chunkSize/);
    refused({ chunkSize: packetLimits.maxChunkSize + 1 }, /chunkSize/);
    refused({ room: 'ef'.repeat(32) }, /entries\[0\] belongs to another room/);
    refused({ room: 'not a room' }, /room/);
    refused({ createdAt: new Date(Number.NaN) }, /createdAt/);
    const tampered = structuredClone(entries);
    (tampered[0] as { signature: string }).signature = 'x';
    refused({ entries: tampered }, /entries\[0\]\.signature/);
  });
});

describe('docs/packets.md test vector', () => {
  before(() => cryptoReady());

  it('opens exactly as the specification says', () => {
    const doc = readFileSync(path.join(repoRoot, 'docs', 'packets.md'), 'utf8');
    const block = /<!-- packet-test-vector:begin -->([\s\S]*?)<!-- packet-test-vector:end -->/.exec(doc)?.[1];
    assert.ok(block, 'the vector block is in the document');
    const packet = new Uint8Array(Buffer.from(block.replace(/```/g, '').replace(/\s+/g, ''), 'base64'));
    assert.equal(packet.length, 1266);
    // The recipient's test keys, from crypto_box_seed_keypair(32 x 0x04), as published in §12.
    const hex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));
    const recipient = {
      boxPublicKey: hex('edd03cade80d29de6ea313a74ab369f4732ecb36649066b78b5b2dd664cb0417'),
      boxSecretKey: hex('4b3e3c145d7e680a16676925fc045183d2f510cb2f660a1fc517c73762185dc3'),
    };
    const { header, contents } = openPacket(packet, recipient);
    assert.equal(header.sender.alias, 'St Mary');
    assert.equal(toHex(fromBase64Url(header.sender.signPublicKey)), '8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c');
    assert.equal(header.createdAt, '2030-03-04T09:05:00.000Z');
    const layout = packetLayout(packet);
    assert.equal(layout.headerBytes.length, 761);
    assert.deepEqual(layout.frames.map((f) => [f.offset, f.length]), [[837, 145], [986, 145], [1135, 127]]);
    assert.equal(layout.header.stream.cipherHash, 'c422ceef570fdf420f444b5ebeef6213cae09ae2ca43cfdb84af9c3637d2369e');
    const [only] = contents.entries;
    assert.ok(only && verifyEntrySignature(only));
    assert.equal(entryId(only.entry), 'a95413a369d90ec474a6ee8f9759cebf173cd3e53cebe0e0a290955e622f39d9');
    assert.equal(encodeCanonical(contents).length, 366);
  });
});

describe('packet file names', () => {
  it('picks up whole .cleanroom files and skips writes in progress', () => {
    assert.ok(isPacketFileName('readmissions-st-mary-20300304T0900.cleanroom'));
    assert.ok(isPacketFileName('COPY.CLEANROOM'));
    for (const name of ['.readmissions.cleanroom.partial', 'readmissions.cleanroom.partial', 'readmissions.cleanroom.tmp', '.hidden.cleanroom', 'card.cleanroom-card', 'notes.txt']) {
      assert.equal(isPacketFileName(name), false, name);
    }
  });
});
