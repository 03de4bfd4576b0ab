// Packets through core on real homes: what an import accepts, ignores and refuses, and that every
// refusal leaves the database exactly as it was; how export writes files.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openHome } from '../../electron/core/home.js';
import { Keystore } from '../../electron/core/keystore.js';
import { partialNameOf } from '../../electron/core/files.js';
import { maxRequestBytes, startShell } from '../../electron/shell/server.js';
import { decodeCanonical } from '../../shared/canonical.js';
import { nextEntry, signEntry } from '../../shared/feed.js';
import { encodePacket, packetLimits } from '../../shared/packet.js';
import { type MemberRef, type SignedEntry, type UnsignedEntry } from '../../shared/room.js';
import { assertRefusedUnchanged, exportFor, homeTables, inviteAndJoin, makeParty, type Party, whileClosed } from '../support/core-parties.js';
import { passphrase, temporaryFolder } from '../support/homes.js';
import { repoRoot, tsxExecArgv } from '../support/paths.js';
import { makeIdentity, makeRoom } from '../support/room-fixtures.js';
import { postApi } from '../support/shell-http.js';

interface MemberParty extends Party {
  readonly ref: MemberRef;
  /** Copies of the secret keys, so tests can sign what a misbehaving member would. */
  readonly signSecretKey: Uint8Array;
}

/** A party that can also sign entries and packets itself, as a misbehaving member would. */
async function makeMemberParty(root: string, alias: string): Promise<MemberParty> {
  const party = await makeParty(root, alias);
  // The keystore is the only way to the secret key; tests need it to forge a member's entries.
  const signSecretKey = await whileClosed(party, () => {
    const opened = openHome(party.home, 'cli');
    const keystore = new Keystore(opened.db);
    keystore.unlock(passphrase);
    const secretKey = keystore.keys().signSecretKey.slice();
    keystore.lock();
    opened.close();
    return secretKey;
  });
  const { identity } = party;
  const ref = { alias, signPublicKey: identity.signPublicKey, boxPublicKey: identity.boxPublicKey };
  return { ...party, ref, signSecretKey };
}

function storedEntries(home: string, roomId: string): SignedEntry[] {
  const db = new Database(path.join(home, 'cleanroom.db'), { fileMustExist: true });
  try {
    const rows = db.prepare('SELECT entry, signature FROM entries WHERE room = ? ORDER BY author, seq').all(roomId) as { entry: string; signature: string }[];
    return rows.map((row) => ({ entry: decodeCanonical(Buffer.from(row.entry)) as UnsignedEntry, signature: row.signature }));
  } finally {
    db.close();
  }
}

