// A room's state, derived from the union of its members' feeds: order-free and idempotent.
//
// Rules (mergeEntries refuses what breaks a feed rule and settles what breaks a content rule, see
// "Feed rules and settlement"; deriveRoomState applies the same checks, so the state is a function
// of the set of entries alone, never of the order they arrived in):
// - Every entry is checked against signedEntrySchema (inputs come off disk and out of packets),
//   must name this room, and must carry its author's valid signature. Entries dated more than a
//   day after `now` are refused: a member cannot pin their entries to the end of everyone's log.
// - Each author's feed is a chain: seq 1, 2, 3… with prev = id of their previous entry (null at
//   seq 1), dated no earlier than that entry. An entry whose predecessor is missing or refused is
//   refused too. Same author and seq with a different id is equivocation: the entry already known
//   is kept, new ones are reported and stored nowhere.
// - Exactly one room.created: seq 1 of definition.createdBy, with roomIdOf(definition) equal to
//   the room id, 2..10 members including the creator, unique signing keys, box keys and aliases
//   (case-insensitive), invitation expiring after creation. Nothing is accepted without it.
// - Members are the definition's members plus the additions of accepted amendments. Entries by
//   anyone else are refused. A member's first entry is room.created (the creator) or room.joined
//   (everyone else; naming the amendment that added them, if any); room.joined appears only
//   there, and for initial members must be dated no later than the invitation expiry. Nothing
//   is accepted after an author's room.left.
// - amendment.proposed (its entry id is the amendment id) adds people who are not members of the
//   definition. It needs amendment.signed from every member joined when it was proposed, by the
//   log order below, except those who have left since; the proposal counts as the proposer's
//   signature. Once every one has signed, it is accepted and its members are invited. Amendments
//   accepted meanwhile may have added the same people: someone already added is not added twice,
//   someone with a member's box key is not added, and an alias shared with a member is noted.
// - Room status: pending until every initial member has joined, then active; expired while
//   still pending after the invitation expiry; closed once someone has left and fewer than two
//   members remain joined.
// - asset.added: the room is active at the entry's time; descriptor.owner is the author and
//   descriptor.room this room; table column names are unique (case-insensitive); a private volume
//   lists no files. The asset id is hashCanonical(descriptor) and may be added once. Names are
//   unique per room: when two members add the same name offline, the one first in log order keeps
//   it and each later one is renamed `<name>_<first 8 hex of its id>` (see settlement below).
// - snapshot.added: the room is active; snapshot.room is this room and snapshot.author the
//   author; the runner and recipients are members who have not left by the entry's time; every
//   referenced asset is in the room with exactly that id, payload hash, kind and owner, under its
//   descriptor's name or its renamed form, and no two references share a name; each
//   `-- library` the notebook names is a referenced volume; the notebook reads back from its own
//   text unchanged; a snapshot id may be added once.
// - approval.granted: names a snapshot of this room, for that snapshot's runner, expiring after
//   the entry's time; it carries keys only for assets the snapshot reads and the approver owns,
//   each at most once (missing keys are allowed: the status reports them). A member's later grant
//   for the same snapshot replaces their earlier one (so revoking the latest leaves none).
// - approval.revoked: names an approval.granted entry of the same author not yet revoked.
// - run.finished: one per run id; the receipt is for this room and a snapshot of it, the author is
//   the snapshot's runner and the receipt's runner, the receipt's signature verifies, every
//   approval it lists is an approval.granted of that snapshot, its inputs are the snapshot's
//   (same payload hashes) and its policy is the room's. Runs count against approvals from these.
// - output.released: one per run, by that run's runner, for a succeeded run; its outputs are
//   exactly the receipt's (name, hash, rows), its recipients exactly the snapshot's recipients
//   other than the runner, with one sealed key each.
// - Feed rules and settlement. The rules above split in two. Feed rules (schema, signature, room,
//   date, chain, membership, first entry, room.left last, amendment shape) decide which entries
//   are stored: breaking one refuses the entry and the rest of its author's feed, and an honest
//   home never signs such an entry. Content rules (asset.added … output.released) and clashes
//   between amendments are *settled* instead: the entry stays in the feed (so its author's later
//   entries stand), and its effect is set aside, renamed, or noted, with the reason in the log
//   (LogItem.settlement) of every home. Members working offline meet these as ordinary conflicts:
//   two assets with one name, a snapshot naming a runner who left meanwhile, an approval for a
//   room that closed. Only equivocation stays a security alert.
// - Why settlement is deterministic: the stored set is the same in every home that has seen the
//   same packets (feed rules do not depend on which entries arrived first; equivocation aside),
//   membership is found from that set by the fixpoint below, and content is then applied in
//   layers (assets, snapshots, approvals, revocations, runs, releases), each layer in log order.
//   Each kind only refers to kinds in earlier layers, so an approval dated before its snapshot by
//   a slow clock still applies, and nothing depends on arrival order or on this machine's clock.
// - Why renaming is safe: a snapshot pins each asset by id (the descriptor's hash) and payload
//   hash, under the SQL name it was written with (its descriptor name or the renamed form, both
//   fixed by the asset itself), and an approval names the snapshot's hash. A rename changes only
//   how new notebooks and the UI refer to the asset; it cannot make an approval or a run apply to
//   other content.
// - Status (snapshotStatus): each member who has not left is the author (adding counts as their
//   approval), or approved / expired / revoked / used-up / missing by their latest grant. It can
//   run when every other member has approved and each referenced asset's key is in a valid grant
//   of its owner (the author's own keys need the author's approval.granted too).
// - The log is ordered by (time, author, seq): the same in every home. Because membership can
//   depend on amendments signed in feeds that sort later, validity is found by iterating to a
//   fixpoint over the whole set in that order.
import { type Approval } from './approval.js';
import { type ApprovalStatus } from './approval-status.js';
import { type AssetDescriptor } from './asset.js';
import { hashCanonical } from './canonical.js';
import { decodeCanonicalBase64Url } from './card.js';
import { CleanroomError } from './errors.js';
import { entryId, roomIdOf, verifyEntrySignature } from './feed.js';
import {
  type EntryType,
  maxMembersAtCreation,
  type MemberRef,
  minMembers,
  type Policy,
  type RoomDefinition,
  type SignedEntry,
  signedEntrySchema,
} from './room.js';
import { notebookProblem, type Snapshot, snapshotIdOf } from './notebook.js';
import { type SignedReceipt, verifyReceipt } from './receipt.js';
import { type OutputRelease } from './run.js';
import { parse } from './validate.js';

export interface RefusedEntry {
  readonly entry: SignedEntry;
  readonly reason: string;
}

export interface Equivocation {
  readonly author: string;
  readonly seq: number;
  readonly known: SignedEntry;
  readonly incoming: SignedEntry;
}

/**
 * How an ordinary conflict was settled for one stored entry: its effect set aside (`set-aside`),
 * its asset given another name (`renamed`), or applied with a note (`noted`). The text is what the
 * room's log shows, the same in every home.
 */
export interface Settlement {
  readonly kind: 'set-aside' | 'renamed' | 'noted';
  readonly text: string;
}

export interface SettledEntry {
  readonly entry: SignedEntry;
  readonly settlement: Settlement;
}

