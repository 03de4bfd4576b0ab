// The DuckDB worker, end to end: a real worker process (run from TypeScript source under tsx)
// with a real DuckDB, driven through core's WorkerHost or straight through a launcher channel.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { version as duckdbLibraryVersion } from '@duckdb/node-api';
import { type WorkerChannel, WorkerHost } from '../../electron/core/worker-host.js';
import { launchNodeWorker } from '../../electron/core/worker-launch-node.js';
import { CleanroomError } from '../../shared/errors.js';
import { type WorkerRequest } from '../../shared/worker-protocol.js';
import { tsxExecArgv, workerSourceEntry } from '../support/paths.js';

/** A query DuckDB cannot finish in any reasonable time and cannot short-cut. */
const endlessSql = 'SELECT count(*) FROM range(1000000000000) t WHERE t.range % 7 = 3';

const newHost = (options: { defaultTimeoutMs?: number } = {}) =>
  new WorkerHost({ entry: workerSourceEntry, execArgv: tsxExecArgv, ...options });

function assertProcessGone(pid: number): void {
  assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `process ${pid} should be gone`);
}

function assertProcessAlive(pid: number): void {
  assert.doesNotThrow(() => process.kill(pid, 0), `process ${pid} should be running`);
}

/** Asserts a rejection with a CleanroomError of this code and returns it for further checks. */
async function rejection(promise: Promise<unknown>, code: string): Promise<CleanroomError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CleanroomError, `expected a CleanroomError, got ${String(error)}`);
    assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
    return error;
  }
  assert.fail(`expected a ${code} rejection, but the request succeeded`);
}

describe('DuckDB worker: handshake and queries', () => {
  const host = newHost();
  after(() => host.stop());

  it('answers a handshake with DuckDB\'s version and its own pid, starting on first use', async () => {
    assert.equal(host.pid, null, 'no worker before the first request');
    const { duckdbVersion, pid } = await host.handshake();
    assert.equal(duckdbVersion, duckdbLibraryVersion());
    assert.match(duckdbVersion, /^v\d+\.\d+\.\d+/);
    assert.notEqual(pid, process.pid);
    assert.equal(host.pid, pid);
    assertProcessAlive(pid);
    const again = await host.handshake();
    assert.equal(again.pid, pid, 'the same worker serves later requests');
  });

  it('returns query results as JSON-safe values: big integers and decimals as text, dates as ISO text', async () => {
    const result = await host.request({
      kind: 'query',
      sql: "SELECT 9007199254740993::BIGINT AS big, 1.50::DECIMAL(4,2) AS price, DATE '2024-01-02' AS day, [1, 2] AS list, NULL AS nothing",
    });
    assert.equal(result.kind, 'query');
    assert.deepEqual(
      result.columns.map((column) => column.name),
      ['big', 'price', 'day', 'list', 'nothing'],
    );
    assert.deepEqual(result.columns.map((column) => column.type).slice(0, 4), ['BIGINT', 'DECIMAL(4,2)', 'DATE', 'INTEGER[]']);
    assert.deepEqual(result.rows, [['9007199254740993', '1.50', '2024-01-02', [1, 2], null]]);
  });

  it('refuses a malformed request before it reaches the worker, and keeps working', async () => {
    const pid = host.pid;
    await rejection(host.request({ kind: 'query', sql: '' }), 'BAD_REQUEST');
    await rejection(host.request({ kind: 'handshake' }, { timeoutMs: -5 }), 'BAD_REQUEST');
    assert.equal((await host.handshake()).pid, pid);
  });

  it('stop() ends the worker; the next request starts a new one', async () => {
    const { pid } = await host.handshake();
    await host.stop();
    assert.equal(host.pid, null);
    assertProcessGone(pid);
    const next = await host.handshake();
    assert.notEqual(next.pid, pid);
  });
});

