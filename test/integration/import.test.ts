// Importing tables and volumes in the worker: a real worker process (TypeScript source under tsx)
// reads source files with its locked-down file engine, writes Parquet in a private RAM folder,
// and encrypts it into a vault. The tests decrypt with the key, as a later run would, and check
// what a person would: the columns and types, every row, no plaintext left anywhere, clear refusals.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { createRamFolder, type RamFolder, sweepRamFolders } from '../../electron/core/ram-folder.js';
import { commitPayload, newDataKey, openOwnDataKey, sealDataKeyForOwner, vaultPathFor, verifyPayloadFile } from '../../electron/core/vault.js';
import { WorkerHost } from '../../electron/core/worker-host.js';
import { openFileEngine } from '../../electron/worker/file-engine.js';
import { decryptPayloadToFile } from '../../electron/worker/payload-stream.js';
import { unpackVolumeArchive } from '../../electron/worker/volume.js';
import { cryptoReady, generateBoxKeyPair, hash, toBase64Url, toHex } from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';
import { type WorkerProgress } from '../../shared/worker-protocol.js';
import {
  badCsvFiles,
  patientColumns,
  writePatientsCsv,
  writePatientsJson,
  writePatientsNdjson,
  writePatientsParquet,
} from '../support/data-files.js';
import { allFileBytes, temporaryFolder } from '../support/homes.js';
import { tsxExecArgv, workerSourceEntry } from '../support/paths.js';

const marker = 'MARKER-7f3a9c-only-in-the-source@example.org';

async function rejection(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CleanroomError, `expected a CleanroomError, got ${String(error)}`);
    assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
    assert.match(error.message, pattern);
    assert.doesNotMatch(error.message, /\n/, 'one line');
    return error.message;
  }
  assert.fail(`expected a ${code} refusal, but the request succeeded`);
}

/** Rows of a query in a fresh in-process DuckDB, as JSON-safe values. */
async function rowsOf(sql: string): Promise<{ columns: { name: string; type: string }[]; rows: unknown[][] }> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(sql);
    const columns = reader.columnNames().map((name, index) => ({ name, type: reader.columnType(index).toString() }));
    return { columns, rows: reader.getRowsJson() };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const literal = (text: string): string => `'${text.replaceAll("'", "''")}'`;

const everyByte = (dir: string): Buffer => Buffer.concat([...allFileBytes(dir).values()]);

