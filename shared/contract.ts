// The one API contract. Every host (Electron IPC, browser-shell HTTP, CLI) and the renderer derive
// their method names, channel names and types from this map; core implements it once.
import type { Result } from './errors.js';
import { snapshotSummarySchema, snapshotViewSchema } from './approval-status.js';
import { assetNameSchema, assetViewSchema, jobViewSchema, optionalRoles, sourceFormats, tableInspectionSchema } from './asset.js';
import { aliasSchema, identityPublicSchema, identityStatusSchema, passphraseSchema } from './identity.js';
import {
  contactSchema,
  exportResultSchema,
  hashHexSchema,
  importResultSchema,
  policyModes,
  roomDetailSchema,
  roomNameSchema,
  roomRefSchema,
  roomSummarySchema,
  signPublicKeySchema,
  siteSchema,
} from './room.js';
import { modelAlgorithms } from './model.js';
import { outputDataSchema, outputViewSchema, receiptCheckSchema, runViewSchema } from './run.js';
import { array, boolean, empty, type Infer, integer, nullable, object, oneOf, optional, type Schema, string } from './validate.js';

interface MethodSpec<Req, Res> {
  readonly request: Schema<Req>;
  readonly response: Schema<Res>;
  /** One line for help texts and docs. */
  readonly summary: string;
}

const method = <Req, Res>(request: Schema<Req>, response: Schema<Res>, summary: string): MethodSpec<Req, Res> => ({
  request,
  response,
  summary,
});

export const hostKinds = ['electron', 'shell', 'cli'] as const;

export const appInfoSchema = object({
  version: string({ min: 1, max: 40 }),
  host: oneOf(hostKinds),
  home: string({ min: 1, max: 4096 }),
});

export const engineInfoSchema = object({
  duckdbVersion: string({ min: 1, max: 80 }),
});

export const predictionSchema = object({
  algorithm: oneOf(modelAlgorithms),
  target: string({ min: 1, max: 255 }),
  /** The scored file's columns: the source's, then `prediction` (and `predicted_label` for logistic). */
  columns: array(string({ min: 1, max: 300 })),
  rows: integer({ min: 0 }),
  /** Rows given a prediction; the rest lacked a feature value (their prediction is empty). */
  scored: integer({ min: 0 }),
  /** The file written, when outPath was given. */
  outPath: nullable(string({ min: 1, max: 4096 })),
  /** The scored CSV, when no outPath was given. */
  csv: nullable(string({ max: 20_000_000 })),
});
export type Prediction = Infer<typeof predictionSchema>;

export const notebookCheckSchema = object({
  ok: boolean(),
  /** Problems with the notebook as a whole ("line 12: unknown cell marker"). */
  problems: array(string({ min: 1, max: 500 })),
  cells: array(
    object({
      index: integer({ min: 0 }),
      kind: oneOf(['sql', 'markdown', 'train']),
      output: string({ min: 0, max: 63 }),
      /** Room tables (and earlier outputs) the cell reads. */
      reads: array(string({ min: 1, max: 255 })),
      /** Why this cell would be refused; empty when fine or not checked. */
      problems: array(string({ min: 1, max: 500 })),
    }),
  ),
});

