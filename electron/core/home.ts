// The home: one folder per user holding the SQLite database and the vault of encrypted files.
// One process at a time owns a home; SQLite's exclusive lock enforces it and, being a kernel
// file lock, disappears with a crashed process, so there is never a stale lock to clean up.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CleanroomError } from '../../shared/errors.js';
import { latestSchemaVersion, migrations } from './migrations.js';

export type HostKind = 'electron' | 'shell' | 'cli';

export const databaseFileName = 'cleanroom.db';
export const vaultFolderName = 'vault';
const ownerFileName = 'owner.json';

/** CLEANROOM_HOME, else the platform's per-user application data folder. Shared by every host. */
export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CLEANROOM_HOME) return path.resolve(env.CLEANROOM_HOME);
  const home = os.homedir();
  switch (process.platform) {
    case 'darwin':
      return path.join(home, 'Library', 'Application Support', 'Cleanroom');
    case 'win32':
      return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Cleanroom');
    default:
      return path.join(env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), 'Cleanroom');
  }
}

export interface OpenedHome {
  readonly dir: string;
  readonly vaultDir: string;
  readonly db: Database.Database;
  close(): void;
}

function ensureWritableFolder(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const probe = path.join(dir, `.write-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new CleanroomError('HOME_NOT_WRITABLE', `Cannot write to the home folder ${dir} (${reason}). Choose another with --home or CLEANROOM_HOME.`);
  }
}

function describeOwner(dir: string): string {
  try {
    const owner = JSON.parse(readFileSync(path.join(dir, ownerFileName), 'utf8')) as { host?: unknown; pid?: unknown };
    if (typeof owner.host === 'string' && typeof owner.pid === 'number') return ` (${owner.host}, process ${owner.pid})`;
  } catch {
    // The owner note is informational only.
  }
  return '';
}

function sqliteCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : '';
}

function refuseNewerSchema(db: Database.Database, dir: string): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > latestSchemaVersion) {
    throw new CleanroomError(
      'HOME_TOO_NEW',
      `The home ${dir} was written by a newer Cleanroom (data version ${current}; this one knows up to ${latestSchemaVersion}). Update Cleanroom to open it; nothing was changed.`,
    );
  }
  return current;
}

function migrate(db: Database.Database, current: number): void {
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    })();
  }
}

export function openHome(dir: string, host: HostKind, options: { nativeBinding?: string } = {}): OpenedHome {
  const resolved = path.resolve(dir);
  ensureWritableFolder(resolved);
  const vaultDir = path.join(resolved, vaultFolderName);
  mkdirSync(vaultDir, { recursive: true, mode: 0o700 });

  let db: Database.Database;
  try {
    // timeout 0: a home held by another process is reported at once, not after a wait.
    db = new Database(path.join(resolved, databaseFileName), { timeout: 0, nativeBinding: options.nativeBinding });
  } catch (error) {
    throw new CleanroomError('HOME_DAMAGED', `Cannot open the database in ${resolved} (${sqliteCode(error) || 'unreadable'}).`);
  }
  try {
    // Exclusive before WAL: the lock is then held for the connection's life and no shared-memory
    // index is created, so a second process cannot even read a half-written state.
    db.pragma('locking_mode = EXCLUSIVE');
    // Read the version before anything writes, so a newer home is left exactly as it was.
    const schemaVersion = refuseNewerSchema(db, resolved);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.exec('BEGIN IMMEDIATE; COMMIT;');
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new CleanroomError('HOME_DAMAGED', `The database in ${resolved} failed its integrity check.`);
    migrate(db, schemaVersion);
  } catch (error) {
    db.close();
    if (error instanceof CleanroomError) throw error;
    const code = sqliteCode(error);
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      throw new CleanroomError('HOME_IN_USE', `The home ${resolved} is open in another Cleanroom${describeOwner(resolved)}. Close it first, or use another home.`);
    }
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
      throw new CleanroomError('HOME_DAMAGED', `${path.join(resolved, databaseFileName)} is not a readable Cleanroom database.`);
    }
    throw error;
  }

  const ownerPath = path.join(resolved, ownerFileName);
  const ownerTemp = `${ownerPath}.${process.pid}.tmp`;
  writeFileSync(ownerTemp, JSON.stringify({ host, pid: process.pid, since: new Date().toISOString() }));
  renameSync(ownerTemp, ownerPath);

  let closed = false;
  return {
    dir: resolved,
    vaultDir,
    db,
    close() {
      if (closed) return;
      closed = true;
      rmSync(ownerPath, { force: true });
      db.close();
    },
  };
}
