// Train benchmark: the whole `run` of an approved snapshot whose one cell is a train cell (core
// checks approvals and payload hashes, unseals the key, the worker decrypts the payload into its
// RAM folder, locks a DuckDB down, checks the cell against the policy, selects the training rows,
// counts the people behind them with the k-guard, reads them into JS and fits; core stores the
// model output and signs the receipt) against the same fit outside the clean room: plain DuckDB
// reads the same rows from a plain Parquet file in a process of its own, the columns are read into
// JS with runAndReadAll, and fitModel (electron/worker/fit.ts) is called with the same spec. The
// rows are admissions with a planted readmission signal (test/support/train-fixtures.ts's
// plantedLogit): a logistic model of three numeric features and one categorical feature of five
// levels. Rounds alternate the two; the best of each is compared. Target: within 2x of the same
// fit outside at 1M rows. Prints times, the ratio, the held-out AUC of both (which must agree) and
// the peak RSS of the worker and of the plain process; asserts nothing.
//
// CLEANROOM_BENCH_TRAIN_ROWS: comma-separated sizes (default 100000,1000000; at most 2,000,000,
// the most rows a train cell may select).
// CLEANROOM_BENCH_TRAIN_ROUNDS: rounds per size (default 2).
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance, type JS } from '@duckdb/node-api';
import { fitModel, type TrainingColumn } from '../../electron/worker/fit.js';
import { maxTrainingRows } from '../../electron/worker/train-cell.js';
import { cryptoReady } from '../../shared/crypto.js';
import { parseModelDocument, parseTrainOptions, type TrainSpec } from '../../shared/model.js';
import { parseNotebook } from '../../shared/notebook.js';
import { defaultMinGroupSize } from '../../shared/room.js';
import { addAsset, formRoom, makeParty, type Party } from '../support/core-parties.js';
import { temporaryFolder } from '../support/homes.js';
import { repoRoot, tsxExecArgv } from '../support/paths.js';
import { sendPacket } from '../support/run-parties.js';
import { admissionColumns, diagnoses, plantedLogit } from '../support/train-fixtures.js';
import { childPids, peakMiB, resetPeak } from '../support/process-memory.js';

/** This file runs itself with this argument as the plain side's process. */
const plainFitArgument = '--plain-fit';

const sizes = (process.env['CLEANROOM_BENCH_TRAIN_ROWS'] ?? '100000,1000000').split(',').map(Number);
const rounds = Number(process.env['CLEANROOM_BENCH_TRAIN_ROUNDS'] ?? '2');
if (sizes.some((size) => !Number.isSafeInteger(size) || size < 1000 || size > maxTrainingRows)) {
  throw new Error(`CLEANROOM_BENCH_TRAIN_ROWS must be whole numbers from 1000 to ${maxTrainingRows}`);
}
if (!Number.isSafeInteger(rounds) || rounds < 1) throw new Error('CLEANROOM_BENCH_TRAIN_ROUNDS must be a whole number');

const literal = (text: string): string => `'${text.replaceAll("'", "''")}'`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The notebook's one cell; the plain side selects the same columns from the Parquet file. */
const modelName = 'readmission';
const trainingColumns = ['age', 'length_of_stay', 'prior_admissions', 'diagnosis', 'readmitted'];
const trainNotebook = `-- %% [train] model=${modelName} algorithm=logistic target=readmitted features=age,length_of_stay,prior_admissions,diagnosis test-fraction=0.2 seed=7
SELECT ${trainingColumns.join(', ')} FROM admissions
`;

/** The cell's spec, read as the worker reads it, so both sides fit with the very same options. */
function trainSpecOf(notebook: string): TrainSpec {
  const cell = parseNotebook(notebook).cells.find((candidate) => candidate.kind === 'train');
  if (cell === undefined) throw new Error('the bench notebook has no train cell');
  const checked = parseTrainOptions(cell);
  if (!checked.ok) throw new Error(`the bench notebook's train options: ${checked.reasons.join('; ')}`);
  return checked.spec;
}

// ---- Data -----------------------------------------------------------------------------------------

