// The tamper suite: every way of changing a packet that DESIGN.md and issue 3 name is refused
// with BAD_PACKET and a message naming the check that failed.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { encodeCanonical } from '../../shared/canonical.js';
import { concatBytes, cryptoReady, toBase64Url } from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';
import {
  assemblePacket,
  cipherHashOf,
  encodeFrame,
  encodePacket,
  openPacket,
  type PacketLayout,
  packetLayout,
  packetLimits,
  readPacketHeader,
  signPacketHeader,
} from '../../shared/packet.js';
import { type SignedEntry } from '../../shared/room.js';
import { craftPacket, headerObjectOf, makeCreatorFeed, makeParty, packetOptions, type Party, resignPacket } from '../support/packet-fuzz.js';

/** The refusal for these bytes: asserts it is BAD_PACKET with a message and returns the message. */
function refusal(bytes: Uint8Array, reader: Party): string {
  try {
    openPacket(bytes, reader.recipientKeys);
  } catch (thrown) {
    if (!(thrown instanceof CleanroomError)) throw new Error(`not a CleanroomError: ${String(thrown)}`);
    assert.equal(thrown.code, 'BAD_PACKET', thrown.message);
    assert.ok(thrown.message.length > 10, 'the message says which check failed');
    return thrown.message;
  }
  throw new Error('the packet was accepted');
}

/** Calls `check` with every copy of `bytes` that has one byte changed: each position xor 0x01, then each xor 0xff. */
function forEachSingleByteChange(bytes: Uint8Array, check: (changed: Uint8Array, position: number, mask: number) => void): void {
  for (const mask of [0x01, 0xff]) {
    for (let position = 0; position < bytes.length; position++) {
      const changed = Uint8Array.from(bytes);
      changed[position] = (changed[position] as number) ^ mask;
      check(changed, position, mask);
    }
  }
}

const u32be = (value: number): Uint8Array => {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, false);
  return out;
};

