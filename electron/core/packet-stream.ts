// Packet files that carry asset payloads (cleanroom-packet/2, docs/packets.md §16), read and
// written by streaming: a payload can be larger than memory, so only the head of a packet (header,
// signature and feed frames, at most 64 MiB) is ever held whole; payload bytes pass through in
// 1 MiB pieces, hashed on the way. The format's checks are pure and live in shared/packet.ts; this
// file only does the I/O around them.
//
// Import: openPacketFile (checks 1–14: sizes from the file's size before any payload byte is read,
// signature, frames, decryption of the feed), then the caller checks the entries and the payloads
// against their descriptors (check 16), then stagePayloads copies each payload into a hidden
// `.partial` file in the vault, hashing as it goes (check 15), and only after the caller's
// database transaction has accepted the entries does `commit` rename them to
// `vault/<payloadHash>.payload`. Any refusal removes every partial: a refused packet leaves nothing.
//
// Vault naming: electron/core/vault.ts (when it exists) must use vaultPathFor for payload files,
// and may sweep `.*.partial` files left in the vault by a crash at start-up.
import { constants, createReadStream } from 'node:fs';
import { type FileHandle, lstat, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { hashCanonical } from '../../shared/canonical.js';
import { type AssetDescriptor, type Payload } from '../../shared/asset.js';
import { createHasher, randomBytes, toBase64Url, toHex, hash } from '../../shared/crypto.js';
import { CleanroomError, diskFullError, isDiskFull } from '../../shared/errors.js';
import {
  openPacketContents,
  type PacketContents,
  packetFormatOf,
  packetFormatV2,
  type PacketHeader,
  type PacketLayout,
  packetLimits,
  type PacketPayloadRef,
  packetPrologueBytes,
  type PacketRecipientKeys,
  payloadHashRefusal,
  describePayload,
  readPacketEnvelope,
  readPacketLayout,
} from '../../shared/packet.js';
import { type SignedEntry } from '../../shared/room.js';
import { type OutputRelease } from '../../shared/run.js';
import { describeFileError, linkTarget, partialNameOf, type PendingFileJournal, removeQuietly, symlinkRefusal, writeFailure } from './files.js';

/** Bytes per read and write when payloads are copied: big enough to be fast, small enough to not matter. */
const pieceBytes = 1024 * 1024;

/** Payload files in the vault: `<vault>/<payload hash>.payload`. */
export const payloadFileSuffix = '.payload';

/** Where the encrypted payload with this hash lives in the vault. */
export function vaultPathFor(vaultDir: string, payloadHash: string): string {
  if (!/^[0-9a-f]{64}$/.test(payloadHash)) throw new CleanroomError('INTERNAL', 'A payload hash must be 64 hex digits.');
  return path.join(vaultDir, `${payloadHash}${payloadFileSuffix}`);
}

/** A hidden, unique temporary name in the vault for a payload being received. */
function payloadPartialPath(vaultDir: string, payloadHash: string): string {
  return path.join(vaultDir, `.${payloadHash}${payloadFileSuffix}.${toHex(randomBytes(6))}.partial`);
}

// ---- Refusals worded for the person importing ----------------------------------------------------

export const refusedPrefix = 'Packet refused, nothing was imported: ';

/** A BAD_PACKET refusal with the importer's wording. */
export const packetRefusal = (reason: string): CleanroomError => new CleanroomError('BAD_PACKET', `${refusedPrefix}${reason}.`);

/** Runs a check from shared/packet.ts and rewords its refusals for the person importing. */
function asImporter<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof CleanroomError)) throw error;
    if (error.code === 'NOT_A_MEMBER') {
      throw new CleanroomError('NOT_A_MEMBER', 'This packet is not addressed to you; nothing was imported. Ask the sender to write one for you.');
    }
    if (error.code === 'BAD_PACKET') throw packetRefusal(error.message);
    throw error;
  }
}

/**
 * A packet I wrote and did not address to myself (its signature already checked): "not addressed
 * to you; ask the sender" would send me to myself, so say what it is and where it goes.
 */
