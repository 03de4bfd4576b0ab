// Foundation benchmarks. Each line measures a Cleanroom path against a baseline doing the same
// work without Cleanroom's boundary, in the same run, and prints both with their ratio.
//  - API call through the browser shell (HTTP + token + validation) vs core.dispatch in-process;
//  - a query through the worker process (message protocol, locked-down DuckDB) vs the same
//    query on an in-process DuckDB connection: a small one (round-trip cost) and a large
//    aggregate (where the boundary should cost nothing).
import { DuckDBInstance } from '@duckdb/node-api';
import { WorkerHost } from '../../electron/core/worker-host.js';
import { startShell } from '../../electron/shell/server.js';
import { openTestCore, temporaryFolder } from '../support/homes.js';
import { builtDir, tsxExecArgv, workerSourceEntry } from '../support/paths.js';
import path from 'node:path';

interface Measurement {
  readonly name: string;
  readonly baseline: string;
  readonly baselineMs: number;
  readonly measuredMs: number;
}

const median = (samples: number[]): number => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

async function timeOnce(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * Median time of one call of each, after warm-up, with baseline and measured calls alternated so
 * that load from the rest of the machine falls on both alike; medians resist outliers.
 */
async function comparePaired(
  iterations: number,
  baseline: () => Promise<unknown>,
  measured: () => Promise<unknown>,
): Promise<{ baselineMs: number; measuredMs: number }> {
  for (let i = 0; i < Math.min(3, iterations); i++) {
    await baseline();
    await measured();
  }
  const baselineSamples: number[] = [];
  const measuredSamples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    baselineSamples.push(await timeOnce(baseline));
    measuredSamples.push(await timeOnce(measured));
  }
  return { baselineMs: median(baselineSamples), measuredMs: median(measuredSamples) };
}

async function main(): Promise<void> {
  const folder = temporaryFolder('cleanroom-bench-');
  const core = await openTestCore(folder.dir);
  const shell = await startShell({ core, port: 0, rendererDir: path.join(builtDir, 'renderer'), open: false });
  const worker = new WorkerHost({ entry: workerSourceEntry, execArgv: tsxExecArgv });
  // Same thread count as the worker's default, so the comparison is like for like.
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();
  const results: Measurement[] = [];
  try {
    const viaShell = async () => {
      const response = await fetch(`http://127.0.0.1:${shell.port}/api/app.info`, {
        method: 'POST',
        headers: { authorization: `Bearer ${shell.token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      return response.json();
    };
    results.push({
      name: 'API call via browser shell',
      baseline: 'core.dispatch in-process',
      ...(await comparePaired(500, () => core.dispatch('app.info', {}), viaShell)),
    });

    await worker.handshake();
    const small = 'SELECT 42 AS answer';
    results.push({
      name: 'small query via worker',
      baseline: 'in-process DuckDB',
      ...(await comparePaired(200, () => connection.runAndReadAll(small), () => worker.request({ kind: 'query', sql: small }))),
    });

    const large = 'SELECT i % 7 AS g, count(*) AS n, sum(i) AS s, avg(i) AS a FROM range(20000000) t(i) GROUP BY g ORDER BY g';
    results.push({
      name: 'aggregate of 20M rows via worker',
      baseline: 'in-process DuckDB',
      ...(await comparePaired(9, () => connection.runAndReadAll(large), () => worker.request({ kind: 'query', sql: large }))),
    });
  } finally {
    connection.closeSync();
    instance.closeSync();
    await worker.stop();
    await shell.close();
    await core.close();
    folder.remove();
  }

  console.log('benchmark'.padEnd(36), 'baseline'.padEnd(28), 'baseline ms'.padStart(12), 'cleanroom ms'.padStart(13), 'ratio'.padStart(7));
  for (const r of results) {
    console.log(
      r.name.padEnd(36),
      r.baseline.padEnd(28),
      r.baselineMs.toFixed(3).padStart(12),
      r.measuredMs.toFixed(3).padStart(13),
      `${(r.measuredMs / r.baselineMs).toFixed(2)}x`.padStart(7),
    );
  }
}

await main();
