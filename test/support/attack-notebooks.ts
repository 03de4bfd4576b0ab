// Attack notebooks and legitimate ones, as data: percent-format text that a test parses with
// parseNotebook and runs through the real worker over run-fixtures.ts' tables (admissions of a
// hospital, members of an insurer; k = 10). Each attack says what must happen:
//   refused    the run fails with class PolicyRefused at `cell` (0-based), a reason matching `reason`;
//   suppressed the run succeeds and nothing of the marker patient shows: their group ('90+' /
//              'north') is removed and their values withheld (NULL), while the same notebook in
//              reviewed mode (no policy) does show them. Since issue 17 removed groups are not
//              counted anywhere (a count of removed groups was an oracle): `suppressedRows` counts
//              the values withheld in released rows, so it equals the NULLs of the output;
//   tolerated  the run succeeds although one person's value would make DuckDB fail (a CAST, an
//              implicit cast, ln(0), an overflow): that value simply counts as NULL;
//   locked     (reviewed mode) the run fails, by the policy or by DuckDB's lock-down, and nothing is
//              written outside the run folder.
//
// Issue 17 replaced the allow-list over DuckDB's tree with a positive grammar (shared/policy/): some
// constructs are refused with a different reason, some that were accepted are refused (arithmetic
// on measures inside aggregates, aggregates in a subquery that is not a per-person pre-aggregation,
// min/max in the final SELECT, self-joins), and some that were refused are accepted and left to the
// per-term guard (a measure compared in WHERE, a FILTER over a dimension). Each such case says why.

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
  // Issue 17: a final SELECT without aggregates is refused as a whole, before its items are looked at.
  refused('SELECT *', 'SELECT * FROM admissions', /the output is not aggregated/),
  refused('COLUMNS(*)', 'SELECT COLUMNS(*) FROM members', /the output is not aggregated/),
  refused('the privacy unit as output', 'SELECT patient_id FROM admissions', /the output is not aggregated/),
  refused('rows without aggregation', 'SELECT age_band, region FROM admissions', /not aggregated/),
  refused('GROUP BY the privacy unit', 'SELECT count(*) AS n FROM admissions GROUP BY patient_id', /privacy unit patient_id cannot be a group key/),
  refused('GROUP BY a join key', 'SELECT hospital, count(*) FROM admissions GROUP BY hospital', /join key hospital cannot be a group key/),
  refused('GROUP BY a cast of the privacy unit', 'SELECT CAST(patient_id AS VARCHAR) AS p, count(*) FROM admissions GROUP BY ALL', /privacy unit patient_id may only be used in JOIN conditions, count\(DISTINCT …\) and a per-person GROUP BY, not inside CAST/),
  refused('a measure as group key', 'SELECT premium, count(*) FROM members GROUP BY premium', /measure premium cannot be a group key/),
  // Issue 17: a measure may be compared with a constant in WHERE (the grammar allows it); the rows it
  // keeps are the marker patient's alone, so their group is removed (and not counted).
  suppressed('a measure filtered on directly', 'SELECT region, count(*) FROM admissions WHERE cost = 1234.5 GROUP BY region'),
  refused('string_agg of an identifier', "SELECT region, string_agg(CAST(patient_id AS VARCHAR), ',') FROM admissions GROUP BY region", /aggregate string_agg reveals individual values/),
  refused('list of an identifier', 'SELECT region, list(patient_id) FROM admissions GROUP BY region', /aggregate list reveals/),
  refused('array_agg of a measure', 'SELECT plan, array_agg(premium) FROM members GROUP BY plan', /aggregate array_agg reveals/),
  refused('first of an identifier', 'SELECT region, first(patient_id) FROM admissions GROUP BY region', /aggregate first reveals/),
  refused('arg_max of an identifier', 'SELECT region, arg_max(patient_id, cost) FROM admissions GROUP BY region', /aggregate arg_max reveals/),
  refused('mode of a measure', 'SELECT region, mode(cost) FROM admissions GROUP BY region', /aggregate mode reveals/),
  refused('quantile of a measure', 'SELECT region, quantile_disc(cost, 0.99) FROM admissions GROUP BY region', /aggregate quantile_disc reveals/),
  // Issue 17: min and max are refused in the final SELECT whatever the owner allows (they are one
  // person's value); a per-person pre-aggregation may still use them.
  refused('max where the owner did not allow it', 'SELECT region, max(cost) FROM admissions GROUP BY region', /aggregate max reveals one person's value and is not allowed in aggregate mode/),
  refused('min through a subquery where not allowed', 'SELECT min(c) FROM (SELECT cost AS c FROM admissions)', /aggregate min reveals one person's value/),
  refused('min and max where the owner allowed them', 'SELECT plan, min(premium) AS low, max(premium) AS high FROM members GROUP BY plan', /aggregate min reveals one person's value/),
  refused('a hidden column in WHERE', "SELECT region, count(*) FROM admissions WHERE email LIKE 'MARKER%' GROUP BY region", /column email is hidden/),
  refused('a hidden column inside an aggregate', 'SELECT region, sum(length(email)) FROM admissions GROUP BY region', /column email is hidden/),
  refused('a join key counted', 'SELECT region, count(hospital) FROM admissions GROUP BY region', /join key hospital may only be used in JOIN conditions/),
  // Issue 17: without GROUP BY the SELECT is refused as not aggregated before the window is seen;
  // with one, the window function itself is named.
  refused('a window function', 'SELECT region, sum(cost) OVER (PARTITION BY region) FROM admissions', /the output is not aggregated/),
  refused('a window function next to GROUP BY', 'SELECT region, sum(cost) OVER (PARTITION BY region) AS s FROM admissions GROUP BY region', /window function sum \(OVER\) is not allowed/),
  refused('row_number', 'SELECT region, row_number() OVER () AS r FROM admissions GROUP BY region', /window function row_number/),
  refused('QUALIFY', 'SELECT region, count(*) FROM admissions GROUP BY region QUALIFY count(*) > 1', /QUALIFY is not allowed/),
  refused('a lambda', 'SELECT list_transform([1, 2], x -> x + 1) AS l, count(*) FROM admissions', /lambda functions are not allowed|function list_transform is not allowed/),
  refused('USING SAMPLE', 'SELECT count(*) AS n FROM admissions USING SAMPLE 5', /SAMPLE is not allowed/),
  refused('TABLESAMPLE', 'SELECT region, count(*) FROM admissions TABLESAMPLE 5 GROUP BY region', /USING SAMPLE and TABLESAMPLE are not allowed/),
  refused('a positional join', 'SELECT count(*) FROM admissions POSITIONAL JOIN members', /POSITIONAL JOIN is not allowed/),
  // Issue 17: a CASE may test dimensions but not carry a measure (use FILTER for that).
  refused('a dimension picking one person inside an aggregate', "SELECT plan, sum(CASE WHEN a.age_band = '90+' THEN m.premium END) AS p FROM admissions a JOIN members m ON a.patient_id = m.patient_id GROUP BY plan", /measure premium may not be used in CASE: only dimensions and constants/),
  // Issue 17: FILTER over a dimension is part of the grammar; the term's contributors are counted
  // (only the marker patient is in the north), so the value is withheld in every plan's row.
  suppressed('a FILTER on a dimension', "SELECT plan, avg(m.premium) FILTER (WHERE a.region = 'north') AS p FROM admissions a JOIN members m ON a.patient_id = m.patient_id GROUP BY plan"),
  refused('a dimension mixed into a measure in a subquery', "SELECT plan, sum(x) FROM (SELECT m.plan, CASE WHEN a.region = 'north' THEN m.premium ELSE 0 END AS x FROM admissions a JOIN members m ON a.patient_id = m.patient_id) GROUP BY plan", /measure premium may not be used in CASE: only dimensions and constants/),
  refused('a natural join', 'SELECT count(*) FROM admissions NATURAL JOIN members', /NATURAL JOIN is not allowed/),

  // ---- Set operations --------------------------------------------------------------------------
  refused('UNION', 'SELECT region, count(*) FROM admissions GROUP BY region UNION SELECT plan, count(*) FROM members GROUP BY plan', /UNION is not allowed in aggregate mode: only UNION ALL/),
  refused('EXCEPT', 'SELECT region, count(*) FROM admissions GROUP BY region EXCEPT SELECT plan, count(*) FROM members GROUP BY plan', /EXCEPT is not allowed/),
  refused('INTERSECT', 'SELECT region, count(*) FROM admissions GROUP BY region INTERSECT SELECT plan, count(*) FROM members GROUP BY plan', /INTERSECT is not allowed/),

  // ---- The machine, files and the engine --------------------------------------------------------
  // Issue 17: a cell that reads nothing but a table function is refused for reading no room table;
  // joined to a room table, the table function itself is named.
  refused("read_csv('/etc/passwd')", "SELECT count(*) FROM read_csv('/etc/passwd')", /the cell reads no room table/),
  refused("read_csv('/etc/passwd') joined to a room table", "SELECT a.region, count(*) FROM admissions a JOIN read_csv('/etc/passwd') r ON a.region = r.column0 GROUP BY a.region", /table function read_csv is not allowed/),
  refused('read_parquet of the run folder', "SELECT count(*) FROM read_parquet('/dev/shm/*/*/*.parquet')", /the cell reads no room table/),
  refused('range', 'SELECT count(*) FROM range(10)', /the cell reads no room table/),
  refused('range beside a room table', 'SELECT region, count(*) FROM admissions, range(10) GROUP BY region', /CROSS JOIN \(or a comma between tables\) is not allowed/),
  refused('generate_series', 'SELECT count(*) FROM generate_series(1, 10)', /the cell reads no room table/),
  refused('duckdb_settings()', 'SELECT count(*) FROM duckdb_settings()', /the cell reads no room table/),
  refused('current_setting', "SELECT region, count(*) FROM admissions WHERE current_setting('memory_limit') <> '' GROUP BY region", /function current_setting reveals the environment/),
  refused('getenv', "SELECT getenv('HOME') AS home, count(*) FROM admissions", /function getenv reveals the environment/),
  // Issue 17: the worker's policy refuses the schema-qualified name itself; core's check names the table first.
  refused('a schema-qualified table', 'SELECT count(*) FROM information_schema.tables', /schema-qualified table tables is not allowed: read room tables only|information_schema\.tables, which is not a table in this room/),
  refused('COPY … TO', "COPY (SELECT region FROM admissions) TO '/tmp/cleanroom-attack-copy.csv'", /only a single SELECT is allowed/),
  refused('ATTACH', "ATTACH '/tmp/cleanroom-attack-attach.db'", /only a single SELECT is allowed/),
  refused('INSTALL', 'INSTALL httpfs', /only a single SELECT is allowed/),
  refused('SET', 'SET threads = 1', /only a single SELECT is allowed/),
  refused('PRAGMA', 'PRAGMA version', /only a single SELECT is allowed/),
  refused('two statements', 'SELECT count(*) FROM admissions; SELECT count(*) FROM members', /only a single SELECT is allowed/),
  // Issue 17: a recursive CTE reads no room table (a constant relation); beside one it is a cross join.
  refused('a recursive CTE', 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r', /the cell reads no room table/),

  // ---- What only the k-guard can see -----------------------------------------------------------------
  // Issue 17: subquery expressions, SEMI/ANTI joins and DISTINCT in a subquery are outside the
  // grammar (refused as constructs, whatever they read), rather than refused for what k cannot count.
  refused('a scalar subquery over a protected table', 'SELECT region, (SELECT count(*) FROM members) AS m, count(*) FROM admissions GROUP BY region', /a subquery expression \(scalar, IN, EXISTS\) is not allowed in aggregate mode/),
  refused('EXISTS over a protected table', "SELECT region, count(*) FROM admissions WHERE EXISTS (SELECT count(*) FROM members WHERE plan = 'premium') GROUP BY region", /a subquery expression \(scalar, IN, EXISTS\) is not allowed in aggregate mode/),
  refused('a SEMI JOIN', 'SELECT region, count(*) FROM admissions a SEMI JOIN members m ON a.patient_id = m.patient_id GROUP BY region', /SEMI JOIN is not allowed in aggregate mode: use an inner or left join/),
  refused('an ANTI JOIN', 'SELECT region, count(*) FROM admissions a ANTI JOIN members m ON a.patient_id = m.patient_id GROUP BY region', /ANTI JOIN is not allowed in aggregate mode: use an inner or left join/),
  refused('SELECT DISTINCT in a subquery', 'SELECT count(*) FROM (SELECT DISTINCT region, age_band FROM admissions)', /ORDER BY, LIMIT and DISTINCT are allowed on the final output only/),
  refused('a reserved helper name', 'SELECT region, count(*) AS __cr_k_1 FROM admissions GROUP BY region', /names starting with __cr_ are reserved/),
  refused('naming more columns than a subquery has (to reach a helper column)', 'SELECT count(*) FROM (SELECT region FROM admissions) s(r, extra) GROUP BY extra', /s names more columns than its query has/),
  {
    name: 'a refusal in the second cell is reported at that cell',
    notebook: `${cell('SELECT region, count(*) AS n FROM admissions GROUP BY region')}${cell('SELECT region, list(patient_id) FROM admissions GROUP BY region')}`,
    mode: 'aggregate',
    expect: { kind: 'refused', cell: 1, reason: /aggregate list reveals/ },
  },

  // ---- Suppressed: the numbers would single out the marker patient -----------------------------------
  suppressed('groups that are one person by a combination of dimensions', 'SELECT age_band, region, count(*) AS admissions, avg(stay_days) FROM admissions GROUP BY age_band, region'),
  suppressed('one person with many rows passes a row count but not a people count', 'SELECT region, count(*) AS n, sum(cost) AS total FROM admissions GROUP BY region'),
  // Issue 17: a table read twice in one query (a self-join) is outside the grammar.
  refused(
    'a fan-out join multiplying one person into many rows',
    'SELECT a.region, m.plan, count(*) AS rows, avg(m.premium) AS premium FROM admissions a JOIN admissions b ON a.patient_id = b.patient_id JOIN members m ON m.patient_id = a.patient_id GROUP BY a.region, m.plan',
    /admissions is read twice in one query: a self-join is not allowed in aggregate mode/,
  ),
  suppressed('HAVING count(*) = 12 to pick out one person', 'SELECT age_band, sum(cost) AS total FROM admissions GROUP BY age_band HAVING count(*) >= 12'),
  // Issue 17: an aggregating subquery must be a per-person pre-aggregation (GROUP BY the privacy
  // unit); aggregates of groups of people there would come out as free values (class 4).
  refused(
    'an aggregate over an aggregating subquery of one person',
    "SELECT sum(s) AS total FROM (SELECT age_band, sum(cost) AS s FROM admissions WHERE region = 'north' GROUP BY age_band)",
    /an aggregating subquery must GROUP BY a privacy unit/,
  ),
  suppressed('a per-person pre-aggregation of one person', "SELECT count(*) AS people, sum(s) / 12 AS per_visit FROM (SELECT patient_id, sum(cost) AS s FROM admissions WHERE region = 'north' GROUP BY patient_id)"),
  // Issue 17: ORDER BY and LIMIT are allowed on the final output only (applied to released values).
  refused('LIMIT 1 inside a subquery', 'SELECT sum(c) AS total FROM (SELECT cost AS c FROM admissions ORDER BY age_band DESC LIMIT 1)', /ORDER BY, LIMIT and DISTINCT are allowed on the final output only/),
  suppressed('ORDER BY and LIMIT on the output pick the marker patient\'s group first', 'SELECT age_band, sum(cost) AS total FROM admissions GROUP BY age_band ORDER BY age_band DESC LIMIT 1'),
  suppressed('a filter down to one person', "SELECT count(*) AS n, avg(m.premium) AS premium FROM admissions a JOIN members m ON a.patient_id = m.patient_id WHERE a.age_band = '90+'"),
  suppressed('a UNION ALL branch of one person', "SELECT plan AS label, count(*) AS n FROM members GROUP BY plan UNION ALL SELECT age_band, count(*) FROM admissions WHERE age_band = '90+' GROUP BY age_band"),
  suppressed('a CTE that keeps only one person', "WITH northern AS (SELECT region, cost FROM admissions WHERE region = 'north') SELECT region, avg(cost) FROM northern GROUP BY region"),

  // ---- Values that fail for one person -----------------------------------------------------------
  tolerated(
    'a CAST that fails only for one person',
    'SELECT region, sum(CAST(score AS INTEGER)) AS s FROM admissions GROUP BY region',
    'SELECT region, sum(TRY_CAST(score AS INTEGER)) AS s FROM admissions GROUP BY region',
  ),
  // Issue 17: a measure inside an aggregate must be bare (or scaled by a constant): functions of it
  // are arithmetic encodings (sum(power(64, m)) is a histogram), refused rather than tolerated.
  refused('a CAST to a date that fails for one person', "SELECT region, count(CAST(score || '-01-01' AS DATE)) AS n FROM admissions GROUP BY region", /measure score may only be used bare \(or scaled by a constant\) inside an aggregate/),
  refused("ln(0) only for one person's value", 'SELECT age_band, sum(ln(stay_days)) AS s FROM admissions GROUP BY age_band', /measure stay_days may only be used bare \(or scaled by a constant\) inside an aggregate, or compared with a constant in WHERE — not inside ln/),
  refused("a regular expression taken from one person's value", "SELECT region, sum(CASE WHEN regexp_matches('x', score) THEN 1 ELSE 0 END) AS m FROM admissions GROUP BY region", /function regexp_matches is not allowed in aggregate mode/),
  refused('an arithmetic encoding of a histogram', 'SELECT region, sum(power(64, stay_days)) AS h FROM admissions GROUP BY region', /measure stay_days may only be used bare \(or scaled by a constant\) inside an aggregate/),
  tolerated(
    "ln of an aggregate that is 0 only in the marker patient's group",
    'SELECT age_band, ln(sum(stay_days)) AS l FROM admissions GROUP BY age_band',
    'SELECT age_band, CASE WHEN sum(stay_days) > 0 THEN ln(sum(stay_days)) END AS l FROM admissions GROUP BY age_band',
  ),
  tolerated(
    "an implicit cast in a comparison that fails for one person's value",
    'SELECT region, count(*) AS n FROM admissions WHERE score <> 10 GROUP BY region',
    'SELECT region, count(*) AS n FROM admissions WHERE TRY_CAST(score AS INTEGER) <> 10 GROUP BY region',
  ),
  tolerated(
    "an implicit cast in a long IN list that fails for one person's value",
    `SELECT count(*) AS n FROM admissions WHERE score IN (${Array.from({ length: 25 }, (_, value) => value + 1).join(', ')})`,
    `SELECT count(*) AS n FROM admissions WHERE TRY_CAST(score AS INTEGER) IN (${Array.from({ length: 25 }, (_, value) => value + 1).join(', ')})`,
  ),
  tolerated(
    'an overflow only for large values',
    'SELECT region, sum(stay_days * 2305843009213693952) AS s FROM admissions GROUP BY region',
    'SELECT region, sum(TRY(stay_days * 2305843009213693952)) AS s FROM admissions GROUP BY region',
  ),
  // Issue 17: a function of a measure inside an aggregate (see above).
  refused('a division by zero only for one person', 'SELECT region, sum(100 // stay_days) AS s FROM admissions GROUP BY region', /measure stay_days may only be used bare \(or scaled by a constant\) inside an aggregate/),

  // ---- Reviewed mode: any SELECT, but still locked down ---------------------------------------------
  { name: 'reviewed: COPY … TO', notebook: cell("COPY (SELECT * FROM admissions) TO '/tmp/cleanroom-attack-copy.csv'"), mode: 'reviewed', expect: { kind: 'locked', cell: 0 } },
  { name: 'reviewed: ATTACH', notebook: cell("ATTACH '/tmp/cleanroom-attack-attach.db' AS other"), mode: 'reviewed', expect: { kind: 'locked', cell: 0 } },
  { name: 'reviewed: EXPORT DATABASE', notebook: cell("EXPORT DATABASE '/tmp/cleanroom-attack-export'"), mode: 'reviewed', expect: { kind: 'locked', cell: 0 } },
  { name: "reviewed: read_csv('/etc/passwd')", notebook: cell("SELECT * FROM read_csv('/etc/passwd')"), mode: 'reviewed', expect: { kind: 'locked', cell: 0 } },
  { name: 'reviewed: INSTALL', notebook: cell('INSTALL httpfs'), mode: 'reviewed', expect: { kind: 'locked', cell: 0 } },
  { name: 'reviewed: SET', notebook: cell("SET memory_limit = '100GB'"), mode: 'reviewed', expect: { kind: 'locked', cell: 0 } },
  { name: 'reviewed: a COPY in a later cell', notebook: `${cell('SELECT count(*) FROM admissions')}${cell("COPY admissions TO '/tmp/cleanroom-attack-copy.csv'")}`, mode: 'reviewed', expect: { kind: 'locked', cell: 1 } },
];

/**
 * Notebooks that must run, with an output equal to plain DuckDB's `plain` query, which applies k
 * itself (HAVING on the people of every protected table read): removed groups are not counted
 * since issue 17, so the plain answer has to leave them out rather than the test counting them.
 */
export const legitimateNotebooks: readonly { readonly name: string; readonly notebook: string; readonly plain: string }[] = [
  {
    name: 'readmissions by age band',
    notebook: cell('SELECT age_band, count(*) AS n, avg(CAST(readmitted AS DOUBLE)) AS rate FROM admissions GROUP BY age_band'),
    plain: 'SELECT age_band, count(*) AS n, avg(CAST(readmitted AS DOUBLE)) AS rate FROM admissions GROUP BY age_band HAVING count(DISTINCT patient_id) >= 10',
  },
  {
    name: 'premium by plan and region, joined on the privacy unit',
    notebook: cell('SELECT m.plan, a.region, count(DISTINCT a.patient_id) AS people, avg(m.premium) AS premium FROM admissions a JOIN members m USING (patient_id) GROUP BY m.plan, a.region'),
    plain:
      'SELECT m.plan, a.region, count(DISTINCT a.patient_id) AS people, avg(m.premium) AS premium FROM admissions a JOIN members m USING (patient_id) GROUP BY m.plan, a.region HAVING count(DISTINCT a.patient_id) >= 10 AND count(DISTINCT m.patient_id) >= 10',
  },
  {
    // Issue 17: was "min and max where the owner allowed them"; min and max are now refused in the
    // final SELECT (see the attacks), so this keeps the spread and the mean.
    name: 'spread and mean of premiums by plan',
    notebook: cell('SELECT plan, stddev(premium) AS spread, avg(premium) AS mean FROM members GROUP BY plan'),
    plain: 'SELECT plan, stddev(premium) AS spread, avg(premium) AS mean FROM members GROUP BY plan HAVING count(DISTINCT patient_id) >= 10',
  },
];