function refuseOwnPacket(header: Pick<PacketHeader, 'sender' | 'recipients'>, me: { readonly signPublicKey: string; readonly boxPublicKey: string }): void {
  const { sender } = header;
  if (sender.signPublicKey !== me.signPublicKey || sender.boxPublicKey !== me.boxPublicKey) return;
  if (header.recipients.some((r) => r.boxPublicKey === me.boxPublicKey)) return;
  const to = header.recipients.map((r) => r.alias).join(', ');
  throw new CleanroomError('NOT_ALLOWED', `This is a packet you wrote, for ${to}; there is nothing in it for you to import. Carry it to ${header.recipients.length === 1 ? 'them' : 'each of them'}.`);
}

function tooLarge(what: string, size: number): CleanroomError {
  return new CleanroomError(
    'BAD_PACKET',
    `${what} is ${size} bytes, over the ${packetLimits.maxPacketBytes}-byte limit for packets; it was not read.`,
  );
}

const cannotRead = (file: string, error: unknown): CleanroomError =>
  error instanceof CleanroomError ? error : new CleanroomError('FILE_ERROR', `Cannot read ${file} (${describeFileError(error)}).`);

/** Exactly `length` bytes at `position`; a short read means the file changed under us. */
async function readRange(handle: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, length - done, position + done);
    if (bytesRead === 0) throw packetRefusal('the file became shorter while it was read (is it still being copied?)');
    done += bytesRead;
  }
  return out;
}

// ---- Reading ---------------------------------------------------------------------------------------

export interface OpenedPacketFile {
  readonly file: string;
  /** The file's size when it was checked. */
  readonly size: number;
  readonly layout: PacketLayout;
  readonly header: PacketHeader;
  readonly contents: PacketContents;
  /**
   * BLAKE2b-256 (hex) of the bytes before the payloads. The signed header holds every payload's
   * hash, so this identifies the whole packet; for cleanroom-packet/1 it is the hash of the file.
   */
  readonly packetHash: string;
}

/**
 * Checks 1–14 of a packet file without reading a payload byte: the first bytes and the file's
 * size give the sizes (a /2 file must be exactly header + frames + its payloads' sizes), then the
 * signature, the frames and the feed's decryption. Refusals are worded for the importer.
 */
export async function openPacketFile(
  file: string,
  recipient: PacketRecipientKeys,
  options: { readonly followSymlinks?: boolean; /** The importer's signing key, to tell their own packets apart. */ readonly signPublicKey?: string } = {},
): Promise<OpenedPacketFile> {
  let handle: FileHandle;
  // O_NOFOLLOW refuses a link in the same call that opens the file, so it cannot be swapped in
  // between a check and the open; where the flag does not exist (Windows), lstat checks first.
  const noFollow = options.followSymlinks !== true && constants.O_NOFOLLOW !== undefined;
  if (options.followSymlinks !== true && !noFollow) await refuseSymlinkAt(file);
  try {
    handle = await open(file, noFollow ? constants.O_RDONLY | constants.O_NOFOLLOW : 'r');
  } catch (error) {
    if (noFollow && (error as NodeJS.ErrnoException).code === 'ELOOP') await refuseSymlinkAt(file);
    throw cannotRead(file, error);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new CleanroomError('FILE_ERROR', `Cannot read ${file}: it is not a file.`);
    const size = info.size;
    const prologue = await readRange(handle, 0, Math.min(size, packetPrologueBytes));
    // Only a /2 packet may be larger than the in-memory cap; anything else that large costs one bounded read.
    if (size > packetLimits.maxPacketBytes && packetFormatOf(prologue) !== packetFormatV2) throw tooLarge(file, size);
    const envelope = asImporter(() => readPacketEnvelope(prologue, size));
    const headLength = Math.min(size, envelope.framesEnd);
    const head = headLength <= prologue.length ? prologue.subarray(0, headLength) : await readRange(handle, 0, headLength);
    const layout = asImporter(() => readPacketLayout(head, size));
    if (options.signPublicKey !== undefined) refuseOwnPacket(layout.header, { signPublicKey: options.signPublicKey, boxPublicKey: toBase64Url(recipient.boxPublicKey) });
    const { header, contents } = asImporter(() => openPacketContents(head, layout, recipient));
    return { file, size, layout, header, contents, packetHash: toHex(hash(head)) };
  } catch (error) {
    throw cannotRead(file, error);
  } finally {
    await handle.close();
  }
}

/** Throws the symlink refusal when `file` is a link. */
async function refuseSymlinkAt(file: string): Promise<void> {
  let isLink = false;
  try {
    isLink = (await lstat(file)).isSymbolicLink();
  } catch {
    return;
  }
  if (isLink) throw symlinkRefusal(file, linkTarget(file));
}

