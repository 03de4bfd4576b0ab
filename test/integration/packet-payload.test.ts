// Packets that carry asset payloads (cleanroom-packet/2) between real homes: streamed in and out of
// the vault, bound to their descriptors, and refused whole — with nothing left in the vault — when
// anything about a payload is wrong.
import assert from 'node:assert/strict';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Contacts } from '../../electron/core/contacts.js';
import { openHome } from '../../electron/core/home.js';
import { Keystore, type UnlockedKeys } from '../../electron/core/keystore.js';
import { vaultPathFor } from '../../electron/core/packet-stream.js';
import { Packets } from '../../electron/core/packets.js';
import { Rooms } from '../../electron/core/rooms.js';
import { type AssetDescriptor } from '../../shared/asset.js';
import { hashCanonical } from '../../shared/canonical.js';
import { createHasher, randomBytes, toBase64Url, toHex } from '../../shared/crypto.js';
import { type IdentityPublic } from '../../shared/identity.js';
import { encodePacket, packetFormatOf, packetLayout } from '../../shared/packet.js';
import { assertRefusedUnchanged, exportFor, inviteAndJoin, makeParty, openUnlocked, type Party } from '../support/core-parties.js';
import { passphrase, temporaryFolder } from '../support/homes.js';

/** A home opened without core, to do what core's API does not offer yet (sign asset entries, export with every payload). */
interface Direct {
  readonly identity: IdentityPublic;
  readonly keys: UnlockedKeys;
  readonly rooms: Rooms;
  readonly packets: Packets;
  readonly vaultDir: string;
  readonly db: Database.Database;
}

/** Runs `use` on the party's home opened directly (core closed meanwhile), then reopens core. */
async function withDirect<T>(party: Party, use: (direct: Direct) => Promise<T> | T): Promise<T> {
  await party.core.close();
  const opened = openHome(party.home, 'cli');
  try {
    const keystore = new Keystore(opened.db);
    keystore.unlock(passphrase);
    const clock = () => new Date();
    const rooms = new Rooms(opened.db, new Contacts(opened.db, clock), clock);
    const packets = new Packets(opened.db, rooms, clock, opened.vaultDir);
    return await use({ identity: keystore.publicIdentity(), keys: keystore.keys(), rooms, packets, vaultDir: opened.vaultDir, db: opened.db });
  } finally {
    opened.close();
    party.core = await openUnlocked(party.home, party.clock);
  }
}

async function formRoom(name: string, creator: Party, other: Party): Promise<string> {
  const room = await inviteAndJoin(creator, [other], name);
  await creator.core.call('packet.import', { contentBase64: await exportFor(other, room) });
  assert.equal((await creator.core.call('room.show', { room })).summary.status, 'active');
  return room;
}

/** Streams `size` random bytes to `file` (a stand-in for an encrypted payload) and returns their BLAKE2b-256. */
function writeRandomFile(file: string, size: number): string {
  const hasher = createHasher();
  const fd = openSync(file, 'w');
  try {
    for (let written = 0; written < size; ) {
      const piece = nodeRandomBytes(Math.min(4 * 1024 * 1024, size - written));
      hasher.update(piece);
      writeSync(fd, piece);
      written += piece.length;
    }
  } finally {
    closeSync(fd);
  }
  return toHex(hasher.digest());
}

interface AddedAsset {
  readonly id: string;
  readonly descriptor: AssetDescriptor;
  readonly file: string;
}

