// What must hold after every trial, whatever moment the crash hit.
import Database from 'better-sqlite3';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ramFolderRoot } from '../../electron/core/ram-folder.js';

/** Files under `folder` whose bytes contain `needle`. */
function filesHolding(folder: string, needle: Buffer, found: string[]): void {
  let entries;
  try {
    entries = readdirSync(folder, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) filesHolding(full, needle, found);
    else if (entry.isFile()) {
      try {
        if (readFileSync(full).includes(needle)) found.push(full);
      } catch {
        // Removed while we looked: nothing left to read.
      }
    }
  }
}

/** Where plaintext could be left: the trial's folder, the RAM folder root, Cleanroom's temp folders. */
export function markerFiles(trialDir: string, marker: string): string[] {
  const needle = Buffer.from(marker, 'utf8');
  const found: string[] = [];
  filesHolding(trialDir, needle, found);
  filesHolding(ramFolderRoot().root, needle, found);
  for (const name of readdirSync(os.tmpdir())) if (name.startsWith('cleanroom')) filesHolding(path.join(os.tmpdir(), name), needle, found);
  return found;
}

/** Waits up to a few seconds for no file to hold the marker, with no Cleanroom process started. */
export async function plaintextGone(trialDir: string, marker: string): Promise<string | null> {
  let found: string[] = [];
  for (let attempt = 0; attempt < 20; attempt++) {
    found = markerFiles(trialDir, marker);
    if (found.length === 0) return null;
    await sleep(250);
  }
  return `plaintext still readable 5 s after the crash: ${found.join(', ')}`;
}

/** PRAGMA integrity_check of a home's database, as the crash left it. */
export function integrity(home: string): string | null {
  const file = path.join(home, 'cleanroom.db');
  if (!existsSync(file)) return `${file} is missing`;
  const db = new Database(file);
  try {
    const result = db.pragma('integrity_check', { simple: true });
    return result === 'ok' ? null : `integrity_check of ${file}: ${String(result)}`;
  } finally {
    db.close();
  }
}

/** The vault holds exactly the payloads the database says it holds, each of its recorded size. */
export function vaultAgrees(home: string): string | null {
  const db = new Database(path.join(home, 'cleanroom.db'), { readonly: true });
  try {
    const rows = db.prepare('SELECT hash, size, path FROM payloads WHERE present = 1').all() as { hash: string; size: number; path: string }[];
    const vault = path.join(home, 'vault');
    const files = new Set(readdirSync(vault));
    for (const row of rows) {
      const file = path.join(vault, row.path);
      if (!existsSync(file)) return `payload ${row.hash.slice(0, 12)} is recorded but its file is missing`;
      if (statSync(file).size !== row.size) return `payload ${row.hash.slice(0, 12)} has ${statSync(file).size} bytes, ${row.size} recorded`;
      files.delete(row.path);
    }
    return files.size === 0 ? null : `files in the vault no row records: ${[...files].join(', ')}`;
  } finally {
    db.close();
  }
}

/** Descendant process ids of `pid` (Linux /proc). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const visit = (parent: number): void => {
    let children: string;
    try {
      children = readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8');
    } catch {
      return;
    }
    for (const child of children.split(' ').filter(Boolean).map(Number)) {
      out.push(child);
      visit(child);
    }
  };
  visit(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return !/^State:\s+Z/m.test(status);
  } catch {
    return false;
  }
}

/** Waits up to a few seconds for the processes to end (a worker must not outlive its host). */
export async function processesGone(pids: readonly number[]): Promise<string | null> {
  for (let attempt = 0; attempt < 20; attempt++) {
    if (pids.every((pid) => !alive(pid))) return null;
    await sleep(250);
  }
  const left = pids.filter(alive);
  for (const pid of left) process.kill(pid, 'SIGKILL');
  return `processes still running 5 s after the crash: ${left.join(', ')}`;
}
