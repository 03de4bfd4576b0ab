// The built `cleanroom` command, run as a user or script would: identity commands in human and
// JSON form, exit codes 0/1/2 with one clear stderr line, and `serve` end to end over HTTP.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertRefused, assertUsage, cliEnv, lines, runCli, startCli } from '../support/cli-process.js';
import { repoRoot } from '../support/paths.js';
import { postApi, rawRequest, tokenFromUrl } from '../support/shell-http.js';

const passphrase = 'correct horse battery staple';
const env = cliEnv({ CLEANROOM_PASSPHRASE: passphrase });

let scratch: string;
/** A home with an identity, created in `before`. */
let home: string;

before(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'cleanroom-test-'));
  home = path.join(scratch, 'home');
  const created = await runCli(['--home', home, 'identity', 'create', '--alias', 'St Mary'], env);
  assert.equal(created.code, 0, created.stderr);
});

after(() => rmSync(scratch, { recursive: true, force: true }));

describe('cli: identity', () => {
  it('creates an identity and prints it', async () => {
    const fresh = path.join(scratch, 'fresh');
    const result = await runCli(['identity', 'create', '--alias', 'Acme Insurance', '--home', fresh], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Created the identity "Acme Insurance"/);
    assert.match(result.stdout, /^Sharing identifier\s+([0-9A-Z]{4} ){4}[0-9A-Z]{4}$/m);
    assert.equal(result.stderr, '');
  });

  it('shows the identity for people: alias, sharing identifier and fingerprint in groups of 4', async () => {
    const result = await runCli(['--home', home, 'identity', 'show'], cliEnv());
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Alias\s+St Mary$/m);
    assert.match(result.stdout, /^Sharing identifier\s+([0-9A-HJKMNP-TV-Z]{4} ){4}[0-9A-HJKMNP-TV-Z]{4}$/m);
    assert.match(result.stdout, /^Fingerprint\s+([0-9a-f]{4} ){7}[0-9a-f]{4}$/m);
    assert.match(result.stdout, /^\s+([0-9a-f]{4} ){7}[0-9a-f]{4}$/m);
    assert.equal(result.stderr, '');
  });

  it('shows the identity as one JSON object with --json, the same as the human form', async () => {
    const human = await runCli(['--home', home, 'identity', 'show'], cliEnv());
    const result = await runCli(['identity', 'show', '--json', '--home', home], cliEnv());
    assert.equal(result.code, 0, result.stderr);
    assert.equal(lines(result.stdout).length, 1);
    const output = JSON.parse(result.stdout);
    assert.equal(output.ok, true);
    assert.equal(output.value.alias, 'St Mary');
    assert.match(output.value.sharingId, /^[0-9A-HJKMNP-TV-Z]{20}$/);
    assert.match(output.value.fingerprint, /^[0-9a-f]{64}$/);
    assert.ok(human.stdout.includes(output.value.sharingId.match(/.{4}/g).join(' ')));
  });

  it('refuses to show an identity that does not exist', async () => {
    const result = await runCli(['--home', path.join(scratch, 'empty'), 'identity', 'show', '--json'], cliEnv());
    assertRefused(result, /no identity yet.*cleanroom identity create --alias NAME/);
    assert.equal(JSON.parse(result.stdout).error.code, 'NO_IDENTITY');
  });

  it('refuses a second identity in the same home', async () => {
    const result = await runCli(['--home', home, 'identity', 'create', '--alias', 'Again'], env);
    assertRefused(result, /already has an identity/);
  });

  it('refuses a too-weak passphrase with one line, and says so in JSON', async () => {
    const weak = cliEnv({ CLEANROOM_PASSPHRASE: 'short' });
    const result = await runCli(['--home', path.join(scratch, 'weak'), '--json', 'identity', 'create', '--alias', 'Weak'], weak);
    assertRefused(result, /at least 12 characters/);
    const output = JSON.parse(result.stdout);
    assert.equal(output.ok, false);
    assert.equal(output.error.code, 'WEAK_PASSPHRASE');
    const status = await runCli(['--home', path.join(scratch, 'weak'), 'identity', 'show'], cliEnv());
    assert.equal(status.code, 1, 'nothing was created');
  });

  it('refuses a wrong passphrase with exit 1 and one stderr line', async () => {
    const newFile = path.join(scratch, 'unused-new-passphrase');
    writeFileSync(newFile, 'a different long passphrase\n');
    const wrong = cliEnv({ CLEANROOM_PASSPHRASE: 'not the right passphrase' });
    const result = await runCli(['--home', home, 'identity', 'passphrase', '--new-passphrase-file', newFile], wrong);
    assertRefused(result, /wrong passphrase/i);
    const asJson = await runCli(['--home', home, '--json', 'identity', 'passphrase', '--new-passphrase-file', newFile], wrong);
    assertRefused(asJson, /wrong passphrase/i);
    assert.equal(JSON.parse(asJson.stdout).error.code, 'WRONG_PASSPHRASE');
  });

  it('changes the passphrase, reading both from files (first line, line ending stripped)', async () => {
    const currentFile = path.join(scratch, 'current');
    const nextFile = path.join(scratch, 'next');
    writeFileSync(currentFile, `${passphrase}\r\nignored second line\n`);
    writeFileSync(nextFile, 'a brand new passphrase here\n');
    const changed = await runCli(['--home', home, '--passphrase-file', currentFile, 'identity', 'passphrase', '--new-passphrase-file', nextFile], cliEnv());
    assert.equal(changed.code, 0, changed.stderr);
    assert.match(changed.stdout, /Passphrase changed/);
    // The old passphrase no longer works; the new one does (and changes it back).
    const old = await runCli(['--home', home, 'identity', 'passphrase', '--new-passphrase-file', nextFile], env);
    assertRefused(old, /wrong passphrase/i);
    const back = await runCli(['--home', home, '--passphrase-file', nextFile, 'identity', 'passphrase', '--new-passphrase-file', currentFile], cliEnv());
    assert.equal(back.code, 0, back.stderr);
  });

  it('refuses an unreadable passphrase file with one line', async () => {
    const result = await runCli(['--home', home, '--passphrase-file', path.join(scratch, 'nope'), 'identity', 'create', '--alias', 'X'], cliEnv());
    assertRefused(result, /Cannot read the passphrase file .*no such file/);
  });

  it('refuses a home that cannot be written with one line', async () => {
    const file = path.join(scratch, 'a-file');
    writeFileSync(file, '');
    const result = await runCli(['--home', path.join(file, 'home'), 'identity', 'show'], cliEnv());
    assertRefused(result, /Cannot write to the home folder/);
  });
});

