// Files the browser shell received from the page: a table or volume picked or dropped there. A
// browser never tells a page where a picked file lives, so its bytes come over loopback instead of
// its path. They are the owner's plaintext, so they never go into the home: they live in a private
// RAM-backed folder (ram-folder.ts), one upload per sub-folder:
//   <ram folder>/<random>/<name>      <name> is the file's own name, made safe for a path
// A staged file is removed when an import job that used it ends (done or failed), every one when
// core closes, and whatever a crash left by the start-up sweep of RAM folders.
import { randomBytes } from 'node:crypto';
import { promises as fs, rmSync } from 'node:fs';
import path from 'node:path';
import { CleanroomError, type ErrorCode } from '../../shared/errors.js';
import { createRamFolder, type RamFolder, type RamFolderOptions } from './ram-folder.js';

/** The largest file the shell accepts. */
export const maxStagedFileBytes = 64 * 1024 ** 3;
/**
 * Free space left on the RAM folder's file system beyond the file itself: importing a table
 * writes its plaintext Parquet there too, and the rest of the machine needs memory.
 */
export const stagingHeadroomBytes = 512 * 1024 ** 2;
/** Longest staged file name in UTF-8 bytes (file systems allow 255). */
const maxNameBytes = 200;
/** Name of a file while it is arriving; a safe name never starts with a dot, so none collides. */
const partialName = '.arriving';

export type StagingRefusal = 'bad-name' | 'bad-size' | 'too-large' | 'no-space' | 'incomplete' | 'closed' | 'write-failed';

/** Why a file was not staged; `refusal` lets a host pick its status code. */
export class StagingError extends CleanroomError {
  constructor(
    readonly refusal: StagingRefusal,
    code: ErrorCode,
    message: string,
  ) {
    super(code, message);
    this.name = 'StagingError';
  }
}

export interface StagedFile {
  /** Absolute path to read the file from, as a path typed by the person would be. */
  readonly path: string;
  readonly size: number;
}

/**
 * The last segment of a file name as the page sent it, made safe for a path: no separators, no
 * control characters, no leading dots or spaces, at most 200 bytes with the extension kept (the
 * format is told from it). Null when nothing usable is left.
 */
export function safeFileName(name: string): string | null {
  const last = name.split(/[/\\]/u).pop() ?? '';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what goes
  let safe = last.normalize('NFC').replace(/[\u0000-\u001f\u007f]/gu, '').trim().replace(/^[.\s]+/u, '');
  if (safe === '') return null;
  if (Buffer.byteLength(safe, 'utf8') > maxNameBytes) {
    const extension = /\.[A-Za-z0-9]{1,10}$/u.exec(safe)?.[0] ?? '';
    let stem = safe.slice(0, safe.length - extension.length);
    while (Buffer.byteLength(stem + extension, 'utf8') > maxNameBytes) stem = [...stem].slice(0, -1).join('');
    safe = stem.trimEnd() + extension;
  }
  return safe;
}

