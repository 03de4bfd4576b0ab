// Rooms: their definition, policy, the entries members append to their feeds, and the views the
// hosts show. Pure types and validators; the signing and derivation logic lives in feed.ts and
// room-state.ts.
import { approvalSchema } from './approval.js';
import { assetDescriptorSchema } from './asset.js';
import { aliasSchema } from './identity.js';
import { snapshotSchema } from './notebook.js';
import { outputReleasedSchema, runFinishedSchema } from './run.js';
import { boxPublicKeySchema, hashHexSchema, policyModes, signPublicKeySchema, timestampSchema } from './primitives.js';
import { array, type Infer, integer, nullable, object, oneOf, optional, string, variants, boolean } from './validate.js';

export { boxPublicKeySchema, hashHexSchema, policyModes, signPublicKeySchema, timestampSchema } from './primitives.js';

export const roomNameSchema = string({ min: 1, max: 100, pattern: /^\S(.*\S)?$/u, patternMessage: 'room name must not start or end with a space' });
export const siteSchema = string({ min: 0, max: 200 });

export const minMembers = 2;
export const maxMembersAtCreation = 10;
export const defaultMinGroupSize = 10;
export const defaultOutputRetentionDays = 30;
export const defaultInvitationDays = 14;

export const policySchema = object({
  /** aggregate: only policy-checked aggregates; reviewed: any read-only SQL everyone approved. */
  mode: oneOf(policyModes),
  /** k: output groups with fewer distinct privacy units are suppressed. */
  minGroupSize: integer({ min: 2, max: 1_000_000 }),
  outputRetentionDays: integer({ min: 1, max: 3650 }),
});
export type Policy = Infer<typeof policySchema>;

export const defaultPolicy: Policy = {
  mode: 'aggregate',
  minGroupSize: defaultMinGroupSize,
  outputRetentionDays: defaultOutputRetentionDays,
};

/** A member as the room knows them: alias and public keys, nothing else. */
export const memberRefSchema = object({
  alias: aliasSchema,
  signPublicKey: signPublicKeySchema,
  boxPublicKey: boxPublicKeySchema,
});
export type MemberRef = Infer<typeof memberRefSchema>;

/**
 * The immutable definition a room starts from. Its canonical hash is the room id, so every
 * member's `room.joined` signs exactly this text.
 */
export const roomDefinitionSchema = object({
  format: oneOf(['cleanroom-room/1']),
  name: roomNameSchema,
  site: siteSchema,
  /** The creator: only a convenience for display; it confers no extra rights. */
  createdBy: signPublicKeySchema,
  members: array(memberRefSchema, { max: maxMembersAtCreation }),
  policy: policySchema,
  createdAt: timestampSchema,
  invitationExpiresAt: timestampSchema,
  /** Random, so two rooms with the same name and members still get different ids. */
  nonce: string({ min: 22, max: 22, pattern: /^[A-Za-z0-9_-]+$/ }),
});
export type RoomDefinition = Infer<typeof roomDefinitionSchema>;

/** What members append to their own feed in a room. Add kinds; never change one. */
export const entryBodySchema = variants('type', {
  /** The creator's first entry: the room's definition (whose hash must equal the entry's room). */
  'room.created': object({ definition: roomDefinitionSchema }),
  /** An invited member accepts the definition (or, for a member added later, the amendment). */
  'room.joined': object({ amendment: optional(hashHexSchema) }),
  'room.left': object({}),
  /** Proposes adding members; the proposing entry's id is the amendment id. */
  'amendment.proposed': object({ addMembers: array(memberRefSchema, { max: 10 }) }),
  'amendment.signed': object({ amendment: hashHexSchema }),
  /** A table or volume; its id is hashCanonical(descriptor). The payload travels separately. */
  'asset.added': object({ descriptor: assetDescriptorSchema }),
  /** A frozen notebook; its id is snapshotIdOf(snapshot). Adding it is the author's approval. */
  'snapshot.added': object({ snapshot: snapshotSchema }),
  /** Consent for one snapshot and runner, with the approver's data keys sealed to the runner. */
  'approval.granted': object({ approval: approvalSchema }),
  /** Withdraws an approval (by the id of its approval.granted entry). */
  'approval.revoked': object({ approval: hashHexSchema }),
  /** The runner records a finished run (any status) with its signed receipt. */
  'run.finished': runFinishedSchema,
  /** The runner releases a run's outputs to the snapshot's recipients (the tables travel as a payload). */
  'output.released': object({ release: outputReleasedSchema }),
});
export type EntryBody = Infer<typeof entryBodySchema>;
export type EntryType = EntryBody['type'];

export const unsignedEntrySchema = object({
  format: oneOf(['cleanroom-entry/1']),
  room: hashHexSchema,
  author: signPublicKeySchema,
  /** 1, 2, 3… per author per room. */
  seq: integer({ min: 1, max: 1_000_000 }),
  /** Id of the author's previous entry in this room; null for seq 1. */
  prev: nullable(hashHexSchema),
  at: timestampSchema,
  body: entryBodySchema,
});
export type UnsignedEntry = Infer<typeof unsignedEntrySchema>;

