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

/** Median time of one call, after warm-up: medians resist the other core being busy. */
async function medianMs(iterations: number, work: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(5, iterations); i++) await work();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    await work();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const folder = temporaryFolder('cleanroom-bench-');
  const core = await openTestCore(folder.dir);
  const shell = await startShell({ core, port: 0, rendererDir: path.join(builtDir, 'renderer'), open: false });
  const worker = new WorkerHost({ entry: workerSourceEntry, execArgv: tsxExecArgv });
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const results: Measurement[] = [];
  try {
    const inProcess = await medianMs(500, () => core.dispatch('app.info', {}));
    const overHttp = await medianMs(500, async () => {
      const response = await fetch(`http://127.0.0.1:${shell.port}/api/app.info`, {
        method: 'POST',
        headers: { authorization: `Bearer ${shell.token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      return response.json();
    });
    results.push({ name: 'API call via browser shell', baseline: 'core.dispatch in-process', baselineMs: inProcess, measuredMs: overHttp });

    const small = 'SELECT 42 AS answer';
    await worker.handshake();
    results.push({
      name: 'small query via worker',
      baseline: 'in-process DuckDB',
      baselineMs: await medianMs(200, () => connection.runAndReadAll(small)),
      measuredMs: await medianMs(200, () => worker.request({ kind: 'query', sql: small })),
    });

    const large = 'SELECT i % 7 AS g, count(*) AS n, sum(i) AS s, avg(i) AS a FROM range(20000000) t(i) GROUP BY g ORDER BY g';
    results.push({
      name: 'aggregate of 20M rows via worker',
      baseline: 'in-process DuckDB',
      baselineMs: await medianMs(7, () => connection.runAndReadAll(large)),
      measuredMs: await medianMs(7, () => worker.request({ kind: 'query', sql: large })),
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