describe('cli: usage errors exit 2', () => {
  it('refuses a passphrase given as an option, explaining why', async () => {
    const result = await runCli(['--home', home, 'identity', 'create', '--alias', 'X', '--passphrase', 'x'], cliEnv());
    assertUsage(result, /--passphrase is refused: .*process list.*CLEANROOM_PASSPHRASE/);
  });

  it('refuses an unknown command', async () => {
    assertUsage(await runCli(['--home', home, 'frobnicate'], env), /unknown command "frobnicate"[\s\S]*cleanroom --help/);
  });

  it('refuses identity create without --alias, with the usage line', async () => {
    assertUsage(await runCli(['--home', home, 'identity', 'create'], env), /needs --alias[\s\S]*Usage: cleanroom identity create --alias NAME/);
  });

  it('refuses a command that needs a passphrase when none is given', async () => {
    assertUsage(await runCli(['--home', path.join(scratch, 'x'), 'identity', 'create', '--alias', 'X'], cliEnv()), /CLEANROOM_PASSPHRASE or use --passphrase-file/);
  });

  it('answers a usage error in JSON too when --json is given', async () => {
    const result = await runCli(['--json', 'frobnicate'], env);
    assert.equal(result.code, 2);
    assert.equal(JSON.parse(result.stdout).ok, false);
  });

  it('prints help and version with exit 0', async () => {
    const help = await runCli(['--help'], cliEnv());
    assert.equal(help.code, 0);
    assert.match(help.stdout, /identity create/);
    const version = await runCli(['--version'], cliEnv());
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^cleanroom \d+\.\d+\.\d+/);
  });
});

