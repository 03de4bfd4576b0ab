import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { api, apiMethods, buildApi, httpPath, ipcChannel, isApiMethod } from '../../shared/contract.js';
import { parse } from '../../shared/validate.js';

describe('API contract', () => {
  it('gives every method a distinct IPC channel and HTTP path', () => {
    assert.equal(new Set(apiMethods.map(ipcChannel)).size, apiMethods.length);
    assert.equal(new Set(apiMethods.map(httpPath)).size, apiMethods.length);
    assert.ok(apiMethods.every((name) => api[name].summary.length > 10));
  });

  it('recognises only the contract\'s method names', () => {
    assert.ok(isApiMethod('identity.create'));
    assert.ok(!isApiMethod('identity.delete'));
    assert.ok(!isApiMethod('constructor'));
    assert.ok(!isApiMethod('__proto__'));
  });

  it('validates identity.create requests', () => {
    const create = api['identity.create'].request;
    assert.ok(parse(create, { alias: 'St. Mary Hospital', passphrase: 'x' }).ok);
    assert.equal(parse(create, { alias: '', passphrase: 'x' }).ok, false);
    assert.equal(parse(create, { alias: '<script>', passphrase: 'x' }).ok, false);
    assert.equal(parse(create, { alias: 'Ann' }).ok, false);
  });

  it('builds a client with one function per method, each calling its own method', async () => {
    const calls: string[] = [];
    const client = buildApi(async (name) => {
      calls.push(name);
      return { ok: true, value: {} };
    });
    assert.deepEqual(Object.keys(client).sort(), [...apiMethods].sort());
    await client['identity.lock']({});
    await client['app.info']({});
    assert.deepEqual(calls, ['identity.lock', 'app.info']);
    assert.ok(Object.isFrozen(client));
  });
});
