import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { analyseCell, type PolicyContext } from '../../shared/policy.js';
import { closeSqlTrees, sqlTree } from '../support/sql-tree.js';

// Two parties' tables: admissions (min/max not allowed) and labs (min/max allowed).
const tables: PolicyContext['tables'] = [
  {
    name: 'admissions',
    allowMinMax: false,
    columns: [
      { name: 'patient_id', role: 'privacy_unit' },
      { name: 'hospital_id', role: 'join_key' },
      { name: 'age_band', role: 'dimension' },
      { name: 'region', role: 'dimension' },
      { name: 'admitted', role: 'dimension' },
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
      { name: 'hospital_id', role: 'join_key' },
      { name: 'lab_code', role: 'dimension' },
      { name: 'value', role: 'measure' },
      { name: 'note', role: 'hidden' },
    ],
  },
];
const aggregate: PolicyContext = { tables, earlierOutputs: ['prior_rates'], mode: 'aggregate' };
const reviewed: PolicyContext = { ...aggregate, mode: 'reviewed' };

after(closeSqlTrees);

async function verdict(sql: string, context: PolicyContext = aggregate) {
  return analyseCell(await sqlTree(sql), context);
}

/** [SQL, the reason that must be among the problems]. */
const attacks: [string, RegExp][] = [
  // New grammar: a star is refused because the output is not aggregated (the star itself is not named).
  ['SELECT * FROM admissions', /the output is not aggregated/],
  ['SELECT a.* FROM admissions a', /the output is not aggregated/],
  ['SELECT COLUMNS(*) FROM admissions', /the output is not aggregated/],
  ["SELECT COLUMNS('pat.*') FROM admissions", /the output is not aggregated/],
  // (`SELECT count(*) FROM (SELECT * FROM admissions)` is now accepted: the star carries each column's role into the algebra.)
  ['SELECT patient_id, count(*) FROM admissions GROUP BY patient_id', /privacy unit patient_id cannot be a group key/],
  ['SELECT count(*) FROM admissions GROUP BY patient_id', /privacy unit patient_id cannot be a group key/],
  ['SELECT hospital_id, count(*) FROM admissions GROUP BY hospital_id', /join key hospital_id cannot be a group key/],
  ['SELECT region, string_agg(patient_id, \',\') FROM admissions GROUP BY region', /aggregate string_agg reveals individual values/],
  ['SELECT region, list(patient_id) FROM admissions GROUP BY region', /aggregate list reveals individual values/],
  ['SELECT region, array_agg(cost) FROM admissions GROUP BY region', /aggregate array_agg reveals/],
  ['SELECT region, first(patient_id) FROM admissions GROUP BY region', /aggregate first reveals/],
  ['SELECT region, any_value(cost) FROM admissions GROUP BY region', /aggregate any_value reveals/],
  ['SELECT region, arg_max(patient_id, cost) FROM admissions GROUP BY region', /aggregate arg_max reveals/],
  ['SELECT region, max_by(patient_id, cost) FROM admissions GROUP BY region', /aggregate max_by reveals/],
  ['SELECT region, mode(cost) FROM admissions GROUP BY region', /aggregate mode reveals/],
  ['SELECT region, quantile_cont(cost, 0.5) FROM admissions GROUP BY region', /aggregate quantile_cont reveals/],
  ['SELECT region, median(cost) FROM admissions GROUP BY region', /aggregate median reveals/],
  ['SELECT region, histogram(cost) FROM admissions GROUP BY region', /aggregate histogram reveals/],
  // New grammar: min/max are refused in aggregate mode whatever the owner allowed (one person's value).
  ['SELECT region, max(cost) FROM admissions GROUP BY region', /aggregate max reveals one person's value/],
  ['SELECT region, min(age_band) FROM admissions GROUP BY region', /aggregate min reveals/],
  ['SELECT max(x) FROM (SELECT patient_id AS x FROM admissions)', /aggregate max reveals/],
  ['SELECT max(x) FROM (SELECT cost AS x FROM admissions)', /aggregate max reveals/],
  // New grammar: an inner aggregate must be a per-person pre-aggregation (GROUP BY a privacy unit).
  ['SELECT max(s) FROM (SELECT region, age_band, sum(cost) AS s FROM admissions GROUP BY region, age_band)', /an aggregating subquery must GROUP BY a privacy unit/],
  ['SELECT region, sum(cost) OVER (PARTITION BY region) AS s FROM admissions GROUP BY region', /window function sum \(OVER\) is not allowed/],
  ['SELECT region, row_number() OVER () FROM admissions GROUP BY region', /window function row_number \(OVER\)/],
  // New grammar: a cell with only a table function reads no room table; joined to one, the function is named.
  ["SELECT * FROM read_csv('/etc/passwd')", /the cell reads no room table/],
  ["SELECT region, count(*) FROM admissions a JOIN read_csv('/etc/passwd') r ON a.region = r.x GROUP BY region", /table function read_csv is not allowed/],
  ['SELECT region, count(*) FROM admissions a JOIN range(10) r ON a.region = r.range GROUP BY region', /table function range is not allowed/],
  ["SELECT count(*) FROM read_parquet('x.parquet')", /the cell reads no room table/],
  ['SELECT count(*) FROM range(10)', /the cell reads no room table/],
  ["SELECT count(*) FROM glob('*')", /the cell reads no room table/],
  ["SELECT getenv('HOME'), count(*) FROM admissions", /function getenv reveals the environment/],
  ["SELECT region, count(*) FROM admissions WHERE current_setting('threads') = '2' GROUP BY region", /function current_setting reveals the environment/],
  ['SELECT count(*) FROM duckdb_settings()', /the cell reads no room table/],
  ['SELECT region, count(*) FROM admissions GROUP BY region UNION SELECT lab_code, count(*) FROM labs GROUP BY lab_code', /UNION is not allowed in aggregate mode: only UNION ALL/],
  ['SELECT region, count(*) FROM admissions GROUP BY region EXCEPT SELECT lab_code, count(*) FROM labs GROUP BY lab_code', /EXCEPT is not allowed/],
  ['SELECT region, count(*) FROM admissions GROUP BY region INTERSECT SELECT lab_code, count(*) FROM labs GROUP BY lab_code', /INTERSECT is not allowed/],
  ['SELECT CAST(patient_id AS VARCHAR) AS p, count(*) FROM admissions GROUP BY ALL', /privacy unit patient_id/],
  ['SELECT region, count(*) FROM admissions WHERE ssn IS NOT NULL GROUP BY region', /column ssn is hidden/],
  // New grammar: max is refused before the hidden column is looked at; sum shows the hidden-column rule.
  ['SELECT lab_code, count(*) FROM labs GROUP BY lab_code HAVING sum(note) > 0', /column note is hidden/],
  ['SELECT cost, count(*) FROM admissions GROUP BY cost', /measure cost cannot be a group key/],
  ['SELECT region, cost FROM admissions GROUP BY region, cost', /measure cost cannot be a group key/],
  // New wording; WHERE over a measure against a literal is now allowed (SPEC: WHERE compares dimensions or measures).
  ['SELECT region, count(*) FROM admissions WHERE patient_id = 42 GROUP BY region', /privacy unit patient_id may not be used in a comparison/],
  ['SELECT region, count(hospital_id) FROM admissions GROUP BY region', /join key hospital_id may only be used in JOIN conditions/],
  ['SELECT region, sum(patient_id) FROM admissions GROUP BY region', /sum may not take a privacy unit \(patient_id\)/], // new wording
  ['SELECT list_transform([1, 2], x -> x + 1) AS l, count(*) FROM admissions', /lambda functions are not allowed|function list_transform is not allowed/],
  ['SELECT region, list_aggregate(list_value(cost), \'max\') FROM admissions GROUP BY region', /function list_aggregate is not allowed|function list_value is not allowed/],
  ['WITH ids AS (SELECT patient_id FROM admissions) SELECT patient_id, count(*) FROM ids GROUP BY patient_id', /privacy unit patient_id cannot be a group key/],
  ['WITH ids AS (SELECT patient_id AS who, region FROM admissions) SELECT region, string_agg(who) FROM ids GROUP BY region', /aggregate string_agg reveals/],
  ['SELECT region, age_band FROM admissions', /the output is not aggregated/],
  // New wording for the next three.
  ['SELECT patient_id FROM admissions', /the output is not aggregated/],
  ['SELECT region, count(*) FROM secrets GROUP BY region', /table secrets is not in the room/],
  ['SELECT count(*) FROM main.admissions', /schema-qualified table admissions is not allowed/],
  ['SELECT count(*) FROM admissions NATURAL JOIN labs', /NATURAL JOIN is not allowed/],
  ['SELECT count(*) FROM admissions POSITIONAL JOIN labs', /POSITIONAL JOIN is not allowed/],
  // New grammar: any subquery expression is refused, before its columns are looked at.
  ['SELECT region, (SELECT patient_id FROM labs LIMIT 1) AS p, count(*) FROM admissions GROUP BY region', /a subquery expression .* is not allowed in aggregate mode/],
  ['SELECT region, sum(DISTINCT cost) FROM admissions GROUP BY region', /DISTINCT is only allowed in count/],
  ['SELECT region, count(*) FROM admissions GROUP BY region QUALIFY count(*) > 1', /QUALIFY is not allowed/],
  ["SELECT region, count(*) FROM admissions GROUP BY region HAVING sum(length(ssn)) > 0", /column ssn is hidden/],
  ['SELECT hash(patient_id) AS h, count(*) FROM admissions GROUP BY h', /privacy unit patient_id|function hash is not allowed/],
  ['COPY admissions TO \'/tmp/out.csv\'', /only a single SELECT is allowed in aggregate mode/],
  ["ATTACH '/tmp/other.db'", /only a single SELECT is allowed in aggregate mode/],
  ['INSTALL httpfs', /only a single SELECT is allowed in aggregate mode/],
  ["SET threads = 1", /only a single SELECT is allowed in aggregate mode/],
  ['PRAGMA version', /only a single SELECT is allowed in aggregate mode/],
  ['SELECT count(*) FROM admissions; SELECT count(*) FROM labs', /only a single SELECT is allowed in aggregate mode/],
  // New grammar: a recursive CTE alone reads no room table; beside one it is an unknown construct.
  ['WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r', /the cell reads no room table/],
  ['WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r JOIN admissions a ON a.region = r.n', /unknown SQL construct RECURSIVE_CTE_NODE/],
  // New grammar: a comma (or LATERAL) join is refused as a CROSS JOIN.
  ['SELECT region, count(*) FROM admissions, LATERAL (SELECT patient_id AS p) x GROUP BY region', /CROSS JOIN \(or a comma between tables\) is not allowed/],
  // New grammar: a measure may not appear in CASE or other functions inside an aggregate (a selector).
  ["SELECT region, sum(CASE WHEN age_band = '90+' THEN cost END) FROM admissions GROUP BY region", /measure cost may not be used in CASE/],
  ['SELECT region, sum(cost * length(age_band)) FROM admissions GROUP BY region', /measure cost may only be used bare \(or scaled by a constant\)/],
  ["SELECT sum(x) FROM (SELECT CASE WHEN age_band = '90+' THEN cost END AS x FROM admissions)", /measure cost may not be used in CASE/],
  // (`avg(cost) FILTER (WHERE age_band = '90+')` is now accepted: SPEC allows FILTER over a dimension.)
  // Refused under the new grammar (were accepted before).
  ["SELECT region, avg(cost) FILTER (WHERE cost > 100) FROM admissions GROUP BY region", /measure cost may only be compared in WHERE/],
  ["SELECT region, sum(CASE WHEN length_of_stay > 7 THEN 1 ELSE 0 END) AS long_stays FROM admissions GROUP BY region", /measure length_of_stay may only be compared in WHERE/],
  ['SELECT lab_code, min(value), max(value) FROM labs GROUP BY lab_code', /aggregate min reveals/],
  ['SELECT avg(s) FROM (SELECT region, sum(cost) AS s FROM admissions GROUP BY region)', /an aggregating subquery must GROUP BY a privacy unit/],
  ['SELECT region, count(*) FROM admissions GROUP BY ROLLUP (region)', /GROUPING SETS, ROLLUP and CUBE are not allowed/],
  ['SELECT region, count(DISTINCT age_band) AS bands FROM admissions GROUP BY region', /count\(DISTINCT …\) may count only a privacy unit/],
  ['SELECT region, sum(power(64, length_of_stay)) FROM admissions GROUP BY region', /measure length_of_stay may only be used bare/],
  ['SELECT region, count(*) AS n, n * 2 AS m FROM admissions GROUP BY region', /n refers to an aggregate by its alias/],
  ["SELECT count(*) FROM admissions a JOIN labs l ON a.patient_id = l.patient_id AND a.patient_id <> 'X'", /a JOIN condition may only be equalities/],
  ['SELECT count(*) FROM (SELECT * FROM admissions ORDER BY patient_id LIMIT 5)', /ORDER BY, LIMIT and DISTINCT are allowed on the final output only/],
  ["SELECT region, count(*) FROM admissions a JOIN (VALUES ('x')) v(r) ON a.region = v.r GROUP BY region", /VALUES lists are not allowed/],
  ['SELECT region, count(*) FROM prior_rates JOIN admissions USING (region) GROUP BY region', /a cell reads either room tables or earlier outputs, never both/],
];

describe('policy: aggregate-mode attacks are refused with the reason', () => {
  it('has at least 40 attacks', () => assert.ok(attacks.length >= 40));
  for (const [sql, reason] of attacks) {
    it(sql, async () => {
      const result = await verdict(sql);
      assert.equal(result.ok, false, 'refused');
      assert.ok(
        result.problems.some((p) => reason.test(p.reason)),
        `expected ${reason} among: ${result.problems.map((p) => p.reason).join(' | ')}`,
      );
      assert.equal(result.outputColumns, undefined);
    });
  }
});

const legitimate: string[] = [
  'SELECT region, age_band, count(*) AS n, avg(length_of_stay) AS mean_stay, sum(cost) AS total FROM admissions GROUP BY region, age_band',
  'SELECT a.region, l.lab_code, count(*) AS n, avg(l.value) AS mean_value FROM admissions a JOIN labs l ON a.patient_id = l.patient_id GROUP BY a.region, l.lab_code',
  'SELECT a.region, count(*) FROM admissions a JOIN labs l ON a.hospital_id = l.hospital_id GROUP BY a.region',
  'SELECT a.region, count(*) FROM admissions a JOIN labs l USING (patient_id) GROUP BY a.region',
  'SELECT region, count(DISTINCT patient_id) AS people FROM admissions GROUP BY region',
  "SELECT region, count(*) FROM admissions WHERE age_band IN ('18-30', '31-50') AND admitted >= DATE '2024-01-01' GROUP BY region",
  'WITH stays AS (SELECT region, length_of_stay FROM admissions WHERE age_band <> \'0-17\') SELECT region, avg(length_of_stay), stddev(length_of_stay) FROM stays GROUP BY region',
  'SELECT region, count(*) AS n FROM admissions GROUP BY region UNION ALL SELECT lab_code, count(*) FROM labs GROUP BY lab_code',
  // min/max moved to the refusals (new grammar).
  'SELECT lab_code, corr(value, value), regr_slope(value, value) FROM labs GROUP BY lab_code',
  "SELECT date_trunc('month', admitted) AS month, sum(cost) / count(*) AS per_stay FROM admissions GROUP BY month ORDER BY month",
  // A measure tested in CASE/FILTER is refused now (moved to the refusals); the analyst's rewrite: WHERE on the measure, FILTER on a dimension.
  "SELECT region, count(*) AS long_stays, count(*) FILTER (WHERE age_band = '90+') AS old FROM admissions WHERE length_of_stay > 7 GROUP BY region HAVING count(*) >= 10",
  'SELECT count(*) FROM (SELECT * FROM admissions)',
  "SELECT region, avg(cost) FILTER (WHERE age_band = '90+') FROM admissions GROUP BY region",
  'SELECT region, count(*) FROM admissions WHERE cost > 1000 GROUP BY region',
  'SELECT count(DISTINCT x) FROM (SELECT patient_id AS x FROM admissions)',
  // Aggregates of aggregates must pre-aggregate per person; ROLLUP becomes UNION ALL (both new grammar).
  'SELECT avg(s) FROM (SELECT patient_id, region, sum(cost) AS s FROM admissions GROUP BY patient_id, region)',
  'SELECT region, count(*) FROM admissions GROUP BY region UNION ALL SELECT NULL, count(*) FROM admissions',
  "SELECT region, count(*) FROM admissions WHERE age_band = getvariable('band') GROUP BY region",
  // count(DISTINCT dimension) is refused now (moved to the refusals).
  'SELECT region, avg(CAST(admitted AS DOUBLE)) AS share FROM admissions GROUP BY region',
];

describe('policy: legitimate aggregate cells pass', () => {
  it('has at least 10', () => assert.ok(legitimate.length >= 10));
  for (const sql of legitimate) {
    it(sql, async () => {
      const result = await verdict(sql);
      assert.deepEqual(result.problems, []);
      assert.equal(result.ok, true);
    });
  }

  it('names the output columns and says which are group keys', async () => {
    const result = await verdict('SELECT region, age_band, count(*) AS n, avg(cost) AS mean_cost FROM admissions GROUP BY region, age_band');
    assert.deepEqual(result.outputColumns, [
      { name: 'region', kind: 'group_key' },
      { name: 'age_band', kind: 'group_key' },
      { name: 'n', kind: 'aggregate' },
      { name: 'mean_cost', kind: 'aggregate' },
    ]);
  });

  it('lets a later cell read an earlier output freely, even with a star', async () => {
    assert.equal((await verdict('SELECT region, n FROM prior_rates WHERE n > 20')).ok, true);
    // New grammar: post-processing reads released values only, so any read-only SELECT (SPEC).
    assert.equal((await verdict('SELECT * FROM prior_rates')).ok, true);
  });
});

describe('policy: renamed columns of a table with a hidden column', () => {
  // The run's view has no hidden column, so `t AS x(a, b, c)` renames the visible columns in order.
  const context: PolicyContext = {
    tables: [{ name: 't', allowMinMax: false, columns: [{ name: 'd1', role: 'dimension' }, { name: 'secret', role: 'hidden' }, { name: 'd2', role: 'dimension' }, { name: 'pid', role: 'privacy_unit' }] }],
    earlierOutputs: [],
    mode: 'aggregate',
  };

  it('sees the third name as the privacy unit, not as the dimension behind the hidden column', async () => {
    const result = await verdict('SELECT c, count(*) FROM t AS x(a, b, c) GROUP BY c', context);
    // New wording: the reason names the column as the cell renamed it (c), still as a privacy unit.
    assert.ok(result.problems.some((p) => /privacy unit c cannot be a group key/.test(p.reason)), result.problems.map((p) => p.reason).join(' | '));
  });

  it('still refuses the hidden column by its own name', async () => {
    const result = await verdict('SELECT a, count(*) FROM t AS x(a, b) WHERE x.secret IS NULL GROUP BY a', context);
    assert.ok(result.problems.some((p) => /column secret is hidden/.test(p.reason)));
  });
});

describe('policy: reviewed mode', () => {
  it('accepts a plain SELECT of rows, a star and a window function', async () => {
    for (const sql of ['SELECT patient_id, cost FROM admissions', 'SELECT * FROM admissions a JOIN labs l USING (patient_id)', 'SELECT patient_id, row_number() OVER (ORDER BY cost) FROM admissions']) {
      const result = await verdict(sql, reviewed);
      assert.deepEqual(result.problems, [], sql);
    }
  });

  it('still refuses table functions, foreign tables, the environment and non-SELECTs', async () => {
    const cases: [string, RegExp][] = [
      ["SELECT * FROM read_csv('/etc/passwd')", /table function read_csv/],
      ['SELECT * FROM secrets', /secrets is not a table in this room/],
      ["SELECT getenv('HOME')", /function getenv/],
      ["COPY admissions TO '/tmp/x.csv'", /only a single read-only SELECT is allowed/],
      // Catalog functions and macros say what the engine holds (view definitions, settings, tables).
      ["SELECT pg_get_viewdef('admissions')", /function pg_get_viewdef reveals the environment/],
      ['SELECT count(*) FROM admissions WHERE cost > (SELECT count(*) FROM duckdb_tables())', /duckdb_tables/],
      ["SELECT current_setting('memory_limit') AS m, count(*) FROM admissions", /function current_setting reveals the environment/],
    ];
    for (const [sql, reason] of cases) {
      const result = await verdict(sql, reviewed);
      assert.equal(result.ok, false, sql);
      assert.ok(result.problems.some((p) => reason.test(p.reason)), `${sql}: ${result.problems.map((p) => p.reason).join(' | ')}`);
    }
  });
});

describe('policy: the tree itself', () => {
  it('refuses malformed and unknown trees instead of throwing', () => {
    for (const tree of [null, 42, 'x', [], {}, { error: false }, { error: false, statements: [{}] }, { error: false, statements: [{ node: { type: 'PIVOT_NODE' } }] }]) {
      const result = analyseCell(tree, aggregate);
      assert.equal(result.ok, false);
    }
    // New grammar: a PIVOT reading no room table is refused for that first; one over a room table is named.
    const pivot = analyseCell({ error: false, statements: [{ node: { type: 'PIVOT_NODE', source: { type: 'BASE_TABLE', table_name: 'admissions' } } }] }, aggregate);
    assert.match(pivot.problems[0]?.reason ?? '', /unknown SQL construct PIVOT_NODE/);
    assert.match(analyseCell({ error: false, statements: [{ node: { type: 'PIVOT_NODE' } }] }, reviewed).problems[0]?.reason ?? '', /unknown SQL construct PIVOT_NODE/);
  });

  it('refuses an unknown expression class and an unknown clause carrying a subtree', async () => {
    const tree = (await sqlTree('SELECT region, count(*) FROM admissions GROUP BY region')) as { statements: { node: Record<string, unknown> }[] };
    const altered = structuredClone(tree);
    (altered.statements[0]?.node as Record<string, unknown>)['select_list'] = [{ class: 'TELEPORT', type: 'TELEPORT' }];
    assert.match(analyseCell(altered, aggregate).problems[0]?.reason ?? '', /unknown SQL construct TELEPORT/);
    const extra = structuredClone(tree);
    (extra.statements[0]?.node as Record<string, unknown>)['leak_clause'] = { class: 'COLUMN_REF', column_names: ['ssn'] };
    assert.match(analyseCell(extra, aggregate).problems[0]?.reason ?? '', /unknown SQL construct leak_clause/);
  });

  it('never quotes a literal from the SQL and gives positions', async () => {
    const result = await verdict("SELECT region, count(*) FROM admissions WHERE patient_id = 'SECRET-4711' AND getenv('TOKEN-99') = '' GROUP BY region");
    assert.equal(result.ok, false);
    for (const problem of result.problems) {
      assert.doesNotMatch(problem.reason, /SECRET|TOKEN/);
      assert.match(problem.position ?? '', /^character \d+$/);
    }
  });
});
