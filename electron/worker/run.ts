// Running an approved snapshot's cells (the `run` request). Core has verified the snapshot, the
// approvals and the payload hashes and unsealed the keys; here the rows are decrypted into the
// run's private RAM folder, read by a per-run DuckDB that may open only those files, and every
// SQL cell is checked against the room's policy on DuckDB's own syntax tree before it runs.
//
// In aggregate mode the cell is translated into the policy's algebra and compiled
// (shared/policy/): the compiled stages count the people behind every group and every aggregate,
// groups below k are dropped, and guard.ts decides which aggregates may be released (k over
// contributors, dominance, differencing against this run and the home's ledger); the rest are
// withheld as NULL. Whatever fails, only a class (and, for the notebook's own mistakes, a cell)
// leaves this file: DuckDB's messages can quote a row's value. The plaintext files are nameless
// where the platform allows (private-file.ts), so they end with this process however it ends, and
// are closed before the answer is sent.
import { randomBytes } from 'node:crypto';
import { lstat, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { type DuckDBConnection } from '@duckdb/node-api';
import { fromBase64Url, toBase64Url, wipe } from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';
import { expandMacros } from '../../shared/library.js';
import { isSqlLiteral } from '../../shared/notebook.js';
import { analyseCell, type PolicyMode, type PolicyTable } from '../../shared/policy.js';
import { type AlgebraCell } from '../../shared/policy/algebra.js';
import { type CompiledBranch, compileCell, type PopulationStats, setsToSketch, sketchKey } from '../../shared/policy/compile.js';
import { DifferencingLedger } from '../../shared/policy/differencing.js';
import { type CandidateRow, decideBranch, defaultDominance, populationKey, setKeyOf, setTable } from '../../shared/policy/guard.js';
import { decodeSketch, encodeSketch, type Sketch, sketchFromCells, sketchWidth } from '../../shared/policy/sketch.js';
import { parseSqlTree, reservedPrefix, stringifySqlTree } from '../../shared/policy/tree.js';
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
import { createPrivateFile, type PrivateFile } from './private-file.js';
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
  /** The path DuckDB reads (/proc/self/fd/<n> for a nameless file). */
  readonly file: string;
}

/** Decrypts every table into a private file; each file is pushed to `opened` as soon as it exists, for the caller to close. */
async function decryptTables(request: RunRequest, sink: ProgressSink, opened: PrivateFile[]): Promise<DecryptedTable[]> {
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
    const key = fromBase64Url(table.dataKey);
    const start = done;
    // Created (and unlinked) before anything is written, so the clean-up always finds it.
    const out = await createPrivateFile(request.runDir, `table-${index}`).catch((error: unknown) => {
      wipe(key);
      throw error;
    });
    opened.push(out);
    decrypted.push({ table, file: out.path });
    try {
      if (key.length !== 32) throw new CleanroomError('BAD_REQUEST', 'dataKey must be 32 bytes');
      await decryptPayloadFile(table.payloadFile, {
        key,
        chunkSize: table.chunkSize,
        onChunk: async (plaintext) => {
          await out.append(plaintext);
          done += plaintext.length;
          report(false);
        },
      });
    } finally {
      wipe(key);
    }
    done = start + (sizes[index] ?? 0);
    report(true);
  }
  return decrypted;
}

/** Deletes everything inside the run folder (core removes the folder itself): named files where files cannot be nameless. */
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
      const types = new Map((await columnsOf(engine.connection, `SELECT * FROM read_parquet(${sqlString(file)})`)).map((column) => [column.name.toLowerCase(), column.type]));
      const columns = visibleColumns(table, request.policy.mode).map((column) => {
        const type = types.get(column.name.toLowerCase()) ?? '';
        // In aggregate mode a sum over HUGEINT or DECIMAL could overflow on one person's value: such measures are read as DOUBLE.
        const widen = request.policy.mode === 'aggregate' && column.role === 'measure' && /^(HUGEINT|UHUGEINT|DECIMAL)/.test(type);
        return widen ? `CAST(${sqlIdentifier(column.name)} AS DOUBLE) AS ${sqlIdentifier(column.name)}` : sqlIdentifier(column.name);
      });
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

