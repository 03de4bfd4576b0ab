// Rooms as this home knows them: their definitions, every member's stored feed entries, and the
// alerts raised about them. A room's state is never stored; it is derived from the entries each
// time (shared/room-state.ts), so every home holding the same entries shows the same room.
import type Database from 'better-sqlite3';
import { canonicalString, decodeCanonical } from '../../shared/canonical.js';
import { fingerprintOf, fromBase64Url, randomBytes, toBase64Url } from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';
import { entryId, nextEntry, roomIdOf, signEntry } from '../../shared/feed.js';
import { type IdentityPublic } from '../../shared/identity.js';
import {
  type AlertView,
  type AmendmentView,
  defaultInvitationDays,
  defaultPolicy,
  type EntryBody,
  type LogEntryView,
  maxMembersAtCreation,
  type MemberRef,
  type MemberView,
  minMembers,
  type Policy,
  type RoomDefinition,
  type RoomDetail,
  type RoomSummary,
  type SignedEntry,
  type UnsignedEntry,
} from '../../shared/room.js';
import { deriveRoomState, type Equivocation, mergeEntries, type MemberState, roomDefinitionProblem, type RoomState } from '../../shared/room-state.js';
import { type Contacts } from './contacts.js';
import { type UnlockedKeys } from './keystore.js';

interface RoomRow {
  id: string;
  name: string;
  definition: string;
  origin: 'created' | 'invitation';
  added_at: string;
}

interface EntryRow {
  entry: string;
  signature: string;
}

interface AlertRow {
  kind: 'equivocation' | 'invalid-entry';
  author: string;
  seq: number;
  detail: string;
  raised_at: string;
}

/** A stored room: its id and definition. */
export interface StoredRoom {
  readonly id: string;
  readonly name: string;
  readonly definition: RoomDefinition;
}

export interface CreateRoomRequest {
  readonly name: string;
  readonly site?: string;
  readonly members: readonly string[];
  readonly mode?: Policy['mode'];
  readonly minGroupSize?: number;
  readonly outputRetentionDays?: number;
  readonly invitationDays?: number;
}

const dayMs = 24 * 60 * 60 * 1000;
const minIdPrefix = 6;

const decodeStored = (text: string): unknown => decodeCanonical(Buffer.from(text, 'utf8'), 'stored entry');

const refOf = (member: { alias: string; signPublicKey: string; boxPublicKey: string }): MemberRef => ({
  alias: member.alias,
  signPublicKey: member.signPublicKey,
  boxPublicKey: member.boxPublicKey,
});

const shortId = (id: string): string => id.slice(0, 12);

/** "2025-03-14 09:30 UTC": how dates appear in messages. */
const readableTime = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

/**
 * Names for keys in views. Members carry their alias in the room's definition or amendment; a key
 * seen nowhere (an alert about a stranger) is shown as a short fingerprint of the key itself.
 */
export class AliasBook {
  private readonly names = new Map<string, string>();

  constructor(members: Iterable<{ alias: string; signPublicKey: string }>) {
    for (const member of members) if (!this.names.has(member.signPublicKey)) this.names.set(member.signPublicKey, member.alias);
  }

  of(key: string): string {
    const known = this.names.get(key);
    if (known !== undefined) return known;
    try {
      return `Unknown ${Buffer.from(fromBase64Url(key)).toString('hex').slice(0, 8)}`;
    } catch {
      return 'Unknown';
    }
  }
}

export class Rooms {
  constructor(
    private readonly db: Database.Database,
    private readonly contacts: Contacts,
    private readonly clock: () => Date,
  ) {}

  // ---- storage ---------------------------------------------------------------------------------

  private rows(): RoomRow[] {
    return this.db.prepare('SELECT * FROM rooms ORDER BY name, id').all() as RoomRow[];
  }

  private storedOf(row: RoomRow): StoredRoom {
    return { id: row.id, name: row.name, definition: decodeStored(row.definition) as RoomDefinition };
  }

  find(id: string): StoredRoom | null {
    const row = this.db.prepare('SELECT * FROM rooms WHERE id = ?').get(id) as RoomRow | undefined;
    return row === undefined ? null : this.storedOf(row);
  }