describe('import in the worker', () => {
  const host = new WorkerHost({ entry: workerSourceEntry, execArgv: tsxExecArgv, defaultTimeoutMs: 120_000 });
  const sources = temporaryFolder('cleanroom-sources-');
  const home = temporaryFolder('cleanroom-home-');
  const vaultDir = path.join(home.dir, 'vault');
  const scratch = temporaryFolder('cleanroom-scratch-');
  let ram: RamFolder;
  let partialCount = 0;
  const nextPartial = () => path.join(vaultDir, `import-${++partialCount}.partial`);

  before(async () => {
    await cryptoReady();
    mkdirSync(vaultDir, { recursive: true });
    ram = createRamFolder();
  });
  after(async () => {
    await host.stop();
    ram.remove();
    sources.remove();
    home.remove();
    scratch.remove();
  });

  /** Imports all columns of a source and decrypts the payload again into a Parquet file. */
  async function importAndDecrypt(source: string, format: 'csv' | 'json' | 'parquet', columns: string[], progress: WorkerProgress[] = []) {
    const dataKey = newDataKey();
    const outFile = nextPartial();
    const result = await host.request(
      { kind: 'importTable', source, format, columns, dataKey: toBase64Url(dataKey), outFile, ramDir: ram.dir },
      { onProgress: (event) => progress.push(event) },
    );
    const decrypted = path.join(scratch.dir, `${path.basename(outFile)}.parquet`);
    await decryptPayloadToFile(outFile, decrypted, dataKey, result.chunkSize);
    return { result, outFile, decrypted, dataKey };
  }

  describe('inspect', () => {
    it('reads a CSV\'s columns and DuckDB types, and its size', async () => {
      const file = path.join(sources.dir, 'patients.csv');
      writePatientsCsv(file, { rows: 50 });
      const inspection = await host.request({ kind: 'inspect', path: file });
      assert.deepEqual(inspection, { kind: 'inspect', format: 'csv', columns: [...patientColumns], size: statSync(file).size });
    });

    it('reads semicolon CSVs, tab-separated .tsv, NDJSON, JSON arrays and Parquet the same way', async () => {
      const semicolon = path.join(sources.dir, 'semicolon.csv');
      writePatientsCsv(semicolon, { delimiter: ';' });
      const tsv = path.join(sources.dir, 'patients.tsv');
      writePatientsCsv(tsv, { delimiter: '\t' });
      const ndjson = path.join(sources.dir, 'patients.ndjson');
      writePatientsNdjson(ndjson);
      const jsonl = path.join(sources.dir, 'patients.jsonl');
      writePatientsNdjson(jsonl);
      const json = path.join(sources.dir, 'patients.json');
      writePatientsJson(json);
      const parquet = path.join(sources.dir, 'patients.parquet');
      await writePatientsParquet(parquet);
      for (const [file, format] of [
        [semicolon, 'csv'],
        [tsv, 'csv'],
        [ndjson, 'json'],
        [jsonl, 'json'],
        [json, 'json'],
        [parquet, 'parquet'],
      ] as const) {
        const inspection = await host.request({ kind: 'inspect', path: file });
        assert.equal(inspection.format, format, file);
        assert.deepEqual(inspection.columns, [...patientColumns], file);
      }
    });

    it('takes the format when given, whatever the extension', async () => {
      const file = path.join(sources.dir, 'export.data');
      writePatientsNdjson(file);
      await rejection(host.request({ kind: 'inspect', path: file }), 'BAD_REQUEST', /Cannot tell the format of export\.data/);
      const inspection = await host.request({ kind: 'inspect', path: file, format: 'json' });
      assert.deepEqual(inspection.columns, [...patientColumns]);
    });

    const refusals: [string, RegExp][] = [
      ['empty.csv', /^Cannot import empty\.csv: the file is empty\.$/],
      ['header-only.csv', /header-only\.csv: it has a header but no rows/],
      ['ragged.csv', /ragged\.csv: line 3 has 2 fields where the header has 3/],
      ['ragged-long.csv', /ragged-long\.csv: line 3 has 4 fields where the header has 3/],
      ['unclosed-quote.csv', /unclosed-quote\.csv: line \d+ has a quoted value that is not closed properly/],
      ['stray-quote.csv', /stray-quote\.csv: line 3 has a quoted value that is not closed properly/],
      ['latin1.csv', /latin1\.csv: line 3 is not valid UTF-8 text/],
      ['duplicate-names.csv', /duplicate-names\.csv: the column name "plan" appears twice/],
      ['case-duplicate-names.csv', /"Plan" and "plan" differ only in case/],
      ['empty-name.csv', /empty-name\.csv: column 2 has no name/],
    ];
    for (const [name, pattern] of refusals) {
      it(`refuses ${name} with one clear line`, async () => {
        const file = path.join(sources.dir, name);
        writeFileSync(file, badCsvFiles[name] ?? new Uint8Array(0));
        await rejection(host.request({ kind: 'inspect', path: file }), 'FILE_ERROR', pattern);
      });
    }

    it('refuses a missing file, a folder, malformed JSON and JSON with empty or duplicate keys', async () => {
      await rejection(host.request({ kind: 'inspect', path: path.join(sources.dir, 'missing.csv') }), 'FILE_ERROR', /missing\.csv: there is no such file/);
      const folder = path.join(sources.dir, 'folder.csv');
      mkdirSync(folder);
      await rejection(host.request({ kind: 'inspect', path: folder }), 'FILE_ERROR', /folder\.csv: it is a folder/);
      const malformed = path.join(sources.dir, 'malformed.ndjson');
      writeFileSync(malformed, '{"a": 1}\n{"a": 2,,}\n');
      await rejection(host.request({ kind: 'inspect', path: malformed }), 'FILE_ERROR', /malformed\.ndjson: .*JSON/i);
      const emptyKey = path.join(sources.dir, 'empty-key.ndjson');
      writeFileSync(emptyKey, '{"": 1, "b": 2}\n');
      await rejection(host.request({ kind: 'inspect', path: emptyKey }), 'FILE_ERROR', /a field with an empty name/);
      const duplicateKey = path.join(sources.dir, 'dup-key.json');
      writeFileSync(duplicateKey, '[{"a": 1, "A": 2}]');
      await rejection(host.request({ kind: 'inspect', path: duplicateKey }), 'FILE_ERROR', /"a" and "A" differ only in case/);
      await rejection(host.request({ kind: 'inspect', path: 'relative.csv' }), 'BAD_REQUEST', /absolute path/);
    });
  });

  describe('file engine lock-down', () => {
    it('reads the one allowed file and refuses every other file, folder listing, write and setting change', async () => {
      const allowed = path.join(sources.dir, 'allowed.csv');
      writePatientsCsv(allowed, { rows: 3 });
      const other = path.join(sources.dir, 'other.csv');
      writePatientsCsv(other, { rows: 3, marker });
      const engine = await openFileEngine({ memoryLimit: '256MB', threads: 1 }, { files: [allowed] });
      try {
        const read = await engine.connection.runAndReadAll(`SELECT count(*) FROM read_csv(${literal(allowed)})`);
        assert.deepEqual(read.getRowsJson(), [['3']]);
        for (const sql of [
          `SELECT * FROM read_csv(${literal(other)})`,
          `SELECT * FROM read_text(${literal(other)})`,
          `SELECT * FROM read_blob(${literal(other)})`,
          `SELECT * FROM sniff_csv(${literal(other)})`,
          `SELECT * FROM glob(${literal(path.join(sources.dir, '*'))})`,
          `SELECT * FROM read_csv(${literal(path.join(sources.dir, '..', path.basename(sources.dir), 'other.csv'))})`,
          `COPY (SELECT 1) TO ${literal(path.join(sources.dir, 'written.csv'))}`,
          `ATTACH ${literal(path.join(sources.dir, 'db.duckdb'))}`,
        ]) {
          await assert.rejects(engine.connection.run(sql), /Permission Error|disabled|not allowed/i, sql);
        }
        await assert.rejects(engine.connection.run(`SET allowed_paths = [${literal(other)}]`), /locked/i);
        await assert.rejects(engine.connection.run('SET enable_external_access = true'), /locked|cannot/i);
        await assert.rejects(engine.connection.run('LOAD httpfs'), /Permission|disabled|not allowed|locked/i);
      } finally {
        engine.close();
      }
      assert.equal(existsSync(path.join(sources.dir, 'written.csv')), false);
    });
  });

  describe('importTable', () => {
    it('imports CSV, NDJSON, JSON and Parquet into encrypted Parquet (zstd) with every row intact', async () => {
      const csv = path.join(sources.dir, 'import.csv');
      writePatientsCsv(csv, { rows: 500, marker });
      const ndjson = path.join(sources.dir, 'import.ndjson');
      writePatientsNdjson(ndjson, { rows: 500, marker });
      const json = path.join(sources.dir, 'import.json');
      writePatientsJson(json, { rows: 500, marker });
      const parquet = path.join(sources.dir, 'import.parquet');
      await writePatientsParquet(parquet, { rows: 500, marker });
      const names = patientColumns.map((column) => column.name);
      const readers = { csv: 'read_csv', json: 'read_json', parquet: 'read_parquet' } as const;
      for (const [file, format] of [
        [csv, 'csv'],
        [ndjson, 'json'],
        [json, 'json'],
        [parquet, 'parquet'],
      ] as const) {
        const { result, outFile, decrypted } = await importAndDecrypt(file, format, names);
        assert.equal(result.rowCount, 500, file);
        assert.equal(result.chunkSize, 1024 * 1024);
        const bytes = readFileSync(outFile);
        assert.equal(result.payloadSize, bytes.length);
        assert.equal(result.payloadHash, toHex(hash(bytes)));
        await verifyPayloadFile(outFile, result.payloadHash, result.payloadSize);
        assert.equal(bytes.includes(Buffer.from(marker)), false, 'the payload is ciphertext');
        const plain = readFileSync(decrypted);
        assert.equal(plain.subarray(0, 4).toString(), 'PAR1', 'the payload decrypts to a Parquet file');
        const back = await rowsOf(`SELECT * FROM read_parquet(${literal(decrypted)}) ORDER BY patient_id`);
        assert.deepEqual(back.columns, [...patientColumns], file);
        const original = await rowsOf(`SELECT * FROM ${readers[format]}(${literal(file)}) ORDER BY patient_id`);
        assert.deepEqual(back.rows, original.rows, file);
        const codecs = await rowsOf(`SELECT DISTINCT compression FROM parquet_metadata(${literal(decrypted)})`);
        assert.deepEqual(codecs.rows, [['ZSTD']]);
      }
      assert.deepEqual(readdirSync(ram.dir), [], 'no plaintext is left in the RAM folder');
      assert.equal(everyByte(home.dir).includes(Buffer.from(marker)), false, 'the marker is nowhere in the home');
    });

    it('keeps only the chosen columns, in the chosen order', async () => {
      const file = path.join(sources.dir, 'subset.csv');
      writePatientsCsv(file, { rows: 20 });
      const { result, decrypted } = await importAndDecrypt(file, 'csv', ['plan', 'patient_id']);
      assert.equal(result.rowCount, 20);
      const back = await rowsOf(`SELECT * FROM read_parquet(${literal(decrypted)})`);
      assert.deepEqual(back.columns, [
        { name: 'plan', type: 'VARCHAR' },
        { name: 'patient_id', type: 'BIGINT' },
      ]);
    });

    it('refuses columns the source does not have, or twice', async () => {
      const file = path.join(sources.dir, 'columns.csv');
      writePatientsCsv(file, { rows: 5 });
      const base = { kind: 'importTable', source: file, format: 'csv', dataKey: toBase64Url(newDataKey()), ramDir: ram.dir } as const;
      await rejection(host.request({ ...base, columns: ['nope'], outFile: nextPartial() }), 'BAD_REQUEST', /has no column "nope"/);
      await rejection(host.request({ ...base, columns: ['plan', 'plan'], outFile: nextPartial() }), 'BAD_REQUEST', /listed twice/);
    });

    it('reports progress by phase, converting then encrypting, never going backwards, ending at the total', async () => {
      const file = path.join(sources.dir, 'progress.csv');
      writePatientsCsv(file, { rows: 200_000 });
      const progress: WorkerProgress[] = [];
      await importAndDecrypt(file, 'csv', patientColumns.map((column) => column.name), progress);
      const phases = progress.map((event) => event.phase);
      assert.ok(phases.includes('converting') && phases.includes('encrypting'), JSON.stringify(phases));
      assert.equal(phases.lastIndexOf('converting') < phases.indexOf('encrypting'), true, 'converting comes first');
      for (const phase of ['converting', 'encrypting'] as const) {
        const events = progress.filter((event) => event.phase === phase);
        for (let i = 1; i < events.length; i++) {
          const [earlier, later] = [events[i - 1], events[i]];
          assert.ok(earlier !== undefined && later !== undefined && later.done >= earlier.done, `${phase} is monotonic`);
          assert.equal(later?.total, earlier?.total);
        }
        const last = events[events.length - 1];
        assert.equal(last?.done, last?.total, `${phase} ends complete`);
      }
      assert.equal(progress.find((event) => event.phase === 'converting')?.total, statSync(file).size);
    });

    it('on a malformed row deep in the file refuses naming the line, and leaves no plaintext and no payload', async () => {
      const file = path.join(sources.dir, 'late-ragged.csv');
      writePatientsCsv(file, { rows: 60_000, marker });
      appendFileSync(file, '1,2\n');
      const outFile = nextPartial();
      const before = readdirSync(vaultDir).length;
      await rejection(
        host.request({
          kind: 'importTable',
          source: file,
          format: 'csv',
          columns: patientColumns.map((column) => column.name),
          dataKey: toBase64Url(newDataKey()),
          outFile,
          ramDir: ram.dir,
        }),
        'FILE_ERROR',
        /late-ragged\.csv: line 60002 has 2 fields where the header has 7/,
      );
      assert.equal(existsSync(outFile), false, 'no payload file');
      assert.equal(readdirSync(vaultDir).length, before);
      assert.deepEqual(readdirSync(ram.dir), [], 'no plaintext is left in the RAM folder');
      assert.equal(everyByte(home.dir).includes(Buffer.from(marker)), false);
    });

    it('refuses a value deep in the file that does not fit the type DuckDB inferred, naming line, value and column', async () => {
      const file = path.join(sources.dir, 'late-type.csv');
      writePatientsCsv(file, { rows: 30_000 });
      appendFileSync(file, 'not-a-number,x@example.org,40,basic,2024-01-01,1.5,false\n');
      await rejection(
        host.request({
          kind: 'importTable',
          source: file,
          format: 'csv',
          columns: ['patient_id', 'plan'],
          dataKey: toBase64Url(newDataKey()),
          outFile: nextPartial(),
          ramDir: ram.dir,
        }),
        'FILE_ERROR',
        /late-type\.csv: line 30002 has "not-a-number" in column "patient_id", which is not a BIGINT/,
      );
      assert.deepEqual(readdirSync(ram.dir), []);
    });

    it('never overwrites an existing file', async () => {
      const file = path.join(sources.dir, 'exists.csv');
      writePatientsCsv(file, { rows: 5 });
      const outFile = nextPartial();
      writeFileSync(outFile, 'already here');
      await rejection(
        host.request({ kind: 'importTable', source: file, format: 'csv', columns: ['plan'], dataKey: toBase64Url(newDataKey()), outFile, ramDir: ram.dir }),
        'FILE_ERROR',
        /Cannot create the payload file \(EEXIST\)/,
      );
      assert.equal(readFileSync(outFile, 'utf8'), 'already here');
      assert.deepEqual(readdirSync(ram.dir), []);
    });
  });

  describe('packVolume', () => {
    it('packs a folder into an encrypted archive whose manifest lists every file, sorted, with the same bytes', async () => {
      const folder = path.join(sources.dir, 'library');
      mkdirSync(path.join(folder, 'macros', 'nested'), { recursive: true });
      writeFileSync(path.join(folder, 'macros', 'age_band.sql'), `CREATE MACRO age_band(a) AS a // 10; -- ${marker}\n`);
      writeFileSync(path.join(folder, 'macros', 'nested', 'empty.txt'), '');
      writeFileSync(path.join(folder, 'README.md'), '# Library\n');
      const big = Buffer.alloc(2 * 1024 * 1024 + 5, 7);
      writeFileSync(path.join(folder, 'model.bin'), big);
      const dataKey = newDataKey();
      const outFile = nextPartial();
      const progress: WorkerProgress[] = [];
      const result = await host.request(
        { kind: 'packVolume', source: folder, dataKey: toBase64Url(dataKey), outFile },
        { onProgress: (event) => progress.push(event) },
      );
      assert.deepEqual(result.files, [
        { path: 'README.md', size: 10 },
        { path: 'macros/age_band.sql', size: statSync(path.join(folder, 'macros', 'age_band.sql')).size },
        { path: 'macros/nested/empty.txt', size: 0 },
        { path: 'model.bin', size: big.length },
      ]);
      await verifyPayloadFile(outFile, result.payloadHash, result.payloadSize);
      assert.equal(readFileSync(outFile).includes(Buffer.from(marker)), false);
      const archive = path.join(scratch.dir, 'volume.archive');
      await decryptPayloadToFile(outFile, archive, dataKey, result.chunkSize);
      const files = unpackVolumeArchive(readFileSync(archive));
      assert.deepEqual(
        files.map((file) => file.path),
        result.files.map((file) => file.path),
      );
      for (const file of files) assert.deepEqual(Buffer.from(file.bytes), readFileSync(path.join(folder, ...file.path.split('/'))));
      const last = progress[progress.length - 1];
      assert.equal(last?.done, last?.total);
      assert.ok(progress.every((event) => event.phase === 'encrypting'));
    });

    it('packs a single file, and refuses an empty folder and a missing path', async () => {
      const file = path.join(sources.dir, 'spec.json');
      writeFileSync(file, '{"model": "logistic"}');
      const result = await host.request({ kind: 'packVolume', source: file, dataKey: toBase64Url(newDataKey()), outFile: nextPartial() });
      assert.deepEqual(result.files, [{ path: 'spec.json', size: 21 }]);
      const empty = path.join(sources.dir, 'empty-folder');
      mkdirSync(empty);
      await rejection(
        host.request({ kind: 'packVolume', source: empty, dataKey: toBase64Url(newDataKey()), outFile: nextPartial() }),
        'FILE_ERROR',
        /empty-folder as a volume: the folder has no files/,
      );
      await rejection(
        host.request({ kind: 'packVolume', source: path.join(sources.dir, 'gone'), dataKey: toBase64Url(newDataKey()), outFile: nextPartial() }),
        'FILE_ERROR',
        /gone as a volume: there is no such file or folder/,
      );
    });
  });
});

