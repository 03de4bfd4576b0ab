// Run receipts: the runner's signed statement of what one run read, under which policy and engine,
// and what came out. Pure and offline: anyone holding the runner's public signing key (every
// member has it in the room definition) can check a receipt file with nothing else. See
// docs/receipts.md for the format, how to verify by hand, and what a receipt does not prove.
import { decodeCanonicalBase64Url } from './card.js';
import { canonicalString, decodeCanonical, encodeCanonical } from './canonical.js';
import { concatBytes, hash, sign, signatureBytes, signPublicKeyOf, toBase64Url, toHex, utf8, verify } from './crypto.js';
import { CleanroomError } from './errors.js';
import { hashHexSchema, policyModes, signPublicKeySchema, timestampSchema } from './primitives.js';
import { assetNameSchema } from './asset.js';
import { array, type Infer, integer, nullable, object, oneOf, optional, parse, refine, string } from './validate.js';

export const receiptFormat = 'cleanroom-receipt/1';
/**
 * /1 plus `interrupted`: written only when the run followed interrupted attempts, so a receipt has
 * one form and receipts without such attempts stay readable by homes that know /1 alone.
 */
export const receiptFormatRetried = 'cleanroom-receipt/2';
export const receiptFileExtension = '.cleanroom-receipt';
/** Signatures are Ed25519 over this tag followed by the canonical receipt. */
export const receiptSignatureTag = 'cleanroom/receipt/v1\n';
/** The tag of a /2 receipt: a signature over one format is never valid over the other. */
export const receiptSignatureTagRetried = 'cleanroom/receipt/v2\n';
/** Most interrupted attempts one receipt lists; core refuses another attempt beyond it. */
export const maxInterruptedAttempts = 100;
/** Output hashes are BLAKE2b-256 over this tag followed by the canonical output table. */
export const outputHashTag = 'cleanroom/output/v1\n';
export const outputTableFormat = 'cleanroom-output/1';
/** A receipt with every list at its maximum stays well under this; larger files are refused unread. */
export const maxReceiptBytes = 512 * 1024;

export const runStatuses = ['succeeded', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof runStatuses)[number];

const versionSchema = string({ min: 1, max: 64, pattern: /^[0-9A-Za-z.+_-]+$/, patternMessage: 'a version is ASCII letters, digits and . + _ -' });
const failureClassSchema = string({
  min: 1,
  max: 64,
  pattern: /^[A-Za-z][A-Za-z0-9_]*$/,
  patternMessage: 'a failure class is a letter followed by letters, digits and _',
});

export const receiptInputSchema = object({
  /** The asset id (hash of its descriptor). */
  asset: hashHexSchema,
  /** The payload hash the run checked before decrypting, as the snapshot names it. */
  payloadHash: hashHexSchema,
});

export const receiptOutputSchema = object({
  /** The output table's name (`-- %% output=NAME`). */
  name: assetNameSchema,
  /** outputTableHash of the table as it was kept: after suppression. */
  hash: hashHexSchema,
  /** Rows in the kept table. */
  rows: integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  /** Rows the policy suppressed (groups below k); how many, never which. */
  suppressedRows: integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
});

export const receiptBudgetSchema = object({
  /** The data owner whose differential-privacy budget was debited. */
  owner: signPublicKeySchema,
  /** Epsilon spent, in millionths (canonical JSON has no fractions): 500000 is ε = 0.5. */
  epsilonMicros: integer({ min: 0, max: 1_000_000_000_000 }),
});

export const receiptAttemptSchema = object({
  /** The interrupted attempt's run id, as the runner's home recorded it. */
  run: hashHexSchema,
  /** When it started, by the runner's clock. */
  startedAt: timestampSchema,
});

const uniqueSorted = <T>(items: readonly T[], keyOf: (item: T) => string, what: string): string | null => {
  for (let i = 1; i < items.length; i++) {
    const previous = keyOf(items[i - 1] as T);
    const current = keyOf(items[i] as T);
    if (previous === current) return `${what} lists ${current} twice`;
    if (previous > current) return `${what} must be sorted`;
  }
  return null;
};

