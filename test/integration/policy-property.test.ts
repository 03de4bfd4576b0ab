// Issue 17's acceptance property: random aggregate-mode queries generated from the grammar and
// mutated toward the eight attack classes, run through the real worker on a small room (about 60
// people, k = 5). For every released cell, the set of people whose removal changes it must be
// empty or hold at least k people; and for every pair of released count/sum cells of the same run,
// so must the set of people whose removal changes their difference. Released values must equal
// plain DuckDB's; a run must not fail at a cell for a value (only refusals name a cell).
//
// CLEANROOM_PROPERTY_QUERIES sets how many cells to generate (default 200), CLEANROOM_PROPERTY_SEED
// the seed (default: fixed), CLEANROOM_PROPERTY_ONLY a mutation name prefix to generate only those
// mutants (e.g. `8.` or `3.filter`), CLEANROOM_PROPERTY_REPORT a file to write the full report to (JSON).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { type PropertyReport, runProperty } from '../support/policy-property/harness.js';
import { k } from '../support/policy-property/data.js';

const queries = Number(process.env.CLEANROOM_PROPERTY_QUERIES ?? 200);
const seed = Number(process.env.CLEANROOM_PROPERTY_SEED ?? 17_2024);
const shownViolations = 25;

/** Violations the test fails on: all but what a value says about the runner's own made-up people. */
const failing = (report: PropertyReport) => report.violations.filter((violation) => violation.kind !== 'runner-own');

function summary(report: PropertyReport): string[] {
  const seconds = (millis: number): string => (millis / 1000).toFixed(1);
  const kinds = ['k', 'differencing', 'sanity', 'failure', 'suppressed-count'] as const;
  const lines = [
    `seed ${report.seed}, k = ${k}: ${report.generated} cells generated (${report.grammar} from the grammar, ${report.mutants} mutants, ${report.post} post-processing) in ${report.runs} worker runs`,
    `time ${seconds(report.millis)} s (worker ${seconds(report.workerMillis)} s, brute force ${seconds(report.bruteMillis)} s, overlapping); CPU: test process ${report.cpuSeconds.test.toFixed(1)} s, worker ${report.cpuSeconds.worker?.toFixed(1) ?? '?'} s`,
    `accepted ${report.accepted}, refused ${report.refused} (${report.confirmedRefusals} confirmed by a worker run), dropped with a refused input ${report.dropped}`,
    `released rows ${report.releasedRows}, released cells checked ${report.releasedCells}, pairs checked for differencing ${report.pairsChecked}` +
      `${report.referenceFailed > 0 ? `, cells whose reference failed ${report.referenceFailed}` : ''}${report.ambiguousRows > 0 ? `, rows with ambiguous keys ${report.ambiguousRows}` : ''}`,
    `violations ${failing(report).length}: ${kinds.map((kind) => `${kind} ${report.violations.filter((violation) => violation.kind === kind).length}`).join(', ')}` +
      `; about the runner's own people (not failing) ${report.violations.length - failing(report).length}`,
    `refused although the grammar should accept them: ${report.refusedGrammatical.length}; failed at bind time (no value involved): ${report.bindFailures.length}`,
    'by class (generated / accepted / refused / failed / violations):',
    ...[...report.byClass.entries()].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })).map(([name, c]) => `  ${name}: ${c.generated} / ${c.accepted} / ${c.refused} / ${c.failed} / ${c.violations}`),
  ];
  const shown = [...failing(report), ...report.violations.filter((violation) => violation.kind === 'runner-own').slice(0, 3)];
  for (const violation of shown.slice(0, shownViolations)) {
    lines.push(`VIOLATION (${violation.kind}) ${violation.detail}${violation.people === undefined ? '' : ` — ${violation.universe}s ${violation.people.join(', ')}`}`);
    for (const cell of violation.cells) lines.push(`  [${cell.name}, ${cell.mutation ?? cell.origin}] ${cell.sql.replaceAll('\n', ' ')}`);
  }
  if (shown.length > shownViolations) lines.push(`… and ${shown.length - shownViolations} more`);
  for (const failure of report.bindFailures.slice(0, 5)) lines.push(`BIND-TIME FAILURE ${failure}`);
  for (const refusal of report.refusedGrammatical.slice(0, 10)) lines.push(`REFUSED [${refusal.cell.name}, ${refusal.cell.mutation ?? refusal.cell.origin}] ${refusal.reasons.join('; ')} — ${refusal.cell.sql.replaceAll('\n', ' ')}`);
  return lines;
}

describe('aggregate mode: the output privacy property (issue 17)', () => {
  it(`every released cell depends on no one or on at least k people (${queries} generated cells)`, { timeout: 20 * 60_000 }, async () => {
    const only = process.env.CLEANROOM_PROPERTY_ONLY;
    const report = await runProperty({ seed, queries, batchSize: 40, log: (line) => console.log(`  ${line}`), ...(only === undefined ? {} : { only }) });
    const lines = summary(report);
    for (const line of lines) console.log(line);
    if (process.env.CLEANROOM_PROPERTY_REPORT !== undefined) {
      const json = {
        ...report,
        byClass: Object.fromEntries(report.byClass),
        violations: report.violations.map((violation) => ({ ...violation, cells: violation.cells.map((cell) => ({ name: cell.name, origin: cell.origin, mutation: cell.mutation, sql: cell.sql, ref: cell.ref })) })),
        outputs: report.outputs.map(({ cell, output }) => ({ name: cell.name, origin: cell.origin, mutation: cell.mutation, sql: cell.sql, columns: output.columns.map((column) => column.name), rows: output.rows, suppressedRows: output.suppressedRows })),
        refusedGrammatical: report.refusedGrammatical.map((refusal) => ({ name: refusal.cell.name, origin: refusal.cell.origin, mutation: refusal.cell.mutation, sql: refusal.cell.sql, reasons: refusal.reasons })),
      };
      writeFileSync(process.env.CLEANROOM_PROPERTY_REPORT, `${JSON.stringify(json, null, 2)}\n`);
    }
    assert.ok(report.accepted > 0, 'some generated queries must be accepted');
    assert.ok(report.releasedCells > 0, 'some cells must be released and checked');
    assert.equal(failing(report).length, 0, `violations of the property:\n${lines.filter((line) => line.startsWith('VIOLATION') || line.startsWith('  [')).join('\n')}`);
  });

  it('the same harness finds leaks where nothing guards the outputs (reviewed mode)', { timeout: 5 * 60_000 }, async () => {
    const report = await runProperty({ seed, queries: 24, batchSize: 24, mode: 'reviewed' });
    const kinds = new Set(failing(report).map((violation) => violation.kind));
    console.log(`reviewed mode: ${report.accepted} cells run, ${report.releasedCells} cells checked, ${report.violations.length} violations (${[...kinds].join(', ')})`);
    assert.ok(kinds.has('k'), 'cells that depend on fewer than k people are found');
    assert.ok(kinds.has('differencing'), 'pairs whose difference depends on fewer than k people are found');
  });
});