describe('private RAM folders', () => {
  it('are private (0700) folders on /dev/shm on Linux, removed with their job', () => {
    const folder = createRamFolder();
    try {
      if (process.platform === 'linux') {
        assert.match(folder.dir, /^\/dev\/shm\/cleanroom-\d+\/\d+-[0-9a-f]{16}$/);
        assert.equal(folder.ramBacked, true);
        assert.equal(statSync(path.dirname(folder.dir)).mode & 0o777, 0o700);
      }
      assert.equal(statSync(folder.dir).mode & 0o777, 0o700);
      writeFileSync(path.join(folder.dir, 'plain.parquet'), 'rows');
    } finally {
      folder.remove();
    }
    assert.equal(existsSync(folder.dir), false);
  });

  it('the start-up sweep removes the folder of a process that is gone and keeps a live one\'s', () => {
    const root = temporaryFolder('cleanroom-ram-root-');
    try {
      const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
      const deadPid = Number(child.stdout);
      assert.ok(Number.isSafeInteger(deadPid) && deadPid > 0);
      const dead = path.join(root.dir, `${deadPid}-0123456789abcdef`);
      mkdirSync(dead);
      writeFileSync(path.join(dead, 'left-over.parquet'), 'rows');
      const live = createRamFolder({ root: root.dir });
      const unrelated = path.join(root.dir, 'not-ours');
      mkdirSync(unrelated);
      assert.equal(sweepRamFolders({ root: root.dir }), 1);
      assert.equal(existsSync(dead), false, 'the dead process\'s folder is gone');
      assert.equal(existsSync(live.dir), true, 'the live process\'s folder is kept');
      assert.equal(existsSync(unrelated), true, 'folders not named pid-random are left alone');
      live.remove();
    } finally {
      root.remove();
    }
  });
});

