// What a crash can leave in the vault is swept when the home next opens; recorded payloads stay.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openTestCore, temporaryFolder } from '../support/homes.js';

describe('vault sweep at start-up', () => {
  it('removes partial files and payload files no row records, and keeps recorded payloads', async () => {
    const folder = temporaryFolder();
    try {
      await (await openTestCore(folder.dir)).close();
      const vault = path.join(folder.dir, 'vault');
      const recorded = path.join(vault, `${'a'.repeat(64)}.payload`);
      const orphan = path.join(vault, `${'b'.repeat(64)}.payload`);
      const partial = path.join(vault, `.${'c'.repeat(64)}.payload.partial`);
      for (const file of [recorded, orphan, partial]) writeFileSync(file, 'ciphertext');
      const db = new Database(path.join(folder.dir, 'cleanroom.db'));
      db.prepare('INSERT INTO payloads (hash, size, path, present, added_at) VALUES (?, ?, ?, 1, ?)').run(
        'a'.repeat(64),
        10,
        path.basename(recorded),
        new Date().toISOString(),
      );
      db.close();

      await (await openTestCore(folder.dir)).close();
      assert.equal(existsSync(recorded), true, 'a recorded payload stays');
      assert.equal(existsSync(orphan), false, 'a payload no row records is removed');
      assert.equal(existsSync(partial), false, 'a partial file is removed');
    } finally {
      folder.remove();
    }
  });
});
