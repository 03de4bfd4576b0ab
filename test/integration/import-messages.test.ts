// Import refusals in our own words (issue 15) where DuckDB's or a parser's used to show: a CSV
// named .parquet, a 10 MB value in a CSV, and a CSV that grows while it is imported. Each is a
// FILE_ERROR with exactly the text asserted here, and leaves nothing behind: no payload, no
// plaintext in the RAM folder, no file holding the source's marker.
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRamFolder, type RamFolder } from '../../electron/core/ram-folder.js';
import { newDataKey } from '../../electron/core/vault.js';
import { WorkerHost } from '../../electron/core/worker-host.js';
import { cryptoReady, toBase64Url } from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';
import { allFileBytes, temporaryFolder } from '../support/homes.js';
import { tsxExecArgv, workerSourceEntry } from '../support/paths.js';

const marker = 'MARKER-import-messages-5d1e';

/** The error a promise rejects with; fails if it resolves. */
async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CleanroomError, `expected a CleanroomError, got ${String(error)}`);
    return { code: error.code, message: error.message };
  }
  return assert.fail('expected a refusal, but the request succeeded');
}

/** A CSV of `rows` marker rows, then whatever `tail` adds. */
function csv(rows: number, tail = ''): string {
  const lines = ['id,note'];
  for (let id = 1; id <= rows; id++) lines.push(`${id},${marker}-${id}`);
  return `${lines.join('\n')}\n${tail}`;
}

describe('import refusals in our words', () => {
  const host = new WorkerHost({ entry: workerSourceEntry, execArgv: tsxExecArgv, defaultTimeoutMs: 120_000 });
  const sources = temporaryFolder('cleanroom-sources-');
  const vault = temporaryFolder('cleanroom-vault-');
  let ram: RamFolder;
  let count = 0;

  before(async () => {
    await cryptoReady();
    mkdirSync(vault.dir, { recursive: true });
    ram = createRamFolder();
  });
  after(async () => {
    await host.stop();
    ram.remove();
    sources.remove();
    vault.remove();
  });

  /** Imports `file` (columns id, note) and returns the refusal, checking nothing was left behind. */
  async function importRefusal(file: string, format: 'csv' | 'parquet'): Promise<{ code: string; message: string }> {
    const outFile = path.join(vault.dir, `import-${++count}.partial`);
    const refused = await refusal(
      host.request({ kind: 'importTable', source: file, format, columns: ['id', 'note'], dataKey: toBase64Url(newDataKey()), outFile, ramDir: ram.dir }),
    );
    assert.equal(existsSync(outFile), false, 'no payload is left');
    assert.deepEqual(readdirSync(vault.dir), [], 'nothing is left in the vault');
    assert.deepEqual(readdirSync(ram.dir), [], 'no plaintext is left in the RAM folder');
    const needle = Buffer.from(marker);
    assert.deepEqual([...allFileBytes(ram.dir)].filter(([, bytes]) => bytes.includes(needle)), []);
    return refused;
  }

  it('a CSV named .parquet', async () => {
    const file = path.join(sources.dir, 'admissions.parquet');
    writeFileSync(file, csv(20));
    const expected = {
      code: 'FILE_ERROR',
      message: 'Cannot import admissions.parquet: it is not a Parquet file (a Parquet file starts and ends with PAR1); if it holds CSV or JSON text, give it that extension or name that format.',
    };
    assert.deepEqual(await refusal(host.request({ kind: 'inspect', path: file })), expected);
    assert.deepEqual(await importRefusal(file, 'parquet'), expected);
  });

  it('a CSV with a 10 MB value, near the top and deep in the file', async () => {
    const early = path.join(sources.dir, 'early.csv');
    writeFileSync(early, csv(1, `2,"${'x'.repeat(10 * 1024 * 1024)}"\n3,after\n`));
    const expected = { code: 'FILE_ERROR', message: 'Cannot import early.csv: line 3 is longer than 2,000,000 bytes, the most one line may hold.' };
    assert.deepEqual(await refusal(host.request({ kind: 'inspect', path: early })), expected);
    assert.deepEqual(await importRefusal(early, 'csv'), expected);

    // Past the rows DuckDB samples for types: found while converting, not while inspecting.
    const deep = path.join(sources.dir, 'deep.csv');
    writeFileSync(deep, csv(30_000, `30001,${'y'.repeat(10 * 1024 * 1024)}\n`));
    assert.deepEqual(await importRefusal(deep, 'csv'), {
      code: 'FILE_ERROR',
      message: 'Cannot import deep.csv: line 30002 is longer than 2,000,000 bytes, the most one line may hold.',
    });

    const header = path.join(sources.dir, 'header.csv');
    writeFileSync(header, `id,${'n'.repeat(10 * 1024 * 1024)}\n1,2\n`);
    assert.deepEqual(await refusal(host.request({ kind: 'inspect', path: header })), {
      code: 'FILE_ERROR',
      message: 'Cannot import header.csv: line 1 (the header) is longer than 2,000,000 bytes, the most one line may hold.',
    });
  });

  it('a CSV that grows while it is imported', async () => {
    const file = path.join(sources.dir, 'growing.csv');
    writeFileSync(file, csv(300_000));
    // Another program still writing the file: rows keep arriving for as long as the import runs.
    const fd = openSync(file, 'a');
    let next = 300_001;
    const writer = setInterval(() => {
      const rows: string[] = [];
      for (let index = 0; index < 100; index++, next++) rows.push(`${next},${marker}-${next}`);
      writeSync(fd, `${rows.join('\n')}\n`);
    }, 2);
    try {
      assert.deepEqual(await importRefusal(file, 'csv'), {
        code: 'FILE_ERROR',
        message: 'Cannot import growing.csv: the file changed while it was being read; import it again once nothing is writing to it.',
      });
    } finally {
      clearInterval(writer);
      closeSync(fd);
    }
  });
});
