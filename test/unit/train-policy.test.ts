// analyseTrainCell and trainingTree on DuckDB's real trees: a train cell's body may select rows
// (they never leave the worker), but in aggregate mode it selects bare dimension and measure
// columns only, no feature or target may come from a privacy unit, a join key or a hidden column,
// the body's rows must be people's rows (no aggregation, UNION, VALUES, LIMIT, subquery
// expressions; joins on equal columns), and it is held to the same statement rules as a SQL cell.
// trainingTree then adds the privacy units of the people behind each row and makes it total.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type TrainSpec } from '../../shared/model.js';
import { type PolicyContext } from '../../shared/policy.js';
import { stringifySqlTree } from '../../shared/policy/tree.js';
import { analyseTrainCell, trainingTree } from '../../shared/train-policy.js';
import { closeSqlTrees, sqlTree } from '../support/sql-tree.js';
import { DuckDBInstance } from '@duckdb/node-api';

const tables: PolicyContext['tables'] = [
  {
    name: 'admissions',
    allowMinMax: false,
    columns: [
      { name: 'patient_id', role: 'privacy_unit' },
      { name: 'hospital_id', role: 'join_key' },
      { name: 'age_band', role: 'dimension' },
      { name: 'readmitted', role: 'dimension' },
      { name: 'length_of_stay', role: 'measure' },
      { name: 'cost', role: 'measure' },
      { name: 'ssn', role: 'hidden' },
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
];
const aggregate: PolicyContext = { tables, earlierOutputs: ['prior_rates'], mode: 'aggregate' };
const reviewed: PolicyContext = { ...aggregate, mode: 'reviewed' };

after(closeSqlTrees);

const trainSpec = (target: string, features: string[]): TrainSpec => ({ model: 'm', algorithm: 'logistic', target, features, testFraction: 0.2, seed: 1, l2: 1 });

async function reasons(sql: string, target: string, features: string[], context: PolicyContext = aggregate): Promise<string[]> {
  const verdict = analyseTrainCell(await sqlTree(sql), context, trainSpec(target, features));
  assert.equal(verdict.ok, verdict.problems.length === 0);
  return verdict.problems.map((problem) => problem.reason);
}

describe('analyseTrainCell: aggregate mode accepts bare dimension and measure columns of people\'s rows', () => {
  const accepted: [string, string, string[]][] = [
    ['SELECT age_band, length_of_stay, cost, readmitted FROM admissions', 'readmitted', ['age_band', 'length_of_stay', 'cost']],
    ["SELECT age_band, readmitted FROM admissions WHERE age_band <> '18-30'", 'readmitted', ['age_band']],
    ['SELECT a.length_of_stay, l.value AS lab, a.readmitted FROM admissions a JOIN labs l ON a.patient_id = l.patient_id', 'readmitted', ['length_of_stay', 'lab']],
    ['SELECT a.length_of_stay, l.value AS lab, a.readmitted FROM admissions a LEFT JOIN labs l USING (patient_id)', 'readmitted', ['length_of_stay', 'lab']],
    ['SELECT CAST(length_of_stay AS DOUBLE) AS los, CAST(readmitted AS BOOLEAN) AS back FROM admissions', 'back', ['los']],
    ['SELECT x, y FROM prior_rates', 'y', ['x']],
    ['SELECT a.cost, p.rate FROM admissions a JOIN prior_rates p ON a.age_band = p.age_band', 'cost', ['rate']],
    ['WITH stays AS (SELECT length_of_stay AS los, readmitted FROM admissions) SELECT los, readmitted FROM stays', 'READMITTED', ['LOS']],
    ['SELECT los, readmitted FROM (SELECT patient_id, length_of_stay AS los, readmitted FROM admissions WHERE age_band = \'71-89\') AS t', 'readmitted', ['los']],
  ];
  for (const [sql, target, features] of accepted) {
    it(sql, async () => {
      assert.deepEqual(await reasons(sql, target, features), []);
    });
  }
});

describe('analyseTrainCell: aggregate mode refuses', () => {
  const refused: [string, string, string[], RegExp][] = [
    ['SELECT patient_id, readmitted FROM admissions', 'readmitted', ['patient_id'], /^feature patient_id comes from privacy unit patient_id/],
    ['SELECT pid AS p, readmitted FROM (SELECT patient_id AS pid, readmitted FROM admissions) AS t', 'readmitted', ['p'], /^feature p comes from privacy unit patient_id/],
    ['SELECT hospital_id, cost, readmitted FROM admissions', 'readmitted', ['hospital_id', 'cost'], /^feature hospital_id comes from join key hospital_id/],
    ['SELECT patient_id, cost, readmitted FROM admissions', 'readmitted', ['cost'], /^column patient_id of the SELECT comes from privacy unit patient_id/],
    ['SELECT ssn, readmitted FROM admissions', 'readmitted', ['ssn'], /column ssn is hidden/],
    ['SELECT * FROM admissions', 'readmitted', ['cost'], /\* is not allowed in aggregate mode: name the columns/],
    ['SELECT cost, readmitted FROM admissions', 'readmitted', ['cost', 'age'], /^feature age is not a column of the cell's SELECT$/],
    ['SELECT cost AS x, length_of_stay AS x, readmitted FROM admissions', 'readmitted', ['x'], /has 2 columns named x/],
    ["SELECT a, b FROM read_csv('/etc/passwd')", 'a', ['b'], /table function read_csv is not allowed/],
    ['SELECT cost, readmitted FROM admissions; SELECT 1', 'readmitted', ['cost'], /single SELECT/],
    ["COPY admissions TO '/tmp/x.csv'", 'readmitted', ['cost'], /single SELECT/],
    ['SELECT cost, row_number() OVER (ORDER BY cost) AS rank, readmitted FROM admissions', 'readmitted', ['cost'], /window function row_number/],
    ["SELECT cost, getenv('HOME') AS home, readmitted FROM admissions", 'readmitted', ['cost'], /function getenv reveals the environment/],
    ['SELECT cost, readmitted FROM other_party.admissions', 'readmitted', ['cost'], /is not a table in this room/],
    // Computed features: the selectors of issue 17's class 7, refused with their position.
    ['SELECT cost, patient_id = 5 AS ind, readmitted FROM admissions', 'readmitted', ['cost', 'ind'], /^column ind is computed: in aggregate mode a train cell selects bare columns only/],
    ["SELECT cost, CASE WHEN age_band = '90+' THEN 1 ELSE 0 END AS old, readmitted FROM admissions", 'readmitted', ['cost', 'old'], /^column old is computed/],
    ['SELECT cost, length_of_stay * (length_of_stay > 3) AS long_stay, readmitted FROM admissions', 'readmitted', ['long_stay'], /^column long_stay is computed/],
    ['SELECT cost / length_of_stay AS daily_cost, readmitted FROM admissions', 'readmitted', ['daily_cost'], /^column daily_cost is computed/],
    ['SELECT patient_id % 10 AS bucket, cost, readmitted FROM admissions', 'readmitted', ['bucket', 'cost'], /^column bucket is computed/],
    ['SELECT cost, patient_id > 100 AS flag FROM admissions', 'flag', ['cost'], /^column flag is computed/],
    ['SELECT f, readmitted FROM (SELECT CASE WHEN cost > 1000 THEN 1 END AS f, readmitted FROM admissions) AS t', 'readmitted', ['f'], /^column f is computed/],
    ['WITH w AS (SELECT cost * 0 + 1 AS f, readmitted FROM admissions) SELECT f, readmitted FROM w', 'readmitted', ['f'], /^column f is computed/],
    ['SELECT 1 AS one, readmitted FROM admissions', 'readmitted', ['one'], /^column one is computed/],
    // Rows that are not people's rows, or chosen by something other than a dimension filter.
    ['SELECT age_band, count(*) AS n FROM admissions GROUP BY age_band', 'n', ['age_band'], /may not aggregate/],
    ['SELECT DISTINCT age_band, readmitted FROM admissions', 'readmitted', ['age_band'], /DISTINCT is not allowed in a train cell/],
    ['SELECT cost, readmitted FROM admissions ORDER BY cost LIMIT 100', 'readmitted', ['cost'], /ORDER BY is not allowed in a train cell|LIMIT and OFFSET is not allowed/],
    ['SELECT cost, readmitted FROM admissions UNION ALL SELECT cost, readmitted FROM admissions', 'readmitted', ['cost'], /UNION, EXCEPT and INTERSECT are not allowed in a train cell/],
    ["SELECT a.cost, v.f FROM admissions a JOIN (VALUES (1, 'x')) v(id, f) ON a.patient_id = v.id", 'cost', ['f'], /VALUES is not allowed in a train cell/],
    ['SELECT cost, f FROM admissions, (SELECT 1 AS f) AS c', 'cost', ['f'], /CROSS JOIN is not allowed|SELECT without FROM/],
    ["SELECT cost, readmitted FROM admissions WHERE age_band IN (SELECT age_band FROM admissions WHERE cost > 5)", 'readmitted', ['cost'], /a subquery in WHERE is not allowed/],
    ["SELECT a.cost, l.value FROM admissions a JOIN labs l ON a.patient_id = l.patient_id AND a.patient_id <> 7", 'cost', ['value'], /joins on equal columns only/],
    ['SELECT a.cost, l.value FROM admissions a FULL JOIN labs l ON a.patient_id = l.patient_id', 'cost', ['value'], /FULL JOIN is not allowed in a train cell/],
    ['SELECT a.cost, l.value FROM admissions a SEMI JOIN labs l ON a.patient_id = l.patient_id', 'cost', ['cost'], /SEMI JOIN is not allowed in a train cell/],
    ['SELECT x, readmitted FROM (SELECT cost, readmitted FROM admissions) AS t(x, readmitted, extra)', 'readmitted', ['x'], /names more columns than it selects/],
    ['SELECT cost AS __cr_unit_1, readmitted FROM admissions', 'readmitted', ['__cr_unit_1'], /names starting with __cr_ are reserved/],
  ];
  for (const [sql, target, features, reason] of refused) {
    it(`${sql} → ${reason.source}`, async () => {
      const found = await reasons(sql, target, features);
      assert.ok(found.some((text) => reason.test(text)), `reasons: ${JSON.stringify(found)}`);
    });
  }

  it('says where a computed column is: its position in the cell', async () => {
    const sql = 'SELECT cost, CASE WHEN patient_id = 5 THEN 1 ELSE 0 END AS ind, readmitted FROM admissions';
    const verdict = analyseTrainCell(await sqlTree(sql), aggregate, trainSpec('readmitted', ['cost', 'ind']));
    const problem = verdict.problems.find((candidate) => /column ind is computed/.test(candidate.reason));
    assert.ok(problem !== undefined, JSON.stringify(verdict.problems));
    assert.equal(problem.position, `character ${sql.indexOf('CASE') + 1}`);
  });
});

describe('analyseTrainCell: reviewed mode', () => {
  it('lets every member-approved column be a feature, privacy units included, and allows *', async () => {
    assert.deepEqual(await reasons('SELECT patient_id, hospital_id, ssn, readmitted FROM admissions', 'readmitted', ['patient_id', 'hospital_id', 'ssn'], reviewed), []);
    assert.deepEqual(await reasons('SELECT * FROM admissions', 'readmitted', ['cost', 'anything'], reviewed), [], 'with * the worker checks the columns once the rows exist');
    const computed = "SELECT cost / length_of_stay AS daily_cost, CASE WHEN age_band = '71-89' THEN 1 ELSE 0 END AS old, readmitted FROM admissions ORDER BY cost LIMIT 500";
    assert.deepEqual(await reasons(computed, 'readmitted', ['daily_cost', 'old'], reviewed), [], 'computed features, ORDER BY and LIMIT: the members approved the exact code');
  });

  it('still refuses other statements, table functions and a feature the SELECT does not have', async () => {
    assert.match((await reasons("COPY admissions TO '/tmp/x.csv'", 'readmitted', ['cost'], reviewed))[0] ?? '', /single read-only SELECT/);
    assert.match((await reasons("SELECT * FROM read_parquet('/tmp/x.parquet')", 'a', ['b'], reviewed)).join('\n'), /table function read_parquet/);
    assert.deepEqual(await reasons('SELECT cost, readmitted FROM admissions', 'readmitted', ['age_band'], reviewed), ["feature age_band is not a column of the cell's SELECT"]);
  });
});

describe('trainingTree: every row carries the people behind it, and no value can fail it', () => {
  const run = async (sql: string, build: string): Promise<{ units: { column: string; table: string }[]; rows: unknown[][]; columns: string[] }> => {
    const rewritten = trainingTree(await sqlTree(sql), tables);
    assert.ok(rewritten.ok, rewritten.ok ? '' : rewritten.reasons.join('; '));
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      await connection.run(build);
      const rendered = (await connection.runAndReadAll('SELECT json_deserialize_sql($1::JSON)', [stringifySqlTree(rewritten.tree)])).getRows()[0]?.[0];
      assert.equal(typeof rendered, 'string');
      const reader = await connection.runAndReadAll(`SELECT * FROM (${String(rendered)}) ORDER BY ALL`);
      return { units: rewritten.units, rows: reader.getRowsJson(), columns: reader.columnNames() };
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  };
  const build = [
    "CREATE TABLE admissions AS SELECT * FROM (VALUES (1, 'h1', '18-30', 0, 3, 100.0), (2, 'h1', '31-50', 1, 5, 200.0), (3, 'h2', 'x', 1, 0, 50.0)) v(patient_id, hospital_id, age_band, readmitted, length_of_stay, cost)",
    "CREATE TABLE labs AS SELECT * FROM (VALUES (1, 'a1c', 6.5), (1, 'ldl', 130.0), (2, 'a1c', 7.1)) v(patient_id, lab_code, value)",
  ].join('; ');

  it('adds the privacy unit of a table read directly, as the last column', async () => {
    const { units, rows, columns } = await run('SELECT length_of_stay, readmitted FROM admissions', build);
    assert.deepEqual(units, [{ column: '__cr_unit_1', table: 'admissions' }]);
    assert.deepEqual(columns, ['length_of_stay', 'readmitted', '__cr_unit_1']);
    assert.deepEqual(rows, [[0, 1, 3], [3, 0, 1], [5, 1, 2]]);
  });

  it('passes units up through CTEs, derived tables and joins: one column per table read', async () => {
    const sql =
      'WITH s AS (SELECT patient_id AS pid, length_of_stay AS los, readmitted FROM admissions) SELECT t.los, l.value, t.readmitted FROM s AS t JOIN (SELECT patient_id, value FROM labs) AS l ON t.pid = l.patient_id';
    const { units, rows, columns } = await run(sql, build);
    assert.deepEqual(units.map((unit) => unit.table), ['admissions', 'labs']);
    assert.deepEqual(columns.slice(0, 3), ['los', 'value', 'readmitted']);
    assert.deepEqual(rows.map((row) => [row[3], row[4]]), [[1, 1], [1, 1], [2, 2]]);
  });

  it('makes a failing cast or comparison leave the row out instead of failing the run', async () => {
    const { rows } = await run("SELECT CAST(age_band AS INTEGER) AS band, readmitted FROM admissions WHERE age_band = 5 OR ln(length_of_stay) > 0", build);
    // The text bands never cast, and every WHERE that would fail is NULL: no error, and no rows here.
    assert.deepEqual(rows, []);
    const kept = await run('SELECT CAST(age_band AS INTEGER) AS band, readmitted FROM admissions WHERE ln(length_of_stay) > 0', build);
    assert.deepEqual(kept.rows, [[null, 0, 1], [null, 1, 2]]);
  });

  it('adds nothing for earlier outputs and public tables, and leaves the input tree as it was', async () => {
    const tree = await sqlTree('SELECT x, y FROM prior_rates');
    const before = JSON.stringify(tree);
    const rewritten = trainingTree(tree, tables);
    assert.ok(rewritten.ok);
    assert.deepEqual(rewritten.units, []);
    assert.equal(JSON.stringify(tree), before);
  });
});
