// Tables and volumes: inspecting a source file, importing it as an encrypted payload under a new
// data key (a job), and listing a room's assets. The plaintext source is read by the worker only;
// this home stores the ciphertext, the data key sealed to my own box key, and the signed
// descriptor in my feed. A failure at any step leaves no asset, payload, key or partial file.
import { realpathSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { type AssetDescriptor, type AssetView, type Column, type ColumnRole, readableBytes, type SourceFormat, type TableInspection } from '../../shared/asset.js';
import { hashCanonical } from '../../shared/canonical.js';
import { fromBase64Url, randomBytes, toBase64Url, wipe } from '../../shared/crypto.js';
import { CleanroomError, diskFullError } from '../../shared/errors.js';
import { type IdentityPublic } from '../../shared/identity.js';
import { type RoomState } from '../../shared/room-state.js';
import { refuseSymlink, safeReaddir } from './files.js';
import { type Jobs } from './jobs.js';
import { type UnlockedKeys } from './keystore.js';
import { type Rooms, type StoredRoom } from './rooms.js';
import { createRamFolder } from './ram-folder.js';
import { commitPayload, newDataKey, recordPayload, sealDataKeyForOwner } from './vault.js';
import { type WorkerHost } from './worker-host.js';

/** Imports may take long on big files; the worker reports progress meanwhile. */
const importTimeoutMs = 6 * 60 * 60 * 1000;
const inspectTimeoutMs = 5 * 60 * 1000;

// ---- suggested roles ---------------------------------------------------------------------------

const idLikeNames = new Set(['id', 'patient', 'member', 'ssn', 'mrn']);
const numericType = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|REAL|DECIMAL(\(\d+,\s*\d+\))?|INT\d*)$/i;
const emailValue = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** Free text and near-unique personal details: never offered as a dimension (a group key could single someone out). */
const freeTextWords = new Set(['name', 'firstname', 'lastname', 'surname', 'address', 'street', 'phone', 'mobile', 'note', 'notes', 'comment', 'comments', 'description', 'text', 'remarks', 'dob', 'birthdate', 'postcode', 'zip', 'ip']);

/**
 * A sensible default role: identifiers and e-mail addresses join, free text and personal details
 * (names, addresses, notes) stay hidden, numbers are measured, the rest groups. Nothing becomes the privacy unit by default: that is the owner's deliberate choice.
 */
export function suggestRole(name: string, type: string, samples: readonly unknown[] = []): ColumnRole {
  const lower = name.toLowerCase();
  const words = lower.split(/[^a-z0-9]+/).filter((word) => word !== '');
  const idLike = idLikeNames.has(lower) || words.some((word) => idLikeNames.has(word)) || lower.endsWith('_id') || /[a-z]id$/.test(lower);
  const emailLike =
    /e_?-?mail/.test(lower) ||
    (samples.length > 0 && samples.every((sample) => sample === null || (typeof sample === 'string' && emailValue.test(sample))) && samples.some((sample) => sample !== null));
  if (idLike || emailLike) return 'join_key';
  if (words.some((word) => freeTextWords.has(word))) return 'hidden';
  if (numericType.test(type.trim())) return 'measure';
  return 'dimension';
}

/** The format from the file's name, or the one asked for. */
export function formatOf(file: string, asked: SourceFormat | undefined): SourceFormat {
  if (asked !== undefined) return asked;
  const name = file.toLowerCase().replace(/\.(gz|zst)$/, '');
  if (name.endsWith('.parquet') || name.endsWith('.pq')) return 'parquet';
  if (name.endsWith('.json') || name.endsWith('.ndjson') || name.endsWith('.jsonl')) return 'json';
  if (name.endsWith('.csv') || name.endsWith('.tsv') || name.endsWith('.txt')) return 'csv';
  throw new CleanroomError('BAD_REQUEST', `Cannot tell the format of ${path.basename(file)} from its name: give --format csv, parquet or json.`);
}

