// Packets in and out: the only way rooms change from outside this home. An export carries every
// entry this home holds for the room; an import is checked in full before anything is stored,
// and stored in one transaction, so a refused packet leaves the home exactly as it was.
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { fingerprintOf, fromBase64Url, hash, toHex } from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';
import { roomIdOf } from '../../shared/feed.js';
import { groupForReading, type IdentityPublic } from '../../shared/identity.js';
import { encodePacket, openPacket, type PacketContents, type PacketHeader, packetFileExtension, packetLimits } from '../../shared/packet.js';
import { type ExportResult, type ImportResult, type MemberRef, type SignedEntry } from '../../shared/room.js';
import { deriveRoomState, mergeEntries, type MemberState } from '../../shared/room-state.js';
import { describeFileError, isFolder, writeFileAtomic } from './files.js';
import { type UnlockedKeys } from './keystore.js';
import { AliasBook, type Rooms, type StoredRoom } from './rooms.js';

/** The largest packet read at all; checked before a byte is read, so an oversized file costs nothing. */
export const maxPacketBytes = packetLimits.maxPacketBytes;

export interface ExportRequest {
  readonly room: string;
  readonly to?: readonly string[];
  readonly outPath?: string;
}

export interface ImportRequest {
  readonly path?: string;
  readonly contentBase64?: string;
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

export class Packets {
  constructor(
    private readonly db: Database.Database,
    private readonly rooms: Rooms,
    private readonly clock: () => Date,
  ) {}

  export(request: ExportRequest, me: IdentityPublic, keys: UnlockedKeys): ExportResult {
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
    const bytes = encodePacket({
      room: room.id,
      sender: refOf(mine),
      signSecretKey: keys.signSecretKey,
      recipients: recipients.map(refOf),
      entries,
      createdAt: now,
    });
    const recipientAliases = recipients.map((member) => member.alias);
    const defaultName = `${slug(room.name, 'room')}-${slug(me.alias, 'member')}-${fileTimestamp(now)}${packetFileExtension}`;
    if (request.outPath === undefined) {
      return {
        fileName: defaultName,
        path: null,
        contentBase64: Buffer.from(bytes).toString('base64'),
        size: bytes.length,
        recipients: recipientAliases,
      };
    }
    const target = isFolder(request.outPath) ? path.resolve(request.outPath, defaultName) : path.resolve(request.outPath);
    writeFileAtomic(target, bytes);
    return { fileName: path.basename(target), path: target, contentBase64: null, size: bytes.length, recipients: recipientAliases };
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

  import(request: ImportRequest, me: IdentityPublic, keys: UnlockedKeys): ImportResult {
    const bytes = readPacketBytes(request);
    const { header, contents } = openChecked(bytes, me, keys);
    const roomId = header.room;
    const now = this.clock();
    const packetHash = toHex(hash(bytes));

    return this.db.transaction((): ImportResult => {
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
      if (refused !== undefined) {
        throw new CleanroomError('BAD_PACKET', `Packet refused, nothing was imported: ${refused.reason}.`);
      }

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
      let summary =
        stored === null
          ? `Invitation to ${roomName} from ${from}: ${plural(accepted, 'new entry', 'new entries')}`
          : accepted === 0
            ? 'Nothing new: already up to date'
            : `${plural(accepted, 'new entry', 'new entries')} from ${from} for ${roomName}`;
      if (alerts.length > 0) summary += `; ${plural(alerts.length, 'security alert', 'security alerts')} raised`;

      this.db
        .prepare(
          `INSERT INTO imports (packet_hash, room, sender, imported_at, accepted, ignored, alerts, summary)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(packetHash, roomId, sender.signPublicKey, now.toISOString(), accepted, merged.ignored, alerts.length, summary);

      return { room: roomId, roomName, from, accepted, ignored: merged.ignored, alerts, summary };
    })();
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

/** openPacket with its refusals worded for the person importing. */
function openChecked(bytes: Uint8Array, me: IdentityPublic, keys: UnlockedKeys): { header: PacketHeader; contents: PacketContents } {
  try {
    return openPacket(bytes, { boxPublicKey: fromBase64Url(me.boxPublicKey), boxSecretKey: keys.boxSecretKey });
  } catch (error) {
    if (!(error instanceof CleanroomError)) throw error;
    if (error.code === 'NOT_A_MEMBER') {
      throw new CleanroomError('NOT_A_MEMBER', 'This packet is not addressed to you; nothing was imported. Ask the sender to write one for you.');
    }
    if (error.code === 'BAD_PACKET') throw new CleanroomError('BAD_PACKET', `Packet refused, nothing was imported: ${error.message}.`);
    throw error;
  }
}

/** The packet's bytes from a file or base64, refusing anything over the cap before reading it. */
function readPacketBytes(request: ImportRequest): Uint8Array {
  const hasPath = request.path !== undefined;
  const hasContent = request.contentBase64 !== undefined;
  if (hasPath === hasContent) throw new CleanroomError('BAD_REQUEST', 'Give exactly one of path or contentBase64.');
  if (request.contentBase64 !== undefined) {
    const text = request.contentBase64;
    if (Math.floor((text.length * 3) / 4) > maxPacketBytes + 2) throw tooLarge('The packet', Math.floor((text.length * 3) / 4));
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) {
      throw new CleanroomError('BAD_PACKET', 'Packet refused: its content is not valid base64.');
    }
    const bytes = Buffer.from(text, 'base64');
    if (bytes.length > maxPacketBytes) throw tooLarge('The packet', bytes.length);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  }
  const file = path.resolve(request.path as string);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new CleanroomError('FILE_ERROR', `Cannot read ${file} (${describeFileError(error)}).`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new CleanroomError('FILE_ERROR', `Cannot read ${file}: it is not a file.`);
    if (stat.size > maxPacketBytes) throw tooLarge(file, stat.size);
    const bytes = readFileSync(fd);
    // The file may have grown since it was measured (still being copied): measure what was read.
    if (bytes.length > maxPacketBytes) throw tooLarge(file, bytes.length);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  } catch (error) {
    if (error instanceof CleanroomError) throw error;
    throw new CleanroomError('FILE_ERROR', `Cannot read ${file} (${describeFileError(error)}).`);
  } finally {
    closeSync(fd);
  }
}

function tooLarge(what: string, size: number): CleanroomError {
  return new CleanroomError('BAD_PACKET', `${what} is ${size} bytes, over the ${maxPacketBytes}-byte limit for packets; it was not read.`);
}
