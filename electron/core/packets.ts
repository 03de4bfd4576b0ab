// Packets in and out: the only way rooms change from outside this home. An export carries every
// entry this home holds for the room, and the payloads of my assets that its recipients need (and
// of my releases of run outputs addressed to them: the payload ref's asset is then the run id); an
// import is checked in full before anything is stored, its entries stored in one transaction and
// its payloads renamed into the vault only after that transaction, so a refused packet leaves the
// home exactly as it was. Packet files are streamed (electron/core/packet-stream.ts): a payload
// may be far larger than memory.
import { writeFile, rm, readFile } from 'node:fs/promises';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { fingerprintOf, fromBase64Url, hash, randomBytes, toHex } from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';
import { roomIdOf } from '../../shared/feed.js';
import { groupForReading, type IdentityPublic } from '../../shared/identity.js';
import {
  checkPayloadsAgainstDescriptors,
  encodePacketHead,
  type PacketContents,
  type PacketHeader,
  packetFileExtension,
  packetLimits,
  type PacketPayloadRef,
} from '../../shared/packet.js';
import { type ExportResult, type ImportResult, type MemberRef, type SignedEntry } from '../../shared/room.js';
import { deriveRoomState, mergeEntries, type MemberState, type RoomState } from '../../shared/room-state.js';
import { outputTarget, type PendingFileJournal, writeFailure } from './files.js';
import { vaultFolderName } from './home.js';
import { type UnlockedKeys } from './keystore.js';
import {
  assetsIn,
  type OpenedPacketFile,
  openPacketFile,
  type OutgoingPayload,
  packetRefusal,
  payloadsToSend,
  releasePayloadsToSend,
  releasesIn,
  type StagedPayload,
  stagePayloads,
  vaultPathFor,
  writePacketFile,
} from './packet-stream.js';
import { AliasBook, type Rooms, type StoredRoom } from './rooms.js';
import { recordPayload } from './vault.js';

/** The largest packet read at all; checked before a byte is read, so an oversized file costs nothing. */
export const maxPacketBytes = packetLimits.maxPacketBytes;

export interface ExportRequest {
  readonly room: string;
  readonly to?: readonly string[];
  readonly outPath?: string;
  /** Carry the payload of every asset of mine, not only those a recipient's snapshots need. */
  readonly withPayloads?: boolean;
}

/** A payload an export carried. */
export interface ExportedPayload {
  readonly asset: string;
  readonly name: string;
  readonly kind: 'table' | 'volume';
  readonly size: number;
}

export interface ImportRequest {
  readonly path?: string;
  readonly contentBase64?: string;
  /** Read `path` even when it is a symbolic link (refused otherwise). */
  readonly followSymlinks?: boolean;
}

const refOf = (member: MemberRef): MemberRef => ({
  alias: member.alias,
  signPublicKey: member.signPublicKey,
  boxPublicKey: member.boxPublicKey,
});

const plural = (count: number, one: string, many: string): string => `${count} ${count === 1 ? one : many}`;

/** Lowercase ASCII words joined by dashes, for file names that survive every file system. */
export function slug(text: string, fallback: string): string {
  const words = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return words === '' ? fallback : words;
}

/** "20250314T093012Z" */
const fileTimestamp = (at: Date): string => at.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');

const readableSharingId = (member: MemberRef): string =>
  groupForReading(fingerprintOf(fromBase64Url(member.signPublicKey), fromBase64Url(member.boxPublicKey)).sharingId).join(' ');

interface ImportPlan {
  readonly stored: StoredRoom | null;
  readonly merged: ReturnType<typeof mergeEntries>;
  readonly state: RoomState;
  readonly sender: MemberState;
}

export class Packets {
  private readonly vaultDir: string;

  constructor(
    private readonly db: Database.Database,
    private readonly rooms: Rooms,
    private readonly clock: () => Date,
    /** The home's vault folder; by default `vault` next to the database. */
    vaultDir?: string,
    /** Where a packet file's temporary name is recorded while it is written outside the home. */
    private readonly journal?: PendingFileJournal,
  ) {
    this.vaultDir = vaultDir ?? path.join(path.dirname(db.name), vaultFolderName);
  }

  async export(request: ExportRequest, me: IdentityPublic, keys: UnlockedKeys): Promise<ExportResult> {
    return (await this.exportPacket(request, me, keys)).result;
  }