// ---- Receiving payloads into the vault ------------------------------------------------------------

export interface StagedPayload {
  readonly ref: PacketPayloadRef;
  /** Where the payload is once committed: `vault/<hash>.payload`, or where the vault already held it. */
  readonly final: string;
  /** The verified copy waiting to be renamed; null when the vault already held the payload. */
  readonly partial: string | null;
}

export interface StagedPayloads {
  readonly payloads: readonly StagedPayload[];
  /** How many payloads are new to this vault. */
  readonly added: number;
  /**
   * Renames every verified copy into place and makes the renames durable. Call just before the
   * transaction that commits the entries and records the payloads' rows: a crash in between leaves
   * whole files no row records, which the start-up sweep removes (the import did not happen).
   */
  place(): Promise<void>;
  /** Removes every partial copy, and every file place() put in the vault. Safe to call twice. */
  discard(): Promise<void>;
}

export interface StageOptions {
  /** Names payloads in refusals by their asset's name. */
  readonly nameOf?: (assetId: string) => string | undefined;
  /** Where the vault already holds the payload with this hash, if anywhere (default: vaultPathFor). */
  readonly locate?: (payloadHash: string) => string | null;
  /** Called after each piece is copied; tests use it to fail or crash mid-copy. */
  readonly afterPiece?: (payloadIndex: number, bytesCopied: number) => void;
}

/**
 * Streams `from`'s bytes [start, start + size) through a hasher, and into `to` when given. Returns
 * the hex hash, or null when the file ended early (it changed after it was measured).
 */
async function copyHashed(
  from: string,
  start: number,
  size: number,
  to: FileHandle | null,
  afterPiece?: (bytesCopied: number) => void,
): Promise<string | null> {
  const hasher = createHasher();
  let copied = 0;
  const stream = createReadStream(from, { start, end: start + size - 1, highWaterMark: pieceBytes });
  try {
    for await (const piece of stream as AsyncIterable<Buffer>) {
      hasher.update(piece);
      if (to !== null) {
        let written = 0;
        while (written < piece.length) written += (await to.write(piece, written, piece.length - written)).bytesWritten;
      }
      copied += piece.length;
      afterPiece?.(copied);
    }
  } finally {
    stream.destroy();
  }
  const digest = toHex(hasher.digest());
  return copied === size ? digest : null;
}

async function existingSize(file: string): Promise<number | null> {
  try {
    const info = await stat(file);
    return info.isFile() ? info.size : null;
  } catch {
    return null;
  }
}

/**
 * Check 15: copies each payload of an opened packet into a hidden `.partial` file in the vault,
 * hashing as it goes, and refuses the whole packet (removing every partial) when a payload's
 * bytes do not match its signed hash and size. A payload the vault already holds (same hash, same
 * size) is hashed in the packet but not copied again, so re-importing is idempotent.
 */
export async function stagePayloads(opened: OpenedPacketFile, vaultDir: string, options: StageOptions = {}): Promise<StagedPayloads> {
  options = { locate: (payloadHash) => vaultPathFor(vaultDir, payloadHash), ...options };
  const refs = opened.header.payloads;
  const staged: StagedPayload[] = [];
  const partials = new Set<string>();
  const placed = new Set<string>();
  const discard = async (): Promise<void> => {
    for (const file of [...partials, ...placed]) await rm(file, { force: true });
    partials.clear();
    placed.clear();
  };
  /** Removes everything this import wrote, and says why in our words. */
  const discardFor = async (error: unknown): Promise<CleanroomError> => {
    await discard();
    if (error instanceof CleanroomError) return error;
    if (isDiskFull(error)) return diskFullError(vaultDir);
    return new CleanroomError('FILE_ERROR', `Cannot store the packet's payloads in ${vaultDir} (${describeFileError(error)}); nothing was imported.`);
  };
  try {
    for (const [index, span] of opened.layout.payloads.entries()) {
      const held = options.locate?.(span.hash) ?? null;
      const present = held !== null && (await existingSize(held)) === span.size;
      const final = present ? held : vaultPathFor(vaultDir, span.hash);
      let partial: string | null = null;
      let handle: FileHandle | null = null;
      let digest: string | null;
      try {
        if (!present) {
          partial = payloadPartialPath(vaultDir, span.hash);
          handle = await open(partial, 'wx', 0o600);
          partials.add(partial);
        }
        digest = await copyHashed(opened.file, span.offset, span.size, handle, (copied) => options.afterPiece?.(index, copied));
        if (handle !== null && digest === span.hash) await handle.sync();
      } finally {
        await handle?.close();
      }
      const name = options.nameOf?.(span.asset);
      if (digest === null) {
        throw packetRefusal(`${describePayload(refs, index, name)} ended early: the file became shorter while it was read`);
      }
      if (digest !== span.hash) throw packetRefusal(payloadHashRefusal(refs, index, name));
      staged.push({ ref: { asset: span.asset, hash: span.hash, size: span.size }, final, partial });
    }
  } catch (error) {
    throw await discardFor(error);
  }
  return {
    payloads: staged,
    added: staged.filter((payload) => payload.partial !== null).length,
    async place() {
      try {
        for (const payload of staged) {
          if (payload.partial === null || !partials.has(payload.partial)) continue;
          await rename(payload.partial, payload.final);
          partials.delete(payload.partial);
          placed.add(payload.final);
        }
        await syncFolder(vaultDir);
      } catch (error) {
        throw await discardFor(error);
      }
    },
    discard,
  };
}

