// Rooms built from real keys, for tests of feeds, room state and packets.
//
// Call `await cryptoReady()` (shared/crypto.ts) before any of these.
//
// Exports:
// - baseTime, minutesAfter(minutes, from?): fixed dates, so tests never depend on the clock.
// - makeIdentity(alias): TestIdentity — signing and box key pairs, the IdentityPublic and MemberRef.
// - makeDefinition(creator, members, options?): a RoomDefinition (creator first among members
//   unless you order them yourself); options: name, site, policy, createdAt, invitationDays, nonce.
// - Feed: one member's feed in one room; `append(body, at)` signs the next chained entry and
//   returns it; `entries` holds them all; `forge(body, at, changes)` returns a signed entry with
//   the chain fields overridden (for equivocation and gap tests).
// - makeRoom(aliases, options?): RoomFixture — identities (first alias creates the room), the
//   definition, roomId, a Feed per member (the creator's already holds room.created), and helpers
//   member(alias), feed(alias), join(alias, at) and allEntries().
// - permutations(items), seededShuffle(items, seed): orders for order-free tests.
// - randomHex(), randomDataKey(): random hashes and 32-byte data keys.
// - makeTable(roomId, owner, name, options?) and makeVolume(…): asset descriptors (the payload
//   hash is random unless given); assetIdOf(descriptor) is their id, assetRef(descriptor) how a
//   snapshot references them.
// - sqlNotebook(sql?): a one-cell notebook as parseNotebook returns it.
// - makeSnapshot(roomId, author, options): a snapshot (runner and recipients default to the author).
// - makeApproval(snapshot, options): an approval for snapshotIdOf(snapshot), its runner by default,
//   with the given data keys really sealed to the runner's box key.
// - setAsideReason(merge): why mergeEntries set an accepted entry's content aside (the log's
//   "not applied: …" without its prefix), or null; what core refuses for its own new entry.
import { type Approval, defaultApprovalRuns, sealDataKey } from '../../shared/approval.js';
import { type AssetDescriptor, type Column } from '../../shared/asset.js';
import { hashCanonical } from '../../shared/canonical.js';
import { fingerprintOf, fromBase64Url, generateBoxKeyPair, generateSigningKeyPair, type KeyPair, randomBytes, toBase64Url, toHex } from '../../shared/crypto.js';
import { type Notebook, type Snapshot, snapshotIdOf } from '../../shared/notebook.js';
import { nextEntry, roomIdOf, signEntry } from '../../shared/feed.js';
import { type IdentityPublic } from '../../shared/identity.js';
import { type MergeResult } from '../../shared/room-state.js';
import { defaultInvitationDays, defaultPolicy, type EntryBody, type MemberRef, type Policy, type RoomDefinition, type SignedEntry, type UnsignedEntry } from '../../shared/room.js';

export const baseTime = new Date('2030-03-04T09:00:00.000Z');

export function minutesAfter(minutes: number, from: Date = baseTime): Date {
  return new Date(from.getTime() + minutes * 60_000);
}

export interface TestIdentity {
  readonly alias: string;
  readonly sign: KeyPair;
  readonly box: KeyPair;
  readonly identity: IdentityPublic;
  readonly ref: MemberRef;
}

export function makeIdentity(alias: string, createdAt: Date = baseTime): TestIdentity {
  const sign = generateSigningKeyPair();
  const box = generateBoxKeyPair();
  const { fingerprint, sharingId } = fingerprintOf(sign.publicKey, box.publicKey);
  const signPublicKey = toBase64Url(sign.publicKey);
  const boxPublicKey = toBase64Url(box.publicKey);
  return {
    alias,
    sign,
    box,
    identity: { alias, signPublicKey, boxPublicKey, fingerprint, sharingId, createdAt: createdAt.toISOString() },
    ref: { alias, signPublicKey, boxPublicKey },
  };
}

export interface DefinitionOptions {
  readonly name?: string;
  readonly site?: string;
  readonly policy?: Policy;
  readonly createdAt?: Date;
  readonly invitationDays?: number;
  readonly nonce?: string;
}

