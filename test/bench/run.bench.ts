// Run benchmark: the whole `run` path of an approved snapshot (core checks approvals and payload
// hashes, unseals keys, the worker decrypts both parties' payloads into its RAM folder, locks a
// DuckDB down, checks the cell against the policy, runs it with k-suppression, and core stores the
// outputs and signs the receipt) against plain DuckDB running the same query on the same data as
// plain Parquet files, in a process of its own, in the same run. Two parties' tables of N rows are
// joined on the privacy unit and grouped by two dimensions with count/avg/sum. Rounds alternate
// the two; the best of each is compared. Target: within 1.5x at 10M rows. Prints times, the ratio
// and the peak RSS of both DuckDB processes; asserts nothing.
//
// CLEANROOM_BENCH_RUN_ROWS: comma-separated sizes (default 1000000,10000000).
// CLEANROOM_BENCH_RUN_ROUNDS: rounds per size (default 2).
// CLEANROOM_BENCH_RUN_MEMORY: DuckDB's memory limit on both sides (default 4GB): neither may spill
// (decrypted rows never touch disk), and counting the people of 10M-row tables needs more than the
// worker's default 2GB.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { cryptoReady } from '../../shared/crypto.js';
import { addAsset, formRoom, makeParty, type Party } from '../support/core-parties.js';
import { temporaryFolder } from '../support/homes.js';
import { repoRoot } from '../support/paths.js';
import { childPids, peakMiB, resetPeak } from '../support/process-memory.js';

const sizes = (process.env['CLEANROOM_BENCH_RUN_ROWS'] ?? '1000000,10000000').split(',').map(Number);
const rounds = Number(process.env['CLEANROOM_BENCH_RUN_ROUNDS'] ?? '2');
if (sizes.some((size) => !Number.isSafeInteger(size) || size < 1000)) throw new Error('CLEANROOM_BENCH_RUN_ROWS must be whole numbers ≥ 1000');
if (!Number.isSafeInteger(rounds) || rounds < 1) throw new Error('CLEANROOM_BENCH_RUN_ROUNDS must be a whole number');
const memoryLimit = process.env['CLEANROOM_BENCH_RUN_MEMORY'] ?? '4GB';
if (!/^\d+(MB|GB)$/.test(memoryLimit)) throw new Error('CLEANROOM_BENCH_RUN_MEMORY must look like 512MB or 4GB');
// The worker core starts reads its limit from here (electron/worker/main.ts).
process.env['CLEANROOM_WORKER_MEMORY_LIMIT'] = memoryLimit;

const literal = (text: string): string => `'${text.replaceAll("'", "''")}'`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The notebook's one cell, and the same query for plain DuckDB over the Parquet files. */
const cellSql = `SELECT a.age_band, m.plan, count(*) AS patients, avg(a.readmitted) AS readmission_rate, sum(m.premium) AS premiums
FROM admissions a JOIN members m ON a.patient_id = m.patient_id
GROUP BY a.age_band, m.plan`;
const plainSql = (admissions: string, members: string): string =>
  cellSql.replace('FROM admissions a JOIN members m', `FROM read_parquet(${literal(admissions)}) a JOIN read_parquet(${literal(members)}) m`);
/**
 * The same query with two extra aggregates (distinct people of each protected table): printed
 * beside the plain one so the cost of counting people is told apart from the rest of Cleanroom's
 * path (decrypt, the compiled stages of shared/policy/compile.ts — per-person statistics,
 * distinct rows behind a join, sketches for differencing — the release decision, store, sign).
 */
const guardedSql = (admissions: string, members: string): string =>
  plainSql(admissions, members).replace('sum(m.premium) AS premiums', 'sum(m.premium) AS premiums, count(DISTINCT a.patient_id) AS k1, count(DISTINCT m.patient_id) AS k2');

// ---- Data -----------------------------------------------------------------------------------------

