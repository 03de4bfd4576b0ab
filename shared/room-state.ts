// A room's state, derived from the union of its members' feeds: order-free and idempotent.
//
// Rules (mergeEntries refuses what breaks them; deriveRoomState applies the same checks, so the
// state is a function of the set of entries alone, never of the order they arrived in):
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
// - amendment.proposed (its entry id is the amendment id) adds members that are not members yet.
//   It needs amendment.signed from every member joined when it was proposed, by the log order
//   below, except those who have left since; the proposal counts as the proposer's signature.
//   Once every one has signed, it is accepted and its members are invited.
// - Room status: pending until every initial member has joined, then active; expired while
//   still pending after the invitation expiry; closed once someone has left and fewer than two
//   members remain joined.
// - The log is ordered by (time, author, seq): the same in every home. Because membership can
//   depend on amendments signed in feeds that sort later, validity is found by iterating to a
//   fixpoint over the whole set in that order.
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

export interface MergeResult {
  /** New, valid entries, in an order that keeps every author's chain intact. Store these. */
  readonly accepted: readonly SignedEntry[];
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
}

interface Fold {
  readonly definition: RoomDefinition;
  /** Definition members, then members added by amendments in the order they were accepted. */
  readonly members: { ref: MemberRef; addedBy: string | null }[];
  readonly memberKeys: Set<string>;
  /** Joined/left by signing key, whether or not their amendment is accepted yet at that point. */
  readonly status: Map<string, 'joined' | 'left'>;
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
    amendments: new Map(),
  };
  const acceptIfComplete = (amendment: AmendmentFold): void => {
    if (amendment.accepted || waitingFor(amendment, fold.status).length > 0) return;
    amendment.accepted = true;
    for (const ref of amendment.addMembers) {
      // Two concurrent amendments may add the same person; the first accepted adds them.
      if (fold.memberKeys.has(ref.signPublicKey)) continue;
      fold.members.push({ ref, addedBy: amendment.id });
      fold.memberKeys.add(ref.signPublicKey);
    }
  };
  for (const candidate of ordered) {
    const { author, body } = candidate.signed.entry;
    switch (body.type) {
      case 'room.created':
      case 'room.joined':
        fold.status.set(author, 'joined');
        break;
      case 'room.left':
        fold.status.set(author, 'left');
        // Someone who left is no longer waited for.
        for (const amendment of fold.amendments.values()) acceptIfComplete(amendment);
        break;
      case 'amendment.proposed': {
        const required = fold.members
          .map((member) => member.ref.signPublicKey)
          .filter((key) => fold.status.get(key) === 'joined' || key === author);
        const amendment: AmendmentFold = { id: candidate.id, proposedBy: author, addMembers: body.addMembers, required, signedBy: [author], accepted: false };
        fold.amendments.set(candidate.id, amendment);
        acceptIfComplete(amendment);
        break;
      }
      case 'amendment.signed': {
        const amendment = fold.amendments.get(body.amendment);
        if (amendment === undefined) break;
        if (!amendment.signedBy.includes(author)) amendment.signedBy.push(author);
        acceptIfComplete(amendment);
        break;
      }
    }
  }
  return fold;
}

// ---- Validation to a fixpoint ------------------------------------------------------------------

interface Evaluation {
  readonly definition: RoomDefinition | null;
  /** Valid entries in log order. */
  readonly valid: readonly Candidate[];
  /** Why each structurally sound but invalid entry was refused, by id. */
  readonly reasons: Map<string, string>;
}

/** Why `candidate` cannot be accepted given the entries already found valid, or null. */
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
      return membersProblem(
        body.addMembers,
        fold.members.map((member) => member.ref),
      );
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
  }
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
    return { definition: null, valid: [], reasons, equivocations, structural, idsByIndex, duplicateIndexes };
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
  return { definition, valid, reasons, equivocations, structural, idsByIndex, duplicateIndexes };
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

  return {
    accepted: result.valid.filter((candidate) => accepted.has(candidate.id)).map((candidate) => candidate.signed),
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
  readonly updatedAt: string;
}

/** "A", "A and B", "A, B and C". */
function listAliases(aliases: readonly string[]): string {
  if (aliases.length <= 1) return aliases.join('');
  return `${aliases.slice(0, -1).join(', ')} and ${aliases[aliases.length - 1] as string}`;
}

function summarise(candidate: Candidate, definition: RoomDefinition, aliasOf: (key: string) => string, amendments: Map<string, AmendmentFold>): string {
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
  }
}

/** The room's state from its entries (already merged and valid). */
export function deriveRoomState(roomId: string, entries: readonly SignedEntry[], now: Date): RoomState {
  const { definition, valid } = evaluate(roomId, entries, now, new Set());
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
    summary: summarise(candidate, definition, aliasOf, fold.amendments),
  }));

  return {
    id: roomId,
    definition,
    policy: definition.policy,
    members,
    status,
    amendments,
    log,
    updatedAt: (valid[valid.length - 1] as Candidate).signed.entry.at,
  };
}
