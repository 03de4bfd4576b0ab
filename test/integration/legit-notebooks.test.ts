// Issue 17, acceptance: legitimate notebooks an analyst would write give the same results in the
// real worker as plain DuckDB with the same suppression applied. Each notebook
// (test/support/legit-notebooks.ts) runs through the worker in aggregate mode and must be accepted;
// its outputs are compared with test/support/reference-suppression.ts, an independent oracle built
// from plain DuckDB and the rules of the spec: same column names, the same released rows in the
// same order (as sets when the notebook fixes no order), equal values (numbers to a relative
// 1e-9), NULL exactly where the oracle withholds, suppressedRows equal to the withheld cells.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunOutput } from '../../shared/worker-protocol.js';
import { legitNotebooks, legitTables } from '../support/legit-notebooks.js';
import { defaultReferencePolicy, type ExpectedOutput, openReference, type Reference, referenceRun, type TextTable } from '../support/reference-suppression.js';
import { marker, RunFixture } from '../support/run-fixtures.js';

let fixture: RunFixture;
let reference: Reference;
before(async () => {
  fixture = await RunFixture.open(legitTables());
  reference = await openReference(fixture.tables.map((imported) => ({ name: imported.spec.name, file: imported.plainFile })));
});
after(async () => {
  reference.close();
  await fixture.close();
});

type Row = readonly (string | null)[];

/** Equal as text, or as numbers to a relative 1e-9. */
function sameValue(expected: string | null, got: string | null): boolean {
  if (expected === null || got === null) return expected === got;
  if (expected === got) return true;
  const a = Number(expected);
  const b = Number(got);
  if (expected.trim() === '' || got.trim() === '' || !Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b), Number.MIN_VALUE);
}

const byText = (rows: readonly Row[]): Row[] => [...rows].sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : JSON.stringify(x) > JSON.stringify(y) ? 1 : 0));

/** Differences between two tables of text, one line each. */
function compareTables(label: string, expected: TextTable & { why?: (string | null)[][] }, got: { columns: readonly string[]; rows: readonly Row[] }, ordered: boolean): string[] {
  const problems: string[] = [];
  if (JSON.stringify(expected.columns) !== JSON.stringify(got.columns)) problems.push(`${label}: columns: expected ${JSON.stringify(expected.columns)}, got ${JSON.stringify(got.columns)}`);
  // Withheld reasons follow the expected rows; sorting keeps them paired.
  const pairedExpected = expected.rows.map((row, index) => ({ row, why: expected.why?.[index] ?? [] }));
  const expectedRows = ordered ? pairedExpected : [...pairedExpected].sort((x, y) => (JSON.stringify(x.row) < JSON.stringify(y.row) ? -1 : JSON.stringify(x.row) > JSON.stringify(y.row) ? 1 : 0));
  const gotRows = ordered ? got.rows : byText(got.rows);
  if (expectedRows.length !== gotRows.length) {
    problems.push(`${label}: ${expectedRows.length} rows expected, ${gotRows.length} returned; expected ${JSON.stringify(expectedRows.map((entry) => entry.row))}, got ${JSON.stringify(gotRows)}`);
    return problems;
  }
  expectedRows.forEach(({ row, why }, index) => {
    const other = gotRows[index] as Row;
    row.forEach((value, column) => {
      const returned = other[column] ?? null;
      if (sameValue(value, returned)) return;
      const reason = why[column];
      const name = expected.columns[column] ?? String(column);
      problems.push(`${label}: row ${JSON.stringify(row)} column ${name}: expected ${value === null ? `NULL${reason === null || reason === undefined ? '' : ` (withheld: ${reason})`}` : value}, got ${returned === null ? 'NULL' : returned}`);
    });
  });
  return problems;
}

function compareOutput(expected: ExpectedOutput, got: RunOutput | undefined): string[] {
  if (got === undefined) return [`${expected.name}: missing from the run's outputs`];
  if (!('rows' in got)) return [`${expected.name}: the run returned a model`];
  const problems: string[] = [];
  if (got.name !== expected.name) problems.push(`output name: expected ${expected.name}, got ${got.name}`);
  problems.push(...compareTables(expected.name, expected, { columns: got.columns.map((column) => column.name), rows: got.rows }, expected.ordered));
  if (got.suppressedRows !== expected.suppressedRows) problems.push(`${expected.name}: suppressedRows expected ${expected.suppressedRows} (withheld cells), got ${got.suppressedRows}`);
  return problems;
}

function summary(outputs: readonly ExpectedOutput[]): string {
  return outputs
    .map((output) => {
      const reasons = new Map<string, number>();
      for (const row of output.why) for (const why of row) if (why !== null) reasons.set(why.split(':')[0] as string, (reasons.get(why.split(':')[0] as string) ?? 0) + 1);
      const withheld = [...reasons].map(([reason, count]) => `${count} ${reason}`).join(', ');
      return `${output.name}: ${output.rows.length} rows, ${output.removedRows} removed, ${output.suppressedRows} withheld${withheld === '' ? '' : ` (${withheld})`}`;
    })
    .join('; ');
}

describe('legitimate notebooks give plain DuckDB’s results with the reference suppression', () => {
  it('has at least 25 notebooks', () => {
    assert.ok(legitNotebooks.length >= 25, `${legitNotebooks.length} notebooks`);
  });

  for (const legit of legitNotebooks) {
    it(legit.name, async (t) => {
      const expected = await referenceRun(reference, legit.notebook, legit.outputs, defaultReferencePolicy(legit.k));
      // The oracle first: its reference form, unsuppressed, is the cell as written in plain DuckDB.
      for (const output of expected) {
        if (output.check === null) continue;
        assert.deepEqual(compareTables(`${output.name} (oracle self-check)`, output.check.plain, output.check.unsuppressed, output.ordered), []);
      }
      t.diagnostic(`k=${legit.k}; expected: ${summary(expected)}`);

      const started = Date.now();
      const { result } = await fixture.run(legit.notebook, { minGroupSize: legit.k });
      t.diagnostic(`worker run: ${Date.now() - started} ms`);
      assert.equal(result.failure, null, `the worker did not accept a legitimate notebook: ${JSON.stringify(result.failure)}`);
      assert.doesNotMatch(JSON.stringify(result), new RegExp(marker));
      const tables = result.outputs.filter((output) => 'rows' in output);
      const problems = expected.flatMap((output, index) => compareOutput(output, tables[index]));
      if (tables.length !== expected.length) problems.push(`${expected.length} outputs expected, ${tables.length} returned`);
      assert.deepEqual(problems, [], `mismatches:\n${problems.join('\n')}`);
    });
  }
});