// ---- Writing ---------------------------------------------------------------------------------------

export interface OutgoingPayload {
  readonly ref: PacketPayloadRef;
  /** The vault file holding its bytes. */
  readonly source: string;
  /** For messages: "table visits". */
  readonly label: string;
}

export interface WriteOptions {
  /** Called after each payload piece is written; tests use it to crash mid-write. */
  readonly afterPiece?: (bytesWritten: number) => void;
  /** Records the temporary file for the start-up sweep (the target is outside the home). */
  readonly journal?: PendingFileJournal;
}

/**
 * Writes `head` (from encodePacketHead) and then each payload's vault file, in order, to a hidden
 * `.partial` name next to `target`; syncs; renames; syncs the folder. Each vault file is hashed as
 * it is copied, so a damaged vault copy is never sent under a good hash. Returns the file's size.
 * Throws DISK_FULL naming the folder, FILE_ERROR naming the path, or HOME_DAMAGED for a damaged
 * vault copy, and leaves no partial: removed on any failure here, and recorded in `journal` so one
 * a kill -9 leaves goes at the next start-up.
 */
export async function writePacketFile(target: string, head: Uint8Array, payloads: readonly OutgoingPayload[], options: WriteOptions = {}): Promise<number> {
  const partial = partialNameOf(target);
  for (const payload of payloads) {
    const size = await existingSize(payload.source);
    if (size === null) throw new CleanroomError('HOME_DAMAGED', `The encrypted payload of ${payload.label} is missing from the vault (${payload.source}); no packet was written.`);
    if (size !== payload.ref.size) {
      throw new CleanroomError('HOME_DAMAGED', `The vault copy of ${payload.label} is ${size} bytes; its descriptor says ${payload.ref.size}. No packet was written.`);
    }
  }
  options.journal?.begin(partial);
  let handle: FileHandle | null = null;
  let created = false;
  let leftover = false;
  try {
    handle = await open(partial, 'w', 0o644);
    created = true;
    let written = 0;
    while (written < head.length) written += (await handle.write(head, written, head.length - written)).bytesWritten;
    let total = head.length;
    for (const payload of payloads) {
      const digest = await copyHashed(payload.source, 0, payload.ref.size, handle, (copied) => options.afterPiece?.(total + copied));
      if (digest !== payload.ref.hash) {
        throw new CleanroomError('HOME_DAMAGED', `The vault copy of ${payload.label} does not match its descriptor's hash; no packet was written.`);
      }
      total += payload.ref.size;
    }
    await handle.sync();
    await handle.close();
    handle = null;
    await rename(partial, target);
    created = false;
    await syncFolder(path.dirname(target));
    return total;
  } catch (error) {
    if (handle !== null) await handle.close().catch(() => undefined);
    leftover = created && !removeQuietly(partial);
    throw writeFailure(target, error);
  } finally {
    // One that could not be removed stays recorded for the next start-up.
    if (!leftover) options.journal?.end(partial);
  }
}