describe('vault helpers', () => {
  before(() => cryptoReady());

  it('seals a data key to my own box key, so opening it needs my secret key', () => {
    const mine = generateBoxKeyPair();
    const other = generateBoxKeyPair();
    const key = newDataKey();
    assert.equal(key.length, 32);
    const sealed = sealDataKeyForOwner(key, mine.publicKey);
    assert.doesNotMatch(sealed, new RegExp(toBase64Url(key)));
    assert.deepEqual(openOwnDataKey(sealed, { boxPublicKey: mine.publicKey, boxSecretKey: mine.secretKey }), key);
    assert.throws(() => openOwnDataKey(sealed, { boxPublicKey: other.publicKey, boxSecretKey: other.secretKey }), { code: 'HOME_DAMAGED' });
  });

  it('verifies a payload\'s size and hash, and commits it under its hash', async () => {
    const folder = temporaryFolder('cleanroom-vault-');
    try {
      const partial = path.join(folder.dir, 'import-x.partial');
      writeFileSync(partial, 'ciphertext bytes');
      const digest = toHex(hash(readFileSync(partial)));
      await verifyPayloadFile(partial, digest, 16);
      await assert.rejects(verifyPayloadFile(partial, digest, 17), /is 16 bytes where its descriptor says 17/);
      await assert.rejects(verifyPayloadFile(partial, '0'.repeat(64), 16), /does not match its descriptor's hash/);
      const final = commitPayload(partial, folder.dir, digest);
      assert.equal(final, vaultPathFor(folder.dir, digest));
      assert.equal(path.basename(final), `${digest}.payload`);
      assert.equal(existsSync(partial), false);
      assert.equal(readFileSync(final, 'utf8'), 'ciphertext bytes');
    } finally {
      folder.remove();
    }
  });
});