  /** export, also saying which payloads the packet carries. */
  async exportPacket(request: ExportRequest, me: IdentityPublic, keys: UnlockedKeys): Promise<{ result: ExportResult; payloads: ExportedPayload[] }> {
    const room = this.rooms.resolve(request.room);
    const state = this.rooms.state(room);
    const mine = state.members.find((member) => member.signPublicKey === me.signPublicKey);
    if (mine === undefined) throw new CleanroomError('NOT_A_MEMBER', `You are not a member of ${room.name}.`);
    if (mine.status === 'invited') {
      throw new CleanroomError('NOT_ALLOWED', `You have not joined ${room.name}: join first, then write a packet for it.`);
    }
    const recipients = this.recipientsFor(room, state.members, me, request.to);
    const now = this.clock();
    // Every entry this home holds, not only mine: feeds are small, and relaying the others'
    // entries means any one packet brings a member fully up to date, whatever reached them before.
    const entries = this.rooms.entriesOf(room.id);
    const assets = payloadsToSend(
      entries,
      me.signPublicKey,
      recipients.map((member) => member.signPublicKey),
      request.withPayloads ?? false,
    );
    const outgoing: OutgoingPayload[] = assets.map((asset) => ({
      ref: { asset: asset.id, hash: asset.descriptor.payload.hash, size: asset.descriptor.payload.size },
      source: this.payloadFileOf(asset.descriptor.payload.hash) ?? vaultPathFor(this.vaultDir, asset.descriptor.payload.hash),
      label: `${asset.descriptor.kind} ${asset.descriptor.name}`,
    }));
    // Released run outputs go to their recipients like asset payloads (the ref's asset is the run id).
    const releases = releasePayloadsToSend(entries, me.signPublicKey, recipients.map((member) => member.signPublicKey));
    for (const release of releases) {
      const { payload } = release.descriptor;
      if (outgoing.some((other) => other.ref.hash === payload.hash)) continue;
      outgoing.push({
        ref: { asset: release.run, hash: payload.hash, size: payload.size },
        source: this.payloadFileOf(payload.hash) ?? vaultPathFor(this.vaultDir, payload.hash),
        label: release.descriptor.name,
      });
    }
    const head = encodePacketHead({
      room: room.id,
      sender: refOf(mine),
      signSecretKey: keys.signSecretKey,
      recipients: recipients.map(refOf),
      entries,
      createdAt: now,
      payloads: outgoing.map((payload) => payload.ref),
    });
    const payloads = assets.map((asset) => ({ asset: asset.id, name: asset.descriptor.name, kind: asset.descriptor.kind, size: asset.descriptor.payload.size }));
    const recipientAliases = recipients.map((member) => member.alias);
    const defaultName = `${slug(room.name, 'room')}-${slug(me.alias, 'member')}-${fileTimestamp(now)}${packetFileExtension}`;
    if (request.outPath === undefined) {
      const bytes = await inlinePacket(head, outgoing);
      const result = { fileName: defaultName, path: null, contentBase64: Buffer.from(bytes).toString('base64'), size: bytes.length, recipients: recipientAliases };
      return { result, payloads };
    }
    const target = outputTarget(request.outPath, defaultName);
    const size = await writePacketFile(target, head, outgoing, this.journal === undefined ? {} : { journal: this.journal });
    return { result: { fileName: path.basename(target), path: target, contentBase64: null, size, recipients: recipientAliases }, payloads };
  }

  /** Every other member still in the room, or just the named ones. */
  private recipientsFor(room: StoredRoom, members: readonly MemberState[], me: IdentityPublic, to: readonly string[] | undefined): MemberState[] {
    const others = members.filter((member) => member.signPublicKey !== me.signPublicKey);
    if (to === undefined || to.length === 0) {
      const current = others.filter((member) => member.status !== 'left');
      if (current.length === 0) throw new CleanroomError('NOT_ALLOWED', `Nobody else is left in ${room.name} to write a packet for.`);
      return current;
    }
    const chosen = new Map<string, MemberState>();
    for (const wanted of to) {
      const name = wanted.trim();
      if (name.toLowerCase() === me.alias.toLowerCase() && !others.some((member) => member.alias === name)) {
        throw new CleanroomError('NOT_ALLOWED', 'A packet is for the other members; you do not need to address one to yourself.');
      }
      let matches = others.filter((member) => member.alias === name);
      if (matches.length === 0) matches = others.filter((member) => member.alias.toLowerCase() === name.toLowerCase());
      if (matches.length === 0) {
        const known = others.map((member) => member.alias).join(', ');
        throw new CleanroomError('NOT_FOUND', `No member "${name}" in ${room.name}; the other members are: ${known}.`);
      }
      if (matches.length > 1) {
        const listed = matches.map((member) => `${member.alias} (${readableSharingId(member)})`).join(', ');
        throw new CleanroomError('AMBIGUOUS', `"${name}" names ${matches.length} members of ${room.name}: ${listed}.`);
      }
      const match = matches[0] as MemberState;
      chosen.set(match.signPublicKey, match);
    }
    return [...chosen.values()];
  }