/** The room's ledger from the request (aggregate mode), or an empty one with a salt for this run. */
function openReleases(request: RunRequest): Releases {
  const k = request.policy.minGroupSize;
  const given = request.differencing;
  // A family ends in its kind (`:n` present, `:z` non-zero), which the ledger keeps apart per table.
  const prior = (given?.sets ?? []).map((set) => ({ table: setTable(set.table, setKeyOf(set.family)), family: set.family, sketch: decodeSketch(fromBase64Url(set.sketch)) }));
  const salt = given === undefined ? randomBytes(32).toString('hex') : Buffer.from(fromBase64Url(given.salt)).toString('hex');
  return { ledger: new DifferencingLedger(k, prior), salt, width: sketchWidth(k) };
}

/** Every room table with its roles (hidden ones too: the policy refuses them by name) and the types its view has. */
async function policyTablesOf(connection: DuckDBConnection, request: RunRequest): Promise<PolicyTable[]> {
  const tables: PolicyTable[] = [];
  for (const table of request.tables) {
    const types = new Map((await columnsOf(connection, `SELECT * FROM ${sqlIdentifier(table.name)}`)).map((column) => [column.name.toLowerCase(), column.type]));
    tables.push({
      name: table.name,
      allowMinMax: table.allowMinMax,
      columns: table.columns.map((column) => {
        const type = types.get(column.name.toLowerCase());
        return type === undefined ? column : { ...column, type };
      }),
    });
  }
  return tables;
}

/** What a run keeps across its cells for the release decisions. */
interface Releases {
  readonly ledger: DifferencingLedger;
  readonly salt: string;
  readonly width: number;
}

/** Runs one SQL cell into a temporary table named `name`; returns how many values it withheld. */
async function runSqlCell(context: CellContext, releases: Releases, index: number, source: string, name: string): Promise<number> {
  const { connection, request } = context;
  const mode = request.policy.mode;
  checkOutputName(context, index, name);

  const parsed = await context.parseCell(index, source);
  const { tree } = parsed;
  const verdict = analyseCell(tree, { tables: context.policyTables, earlierOutputs: [...context.outputs], mode });
  if (!verdict.ok) {
    fail('PolicyRefused', index, refusalReasons(parsed, verdict.problems.map((problem) => (problem.position === undefined ? problem.reason : `${problem.position}: ${problem.reason}`))));
  }
  // The cell as checked, rendered by DuckDB: what runs in reviewed mode and for post-processing,
  // and what names the output's columns in aggregate mode (DESCRIBE binds it, reading no row).
  const checkedSql = await context.render(tree);
  const target = sqlIdentifier(name);
  if (mode === 'reviewed' || verdict.cell === undefined || verdict.cell.kind === 'post') {
    await connection.run(`CREATE TEMP TABLE ${target} AS ${checkedSql}`);
    return 0;
  }
  return runAggregateCell(context, releases, index, verdict.cell, checkedSql, name);
}

/** An aggregate-mode cell: the compiled stages, the release decision, then the output over what is released. */
async function runAggregateCell(context: CellContext, releases: Releases, index: number, cell: Extract<AlgebraCell, { kind: 'aggregate' }>, checkedSql: string, name: string): Promise<number> {
  const { connection, request } = context;
  const k = request.policy.minGroupSize;
  const names = (await columnsOf(connection, checkedSql)).map((column) => column.name);
  const compiled = compileCell(cell, { prefix: `${reservedPrefix}c${index}_`, k, salt: releases.salt, width: releases.width });
  const staged = sqlIdentifier(`${reservedPrefix}staged_${index + 1}`);
  try {
    for (const [branchIndex, branch] of compiled.branches.entries()) {
      for (const statement of branch.setup) await connection.run(statement);
      const { rows, population } = await readStatistics(connection, branch);
      const sets = setsToSketch(branch.tables.length, branch.terms.length, population);
      const sketched = new Set(sets.map((set) => `${set.term ?? -1}:${set.table}:${set.kind}`));
      const sketches = await readSketches(connection, branch.sketches(sets), sketched, rows, population, releases.width);
      for (const statement of branch.release) await connection.run(statement);
      const withheld = decideBranch(
        {
          tables: branch.tables,
          termCount: branch.terms.length,
          rows,
          sketch: (row, term, table, kind) => sketches.get(sketchKey(sketched, row, term, table, kind)),
          family: `${populationKey(branch.population)}:${index}:${branchIndex}`,
          lineage: branch.terms.map((term) => [...new Set(term.args.flatMap((arg) => arg.lineage))].sort()),
        },
        k,
        defaultDominance,
        releases.ledger,
      );
      await withhold(connection, branch.raw, withheld);
    }
    await connection.run(`CREATE TEMP TABLE ${staged} AS ${compiled.output(names)}`);
    const withheldValues = await countRows(connection, `SELECT coalesce(sum(${sqlIdentifier(`${reservedPrefix}withheld`)}), 0) FROM ${staged}`);
    await connection.run(`CREATE TEMP TABLE ${sqlIdentifier(name)} AS SELECT ${names.map(sqlIdentifier).join(', ')} FROM ${staged}`);
    return withheldValues;
  } finally {
    await connection.run(`DROP TABLE IF EXISTS ${staged}`);
    for (const statement of compiled.cleanup) await connection.run(statement);
  }
}