/** What table.add / volume.add leave behind: a payload file in the vault, its payloads row, and a signed asset.added entry. */
function addAsset(direct: Direct, roomId: string, name: string, kind: 'table' | 'volume', size: number): AddedAsset {
  const staging = path.join(direct.vaultDir, `.${name}.staging.partial`);
  const payloadHash = writeRandomFile(staging, size);
  const file = vaultPathFor(direct.vaultDir, payloadHash);
  renameSync(staging, file);
  direct.db
    .prepare('INSERT INTO payloads (hash, size, path, present, added_at) VALUES (?, ?, ?, 1, ?)')
    .run(payloadHash, size, path.basename(file), new Date().toISOString());
  const common = {
    format: 'cleanroom-asset/1' as const,
    room: roomId,
    name,
    owner: direct.identity.signPublicKey,
    payload: { hash: payloadHash, size, encryption: 'secretstream-xchacha20poly1305/1' as const, chunkSize: 65536 },
    createdAt: new Date().toISOString(),
    nonce: toBase64Url(randomBytes(16)),
  };
  const descriptor: AssetDescriptor =
    kind === 'table'
      ? { ...common, kind, columns: [{ name: 'patient_id', type: 'BIGINT', role: 'join_key' }], rowCount: null, sourceFormat: 'csv', allowMinMax: false }
      : { ...common, kind, private: true, files: [] };
  direct.rooms.appendMine(direct.rooms.resolve(roomId), direct.identity, direct.keys, { type: 'asset.added', descriptor });
  return { id: hashCanonical(descriptor), descriptor, file };
}

/** Payload files and partials in a home's vault. */
function vaultFiles(home: string): string[] {
  return readdirSync(path.join(home, 'vault'))
    .filter((name) => name.endsWith('.payload') || name.endsWith('.partial'))
    .sort();
}

function flipByte(file: string, offset: number): string {
  const bytes = readFileSync(file);
  bytes[offset] = (bytes[offset] as number) ^ 0x01;
  const out = `${file}.flipped.cleanroom`;
  writeFileSync(out, bytes);
  return out;
}