  async import(request: ImportRequest, me: IdentityPublic, keys: UnlockedKeys): Promise<ImportResult> {
    const hasPath = request.path !== undefined;
    const hasContent = request.contentBase64 !== undefined;
    if (hasPath === hasContent) throw new CleanroomError('BAD_REQUEST', 'Give exactly one of path or contentBase64.');
    const recipient = { boxPublicKey: fromBase64Url(me.boxPublicKey), boxSecretKey: keys.boxSecretKey };
    if (request.path !== undefined) {
      return this.importFile(await openPacketFile(path.resolve(request.path), recipient, { followSymlinks: request.followSymlinks === true, signPublicKey: me.signPublicKey }), me);
    }
    // Bytes from the browser go through the same streaming path: a hidden temporary file in the
    // vault (never picked up as anything: it ends in .partial), removed whatever happens.
    const bytes = decodePacketBase64(request.contentBase64 as string);
    const temporary = path.join(this.vaultDir, `.import-${toHex(randomBytes(8))}${packetFileExtension}.partial`);
    try {
      await writeFile(temporary, bytes, { mode: 0o600 });
    } catch (error) {
      await rm(temporary, { force: true });
      throw writeFailure(temporary, error);
    }
    try {
      return await this.importFile(await openPacketFile(temporary, recipient, { signPublicKey: me.signPublicKey }), me);
    } finally {
      await rm(temporary, { force: true });
    }
  }

  /** Checks 15–16 and the room rules on an opened packet, then stores it: entries, then payloads. */
  private async importFile(opened: OpenedPacketFile, me: IdentityPublic): Promise<ImportResult> {
    const { header, contents } = opened;
    const roomId = header.room;
    const now = this.clock();
    // Every room rule is checked before a payload byte is copied, so a packet refused for its
    // entries costs no copying; the transaction below checks again against the home as it is then.
    const first = this.plan(header, contents, me, now);
    const roomEntries = [...(first.stored === null ? [] : this.rooms.entriesOf(roomId)), ...first.merged.accepted];
    const descriptors = assetsIn(roomEntries);
    const releases = releasesIn(roomEntries);
    const staged = await stagePayloads(opened, this.vaultDir, {
      nameOf: (asset) => descriptors.get(asset)?.descriptor.name ?? releases.get(asset)?.descriptor.name,
      locate: (payloadHash) => this.payloadFileOf(payloadHash) ?? vaultPathFor(this.vaultDir, payloadHash),
    });
    // The payloads take their final names first, then one transaction commits the entries and the
    // payloads' rows: a crash before it leaves whole files no row records, which the start-up sweep
    // removes (nothing was imported); after it, entries and payloads are both there. A row is never
    // written for a file that is not whole and in place.
    try {
      await staged.place();
      return this.db.transaction((): ImportResult => {
        const result = this.apply(opened, me, now, staged.added);
        this.recordPayloads(staged.payloads, now);
        return result;
      })();
    } catch (error) {
      await staged.discard();
      throw error;
    }
  }

  /** Whether this home's schema has the vault's payload table (added with assets). */
  private hasPayloadTable(): boolean {
    return this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'payloads'").get() !== undefined;
  }

  /** The vault file recorded for this payload hash, or null. */
  payloadFileOf(payloadHash: string): string | null {
    if (!this.hasPayloadTable()) return null;
    const row = this.db.prepare('SELECT path FROM payloads WHERE hash = ? AND present = 1').get(payloadHash) as { path: string } | undefined;
    return row === undefined ? null : path.join(this.vaultDir, row.path);
  }

  /** Records the payloads' rows; called inside the import's transaction. */
  private recordPayloads(payloads: readonly StagedPayload[], now: Date): void {
    if (payloads.length === 0 || !this.hasPayloadTable()) return;
    for (const payload of payloads) recordPayload(this.db, this.vaultDir, { hash: payload.ref.hash, size: payload.ref.size, file: payload.final }, now);
  }

