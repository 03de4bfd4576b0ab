// What every kind of cell in a run shares (run.ts runs SQL cells, train-cell.ts train cells): how
// a cell fails (a class and a cell, never DuckDB's text), the per-run context, and small readers
// over the run's DuckDB connection.
import { type DuckDBConnection } from '@duckdb/node-api';
import { CleanroomError } from '../../shared/errors.js';
import { reservedPrefix } from '../../shared/policy/tree.js';
import { type PolicyTable } from '../../shared/policy.js';
import { duckdbErrorClass, type RunFailure, type WorkerRequest } from '../../shared/worker-protocol.js';

export type RunRequest = Extract<WorkerRequest, { kind: 'run' }>;

/** Most reasons one policy refusal reports. */
const maxReasons = 50;

/**
 * What a refusal says when the cell called a library macro: the library is private, and the
 * policy's reasons could name what is inside it.
 */
export const privateLibraryRefusal = 'a macro from a private library makes this cell break the room\'s policy (the library is private, so the reason is not shown; its owner can see it with notebook check)';

/** A failure of the notebook's code: ends the run with a class and a cell, never a message. */
export class CellFailure extends Error {
  constructor(readonly failure: RunFailure) {
    super(failure.class);
  }
}

export function fail(failureClass: string, cell: number | null, reasons: string[] = []): never {
  throw new CellFailure({ class: failureClass, cell, reasons: reasons.slice(0, maxReasons).map((reason) => reason.slice(0, 500)) });
}

/** DuckDB's error class without spaces (ConversionError, OutOfMemoryError…), from its fixed list only. */
export function failureClassOf(error: unknown): string {
  const found = duckdbErrorClass(error instanceof Error ? error.message : '');
  if (found === null) return 'QueryError';
  return found
    .split(' ')
    .map((word) => (word === '' ? '' : `${(word[0] as string).toUpperCase()}${word.slice(1)}`))
    .join('');
}

/** Runs `work`; any failure that is not already a CellFailure becomes DuckDB's class at `cell`. */
export async function inCell<T>(cell: number, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof CellFailure) throw error;
    return fail(failureClassOf(error), cell);
  }
}

export async function scalarText(connection: DuckDBConnection, sql: string, values: string[]): Promise<string> {
  const reader = await connection.runAndReadAll(sql, values);
  const value = reader.getRows()[0]?.[0];
  if (typeof value !== 'string') throw new CleanroomError('INTERNAL', 'DuckDB gave no text');
  return value;
}

export async function columnsOf(connection: DuckDBConnection, relation: string): Promise<{ name: string; type: string }[]> {
  const reader = await connection.runAndReadAll(`DESCRIBE ${relation}`);
  return reader.getRowsJson().map((row) => ({ name: String(row[0]), type: String(row[1]) }));
}

export async function countRows(connection: DuckDBConnection, sql: string): Promise<number> {
  const value = (await connection.runAndReadAll(sql)).getRowsJson()[0]?.[0];
  const count = Number(value);
  if (!Number.isSafeInteger(count) || count < 0) throw new CleanroomError('INTERNAL', 'DuckDB gave no row count');
  return count;
}

/** A cell's syntax tree, with the notebook's library macros expanded into it. */
export interface ParsedCell {
  readonly tree: unknown;
  /** Whether a library macro was expanded: refusals must then not give the policy's reasons. */
  readonly usesLibrary: boolean;
}

export interface CellContext {
  readonly connection: DuckDBConnection;
  readonly request: RunRequest;
  /** Every column with its role, hidden ones too (the policy refuses them by name). */
  readonly policyTables: readonly PolicyTable[];
  readonly tableNames: ReadonlySet<string>;
  /** Output tables of earlier SQL cells: later cells may read them. */
  readonly outputs: Set<string>;
  /** Every output name made so far, models included (a model is not a table cells can read). */
  readonly madeNames: Set<string>;
  /**
   * DuckDB's tree of a cell's text with library macros expanded. Fails the cell with ParserError
   * for a syntax error, PolicyRefused for a macro misuse; not yet checked against the policy.
   */
  parseCell(index: number, source: string): Promise<ParsedCell>;
  /** DuckDB's own SQL for a (checked) tree: what runs is what was checked. */
  render(tree: unknown): Promise<string>;
}

/** Refuses an output (table or model) name that is reserved, a room table's, or an earlier cell's. */
export function checkOutputName(context: CellContext, index: number, name: string): void {
  if (name.startsWith(reservedPrefix)) fail('PolicyRefused', index, [`output names starting with ${reservedPrefix} are reserved`]);
  if (context.tableNames.has(name)) fail('PolicyRefused', index, [`its output ${name} has the name of a table in this room`]);
  if (context.madeNames.has(name)) fail('PolicyRefused', index, [`its output ${name} is already made by an earlier cell`]);
}

/** The reasons a refusal gives: the policy's own, unless a private library's macro is in the cell. */
export function refusalReasons(parsed: ParsedCell, reasons: readonly string[]): string[] {
  return parsed.usesLibrary ? [privateLibraryRefusal] : [...reasons];
}
