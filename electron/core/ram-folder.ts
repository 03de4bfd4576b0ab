// Private per-job folders for plaintext that DuckDB needs as a file (the Parquet of a table being
// imported, the decrypted inputs of a run). On Linux they live on /dev/shm, a RAM-backed tmpfs,
// so decrypted rows never reach a persistent disk, and the worker unlinks each file it makes here
// before writing to it (electron/worker/private-file.ts), so a kill leaves at most empty entries. Layout:
//   <root>/                 root = /dev/shm/cleanroom-<uid>, mode 0700, owned by us
//   <root>/<pid>-<random>/  one job's folder, mode 0700; <pid> is the process that made it
// A folder is removed when its job ends; one left by a process that died (kill -9, power loss
// does not matter on tmpfs) is removed by sweepRamFolders at the next start-up.
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CleanroomError } from '../../shared/errors.js';

export interface RamFolder {
  /** Absolute path of the job's private folder. */
  readonly dir: string;
  /** False where no RAM-backed file system is available (see ramFolderRoot). */
  readonly ramBacked: boolean;
  /** Removes the folder and everything in it; safe to call more than once. */
  remove(): void;
}

export interface RamFolderOptions {
  /** The parent folder; tests point this elsewhere. Default: ramFolderRoot(). */
  readonly root?: string;
}

const folderPattern = /^(\d+)-[0-9a-f]{16}$/;

const userId = (): string => (typeof process.getuid === 'function' ? String(process.getuid()) : os.userInfo().username);

/** Where private folders go, and whether that is RAM-backed. */
export function ramFolderRoot(): { root: string; ramBacked: boolean } {
  if (process.platform === 'linux') {
    try {
      if (lstatSync('/dev/shm').isDirectory()) return { root: `/dev/shm/cleanroom-${userId()}`, ramBacked: true };
    } catch {
      // No /dev/shm (some containers): fall through.
    }
  }
  // Not RAM-backed: macOS and Windows have no standard tmpfs. The folder is still private (0700 or
  // the user's own temp folder) and removed after each job, but its bytes can reach the disk.
  return { root: path.join(os.tmpdir(), `cleanroom-${userId()}`), ramBacked: false };
}

/** Creates the root if needed and checks it is a real folder of ours that nobody else can enter. */
function ensurePrivateRoot(root: string): void {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const info = lstatSync(root);
  // A symbolic link or someone else's folder (planted in shared /dev/shm) must not be used.
  if (!info.isDirectory() || (typeof process.getuid === 'function' && info.uid !== process.getuid())) {
    throw new CleanroomError('FILE_ERROR', `Cannot use ${root} for private files: it is not a folder owned by this user.`);
  }
  if (process.platform !== 'win32' && (info.mode & 0o777) !== 0o700) chmodSync(root, 0o700);
}

/** A new private folder for one job; call remove() when the job ends, success or not. */
export function createRamFolder(options: RamFolderOptions = {}): RamFolder {
  const defaults = ramFolderRoot();
  const root = options.root ?? defaults.root;
  try {
    ensurePrivateRoot(root);
    const dir = path.join(root, `${process.pid}-${randomBytes(8).toString('hex')}`);
    mkdirSync(dir, { mode: 0o700 });
    // mkdir's mode is filtered by the umask; make sure it is exactly 0700.
    if (process.platform !== 'win32') chmodSync(dir, 0o700);
    return { dir, ramBacked: options.root === undefined && defaults.ramBacked, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (error) {
    if (error instanceof CleanroomError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new CleanroomError('FILE_ERROR', `Cannot create a private folder under ${root} (${code}).`);
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but is not ours to signal, so it is alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes folders left by processes that are gone; keeps those of live processes (another
 * Cleanroom, or this one). A recycled pid keeps its folder until that process ends too. Returns
 * how many folders were removed. Never throws: a failed sweep must not stop the app starting.
 */
export function sweepRamFolders(options: RamFolderOptions = {}): number {
  const root = options.root ?? ramFolderRoot().root;
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const match = folderPattern.exec(name);
    if (match === null) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || processIsAlive(pid)) continue;
    try {
      rmSync(path.join(root, name), { recursive: true, force: true });
      removed += 1;
    } catch {
      // Try again at the next start-up.
    }
  }
  return removed;
}
