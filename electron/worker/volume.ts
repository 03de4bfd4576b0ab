// Volumes: any files (a SQL macro library, a model spec…), packed into one archive and encrypted
// like a table's Parquet (payload-stream.ts).
//
// Archive format `cleanroom-volume-archive/1` (the plaintext of a volume payload):
//   u32be M — length of the manifest
//   M bytes — the manifest: canonical JSON (shared/canonical.ts) of
//             {"files":[{"path":"lib/macros.sql","size":123}, …]}, paths relative, '/'-separated,
//             sorted by UTF-16 code units, each a regular file
//   then each file's bytes, in manifest order, back to back (sizes from the manifest)
// The archive is streamed straight into the encryptor: it is never written anywhere in plaintext.

import { lstat, open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { decodeCanonical, encodeCanonical } from '../../shared/canonical.js';
import { fromBase64Url, wipe } from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';
import { array, object, parse } from '../../shared/validate.js';
import {
  type PackVolumeResult,
  payloadChunkSize,
  type VolumeFile,
  volumeFileSchema,
  type WorkerRequest,
} from '../../shared/worker-protocol.js';
import { type ProgressSink } from './import.js';
import { encryptToPayloadFile, type PlaintextReader } from './payload-stream.js';

type PackVolumeRequest = Extract<WorkerRequest, { kind: 'packVolume' }>;

/** The asset descriptor's limits. */
const maxFiles = 10_000;
const maxPathLength = 1024;
const manifestLengthBytes = 4;

const manifestSchema = object({ files: array(volumeFileSchema, { min: 1, max: maxFiles }) });

interface PlannedFile extends VolumeFile {
  readonly full: string;
}

const refuse = (name: string, why: string): never => {
  throw new CleanroomError('FILE_ERROR', `Cannot add ${name} as a volume: ${why}.`);
};

/** Every regular file under `root`, sorted; symbolic links and special files are refused. */
async function listFiles(root: string, name: string): Promise<PlannedFile[]> {
  const files: PlannedFile[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      const full = path.join(dir, entry.name);
      if (entry.isSymbolicLink()) refuse(name, `${relative} is a symbolic link`);
      if (entry.isDirectory()) await walk(full, relative);
      else if (entry.isFile()) {
        if (relative.length > maxPathLength) refuse(name, `the path ${relative.slice(0, 80)}… is longer than ${maxPathLength} characters`);
        files.push({ path: relative, size: (await lstat(full)).size, full });
        if (files.length > maxFiles) refuse(name, `it holds more than ${maxFiles} files`);
      } else refuse(name, `${relative} is not a regular file`);
    }
  };
  await walk(root, '');
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function planVolume(source: string): Promise<PlannedFile[]> {
  const name = path.basename(source);
  let info;
  try {
    info = await lstat(source);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return refuse(name, code === 'ENOENT' ? 'there is no such file or folder' : (code ?? 'it cannot be read'));
  }
  if (info.isSymbolicLink()) refuse(name, 'it is a symbolic link');
  if (info.isFile()) return [{ path: name, size: info.size, full: source }];
  if (!info.isDirectory()) refuse(name, 'it is not a regular file or folder');
  const files = await listFiles(source, name);
  if (files.length === 0) refuse(name, 'the folder has no files');
  return files;
}

/** The archive's manifest bytes, length prefix included. */
export function encodeManifest(files: readonly VolumeFile[]): Uint8Array {
  const manifest = encodeCanonical({ files: files.map(({ path: filePath, size }) => ({ path: filePath, size })) });
  const out = new Uint8Array(manifestLengthBytes + manifest.length);
  new DataView(out.buffer).setUint32(0, manifest.length);
  out.set(manifest, manifestLengthBytes);
  return out;
}

/** Streams the archive: manifest, then each file's bytes, checking each file still has its size. */
function archiveReader(
  prefix: Uint8Array,
  files: readonly PlannedFile[],
  changed: () => never,
): { read: PlaintextReader; close(): Promise<void> } {
  let prefixOffset = 0;
  let fileIndex = 0;
  let handle: Awaited<ReturnType<typeof open>> | null = null;
  let fileOffset = 0;
  const read: PlaintextReader = async (buffer, length) => {
    if (prefixOffset < prefix.length) {
      const count = Math.min(length, prefix.length - prefixOffset);
      buffer.set(prefix.subarray(prefixOffset, prefixOffset + count));
      prefixOffset += count;
      return count;
    }
    for (;;) {
      const file = files[fileIndex];
      if (file === undefined) return 0;
      handle ??= await open(file.full, 'r');
      const wanted = Math.min(length, file.size - fileOffset);
      if (wanted > 0) {
        const { bytesRead } = await handle.read(buffer, 0, wanted, fileOffset);
        if (bytesRead === 0) changed();
        fileOffset += bytesRead;
        return bytesRead;
      }
      // At the manifest's size: the file must end here too.
      const { bytesRead } = await handle.read(Buffer.alloc(1), 0, 1, fileOffset);
      await handle.close();
      handle = null;
      if (bytesRead !== 0) changed();
      fileIndex += 1;
      fileOffset = 0;
    }
  };
  return { read, close: async () => void (await handle?.close()) };
}

export async function packVolume(request: PackVolumeRequest, sink: ProgressSink): Promise<PackVolumeResult> {
  if (!path.isAbsolute(request.source) || !path.isAbsolute(request.outFile)) {
    throw new CleanroomError('BAD_REQUEST', 'source and outFile must be absolute paths');
  }
  const key = fromBase64Url(request.dataKey);
  try {
    if (key.length !== 32) throw new CleanroomError('BAD_REQUEST', 'dataKey must be 32 bytes');
    const source = path.resolve(request.source);
    const name = path.basename(source);
    const files = await planVolume(source);
    const prefix = encodeManifest(files);
    const total = prefix.length + files.reduce((sum, file) => sum + file.size, 0);
    let last = 0;
    sink({ phase: 'encrypting', done: 0, total });
    const archive = archiveReader(prefix, files, () => refuse(name, 'a file changed while it was read'));
    const payload = await encryptToPayloadFile({
      key,
      plaintextLength: total,
      read: archive.read,
      outFile: path.resolve(request.outFile),
      chunkSize: payloadChunkSize,
      onProgress: (done) => {
        const now = Date.now();
        if (done < total && now - last < 200) return;
        last = now;
        sink({ phase: 'encrypting', done, total });
      },
      changedMessage: `Cannot add ${name} as a volume: a file changed while it was read.`,
    }).finally(() => archive.close());
    return { kind: 'packVolume', files: files.map(({ path: filePath, size }) => ({ path: filePath, size })), ...payload };
  } finally {
    wipe(key);
  }
}

/** Splits a whole (small) archive back into its files; for tests and small volumes held in memory. */
export function unpackVolumeArchive(archive: Uint8Array): { path: string; bytes: Uint8Array }[] {
  const bad = (why: string): never => {
    throw new CleanroomError('FILE_ERROR', `The volume archive is malformed: ${why}.`);
  };
  if (archive.length < manifestLengthBytes) bad('it is too short');
  const manifestLength = new DataView(archive.buffer, archive.byteOffset, archive.byteLength).getUint32(0);
  const manifestEnd = manifestLengthBytes + manifestLength;
  if (manifestEnd > archive.length) bad('the manifest is truncated');
  const parsed = parse(manifestSchema, decodeCanonical(archive.subarray(manifestLengthBytes, manifestEnd), 'volume manifest'));
  if (!parsed.ok) return bad(parsed.issue.message);
  let offset = manifestEnd;
  const files = parsed.value.files.map((file) => {
    const bytes = archive.subarray(offset, offset + file.size);
    if (bytes.length !== file.size) bad(`${file.path} is truncated`);
    offset += file.size;
    return { path: file.path, bytes };
  });
  if (offset !== archive.length) bad('bytes follow the last file');
  return files;
}