export const signedEntrySchema = object({
  entry: unsignedEntrySchema,
  /** Ed25519 by entry.author over the entry's canonical encoding, base64url. */
  signature: string({ min: 86, max: 86, pattern: /^[A-Za-z0-9_-]+$/ }),
});
export type SignedEntry = Infer<typeof signedEntrySchema>;

// ---- Views: what core returns to hosts about rooms. -------------------------------------------

export const roomStatuses = ['invited', 'pending', 'active', 'closed', 'expired'] as const;
export const memberStatuses = ['invited', 'joined', 'left'] as const;

export const memberViewSchema = object({
  alias: aliasSchema,
  signPublicKey: signPublicKeySchema,
  boxPublicKey: boxPublicKeySchema,
  fingerprint: hashHexSchema,
  sharingId: string({ min: 20, max: 20 }),
  status: oneOf(memberStatuses),
  isMe: boolean(),
});
export type MemberView = Infer<typeof memberViewSchema>;

export const logEntryViewSchema = object({
  id: hashHexSchema,
  author: aliasSchema,
  authorKey: signPublicKeySchema,
  seq: integer({ min: 1 }),
  at: timestampSchema,
  type: string({ min: 1, max: 64 }),
  /** One line a person can read: "St Mary joined the room". */
  summary: string({ min: 1, max: 500 }),
  /** How a conflict with this entry was settled, the same in every home, e.g. "renamed shared_1a2b3c4d: …"; null when none. */
  settlement: nullable(string({ min: 1, max: 1000 })),
});
export type LogEntryView = Infer<typeof logEntryViewSchema>;

export const alertViewSchema = object({
  kind: oneOf(['equivocation', 'invalid-entry']),
  author: string({ min: 1, max: 100 }),
  authorKey: signPublicKeySchema,
  seq: integer({ min: 0 }),
  detail: string({ min: 1, max: 500 }),
  at: timestampSchema,
});
export type AlertView = Infer<typeof alertViewSchema>;

export const amendmentViewSchema = object({
  id: hashHexSchema,
  proposedBy: aliasSchema,
  addMembers: array(memberRefSchema),
  signedBy: array(aliasSchema),
  waitingFor: array(aliasSchema),
  status: oneOf(['pending', 'accepted']),
});
export type AmendmentView = Infer<typeof amendmentViewSchema>;

export const roomSummarySchema = object({
  id: hashHexSchema,
  name: roomNameSchema,
  site: siteSchema,
  /** invited: you have not joined; pending: waiting for others; active: everyone has joined. */
  status: oneOf(roomStatuses),
  myStatus: oneOf(memberStatuses),
  memberCount: integer({ min: 0 }),
  joinedCount: integer({ min: 0 }),
  alertCount: integer({ min: 0 }),
  updatedAt: timestampSchema,
});
export type RoomSummary = Infer<typeof roomSummarySchema>;

export const roomDetailSchema = object({
  summary: roomSummarySchema,
  policy: policySchema,
  createdBy: aliasSchema,
  createdAt: timestampSchema,
  invitationExpiresAt: timestampSchema,
  members: array(memberViewSchema),
  amendments: array(amendmentViewSchema),
  log: array(logEntryViewSchema),
  alerts: array(alertViewSchema),
});
export type RoomDetail = Infer<typeof roomDetailSchema>;

export const contactSchema = object({
  alias: aliasSchema,
  signPublicKey: signPublicKeySchema,
  boxPublicKey: boxPublicKeySchema,
  fingerprint: hashHexSchema,
  sharingId: string({ min: 20, max: 20 }),
  importedAt: timestampSchema,
});
export type Contact = Infer<typeof contactSchema>;

export const importResultSchema = object({
  room: hashHexSchema,
  roomName: roomNameSchema,
  from: aliasSchema,
  /** Entries new to this home and applied. */
  accepted: integer({ min: 0 }),
  /** Entries already known (a duplicate or older packet): ignored, never applied twice. */
  ignored: integer({ min: 0 }),
  /** Security alerts raised by this import, e.g. equivocation. */
  alerts: array(string({ min: 1, max: 500 })),
  /** One line for the person: "3 new entries from Acme Insurance for Readmissions". */
  summary: string({ min: 1, max: 500 }),
});
export type ImportResult = Infer<typeof importResultSchema>;

export const exportResultSchema = object({
  fileName: string({ min: 1, max: 255 }),
  /** Where core wrote it, when a path was given; null when the bytes are returned instead. */
  path: nullable(string({ min: 1, max: 4096 })),
  /** The packet itself, base64, when no path was given (the browser downloads it). */
  contentBase64: nullable(string({ min: 1, max: 100 * 1024 * 1024 })),
  size: integer({ min: 1 }),
  recipients: array(aliasSchema),
});
export type ExportResult = Infer<typeof exportResultSchema>;

/** A room named by id, unique id prefix (at least 6 hex digits), or exact name. */
export const roomRefSchema = string({ min: 1, max: 100 });