export function makeDefinition(creator: TestIdentity, members: readonly TestIdentity[], options: DefinitionOptions = {}): RoomDefinition {
  const createdAt = options.createdAt ?? baseTime;
  const invitationDays = options.invitationDays ?? defaultInvitationDays;
  return {
    format: 'cleanroom-room/1',
    name: options.name ?? 'Readmissions',
    site: options.site ?? 'North region',
    createdBy: creator.ref.signPublicKey,
    members: members.map((member) => member.ref),
    policy: options.policy ?? defaultPolicy,
    createdAt: createdAt.toISOString(),
    invitationExpiresAt: minutesAfter(invitationDays * 24 * 60, createdAt).toISOString(),
    nonce: options.nonce ?? toBase64Url(randomBytes(16)),
  };
}

/** One member's feed in one room. */
export class Feed {
  readonly entries: SignedEntry[] = [];

  constructor(
    readonly member: TestIdentity,
    readonly roomId: string,
  ) {}

  get last(): SignedEntry | null {
    return this.entries[this.entries.length - 1] ?? null;
  }

  /** Signs and records the next entry of this feed. */
  append(body: EntryBody, at: Date): SignedEntry {
    const signed = signEntry(nextEntry(this.roomId, this.member.ref.signPublicKey, this.last, body, at), this.member.sign.secretKey);
    this.entries.push(signed);
    return signed;
  }

  /** A validly signed entry that is NOT recorded: the next entry with some fields overridden. */
  forge(body: EntryBody, at: Date, changes: Partial<UnsignedEntry> = {}): SignedEntry {
    const entry = { ...nextEntry(this.roomId, this.member.ref.signPublicKey, this.last, body, at), ...changes };
    return signEntry(entry, this.member.sign.secretKey);
  }
}

export interface RoomFixture {
  readonly definition: RoomDefinition;
  readonly roomId: string;
  readonly members: readonly TestIdentity[];
  member(alias: string): TestIdentity;
  feed(alias: string): Feed;
  /** Appends room.joined to the member's feed. */
  join(alias: string, at: Date, amendment?: string): SignedEntry;
  /** Every entry of every feed made through this fixture, feed by feed. */
  allEntries(): SignedEntry[];
  /** A feed for someone who is not (yet) in the definition, e.g. a member added by amendment. */
  addFeed(identity: TestIdentity): Feed;
}

/** A room whose first alias created it (room.created at the definition's createdAt). */
export function makeRoom(aliases: readonly string[], options: DefinitionOptions = {}): RoomFixture {
  const members = aliases.map((alias) => makeIdentity(alias));
  const creator = members[0];
  if (creator === undefined) throw new Error('makeRoom needs at least one alias');
  const definition = makeDefinition(creator, members, options);
  const roomId = roomIdOf(definition);
  const feeds = new Map<string, Feed>(members.map((member) => [member.alias, new Feed(member, roomId)]));
  const fixture: RoomFixture = {
    definition,
    roomId,
    members,
    member(alias) {
      const found = members.find((member) => member.alias === alias) ?? [...feeds.values()].find((feed) => feed.member.alias === alias)?.member;
      if (found === undefined) throw new Error(`no member ${alias}`);
      return found;
    },
    feed(alias) {
      const found = feeds.get(alias);
      if (found === undefined) throw new Error(`no feed for ${alias}`);
      return found;
    },
    join(alias, at, amendment) {
      return fixture.feed(alias).append(amendment === undefined ? { type: 'room.joined' } : { type: 'room.joined', amendment }, at);
    },
    allEntries() {
      return [...feeds.values()].flatMap((feed) => feed.entries);
    },
    addFeed(identity) {
      const feed = new Feed(identity, roomId);
      feeds.set(identity.alias, feed);
      return feed;
    },
  };
  fixture.feed(creator.alias).append({ type: 'room.created', definition }, new Date(definition.createdAt));
  return fixture;
}

/** Every ordering of a short list (n! of them: keep n small). */
export function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  const out: T[][] = [];
  items.forEach((item, index) => {
    for (const rest of permutations([...items.slice(0, index), ...items.slice(index + 1)])) out.push([item, ...rest]);
  });
  return out;
}

/** A reproducible shuffle (xorshift32), so a failing order can be replayed from its seed. */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

// ---- Assets, snapshots, approvals ---------------------------------------------------------------

export const randomHex = (): string => toHex(randomBytes(32));
export const randomDataKey = (): Uint8Array => randomBytes(32);

export interface AssetOptions {
  readonly createdAt?: Date;
  readonly payloadHash?: string;
}

