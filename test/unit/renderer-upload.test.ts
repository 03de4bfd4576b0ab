// The renderer's upload of a picked or dropped file to the browser shell, driven with a fake
// XMLHttpRequest: what is sent, progress as bytes leave, cancelling, and every answer mapped to
// one clear outcome.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shellUploadPath } from '../../shared/contract.js';
import { maxStagedFileBytes } from '../../electron/core/staging.js';
import { tokenStorageKey } from '../../renderer/src/transport.js';
import {
  discardStagedFile,
  maxUploadBytes,
  readShellToken,
  startUpload,
  type UploadFile,
  type UploadProgress,
  type UploadProgressEvent,
  type UploadRequest,
} from '../../renderer/src/upload.js';

type Listener = () => void;

class FakeRequest implements UploadRequest<UploadFile> {
  method = '';
  url = '';
  readonly headers: Record<string, string> = {};
  sent: UploadFile | null = null;
  aborted = 0;
  status = 0;
  responseText = '';
  private readonly listeners = new Map<string, Listener[]>();
  private readonly progressListeners: ((event: UploadProgressEvent) => void)[] = [];
  readonly upload = {
    addEventListener: (_type: 'progress', listener: (event: UploadProgressEvent) => void) => {
      this.progressListeners.push(listener);
    },
  };

