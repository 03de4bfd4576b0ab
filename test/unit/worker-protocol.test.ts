import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  describeQueryFailure,
  duckdbErrorClass,
  maxColumnNameLength,
  maxJsonDepth,
  maxPathLength,
  maxSqlLength,
  maxTableColumns,
  parseWorkerMessage,
  parseWorkerRequest,
  payloadChunkSize,
  requestIdOf,
} from '../../shared/worker-protocol.js';

const accepts = (result: { ok: boolean }) => assert.equal(result.ok, true, JSON.stringify(result));
const refuses = (result: { ok: boolean }) => assert.equal(result.ok, false);

describe('worker protocol: requests (host → worker)', () => {
  it('accepts a handshake and a query, keeping their kind', () => {
    assert.deepEqual(parseWorkerRequest({ id: 1, kind: 'handshake' }), { ok: true, value: { id: 1, kind: 'handshake' } });
    assert.deepEqual(parseWorkerRequest({ id: 2, kind: 'query', sql: 'SELECT 1' }), {
      ok: true,
      value: { id: 2, kind: 'query', sql: 'SELECT 1' },
    });
  });

  it('refuses a missing, zero, fractional or textual id', () => {
    refuses(parseWorkerRequest({ kind: 'handshake' }));
    refuses(parseWorkerRequest({ id: 0, kind: 'handshake' }));
    refuses(parseWorkerRequest({ id: 1.5, kind: 'handshake' }));
    refuses(parseWorkerRequest({ id: '1', kind: 'handshake' }));
  });

  it('refuses an unknown kind, an unknown field, and non-objects', () => {
    const unknownKind = parseWorkerRequest({ id: 1, kind: 'shutdown' });
    refuses(unknownKind);
    if (!unknownKind.ok) assert.match(unknownKind.issue.message, /kind must be one of: handshake, query/);
    const extraField = parseWorkerRequest({ id: 1, kind: 'handshake', sql: 'SELECT 1' });
    refuses(extraField);
    if (!extraField.ok) assert.match(extraField.issue.message, /unknown field "sql"/);
    refuses(parseWorkerRequest(null));
    refuses(parseWorkerRequest('handshake'));
    refuses(parseWorkerRequest([1, 'handshake']));
  });

  it('refuses a query whose SQL is missing, empty, not text or too long', () => {
    refuses(parseWorkerRequest({ id: 1, kind: 'query' }));
    refuses(parseWorkerRequest({ id: 1, kind: 'query', sql: '' }));
    refuses(parseWorkerRequest({ id: 1, kind: 'query', sql: 42 }));
    refuses(parseWorkerRequest({ id: 1, kind: 'query', sql: 'x'.repeat(maxSqlLength + 1) }));
  });

  it('finds the id of a bad message so it can be answered, and none when there is none', () => {
    assert.equal(requestIdOf({ id: 7, kind: 'nonsense' }), 7);
    assert.equal(requestIdOf({ kind: 'query' }), null);
    assert.equal(requestIdOf({ id: -1 }), null);
    assert.equal(requestIdOf({ id: '7' }), null);
    assert.equal(requestIdOf('garbage'), null);
    assert.equal(requestIdOf(null), null);
  });
});

