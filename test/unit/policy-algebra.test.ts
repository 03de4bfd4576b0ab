// The aggregate-mode algebra on DuckDB's real trees (shared/policy/translate.ts, compile.ts): which
// shapes translate, which are refused and why, and that the compiled stages run and keep only
// groups with k people of every protected table.
import assert from 'node:assert/strict';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { after, before, describe, it } from 'node:test';
import { analyseCell, type PolicyContext } from '../../shared/policy.js';
import { type AlgebraCell } from '../../shared/policy/algebra.js';
import { compileCell, setsToSketch } from '../../shared/policy/compile.js';
import { closeSqlTrees, sqlTree } from '../support/sql-tree.js';

const tables: PolicyContext['tables'] = [
  {
    name: 'admissions',
    allowMinMax: true,
    columns: [
      { name: 'patient_id', role: 'privacy_unit' },
      { name: 'hospital_id', role: 'join_key' },
      { name: 'region', role: 'dimension' },
      { name: 'age_band', role: 'dimension' },
      { name: 'stay_days', role: 'measure' },
      { name: 'cost', role: 'measure' },
    ],
  },
  {
    name: 'labs',
    allowMinMax: true,
    columns: [
      { name: 'patient_id', role: 'privacy_unit' },
      { name: 'lab_code', role: 'dimension' },
      { name: 'value', role: 'measure' },
    ],
  },
  // No privacy unit: a public lookup, joinable on dimensions.
  { name: 'regions', allowMinMax: false, columns: [{ name: 'region', role: 'dimension' }, { name: 'country', role: 'dimension' }] },
];
const context: PolicyContext = { tables, earlierOutputs: ['prior'], mode: 'aggregate' };

after(closeSqlTrees);

async function translate(sql: string) {
  return analyseCell(await sqlTree(sql), context);
}

type AggregateCell = Extract<AlgebraCell, { kind: 'aggregate' }>;

async function accepted(sql: string): Promise<AggregateCell> {
  const result = await translate(sql);
  assert.deepEqual(result.problems, [], sql);
  assert.equal(result.ok, true);
  assert.equal(result.cell?.kind, 'aggregate', sql);
  return result.cell as AggregateCell;
}

describe('policy algebra: shapes analysts write translate', () => {
  it('a join on privacy units, with both tables protected', async () => {
    const cell = await accepted('SELECT a.region, l.lab_code, count(*) AS n, avg(l.value) AS mean FROM admissions a JOIN labs l ON a.patient_id = l.patient_id GROUP BY a.region, l.lab_code');
    assert.deepEqual([...(cell.branches[0]?.protectedTables ?? [])].sort(), ['admissions', 'labs']);
    assert.deepEqual(cell.branches[0]?.terms.map((term) => [term.fn, term.family]), [['count_star', 'count'], ['avg', 'value']]);
  });

  it('a CTE with a filter', async () => {
    const cell = await accepted("WITH adults AS (SELECT region, cost FROM admissions WHERE age_band <> '0-17') SELECT region, sum(cost) AS total FROM adults GROUP BY region");
    assert.deepEqual(cell.columns, ['region', 'total']);
  });

  it('a per-person pre-aggregation, then dimensions', async () => {
    const cell = await accepted('SELECT region, avg(n) AS stays_per_person, count(*) AS people FROM (SELECT patient_id, region, count(*) AS n FROM admissions GROUP BY patient_id, region) GROUP BY region');
    assert.deepEqual(cell.branches[0]?.protectedTables, ['admissions']);
  });

  it('UNION ALL of aggregate SELECTs', async () => {
    const cell = await accepted('SELECT region, count(*) AS n FROM admissions GROUP BY region UNION ALL SELECT lab_code, count(*) FROM labs GROUP BY lab_code');
    assert.equal(cell.branches.length, 2);
  });

  it('FILTER over a dimension, a ratio of aggregates, ORDER BY and LIMIT on the output', async () => {
    const cell = await accepted(
      "SELECT region, count(*) FILTER (WHERE age_band = '90+') AS old, 100.0 * sum(cost) / count(*) AS per_stay FROM admissions GROUP BY region ORDER BY per_stay DESC LIMIT 3",
    );
    const terms = cell.branches[0]?.terms ?? [];
    assert.ok(terms.some((term) => term.filter !== null), 'the FILTER stays with its term');
    assert.equal(cell.limit, '3');
    assert.equal(cell.orderBy.length, 1);
  });

  it('a public lookup joined on a dimension, and WHERE on a measure against a parameter', async () => {
    const cell = await accepted("SELECT r.country, count(*) AS n FROM admissions a JOIN regions r ON a.region = r.region WHERE a.stay_days >= getvariable('min_stay') GROUP BY r.country");
    assert.deepEqual(cell.branches[0]?.protectedTables, ['admissions']);
  });

  it('a cell over earlier outputs only is post-processing', async () => {
    const result = await translate('SELECT region, n FROM prior WHERE n > 10 ORDER BY n');
    assert.equal(result.ok, true);
    assert.equal(result.cell?.kind, 'post');
  });
});

