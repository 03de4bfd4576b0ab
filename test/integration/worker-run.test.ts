// Running notebooks in the real worker: two parties' tables imported and encrypted by the worker,
// decrypted again by a `run` into its private folder, and the outputs compared with the same
// aggregates computed directly by plain DuckDB on the plain rows (with the same k filter).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type RunResult, type WorkerProgress } from '../../shared/worker-protocol.js';
import { marker, RunFixture, sortedRows } from '../support/run-fixtures.js';

let fixture: RunFixture;
before(async () => {
  fixture = await RunFixture.open();
});
after(() => fixture.close());

const k = 10;

function succeeded(result: RunResult): RunResult['outputs'] {
  assert.equal(result.failure, null, `the run failed: ${JSON.stringify(result.failure)}`);
  return result.outputs;
}

function assertNoMarker(result: RunResult): void {
  assert.doesNotMatch(JSON.stringify(result), new RegExp(marker), 'the marker value never leaves the worker');
}

describe('run in the worker: legitimate notebooks', () => {
  it('computes grouped aggregates equal to plain DuckDB, suppressing the groups with fewer than k people', async () => {
    const progress: WorkerProgress[] = [];
    const { result, runDir } = await fixture.run(
      [
        '-- %% [markdown]',
        '-- # Readmissions by age band',
        '-- %% output=by_band',
        'SELECT age_band, count(*) AS admissions, count(DISTINCT patient_id) AS people, avg(stay_days) AS mean_stay,',
        '       sum(CAST(readmitted AS INTEGER)) AS readmissions',
        'FROM admissions GROUP BY age_band ORDER BY age_band',
      ].join('\n'),
      {},
      progress,
    );
    const [output] = succeeded(result);
    assert.ok(output !== undefined);
    const expected = await fixture.plain(`
      SELECT age_band, count(*) AS admissions, count(DISTINCT patient_id) AS people, avg(stay_days) AS mean_stay,
             sum(CAST(readmitted AS INTEGER)) AS readmissions
      FROM admissions GROUP BY age_band HAVING count(DISTINCT patient_id) >= ${k} ORDER BY age_band`);
    assert.equal(output.name, 'by_band');
    assert.equal(output.cell, 1);
    assert.deepEqual(output.columns.map((column) => column.name), expected.columns);
    assert.deepEqual(output.columns.map((column) => column.type), ['VARCHAR', 'BIGINT', 'BIGINT', 'DOUBLE', 'HUGEINT']);
    assert.deepEqual(output.rows, expected.rows, 'same rows in the same order');
    assert.equal(output.rows.length, 4);
    // Issue 17: the marker's band (one person, 12 admissions) is removed, and removed groups are no
    // longer counted (a count of removed groups is an oracle); suppressedRows counts withheld values
    // in released rows, and none is withheld here.
    assert.equal(output.suppressedRows, 0);
    assertNoMarker(result);
    assert.deepEqual(readdirSync(runDir), [], 'no plaintext left in the run folder');

    const phases = progress.map((event) => event.phase);
    assert.ok(phases.includes('decrypting') && phases.includes('running'));
    const running = progress.filter((event) => event.phase === 'running');
    assert.deepEqual(running.at(-1), { phase: 'running', done: 2, total: 2 });
  });

  it('joins the two parties on the privacy unit and counts each person once however many rows they have', async () => {
    const { result } = await fixture.run(
      [
        '-- %% output=by_plan',
        'SELECT m.plan, a.region, count(*) AS admissions, avg(m.premium) AS mean_premium, sum(a.cost) AS total_cost',
        'FROM admissions a JOIN members m ON a.patient_id = m.patient_id',
        'GROUP BY m.plan, a.region',
      ].join('\n'),
    );
    const [output] = succeeded(result);
    assert.ok(output !== undefined);
    const expected = await fixture.plain(`
      SELECT m.plan, a.region, count(*) AS admissions, avg(m.premium) AS mean_premium, sum(a.cost) AS total_cost
      FROM admissions a JOIN members m ON a.patient_id = m.patient_id
      GROUP BY m.plan, a.region
      HAVING count(DISTINCT a.patient_id) >= ${k} AND count(DISTINCT m.patient_id) >= ${k}`);
    assert.deepEqual(sortedRows(output.rows), sortedRows(expected.rows));
    assert.ok(output.rows.length >= 6);
    // Issue 17: the marker patient's group (alone in north) is removed but no longer counted;
    // suppressedRows counts withheld values in released rows, and none is withheld here.
    assert.equal(output.suppressedRows, 0);
    assert.ok(!output.rows.some((row) => row.includes('north')), 'the marker patient, alone in north, is removed');
    assertNoMarker(result);
  });

  it('uses parameters, lets later cells read earlier outputs, and reads through CTEs and per-person pre-aggregations', async () => {
    // Issue 17: `sum(CASE WHEN stay_days >= min_stay THEN 1 ELSE 0 END)` (a CASE over a measure) is
    // refused now; the analyst counts long stays with the measure in WHERE, in a cell of its own
    // (by region: by region and band it would differ from the band's count by fewer than k people
    // and be withheld by the differencing rule). An average of per-region totals (an aggregate of
    // dimensions' aggregates) is refused too; a per-person pre-aggregation replaces it.
    const { result } = await fixture.run(
      [
        '-- parameter min_stay = 5',
        "-- parameter skipped_band = '31-50'",
        "-- parameter chosen_region = 'east'",
        '',
        '-- %% output=long_stays',
        "WITH kept AS (SELECT region, age_band, stay_days, cost FROM admissions WHERE age_band <> getvariable('skipped_band'))",
        'SELECT region, age_band, count(*) AS n, round(sum(cost), 2) AS cost FROM kept GROUP BY region, age_band',
        '-- %%',
        "SELECT age_band, n FROM long_stays WHERE region = getvariable('chosen_region') ORDER BY age_band",
        '-- %% output=long_by_region',
        'SELECT region, count(*) AS long_stays FROM admissions',
        "WHERE stay_days >= getvariable('min_stay') AND age_band <> getvariable('skipped_band') GROUP BY region ORDER BY region",
        '-- %% output=mean_per_person',
        'SELECT avg(total) AS mean_total FROM (SELECT patient_id, sum(stay_days) AS total FROM admissions GROUP BY patient_id)',
      ].join('\n'),
    );
    const [long, chosen, byRegion, mean] = succeeded(result);
    assert.ok(long !== undefined && chosen !== undefined && byRegion !== undefined && mean !== undefined);
    const expectedLong = await fixture.plain(`
      SELECT region, age_band, count(*) AS n, round(sum(cost), 2) AS cost FROM admissions WHERE age_band <> '31-50'
      GROUP BY region, age_band HAVING count(DISTINCT patient_id) >= ${k}`);
    assert.equal(long.rows.length, 9);
    // Issue 17: the marker's removed group is no longer counted; nothing is withheld.
    assert.equal(long.suppressedRows, 0);
    assert.deepEqual(sortedRows(long.rows), sortedRows(expectedLong.rows));
    const expectedByRegion = await fixture.plain(`
      SELECT region, count(*) AS long_stays FROM admissions WHERE stay_days >= 5 AND age_band <> '31-50'
      GROUP BY region HAVING count(DISTINCT patient_id) >= ${k} ORDER BY region`);
    assert.equal(byRegion.rows.length, 3);
    assert.deepEqual(byRegion.rows, expectedByRegion.rows);
    assert.equal(byRegion.suppressedRows, 0);
    assert.equal(chosen.name, 'cell_2', 'a cell without output= makes cell_<n>');
    const expectedChosen = await fixture.plain(`
      SELECT age_band, count(*) AS n FROM admissions WHERE age_band <> '31-50' AND region = 'east'
      GROUP BY age_band HAVING count(DISTINCT patient_id) >= ${k} ORDER BY age_band`);
    assert.equal(chosen.rows.length, 3);
    assert.deepEqual(chosen.rows, expectedChosen.rows);
    assert.equal(chosen.suppressedRows, 0, 'an earlier output is already through the policy');
    const expectedMean = await fixture.plain('SELECT avg(total) AS mean_total FROM (SELECT patient_id, sum(stay_days) AS total FROM admissions GROUP BY patient_id)');
    assert.deepEqual(mean.rows, expectedMean.rows);
    assert.equal(mean.suppressedRows, 0);
  });

  it('withholds a sum whose non-zero contributors are fewer than k, and counts the withheld values', async () => {
    // Issue 17: among stays of at most 1 day, each region has more than k people (count released)
    // but the people with a non-zero stay (1 day) may be fewer than k: their sum is withheld (NULL).
    const { result } = await fixture.run(
      "-- %% output=short\nSELECT region, count(*) AS stays, sum(stay_days) AS days FROM admissions WHERE stay_days <= 1 GROUP BY region ORDER BY region",
    );
    const [output] = succeeded(result);
    assert.ok(output !== undefined);
    const expected = await fixture.plain(`
      SELECT region, count(*) AS stays,
             CASE WHEN count(DISTINCT patient_id) FILTER (WHERE stay_days <> 0) >= ${k} THEN sum(stay_days) END AS days
      FROM admissions WHERE stay_days <= 1 GROUP BY region HAVING count(DISTINCT patient_id) >= ${k} ORDER BY region`);
    assert.deepEqual(output.rows, expected.rows);
    const withheld = expected.rows.filter((row) => row[2] === null).length;
    assert.ok(withheld >= 1, 'the data has a region with fewer than k non-zero contributors');
    assert.equal(output.suppressedRows, withheld);
    assertNoMarker(result);
  });

  it('gives a CAST that fails for one person NULL instead of failing the run', async () => {
    const { result } = await fixture.run('-- %%\nSELECT region, sum(CAST(score AS INTEGER)) AS score_total, count(*) AS n FROM admissions GROUP BY region');
    const [output] = succeeded(result);
    assert.ok(output !== undefined);
    const expected = await fixture.plain(`
      SELECT region, sum(TRY_CAST(score AS INTEGER)) AS score_total, count(*) AS n FROM admissions
      GROUP BY region HAVING count(DISTINCT patient_id) >= ${k}`);
    assert.deepEqual(sortedRows(output.rows), sortedRows(expected.rows));
    assert.deepEqual(output.columns.map((column) => column.name), ['region', 'score_total', 'n'], 'names as the notebook wrote them');
    assertNoMarker(result);
  });

  it('keeps the names DuckDB gives unnamed columns', async () => {
    const { result } = await fixture.run('-- %%\nSELECT lower(region), count(*), CAST(sum(stay_days) AS DOUBLE) FROM admissions GROUP BY lower(region)');
    const [output] = succeeded(result);
    const expected = await fixture.plain(`SELECT lower(region), count(*), CAST(sum(stay_days) AS DOUBLE) FROM admissions GROUP BY lower(region)`);
    assert.deepEqual(output?.columns.map((column) => column.name), expected.columns);
  });

  it('in reviewed mode runs any read-only SELECT as written, rows and hidden columns included, without suppression', async () => {
    const { result, runDir } = await fixture.run('-- %% output=rows\nSELECT patient_id, email FROM admissions WHERE region = \'north\' ORDER BY patient_id LIMIT 2', { mode: 'reviewed' });
    const [output] = succeeded(result);
    assert.deepEqual(output?.rows, [
      ['900001', `${marker}@example.org`],
      ['900001', `${marker}@example.org`],
    ]);
    assert.equal(output?.suppressedRows, 0);
    assert.deepEqual(readdirSync(runDir), []);
  });
});