describe('DuckDB worker: timeouts and crashes', () => {
  const host = newHost();
  after(() => host.stop());

  it('kills a worker whose query outlives its timeout, rejects WORKER_TIMEOUT, and starts afresh', async () => {
    const { pid: oldPid } = await host.handshake();
    const hung = host.request({ kind: 'query', sql: endlessSql }, { timeoutMs: 300 });
    // Queued behind the hung query in the same worker, with the default (long) timeout.
    const bystander = host.request({ kind: 'query', sql: 'SELECT 1' });

    const error = await rejection(hung, 'WORKER_TIMEOUT');
    assert.match(error.message, /did not answer within 300 ms/);
    assertProcessGone(oldPid);
    await rejection(bystander, 'WORKER_CRASHED');

    const { pid: newPid } = await host.handshake();
    assert.notEqual(newPid, oldPid);
    assertProcessAlive(newPid);
    const result = await host.request({ kind: 'query', sql: 'SELECT 42 AS answer' });
    assert.deepEqual(result.rows, [[42]]);
  });

  it('rejects pending requests with WORKER_CRASHED when the worker is killed, then recovers', async () => {
    const { pid: oldPid } = await host.handshake();
    const pending = host.request({ kind: 'query', sql: endlessSql });
    process.kill(oldPid, 'SIGKILL');

    const error = await rejection(pending, 'WORKER_CRASHED');
    assert.match(error.message, /SIGKILL/);
    assertProcessGone(oldPid);
    assert.equal(host.pid, null, 'no live worker until the next request');

    const { pid: newPid } = await host.handshake();
    assert.notEqual(newPid, oldPid);
    assertProcessAlive(newPid);
  });

  it('rejects with WORKER_UNAVAILABLE when the worker cannot start, and starts once it can', async () => {
    const broken = newHost();
    const saved = process.env['CLEANROOM_WORKER_MEMORY_LIMIT'];
    process.env['CLEANROOM_WORKER_MEMORY_LIMIT'] = 'lots';
    try {
      await rejection(broken.handshake(), 'WORKER_UNAVAILABLE');
      assert.equal(broken.pid, null);
    } finally {
      if (saved === undefined) delete process.env['CLEANROOM_WORKER_MEMORY_LIMIT'];
      else process.env['CLEANROOM_WORKER_MEMORY_LIMIT'] = saved;
    }
    assert.match((await broken.handshake()).duckdbVersion, /^v\d/);
    await broken.stop();
  });

  it('stops a worker that breaks the protocol rather than trusting its answer', async () => {
    // A stand-in process that answers a handshake with a malformed result.
    let killed = false;
    let exitListener: (exit: { code: number | null; signal: string | null }) => void = () => undefined;
    let messageListener: (message: unknown) => void = () => undefined;
    const impostor: WorkerChannel = {
      pid: 999_999,
      send: (message) => queueMicrotask(() => messageListener({ kind: 'result', id: message.id, result: { kind: 'handshake', duckdbVersion: 7 } })),
      onMessage: (listener) => {
        messageListener = listener;
        queueMicrotask(() => listener({ kind: 'ready', pid: 999_999 }));
      },
      onExit: (listener) => {
        exitListener = listener;
      },
      kill: () => {
        killed = true;
        queueMicrotask(() => exitListener({ code: null, signal: 'SIGKILL' }));
      },
    };
    const strict = new WorkerHost({ entry: 'unused', launch: () => impostor });
    const error = await rejection(strict.handshake(), 'WORKER_CRASHED');
    assert.match(error.message, /malformed message/);
    assert.equal(killed, true);
  });
});