/** "64 GiB" */
function gibibytes(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(bytes % 1024 ** 3 === 0 ? 0 : 1)} GiB`;
}

/** Writes all of `data`: a file write may take fewer bytes than it was given. */
async function writeAll(handle: fs.FileHandle, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.byteLength) {
    const { bytesWritten } = await handle.write(data, offset, data.byteLength - offset);
    offset += bytesWritten;
  }
}

export class Staging {
  private folder: RamFolder | null = null;
  /** Upload folders holding a staged file, by absolute path. */
  private readonly uploads = new Set<string>();
  /** Bytes promised to uploads still arriving, so two at once cannot both take the last space. */
  private reservedBytes = 0;
  private receiving = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(private readonly options: RamFolderOptions = {}) {}

  /** The private folder; null until the first upload creates it. */
  get dir(): string | null {
    return this.folder?.dir ?? null;
  }

  /** Whether the folder is on a RAM-backed file system (false until it exists). */
  get ramBacked(): boolean {
    return this.folder?.ramBacked ?? false;
  }

  /** Uploads still arriving. */
  get uploadsArriving(): number {
    return this.receiving;
  }

  /** Resolves once no upload is arriving. */
  idle(): Promise<void> {
    if (this.receiving === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Streams `body` (exactly `size` bytes) into a new private file named after `name`, and returns
   * its path. Each chunk is written before the next is read, so a fast sender waits for the disk
   * instead of filling memory. Whatever goes wrong, nothing of the file is left.
   */
  async receive(name: string, size: number, body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<StagedFile> {
    if (this.closed) throw new StagingError('closed', 'INTERNAL', 'Cleanroom is shutting down.');
    const fileName = safeFileName(name);
    if (fileName === null) throw new StagingError('bad-name', 'BAD_REQUEST', 'The file needs a name, e.g. admissions.csv.');
    if (!Number.isSafeInteger(size) || size < 0) throw new StagingError('bad-size', 'BAD_REQUEST', 'The file size is not a whole number of bytes.');
    if (size > maxStagedFileBytes) {
      throw new StagingError('too-large', 'BAD_REQUEST', `${fileName} is larger than ${gibibytes(maxStagedFileBytes)}: import it with the desktop app or the CLI, which read it from where it is.`);
    }
    const root = this.ensureFolder();
    this.receiving += 1;
    try {
      await this.requireSpace(root, fileName, size);
      this.reservedBytes += size;
      try {
        return await this.write(root, fileName, size, body);
      } finally {
        this.reservedBytes -= size;
      }
    } finally {
      this.receiving -= 1;
      if (this.receiving === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /** Whether `file` is a file this staging area holds. */
  holds(file: string): boolean {
    const resolved = path.resolve(file);
    return this.uploads.has(path.dirname(resolved)) && path.basename(resolved) !== partialName;
  }

  /** Removes a staged file; anything else is left alone, so any path may be passed. */
  release(file: string): void {
    if (!this.holds(file)) return;
    const upload = path.dirname(path.resolve(file));
    rmSync(upload, { recursive: true, force: true });
    this.uploads.delete(upload);
  }

  /** Removes the folder and every staged file; later uploads are refused. */
  close(): void {
    this.closed = true;
    this.folder?.remove();
    this.uploads.clear();
  }

  private ensureFolder(): string {
    this.folder ??= createRamFolder(this.options);
    return this.folder.dir;
  }

  private async requireSpace(root: string, fileName: string, size: number): Promise<void> {
    let free: number;
    try {
      const stats = await fs.statfs(root);
      free = stats.bavail * stats.bsize;
    } catch {
      throw new StagingError('write-failed', 'FILE_ERROR', `Cannot tell how much room ${root} has.`);
    }
    const needed = size + stagingHeadroomBytes + this.reservedBytes;
    if (free < needed) {
      throw new StagingError(
        'no-space',
        'FILE_ERROR',
        `Not enough memory to receive ${fileName}: it needs ${gibibytes(size + stagingHeadroomBytes)} free in ${root}, which has ${gibibytes(Math.max(0, free - this.reservedBytes))}. Use the desktop app or the CLI, which read the file from where it is.`,
      );
    }
  }

  private async write(root: string, fileName: string, size: number, body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<StagedFile> {
    const upload = path.join(root, randomBytes(12).toString('hex'));
    const partial = path.join(upload, partialName);
    try {
      await fs.mkdir(upload, { mode: 0o700 });
      const handle = await fs.open(partial, 'wx', 0o600);
      let received = 0;
      try {
        for await (const chunk of body) {
          received += chunk.byteLength;
          if (received > size) throw new StagingError('incomplete', 'BAD_REQUEST', `More bytes arrived than the ${size} announced for ${fileName}.`);
          await writeAll(handle, chunk);
        }
        if (received !== size) throw new StagingError('incomplete', 'BAD_REQUEST', `${fileName} arrived incomplete: ${received} of ${size} bytes.`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (this.closed) throw new StagingError('closed', 'INTERNAL', 'Cleanroom is shutting down.');
      const final = path.join(upload, fileName);
      await fs.rename(partial, final);
      this.uploads.add(upload);
      return { path: final, size };
    } catch (error) {
      rmSync(upload, { recursive: true, force: true });
      if (error instanceof StagingError) throw error;
      const code = (error as NodeJS.ErrnoException | null)?.code;
      if (code === 'ENOSPC') throw new StagingError('no-space', 'FILE_ERROR', `Ran out of memory while receiving ${fileName}; nothing of it was kept.`);
      // A sender that goes away mid-file shows up as an aborted or reset request.
      if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (error as Error | null)?.message === 'aborted') {
        throw new StagingError('incomplete', 'BAD_REQUEST', `${fileName} stopped arriving before its end; nothing of it was kept.`);
      }
      throw new StagingError('write-failed', 'FILE_ERROR', `Cannot store ${fileName} in ${root} (${code ?? 'error'}); nothing of it was kept.`);
    }
  }
}
