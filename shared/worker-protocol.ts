// The message protocol between core (the host) and the DuckDB worker process.
// Host → worker: requests, each with a numeric `id` and a `kind`.
// Worker → host: `ready` once (unsolicited, after DuckDB is open and locked down), then exactly one
// `result` or `error` per request id. Both sides validate every message they receive with the
// schemas below, so a bug or a compromised peer produces a refusal, never a crash or a guess.

import { errorCodes } from './errors.js';
import {
  array,
  type Infer,
  integer,
  object,
  oneOf,
  parse,
  refine,
  type Schema,
  string,
  variants,
} from './validate.js';

/** Longest SQL text the worker accepts in one request. */
export const maxSqlLength = 1_000_000;
/** Most rows a `query` may return: it is for core's own small lookups (schemas, counts), not bulk data. */
export const maxQueryRows = 100_000;
export const maxQueryColumns = 10_000;
/** Nesting depth of LIST/STRUCT values beyond which a value is refused rather than walked. */
export const maxJsonDepth = 64;

const requestId = integer({ min: 1 });
const processId = integer({ min: 1 });

// ---------------------------------------------------------------------------------------------
// JSON-safe values: what DuckDB values become before they cross the process boundary.
// BIGINT/HUGEINT/DECIMAL become strings (no precision loss), DATE/TIMESTAMP become DuckDB's ISO 8601
// text (`2024-01-02`, `2024-01-02 03:04:05`), NaN/Infinity become strings, LIST → array,
// STRUCT → object. No BigInt, Date, Map or typed arrays.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function checkJson(value: unknown, path: string, depth: number): { ok: true } | { ok: false; path: string; message: string } {
  const where = path === '' ? 'value' : path;
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return { ok: true };
  if (typeof value === 'number') {
    return Number.isFinite(value) ? { ok: true } : { ok: false, path, message: `${where} must be a finite number` };
  }
  if (typeof value !== 'object') return { ok: false, path, message: `${where} must be a JSON value` };
  if (depth >= maxJsonDepth) return { ok: false, path, message: `${where} is nested too deeply` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const inner = checkJson(value[i], `${path}[${i}]`, depth + 1);
      if (!inner.ok) return inner;
    }
    return { ok: true };
  }
  if (!isPlainObject(value)) return { ok: false, path, message: `${where} must be a plain object` };
  for (const [key, inner] of Object.entries(value)) {
    const result = checkJson(inner, `${path}.${key}`, depth + 1);
    if (!result.ok) return result;
  }
  return { ok: true };
}

