// Temporary homes for tests, removed when the test ends.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Core, openCore } from '../../electron/core/index.js';
import { tsxExecArgv, workerSourceEntry } from './paths.js';

export function temporaryFolder(prefix = 'cleanroom-test-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Core from source on a home folder, with the worker run from TypeScript under tsx. */
export function openTestCore(home: string): Promise<Core> {
  return openCore({ home, host: 'cli', workerEntry: workerSourceEntry, workerExecArgv: tsxExecArgv });
}

/**
 * Every readable file under a folder that may be changing (temp and RAM folders other tests and
 * runs also use): a file or folder that vanishes while it is read is skipped, as is `dir` itself.
 */
export function liveFileBytes(dir: string, into = new Map<string, Buffer>()): Map<string, Buffer> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return into;
  }
  for (const name of names) {
    const full = path.join(dir, name);
    try {
      const info = statSync(full);
      if (info.isDirectory()) liveFileBytes(full, into);
      else if (info.isFile()) into.set(full, readFileSync(full));
    } catch {
      // Gone meanwhile.
    }
  }
  return into;
}

/** Every byte of every file under a folder, for searching a home for things that must not be there. */
export function allFileBytes(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) for (const [name, bytes] of allFileBytes(full)) files.set(name, bytes);
    else files.set(full, readFileSync(full));
  }
  return files;
}

export const passphrase = 'correct horse battery staple';
