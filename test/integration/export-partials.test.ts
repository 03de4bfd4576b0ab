// The hidden `.partial` an export writes in the person's folder: a failed export removes its own,
// and one a kill -9 left is removed at the next start-up because the home recorded it first
// (pending_files, migration 6). Also what that sweep will not do: remove a file whose folder is not
// there now (a stick not plugged in), or anything not named like one of Cleanroom's partials.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { cryptoReady, hash, toHex } from '../../shared/crypto.js';
import { cliEnv, startCli } from '../support/cli-process.js';
import { addAsset, formRoom, makeParty, type Party } from '../support/core-parties.js';
import { openTestCore, passphrase, temporaryFolder } from '../support/homes.js';
import { repoRoot, tsxExecArgv } from '../support/paths.js';

function pendingPaths(home: string): string[] {
  const db = new Database(path.join(home, 'cleanroom.db'), { fileMustExist: true });
  try {
    return (db.prepare('SELECT path FROM pending_files ORDER BY path').all() as { path: string }[]).map((row) => row.path);
  } finally {
    db.close();
  }
}

function recordPending(home: string, file: string): void {
  const db = new Database(path.join(home, 'cleanroom.db'), { fileMustExist: true });
  try {
    db.prepare('INSERT INTO pending_files (path, created_at) VALUES (?, ?)').run(file, new Date().toISOString());
  } finally {
    db.close();
  }
}

const reopen = async (party: Party): Promise<void> => {
  party.core = await openTestCore(party.home);
  await party.core.call('identity.unlock', { passphrase });
};