/** Why a schema cannot become a table (empty or repeated column names), or null. */
export function columnNamesProblem(names: readonly string[]): string | null {
  if (names.length === 0) return 'it has no columns';
  const seen = new Set<string>();
  for (const [index, name] of names.entries()) {
    if (name.trim() === '') return `column ${index + 1} has no name`;
    // DuckDB identifiers are case-insensitive, so "Age" and "age" are the same column in SQL.
    const key = name.toLowerCase();
    if (seen.has(key)) return `the column name "${name}" appears more than once`;
    seen.add(key);
  }
  return null;
}

/** The columns with their roles: the ones asked for, the suggested role for the rest. */
export function assignRoles(
  columns: readonly { name: string; type: string; suggestedRole: ColumnRole }[],
  roles: readonly { column: string; role: ColumnRole }[],
): Column[] {
  const byName = new Map(columns.map((column) => [column.name, column]));
  const assigned = new Map<string, ColumnRole>();
  for (const { column, role } of roles) {
    if (!byName.has(column)) {
      const near = columns.find((candidate) => candidate.name.toLowerCase() === column.toLowerCase());
      throw new CleanroomError('BAD_REQUEST', `The column ${column} does not exist${near === undefined ? '' : ` (did you mean ${near.name}?)`}.`);
    }
    const earlier = assigned.get(column);
    if (earlier !== undefined && earlier !== role) throw new CleanroomError('BAD_REQUEST', `The column ${column} is given two roles (${earlier} and ${role}).`);
    assigned.set(column, role);
  }
  const units = [...assigned].filter(([, role]) => role === 'privacy_unit').map(([column]) => column);
  if (units.length > 1) {
    throw new CleanroomError('BAD_REQUEST', `A table has at most one privacy unit column; ${units.join(' and ')} were both given that role.`);
  }
  return columns.map((column) => ({ name: column.name, type: column.type, role: assigned.get(column.name) ?? column.suggestedRole }));
}

// ---- storage -----------------------------------------------------------------------------------

interface PayloadRow {
  hash: string;
  size: number;
  path: string;
  present: number;
}

/** An asset as the room's feeds have it. */
export interface RoomAsset {
  readonly id: string;
  /** The room's name for it: the descriptor's, unless another asset had that name first (shared/room-state.ts). */
  readonly name: string;
  readonly descriptor: AssetDescriptor;
}

/** The assets in a room's state (valid asset.added entries), oldest first. */
export function roomAssets(state: RoomState): RoomAsset[] {
  return state.assets.map((asset) => ({ id: asset.id, name: asset.name, descriptor: asset.descriptor }));
}

export interface AddTableRequest {
  readonly room: string;
  readonly name: string;
  readonly path: string;
  /** Import `path` even when it is a symbolic link (refused otherwise). */
  readonly followSymlinks?: boolean;
  readonly format?: SourceFormat;
  readonly roles?: readonly { column: string; role: ColumnRole }[];
  readonly shareRowCount?: boolean;
  readonly allowMinMax?: boolean;
}

export interface AddVolumeRequest {
  readonly room: string;
  readonly name: string;
  readonly path: string;
  /** Add `path` even when it is a symbolic link (links inside a folder are always refused). */
  readonly followSymlinks?: boolean;
  readonly private?: boolean;
}

export class Assets {
  constructor(
    private readonly db: Database.Database,
    private readonly vaultDir: string,
    private readonly rooms: Rooms,
    private readonly worker: WorkerHost,
    private readonly jobs: Jobs,
    private readonly clock: () => Date,
    /** Where files uploaded through the browser shell wait; one is removed once its import ends. */
    private readonly staging?: { release(file: string): void },
  ) {}

  // ---- inspect -----------------------------------------------------------------------------------