describe('worker protocol: messages (worker → host)', () => {
  it('accepts ready, a handshake result, a query result and an error', () => {
    accepts(parseWorkerMessage({ kind: 'ready', pid: 4242 }));
    accepts(parseWorkerMessage({ kind: 'result', id: 1, result: { kind: 'handshake', duckdbVersion: 'v1.5.6', pid: 4242 } }));
    const query = parseWorkerMessage({
      kind: 'result',
      id: 2,
      result: {
        kind: 'query',
        columns: [
          { name: 'n', type: 'BIGINT' },
          { name: 'd', type: 'DATE' },
          { name: 's', type: 'STRUCT(a INTEGER[])' },
        ],
        rows: [
          ['12345678901234567890', '2024-01-02', { a: [1, 2] }],
          [null, null, null],
        ],
      },
    });
    accepts(query);
    if (query.ok && query.value.kind === 'result' && query.value.result.kind === 'query') {
      assert.deepEqual(query.value.result.rows[0], ['12345678901234567890', '2024-01-02', { a: [1, 2] }]);
    }
    accepts(parseWorkerMessage({ kind: 'error', id: 3, code: 'BAD_REQUEST', message: 'bad request: sql must be a string' }));
  });

  it('refuses an error code that is not one of the stable codes', () => {
    refuses(parseWorkerMessage({ kind: 'error', id: 3, code: 'SEGFAULT', message: 'boom' }));
    refuses(parseWorkerMessage({ kind: 'error', id: 3, code: 'INTERNAL', message: '' }));
  });

  it('refuses results without an id, of an unknown kind, or with extra fields', () => {
    refuses(parseWorkerMessage({ kind: 'result', result: { kind: 'handshake', duckdbVersion: 'v1', pid: 1 } }));
    refuses(parseWorkerMessage({ kind: 'result', id: 1, result: { kind: 'train', model: {} } }));
    refuses(parseWorkerMessage({ kind: 'result', id: 1, result: { kind: 'handshake', duckdbVersion: 'v1', pid: 1, rows: [] } }));
    refuses(parseWorkerMessage({ kind: 'ready' }));
    refuses(parseWorkerMessage({ kind: 'ready', pid: 0 }));
  });

  it('refuses rows whose width does not match the columns', () => {
    const result = parseWorkerMessage({
      kind: 'result',
      id: 1,
      result: { kind: 'query', columns: [{ name: 'a', type: 'INTEGER' }], rows: [[1], [1, 2]] },
    });
    refuses(result);
    if (!result.ok) assert.match(result.issue.message, /rows\[1\] must have 1 values/);
  });

  it('refuses values that are not JSON-safe: BigInt, Date, Map, NaN, undefined, functions', () => {
    const withValue = (value: unknown) =>
      parseWorkerMessage({ kind: 'result', id: 1, result: { kind: 'query', columns: [{ name: 'v', type: 'X' }], rows: [[value]] } });
    refuses(withValue(10n));
    refuses(withValue(new Date(0)));
    refuses(withValue(new Map([['a', 1]])));
    refuses(withValue(Number.NaN));
    refuses(withValue(Number.POSITIVE_INFINITY));
    refuses(withValue(undefined));
    refuses(withValue(() => 1));
    refuses(withValue({ nested: [1, 2n] }));
    accepts(withValue({ nested: [1, 'two', true, null, { deeper: 1.5 }] }));
  });

  it('refuses values nested deeper than the limit instead of walking them', () => {
    let deep: unknown = 1;
    for (let i = 0; i < maxJsonDepth + 1; i++) deep = [deep];
    refuses(parseWorkerMessage({ kind: 'result', id: 1, result: { kind: 'query', columns: [{ name: 'v', type: 'X' }], rows: [[deep]] } }));
  });
});

describe('worker protocol: query error reduction', () => {
  it('keeps only the DuckDB error class, never the text that can quote values', () => {
    const conversion = "Conversion Error: Could not convert string 'secret-marker-123' to INT32\n\nLINE 1: SELECT CAST('secret-marker-123'";
    assert.equal(describeQueryFailure(conversion), 'query failed: Conversion Error');
    assert.equal(describeQueryFailure('Binder Error: Referenced column "ssn" not found'), 'query failed: Binder Error');
    assert.equal(describeQueryFailure('Invalid Input Error: Cannot change configuration option'), 'query failed: Invalid Input Error');
    assert.equal(describeQueryFailure('Permission Error: Cannot access file "/etc/passwd"'), 'query failed: Permission Error');
  });

  it('says only "query failed" when the class is not one DuckDB defines', () => {
    assert.equal(describeQueryFailure("alice@example.org Error: x"), 'query failed');
    assert.equal(describeQueryFailure('Secret Patient Error: x'), 'query failed');
    assert.equal(describeQueryFailure('something went wrong'), 'query failed');
    assert.equal(describeQueryFailure(''), 'query failed');
    assert.equal(duckdbErrorClass(' Binder Error: x'), null);
  });
});