/**
 * Admissions with the planted readmission model, as Parquet: deterministic hashes instead of a
 * PRNG, so DuckDB writes millions of rows quickly and the same size gives the same rows.
 * Integers and text only: a person's plain read then gets JS numbers and strings.
 */
async function writeAdmissions(dir: string, rows: number): Promise<string> {
  const file = path.join(dir, `admissions-${rows}.parquet`);
  const uniform = (salt: number): string => `((hash(i * ${salt}) % 1000003) / 1000003.0)`;
  const diagnosisEffect = `CASE diagnosis ${diagnoses.map((diagnosis) => `WHEN ${literal(diagnosis)} THEN ${plantedLogit.diagnosis[diagnosis]}`).join(' ')} END`;
  const logit = `${plantedLogit.intercept} + ${plantedLogit.agePerYearOver65} * (age - 65) + ${plantedLogit.perDayOfStayOver5} * (length_of_stay - 5)
    + ${plantedLogit.perPriorAdmission} * prior_admissions + ${diagnosisEffect}`;
  const instance = await DuckDBInstance.create(':memory:', { threads: '2', temp_directory: '' });
  const connection = await instance.connect();
  try {
    await connection.run(`COPY (
      WITH admissions AS (
        SELECT i,
               i::INTEGER AS patient_id,
               (30 + hash(i * 3) % 66)::INTEGER AS age,
               [${diagnoses.map(literal).join(', ')}][1 + (hash(i * 5) % ${diagnoses.length})::INTEGER] AS diagnosis,
               (1 + hash(i * 7) % 14)::INTEGER AS length_of_stay,
               (hash(i * 11) % 4)::INTEGER AS prior_admissions
        FROM range(${rows}) t(i))
      SELECT patient_id, age, diagnosis, length_of_stay, prior_admissions,
             (CASE WHEN ${uniform(13)} < 1 / (1 + exp(-(${logit}))) THEN 1 ELSE 0 END)::INTEGER AS readmitted
      FROM admissions) TO ${literal(file)} (FORMAT parquet, COMPRESSION zstd)`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return file;
}

// ---- The plain side: its own process ---------------------------------------------------------------

/** Newton's steps and whether they converged, from the model document. */
interface FitSteps {
  readonly iterations: number;
  readonly converged: boolean;
}

interface PlainFitRequest {
  readonly parquet: string;
}

interface PlainFitReply {
  /** Query, read into JS and fit. */
  readonly ms: number;
  /** fitModel alone. */
  readonly fitMs: number;
  readonly auc: number | null;
  readonly fit: FitSteps;
}

/** A value as fitModel takes it (the file holds integers and text, which JS gets as numbers and strings). */
const plainValue = (value: JS): number | string | null => (value === null || typeof value === 'number' || typeof value === 'string' ? value : String(value));

/** The child: plain DuckDB with the worker's default limits, read the rows the way a person would, fit. */
async function plainFitProcess(): Promise<void> {
  const spec = trainSpecOf(trainNotebook);
  const instance = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: '2GB', temp_directory: '' });
  const connection = await instance.connect();
  process.once('disconnect', () => process.exit(0));
  process.once('message', (request: PlainFitRequest) => {
    void (async () => {
      const start = process.hrtime.bigint();
      const reader = await connection.runAndReadAll(`SELECT ${trainingColumns.join(', ')} FROM read_parquet(${literal(request.parquet)})`);
      const types = reader.columnTypes().map(String);
      const values = reader.getColumnsJS();
      const columns: TrainingColumn[] = reader.columnNames().map((name, position) => ({
        name,
        type: types[position] ?? '',
        values: (values[position] ?? []).map(plainValue),
      }));
      const byName = (name: string): TrainingColumn => columns.find((column) => column.name === name) as TrainingColumn;
      const fitStart = process.hrtime.bigint();
      // The same minimums the cell gets in the room's aggregate mode (k rows per part and per level).
      const model = fitModel(spec, byName(spec.target), spec.features.map(byName), { minLevelRows: defaultMinGroupSize, minRows: defaultMinGroupSize });
      const end = process.hrtime.bigint();
      const reply: PlainFitReply = { ms: Number(end - start) / 1e6, fitMs: Number(end - fitStart) / 1e6, auc: model.metrics.test.auc, fit: model.fit };
      process.send?.(reply);
    })();
  });
  process.send?.({ ready: true });
}