  async inspect(file: string, asked?: SourceFormat, followSymlinks?: boolean): Promise<TableInspection> {
    const source = requireSourceFile(file, followSymlinks);
    const format = formatOf(source, asked);
    const result = await this.worker.request({ kind: 'inspect', path: source, format }, { timeoutMs: inspectTimeoutMs });
    const problem = columnNamesProblem(result.columns.map((column) => column.name));
    if (problem !== null) throw new CleanroomError('BAD_REQUEST', `${path.basename(source)} cannot be a table: ${problem}.`);
    return {
      format,
      size: statSync(source).size,
      columns: result.columns.map((column) => ({
        name: column.name,
        type: column.type,
        suggestedRole: suggestRole(column.name, column.type),
      })),
    };
  }

  // ---- add -------------------------------------------------------------------------------------

  /** Checks everything that can be checked at once, then starts the import as a job. */
  async startTable(request: AddTableRequest, me: IdentityPublic, keys: UnlockedKeys): Promise<string> {
    const room = this.rooms.resolve(request.room);
    this.requireNameFree(room, me, request.name);
    const inspection = await this.inspect(request.path, request.format, request.followSymlinks);
    const columns = assignRoles(inspection.columns, request.roles ?? []);
    const source = path.resolve(request.path);
    return this.jobs.start('table.add', `Importing ${path.basename(source)}…`, async ({ progress, signal }) => {
      const dataKey = newDataKey();
      const partial = this.partialPath();
      // Plaintext Parquet exists only here, in RAM, for the length of the job.
      const ram = createRamFolder();
      try {
        progress(0, inspection.size, `Importing ${path.basename(source)}…`);
        const imported = await this.toVault(this.worker.request(
          {
            kind: 'importTable',
            source,
            format: inspection.format,
            columns: columns.map((column) => column.name),
            dataKey: toBase64Url(dataKey),
            outFile: partial,
            ramDir: ram.dir,
          },
          {
            timeoutMs: importTimeoutMs,
            onProgress: ({ phase, done, total }) =>
              progress(done, total, `${phase === 'converting' ? 'Converting' : 'Encrypting'} ${path.basename(source)}… ${readableBytes(done)} of ${readableBytes(total)}`),
          },
        ));
        if (signal.aborted) throw new CleanroomError('INTERNAL', 'Cleanroom closed before the import finished; nothing was added.');
        const descriptor: AssetDescriptor = {
          kind: 'table',
          ...this.newDescriptorFields(room, request.name, me, imported),
          columns,
          rowCount: request.shareRowCount === true ? imported.rowCount : null,
          sourceFormat: inspection.format,
          allowMinMax: request.allowMinMax === true,
        };
        return this.commit(room, me, keys, descriptor, dataKey, partial);
      } finally {
        wipe(dataKey);
        rmSync(partial, { force: true });
        ram.remove();
        this.staging?.release(source);
      }
    });
  }

  async startVolume(request: AddVolumeRequest, me: IdentityPublic, keys: UnlockedKeys): Promise<string> {
    const room = this.rooms.resolve(request.room);
    this.requireNameFree(room, me, request.name);
    const given = path.resolve(request.path);
    refuseSymlink(given, request.followSymlinks);
    let source: string;
    try {
      // A followed link is resolved here: the worker packs only real files and folders.
      source = request.followSymlinks === true ? realpathSync(given) : given;
      statSync(source);
    } catch {
      throw new CleanroomError('FILE_ERROR', `Cannot read ${request.path}: no such file or folder.`);
    }
    return this.jobs.start('volume.add', `Packing ${path.basename(source)}…`, async ({ progress, signal }) => {
      const dataKey = newDataKey();
      const partial = this.partialPath();
      try {
        const packed = await this.toVault(
          this.worker.request(
            { kind: 'packVolume', source, dataKey: toBase64Url(dataKey), outFile: partial },
            {
              timeoutMs: importTimeoutMs,
              onProgress: ({ done, total }) => progress(done, total, `Encrypting ${path.basename(source)}… ${readableBytes(done)} of ${readableBytes(total)}`),
            },
          ),
        );
        if (signal.aborted) throw new CleanroomError('INTERNAL', 'Cleanroom closed before the volume was added; nothing was added.');
        const isPrivate = request.private === true;
        const descriptor: AssetDescriptor = {
          kind: 'volume',
          ...this.newDescriptorFields(room, request.name, me, packed),
          private: isPrivate,
          // A private volume's listing is itself private: the descriptor travels to everyone.
          files: isPrivate ? [] : packed.files.map((file) => ({ path: file.path, size: file.size })),
        };
        return this.commit(room, me, keys, descriptor, dataKey, partial);
      } finally {
        wipe(dataKey);
        rmSync(partial, { force: true });
        this.staging?.release(given);
      }
    });
  }