/** Reads raw's statistics: the candidates for guard.ts, and each row's population for choosing the sets to sketch. */
async function readStatistics(connection: DuckDBConnection, branch: CompiledBranch): Promise<{ rows: CandidateRow[]; population: PopulationStats[] }> {
  const column = (name: string | null): string => (name === null ? 'NULL' : sqlIdentifier(name));
  const tableColumns = branch.tables.flatMap((_table, t) => [`${reservedPrefix}pop${t}`, `${reservedPrefix}rall${t}`].map(column));
  const termColumns = branch.stats.flatMap((stat) => [stat.people, stat.nonZero, stat.total, stat.top, stat.rows].map(column));
  const groupColumns = Array.from({ length: branch.groupCount }, (_unused, index) => `CAST(${sqlIdentifier(`${reservedPrefix}g${index}`)} AS VARCHAR)`);
  const read = (await connection.runAndReadAll(`SELECT ${[sqlIdentifier(`${reservedPrefix}row`), ...tableColumns, ...termColumns, ...groupColumns].join(', ')} FROM ${branch.raw} ORDER BY 1`)).getRowsJson();
  const numberOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
  const rows: CandidateRow[] = [];
  const population: PopulationStats[] = [];
  for (const row of read) {
    const termAt = (t: number, term: number): number => 1 + tableColumns.length + branch.stats.findIndex((stat) => stat.table === t && stat.term === term) * 5;
    const stats = branch.tables.map((_table, t) =>
      branch.terms.map((_term, term) => {
        const at = termAt(t, term);
        const top = row[at + 3];
        return { people: Number(row[at] ?? 0), nonZero: numberOrNull(row[at + 1]), total: numberOrNull(row[at + 2]), top: Array.isArray(top) ? top.map(Number) : null };
      }),
    );
    rows.push({ row: Number(row[0]), key: JSON.stringify(row.slice(1 + tableColumns.length + termColumns.length)), stats });
    population.push({
      population: branch.tables.map((_table, t) => ({ people: Number(row[1 + 2 * t] ?? 0), rows: Number(row[2 + 2 * t] ?? 0) })),
      terms: branch.tables.map((_table, t) =>
        branch.terms.map((_term, term) => {
          const at = termAt(t, term);
          return { people: Number(row[at] ?? 0), nonZero: numberOrNull(row[at + 1]), rows: Number(row[at + 4] ?? 0) };
        }),
      ),
    });
  }
  return { rows, population };
}