async function writeTables(dir: string, rows: number): Promise<{ admissions: string; members: string }> {
  const admissions = path.join(dir, `admissions-${rows}.parquet`);
  const members = path.join(dir, `members-${rows}.parquet`);
  const instance = await DuckDBInstance.create(':memory:', { threads: '2', temp_directory: '' });
  const connection = await instance.connect();
  try {
    await connection.run(`COPY (
      SELECT i AS patient_id,
             ['0-17','18-34','35-49','50-64','65-79','80+'][1 + (hash(i) % 6)::INTEGER] AS age_band,
             CASE WHEN hash(i * 7) % 5 = 0 THEN 1 ELSE 0 END AS readmitted,
             (1 + hash(i * 3) % 14)::INTEGER AS length_of_stay
      FROM range(${rows}) t(i)) TO ${literal(admissions)} (FORMAT parquet, COMPRESSION zstd)`);
    await connection.run(`COPY (
      SELECT i AS patient_id,
             ['bronze','silver','gold','platinum'][1 + (hash(i * 11) % 4)::INTEGER] AS plan,
             round(50 + (hash(i * 13) % 50000) / 100.0, 2) AS premium
      FROM range(${rows}) t(i)) TO ${literal(members)} (FORMAT parquet, COMPRESSION zstd)`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return { admissions, members };
}

// ---- The two sides --------------------------------------------------------------------------------

/** Plain DuckDB in a process of its own with the worker's limits: the query's time and peak RSS. */
function plainRun(sql: string): Promise<{ ms: number; peak: number | null; rows: number }> {
  const script = `
    const { DuckDBInstance } = require('@duckdb/node-api');
    (async () => {
      const instance = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: ${JSON.stringify(memoryLimit)}, temp_directory: '' });
      const connection = await instance.connect();
      process.send({ ready: true });
      process.once('message', async () => {
        const start = process.hrtime.bigint();
        const result = await connection.runAndReadAll(${JSON.stringify(sql)});
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        process.send({ ms, rows: result.currentRowCount });
      });
    })();`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('error', reject);
    child.on('message', (message: { ready?: boolean; ms?: number; rows?: number }) => {
      if (message.ready === true) {
        resetPeak(child.pid as number);
        child.send('go');
        return;
      }
      const peak = peakMiB(child.pid as number);
      child.kill();
      resolve({ ms: message.ms ?? 0, peak, rows: message.rows ?? 0 });
    });
  });
}

