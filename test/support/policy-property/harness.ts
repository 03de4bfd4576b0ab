// Runs the property test: generates notebooks (grammar cells, mutants, post-processing cells),
// runs each through the real worker (k = 5), and checks every released cell by brute force.
//
// A refused cell fails its whole run, so a batch is screened first. The policy's verdict
// (analyseCell, the function the worker calls on the same DuckDB syntax tree) is taken in process,
// and one refusal per batch is confirmed by the worker. The cells it accepts then run in the
// worker; a failure there drops the cell it names (a refusal, or a violation for any other class:
// a run's outcome must not depend on a value) and the rest run again (with the earlier cells they
// read), until a run passes; the accepted cells then run together, and that run's outputs are what
// is checked. Every run of the test is one home: it carries the ledger of every set released before.
// The brute force of one batch overlaps the worker's run of the next.
import { readFileSync } from 'node:fs';
import { seededRandom } from '../../../shared/seeded-random.js';
import { analyseCell, type PolicyTable } from '../../../shared/policy.js';
import { parseSqlTree } from '../../../shared/policy/tree.js';
import { type RunOutput, type RunResult } from '../../../shared/worker-protocol.js';
import { RunFixture } from '../run-fixtures.js';
import { BruteForce, type Removal } from './brute-force.js';
import { checkRun, differencingViolations, type Released, type Violation } from './check.js';
import { k, propertyData, type PropertyData } from './data.js';
import { Generator, notebookParameters } from './generator.js';
import { mutations } from './mutations.js';
import { type GenCell } from './query.js';

export interface PropertyOptions {
  readonly seed: number;
  /** Cells to generate (grammar cells, mutants and post-processing cells together). */
  readonly queries: number;
  readonly batchSize: number;
  readonly log?: (line: string) => void;
  /** Only mutations whose name starts with this (e.g. '8.' or '3.filter'); no grammar or post cells. */
  readonly only?: string;
  /** 'reviewed' runs without the output policy: the harness's own check that it finds leaks. */
  readonly mode?: 'aggregate' | 'reviewed';
}

export interface Refusal {
  readonly cell: GenCell;
  readonly reasons: readonly string[];
}

export interface ClassCount {
  generated: number;
  accepted: number;
  refused: number;
  failed: number;
  violations: number;
}

export interface PropertyReport {
  readonly seed: number;
  generated: number;
  grammar: number;
  mutants: number;
  post: number;
  accepted: number;
  refused: number;
  /** Cells dropped because an earlier output they read was refused. */
  dropped: number;
  runs: number;
  releasedCells: number;
  releasedRows: number;
  pairsChecked: number;
  referenceFailed: number;
  ambiguousRows: number;
  violations: Violation[];
  /** Cells the grammar should accept that the run refused. */
  refusedGrammatical: Refusal[];
  byClass: Map<string, ClassCount>;
  millis: number;
  /** Time in worker runs and in the brute force (they overlap). */
  workerMillis: number;
  bruteMillis: number;
  /** CPU seconds of this process (generation, screening, brute force) and of the worker process. */
  cpuSeconds: { test: number; worker: number | null };
  /** Refusals of the in-process screening that the worker confirmed. */
  confirmedRefusals: number;
  /** Cells that failed in the worker at bind time (no value involved): listed, not violations. */
  bindFailures: string[];
  /** Every accepted cell with what its run released (for the JSON report). */
  outputs: { cell: GenCell; output: RunOutput }[];
}