/** Makes renames in `dir` durable; platforms that cannot sync a folder (Windows) skip it. */
async function syncFolder(dir: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(dir, 'r');
  } catch {
    return;
  }
  try {
    await handle.sync();
  } catch {
    // EINVAL/EPERM where folders cannot be synced: the rename has still happened.
  } finally {
    await handle.close();
  }
}

// ---- Which payloads travel -------------------------------------------------------------------------

export interface RoomAsset {
  /** hashCanonical(descriptor). */
  readonly id: string;
  readonly descriptor: AssetDescriptor;
}

/**
 * Every asset added to the room by these (valid, stored or accepted) entries, by id. Read from
 * the asset.added entries themselves, so it does not depend on how the derived room state
 * presents assets; only the author's own descriptors count.
 */
export function assetsIn(entries: readonly SignedEntry[]): Map<string, RoomAsset> {
  const assets = new Map<string, RoomAsset>();
  for (const signed of entries) {
    const { body, author } = signed.entry;
    if (body.type !== 'asset.added' || body.descriptor.owner !== author) continue;
    const id = hashCanonical(body.descriptor);
    if (!assets.has(id)) assets.set(id, { id, descriptor: body.descriptor });
  }
  return assets;
}

/**
 * The payloads a packet from `me` to `recipients` carries: each of my assets referenced by a
 * snapshot whose runner is one of the recipients (the runner needs the ciphertext; the key comes
 * only with an approval), or all of my assets when `withPayloads` is set. In header order: by
 * asset name, then id, so the same request gives the same packet layout.
 */
export function payloadsToSend(
  entries: readonly SignedEntry[],
  me: string,
  recipients: readonly string[],
  withPayloads: boolean,
): RoomAsset[] {
  const assets = assetsIn(entries);
  const chosen = new Map<string, RoomAsset>();
  const mine = (id: string): RoomAsset | undefined => {
    const asset = assets.get(id);
    return asset !== undefined && asset.descriptor.owner === me ? asset : undefined;
  };
  if (withPayloads) for (const asset of assets.values()) if (asset.descriptor.owner === me) chosen.set(asset.id, asset);
  const runners = new Set(recipients);
  for (const signed of entries) {
    const { body } = signed.entry;
    if (body.type !== 'snapshot.added' || !runners.has(body.snapshot.runner)) continue;
    for (const reference of body.snapshot.assets) {
      const asset = mine(reference.asset);
      if (asset !== undefined) chosen.set(asset.id, asset);
    }
  }
  return [...chosen.values()].sort((a, b) => a.descriptor.name.localeCompare(b.descriptor.name) || a.id.localeCompare(b.id));
}

// ---- Release payloads -------------------------------------------------------------------------------
//
// A runner's release of a run's outputs (output.released) travels like an asset payload: in the
// packet header its `asset` field holds the run id, and the entry plays the descriptor's part
// (payload hash, size and chunk size). Only a recipient of the release can open it.

export interface RoomRelease {
  /** The run id: the payload ref's `asset`. */
  readonly run: string;
  readonly runner: string;
  readonly release: OutputRelease;
  /** What the importer checks the payload against, in the shape of an asset descriptor's. */
  readonly descriptor: { readonly name: string; readonly payload: Payload };
}

/** Every release of run outputs in these (valid) entries, by run id. */
export function releasesIn(entries: readonly SignedEntry[]): Map<string, RoomRelease> {
  const releases = new Map<string, RoomRelease>();
  for (const signed of entries) {
    const { body, author } = signed.entry;
    if (body.type !== 'output.released' || releases.has(body.release.run)) continue;
    const { release } = body;
    releases.set(release.run, {
      run: release.run,
      runner: author,
      release,
      descriptor: {
        name: `outputs of run ${release.run.slice(0, 8)}`,
        payload: { hash: release.payload.hash, size: release.payload.size, encryption: 'secretstream-xchacha20poly1305/1', chunkSize: release.payload.chunkSize },
      },
    });
  }
  return releases;
}

/** The release payloads a packet from `me` to `recipients` carries: my releases addressed to any of them, by run id. */
export function releasePayloadsToSend(entries: readonly SignedEntry[], me: string, recipients: readonly string[]): RoomRelease[] {
  const wanted = new Set(recipients);
  return [...releasesIn(entries).values()]
    .filter((release) => release.runner === me && release.release.recipients.some((key) => wanted.has(key)))
    .sort((a, b) => a.run.localeCompare(b.run));
}
