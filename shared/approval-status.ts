// Views of snapshots and their approval status, as core returns them. Pure types and validators;
// the status itself is derived in room-state.ts from the feeds.
import { snapshotAssetSchema, notebookSchema } from './notebook.js';
import { aliasSchema } from './identity.js';
import { hashHexSchema, signPublicKeySchema, timestampSchema } from './primitives.js';
import { array, boolean, type Infer, integer, nullable, object, oneOf, string } from './validate.js';

export const approvalStates = ['author', 'approved', 'missing', 'expired', 'revoked', 'used-up'] as const;

export const approvalStatusSchema = object({
  /** One row per member of the room: the approval matrix. */
  members: array(
    object({
      alias: aliasSchema,
      key: signPublicKeySchema,
      state: oneOf(approvalStates),
      expiresAt: nullable(timestampSchema),
      runsLeft: nullable(integer({ min: 0 })),
      /** Assets this member owns that the snapshot reads, and whether their key is released. */
      keys: array(object({ asset: string({ min: 1, max: 63 }), released: boolean() })),
    }),
  ),
  canRun: boolean(),
  /** Why it cannot run yet, one line each ("waiting for Acme Insurance's approval"). */
  reasons: array(string({ min: 1, max: 500 })),
});
export type ApprovalStatus = Infer<typeof approvalStatusSchema>;

export const snapshotSummarySchema = object({
  id: hashHexSchema,
  name: string({ min: 1, max: 100 }),
  author: aliasSchema,
  runner: aliasSchema,
  createdAt: timestampSchema,
  canRun: boolean(),
  approvedCount: integer({ min: 0 }),
  memberCount: integer({ min: 0 }),
});
export type SnapshotSummary = Infer<typeof snapshotSummarySchema>;

export const snapshotViewSchema = object({
  id: hashHexSchema,
  room: hashHexSchema,
  name: string({ min: 1, max: 100 }),
  author: aliasSchema,
  authorKey: signPublicKeySchema,
  runner: aliasSchema,
  runnerKey: signPublicKeySchema,
  recipients: array(aliasSchema),
  createdAt: timestampSchema,
  notebook: notebookSchema,
  /** Referenced assets by id and payload hash (a private volume shows its hash, never content). */
  assets: array(snapshotAssetSchema),
  status: approvalStatusSchema,
});
export type SnapshotView = Infer<typeof snapshotViewSchema>;
