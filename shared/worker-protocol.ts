// The message protocol between core (the host) and the DuckDB worker process.
// Host → worker: requests, each with a numeric `id` and a `kind`.
// Worker → host: `ready` once (unsolicited, after DuckDB is open and locked down), then exactly one
// `result` or `error` per request id, optionally preceded by `progress` messages for that id. Both sides validate every message they receive with the
// schemas below, so a bug or a compromised peer produces a refusal, never a crash or a guess.

import { assetNameSchema, columnRoles, sourceFormats } from './asset.js';
import { errorCodes } from './errors.js';
import { hashHexSchema } from './primitives.js';
import {
  array,
  boolean,
  type Infer,
  nullable,
  integer,
  object,
  oneOf,
  optional,
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

/** Longest file path the worker accepts; whether it is absolute is checked by the worker (Node's path rules). */
export const maxPathLength = 4096;
/** Most columns a table may have (the asset descriptor's limit). */
export const maxTableColumns = 2000;
/** Longest column name (the asset descriptor's limit). */
export const maxColumnNameLength = 255;
/** Plaintext bytes per secretstream chunk of a payload the worker writes. */
export const payloadChunkSize = 1024 * 1024;
/** Largest scored CSV a `score` result may carry as text. */
export const maxScoredCsvBytes = 50_000_000;

const filePath = string({ min: 1, max: maxPathLength });
/** A 32-byte secretstream key, base64url without padding. */
const dataKeySchema = string({ min: 43, max: 43, pattern: /^[A-Za-z0-9_-]+$/, patternMessage: 'dataKey must be 32 bytes, base64url' });

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

/** One table a run reads: its encrypted payload, key, and the owner's column roles. */
export const runTableSchema = object({
  /** The asset name: the name cells use in SQL. */
  name: assetNameSchema,
  /** The encrypted payload in the vault (core checked its hash against the snapshot). */
  payloadFile: filePath,
  /** Plaintext bytes per secretstream chunk, from the descriptor. */
  chunkSize: integer({ min: 64, max: 16 * 1024 * 1024 }),
  dataKey: dataKeySchema,
  /** Every column of the table, in order, with its role. */
  columns: array(object({ name: string({ min: 1, max: maxColumnNameLength }), role: oneOf(columnRoles) }), { min: 1, max: maxTableColumns }),
  allowMinMax: boolean(),
});
export type RunTable = Infer<typeof runTableSchema>;

/**
 * One volume a run's notebook names with `-- library NAME`: its `*.sql` files hold macros
 * (`CREATE MACRO name(a, b) AS expression;`) that the worker expands into each cell's tree before
 * the policy sees it. Its content never leaves the worker (not in failures either).
 */
export const runVolumeSchema = object({
  name: assetNameSchema,
  payloadFile: filePath,
  chunkSize: integer({ min: 64, max: 16 * 1024 * 1024 }),
  dataKey: dataKeySchema,
});
export type RunVolume = Infer<typeof runVolumeSchema>;

export const runCellSchema = object({
  /** 0-based position in the notebook; failures name it 1-based. */
  index: integer({ min: 0, max: 499 }),
  kind: oneOf(['sql', 'markdown', 'train']),
  source: string({ min: 0, max: 200_000 }),
  /** The output table the cell makes; SQL cells without one make `cell_<index+1>`. */
  output: nullable(assetNameSchema),
  options: array(object({ key: string({ min: 1, max: 40 }), value: string({ min: 0, max: 1000 }) }), { max: 40 }),
});
export type RunCell = Infer<typeof runCellSchema>;

// Differencing (aggregate mode): core sends the room's ledger of released contributor sets, and the
// run answers with the sets it released (shared/policy/differencing.ts, shared/policy/sketch.ts).
/** Most ledger sets one run request may carry; core fails an aggregate run rather than send more. */
export const maxLedgerSets = 100_000;
/** Most sets one run may release; a worker that would release more must fail the run instead. */
export const maxReleasedSets = 100_000;
/**
 * Longest sketch text (base64url of encodeSketch: at most about 18 bytes a cell, 3 · 2k cells):
 * room for k up to about 7,000. A ledger of 5,000 sketches at k ≤ 16 is about 12 MB.
 */
export const maxSketchTextLength = 1_000_000;
/** A family name as the worker gives it; core prefixes earlier runs' families with the run id. */
export const maxFamilyLength = 200;
const sketchTextSchema = string({ min: 4, max: maxSketchTextLength, pattern: /^[A-Za-z0-9_-]+$/, patternMessage: 'sketch must be base64url' });
/** One released contributor set: the people of `table` behind one term, as a sketch (encodeSketch, base64url). */
export const releasedSetSchema = object({
  table: assetNameSchema,
  /** The term column of the output branch whose parts this set is one of. */
  family: string({ min: 1, max: maxFamilyLength }),
  sketch: sketchTextSchema,
});
export type ReleasedSetText = Infer<typeof releasedSetSchema>;
export const runDifferencingSchema = object({
  /** The room's secret salt for person ids (32 bytes, base64url): the same person has the same id in every run of the room. */
  salt: string({ min: 43, max: 43, pattern: /^[A-Za-z0-9_-]+$/, patternMessage: 'salt must be 32 bytes, base64url' }),
  /** Every set earlier runs of the room released in this home; families are `<run id>/<family>`. */
  sets: array(object({ table: assetNameSchema, family: string({ min: 1, max: 65 + maxFamilyLength }), sketch: sketchTextSchema }), { max: maxLedgerSets }),
});
export type RunDifferencing = Infer<typeof runDifferencingSchema>;

const requestSchemas = {
  /** Proves the worker is alive and reports the engine version (recorded in run receipts). */
  handshake: object({ id: requestId }),
  /** Runs trusted SQL written by core itself (e.g. schema inference). Never notebook code. */
  query: object({ id: requestId, sql: string({ min: 1, max: maxSqlLength }) }),
  /**
   * Reads a source file's schema with a separate, short-lived DuckDB that may open only that file.
   * The format comes from the extension (.csv/.tsv/.txt, .parquet, .json/.ndjson/.jsonl) unless given.
   */
  inspect: object({ id: requestId, path: filePath, format: optional(oneOf(sourceFormats)) }),
  /**
   * Converts a source file to Parquet (zstd) in `ramDir` (core's private RAM-backed folder for the
   * job), encrypts that into `outFile` (a `.partial` name in the vault, which must not exist) under
   * `dataKey`, fsyncs it and deletes the plaintext. `columns` are the names to keep, in order.
   * Sends `progress` messages (phases converting, encrypting).
   */
  importTable: object({
    id: requestId,
    source: filePath,
    format: oneOf(sourceFormats),
    columns: array(string({ min: 1, max: maxColumnNameLength }), { min: 1, max: maxTableColumns }),
    dataKey: dataKeySchema,
    outFile: filePath,
    ramDir: filePath,
  }),
  /**
   * Packs a file or a folder into a volume archive (see electron/worker/volume.ts) and encrypts it
   * into `outFile` like importTable. The archive is streamed straight into the encryptor, so no
   * plaintext copy is written anywhere; `ramDir` is accepted for symmetry and unused.
   */
  packVolume: object({ id: requestId, source: filePath, dataKey: dataKeySchema, outFile: filePath, ramDir: optional(filePath) }),
  /**
   * Runs an approved snapshot's cells (see electron/worker/run.ts). Core has already verified the
   * snapshot, the approvals and every payload's hash, and unsealed the keys. The worker decrypts
   * each table's payload into `runDir` (core's private RAM-backed folder for this run), opens a
   * per-run DuckDB that may read only those files, locks it down, checks every cell against the
   * policy on DuckDB's syntax tree, runs it, applies k-suppression (aggregate mode), and deletes
   * the plaintext before answering. Sends `progress` (phases decrypting, running).
   * A failure of the notebook's code is a `run` result with `failure` set, never DuckDB's text.
   */
  run: object({
    id: requestId,
    runDir: filePath,
    tables: array(runTableSchema, { max: 200 }),
    /** The notebook's libraries, in `-- library` order; absent when it names none. */
    volumes: optional(array(runVolumeSchema, { max: 20 })),
    /** `-- parameter NAME = VALUE` of the notebook: set as DuckDB variables (getvariable('NAME')). */
    parameters: array(object({ name: assetNameSchema, value: string({ min: 1, max: 1000 }) }), { max: 100 }),
    cells: array(runCellSchema, { min: 1, max: 500 }),
    policy: object({ mode: oneOf(['aggregate', 'reviewed']), minGroupSize: integer({ min: 2, max: 1_000_000 }) }),
    /** Most rows one output may have; a larger result fails the run (class OutputTooLarge). */
    maxOutputRows: integer({ min: 1, max: 1_000_000 }),
    /** DuckDB memory_limit for this run, e.g. `2GB`; the worker's own limit when absent. */
    memoryLimit: optional(string({ min: 2, max: 20, pattern: /^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i })),
    /** Aggregate mode: the room's differencing ledger; absent in reviewed mode. */
    differencing: optional(runDifferencingSchema),
  }),
  /**
   * Reads a library volume's macros for its own owner's `notebook.check` (shared/library.ts). The
   * answer carries the macro bodies as syntax trees, so core sends it only for volumes this home
   * owns; at run time the worker loads libraries itself and nothing of them comes back.
   */
  readLibrary: object({ id: requestId, name: assetNameSchema, payloadFile: filePath, chunkSize: integer({ min: 64, max: 16 * 1024 * 1024 }), dataKey: dataKeySchema }),
  /**
   * Scores a local file (CSV, Parquet, JSON) with a model document (shared/model.ts): a short-lived
   * DuckDB that may read only `source` reads it, and the worker writes `outFile` (which must not
   * exist) as CSV: the file's columns, then `prediction` (and `predicted_label` for logistic).
   * Without `outFile`, the CSV comes back in the result as `csv` if it is at most `maxCsvBytes`
   * (UTF-8), so no plaintext copy is ever written to be read back. Sends `progress` (phase scoring, rows).
   */
  score: object({
    id: requestId,
    /** The model document's JSON text. */
    model: string({ min: 2, max: 5_000_000 }),
    source: filePath,
    format: optional(oneOf(sourceFormats)),
    outFile: optional(filePath),
    maxCsvBytes: optional(integer({ min: 1, max: maxScoredCsvBytes })),
  }),
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

const payloadFields = {
  /** BLAKE2b-256 of the encrypted file, hex. */
  payloadHash: hashHexSchema,
  /** Bytes of the encrypted file. */
  payloadSize: integer({ min: 1 }),
  /** Plaintext bytes per secretstream chunk. */
  chunkSize: integer({ min: 64, max: 16 * 1024 * 1024 }),
};

/** An output as it leaves the worker: every value as DuckDB's text for it (CAST … AS VARCHAR) or null. */
export const runOutputSchema = refine(
  object({
    name: assetNameSchema,
    /** 0-based index of the cell that made it. */
    cell: integer({ min: 0, max: 499 }),
    columns: array(queryColumnSchema, { min: 1, max: maxQueryColumns }),
    rows: array(array(nullable(string({ max: 1_000_000 })), { max: maxQueryColumns }), { max: 1_000_000 }),
    /** Rows removed because a protected table had fewer than k distinct privacy units behind them. */
    suppressedRows: integer({ min: 0 }),
  }),
  (output) => {
    const width = output.columns.length;
    const bad = output.rows.findIndex((row) => row.length !== width);
    return bad === -1 ? null : `rows[${bad}] must have ${width} values, one per column`;
  },
);
export type RunOutput = Infer<typeof runOutputSchema>;

/** Why the notebook's code failed: a class and a cell, and a reason only for policy refusals. */
export const runFailureSchema = object({
  /** PolicyRefused, OutputTooLarge, OutOfMemory, or DuckDB's class without spaces (ConversionError…). */
  class: string({ min: 1, max: 64, pattern: /^[A-Za-z][A-Za-z0-9_]*$/ }),
  /** 0-based cell index; null when not in a cell (e.g. decrypting). */
  cell: nullable(integer({ min: 0, max: 499 })),
  /** The policy's reasons (they name columns and functions, never values); empty for other classes. */
  reasons: array(string({ min: 1, max: 500 }), { max: 50 }),
});
export type RunFailure = Infer<typeof runFailureSchema>;

export const volumeFileSchema = object({ path: string({ min: 1, max: 1024 }), size: integer({ min: 0 }) });
export type VolumeFile = Infer<typeof volumeFileSchema>;

export const workerResultSchema = variants('kind', {
  handshake: object({
    /** DuckDB's own version string, e.g. `v1.5.6`. */
    duckdbVersion: string({ min: 1, max: 200 }),
    pid: processId,
  }),
  query: queryResultSchema,
  inspect: object({
    format: oneOf(sourceFormats),
    columns: array(queryColumnSchema, { min: 1, max: maxTableColumns }),
    /** Bytes of the source file. */
    size: integer({ min: 0 }),
  }),
  importTable: object({ rowCount: integer({ min: 0 }), ...payloadFields }),
  packVolume: object({ files: array(volumeFileSchema, { min: 1, max: 10_000 }), ...payloadFields }),
  readLibrary: object({
    /** Each macro: name, parameter names, and the body's syntax tree (json_serialize_sql of `SELECT (body)`) as JSON text. */
    macros: array(object({ name: string({ min: 1, max: 255 }), parameters: array(string({ min: 1, max: 255 }), { max: 100 }), body: string({ min: 2, max: 2_000_000 }) }), { max: 10_000 }),
    /** Why parts of the library cannot be used ("macros.sql, statement 3: …"); for the owner's eyes only. */
    problems: array(string({ min: 1, max: 500 }), { max: 100 }),
  }),
  score: object({
    /** The CSV when it was asked for (no outFile) and within maxCsvBytes. */
    csv: optional(string({ max: maxScoredCsvBytes })),
    /** The CSV's size in bytes (UTF-8), written or not. */
    csvBytes: optional(integer({ min: 0 })),
    /** The output file's columns, in order. */
    columns: array(string({ min: 1, max: maxColumnNameLength + 20 }), { min: 1, max: maxTableColumns + 2 }),
    rows: integer({ min: 0 }),
    /** Rows with a prediction (the others lacked a feature value). */
    scored: integer({ min: 0 }),
  }),
  run: object({
    /** Outputs in cell order; empty when the run failed. */
    outputs: array(runOutputSchema, { max: 500 }),
    failure: nullable(runFailureSchema),
    /** Aggregate mode: every contributor set whose values left the worker in `outputs`, in release order; core stores them in the ledger with the outputs. */
    released: optional(array(releasedSetSchema, { max: maxReleasedSets })),
  }),
});
export type WorkerResult = Infer<typeof workerResultSchema>;
/** The result that answers a request of kind K. */
export type WorkerResultFor<K extends WorkerRequestKind> = Extract<WorkerResult, { kind: K }>;
export type HandshakeResult = WorkerResultFor<'handshake'>;
export type QueryResult = WorkerResultFor<'query'>;
export type QueryColumn = Infer<typeof queryColumnSchema>;
export type InspectResult = WorkerResultFor<'inspect'>;
export type ImportTableResult = WorkerResultFor<'importTable'>;
export type PackVolumeResult = WorkerResultFor<'packVolume'>;
export type RunResult = WorkerResultFor<'run'>;
export type ReadLibraryResult = WorkerResultFor<'readLibrary'>;
export type ScoreResult = WorkerResultFor<'score'>;

// ---------------------------------------------------------------------------------------------
// Messages: worker → host.

export const workerMessageSchema = variants('kind', {
  /** Sent once, unsolicited, when DuckDB is open and locked down; the host sends nothing before it. */
  ready: object({ pid: processId }),
  /** Work done so far on a long request (bytes); `done` never decreases within a phase. */
  progress: object({
    id: requestId,
    phase: oneOf(['converting', 'encrypting', 'decrypting', 'running', 'training', 'scoring']),
    done: integer({ min: 0 }),
    total: integer({ min: 0 }),
  }),
  result: object({ id: requestId, result: workerResultSchema }),
  error: object({ id: requestId, code: oneOf(errorCodes), message: string({ min: 1, max: 1_000 }) }),
});
export type WorkerMessage = Infer<typeof workerMessageSchema>;
export type WorkerErrorMessage = Extract<WorkerMessage, { kind: 'error' }>;
export type WorkerProgressMessage = Extract<WorkerMessage, { kind: 'progress' }>;
/** What a progress listener is told. */
export type WorkerProgress = Omit<WorkerProgressMessage, 'kind' | 'id'>;

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
