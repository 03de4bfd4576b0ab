// Assets in a room: tables and volumes (encrypted payloads) and the public, signed descriptors
// that travel in their owner's feed. Pure types and validators.
import { aliasSchema } from './identity.js';
import { hashHexSchema, signPublicKeySchema, timestampSchema } from './primitives.js';
import { array, boolean, type Infer, integer, nullable, object, oneOf, optional, string, variants } from './validate.js';

/** What the owner says a column is; the policy (issue 5) enforces it. */
export const columnRoles = ['privacy_unit', 'join_key', 'dimension', 'measure', 'hidden'] as const;
export type ColumnRole = (typeof columnRoles)[number];

/** Asset and output names are SQL identifiers: notebooks refer to them unquoted. */
export const assetNameSchema = string({
  min: 1,
  max: 63,
  pattern: /^[a-z_][a-z0-9_]*$/,
  patternMessage: 'name must be lower-case letters, digits and _, starting with a letter or _ (it is used in SQL)',
});

export const columnSchema = object({
  name: string({ min: 1, max: 255 }),
  /** DuckDB's type name, e.g. BIGINT, VARCHAR, DATE, DECIMAL(10,2). */
  type: string({ min: 1, max: 200 }),
  role: oneOf(columnRoles),
});
export type Column = Infer<typeof columnSchema>;

export const sourceFormats = ['csv', 'parquet', 'json'] as const;
export type SourceFormat = (typeof sourceFormats)[number];

/** How a payload is stored and carried: libsodium secretstream under the asset's data key. */
export const payloadSchema = object({
  /** BLAKE2b-256 of the encrypted payload file, hex. */
  hash: hashHexSchema,
  /** Bytes of the encrypted payload file. */
  size: integer({ min: 1 }),
  encryption: oneOf(['secretstream-xchacha20poly1305/1']),
  /** Plaintext bytes per secretstream chunk. */
  chunkSize: integer({ min: 64, max: 16 * 1024 * 1024 }),
});
export type Payload = Infer<typeof payloadSchema>;

const descriptorCommon = {
  format: oneOf(['cleanroom-asset/1']),
  room: hashHexSchema,
  name: assetNameSchema,
  owner: signPublicKeySchema,
  payload: payloadSchema,
  createdAt: timestampSchema,
  /** Random, so re-adding the same file makes a distinct asset. */
  nonce: string({ min: 22, max: 22, pattern: /^[A-Za-z0-9_-]+$/ }),
};

export const assetDescriptorSchema = variants('kind', {
  table: object({
    ...descriptorCommon,
    /** The payload is Parquet (zstd) with exactly these columns. */
    columns: array(columnSchema, { min: 1, max: 2000 }),
    /** Shared only if the owner chose to. */
    rowCount: nullable(integer({ min: 0 })),
    sourceFormat: oneOf(sourceFormats),
    /** Whether min/max may be output over this table's measures (issue 5's policy). */
    allowMinMax: boolean(),
  }),
  volume: object({
    ...descriptorCommon,
    /** Private: usable by approved code, never shown to other members (not even file names). */
    private: boolean(),
    /** Files in the volume; empty for a private volume, whose listing is itself private. */
    files: array(object({ path: string({ min: 1, max: 1024 }), size: integer({ min: 0 }) }), { max: 10_000 }),
  }),
});
export type AssetDescriptor = Infer<typeof assetDescriptorSchema>;
export type AssetKind = AssetDescriptor['kind'];

// ---- Views ------------------------------------------------------------------------------------

export const assetViewSchema = object({
  /** hashCanonical(descriptor): what snapshots reference. */
  id: hashHexSchema,
  kind: oneOf(['table', 'volume']),
  name: assetNameSchema,
  owner: aliasSchema,
  ownerKey: signPublicKeySchema,
  mine: boolean(),
  columns: array(columnSchema),
  rowCount: nullable(integer({ min: 0 })),
  private: boolean(),
  files: array(object({ path: string({ min: 1, max: 1024 }), size: integer({ min: 0 }) })),
  payloadHash: hashHexSchema,
  payloadSize: integer({ min: 1 }),
  /** Whether the encrypted payload is in this home's vault. */
  payloadPresent: boolean(),
  createdAt: timestampSchema,
});
export type AssetView = Infer<typeof assetViewSchema>;

export const columnPreviewSchema = object({
  name: string({ min: 0, max: 255 }),
  type: string({ min: 1, max: 200 }),
  suggestedRole: oneOf(columnRoles),
});

export const tableInspectionSchema = object({
  format: oneOf(sourceFormats),
  columns: array(columnPreviewSchema),
  /** Bytes of the source file. */
  size: integer({ min: 0 }),
});
export type TableInspection = Infer<typeof tableInspectionSchema>;

export const jobStates = ['running', 'done', 'failed', 'cancelled'] as const;
export const jobViewSchema = object({
  id: string({ min: 1, max: 64 }),
  kind: oneOf(['table.add', 'volume.add', 'run']),
  state: oneOf(jobStates),
  /** One line for the person: "Encrypting… 412 MB of 1.0 GB". */
  message: string({ min: 0, max: 500 }),
  /** Bytes (or rows) done and expected; total null while unknown. */
  done: integer({ min: 0 }),
  total: nullable(integer({ min: 0 })),
  asset: nullable(assetViewSchema),
  /** For a run: its id (known from the start), so the host can show its outputs when done. */
  run: optional(hashHexSchema),
  error: nullable(object({ code: string({ min: 1, max: 40 }), message: string({ min: 1, max: 2000 }) })),
  startedAt: timestampSchema,
});
export type JobView = Infer<typeof jobViewSchema>;

/** "1.0 GB", "412 MB", "12 kB", "300 bytes": decimal units, as job messages and the CLI show sizes. */
export function readableBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} bytes`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit] as string}`;
}

export const roleAssignmentSchema = object({ column: string({ min: 1, max: 255 }), role: oneOf(columnRoles) });
export const optionalRoles = optional(array(roleAssignmentSchema, { max: 2000 }));
