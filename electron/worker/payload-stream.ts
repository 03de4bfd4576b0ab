// Encrypted payload files: the at-rest (vault) form of a table's Parquet or a volume's archive.
//
// Format `secretstream-xchacha20poly1305/1` (the descriptor's payload.encryption), with S the
// descriptor's payload.chunkSize and P the plaintext length:
//   24-byte secretstream header (init_push)
//   then N = max(1, ceil(P / S)) ciphertext chunks, back to back, no length fields:
//     every chunk but the last is S + 17 bytes (S plaintext bytes) and tagged MESSAGE;
//     the last is (P − S·(N−1)) + 17 bytes and tagged FINAL (an empty plaintext is one empty FINAL chunk).
// No additional data. Truncation, extension, reordering and substitution all fail to authenticate
// or leave a FINAL chunk that is not at the end. The file's BLAKE2b-256 is the payload's hash.
//
// Both directions stream in chunks: a 1 GB table never sits in memory whole.

import { open, rm } from 'node:fs/promises';
import { CleanroomError, isDiskFull } from '../../shared/errors.js';
import {
  createHasher,
  createSecretStreamDecryptor,
  createSecretStreamEncryptor,
  secretStreamHeaderBytes,
  secretStreamKeyBytes,
  secretStreamOverheadBytes,
  toHex,
} from '../../shared/crypto.js';

/** Fills `buffer[0, length)` with the next plaintext bytes; returns how many it wrote (0 only at the end). */
export type PlaintextReader = (buffer: Buffer, length: number) => Promise<number>;

export interface EncryptedPayload {
  readonly payloadHash: string;
  readonly payloadSize: number;
  readonly chunkSize: number;
}

export interface EncryptOptions {
  readonly key: Uint8Array;
  /** Exact plaintext length: the reader must deliver this many bytes, then none. */
  readonly plaintextLength: number;
  readonly read: PlaintextReader;
  /** Created here; must not exist. Removed again if anything fails. */
  readonly outFile: string;
  readonly chunkSize: number;
  /** Plaintext bytes encrypted so far, after each chunk. */
  readonly onProgress?: (done: number) => void;
  /** Why the reader delivered the wrong number of bytes, e.g. "the file changed while it was read". */
  readonly changedMessage: string;
}

async function readFully(read: PlaintextReader, buffer: Buffer, length: number): Promise<number> {
  let filled = 0;
  while (filled < length) {
    const count = await read(buffer.subarray(filled), length - filled);
    if (count === 0) break;
    filled += count;
  }
  return filled;
}