  /** What every new descriptor says besides its kind: the room, name and owner, its encrypted payload, when, and a fresh nonce. */
  private newDescriptorFields(
    room: StoredRoom,
    name: string,
    me: IdentityPublic,
    payload: { readonly payloadHash: string; readonly payloadSize: number; readonly chunkSize: number },
  ): Pick<AssetDescriptor, 'format' | 'room' | 'name' | 'owner' | 'payload' | 'createdAt' | 'nonce'> {
    return {
      format: 'cleanroom-asset/1',
      room: room.id,
      name,
      owner: me.signPublicKey,
      payload: { hash: payload.payloadHash, size: payload.payloadSize, encryption: 'secretstream-xchacha20poly1305/1', chunkSize: payload.chunkSize },
      createdAt: this.clock().toISOString(),
      nonce: toBase64Url(randomBytes(16)),
    };
  }

  /** A worker's write into the vault: a full disk is named as the vault's folder, which the worker does not know. */
  private async toVault<T>(request: Promise<T>): Promise<T> {
    try {
      return await request;
    } catch (error) {
      if (error instanceof CleanroomError && error.code === 'DISK_FULL') throw diskFullError(this.vaultDir);
      throw error;
    }
  }

  /** A fresh temporary name in the vault; the start-up sweep removes any a crash left. */
  private partialPath(): string {
    return path.join(this.vaultDir, `import-${toBase64Url(randomBytes(12))}.partial`);
  }

  private requireNameFree(room: StoredRoom, me: IdentityPublic, name: string): RoomState {
    const state = this.rooms.requireActiveMember(room, me);
    if (roomAssets(state).some((asset) => asset.name === name)) {
      throw new CleanroomError('NOT_ALLOWED', `${room.name} already has an asset named ${name}; choose another name.`);
    }
    return state;
  }

  /**
   * Moves the payload into place, then stores its row, the sealed key and the signed descriptor in
   * one transaction; if that fails, the payload file is removed again.
   */
  private commit(room: StoredRoom, me: IdentityPublic, keys: UnlockedKeys, descriptor: AssetDescriptor, dataKey: Uint8Array, partial: string): AssetView {
    // Checked again: another import with the same name may have finished meanwhile.
    this.requireNameFree(room, me, descriptor.name);
    const id = hashCanonical(descriptor);
    const sealedKey = sealDataKeyForOwner(dataKey, fromBase64Url(me.boxPublicKey));
    const final = commitPayload(partial, this.vaultDir, descriptor.payload.hash);
    try {
      this.db.transaction(() => {
        const now = this.clock().toISOString();
        recordPayload(this.db, this.vaultDir, { hash: descriptor.payload.hash, size: descriptor.payload.size, file: final }, this.clock());
        this.db.prepare('INSERT INTO data_keys (asset, room, sealed_key, created_at) VALUES (?, ?, ?, ?)').run(id, room.id, sealedKey, now);
        this.rooms.appendMine(room, me, keys, { type: 'asset.added', descriptor });
      })();
    } catch (error) {
      rmSync(final, { force: true });
      throw error;
    }
    const view = this.list(room.id, me).find((asset) => asset.id === id);
    if (view === undefined) throw new CleanroomError('INTERNAL', 'Internal error: the new asset is not in the room.');
    return view;
  }

