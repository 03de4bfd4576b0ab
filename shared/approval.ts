// Approvals: one member's consent for one snapshot and runner, carrying that member's data keys
// sealed to the runner.
import { decodeCanonical, encodeCanonical } from './canonical.js';
import { CleanroomError } from './errors.js';
import { fromBase64Url, openSealedBox, sealToBoxKey, secretStreamKeyBytes, toBase64Url } from './crypto.js';
import { hashHexSchema, signPublicKeySchema, timestampSchema } from './primitives.js';
import { array, type Infer, integer, object, oneOf, parse, string } from './validate.js';

export const defaultApprovalDays = 7;
export const defaultApprovalRuns = 1;

export const approvalFormat = 'cleanroom-approval/1';
/** What a sealed data key holds, so the runner's app can check what it was released for. */
export const dataKeyFormat = 'cleanroom-data-key/1';

export const approvalSchema = object({
  format: oneOf([approvalFormat]),
  snapshot: hashHexSchema,
  runner: signPublicKeySchema,
  expiresAt: timestampSchema,
  maxRuns: integer({ min: 1, max: 1000 }),
  /** For each referenced asset the approver owns: its data key sealed to the runner's box key. */
  keys: array(object({ asset: hashHexSchema, sealedKey: string({ min: 1, max: 400 }) }), { max: 200 }),
});
export type Approval = Infer<typeof approvalSchema>;

const sealedDataKeySchema = object({
  format: oneOf([dataKeyFormat]),
  snapshot: hashHexSchema,
  asset: hashHexSchema,
  key: string({ min: 43, max: 43, pattern: /^[A-Za-z0-9_-]+$/ }),
});

/** Base64url in exactly the spelling toBase64Url writes, or null. (card.ts has the same, but importing it here would be circular through room.ts.) */
function strictBase64Url(text: string): Uint8Array | null {
  try {
    const bytes = fromBase64Url(text);
    return toBase64Url(bytes) === text ? bytes : null;
  } catch {
    return null;
  }
}

/**
 * Seals a data key to the runner, bound to the snapshot and asset: crypto_box_seal of the
 * canonical { format, snapshot, asset, key } so the runner's app can check what it was for.
 */
export function sealDataKey(dataKey: Uint8Array, snapshot: string, asset: string, runnerBoxPublicKey: Uint8Array): string {
  if (dataKey.length !== secretStreamKeyBytes) throw new CleanroomError('INTERNAL', `a data key must be ${secretStreamKeyBytes} bytes`);
  const message = encodeCanonical({ format: dataKeyFormat, snapshot, asset, key: toBase64Url(dataKey) });
  return toBase64Url(sealToBoxKey(message, runnerBoxPublicKey));
}

/** Opens a sealed key as the runner; null unless it opens and names this snapshot and asset. */
export function openDataKey(
  sealedKey: string,
  snapshot: string,
  asset: string,
  runner: { readonly boxPublicKey: Uint8Array; readonly boxSecretKey: Uint8Array },
): Uint8Array | null {
  const sealed = strictBase64Url(sealedKey);
  if (sealed === null) return null;
  const message = openSealedBox(sealed, runner.boxPublicKey, runner.boxSecretKey);
  if (message === null) return null;
  let value: unknown;
  try {
    value = decodeCanonical(message, 'sealed data key', { maxBytes: 1024, maxDepth: 2 });
  } catch {
    return null;
  }
  const checked = parse(sealedDataKeySchema, value);
  if (!checked.ok || checked.value.snapshot !== snapshot || checked.value.asset !== asset) return null;
  const key = strictBase64Url(checked.value.key);
  return key !== null && key.length === secretStreamKeyBytes ? key : null;
}