/** Encrypts a stream of known length into a payload file, fsynced before this resolves. */
export async function encryptToPayloadFile(options: EncryptOptions): Promise<EncryptedPayload> {
  const { key, plaintextLength, read, outFile, chunkSize } = options;
  if (key.length !== secretStreamKeyBytes) throw new CleanroomError('BAD_REQUEST', 'dataKey must be 32 bytes');
  const chunkCount = Math.max(1, Math.ceil(plaintextLength / chunkSize));
  // 'wx': never overwrite; 0600: the file is ciphertext, but nobody else has a reason to read it.
  const out = await open(outFile, 'wx', 0o600).catch((error: unknown) => {
    if (isDiskFull(error)) throw new CleanroomError('DISK_FULL', 'Cannot create the payload file: the disk is full.');
    throw new CleanroomError('FILE_ERROR', `Cannot create the payload file (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
  });
  const encryptor = createSecretStreamEncryptor(key);
  const hasher = createHasher();
  const buffer = Buffer.alloc(chunkSize);
  let size = 0;
  let finished = false;
  const write = async (bytes: Uint8Array): Promise<void> => {
    hasher.update(bytes);
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesWritten } = await out.write(bytes, offset, bytes.length - offset);
      offset += bytesWritten;
    }
    size += bytes.length;
  };
  try {
    await write(encryptor.header);
    let done = 0;
    for (let index = 0; index < chunkCount; index++) {
      const want = index < chunkCount - 1 ? chunkSize : plaintextLength - chunkSize * (chunkCount - 1);
      const got = await readFully(read, buffer, want);
      if (got !== want) throw new CleanroomError('FILE_ERROR', options.changedMessage);
      const last = index === chunkCount - 1;
      await write(encryptor.push(buffer.subarray(0, got), last ? 'final' : 'message'));
      done += got;
      options.onProgress?.(done);
    }
    // The source must end exactly where its length said.
    if ((await read(buffer, 1)) !== 0) throw new CleanroomError('FILE_ERROR', options.changedMessage);
    await out.sync();
    finished = true;
  } finally {
    encryptor.dispose();
    buffer.fill(0);
    await out.close().catch(() => undefined);
    if (!finished) await rm(outFile, { force: true });
  }
  return { payloadHash: toHex(hasher.digest()), payloadSize: size, chunkSize };
}

export interface DecryptOptions {
  readonly key: Uint8Array;
  readonly chunkSize: number;
  /** Receives each plaintext chunk in order; may be async (e.g. a file write). */
  readonly onChunk: (plaintext: Uint8Array) => Promise<void> | void;
}

/**
 * Decrypts a payload file chunk by chunk. Throws FILE_ERROR if anything does not authenticate:
 * wrong key, changed bytes, truncation, extra bytes, or a FINAL tag anywhere but at the end.
 */
export async function decryptPayloadFile(payloadFile: string, options: DecryptOptions): Promise<number> {
  const refuse = (why: string): never => {
    throw new CleanroomError('FILE_ERROR', `The payload cannot be decrypted: ${why}.`);
  };
  const handle = await open(payloadFile, 'r');
  try {
    const { size } = await handle.stat();
    if (size < secretStreamHeaderBytes + secretStreamOverheadBytes) refuse('it is too short');
    const header = Buffer.alloc(secretStreamHeaderBytes);
    await handle.read(header, 0, header.length, 0);
    const decryptor = createSecretStreamDecryptor(header, options.key) ?? refuse('the key has the wrong length');
    const frame = Buffer.alloc(options.chunkSize + secretStreamOverheadBytes);
    let position = secretStreamHeaderBytes;
    let plaintextLength = 0;
    try {
      for (;;) {
        const want = Math.min(frame.length, size - position);
        if (want < secretStreamOverheadBytes) refuse('it is truncated');
        const { bytesRead } = await handle.read(frame, 0, want, position);
        if (bytesRead !== want) refuse('it changed while it was read');
        position += want;
        const opened = decryptor.pull(frame.subarray(0, want)) ?? refuse('a chunk does not authenticate (wrong key, or changed)');
        const atEnd = position === size;
        if (opened.tag === 'final' && !atEnd) refuse('bytes follow its final chunk');
        if (opened.tag !== 'final' && atEnd) refuse('it is truncated (no final chunk)');
        if (opened.tag !== 'final' && opened.tag !== 'message') refuse(`unexpected chunk tag ${opened.tag}`);
        plaintextLength += opened.message.length;
        await options.onChunk(opened.message);
        if (atEnd) return plaintextLength;
      }
    } finally {
      decryptor.dispose();
    }
  } finally {
    await handle.close();
  }
}

/** Decrypts a payload file into a new file (mode 0600), e.g. a Parquet file in a private RAM folder. */
export async function decryptPayloadToFile(payloadFile: string, outFile: string, key: Uint8Array, chunkSize: number): Promise<number> {
  const out = await open(outFile, 'wx', 0o600);
  let finished = false;
  try {
    const length = await decryptPayloadFile(payloadFile, {
      key,
      chunkSize,
      onChunk: async (plaintext) => {
        let offset = 0;
        while (offset < plaintext.length) offset += (await out.write(plaintext, offset, plaintext.length - offset)).bytesWritten;
      },
    });
    finished = true;
    return length;
  } finally {
    await out.close().catch(() => undefined);
    if (!finished) await rm(outFile, { force: true });
  }
}
