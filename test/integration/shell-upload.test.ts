// A file picked or dropped in the browser shell reaches core as bytes over loopback (a browser
// never tells a page a file's path), staged in a private RAM-backed folder, never in the home; it
// is imported from there like a typed path, and removed once the import ends, done or failed.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { shellUploadPath } from '../../shared/contract.js';
import { openCore } from '../../electron/core/index.js';
import { ramFolderRoot } from '../../electron/core/ram-folder.js';
import { maxStagedFileBytes, safeFileName, stagingHeadroomBytes } from '../../electron/core/staging.js';
import { type Shell, startShell } from '../../electron/shell/server.js';
import { addAsset, formRoom, makeParty, type Party } from '../support/core-parties.js';
import { allFileBytes, temporaryFolder } from '../support/homes.js';
import { tsxExecArgv, workerSourceEntry } from '../support/paths.js';

interface Answer {
  readonly status: number;
  readonly body: { ok: boolean; value?: { path: string; size: number }; error?: { code: string; message: string } };
}

/** A request to the shell with any headers; `body` is sent whole, or not at all. */
function send(port: number, options: { method?: string; target: string; headers?: Record<string, string>; body?: Buffer; chunked?: boolean }): Promise<Answer> {
  const headers: Record<string, string> = { host: `127.0.0.1:${port}`, ...options.headers };
  return new Promise((resolve, reject) => {
    const outgoing = http.request({ host: '127.0.0.1', port, method: options.method ?? 'PUT', path: options.target, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer['body'] }));
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    if (options.chunked) outgoing.setHeader('transfer-encoding', 'chunked');
    if (options.body !== undefined) outgoing.write(options.body);
    // A body announced by Content-Length but never sent: the shell must answer from the headers.
    if (options.body === undefined && headers['content-length'] !== undefined) outgoing.flushHeaders();
    else outgoing.end();
  });
}

const uploadTarget = (name: string) => `${shellUploadPath}?name=${encodeURIComponent(name)}`;