  /** Every stored entry of a room, each author's feed in order. */
  entriesOf(roomId: string): SignedEntry[] {
    const rows = this.db.prepare('SELECT entry, signature FROM entries WHERE room = ? ORDER BY author, seq').all(roomId) as EntryRow[];
    return rows.map((row) => ({ entry: decodeStored(row.entry) as UnsignedEntry, signature: row.signature }));
  }

  insertRoom(definition: RoomDefinition, origin: RoomRow['origin']): string {
    const id = roomIdOf(definition);
    this.db
      .prepare('INSERT INTO rooms (id, name, definition, origin, added_at) VALUES (?, ?, ?, ?, ?)')
      .run(id, definition.name, canonicalString(definition), origin, this.clock().toISOString());
    return id;
  }

  /** Stores entries mergeEntries accepted. */
  insertEntries(roomId: string, entries: readonly SignedEntry[]): void {
    const insert = this.db.prepare(
      'INSERT INTO entries (room, author, seq, id, entry, signature, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const receivedAt = this.clock().toISOString();
    for (const signed of entries) {
      insert.run(roomId, signed.entry.author, signed.entry.seq, entryId(signed.entry), canonicalString(signed.entry), signed.signature, receivedAt);
    }
  }

  /** Records an equivocation; returns false when the same conflict was already recorded. */
  insertEquivocation(roomId: string, equivocation: Equivocation, detail: string): boolean {
    const result = this.db
      .prepare(
        `INSERT OR IGNORE INTO alerts (room, kind, author, seq, detail, raised_at, kept_entry, conflicting_entry)
         VALUES (?, 'equivocation', ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        roomId,
        equivocation.author,
        equivocation.seq,
        detail,
        this.clock().toISOString(),
        canonicalString(equivocation.known),
        canonicalString(equivocation.incoming),
      );
    return result.changes > 0;
  }

  private alertsOf(roomId: string, book: AliasBook): AlertView[] {
    const rows = this.db
      .prepare('SELECT kind, author, seq, detail, raised_at FROM alerts WHERE room = ? ORDER BY id')
      .all(roomId) as AlertRow[];
    return rows.map((row) => ({ kind: row.kind, author: book.of(row.author), authorKey: row.author, seq: row.seq, detail: row.detail, at: row.raised_at }));
  }

  private alertCount(roomId: string): number {
    return (this.db.prepare('SELECT count(*) AS n FROM alerts WHERE room = ?').get(roomId) as { n: number }).n;
  }

  // ---- finding rooms ---------------------------------------------------------------------------

  /** A room by full id, unique id prefix (at least 6 hex digits) or exact name. */
  resolve(ref: string): StoredRoom {
    const wanted = ref.trim();
    const rows = this.rows();
    const exact = rows.find((row) => row.id === wanted.toLowerCase());
    if (exact !== undefined) return this.storedOf(exact);
    const byPrefix =
      wanted.length >= minIdPrefix && /^[0-9a-fA-F]+$/.test(wanted) ? rows.filter((row) => row.id.startsWith(wanted.toLowerCase())) : [];
    const exactName = rows.filter((row) => row.name === wanted);
    // Typed names often differ in case only; that is still unambiguous when one room matches.
    const byName = exactName.length > 0 ? exactName : rows.filter((row) => row.name.toLowerCase() === wanted.toLowerCase());
    const matches = [...new Map([...byPrefix, ...byName].map((row) => [row.id, row])).values()];
    if (matches.length === 1) return this.storedOf(matches[0] as RoomRow);
    if (matches.length === 0) {
      const hint =
        /^[0-9a-fA-F]+$/.test(wanted) && wanted.length < minIdPrefix ? ` An id prefix needs at least ${minIdPrefix} hex digits.` : '';
      throw new CleanroomError('NOT_FOUND', `No room "${wanted}": give its exact name or its id (or the first ${minIdPrefix}+ digits of it).${hint}`);
    }
    const listed = matches.map((row) => `${row.name} (${shortId(row.id)})`).join(', ');
    throw new CleanroomError('AMBIGUOUS', `"${wanted}" matches ${matches.length} rooms: ${listed}. Use more digits of the id.`);
  }

  state(room: StoredRoom): RoomState {
    return deriveRoomState(room.id, this.entriesOf(room.id), this.clock());
  }

  // ---- views -----------------------------------------------------------------------------------

  private bookFor(state: RoomState, me: IdentityPublic): AliasBook {
    return new AliasBook([
      me,
      ...state.members,
      ...state.definition.members,
      ...state.amendments.flatMap((amendment) => amendment.addMembers),
      ...this.contacts.list(),
    ]);
  }

  private myStatusIn(state: RoomState, me: IdentityPublic): MemberState['status'] {
    return state.members.find((member) => member.signPublicKey === me.signPublicKey)?.status ?? 'invited';
  }

  summaryOf(room: StoredRoom, state: RoomState, me: IdentityPublic): RoomSummary {
    const myStatus = this.myStatusIn(state, me);
    // "invited" is the room's status from where I stand until I join; an expired or closed room
    // says so instead, since joining it is no longer possible.
    const status = myStatus === 'invited' && (state.status === 'pending' || state.status === 'active') ? 'invited' : state.status;
    return {
      id: room.id,
      name: room.definition.name,
      site: room.definition.site,
      status,
      myStatus,
      memberCount: state.members.length,
      joinedCount: state.members.filter((member) => member.status === 'joined').length,
      alertCount: this.alertCount(room.id),
      updatedAt: state.updatedAt,
    };
  }

  detailOf(room: StoredRoom, me: IdentityPublic): RoomDetail {
    const state = this.state(room);
    const book = this.bookFor(state, me);
    const members: MemberView[] = state.members.map((member) => ({
      ...refOf(member),
      ...fingerprintOf(fromBase64Url(member.signPublicKey), fromBase64Url(member.boxPublicKey)),
      status: member.status,
      isMe: member.signPublicKey === me.signPublicKey,
    }));
    const amendments: AmendmentView[] = state.amendments.map((amendment) => ({
      id: amendment.id,
      proposedBy: book.of(amendment.proposedBy),
      addMembers: amendment.addMembers.map(refOf),
      signedBy: amendment.signedBy.map((key) => book.of(key)),
      waitingFor: amendment.waitingFor.map((key) => book.of(key)),
      status: amendment.status,
    }));
    const log: LogEntryView[] = state.log.map((item) => ({
      id: item.id,
      author: book.of(item.author),
      authorKey: item.author,
      seq: item.seq,
      at: item.at,
      type: item.type,
      summary: item.summary,
      settlement: item.settlement?.text ?? null,
    }));
    return {
      summary: this.summaryOf(room, state, me),
      policy: state.policy,
      createdBy: book.of(state.definition.createdBy),
      createdAt: state.definition.createdAt,
      invitationExpiresAt: state.definition.invitationExpiresAt,
      members,
      amendments,
      log,
      alerts: this.alertsOf(room.id, book),
    };
  }

  list(me: IdentityPublic): RoomSummary[] {
    return this.rows().map((row) => {
      const room = this.storedOf(row);
      return this.summaryOf(room, this.state(room), me);
    });
  }

  // ---- changes: each appends one of my entries, in one transaction -----------------------------

  create(request: CreateRoomRequest, me: IdentityPublic, keys: UnlockedKeys): StoredRoom {
    const others: MemberRef[] = [];
    for (const key of new Set(request.members)) {
      if (key === me.signPublicKey) continue;
      const contact = this.contacts.bySignKey(key);
      if (contact === null) {
        throw new CleanroomError('NOT_FOUND', `No contact with signing key ${key}: import their identity card first.`);
      }
      others.push(refOf(contact));
    }
    const total = others.length + 1;
    if (total < minMembers) throw new CleanroomError('BAD_REQUEST', 'A room needs at least one other member besides you.');
    if (total > maxMembersAtCreation) {
      throw new CleanroomError('BAD_REQUEST', `A room starts with at most ${maxMembersAtCreation} members (you and ${maxMembersAtCreation - 1} others); add more later by an amendment.`);
    }
    const now = this.clock();
    const definition: RoomDefinition = {
      format: 'cleanroom-room/1',
      name: request.name,
      site: request.site ?? '',
      createdBy: me.signPublicKey,
      members: [refOf(me), ...others],
      policy: {
        mode: request.mode ?? defaultPolicy.mode,
        minGroupSize: request.minGroupSize ?? defaultPolicy.minGroupSize,
        outputRetentionDays: request.outputRetentionDays ?? defaultPolicy.outputRetentionDays,
      },
      createdAt: now.toISOString(),
      invitationExpiresAt: new Date(now.getTime() + (request.invitationDays ?? defaultInvitationDays) * dayMs).toISOString(),
      nonce: toBase64Url(randomBytes(16)),
    };
    const problem = roomDefinitionProblem(definition);
    if (problem !== null) throw new CleanroomError('NOT_ALLOWED', `Cannot create this room: ${problem}.`);
    const id = roomIdOf(definition);
    const created = signEntry(nextEntry(id, me.signPublicKey, null, { type: 'room.created', definition }, now), keys.signSecretKey);
    this.db.transaction(() => {
      this.insertRoom(definition, 'created');
      this.appendChecked(id, created);
    })();
    return { id, name: definition.name, definition };
  }

  join(room: StoredRoom, me: IdentityPublic, keys: UnlockedKeys): void {
    const state = this.state(room);
    const mine = state.members.find((member) => member.signPublicKey === me.signPublicKey);
    if (mine === undefined) {
      const pending = state.amendments.find(
        (amendment) => amendment.status === 'pending' && amendment.addMembers.some((member) => member.signPublicKey === me.signPublicKey),
      );
      if (pending !== undefined) {
        const book = this.bookFor(state, me);
        throw new CleanroomError(
          'NOT_ALLOWED',
          `You cannot join ${room.name} yet: the amendment adding you still needs ${pending.waitingFor.map((key) => book.of(key)).join(', ')} to sign it.`,
        );
      }
      throw new CleanroomError('NOT_A_MEMBER', `You are not a member of ${room.name}.`);
    }
    if (mine.status === 'joined') throw new CleanroomError('NOT_ALLOWED', `You have already joined ${room.name}.`);
    if (mine.status === 'left') throw new CleanroomError('NOT_ALLOWED', `You have left ${room.name}; a member who left cannot join again.`);
    const now = this.clock();
    if (mine.addedBy === null && now.getTime() > Date.parse(state.definition.invitationExpiresAt)) {
      throw new CleanroomError('NOT_ALLOWED', `The invitation to ${room.name} expired on ${readableTime(state.definition.invitationExpiresAt)}; ask for a new room.`);
    }
    if (state.status === 'closed') throw new CleanroomError('NOT_ALLOWED', `${room.name} is closed.`);
    const body: EntryBody = mine.addedBy === null ? { type: 'room.joined' } : { type: 'room.joined', amendment: mine.addedBy };
    this.appendMine(room, me, keys, body);
  }

  leave(room: StoredRoom, me: IdentityPublic, keys: UnlockedKeys): void {
    const status = this.requireMember(room, me);
    if (status === 'left') throw new CleanroomError('NOT_ALLOWED', `You have already left ${room.name}.`);
    if (status === 'invited') {
      throw new CleanroomError('NOT_ALLOWED', `You have not joined ${room.name}; an invitation you do not accept needs no answer.`);
    }
    this.appendMine(room, me, keys, { type: 'room.left' });
  }

  proposeAmendment(room: StoredRoom, me: IdentityPublic, keys: UnlockedKeys, addMembers: readonly string[]): string {
    this.requireJoined(room, me);
    const state = this.state(room);
    if (state.status !== 'active') {
      throw new CleanroomError('NOT_ALLOWED', `${room.name} is ${state.status}; members can be added once everyone has joined.`);
    }
    const added: MemberRef[] = [];
    for (const key of new Set(addMembers)) {
      const member = state.members.find((candidate) => candidate.signPublicKey === key);
      if (member !== undefined || key === me.signPublicKey) {
        throw new CleanroomError('NOT_ALLOWED', `${member?.alias ?? me.alias} is already a member of ${room.name}.`);
      }
      const contact = this.contacts.bySignKey(key);
      if (contact === null) throw new CleanroomError('NOT_FOUND', `No contact with signing key ${key}: import their identity card first.`);
      added.push(refOf(contact));
    }
    const entry = this.appendMine(room, me, keys, { type: 'amendment.proposed', addMembers: added });
    return entry.id;
  }

  signAmendment(room: StoredRoom, me: IdentityPublic, keys: UnlockedKeys, amendmentId: string): void {
    this.requireJoined(room, me);
    const state = this.state(room);
    const amendment = state.amendments.find((candidate) => candidate.id === amendmentId);
    if (amendment === undefined) throw new CleanroomError('NOT_FOUND', `No amendment ${shortId(amendmentId)} in ${room.name}.`);
    if (amendment.status === 'accepted') throw new CleanroomError('NOT_ALLOWED', `Amendment ${shortId(amendmentId)} is already accepted.`);
    if (amendment.signedBy.includes(me.signPublicKey)) {
      throw new CleanroomError('NOT_ALLOWED', `You have already signed amendment ${shortId(amendmentId)}.`);
    }
    if (!amendment.waitingFor.includes(me.signPublicKey)) {
      throw new CleanroomError('NOT_ALLOWED', `Amendment ${shortId(amendmentId)} does not need your signature: you joined after it was proposed.`);
    }
    this.appendMine(room, me, keys, { type: 'amendment.signed', amendment: amendmentId });
  }

  private requireMember(room: StoredRoom, me: IdentityPublic): MemberState['status'] {
    const mine = this.state(room).members.find((member) => member.signPublicKey === me.signPublicKey);
    if (mine === undefined) throw new CleanroomError('NOT_A_MEMBER', `You are not a member of ${room.name}.`);
    return mine.status;
  }

  requireJoined(room: StoredRoom, me: IdentityPublic): void {
    const status = this.requireMember(room, me);
    if (status === 'invited') throw new CleanroomError('NOT_ALLOWED', `Join ${room.name} first.`);
    if (status === 'left') throw new CleanroomError('NOT_ALLOWED', `You have left ${room.name}.`);
  }

  /** I have joined and the room is active: what adding assets, snapshots and approvals needs. */
  requireActiveMember(room: StoredRoom, me: IdentityPublic): RoomState {
    this.requireJoined(room, me);
    const state = this.state(room);
    if (state.status !== 'active') {
      throw new CleanroomError('NOT_ALLOWED', `${room.name} is ${state.status}; data and notebooks can be added once every member has joined.`);
    }
    return state;
  }

  /** Runs `work` in one database transaction: every entry it appends is stored, or none is. */
  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  /** Names for keys in views: members, amendment additions, contacts and me. */
  aliasBook(state: RoomState, me: IdentityPublic): AliasBook {
    return this.bookFor(state, me);
  }

  /**
   * Signs my next entry in a room and stores it. Inside a caller's transaction it joins that
   * transaction (better-sqlite3 nests it as a savepoint), so several entries can be all-or-nothing.
   */
  appendMine(room: StoredRoom, me: IdentityPublic, keys: UnlockedKeys, body: EntryBody): { id: string } {
    const previous =
      (this.db
        .prepare('SELECT entry, signature FROM entries WHERE room = ? AND author = ? ORDER BY seq DESC LIMIT 1')
        .get(room.id, me.signPublicKey) as EntryRow | undefined) ?? null;
    const previousEntry = previous === null ? null : { entry: decodeStored(previous.entry) as UnsignedEntry, signature: previous.signature };
    // A feed's times never go backwards (others refuse that), so a clock that stepped back since
    // my last entry stamps the new one with the last entry's time instead.
    const now = this.clock();
    const previousAt = previousEntry === null ? null : new Date(previousEntry.entry.at);
    const at = previousAt !== null && previousAt > now ? previousAt : now;
    const signed = signEntry(nextEntry(room.id, me.signPublicKey, previousEntry, body, at), keys.signSecretKey);
    let id = '';
    this.db.transaction(() => {
      id = this.appendChecked(room.id, signed);
    })();
    return { id };
  }

  /**
   * Stores one of my own entries after the same checks any member's entry gets: if the room's
   * rules refuse it, the refusal is reported rather than stored, so no home ever signs an entry
   * the others would reject.
   */
  private appendChecked(roomId: string, signed: SignedEntry): string {
    const merged = mergeEntries(roomId, this.entriesOf(roomId), [signed], this.clock());
    const refused = merged.refused[0];
    if (refused !== undefined) throw new CleanroomError('NOT_ALLOWED', `Not allowed: ${refused.reason}`);
    // Others settle a conflicting entry without refusing it; my own must not start as one.
    const settled = merged.settled.find((item) => item.settlement.kind !== 'noted');
    if (settled !== undefined) throw new CleanroomError('NOT_ALLOWED', `Not allowed: ${settled.settlement.text.replace(/^not applied: /, '')}`);
    if (merged.accepted.length !== 1) throw new CleanroomError('INTERNAL', 'Internal error: a new entry was not accepted.');
    this.insertEntries(roomId, merged.accepted);
    return entryId(signed.entry);
  }
}