describe('DuckDB worker: raw protocol', () => {
  it('answers a malformed message with BAD_REQUEST, drops one without an id, and stays up', async () => {
    const channel = launchNodeWorker(workerSourceEntry, tsxExecArgv);
    const inbox: unknown[] = [];
    let wake: () => void = () => undefined;
    channel.onMessage((message) => {
      inbox.push(message);
      wake();
    });
    const exited = new Promise<void>((resolve) => channel.onExit(() => resolve()));
    const next = async (): Promise<unknown> => {
      while (inbox.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return inbox.shift();
    };
    try {
      assert.deepEqual(await next(), { kind: 'ready', pid: channel.pid });
      const sendRaw = (message: unknown) => channel.send(message as WorkerRequest);

      sendRaw({ id: 7, kind: 'query', sql: 42 });
      const badSql = (await next()) as Record<string, unknown>;
      assert.equal(badSql['kind'], 'error');
      assert.equal(badSql['id'], 7);
      assert.equal(badSql['code'], 'BAD_REQUEST');
      assert.match(String(badSql['message']), /sql must be a string/);

      sendRaw({ id: 8, kind: 'self-destruct' });
      const unknownKind = (await next()) as Record<string, unknown>;
      assert.deepEqual({ ...unknownKind, message: undefined }, { kind: 'error', id: 8, code: 'BAD_REQUEST', message: undefined });
      assert.match(String(unknownKind['message']), /^bad request: kind must be one of: handshake, query\b/);

      // No usable id: nobody to answer, so these are dropped — the next reply is for id 9.
      sendRaw('garbage');
      sendRaw({ kind: 'query', sql: 'SELECT 1' });
      sendRaw({ id: 'nine', kind: 'handshake' });
      sendRaw({ id: 9, kind: 'handshake' });
      const handshake = (await next()) as { kind: string; id: number; result: { kind: string; pid: number } };
      assert.equal(handshake.kind, 'result');
      assert.equal(handshake.id, 9);
      assert.equal(handshake.result.pid, channel.pid);
    } finally {
      channel.kill();
      await exited;
    }
  });
});

describe('DuckDB worker: lock-down', () => {
  const host = newHost();
  const scratch = mkdtempSync(path.join(tmpdir(), 'cleanroom-worker-test-'));
  after(async () => {
    await host.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  const refused = (sql: string) => rejection(host.request({ kind: 'query', sql }), 'INTERNAL');

  it('reports the locked-down settings: no external access, no extension loading, no spilling', async () => {
    const result = await host.request({
      kind: 'query',
      sql: `SELECT current_setting('enable_external_access') AS external, current_setting('lock_configuration') AS locked,
                   current_setting('autoload_known_extensions') AS autoload, current_setting('autoinstall_known_extensions') AS autoinstall,
                   current_setting('allow_community_extensions') AS community, current_setting('threads') AS threads,
                   current_setting('temp_directory') AS spill_dir`,
    });
    assert.deepEqual(result.rows, [[false, true, false, false, false, '2', '']]);
  });

  it('refuses to read a file from disk', async () => {
    const error = await refused("SELECT * FROM read_csv('/etc/passwd')");
    assert.equal(error.message, 'query failed: Permission Error');
    await refused("SELECT * FROM read_text('/etc/hostname')");
    await refused("SELECT * FROM glob('/etc/*')");
  });

  it('refuses INSTALL and LOAD of an extension', async () => {
    assert.equal((await refused('INSTALL httpfs')).message, 'query failed: Permission Error');
    assert.equal((await refused('LOAD httpfs')).message, 'query failed: Permission Error');
  });

  it('refuses ATTACH of a database file and COPY to a file, creating neither', async () => {
    const attached = path.join(scratch, 'other.duckdb');
    const copied = path.join(scratch, 'rows.csv');
    await refused(`ATTACH '${attached}' AS other`);
    await refused(`COPY (SELECT 1 AS a) TO '${copied}'`);
    assert.equal(existsSync(attached), false);
    assert.equal(existsSync(copied), false);
  });

  it('refuses to change any setting once locked', async () => {
    const error = await refused('SET enable_external_access = true');
    assert.equal(error.message, 'query failed: Invalid Input Error');
    await refused('SET lock_configuration = false');
    await refused("SET memory_limit = '100GB'");
    const setting = await host.request({ kind: 'query', sql: "SELECT current_setting('enable_external_access')" });
    assert.deepEqual(setting.rows, [[false]]);
  });

  it('never returns a value from the query in an error message', async () => {
    const cast = await refused("SELECT CAST('secret-marker-123' AS INTEGER)");
    assert.equal(cast.message, 'query failed: Conversion Error');
    assert.ok(!cast.message.includes('secret-marker-123'));
    const binder = await refused('SELECT "secret-column-456" FROM range(3)');
    assert.equal(binder.message, 'query failed: Binder Error');
    const tableWithValue = await refused("CREATE TABLE t AS SELECT 'secret-marker-789' AS v; SELECT v::INTEGER FROM t");
    assert.ok(!tableWithValue.message.includes('secret-marker-789'));
  });
});
