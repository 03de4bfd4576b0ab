// Nameless plaintext files (electron/worker/private-file.ts) and what DuckDB does with them: the
// claims docs/architecture.md "Plaintext and crashes" rests on, checked against the DuckDB we ship,
// so an upgrade that breaks them fails here rather than leaving plaintext behind.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { openFileEngine, sqlString } from '../../electron/worker/file-engine.js';
import { createPrivateFile } from '../../electron/worker/private-file.js';
import { temporaryFolder } from '../support/homes.js';

const limits = { memoryLimit: '512MB', threads: 1 };

describe('nameless private files', () => {
  const folder = temporaryFolder('cleanroom-private-file-');
  after(() => folder.remove());

  it('have no name on Linux, give back what was written, and leave nothing once closed', async () => {
    const file = await createPrivateFile(folder.dir, 'table');
    try {
      assert.equal(file.nameless, process.platform === 'linux');
      if (file.nameless) {
        assert.equal(file.path, `/proc/self/fd/${file.handle.fd}`);
        assert.deepEqual(readdirSync(folder.dir), [], 'the folder lists nothing while the file is open');
      }
      await file.append(Buffer.from('hello, '));
      await file.append(Buffer.from('world'));
      const reader = await file.reader();
      assert.equal(reader.size, 12);
      const buffer = Buffer.alloc(32);
      assert.equal(await reader.read(buffer, 32), 12);
      assert.equal(buffer.subarray(0, 12).toString(), 'hello, world');
      assert.equal(await reader.read(buffer, 32), 0);
    } finally {
      await file.close();
      await file.close();
    }
    assert.deepEqual(readdirSync(folder.dir), []);
  });

  it('are written by DuckDB COPY and read by read_parquet through the one path the engine is allowed', async () => {
    const file = await createPrivateFile(folder.dir, 'table');
    const other = await createPrivateFile(folder.dir, 'other');
    const engine = await openFileEngine(limits, { files: [file.path] });
    try {
      const copied = await engine.connection.runAndReadAll(
        `COPY (SELECT i, 'row ' || i AS label FROM range(1000) t(i)) TO ${sqlString(file.path)} (FORMAT parquet, COMPRESSION zstd, USE_TMP_FILE false)`,
      );
      assert.deepEqual(copied.getRowsJson(), [['1000']]);
      assert.ok((await file.reader()).size > 0, 'the bytes are in the file this process holds');
      const read = await engine.connection.runAndReadAll(`SELECT count(*), max(label) FROM read_parquet(${sqlString(file.path)})`);
      assert.deepEqual(read.getRowsJson(), [['1000', 'row 999']]);
      // Any other file, nameless or not, stays closed to the engine.
      await assert.rejects(engine.connection.run(`SELECT * FROM read_parquet(${sqlString(other.path)})`), /Permission Error/);
    } finally {
      engine.close();
      await file.close();
      await other.close();
    }
    assert.deepEqual(readdirSync(folder.dir), []);
  });
});
