// The home: one folder per user holding the SQLite database and the vault of encrypted files.
// One process at a time owns a home; SQLite's exclusive lock enforces it and, being a kernel
// file lock, disappears with a crashed process, so there is never a stale lock to clean up.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CleanroomError, diskFullError, isDiskFull } from '../../shared/errors.js';
import { latestSchemaVersion, migrations } from './migrations.js';
import { safeReaddir } from './files.js';

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

/** Returns the first folder it had to make (to remove again if a new home cannot be written), if any. */
function ensureWritableFolder(dir: string): string | undefined {
  let made: string | undefined;
  try {
    if (existsSync(path.join(dir, databaseFileName))) {
      // An existing home is checked without writing, so that one on a full disk still opens for
      // reading; a read-only disk or folder is still told apart here.
      accessSync(dir, constants.W_OK);
      return undefined;
    }
    made = mkdirSync(dir, { recursive: true, mode: 0o700 });
    const probe = path.join(dir, `.write-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      writeFileSync(probe, '');
    } finally {
      rmSync(probe, { force: true });
    }
    return made;
  } catch (error) {
    if (made !== undefined) rmSync(made, { recursive: true, force: true });
    if (isDiskFull(error)) throw diskFullError(dir);
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

/**
 * Names this process in the owner note that a second process's HOME_IN_USE quotes. Only a note:
 * when it cannot be written (a full disk) the home opens without one, its temporary file removed,
 * along with any a crash left and a stale note naming a process that no longer holds the home.
 */
function writeOwnerNote(dir: string, ownerPath: string, host: HostKind): void {
  for (const name of safeReaddir(dir)) {
    if (name.startsWith(`${ownerFileName}.`) && name.endsWith('.tmp')) rmSync(path.join(dir, name), { force: true });
  }
  const ownerTemp = `${ownerPath}.${process.pid}.tmp`;
  try {
    writeFileSync(ownerTemp, JSON.stringify({ host, pid: process.pid, since: new Date().toISOString() }));
    renameSync(ownerTemp, ownerPath);
  } catch {
    rmSync(ownerTemp, { force: true });
    rmSync(ownerPath, { force: true });
  }
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
  const databasePath = path.join(resolved, databaseFileName);
  const isNew = !existsSync(databasePath);
  const madeFolder = ensureWritableFolder(resolved);
  const vaultDir = path.join(resolved, vaultFolderName);
  /** A new home that could not be written is removed again: a full disk leaves no half-made home. */
  const diskFull = (): CleanroomError => {
    if (isNew) {
      for (const suffix of ['', '-wal', '-journal']) rmSync(`${databasePath}${suffix}`, { force: true });
      rmSync(madeFolder ?? vaultDir, { recursive: true, force: true });
    }
    return diskFullError(resolved);
  };
  try {
    if (!existsSync(vaultDir)) mkdirSync(vaultDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    if (isDiskFull(error)) throw diskFull();
    throw new CleanroomError('HOME_NOT_WRITABLE', `Cannot make the vault folder in ${resolved} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
  }

  let db: Database.Database;
  try {
    // timeout 0: a home held by another process is reported at once, not after a wait.
    db = new Database(databasePath, { timeout: 0, nativeBinding: options.nativeBinding });
  } catch (error) {
    if (isDiskFull(error)) throw diskFull();
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
    // Only a migration writes while opening; SQLite rolled it back.
    if (isDiskFull(error)) throw diskFull();
    if (code === 'SQLITE_READONLY' || code === 'SQLITE_CANTOPEN') {
      throw new CleanroomError('HOME_NOT_WRITABLE', `Cannot write to the home folder ${resolved} (${code}). Choose another with --home or CLEANROOM_HOME.`);
    }
    throw error;
  }

  const ownerPath = path.join(resolved, ownerFileName);
  writeOwnerNote(resolved, ownerPath, host);

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