/** The insurer runs the approved snapshot through core: run.start until its job is done. */
async function cleanroomRun(insurer: Party, room: string, snapshot: string): Promise<{ ms: number; peak: number | null; rows: number }> {
  // Start the worker first, so its peak is reset before the run and measured after it.
  await insurer.core.call('engine.info', {});
  const workers = childPids();
  for (const pid of workers) resetPeak(pid);
  const start = process.hrtime.bigint();
  const { job } = await insurer.core.call('run.start', { room, snapshot });
  for (;;) {
    const view = await insurer.core.call('job.status', { job });
    if (view.state === 'done') break;
    if (view.state !== 'running') throw new Error(`the run ended ${view.state}: ${view.error?.message ?? ''}`);
    await sleep(20);
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const peaks = workers.map(peakMiB).filter((value): value is number => value !== null);
  const outputs = await insurer.core.call('output.list', { room });
  return { ms, peak: peaks.length === 0 ? null : Math.max(...peaks), rows: outputs.outputs[0]?.rows ?? 0 };
}

async function benchSize(rows: number): Promise<string> {
  const root = temporaryFolder('cleanroom-bench-run-');
  try {
    process.stdout.write(`\n${rows.toLocaleString('en')} rows per table: writing Parquet… `);
    const files = await writeTables(root.dir, rows);
    const hospital = await makeParty(root.dir, 'St Mary');
    const insurer = await makeParty(root.dir, 'Acme Insurance');
    try {
      const room = await formRoom(insurer, [hospital], `Bench ${rows}`);
      process.stdout.write('importing… ');
      const added = [
        await addAsset(hospital, 'table.add', {
          room,
          name: 'admissions',
          path: files.admissions,
          roles: [
            { column: 'patient_id', role: 'privacy_unit' },
            { column: 'age_band', role: 'dimension' },
            { column: 'readmitted', role: 'measure' },
            { column: 'length_of_stay', role: 'measure' },
          ],
        }),
        await addAsset(insurer, 'table.add', {
          room,
          name: 'members',
          path: files.members,
          roles: [
            { column: 'patient_id', role: 'privacy_unit' },
            { column: 'plan', role: 'dimension' },
            { column: 'premium', role: 'measure' },
          ],
        }),
      ];
      for (const result of added) if (!result.ok) throw new Error(`import failed: ${result.error.message}`);
      // The hospital's payload travels to the insurer with its feed; the insurer's snapshot to the hospital.
      const toInsurer = await hospital.core.call('packet.export', { room, withPayloads: true });
      await insurer.core.call('packet.import', { contentBase64: toInsurer.contentBase64 ?? '' });
      const snapshot = await insurer.core.call('notebook.add', { room, name: 'Readmissions', source: `-- %% output=rates\n${cellSql}\n` });
      const toHospital = await insurer.core.call('packet.export', { room });
      await hospital.core.call('packet.import', { contentBase64: toHospital.contentBase64 ?? '' });
      await hospital.core.call('approval.grant', { room, snapshot: snapshot.id, runs: rounds });
      const approval = await hospital.core.call('packet.export', { room });
      await insurer.core.call('packet.import', { contentBase64: approval.contentBase64 ?? '' });
      // The insurer approves its own snapshot for as many runs as there are rounds.
      await insurer.core.call('approval.grant', { room, snapshot: snapshot.id, runs: rounds });
      console.log('done');

      const plain: { ms: number; peak: number | null; rows: number }[] = [];
      const guarded: { ms: number; peak: number | null; rows: number }[] = [];
      const ours: { ms: number; peak: number | null; rows: number }[] = [];
      for (let round = 1; round <= rounds; round++) {
        plain.push(await plainRun(plainSql(files.admissions, files.members)));
        guarded.push(await plainRun(guardedSql(files.admissions, files.members)));
        ours.push(await cleanroomRun(insurer, room, snapshot.id));
        console.log(
          `round ${round}: plain DuckDB ${(plain.at(-1)?.ms ?? 0).toFixed(0)} ms, plain DuckDB with the k counts ${(guarded.at(-1)?.ms ?? 0).toFixed(0)} ms, cleanroom run ${(ours.at(-1)?.ms ?? 0).toFixed(0)} ms`,
        );
      }
      const bestGuarded = Math.min(...guarded.map((r) => r.ms));
      const bestPlain = Math.min(...plain.map((r) => r.ms));
      const bestOurs = Math.min(...ours.map((r) => r.ms));
      const peak = (list: { peak: number | null }[]): string => {
        const values = list.map((r) => r.peak).filter((v): v is number => v !== null);
        return values.length === 0 ? 'n/a' : `${Math.max(...values).toFixed(0)} MiB`;
      };
      return [
        `run ${rows.toLocaleString('en')} rows`.padEnd(24),
        bestPlain.toFixed(0).padStart(10),
        bestOurs.toFixed(0).padStart(12),
        `${(bestOurs / bestPlain).toFixed(2)}x`.padStart(7),
        `${(bestOurs / bestGuarded).toFixed(2)}x`.padStart(9),
        peak(plain).padStart(12),
        peak(ours).padStart(12),
        `${plain[0]?.rows ?? 0}/${ours[0]?.rows ?? 0}`.padStart(9),
      ].join(' ');
    } finally {
      await hospital.core.close();
      await insurer.core.close();
    }
  } finally {
    root.remove();
  }
}

async function main(): Promise<void> {
  await cryptoReady();
  const lines: string[] = [];
  for (const size of sizes) lines.push(await benchSize(size));
  console.log(
    `\nbenchmark (best of ${rounds})`.padEnd(25),
    'plain ms'.padStart(10),
    'cleanroom ms'.padStart(12),
    'ratio'.padStart(7),
    'vs k-plain'.padStart(9),
    'plain peak'.padStart(12),
    'worker peak'.padStart(12),
    'rows'.padStart(9),
  );
  for (const line of lines) console.log(line);
  console.log(`plain: DuckDB over the plain Parquet files in its own process; cleanroom: run.start → job done (decrypt, lock down, policy, k-suppression, store, sign). Both with memory_limit ${memoryLimit}. Target ≤ 1.50x at 10M rows.`);
  console.log('vs k-plain: against plain DuckDB running the same query plus count(DISTINCT privacy unit) per protected table (what the old k-guard added).');
}

await main();