describe('worker protocol: file requests (inspect, importTable, packVolume) and progress', () => {
  const key = 'A'.repeat(43);
  const hash64 = 'ab'.repeat(32);
  const importTable = {
    id: 4,
    kind: 'importTable',
    source: '/data/patients.csv',
    format: 'csv',
    columns: ['patient_id', 'plan'],
    dataKey: key,
    outFile: '/home/vault/import-1.partial',
    ramDir: '/dev/shm/cleanroom-1000/42-0123456789abcdef',
  };

  it('accepts an inspect with or without a format, and refuses an unknown format or an empty path', () => {
    accepts(parseWorkerRequest({ id: 1, kind: 'inspect', path: '/data/patients.csv' }));
    accepts(parseWorkerRequest({ id: 1, kind: 'inspect', path: '/data/export.data', format: 'json' }));
    refuses(parseWorkerRequest({ id: 1, kind: 'inspect', path: '/data/patients.xlsx', format: 'xlsx' }));
    refuses(parseWorkerRequest({ id: 1, kind: 'inspect', path: '' }));
    refuses(parseWorkerRequest({ id: 1, kind: 'inspect', path: `/${'x'.repeat(maxPathLength)}` }));
  });

  it('accepts an importTable and refuses one without columns, with an empty column name or a malformed key', () => {
    accepts(parseWorkerRequest(importTable));
    refuses(parseWorkerRequest({ ...importTable, columns: [] }));
    refuses(parseWorkerRequest({ ...importTable, columns: [''] }));
    refuses(parseWorkerRequest({ ...importTable, columns: ['a'.repeat(maxColumnNameLength + 1)] }));
    refuses(parseWorkerRequest({ ...importTable, columns: Array.from({ length: maxTableColumns + 1 }, (_, i) => `c${i}`) }));
    refuses(parseWorkerRequest({ ...importTable, dataKey: 'short' }));
    refuses(parseWorkerRequest({ ...importTable, dataKey: `${'A'.repeat(42)}+` }));
    const { ramDir: _ramDir, ...withoutRam } = importTable;
    refuses(parseWorkerRequest(withoutRam));
  });

  it('accepts a packVolume with or without a RAM folder', () => {
    const pack = { id: 5, kind: 'packVolume', source: '/data/library', dataKey: key, outFile: '/home/vault/v.partial' };
    accepts(parseWorkerRequest(pack));
    accepts(parseWorkerRequest({ ...pack, ramDir: '/dev/shm/x' }));
    refuses(parseWorkerRequest({ ...pack, columns: ['a'] }));
  });

  it('accepts their results and refuses a malformed hash, a zero-size payload or an empty volume', () => {
    const payload = { payloadHash: hash64, payloadSize: 1041, chunkSize: payloadChunkSize };
    accepts(parseWorkerMessage({ kind: 'result', id: 1, result: { kind: 'inspect', format: 'csv', columns: [{ name: 'a', type: 'BIGINT' }], size: 10 } }));
    accepts(parseWorkerMessage({ kind: 'result', id: 4, result: { kind: 'importTable', rowCount: 500, ...payload } }));
    accepts(parseWorkerMessage({ kind: 'result', id: 5, result: { kind: 'packVolume', files: [{ path: 'a.sql', size: 0 }], ...payload } }));
    refuses(parseWorkerMessage({ kind: 'result', id: 1, result: { kind: 'inspect', format: 'csv', columns: [], size: 10 } }));
    refuses(parseWorkerMessage({ kind: 'result', id: 4, result: { kind: 'importTable', rowCount: 500, ...payload, payloadHash: 'AB'.repeat(32) } }));
    refuses(parseWorkerMessage({ kind: 'result', id: 4, result: { kind: 'importTable', rowCount: 500, ...payload, payloadSize: 0 } }));
    refuses(parseWorkerMessage({ kind: 'result', id: 5, result: { kind: 'packVolume', files: [], ...payload } }));
  });

  it('accepts progress messages by phase and refuses unknown phases and negative counts', () => {
    accepts(parseWorkerMessage({ kind: 'progress', id: 4, phase: 'converting', done: 0, total: 100 }));
    accepts(parseWorkerMessage({ kind: 'progress', id: 4, phase: 'encrypting', done: 100, total: 100 }));
    refuses(parseWorkerMessage({ kind: 'progress', id: 4, phase: 'uploading', done: 0, total: 100 }));
    refuses(parseWorkerMessage({ kind: 'progress', id: 4, phase: 'converting', done: -1, total: 100 }));
    refuses(parseWorkerMessage({ kind: 'progress', phase: 'converting', done: 0, total: 100 }));
  });
});
