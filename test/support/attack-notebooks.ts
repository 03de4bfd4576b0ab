// Attack notebooks and legitimate ones, as data: percent-format text that a test parses with
// parseNotebook and runs through the real worker over run-fixtures.ts' tables (admissions of a
// hospital, members of an insurer; k = 10). Each attack says what must happen:
//   refused    the run fails with class PolicyRefused at `cell` (0-based), a reason matching `reason`;
//   suppressed the run succeeds, output `output` lost rows to k (suppressedRows > 0) and no row
//              shows the marker patient's group ('90+' / 'north') or values;
//   tolerated  the run succeeds although one person's value would make DuckDB fail (a CAST, a bad
//              regular expression, ln(0), an overflow): that value simply counts as NULL;
//   locked     (reviewed mode) the run fails, by the policy or by DuckDB's lock-down, and nothing is
//              written outside the run folder.

export type AttackExpectation =
  | { readonly kind: 'refused'; readonly cell: number; readonly reason: RegExp }
  | { readonly kind: 'suppressed'; readonly output: number }
  | { readonly kind: 'tolerated'; readonly output: number; readonly sameAs: string }
  | { readonly kind: 'locked'; readonly cell: number };

export interface AttackNotebook {
  readonly name: string;
  readonly notebook: string;
  readonly mode: 'aggregate' | 'reviewed';
  readonly expect: AttackExpectation;
}

const cell = (sql: string): string => `-- %%\n${sql}\n`;
const refused = (name: string, sql: string, reason: RegExp, mode: 'aggregate' | 'reviewed' = 'aggregate'): AttackNotebook => ({
  name,
  notebook: cell(sql),
  mode,
  expect: { kind: 'refused', cell: 0, reason },
});
const suppressed = (name: string, sql: string): AttackNotebook => ({ name, notebook: cell(sql), mode: 'aggregate', expect: { kind: 'suppressed', output: 0 } });
/** `sameAs`: a plain-DuckDB query over admissions, grouped, whose result the run must equal once the test adds the k filter (HAVING). */
const tolerated = (name: string, sql: string, sameAs: string): AttackNotebook => ({
  name,
  notebook: cell(sql),
  mode: 'aggregate',
  expect: { kind: 'tolerated', output: 0, sameAs },
});

/** Files an attack in reviewed mode tries to write; the test checks none of them exists afterwards. */
export const forbiddenTargets = ['/tmp/cleanroom-attack-copy.csv', '/tmp/cleanroom-attack-attach.db', '/tmp/cleanroom-attack-export'];

