// The browser shell over real loopback HTTP against a real core: token, Host and Origin checks,
// loopback-only listening, static files with their security headers, path traversal, size cap.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Core, openCore } from '../../electron/core/index.js';
import { findBrowser } from '../../electron/shell/open-browser.js';
import { maxRequestBytes, type Shell, startShell } from '../../electron/shell/server.js';
import { tsxExecArgv, workerSourceEntry } from '../support/paths.js';
import { postApi, rawRequest, tokenFromUrl } from '../support/shell-http.js';

/** The directives the renderer's policy must hold, in any order. */
const expectedCspDirectives = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].sort();

const directivesOf = (policy: unknown): string[] =>
  typeof policy === 'string' ? policy.split(';').map((directive) => directive.trim()).filter(Boolean).sort() : [];

/** Content of a file beside the renderer folder that no request may ever read. */
const outsideSecret = 'OUTSIDE-THE-RENDERER-FOLDER';

let scratch: string;
let core: Core;
let shell: Shell;

before(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'cleanroom-test-'));
  const rendererDir = path.join(scratch, 'renderer');
  mkdirSync(rendererDir);
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Cleanroom</title><script type="module" src="./app.js"></script>');
  writeFileSync(path.join(rendererDir, 'app.js'), 'console.log("app");');
  writeFileSync(path.join(rendererDir, 'app.css'), 'body { margin: 0 }');
  writeFileSync(path.join(scratch, 'package.json'), outsideSecret);
  symlinkSync(path.join(scratch, 'package.json'), path.join(rendererDir, 'link.json'));
  core = await openCore({ home: path.join(scratch, 'home'), host: 'shell', workerEntry: workerSourceEntry, workerExecArgv: tsxExecArgv });
  shell = await startShell({ core, port: 0, rendererDir, open: false });
});

after(async () => {
  await shell?.close();
  await core?.close();
  rmSync(scratch, { recursive: true, force: true });
});