export const api = {
  'app.info': method(empty, appInfoSchema, 'Version, host kind and home folder of this Cleanroom.'),
  'engine.info': method(empty, engineInfoSchema, 'Starts the DuckDB worker if needed and reports its version.'),
  'identity.status': method(empty, identityStatusSchema, 'Whether this home has an identity, and whether it is unlocked.'),
  'identity.create': method(
    object({ alias: aliasSchema, passphrase: passphraseSchema }),
    identityPublicSchema,
    'Creates this home\'s identity (signing and box keys) sealed under the passphrase, and unlocks it.',
  ),
  'identity.unlock': method(object({ passphrase: passphraseSchema }), identityPublicSchema, 'Unlocks the identity.'),
  'identity.lock': method(empty, empty, 'Forgets the unlocked secret keys.'),
  'identity.changePassphrase': method(
    object({ current: passphraseSchema, next: passphraseSchema }),
    empty,
    'Re-seals the secret keys under a new passphrase.',
  ),
  'identity.card': method(
    empty,
    object({ card: string({ min: 1, max: 4096 }), fileName: string({ min: 1, max: 255 }) }),
    'Your identity card: alias and public keys, self-signed, to give to people who will invite you.',
  ),
  'contact.import': method(
    object({ card: string({ min: 1, max: 4096 }) }),
    contactSchema,
    'Imports someone\'s identity card after checking its signature and fingerprint.',
  ),
  'contact.list': method(empty, object({ contacts: array(contactSchema) }), 'The identity cards you have imported.'),
  'room.create': method(
    object({
      name: roomNameSchema,
      site: optional(siteSchema),
      /** Signing keys of imported contacts; you are added yourself. */
      members: array(signPublicKeySchema, { max: 9 }),
      mode: optional(oneOf(policyModes)),
      minGroupSize: optional(integer({ min: 2, max: 1_000_000 })),
      outputRetentionDays: optional(integer({ min: 1, max: 3650 })),
      invitationDays: optional(integer({ min: 1, max: 365 })),
    }),
    roomDetailSchema,
    'Creates a room with you and 1 to 9 contacts; it is active once every member has joined.',
  ),
  'room.list': method(empty, object({ rooms: array(roomSummarySchema) }), 'The rooms you are in or invited to.'),
  'room.show': method(object({ room: roomRefSchema }), roomDetailSchema, 'Members, policy, status and activity log of a room.'),
  'room.join': method(object({ room: roomRefSchema }), roomDetailSchema, 'Accepts an invitation: signs the room\'s definition.'),
  'room.leave': method(object({ room: roomRefSchema }), roomDetailSchema, 'Leaves a room; the others see it in the log.'),
  'room.proposeAmendment': method(
    object({ room: roomRefSchema, addMembers: array(signPublicKeySchema, { min: 1, max: 10 }) }),
    roomDetailSchema,
    'Proposes adding members; it takes effect once every current member has signed it.',
  ),
  'room.signAmendment': method(
    object({ room: roomRefSchema, amendment: hashHexSchema }),
    roomDetailSchema,
    'Signs a pending amendment.',
  ),
  'packet.export': method(
    object({
      room: roomRefSchema,
      /** Aliases to address; all other members when absent. */
      to: optional(array(string({ min: 1, max: 64 }), { max: 10 })),
      /** A file or folder to write to; absent: the packet is returned as base64. */
      outPath: optional(string({ min: 1, max: 4096 })),
      /** Carry every payload of my assets, not only those a recipient runs a snapshot on. */
      withPayloads: optional(boolean()),
    }),
    exportResultSchema,
    'Writes a signed, encrypted packet with your feed for a room, for the other members.',
  ),
  'packet.import': method(
    object({
      /** A .cleanroom file on this machine… */
      path: optional(string({ min: 1, max: 4096 })),
      /** …or its bytes, base64 (drag and drop in the browser). */
      contentBase64: optional(string({ min: 1, max: 100 * 1024 * 1024 })),
      /** Read `path` even when it is a symbolic link; refused otherwise. */
      followSymlinks: optional(boolean()),
    }),
    importResultSchema,
    'Verifies a packet and applies what is new in it; a bad packet changes nothing.',
  ),
  'table.inspect': method(
    object({ path: string({ min: 1, max: 4096 }), format: optional(oneOf(sourceFormats)), followSymlinks: optional(boolean()) }),
    tableInspectionSchema,
    'Reads a CSV, Parquet or JSON file\'s schema (nothing is stored) and suggests a role per column.',
  ),
  'table.add': method(
    object({
      room: roomRefSchema,
      name: assetNameSchema,
      path: string({ min: 1, max: 4096 }),
      format: optional(oneOf(sourceFormats)),
      /** Roles for some or all columns; the rest get the suggested role. */
      roles: optionalRoles,
      shareRowCount: optional(boolean()),
      allowMinMax: optional(boolean()),
      /** Import `path` even when it is a symbolic link; refused otherwise. */
      followSymlinks: optional(boolean()),
    }),
    object({ job: string({ min: 1, max: 64 }) }),
    'Starts importing a table: converted to Parquet, encrypted under a new data key; follow it with job.status.',
  ),
  'volume.add': method(
    object({ room: roomRefSchema, name: assetNameSchema, path: string({ min: 1, max: 4096 }), private: optional(boolean()), followSymlinks: optional(boolean()) }),
    object({ job: string({ min: 1, max: 64 }) }),
    'Starts adding a file or folder as a volume, encrypted under a new data key.',
  ),
  'job.status': method(object({ job: string({ min: 1, max: 64 }) }), jobViewSchema, 'Progress and result of a long-running import or run.'),
  'job.cancel': method(
    object({ job: string({ min: 1, max: 64 }) }),
    jobViewSchema,
    'Cancels a running import or run; nothing half-done is kept and no plaintext is left behind.',
  ),
  'asset.list': method(object({ room: roomRefSchema }), object({ assets: array(assetViewSchema) }), 'Tables and volumes in a room (others\' show schema only).'),
  'notebook.check': method(
    object({ room: roomRefSchema, source: string({ min: 0, max: 1_000_000 }) }),
    notebookCheckSchema,
    'Parses a notebook and reports per cell the tables it reads and anything that would be refused.',
  ),
  'notebook.add': method(
    object({
      room: roomRefSchema,
      name: string({ min: 1, max: 100 }),
      source: string({ min: 1, max: 1_000_000 }),
      /** Alias of the member who will run it; you by default. */
      runner: optional(string({ min: 1, max: 64 })),
      /** Aliases who receive the outputs; the runner by default. */
      recipients: optional(array(string({ min: 1, max: 64 }), { max: 10 })),
    }),
    snapshotViewSchema,
    'Freezes a notebook as a signed snapshot (its hash is its id); editing later makes a new one.',
  ),
  'notebook.list': method(object({ room: roomRefSchema }), object({ snapshots: array(snapshotSummarySchema) }), 'Snapshots in a room with their status.'),
  'notebook.show': method(
    object({ room: roomRefSchema, snapshot: string({ min: 6, max: 64 }) }),
    snapshotViewSchema,
    'A snapshot: cells, hash, author, runner, and who has approved and released keys.',
  ),
  'approval.grant': method(
    object({
      room: roomRefSchema,
      snapshot: string({ min: 6, max: 64 }),
      expiresDays: optional(integer({ min: 1, max: 365 })),
      runs: optional(integer({ min: 1, max: 1000 })),
    }),
    snapshotViewSchema,
    'Approves a snapshot for its runner, releasing your data keys for the assets it reads, sealed to the runner.',
  ),
  'approval.revoke': method(
    object({ room: roomRefSchema, snapshot: string({ min: 6, max: 64 }) }),
    snapshotViewSchema,
    'Withdraws your approval of a snapshot.',
  ),
  'run.start': method(
    object({ room: roomRefSchema, snapshot: string({ min: 6, max: 64 }) }),
    object({ job: string({ min: 1, max: 64 }), run: hashHexSchema }),
    'Runs an approved snapshot you are the runner of; follow it with job.status, stop it with job.cancel.',
  ),
  'run.list': method(object({ room: roomRefSchema }), object({ runs: array(runViewSchema) }), 'The room\'s runs, newest first: who, when, status, rows suppressed.'),
  'run.receipt': method(
    object({ room: roomRefSchema, run: string({ min: 6, max: 64 }) }),
    object({ receipt: string({ min: 1, max: 512 * 1024 }), fileName: string({ min: 1, max: 255 }) }),
    'A run\'s signed receipt file (.cleanroom-receipt), to keep or pass on.',
  ),
  'output.list': method(
    object({ room: roomRefSchema }),
    object({ outputs: array(outputViewSchema) }),
    'Output tables you can read in a room: your runs\' and those released to you, until they expire.',
  ),
  'output.show': method(
    object({
      room: roomRefSchema,
      /** An output's name (the newest with it), or `RUN:NAME` with a run id or prefix. */
      output: string({ min: 1, max: 130 }),
      offset: optional(integer({ min: 0 })),
      /** Rows to return; all of them when absent. */
      limit: optional(integer({ min: 1, max: 1_000_000 })),
    }),
    outputDataSchema,
    'An output table\'s columns and rows.',
  ),
  'output.release': method(
    object({
      room: roomRefSchema,
      run: string({ min: 6, max: 64 }),
      /** A file or folder to write the packet to; absent: returned as base64. */
      outPath: optional(string({ min: 1, max: 4096 })),
    }),
    exportResultSchema,
    'Releases a run\'s outputs to the snapshot\'s recipients as a signed, encrypted packet.',
  ),
  'model.predict': method(
    object({
      /** With room: `model` is a model output there (NAME or RUN:NAME). Without: a model `.json` file's path. */
      room: optional(roomRefSchema),
      model: string({ min: 1, max: 4096 }),
      /** The file to score: CSV, Parquet or JSON with a column for each of the model's features. */
      source: string({ min: 1, max: 4096 }),
      format: optional(oneOf(sourceFormats)),
      /** Where to write the scored CSV; absent: returned as `csv` (up to 20 MB). */
      outPath: optional(string({ min: 1, max: 4096 })),
    }),
    predictionSchema,
    'Scores a local file with a model: its rows with a prediction column added, written as CSV.',
  ),
  'receipt.verify': method(
    object({ receipt: string({ min: 1, max: 600 * 1024 }) }),
    receiptCheckSchema,
    'Checks a run receipt offline against the room\'s public keys, and against outputs this home holds.',
  ),
} as const;