export interface MergeResult {
  /** New, valid entries, in an order that keeps every author's chain intact. Store these. */
  readonly accepted: readonly SignedEntry[];
  /** Accepted entries whose effect was settled (set aside, renamed or noted): stored all the same. */
  readonly settled: readonly SettledEntry[];
  /** Entries already known (same id): ignored. */
  readonly ignored: number;
  /** Invalid entries: not stored. */
  readonly refused: readonly RefusedEntry[];
  /** Same author and seq as a known entry, different content: not stored, raise an alert. */
  readonly equivocations: readonly Equivocation[];
}

/** How far ahead of this machine's clock an entry may be dated (clocks on offline machines drift). */
export const maxClockSkewMs = 24 * 60 * 60 * 1000;

/** An entry with what every rule needs computed once. */
interface Candidate {
  readonly signed: SignedEntry;
  readonly id: string;
  readonly time: number;
}

/** The order of the log, the same in every home: time, then author, then seq. */
function compareCandidates(a: Candidate, b: Candidate): number {
  if (a.time !== b.time) return a.time - b.time;
  if (a.signed.entry.author !== b.signed.entry.author) return a.signed.entry.author < b.signed.entry.author ? -1 : 1;
  return a.signed.entry.seq - b.signed.entry.seq;
}

const authorSeqKey = (signed: SignedEntry): string => `${signed.entry.author}#${signed.entry.seq}`;

/** Milliseconds of an ISO-8601 UTC time, or NaN for impossible dates such as 30 February. */
function parseTime(text: string): number {
  const time = Date.parse(text);
  if (Number.isNaN(time) || new Date(time).toISOString().slice(0, 19) !== text.slice(0, 19)) return Number.NaN;
  return time;
}

/** Why a room definition is unusable, or null. Core uses it before creating a room, too. */
export function roomDefinitionProblem(definition: RoomDefinition): string | null {
  const { members } = definition;
  if (members.length < minMembers || members.length > maxMembersAtCreation) {
    return `a room needs ${minMembers} to ${maxMembersAtCreation} members at creation (this one has ${members.length})`;
  }
  if (!members.some((member) => member.signPublicKey === definition.createdBy)) return 'the creator is not among the members';
  const problem = membersProblem(members, []);
  if (problem !== null) return problem;
  const created = parseTime(definition.createdAt);
  const expires = parseTime(definition.invitationExpiresAt);
  if (Number.isNaN(created) || Number.isNaN(expires)) return 'the definition has an invalid time';
  if (expires <= created) return 'the invitation must expire after the room is created';
  return null;
}

/** Duplicate or malformed keys and aliases among `added`, or between `added` and `existing`. */
function membersProblem(added: readonly MemberRef[], existing: readonly MemberRef[]): string | null {
  const signKeys = new Set(existing.map((member) => member.signPublicKey));
  const boxKeys = new Set(existing.map((member) => member.boxPublicKey));
  const aliases = new Set(existing.map((member) => member.alias.toLowerCase()));
  for (const member of added) {
    for (const keyText of [member.signPublicKey, member.boxPublicKey]) {
      const key = decodeCanonicalBase64Url(keyText);
      if (key === null || key.length !== 32) return `${member.alias}'s public key is not a 32-byte base64url key`;
    }
    if (signKeys.has(member.signPublicKey)) {
      return existing.some((other) => other.signPublicKey === member.signPublicKey)
        ? `${member.alias} is already a member of this room`
        : `two members share the signing key of ${member.alias}`;
    }
    if (boxKeys.has(member.boxPublicKey)) return `two members share the box key of ${member.alias}`;
    if (aliases.has(member.alias.toLowerCase())) return `two members share the alias “${member.alias}”`;
    signKeys.add(member.signPublicKey);
    boxKeys.add(member.boxPublicKey);
    aliases.add(member.alias.toLowerCase());
  }
  return null;
}

// ---- Folding valid entries into a state ------------------------------------------------------

interface AmendmentFold {
  readonly id: string;
  readonly proposedBy: string;
  readonly addMembers: readonly MemberRef[];
  /** Members joined when it was proposed, the proposer included. */
  readonly required: readonly string[];
  readonly signedBy: string[];
  accepted: boolean;
  /** How additions that clashed with members accepted meanwhile were settled (log text). */
  readonly notes: string[];
}

interface Fold {
  readonly definition: RoomDefinition;
  /** Definition members, then members added by amendments in the order they were accepted. */
  readonly members: { ref: MemberRef; addedBy: string | null }[];
  readonly memberKeys: Set<string>;
  /** Joined/left by signing key, whether or not their amendment is accepted yet at that point. */
  readonly status: Map<string, 'joined' | 'left'>;
  /** When each member joined and left (ms), for rules that ask "at this entry's time". */
  readonly joinedAt: Map<string, number>;
  readonly leftAt: Map<string, number>;
  readonly amendments: Map<string, AmendmentFold>;
}

/** Required signers who have neither signed nor left. */
function waitingFor(amendment: AmendmentFold, status: ReadonlyMap<string, 'joined' | 'left'>): string[] {
  return amendment.required.filter((key) => !amendment.signedBy.includes(key) && status.get(key) !== 'left');
}

/** Applies valid entries (with their room.created) in log order. Never throws on odd input. */
function foldEntries(definition: RoomDefinition, ordered: readonly Candidate[]): Fold {
  const fold: Fold = {
    definition,
    members: definition.members.map((ref) => ({ ref, addedBy: null })),
    memberKeys: new Set(definition.members.map((member) => member.signPublicKey)),
    status: new Map(),
    joinedAt: new Map(),
    leftAt: new Map(),
    amendments: new Map(),
  };
  const acceptIfComplete = (amendment: AmendmentFold): void => {
    if (amendment.accepted || waitingFor(amendment, fold.status).length > 0) return;
    amendment.accepted = true;
    for (const ref of amendment.addMembers) {
      // Two concurrent amendments may add the same person; the first accepted adds them.
      if (fold.memberKeys.has(ref.signPublicKey)) continue;
      // Amendments proposed offline at once may also add two people who clash. A shared box key
      // would let one read what is sealed to the other, so the later one is not added; a shared
      // alias is only confusing, so both are added and the log says so.
      const current = fold.members.map((member) => member.ref);
      const clash = current.find((member) => member.boxPublicKey === ref.boxPublicKey);
      if (clash !== undefined) {
        amendment.notes.push(`${ref.alias} was not added: ${clash.alias} already has the same box key`);
        continue;
      }
      if (current.some((member) => member.alias.toLowerCase() === ref.alias.toLowerCase())) {
        amendment.notes.push(`two members are now called “${ref.alias}”: compare their sharing identifiers`);
      }
      fold.members.push({ ref, addedBy: amendment.id });
      fold.memberKeys.add(ref.signPublicKey);
    }
  };
  // Signatures that sort before their proposal: the signer saw the proposal, but a clock behind
  // the proposer's stamps the signature earlier. They count when the proposal is applied.
  const earlySignatures = new Map<string, string[]>();
  for (const candidate of ordered) {
    const { author, body } = candidate.signed.entry;
    switch (body.type) {
      case 'room.created':
      case 'room.joined':
        fold.status.set(author, 'joined');
        fold.joinedAt.set(author, candidate.time);
        break;
      case 'room.left':
        fold.status.set(author, 'left');
        fold.leftAt.set(author, candidate.time);
        // Someone who left is no longer waited for.
        for (const amendment of fold.amendments.values()) acceptIfComplete(amendment);
        break;
      case 'amendment.proposed': {
        const required = fold.members
          .map((member) => member.ref.signPublicKey)
          .filter((key) => fold.status.get(key) === 'joined' || key === author);
        const signedBy = [author, ...(earlySignatures.get(candidate.id) ?? []).filter((key) => key !== author)];
        const amendment: AmendmentFold = { id: candidate.id, proposedBy: author, addMembers: body.addMembers, required, signedBy, accepted: false, notes: [] };
        fold.amendments.set(candidate.id, amendment);
        acceptIfComplete(amendment);
        break;
      }
      case 'amendment.signed': {
        const amendment = fold.amendments.get(body.amendment);
        if (amendment === undefined) {
          const early = earlySignatures.get(body.amendment) ?? [];
          if (!early.includes(author)) early.push(author);
          earlySignatures.set(body.amendment, early);
          break;
        }
        if (!amendment.signedBy.includes(author)) amendment.signedBy.push(author);
        acceptIfComplete(amendment);
        break;
      }
      default:
        // Assets, snapshots and approvals do not change membership (see Content).
        break;
    }
  }
  return fold;
}

