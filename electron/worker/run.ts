// Running an approved snapshot's cells (the `run` request). Core has verified the snapshot, the
// approvals and the payload hashes and unsealed the keys; here the rows are decrypted into the
// run's private RAM folder, read by a per-run DuckDB that may open only those files, and every
// SQL cell is checked against the room's policy on DuckDB's own syntax tree before it runs.
//
// In aggregate mode the tree is then rewritten (shared/k-guard.ts) so every output row carries the
// number of distinct privacy units of each protected table behind it; rows below k are dropped and
// counted. Whatever fails, only a class and a cell leave this file: DuckDB's messages can quote a
// row's value. The plaintext files are deleted before the answer is sent.
import { randomBytes } from 'node:crypto';
import { lstat, open, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { type DuckDBConnection } from '@duckdb/node-api';
import { fromBase64Url, wipe } from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';
import { guardTree, parseSqlTree, reservedPrefix, stringifySqlTree } from '../../shared/k-guard.js';
import { expandMacros } from '../../shared/library.js';
import { isSqlLiteral } from '../../shared/notebook.js';
import { analyseCell, type PolicyMode } from '../../shared/policy.js';
import { type RunOutput, type RunResult, type RunTable } from '../../shared/worker-protocol.js';
import {
  type CellContext,
  CellFailure,
  checkOutputName,
  columnsOf,
  countRows,
  fail,
  failureClassOf,
  inCell,
  privateLibraryRefusal,
  refusalReasons,
  type RunRequest,
  scalarText,
} from './cells.js';
import { type EngineLimits, type FileEngine, openFileEngine, sqlIdentifier, sqlString } from './file-engine.js';
import { type ProgressSink } from './import.js';
import { loadLibraries, type LoadedLibrary } from './library.js';
import { decryptPayloadFile } from './payload-stream.js';
import { runTrainCell } from './train-cell.js';

/** Longest value text one output cell of a SQL cell may hold. */
const maxValueLength = 100_000;
const progressIntervalMs = 200;

// ---------------------------------------------------------------------------------------------
// Checking the request (core built it, but the worker trusts nothing it is sent).

function checkRequest(request: RunRequest): void {
  if (!path.isAbsolute(request.runDir)) throw new CleanroomError('BAD_REQUEST', 'runDir must be an absolute path');
  const names = new Set<string>();
  for (const table of request.tables) {
    if (names.has(table.name)) throw new CleanroomError('BAD_REQUEST', `table ${table.name} is listed twice`);
    names.add(table.name);
    if (!path.isAbsolute(table.payloadFile)) throw new CleanroomError('BAD_REQUEST', 'payloadFile must be an absolute path');
    const columns = new Set<string>();
    for (const column of table.columns) {
      const key = column.name.toLowerCase();
      if (columns.has(key)) throw new CleanroomError('BAD_REQUEST', `table ${table.name} lists column ${column.name} twice`);
      columns.add(key);
    }
  }
  const parameters = new Set<string>();
  for (const parameter of request.parameters) {
    if (parameters.has(parameter.name)) throw new CleanroomError('BAD_REQUEST', `parameter ${parameter.name} is given twice`);
    parameters.add(parameter.name);
    if (!isSqlLiteral(parameter.value)) throw new CleanroomError('BAD_REQUEST', `parameter ${parameter.name} is not a SQL literal`);
  }
  request.cells.forEach((cell, position) => {
    if (cell.index !== position) throw new CleanroomError('BAD_REQUEST', 'cells must be given in order, indexed from 0');
  });
}

// ---------------------------------------------------------------------------------------------
// Decrypting the tables.

interface DecryptedTable {
  readonly table: RunTable;
  readonly file: string;
}

async function decryptTables(request: RunRequest, sink: ProgressSink): Promise<DecryptedTable[]> {
  const sizes = await Promise.all(request.tables.map(async (table) => (await stat(table.payloadFile)).size));
  const total = sizes.reduce((sum, size) => sum + size, 0);
  let done = 0;
  let last = 0;
  const report = (force: boolean): void => {
    const now = Date.now();
    if (!force && now - last < progressIntervalMs) return;
    last = now;
    sink({ phase: 'decrypting', done: Math.min(done, total), total });
  };
  report(true);
  const decrypted: DecryptedTable[] = [];
  for (const [index, table] of request.tables.entries()) {
    const file = path.join(request.runDir, `table-${index}-${randomBytes(8).toString('hex')}.parquet`);
    const key = fromBase64Url(table.dataKey);
    const start = done;
    // Created before anything is written, so the clean-up below always finds it.
    const out = await open(file, 'wx', 0o600);
    decrypted.push({ table, file });
    try {
      if (key.length !== 32) throw new CleanroomError('BAD_REQUEST', 'dataKey must be 32 bytes');
      await decryptPayloadFile(table.payloadFile, {
        key,
        chunkSize: table.chunkSize,
        onChunk: async (plaintext) => {
          let offset = 0;
          while (offset < plaintext.length) offset += (await out.write(plaintext, offset, plaintext.length - offset)).bytesWritten;
          done += plaintext.length;
          report(false);
        },
      });
    } finally {
      wipe(key);
      await out.close();
    }
    done = start + (sizes[index] ?? 0);
    report(true);
  }
  return decrypted;
}

/** Deletes everything inside the run folder (core removes the folder itself). */
async function emptyRunDir(runDir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(runDir);
  } catch {
    return;
  }
  await Promise.all(names.map((name) => rm(path.join(runDir, name), { recursive: true, force: true })));
}