/** [what, SQL, the reason that must be among the problems]. */
const refusals: [string, string, RegExp][] = [
  ['VALUES joined in', "SELECT a.region, count(*) AS n FROM admissions a JOIN (VALUES ('X')) v(id) ON a.region = v.id GROUP BY a.region", /VALUES lists are not allowed/],
  ['a unit comparison in ON', "SELECT count(*) AS n FROM admissions a JOIN labs l ON a.patient_id = l.patient_id AND a.patient_id <> 'X'", /a JOIN condition may only be equalities/],
  ['ORDER BY … LIMIT in a subquery', 'SELECT count(*) AS n FROM (SELECT * FROM admissions ORDER BY patient_id LIMIT 5)', /allowed on the final output only/],
  ['CASE over a measure inside sum', 'SELECT region, sum(CASE WHEN cost > 1000 THEN 1 ELSE 0 END) AS n FROM admissions GROUP BY region', /measure cost may only be compared in WHERE/],
  ['power(64, m)', 'SELECT region, sum(power(64, stay_days)) AS h FROM admissions GROUP BY region', /measure stay_days may only be used bare \(or scaled by a constant\)/],
  ['FILTER on a measure', 'SELECT region, count(*) FILTER (WHERE cost > 1000) AS n FROM admissions GROUP BY region', /measure cost may only be compared in WHERE/],
  ['min', 'SELECT region, min(cost) AS m FROM admissions GROUP BY region', /aggregate min reveals one person's value/],
  ['max, even where the owner allowed it', 'SELECT lab_code, max(value) AS m FROM labs GROUP BY lab_code', /aggregate max reveals one person's value/],
  ['count(DISTINCT dimension)', 'SELECT region, count(DISTINCT age_band) AS bands FROM admissions GROUP BY region', /count\(DISTINCT …\) may count only a privacy unit/],
  ['an alias of an aggregate reused', 'SELECT region, sum(cost) AS s, s / 2 AS half FROM admissions GROUP BY region', /s refers to an aggregate by its alias/],
  ['a room table and an earlier output in one cell', 'SELECT a.region, count(*) AS n FROM admissions a JOIN prior p ON a.region = p.region GROUP BY a.region', /reads either room tables or earlier outputs, never both/],
  ['a privacy unit as a group key', 'SELECT patient_id, count(*) AS n FROM admissions GROUP BY patient_id', /privacy unit patient_id cannot be a group key/],
  ['an aggregate over dimensions in a subquery', 'SELECT avg(s) AS a FROM (SELECT region, sum(cost) AS s FROM admissions GROUP BY region)', /must GROUP BY a privacy unit/],
  ['a comma join', 'SELECT a.region, count(*) AS n FROM admissions a, labs l GROUP BY a.region', /CROSS JOIN/],
];

describe('policy algebra: what does not translate is refused with the reason and position', () => {
  for (const [what, sql, reason] of refusals) {
    it(what, async () => {
      const result = await translate(sql);
      assert.equal(result.ok, false, sql);
      assert.equal(result.cell, undefined);
      assert.ok(result.problems.some((p) => reason.test(p.reason)), `expected ${reason} among: ${result.problems.map((p) => p.reason).join(' | ')}`);
    });
  }

  it('gives a position where DuckDB has one', async () => {
    const result = await translate('SELECT region, min(cost) AS m FROM admissions GROUP BY region');
    assert.match(result.problems[0]?.position ?? '', /^character \d+$/);
  });
});

describe('policy algebra: the compiled SQL runs', () => {
  const k = 5;
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;

  before(async () => {
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
    await connection.run('CREATE TABLE admissions (patient_id VARCHAR, hospital_id VARCHAR, region VARCHAR, age_band VARCHAR, stay_days INTEGER, cost DOUBLE)');
    // North: 6 people (one with two stays); South: 5 people; West: 2 people (below k, never kept).
    const rows: string[] = [];
    for (let i = 0; i < 6; i++) rows.push(`('n${i}', 'h1', 'N', '18-30', ${i + 1}, ${100 + i})`);
    rows.push(`('n0', 'h1', 'N', '18-30', 4, 50)`);
    for (let i = 0; i < 5; i++) rows.push(`('s${i}', 'h2', 'S', '31-50', 2, 200)`);
    for (let i = 0; i < 2; i++) rows.push(`('w${i}', 'h3', 'W', '31-50', 9, 900)`);
    await connection.run(`INSERT INTO admissions VALUES ${rows.join(', ')}`);
  });
  after(() => {
    connection.closeSync();
    instance.closeSync();
  });

  async function run(sql: string): Promise<Record<string, unknown>[]> {
    const cell = await accepted(sql);
    const compiled = compileCell(cell, { prefix: '__cr_c0_', k, salt: 'ab', width: 32 });
    try {
      for (const branch of compiled.branches) {
        for (const statement of branch.setup) await connection.run(statement);
        await connection.runAndReadAll(branch.sketches(setsToSketch(branch.tables.length, branch.terms.length, [])));
      }
      const reader = await connection.runAndReadAll(compiled.output(cell.columns));
      return reader.getRowObjectsJson() as Record<string, unknown>[];
    } finally {
      for (const statement of compiled.cleanup) await connection.run(statement);
    }
  }

  it('keeps groups with k people and drops the rest, counting withheld values (none decided here)', async () => {
    const rows = await run('SELECT region, count(*) AS stays, count(DISTINCT patient_id) AS people, sum(cost) AS total FROM admissions GROUP BY region ORDER BY region');
    assert.deepEqual(
      rows.map((row) => [row['region'], Number(row['stays']), Number(row['people']), Number(row['total']), Number(row['__cr_withheld'])]),
      [
        ['N', 7, 6, 665, 0],
        ['S', 5, 5, 1000, 0],
      ],
    );
  });

  it('counts the people behind each term, not the rows', async () => {
    const cell = await accepted('SELECT region, count(*) AS stays FROM admissions WHERE stay_days >= 4 GROUP BY region');
    const compiled = compileCell(cell, { prefix: '__cr_c1_', k: 2, salt: 'ab', width: 32 });
    const branch = compiled.branches[0];
    assert.ok(branch !== undefined);
    try {
      for (const statement of branch.setup) await connection.run(statement);
      const people = branch.stats[0]?.people ?? '';
      const reader = await connection.runAndReadAll(`SELECT "__cr_g0" AS region, "__cr_v0" AS stays, "${people}" AS people FROM ${branch.raw} ORDER BY 1`);
      // North: n3, n4, n5 and n0's second stay (4 days) → 4 stays by 4 people; West: 2 people; South: none.
      assert.deepEqual(reader.getRowsJson().map((row) => row.map((value) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value))), [
        ['N', 4, 4],
        ['W', 2, 2],
      ]);
    } finally {
      for (const statement of compiled.cleanup) await connection.run(statement);
    }
  });

  it('shares a population sketch only with sets that equal it, and sketches the rest on their own', async () => {
    // count(*) and sum(cost) reach everyone (every cost is non-zero); the FILTER keeps the North's
    // six people only, of thirteen.
    const cell = await accepted("SELECT count(*) AS stays, count(*) FILTER (WHERE region = 'N') AS northern_stays, sum(cost) AS total FROM admissions");
    const compiled = compileCell(cell, { prefix: '__cr_c2_', k: 2, salt: 'ab', width: 32 });
    const branch = compiled.branches[0];
    assert.ok(branch !== undefined);
    try {
      for (const statement of branch.setup) await connection.run(statement);
      const stat = (term: number) => branch.stats.find((entry) => entry.term === term) as NonNullable<(typeof branch.stats)[number]>;
      const read = await connection.runAndReadAll(
        `SELECT "__cr_pop0", "__cr_rall0", ${[0, 1, 2].flatMap((term) => [stat(term).people, stat(term).nonZero ?? 'NULL', stat(term).rows].map((column) => (column === 'NULL' ? column : `"${column}"`))).join(', ')} FROM ${branch.raw} ORDER BY "__cr_row"`,
      );
      const population = read.getRowsJson().map((row) => ({
        population: [{ people: Number(row[0]), rows: Number(row[1]) }],
        terms: [[0, 1, 2].map((term) => ({ people: Number(row[2 + term * 3]), nonZero: row[3 + term * 3] === null ? null : Number(row[3 + term * 3]), rows: Number(row[4 + term * 3]) }))],
      }));
      const sets = setsToSketch(1, 3, population);
      // Only the filtered count has sets of its own: fewer people (n, r). The sum's non-zero people are everyone.
      assert.deepEqual(
        sets.map((set) => `${set.term ?? 'population'}:${set.kind}`),
        ['population:n', 'population:r', '1:n', '1:r'],
      );
      // Sharing is exact: sketching count(*)'s and sum(cost)'s own sets gives the population's cells.
      const cellsOf = async (term: number | null, kind: 'n' | 'r' | 'z'): Promise<string> =>
        JSON.stringify((await connection.runAndReadAll(`SELECT row, cell, count, ids, checks FROM (${branch.sketches([{ table: 0, term, kind }])}) ORDER BY row, cell`)).getRowsJson());
      assert.equal(await cellsOf(0, 'n'), await cellsOf(null, 'n'));
      assert.equal(await cellsOf(0, 'r'), await cellsOf(null, 'r'));
      assert.equal(await cellsOf(2, 'z'), await cellsOf(null, 'n'));
      // …and a set that differs from the population has different cells.
      assert.notEqual(await cellsOf(1, 'n'), await cellsOf(null, 'n'));
    } finally {
      for (const statement of compiled.cleanup) await connection.run(statement);
    }
  });

  it('runs a per-person pre-aggregation and a UNION ALL with ORDER BY and LIMIT', async () => {
    const perPerson = await run('SELECT region, avg(n) AS stays_per_person FROM (SELECT patient_id, region, count(*) AS n FROM admissions GROUP BY patient_id, region) GROUP BY region ORDER BY region');
    assert.deepEqual(perPerson.map((row) => [row['region'], Number(row['stays_per_person'])]), [['N', 7 / 6], ['S', 1]]);
    const union = await run("SELECT region, count(*) AS n FROM admissions GROUP BY region UNION ALL SELECT 'all', count(*) FROM admissions ORDER BY n DESC LIMIT 2");
    assert.deepEqual(union.map((row) => [row['region'], Number(row['n'])]), [['all', 14], ['N', 7]]);
  });
});