  /** The room rules, without writing anything: throws the refusal, or says what to store. */
  private plan(header: PacketHeader, contents: PacketContents, me: IdentityPublic, now: Date): ImportPlan {
    const roomId = header.room;
    const stored = this.rooms.find(roomId);
    const known = stored === null ? [] : this.rooms.entriesOf(roomId);
    if (stored === null) checkInvitation(roomId, contents.entries, me, now);

    const merged = mergeEntries(roomId, known, contents.entries, now);
    const state = deriveRoomState(roomId, [...known, ...merged.accepted], now);
    const roomName = state.definition.name;
    const sender = state.members.find((member) => member.signPublicKey === header.sender.signPublicKey);
    if (sender === undefined || sender.boxPublicKey !== header.sender.boxPublicKey) {
      throw new CleanroomError(
        'NOT_A_MEMBER',
        `The packet is signed by "${header.sender.alias}" (sharing identifier ${readableSharingId(header.sender)}), who is not a member of ${roomName}; nothing was imported.`,
      );
    }
    // An equivocating author's later entries build on the fork and are refused with it; they
    // are part of the misbehaviour the alert reports, not a reason to refuse the packet.
    const forked = (entry: SignedEntry): boolean =>
      merged.equivocations.some((equivocation) => equivocation.author === entry.entry?.author && entry.entry.seq > equivocation.seq);
    const refused = merged.refused.find((item) => !forked(item.entry));
    if (refused !== undefined) throw packetRefusal(refused.reason);

    // Check 16: each payload belongs to an asset the room knows (or a release of run outputs), with
    // the descriptor's (or the release entry's) hash and size.
    if (header.payloads.length > 0) {
      const assets = assetsIn([...known, ...merged.accepted]);
      const releases = releasesIn([...known, ...merged.accepted]);
      try {
        checkPayloadsAgainstDescriptors(header.payloads, (asset) => assets.get(asset)?.descriptor ?? releases.get(asset)?.descriptor);
      } catch (error) {
        if (error instanceof CleanroomError && error.code === 'BAD_PACKET') throw packetRefusal(error.message);
        throw error;
      }
    }
    return { stored, merged, state, sender };
  }

