// Writing files people carry away (packets, cards). A USB stick pulled mid-copy or a crash must
// never leave a file under its final name that is not whole, so the bytes go to a hidden
// temporary name in the same folder, are synced, and only then renamed; the folder is synced so
// the rename itself survives a power cut. Outside the home, the temporary name is recorded in the
// home first (pending-files.ts), so one a kill -9 leaves is removed at the next start-up.
import { closeSync, fsyncSync, lstatSync, openSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { CleanroomError, describeFileError, diskFullError, isDiskFull } from '../../shared/errors.js';

// Shared with the worker, which reports its own file errors the same way.
export { describeFileError };

/** The temporary name a file is written under before it is renamed into place. */
export function partialNameOf(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.partial`);
}

/**
 * Where a write outside the home records its temporary file (electron/core/pending-files.ts), so
 * that one a crash leaves is removed at the next start-up.
 */
export interface PendingFileJournal {
  /** Called before the temporary file is created. */
  begin(file: string): void;
  /** Called once it has been renamed into place or removed. */
  end(file: string): void;
}

export interface AtomicWriteOptions {
  /** Bytes per write call. */
  readonly chunkBytes?: number;
  /** File mode; 0o644 unless given (vault files are 0o600). */
  readonly mode?: number;
  /** Called after each chunk is written; tests use it to crash mid-write. */
  readonly afterChunk?: (bytesWritten: number) => void;
  /** Records the temporary file for the start-up sweep (writes outside the home). */
  readonly journal?: PendingFileJournal;
}

/**
 * The error for a failed write of `target`: DISK_FULL naming its folder when the disk is full,
 * else FILE_ERROR naming the file. CleanroomErrors pass unchanged.
 */
export function writeFailure(target: string, error: unknown): CleanroomError {
  if (error instanceof CleanroomError) return error;
  if (isDiskFull(error)) return diskFullError(path.dirname(target));
  return new CleanroomError('FILE_ERROR', `Cannot write ${target} (${describeFileError(error)}).`);
}

/**
 * Writes `data` to `target` atomically. Throws DISK_FULL naming the folder or FILE_ERROR naming
 * the path; leaves no temporary file behind.
 */
export function writeFileAtomic(target: string, data: Uint8Array, options: AtomicWriteOptions = {}): void {
  const chunkBytes = options.chunkBytes ?? 1024 * 1024;
  const partial = partialNameOf(target);
  options.journal?.begin(partial);
  let fd: number | null = null;
  let created = false;
  let leftover = false;
  try {
    fd = openSync(partial, 'w', options.mode ?? 0o644);
    created = true;
    let written = 0;
    while (written < data.length) {
      const count = writeSync(fd, data, written, Math.min(chunkBytes, data.length - written));
      written += count;
      options.afterChunk?.(written);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(partial, target);
    created = false;
    syncFolder(path.dirname(target));
  } catch (error) {
    if (fd !== null) {
      try {
        closeSync(fd);
      } catch {
        // Already failing; the original error is the one to report.
      }
    }
    leftover = created && !removeQuietly(partial);
    throw writeFailure(target, error);
  } finally {
    // One that could not be removed stays recorded for the next start-up.
    if (!leftover) options.journal?.end(partial);
  }
}

/** The names in `dir`, or none when it cannot be read (sweeps must never stop a start-up). */
export function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Removes a temporary file on a failure path, saying whether it is gone; a failure to remove must not hide the first error. */
export function removeQuietly(file: string): boolean {
  try {
    rmSync(file, { force: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes a rename into `dir` durable by syncing the folder. Some platforms (Windows) cannot open a
 * folder for syncing; that is not an error there.
 */
export function syncFolder(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // EINVAL/EPERM on file systems without folder sync: the rename has still happened.
  } finally {
    closeSync(fd);
  }
}

/**
 * Where a file asked for with `--out F` (or a chosen path) goes: into F under `defaultName` when F
 * is a folder, else F itself. F written as a folder (ending in a separator) must exist, or a file
 * would be made under the folder's name.
 */
export function outputTarget(out: string, defaultName: string): string {
  const resolved = path.resolve(out);
  if (isFolder(resolved)) return path.join(resolved, defaultName);
  if (/[\\/]$/u.test(out)) throw new CleanroomError('FILE_ERROR', `Cannot write into ${resolved}: there is no such folder.`);
  return resolved;
}

/** True when `target` names an existing folder. */
export function isFolder(target: string): boolean {
  try {
    return statSync(target).isDirectory();
  } catch {
    return false;
  }
}

/** The refusal of an import source that is a symbolic link; `target` is what the link says. */
export const symlinkRefusal = (file: string, target: string): CleanroomError =>
  new CleanroomError('NOT_ALLOWED', `${file} is a symbolic link (to ${target}); nothing was read. Give the file itself, or pass --follow-symlinks to follow the link.`);

/**
 * Refuses an import source whose last path component is a symbolic link, unless the person asked
 * to follow links: a link put where a file was expected would otherwise import whatever it points
 * to, silently. Links among the parent folders are followed (macOS's /tmp, home folders moved to
 * another disk): they are the person's own layout, not a file swapped in. A missing file passes
 * here and is reported by the reader in its own words.
 */
export function refuseSymlink(file: string, followSymlinks: boolean | undefined): void {
  if (followSymlinks === true) return;
  let isLink: boolean;
  try {
    isLink = lstatSync(file).isSymbolicLink();
  } catch {
    return;
  }
  if (isLink) throw symlinkRefusal(file, linkTarget(file));
}

/** What a symbolic link says it points to, for messages. */
export function linkTarget(file: string): string {
  try {
    return readlinkSync(file);
  } catch {
    return 'somewhere unreadable';
  }
}