/** Every file under a folder, relative to it ("" when it does not exist). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('shell upload: staging a picked file in RAM', () => {
  const folder = temporaryFolder();
  let mary: Party;
  let acme: Party;
  let room = '';
  let shell: Shell;
  let stagingDir = '';
  /** A value only in the uploaded file: it must never appear in the home. */
  const marker = `MARKER-${randomBytes(6).toString('hex')}`;
  const csv = Buffer.from(`patient_id,ward,age\n${Array.from({ length: 50 }, (_, i) => `P${i},${i === 7 ? marker : 'north'},${30 + i}`).join('\n')}\n`);

  const upload = (name: string, body: Buffer, headers: Record<string, string> = {}) =>
    send(shell.port, {
      target: uploadTarget(name),
      headers: { authorization: `Bearer ${shell.token}`, 'content-length': String(body.length), origin: `http://127.0.0.1:${shell.port}`, ...headers },
      body,
    });

  before(async () => {
    mary = await makeParty(folder.dir, 'St Mary');
    acme = await makeParty(folder.dir, 'Acme');
    room = await formRoom(mary, [acme], 'Readmissions');
    const rendererDir = path.join(folder.dir, 'renderer');
    mkdirSync(rendererDir);
    writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Cleanroom</title>');
    shell = await startShell({ core: mary.core, port: 0, rendererDir, open: false });
  });

  after(async () => {
    await shell?.close();
    for (const party of [mary, acme]) await party?.core.close();
    folder.remove();
  });

  it('stages the bytes under the RAM folder, never in the home, and answers their path', async () => {
    const answer = await upload('St Mary admissions.csv', csv);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.ok, true);
    const staged = answer.body.value!;
    assert.equal(staged.size, csv.length);
    assert.equal(path.basename(staged.path), 'St Mary admissions.csv', 'the file keeps its own name, so its format and asset name follow');
    assert.equal(sha256(readFileSync(staged.path)), sha256(csv));

    stagingDir = mary.core.staging.dir ?? '';
    assert.ok(stagingDir !== '', 'the staging folder exists once a file arrived');
    assert.ok(staged.path.startsWith(stagingDir + path.sep));
    assert.ok(stagingDir.startsWith(ramFolderRoot().root + path.sep), `${stagingDir} is under ${ramFolderRoot().root}`);
    if (process.platform === 'linux') {
      assert.ok(staged.path.startsWith('/dev/shm/'), 'on Linux the file is on the RAM-backed /dev/shm');
      assert.equal(mary.core.staging.ramBacked, true);
    }
    assert.ok(!path.resolve(staged.path).startsWith(path.resolve(mary.home) + path.sep), 'not in the home');
    assert.ok(![...allFileBytes(mary.home).values()].some((bytes) => bytes.includes(marker)), 'no copy of the plaintext in the home');

    // Inspected like a typed path.
    const inspection = await mary.core.call('table.inspect', { path: staged.path });
    assert.deepEqual(inspection.columns.map((column) => column.name), ['patient_id', 'ward', 'age']);
    mary.core.staging.release(staged.path);
    assert.equal(existsSync(staged.path), false);
  });

  it('refuses without the token (401) and from another site (403), keeping nothing', async () => {
    const before = filesUnder(stagingDir);
    const noToken = await send(shell.port, { target: uploadTarget('a.csv'), headers: { 'content-length': String(csv.length) }, body: csv });
    assert.equal(noToken.status, 401);
    assert.equal(noToken.body.error?.code, 'UNAUTHORIZED');
    const wrongToken = await upload('a.csv', csv, { authorization: `Bearer ${randomBytes(32).toString('base64url')}` });
    assert.equal(wrongToken.status, 401);
    const foreign = await upload('a.csv', csv, { origin: 'http://evil.example' });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.body.error?.code, 'FORBIDDEN');
    const rebound = await upload('a.csv', csv, { host: `attacker.example:${shell.port}` });
    assert.equal(rebound.status, 403);
    assert.deepEqual(filesUnder(stagingDir), before);
  });

  it('refuses a body without Content-Length (411), without a name (400), or over the cap (413)', async () => {
    const chunked = await send(shell.port, {
      target: uploadTarget('a.csv'),
      headers: { authorization: `Bearer ${shell.token}` },
      body: csv,
      chunked: true,
    });
    assert.equal(chunked.status, 411);
    assert.equal(chunked.body.error?.code, 'BAD_REQUEST');
    assert.match(chunked.body.error?.message ?? '', /Content-Length/);

    for (const target of [shellUploadPath, `${shellUploadPath}?name=`, `${shellUploadPath}?name=..%2F..%2F`]) {
      const unnamed = await send(shell.port, { target, headers: { authorization: `Bearer ${shell.token}`, 'content-length': String(csv.length) }, body: csv });
      assert.equal(unnamed.status, 400, target);
      assert.equal(unnamed.body.error?.code, 'BAD_REQUEST');
    }

    const huge = await send(shell.port, {
      target: uploadTarget('huge.csv'),
      headers: { authorization: `Bearer ${shell.token}`, 'content-length': String(maxStagedFileBytes + 1) },
    });
    assert.equal(huge.status, 413);
    assert.match(huge.body.error?.message ?? '', /larger than 64 GiB/);
    assert.deepEqual(filesUnder(stagingDir), []);
  });

  it('refuses a file the RAM folder has no room for (507), before reading it', async () => {
    const { bavail, bsize } = statfsSync(stagingDir);
    const tooBig = bavail * bsize - stagingHeadroomBytes + 1;
    assert.ok(tooBig <= maxStagedFileBytes, 'this machine has more free RAM folder space than the cap: the cap applies first');
    const answer = await send(shell.port, {
      target: uploadTarget('big.csv'),
      headers: { authorization: `Bearer ${shell.token}`, 'content-length': String(tooBig) },
    });
    assert.equal(answer.status, 507);
    assert.equal(answer.body.error?.code, 'FILE_ERROR');
    assert.match(answer.body.error?.message ?? '', /^Not enough memory to receive big\.csv/);
    assert.deepEqual(filesUnder(stagingDir), []);
  });

  it('keeps nothing of a file whose sender goes away before its end', async () => {
    const announced = 8 * 1024 * 1024;
    const outgoing = http.request({
      host: '127.0.0.1',
      port: shell.port,
      method: 'PUT',
      path: uploadTarget('cut.csv'),
      headers: { host: `127.0.0.1:${shell.port}`, authorization: `Bearer ${shell.token}`, 'content-length': String(announced) },
      agent: false,
    });
    outgoing.on('error', () => {});
    outgoing.write(Buffer.alloc(1024 * 1024, 0x61));
    // Wait until the shell is writing the file, then hang up half-way.
    while (!filesUnder(stagingDir).some((file) => file.endsWith('.arriving'))) await sleep(10);
    outgoing.destroy();
    while (mary.core.staging.uploadsArriving > 0) await sleep(10);
    await mary.core.staging.idle();
    assert.deepEqual(filesUnder(stagingDir), [], 'no partial file and no upload folder');
  });

  it('removes the staged file once a table import that used it ends, and keeps its plaintext out of the home', async () => {
    const staged = (await upload('admissions.csv', csv)).body.value!;
    const added = await addAsset(mary, 'table.add', { room, name: 'admissions', path: staged.path });
    assert.equal(added.ok, true, JSON.stringify(added));
    assert.equal(existsSync(staged.path), false, 'the staged copy is gone');
    assert.deepEqual(filesUnder(stagingDir), []);
    assert.ok(![...allFileBytes(mary.home).values()].some((bytes) => bytes.includes(marker)), 'the home holds only ciphertext');
  });

  it('removes it after a failed import too, and after a volume is added', async () => {
    // Inspecting samples the start of the file; the ragged last line fails the import itself.
    const lines = ['a,b,c', ...Array.from({ length: 60_000 }, (_, i) => `${i},x${i % 7},${i % 100}`), '1,2'];
    const staged = (await upload('late-ragged.csv', Buffer.from(`${lines.join('\n')}\n`))).body.value!;
    const failed = await addAsset(mary, 'table.add', { room, name: 'ragged', path: staged.path });
    assert.equal(failed.ok, false);
    assert.equal(existsSync(staged.path), false, 'the staged copy is gone after the failure');

    const spec = (await upload('model-spec.json', Buffer.from('{"model":"logistic"}'))).body.value!;
    const volume = await addAsset(mary, 'volume.add', { room, name: 'model_spec', path: spec.path, private: false });
    assert.equal(volume.ok, true, JSON.stringify(volume));
    assert.deepEqual(volume.ok && volume.value.files.map((file) => file.path), ['model-spec.json']);
    assert.deepEqual(filesUnder(stagingDir), []);
  });

  it('keeps a staged file when the import is refused before it starts, so the person can try again', async () => {
    const staged = (await upload('admissions.csv', csv)).body.value!;
    const refused = await mary.core.dispatch('table.add', { room, name: 'admissions', path: staged.path });
    assert.equal(refused.ok, false, 'the name is taken');
    assert.equal(existsSync(staged.path), true);
    const retried = await addAsset(mary, 'table.add', { room, name: 'admissions_2', path: staged.path });
    assert.equal(retried.ok, true, JSON.stringify(retried));
    assert.equal(existsSync(staged.path), false);
  });

  it('discards a staged file on request (DELETE), and never any other file', async () => {
    const staged = (await upload('other.csv', csv)).body.value!;
    const outside = path.join(folder.dir, 'keep.csv');
    writeFileSync(outside, csv);
    const auth = { authorization: `Bearer ${shell.token}` };
    const unauthorised = await send(shell.port, { method: 'DELETE', target: `${shellUploadPath}?path=${encodeURIComponent(staged.path)}` });
    assert.equal(unauthorised.status, 401);
    assert.equal(existsSync(staged.path), true);
    for (const file of [outside, path.join(path.dirname(staged.path), '.arriving'), stagingDir]) {
      const answer = await send(shell.port, { method: 'DELETE', target: `${shellUploadPath}?path=${encodeURIComponent(file)}`, headers: auth });
      assert.equal(answer.status, 200);
    }
    assert.equal(existsSync(outside), true, 'a file that was not uploaded stays');
    assert.equal(existsSync(staged.path), true);
    const answer = await send(shell.port, { method: 'DELETE', target: `${shellUploadPath}?path=${encodeURIComponent(staged.path)}`, headers: auth });
    assert.equal(answer.status, 200);
    assert.equal(existsSync(staged.path), false);
  });

  it('makes file names safe: no folders, no control characters, no leading dots, extension kept', () => {
    assert.equal(safeFileName('../../etc/passwd'), 'passwd');
    assert.equal(safeFileName('C:\\Users\\me\\admissions.csv'), 'admissions.csv');
    assert.equal(safeFileName('..hidden.csv'), 'hidden.csv');
    assert.equal(safeFileName('a\u0000b\nc.csv'), 'abc.csv');
    assert.equal(safeFileName('..'), null);
    assert.equal(safeFileName('   '), null);
    const long = safeFileName(`${'é'.repeat(300)}.parquet`)!;
    assert.ok(Buffer.byteLength(long) <= 200);
    assert.ok(long.endsWith('.parquet'));
  });
});

describe('shell upload: closing core', () => {
  it('removes the staging folder and everything in it', async () => {
    const folder = temporaryFolder();
    const core = await openCore({ home: path.join(folder.dir, 'home'), host: 'shell', workerEntry: workerSourceEntry, workerExecArgv: tsxExecArgv });
    try {
      assert.equal(core.staging.dir, null, 'no folder until a file arrives');
      const staged = await core.staging.receive('t.csv', 4, [Buffer.from('a\n1\n')]);
      const dir = core.staging.dir!;
      assert.equal(existsSync(staged.path), true);
      await core.close();
      assert.equal(existsSync(dir), false);
      await assert.rejects(core.staging.receive('u.csv', 1, [Buffer.from('x')]), /shutting down/);
    } finally {
      await core.close();
      folder.remove();
    }
  });
});