// ---- Assets, snapshots and approvals -----------------------------------------------------------

export interface AssetState {
  /** hashCanonical(descriptor): what snapshots reference. */
  readonly id: string;
  readonly descriptor: AssetDescriptor;
  /** The name the room knows it by: descriptor.name, or renamedAssetName(…) when another asset had it first. */
  readonly name: string;
  readonly owner: string;
  readonly addedAt: string;
  /** Id of the asset.added entry. */
  readonly entry: string;
}

export interface ApprovalState {
  /** Id of the approval.granted entry: what approval.revoked names and runs count against. */
  readonly id: string;
  readonly approver: string;
  readonly approval: Approval;
  readonly grantedAt: string;
  /** Time of the approval.revoked entry, or null. */
  readonly revokedAt: string | null;
}

export interface SnapshotState {
  /** snapshotIdOf(snapshot). */
  readonly id: string;
  readonly snapshot: Snapshot;
  readonly author: string;
  readonly addedAt: string;
  /** Id of the snapshot.added entry. */
  readonly entry: string;
  /** Each member's latest approval.granted for this snapshot (it replaces their earlier ones), revoked or not. */
  readonly approvals: ReadonlyMap<string, ApprovalState>;
  /** Every approval.granted for this snapshot, oldest first. */
  readonly grants: readonly ApprovalState[];
}

/** A run some member finished, from their run.finished entry. */
export interface FinishedRun {
  /** The run id (64 hex digits, chosen by the runner). */
  readonly id: string;
  /** Id of the run.finished entry. */
  readonly entry: string;
  readonly runner: string;
  readonly snapshot: string;
  /** The runner's signed receipt, checked against the room when the entry was accepted. */
  readonly receipt: SignedReceipt;
  /** Time of the run.finished entry. */
  readonly recordedAt: string;
}

/** A runner's release of one run's outputs to the snapshot's recipients. */
export interface ReleaseState {
  readonly run: string;
  /** Id of the output.released entry. */
  readonly entry: string;
  readonly runner: string;
  readonly release: OutputRelease;
  readonly releasedAt: string;
}

interface ApprovalFold {
  readonly id: string;
  readonly approver: string;
  readonly approval: Approval;
  readonly grantedAt: string;
  revokedAt: string | null;
}

interface SnapshotFold {
  readonly id: string;
  readonly snapshot: Snapshot;
  readonly author: string;
  readonly addedAt: string;
  readonly entry: string;
  readonly latest: Map<string, ApprovalFold>;
  readonly grants: ApprovalFold[];
}

/** What assets, snapshots and approvals valid entries have added. Grows as entries are found valid. */
interface Content {
  readonly assets: Map<string, AssetState>;
  /** Asset name → asset id. */
  readonly assetNames: Map<string, string>;
  readonly snapshots: Map<string, SnapshotFold>;
  /** approval.granted entry id → approval. */
  readonly approvals: Map<string, ApprovalFold>;
  /** Run id → its run.finished. */
  readonly runs: Map<string, FinishedRun>;
  /** Run id → the output.released of its outputs. */
  readonly releases: Map<string, ReleaseState>;
}

const emptyContent = (): Content => ({
  assets: new Map(),
  assetNames: new Map(),
  snapshots: new Map(),
  approvals: new Map(),
  runs: new Map(),
  releases: new Map(),
});

/**
 * The name a later asset gets when an earlier one has its descriptor's name: fixed by the asset
 * itself (its id), so it never changes whatever arrives later, and still a valid asset name.
 */
export function renamedAssetName(name: string, assetId: string): string {
  return `${name.slice(0, 54)}_${assetId.slice(0, 8)}`;
}

/** Records a valid entry's asset (under `assetName`), snapshot or approval. Entries of other kinds change nothing. */
function applyContent(content: Content, candidate: Candidate, assetName?: string): void {
  const { author, at, body } = candidate.signed.entry;
  switch (body.type) {
    case 'asset.added': {
      const id = hashCanonical(body.descriptor);
      const name = assetName ?? body.descriptor.name;
      content.assets.set(id, { id, descriptor: body.descriptor, name, owner: author, addedAt: at, entry: candidate.id });
      content.assetNames.set(name, id);
      break;
    }
    case 'snapshot.added': {
      const id = snapshotIdOf(body.snapshot);
      content.snapshots.set(id, { id, snapshot: body.snapshot, author, addedAt: at, entry: candidate.id, latest: new Map(), grants: [] });
      break;
    }
    case 'approval.granted': {
      const approval: ApprovalFold = { id: candidate.id, approver: author, approval: body.approval, grantedAt: at, revokedAt: null };
      content.approvals.set(candidate.id, approval);
      const snapshot = content.snapshots.get(body.approval.snapshot);
      if (snapshot !== undefined) {
        snapshot.grants.push(approval);
        snapshot.latest.set(author, approval);
      }
      break;
    }
    case 'approval.revoked': {
      const approval = content.approvals.get(body.approval);
      if (approval !== undefined && approval.revokedAt === null) approval.revokedAt = at;
      break;
    }
    case 'run.finished':
      content.runs.set(body.run, { id: body.run, entry: candidate.id, runner: author, snapshot: body.receipt.receipt.snapshot, receipt: body.receipt, recordedAt: at });
      break;
    case 'output.released':
      content.releases.set(body.release.run, { run: body.release.run, entry: candidate.id, runner: author, release: body.release, releasedAt: at });
      break;
    default:
      break;
  }
}

/** Why the room does not accept new assets or snapshots at `time`, or null when it is active. */
function roomInactiveProblem(fold: Fold, time: number): string | null {
  const joinedBy = (key: string): boolean => (fold.joinedAt.get(key) ?? Number.POSITIVE_INFINITY) <= time;
  const leftBy = (key: string): boolean => (fold.leftAt.get(key) ?? Number.POSITIVE_INFINITY) <= time;
  if (!fold.definition.members.every((member) => joinedBy(member.signPublicKey))) return 'the room is not active yet: not every member has joined';
  const keys = fold.members.map((member) => member.ref.signPublicKey);
  if (keys.some(leftBy) && keys.filter((key) => joinedBy(key) && !leftBy(key)).length < minMembers) return 'the room is closed';
  return null;
}

/** Whether `key` is a member who has not left by `time` (members invited by amendment included). */
function currentMemberAt(fold: Fold, key: string, time: number): boolean {
  return fold.memberKeys.has(key) && (fold.leftAt.get(key) ?? Number.POSITIVE_INFINITY) > time;
}

