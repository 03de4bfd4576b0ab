// The vault: one folder per home of encrypted payload files, `<vault>/<payload hash>.payload`
// (the naming is packet-stream.ts's vaultPathFor, re-exported here), and the data keys of my own
// assets, stored sealed to my own box key so that reading them needs the unlocked identity.
//
// A payload is written by the worker under a `.partial` name in the vault (fsynced there), then
// committed here by rename + folder fsync: a payload file under its final name is always whole.
// The payload format itself is documented in electron/worker/payload-stream.ts.
import { renameSync } from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { open } from 'node:fs/promises';
import { createHasher, openSealedBox, randomBytes, sealToBoxKey, secretStreamKeyBytes, toBase64Url, fromBase64Url, toHex } from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';
import { describeFileError, syncFolder } from './files.js';
import { vaultPathFor } from './packet-stream.js';

export { vaultPathFor };

/** A fresh random data key for one asset's payload (a secretstream key). */
export const newDataKey = (): Uint8Array => randomBytes(secretStreamKeyBytes);

/** The data key sealed (crypto_box_seal) to my own box public key, base64url, for the data_keys table. */
export function sealDataKeyForOwner(dataKey: Uint8Array, boxPublicKey: Uint8Array): string {
  if (dataKey.length !== secretStreamKeyBytes) throw new CleanroomError('INTERNAL', 'A data key must be 32 bytes.');
  return toBase64Url(sealToBoxKey(dataKey, boxPublicKey));
}

/** Opens a data key sealed by sealDataKeyForOwner; HOME_DAMAGED if my keys cannot open it. */
export function openOwnDataKey(sealed: string, keys: { readonly boxPublicKey: Uint8Array; readonly boxSecretKey: Uint8Array }): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(sealed);
  } catch {
    throw new CleanroomError('HOME_DAMAGED', 'A stored data key is not valid base64url; the home is damaged.');
  }
  const key = openSealedBox(bytes, keys.boxPublicKey, keys.boxSecretKey);
  if (key === null || key.length !== secretStreamKeyBytes) {
    throw new CleanroomError('HOME_DAMAGED', 'A stored data key cannot be opened with this identity; the home is damaged.');
  }
  return key;
}

const pieceBytes = 1024 * 1024;

/**
 * Checks a payload file's size and BLAKE2b-256 against what its descriptor says, reading it in
 * 1 MiB pieces. Throws FILE_ERROR saying which does not match.
 */
export async function verifyPayloadFile(file: string, expectedHash: string, expectedSize: number): Promise<void> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new CleanroomError('FILE_ERROR', `Cannot read the payload ${expectedHash.slice(0, 12)}… (${describeFileError(error)}).`);
  }
  try {
    const { size } = await handle.stat();
    if (size !== expectedSize) {
      throw new CleanroomError('FILE_ERROR', `The payload ${expectedHash.slice(0, 12)}… is ${size} bytes where its descriptor says ${expectedSize}.`);
    }
    const hasher = createHasher();
    const buffer = Buffer.alloc(Math.min(pieceBytes, Math.max(1, size)));
    let position = 0;
    while (position < size) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - position), position);
      if (bytesRead === 0) throw new CleanroomError('FILE_ERROR', `The payload ${expectedHash.slice(0, 12)}… changed while it was checked.`);
      hasher.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
    if (toHex(hasher.digest()) !== expectedHash) {
      throw new CleanroomError('FILE_ERROR', `The payload ${expectedHash.slice(0, 12)}… does not match its descriptor's hash.`);
    }
  } finally {
    await handle.close();
  }
}

/**
 * Moves a whole, fsynced `.partial` payload to its final name in the vault and syncs the folder.
 * Payloads are named by their hash, so an existing file of that name already holds these bytes
 * and is simply replaced. Returns the final path.
 */
export function commitPayload(partialPath: string, vaultDir: string, payloadHash: string): string {
  const finalPath = vaultPathFor(vaultDir, payloadHash);
  try {
    renameSync(partialPath, finalPath);
  } catch (error) {
    throw new CleanroomError('FILE_ERROR', `Cannot move the payload into the vault (${describeFileError(error)}).`);
  }
  syncFolder(vaultDir);
  return finalPath;
}

/**
 * Records a payload file that is whole and in place in the vault (call inside the transaction that
 * makes it referenced). A row is written only after the rename, so an unrecorded file is one the
 * start-up sweep may remove.
 */
export function recordPayload(db: Database.Database, vaultDir: string, payload: { hash: string; size: number; file: string }, at: Date): void {
  db.prepare(
    `INSERT INTO payloads (hash, size, path, present, added_at) VALUES (?, ?, ?, 1, ?)
     ON CONFLICT (hash) DO UPDATE SET size = excluded.size, path = excluded.path, present = 1`,
  ).run(payload.hash, payload.size, path.relative(vaultDir, payload.file), at.toISOString());
}