/** Reads the sketches of the sets asked for, keyed "row:term:table:kind" (term −1: the population); sizes come from the statistics. */
async function readSketches(
  connection: DuckDBConnection,
  sql: string,
  sketched: ReadonlySet<string>,
  rows: readonly CandidateRow[],
  population: readonly PopulationStats[],
  width: number,
): Promise<Map<string, Sketch>> {
  const cells = new Map<string, { cell: number; count: number; idSum: string; checkSum: string }[]>();
  for (const row of (await connection.runAndReadAll(sql)).getRowsJson()) {
    if (row[0] === null) continue;
    const key = `${String(row[0])}:${String(row[1])}:${String(row[2])}:${String(row[3])}`;
    const list = cells.get(key) ?? [];
    list.push({ cell: Number(row[4]), count: Number(row[5]), idSum: String(row[6]), checkSum: String(row[7]) });
    cells.set(key, list);
  }
  const sketches = new Map<string, Sketch>();
  rows.forEach((row, index) => {
    const stats = population[index];
    stats?.population.forEach((people, table) => {
      for (const kind of ['n', 'r'] as const) sketches.set(`${row.row}:-1:${table}:${kind}`, sketchFromCells(width, people.people, cells.get(`${row.row}:-1:${table}:${kind}`) ?? []));
    });
    row.stats.forEach((terms, table) =>
      terms.forEach((termStats, term) => {
        for (const [kind, size] of [['n', termStats.people], ['r', termStats.people], ['z', termStats.nonZero]] as const) {
          const key = `${row.row}:${term}:${table}:${kind}`;
          if (size === null || !sketched.has(`${term}:${table}:${kind}`)) continue;
          sketches.set(key, sketchFromCells(width, size, cells.get(key) ?? []));
        }
      }),
    );
  });
  return sketches;
}

/** Sets each withheld term of its row to NULL, and marks it withheld. */
async function withhold(connection: DuckDBConnection, raw: string, withheld: ReadonlySet<string>): Promise<void> {
  const byTerm = new Map<number, number[]>();
  for (const key of withheld) {
    const [row, term] = key.split(':').map(Number) as [number, number];
    byTerm.set(term, [...(byTerm.get(term) ?? []), row]);
  }
  for (const [term, rows] of byTerm) {
    for (let start = 0; start < rows.length; start += 1000) {
      const chunk = rows.slice(start, start + 1000);
      await connection.run(
        `UPDATE ${raw} SET ${sqlIdentifier(`${reservedPrefix}v${term}`)} = NULL, ${sqlIdentifier(`${reservedPrefix}w${term}`)} = true WHERE ${sqlIdentifier(`${reservedPrefix}row`)} IN (${chunk.join(', ')})`,
      );
    }
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
  const opened: PrivateFile[] = [];
  try {
    let tables: DecryptedTable[];
    try {
      tables = await decryptTables(request, sink, opened);
    } catch (error) {
      if (error instanceof CleanroomError && error.code === 'BAD_REQUEST') throw error;
      // A payload that does not decrypt (wrong key, changed bytes) or cannot be read or written.
      return { kind: 'run', outputs: [], failure: { class: 'PayloadUnreadable', cell: null, reasons: [] } };
    }
    engine = await prepareEngine(limits, request, tables);
    const { connection } = engine;
    const releases = openReleases(request);
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
      policyTables: await policyTablesOf(connection, request),
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
        const suppressedRows = await inCell(cell.index, () => runSqlCell(context, releases, cell.index, cell.source, name));
        context.outputs.add(name);
        context.madeNames.add(name);
        const output = await inCell(cell.index, () => readOutput(connection, request, cell.index, name));
        outputs.push({ ...output, suppressedRows });
      }
      sink({ phase: 'running', done: cell.index + 1, total });
    }
    const released = releases.ledger.releasedThisRun().map((set) => ({ table: set.table.slice(0, set.table.lastIndexOf('#')), family: set.family, sketch: toBase64Url(encodeSketch(set.sketch)) }));
    return { kind: 'run', outputs, failure: null, ...(request.policy.mode === 'aggregate' ? { released } : {}) };
  } catch (error) {
    if (error instanceof CellFailure) {
      // In aggregate mode only the notebook's own mistakes name a cell; a run that ran out of time
      // or memory says so without one (where it stopped could depend on the data).
      const own = ['PolicyRefused', 'ParserError', 'BinderError', 'CatalogError', 'OutputTooLarge', 'NotSupported', 'LibraryUnreadable'];
      const failure = request.policy.mode === 'aggregate' && !own.includes(error.failure.class) ? { ...error.failure, cell: null } : error.failure;
      return { kind: 'run', outputs: [], failure };
    }
    throw error;
  } finally {
    // DuckDB first: it may hold the files open too.
    engine?.close();
    for (const file of opened) await file.close();
    await emptyRunDir(request.runDir);
  }
}