export function makeTable(roomId: string, owner: TestIdentity, name: string, options: AssetOptions & { columns?: Column[] } = {}): AssetDescriptor {
  return {
    kind: 'table',
    format: 'cleanroom-asset/1',
    room: roomId,
    name,
    owner: owner.ref.signPublicKey,
    payload: { hash: options.payloadHash ?? randomHex(), size: 4096, encryption: 'secretstream-xchacha20poly1305/1', chunkSize: 65536 },
    createdAt: (options.createdAt ?? baseTime).toISOString(),
    nonce: toBase64Url(randomBytes(16)),
    columns: options.columns ?? [
      { name: 'patient_id', type: 'VARCHAR', role: 'privacy_unit' },
      { name: 'age_band', type: 'VARCHAR', role: 'dimension' },
      { name: 'readmitted', type: 'BOOLEAN', role: 'measure' },
    ],
    rowCount: null,
    sourceFormat: 'csv',
    allowMinMax: false,
  };
}

export function makeVolume(
  roomId: string,
  owner: TestIdentity,
  name: string,
  options: AssetOptions & { private?: boolean; files?: { path: string; size: number }[] } = {},
): AssetDescriptor {
  const isPrivate = options.private ?? true;
  return {
    kind: 'volume',
    format: 'cleanroom-asset/1',
    room: roomId,
    name,
    owner: owner.ref.signPublicKey,
    payload: { hash: options.payloadHash ?? randomHex(), size: 2048, encryption: 'secretstream-xchacha20poly1305/1', chunkSize: 65536 },
    createdAt: (options.createdAt ?? baseTime).toISOString(),
    nonce: toBase64Url(randomBytes(16)),
    private: isPrivate,
    files: options.files ?? (isPrivate ? [] : [{ path: 'macros.sql', size: 120 }]),
  };
}

export const assetIdOf = (descriptor: AssetDescriptor): string => hashCanonical(descriptor);

export function assetRef(descriptor: AssetDescriptor): Snapshot['assets'][number] {
  return { name: descriptor.name, kind: descriptor.kind, owner: descriptor.owner, asset: assetIdOf(descriptor), payloadHash: descriptor.payload.hash };
}

export function sqlNotebook(sql = 'SELECT age_band, count(*) AS n FROM admissions GROUP BY age_band'): Notebook {
  return { parameters: [], cells: [{ kind: 'sql', source: sql, output: 'rates', options: [] }] };
}

export interface SnapshotOptions {
  readonly name?: string;
  readonly notebook?: Notebook;
  readonly assets?: readonly AssetDescriptor[];
  readonly runner?: TestIdentity;
  readonly recipients?: readonly TestIdentity[];
  readonly createdAt?: Date;
}

export function makeSnapshot(roomId: string, author: TestIdentity, options: SnapshotOptions = {}): Snapshot {
  const runner = options.runner ?? author;
  return {
    format: 'cleanroom-snapshot/1',
    room: roomId,
    name: options.name ?? 'Readmission rates',
    author: author.ref.signPublicKey,
    notebook: options.notebook ?? sqlNotebook(),
    assets: (options.assets ?? []).map(assetRef),
    runner: runner.ref.signPublicKey,
    recipients: (options.recipients ?? [runner]).map((member) => member.ref.signPublicKey),
    createdAt: (options.createdAt ?? baseTime).toISOString(),
  };
}

export interface ApprovalOptions {
  /** Whose box key the data keys are sealed to; the snapshot's runner must be passed in. */
  readonly runner: TestIdentity;
  readonly expiresAt: Date;
  readonly maxRuns?: number;
  readonly keys?: readonly { readonly descriptor: AssetDescriptor; readonly dataKey: Uint8Array }[];
}

export function makeApproval(snapshot: Snapshot, options: ApprovalOptions): Approval {
  const snapshotId = snapshotIdOf(snapshot);
  return {
    format: 'cleanroom-approval/1',
    snapshot: snapshotId,
    runner: options.runner.ref.signPublicKey,
    expiresAt: options.expiresAt.toISOString(),
    maxRuns: options.maxRuns ?? defaultApprovalRuns,
    keys: (options.keys ?? []).map(({ descriptor, dataKey }) => ({
      asset: assetIdOf(descriptor),
      sealedKey: sealDataKey(dataKey, snapshotId, assetIdOf(descriptor), fromBase64Url(options.runner.ref.boxPublicKey)),
    })),
  };
}

export function setAsideReason(merge: MergeResult): string | null {
  const settled = merge.settled.find((item) => item.settlement.kind === 'set-aside');
  return settled === undefined ? null : settled.settlement.text.replace(/^not applied: /, '');
}
