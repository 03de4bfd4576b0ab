// The renderer's browser-shell transport: the token taken from the page address, and HTTP calls
// made with a fake fetch (no server, no DOM).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildApi } from '../../shared/contract.js';
import { type IdentityPublic } from '../../shared/identity.js';
import {
  createHttpCall,
  type FetchFunction,
  type FetchResponse,
  readResult,
  takeTokenFromAddress,
  takeTokenOnHashChange,
  tokenStorageKey,
  type TokenStore,
} from '../../renderer/src/transport.js';

class MemoryStore implements TokenStore {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
}

interface RecordedRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

/** A fetch that records each request and answers with the given status and body. */
function fakeFetch(answer: (request: RecordedRequest) => { status: number; body: unknown } | 'network-error' | 'not-json') {
  const requests: RecordedRequest[] = [];
  const fetch: FetchFunction = async (url, init) => {
    const request = { url, method: init.method, headers: init.headers, body: JSON.parse(init.body) as unknown };
    requests.push(request);
    const reply = answer(request);
    if (reply === 'network-error') throw new TypeError('Failed to fetch');
    const response: FetchResponse = {
      status: reply === 'not-json' ? 502 : reply.status,
      json: async () => {
        if (reply === 'not-json') throw new SyntaxError('Unexpected token < in JSON');
        return reply.body;
      },
    };
    return response;
  };
  return { fetch, requests };
}

const identity: IdentityPublic = {
  alias: 'St Mary Hospital',
  signPublicKey: 'A'.repeat(43),
  boxPublicKey: 'B'.repeat(43),
  fingerprint: '0123456789abcdef'.repeat(4),
  sharingId: 'K3F92QXMABCDEFGHJKMN',
  createdAt: '2025-11-23T07:00:00.000Z',
};

describe('takeTokenFromAddress', () => {
  it('takes the token from the fragment, stores it and asks for an address without it', () => {
    const store = new MemoryStore();
    const taken = takeTokenFromAddress('#token=s3cr3t-t0ken_value', store);
    assert.deepEqual(taken, { token: 's3cr3t-t0ken_value', strippedHash: '' });
    assert.equal(store.getItem(tokenStorageKey), 's3cr3t-t0ken_value');
  });

  it('keeps other fragment parameters when stripping the token', () => {
    const store = new MemoryStore();
    const taken = takeTokenFromAddress('#token=abc&view=identity', store);
    assert.deepEqual(taken, { token: 'abc', strippedHash: '#view=identity' });
  });

  it('after a reload (no token in the address) uses the stored token and leaves the address alone', () => {
    const store = new MemoryStore();
    takeTokenFromAddress('#token=first', store);
    assert.deepEqual(takeTokenFromAddress('', store), { token: 'first', strippedHash: null });
    assert.deepEqual(takeTokenFromAddress('#view=rooms', store), { token: 'first', strippedHash: null });
  });

  it('a new token in the address replaces the stored one', () => {
    const store = new MemoryStore();
    takeTokenFromAddress('#token=old', store);
    assert.equal(takeTokenFromAddress('#token=new', store).token, 'new');
    assert.equal(store.getItem(tokenStorageKey), 'new');
  });

  it('reports no token when neither the address nor the store has one', () => {
    assert.deepEqual(takeTokenFromAddress('', new MemoryStore()), { token: null, strippedHash: null });
    assert.deepEqual(takeTokenFromAddress('#token=', new MemoryStore()), { token: null, strippedHash: null });
  });

  it('decodes a percent-encoded token', () => {
    assert.equal(takeTokenFromAddress('#token=a%2Bb', new MemoryStore()).token, 'a+b');
  });
});

describe('takeTokenOnHashChange: the right address pasted into an open tab', () => {
  it('a page opened without a token starts again with the pasted one', () => {
    const store = new MemoryStore();
    assert.deepEqual(takeTokenOnHashChange('#token=right', store, null), { token: 'right', strippedHash: '', restart: true });
    assert.equal(store.getItem(tokenStorageKey), 'right');
  });

  it('a page with an old token (the shell was restarted) starts again with the new one', () => {
    const store = new MemoryStore();
    takeTokenFromAddress('#token=old', store);
    assert.deepEqual(takeTokenOnHashChange('#token=new&view=rooms', store, 'old'), { token: 'new', strippedHash: '#view=rooms', restart: true });
  });

  it('the token in use, or a fragment without a token, changes nothing', () => {
    const store = new MemoryStore();
    takeTokenFromAddress('#token=same', store);
    assert.deepEqual(takeTokenOnHashChange('#token=same', store, 'same'), { token: 'same', strippedHash: '', restart: false });
    assert.deepEqual(takeTokenOnHashChange('#view=rooms', store, 'same'), { token: 'same', strippedHash: null, restart: false });
  });
});

