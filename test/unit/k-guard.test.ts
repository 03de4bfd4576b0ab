// The k-guard rewrite on DuckDB's real syntax trees: what it adds to each output, how the privacy
// unit travels through subqueries and CTEs, what it refuses, TRY/TRY_CAST, and that the rewritten
// tree turns back into SQL that runs. Trees come from test/support/sql-tree.ts (json_serialize_sql).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { guardTree, parseSqlTree, stringifySqlTree } from '../../shared/k-guard.js';
import { analyseCell, type PolicyTable } from '../../shared/policy.js';
import { closeSqlTrees } from '../support/sql-tree.js';

const tables: PolicyTable[] = [
  {
    name: 'admissions',
    allowMinMax: false,
    columns: [
      { name: 'ssn', role: 'hidden' },
      { name: 'patient_id', role: 'privacy_unit' },
      { name: 'region', role: 'dimension' },
      { name: 'age_band', role: 'dimension' },
      { name: 'cost', role: 'measure' },
      { name: 'score', role: 'measure' },
    ],
  },
  {
    name: 'members',
    allowMinMax: true,
    columns: [
      { name: 'patient_id', role: 'privacy_unit' },
      { name: 'plan', role: 'dimension' },
      { name: 'premium', role: 'measure' },
    ],
  },
  { name: 'regions', allowMinMax: false, columns: [{ name: 'region', role: 'dimension' }, { name: 'label', role: 'dimension' }] },
];

// An engine with the tables as the run's views have them (no hidden column), to run what the rewrite gives.
let connection: DuckDBConnection;
let instance: DuckDBInstance;
before(async () => {
  instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  connection = await instance.connect();
  await connection.run(`CREATE TABLE admissions AS SELECT r % 25 AS patient_id, 'r' || (r % 3) AS region, CASE WHEN r % 2 = 0 THEN 'young' ELSE 'old' END AS age_band,
    r * 1.5 AS cost, CASE WHEN r = 7 THEN 'oops' ELSE CAST(r AS VARCHAR) END AS score FROM range(100) t(r)`);
  await connection.run("CREATE TABLE members AS SELECT r AS patient_id, CASE WHEN r < 20 THEN 'gold' ELSE 'basic' END AS plan, r * 10 AS premium FROM range(22) t(r)");
  await connection.run("CREATE TABLE regions AS SELECT 'r' || r AS region, 'Region ' || r AS label FROM range(3) t(r)");
});
after(async () => {
  connection.closeSync();
  instance.closeSync();
  await closeSqlTrees();
});

async function treeOf(sql: string): Promise<unknown> {
  const reader = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
  return parseSqlTree(reader.getRows()[0]?.[0] as string);
}

async function sqlOf(tree: unknown): Promise<string> {
  const reader = await connection.runAndReadAll('SELECT json_deserialize_sql($1::JSON)', [stringifySqlTree(tree)]);
  return reader.getRows()[0]?.[0] as string;
}

/** Policy-checks, guards, and returns the rewritten SQL and its guard columns. */
async function guarded(sql: string) {
  const tree = await treeOf(sql);
  const verdict = analyseCell(tree, { tables, earlierOutputs: ['prior'], mode: 'aggregate' });
  assert.deepEqual(verdict.problems, [], 'the policy accepts it');
  const result = guardTree(tree, tables);
  if (!result.ok) assert.fail(`refused: ${result.reasons.join(' | ')}`);
  return { sql: await sqlOf(result.tree), guards: result.guards };
}

async function refusal(sql: string): Promise<string[]> {
  const result = guardTree(await treeOf(sql), tables);
  assert.equal(result.ok, false, 'refused');
  return result.ok ? [] : result.reasons;
}

const rowsOf = async (sql: string) => (await connection.runAndReadAll(sql)).getRowsJson();