describe('cli: engine', () => {
  it('reports the DuckDB version from the worker', async () => {
    const result = await runCli(['--home', home, '--json', 'engine'], cliEnv());
    assert.equal(result.code, 0, result.stderr);
    assert.match(JSON.parse(result.stdout).value.duckdbVersion, /^v?\d+\.\d+/);
  });
});

describe('cli: serve', () => {
  it('prints one JSON line as soon as it listens, answers the API with the token, and stops on SIGTERM', async (t) => {
    const serve = startCli(['--home', home, 'serve', '--no-open', '--json'], cliEnv());
    t.after(() => serve.child.kill('SIGKILL'));
    const line = await serve.firstLine;
    const announced = JSON.parse(line);
    assert.deepEqual(Object.keys(announced).sort(), ['port', 'url']);
    assert.equal(announced.url.startsWith(`http://127.0.0.1:${announced.port}/#token=`), true);
    const token = tokenFromUrl(announced.url);

    const info = await postApi(announced.port, 'app.info', {}, token);
    assert.equal(info.status, 200);
    const body = JSON.parse(info.body);
    assert.equal(body.value.host, 'shell');
    assert.equal(body.value.home, home);
    assert.equal((await postApi(announced.port, 'app.info', {})).status, 401);
    assert.equal((await rawRequest({ port: announced.port, path: '/' })).status, 200);

    // The home belongs to the running shell: a second process is refused, clearly.
    assertRefused(await runCli(['--home', home, 'identity', 'show'], cliEnv()), /is open in another Cleanroom/);

    serve.child.kill('SIGTERM');
    const ended = await serve.result;
    assert.equal(ended.code, 0, ended.stderr);
    assert.deepEqual(lines(ended.stdout), [line], 'nothing but the one JSON line on stdout');

    // Closed cleanly: the home is free again.
    const after = await runCli(['--home', home, 'identity', 'show'], cliEnv());
    assert.equal(after.code, 0, after.stderr);
  });

  it('prints the address for people and stops on SIGINT', async (t) => {
    const serve = startCli(['serve', '--no-open', '--port', '0'], cliEnv({ CLEANROOM_HOME: home }));
    t.after(() => serve.child.kill('SIGKILL'));
    const line = await serve.firstLine;
    assert.match(line, /^Cleanroom is running at http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{43}$/);
    serve.child.kill('SIGINT');
    const ended = await serve.result;
    assert.equal(ended.code, 0, ended.stderr);
  });
});

describe('cli: serve refusals', () => {
  it('refuses a port that is taken with one line', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const result = await runCli(['--home', home, 'serve', '--no-open', '--port', String(port)], cliEnv());
      assertRefused(result, new RegExp(`Port ${port} on 127\\.0\\.0\\.1 is already in use`));
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe('cli: bin entry', () => {
  it('runs the bundled command through electron/cli/cleanroom.cjs', () => {
    const result = spawnSync(process.execPath, [path.join(repoRoot, 'electron', 'cli', 'cleanroom.cjs'), '--version'], {
      env: cliEnv(),
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^cleanroom \d+\.\d+\.\d+/);
  });

  it('runs as `npx cleanroom`, the form the README uses, from inside the checkout without installing anything', () => {
    // --no-install: were the package's own bin not found, npx must fail, not fetch a package of that name.
    const result = spawnSync('npx', ['--no-install', 'cleanroom', '--version'], { cwd: path.join(repoRoot, 'docs'), env: cliEnv(), encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^cleanroom \d+\.\d+\.\d+/);
  });
});