function base64Of(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/** Creates a room and brings every member to 'active' with packets. Returns the room id. */
async function formRoom(name: string, creator: Party, others: readonly Party[]): Promise<string> {
  const room = await inviteAndJoin(creator, others, name);
  // Each joined member's packet relays everything they hold: one round brings everyone up to date.
  const packets = new Map<Party, string>();
  for (const other of others) packets.set(other, await exportFor(other, room));
  for (const [from, packet] of packets) {
    for (const party of [creator, ...others]) if (party !== from) await party.core.call('packet.import', { contentBase64: packet });
  }
  for (const party of [creator, ...others]) assert.equal((await party.core.call('room.show', { room })).summary.status, 'active');
  return room;
}

describe('packets between homes', () => {
  const folder = temporaryFolder();
  let mary: MemberParty;
  let acme: MemberParty;
  let carol: MemberParty;

  before(async () => {
    mary = await makeMemberParty(folder.dir, 'St Mary');
    acme = await makeMemberParty(folder.dir, 'Acme');
    carol = await makeMemberParty(folder.dir, 'Carol');
  });

  after(async () => {
    for (const party of [mary, acme, carol]) await party?.core.close();
    folder.remove();
  });

  it('imports an invitation, then applies a replayed packet once: accepted 0, ignored all, nothing changed', async () => {
    const room = await formRoom('Replays', mary, [acme]);
    const packet = await exportFor(acme, room);
    const before = await whileClosed(mary, () => homeTables(mary.home, ['rooms', 'entries', 'alerts']));
    for (let round = 0; round < 2; round++) {
      const replay = await mary.core.call('packet.import', { contentBase64: packet });
      assert.equal(replay.accepted, 0);
      assert.equal(replay.ignored, 2);
      assert.equal(replay.summary, 'Nothing new: already up to date');
    }
    assert.deepEqual(await whileClosed(mary, () => homeTables(mary.home, ['rooms', 'entries', 'alerts'])), before);
  });

  it('ignores an older packet after a newer one', async () => {
    const room = await formRoom('Older feeds', mary, [acme, carol]);
    const older = await exportFor(acme, room);
    await acme.core.call('room.leave', { room });
    const newer = await exportFor(acme, room);
    const applied = await mary.core.call('packet.import', { contentBase64: newer });
    assert.equal(applied.accepted, 1);
    assert.equal(applied.summary, '1 new entry from Acme for Older feeds');
    const before = await whileClosed(mary, () => homeTables(mary.home, ['rooms', 'entries', 'alerts']));
    const stale = await mary.core.call('packet.import', { contentBase64: older });
    assert.equal(stale.accepted, 0);
    assert.equal(stale.ignored, 3);
    assert.deepEqual(await whileClosed(mary, () => homeTables(mary.home, ['rooms', 'entries', 'alerts'])), before);
    const shown = await mary.core.call('room.show', { room });
    assert.equal(shown.members.find((member) => member.alias === 'Acme')?.status, 'left');
  });

  it('refuses a packet not addressed to me, changing nothing', async () => {
    const room = await formRoom('Addressing', mary, [acme, carol]);
    const toCarol = await acme.core.call('packet.export', { room, to: ['carol'] });
    assert.deepEqual(toCarol.recipients, ['Carol']);
    await assertRefusedUnchanged(
      mary,
      (core) => core.dispatch('packet.import', { contentBase64: toCarol.contentBase64 }),
      'NOT_A_MEMBER',
      /^This packet is not addressed to you; nothing was imported/,
    );
    const unknown = await acme.core.dispatch('packet.export', { room, to: ['Nobody'] });
    assert.deepEqual(unknown.ok ? null : unknown.error.code, 'NOT_FOUND');
    assert.match(unknown.ok ? '' : unknown.error.message, /No member "Nobody" in Addressing; the other members are: St Mary, Carol/);
  });

  it('says a packet I wrote myself is mine and has nothing to import, changing nothing', async () => {
    const room = await formRoom('Own packets', mary, [acme, carol]);
    const toAcme = await mary.core.call('packet.export', { room, to: ['Acme'] });
    await assertRefusedUnchanged(
      mary,
      (core) => core.dispatch('packet.import', { contentBase64: toAcme.contentBase64 }),
      'NOT_ALLOWED',
      /^This is a packet you wrote, for Acme; there is nothing in it for you to import\. Carry it to them\.$/,
    );
    const toBoth = await mary.core.call('packet.export', { room });
    await assertRefusedUnchanged(
      mary,
      (core) => core.dispatch('packet.import', { contentBase64: toBoth.contentBase64 }),
      'NOT_ALLOWED',
      /^This is a packet you wrote, for (Acme, Carol|Carol, Acme); there is nothing in it for you to import\. Carry it to each of them\.$/,
    );
  });

  it('refuses a packet signed by someone who is not a member, changing nothing', async () => {
    const room = await formRoom('Strangers', mary, [acme]);
    const entries = await whileClosed(mary, () => storedEntries(mary.home, room));
    const mallory = makeIdentity('Mallory');
    const packet = encodePacket({ room, sender: mallory.ref, signSecretKey: mallory.sign.secretKey, recipients: [mary.ref], entries, createdAt: new Date() });
    await assertRefusedUnchanged(
      mary,
      (core) => core.dispatch('packet.import', { contentBase64: base64Of(packet) }),
      'NOT_A_MEMBER',
      /^The packet is signed by "Mallory" \(sharing identifier [0-9A-Z ]{24}\), who is not a member of Strangers; nothing was imported\.$/,
    );
  });

  it('refuses packets for a room I am not in, changing nothing', async () => {
    // A room made elsewhere that does not list me, sent to me anyway.
    const elsewhere = makeRoom(['Xavier', 'Yvonne'], { createdAt: new Date() });
    const xavier = elsewhere.member('Xavier');
    const fromStranger = encodePacket({
      room: elsewhere.roomId,
      sender: xavier.ref,
      signSecretKey: xavier.sign.secretKey,
      recipients: [mary.ref],
      entries: elsewhere.allEntries(),
      createdAt: new Date(),
    });
    await assertRefusedUnchanged(
      mary,
      (core) => core.dispatch('packet.import', { contentBase64: base64Of(fromStranger) }),
      'NOT_A_MEMBER',
      /^This packet is for a room you are not in \([0-9a-f]{12}\); nothing was imported\.$/,
    );
    // A member of one of my rooms, writing about a room of theirs I was never invited to.
    const theirs = await acme.core.call('room.create', { name: 'Private', members: [(await acme.core.call('contact.import', { card: carol.card })).signPublicKey] });
    const entries = await whileClosed(acme, () => storedEntries(acme.home, theirs.summary.id));
    const fromMember = encodePacket({ room: theirs.summary.id, sender: acme.ref, signSecretKey: acme.signSecretKey, recipients: [mary.ref], entries, createdAt: new Date() });
    await assertRefusedUnchanged(
      mary,
      (core) => core.dispatch('packet.import', { contentBase64: base64Of(fromMember) }),
      'NOT_A_MEMBER',
      /room you are not in/,
    );
  });

  it('refuses a packet with a byte changed or cut short, naming the check, changing nothing', async () => {
    const room = await formRoom('Tampering', mary, [acme]);
    const packet = Buffer.from(await exportFor(acme, room), 'base64');
    const flipped = Buffer.from(packet);
    flipped[flipped.length - 10] = (flipped[flipped.length - 10] as number) ^ 0x01;
    await assertRefusedUnchanged(mary, (core) => core.dispatch('packet.import', { contentBase64: flipped.toString('base64') }), 'BAD_PACKET', /^Packet refused, nothing was imported: .+/);
    const cut = packet.subarray(0, packet.length - 7);
    await assertRefusedUnchanged(mary, (core) => core.dispatch('packet.import', { contentBase64: cut.toString('base64') }), 'BAD_PACKET', /truncated/);
    const file = path.join(folder.dir, 'appended.cleanroom');
    writeFileSync(file, Buffer.concat([packet, Buffer.from('extra')]));
    await assertRefusedUnchanged(mary, (core) => core.dispatch('packet.import', { path: file }), 'BAD_PACKET', /unexpected bytes after the last frame/);
  });

  it('refuses an oversized file before reading it, and a file that is not there', async () => {
    const huge = path.join(folder.dir, 'huge.cleanroom');
    writeFileSync(huge, '');
    truncateSync(huge, packetLimits.maxPacketBytes + 1);
    await assertRefusedUnchanged(mary, (core) => core.dispatch('packet.import', { path: huge }), 'BAD_PACKET', /over the \d+-byte limit for packets; it was not read/);
    const missing = path.join(folder.dir, 'missing.cleanroom');
    await assertRefusedUnchanged(mary, (core) => core.dispatch('packet.import', { path: missing }), 'FILE_ERROR', new RegExp(`Cannot read ${missing} \\(no such file or folder\\)`));
    await assertRefusedUnchanged(mary, (core) => core.dispatch('packet.import', {}), 'BAD_REQUEST', /exactly one of path or contentBase64/);
    await assertRefusedUnchanged(mary, (core) => core.dispatch('packet.import', { path: missing, contentBase64: 'AAAA' }), 'BAD_REQUEST', /exactly one/);
  });

  it('needs the identity unlocked to import', async () => {
    const room = await formRoom('Locked', mary, [acme]);
    const packet = await exportFor(acme, room);
    await mary.core.call('identity.lock', {});
    try {
      const result = await mary.core.dispatch('packet.import', { contentBase64: packet });
      assert.equal(result.ok ? null : result.error.code, 'LOCKED');
    } finally {
      await mary.core.call('identity.unlock', { passphrase });
    }
  });

  it('records equivocation as an alert, keeps the first entry, and applies the rest of the packet', async () => {
    const room = await formRoom('Equivocation', mary, [acme, carol]);
    // Something new for Mary that the equivocating packet will also carry.
    await carol.core.call('room.leave', { room });
    await acme.core.call('packet.import', { contentBase64: await exportFor(carol, room) });
    const held = await whileClosed(acme, () => storedEntries(acme.home, room));
    const original = held.find((signed) => signed.entry.author === acme.identity.signPublicKey && signed.entry.seq === 1) as SignedEntry;
    // Acme signs a second, different seq 1 (and builds on it): two versions of its history.
    const forkAt = new Date(Date.parse(original.entry.at) + 1);
    const fork = signEntry(nextEntry(room, acme.identity.signPublicKey, null, { type: 'room.joined' }, forkAt), acme.signSecretKey);
    const forkNext = signEntry(nextEntry(room, acme.identity.signPublicKey, fork, { type: 'room.left' }, forkAt), acme.signSecretKey);
    const packet = encodePacket({ room, sender: acme.ref, signSecretKey: acme.signSecretKey, recipients: [mary.ref], entries: [...held, fork, forkNext], createdAt: new Date() });

    const result = await mary.core.call('packet.import', { contentBase64: base64Of(packet) });
    assert.equal(result.accepted, 1, "Carol's room.left applies");
    assert.equal(result.alerts.length, 1);
    assert.match(result.alerts[0] as string, /^Security alert in Equivocation: Acme signed two different entries with sequence number 1; the one received first is kept\.$/);
    assert.match(result.summary, /1 new entry from Acme for Equivocation; 1 security alert raised/);

    const shown = await mary.core.call('room.show', { room });
    assert.equal(shown.summary.alertCount, 1);
    assert.deepEqual(
      shown.alerts.map(({ kind, author, seq }) => ({ kind, author, seq })),
      [{ kind: 'equivocation', author: 'Acme', seq: 1 }],
    );
    const acmeLog = shown.log.filter((item) => item.author === 'Acme');
    assert.deepEqual(acmeLog.map((item) => item.at), [original.entry.at], 'the first entry is kept');
    assert.equal(shown.members.find((member) => member.alias === 'Carol')?.status, 'left');
    assert.equal(shown.members.find((member) => member.alias === 'Acme')?.status, 'joined');

    const again = await mary.core.call('packet.import', { contentBase64: base64Of(packet) });
    assert.deepEqual(again.alerts, [], 'the same conflict raises no second alert');
    assert.equal((await mary.core.call('room.show', { room })).alerts.length, 1);
  });
});

describe('packet export files', () => {
  const folder = temporaryFolder();
  let mary: MemberParty;
  let acme: MemberParty;
  let room: string;

  before(async () => {
    mary = await makeMemberParty(folder.dir, 'St Mary');
    acme = await makeMemberParty(folder.dir, 'Acme');
    room = await formRoom('Readmissions', mary, [acme]);
  });

  after(async () => {
    for (const party of [mary, acme]) await party?.core.close();
    folder.remove();
  });

  it('names the file after the room, the sender and the time when given a folder, and leaves no temporary file', async () => {
    const out = path.join(folder.dir, 'outbox');
    mkdirSync(out);
    const result = await mary.core.call('packet.export', { room, outPath: out });
    assert.match(result.fileName, /^readmissions-st-mary-\d{8}T\d{6}Z\.cleanroom$/);
    assert.equal(result.path, path.join(out, result.fileName));
    assert.equal(result.contentBase64, null);
    assert.deepEqual(result.recipients, ['Acme']);
    assert.deepEqual(readdirSync(out), [result.fileName]);
    assert.equal(statSync(result.path).size, result.size);
    const imported = await acme.core.call('packet.import', { path: result.path });
    assert.equal(imported.from, 'St Mary');
  });

  it('writes to a named file', async () => {
    const target = path.join(folder.dir, 'for-acme.cleanroom');
    const result = await mary.core.call('packet.export', { room, outPath: target });
    assert.equal(result.path, target);
    assert.equal(result.fileName, 'for-acme.cleanroom');
    assert.ok(readFileSync(target).subarray(0, 8).equals(Buffer.from('CLRMPKT1')));
  });

  it('refuses a folder it cannot write to with FILE_ERROR naming the path, and leaves no partial file', async () => {
    const regularFile = path.join(folder.dir, 'not-a-folder');
    writeFileSync(regularFile, 'x');
    const target = path.join(regularFile, 'packet.cleanroom');
    const result = await mary.core.dispatch('packet.export', { room, outPath: target });
    assert.equal(result.ok ? null : result.error.code, 'FILE_ERROR');
    assert.equal(result.ok ? '' : result.error.message, `Cannot write ${target} (a part of the path is not a folder).`);
    assert.equal(readFileSync(regularFile, 'utf8'), 'x');
    assert.ok(!readdirSync(folder.dir).some((name) => name.endsWith('.partial')));
  });

  it('leaves only the .partial name, never the final one, when the process dies mid-write', async () => {
    const out = path.join(folder.dir, 'crash');
    mkdirSync(out);
    const target = path.join(out, 'packet.cleanroom');
    const script = path.join(folder.dir, 'crash-writer.ts');
    writeFileSync(
      script,
      [
        `import { writeFileAtomic } from ${JSON.stringify(path.join(repoRoot, 'electron', 'core', 'files.ts'))};`,
        `writeFileAtomic(${JSON.stringify(target)}, new Uint8Array(1024 * 1024).fill(7), {`,
        '  chunkBytes: 64 * 1024,',
        "  afterChunk: (written) => { if (written >= 256 * 1024) process.kill(process.pid, 'SIGKILL'); },",
        '});',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [...tsxExecArgv, script], { stdio: 'ignore' });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, killed) => resolve(killed)));
    assert.equal(signal, 'SIGKILL');
    assert.deepEqual(readdirSync(out), [path.basename(partialNameOf(target))]);
    assert.ok(!existsSync(target));
    // The next export replaces the leftover and completes.
    const result = await mary.core.call('packet.export', { room, outPath: target });
    assert.equal(result.path, target);
    assert.deepEqual(readdirSync(out), ['packet.cleanroom']);
  });
});

describe('packet import over the browser shell', () => {
  const folder = temporaryFolder();
  after(() => folder.remove());

  it('takes a packet body larger than the 1 MiB cap other methods have', async () => {
    const rendererDir = path.join(folder.dir, 'renderer');
    mkdirSync(rendererDir);
    writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Cleanroom</title>');
    const mary = await makeMemberParty(folder.dir, 'St Mary');
    const shell = await startShell({ core: mary.core, port: 0, rendererDir, open: false });
    try {
      const notAPacket = Buffer.alloc(maxRequestBytes + 1024, 1).toString('base64');
      const imported = await postApi(shell.port, 'packet.import', { contentBase64: notAPacket }, shell.token);
      assert.equal(imported.status, 200);
      assert.deepEqual(JSON.parse(imported.body).error.code, 'BAD_PACKET');
      const other = await postApi(shell.port, 'room.list', { padding: notAPacket }, shell.token);
      assert.equal(other.status, 413);
    } finally {
      await shell.close();
      await mary.core.close();
    }
  });
});