function aliasIn(fold: Fold, key: string): string {
  return fold.members.find((member) => member.ref.signPublicKey === key)?.ref.alias ?? `member ${key.slice(0, 8)}`;
}

function assetAddedProblem(roomId: string, candidate: Candidate, descriptor: AssetDescriptor, fold: Fold, content: Content): string | null {
  const { author } = candidate.signed.entry;
  if (descriptor.room !== roomId) return 'the asset belongs to another room';
  if (descriptor.owner !== author) return "the asset's owner is not the entry's author";
  const inactive = roomInactiveProblem(fold, candidate.time);
  if (inactive !== null) return inactive;
  const id = hashCanonical(descriptor);
  if (content.assets.has(id)) return 'this asset was already added';
  if (descriptor.kind === 'table') {
    const names = new Set<string>();
    for (const column of descriptor.columns) {
      const folded = column.name.toLowerCase();
      if (names.has(folded)) return `table ${descriptor.name} has two columns named ${column.name}`;
      names.add(folded);
    }
  } else if (descriptor.private && descriptor.files.length > 0) {
    return `private volume ${descriptor.name} must not list its files`;
  }
  return null;
}

function snapshotAddedProblem(roomId: string, candidate: Candidate, snapshot: Snapshot, fold: Fold, content: Content, aliasOf: (key: string) => string): string | null {
  const { author } = candidate.signed.entry;
  if (snapshot.room !== roomId) return 'the snapshot belongs to another room';
  if (snapshot.author !== author) return "the snapshot's author is not the entry's author";
  const inactive = roomInactiveProblem(fold, candidate.time);
  if (inactive !== null) return inactive;
  if (content.snapshots.has(snapshotIdOf(snapshot))) return 'this snapshot was already added';
  if (!currentMemberAt(fold, snapshot.runner, candidate.time)) return 'the runner is not a member of this room';
  const recipients = new Set<string>();
  for (const recipient of snapshot.recipients) {
    if (!currentMemberAt(fold, recipient, candidate.time)) return `recipient ${aliasOf(recipient)} is not a member of this room`;
    if (recipients.has(recipient)) return `recipient ${aliasOf(recipient)} is listed twice`;
    recipients.add(recipient);
  }
  const referenced = new Set<string>();
  const sqlNames = new Set<string>();
  for (const ref of snapshot.assets) {
    if (referenced.has(ref.asset)) return `references asset ${ref.name} twice`;
    referenced.add(ref.asset);
    if (sqlNames.has(ref.name)) return `references two assets named ${ref.name}`;
    sqlNames.add(ref.name);
    const asset = content.assets.get(ref.asset);
    if (asset === undefined) return `references asset ${ref.name} which is not in this room`;
    if (asset.descriptor.payload.hash !== ref.payloadHash) return `references asset ${ref.name} whose payload hash differs`;
    // The snapshot's SQL may use the descriptor's name or its renamed form: both are fixed by the
    // asset, so a snapshot valid once stays valid whatever arrives later.
    const nameFits = ref.name === asset.descriptor.name || ref.name === renamedAssetName(asset.descriptor.name, asset.id);
    if (!nameFits || asset.descriptor.kind !== ref.kind || asset.owner !== ref.owner) {
      return `references asset ${ref.name} with a name, kind or owner that differs from the room's`;
    }
  }
  for (const library of snapshot.notebook.libraries ?? []) {
    if (!snapshot.assets.some((ref) => ref.kind === 'volume' && ref.name === library)) return `names library ${library} but does not reference a volume of that name`;
  }
  const notebook = notebookProblem(snapshot.notebook);
  if (notebook !== null) return `the snapshot's notebook is malformed: ${notebook}`;
  return null;
}

function approvalGrantedProblem(candidate: Candidate, approval: Approval, content: Content): string | null {
  const { author } = candidate.signed.entry;
  const snapshot = content.snapshots.get(approval.snapshot);
  if (snapshot === undefined) return 'the approval names a snapshot that is not in this room';
  if (approval.runner !== snapshot.snapshot.runner) return "runner is not the snapshot's runner";
  const expires = parseTime(approval.expiresAt);
  if (Number.isNaN(expires)) return 'the approval has an invalid expiry time';
  if (expires <= candidate.time) return 'the approval expires before it was granted';
  const keyed = new Set<string>();
  for (const key of approval.keys) {
    const ref = snapshot.snapshot.assets.find((asset) => asset.asset === key.asset);
    if (ref === undefined) return `carries a key for asset ${key.asset.slice(0, 12)}… which the snapshot does not read`;
    if (ref.owner !== author) return `carries a key for ${ref.kind} ${ref.name}, which the approver does not own`;
    if (keyed.has(key.asset)) return `carries two keys for ${ref.kind} ${ref.name}`;
    keyed.add(key.asset);
    if (decodeCanonicalBase64Url(key.sealedKey) === null) return `the key for ${ref.kind} ${ref.name} is not base64url`;
  }
  return null;
}

function approvalRevokedProblem(candidate: Candidate, approvalId: string, content: Content): string | null {
  const approval = content.approvals.get(approvalId);
  if (approval === undefined || approval.approver !== candidate.signed.entry.author) {
    return 'the revocation names no approval.granted entry of its author';
  }
  if (approval.revokedAt !== null) return 'the approval was already revoked';
  return null;
}

function runFinishedProblem(roomId: string, candidate: Candidate, run: string, signed: SignedReceipt, fold: Fold, content: Content): string | null {
  const { author } = candidate.signed.entry;
  const { receipt } = signed;
  if (content.runs.has(run)) return 'this run was already recorded';
  if (receipt.room !== roomId) return 'the receipt is for another room';
  const snapshot = content.snapshots.get(receipt.snapshot);
  if (snapshot === undefined) return 'the receipt names a snapshot that is not in this room';
  if (snapshot.snapshot.runner !== author) return "the author is not the snapshot's runner";
  if (receipt.runner !== author) return "the receipt's runner is not the entry's author";
  const verdict = verifyReceipt(signed, { runnerKey: author });
  if (!verdict.ok) return `the receipt does not verify: ${verdict.reason}`;
  for (const approvalId of receipt.approvals) {
    const approval = content.approvals.get(approvalId);
    if (approval === undefined || approval.approval.snapshot !== receipt.snapshot) {
      return `the receipt lists approval ${approvalId.slice(0, 12)}…, which is not an approval of this snapshot`;
    }
  }
  for (const input of receipt.inputs) {
    const ref = snapshot.snapshot.assets.find((asset) => asset.asset === input.asset);
    if (ref === undefined) return `the receipt lists input ${input.asset.slice(0, 12)}…, which the snapshot does not read`;
    if (ref.payloadHash !== input.payloadHash) return `the receipt's payload hash for ${ref.name} differs from the snapshot's`;
  }
  const policy = fold.definition.policy;
  if (receipt.policy.mode !== policy.mode || receipt.policy.minGroupSize !== policy.minGroupSize) return "the receipt's policy is not the room's";
  return null;
}

