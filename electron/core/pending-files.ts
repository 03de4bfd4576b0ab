// Temporary files written outside the home: the hidden `.partial` of a packet, card, receipt, model
// or scored file in the folder the person chose. A failed write removes its own; a kill -9 or power
// cut cannot, so each is recorded in the home (migration 6) before it is created and forgotten once
// renamed or removed, and the next start-up removes whatever is still recorded.
import { lstatSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { isDiskFull } from '../../shared/errors.js';
import { type PendingFileJournal } from './files.js';

/** Only names Cleanroom gives its temporary files are ever removed from a recorded path. */
const partialName = /^\..+\.partial$/su;

/** The temporary files this process is writing now, whichever home recorded them. */
const writing = new Set<string>();

/**
 * Removes every temporary file this process is writing, at once: the CLI calls it when Ctrl-C or
 * SIGTERM ends a command, which would otherwise leave them until the next start-up.
 */
export function removeFilesBeingWritten(): void {
  for (const file of writing) {
    try {
      rmSync(file, { force: true });
    } catch {
      // Still recorded in the home: the next start-up removes it.
    }
  }
  writing.clear();
}

export class PendingFiles implements PendingFileJournal {
  constructor(
    private readonly db: Database.Database,
    private readonly clock: () => Date,
  ) {}

  /** Records `file` before it is created; committed (synchronous FULL) when this returns. */
  begin(file: string): void {
    writing.add(file);
    try {
      this.db.prepare('INSERT OR REPLACE INTO pending_files (path, created_at) VALUES (?, ?)').run(file, this.clock().toISOString());
    } catch (error) {
      // A home on a full disk can still export to a stick with room on it: the write goes ahead
      // unrecorded, its failures still remove the file, and only a kill -9 could leave it behind.
      if (!isDiskFull(error)) throw error;
    }
  }

  /** Forgets `file` once it has been renamed into place or removed. */
  end(file: string): void {
    writing.delete(file);
    try {
      this.db.prepare('DELETE FROM pending_files WHERE path = ?').run(file);
    } catch {
      // The file is already gone or whole; a row left behind (the home's disk is full) only
      // makes the next start-up look for a file that is not there.
    }
  }

  /**
   * At start-up: removes every recorded file a crash left and forgets it. A file in a folder that
   * is not there now (a USB stick not plugged in) stays recorded until its folder is back. Writes
   * nothing when nothing is recorded, so a home on a full disk still opens.
   */
  sweep(): number {
    const rows = this.db.prepare('SELECT path FROM pending_files').all() as { path: string }[];
    let removed = 0;
    const settled: string[] = [];
    for (const { path: file } of rows) {
      if (!path.isAbsolute(file) || !partialName.test(path.basename(file))) {
        settled.push(file);
        continue;
      }
      if (!folderExists(path.dirname(file))) continue;
      try {
        // lstat: a link put in its place is removed, never what it points to.
        if (lstatSync(file).isDirectory()) {
          settled.push(file);
          continue;
        }
        rmSync(file, { force: true });
        removed++;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') continue;
      }
      settled.push(file);
    }
    if (settled.length > 0) {
      try {
        const forget = this.db.prepare('DELETE FROM pending_files WHERE path = ?');
        this.db.transaction(() => {
          for (const file of settled) forget.run(file);
        })();
      } catch (error) {
        // Removing the files freed their space; the rows go at a later start-up.
        if (!isDiskFull(error)) throw error;
      }
    }
    return removed;
  }
}

function folderExists(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
