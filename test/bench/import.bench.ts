// Import benchmark: Cleanroom's table import (worker: strict CSV read → Parquet zstd in a private
// RAM folder → secretstream encryption into the vault, fsynced) against DuckDB's own
// CSV-to-Parquet copy of the same file, in-process, in the same run. Rounds alternate the two so
// that load from the rest of the machine falls on both alike; the best of each is compared.
// Target: a ratio within 1.3x at 1 GB. Prints times, the ratio and peak RSS; asserts nothing.
//
// CLEANROOM_BENCH_IMPORT_MB sets the CSV's size (default 1024); the CSV is generated once into
// os.tmpdir() and reused. CLEANROOM_BENCH_IMPORT_ROUNDS sets the rounds (default 2).
import { rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { createRamFolder } from '../../electron/core/ram-folder.js';
import { newDataKey } from '../../electron/core/vault.js';
import { WorkerHost } from '../../electron/core/worker-host.js';
import { cryptoReady, toBase64Url } from '../../shared/crypto.js';
import { ensureLargeCsv } from '../support/data-files.js';
import { temporaryFolder } from '../support/homes.js';
import { tsxExecArgv, workerSourceEntry } from '../support/paths.js';
import { peakMiB, resetPeak } from '../support/process-memory.js';

const megabytes = Number(process.env['CLEANROOM_BENCH_IMPORT_MB'] ?? '1024');
const rounds = Number(process.env['CLEANROOM_BENCH_IMPORT_ROUNDS'] ?? '2');
if (!Number.isSafeInteger(megabytes) || megabytes < 1) throw new Error('CLEANROOM_BENCH_IMPORT_MB must be a whole number of MiB');
if (!Number.isSafeInteger(rounds) || rounds < 1) throw new Error('CLEANROOM_BENCH_IMPORT_ROUNDS must be a whole number');

const literal = (text: string): string => `'${text.replaceAll("'", "''")}'`;
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const showPeak = (value: number | null): string => (value === null ? 'n/a' : `${value.toFixed(0)} MiB`);

async function main(): Promise<void> {
  await cryptoReady();
  process.stdout.write(`preparing a ${megabytes} MiB CSV (generated once, reused)… `);
  const csv = await ensureLargeCsv(megabytes);
  const csvBytes = statSync(csv).size;
  console.log(`${csv} (${mib(csvBytes)})`);

  const home = temporaryFolder('cleanroom-bench-import-');
  const ram = createRamFolder();
  // Same engine limits as the worker's defaults, so the comparison is like for like.
  const instance = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: '2GB', temp_directory: '' });
  const connection = await instance.connect();
  const worker = new WorkerHost({ entry: workerSourceEntry, execArgv: tsxExecArgv, defaultTimeoutMs: 3_600_000 });

  const baselineMs: number[] = [];
  const workerMs: number[] = [];
  let baselinePeak: number | null = null;
  let workerPeak: number | null = null;
  let parquetBytes = 0;
  let payloadBytes = 0;
  let rowCount = 0;
  try {
    const { pid } = await worker.handshake();
    const inspection = await worker.request({ kind: 'inspect', path: csv });
    const columns = inspection.columns.map((column) => column.name);

    for (let round = 1; round <= rounds; round++) {
      // (a) DuckDB's own copy, in this process.
      const parquet = path.join(ram.dir, 'baseline.parquet');
      const selfReset = resetPeak('self');
      let start = process.hrtime.bigint();
      await connection.run(
        `COPY (SELECT * FROM read_csv(${literal(csv)})) TO ${literal(parquet)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      baselineMs.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (selfReset) baselinePeak = Math.max(baselinePeak ?? 0, peakMiB('self') ?? 0);
      parquetBytes = statSync(parquet).size;
      rmSync(parquet, { force: true });

      // (b) Cleanroom's import in the worker: convert, then encrypt into the vault.
      const outFile = path.join(home.dir, `round-${round}.partial`);
      const workerReset = resetPeak(pid);
      start = process.hrtime.bigint();
      const result = await worker.request({
        kind: 'importTable',
        source: csv,
        format: 'csv',
        columns,
        dataKey: toBase64Url(newDataKey()),
        outFile,
        ramDir: ram.dir,
      });
      workerMs.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (workerReset) workerPeak = Math.max(workerPeak ?? 0, peakMiB(pid) ?? 0);
      payloadBytes = result.payloadSize;
      rowCount = result.rowCount;
      rmSync(outFile, { force: true });
      console.log(
        `round ${round}: duckdb copy ${(baselineMs[round - 1] ?? 0).toFixed(0)} ms, cleanroom import ${(workerMs[round - 1] ?? 0).toFixed(0)} ms`,
      );
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
    await worker.stop();
    ram.remove();
    home.remove();
  }

  const bestBaseline = Math.min(...baselineMs);
  const bestWorker = Math.min(...workerMs);
  console.log(`rows ${rowCount}, parquet (zstd) ${mib(parquetBytes)}, encrypted payload ${mib(payloadBytes)}`);
  console.log('benchmark'.padEnd(36), 'baseline'.padEnd(28), 'baseline ms'.padStart(12), 'cleanroom ms'.padStart(13), 'ratio'.padStart(7));
  console.log(
    `import ${megabytes} MiB CSV (best of ${rounds})`.padEnd(36),
    'DuckDB COPY to Parquet'.padEnd(28),
    bestBaseline.toFixed(0).padStart(12),
    bestWorker.toFixed(0).padStart(13),
    `${(bestWorker / bestBaseline).toFixed(2)}x`.padStart(7),
  );
  console.log(`throughput: baseline ${mib((csvBytes / bestBaseline) * 1000)}/s, cleanroom ${mib((csvBytes / bestWorker) * 1000)}/s (of CSV)`);
  console.log(`peak RSS: baseline (this process) ${showPeak(baselinePeak)}, cleanroom worker ${showPeak(workerPeak)}; target ratio ≤ 1.30x at 1 GB`);
}

await main();
