// The DuckDB worker: the only process that will ever see decrypted rows. It opens one in-memory
// DuckDB, locks it down before anything else can run, announces `ready`, then answers requests
// from core (see shared/worker-protocol.ts). It runs as an Electron utilityProcess (messages via
// process.parentPort) or as a Node child_process.fork child (process.send / 'message').
//
// Bundled to CJS by build/build.mjs: no import.meta and no top-level await here.
// Never writes data to stdout/stderr; only a one-line notice on a fatal error.

import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBMaterializedResult,
  version as duckdbLibraryVersion,
} from '@duckdb/node-api';
import { Worker } from 'node:worker_threads';
import { cryptoReady } from '../../shared/crypto.js';
import { CleanroomError, describeFileError, type ErrorCode, isDiskFull } from '../../shared/errors.js';
import {
  describeQueryFailure,
  maxQueryColumns,
  maxQueryRows,
  parseWorkerRequest,
  requestIdOf,
  type WorkerMessage,
  type WorkerRequest,
  type WorkerResult,
} from '../../shared/worker-protocol.js';
import { type EngineLimits, engineBaseConfig } from './file-engine.js';
import { importTable, inspectSource, type ProgressSink } from './import.js';
import { readLibrary } from './library.js';
import { runNotebook } from './run.js';
import { scoreFile } from './score.js';
import { packVolume } from './volume.js';

// ---------------------------------------------------------------------------------------------
// Transport to the parent process.

interface ParentTransport {
  send(message: WorkerMessage): void;
  onMessage(listener: (message: unknown) => void): void;
}

/** Electron's process.parentPort, typed locally: importing 'electron' here would break plain Node. */
interface ParentPortLike {
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown;
  postMessage(message: unknown): void;
}

/** How often the watchdog thread looks for its parent. */
const parentCheckMs = 250;

/**
 * Kills this process once the process that started it is gone (kill -9 of the app or CLI). The
 * 'disconnect' handler below says so too under Node, but only when the event loop is free, and a
 * long fit or a busy decryption loop must not keep decrypted rows alive behind a dead host, and
 * Electron's parentPort has no such event. So a thread of its own compares the parent pid, which changes
 * when the kernel re-parents an orphan. SIGKILL, because there is nothing to flush, and the
 * process's nameless plaintext files end with it.
 */
function dieWithParent(): void {
  const source = `
    const { workerData } = require('node:worker_threads');
    setInterval(() => { if (process.ppid !== workerData.parent) process.kill(process.pid, 'SIGKILL'); }, workerData.every);`;
  try {
    // execArgv [] keeps a development loader (tsx) out of the thread: the code above needs none.
    new Worker(source, { eval: true, execArgv: [], workerData: { parent: process.ppid, every: parentCheckMs } }).unref();
  } catch {
    // No thread: under Node the 'disconnect' handler is still there; better that than no worker.
  }
}

function connectToParent(): ParentTransport | null {
  const parentPort = (process as unknown as { parentPort?: ParentPortLike | null }).parentPort;
  if (parentPort) {
    return {
      send: (message) => parentPort.postMessage(message),
      onMessage: (listener) => parentPort.on('message', (event) => listener(event.data)),
    };
  }
  const sendToParent = process.send?.bind(process);
  if (sendToParent) {
    // When core goes away, so does the worker: an orphan holding decrypted rows helps nobody.
    // SIGKILL rather than process.exit: exit waits for a DuckDB query still running (measured:
    // minutes, with the run's plaintext held all along), and there is nothing to flush.
    process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
    return {
      // The callback keeps a send on a closing channel from becoming an 'error' event.
      send: (message) => void sendToParent(message, undefined, undefined, () => undefined),
      onMessage: (listener) => process.on('message', listener),
    };
  }
  return null;
}