describe('packets with payloads', () => {
  const folder = temporaryFolder();
  let mary: Party;
  let acme: Party;
  let room: string;
  let visits: AddedAsset;
  let macros: AddedAsset;
  let packetFile: string;

  before(async () => {
    mary = await makeParty(folder.dir, 'St Mary');
    acme = await makeParty(folder.dir, 'Acme');
    room = await formRoom('Payloads', mary, acme);
    packetFile = path.join(folder.dir, 'with-payloads.cleanroom');
    await withDirect(mary, async (direct) => {
      visits = addAsset(direct, room, 'visits', 'table', 300_000);
      macros = addAsset(direct, room, 'macros', 'volume', 70_001);
      const { result, payloads } = await direct.packets.exportPacket({ room, outPath: packetFile, withPayloads: true }, direct.identity, direct.keys);
      assert.deepEqual(payloads.map((p) => p.name), ['macros', 'visits']);
      assert.equal(result.size, statSync(packetFile).size);
    });
    assert.deepEqual(vaultFiles(acme.home), []);
  });

  after(async () => {
    for (const party of [mary, acme]) await party?.core.close();
    folder.remove();
  });

  it('writes cleanroom-packet/2 with the payloads after the feed, exactly as the vault holds them', () => {
    const bytes = new Uint8Array(readFileSync(packetFile));
    assert.equal(packetFormatOf(bytes), 'cleanroom-packet/2');
    const layout = packetLayout(bytes);
    assert.deepEqual(layout.payloads.map((p) => p.asset), [macros.id, visits.id]);
    assert.deepEqual(bytes.subarray(layout.payloads[1]!.offset, layout.payloads[1]!.end), new Uint8Array(readFileSync(visits.file)));
    assert.ok(!readdirSync(folder.dir).some((name) => name.endsWith('.partial')), 'no temporary file left');
  });

  it('refuses a packet with a byte changed inside a payload, naming the asset, and leaves nothing in the vault', async () => {
    const layout = packetLayout(new Uint8Array(readFileSync(packetFile)));
    const flipped = flipByte(packetFile, layout.payloads[1]!.offset + 123_456);
    await assertRefusedUnchanged(
      acme,
      (core) => core.dispatch('packet.import', { path: flipped }),
      'BAD_PACKET',
      /^Packet refused, nothing was imported: payload 2 of 2 \(asset "visits", [0-9a-f]{12}\) does not match its hash in the signed header: it was changed\.$/,
    );
    assert.deepEqual(vaultFiles(acme.home), [], 'no payload and no partial');
  });

  it('refuses a packet cut inside a payload by its size, before reading a payload byte', async () => {
    const cut = `${packetFile}.cut.cleanroom`;
    writeFileSync(cut, readFileSync(packetFile).subarray(0, statSync(packetFile).size - 1000));
    await assertRefusedUnchanged(
      acme,
      (core) => core.dispatch('packet.import', { path: cut }),
      'BAD_PACKET',
      /^Packet refused, nothing was imported: packet is truncated: it is \d+ bytes, and its header, frames and 2 payloads take \d+\.$/,
    );
    assert.deepEqual(vaultFiles(acme.home), []);
  });

  it('refuses a payload whose hash does not match its descriptor, and a payload for an unknown asset', async () => {
    const { entries, signSecretKey } = await withDirect(mary, (direct) => ({ entries: direct.rooms.entriesOf(room), signSecretKey: direct.keys.signSecretKey.slice() }));
    const sender = { alias: mary.identity.alias, signPublicKey: mary.identity.signPublicKey, boxPublicKey: mary.identity.boxPublicKey };
    const recipient = { alias: acme.identity.alias, signPublicKey: acme.identity.signPublicKey, boxPublicKey: acme.identity.boxPublicKey };
    const craft = (payloads: { asset: string; bytes: Uint8Array }[]) =>
      Buffer.from(encodePacket({ room, sender, signSecretKey, recipients: [recipient], entries, createdAt: new Date(), payloads })).toString('base64');
    const notTheDescribed = craft([{ asset: macros.id, bytes: randomBytes(macros.descriptor.payload.size) }]);
    await assertRefusedUnchanged(
      acme,
      (core) => core.dispatch('packet.import', { contentBase64: notTheDescribed }),
      'BAD_PACKET',
      /^Packet refused, nothing was imported: the payload for asset "macros" \([0-9a-f]{12}\) does not match its descriptor: hash [0-9a-f]{12}…, 70001 bytes; the descriptor says [0-9a-f]{12}…, 70001 bytes\.$/,
    );
    const unknown = craft([{ asset: toHex(randomBytes(32)), bytes: randomBytes(500) }]);
    await assertRefusedUnchanged(acme, (core) => core.dispatch('packet.import', { contentBase64: unknown }), 'BAD_PACKET', /payload for unknown asset [0-9a-f]{64} \(payload 1 of 1\)/);
    assert.deepEqual(vaultFiles(acme.home), []);
  });

  it('imports the entries and the payloads, which land in the vault under their hashes', async () => {
    const result = await acme.core.call('packet.import', { path: packetFile });
    assert.equal(result.accepted, 2, 'the two asset.added entries');
    assert.match(result.summary, /^2 new entries from St Mary for Payloads; 2 payloads$/);
    assert.deepEqual(vaultFiles(acme.home), [`${macros.descriptor.payload.hash}.payload`, `${visits.descriptor.payload.hash}.payload`].sort());
    for (const asset of [visits, macros]) {
      assert.deepEqual(readFileSync(vaultPathFor(path.join(acme.home, 'vault'), asset.descriptor.payload.hash)), readFileSync(asset.file));
    }
  });

  it('imports the same packet again idempotently: the payloads are verified, not stored twice', async () => {
    const before = vaultFiles(acme.home).map((name) => statSync(path.join(acme.home, 'vault', name)));
    const again = await acme.core.call('packet.import', { path: packetFile });
    assert.equal(again.accepted, 0);
    assert.equal(again.summary, 'Nothing new: already up to date');
    const afterwards = vaultFiles(acme.home).map((name) => statSync(path.join(acme.home, 'vault', name)));
    assert.deepEqual(afterwards.map((s) => [s.ino, s.mtimeMs, s.size]), before.map((s) => [s.ino, s.mtimeMs, s.size]));
    // A changed payload is still refused, even though the vault already holds the real one.
    const layout = packetLayout(new Uint8Array(readFileSync(packetFile)));
    const flipped = flipByte(packetFile, layout.payloads[0]!.offset);
    const refused = await acme.core.dispatch('packet.import', { path: flipped });
    assert.equal(refused.ok ? null : refused.error.code, 'BAD_PACKET');
    assert.equal(vaultFiles(acme.home).length, 2);
  });

  it('still writes and reads cleanroom-packet/1 when no payload needs to travel', async () => {
    const packet = Buffer.from(await exportFor(acme, room), 'base64');
    assert.equal(packetFormatOf(new Uint8Array(packet)), 'cleanroom-packet/1');
    const result = await mary.core.call('packet.import', { contentBase64: packet.toString('base64') });
    assert.equal(result.from, 'Acme');
  });

  it('records received payloads where the asset list looks for them', async () => {
    await acme.core.close();
    try {
      const db = new Database(path.join(acme.home, 'cleanroom.db'), { fileMustExist: true });
      try {
        const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'payloads'").get() !== undefined;
        if (hasTable) {
          const rows = db.prepare('SELECT hash, size, path, present FROM payloads ORDER BY hash').all();
          const expected = [visits, macros]
            .map((asset) => ({ hash: asset.descriptor.payload.hash, size: asset.descriptor.payload.size, path: `${asset.descriptor.payload.hash}.payload`, present: 1 }))
            .sort((a, b) => a.hash.localeCompare(b.hash));
          assert.deepEqual(rows, expected);
        }
      } finally {
        db.close();
      }
    } finally {
      acme.core = await openUnlocked(acme.home, acme.clock);
    }
  });
});