function outputReleasedProblem(candidate: Candidate, release: OutputRelease, content: Content): string | null {
  const { author } = candidate.signed.entry;
  const run = content.runs.get(release.run);
  if (run === undefined) return 'the release names a run that is not in this room';
  if (run.runner !== author) return 'only the runner can release a run\'s outputs';
  if (content.releases.has(release.run)) return "this run's outputs were already released";
  const { receipt } = run.receipt;
  if (receipt.status !== 'succeeded') return `the run ${receipt.status === 'failed' ? 'failed' : 'was cancelled'}; it has no outputs to release`;
  if (release.snapshot !== receipt.snapshot) return "the release names another snapshot than the run's";
  const listed = [...release.outputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (listed.length !== receipt.outputs.length) return "the released outputs are not the run's outputs";
  for (const [index, output] of listed.entries()) {
    const expected = receipt.outputs[index];
    if (expected === undefined || expected.name !== output.name || expected.hash !== output.hash || expected.rows !== output.rows) {
      return `released output ${output.name} does not match the run's receipt`;
    }
  }
  const snapshot = content.snapshots.get(receipt.snapshot);
  if (snapshot === undefined) return 'the release names a snapshot that is not in this room';
  const expectedRecipients = snapshot.snapshot.recipients.filter((key) => key !== author);
  const recipients = new Set(release.recipients);
  if (recipients.size !== release.recipients.length) return 'the release lists a recipient twice';
  if (recipients.size !== expectedRecipients.length || !expectedRecipients.every((key) => recipients.has(key))) {
    return "the release's recipients are not the snapshot's recipients";
  }
  const keyed = new Set(release.keys.map((key) => key.recipient));
  if (keyed.size !== release.keys.length || keyed.size !== recipients.size || ![...recipients].every((key) => keyed.has(key))) {
    return 'the release must carry one key for each recipient';
  }
  for (const key of release.keys) if (decodeCanonicalBase64Url(key.sealedKey) === null) return 'a release key is not base64url';
  return null;
}

// ---- Validation to a fixpoint ------------------------------------------------------------------

interface Evaluation {
  readonly definition: RoomDefinition | null;
  /** Valid entries (those the feed rules accept: stored, settled or not) in log order. */
  readonly valid: readonly Candidate[];
  /** Why each structurally sound but invalid entry was refused, by id. */
  readonly reasons: Map<string, string>;
  /** The assets, snapshots, approvals, runs and releases the valid entries add. */
  readonly content: Content;
  /** How each settled valid entry was settled, by id. */
  readonly settlements: Map<string, Settlement>;
}

/**
 * Why `candidate` breaks a feed rule given the entries already found valid, or null. Content rules
 * are not checked here: they are settled afterwards (settleContent) without refusing the entry.
 */
function entryProblem(
  candidate: Candidate,
  creation: Candidate,
  fold: Fold,
  validByAuthorSeq: Map<string, Candidate>,
  presentAuthorSeq: Set<string>,
): string | null {
  const { entry } = candidate.signed;
  const { definition } = fold;
  if (candidate !== creation && entry.body.type === 'room.created') return 'the room was already created';

  if (entry.seq === 1) {
    if (entry.prev !== null) return 'a first entry must not name a previous entry';
  } else {
    const previous = validByAuthorSeq.get(`${entry.author}#${entry.seq - 1}`);
    if (previous === undefined) {
      return presentAuthorSeq.has(`${entry.author}#${entry.seq - 1}`)
        ? 'an earlier entry from this author was refused'
        : 'missing earlier entries from this author';
    }
    if (entry.prev !== previous.id) return "entry does not follow the author's previous entry";
    if (candidate.time < previous.time) return "entry is dated before the author's previous entry";
    if (previous.signed.entry.body.type === 'room.left') return 'the author has left this room';
  }
  if (candidate === creation) return null;

  if (!fold.memberKeys.has(entry.author)) return 'author is not a member of this room';
  const addedBy = fold.members.find((member) => member.ref.signPublicKey === entry.author)?.addedBy ?? null;
  const { body } = entry;
  if (entry.seq === 1 && body.type !== 'room.joined') return "a member's first entry must be room.joined";
  switch (body.type) {
    case 'room.created':
      return 'the room was already created';
    case 'room.joined': {
      if (entry.seq !== 1) return 'the author has already joined';
      if (addedBy === null) {
        if (body.amendment !== undefined) return 'a member invited by the room definition joins without naming an amendment';
        if (candidate.time > parseTime(definition.invitationExpiresAt)) return `invitation expired on ${definition.invitationExpiresAt}`;
        return null;
      }
      const amendment = body.amendment === undefined ? undefined : fold.amendments.get(body.amendment);
      if (amendment === undefined || !amendment.accepted || !amendment.addMembers.some((ref) => ref.signPublicKey === entry.author)) {
        return 'room.joined must name the accepted amendment that added this member';
      }
      return null;
    }
    case 'room.left':
      return null;
    case 'amendment.proposed': {
      if (body.addMembers.length === 0) return 'the amendment adds no members';
      // Checked against the definition's members only, which every home knows from the start;
      // a clash with someone another amendment added meanwhile is settled when it is accepted.
      return membersProblem(body.addMembers, definition.members);
    }
    case 'amendment.signed': {
      const amendment = fold.amendments.get(body.amendment);
      if (amendment === undefined) return 'the signature names an unknown amendment';
      if (amendment.proposedBy === entry.author) return "the proposer's proposal already counts as their signature";
      for (let seq = entry.seq - 1; seq >= 1; seq--) {
        const earlier = validByAuthorSeq.get(`${entry.author}#${seq}`)?.signed.entry.body;
        if (earlier?.type === 'amendment.signed' && earlier.amendment === body.amendment) return 'the author already signed this amendment';
      }
      return null;
    }
    case 'asset.added':
    case 'snapshot.added':
    case 'approval.granted':
    case 'approval.revoked':
    case 'run.finished':
    case 'output.released':
      return null;
  }
}

/** Content kinds in the order they are applied: each refers only to kinds before it. */
const contentLayers = ['asset.added', 'snapshot.added', 'approval.granted', 'approval.revoked', 'run.finished', 'output.released'] as const;

/** Why a valid entry's content cannot take effect, given what earlier layers and entries added, or null. */
function contentProblem(roomId: string, candidate: Candidate, fold: Fold, content: Content): string | null {
  const { body } = candidate.signed.entry;
  switch (body.type) {
    case 'asset.added':
      return assetAddedProblem(roomId, candidate, body.descriptor, fold, content);
    case 'snapshot.added':
      return snapshotAddedProblem(roomId, candidate, body.snapshot, fold, content, (key) => aliasIn(fold, key));
    case 'approval.granted':
      return approvalGrantedProblem(candidate, body.approval, content);
    case 'approval.revoked':
      return approvalRevokedProblem(candidate, body.approval, content);
    case 'run.finished':
      return runFinishedProblem(roomId, candidate, body.run, body.receipt, fold, content);
    case 'output.released':
      return outputReleasedProblem(candidate, body.release, content);
    default:
      return null;
  }
}

/**
 * Applies the content of valid entries (in log order) layer by layer, settling each conflict:
 * an entry whose content breaks a rule is set aside, a second asset with a taken name is renamed,
 * and a run that used an approval revoked before it was recorded is noted. Also notes the
 * amendments whose additions clashed. A function of `valid` and `fold` alone.
 */
function settleContent(roomId: string, valid: readonly Candidate[], fold: Fold): { content: Content; settlements: Map<string, Settlement> } {
  const content = emptyContent();
  const settlements = new Map<string, Settlement>();
  const aliasOf = (key: string): string => aliasIn(fold, key);
  for (const amendment of fold.amendments.values()) {
    if (amendment.notes.length > 0) settlements.set(amendment.id, { kind: 'noted', text: amendment.notes.join('; ') });
  }
  for (const layer of contentLayers) {
    for (const candidate of valid) {
      const { body } = candidate.signed.entry;
      if (body.type !== layer) continue;
      const problem = contentProblem(roomId, candidate, fold, content);
      if (problem !== null) {
        settlements.set(candidate.id, { kind: 'set-aside', text: `not applied: ${problem}` });
        continue;
      }
      if (body.type === 'asset.added') {
        const { name } = body.descriptor;
        const holder = content.assets.get(content.assetNames.get(name) ?? '');
        if (holder === undefined) {
          applyContent(content, candidate);
          continue;
        }
        const renamed = renamedAssetName(name, hashCanonical(body.descriptor));
        if (content.assetNames.has(renamed)) {
          settlements.set(candidate.id, { kind: 'set-aside', text: `not applied: assets named ${name} and ${renamed} already exist` });
          continue;
        }
        applyContent(content, candidate, renamed);
        settlements.set(candidate.id, { kind: 'renamed', text: `renamed ${renamed}: ${aliasOf(holder.owner)} added an asset named ${name} first` });
        continue;
      }
      applyContent(content, candidate);
      if (body.type === 'run.finished') {
        // A revocation and a run can cross between homes: the runner ran before the revocation
        // reached them. The run stands (its receipt is honest); the log says what crossed.
        const crossed = body.receipt.receipt.approvals
          .map((id) => content.approvals.get(id))
          .filter((approval): approval is ApprovalFold => approval !== undefined && approval.revokedAt !== null && parseTime(approval.revokedAt) <= candidate.time);
        if (crossed.length > 0) {
          const who = listAliases([...new Set(crossed.map((approval) => aliasOf(approval.approver)))]);
          settlements.set(candidate.id, { kind: 'noted', text: `ran on ${who}'s approval, revoked before this run was recorded: the revocation had not reached the runner` });
        }
      }
    }
  }
  return { content, settlements };
}

/**
 * Finds the valid subset of `entries`. `preferred` ids win equivocation ties (entries already
 * known); other equivocating pairs are all set aside and reported.
 */
function evaluate(
  roomId: string,
  entries: readonly unknown[],
  now: Date,
  preferred: ReadonlySet<string>,
): Evaluation & { equivocations: Equivocation[]; structural: Map<number, string>; idsByIndex: (string | null)[]; duplicateIndexes: Set<number> } {
  const reasons = new Map<string, string>();
  const structural = new Map<number, string>();
  const idsByIndex: (string | null)[] = [];
  const duplicateIndexes = new Set<number>();
  const byId = new Map<string, Candidate>();
  const latest = now.getTime() + maxClockSkewMs;

  entries.forEach((raw, index) => {
    const checked = parse(signedEntrySchema, raw);
    if (!checked.ok) {
      idsByIndex.push(null);
      structural.set(index, `entry is malformed: ${checked.issue.message}`);
      return;
    }
    const signed = checked.value;
    const id = entryId(signed.entry);
    idsByIndex.push(id);
    if (byId.has(id)) {
      duplicateIndexes.add(index);
      return;
    }
    const time = parseTime(signed.entry.at);
    let problem: string | null = null;
    if (signed.entry.room !== roomId) problem = 'entry belongs to another room';
    else if (Number.isNaN(time)) problem = 'entry has an invalid time';
    else if (time > latest) problem = `entry is dated in the future (${signed.entry.at})`;
    else if (!verifyEntrySignature(signed)) problem = 'signature does not match';
    if (problem !== null) {
      structural.set(index, problem);
      return;
    }
    byId.set(id, { signed, id, time });
  });

  // Equivocation: two validly signed entries with one author and seq.
  const equivocations: Equivocation[] = [];
  const byAuthorSeq = new Map<string, Candidate[]>();
  for (const candidate of byId.values()) {
    const key = authorSeqKey(candidate.signed);
    byAuthorSeq.set(key, [...(byAuthorSeq.get(key) ?? []), candidate]);
  }
  const candidates: Candidate[] = [];
  for (const group of byAuthorSeq.values()) {
    if (group.length === 1) {
      candidates.push(group[0] as Candidate);
      continue;
    }
    group.sort((a, b) => (a.id < b.id ? -1 : 1));
    const kept = group.find((candidate) => preferred.has(candidate.id)) ?? null;
    const reference = kept ?? (group[0] as Candidate);
    if (kept !== null) candidates.push(kept);
    for (const other of group) {
      if (other === reference) continue;
      const { author, seq } = other.signed.entry;
      equivocations.push({ author, seq, known: reference.signed, incoming: other.signed });
      reasons.set(other.id, `equivocation: another entry ${seq} from this author is already known`);
    }
    if (kept === null) reasons.set(reference.id, `equivocation: another entry ${reference.signed.entry.seq} from this author exists`);
  }
  candidates.sort(compareCandidates);
  const presentAuthorSeq = new Set(candidates.map((candidate) => authorSeqKey(candidate.signed)));

  // The room's creation: the creator's seq 1, whose definition hashes to the room id.
  let creation: Candidate | null = null;
  let definition: RoomDefinition | null = null;
  const refusedOutright = new Set<string>();
  for (const candidate of candidates) {
    const { body, author, seq, prev } = candidate.signed.entry;
    if (body.type !== 'room.created') continue;
    let problem: string | null = null;
    if (roomIdOf(body.definition) !== roomId) problem = 'the room id does not match the definition';
    else if (author !== body.definition.createdBy || seq !== 1 || prev !== null) problem = "room.created must be the creator's first entry";
    else problem = roomDefinitionProblem(body.definition);
    if (problem !== null) {
      reasons.set(candidate.id, problem);
      refusedOutright.add(candidate.id);
      continue;
    }
    // Equivocation handling leaves at most one seq 1 per author, so at most one passes.
    creation = candidate;
    definition = body.definition;
  }
  if (creation === null || definition === null) {
    for (const candidate of candidates) if (!reasons.has(candidate.id)) reasons.set(candidate.id, "the room's creation entry is missing");
    return { definition: null, valid: [], reasons, content: emptyContent(), settlements: new Map(), equivocations, structural, idsByIndex, duplicateIndexes };
  }

  const validIds = new Set<string>();
  const validByAuthorSeq = new Map<string, Candidate>();
  let valid: Candidate[] = [];
  for (let progress = true; progress; ) {
    progress = false;
    const fold = foldEntries(definition, valid);
    for (const candidate of candidates) {
      if (validIds.has(candidate.id) || refusedOutright.has(candidate.id)) continue;
      const problem = entryProblem(candidate, creation, fold, validByAuthorSeq, presentAuthorSeq);
      if (problem !== null) {
        reasons.set(candidate.id, problem);
        continue;
      }
      reasons.delete(candidate.id);
      validIds.add(candidate.id);
      validByAuthorSeq.set(authorSeqKey(candidate.signed), candidate);
      progress = true;
    }
    valid = candidates.filter((candidate) => validIds.has(candidate.id));
  }
  const { content, settlements } = settleContent(roomId, valid, foldEntries(definition, valid));
  return { definition, valid, reasons, content, settlements, equivocations, structural, idsByIndex, duplicateIndexes };
}

/** Decides which incoming entries (from one packet) join the known ones for a room. */
export function mergeEntries(roomId: string, known: readonly SignedEntry[], incoming: readonly SignedEntry[], now: Date): MergeResult {
  const knownIds = new Set<string>();
  for (const signed of known) {
    try {
      knownIds.add(entryId(signed.entry));
    } catch {
      // A stored entry that cannot even be encoded takes no part; evaluate() refuses it.
    }
  }
  const all: unknown[] = [...known, ...incoming];
  const result = evaluate(roomId, all, now, knownIds);
  const validIds = new Set(result.valid.map((candidate) => candidate.id));
  const equivocatingIncoming = new Set(
    result.equivocations.flatMap((equivocation) => [equivocation.known, equivocation.incoming]).map((signed) => entryId(signed.entry)),
  );

  const accepted = new Set<string>();
  const refused: RefusedEntry[] = [];
  const reported = new Set<string>();
  let ignored = 0;
  incoming.forEach((signed, offset) => {
    const index = known.length + offset;
    const id = result.idsByIndex[index] ?? null;
    if (id !== null && (knownIds.has(id) || reported.has(id) || accepted.has(id))) {
      ignored++;
      return;
    }
    if (id !== null) reported.add(id);
    if (id !== null && equivocatingIncoming.has(id)) return; // reported as an equivocation, not a refusal
    if (id !== null && validIds.has(id)) {
      accepted.add(id);
      return;
    }
    const reason = result.structural.get(index) ?? (id === null ? undefined : result.reasons.get(id)) ?? 'entry was refused';
    refused.push({ entry: signed, reason });
  });

  const acceptedCandidates = result.valid.filter((candidate) => accepted.has(candidate.id));
  const settled: SettledEntry[] = [];
  for (const candidate of acceptedCandidates) {
    const settlement = result.settlements.get(candidate.id);
    if (settlement !== undefined) settled.push({ entry: candidate.signed, settlement });
  }
  return {
    accepted: acceptedCandidates.map((candidate) => candidate.signed),
    settled,
    ignored,
    refused,
    equivocations: result.equivocations.filter((equivocation) => !knownIds.has(entryId(equivocation.incoming.entry))),
  };
}

export type MemberStatus = 'invited' | 'joined' | 'left';

export interface MemberState extends MemberRef {
  readonly status: MemberStatus;
  /** Id of the amendment that added them; null for the definition's members. */
  readonly addedBy: string | null;
}

export interface AmendmentState {
  readonly id: string;
  readonly proposedBy: string;
  readonly addMembers: readonly MemberRef[];
  readonly signedBy: readonly string[];
  readonly waitingFor: readonly string[];
  readonly status: 'pending' | 'accepted';
}

export interface LogItem {
  readonly id: string;
  readonly author: string;
  readonly seq: number;
  readonly at: string;
  readonly type: EntryType;
  readonly summary: string;
  /** How a conflict involving this entry was settled, or null. */
  readonly settlement: Settlement | null;
}

export interface RoomState {
  readonly id: string;
  readonly definition: RoomDefinition;
  readonly policy: Policy;
  readonly members: readonly MemberState[];
  /** pending: not every invited member has joined; active: all have; expired: invitation ran out; closed: fewer than 2 remain. */
  readonly status: 'pending' | 'active' | 'closed' | 'expired';
  readonly amendments: readonly AmendmentState[];
  /** Every entry, oldest first (by time, then author, then seq): the same order in every home. */
  readonly log: readonly LogItem[];
  /** Tables and volumes, in the order they were added. */
  readonly assets: readonly AssetState[];
  /** Notebook snapshots, in the order they were added, with their approvals. */
  readonly snapshots: readonly SnapshotState[];
  /** Finished runs (every member's run.finished), oldest first. */
  readonly runs: readonly FinishedRun[];
  /** Releases of runs' outputs, oldest first. */
  readonly releases: readonly ReleaseState[];
  readonly updatedAt: string;
}

/** "A", "A and B", "A, B and C". */
function listAliases(aliases: readonly string[]): string {
  if (aliases.length <= 1) return aliases.join('');
  return `${aliases.slice(0, -1).join(', ')} and ${aliases[aliases.length - 1] as string}`;
}

function summarise(
  candidate: Candidate,
  definition: RoomDefinition,
  aliasOf: (key: string) => string,
  amendments: Map<string, AmendmentFold>,
  content: Content,
): string {
  const { author, body } = candidate.signed.entry;
  const who = aliasOf(author);
  const adding = (members: readonly MemberRef[]): string => listAliases(members.map((member) => member.alias));
  switch (body.type) {
    case 'room.created':
      return `${who} created the room “${definition.name}” with ${definition.members.length} members`;
    case 'room.joined':
      return `${who} joined`;
    case 'room.left':
      return `${who} left`;
    case 'amendment.proposed':
      return `${who} proposed adding ${adding(body.addMembers)}`;
    case 'amendment.signed': {
      const amendment = amendments.get(body.amendment);
      return amendment === undefined ? `${who} signed an amendment` : `${who} signed the amendment adding ${adding(amendment.addMembers)}`;
    }
    case 'asset.added': {
      const { descriptor } = body;
      if (descriptor.kind === 'table') return `${who} added table ${descriptor.name} (${plural(descriptor.columns.length, 'column')})`;
      return `${who} added ${descriptor.private ? 'private ' : ''}volume ${descriptor.name}${descriptor.private ? '' : ` (${plural(descriptor.files.length, 'file')})`}`;
    }
    case 'snapshot.added':
      return `${who} added notebook “${body.snapshot.name}” (snapshot ${snapshotIdOf(body.snapshot).slice(0, 6)}…)`;
    case 'approval.granted': {
      const { approval } = body;
      const name = content.snapshots.get(approval.snapshot)?.snapshot.name;
      const what = name === undefined ? `snapshot ${approval.snapshot.slice(0, 6)}…` : `“${name}”`;
      return `${who} approved ${what} for ${aliasOf(approval.runner)}, ${plural(approval.maxRuns, 'run')}, until ${displayTime(approval.expiresAt)}`;
    }
    case 'approval.revoked': {
      const snapshotId = content.approvals.get(body.approval)?.approval.snapshot;
      const name = snapshotId === undefined ? undefined : content.snapshots.get(snapshotId)?.snapshot.name;
      return `${who} revoked their approval of ${name === undefined ? 'a snapshot' : `“${name}”`}`;
    }
    case 'run.finished': {
      const { receipt } = body.receipt;
      const what = snapshotName(content, receipt.snapshot);
      const suppressed = receipt.outputs.reduce((sum, output) => sum + output.suppressedRows, 0);
      if (receipt.status === 'succeeded') return `${who} ran ${what} (succeeded, ${plural(suppressed, 'value')} withheld)`;
      if (receipt.status === 'cancelled') return `${who} ran ${what} (cancelled)`;
      const failure = receipt.failure;
      const where = failure?.cell === null || failure?.cell === undefined ? '' : ` in cell ${failure.cell}`;
      return `${who} ran ${what} (failed: ${failure?.class ?? 'error'}${where})`;
    }
    case 'output.released': {
      const { release } = body;
      return `${who} released ${plural(release.outputs.length, 'output')} of ${snapshotName(content, release.snapshot)} to ${listAliases(release.recipients.map(aliasOf))}`;
    }
  }
}

function snapshotName(content: Content, snapshotId: string): string {
  const name = content.snapshots.get(snapshotId)?.snapshot.name;
  return name === undefined ? `snapshot ${snapshotId.slice(0, 6)}…` : `“${name}”`;
}

/** The room's state from its entries (already merged and valid). */
export function deriveRoomState(roomId: string, entries: readonly SignedEntry[], now: Date): RoomState {
  const { definition, valid, content, settlements } = evaluate(roomId, entries, now, new Set());
  if (definition === null) throw new CleanroomError('INTERNAL', 'The room has no valid creation entry.');
  const fold = foldEntries(definition, valid);

  const aliases = new Map<string, string>();
  for (const amendment of fold.amendments.values()) for (const ref of amendment.addMembers) aliases.set(ref.signPublicKey, ref.alias);
  for (const member of fold.members) aliases.set(member.ref.signPublicKey, member.ref.alias);
  const aliasOf = (key: string): string => aliases.get(key) ?? `member ${key.slice(0, 8)}`;

  const members: MemberState[] = fold.members.map(({ ref, addedBy }) => ({
    alias: ref.alias,
    signPublicKey: ref.signPublicKey,
    boxPublicKey: ref.boxPublicKey,
    status: fold.status.get(ref.signPublicKey) ?? 'invited',
    addedBy,
  }));

  const everyInitialMemberJoined = definition.members.every((member) => fold.status.has(member.signPublicKey));
  const joinedCount = members.filter((member) => member.status === 'joined').length;
  const someoneLeft = members.some((member) => member.status === 'left');
  let status: RoomState['status'];
  if (someoneLeft && joinedCount < minMembers) status = 'closed';
  else if (everyInitialMemberJoined) status = 'active';
  else status = now.getTime() > parseTime(definition.invitationExpiresAt) ? 'expired' : 'pending';

  const amendments: AmendmentState[] = [...fold.amendments.values()].map((amendment) => ({
    id: amendment.id,
    proposedBy: amendment.proposedBy,
    addMembers: amendment.addMembers,
    signedBy: [...amendment.signedBy],
    waitingFor: amendment.accepted ? [] : waitingFor(amendment, fold.status),
    status: amendment.accepted ? 'accepted' : 'pending',
  }));

  const log: LogItem[] = valid.map((candidate) => ({
    id: candidate.id,
    author: candidate.signed.entry.author,
    seq: candidate.signed.entry.seq,
    at: candidate.signed.entry.at,
    type: candidate.signed.entry.body.type,
    summary: summarise(candidate, definition, aliasOf, fold.amendments, content),
    settlement: settlements.get(candidate.id) ?? null,
  }));

  const freezeApproval = (approval: ApprovalFold): ApprovalState => ({ ...approval });
  const snapshots: SnapshotState[] = [...content.snapshots.values()].map((snapshot) => ({
    id: snapshot.id,
    snapshot: snapshot.snapshot,
    author: snapshot.author,
    addedAt: snapshot.addedAt,
    entry: snapshot.entry,
    approvals: new Map([...snapshot.latest].map(([member, approval]) => [member, freezeApproval(approval)])),
    grants: snapshot.grants.map(freezeApproval),
  }));

  return {
    id: roomId,
    definition,
    policy: definition.policy,
    members,
    status,
    amendments,
    log,
    assets: [...content.assets.values()],
    snapshots,
    runs: [...content.runs.values()],
    releases: [...content.releases.values()],
    updatedAt: (valid[valid.length - 1] as Candidate).signed.entry.at,
  };
}
/** "2030-03-11 09:00 UTC": times in summaries and reasons, the same in every home. */
export function displayTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;

/**
 * How many recorded runs (run.finished entries) used each approval, by approval.granted entry id.
 * Core takes the larger of this and its own runs table: a run counts from the moment it starts.
 */
export function feedRunsByApproval(state: RoomState): Map<string, number> {
  const used = new Map<string, number>();
  for (const run of state.runs) for (const approval of run.receipt.receipt.approvals) used.set(approval, (used.get(approval) ?? 0) + 1);
  return used;
}

/**
 * A snapshot's approval matrix at `now`. `runsUsedByApproval(id)` counts the runs already made
 * under the approval.granted entry `id` (core keeps the run records). One row per member who has
 * not left, in the room's member order. Throws NOT_FOUND for a snapshot not in the room.
 */
export function snapshotStatus(state: RoomState, snapshotId: string, now: Date, runsUsedByApproval: (approvalId: string) => number): ApprovalStatus {
  const found = state.snapshots.find((snapshot) => snapshot.id === snapshotId);
  if (found === undefined) throw new CleanroomError('NOT_FOUND', `No snapshot ${snapshotId.slice(0, 12)} in room “${state.definition.name}”.`);
  const { snapshot } = found;
  const aliasOf = (key: string): string => state.members.find((member) => member.signPublicKey === key)?.alias ?? `member ${key.slice(0, 8)}`;
  const time = now.getTime();

  type Judged = { state: 'approved' | 'missing' | 'expired' | 'revoked' | 'used-up'; approval: ApprovalState | null; runsLeft: number | null };
  const judge = (member: string): Judged => {
    const approval = found.approvals.get(member) ?? null;
    if (approval === null) return { state: 'missing', approval, runsLeft: null };
    const runsLeft = Math.max(0, approval.approval.maxRuns - runsUsedByApproval(approval.id));
    if (approval.revokedAt !== null) return { state: 'revoked', approval, runsLeft };
    if (time >= parseTime(approval.approval.expiresAt)) return { state: 'expired', approval, runsLeft };
    if (runsLeft === 0) return { state: 'used-up', approval, runsLeft };
    return { state: 'approved', approval, runsLeft };
  };
  const released = (ref: Snapshot['assets'][number]): boolean => {
    const judged = judge(ref.owner);
    return judged.state === 'approved' && (judged.approval?.approval.keys.some((key) => key.asset === ref.asset) ?? false);
  };

  const reasons: string[] = [];
  const explained = new Set<string>();
  const current = state.members.filter((member) => member.status !== 'left');
  const members: ApprovalStatus['members'] = current.map((member) => {
    const key = member.signPublicKey;
    const judged = judge(key);
    const isAuthor = key === found.author;
    // The author's adding counts as their approval, but keys to their own assets still travel in
    // their approval.granted: once that is used up, expired or revoked, say so rather than "key not released".
    const authorKeysNeeded = isAuthor && judged.state !== 'missing' && snapshot.assets.some((ref) => ref.owner === key);
    if (!isAuthor || authorKeysNeeded) {
      const expiresAt = judged.approval?.approval.expiresAt ?? '';
      const why = {
        approved: null,
        missing: `waiting for ${member.alias}'s approval`,
        expired: `${member.alias}'s approval expired on ${displayTime(expiresAt)}`,
        revoked: `${member.alias} revoked their approval`,
        'used-up': `${member.alias}'s approval has no runs left`,
      }[judged.state];
      if (why !== null) {
        reasons.push(why);
        explained.add(key);
      }
    }
    return {
      alias: member.alias,
      key,
      state: isAuthor ? 'author' : judged.state,
      expiresAt: judged.approval?.approval.expiresAt ?? null,
      runsLeft: judged.runsLeft,
      keys: snapshot.assets.filter((ref) => ref.owner === key).map((ref) => ({ asset: ref.name, released: released(ref) })),
    };
  });

  if (state.status === 'closed') reasons.push('the room is closed');
  if (!current.some((member) => member.signPublicKey === snapshot.runner)) reasons.push(`the runner ${aliasOf(snapshot.runner)} has left the room`);
  // A key is only worth a line of its own when its owner's approval does not already explain it.
  for (const ref of snapshot.assets) {
    if (!released(ref) && !explained.has(ref.owner)) reasons.push(`key for ${ref.kind} ${ref.name} not released by ${aliasOf(ref.owner)}`);
  }
  const allKeysReleased = snapshot.assets.every(released);
  return { members, canRun: reasons.length === 0 && allKeysReleased, reasons };
}