interface Measured {
  readonly ms: number;
  readonly peak: number | null;
  readonly auc: number | null;
  readonly fit: FitSteps;
}

/** Starts the plain process, resets its peak once it is ready, and waits for its fit and its exit. */
function plainFit(parquet: string): Promise<Measured & { fitMs: number }> {
  const child: ChildProcess = spawn(process.execPath, [...tsxExecArgv, fileURLToPath(import.meta.url), plainFitArgument], {
    cwd: repoRoot,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let reply: (PlainFitReply & { peak: number | null }) | null = null;
    child.on('error', reject);
    child.on('message', (message: { ready?: boolean } | PlainFitReply) => {
      if ('ready' in message) {
        resetPeak(child.pid as number);
        child.send({ parquet } satisfies PlainFitRequest);
        return;
      }
      reply = { ...(message as PlainFitReply), peak: peakMiB(child.pid as number) };
      child.disconnect();
    });
    // Waits for the exit, so the next measurement of the worker's peak cannot catch this process.
    child.on('exit', (code) => (reply === null ? reject(new Error(`the plain fit process exited with ${code}`)) : resolve(reply)));
  });
}

// ---- The Cleanroom side ---------------------------------------------------------------------------

/** The data owner runs the approved snapshot through core: run.start until its job is done. */
async function cleanroomFit(owner: Party, room: string, snapshot: string): Promise<Measured & { beforeTrainingMs: number | null }> {
  // Start the worker first, so its peak is reset before the run and measured after it.
  await owner.core.call('engine.info', {});
  const workers = childPids();
  for (const pid of workers) resetPeak(pid);
  const start = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - start) / 1e6;
  const { job, run } = await owner.core.call('run.start', { room, snapshot });
  // When the job first says it is training: decrypting, the policy, the k-guard's counts are behind it.
  let beforeTrainingMs: number | null = null;
  for (;;) {
    const view = await owner.core.call('job.status', { job });
    if (view.state === 'done') break;
    if (view.state !== 'running') throw new Error(`the run ended ${view.state}: ${view.error?.message ?? ''}`);
    if (beforeTrainingMs === null && view.message.startsWith('Training')) beforeTrainingMs = elapsed();
    await sleep(20);
  }
  const ms = elapsed();
  const peaks = workers.map(peakMiB).filter((value): value is number => value !== null);
  const output = await owner.core.call('output.show', { room, output: `${run}:${modelName}` });
  const parsed = parseModelDocument(output.rows[0]?.[0] ?? '');
  if (!parsed.ok) throw new Error(`the run's model output: ${parsed.reason}`);
  const { model } = parsed;
  return { ms, peak: peaks.length === 0 ? null : Math.max(...peaks), auc: model.metrics.test.auc, fit: model.fit, beforeTrainingMs };
}

// ---- One size ---------------------------------------------------------------------------------------

interface SizeResult {
  readonly line: string;
  readonly warning: string | null;
}

const best = (list: readonly { ms: number }[]): number => Math.min(...list.map((entry) => entry.ms));
const peakText = (list: readonly { peak: number | null }[]): string => {
  const values = list.map((entry) => entry.peak).filter((value): value is number => value !== null);
  return values.length === 0 ? 'n/a' : `${Math.max(...values).toFixed(0)} MiB`;
};
const aucText = (auc: number | null): string => (auc === null ? 'none' : auc.toFixed(12));
/** Newton's steps, marked with ! when the fit stopped without converging (at the step limit). */
const stepsText = (entry: { fit: FitSteps } | undefined): string => (entry === undefined ? '?' : `${entry.fit.iterations}${entry.fit.converged ? '' : '!'}`);