function connect(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

describe('shell: address and token', () => {
  it('hands out a 127.0.0.1 URL with a 32-byte token in the fragment', () => {
    assert.match(shell.url, new RegExp(`^http://127\\.0\\.0\\.1:${shell.port}/#token=[A-Za-z0-9_-]{43}$`));
    assert.equal(Buffer.from(tokenFromUrl(shell.url), 'base64url').length, 32);
    assert.equal(tokenFromUrl(shell.url), shell.token);
  });

  it('listens on loopback only', async () => {
    assert.equal(shell.address, '127.0.0.1');
    await connect('127.0.0.1', shell.port);
    const others = Object.values(os.networkInterfaces())
      .flat()
      .filter((entry) => entry !== undefined && entry.address !== '127.0.0.1' && !entry.address.startsWith('fe80:'))
      .map((entry) => entry!.address);
    // On Linux all of 127/8 is local, so a wildcard bind would answer 127.0.0.2 as well.
    if (process.platform === 'linux') others.push('127.0.0.2');
    for (const address of others) {
      await assert.rejects(connect(address, shell.port), `connecting via ${address} must fail`);
    }
  });
});

describe('shell: API authorisation', () => {
  it('answers 401 without a token', async () => {
    const response = await postApi(shell.port, 'app.info', {});
    assert.equal(response.status, 401);
    assert.deepEqual(JSON.parse(response.body).ok, false);
    assert.equal(JSON.parse(response.body).error.code, 'UNAUTHORIZED');
  });

  it('answers 401 with a wrong token, a token of another length, or another scheme', async () => {
    const wrong = Buffer.alloc(32, 7).toString('base64url');
    for (const authorization of [`Bearer ${wrong}`, `Bearer ${shell.token}x`, `Bearer ${shell.token.slice(1)}`, `Basic ${shell.token}`, shell.token]) {
      const response = await postApi(shell.port, 'app.info', {}, undefined, { authorization });
      assert.equal(response.status, 401, authorization);
      assert.equal(JSON.parse(response.body).error.code, 'UNAUTHORIZED');
    }
  });

  it('answers 200 with the token and core\'s result', async () => {
    const response = await postApi(shell.port, 'app.info', {}, shell.token);
    assert.equal(response.status, 200);
    assert.match(String(response.headers['content-type']), /^application\/json/);
    const body = JSON.parse(response.body);
    assert.equal(body.ok, true);
    assert.equal(body.value.host, 'shell');
    assert.equal(body.value.home, core.home);
  });

  it('accepts the localhost spelling and a same-origin Origin', async () => {
    for (const name of ['127.0.0.1', 'localhost']) {
      const response = await postApi(shell.port, 'app.info', {}, shell.token, {
        host: `${name}:${shell.port}`,
        origin: `http://${name}:${shell.port}`,
      });
      assert.equal(response.status, 200, name);
    }
  });

  it('passes core\'s refusals through as ok:false results', async () => {
    const response = await postApi(shell.port, 'identity.create', { alias: 5 }, shell.token);
    assert.equal(response.status, 200);
    const body = JSON.parse(response.body);
    assert.equal(body.ok, false);
    assert.equal(body.error.code, 'BAD_REQUEST');
  });

  it('answers 404 UNKNOWN_METHOD for a method outside the contract', async () => {
    const response = await postApi(shell.port, 'identity.delete', {}, shell.token);
    assert.equal(response.status, 404);
    assert.deepEqual(JSON.parse(response.body), { ok: false, error: { code: 'UNKNOWN_METHOD', message: 'Unknown method "identity.delete".' } });
  });

  it('answers 400 BAD_REQUEST for a body that is not JSON', async () => {
    const response = await rawRequest({
      port: shell.port,
      method: 'POST',
      path: '/api/app.info',
      headers: { authorization: `Bearer ${shell.token}`, 'content-type': 'application/json' },
      body: '{not json',
    });
    assert.equal(response.status, 400);
    assert.equal(JSON.parse(response.body).error.code, 'BAD_REQUEST');
  });

  it('answers 413 for a body over the size cap, with or without Content-Length', async () => {
    const body = `"${'x'.repeat(maxRequestBytes)}"`;
    for (const chunked of [false, true]) {
      const response = await rawRequest({
        port: shell.port,
        method: 'POST',
        path: '/api/app.info',
        headers: { authorization: `Bearer ${shell.token}`, 'content-type': 'application/json' },
        body,
        chunked,
      });
      assert.equal(response.status, 413, chunked ? 'chunked' : 'content-length');
      assert.equal(JSON.parse(response.body).ok, false);
    }
  });

  it('answers 405 for other HTTP methods', async () => {
    const get = await rawRequest({ port: shell.port, path: '/api/app.info', headers: { authorization: `Bearer ${shell.token}` } });
    assert.equal(get.status, 405);
    for (const method of ['PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
      const response = await rawRequest({ port: shell.port, method, path: '/' });
      assert.equal(response.status, 405, method);
      assert.equal(JSON.parse(response.body).ok, false);
    }
    const postStatic = await rawRequest({ port: shell.port, method: 'POST', path: '/index.html', body: '{}' });
    assert.equal(postStatic.status, 405);
  });
});

describe('shell: Host and Origin', () => {
  it('answers 403 for a foreign Host, even with the token', async () => {
    for (const host of [`evil.example:${shell.port}`, `127.0.0.1:${shell.port + 1}`, 'localhost', `127.0.0.1.evil.example:${shell.port}`]) {
      const api = await postApi(shell.port, 'app.info', {}, shell.token, { host });
      assert.equal(api.status, 403, host);
      assert.equal(JSON.parse(api.body).error.code, 'FORBIDDEN');
      const page = await rawRequest({ port: shell.port, path: '/', headers: { host } });
      assert.equal(page.status, 403, host);
      assert.ok(!page.body.includes('<title>'));
    }
  });

  it('answers 403 for a foreign Origin, even with the token', async () => {
    for (const origin of ['http://evil.example', `http://evil.example:${shell.port}`, 'null', `https://127.0.0.1:${shell.port}`, `http://127.0.0.1:${shell.port + 1}`]) {
      const response = await postApi(shell.port, 'app.info', {}, shell.token, { origin });
      assert.equal(response.status, 403, origin);
      assert.equal(JSON.parse(response.body).error.code, 'FORBIDDEN');
    }
  });
});

describe('shell: static files', () => {
  it('serves index.html for / with the security headers', async () => {
    const response = await rawRequest({ port: shell.port, path: '/' });
    assert.equal(response.status, 200);
    assert.match(response.body, /<title>Cleanroom<\/title>/);
    assert.equal(response.headers['content-type'], 'text/html; charset=utf-8');
    assert.deepEqual(directivesOf(response.headers['content-security-policy']), expectedCspDirectives);
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
    assert.equal(response.headers['referrer-policy'], 'no-referrer');
    assert.equal(response.headers['cache-control'], 'no-store');
  });

  it('serves scripts and styles with their content types, and 404 for missing files', async () => {
    const script = await rawRequest({ port: shell.port, path: '/app.js?v=1' });
    assert.equal(script.status, 200);
    assert.equal(script.headers['content-type'], 'text/javascript; charset=utf-8');
    const style = await rawRequest({ port: shell.port, path: '/app.css' });
    assert.equal(style.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal((await rawRequest({ port: shell.port, path: '/nothing.js' })).status, 404);
  });

  it('refuses path traversal, plain and encoded', async () => {
    const attempts = [
      '/../package.json',
      '/%2e%2e/package.json',
      '/%2E%2E%2Fpackage.json',
      '/..%2fpackage.json',
      '/..%5cpackage.json',
      '/app.js/../../package.json',
      '/./../package.json',
      '/%252e%252e/package.json',
      '/link.json',
      '/%00',
      '/%',
    ];
    for (const attempt of attempts) {
      const response = await rawRequest({ port: shell.port, path: attempt });
      assert.ok([400, 403, 404].includes(response.status), `${attempt} answered ${response.status}`);
      assert.ok(!response.body.includes(outsideSecret), `${attempt} leaked the file`);
    }
  });
});

describe('shell: close', () => {
  it('stops listening when closed, and close can be called twice', async () => {
    const second = await startShell({ core, rendererDir: path.join(scratch, 'renderer'), open: false });
    assert.equal((await rawRequest({ port: second.port, path: '/' })).status, 200);
    await Promise.all([second.close(), second.close()]);
    await assert.rejects(connect('127.0.0.1', second.port));
  });

  it('refuses to start without a built renderer, saying what to do', async () => {
    await assert.rejects(startShell({ core, rendererDir: path.join(scratch, 'missing'), open: false }), /renderer is not built.*npm run build/);
  });
});

describe('shell: opening the browser', () => {
  /** A stand-in for Chromium that records its arguments, one per line, then exits. */
  function fakeBrowser(dir: string, name = 'chromium'): { executable: string; argsFile: string } {
    mkdirSync(dir, { recursive: true });
    const executable = path.join(dir, name);
    const argsFile = path.join(dir, 'args.txt');
    writeFileSync(executable, `#!/bin/sh\nprintf '%s\\n' "$@" > "${argsFile}.part" && mv "${argsFile}.part" "${argsFile}"\n`);
    chmodSync(executable, 0o755);
    return { executable, argsFile };
  }

  it('finds a browser from CLEANROOM_BROWSER or on PATH, and says when there is none', () => {
    const bin = path.join(scratch, 'bin-search');
    const { executable } = fakeBrowser(bin, 'google-chrome');
    assert.deepEqual(findBrowser(undefined, { PATH: bin }), { ok: true, executable });
    assert.deepEqual(findBrowser(undefined, { PATH: '', CLEANROOM_BROWSER: executable }), { ok: true, executable });
    assert.deepEqual(findBrowser(undefined, { PATH: bin, CLEANROOM_BROWSER: 'google-chrome' }), { ok: true, executable });
    const missing = findBrowser(undefined, { PATH: '', CLEANROOM_BROWSER: path.join(bin, 'nothing') });
    assert.equal(missing.ok, false);
    assert.match(!missing.ok ? missing.reason : '', /CLEANROOM_BROWSER names .*not an executable/);
    if (process.platform === 'linux') {
      const none = findBrowser(undefined, { PATH: path.join(scratch, 'empty-bin') });
      assert.match(!none.ok ? none.reason : '', /No Chromium or Chrome found.*CLEANROOM_BROWSER/);
    }
  });

  it('starts the browser in app mode with its own profile under the home', async () => {
    const { executable, argsFile } = fakeBrowser(path.join(scratch, 'bin-open'));
    const notes: string[] = [];
    const opened = await startShell({ core, rendererDir: path.join(scratch, 'renderer'), open: true, browser: executable, log: (line) => notes.push(line) });
    try {
      assert.match(notes.join('\n'), /Opened .*chromium in app mode/);
      // The browser runs detached; wait for it to record its arguments.
      while (!existsSync(argsFile)) await sleep(20);
      const args = readFileSync(argsFile, 'utf8').trim().split('\n');
      assert.equal(args[0], `--app=${opened.url}`);
      assert.ok(args.includes(`--user-data-dir=${path.join(core.home, 'browser-profile')}`));
      for (const flag of ['--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']) {
        assert.ok(args.includes(flag), flag);
      }
    } finally {
      await opened.close();
    }
  });

  it('prints the address for the user when no browser can be started', async () => {
    const notes: string[] = [];
    const opened = await startShell({ core, rendererDir: path.join(scratch, 'renderer'), open: true, browser: path.join(scratch, 'no-browser'), log: (line) => notes.push(line) });
    try {
      assert.equal(notes.length, 1);
      assert.match(notes[0] as string, /not an executable\. Open this address in Chromium or Chrome: /);
      assert.ok((notes[0] as string).endsWith(opened.url));
    } finally {
      await opened.close();
    }
  });
});