/** CPU seconds a process has used (Linux /proc; null elsewhere). */
function workerCpuSeconds(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** Failure classes decided before any row is read (types, names): not a value's oracle. */
const bindTimeFailures = new Set(['BinderError', 'ParserError', 'CatalogError']);

const parameterLines = notebookParameters.map((parameter) => `-- parameter ${parameter.name} = ${parameter.value}`);

export const notebookText = (cells: readonly GenCell[]): string =>
  [...parameterLines, '', ...cells.map((cell) => `-- %% output=${cell.name}\n${cell.sql}`)].join('\n');

/** Generates the batches: each about `batchSize` cells, post-processing cells after what they read. */
export function generateBatches(data: PropertyData, options: PropertyOptions): GenCell[][] {
  const generator = new Generator(seededRandom(options.seed ^ 0x9e3779b9), data.facts);
  const batches: GenCell[][] = [];
  let total = 0;
  let batch: GenCell[] = [];
  const deferred: GenCell[] = [];
  const only = options.only;
  const chosen = only === undefined ? mutations : mutations.filter((mutation) => mutation.name.startsWith(only));
  if (chosen.length === 0) throw new Error(`no mutation's name starts with ${String(only)}`);
  while (total < options.queries) {
    const roll = only === undefined ? generator.random() : 0.5;
    let made: GenCell[] = [];
    if (roll < 0.45) made = [generator.grammarCell()];
    else if (roll < 0.9) made = generator.pick(chosen).make(generator);
    else {
      const earlier = batch.filter((cell) => cell.origin === 'grammar');
      const source = earlier.length > 0 ? generator.pick(earlier) : null;
      const post = source === null ? null : generator.chance(0.25) ? generator.bothCell(source) : generator.postCell(source);
      made = post === null ? [generator.grammarCell()] : [post];
    }
    // Half the differencing pairs (…/a, …/b) go to two runs of the same home: the b cell waits for the next batch.
    const second = made.find((cell) => cell.mutation?.endsWith('/b') === true);
    if (second !== undefined && generator.chance(0.5)) {
      deferred.push(second);
      made = made.filter((cell) => cell !== second);
      total += 1;
    }
    batch.push(...made);
    total += made.length;
    if (batch.length >= options.batchSize) {
      batches.push(batch);
      batch = [...deferred];
      deferred.length = 0;
    }
  }
  batch.push(...deferred);
  if (batch.length > 0) batches.push(batch);
  return batches;
}

const classOf = (cell: GenCell): string => (cell.origin === 'mutant' ? (cell.mutation ?? 'mutant').replace(/\/[ab]$/, '') : cell.origin);

interface Screened {
  readonly cells: GenCell[];
  readonly outputs: RunOutput[];
}

export async function runProperty(options: PropertyOptions): Promise<PropertyReport> {
  const started = Date.now();
  const cpuStart = process.cpuUsage();
  const log = options.log ?? (() => undefined);
  const mode = options.mode ?? 'aggregate';
  const data = propertyData(options.seed);
  const batches = generateBatches(data, options);
  const report: PropertyReport = {
    seed: options.seed,
    generated: 0,
    grammar: 0,
    mutants: 0,
    post: 0,
    accepted: 0,
    refused: 0,
    dropped: 0,
    runs: 0,
    releasedCells: 0,
    releasedRows: 0,
    pairsChecked: 0,
    referenceFailed: 0,
    ambiguousRows: 0,
    violations: [],
    refusedGrammatical: [],
    byClass: new Map(),
    millis: 0,
    workerMillis: 0,
    bruteMillis: 0,
    confirmedRefusals: 0,
    cpuSeconds: { test: 0, worker: null },
    bindFailures: [],
    outputs: [],
  };
  const count = (cell: GenCell): ClassCount => {
    const name = classOf(cell);
    let entry = report.byClass.get(name);
    if (entry === undefined) {
      entry = { generated: 0, accepted: 0, refused: 0, failed: 0, violations: 0 };
      report.byClass.set(name, entry);
    }
    return entry;
  };
  for (const cell of batches.flat()) {
    report.generated += 1;
    if (cell.origin === 'grammar') report.grammar += 1;
    else if (cell.origin === 'mutant') report.mutants += 1;
    else report.post += 1;
    count(cell).generated += 1;
  }

  const fixture = await RunFixture.open(data.specs);
  const brute = await BruteForce.open(
    fixture.tables.map((imported) => ({ name: imported.spec.name, plainFile: imported.plainFile })),
    data.universes,
    notebookParameters,
  );
  // The policy as the worker applies it (shared/policy.ts), for screening cells in process.
  const policyTables: PolicyTable[] = [];
  for (const spec of data.specs) {
    const types = await brute.columnTypes(spec.name);
    policyTables.push({ name: spec.name, allowMinMax: spec.allowMinMax, columns: spec.columns.map((column) => ({ ...column, type: types.get(column.name.toLowerCase()) })) });
  }
  const removals: Removal[] = data.universes.flatMap((universe) => universe.ids.map((id) => ({ universe, id })));
  const patientRemovals = removals.filter((removal) => removal.universe.name === 'patient');

  // One home's differencing ledger: every set a successful run released, families qualified by run.
  const salt = Buffer.alloc(32, 7).toString('base64url');
  const ledger: { table: string; family: string; sketch: string }[] = [];
  const run = async (cells: readonly GenCell[]): Promise<RunResult> => {
    report.runs += 1;
    const request = fixture.request(notebookText(cells), { minGroupSize: k, mode });
    const began = Date.now();
    const result = await fixture.host.request(mode === 'aggregate' ? { ...request, differencing: { salt, sets: [...ledger] } } : request);
    report.workerMillis += Date.now() - began;
    for (const set of result.released ?? []) ledger.push({ table: set.table, family: `run-${report.runs}/${set.family}`, sketch: set.sketch });
    return result;
  };
  const released: Released[] = [];
  let checkedRuns = 0;

  const failureViolation = async (cell: GenCell, failure: NonNullable<RunResult['failure']>): Promise<void> => {
    count(cell).failed += 1;
    const profile = cell.inputs.length === 0 ? await brute.failureProfile(cell.sql, patientRemovals) : null;
    const dependence =
      profile === null
        ? ''
        : profile.differing.length > 0
          ? `; plain DuckDB fails on D: ${profile.failsOnD}, and ${profile.failsOnD ? 'succeeds' : 'fails'} without any of patients ${profile.differing.map((removal) => removal.id).join(', ')}`
          : `; plain DuckDB ${profile.failsOnD ? 'fails on D and on every D − p' : 'never fails (the worker failed where DuckDB does not)'}`;
    // A binder or parser error happens before any row is read: it depends on no one's value.
    if (bindTimeFailures.has(failure.class)) {
      report.bindFailures.push(`${cell.name} (${failure.class}${dependence}): ${cell.sql.replaceAll('\n', ' ')}`);
      return;
    }
    report.violations.push({ kind: 'failure', cells: [cell], detail: `${cell.name}: the run failed at this cell with class ${failure.class}${dependence}` });
    count(cell).violations += 1;
  };

  /** Screens a batch: which cells the worker accepts; then one run of those for the outputs. */
  let refusalsToConfirm = 0;
  const screen = async (batch: readonly GenCell[]): Promise<Screened> => {
    refusalsToConfirm = 1;
    const dropped = new Set<string>();
    const accepted = new Set<string>();
    let remaining = [...batch];
    let final: { cells: GenCell[]; result: RunResult } | null = null;
    const byName = new Map(batch.map((cell) => [cell.name, cell]));
    const needs = (cells: readonly GenCell[]): GenCell[] => {
      const wanted = new Set<string>();
      const visit = (cell: GenCell): void => {
        for (const input of cell.inputs) {
          if (wanted.has(input) || !accepted.has(input)) continue;
          wanted.add(input);
          const source = byName.get(input);
          if (source !== undefined) visit(source);
        }
      };
      cells.forEach(visit);
      return batch.filter((cell) => wanted.has(cell.name));
    };
    const drop = (cell: GenCell): void => {
      dropped.add(cell.name);
      remaining = remaining.filter((other) => {
        if (!other.inputs.some((input) => dropped.has(input))) return true;
        dropped.add(other.name);
        report.dropped += 1;
        return false;
      });
    };
    // The policy's verdicts, in process: the worker would refuse these cells with the same reasons.
    const made: string[] = [];
    for (const cell of batch) {
      if (cell.inputs.some((input) => dropped.has(input))) {
        dropped.add(cell.name);
        report.dropped += 1;
        continue;
      }
      const verdict = analyseCell(parseSqlTree(await brute.syntaxTree(cell.sql)), { tables: policyTables, earlierOutputs: [...made], mode });
      if (verdict.ok) {
        made.push(cell.name);
        continue;
      }
      const reasons = verdict.problems.map((problem) => (problem.position === undefined ? problem.reason : `${problem.position}: ${problem.reason}`));
      if (refusalsToConfirm > 0) {
        // Now and then, the worker confirms a refusal the screening found.
        refusalsToConfirm -= 1;
        const inputs = new Set<string>();
        const visit = (of: GenCell): void => of.inputs.forEach((input) => {
          if (inputs.has(input)) return;
          inputs.add(input);
          const source = byName.get(input);
          if (source !== undefined) visit(source);
        });
        visit(cell);
        const alone = await run([...batch.filter((other) => inputs.has(other.name)), cell]);
        if (alone.failure?.class !== 'PolicyRefused') log(`note: the policy refuses ${cell.name} in process, but the worker gave ${JSON.stringify(alone.failure)}`);
        else report.confirmedRefusals += 1;
      }
      report.refused += 1;
      count(cell).refused += 1;
      if (cell.grammatical) report.refusedGrammatical.push({ cell, reasons });
      dropped.add(cell.name);
    }
    remaining = remaining.filter((cell) => made.includes(cell.name));
    while (remaining.length > 0) {
      const cells = [...needs(remaining), ...remaining];
      const result = await run(cells);
      if (result.failure === null) {
        for (const cell of remaining) accepted.add(cell.name);
        final = { cells, result };
        break;
      }
      if (result.failure.cell === null) throw new Error(`a run failed outside any cell: ${JSON.stringify(result.failure)}`);
      const failed = cells[result.failure.cell];
      const at = failed === undefined ? -1 : remaining.indexOf(failed);
      if (failed === undefined || at === -1) throw new Error(`a run failed at an accepted cell: ${JSON.stringify(result.failure)}`);
      for (const cell of remaining.slice(0, at)) accepted.add(cell.name);
      remaining = remaining.slice(at + 1);
      if (result.failure.class === 'PolicyRefused') {
        report.refused += 1;
        count(failed).refused += 1;
        if (failed.grammatical) report.refusedGrammatical.push({ cell: failed, reasons: result.failure.reasons });
      } else {
        await failureViolation(failed, result.failure);
      }
      drop(failed);
    }
    // The accepted cells, run together (unless the last screening run was exactly them).
    let cells = batch.filter((cell) => accepted.has(cell.name));
    while (cells.length > 0 && (final === null || final.cells.length !== cells.length)) {
      const result = await run(cells);
      if (result.failure === null) {
        final = { cells, result };
        break;
      }
      const failed = result.failure.cell === null ? undefined : cells[result.failure.cell];
      if (failed === undefined) throw new Error(`the accepted cells failed outside any cell: ${JSON.stringify(result.failure)}`);
      log(`note: ${failed.name} passed screening but failed with the other accepted cells (${result.failure.class})`);
      if (result.failure.class === 'PolicyRefused') {
        report.refused += 1;
        count(failed).refused += 1;
      } else await failureViolation(failed, result.failure);
      accepted.delete(failed.name);
      dropped.add(failed.name);
      cells = cells.filter((cell) => cell !== failed && !cell.inputs.some((input) => dropped.has(input)));
    }
    if (final === null || cells.length === 0) return { cells: [], outputs: [] };
    for (const cell of cells) {
      report.accepted += 1;
      count(cell).accepted += 1;
    }
    return { cells, outputs: final.result.outputs };
  };

  const check = async (screened: Screened): Promise<void> => {
    if (screened.cells.length === 0) return;
    const began = Date.now();
    const { base, perRemoval } = await brute.evaluateRun(screened, removals);
    report.bruteMillis += Date.now() - began;
    const checked = checkRun(checkedRuns++, screened, base, perRemoval, removals, k);
    report.releasedCells += checked.releasedCells;
    report.releasedRows += checked.releasedRows;
    released.push(...checked.released);
    screened.cells.forEach((cell, position) => {
      const output = screened.outputs[position];
      if (output !== undefined) report.outputs.push({ cell, output });
    });
    report.referenceFailed += checked.referenceFailed.length;
    report.ambiguousRows += checked.ambiguousRows;
    for (const cell of checked.referenceFailed) log(`note: the reference SQL of ${cell.name} fails in plain DuckDB; its cells are not checked`);
    for (const violation of checked.violations) {
      report.violations.push(violation);
      if (violation.kind !== 'runner-own') for (const cell of violation.cells) count(cell).violations += 1;
    }
  };

  try {
    let previous: Screened | null = null;
    for (const [index, batch] of batches.entries()) {
      const [screened]: [Screened, void] = await Promise.all([screen(batch), previous === null ? Promise.resolve() : check(previous)]);
      previous = screened;
      log(`batch ${index + 1}/${batches.length}: ${screened.cells.length} of ${batch.length} cells accepted`);
    }
    if (previous !== null) await check(previous);
    const differencing: Violation[] = [];
    report.pairsChecked = differencingViolations(released, removals, k, differencing);
    for (const violation of differencing) {
      report.violations.push(violation);
      if (violation.kind !== 'runner-own') for (const cell of violation.cells) count(cell).violations += 1;
    }
  } finally {
    report.cpuSeconds.worker = workerCpuSeconds(fixture.host.pid);
    brute.close();
    await fixture.close();
  }
  report.millis = Date.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  report.cpuSeconds.test = (cpu.user + cpu.system) / 1e6;
  return report;
}
