// Plaintext files DuckDB needs by path (the Parquet an import writes, the decrypted inputs of a
// run), made so that no kill can leave them behind. On Linux each is created in the job's private
// RAM folder, opened, and unlinked before a byte is written: it then has no name, only this
// process's descriptor, and DuckDB reaches it as /proc/self/fd/<n>. The kernel frees its pages
// when the last descriptor closes, which a kill -9 of this process does too, so nothing needs
// sweeping. Measured with DuckDB 1.5.5: read_parquet and COPY … TO such a path work (COPY needs
// USE_TMP_FILE false: it would otherwise write "/proc/self/fd/tmp_<n>" and rename), and
// allowed_paths admits the exact path. Where /proc/self/fd is missing (macOS, Windows) the file
// keeps its name in the folder: removed when the job ends, or by core's start-up sweep after a crash.

import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { type PlaintextReader } from './payload-stream.js';

export interface PrivateFile {
  /** What DuckDB is given: /proc/self/fd/<n> for a nameless file, else the file's name. */
  readonly path: string;
  /** True when the file has no name, so it ends with this process whatever happens. */
  readonly nameless: boolean;
  readonly handle: FileHandle;
  /** Writes all of `bytes` at the end of what was written so far. */
  append(bytes: Uint8Array): Promise<void>;
  /** A reader over the whole file from its start (e.g. after DuckDB wrote it). */
  reader(): Promise<{ read: PlaintextReader; size: number }>;
  /** Closes the descriptor (freeing a nameless file) and removes a named one. Safe to call twice. */
  close(): Promise<void>;
}

/** Whether /proc/self/fd/<fd> leads to the very file `handle` has open. */
async function reachableByDescriptor(handle: FileHandle): Promise<boolean> {
  if (process.platform !== 'linux') return false;
  try {
    const [mine, viaProc] = await Promise.all([handle.stat({ bigint: true }), stat(`/proc/self/fd/${handle.fd}`, { bigint: true })]);
    return mine.dev === viaProc.dev && mine.ino === viaProc.ino;
  } catch {
    return false;
  }
}

/** A new private file (mode 0600) in `dir`, nameless where the platform allows. */
export async function createPrivateFile(dir: string, stem: string): Promise<PrivateFile> {
  const name = path.join(dir, `${stem}-${randomBytes(8).toString('hex')}.parquet`);
  // 'wx+': never an existing file; read and write, since the same descriptor is read back.
  const handle = await open(name, 'wx+', 0o600);
  let nameless = false;
  try {
    if (await reachableByDescriptor(handle)) {
      await unlink(name);
      nameless = true;
    }
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(name, { force: true });
    throw error;
  }
  let written = 0;
  let closed = false;
  return {
    path: nameless ? `/proc/self/fd/${handle.fd}` : name,
    nameless,
    handle,
    async append(bytes) {
      let offset = 0;
      while (offset < bytes.length) {
        const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset, written);
        offset += bytesWritten;
        written += bytesWritten;
      }
    },
    async reader() {
      const { size } = await handle.stat();
      let position = 0;
      return {
        size,
        read: async (buffer, length) => {
          const { bytesRead } = await handle.read(buffer, 0, length, position);
          position += bytesRead;
          return bytesRead;
        },
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await handle.close().catch(() => undefined);
      if (!nameless) await rm(name, { force: true });
    },
  };
}
