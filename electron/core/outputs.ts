// Output tables: kept in the home encrypted at rest, each under its own random key sealed to my own
// box key (reading one needs the unlocked identity), deleted after the room's retention. Two kinds:
// 'mine' (my runs made them) and 'released' (a runner released them to me: the release payload is
// opened with the key sealed to me in the output.released entry, and every table's hash is checked
// against that entry, which the room state already checked against the run's signed receipt).
//
// Release payloads use the vault's payload format (electron/worker/payload-stream.ts): a
// secretstream header, then chunks of `chunkSize` plaintext bytes, the last tagged FINAL. Their
// plaintext is the canonical JSON of an output bundle (below).
import { existsSync, readFileSync, statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { openDataKey, sealDataKey } from '../../shared/approval.js';
import { decodeCanonical, encodeCanonical } from '../../shared/canonical.js';
import {
  concatBytes,
  createSecretStreamDecryptor,
  createSecretStreamEncryptor,
  fromBase64Url,
  hash,
  openWithKey,
  randomBytes,
  sealWithKey,
  secretStreamHeaderBytes,
  secretStreamKeyBytes,
  secretStreamOverheadBytes,
  toHex,
  utf8,
  wipe,
} from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';
import { type IdentityPublic } from '../../shared/identity.js';
import { type OutputTable, outputTableHash } from '../../shared/receipt.js';
import { type RoomState, type ReleaseState } from '../../shared/room-state.js';
import { type OutputData, type OutputRelease, type OutputView, outputColumnSchema } from '../../shared/run.js';
import { assetNameSchema } from '../../shared/asset.js';
import { hashHexSchema } from '../../shared/primitives.js';
import { array, integer, nullable, object, oneOf, parse, string } from '../../shared/validate.js';
import { type RunOutput } from '../../shared/worker-protocol.js';
import { describeFileError, writeFileAtomic } from './files.js';
import { type UnlockedKeys } from './keystore.js';
import { type StoredRoom } from './rooms.js';
import { openOwnDataKey, sealDataKeyForOwner, vaultPathFor } from './vault.js';

const dayMs = 24 * 60 * 60 * 1000;
/** Plaintext bytes per chunk of a release payload. */
export const releaseChunkSize = 64 * 1024;
export const outputBundleFormat = 'cleanroom-output-bundle/1';
/** A release payload's plaintext is refused unread above this (outputs are at most 1M rows each). */
const maxBundleBytes = 1024 * 1024 * 1024;

const storedTableSchema = object({
  columns: array(outputColumnSchema, { min: 1, max: 10_000 }),
  rows: array(array(nullable(string({ max: 1_000_000 })), { max: 10_000 }), { max: 1_000_000 }),
});

const bundleSchema = object({
  format: oneOf([outputBundleFormat]),
  run: hashHexSchema,
  outputs: array(
    object({
      name: assetNameSchema,
      cell: integer({ min: 0, max: 499 }),
      columns: array(outputColumnSchema, { min: 1, max: 10_000 }),
      rows: array(array(nullable(string({ max: 1_000_000 })), { max: 10_000 }), { max: 1_000_000 }),
      suppressedRows: integer({ min: 0 }),
    }),
    { min: 1, max: 500 },
  ),
});

/** One output as stored, without its content. */
export interface StoredOutput {
  readonly run: string;
  readonly name: string;
  readonly room: string;
  readonly snapshot: string;
  readonly source: 'mine' | 'released';
  readonly cell: number;
  readonly columns: OutputTable['columns'];
  readonly rowCount: number;
  readonly suppressedRows: number;
  readonly hash: string;
  readonly createdAt: string;
  readonly expiresAt: string;
}

interface OutputRow {
  run: string;
  name: string;
  room: string;
  snapshot: string;
  source: 'mine' | 'released';
  cell: number;
  columns: string;
  row_count: number;
  suppressed_rows: number;
  hash: string;
  sealed_key: string;
  content: Buffer;
  created_at: string;
  expires_at: string;
}

const storedOf = (row: OutputRow): StoredOutput => ({
  run: row.run,
  name: row.name,
  room: row.room,
  snapshot: row.snapshot,
  source: row.source,
  cell: row.cell,
  columns: JSON.parse(row.columns) as OutputTable['columns'],
  rowCount: row.row_count,
  suppressedRows: row.suppressed_rows,
  hash: row.hash,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
});

/** What a stored output's content is bound to: it cannot be moved to another run or name. */
const contentContext = (run: string, name: string): Uint8Array => utf8(`cleanroom/stored-output/v1\n${run}\n${name}`);

type BoxKeys = { readonly boxPublicKey: Uint8Array; readonly boxSecretKey: Uint8Array };

/** Seals an output table for storage: a fresh key (sealed to my box key) and the sealed canonical table. */
export function sealStoredOutput(run: string, name: string, table: OutputTable, boxPublicKey: Uint8Array): { sealedKey: string; content: Uint8Array } {
  const key = randomBytes(secretStreamKeyBytes);
  try {
    const plain = encodeCanonical({ columns: table.columns, rows: table.rows });
    return { sealedKey: sealDataKeyForOwner(key, boxPublicKey), content: sealWithKey(key, plain, contentContext(run, name)) };
  } finally {
    wipe(key);
  }
}

/** Opens a stored output's content; HOME_DAMAGED when it does not open or read back. */
export function openStoredOutput(run: string, name: string, sealedKey: string, content: Uint8Array, keys: BoxKeys): OutputTable {
  const key = openOwnDataKey(sealedKey, keys);
  try {
    const plain = openWithKey(key, content, contentContext(run, name));
    if (plain === null) throw new CleanroomError('HOME_DAMAGED', `The stored output ${name} cannot be opened; the home is damaged.`);
    const checked = parse(storedTableSchema, decodeCanonical(plain, 'a stored output', { maxBytes: maxBundleBytes, maxDepth: 8 }));
    if (!checked.ok) throw new CleanroomError('HOME_DAMAGED', `The stored output ${name} is malformed; the home is damaged.`);
    return checked.value;
  } finally {
    wipe(key);
  }
}

// ---- Release payloads ----------------------------------------------------------------------------

/** Encrypts bytes into the vault's payload format. */
export function encryptPayloadBytes(plain: Uint8Array, key: Uint8Array, chunkSize: number): Uint8Array {
  const encryptor = createSecretStreamEncryptor(key);
  try {
    const parts: Uint8Array[] = [encryptor.header];
    const chunks = Math.max(1, Math.ceil(plain.length / chunkSize));
    for (let index = 0; index < chunks; index++) {
      const piece = plain.subarray(index * chunkSize, Math.min(plain.length, (index + 1) * chunkSize));
      parts.push(encryptor.push(piece, index === chunks - 1 ? 'final' : 'message'));
    }
    return concatBytes(...parts);
  } finally {
    encryptor.dispose();
  }
}

/** Decrypts a payload in the vault's format; null when anything is wrong (key, chunks, end). */
export function decryptPayloadBytes(cipher: Uint8Array, key: Uint8Array, chunkSize: number): Uint8Array | null {
  if (cipher.length < secretStreamHeaderBytes + secretStreamOverheadBytes) return null;
  const decryptor = createSecretStreamDecryptor(cipher.subarray(0, secretStreamHeaderBytes), key);
  if (decryptor === null) return null;
  try {
    const parts: Uint8Array[] = [];
    const step = chunkSize + secretStreamOverheadBytes;
    for (let offset = secretStreamHeaderBytes; offset < cipher.length; offset += step) {
      const end = Math.min(cipher.length, offset + step);
      const pulled = decryptor.pull(cipher.subarray(offset, end));
      if (pulled === null) return null;
      parts.push(pulled.message);
      const last = end === cipher.length;
      if ((pulled.tag === 'final') !== last) return null;
    }
    return concatBytes(...parts);
  } finally {
    decryptor.dispose();
  }
}

export interface ReleasePayload {
  readonly hash: string;
  readonly size: number;
  readonly chunkSize: number;
  /** The payload key sealed to each recipient (bound to the snapshot and run). */
  readonly keys: OutputRelease['keys'];
}

/**
 * Encrypts a run's outputs under a fresh key into a payload file in the vault (temporary name,
 * fsync, rename, folder sync), and seals the key to each recipient's box key.
 */
export function writeReleasePayload(
  vaultDir: string,
  run: string,
  snapshot: string,
  outputs: readonly { name: string; cell: number; table: OutputTable; suppressedRows: number }[],
  recipients: readonly { signPublicKey: string; boxPublicKey: string }[],
): ReleasePayload & { file: string } {
  const key = randomBytes(secretStreamKeyBytes);
  try {
    const bundle = {
      format: outputBundleFormat,
      run,
      outputs: outputs.map((output) => ({
        name: output.name,
        cell: output.cell,
        columns: output.table.columns,
        rows: output.table.rows,
        suppressedRows: output.suppressedRows,
      })),
    };
    const cipher = encryptPayloadBytes(encodeCanonical(bundle), key, releaseChunkSize);
    const payloadHash = toHex(hash(cipher));
    const file = vaultPathFor(vaultDir, payloadHash);
    // A .partial name the start-up sweep removes if the app dies before the rename.
    writeFileAtomic(file, cipher, { mode: 0o600 });
    const keys = recipients.map((recipient) => ({
      recipient: recipient.signPublicKey,
      sealedKey: sealDataKey(key, snapshot, run, fromBase64Url(recipient.boxPublicKey)),
    }));
    return { file, hash: payloadHash, size: cipher.length, chunkSize: releaseChunkSize, keys };
  } finally {
    wipe(key);
  }
}

/** Opens a release payload as one of its recipients; throws BAD_PACKET saying what does not hold. */
export function openReleasePayload(file: string, release: OutputRelease, me: string, keys: BoxKeys): { name: string; cell: number; table: OutputTable; suppressedRows: number }[] {
  const sealed = release.keys.find((key) => key.recipient === me);
  if (sealed === undefined) throw new CleanroomError('NOT_ALLOWED', 'These outputs were not released to you.');
  let cipher: Uint8Array;
  try {
    cipher = readFileSync(file);
  } catch (error) {
    throw new CleanroomError('NOT_FOUND', `The released outputs have not arrived (${describeFileError(error)}); import the runner's packet.`);
  }
  if (cipher.length !== release.payload.size || toHex(hash(cipher)) !== release.payload.hash) {
    throw new CleanroomError('BAD_PACKET', 'The release payload in the vault does not match its entry.');
  }
  const key = openDataKey(sealed.sealedKey, release.snapshot, release.run, keys);
  if (key === null) throw new CleanroomError('BAD_PACKET', 'The key of the released outputs does not open with your identity.');
  let plain: Uint8Array | null;
  try {
    plain = decryptPayloadBytes(cipher, key, release.payload.chunkSize);
  } finally {
    wipe(key);
  }
  if (plain === null) throw new CleanroomError('BAD_PACKET', 'The release payload does not decrypt.');
  let value: unknown;
  try {
    value = decodeCanonical(plain, 'the released outputs', { maxBytes: maxBundleBytes, maxDepth: 6 });
  } catch {
    throw new CleanroomError('BAD_PACKET', 'The released outputs are not canonical JSON.');
  }
  const checked = parse(bundleSchema, value);
  if (!checked.ok) throw new CleanroomError('BAD_PACKET', `The released outputs are malformed: ${checked.issue.message}.`);
  const bundle = checked.value;
  if (bundle.run !== release.run) throw new CleanroomError('BAD_PACKET', 'The released outputs are of another run.');
  if (bundle.outputs.length !== release.outputs.length) throw new CleanroomError('BAD_PACKET', 'The released outputs are not those the release lists.');
  return bundle.outputs.map((output) => {
    const listed = release.outputs.find((candidate) => candidate.name === output.name);
    const table: OutputTable = { columns: output.columns, rows: output.rows };
    if (listed === undefined || listed.hash !== outputTableHash(table) || listed.rows !== output.rows.length) {
      throw new CleanroomError('BAD_PACKET', `Released output ${output.name} does not match the hash in the release and the run's receipt.`);
    }
    return { name: output.name, cell: output.cell, table, suppressedRows: output.suppressedRows };
  });
}

// ---- The store ---------------------------------------------------------------------------------

export class Outputs {
  constructor(
    private readonly db: Database.Database,
    private readonly vaultDir: string,
    private readonly clock: () => Date,
  ) {}

  /** Deletes every output past its expiry. Returns how many went. */
  deleteExpired(): number {
    return this.db.prepare('DELETE FROM outputs WHERE expires_at <= ?').run(this.clock().toISOString()).changes;
  }

  private insert(
    room: string,
    run: string,
    snapshot: string,
    source: 'mine' | 'released',
    output: { name: string; cell: number; table: OutputTable; suppressedRows: number },
    boxPublicKey: Uint8Array,
    createdAt: string,
    expiresAt: string,
  ): string {
    const outputHash = outputTableHash(output.table);
    const sealed = sealStoredOutput(run, output.name, output.table, boxPublicKey);
    this.db
      .prepare(
        `INSERT INTO outputs (run, name, room, snapshot, source, cell, columns, row_count, suppressed_rows, hash, sealed_key, content, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        run,
        output.name,
        room,
        snapshot,
        source,
        output.cell,
        JSON.stringify(output.table.columns),
        output.table.rows.length,
        output.suppressedRows,
        outputHash,
        sealed.sealedKey,
        Buffer.from(sealed.content),
        createdAt,
        expiresAt,
      );
    return outputHash;
  }

  /** Stores my run's outputs (inside the caller's transaction). Returns each one's outputTableHash by name. */
  storeMine(room: StoredRoom, run: string, snapshot: string, outputs: readonly RunOutput[], me: IdentityPublic, retentionDays: number, at: Date): Map<string, string> {
    const hashes = new Map<string, string>();
    const expiresAt = new Date(at.getTime() + retentionDays * dayMs).toISOString();
    for (const output of outputs) {
      const table: OutputTable = { columns: output.columns.map((column) => ({ name: column.name, type: column.type })), rows: output.rows };
      const outputHash = this.insert(room.id, run, snapshot, 'mine', { name: output.name, cell: output.cell, table, suppressedRows: output.suppressedRows }, fromBase64Url(me.boxPublicKey), at.toISOString(), expiresAt);
      hashes.set(output.name, outputHash);
    }
    return hashes;
  }

  /** Outputs of one run this home holds (not expired), by name. */
  ofRun(run: string): StoredOutput[] {
    const rows = this.db.prepare('SELECT * FROM outputs WHERE run = ? AND expires_at > ? ORDER BY name').all(run, this.clock().toISOString()) as OutputRow[];
    return rows.map(storedOf);
  }

  /** One stored output's table, decrypted and checked against its recorded hash. */
  tableOf(run: string, name: string, keys: BoxKeys): OutputTable {
    const row = this.db.prepare('SELECT * FROM outputs WHERE run = ? AND name = ?').get(run, name) as OutputRow | undefined;
    if (row === undefined) throw new CleanroomError('NOT_FOUND', `This home does not hold output ${name} of run ${run.slice(0, 8)}.`);
    const table = openStoredOutput(run, name, row.sealed_key, new Uint8Array(row.content), keys);
    if (outputTableHash(table) !== row.hash) throw new CleanroomError('HOME_DAMAGED', `The stored output ${name} does not match its hash; the home is damaged.`);
    return table;
  }

  /** outputTableHash of each output of a run this home holds, recomputed from the stored content. */
  heldHashes(run: string, keys: BoxKeys | null): { name: string; hash: string }[] {
    return this.ofRun(run).map((output) => {
      if (keys === null) return { name: output.name, hash: output.hash };
      const row = this.db.prepare('SELECT sealed_key, content FROM outputs WHERE run = ? AND name = ?').get(run, output.name) as Pick<OutputRow, 'sealed_key' | 'content'>;
      try {
        return { name: output.name, hash: outputTableHash(openStoredOutput(run, output.name, row.sealed_key, new Uint8Array(row.content), keys)) };
      } catch {
        // Content that does not open cannot match any receipt.
        return { name: output.name, hash: '0'.repeat(64) };
      }
    });
  }

  /**
   * Opens every release of this room addressed to me that this home holds the payload of and has
   * not stored yet, checks it, and stores its tables as 'released'. A release that does not check
   * out is left unstored (and logged): it is never shown.
   */
  syncReleased(room: StoredRoom, state: RoomState, me: IdentityPublic, keys: UnlockedKeys, payloadFileOf: (payloadHash: string) => string | null): void {
    const now = this.clock();
    const boxKeys = { boxPublicKey: fromBase64Url(me.boxPublicKey), boxSecretKey: keys.boxSecretKey };
    const held = new Set((this.db.prepare("SELECT DISTINCT run FROM outputs WHERE room = ? AND source = 'released'").all(room.id) as { run: string }[]).map((row) => row.run));
    for (const release of state.releases) {
      if (held.has(release.run) || release.runner === me.signPublicKey) continue;
      if (!release.release.keys.some((key) => key.recipient === me.signPublicKey)) continue;
      const expiresAt = new Date(Date.parse(release.releasedAt) + state.policy.outputRetentionDays * dayMs);
      if (expiresAt <= now) continue;
      const file = payloadFileOf(release.release.payload.hash) ?? vaultPathFor(this.vaultDir, release.release.payload.hash);
      if (!existsSync(file) || statSync(file).size !== release.release.payload.size) continue;
      this.storeReleased(room, release, file, me, boxKeys, expiresAt);
    }
  }

  private storeReleased(room: StoredRoom, release: ReleaseState, file: string, me: IdentityPublic, keys: BoxKeys, expiresAt: Date): void {
    let tables;
    try {
      tables = openReleasePayload(file, release.release, me.signPublicKey, keys);
    } catch (error) {
      const why = error instanceof CleanroomError ? error.message : 'it could not be read';
      console.error(`cleanroom: released outputs of run ${release.run.slice(0, 8)} in ${room.name} were not stored: ${why}`);
      return;
    }
    this.db.transaction(() => {
      for (const table of tables) {
        this.insert(room.id, release.run, release.release.snapshot, 'released', table, keys.boxPublicKey, release.releasedAt, expiresAt.toISOString());
      }
    })();
  }

  /** Stored outputs of a room, newest first. */
  stored(room: StoredRoom): StoredOutput[] {
    const rows = this.db
      .prepare('SELECT * FROM outputs WHERE room = ? AND expires_at > ? ORDER BY created_at DESC, run, name')
      .all(room.id, this.clock().toISOString()) as OutputRow[];
    return rows.map(storedOf);
  }

  viewOf(output: StoredOutput, state: RoomState, aliasOf: (key: string) => string): OutputView {
    const snapshot = state.snapshots.find((candidate) => candidate.id === output.snapshot);
    return {
      id: `${output.run}:${output.name}`,
      run: output.run,
      name: output.name,
      snapshotName: snapshot?.snapshot.name ?? `snapshot ${output.snapshot.slice(0, 6)}`,
      source: output.source,
      // A train cell's output is its model; the snapshot (public to every member) says which cell made it.
      kind: snapshot?.snapshot.notebook.cells[output.cell]?.kind === 'train' ? 'model' : 'table',
      runner: aliasOf(snapshot?.snapshot.runner ?? ''),
      columns: [...output.columns],
      rows: output.rowCount,
      suppressedRows: output.suppressedRows,
      hash: output.hash,
      createdAt: output.createdAt,
      expiresAt: output.expiresAt,
    };
  }

  /** An output by `NAME` (the newest with that name) or `RUN:NAME` (run id or prefix of 6+ digits). */
  resolve(room: StoredRoom, ref: string): StoredOutput {
    const all = this.stored(room);
    const colon = ref.indexOf(':');
    let matches: StoredOutput[];
    if (colon === -1) {
      matches = all.filter((output) => output.name === ref.trim());
      if (matches.length > 1) matches = [matches[0] as StoredOutput];
    } else {
      const runRef = ref.slice(0, colon).trim().toLowerCase();
      const name = ref.slice(colon + 1).trim();
      if (!/^[0-9a-f]{6,64}$/.test(runRef)) {
        throw new CleanroomError('BAD_REQUEST', `"${ref}" is not an output: give its name, or RUN:NAME with 6 or more digits of the run id.`);
      }
      matches = all.filter((output) => output.run.startsWith(runRef) && output.name === name);
      if (matches.length > 1) throw new CleanroomError('AMBIGUOUS', `"${ref}" matches outputs of ${matches.length} runs; give more digits of the run id.`);
    }
    const found = matches[0];
    if (found === undefined) {
      const names = [...new Set(all.map((output) => output.name))];
      const known = names.length === 0 ? 'there are no outputs in this room yet' : `outputs here: ${names.join(', ')}`;
      throw new CleanroomError('NOT_FOUND', `No output "${ref}" in ${room.name}; ${known}.`);
    }
    return found;
  }

  data(output: StoredOutput, view: OutputView, keys: BoxKeys, offset: number, limit: number | undefined): OutputData {
    const table = this.tableOf(output.run, output.name, keys);
    const end = limit === undefined ? table.rows.length : Math.min(table.rows.length, offset + limit);
    return { output: view, offset, rows: table.rows.slice(offset, end).map((row) => [...row]) };
  }
}