// ---------------------------------------------------------------------------------------------
// The engine.

/** The columns a cell may see: without hidden ones in aggregate mode. */
const visibleColumns = (table: RunTable, mode: PolicyMode) => table.columns.filter((column) => mode === 'reviewed' || column.role !== 'hidden');

async function prepareEngine(limits: EngineLimits, request: RunRequest, tables: readonly DecryptedTable[]): Promise<FileEngine> {
  const engine = await openFileEngine(
    { threads: limits.threads, memoryLimit: request.memoryLimit ?? limits.memoryLimit },
    { files: tables.map((table) => table.file) },
  );
  try {
    for (const { table, file } of tables) {
      const columns = visibleColumns(table, request.policy.mode).map((column) => sqlIdentifier(column.name));
      // A view reads the Parquet in place; hidden columns are simply not in it.
      await engine.connection.run(`CREATE VIEW ${sqlIdentifier(table.name)} AS SELECT ${columns.join(', ')} FROM read_parquet(${sqlString(file)})`);
    }
    for (const parameter of request.parameters) {
      await engine.connection.run(`SET VARIABLE ${sqlIdentifier(parameter.name)} = ${parameter.value}`);
    }
  } catch (error) {
    engine.close();
    fail(failureClassOf(error), null);
  }
  return engine;
}

// ---------------------------------------------------------------------------------------------
// Cells.

/** Runs one SQL cell into a temporary table named `name`; returns the rows it suppressed. */
async function runSqlCell(context: CellContext, index: number, source: string, name: string): Promise<number> {
  const { connection, request } = context;
  const mode = request.policy.mode;
  checkOutputName(context, index, name);

  const parsed = await context.parseCell(index, source);
  const { tree } = parsed;
  const verdict = analyseCell(tree, { tables: context.policyTables, earlierOutputs: [...context.outputs], mode });
  if (!verdict.ok) {
    fail('PolicyRefused', index, refusalReasons(parsed, verdict.problems.map((problem) => (problem.position === undefined ? problem.reason : `${problem.position}: ${problem.reason}`))));
  }
  const deserialize = context.render;
  // What runs is DuckDB's own rendering of the tree the policy checked, not the text as typed.
  const checkedSql = await deserialize(tree);
  const target = sqlIdentifier(name);
  if (mode === 'reviewed') {
    await connection.run(`CREATE TEMP TABLE ${target} AS ${checkedSql}`);
    return 0;
  }

  const guarded = guardTree(tree, context.policyTables);
  if (!guarded.ok) fail('PolicyRefused', index, refusalReasons(parsed, guarded.reasons));
  const names = (await columnsOf(connection, checkedSql)).map((column) => column.name);
  const raw = sqlIdentifier(`${reservedPrefix}raw_${index + 1}`);
  await connection.run(`CREATE TEMP TABLE ${raw} AS ${await deserialize(guarded.tree)}`);
  try {
    const columns = await columnsOf(connection, raw);
    const guards = guarded.guards.map((guard) => guard.column);
    const own = columns.slice(0, columns.length - guards.length);
    const helpers = columns.slice(own.length).map((column) => column.name);
    if (own.length !== names.length || helpers.join('\n') !== guards.join('\n')) throw new CleanroomError('INTERNAL', 'the guarded query has unexpected columns');
    const k = request.policy.minGroupSize;
    // A helper column is NULL in UNION ALL branches that do not read its table.
    const keep = guards.length === 0 ? 'true' : guards.map((guard) => `coalesce(${sqlIdentifier(guard)} >= ${k}, true)`).join(' AND ');
    const suppressed = await countRows(connection, `SELECT count(*) FROM ${raw} WHERE NOT (${keep})`);
    const select = own.map((column, position) => `${sqlIdentifier(column.name)} AS ${sqlIdentifier(names[position] as string)}`).join(', ');
    await connection.run(`CREATE TEMP TABLE ${target} AS SELECT ${select} FROM ${raw} WHERE ${keep}`);
    return suppressed;
  } finally {
    await connection.run(`DROP TABLE IF EXISTS ${raw}`);
  }
}

