// Loading a run's library volumes: decrypt in memory, unpack, parse each macro with DuckDB.
// Library content is private to its owner: it is decrypted into memory only (never a file), and
// nothing of it leaves this file on a run — loadLibraries throws without saying why and run.ts
// reports only the class LibraryUnreadable. readLibrary (the owner's own check) gives the
// problems and bodies, and core asks it only for volumes its own home owns.
import path from 'node:path';
import { type DuckDBConnection } from '@duckdb/node-api';
import { fromBase64Url, wipe } from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';
import { parseSqlTree } from '../../shared/policy/tree.js';
import {
  bodySelectSql,
  checkLibrary,
  type LibraryStatement,
  type MacroDefinition,
  macroFromTree,
  parseLibraryFile,
} from '../../shared/library.js';
import { type ReadLibraryResult, type RunVolume, type WorkerRequest } from '../../shared/worker-protocol.js';
import { type EngineLimits, openFileEngine } from './file-engine.js';
import { decryptPayloadFile } from './payload-stream.js';
import { unpackVolumeArchive } from './volume.js';

export interface LoadedLibrary {
  /** Every macro of every library, by lower-case name. */
  readonly macros: ReadonlyMap<string, MacroDefinition>;
}

/** Most plaintext bytes one library volume may hold: it is decrypted into memory whole. */
export const maxLibraryBytes = 32 * 1024 * 1024;
/** Most problems readLibrary reports (the protocol's limit). */
const maxProblems = 100;

type ReadLibraryRequest = Extract<WorkerRequest, { kind: 'readLibrary' }>;

/** A volume's archive, decrypted into memory (never a file). The caller wipes it. */
async function decryptVolume(volume: RunVolume): Promise<Uint8Array> {
  if (!path.isAbsolute(volume.payloadFile)) throw new CleanroomError('BAD_REQUEST', 'payloadFile must be an absolute path');
  const key = fromBase64Url(volume.dataKey);
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    if (key.length !== 32) throw new CleanroomError('BAD_REQUEST', 'dataKey must be 32 bytes');
    await decryptPayloadFile(volume.payloadFile, {
      key,
      chunkSize: volume.chunkSize,
      onChunk: (plaintext) => {
        total += plaintext.length;
        if (total > maxLibraryBytes) throw new CleanroomError('FILE_ERROR', `Library ${volume.name} is larger than ${maxLibraryBytes / (1024 * 1024)} MiB.`);
        // The decryptor may reuse its buffer: keep a copy.
        chunks.push(Uint8Array.from(plaintext));
      },
    });
    const archive = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      archive.set(chunk, offset);
      offset += chunk.length;
    }
    return archive;
  } finally {
    wipe(key);
    for (const chunk of chunks) wipe(chunk);
  }
}

/** The statements of every `*.sql` file of a volume, and the problems of its files. */
async function statementsOf(volume: RunVolume): Promise<{ statements: LibraryStatement[]; problems: string[] }> {
  const archive = await decryptVolume(volume);
  try {
    const files = unpackVolumeArchive(archive).filter((file) => file.path.toLowerCase().endsWith('.sql'));
    const statements: LibraryStatement[] = [];
    const problems: string[] = [];
    if (files.length === 0) problems.push(`library ${volume.name} has no .sql file`);
    const decoder = new TextDecoder('utf-8', { fatal: true });
    for (const file of files) {
      let text: string;
      try {
        text = decoder.decode(file.bytes);
      } catch {
        problems.push(`${file.path}: the file is not UTF-8 text`);
        continue;
      }
      const parsed = parseLibraryFile(file.path, text.startsWith('\uFEFF') ? text.slice(1) : text);
      statements.push(...parsed.statements);
      problems.push(...parsed.problems);
    }
    return { statements, problems };
  } finally {
    wipe(archive);
  }
}

interface ParsedMacro {
  readonly macro: MacroDefinition;
  readonly position: string;
  /** json_serialize_sql's text for `SELECT (body)`: what readLibrary hands back. */
  readonly treeText: string;
}