describe('packet tamper suite', () => {
  let hospital: Party;
  let insurer: Party;
  let outsider: Party;
  let room: string;
  let entries: SignedEntry[];
  let packet: Uint8Array;
  let layout: PacketLayout;
  let plaintext: Uint8Array;
  const chunkSize = 64;

  /** The frames' ciphertexts (without length prefixes). */
  const ciphertexts = (bytes: Uint8Array): Uint8Array[] => packetLayout(bytes).frames.map((f) => bytes.subarray(f.cipherOffset, f.end));
  /** A packet whose frames were replaced and whose header was made to match and re-signed by its real sender. */
  const resignedWithFrames = (frames: Uint8Array[], streamEdit: Record<string, unknown> = {}): Uint8Array => {
    const frameBytes = concatBytes(...frames.map(encodeFrame));
    const header = headerObjectOf(packet);
    header.stream = { ...(header.stream as object), chunkCount: frames.length, cipherHash: cipherHashOf(frameBytes), ...streamEdit };
    return resignPacket(packet, header, hospital.sign.secretKey, frameBytes);
  };

  before(async () => {
    await cryptoReady();
    hospital = makeParty('St Mary Hospital');
    insurer = makeParty('Acme Insurance');
    outsider = makeParty('Outsider');
    const feed = makeCreatorFeed([hospital, insurer], 2);
    room = feed.room;
    entries = feed.entries;
    packet = encodePacket(packetOptions(room, entries, hospital, [insurer], { chunkSize }));
    layout = packetLayout(packet);
    plaintext = encodeCanonical({ entries });
    assert.ok(layout.frames.length >= 10, `many chunks (${layout.frames.length})`);
    assert.deepEqual(openPacket(packet, insurer.recipientKeys).contents.entries, entries);
  });

  it('refuses every single-byte change at every position, naming the check for its region', () => {
    const frameStarts = new Set(layout.frames.map((f) => f.offset));
    const regionCheck = (position: number): RegExp => {
      if (position < 8) return /does not start with "CLRMPKT1"/;
      if (position < 12) return /header length|packet header|truncated|frame 1 of|signature/;
      if (position < layout.signatureOffset) return /^packet header|header signature does not verify/;
      if (position < layout.framesOffset) return /^header signature does not verify with the sender's key/;
      const frameStart = [...frameStarts].find((start) => position >= start && position < start + 4);
      if (frameStart !== undefined) return /^frame \d+ of \d+ is \d+ bytes; the header says \d+$/;
      return /^ciphertext hash does not match the signed header/;
    };
    let checked = 0;
    forEachSingleByteChange(packet, (changed, position, mask) => {
      const message = refusal(changed, insurer);
      assert.match(message, regionCheck(position), `byte ${position} ^ ${mask}: ${message}`);
      // readPacketHeader stops at the signature: it refuses the same envelope damage, and only that.
      if (position < layout.framesOffset) assert.throws(() => readPacketHeader(changed), { message }, `byte ${position}`);
      else assert.equal(readPacketHeader(changed).sender.alias, 'St Mary Hospital');
      checked++;
    });
    assert.equal(checked, packet.length * 2);
  });

  it('refuses the packet cut at every frame boundary and at every other byte', () => {
    const boundaries = [0, 4, 8, 12, layout.signatureOffset, layout.framesOffset, ...layout.frames.flatMap((f) => [f.offset, f.cipherOffset, f.end])];
    for (const cut of boundaries.filter((b) => b < packet.length)) {
      assert.match(refusal(packet.subarray(0, cut), insurer), /truncated|does not start with/, `cut at ${cut}`);
    }
    const frameBoundaries = layout.frames.slice(1).map((f) => f.offset);
    for (const cut of frameBoundaries) {
      assert.match(refusal(packet.subarray(0, cut), insurer), /^packet is truncated: frame \d+ of \d+ is missing$/, `cut at ${cut}`);
    }
    for (let cut = 0; cut < packet.length; cut++) refusal(packet.subarray(0, cut), insurer);
  });

  it('refuses a truncated stream even when the sender re-signs a header that matches it', () => {
    const frames = ciphertexts(packet);
    const kept = frames.slice(0, -1);
    const truncated = resignedWithFrames(kept, { plaintextLength: chunkSize * kept.length });
    assert.match(refusal(truncated, insurer), /^the last frame is tagged "message", not "final"/);
  });

  it('refuses two frames swapped, whether or not the header was re-signed to match', () => {
    const frames = layout.frames.map((f) => packet.subarray(f.offset, f.end));
    const swapped = concatBytes(packet.subarray(0, layout.framesOffset), frames[1] as Uint8Array, frames[0] as Uint8Array, ...frames.slice(2));
    assert.match(refusal(swapped, insurer), /^ciphertext hash does not match/);
    const cts = ciphertexts(packet);
    const resigned = resignedWithFrames([cts[1] as Uint8Array, cts[0] as Uint8Array, ...cts.slice(2)]);
    assert.match(refusal(resigned, insurer), /^frame 1 of \d+ does not decrypt/);
  });

  it('refuses a duplicated frame', () => {
    const cts = ciphertexts(packet);
    const duplicated = resignedWithFrames([cts[0] as Uint8Array, ...cts], { plaintextLength: plaintext.length + chunkSize });
    assert.match(refusal(duplicated, insurer), /^frame 2 of \d+ does not decrypt/);
  });

  it('refuses appended bytes', () => {
    assert.match(refusal(concatBytes(packet, new Uint8Array([0])), insurer), /^1 unexpected byte after the last frame$/);
    const lastFrame = layout.frames.at(-1);
    assert.ok(lastFrame);
    assert.match(refusal(concatBytes(packet, packet.subarray(lastFrame.offset, lastFrame.end)), insurer), /unexpected bytes after the last frame/);
    assert.match(refusal(concatBytes(packet, packet), insurer), /unexpected bytes after the last frame/);
  });

  it('refuses a frame replaced by a frame from another packet', () => {
    const other = encodePacket(packetOptions(room, entries, hospital, [insurer], { chunkSize }));
    const otherLayout = packetLayout(other);
    for (const index of [0, 3, layout.frames.length - 1]) {
      const mine = layout.frames[index];
      const theirs = otherLayout.frames[index];
      assert.ok(mine && theirs && mine.length === theirs.length);
      const spliced = concatBytes(packet.subarray(0, mine.offset), other.subarray(theirs.offset, theirs.end), packet.subarray(mine.end));
      assert.match(refusal(spliced, insurer), /^ciphertext hash does not match/, `frame ${index}`);
      const cts = ciphertexts(packet);
      cts[index] = other.subarray(theirs.cipherOffset, theirs.end);
      assert.match(refusal(resignedWithFrames(cts), insurer), new RegExp(`^frame ${index + 1} of \\d+ does not decrypt`), `re-signed, frame ${index}`);
    }
    // Header and signature of one packet, all frames of another.
    const headerOfOne = concatBytes(packet.subarray(0, layout.framesOffset), other.subarray(otherLayout.framesOffset));
    assert.match(refusal(headerOfOne, insurer), /^ciphertext hash does not match/);
  });

  it("refuses a valid packet re-signed by a key that is not the header's sender", () => {
    const resigned = resignPacket(packet, headerObjectOf(packet), outsider.sign.secretKey);
    assert.match(refusal(resigned, insurer), /^header signature does not verify with the sender's key \(St Mary Hospital\)$/);
    assert.throws(() => readPacketHeader(resigned), /header signature does not verify/);
    // Claiming to be the outsider makes the signature valid, and the header then names the
    // outsider: membership is the importer's check, on that verified sender.
    const claimed = headerObjectOf(packet);
    claimed.sender = outsider.ref;
    assert.deepEqual(readPacketHeader(resignPacket(packet, claimed, outsider.sign.secretKey)).sender, outsider.ref);
  });

  it('refuses headers that are signed but wrong', () => {
    const refusedHeader = (edit: (header: Record<string, unknown>) => void, expected: RegExp) => {
      const header = headerObjectOf(packet);
      edit(header);
      assert.match(refusal(resignPacket(packet, header, hospital.sign.secretKey), insurer), expected);
    };
    const stream = (h: Record<string, unknown>) => h.stream as Record<string, unknown>;
    const recipients = (h: Record<string, unknown>) => h.recipients as Record<string, unknown>[];
    refusedHeader((h) => (h.extra = 1), /^packet header: unknown field "extra"$/);
    refusedHeader((h) => (stream(h).extra = 1), /^packet header: unknown field "stream\.extra"$/);
    refusedHeader((h) => (recipients(h)[0] as Record<string, unknown>).extra = 1, /^packet header: unknown field "recipients\[0\]\.extra"$/);
    refusedHeader((h) => delete h.createdAt, /^packet header: createdAt is required$/);
    refusedHeader((h) => (h.format = 'cleanroom-packet/3'), /format "cleanroom-packet\/3" is not supported: this version reads cleanroom-packet\/1 and cleanroom-packet\/2$/);
    // A /1 header relabelled /2 lacks the payload list that /2 requires.
    refusedHeader((h) => (h.format = 'cleanroom-packet/2'), /^packet header: payloads is required$/);
    refusedHeader((h) => (h.recipients = []), /recipients must have at least 1 item/);
    refusedHeader((h) => recipients(h).push(recipients(h)[0] as Record<string, unknown>), /signPublicKey twice/);
    refusedHeader((h) => (stream(h).chunkCount = 3), /stream\.chunkCount must be \d+ for plaintextLength/);
    refusedHeader((h) => (stream(h).chunkSize = 32), /stream\.chunkSize must be between 64 and/);
    refusedHeader((h) => (stream(h).plaintextLength = (stream(h).plaintextLength as number) - 1), /^frame \d+ of \d+ is \d+ bytes; the header says \d+$/);
    refusedHeader((h) => (stream(h).cipherHash = '00'.repeat(32)), /^ciphertext hash does not match/);
    refusedHeader((h) => (stream(h).header = toBase64Url(new Uint8Array(24))), /^frame 1 of \d+ does not decrypt/);
    // Unused trailing bits set: the same key bytes spelled differently.
    refusedHeader((h) => {
      const key = (h.sender as Record<string, string>).signPublicKey as string;
      const last = 'ABCD'.indexOf(key.slice(-1)) >= 0 ? 'B' : 'Z';
      (h.sender as Record<string, string>).signPublicKey = key.slice(0, -1) + last;
    }, /not the canonical base64url|signature/);
    // The reader's entry carries a key sealed to someone else.
    refusedHeader((h) => ((recipients(h)[0] as Record<string, unknown>).sealedKey = toBase64Url(new Uint8Array(80))), /^the content key sealed to you does not open with your key$/);
  });

  it('refuses a header that is not canonical, even when signed', () => {
    const text = new TextDecoder().decode(layout.headerBytes);
    for (const variant of [text.replace('{', '{ '), text.replace('"createdAt"', '"createdAt" '), `${text}\n`, text.replace(/^\{"createdAt":("[^"]*"),("format":"[^"]*")/, '{$2,"createdAt":$1')]) {
      assert.notEqual(variant, text);
      const headerBytes = new TextEncoder().encode(variant);
      const bytes = assemblePacket(headerBytes, signPacketHeader(headerBytes, hospital.sign.secretKey), packet.subarray(layout.framesOffset));
      assert.match(refusal(bytes, insurer), /^packet header is not (in canonical form|valid JSON)/, variant.slice(0, 40));
    }
  });

  it('refuses streams with wrong tags, even from the real sender', () => {
    const craft = (tags: (i: number, n: number) => 'message' | 'final' | 'push' | 'rekey') =>
      craftPacket({ room, sender: hospital, recipients: [insurer], plaintext, chunkSize, tags });
    assert.match(refusal(craft((i) => (i === 2 ? 'final' : 'message')), insurer), /^frame 3 of \d+ is tagged "final"; only the last frame may end the stream$/);
    assert.match(refusal(craft(() => 'message'), insurer), /^the last frame is tagged "message", not "final"/);
    assert.match(refusal(craft((i, n) => (i === n - 1 ? 'final' : 'push')), insurer), /^frame 1 of \d+ is tagged "push"/);
    assert.match(refusal(craft(() => 'final'), insurer), /^frame 1 of \d+ is tagged "final"/);
    // The control: the same construction with the right tags opens.
    assert.deepEqual(openPacket(craft((i, n) => (i === n - 1 ? 'final' : 'message')), insurer.recipientKeys).contents.entries, entries);
  });

  it('refuses contents that are not canonical, not the body schema, or not for this room', () => {
    const crafted = (body: Uint8Array | unknown) =>
      craftPacket({ room, sender: hospital, recipients: [insurer], plaintext: body instanceof Uint8Array ? body : encodeCanonical(body), chunkSize });
    assert.match(refusal(crafted(new TextEncoder().encode(JSON.stringify({ entries }, null, 1))), insurer), /^packet contents is not in canonical form/);
    assert.match(refusal(crafted(new Uint8Array([0xff, 0xfe])), insurer), /^packet contents is not valid UTF-8/);
    assert.match(refusal(crafted(new TextEncoder().encode('['.repeat(100))), insurer), /^packet contents is nested more than/);
    assert.match(refusal(crafted({ entries, payloads: [] }), insurer), /^packet contents: unknown field "payloads"$/);
    assert.match(refusal(crafted([]), insurer), /^packet contents: value must be an object$/);
    const badSignatureShape = structuredClone(entries);
    (badSignatureShape[1] as { signature: string }).signature = 'short';
    assert.match(refusal(crafted({ entries: badSignatureShape }), insurer), /^packet contents: entries\[1\]\.signature/);
    const otherRoom = makeCreatorFeed([hospital, insurer], 0).entries;
    assert.match(refusal(crafted({ entries: [...entries, ...otherRoom] }), insurer), new RegExp(`^packet contents: entries\\[${entries.length}\\] belongs to another room`));
    assert.match(refusal(crafted({ entries: new Array(packetLimits.maxEntries + 1).fill(0) }), insurer), /^packet contents: entries must have at most 65536 items$/);
  });

  it('refuses an oversize packet or header by its size field, before parsing anything', () => {
    const oversize = new Uint8Array(packetLimits.maxPacketBytes + 1);
    oversize.set(packet);
    assert.match(refusal(oversize, insurer), /^packet size 67108865 bytes is over the 64 MiB limit$/);
    assert.throws(() => readPacketHeader(oversize), /packet size 67108865 bytes is over the 64 MiB limit/);
    // Garbage where the header would be: the length check refuses it before any parse.
    for (const length of [0, packetLimits.maxHeaderBytes + 1, 0xffff_ffff]) {
      const bytes = concatBytes(packet.subarray(0, 8), u32be(length), new Uint8Array(Math.min(length, 70_000) + 64).fill(0x5b));
      assert.match(refusal(bytes, insurer), new RegExp(`^header length ${length} is outside 1\\.\\.65536 bytes$`));
    }
    // A frame length far beyond the file is refused by comparison with the header, not allocated.
    const hugeFrame = Uint8Array.from(packet);
    hugeFrame.set(u32be(0xffff_ffff), layout.framesOffset);
    assert.match(refusal(hugeFrame, insurer), /^frame 1 of \d+ is 4294967295 bytes; the header says 81$/);
  });

  it('refuses files that are not packets', () => {
    assert.match(refusal(new Uint8Array(0), insurer), /does not start with "CLRMPKT1"/);
    assert.match(refusal(new TextEncoder().encode('CLRMPKT2'), insurer), /does not start with "CLRMPKT1"/);
    assert.match(refusal(new TextEncoder().encode('CLRMPKT1'), insurer), /^packet is truncated before the header length$/);
    assert.match(refusal(concatBytes(packet.subarray(0, 12), layout.headerBytes), insurer), /^packet is truncated inside the header or its signature$/);
  });
});

describe('packet tamper suite, cleanroom-packet/2 (payloads)', () => {
  let hospital: Party;
  let insurer: Party;
  let packet: Uint8Array;
  let layout: PacketLayout;
  let payloads: { asset: string; bytes: Uint8Array }[];

  before(async () => {
    await cryptoReady();
    hospital = makeParty('St Mary Hospital');
    insurer = makeParty('Acme Insurance');
    const feed = makeCreatorFeed([hospital, insurer], 1);
    const payload = (size: number, fill: number) => ({ asset: fill.toString(16).padStart(2, '0').repeat(32), bytes: new Uint8Array(size).map((_, i) => (i * 31 + fill) & 0xff) });
    payloads = [payload(200, 0xa1), payload(200, 0xb2)];
    packet = encodePacket(packetOptions(feed.room, feed.entries, hospital, [insurer], { chunkSize: 64, payloads }));
    layout = packetLayout(packet);
    assert.equal(layout.header.format, 'cleanroom-packet/2');
    assert.equal(openPacket(packet, insurer.recipientKeys).header.payloads.length, 2);
  });

  it('refuses every single-byte change at every position, naming the check for its region', () => {
    const frameStarts = new Set(layout.frames.map((f) => f.offset));
    const regionCheck = (position: number): RegExp => {
      if (position < 8) return /does not start with "CLRMPKT1"/;
      // A changed digit in a signed size can still be a valid header: the size check, which comes
      // before the signature, then finds the file does not match it.
      if (position < 12) return /header length|packet header|truncated|signature|unexpected bytes?/;
      if (position < layout.signatureOffset) return /^(packet header|header signature does not verify|packet is truncated|\d+ unexpected bytes? after the last payload)/;
      if (position < layout.framesOffset) return /^header signature does not verify with the sender's key/;
      if (position < layout.framesEnd) {
        const frameStart = [...frameStarts].find((start) => position >= start && position < start + 4);
        if (frameStart !== undefined) return /^frame \d+ of \d+ is \d+ bytes; the header says \d+$/;
        return /^ciphertext hash does not match the signed header/;
      }
      const index = layout.payloads.findIndex((p) => position >= p.offset && position < p.end);
      return new RegExp(`^payload ${index + 1} of 2 \\(asset ${payloads[index]?.asset.slice(0, 12)}\\) does not match its hash in the signed header: it was changed$`);
    };
    forEachSingleByteChange(packet, (changed, position, mask) => {
      const message = refusal(changed, insurer);
      assert.match(message, regionCheck(position), `byte ${position} ^ ${mask}: ${message}`);
    });
  });

  it('refuses the packet cut anywhere, by its size before any payload byte is read', () => {
    for (let cut = layout.framesOffset; cut < packet.length; cut++) {
      assert.match(refusal(packet.subarray(0, cut), insurer), /^packet is truncated: it is \d+ bytes, and its header, frames and 2 payloads take \d+$/, `cut at ${cut}`);
    }
    for (let cut = 0; cut < layout.framesOffset; cut++) refusal(packet.subarray(0, cut), insurer);
  });

  it('refuses appended bytes, and payloads swapped, substituted or dropped', () => {
    assert.match(refusal(concatBytes(packet, new Uint8Array([0])), insurer), /^1 unexpected byte after the last payload$/);
    assert.match(refusal(concatBytes(packet, payloads[0]!.bytes), insurer), /^200 unexpected bytes after the last payload$/);
    const head = packet.subarray(0, layout.framesEnd);
    assert.match(refusal(concatBytes(head, payloads[1]!.bytes, payloads[0]!.bytes), insurer), /^payload 1 of 2 .* does not match its hash/);
    assert.match(refusal(concatBytes(head, payloads[0]!.bytes, new Uint8Array(200)), insurer), /^payload 2 of 2 .* does not match its hash/);
    assert.match(refusal(concatBytes(head, payloads[0]!.bytes), insurer), /^packet is truncated/);
  });

  it('refuses payload lists that are signed but wrong', () => {
    const refusedHeader = (edit: (header: Record<string, unknown>) => void, expected: RegExp, after?: Uint8Array) => {
      const header = headerObjectOf(packet);
      edit(header);
      const rest = after ?? packet.subarray(layout.framesOffset);
      assert.match(refusal(resignPacket(packet, header, hospital.sign.secretKey, rest), insurer), expected);
    };
    const list = (h: Record<string, unknown>) => h.payloads as Record<string, unknown>[];
    refusedHeader((h) => (h.payloads = []), /^packet header: payloads must have at least 1 item/);
    refusedHeader((h) => delete h.payloads, /^packet header: payloads is required$/);
    refusedHeader((h) => ((list(h)[0] as Record<string, unknown>).extra = 1), /^packet header: unknown field "payloads\[0\]\.extra"$/);
    refusedHeader((h) => list(h).push({ ...(list(h)[0] as object) }), /payloads must not list an asset twice/);
    refusedHeader((h) => ((list(h)[1] as Record<string, unknown>).hash = (list(h)[0] as Record<string, unknown>).hash), /payloads must not list a hash twice/);
    refusedHeader((h) => ((list(h)[0] as Record<string, unknown>).size = 0), /^packet header: payloads\[0\]\.size must be between 1 and/);
    refusedHeader((h) => ((list(h)[0] as Record<string, unknown>).size = 199), /^1 unexpected byte after the last payload$/);
    refusedHeader((h) => ((list(h)[0] as Record<string, unknown>).size = 201), /^packet is truncated/);
    refusedHeader((h) => ((list(h)[0] as Record<string, unknown>).hash = '00'.repeat(32)), /^payload 1 of 2 .* does not match its hash/);
    // /1 has no payload list: one added is an unknown field.
    refusedHeader((h) => (h.format = 'cleanroom-packet/1'), /^packet header: unknown field "payloads"$/);
    // The real sender reordering the list and the bytes together is a different, valid packet.
    const header = headerObjectOf(packet);
    header.payloads = [...list(header)].reverse();
    const reordered = resignPacket(packet, header, hospital.sign.secretKey, concatBytes(packet.subarray(layout.framesOffset, layout.framesEnd), payloads[1]!.bytes, payloads[0]!.bytes));
    assert.deepEqual(openPacket(reordered, insurer.recipientKeys).header.payloads.map((p) => p.asset), [payloads[1]!.asset, payloads[0]!.asset]);
  });
});