function fatal(reason: string): never {
  // Only fixed text: error messages from DuckDB may quote data.
  process.stderr.write(`cleanroom worker: ${reason}; exiting\n`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// Limits, from the environment core starts us with.

const defaultMemoryLimit = '2GB';
const defaultThreads = 2;

function limitsFromEnvironment(env: NodeJS.ProcessEnv): EngineLimits {
  const memoryLimit = env['CLEANROOM_WORKER_MEMORY_LIMIT']?.trim() || defaultMemoryLimit;
  if (!/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(memoryLimit)) {
    fatal('CLEANROOM_WORKER_MEMORY_LIMIT must look like 512MB or 2GB');
  }
  const threadsText = env['CLEANROOM_WORKER_THREADS']?.trim() || String(defaultThreads);
  const threads = Number(threadsText);
  if (!Number.isSafeInteger(threads) || threads < 1 || threads > 256) {
    fatal('CLEANROOM_WORKER_THREADS must be a whole number from 1 to 256');
  }
  return { memoryLimit, threads };
}

// ---------------------------------------------------------------------------------------------
// The locked-down engine.

/**
 * Configuration applied when the database is created, before any SQL can run. Order matters:
 * DuckDB refuses to set temp_directory once enable_external_access is false, and
 * lock_configuration must come last so nothing after it (no SET, no PRAGMA) can loosen the rest.
 */
function lockedDownConfig(limits: EngineLimits): Record<string, string> {
  return {
    ...engineBaseConfig(limits),
    // No files, no network, no ATTACH of files, no COPY, no INSTALL/LOAD from disk.
    enable_external_access: 'false',
    lock_configuration: 'true',
  };
}

/** Settings read back after start: the worker refuses to run if the engine ignored any of them. */
const requiredSettings: Readonly<Record<string, string>> = {
  enable_external_access: 'false',
  autoinstall_known_extensions: 'false',
  autoload_known_extensions: 'false',
  allow_community_extensions: 'false',
  allow_unsigned_extensions: 'false',
  lock_configuration: 'true',
  temp_directory: '',
};

async function openLockedDatabase(limits: EngineLimits): Promise<DuckDBConnection> {
  const instance = await DuckDBInstance.create(':memory:', lockedDownConfig(limits));
  const connection = await instance.connect();
  const names = Object.keys(requiredSettings);
  const reader = await connection.runAndReadAll(
    `SELECT ${names.map((name) => `CAST(current_setting('${name}') AS VARCHAR)`).join(', ')}`,
  );
  const actual = reader.getRowsJson()[0] ?? [];
  names.forEach((name, index) => {
    if (actual[index] !== requiredSettings[name]) fatal(`DuckDB setting ${name} did not take effect`);
  });
  return connection;
}

// ---------------------------------------------------------------------------------------------
// Request handling.

type Outcome = WorkerMessage;

const failure = (id: number, code: ErrorCode, message: string): Outcome => ({ kind: 'error', id, code, message });

async function runQuery(connection: DuckDBConnection, id: number, sql: string): Promise<Outcome> {
  let result: DuckDBMaterializedResult;
  try {
    result = await connection.run(sql);
  } catch (error) {
    return failure(id, 'INTERNAL', describeQueryFailure(error instanceof Error ? error.message : ''));
  }
  if (result.rowCount > maxQueryRows || result.columnCount > maxQueryColumns) {
    return failure(id, 'INTERNAL', `query failed: result larger than ${maxQueryRows} rows or ${maxQueryColumns} columns`);
  }
  const columns = result.columnNames().map((name, index) => ({ name, type: result.columnType(index).toString() }));
  const rows = await result.getRowsJson();
  return { kind: 'result', id, result: { kind: 'query', columns, rows } };
}

/**
 * Runs one file request. CleanroomErrors carry their own one-line message (about the owner's own
 * file); anything else is reduced to a fixed text, since its message could quote anything.
 */
async function runFileRequest(id: number, work: () => Promise<WorkerResult>, what: string): Promise<Outcome> {
  try {
    return { kind: 'result', id, result: await work() };
  } catch (error) {
    if (error instanceof CleanroomError) return failure(id, error.code, error.message.slice(0, 1_000));
    // A full disk (the vault, or the folder a scored file goes to): core names the folder.
    if (isDiskFull(error)) return failure(id, 'DISK_FULL', `${what} failed: the disk is full`);
    const code = (error as NodeJS.ErrnoException | null)?.code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return failure(id, 'FILE_ERROR', `${what} failed (${describeFileError(error)})`);
    return failure(id, 'INTERNAL', `${what} failed`);
  }
}

function startServing(transport: ParentTransport, connection: DuckDBConnection, limits: EngineLimits): (raw: unknown) => void {
  // One connection, one statement at a time: queries queue behind each other, while handshakes
  // answer at once so core can tell "busy" from "hung".
  let queryQueue: Promise<void> = Promise.resolve();
  // Imports and volumes use their own short-lived engines; they queue behind each other (each
  // wants both cores) but not behind queries. Inspections are quick and run at once.
  let jobQueue: Promise<void> = Promise.resolve();
  // Runs have their own queue, one at a time: each opens its own DuckDB with the run's memory limit.
  let runQueue: Promise<void> = Promise.resolve();
  const progressOf =
    (id: number): ProgressSink =>
    (progress) =>
      transport.send({ kind: 'progress', id, ...progress });

  const answer = (request: WorkerRequest): void => {
    switch (request.kind) {
      case 'handshake':
        transport.send({
          kind: 'result',
          id: request.id,
          result: { kind: 'handshake', duckdbVersion: duckdbLibraryVersion(), pid: process.pid },
        });
        return;
      case 'query':
        queryQueue = queryQueue.then(async () => {
          const outcome = await runQuery(connection, request.id, request.sql).catch(() =>
            failure(request.id, 'INTERNAL', 'query failed'),
          );
          transport.send(outcome);
        });
        return;
      case 'inspect':
        void runFileRequest(request.id, () => inspectSource(limits, request.path, request.format), 'inspect').then((outcome) =>
          transport.send(outcome),
        );
        return;
      case 'importTable':
        jobQueue = jobQueue.then(async () => {
          transport.send(await runFileRequest(request.id, () => importTable(limits, request, progressOf(request.id)), 'import'));
        });
        return;
      case 'packVolume':
        jobQueue = jobQueue.then(async () => {
          transport.send(await runFileRequest(request.id, () => packVolume(request, progressOf(request.id)), 'volume packing'));
        });
        return;
      case 'readLibrary':
        jobQueue = jobQueue.then(async () => {
          transport.send(await runFileRequest(request.id, () => readLibrary(limits, request), 'library reading'));
        });
        return;
      case 'score':
        jobQueue = jobQueue.then(async () => {
          transport.send(await runFileRequest(request.id, () => scoreFile(limits, request, progressOf(request.id)), 'scoring'));
        });
        return;
      case 'run':
        runQueue = runQueue.then(async () => {
          transport.send(await runFileRequest(request.id, () => runNotebook(limits, request, progressOf(request.id)), 'run'));
        });
        return;
    }
  };

  return (raw) => {
    const parsed = parseWorkerRequest(raw);
    if (parsed.ok) {
      answer(parsed.value);
      return;
    }
    const id = requestIdOf(raw);
    if (id !== null) transport.send(failure(id, 'BAD_REQUEST', `bad request: ${parsed.issue.message}`));
  };
}

async function main(): Promise<void> {
  const transport = connectToParent();
  if (transport === null) fatal('must be started by Cleanroom (no parent channel)');
  dieWithParent();

  // Listen before the (slow) database start so no early message is lost; hold them until ready.
  let handle: ((raw: unknown) => void) | null = null;
  const early: unknown[] = [];
  transport.onMessage((raw) => (handle === null ? early.push(raw) : handle(raw)));

  const limits = limitsFromEnvironment(process.env);
  await cryptoReady();
  const connection = await openLockedDatabase(limits);
  const serve = startServing(transport, connection, limits);
  handle = serve;
  transport.send({ kind: 'ready', pid: process.pid });
  for (const raw of early.splice(0)) serve(raw);
}

process.on('uncaughtException', (error) => fatal(`fatal ${error.name}`));
process.on('unhandledRejection', () => fatal('fatal unhandled rejection'));
main().catch((error: unknown) => fatal(`could not start DuckDB (${error instanceof Error ? error.name : 'error'})`));