/** Each statement's body as DuckDB parses it; only parsed, never run. */
async function parseBodies(connection: DuckDBConnection, statements: readonly LibraryStatement[]): Promise<{ parsed: ParsedMacro[]; problems: string[] }> {
  const parsed: ParsedMacro[] = [];
  const problems: string[] = [];
  for (const statement of statements) {
    const reader = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [bodySelectSql(statement)]);
    const treeText = reader.getRows()[0]?.[0];
    if (typeof treeText !== 'string') throw new CleanroomError('INTERNAL', 'DuckDB gave no syntax tree');
    const tree = parseSqlTree(treeText);
    const isParseError = typeof tree === 'object' && tree !== null && (tree as { error?: unknown }).error === true;
    const checked = macroFromTree(statement, tree);
    if (checked.ok) parsed.push({ macro: checked.macro, position: statement.position, treeText });
    else problems.push(`${statement.position}: ${isParseError ? `macro ${statement.name}: the body does not parse as a SQL expression` : checked.reason}`);
  }
  return { parsed, problems };
}

/** DuckDB's own function names (lower-case): a macro may not take one. */
async function builtinNames(connection: DuckDBConnection): Promise<Set<string>> {
  const reader = await connection.runAndReadAll('SELECT DISTINCT lower(function_name) FROM duckdb_functions()');
  return new Set(reader.getRows().map((row) => String(row[0])));
}

/** Every usable macro of `volumes` together, with the problems of the rest. */
async function readVolumes(connection: DuckDBConnection, volumes: readonly RunVolume[]): Promise<{ parsed: ParsedMacro[]; problems: string[] }> {
  const statements: LibraryStatement[] = [];
  const problems: string[] = [];
  const prefixed = volumes.length > 1;
  for (const volume of volumes) {
    const found = await statementsOf(volume);
    // With several libraries, positions say which one.
    statements.push(...found.statements.map((statement) => (prefixed ? { ...statement, position: `${volume.name}/${statement.position}` } : statement)));
    problems.push(...found.problems.map((problem) => (prefixed ? `${volume.name}/${problem}` : problem)));
  }
  const bodies = await parseBodies(connection, statements);
  problems.push(...bodies.problems);
  const checked = checkLibrary(bodies.parsed, await builtinNames(connection));
  problems.push(...checked.problems);
  return { parsed: bodies.parsed.filter((entry) => checked.macros.get(entry.macro.name) === entry.macro), problems };
}

/** The macros of a run's volumes; throws on anything unreadable (the run reports only a class). */
export async function loadLibraries(connection: DuckDBConnection, volumes: readonly RunVolume[]): Promise<LoadedLibrary> {
  if (volumes.length === 0) return { macros: new Map() };
  const names = new Set<string>();
  for (const volume of volumes) {
    if (names.has(volume.name)) throw new CleanroomError('BAD_REQUEST', `library ${volume.name} is listed twice`);
    names.add(volume.name);
  }
  const { parsed, problems } = await readVolumes(connection, volumes);
  // The approved library must be usable whole; why not is for its owner's check, not the runner.
  if (problems.length > 0) throw new CleanroomError('BAD_REQUEST', 'a library has problems');
  return { macros: new Map(parsed.map((entry) => [entry.macro.name, entry.macro])) };
}

/** The `readLibrary` request: one volume's macros as trees, and its problems, for its owner. */
export async function readLibrary(limits: EngineLimits, request: ReadLibraryRequest): Promise<ReadLibraryResult> {
  const engine = await openFileEngine(limits, { files: [] });
  try {
    const volume: RunVolume = { name: request.name, payloadFile: request.payloadFile, chunkSize: request.chunkSize, dataKey: request.dataKey };
    let read: { parsed: ParsedMacro[]; problems: string[] };
    try {
      read = await readVolumes(engine.connection, [volume]);
    } catch (error) {
      if (error instanceof CleanroomError && error.code === 'FILE_ERROR') {
        throw new CleanroomError('FILE_ERROR', `Library ${request.name} cannot be read: ${error.message.replace(/^The /, 'the ').replace(/\.$/, '')}.`);
      }
      throw error;
    }
    return {
      kind: 'readLibrary',
      macros: read.parsed.map((entry) => ({ name: entry.macro.name, parameters: [...entry.macro.parameters], body: entry.treeText })),
      problems: read.problems.slice(0, maxProblems).map((problem) => problem.slice(0, 500)),
    };
  } finally {
    engine.close();
  }
}