export type Api = typeof api;
export type ApiMethod = keyof Api;
export type ApiRequest<M extends ApiMethod> = Infer<Api[M]['request']>;
export type ApiResponse<M extends ApiMethod> = Infer<Api[M]['response']>;
export type AppInfo = Infer<typeof appInfoSchema>;
export type EngineInfo = Infer<typeof engineInfoSchema>;

export const apiMethods = Object.keys(api) as ApiMethod[];

export function isApiMethod(name: unknown): name is ApiMethod {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(api, name);
}

/** What core implements: one async handler per method, given an already validated request. */
export type ApiHandlers = { [M in ApiMethod]: (request: ApiRequest<M>) => Promise<ApiResponse<M>> };

/** What the renderer calls, whichever host carries it: one function per method, never a channel. */
export type CleanroomApi = { [M in ApiMethod]: (request: ApiRequest<M>) => Promise<Result<ApiResponse<M>>> };

/** Electron IPC channel for a method; the only place channel names are made. */
export const ipcChannel = (name: ApiMethod): string => `cleanroom:${name}`;

/** Browser-shell HTTP path for a method; the only place those paths are made. */
export const httpPath = (name: ApiMethod): string => `/api/${name}`;

/**
 * Browser-shell route that receives a file picked or dropped in the page (PUT, raw bytes,
 * `?name=<file name>`), staged in a private RAM-backed folder so core can read it from a path.
 */
export const shellUploadPath = '/upload';

/** Builds a CleanroomApi from one transport function, e.g. IPC invoke or HTTP POST. */
export function buildApi(call: (name: ApiMethod, request: unknown) => Promise<Result<unknown>>): CleanroomApi {
  const entries = apiMethods.map((name) => [name, (request: unknown) => call(name, request)] as const);
  return Object.freeze(Object.fromEntries(entries)) as unknown as CleanroomApi;
}
