// Reading the owner's source files: `inspect` (schema for review) and `importTable` (Parquet in
// a nameless file of the job's private RAM folder, private-file.ts, then encrypted into the
// vault). Both use a short-lived DuckDB that may open only the source file (and, for import, that
// one Parquet file): see file-engine.ts.
//
// Error messages here may quote DuckDB's text about the source (a line number, a value that did
// not convert): the source is the owner's own data on their own machine, shown to them alone.
// They are cut to one line.

import { type BigIntStats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { type SourceFormat } from '../../shared/asset.js';
import { fromBase64Url, wipe } from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';
import {
  type ImportTableResult,
  type InspectResult,
  maxColumnNameLength,
  maxTableColumns,
  payloadChunkSize,
  type QueryColumn,
  type WorkerProgress,
  type WorkerRequest,
} from '../../shared/worker-protocol.js';
import { maxCsvLineBytes, readCsvHeader } from './csv-header.js';
import { type EngineLimits, type FileEngine, openFileEngine, sqlIdentifier, sqlString } from './file-engine.js';
import { encryptToPayloadFile } from './payload-stream.js';
import { createPrivateFile } from './private-file.js';

/** Longest type name a table descriptor accepts (shared/asset.ts columnSchema). */
const maxTypeLength = 200;
/** How often DuckDB's progress is polled, and the least time between progress messages. */
const progressIntervalMs = 200;
/** JSON records whose keys are checked for empty and duplicate names (DuckDB renames both silently). */
const jsonKeySampleRecords = 20_480;

export type ProgressSink = (progress: WorkerProgress) => void;

type ImportTableRequest = Extract<WorkerRequest, { kind: 'importTable' }>;

// ---------------------------------------------------------------------------------------------
// Sources.

const formatByExtension: Readonly<Record<string, SourceFormat>> = {
  '.csv': 'csv',
  '.tsv': 'csv',
  '.txt': 'csv',
  '.parquet': 'parquet',
  '.json': 'json',
  '.ndjson': 'json',
  '.jsonl': 'json',
};

export interface Source {
  readonly file: string;
  /** For messages: the owner knows their file by its name. */
  readonly name: string;
  readonly format: SourceFormat;
  readonly size: number;
  readonly extension: string;
  /** Device, inode, size and modification time when opened: a change means the file is being written. */
  readonly version: string;
}

/** Parquet files begin and end with these four bytes. */
const parquetMagic = Buffer.from('PAR1', 'ascii');

const versionText = (info: BigIntStats): string => `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}`;

async function versionOf(file: string): Promise<string> {
  return versionText(await stat(file, { bigint: true }));
}

/** Whether the source is no longer the file openSource saw (it grew, shrank, was replaced or rewritten). */
async function sourceChanged(source: Source): Promise<boolean> {
  try {
    return (await versionOf(source.file)) !== source.version;
  } catch {
    return true;
  }
}

const changedWhileRead = (source: Source): CleanroomError =>
  new CleanroomError('FILE_ERROR', `Cannot import ${source.name}: the file changed while it was being read; import it again once nothing is writing to it.`);

/** DuckDB's "No magic bytes found" names nothing the owner can act on: a CSV named .parquet is the usual cause. */
async function requireParquet(file: string, name: string, size: number): Promise<void> {
  const head = Buffer.alloc(4);
  const tail = Buffer.alloc(4);
  const handle = await open(file, 'r');
  try {
    if (size >= 8) {
      await handle.read(head, 0, 4, 0);
      await handle.read(tail, 0, 4, size - 4);
    }
  } finally {
    await handle.close();
  }
  if (!head.equals(parquetMagic) || !tail.equals(parquetMagic)) {
    throw new CleanroomError(
      'FILE_ERROR',
      `Cannot import ${name}: it is not a Parquet file (a Parquet file starts and ends with PAR1); if it holds CSV or JSON text, give it that extension or name that format.`,
    );
  }
}

function requireAbsolute(file: string, what: string): string {
  if (!path.isAbsolute(file)) throw new CleanroomError('BAD_REQUEST', `${what} must be an absolute path`);
  return path.resolve(file);
}

/** Checks a file to read (import, inspect, or score: `what` names it in the one message that is not "Cannot import…"). */
export async function openSource(requested: string, format: SourceFormat | undefined, what = 'the source'): Promise<Source> {
  const file = requireAbsolute(requested, what);
  const name = path.basename(file);
  const extension = path.extname(file).toLowerCase();
  const chosen = format ?? formatByExtension[extension];
  if (chosen === undefined) {
    throw new CleanroomError(
      'BAD_REQUEST',
      `Cannot tell the format of ${name} from its extension: use .csv, .tsv, .txt, .parquet, .json, .ndjson or .jsonl, or name the format.`,
    );
  }
  let size: number;
  let version: string;
  try {
    const info = await stat(file, { bigint: true });
    if (info.isDirectory()) throw new CleanroomError('FILE_ERROR', `Cannot import ${name}: it is a folder, not a file.`);
    size = Number(info.size);
    version = versionText(info);
  } catch (error) {
    if (error instanceof CleanroomError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'there is no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (code ?? 'it cannot be read');
    throw new CleanroomError('FILE_ERROR', `Cannot import ${name}: ${why}.`);
  }
  if (size === 0) throw new CleanroomError('FILE_ERROR', `Cannot import ${name}: the file is empty.`);
  if (chosen === 'parquet') await requireParquet(file, name, size);
  return { file, name, format: chosen, size, extension, version };
}

const refuse = (source: Source, why: string): never => {
  throw new CleanroomError('FILE_ERROR', `Cannot import ${source.name}: ${why}.`);
};

/** One line from DuckDB's message about a source, naming the line where DuckDB gives one. */
export function describeSourceError(source: Source, message: string): string {
  const text = message.replaceAll(source.file, source.name);
  const line = /CSV Error on Line: (\d+)/.exec(text)?.[1];
  const columns = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(text);
  const conversion = /Error when converting column "(.*?)"\. Could not convert string "(.*?)" to '(.+?)'/.exec(text);
  let reason: string;
  if (/Maximum line size of \d+ bytes exceeded/.test(text)) reason = lineTooLong;
  else if (columns) reason = `has ${columns[2]} fields where the header has ${columns[1]}`;
  else if (/unterminated quote/i.test(text)) reason = 'has a quoted value that is not closed properly';
  else if (/invalid unicode|not utf-8/i.test(text)) reason = 'is not valid UTF-8 text (save the file as UTF-8)';
  else if (conversion) {
    reason = `has "${conversion[2]}" in column "${conversion[1]}", which is not a ${conversion[3]} (the type DuckDB inferred from the rows it sampled)`;
  } else {
    const lines = text.split('\n').map((part) => part.trim().replace(/^[A-Za-z ]{1,40} Error: /, ''));
    const meaningful = lines.find(
      (part) => part !== '' && !/^CSV Error on Line/.test(part) && !/^Original Line/.test(part) && !/^Possible (fix|Solution)/i.test(part),
    );
    reason = meaningful ?? 'DuckDB could not read it';
  }
  const sentence = line === undefined ? `Cannot import ${source.name}: ${reason}` : `Cannot import ${source.name}: line ${line} ${reason}`;
  const oneLine = sentence.replace(/\s+/g, ' ').replace(/[.\s]+$/, '');
  return `${oneLine.length > 400 ? `${oneLine.slice(0, 399)}…` : oneLine}.`;
}

/** The reason given for a line over maxCsvLineBytes (a 10 MB value, say), after "line N". */
const lineTooLong = `is longer than ${maxCsvLineBytes.toLocaleString('en-US')} bytes, the most one line may hold`;

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

// ---------------------------------------------------------------------------------------------
// Reading a source's schema.

interface Schema {
  readonly columns: QueryColumn[];
  /** The table function reading the source, e.g. read_csv('…', delim = ',', …). */
  readonly relation: string;
}

export function csvRelation(source: Source, delimiter: string, columns?: readonly string[]): string {
  const options = [
    `delim = ${sqlString(delimiter)}`,
    `quote = '"'`,
    `escape = '"'`,
    'header = true',
    'skip = 0',
    "comment = ''",
    // Strict: a ragged row, a stray quote or invalid UTF-8 is an error, never padded or skipped.
    'strict_mode = true',
    'null_padding = false',
    'ignore_errors = false',
    "encoding = 'utf-8'",
    // Pinned, so csv-header.ts and the message for a longer line say the same limit.
    `max_line_size = ${maxCsvLineBytes}`,
  ];
  if (columns !== undefined) {
    options.push('auto_detect = false', `columns = {${columns.map((name) => `${sqlString(name)}: 'VARCHAR'`).join(', ')}}`);
  }
  return `read_csv(${sqlString(source.file)}, ${options.join(', ')})`;
}

export function relationFor(source: Source, delimiter: string): string {
  switch (source.format) {
    case 'csv':
      return csvRelation(source, delimiter);
    case 'parquet':
      return `read_parquet(${sqlString(source.file)})`;
    case 'json':
      return `read_json(${sqlString(source.file)}, format = 'auto', records = true)`;
  }
}

/**
 * Reads every field of a CSV as text under the fixed dialect: a full pass that finds the first
 * malformed line (ragged row, bad quoting, invalid UTF-8) when DuckDB's type sniffing failed
 * without saying where.
 */
async function findCsvError(engine: FileEngine, source: Source, delimiter: string, names: readonly string[]): Promise<void> {
  const placeholders = names.map((_, index) => `c${index}`);
  const touched = placeholders.map((name) => `max(length(${sqlIdentifier(name)}))`).join(', ');
  try {
    await engine.connection.run(`SELECT ${touched} FROM ${csvRelation(source, delimiter, placeholders)}`);
  } catch (error) {
    throw new CleanroomError('FILE_ERROR', describeSourceError(source, messageOf(error)));
  }
}

export function checkNames(source: Source, names: readonly string[], what: string): void {
  if (names.length > maxTableColumns) refuse(source, `it has ${names.length} columns; at most ${maxTableColumns} are allowed`);
  const seen = new Map<string, string>();
  names.forEach((name, index) => {
    if (name.trim() === '') refuse(source, `${what} ${index + 1} has no name`);
    if (name.length > maxColumnNameLength) refuse(source, `${what} ${index + 1}'s name is longer than ${maxColumnNameLength} characters`);
    // DuckDB identifiers are case-insensitive, so "Name" and "name" would be one column in SQL.
    const key = name.toLowerCase();
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      refuse(source, earlier === name ? `the ${what} name "${name}" appears twice` : `the ${what} names "${earlier}" and "${name}" differ only in case`);
    }
    seen.set(key, name);
  });
}

/** Empty or duplicate keys in a sample of JSON records: DuckDB would rename them silently. */
async function checkJsonKeys(engine: FileEngine, source: Source): Promise<void> {
  const sql = `
    SELECT k FROM (
      SELECT json_keys(json) AS k FROM read_json_objects(${sqlString(source.file)}, format = 'auto') LIMIT ${jsonKeySampleRecords}
    )
    WHERE list_contains(k, '') OR len(k) <> len(list_distinct(list_transform(k, x -> lower(x))))
    LIMIT 1`;
  let rows: unknown[][];
  try {
    rows = (await engine.connection.runAndReadAll(sql)).getRowsJson();
  } catch (error) {
    throw new CleanroomError('FILE_ERROR', describeSourceError(source, messageOf(error)));
  }
  const keys = rows[0]?.[0];
  if (!Array.isArray(keys)) return;
  const names = keys.filter((key): key is string => typeof key === 'string');
  if (names.includes('')) refuse(source, 'a record has a field with an empty name');
  checkNames(source, names, 'field');
}

async function readSchema(engine: FileEngine, source: Source): Promise<Schema> {
  let delimiter = ',';
  let headerNames: readonly string[] = [];
  if (source.format === 'csv') {
    const header = await readCsvHeader(source.file, source.name, source.extension);
    delimiter = header.delimiter;
    headerNames = header.names;
    checkNames(source, headerNames, 'column');
  }
  if (source.format === 'json') await checkJsonKeys(engine, source);
  const relation = relationFor(source, delimiter);
  let described: unknown[][];
  try {
    described = (await engine.connection.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`)).getRowsJson();
  } catch (error) {
    if (source.format === 'csv') await findCsvError(engine, source, delimiter, headerNames);
    throw new CleanroomError('FILE_ERROR', describeSourceError(source, messageOf(error)));
  }
  const columns = described.map(([name, type]) => ({ name: String(name), type: String(type) }));
  if (source.format === 'csv') {
    const same = columns.length === headerNames.length && columns.every((column, index) => column.name.trim() === headerNames[index]);
    if (!same) {
      await findCsvError(engine, source, delimiter, headerNames);
      refuse(source, 'DuckDB read a different header than line 1 shows (check the delimiter and quoting)');
    }
  }
  checkNames(
    source,
    columns.map((column) => column.name),
    'column',
  );
  for (const column of columns) {
    if (column.type.length > maxTypeLength) refuse(source, `column "${column.name}" has a nested type too complex to describe`);
  }
  let anyRow: unknown[][];
  try {
    anyRow = (await engine.connection.runAndReadAll(`SELECT 1 FROM ${relation} LIMIT 1`)).getRowsJson();
  } catch (error) {
    if (source.format === 'csv') await findCsvError(engine, source, delimiter, headerNames);
    throw new CleanroomError('FILE_ERROR', describeSourceError(source, messageOf(error)));
  }
  if (anyRow.length === 0) refuse(source, source.format === 'csv' ? 'it has a header but no rows' : 'it has no rows');
  return { columns, relation };
}

export async function inspectSource(limits: EngineLimits, requested: string, format: SourceFormat | undefined): Promise<InspectResult> {
  const source = await openSource(requested, format);
  const engine = await openFileEngine(limits, { files: [source.file] });
  try {
    const { columns } = await readSchema(engine, source);
    return { kind: 'inspect', format: source.format, columns, size: source.size };
  } finally {
    engine.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Importing.

/** Reports progress no more often than every progressIntervalMs, except a phase's end. */
function throttled(sink: ProgressSink, phase: WorkerProgress['phase'], total: number): (done: number) => void {
  let last = 0;
  let reported = -1;
  return (done) => {
    const now = Date.now();
    if (done <= reported) return;
    if (done < total && now - last < progressIntervalMs) return;
    last = now;
    reported = done;
    sink({ phase, done, total });
  };
}

function decodeDataKey(text: string): Uint8Array {
  const key = fromBase64Url(text);
  if (key.length !== 32) throw new CleanroomError('BAD_REQUEST', 'dataKey must be 32 bytes');
  return key;
}

/** The exact source column names for the requested ones, in the requested order. */
function selectColumns(source: Source, available: readonly QueryColumn[], requested: readonly string[]): string[] {
  const byName = new Map(available.map((column) => [column.name, column.name]));
  const seen = new Set<string>();
  return requested.map((name) => {
    const exact = byName.get(name);
    if (exact === undefined) throw new CleanroomError('BAD_REQUEST', `${source.name} has no column "${name}"`);
    if (seen.has(name.toLowerCase())) throw new CleanroomError('BAD_REQUEST', `column "${name}" is listed twice`);
    seen.add(name.toLowerCase());
    return exact;
  });
}

async function convertToParquet(
  engine: FileEngine,
  source: Source,
  relation: string,
  columns: readonly string[],
  parquetFile: string,
  sink: ProgressSink,
): Promise<number> {
  const report = throttled(sink, 'converting', source.size);
  report(0);
  const select = columns.map(sqlIdentifier).join(', ');
  // USE_TMP_FILE false: DuckDB writes into the file it is given instead of a temporary one renamed
  // over it, which a nameless /proc/self/fd/<n> file could not be.
  const copy = `COPY (SELECT ${select} FROM ${relation}) TO ${sqlString(parquetFile)} (FORMAT parquet, COMPRESSION zstd, USE_TMP_FILE false)`;
  // DuckDB's progress is a percentage of the source read; shown as bytes of the source.
  const poll = setInterval(() => {
    try {
      const { percentage } = engine.connection.progress;
      if (percentage > 0) report(Math.min(source.size - 1, Math.floor((percentage / 100) * source.size)));
    } catch {
      // Progress is a courtesy: a failed poll must never become an uncaught error in the worker.
    }
  }, progressIntervalMs);
  let rows: unknown[][];
  try {
    rows = (await engine.connection.runAndReadAll(copy)).getRowsJson();
  } catch (error) {
    throw new CleanroomError('FILE_ERROR', describeSourceError(source, messageOf(error)));
  } finally {
    clearInterval(poll);
  }
  report(source.size);
  const count = Number(rows[0]?.[0]);
  if (!Number.isSafeInteger(count) || count < 0) throw new CleanroomError('INTERNAL', 'import failed: DuckDB reported no row count');
  return count;
}

export async function importTable(limits: EngineLimits, request: ImportTableRequest, sink: ProgressSink): Promise<ImportTableResult> {
  const outFile = requireAbsolute(request.outFile, 'outFile');
  const ramDir = requireAbsolute(request.ramDir, 'ramDir');
  const key = decodeDataKey(request.dataKey);
  try {
    const source = await openSource(request.source, request.format);
    // A fresh file: DuckDB must never overwrite (or be handed) anything that was already there.
    const parquet = await createPrivateFile(ramDir, 'table');
    try {
      let rowCount: number;
      const engine = await openFileEngine(limits, { files: [source.file, parquet.path] });
      try {
        const schema = await readSchema(engine, source);
        const columns = selectColumns(source, schema.columns, request.columns);
        rowCount = await convertToParquet(engine, source, schema.relation, columns, parquet.path, sink);
      } catch (error) {
        // A file still being written fails in DuckDB's words (a torn last line) or not at all: say why.
        if (await sourceChanged(source)) throw changedWhileRead(source);
        throw error;
      } finally {
        // Release DuckDB's memory before encrypting.
        engine.close();
      }
      // Rows appended while DuckDB read would be silently cut off, or half a line kept.
      if (await sourceChanged(source)) throw changedWhileRead(source);
      if (rowCount === 0) refuse(source, 'it has no rows');
      const reader = await parquet.reader();
      const report = throttled(sink, 'encrypting', reader.size);
      report(0);
      const payload = await encryptToPayloadFile({
        key,
        plaintextLength: reader.size,
        read: reader.read,
        outFile,
        chunkSize: payloadChunkSize,
        onProgress: report,
        changedMessage: `Cannot import ${source.name}: the converted table changed while it was encrypted.`,
      });
      return { kind: 'importTable', rowCount, ...payload };
    } finally {
      await parquet.close();
    }
  } finally {
    wipe(key);
  }
}