describe('run in the worker: failures carry a class and a cell, never DuckDB\'s text', () => {
  it('reports a policy refusal with its reason at the cell, and empties the run folder', async () => {
    const { result, runDir } = await fixture.run(
      ['-- %%', 'SELECT region, count(*) FROM admissions GROUP BY region', '-- %%', 'SELECT region, sum(no_such_column) FROM admissions GROUP BY region'].join('\n'),
    );
    assert.deepEqual(result, { kind: 'run', outputs: [], failure: { class: 'PolicyRefused', cell: 1, reasons: ['character 20: unknown column no_such_column'] } });
    assert.deepEqual(readdirSync(runDir), []);
  });

  it('in reviewed mode a conversion error that would quote a value comes back as ConversionError only', async () => {
    const { result, runDir } = await fixture.run('-- %%\nSELECT region, sum(CAST(score AS INTEGER)) FROM admissions GROUP BY region', { mode: 'reviewed' });
    assert.deepEqual(result.failure, { class: 'ConversionError', cell: 0, reasons: [] });
    assert.deepEqual(result.outputs, []);
    assertNoMarker(result);
    assert.deepEqual(readdirSync(runDir), []);
  });

  it('fails an output larger than the limit as OutputTooLarge', async () => {
    const { result } = await fixture.run('-- %%\nSELECT patient_id FROM admissions', { mode: 'reviewed', maxOutputRows: 10 });
    assert.deepEqual(result.failure, { class: 'OutputTooLarge', cell: 0, reasons: [] });
  });

  it('refuses a train cell with incomplete options, at its cell', async () => {
    const { result } = await fixture.run('-- %%\nSELECT count(*) FROM admissions\n-- %% [train] model=m algorithm=logistic target=readmitted\n');
    assert.deepEqual(result.failure, { class: 'PolicyRefused', cell: 1, reasons: ['features=A,B,C is missing'] });
  });

  it('fails a payload that does not decrypt (wrong key) without running anything', async () => {
    const request = fixture.request('-- %%\nSELECT count(*) FROM admissions');
    const [first, ...rest] = request.tables;
    assert.ok(first !== undefined);
    const wrongKey = `${first.dataKey.startsWith('A') ? 'B' : 'A'}${first.dataKey.slice(1)}`;
    const result = await fixture.host.request({ ...request, tables: [{ ...first, dataKey: wrongKey }, ...rest] });
    assert.deepEqual(result.failure, { class: 'PayloadUnreadable', cell: null, reasons: [] });
    assert.deepEqual(readdirSync(request.runDir), []);
  });

  it('fails with OutOfMemoryError under a tiny memory limit, and the worker keeps serving', async () => {
    const request = fixture.request('-- %%\nSELECT count(DISTINCT a.email || b.email) AS pairs FROM admissions a, admissions b', { mode: 'reviewed' });
    const big = { ...request, memoryLimit: '2MB' };
    const result = await fixture.host.request(big);
    assert.equal(result.failure?.class, 'OutOfMemoryError');
    assert.deepEqual(readdirSync(request.runDir), []);
    const again = await fixture.run('-- %%\nSELECT count(*) AS n FROM admissions');
    assert.equal(again.result.failure, null);
  });
});