  open(method: 'PUT', url: string): void {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string): void {
    this.headers[name] = value;
  }
  send(body: UploadFile): void {
    this.sent = body;
  }
  abort(): void {
    this.aborted += 1;
    this.fire('abort');
  }
  addEventListener(type: 'load' | 'error' | 'abort' | 'timeout', listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  fire(type: 'load' | 'error' | 'abort' | 'timeout'): void {
    for (const listener of this.listeners.get(type) ?? []) listener();
  }
  progress(loaded: number, total: number): void {
    for (const listener of this.progressListeners) listener({ loaded, total, lengthComputable: true });
  }
  answer(status: number, body: unknown): void {
    this.status = status;
    this.responseText = typeof body === 'string' ? body : JSON.stringify(body);
    this.fire('load');
  }
}

const file: UploadFile = { name: 'St Mary admissions.csv', size: 3 * 1024 * 1024 };
const token = 'T0KEN';

function begin(options: { token?: string | null; file?: UploadFile } = {}) {
  const request = new FakeRequest();
  const progress: UploadProgress[] = [];
  const upload = startUpload({
    file: options.file ?? file,
    token: options.token === undefined ? token : options.token,
    createRequest: () => request,
    onProgress: (event) => progress.push(event),
  });
  return { request, progress, upload };
}

describe('renderer upload: sending a file to the shell', () => {
  it('PUTs the file itself to the upload route with its name and the bearer token', () => {
    const { request } = begin();
    assert.equal(request.method, 'PUT');
    assert.equal(request.url, `${shellUploadPath}?name=St%20Mary%20admissions.csv`);
    assert.equal(request.headers.Authorization, `Bearer ${token}`);
    assert.equal(request.sent, file, 'the File is sent as it is: the browser streams it');
  });

  it('reports progress in bytes and whole percent as the bytes leave, from 0', () => {
    const { request, progress } = begin();
    request.progress(1024 * 1024, file.size);
    request.progress(file.size, file.size);
    assert.deepEqual(
      progress.map(({ sent, total, percent }) => [sent, total, percent]),
      [
        [0, file.size, 0],
        [1024 * 1024, file.size, 33],
        [file.size, file.size, 100],
      ],
    );
    assert.equal(progress[1]?.label, 'Uploading St Mary admissions.csv… 1 MB of 3 MB · 33%');
  });

  it('ends with the staged path and size, and the name the person chose', async () => {
    const { request, upload } = begin();
    request.answer(200, { ok: true, value: { path: '/dev/shm/cleanroom-1000/42-ab/0f/St Mary admissions.csv', size: file.size } });
    assert.deepEqual(await upload.outcome, {
      state: 'done',
      file: { path: '/dev/shm/cleanroom-1000/42-ab/0f/St Mary admissions.csv', size: file.size, name: file.name },
    });
  });

  it('cancels: aborts the request, ends as cancelled, and reports no more progress', async () => {
    const { request, upload, progress } = begin();
    upload.cancel();
    assert.equal(request.aborted, 1);
    assert.deepEqual(await upload.outcome, { state: 'cancelled' });
    request.progress(10, file.size);
    assert.equal(progress.length, 1, 'only the opening 0%');
    upload.cancel();
    assert.equal(request.aborted, 1, 'a second cancel does nothing');
  });

  it('passes the shell\'s refusal on as its code and message', async () => {
    for (const [status, code, message] of [
      [401, 'UNAUTHORIZED', 'Missing or wrong token: open Cleanroom from the address it printed.'],
      [413, 'BAD_REQUEST', 'The file is larger than 64 GiB: import it with the desktop app or the CLI, which read it from where it is.'],
      [507, 'FILE_ERROR', 'Not enough memory to receive big.csv.'],
    ] as const) {
      const { request, upload } = begin();
      request.answer(status, { ok: false, error: { code, message } });
      assert.deepEqual(await upload.outcome, { state: 'failed', error: { code, message } }, String(status));
    }
  });

  it('turns a lost connection, a timeout and an unreadable answer into one clear line each', async () => {
    const lost = begin();
    lost.request.fire('error');
    const outcome = await lost.upload.outcome;
    assert.equal(outcome.state, 'failed');
    assert.equal(outcome.state === 'failed' && outcome.error.code, 'INTERNAL');
    assert.match(outcome.state === 'failed' ? outcome.error.message : '', /^The upload of St Mary admissions\.csv stopped before Cleanroom answered/);

    const slow = begin();
    slow.request.fire('timeout');
    assert.equal((await slow.upload.outcome).state, 'failed');

    for (const [status, body] of [
      [502, '<html>Bad gateway</html>'],
      [200, { ok: true, value: { size: 3 } }],
      [500, { ok: false, error: { code: 'NOT_A_CODE', message: 'x' } }],
    ] as const) {
      const { request, upload } = begin();
      request.answer(status, body);
      assert.deepEqual(await upload.outcome, {
        state: 'failed',
        error: { code: 'INTERNAL', message: `The shell sent an unreadable answer to the upload of St Mary admissions.csv (HTTP ${status}).` },
      });
    }
  });

  it('settles once: a late error after the answer changes nothing', async () => {
    const { request, upload } = begin();
    request.answer(200, { ok: true, value: { path: '/dev/shm/x/a.csv', size: 1 } });
    request.fire('error');
    assert.equal((await upload.outcome).state, 'done');
  });

  it('refuses at once, sending nothing, without a token or over the shell\'s cap', async () => {
    const noToken = begin({ token: null });
    assert.equal(noToken.request.sent, null);
    const refused = await noToken.upload.outcome;
    assert.equal(refused.state === 'failed' && refused.error.code, 'UNAUTHORIZED');

    const huge = begin({ file: { name: 'huge.csv', size: maxUploadBytes + 1 } });
    assert.equal(huge.request.sent, null);
    const outcome = await huge.upload.outcome;
    assert.equal(outcome.state === 'failed' && outcome.error.code, 'BAD_REQUEST');
    assert.match(outcome.state === 'failed' ? outcome.error.message : '', /^huge\.csv is larger than 64 GiB/);
    assert.equal(maxUploadBytes, maxStagedFileBytes, 'the page and the shell agree on the cap');
  });

  it('reads the token the page stored, and treats an empty one as none', () => {
    assert.equal(readShellToken({ getItem: (key) => (key === tokenStorageKey ? token : null) }), token);
    assert.equal(readShellToken({ getItem: () => '' }), null);
    assert.equal(readShellToken({ getItem: () => null }), null);
  });

  it('discards a staged file with DELETE and the token, and never throws', async () => {
    const calls: { url: string; method: string; authorization: string | undefined }[] = [];
    discardStagedFile({
      path: '/dev/shm/x/a b.csv',
      token,
      fetch: async (url, init) => {
        calls.push({ url, method: init.method, authorization: init.headers.Authorization });
        throw new Error('offline');
      },
    });
    discardStagedFile({ path: '/dev/shm/x/a.csv', token: null, fetch: async () => assert.fail('no request without a token') });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(calls, [{ url: `${shellUploadPath}?path=%2Fdev%2Fshm%2Fx%2Fa%20b.csv`, method: 'DELETE', authorization: `Bearer ${token}` }]);
  });
});