  // ---- views -----------------------------------------------------------------------------------

  private payloadPresent(hash: string): boolean {
    const row = this.db.prepare('SELECT hash, size, path, present FROM payloads WHERE hash = ?').get(hash) as PayloadRow | undefined;
    if (row === undefined || row.present !== 1) return false;
    try {
      return statSync(path.join(this.vaultDir, row.path)).size === row.size;
    } catch {
      return false;
    }
  }

  list(roomRef: string, me: IdentityPublic): AssetView[] {
    const room = this.rooms.resolve(roomRef);
    const state = this.rooms.state(room);
    const book = this.rooms.aliasBook(state, me);
    return roomAssets(state).map(({ id, name, descriptor }) => {
      const mine = descriptor.owner === me.signPublicKey;
      return {
        id,
        kind: descriptor.kind,
        name,
        owner: book.of(descriptor.owner),
        ownerKey: descriptor.owner,
        mine,
        columns: descriptor.kind === 'table' ? descriptor.columns : [],
        rowCount: descriptor.kind === 'table' ? descriptor.rowCount : null,
        private: descriptor.kind === 'volume' && descriptor.private,
        // Another member's private volume shows no files, whatever its descriptor says.
        files: descriptor.kind === 'volume' && !(descriptor.private && !mine) ? descriptor.files : [],
        payloadHash: descriptor.payload.hash,
        payloadSize: descriptor.payload.size,
        payloadPresent: this.payloadPresent(descriptor.payload.hash),
        createdAt: descriptor.createdAt,
      };
    });
  }

  /** My sealed data key for one of my assets, or null. */
  sealedKeyOf(assetId: string): string | null {
    const row = this.db.prepare('SELECT sealed_key FROM data_keys WHERE asset = ?').get(assetId) as { sealed_key: string } | undefined;
    return row?.sealed_key ?? null;
  }
}

/** The absolute path of a readable, non-empty source file; a symbolic link only when asked to follow it. */
function requireSourceFile(file: string, followSymlinks: boolean | undefined): string {
  const source = path.resolve(file);
  refuseSymlink(source, followSymlinks);
  let size: number;
  try {
    const stat = statSync(source);
    if (!stat.isFile()) throw new CleanroomError('FILE_ERROR', `${file} is not a file.`);
    size = stat.size;
  } catch (error) {
    if (error instanceof CleanroomError) throw error;
    throw new CleanroomError('FILE_ERROR', `Cannot read ${file}: no such file.`);
  }
  if (size === 0) throw new CleanroomError('BAD_REQUEST', `${path.basename(source)} is empty: there is nothing to import.`);
  return source;
}

/**
 * Removes what an import killed mid-way left in the vault, at start-up before any job:
 * `.partial` files, which are never referenced, and `.payload` files that no `payloads` row
 * records. A payload is renamed into place before its row is written, so a crash between the two
 * leaves such a file: useless (for my own import its key was never stored; a packet's payload
 * comes again with the next import of that packet) but taking space.
 */
export function sweepVault(db: Database.Database, vaultDir: string): number {
  const recorded = new Set(
    (db.prepare('SELECT path FROM payloads').all() as { path: string }[]).map((row) => path.resolve(vaultDir, row.path)),
  );
  let removed = sweepPartials(vaultDir);
  for (const name of safeReaddir(vaultDir)) {
    const file = path.join(vaultDir, name);
    if (!name.endsWith('.payload') || recorded.has(file)) continue;
    rmSync(file, { force: true });
    removed++;
  }
  return removed;
}


function sweepPartials(vaultDir: string): number {
  let removed = 0;
  for (const name of safeReaddir(vaultDir)) {
    if (!name.endsWith('.partial')) continue;
    rmSync(path.join(vaultDir, name), { force: true, recursive: true });
    removed++;
  }
  return removed;
}