export const attackNotebooks: readonly AttackNotebook[] = [
  // ---- Reading rows or identifiers out --------------------------------------------------------
  refused('SELECT *', 'SELECT * FROM admissions', /\* is not allowed in aggregate mode/),
  refused('COLUMNS(*)', 'SELECT COLUMNS(*) FROM members', /COLUMNS\(…\) is not allowed/),
  refused('the privacy unit as output', 'SELECT patient_id FROM admissions', /privacy unit patient_id/),
  refused('rows without aggregation', 'SELECT age_band, region FROM admissions', /not aggregated/),
  refused('GROUP BY the privacy unit', 'SELECT count(*) AS n FROM admissions GROUP BY patient_id', /privacy unit patient_id cannot be a group key/),
  refused('GROUP BY a join key', 'SELECT hospital, count(*) FROM admissions GROUP BY hospital', /join key hospital cannot be a group key/),
  refused('GROUP BY a cast of the privacy unit', 'SELECT CAST(patient_id AS VARCHAR) AS p, count(*) FROM admissions GROUP BY ALL', /privacy unit patient_id/),
  refused('a measure as group key', 'SELECT premium, count(*) FROM members GROUP BY premium', /measure premium cannot be a group key/),
  refused('a measure filtered on directly', 'SELECT region, count(*) FROM admissions WHERE cost = 1234.5 GROUP BY region', /measure cost may only be used inside an aggregate/),
  refused('string_agg of an identifier', "SELECT region, string_agg(CAST(patient_id AS VARCHAR), ',') FROM admissions GROUP BY region", /aggregate string_agg reveals individual values/),
  refused('list of an identifier', 'SELECT region, list(patient_id) FROM admissions GROUP BY region', /aggregate list reveals/),
  refused('array_agg of a measure', 'SELECT plan, array_agg(premium) FROM members GROUP BY plan', /aggregate array_agg reveals/),
  refused('first of an identifier', 'SELECT region, first(patient_id) FROM admissions GROUP BY region', /aggregate first reveals/),
  refused('arg_max of an identifier', 'SELECT region, arg_max(patient_id, cost) FROM admissions GROUP BY region', /aggregate arg_max reveals/),
  refused('mode of a measure', 'SELECT region, mode(cost) FROM admissions GROUP BY region', /aggregate mode reveals/),
  refused('quantile of a measure', 'SELECT region, quantile_disc(cost, 0.99) FROM admissions GROUP BY region', /aggregate quantile_disc reveals/),
  refused('max where the owner did not allow it', 'SELECT region, max(cost) FROM admissions GROUP BY region', /max is not allowed over admissions: its owner did not allow min\/max/),
  refused('min through a subquery where not allowed', 'SELECT min(c) FROM (SELECT cost AS c FROM admissions)', /min is not allowed over admissions/),
  refused('a hidden column in WHERE', "SELECT region, count(*) FROM admissions WHERE email LIKE 'MARKER%' GROUP BY region", /column email is hidden/),
  refused('a hidden column inside an aggregate', 'SELECT region, sum(length(email)) FROM admissions GROUP BY region', /column email is hidden/),
  refused('a join key counted', 'SELECT region, count(hospital) FROM admissions GROUP BY region', /join key hospital may only be used in JOIN conditions/),
  refused('a window function', 'SELECT region, sum(cost) OVER (PARTITION BY region) FROM admissions', /window function sum \(OVER\) is not allowed/),
  refused('row_number', 'SELECT region, row_number() OVER () AS r FROM admissions GROUP BY region', /window function row_number/),
  refused('QUALIFY', 'SELECT region, count(*) FROM admissions GROUP BY region QUALIFY count(*) > 1', /QUALIFY is not allowed/),
  refused('a lambda', 'SELECT list_transform([1, 2], x -> x + 1) AS l, count(*) FROM admissions', /lambda functions are not allowed|function list_transform is not allowed/),
  refused('USING SAMPLE', 'SELECT count(*) AS n FROM admissions USING SAMPLE 5', /SAMPLE is not allowed/),
  refused('TABLESAMPLE', 'SELECT region, count(*) FROM admissions TABLESAMPLE 5 GROUP BY region', /SAMPLE is not allowed/),
  refused('a positional join', 'SELECT count(*) FROM admissions POSITIONAL JOIN members', /POSITIONAL JOIN is not allowed/),
  refused('a dimension picking one person inside an aggregate', "SELECT plan, sum(CASE WHEN a.age_band = '90+' THEN m.premium END) AS p FROM admissions a JOIN members m ON a.patient_id = m.patient_id GROUP BY plan", /aggregate sum may take a dimension only as a bare column/),
  refused('a FILTER on a dimension', "SELECT plan, avg(m.premium) FILTER (WHERE a.region = 'north') AS p FROM admissions a JOIN members m ON a.patient_id = m.patient_id GROUP BY plan", /FILTER over a dimension is not allowed/),
  refused('a dimension mixed into a measure in a subquery', "SELECT plan, sum(x) FROM (SELECT m.plan, CASE WHEN a.region = 'north' THEN m.premium ELSE 0 END AS x FROM admissions a JOIN members m ON a.patient_id = m.patient_id) GROUP BY plan", /aggregate sum may take a dimension only as a bare column/),
  refused('a natural join', 'SELECT count(*) FROM admissions NATURAL JOIN members', /NATURAL JOIN is not allowed/),

  // ---- Set operations --------------------------------------------------------------------------
  refused('UNION', 'SELECT region, count(*) FROM admissions GROUP BY region UNION SELECT plan, count(*) FROM members GROUP BY plan', /UNION is not allowed in aggregate mode/),
  refused('EXCEPT', 'SELECT region, count(*) FROM admissions GROUP BY region EXCEPT SELECT plan, count(*) FROM members GROUP BY plan', /EXCEPT is not allowed/),
  refused('INTERSECT', 'SELECT region, count(*) FROM admissions GROUP BY region INTERSECT SELECT plan, count(*) FROM members GROUP BY plan', /INTERSECT is not allowed/),

  // ---- The machine, files and the engine --------------------------------------------------------
  refused("read_csv('/etc/passwd')", "SELECT count(*) FROM read_csv('/etc/passwd')", /table function read_csv is not allowed/),
  refused('read_parquet of the run folder', "SELECT count(*) FROM read_parquet('/dev/shm/*/*/*.parquet')", /table function read_parquet is not allowed/),
  refused('range', 'SELECT count(*) FROM range(10)', /table function range is not allowed/),
  refused('generate_series', 'SELECT count(*) FROM generate_series(1, 10)', /table function generate_series is not allowed/),
  refused('duckdb_settings()', 'SELECT count(*) FROM duckdb_settings()', /table function duckdb_settings is not allowed/),
  refused('current_setting', "SELECT region, count(*) FROM admissions WHERE current_setting('memory_limit') <> '' GROUP BY region", /function current_setting reveals the environment/),
  refused('getenv', "SELECT getenv('HOME') AS home, count(*) FROM admissions", /function getenv reveals the environment/),
  refused('a schema-qualified table', 'SELECT count(*) FROM information_schema.tables', /information_schema\.tables(, which)? is not a table in this room/),
  refused('COPY … TO', "COPY (SELECT region FROM admissions) TO '/tmp/cleanroom-attack-copy.csv'", /only a single SELECT is allowed/),
  refused('ATTACH', "ATTACH '/tmp/cleanroom-attack-attach.db'", /only a single SELECT is allowed/),
  refused('INSTALL', 'INSTALL httpfs', /only a single SELECT is allowed/),
  refused('SET', 'SET threads = 1', /only a single SELECT is allowed/),
  refused('PRAGMA', 'PRAGMA version', /only a single SELECT is allowed/),
  refused('two statements', 'SELECT count(*) FROM admissions; SELECT count(*) FROM members', /only a single SELECT is allowed/),
  refused('a recursive CTE', 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r', /RECURSIVE_CTE_NODE|UNION ALL|unknown SQL construct/),

  // ---- What only the k-guard can see -----------------------------------------------------------------
  refused('a scalar subquery over a protected table', 'SELECT region, (SELECT count(*) FROM members) AS m, count(*) FROM admissions GROUP BY region', /subquery expression reading members cannot be checked for k/),
  refused('EXISTS over a protected table', "SELECT region, count(*) FROM admissions WHERE EXISTS (SELECT count(*) FROM members WHERE plan = 'premium') GROUP BY region", /subquery expression reading members cannot be checked for k|not aggregated/),
  refused('a SEMI JOIN', 'SELECT region, count(*) FROM admissions a SEMI JOIN members m ON a.patient_id = m.patient_id GROUP BY region', /SEMI JOIN with members on the right cannot be checked for k/),
  refused('an ANTI JOIN', 'SELECT region, count(*) FROM admissions a ANTI JOIN members m ON a.patient_id = m.patient_id GROUP BY region', /ANTI JOIN with members on the right cannot be checked for k/),
  refused('SELECT DISTINCT in a subquery', 'SELECT count(*) FROM (SELECT DISTINCT region, age_band FROM admissions)', /SELECT DISTINCT in a subquery over admissions cannot be checked for k/),
  refused('a reserved helper name', 'SELECT region, count(*) AS __cr_k_1 FROM admissions GROUP BY region', /names starting with __cr_ are reserved/),
  refused('naming more columns than a subquery has (to reach a helper column)', 'SELECT count(*) FROM (SELECT region FROM admissions) s(r, extra) GROUP BY extra', /names more columns than its subquery has/),
  {
    name: 'a refusal in the second cell is reported at that cell',
    notebook: `${cell('SELECT region, count(*) AS n FROM admissions GROUP BY region')}${cell('SELECT region, list(patient_id) FROM admissions GROUP BY region')}`,
    mode: 'aggregate',
    expect: { kind: 'refused', cell: 1, reason: /aggregate list reveals/ },
  },

  // ---- Suppressed: the numbers would single out the marker patient -----------------------------------
  suppressed('groups that are one person by a combination of dimensions', 'SELECT age_band, region, count(*) AS admissions, avg(stay_days) FROM admissions GROUP BY age_band, region'),
  suppressed('one person with many rows passes a row count but not a people count', 'SELECT region, count(*) AS n, sum(cost) AS total FROM admissions GROUP BY region'),
  suppressed(
    'a fan-out join multiplying one person into many rows',
    'SELECT a.region, m.plan, count(*) AS rows, avg(m.premium) AS premium FROM admissions a JOIN admissions b ON a.patient_id = b.patient_id JOIN members m ON m.patient_id = a.patient_id GROUP BY a.region, m.plan',
  ),
  suppressed('HAVING count(*) = 12 to pick out one person', 'SELECT age_band, sum(cost) AS total FROM admissions GROUP BY age_band HAVING count(*) >= 12'),
  suppressed('an aggregate over an aggregating subquery of one person', "SELECT sum(s) AS total FROM (SELECT age_band, sum(cost) AS s FROM admissions WHERE region = 'north' GROUP BY age_band)"),
  suppressed('LIMIT 1 inside a subquery', 'SELECT sum(c) AS total FROM (SELECT cost AS c FROM admissions ORDER BY age_band DESC LIMIT 1)'),
  suppressed('a filter down to one person', "SELECT count(*) AS n, avg(m.premium) AS premium FROM admissions a JOIN members m ON a.patient_id = m.patient_id WHERE a.age_band = '90+'"),
  suppressed('a UNION ALL branch of one person', "SELECT plan AS label, count(*) AS n FROM members GROUP BY plan UNION ALL SELECT age_band, count(*) FROM admissions WHERE age_band = '90+' GROUP BY age_band"),
  suppressed('a CTE that keeps only one person', "WITH northern AS (SELECT region, cost FROM admissions WHERE region = 'north') SELECT region, avg(cost) FROM northern GROUP BY region"),

  // ---- Values that fail for one person -----------------------------------------------------------
  tolerated(
    'a CAST that fails only for one person',
    'SELECT region, sum(CAST(score AS INTEGER)) AS s FROM admissions GROUP BY region',
    'SELECT region, sum(TRY_CAST(score AS INTEGER)) AS s FROM admissions GROUP BY region',
  ),
  tolerated(
    'a CAST to a date that fails for one person',
    "SELECT region, count(CAST(score || '-01-01' AS DATE)) AS n FROM admissions GROUP BY region",
    "SELECT region, count(TRY_CAST(score || '-01-01' AS DATE)) AS n FROM admissions GROUP BY region",
  ),
  tolerated(
    "ln(0) only for one person's value",
    'SELECT age_band, sum(ln(stay_days)) AS s FROM admissions GROUP BY age_band',
    'SELECT age_band, sum(CASE WHEN stay_days > 0 THEN ln(stay_days) END) AS s FROM admissions GROUP BY age_band',
  ),
  tolerated(
    "a regular expression taken from one person's value",
    "SELECT region, sum(CASE WHEN regexp_matches('x', score) THEN 1 ELSE 0 END) AS m FROM admissions GROUP BY region",
    "SELECT region, sum(CASE WHEN TRY(regexp_matches('x', score)) THEN 1 ELSE 0 END) AS m FROM admissions GROUP BY region",
  ),
  tolerated(
    'an overflow only for large values',
    'SELECT region, sum(stay_days * 2305843009213693952) AS s FROM admissions GROUP BY region',
    'SELECT region, sum(TRY(stay_days * 2305843009213693952)) AS s FROM admissions GROUP BY region',
  ),
  tolerated(
    'a division by zero only for one person',
    'SELECT region, sum(100 // stay_days) AS s FROM admissions GROUP BY region',
    'SELECT region, sum(100 // stay_days) AS s FROM admissions GROUP BY region',
  ),

  // ---- Reviewed mode: any SELECT, but still locked down ---------------------------------------------
  { name: 'reviewed: COPY … TO', notebook: cell("COPY (SELECT * FROM admissions) TO '/tmp/cleanroom-attack-copy.csv'"), mode: 'reviewed', expect: { kind: 'locked', cell: 0 } },
  { name: 'reviewed: ATTACH', notebook: cell("ATTACH '/tmp/cleanroom-attack-attach.db' AS other"), mode: 'reviewed', expect: { kind: 'locked', cell: 0 } },
  { name: 'reviewed: EXPORT DATABASE', notebook: cell("EXPORT DATABASE '/tmp/cleanroom-attack-export'"), mode: 'reviewed', expect: { kind: 'locked', cell: 0 } },
  { name: "reviewed: read_csv('/etc/passwd')", notebook: cell("SELECT * FROM read_csv('/etc/passwd')"), mode: 'reviewed', expect: { kind: 'locked', cell: 0 } },
  { name: 'reviewed: INSTALL', notebook: cell('INSTALL httpfs'), mode: 'reviewed', expect: { kind: 'locked', cell: 0 } },
  { name: 'reviewed: SET', notebook: cell("SET memory_limit = '100GB'"), mode: 'reviewed', expect: { kind: 'locked', cell: 0 } },
  { name: 'reviewed: a COPY in a later cell', notebook: `${cell('SELECT count(*) FROM admissions')}${cell("COPY admissions TO '/tmp/cleanroom-attack-copy.csv'")}`, mode: 'reviewed', expect: { kind: 'locked', cell: 1 } },
];

/** Notebooks that must run, with an output equal to plain DuckDB's (k filter applied by the test). */
export const legitimateNotebooks: readonly { readonly name: string; readonly notebook: string; readonly plain: string }[] = [
  {
    name: 'readmissions by age band',
    notebook: cell('SELECT age_band, count(*) AS n, avg(CAST(readmitted AS DOUBLE)) AS rate FROM admissions GROUP BY age_band'),
    plain: 'SELECT age_band, count(*) AS n, avg(CAST(readmitted AS DOUBLE)) AS rate FROM admissions GROUP BY age_band',
  },
  {
    name: 'premium by plan and region, joined on the privacy unit',
    notebook: cell('SELECT m.plan, a.region, count(DISTINCT a.patient_id) AS people, avg(m.premium) AS premium FROM admissions a JOIN members m USING (patient_id) GROUP BY m.plan, a.region'),
    plain: 'SELECT m.plan, a.region, count(DISTINCT a.patient_id) AS people, avg(m.premium) AS premium FROM admissions a JOIN members m USING (patient_id) GROUP BY m.plan, a.region',
  },
  {
    name: 'min and max where the owner allowed them',
    notebook: cell('SELECT plan, min(premium) AS low, max(premium) AS high, stddev(premium) AS spread FROM members GROUP BY plan'),
    plain: 'SELECT plan, min(premium) AS low, max(premium) AS high, stddev(premium) AS spread FROM members GROUP BY plan',
  },
];