const receiptShape = object({
  format: oneOf([receiptFormat, receiptFormatRetried]),
  /** The room id. */
  room: hashHexSchema,
  /** The snapshot id (snapshotIdOf) that ran. */
  snapshot: hashHexSchema,
  /** The runner's signing public key; the receipt is signed by it. */
  runner: signPublicKeySchema,
  /** Entry ids of the approval.granted entries the run used, sorted, unique. */
  approvals: array(hashHexSchema, { max: 1000 }),
  /** Every payload the run read, sorted by asset, unique. */
  inputs: array(receiptInputSchema, { max: 200 }),
  /** The room policy the run enforced. */
  policy: object({ mode: oneOf(policyModes), minGroupSize: integer({ min: 2, max: 1_000_000 }) }),
  /** Versions of the Cleanroom app and of DuckDB that ran the cells. */
  engine: object({ cleanroom: versionSchema, duckdb: versionSchema }),
  /** Output tables, sorted by name, unique; empty unless the run succeeded. */
  outputs: array(receiptOutputSchema, { max: 500 }),
  /** Differential-privacy debits, sorted by owner; null when the room does not use it. */
  privacyBudgetSpent: nullable(array(receiptBudgetSchema, { max: 200 })),
  startedAt: timestampSchema,
  finishedAt: timestampSchema,
  status: oneOf(runStatuses),
  /** Why a failed run failed: an error class and the 1-based cell (null: not in a cell). Null unless failed. */
  failure: nullable(object({ class: failureClassSchema, cell: nullable(integer({ min: 1, max: 500 })) })),
  /**
   * /2 only: attempts of this snapshot on this runner's home that were cut short before anything
   * came out of them (no output, no receipt) and so used no run; sorted by run, unique.
   */
  interrupted: optional(array(receiptAttemptSchema, { min: 1, max: maxInterruptedAttempts })),
});

export const receiptSchema = refine(receiptShape, (receipt) => {
  const order =
    uniqueSorted(receipt.approvals, (id) => id, 'approvals') ??
    uniqueSorted(receipt.inputs, (input) => input.asset, 'inputs') ??
    uniqueSorted(receipt.outputs, (output) => output.name, 'outputs') ??
    (receipt.privacyBudgetSpent === null ? null : uniqueSorted(receipt.privacyBudgetSpent, (debit) => debit.owner, 'privacyBudgetSpent')) ??
    uniqueSorted(receipt.interrupted ?? [], (attempt) => attempt.run, 'interrupted');
  if (order !== null) return order;
  if ((receipt.format === receiptFormatRetried) !== (receipt.interrupted !== undefined)) {
    return receipt.format === receiptFormatRetried ? `a ${receiptFormatRetried} receipt must list its interrupted attempts` : `a ${receiptFormat} receipt has no interrupted attempts`;
  }
  const late = receipt.interrupted?.find((attempt) => Date.parse(attempt.startedAt) > Date.parse(receipt.startedAt));
  if (late !== undefined) return `interrupted attempt ${late.run} started after the run`;
  if (Date.parse(receipt.finishedAt) < Date.parse(receipt.startedAt)) return 'finishedAt is before startedAt';
  if ((receipt.status === 'failed') !== (receipt.failure !== null)) {
    return receipt.status === 'failed' ? 'a failed run must say why (failure)' : `a ${receipt.status} run has no failure`;
  }
  if (receipt.status !== 'succeeded' && receipt.outputs.length > 0) return `a ${receipt.status} run has no outputs`;
  return null;
});
export type Receipt = Infer<typeof receiptSchema>;

export const signedReceiptSchema = object({
  receipt: receiptSchema,
  /** Ed25519 by receipt.runner over receiptSignatureTag ‖ canonical(receipt), base64url. */
  signature: string({ min: 86, max: 86, pattern: /^[A-Za-z0-9_-]+$/, patternMessage: 'signature must be base64url' }),
});
export type SignedReceipt = Infer<typeof signedReceiptSchema>;

// ---- Output hashes --------------------------------------------------------------------------------

/**
 * An output table in the one form that is hashed: column names and DuckDB type names, and every
 * value as DuckDB's own text for it (`CAST(v AS VARCHAR)`), or null. Rows in the table's stored
 * order. Text, not Parquet: Parquet bytes depend on the writer's version, compression and row
 * groups, so the same table could hash two ways.
 */
export interface OutputTable {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: readonly (readonly (string | null)[])[];
}

/** BLAKE2b-256 hex over outputHashTag ‖ canonical({ format, columns, rows }). */
export function outputTableHash(table: OutputTable): string {
  const width = table.columns.length;
  table.rows.forEach((row, index) => {
    if (row.length !== width) throw new CleanroomError('INTERNAL', `output row ${index} has ${row.length} values for ${width} columns`);
  });
  const value = {
    format: outputTableFormat,
    columns: table.columns.map((column) => ({ name: column.name, type: column.type })),
    rows: table.rows.map((row) => [...row]),
  };
  return toHex(hash(concatBytes(utf8(outputHashTag), encodeCanonical(value))));
}

// ---- Signing and encoding -----------------------------------------------------------------------

function signedMessage(receipt: Receipt): Uint8Array {
  const tag = receipt.format === receiptFormatRetried ? receiptSignatureTagRetried : receiptSignatureTag;
  return concatBytes(utf8(tag), encodeCanonical(receipt));
}

/** Signs a receipt as its runner. Throws (INTERNAL) on a receipt the schema refuses or a key that is not the runner's. */
export function signReceipt(receipt: Receipt, signSecretKey: Uint8Array): SignedReceipt {
  const checked = parse(receiptSchema, receipt);
  if (!checked.ok) throw new CleanroomError('INTERNAL', `Cannot sign the receipt: ${checked.issue.message}`);
  if (toBase64Url(signPublicKeyOf(signSecretKey)) !== checked.value.runner) {
    throw new CleanroomError('INTERNAL', 'Cannot sign the receipt: the key is not the runner’s');
  }
  return { receipt: checked.value, signature: toBase64Url(sign(signedMessage(checked.value), signSecretKey)) };
}

