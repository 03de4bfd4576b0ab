// Writing files people carry away (packets, cards). A USB stick pulled mid-copy or a crash must
// never leave a file under its final name that is not whole, so the bytes go to a hidden
// temporary name in the same folder, are synced, and only then renamed; the folder is synced so
// the rename itself survives a power cut.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { CleanroomError, describeFileError } from '../../shared/errors.js';

// Shared with the worker, which reports its own file errors the same way.
export { describeFileError };

/** The temporary name a file is written under before it is renamed into place. */
export function partialNameOf(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.partial`);
}

export interface AtomicWriteOptions {
  /** Bytes per write call. */
  readonly chunkBytes?: number;
  /** File mode; 0o644 unless given (vault files are 0o600). */
  readonly mode?: number;
  /** Called after each chunk is written; tests use it to crash mid-write. */
  readonly afterChunk?: (bytesWritten: number) => void;
}

/** Writes `data` to `target` atomically. Throws FILE_ERROR naming the path; leaves no temporary file behind. */
export function writeFileAtomic(target: string, data: Uint8Array, options: AtomicWriteOptions = {}): void {
  const chunkBytes = options.chunkBytes ?? 1024 * 1024;
  const partial = partialNameOf(target);
  let fd: number | null = null;
  let created = false;
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
    if (created) rmSync(partial, { force: true });
    throw new CleanroomError('FILE_ERROR', `Cannot write ${target} (${describeFileError(error)}).`);
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