describe('a 200 MB payload', () => {
  const folder = temporaryFolder();
  let mary: Party;
  let acme: Party;

  after(async () => {
    for (const party of [mary, acme]) await party?.core.close();
    folder.remove();
  });

  it('goes out and in by streaming: memory grows by far less than the payload', async (t) => {
    mary = await makeParty(folder.dir, 'St Mary');
    acme = await makeParty(folder.dir, 'Acme');
    const room = await formRoom('Large', mary, acme);
    const size = 200 * 1024 * 1024;
    const packetFile = path.join(folder.dir, 'large.cleanroom');
    let peak = 0;
    const sample = (): void => {
      peak = Math.max(peak, process.memoryUsage.rss());
    };
    global.gc?.();
    const baseline = process.memoryUsage.rss();
    const timer = setInterval(sample, 20);
    let asset: AddedAsset | undefined;
    try {
      await withDirect(mary, async (direct) => {
        asset = addAsset(direct, room, 'claims', 'table', size);
        await direct.packets.exportPacket({ room, outPath: packetFile, withPayloads: true }, direct.identity, direct.keys);
      });
      sample();
      const result = await acme.core.call('packet.import', { path: packetFile });
      sample();
      assert.match(result.summary, /; 1 payload$/);
    } finally {
      clearInterval(timer);
    }
    assert.ok(asset);
    assert.ok(statSync(packetFile).size > size);
    const received = vaultPathFor(path.join(acme.home, 'vault'), asset.descriptor.payload.hash);
    assert.equal(statSync(received).size, size);
    assert.equal(fileHashOf(received), asset.descriptor.payload.hash);
    const growth = peak - baseline;
    t.diagnostic(`peak RSS growth ${Math.round(growth / 1024 / 1024)} MB for a ${size / 1024 / 1024} MB payload exported and imported`);
    assert.ok(growth < 100 * 1024 * 1024, `RSS grew by ${Math.round(growth / 1024 / 1024)} MB for a ${size / 1024 / 1024} MB payload`);
  });
});

/** BLAKE2b-256 of a file, read in pieces. */
function fileHashOf(file: string): string {
  const hasher = createHasher();
  const fd = openSync(file, 'r');
  try {
    const piece = Buffer.alloc(4 * 1024 * 1024);
    for (let read = readSync(fd, piece); read > 0; read = readSync(fd, piece)) hasher.update(piece.subarray(0, read));
  } finally {
    closeSync(fd);
  }
  return toHex(hasher.digest());
}