export function jsonValue(): Schema<JsonValue> {
  return {
    describe: 'JSON value',
    check(value, path) {
      const result = checkJson(value, path, 0);
      return result.ok
        ? { ok: true, value: value as JsonValue }
        : { ok: false, issue: { path: result.path, message: result.message } };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Requests: host → worker.

const requestSchemas = {
  /** Proves the worker is alive and reports the engine version (recorded in run receipts). */
  handshake: object({ id: requestId }),
  /** Runs trusted SQL written by core itself (e.g. schema inference). Never notebook code. */
  query: object({ id: requestId, sql: string({ min: 1, max: maxSqlLength }) }),
};

export const workerRequestSchema = variants('kind', requestSchemas);
export type WorkerRequest = Infer<typeof workerRequestSchema>;
export type WorkerRequestKind = WorkerRequest['kind'];

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A request as core writes it: the host assigns the id. */
export type WorkerRequestInput = DistributiveOmit<WorkerRequest, 'id'>;

// ---------------------------------------------------------------------------------------------
// Results: the payload of a `result` message, tagged with the kind of request it answers.

const queryColumnSchema = object({
  name: string({ max: 10_000 }),
  /** DuckDB's type name, e.g. `INTEGER`, `DECIMAL(4,2)`, `VARCHAR[]`. */
  type: string({ min: 1, max: 10_000 }),
});

const queryResultSchema = refine(
  object({
    columns: array(queryColumnSchema, { max: maxQueryColumns }),
    rows: array(array(jsonValue(), { max: maxQueryColumns }), { max: maxQueryRows }),
  }),
  (result) => {
    const width = result.columns.length;
    const bad = result.rows.findIndex((row) => row.length !== width);
    return bad === -1 ? null : `rows[${bad}] must have ${width} values, one per column`;
  },
);

export const workerResultSchema = variants('kind', {
  handshake: object({
    /** DuckDB's own version string, e.g. `v1.5.6`. */
    duckdbVersion: string({ min: 1, max: 200 }),
    pid: processId,
  }),
  query: queryResultSchema,
});
export type WorkerResult = Infer<typeof workerResultSchema>;
/** The result that answers a request of kind K. */
export type WorkerResultFor<K extends WorkerRequestKind> = Extract<WorkerResult, { kind: K }>;
export type HandshakeResult = WorkerResultFor<'handshake'>;
export type QueryResult = WorkerResultFor<'query'>;
export type QueryColumn = Infer<typeof queryColumnSchema>;

// ---------------------------------------------------------------------------------------------
// Messages: worker → host.

export const workerMessageSchema = variants('kind', {
  /** Sent once, unsolicited, when DuckDB is open and locked down; the host sends nothing before it. */
  ready: object({ pid: processId }),
  result: object({ id: requestId, result: workerResultSchema }),
  error: object({ id: requestId, code: oneOf(errorCodes), message: string({ min: 1, max: 1_000 }) }),
});
export type WorkerMessage = Infer<typeof workerMessageSchema>;
export type WorkerErrorMessage = Extract<WorkerMessage, { kind: 'error' }>;

export const parseWorkerRequest = (value: unknown) => parse(workerRequestSchema, value);
export const parseWorkerMessage = (value: unknown) => parse(workerMessageSchema, value);

/**
 * The id of a message that failed validation, if it has a usable one, so the worker can answer
 * it with BAD_REQUEST; a message without one is dropped (there is nobody to answer).
 */
export function requestIdOf(value: unknown): number | null {
  if (typeof value !== 'object' || value === null) return null;
  const id = (value as Record<string, unknown>)['id'];
  return requestId.check(id, 'id').ok ? (id as number) : null;
}

// ---------------------------------------------------------------------------------------------
// Error reduction: DuckDB's messages can quote row values (e.g. "Could not convert string
// 'alice@example.org' to INT32"), so only the error's class leaves the worker. The class is
// matched against DuckDB's fixed list of exception type names (Exception::ExceptionTypeToString)
// rather than cut from the text, so nothing data-derived can pass through.

const duckdbErrorTypes: ReadonlySet<string> = new Set([
  'Invalid', 'Out of Range', 'Conversion', 'Unknown Type', 'Decimal', 'Mismatch Type', 'Divide by Zero',
  'Object Size', 'Invalid type', 'Serialization', 'TransactionContext', 'Not implemented', 'Expression',
  'Catalog', 'Parser', 'Binder', 'Planner', 'Scheduler', 'Executor', 'Constraint', 'Index', 'Stat',
  'Connection', 'Syntax', 'Settings', 'Optimizer', 'NullPointer', 'IO', 'INTERRUPT', 'FATAL', 'INTERNAL',
  'Invalid Input', 'Out of Memory', 'Permission', 'Parameter Not Resolved', 'Parameter Not Allowed',
  'Dependency', 'Missing Extension', 'HTTP', 'Extension Autoloading', 'Sequence', 'Invalid Configuration',
  'Unknown',
]);

/** DuckDB's error class (`Binder Error`, `Permission Error`…) from its message, or null. */
export function duckdbErrorClass(message: string): string | null {
  const match = /^([A-Za-z ]{1,40}) Error:/.exec(message);
  const type = match?.[1];
  return type !== undefined && duckdbErrorTypes.has(type) ? `${type} Error` : null;
}

/** The only text about a failed query that leaves the worker: "query failed: Binder Error". */
export function describeQueryFailure(message: string): string {
  const errorClass = duckdbErrorClass(message);
  return errorClass === null ? 'query failed' : `query failed: ${errorClass}`;
}