async function readOutput(connection: DuckDBConnection, request: RunRequest, index: number, name: string): Promise<Omit<RunOutput, 'suppressedRows'>> {
  const target = sqlIdentifier(name);
  if ((await countRows(connection, `SELECT count(*) FROM ${target}`)) > request.maxOutputRows) fail('OutputTooLarge', index);
  const columns = await columnsOf(connection, target);
  if (columns.length === 0) fail('OutputTooLarge', index);
  const texts = columns.map((column) => `CAST(${sqlIdentifier(column.name)} AS VARCHAR)`).join(', ');
  const rows = (await connection.runAndReadAll(`SELECT ${texts} FROM ${target}`)).getRowsJson().map((row) =>
    row.map((value) => {
      if (value === null) return null;
      const shown = String(value);
      if (shown.length > maxValueLength) fail('OutputTooLarge', index);
      return shown;
    }),
  );
  return { name, cell: index, columns, rows };
}

// ---------------------------------------------------------------------------------------------
// The request.

export async function runNotebook(limits: EngineLimits, request: RunRequest, sink: ProgressSink): Promise<RunResult> {
  checkRequest(request);
  const info = await lstat(request.runDir);
  if (!info.isDirectory()) throw new CleanroomError('BAD_REQUEST', 'runDir must be a folder');
  let engine: FileEngine | null = null;
  try {
    let tables: DecryptedTable[];
    try {
      tables = await decryptTables(request, sink);
    } catch (error) {
      if (error instanceof CleanroomError && error.code === 'BAD_REQUEST') throw error;
      // A payload that does not decrypt (wrong key, changed bytes) or cannot be read or written.
      return { kind: 'run', outputs: [], failure: { class: 'PayloadUnreadable', cell: null, reasons: [] } };
    }
    engine = await prepareEngine(limits, request, tables);
    const { connection } = engine;
    let library: LoadedLibrary;
    try {
      library = await loadLibraries(connection, request.volumes ?? []);
    } catch (error) {
      if (error instanceof CellFailure) throw error;
      // Nothing about a private library may be said to the runner: not which file, not why.
      fail('LibraryUnreadable', null);
    }
    const context: CellContext = {
      connection,
      request,
      // Every column with its role, hidden ones too: the policy refuses them by name (the views do not have them).
      policyTables: request.tables.map((table) => ({ name: table.name, allowMinMax: table.allowMinMax, columns: table.columns })),
      tableNames: new Set(request.tables.map((table) => table.name)),
      outputs: new Set(),
      madeNames: new Set(),
      parseCell: async (index, source) => {
        const tree = parseSqlTree(await scalarText(connection, 'SELECT json_serialize_sql($1::VARCHAR)', [source]));
        // A syntax error is the notebook's; any other statement (COPY, ATTACH, SET…) is not a SELECT and the policy says so.
        if (typeof tree === 'object' && tree !== null && (tree as { error_type?: unknown }).error_type === 'parser') fail('ParserError', index);
        const expanded = expandMacros(tree, library.macros);
        if (!expanded.ok) fail('PolicyRefused', index, [privateLibraryRefusal]);
        return { tree: expanded.tree, usesLibrary: expanded.used.length > 0 };
      },
      render: (tree) => scalarText(connection, 'SELECT json_deserialize_sql($1::JSON)', [stringifySqlTree(tree)]),
    };
    const outputs: RunOutput[] = [];
    const total = request.cells.length;
    sink({ phase: 'running', done: 0, total });
    for (const cell of request.cells) {
      if (cell.kind === 'train') {
        const model = await inCell(cell.index, () => runTrainCell(context, cell, sink));
        context.madeNames.add(model.name);
        outputs.push(model);
      } else if (cell.kind === 'sql') {
        const name = cell.output ?? `cell_${cell.index + 1}`;
        const suppressedRows = await inCell(cell.index, () => runSqlCell(context, cell.index, cell.source, name));
        context.outputs.add(name);
        context.madeNames.add(name);
        const output = await inCell(cell.index, () => readOutput(connection, request, cell.index, name));
        outputs.push({ ...output, suppressedRows });
      }
      sink({ phase: 'running', done: cell.index + 1, total });
    }
    return { kind: 'run', outputs, failure: null };
  } catch (error) {
    if (error instanceof CellFailure) return { kind: 'run', outputs: [], failure: error.failure };
    throw error;
  } finally {
    engine?.close();
    await emptyRunDir(request.runDir);
  }
}