/** The receipt file: canonical JSON of { receipt, signature } and one LF. */
export function encodeReceiptFile(signed: SignedReceipt): string {
  return `${canonicalString(signed)}\n`;
}

// ---- Verification ---------------------------------------------------------------------------------

export interface ReceiptExpectations {
  /** The snapshot id the verifier expects the run to be of. */
  readonly snapshot?: string;
  /** Output tables the verifier holds, by name and outputTableHash. */
  readonly outputs?: readonly { readonly name: string; readonly hash: string }[];
}

export interface VerifyReceiptOptions {
  /** The runner's signing public key (base64url) as the room knows it, e.g. the snapshot's runner. */
  readonly runnerKey: string;
  readonly expected?: ReceiptExpectations;
}

export type ReceiptVerdict = { readonly ok: true; readonly receipt: Receipt } | { readonly ok: false; readonly reason: string };

const refuse = (reason: string): ReceiptVerdict => ({ ok: false, reason });

function fromText(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  // Measured in UTF-8 bytes, without encoding a huge string first: a UTF-16 unit is at most 3 bytes.
  if (text.length > maxReceiptBytes) return { ok: false, reason: `the receipt is too large (more than ${maxReceiptBytes} bytes)` };
  const bytes = utf8(text);
  if (bytes.length > maxReceiptBytes) return { ok: false, reason: `the receipt is too large (${bytes.length} bytes; at most ${maxReceiptBytes})` };
  if (bytes.length === 0 || bytes[bytes.length - 1] !== 0x0a) return { ok: false, reason: 'the receipt file must end with one newline' };
  try {
    return { ok: true, value: decodeCanonical(bytes.subarray(0, bytes.length - 1), 'the receipt', { maxBytes: maxReceiptBytes, maxDepth: 6 }) };
  } catch (error) {
    return { ok: false, reason: error instanceof CleanroomError ? error.message : 'the receipt cannot be read' };
  }
}

function check(input: unknown, options: VerifyReceiptOptions): ReceiptVerdict {
  let value: unknown = input;
  if (typeof input === 'string') {
    const read = fromText(input);
    if (!read.ok) return refuse(read.reason);
    value = read.value;
  } else if (input instanceof Uint8Array) {
    return refuse('pass the receipt as text or as an object, not bytes');
  } else {
    // An object from elsewhere (IPC, a caller): it must survive canonical encoding and its size cap too.
    let encoded: Uint8Array;
    try {
      encoded = encodeCanonical(input);
    } catch {
      return refuse('the receipt is not a plain JSON value');
    }
    if (encoded.length + 1 > maxReceiptBytes) return refuse(`the receipt is too large (${encoded.length + 1} bytes; at most ${maxReceiptBytes})`);
  }
  const checked = parse(signedReceiptSchema, value);
  if (!checked.ok) return refuse(`the receipt is malformed: ${checked.issue.message}`);
  const { receipt, signature } = checked.value;

  const signatureBytesDecoded = decodeCanonicalBase64Url(signature);
  if (signatureBytesDecoded === null || signatureBytesDecoded.length !== signatureBytes) {
    return refuse('the receipt signature is not canonical base64url of 64 bytes');
  }
  const expectedRunner = decodeCanonicalBase64Url(options.runnerKey);
  if (expectedRunner === null || expectedRunner.length !== 32) return refuse('the runner key to check against is not a base64url public key');
  if (receipt.runner !== options.runnerKey) return refuse(`the receipt names runner ${receipt.runner}, not the expected ${options.runnerKey}`);
  if (!verify(signatureBytesDecoded, signedMessage(receipt), expectedRunner)) {
    return refuse('the receipt signature does not verify: it was changed or not signed by the runner');
  }

  const expected = options.expected ?? {};
  if (expected.snapshot !== undefined && receipt.snapshot !== expected.snapshot) {
    return refuse(`the receipt is for snapshot ${receipt.snapshot}, not ${expected.snapshot}`);
  }
  for (const held of expected.outputs ?? []) {
    const listed = receipt.outputs.find((output) => output.name === held.name);
    if (listed === undefined) return refuse(`output ${held.name} is not in the receipt`);
    if (listed.hash !== held.hash) return refuse(`output ${held.name} differs from the receipt`);
  }
  return { ok: true, receipt };
}

/**
 * Checks a receipt file's text (or a signed receipt object), in order: size cap, canonical form,
 * schema, signature encoding, runner key, signature, then the optional expectations. Never throws:
 * every refusal is `{ ok: false, reason }`.
 */
export function verifyReceipt(input: unknown, options: VerifyReceiptOptions): ReceiptVerdict {
  try {
    return check(input, options);
  } catch {
    return refuse('the receipt could not be checked');
  }
}