async function benchSize(rows: number): Promise<SizeResult> {
  const root = temporaryFolder('cleanroom-bench-train-');
  try {
    process.stdout.write(`\n${rows.toLocaleString('en')} training rows: writing Parquet… `);
    const parquet = await writeAdmissions(root.dir, rows);
    const hospital = await makeParty(root.dir, 'St Mary');
    const analyst = await makeParty(root.dir, 'Analyst');
    try {
      const room = await formRoom(hospital, [analyst], `Train bench ${rows}`);
      process.stdout.write('importing… ');
      const roles = admissionColumns.filter((column) => column.name === 'patient_id' || trainingColumns.includes(column.name)).map((column) => ({ column: column.name, role: column.role }));
      const added = await addAsset(hospital, 'table.add', { room, name: 'admissions', path: parquet, roles });
      if (!added.ok) throw new Error(`import failed: ${added.error.message}`);
      // The hospital writes and runs the notebook on its own data; both members approve it for every round.
      const snapshot = await hospital.core.call('notebook.add', { room, name: 'Readmission model', source: trainNotebook });
      await sendPacket(hospital, analyst, room);
      await analyst.core.call('approval.grant', { room, snapshot: snapshot.id, runs: rounds });
      await sendPacket(analyst, hospital, room);
      await hospital.core.call('approval.grant', { room, snapshot: snapshot.id, runs: rounds });
      console.log('done');

      const plain: Awaited<ReturnType<typeof plainFit>>[] = [];
      const ours: Awaited<ReturnType<typeof cleanroomFit>>[] = [];
      for (let round = 1; round <= rounds; round++) {
        const plainRound = await plainFit(parquet);
        const ourRound = await cleanroomFit(hospital, room, snapshot.id);
        plain.push(plainRound);
        ours.push(ourRound);
        console.log(
          `round ${round}: plain ${plainRound.ms.toFixed(0)} ms (fitModel ${plainRound.fitMs.toFixed(0)} ms), ` +
            `cleanroom run ${ourRound.ms.toFixed(0)} ms (training began at ${ourRound.beforeTrainingMs?.toFixed(0) ?? '?'} ms)`,
        );
      }
      const plainAuc = plain.at(-1)?.auc ?? null;
      const ourAuc = ours.at(-1)?.auc ?? null;
      const agree = plainAuc !== null && ourAuc !== null && Math.abs(plainAuc - ourAuc) <= 1e-9;
      return {
        line: [
          `train ${rows.toLocaleString('en')} rows`.padEnd(24),
          best(plain).toFixed(0).padStart(9),
          best(ours).toFixed(0).padStart(12),
          `${(best(ours) / best(plain)).toFixed(2)}x`.padStart(7),
          Math.min(...plain.map((entry) => entry.fitMs)).toFixed(0).padStart(9),
          peakText(plain).padStart(11),
          peakText(ours).padStart(12),
          aucText(plainAuc).padStart(15),
          aucText(ourAuc).padStart(15),
          `${stepsText(plain.at(-1))}/${stepsText(ours.at(-1))}`.padStart(9),
        ].join(' '),
        warning: agree ? null : `WARNING: at ${rows.toLocaleString('en')} rows the held-out AUCs disagree: plain ${aucText(plainAuc)}, cleanroom ${aucText(ourAuc)}`,
      };
    } finally {
      await hospital.core.close();
      await analyst.core.close();
    }
  } finally {
    root.remove();
  }
}

async function main(): Promise<void> {
  await cryptoReady();
  const results: SizeResult[] = [];
  for (const size of sizes) results.push(await benchSize(size));
  console.log(
    `\nbenchmark (best of ${rounds})`.padEnd(25),
    'plain ms'.padStart(9),
    'cleanroom ms'.padStart(12),
    'ratio'.padStart(7),
    'fit ms'.padStart(9),
    'plain peak'.padStart(11),
    'worker peak'.padStart(12),
    'plain AUC'.padStart(15),
    'cleanroom AUC'.padStart(15),
    'steps'.padStart(9),
  );
  for (const result of results) console.log(result.line);
  for (const result of results) if (result.warning !== null) console.log(result.warning);
  console.log('plain: DuckDB reads the Parquet file into JS (runAndReadAll) and fitModel fits, in its own process; fit ms: fitModel alone.');
  console.log('cleanroom: run.start → job done (decrypt, lock down, policy, k-guard, read, fit, store, sign). AUC: held out. Target ≤ 2.00x at 1M rows.');
  console.log('steps: Newton steps of the fit, plain/cleanroom; ! marks a fit that stopped at the step limit without converging.');
}

if (process.argv.includes(plainFitArgument)) await plainFitProcess();
else await main();