describe('k-guard: the people behind each output row', () => {
  it('counts the privacy unit of a protected table in the aggregating SELECT, and leaves unprotected tables alone', async () => {
    const { sql, guards } = await guarded('SELECT a.region, r.label, count(*) AS n FROM admissions a JOIN regions r ON a.region = r.region GROUP BY a.region, r.label');
    assert.deepEqual(guards, [{ column: '__cr_k_1', table: 'admissions' }]);
    assert.match(sql, /count\(DISTINCT a\.patient_id\) AS __cr_k_1/);
    const rows = await rowsOf(`${sql} ORDER BY 1`);
    assert.deepEqual(rows.map((row) => row.at(-1)), ['25', '25', '25'].map((count) => count), 'every region has all 25 patients');
  });

  it('counts each party of a join separately, and a fan-out join does not inflate the count', async () => {
    const { sql, guards } = await guarded('SELECT m.plan, count(*) AS n FROM admissions a JOIN admissions b ON a.patient_id = b.patient_id JOIN members m ON a.patient_id = m.patient_id GROUP BY m.plan');
    assert.deepEqual(guards.map((guard) => guard.table), ['admissions', 'admissions', 'members']);
    const rows = await rowsOf(`${sql} ORDER BY 1`);
    // basic: patients 20 and 21, each with 4 admissions, joined 4×4 times: 32 rows but 2 people.
    assert.deepEqual(rows[0], ['basic', '32', '2', '2', '2']);
  });

  it('passes the privacy unit up through row-level subqueries and CTEs under a reserved name', async () => {
    const { sql } = await guarded("WITH young AS (SELECT region, cost FROM admissions WHERE age_band = 'young') SELECT region, sum(cost) AS total FROM (SELECT region, cost FROM young) GROUP BY region");
    assert.match(sql, /admissions\.patient_id AS __cr_pu_\d+/);
    assert.match(sql, /count\(DISTINCT __cr_s\d+\.__cr_pu_\d+\)/);
    const rows = await rowsOf(`${sql} ORDER BY 1`);
    const direct = await rowsOf("SELECT region, sum(cost), count(DISTINCT patient_id) FROM admissions WHERE age_band = 'young' GROUP BY region ORDER BY 1");
    assert.deepEqual(rows, direct, 'the young patients of each region, each once');
  });

  it('merges lists of people through an aggregating subquery', async () => {
    const { sql } = await guarded('SELECT avg(total) AS mean FROM (SELECT region, sum(cost) AS total FROM admissions GROUP BY region)');
    assert.match(sql, /list\(DISTINCT admissions\.patient_id\)/);
    assert.match(sql, /COALESCE\(length\(list_distinct\(flatten\(list\(/);
    assert.deepEqual((await rowsOf(sql))[0]?.at(-1), '25', 'the 25 patients behind the three regions, each once');
  });

  it('gives each UNION ALL branch its own columns, NULL in the other branches', async () => {
    const { sql, guards } = await guarded('SELECT region AS k, count(*) AS n FROM admissions GROUP BY region UNION ALL SELECT plan, count(*) FROM members GROUP BY plan');
    assert.deepEqual(guards.map((guard) => guard.table), ['admissions', 'members']);
    const rows = await rowsOf(`${sql} ORDER BY 1`);
    assert.deepEqual(rows.find((row) => row[0] === 'gold'), ['gold', '20', null, '20']);
    assert.deepEqual(rows.find((row) => row[0] === 'r0'), ['r0', '34', '25', null]);
  });

  it('finds a renamed privacy unit by its position among the visible columns', async () => {
    const { sql } = await guarded('SELECT b, count(*) FROM admissions AS x(p, b) GROUP BY b');
    assert.match(sql, /count\(DISTINCT x\.p\)/);
    assert.equal((await rowsOf(sql)).length, 3);
  });

  it('adds nothing to an output that reads only earlier outputs or unprotected tables', async () => {
    const { guards } = await guarded('SELECT region, count(*) FROM regions GROUP BY region');
    assert.deepEqual(guards, []);
  });
});

describe('k-guard: what cannot be checked is refused', () => {
  const cases: [string, RegExp][] = [
    ['SELECT region, (SELECT count(*) FROM members) AS m, count(*) FROM admissions GROUP BY region', /subquery expression reading members cannot be checked for k: use a join/],
    ['SELECT region, count(*) FROM admissions WHERE region IN (SELECT region FROM admissions) GROUP BY region', /subquery expression reading admissions/],
    ['SELECT region, count(*) FROM admissions a SEMI JOIN members m ON a.patient_id = m.patient_id GROUP BY region', /SEMI JOIN with members on the right/],
    ['SELECT count(*) FROM (SELECT DISTINCT region FROM admissions)', /SELECT DISTINCT in a subquery over admissions/],
    ['SELECT region FROM admissions', /reads admissions row by row: aggregate it/],
    ['SELECT count(*) AS __cr_k_1 FROM admissions', /names starting with __cr_ are reserved/],
    ['SELECT count(*) FROM (SELECT region FROM admissions) s(r, extra)', /s names more columns than its subquery has/],
    ['WITH c(a, b) AS (SELECT region FROM admissions) SELECT count(*) FROM c', /CTE c names more columns than it has/],
    ['SELECT region, count(*) FROM admissions GROUP BY region UNION SELECT plan, count(*) FROM members GROUP BY plan', /only UNION ALL/],
  ];
  for (const [sql, reason] of cases) {
    it(sql, async () => {
      const reasons = await refusal(sql);
      assert.ok(reasons.some((text) => reason.test(text)), `expected ${reason} among ${reasons.join(' | ')}`);
    });
  }

  it('refuses a tree it cannot read instead of throwing', () => {
    for (const tree of [null, 1, {}, { error: true }, { error: false, statements: [] }, { error: false, statements: [{ node: { type: 'PIVOT_NODE' } }] }]) {
      assert.equal(guardTree(tree, tables).ok, false);
    }
  });

  it('leaves the tree it was given unchanged', async () => {
    const tree = await treeOf('SELECT region, sum(CAST(score AS INT)) FROM admissions GROUP BY region');
    const before = JSON.stringify(tree);
    assert.equal(guardTree(tree, tables).ok, true);
    assert.equal(JSON.stringify(tree), before);
  });
});

describe('k-guard: one person\'s value cannot fail the run', () => {
  it('turns every CAST into TRY_CAST', async () => {
    const { sql } = await guarded('SELECT region, sum(CAST(score AS INTEGER)) AS s FROM admissions GROUP BY region');
    assert.match(sql, /TRY_CAST\(score AS INTEGER\)/);
    assert.doesNotMatch(sql, /[^_]CAST\(/);
    const rows = await rowsOf(`${sql} ORDER BY 1`);
    assert.equal(rows.length, 3, "the run succeeds although 'oops' is not a number");
  });

  it('wraps row-level function calls in TRY, the same way in SELECT and GROUP BY, keeping aliases', async () => {
    const { sql } = await guarded('SELECT lower(region) AS r, sum(ln(cost)) AS s FROM admissions GROUP BY lower(region)');
    assert.match(sql, /TRY\(lower\(region\)\) AS r/);
    assert.match(sql, /GROUP BY TRY\(lower\(region\)\)/);
    assert.match(sql, /sum\(TRY\(ln\("?cost"?\)\)\)/);
    assert.equal((await rowsOf(sql)).length, 3, 'ln(0) for patient 0 is NULL, not an error');
  });
});

describe('k-guard: the tree as JSON, exactly', () => {
  it('keeps integers and decimals a double cannot hold through parse, rewrite and json_deserialize_sql', async () => {
    const { sql } = await guarded('SELECT region, sum(cost * 2305843009213693953) AS a, sum(cost * 0.12345678901234567891) AS b FROM admissions GROUP BY region');
    assert.match(sql, /2305843009213693953/);
    assert.match(sql, /0\.12345678901234567891/);
  });

  it('writes back the same tree it read', async () => {
    const text = (await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', ["SELECT 18446744073709551615 AS big, 'a\"b{' AS s"])).getRows()[0]?.[0] as string;
    const back = await sqlOf(parseSqlTree(text));
    assert.match(back, /18446744073709551615/);
    assert.match(back, /'a"b\{'/);
  });
});