describe('export partials', () => {
  const folder = temporaryFolder();
  let mary: Party;
  let acme: Party;
  let room: string;

  before(async () => {
    await cryptoReady();
    mary = await makeParty(folder.dir, 'Mary');
    acme = await makeParty(folder.dir, 'Acme');
    room = await formRoom(mary, [acme], 'study');
  });

  after(async () => {
    await mary.core.close();
    await acme.core.close();
    folder.remove();
  });

  it('a failed export removes its own partial and forgets it', async () => {
    const csv = path.join(folder.dir, 'visits.csv');
    writeFileSync(csv, `id,days\n${Array.from({ length: 100 }, (_, i) => `${i},${i % 9}`).join('\n')}\n`);
    const added = await addAsset(mary, 'table.add', { room, name: 'visits', path: csv });
    assert.ok(added.ok, added.ok ? '' : added.error.message);
    // The vault copy changes after the packet's head is written: the export fails mid-copy.
    const payload = path.join(mary.home, 'vault', `${added.value.payloadHash}.payload`);
    const good = readFileSync(payload);
    const bad = Buffer.from(good);
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
    writeFileSync(payload, bad);
    const out = path.join(folder.dir, 'failed-export');
    mkdirSync(out);
    try {
      const result = await mary.core.dispatch('packet.export', { room, outPath: path.join(out, 'study.cleanroom'), withPayloads: true });
      assert.deepEqual(result, {
        ok: false,
        error: { code: 'HOME_DAMAGED', message: 'The vault copy of table visits does not match its descriptor\'s hash; no packet was written.' },
      });
      assert.deepEqual(readdirSync(out), []);
      // A user-file write that fails at the rename (the target is a folder) cleans up the same way.
      const target = path.join(out, 'card');
      mkdirSync(target);
      assert.throws(() => mary.core.writeUserFile(target, Buffer.from('card')), { code: 'FILE_ERROR', message: `Cannot write ${target} (it is a folder).` });
      assert.deepEqual(readdirSync(out), ['card']);
    } finally {
      writeFileSync(payload, good);
      await mary.core.close();
    }
    assert.deepEqual(pendingPaths(mary.home), []);
    await reopen(mary);
  });

  it('a partial left by a kill -9 mid-export is removed at the next start-up', async () => {
    const out = path.join(folder.dir, 'stick');
    mkdirSync(out);
    const target = path.join(out, 'study.cleanroom');
    const source = path.join(folder.dir, 'payload.bin');
    const bytes = Buffer.alloc(3 * 1024 * 1024, 7);
    writeFileSync(source, bytes);
    await acme.core.close();
    // A process writing a packet file through the same journal as core, killed half-way.
    const script = path.join(folder.dir, 'crash-export.mts');
    const core = (file: string) => JSON.stringify(path.join(repoRoot, 'electron', 'core', file));
    writeFileSync(
      script,
      [
        `import { openHome } from ${core('home.ts')};`,
        `import { PendingFiles } from ${core('pending-files.ts')};`,
        `import { writePacketFile } from ${core('packet-stream.ts')};`,
        `import { cryptoReady } from ${JSON.stringify(path.join(repoRoot, 'shared', 'crypto.ts'))};`,
        'await cryptoReady();',
        `const home = openHome(${JSON.stringify(acme.home)}, 'cli');`,
        'const journal = new PendingFiles(home.db, () => new Date());',
        `const payload = { ref: { asset: '${'a'.repeat(64)}', hash: '${toHex(hash(bytes))}', size: ${bytes.length} }, source: ${JSON.stringify(source)}, label: 'table big' };`,
        `await writePacketFile(${JSON.stringify(target)}, new Uint8Array(4096).fill(1), [payload], {`,
        '  journal,',
        "  afterPiece: (written) => { if (written >= 2 * 1024 * 1024) process.kill(process.pid, 'SIGKILL'); },",
        '});',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [...tsxExecArgv, script], { stdio: ['ignore', 'ignore', 'inherit'] });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, killed) => resolve(killed)));
    assert.equal(signal, 'SIGKILL');
    const partial = path.join(out, '.study.cleanroom.partial');
    assert.deepEqual(readdirSync(out), ['.study.cleanroom.partial'], 'the kill left the hidden partial, never the final name');
    assert.deepEqual(pendingPaths(acme.home), [partial]);

    await reopen(acme);
    assert.deepEqual(readdirSync(out), [], 'removed at start-up');
    await acme.core.close();
    assert.deepEqual(pendingPaths(acme.home), []);
    await reopen(acme);
  });

  it('Ctrl-C during `cleanroom packet export` removes the partial before the command ends', async () => {
    // A table whose payload is larger than a pipe's buffer, so the export cannot finish on its own below.
    const noise = path.join(folder.dir, 'noise.csv');
    writeFileSync(noise, `id,text\n${Array.from({ length: 20_000 }, (_, i) => `${i},${toHex(hash(Buffer.from(String(i))))}`).join('\n')}\n`);
    const added = await addAsset(mary, 'table.add', { room, name: 'noise', path: noise });
    assert.ok(added.ok, added.ok ? '' : added.error.message);
    assert.ok(added.value.payloadSize > 256 * 1024);
    await mary.core.close();
    const out = path.join(folder.dir, 'interrupted');
    mkdirSync(out);
    // The export's partial is a FIFO we read the first bytes of: the command is then certainly
    // mid-write, blocked on the full pipe, when Ctrl-C arrives.
    const partial = path.join(out, '.study.cleanroom.partial');
    execFileSync('mkfifo', [partial]);
    const running = startCli(['--home', mary.home, 'packet', 'export', room, '--with-payloads', '--out', path.join(out, 'study.cleanroom')], cliEnv({ CLEANROOM_PASSPHRASE: passphrase }));
    const reader = await open(partial, 'r');
    try {
      const first = Buffer.alloc(8);
      await reader.read(first, 0, 8, null);
      assert.equal(first.toString('latin1'), 'CLRMPKT1');
      running.child.kill('SIGINT');
      // The pipe stays full until the command has removed the partial's name; only then is it
      // closed, which ends the write its exit waits for.
      while (existsSync(partial) && running.child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      await reader.close();
    }
    const ended = await running.result;
    assert.equal(ended.code, 130, ended.stderr);
    assert.equal(ended.stderr, '');
    assert.deepEqual(readdirSync(out), [], 'the partial went with the command');
    await reopen(mary);
    await mary.core.close();
    assert.deepEqual(pendingPaths(mary.home), []);
    await reopen(mary);
  });

  it('keeps a record whose folder is not there until it is back, and removes only partials', async () => {
    const stick = path.join(folder.dir, 'unplugged');
    const onStick = path.join(stick, '.later.cleanroom.partial');
    const notOurs = path.join(folder.dir, 'notes.csv');
    writeFileSync(notOurs, 'keep me');
    await acme.core.close();
    recordPending(acme.home, onStick);
    recordPending(acme.home, notOurs);
    await reopen(acme);
    await acme.core.close();
    assert.equal(readFileSync(notOurs, 'utf8'), 'keep me', 'a recorded path not named like a partial is never removed');
    assert.deepEqual(pendingPaths(acme.home), [onStick], 'the missing folder keeps its record');

    mkdirSync(stick);
    writeFileSync(onStick, 'half a packet');
    await reopen(acme);
    await acme.core.close();
    assert.equal(existsSync(onStick), false);
    assert.deepEqual(pendingPaths(acme.home), []);
    await reopen(acme);
  });
});