  /** Inside the import transaction: plans again against the home as it is now, and stores the entries. */
  private apply(opened: OpenedPacketFile, me: IdentityPublic, now: Date, payloadsAdded: number): ImportResult {
    const { header, contents } = opened;
    const roomId = header.room;
    const { stored, merged, state, sender } = this.plan(header, contents, me, now);
    const roomName = state.definition.name;

    const before = stored === null ? [] : this.rooms.entriesOf(roomId);
    if (stored === null) this.rooms.insertRoom(state.definition, 'invitation');
    this.rooms.insertEntries(roomId, merged.accepted);

    // Equivocation is a member's misbehaviour, not a broken packet: the first entry seen stays,
    // the rest of the packet applies, and everyone sees the alert.
    const book = new AliasBook([me, ...state.members, ...state.amendments.flatMap((amendment) => amendment.addMembers)]);
    const alerts: string[] = [];
    for (const equivocation of merged.equivocations) {
      const detail = `${book.of(equivocation.author)} signed two different entries with sequence number ${equivocation.seq}; the one received first is kept.`;
      if (this.rooms.insertEquivocation(roomId, equivocation, detail)) alerts.push(`Security alert in ${roomName}: ${detail}`);
    }

    const from = sender.alias;
    const accepted = merged.accepted.length;
    const payloads = plural(payloadsAdded, 'payload', 'payloads');
    let summary =
      stored === null
        ? `Invitation to ${roomName} from ${from}: ${plural(accepted, 'new entry', 'new entries')}`
        : accepted === 0
          ? payloadsAdded === 0
            ? 'Nothing new: already up to date'
            : `No new entries; ${payloads} from ${from} for ${roomName}`
          : `${plural(accepted, 'new entry', 'new entries')} from ${from} for ${roomName}`;
    if (payloadsAdded > 0 && !(stored !== null && accepted === 0)) summary += `; ${payloads}`;
    const settled = merged.accepted.length === 0 ? 0 : newlySettled(before, state, now);
    if (settled > 0) summary += `; ${plural(settled, 'conflict', 'conflicts')} settled (see the room's log)`;
    if (alerts.length > 0) summary += `; ${plural(alerts.length, 'security alert', 'security alerts')} raised`;

    this.db
      .prepare(
        `INSERT INTO imports (packet_hash, room, sender, imported_at, accepted, ignored, alerts, summary)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(opened.packetHash, roomId, sender.signPublicKey, now.toISOString(), accepted, merged.ignored, alerts.length, summary);

    return { room: roomId, roomName, from, accepted, ignored: merged.ignored, alerts, summary };
  }
}

/**
 * A packet for a room this home does not know is only welcome as an invitation: it must carry the
 * room's `room.created` entry, whose definition hashes to the room id and lists me (or an
 * amendment that added me must come with it, which the membership check after merging covers).
 */
function checkInvitation(roomId: string, entries: readonly SignedEntry[], me: IdentityPublic, now: Date): void {
  const notMine = new CleanroomError('NOT_A_MEMBER', `This packet is for a room you are not in (${roomId.slice(0, 12)}); nothing was imported.`);
  const created = entries.find((signed) => signed.entry.body.type === 'room.created');
  if (created === undefined || created.entry.body.type !== 'room.created') throw notMine;
  if (roomIdOf(created.entry.body.definition) !== roomId) {
    throw new CleanroomError('BAD_PACKET', 'Packet refused, nothing was imported: its room definition does not match the room id.');
  }
  const isMe = (member: MemberRef): boolean => member.signPublicKey === me.signPublicKey;
  const listed =
    created.entry.body.definition.members.some(isMe) ||
    entries.some((signed) => signed.entry.body.type === 'amendment.proposed' && signed.entry.body.addMembers.some(isMe));
  if (!listed) throw notMine;
  const merged = mergeEntries(roomId, [], entries, now);
  if (!merged.accepted.some((signed) => signed.entry.body.type === 'room.created')) {
    const reason = merged.refused.find((item) => item.entry.entry?.body?.type === 'room.created')?.reason ?? 'the room\'s creation entry is not valid';
    throw new CleanroomError('BAD_PACKET', `Packet refused, nothing was imported: ${reason}.`);
  }
  const state = deriveRoomState(roomId, merged.accepted, now);
  if (!state.members.some((member) => member.signPublicKey === me.signPublicKey)) throw notMine;
}

/**
 * How many conflicts the import settled: log lines with a settlement they did not have before
 * (an entry of mine can be renamed by one that arrives, so the known entries count too).
 */
function newlySettled(before: readonly SignedEntry[], after: RoomState, now: Date): number {
  const known = new Map<string, string>();
  if (before.length > 0) {
    for (const item of deriveRoomState(after.id, before, now).log) if (item.settlement !== null) known.set(item.id, item.settlement.text);
  }
  return after.log.filter((item) => item.settlement !== null && known.get(item.id) !== item.settlement.text).length;
}

/** A packet given as base64, refusing anything over the in-memory cap before decoding it. */
function decodePacketBase64(text: string): Uint8Array {
  if (Math.floor((text.length * 3) / 4) > maxPacketBytes + 2) throw tooLarge('The packet', Math.floor((text.length * 3) / 4));
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) {
    throw new CleanroomError('BAD_PACKET', 'Packet refused: its content is not valid base64.');
  }
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length > maxPacketBytes) throw tooLarge('The packet', bytes.length);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

function tooLarge(what: string, size: number): CleanroomError {
  return new CleanroomError('BAD_PACKET', `${what} is ${size} bytes, over the ${maxPacketBytes}-byte limit for packets; it was not read.`);
}

/**
 * A packet returned as bytes rather than written to a file (the browser downloads it): only as
 * large as a packet held in memory may be. Each vault copy is checked against its hash.
 */
async function inlinePacket(head: Uint8Array, payloads: readonly OutgoingPayload[]): Promise<Uint8Array> {
  const total = payloads.reduce((sum, payload) => sum + payload.ref.size, head.length);
  if (total > maxPacketBytes) {
    throw new CleanroomError(
      'BAD_REQUEST',
      `This packet carries ${payloads.length === 1 ? 'a payload' : `${payloads.length} payloads`} (${total} bytes in all), too large to return directly: give a file or folder to write it to.`,
    );
  }
  const parts: Uint8Array[] = [head];
  for (const payload of payloads) parts.push(await readVaultPayload(payload));
  return Buffer.concat(parts);
}

async function readVaultPayload(payload: OutgoingPayload): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(payload.source);
  } catch {
    throw new CleanroomError('HOME_DAMAGED', `The encrypted payload of ${payload.label} is missing from the vault (${payload.source}); no packet was written.`);
  }
  const ref: PacketPayloadRef = payload.ref;
  if (bytes.length !== ref.size || toHex(hash(bytes)) !== ref.hash) {
    throw new CleanroomError('HOME_DAMAGED', `The vault copy of ${payload.label} does not match its descriptor; no packet was written.`);
  }
  return bytes;
}