describe('HTTP transport', () => {
  it('POSTs the request as JSON to /api/<method> with the bearer token and returns the Result', async () => {
    const { fetch, requests } = fakeFetch(() => ({ status: 200, body: { ok: true, value: identity } }));
    const api = buildApi(createHttpCall({ fetch, token: 'tok', baseUrl: 'http://127.0.0.1:4000' }));

    const result = await api['identity.unlock']({ passphrase: 'correct horse battery staple' });

    assert.deepEqual(result, { ok: true, value: identity });
    assert.equal(requests.length, 1);
    assert.deepEqual(requests[0], {
      url: 'http://127.0.0.1:4000/api/identity.unlock',
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer tok' },
      body: { passphrase: 'correct horse battery staple' },
    });
  });

  it('uses the page origin when no base URL is given', async () => {
    const { fetch, requests } = fakeFetch(() => ({ status: 200, body: { ok: true, value: { state: 'none' } } }));
    const api = buildApi(createHttpCall({ fetch, token: 'tok' }));
    assert.deepEqual(await api['identity.status']({}), { ok: true, value: { state: 'none' } });
    assert.equal(requests[0]?.url, '/api/identity.status');
  });

  it('passes on the server error code and message, whatever the HTTP status', async () => {
    const { fetch } = fakeFetch(() => ({
      status: 200,
      body: { ok: false, error: { code: 'WRONG_PASSPHRASE', message: 'That passphrase is not right.' } },
    }));
    const api = buildApi(createHttpCall({ fetch, token: 'tok' }));
    assert.deepEqual(await api['identity.unlock']({ passphrase: 'nope' }), {
      ok: false,
      error: { code: 'WRONG_PASSPHRASE', message: 'That passphrase is not right.' },
    });

    const unauthorized = fakeFetch(() => ({ status: 401, body: { ok: false, error: { code: 'UNAUTHORIZED', message: 'Wrong token.' } } }));
    const refused = await buildApi(createHttpCall({ fetch: unauthorized.fetch, token: 'bad' }))['app.info']({});
    assert.deepEqual(refused, { ok: false, error: { code: 'UNAUTHORIZED', message: 'Wrong token.' } });
  });

  it('refuses to call at all without a token, and says how to get one', async () => {
    const { fetch, requests } = fakeFetch(() => ({ status: 200, body: { ok: true, value: {} } }));
    const result = await buildApi(createHttpCall({ fetch, token: null }))['identity.lock']({});
    assert.equal(requests.length, 0);
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.error.code, 'UNAUTHORIZED');
    assert.match(!result.ok ? result.error.message : '', /cleanroom serve/);
  });

  it('turns a network failure into an error result instead of throwing', async () => {
    const { fetch } = fakeFetch(() => 'network-error');
    const result = await buildApi(createHttpCall({ fetch, token: 'tok' }))['app.info']({});
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.error.code, 'INTERNAL');
    assert.match(!result.ok ? result.error.message : '', /Cannot reach Cleanroom/);
  });

  it('turns a body that is not JSON into an error result naming the method and status', async () => {
    const { fetch } = fakeFetch(() => 'not-json');
    const result = await buildApi(createHttpCall({ fetch, token: 'tok' }))['engine.info']({});
    assert.deepEqual(result, {
      ok: false,
      error: { code: 'INTERNAL', message: 'The shell sent an unreadable answer to engine.info (HTTP 502).' },
    });
  });
});

describe('readResult', () => {
  it('accepts a value that matches the method response schema', () => {
    assert.deepEqual(readResult('engine.info', { ok: true, value: { duckdbVersion: 'v1.4.1' } }, 200), {
      ok: true,
      value: { duckdbVersion: 'v1.4.1' },
    });
  });

  it('refuses a value that does not match the contract', () => {
    const result = readResult('identity.create', { ok: true, value: { ...identity, fingerprint: 'short' } }, 200);
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.error.code, 'INTERNAL');
    assert.match(!result.ok ? result.error.message : '', /invalid answer to identity\.create/);
  });

  it('refuses an error with an unknown code or without a message', () => {
    for (const body of [
      { ok: false, error: { code: 'MADE_UP', message: 'x' } },
      { ok: false, error: { code: 'LOCKED' } },
      { ok: false },
      null,
      'ok',
      [],
    ]) {
      const result = readResult('identity.status', body, 500);
      assert.deepEqual(result, {
        ok: false,
        error: { code: 'INTERNAL', message: 'The shell sent an unreadable answer to identity.status (HTTP 500).' },
      });
    }
  });
});
