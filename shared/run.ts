// Runs and their outputs: the feed entries that record them for the whole room, and the views core
// returns to hosts. Pure types and validators; core (electron/core/runs.ts) makes them.
import { assetNameSchema } from './asset.js';
import { aliasSchema } from './identity.js';
import { hashHexSchema, signPublicKeySchema, timestampSchema } from './primitives.js';
import { maxInterruptedAttempts, receiptAttemptSchema, signedReceiptSchema } from './receipt.js';
import { array, boolean, type Infer, integer, nullable, object, oneOf, string } from './validate.js';

export const defaultMaxOutputRows = 1_000_000;

/** A column of an output table: its name and DuckDB type name (`BIGINT`, `DOUBLE`, `VARCHAR`…). */
export const outputColumnSchema = object({ name: string({ min: 1, max: 255 }), type: string({ min: 1, max: 200 }) });
export type OutputColumnView = Infer<typeof outputColumnSchema>;

// ---- Entries ------------------------------------------------------------------------------------

/**
 * `run.finished`: the runner's record, for the whole room, that a run ended: its id and signed
 * receipt (status, outputs' hashes, rows suppressed, approvals used). Every member counts runs
 * against approvals from these entries; the outputs themselves are not in it.
 */
export const runFinishedSchema = object({
  /** The run's id: 64 random hex digits chosen when it started. */
  run: hashHexSchema,
  receipt: signedReceiptSchema,
});

/**
 * `output.released`: the runner shares a run's outputs with the snapshot's recipients. The tables
 * travel as one encrypted payload (canonical JSON of the OutputTable of each output, secretstream
 * under a fresh key) in a packet; the key is sealed to each recipient's box key here.
 */
export const outputReleasedSchema = object({
  run: hashHexSchema,
  snapshot: hashHexSchema,
  /** Each released output with its outputTableHash: must match the run's receipt. */
  outputs: array(object({ name: assetNameSchema, hash: hashHexSchema, rows: integer({ min: 0 }) }), { min: 1, max: 500 }),
  recipients: array(signPublicKeySchema, { min: 1, max: 10 }),
  payload: object({
    hash: hashHexSchema,
    size: integer({ min: 1 }),
    chunkSize: integer({ min: 64, max: 16 * 1024 * 1024 }),
  }),
  /** The payload key sealed (crypto_box_seal) to each recipient's box key, base64url. */
  keys: array(object({ recipient: signPublicKeySchema, sealedKey: string({ min: 1, max: 400 }) }), { min: 1, max: 10 }),
});
export type OutputRelease = Infer<typeof outputReleasedSchema>;

// ---- Views --------------------------------------------------------------------------------------

export const runStates = ['running', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export type RunState = (typeof runStates)[number];

export const runViewSchema = object({
  id: hashHexSchema,
  room: hashHexSchema,
  snapshot: hashHexSchema,
  snapshotName: string({ min: 1, max: 100 }),
  runner: aliasSchema,
  runnerKey: signPublicKeySchema,
  /**
   * interrupted: the app stopped mid-run (crash, power loss) before anything came out of it; it used
   * no run of its approvals, and the next receipt of its snapshot lists it.
   */
  status: oneOf(runStates),
  startedAt: timestampSchema,
  finishedAt: nullable(timestampSchema),
  /** Rows suppressed across all outputs (groups below k): how many, never which. */
  suppressedRows: integer({ min: 0 }),
  outputs: array(object({ name: assetNameSchema, rows: integer({ min: 0 }), suppressedRows: integer({ min: 0 }), hash: hashHexSchema })),
  /** Why it failed: error class, 1-based cell (null: outside any cell), policy reasons. */
  failure: nullable(
    object({
      class: string({ min: 1, max: 64 }),
      cell: nullable(integer({ min: 1, max: 500 })),
      reasons: array(string({ min: 1, max: 500 })),
    }),
  ),
  /** Whether the runner has released the outputs to the snapshot's recipients. */
  released: boolean(),
  /** Runs of this home (I am the runner); others' runs are known from their run.finished entries. */
  isMine: boolean(),
  hasReceipt: boolean(),
  /** Attempts of the snapshot interrupted before this run, as its receipt lists them; usually none. */
  interruptedAttempts: array(receiptAttemptSchema, { max: maxInterruptedAttempts }),
  /** An interrupted run of mine: the run whose receipt lists it, once one does. */
  listedIn: nullable(hashHexSchema),
});
export type RunView = Infer<typeof runViewSchema>;

export const outputSources = ['mine', 'released'] as const;
export const outputKinds = ['table', 'model'] as const;
export type OutputKind = (typeof outputKinds)[number];

export const outputViewSchema = object({
  /** `<run id>:<name>`: unique in the room. */
  id: string({ min: 66, max: 130 }),
  run: hashHexSchema,
  name: assetNameSchema,
  snapshotName: string({ min: 1, max: 100 }),
  /** mine: my run made it; released: the runner released it to me. */
  source: oneOf(outputSources),
  /** model: a train cell's model (one row, column `model`, the document of shared/model.ts); table otherwise. */
  kind: oneOf(outputKinds),
  runner: aliasSchema,
  columns: array(outputColumnSchema),
  rows: integer({ min: 0 }),
  suppressedRows: integer({ min: 0 }),
  hash: hashHexSchema,
  createdAt: timestampSchema,
  /** After the room's retention the output is deleted from this home. */
  expiresAt: timestampSchema,
});
export type OutputView = Infer<typeof outputViewSchema>;

/** One output's rows, each value DuckDB's text for it or null. */
export const outputDataSchema = object({
  output: outputViewSchema,
  /** Index of the first row returned. */
  offset: integer({ min: 0 }),
  rows: array(array(nullable(string({ max: 1_000_000 })))),
});
export type OutputData = Infer<typeof outputDataSchema>;

/** What `receipt.verify` found, check by check, in words a person can read. */
export const receiptCheckSchema = object({
  ok: boolean(),
  /** Why it failed; null when ok. */
  reason: nullable(string({ min: 1, max: 1000 })),
  /** What was checked and held, one line each ("signed by St Mary, the snapshot's runner"). */
  checks: array(string({ min: 1, max: 500 })),
  roomName: nullable(string({ min: 1, max: 100 })),
  runner: nullable(aliasSchema),
  snapshot: nullable(hashHexSchema),
  status: nullable(string({ min: 1, max: 20 })),
  outputs: array(
    object({
      name: assetNameSchema,
      rows: integer({ min: 0 }),
      suppressedRows: integer({ min: 0 }),
      /** Whether this home holds the output and its hash matches; null when it does not hold it. */
      matches: nullable(boolean()),
    }),
  ),
});
export type ReceiptCheck = Infer<typeof receiptCheckSchema>;
