// Attacks by class (issue 17, classes 1–6 and 8), as data, each aimed at one named person's secret.
//
// The attacker knows the target's patient_id (250000: the insurer has them as a member) and their
// quasi-identifier (a woman aged 71-89 in the north: nobody else in the hospital's table is), and
// writes notebooks the other members approve. Each case is run by test/integration/attack-classes.test.ts
// through the real worker on two versions of the hospital's table that differ ONLY in the target's
// secret:
//   cost       every one of the target's 6 visits costs 1234.5, or 9876.25;
//   diagnosis  the target's diagnosis is 'HIV', or 'flu';
//   presence   the target's visits are in the table, or not.
// Everything each run gives back (outputs: columns, rows, suppressedRows; failure: class, cell,
// reasons; for cross-run cases every run, the later ones given the earlier ones' differencing
// ledger) is the attacker's "view". (The run's `released` sketches are not: core keeps them in the
// home's ledger and shows them to nobody.) The two views must be identical: then no computation over
// what was returned can tell the two secrets apart, so the secret cannot be computed from it. Each
// case also runs the attacker's own computation (`recovers`) on both views: an exact value must come
// out in neither, a yes/no answer (presence, diagnosis, "above 5000?") must not be right in both.
// As a control the same notebooks run in reviewed mode (plain DuckDB, no policy), where the same
// computation must recover the secret — so a case cannot pass because its SQL is broken.
//
// Notebooks are written so that whatever a correct guard lets out does not involve the target:
// where an attack needs a "total" and a "part", the part without the target comes first (the guard
// decides greedily in output / row / term order), so under a correct guard what remains is
// independent of the secret, and any difference between the views IS the leak. Where a value over
// k or more people including the target is released by design (a complementary total), the case
// lists it in `mayDiffer` with the reason, and only the attacker's computation is asserted there.
import { type ColumnRole } from '../../shared/asset.js';
import { type RunResult } from '../../shared/worker-protocol.js';
import { type TableSpec } from './run-fixtures.js';

export const k = 5;
/** The target's privacy unit: the largest patient_id in the table. */
export const targetId = 250_000;
/** The target's quasi-identifier: exactly one person in the hospital's table matches it. */
export const targetIs = "age_band = '71-89' AND region = 'north' AND sex = 'F'";
/** The target's visits: every aggregate over them alone is this many rows. */
export const targetVisits = 6;

export type SecretKind = 'cost' | 'diagnosis' | 'presence';
export type Secret = number | string | boolean;
/** The two versions of the secret each case is run with; the first is also every other case's baseline. */
export const secretPairs: { readonly [K in SecretKind]: readonly [Secret, Secret] } = {
  cost: [1234.5, 9876.25],
  diagnosis: ['HIV', 'flu'],
  presence: [true, false],
};

// ---- The tables -----------------------------------------------------------------------------

type Value = string | number | boolean | null;
const regions = ['east', 'west', 'south', 'north'];
const ageBands = ['18-30', '31-50', '51-70', '71-89'];
const sexes = ['F', 'M'];
/** By position in a cell of 8: every cell has exactly 2 people with HIV and 2 with flu. */
const diagnosisByPosition = ['HIV', 'HIV', 'flu', 'flu', 'asthma', 'asthma', 'diabetes', 'fracture'];
/** Everyone but the target: 8 people in each (region, age band, sex) cell, and none in the target's cell. */
export const population: readonly { id: number; region: string; ageBand: string; sex: string; diagnosis: string }[] = (() => {
  const people: { id: number; region: string; ageBand: string; sex: string; diagnosis: string }[] = [];
  let id = 200_000;
  for (const region of regions) {
    for (const ageBand of ageBands) {
      for (const sex of sexes) {
        if (region === 'north' && ageBand === '71-89' && sex === 'F') continue;
        for (let position = 0; position < 8; position++) people.push({ id: ++id, region, ageBand, sex, diagnosis: diagnosisByPosition[position] as string });
      }
    }
  }
  return people;
})();

const visitsColumns: { name: string; role: ColumnRole }[] = [
  { name: 'patient_id', role: 'privacy_unit' },
  { name: 'clinic', role: 'join_key' },
  { name: 'age_band', role: 'dimension' },
  { name: 'region', role: 'dimension' },
  { name: 'sex', role: 'dimension' },
  { name: 'diagnosis', role: 'dimension' },
  { name: 'cost', role: 'measure' },
  { name: 'stay_days', role: 'measure' },
  { name: 'ward', role: 'dimension' },
  { name: 'lab', role: 'measure' },
];

export interface VisitsVersion {
  readonly cost: number;
  readonly diagnosis: string;
  readonly present: boolean;
}
export const baseline: VisitsVersion = { cost: 1234.5, diagnosis: 'HIV', present: true };

/** The version of the hospital's table where the target's secret of `kind` is `secret`. */
export function versionFor(kind: SecretKind, secret: Secret): VisitsVersion {
  if (kind === 'cost') return { ...baseline, cost: secret as number };
  if (kind === 'diagnosis') return { ...baseline, diagnosis: secret as string };
  return { ...baseline, present: secret as boolean };
}

/**
 * Everyone's visits: 1–3 each, costs 40–361 (never above 1000); the target has 6, all alike. Wards
 * (a dimension) are codes '01'…'09' and lab results (a measure) '00'…'06' — text: the leading zero
 * keeps both columns VARCHAR with or without the target — except the target's, 'ICU' and
 * 'pending', the only values that do not cast to a number.
 */
export function visitsRows(version: VisitsVersion): Value[][] {
  const rows: Value[][] = [];
  for (const person of population) {
    const visits = 1 + (person.id % 3);
    for (let visit = 0; visit < visits; visit++) {
      rows.push([person.id, `c${person.id % 4}`, person.ageBand, person.region, person.sex, person.diagnosis, 40 + ((person.id * 37) % 300) + visit * 10.5, (person.id % 7) + visit, `0${1 + (person.id % 9)}`, `0${person.id % 7}`]);
    }
  }
  if (version.present) {
    for (let visit = 0; visit < targetVisits; visit++) rows.push([targetId, 'c1', '71-89', 'north', 'F', version.diagnosis, version.cost, 4 + visit, 'ICU', 'pending']);
  }
  return rows;
}

/** The hospital's visits. min/max not allowed. */
export const visitsSpec = (version: VisitsVersion): TableSpec => ({ name: 'visits', allowMinMax: false, columns: visitsColumns, rows: visitsRows(version) });

/** The insurer's members: nobody from the north but the target, and a quarter of the others missing. */
export function membersSpec(): TableSpec {
  const rows: Value[][] = population.filter((person) => person.region !== 'north' && person.id % 4 !== 0).map((person) => [person.id, ['bronze', 'silver', 'gold'][person.id % 3] as string, 100 + (person.id % 40) * 5]);
  rows.push([targetId, 'gold', 310]);
  return {
    name: 'members',
    allowMinMax: true,
    columns: [
      { name: 'patient_id', role: 'privacy_unit' },
      { name: 'plan', role: 'dimension' },
      { name: 'premium', role: 'measure' },
    ],
    rows,
  };
}

/** Nine real patients the attacker names next to the target (the first nine of the east's 18-30 women). */
export const decoys = population.slice(0, 9).map((person) => person.id);

/**
 * The runner's own "referrals": a protected table of made-up people. Channel 'a' holds one referral
 * of each decoy; channel 'b' 20 referrals of the target and one of each decoy. Channels 'c' and 'd'
 * weight the decoys instead: one referral of the target in each, 10 of each decoy in 'c', 20 in 'd'.
 */
export function referralsSpec(): TableSpec {
  const rows: Value[][] = [];
  let ref = 900_000;
  for (const decoy of decoys) rows.push([++ref, decoy, 'a']);
  for (let copy = 0; copy < 20; copy++) rows.push([++ref, targetId, 'b']);
  for (const decoy of decoys) rows.push([++ref, decoy, 'b']);
  for (const [channel, copies] of [['c', 10], ['d', 20]] as const) {
    rows.push([++ref, targetId, channel]);
    for (const decoy of decoys) for (let copy = 0; copy < copies; copy++) rows.push([++ref, decoy, channel]);
  }
  return {
    name: 'referrals',
    allowMinMax: false,
    columns: [
      { name: 'ref_id', role: 'privacy_unit' },
      { name: 'patient_id', role: 'join_key' },
      { name: 'channel', role: 'dimension' },
    ],
    rows,
  };
}

/** The runner's public lookup (no privacy unit): one row naming the target. */
export const watchlistSpec = (): TableSpec => ({
  name: 'watchlist',
  allowMinMax: false,
  columns: [
    { name: 'pid', role: 'dimension' },
    { name: 'label', role: 'dimension' },
  ],
  rows: [[targetId, 'target']],
});

/** Rows of the hospital's table without the target (the same in every version). */
export const othersVisitRows = visitsRows({ ...baseline, present: false }).length;

/** A private library (name → file text) a case's notebooks use. */
export const libraries: Readonly<Record<string, string>> = {
  adjustments: [
    '-- Cost adjustments (private to the attacker)',
    'CREATE MACRO adjusted(c) AS c * CAST(c > 1000 AS INTEGER);',
    '',
  ].join('\n'),
};

// ---- What a run gives back --------------------------------------------------------------------

export interface ViewOutput {
  readonly name: string;
  readonly cell: number;
  readonly columns: readonly string[];
  /** Sorted: the order DuckDB emits groups in is not part of what the policy decides. */
  readonly rows: readonly (readonly (string | null)[])[];
  readonly suppressedRows: number;
}
export interface RunView {
  readonly outputs: readonly ViewOutput[];
  readonly failure: RunResult['failure'];
}

/** Everything a run returns to the runner, as the attacker reads it. */
export function viewOf(result: RunResult): RunView {
  return {
    outputs: result.outputs.map((output) => ({
      name: output.name,
      cell: output.cell,
      columns: output.columns.map((column) => `${column.name}:${column.type}`),
      rows: [...output.rows].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0)),
      suppressedRows: output.suppressedRows,
    })),
    failure: result.failure,
  };
}

const outputOf = (view: RunView | undefined, output: string): ViewOutput | undefined => view?.outputs.find((candidate) => candidate.name === output);
const columnIndex = (output: ViewOutput, column: string): number => output.columns.findIndex((candidate) => candidate.split(':')[0] === column);

/** The row of `output` whose columns equal `key` (all of them), or undefined. */
export function rowOf(view: RunView | undefined, output: string, key: Readonly<Record<string, string>>): (readonly (string | null)[]) | undefined {
  const found = outputOf(view, output);
  if (found === undefined) return undefined;
  return found.rows.find((row) => Object.entries(key).every(([column, value]) => row[columnIndex(found, column)] === value));
}

/** A released value as a number: NaN when the output, the row or the value is not there (withheld, removed, refused). */
export function num(view: RunView | undefined, output: string, key: Readonly<Record<string, string>>, column: string): number {
  const found = outputOf(view, output);
  const row = rowOf(view, output, key);
  if (found === undefined || row === undefined) return Number.NaN;
  const value = row[columnIndex(found, column)];
  return value === null || value === undefined ? Number.NaN : Number(value);
}

export const suppressedIn = (view: RunView | undefined, output: string): number => outputOf(view, output)?.suppressedRows ?? 0;
export const near = (a: number, b: number): boolean => Number.isFinite(a) && Math.abs(a - b) < 0.01;

// ---- The cases -----------------------------------------------------------------------------------

export type AttackClass = 1 | 2 | 3 | 4 | 5 | 6 | 8;

export interface ClassCase {
  readonly attackClass: AttackClass;
  readonly name: string;
  readonly secret: SecretKind;
  /** One notebook text per run, in order; run n > 1 is given the differencing ledger of runs 1..n-1. */
  readonly runs: readonly string[];
  /** The request's maxOutputRows (the worker's limit on one output), when the case needs one. */
  readonly maxOutputRows?: number;
  /** Library names (keys of `libraries`) the notebooks use. */
  readonly libraries?: readonly string[];
  /** What the attacker computes, and why equal views prove they cannot. */
  readonly computes: string;
  /** The attacker's computation over every run's view: true when it yields `secret`. */
  readonly recovers: (views: readonly RunView[], secret: Secret) => boolean;
  /** Values released by design that may legitimately differ (over k or more people including the target). */
  readonly mayDiffer?: readonly { readonly output: string; readonly key: Readonly<Record<string, string>>; readonly column: string; readonly why: string }[];
  /**
   * 'exact' (default for cost): the computation gives the value, and must not in either version.
   * 'binary': it answers a yes/no question that tells the two versions apart (is the cost above
   * 5000?), and must not be right in both.
   */
  readonly inference?: 'exact' | 'binary';
  /** 'none' when the reviewed-mode control cannot apply (the attack reads what suppression left out). */
  readonly control?: 'reviewed' | 'none';
}

const cell = (output: string, sql: string): string => `-- %% output=${output}\n${sql}\n`;
const nb = (...cells: string[]): string => cells.join('');
/** The attacker's guess of a cost from the sum of the target's 6 visits. */
const costFrom = (sum: number): number => sum / targetVisits;

export const classCases: readonly ClassCase[] = [
  // ---- 1. Role-free selectors -------------------------------------------------------------------
  {
    attackClass: 1,
    name: 'a constant relation LEFT JOINed on the unit carries z onto the target\'s rows only',
    secret: 'cost',
    runs: [nb(cell('by_region', 'SELECT v.region, sum(v.cost + t.z) AS s FROM visits v LEFT JOIN (SELECT 250000 AS id, 0 AS z) t ON v.patient_id = t.id GROUP BY v.region'))],
    computes: 's(north) / 6: cost + z is NULL except on the target\'s rows, so the north sum (57 people behind the row) is theirs alone.',
    recovers: ([view], secret) => near(costFrom(num(view, 'by_region', { region: 'north' }, 's')), secret as number),
  },
  {
    attackClass: 1,
    name: 'VALUES as a selector, counted inside a large group',
    secret: 'diagnosis',
    runs: [nb(cell('hits', "SELECT v.sex, count(t.flag) AS hits FROM visits v LEFT JOIN (VALUES (250000, 1)) t(id, flag) ON v.patient_id = t.id WHERE v.diagnosis = 'HIV' GROUP BY v.sex"))],
    computes: "hits(F) > 0 means the target's visits passed WHERE diagnosis = 'HIV'.",
    recovers: ([view], secret) => (num(view, 'hits', { sex: 'F' }, 'hits') > 0 ? 'HIV' : 'flu') === secret,
  },
  {
    attackClass: 1,
    name: "the runner's public lookup table names the target and is LEFT JOINed to the privacy unit",
    secret: 'presence',
    runs: [nb(cell('flagged', 'SELECT v.age_band, count(w.label) AS flagged FROM visits v LEFT JOIN watchlist w ON v.patient_id = w.pid GROUP BY v.age_band'))],
    computes: 'flagged(71-89) > 0 means the target has visits.',
    recovers: ([view], secret) => num(view, 'flagged', { age_band: '71-89' }, 'flagged') > 0 === secret,
  },
  {
    attackClass: 1,
    name: 'a literal scalar subquery compared with the unit in a FILTER',
    secret: 'cost',
    runs: [nb(cell('by_region', 'SELECT region, count(*) AS n, sum(cost) FILTER (WHERE patient_id = (SELECT 250000)) AS t FROM visits GROUP BY region'))],
    computes: 't(north) / 6 (the FILTER keeps the target\'s rows only; n is the same in both versions).',
    recovers: ([view], secret) => near(costFrom(num(view, 'by_region', { region: 'north' }, 't')), secret as number),
  },

  // ---- 2. Privacy units selecting rows outside WHERE -------------------------------------------------
  {
    attackClass: 2,
    name: 'a unit inequality in the JOIN condition, then a difference of two sums',
    secret: 'cost',
    runs: [
      nb(
        cell('without', 'SELECT v.sex, sum(v.cost) AS total FROM visits v JOIN members m ON v.patient_id = m.patient_id AND v.patient_id <> 250000 GROUP BY v.sex'),
        cell('everyone', 'SELECT v.sex, sum(v.cost) AS total FROM visits v JOIN members m ON v.patient_id = m.patient_id GROUP BY v.sex'),
      ),
    ],
    computes: '(everyone(F) - without(F)) / 6: the ON clause drops exactly the target.',
    recovers: ([view], secret) => near(costFrom(num(view, 'everyone', { sex: 'F' }, 'total') - num(view, 'without', { sex: 'F' }, 'total')), secret as number),
  },
  {
    attackClass: 2,
    name: 'an ANTI JOIN against a constant, then a difference of two counts',
    secret: 'diagnosis',
    runs: [
      nb(
        cell('without', "SELECT v.sex, count(*) AS n FROM visits v ANTI JOIN (SELECT 250000 AS id) x ON v.patient_id = x.id WHERE v.diagnosis = 'HIV' GROUP BY v.sex"),
        cell('everyone', "SELECT sex, count(*) AS n FROM visits WHERE diagnosis = 'HIV' GROUP BY sex"),
      ),
    ],
    computes: "everyone(F) - without(F) is 6 when the target has HIV, 0 otherwise.",
    recovers: ([view], secret) => (num(view, 'everyone', { sex: 'F' }, 'n') - num(view, 'without', { sex: 'F' }, 'n') > 0 ? 'HIV' : 'flu') === secret,
  },
  {
    attackClass: 2,
    name: 'ORDER BY the unit with LIMIT in a subquery drops the last person',
    secret: 'cost',
    runs: [
      nb(
        cell('without', `SELECT sum(c) AS s FROM (SELECT cost AS c FROM visits ORDER BY patient_id LIMIT ${othersVisitRows})`),
        cell('everyone', 'SELECT sum(cost) AS s FROM visits'),
      ),
    ],
    computes: '(everyone - without) / 6: the target has the largest patient_id, so LIMIT rows-6 leaves out exactly their visits.',
    recovers: ([view], secret) => near(costFrom(num(view, 'everyone', {}, 's') - num(view, 'without', {}, 's')), secret as number),
  },
  {
    attackClass: 2,
    name: 'a HAVING on the unit inside a per-person pre-aggregation',
    secret: 'cost',
    runs: [
      nb(
        cell('without', 'WITH per AS (SELECT patient_id, sum(cost) AS s FROM visits GROUP BY patient_id HAVING patient_id <> 250000) SELECT sum(s) AS total FROM per'),
        cell('everyone', 'SELECT sum(cost) AS total FROM visits'),
      ),
    ],
    computes: '(everyone - without) / 6.',
    recovers: ([view], secret) => near(costFrom(num(view, 'everyone', {}, 'total') - num(view, 'without', {}, 'total')), secret as number),
  },

  // ---- 3. Selectors inside aggregates ------------------------------------------------------------------
  {
    attackClass: 3,
    name: 'an indicator of a measure threshold multiplied into the sum: sum(m * (m > t))',
    secret: 'cost',
    runs: [nb(cell('by_region', 'SELECT region, sum(cost * CAST(cost > 1000 AS INTEGER)) AS s FROM visits GROUP BY region'))],
    computes: 's(north) / 6: only the target\'s visits cost more than 1000.',
    recovers: ([view], secret) => near(costFrom(num(view, 'by_region', { region: 'north' }, 's')), secret as number),
  },
  {
    attackClass: 3,
    name: 'a FILTER on a measure threshold',
    secret: 'cost',
    runs: [nb(cell('by_region', 'SELECT region, count(*) AS n, avg(cost) FILTER (WHERE cost > 1000) AS big FROM visits GROUP BY region'))],
    computes: 'big(north) is the target\'s cost.',
    recovers: ([view], secret) => near(num(view, 'by_region', { region: 'north' }, 'big'), secret as number),
  },
  {
    attackClass: 3,
    name: 'a FILTER on the quasi-identifier (grammar-accepted: only the contributor count can stop it)',
    secret: 'cost',
    runs: [nb(cell('total', `SELECT count(*) AS n, sum(cost) FILTER (WHERE ${targetIs}) AS t FROM visits`))],
    computes: 't / 6: the FILTER keeps one person, although the row has everyone behind it.',
    recovers: ([view], secret) => near(costFrom(num(view, 'total', {}, 't')), secret as number),
  },
  {
    attackClass: 3,
    name: 'a CASE that NULLs all but the target inside regr_avgy(y, CASE …)',
    secret: 'cost',
    runs: [nb(cell('by_sex', `SELECT sex, regr_avgy(cost, CASE WHEN ${targetIs} THEN 1 END) AS y FROM visits GROUP BY sex`))],
    computes: 'y(F) is the mean cost over the rows where the CASE is not NULL: the target\'s.',
    recovers: ([view], secret) => near(num(view, 'by_sex', { sex: 'F' }, 'y'), secret as number),
  },
  {
    attackClass: 3,
    name: 'count(DISTINCT CASE WHEN … AND bit THEN unit END), one column per bit of the cost',
    secret: 'cost',
    runs: [
      nb(
        cell(
          'bits',
          `SELECT region, ${Array.from({ length: 14 }, (_, bit) => `count(DISTINCT CASE WHEN cost > 1000 AND (CAST(floor(cost) AS BIGINT) >> ${bit}) & 1 = 1 THEN patient_id END) AS b${bit}`).join(', ')} FROM visits GROUP BY region`,
        ),
      ),
    ],
    computes: 'floor(cost) = Σ b_i · 2^i over north\'s row (each b_i is 1 when the target\'s bit i is set).',
    recovers: ([view], secret) => {
      let value = 0;
      for (let bit = 0; bit < 14; bit++) value += num(view, 'bits', { region: 'north' }, `b${bit}`) * 2 ** bit;
      return value === Math.floor(secret as number);
    },
  },
  {
    attackClass: 3,
    name: 'arithmetic that encodes a histogram: sum(power(10, floor(cost / 1000)))',
    secret: 'cost',
    runs: [nb(cell('histogram', 'SELECT region, count(*) AS n, sum(power(10, floor(cost / 1000))) AS h FROM visits GROUP BY region'))],
    computes: 'h(north) - (n(north) - 6) = 6 · 10^d, d the thousands digit of the target\'s cost (everyone else is below 1000).',
    recovers: ([view], secret) => {
      const digit = Math.log10((num(view, 'histogram', { region: 'north' }, 'h') - num(view, 'histogram', { region: 'north' }, 'n') + targetVisits) / targetVisits);
      return near(digit, Math.floor((secret as number) / 1000));
    },
  },
  {
    attackClass: 3,
    name: 'a private library macro hides the selector from the approver: adjusted(c) = c * (c > 1000)',
    secret: 'cost',
    libraries: ['adjustments'],
    runs: [nb('-- library adjustments\n', cell('by_region', 'SELECT region, sum(adjusted(cost)) AS s FROM visits GROUP BY region'))],
    computes: 's(north) / 6.',
    recovers: ([view], secret) => near(costFrom(num(view, 'by_region', { region: 'north' }, 's')), secret as number),
  },

  // ---- 4. Roles lost on the way up ---------------------------------------------------------------------
  {
    attackClass: 4,
    name: 'an inner aggregate over dimensions becomes a free measure outside',
    secret: 'diagnosis',
    runs: [
      nb(
        cell(
          'lone',
          "SELECT sex, sum(CASE WHEN people = 1 THEN n ELSE 0 END) AS lone FROM (SELECT region, age_band, sex, count(*) AS n, count(DISTINCT patient_id) AS people FROM visits WHERE diagnosis = 'HIV' GROUP BY region, age_band, sex) GROUP BY sex",
        ),
      ),
    ],
    computes: 'lone(F) > 0: every other cell has exactly 2 people with HIV, so a cell with one is the target\'s.',
    recovers: ([view], secret) => (num(view, 'lone', { sex: 'F' }, 'lone') > 0 ? 'HIV' : 'flu') === secret,
  },
  {
    attackClass: 4,
    name: 'an earlier output read back next to the table it came from',
    secret: 'cost',
    runs: [
      nb(
        cell('cells', 'SELECT region, age_band, sex, count(*) AS n, sum(cost) AS total FROM visits GROUP BY region, age_band, sex'),
        cell(
          'hidden',
          'SELECT v.sex, sum(v.cost) FILTER (WHERE c.n IS NULL) AS hidden FROM visits v LEFT JOIN cells c ON v.region = c.region AND v.age_band = c.age_band AND v.sex = c.sex GROUP BY v.sex',
        ),
      ),
    ],
    computes: 'hidden(F) / 6: the visits whose cell was suppressed from `cells` are the target\'s.',
    // Reviewed mode suppresses nothing, so there is no missing cell to find: no control.
    control: 'none',
    recovers: ([view], secret) => near(costFrom(num(view, 'hidden', { sex: 'F' }, 'hidden')), secret as number),
  },
  {
    attackClass: 4,
    name: 'a select-list alias carries a selector into a measure without its role',
    secret: 'cost',
    runs: [nb(cell('by_sex', `SELECT sex, sum(x) AS s FROM (SELECT sex, ${targetIs} AS hit, cost * CAST(hit AS INTEGER) AS x FROM visits) GROUP BY sex`))],
    computes: 's(F) / 6.',
    recovers: ([view], secret) => near(costFrom(num(view, 'by_sex', { sex: 'F' }, 's')), secret as number),
  },
  {
    attackClass: 4,
    name: 'a per-person pre-aggregate used as a selector in WHERE, next to its complement (grammar-accepted)',
    secret: 'cost',
    runs: [
      nb(
        cell(
          'split',
          "WITH per AS (SELECT patient_id, count(*) AS n, sum(cost) AS s FROM visits GROUP BY patient_id) SELECT 'big' AS label, sum(s) AS total FROM per WHERE s > 3000 UNION ALL SELECT 'small' AS label, sum(s) AS total FROM per WHERE s <= 3000",
        ),
      ),
    ],
    computes: 'total(big) / 6: only the target spends more than 3000 in all (the small row is everyone else, in both versions).',
    recovers: ([view], secret) => near(costFrom(num(view, 'split', { label: 'big' }, 'total')), secret as number),
  },
  {
    attackClass: 4,
    name: 'an aggregate reused by its select-list alias, around a selector',
    secret: 'cost',
    runs: [nb(cell('by_sex', `SELECT sex, sum(cost) FILTER (WHERE ${targetIs}) AS t, coalesce(t, 0) + 1 AS u FROM visits GROUP BY sex`))],
    computes: '(u(F) − 1) / 6, if u saw t before it was withheld.',
    recovers: ([view], secret) => near(costFrom(num(view, 'by_sex', { sex: 'F' }, 'u') - 1), secret as number),
  },
  {
    attackClass: 4,
    name: 'a withheld term inside coalesce in the select list',
    secret: 'cost',
    runs: [nb(cell('by_sex', `SELECT sex, coalesce(sum(cost) FILTER (WHERE ${targetIs}), 0) + count(*) AS u, count(*) AS n FROM visits GROUP BY sex`))],
    computes: '(u(F) − n(F)) / 6, if the expression saw the term before it was withheld.',
    recovers: ([view], secret) => near(costFrom(num(view, 'by_sex', { sex: 'F' }, 'u') - num(view, 'by_sex', { sex: 'F' }, 'n')), secret as number),
  },
  {
    attackClass: 4,
    name: 'GROUP BY a select-list alias over the privacy unit',
    secret: 'presence',
    runs: [nb(cell('split', 'SELECT patient_id = 250000 AS is_target, count(*) AS n FROM visits GROUP BY is_target'))],
    computes: 'a row is_target = true, or a suppressed row, means the target has visits.',
    recovers: ([view], secret) => (rowOf(view, 'split', { is_target: 'true' }) !== undefined || suppressedIn(view, 'split') > 0) === secret,
  },

  // ---- 5. k counted over the wrong set --------------------------------------------------------------------
  {
    attackClass: 5,
    name: "made-up people in the runner's table weight the target 20-fold into a group with 9 real decoys",
    secret: 'cost',
    runs: [nb(cell('by_channel', "SELECT r.channel, sum(v.cost) AS total FROM referrals r JOIN visits v ON r.patient_id = v.patient_id WHERE r.channel IN ('a', 'b') GROUP BY r.channel"))],
    computes: '(total(b) − total(a)) / 6, or / (20 · 6) if every joined row counts: channel a is the 9 decoys, channel b 20 copies of the target plus the decoys.',
    recovers: ([view], secret) => {
      const difference = num(view, 'by_channel', { channel: 'b' }, 'total') - num(view, 'by_channel', { channel: 'a' }, 'total');
      return near(costFrom(difference), secret as number) || near(costFrom(difference) / 20, secret as number);
    },
  },
  {
    attackClass: 5,
    name: "made-up people in the runner's table weight the target 20-fold into a row count",
    secret: 'presence',
    // The decoys' channel comes first, as everywhere here: in the other order, a count over people
    // the runner named says whether they are all in the table (10 of 10, or 9) whatever the weights —
    // counting a set the runner chose is a residual risk of any k rule (see findings / docs/policy.md).
    runs: [nb(cell('by_channel', "SELECT r.channel, count(*) AS n FROM referrals r JOIN visits v ON r.patient_id = v.patient_id WHERE r.channel IN ('a', 'b') GROUP BY r.channel"))],
    computes: 'n(b) − n(a) > 0 means the target is there (20 of their referrals, or 120 joined rows, match).',
    recovers: ([view], secret) => num(view, 'by_channel', { channel: 'b' }, 'n') - num(view, 'by_channel', { channel: 'a' }, 'n') > 0 === secret,
  },
  {
    attackClass: 5,
    name: "made-up people weight the decoys, not the target: two sums over the same people with different weights",
    secret: 'cost',
    runs: [nb(cell('by_channel', "SELECT r.channel, sum(v.cost) AS total FROM referrals r JOIN visits v ON r.patient_id = v.patient_id WHERE r.channel IN ('c', 'd') GROUP BY r.channel"))],
    computes: '(2 · total(c) − total(d)) / 6 if every joined row counts: c = target + 10 · decoys, d = target + 20 · decoys, the same 10 people, nobody dominant.',
    recovers: ([view], secret) => near(costFrom(2 * num(view, 'by_channel', { channel: 'c' }, 'total') - num(view, 'by_channel', { channel: 'd' }, 'total')), secret as number),
    // Both are sums over the target and 9 decoys (10 people): released by design, or withheld when the
    // target dominates them (a dominance decision is a residual risk of the rule itself). What must
    // not happen is that the weights make the two differ in a way that isolates the target.
    mayDiffer: [
      { output: 'by_channel', key: { channel: 'c' }, column: 'total', why: 'a sum over the target and 9 decoys, released by design' },
      { output: 'by_channel', key: { channel: 'd' }, column: 'total', why: 'a sum over the target and 9 decoys, released by design' },
    ],
  },
  {
    attackClass: 5,
    name: 'a group that is one person with more rows than k',
    secret: 'presence',
    runs: [nb(cell('cells', 'SELECT region, age_band, sex, count(*) AS n FROM visits GROUP BY region, age_band, sex'))],
    computes: 'the target\'s cell (6 rows, one person) shows, or is counted as suppressed, exactly when they are there.',
    recovers: ([view], secret) => (rowOf(view, 'cells', { region: 'north', age_band: '71-89', sex: 'F' }) !== undefined || suppressedIn(view, 'cells') > 0) === secret,
  },
  {
    attackClass: 5,
    name: 'a LEFT JOIN whose matches select the one northerner both tables share (grammar-accepted)',
    secret: 'cost',
    runs: [
      nb(
        cell(
          'by_sex',
          "SELECT v.sex, count(*) AS n, sum(v.cost) FILTER (WHERE m.plan IS NOT NULL AND v.region = 'north') AS t FROM visits v LEFT JOIN members m ON v.patient_id = m.patient_id GROUP BY v.sex",
        ),
      ),
    ],
    computes: 't(F) / 6: the insurer has nobody from the north but the target; the F row has many people of both tables behind it.',
    recovers: ([view], secret) => near(costFrom(num(view, 'by_sex', { sex: 'F' }, 't')), secret as number),
  },

  // ---- 6. Oracles ----------------------------------------------------------------------------------
  {
    attackClass: 6,
    name: "a HAVING over a one-person group moves the suppressed-row count",
    secret: 'cost',
    inference: 'binary',
    runs: [nb(cell('cells', 'SELECT region, age_band, sex, count(*) AS n FROM visits GROUP BY region, age_band, sex HAVING avg(cost) > 5000'))],
    computes: 'a suppressed row (or the target\'s cell shown) means the target\'s cost is above 5000 (everyone else is below 400); bisection across runs gives it exactly.',
    recovers: ([view], secret) => (suppressedIn(view, 'cells') > 0 || rowOf(view, 'cells', { region: 'north', age_band: '71-89', sex: 'F' }) !== undefined) === (secret as number) > 5000,
  },
  {
    attackClass: 6,
    name: "a HAVING over a dimension in a one-person group moves the suppressed-row count",
    secret: 'diagnosis',
    runs: [nb(cell('cells', "SELECT region, age_band, sex, count(*) AS n FROM visits GROUP BY region, age_band, sex HAVING count(*) FILTER (WHERE diagnosis = 'HIV') = count(*)"))],
    computes: 'a suppressed row (or the target\'s cell shown) means every visit in the target\'s cell is HIV (every other cell has 2 of 8).',
    recovers: ([view], secret) => (suppressedIn(view, 'cells') > 0 || rowOf(view, 'cells', { region: 'north', age_band: '71-89', sex: 'F' }) !== undefined ? 'HIV' : 'flu') === secret,
  },
  {
    attackClass: 6,
    name: "ln of an aggregate fails for one person's value",
    secret: 'cost',
    inference: 'binary',
    runs: [nb(cell('probe', 'SELECT region, age_band, sex, ln(5000 - avg(cost)) AS probe FROM visits GROUP BY region, age_band, sex'))],
    computes: 'a failure (any class) means some cell\'s mean cost is above 5000: only the target\'s cell can be.',
    recovers: ([view], secret) => (view?.failure !== null) === (secret as number) > 5000,
  },
  {
    attackClass: 6,
    name: "a cast of an aggregate overflows for one person's value",
    secret: 'cost',
    inference: 'binary',
    runs: [nb(cell('probe', 'SELECT region, age_band, sex, CAST(avg(cost) * 5 AS SMALLINT) AS probe FROM visits GROUP BY region, age_band, sex'))],
    computes: 'a failure means some cell\'s mean cost is above 32767 / 5: only the target\'s cell can be.',
    recovers: ([view], secret) => (view?.failure !== null) === (secret as number) * 5 > 32_767,
  },
  {
    attackClass: 6,
    name: "an implicit cast in a comparison fails for one person's value",
    secret: 'diagnosis',
    runs: [
      nb(
        cell(
          'probe',
          `SELECT region, age_band, sex, count(*) AS n FROM visits WHERE (CASE WHEN diagnosis = 'HIV' AND ${targetIs} THEN 'x' ELSE '0' END) = 0 GROUP BY region, age_band, sex`,
        ),
      ),
    ],
    computes: "a failure means the CASE produced 'x', which does not cast to a number: the target has HIV.",
    recovers: ([view], secret) => (view?.failure !== null ? 'HIV' : 'flu') === secret,
  },

  {
    attackClass: 6,
    name: "an implicit cast of a dimension in an IN list fails for one person's value",
    secret: 'presence',
    runs: [nb(cell('by_sex', `SELECT sex, count(*) AS n FROM visits WHERE ward IN (${Array.from({ length: 25 }, (_, value) => value + 1).join(', ')}) GROUP BY sex`))],
    computes: "a failure means some ward does not cast to a number: only the target's ('ICU') does.",
    recovers: ([view], secret) => (view?.failure !== null) === secret,
  },
  {
    attackClass: 6,
    name: "an implicit cast of a measure in an IN list fails for one person's value",
    secret: 'presence',
    // A long list: DuckDB plans an IN list of more than a few values as a join, not as comparisons.
    runs: [nb(cell('by_sex', `SELECT sex, count(*) AS n FROM visits WHERE lab IN (${Array.from({ length: 25 }, (_, value) => value + 1).join(', ')}) GROUP BY sex`))],
    computes: "a failure means some lab result does not cast to a number: only the target's ('pending') does.",
    recovers: ([view], secret) => (view?.failure !== null) === secret,
  },
  {
    attackClass: 6,
    name: "an implicit cast of a measure in an equality fails for one person's value",
    secret: 'presence',
    runs: [nb(cell('by_sex', 'SELECT sex, count(*) AS n FROM visits WHERE lab = 3 GROUP BY sex'))],
    computes: "a failure means some lab result does not cast to a number: only the target's ('pending') does.",
    recovers: ([view], secret) => (view?.failure !== null) === secret,
  },
  {
    attackClass: 6,
    name: 'an output-size limit that one removed group would cross',
    secret: 'presence',
    maxOutputRows: 31,
    runs: [nb(cell('cells', 'SELECT region, age_band, sex, count(*) AS n FROM visits GROUP BY region, age_band, sex'))],
    computes: 'OutputTooLarge means a 32nd group exists: the target\'s cell. Counted after suppression, both versions have 31 rows.',
    recovers: ([view], secret) => (view?.failure !== null) === secret,
  },
  {
    attackClass: 6,
    name: 'ORDER BY a withheld term, LIMIT 1: which row comes back',
    secret: 'cost',
    inference: 'binary',
    runs: [nb(cell('first', `SELECT sex, count(*) AS n FROM visits GROUP BY sex ORDER BY coalesce(sum(cost) FILTER (WHERE ${targetIs}), 30000), sex LIMIT 1`))],
    computes: "the row shown is F when the target's 6 visits cost less than 30000 in all (cost < 5000), M otherwise; ordered on released values, both sort keys are 30000 and F wins the tie.",
    recovers: ([view], secret) => (rowOf(view, 'first', { sex: 'F' }) !== undefined) === (secret as number) < 5000,
  },
  {
    attackClass: 6,
    name: 'HAVING over a withheld term decides which released rows stay',
    secret: 'cost',
    inference: 'binary',
    runs: [nb(cell('kept', `SELECT sex, count(*) AS n FROM visits GROUP BY sex HAVING coalesce(sum(cost) FILTER (WHERE ${targetIs}), 0) < 30000`))],
    computes: "the F row stays when the target's visits cost less than 30000 in all; on released values the term is NULL and both rows stay.",
    recovers: ([view], secret) => (rowOf(view, 'kept', { sex: 'F' }) !== undefined) === (secret as number) < 5000,
  },

  // ---- 8. Differencing ---------------------------------------------------------------------------------
  {
    attackClass: 8,
    name: 'two outputs of one run whose people differ by the target alone',
    secret: 'cost',
    runs: [
      nb(
        cell('without', "SELECT age_band, sum(cost) AS total FROM visits WHERE age_band = '71-89' AND NOT (region = 'north' AND sex = 'F') GROUP BY age_band"),
        cell('everyone', "SELECT age_band, sum(cost) AS total FROM visits WHERE age_band = '71-89' GROUP BY age_band"),
      ),
    ],
    computes: '(everyone - without) / 6.',
    recovers: ([view], secret) => near(costFrom(num(view, 'everyone', { age_band: '71-89' }, 'total') - num(view, 'without', { age_band: '71-89' }, 'total')), secret as number),
  },
  {
    attackClass: 8,
    name: 'two values of one row whose FILTERs differ by the target alone',
    secret: 'cost',
    runs: [
      nb(
        cell(
          'by_sex',
          "SELECT sex, sum(cost) FILTER (WHERE age_band = '71-89' AND region <> 'north') AS without, sum(cost) FILTER (WHERE age_band = '71-89') AS everyone FROM visits GROUP BY sex",
        ),
      ),
    ],
    computes: '(everyone(F) - without(F)) / 6 (for M the two differ by 8 people and both may show).',
    recovers: ([view], secret) => near(costFrom(num(view, 'by_sex', { sex: 'F' }, 'everyone') - num(view, 'by_sex', { sex: 'F' }, 'without')), secret as number),
  },
  {
    attackClass: 8,
    name: 'two rows of one UNION ALL output whose people differ by the target alone',
    secret: 'cost',
    runs: [
      nb(
        cell(
          'pair',
          "SELECT 'a' AS label, sum(cost) AS total FROM visits WHERE age_band = '71-89' AND NOT (region = 'north' AND sex = 'F') UNION ALL SELECT 'b' AS label, sum(cost) AS total FROM visits WHERE age_band = '71-89'",
        ),
      ),
    ],
    computes: '(total(b) - total(a)) / 6.',
    recovers: ([view], secret) => near(costFrom(num(view, 'pair', { label: 'b' }, 'total') - num(view, 'pair', { label: 'a' }, 'total')), secret as number),
  },
  {
    attackClass: 8,
    name: 'two runs: the second sum adds the target to the first one\'s people (the ledger)',
    secret: 'cost',
    runs: [
      nb(cell('without', "SELECT sum(cost) AS total, count(*) AS n FROM visits WHERE age_band = '71-89' AND NOT (region = 'north' AND sex = 'F')")),
      nb(cell('everyone', "SELECT sum(cost) AS total, count(*) AS n FROM visits WHERE age_band = '71-89'")),
    ],
    computes: '(run 2 total - run 1 total) / 6.',
    recovers: ([first, second], secret) => near(costFrom(num(second, 'everyone', {}, 'total') - num(first, 'without', {}, 'total')), secret as number),
  },
  {
    attackClass: 8,
    name: "two runs: whether the second count is withheld says whether the target is there",
    secret: 'presence',
    runs: [
      nb(cell('without', "SELECT count(*) AS n FROM visits WHERE age_band = '71-89' AND NOT (region = 'north' AND sex = 'F')")),
      nb(cell('everyone', "SELECT count(*) AS n FROM visits WHERE age_band = '71-89'")),
    ],
    computes: 'run 2 minus run 1 is 6 when the target is there; and if the guard lets run 2 out only when its people equal run 1\'s, a released run 2 says they are not.',
    recovers: ([first, second], secret) => {
      const everyone = num(second, 'everyone', {}, 'n');
      const difference = everyone - num(first, 'without', {}, 'n');
      const present = Number.isFinite(difference) ? difference > 0 : !Number.isFinite(everyone);
      return present === secret;
    },
  },
  {
    attackClass: 8,
    name: "two runs: the second HIV count adds the target's visits to the first one's, or not",
    secret: 'diagnosis',
    runs: [
      nb(cell('without', `SELECT count(*) AS n FROM visits WHERE diagnosis = 'HIV' AND NOT (${targetIs})`)),
      nb(cell('everyone', "SELECT count(*) AS n FROM visits WHERE diagnosis = 'HIV'")),
    ],
    computes: 'run 2 minus run 1 is 6 when the target has HIV; a run 2 withheld only when it differs says the same.',
    recovers: ([first, second], secret) => {
      const everyone = num(second, 'everyone', {}, 'n');
      const difference = everyone - num(first, 'without', {}, 'n');
      const hiv = Number.isFinite(difference) ? difference > 0 : !Number.isFinite(everyone);
      return (hiv ? 'HIV' : 'flu') === secret;
    },
  },
  {
    attackClass: 8,
    name: 'a total and its parts in one output (complementary suppression)',
    secret: 'cost',
    runs: [
      nb(
        cell(
          'parts',
          "SELECT region AS label, sum(cost) AS total FROM visits WHERE age_band = '71-89' AND sex = 'F' GROUP BY region UNION ALL SELECT 'total' AS label, sum(cost) AS total FROM visits WHERE age_band = '71-89' AND sex = 'F'",
        ),
      ),
    ],
    computes: '(total - Σ released parts) / 6: north is the target alone, so if east, west and south all show, the rest is theirs.',
    recovers: ([view], secret) => {
      const parts = ['east', 'west', 'south'].map((region) => num(view, 'parts', { label: region }, 'total'));
      return near(costFrom(num(view, 'parts', { label: 'total' }, 'total') - parts.reduce((sum, part) => sum + part, 0)), secret as number);
    },
    mayDiffer: [{ output: 'parts', key: { label: 'total' }, column: 'total', why: 'a sum over 25 women aged 71-89, the target among them: released by design; complementary suppression withholds a part instead' }],
  },
  {
    attackClass: 8,
    name: 'two outputs of one run whose people are the same unless the target has HIV',
    secret: 'diagnosis',
    runs: [
      nb(
        cell('without', `SELECT count(*) AS n FROM visits WHERE diagnosis = 'HIV' AND NOT (${targetIs})`),
        cell('everyone', "SELECT count(*) AS n FROM visits WHERE diagnosis = 'HIV'"),
      ),
    ],
    computes: "everyone - without is 6 when the target has HIV; an `everyone` withheld only when its people differ from `without`'s says the same.",
    recovers: ([view], secret) => {
      const everyone = num(view, 'everyone', {}, 'n');
      const difference = everyone - num(view, 'without', {}, 'n');
      const hiv = Number.isFinite(difference) ? difference > 0 : !Number.isFinite(everyone);
      return (hiv ? 'HIV' : 'flu') === secret;
    },
  },
  {
    attackClass: 8,
    name: 'two breakdowns of one population whose totals differ by the target alone',
    secret: 'cost',
    runs: [
      nb(
        cell('by_band', `SELECT age_band, sum(cost) AS total FROM visits WHERE NOT (${targetIs}) GROUP BY age_band`),
        cell('by_sex', 'SELECT sex, sum(cost) AS total FROM visits GROUP BY sex'),
      ),
    ],
    computes: '(Σ by_sex − Σ by_band) / 6: the first breakdown is everyone but the target, the second everyone.',
    recovers: ([view], secret) => {
      const bands = ['18-30', '31-50', '51-70', '71-89'].map((band) => num(view, 'by_band', { age_band: band }, 'total'));
      const sexes = ['F', 'M'].map((sex) => num(view, 'by_sex', { sex }, 'total'));
      return near(costFrom(sexes.reduce((a, b) => a + b, 0) - bands.reduce((a, b) => a + b, 0)), secret as number);
    },
    mayDiffer: [{ output: 'by_sex', key: { sex: 'F' }, column: 'total', why: 'a sum over about 125 women, the target among them: released by design when M is the part withheld' }],
  },
  {
    attackClass: 8,
    name: 'a total in a later output than its parts (parts first, then the total)',
    secret: 'cost',
    runs: [
      nb(
        cell('parts', "SELECT region, sum(cost) AS total FROM visits WHERE age_band = '71-89' AND sex = 'F' GROUP BY region"),
        cell('total', "SELECT sum(cost) AS total FROM visits WHERE age_band = '71-89' AND sex = 'F'"),
      ),
    ],
    computes: '(total − Σ released parts) / 6: north (the target alone) is removed from `parts`, the rest shows.',
    recovers: ([view], secret) => {
      const parts = ['east', 'west', 'south'].map((region) => num(view, 'parts', { region }, 'total'));
      return near(costFrom(num(view, 'total', {}, 'total') - parts.reduce((a, b) => a + b, 0)), secret as number);
    },
  },
  {
    attackClass: 8,
    name: "two sums over the same people, one leaving out the target's last visit (a measure in WHERE)",
    secret: 'cost',
    runs: [
      nb(
        cell('most', "SELECT sum(cost) AS total FROM visits WHERE age_band = '71-89' AND sex = 'F' AND stay_days < 9"),
        cell('all_visits', "SELECT sum(cost) AS total FROM visits WHERE age_band = '71-89' AND sex = 'F'"),
      ),
    ],
    computes: "all_visits − most: only the target's 6th visit has a stay of 9 days (everyone else stays at most 8), so the two have the same 25 people and differ by one visit's cost.",
    recovers: ([view], secret) => near(num(view, 'all_visits', {}, 'total') - num(view, 'most', {}, 'total'), secret as number),
    mayDiffer: [{ output: 'most', key: {}, column: 'total', why: 'a sum over 25 women aged 71-89, five of the target\'s visits among them: released by design' }],
  },
  {
    attackClass: 8,
    name: 'GROUP BY ROLLUP: subtotals next to the cells they add up',
    secret: 'cost',
    runs: [nb(cell('rollup', "SELECT sex, region, sum(cost) AS total FROM visits WHERE age_band = '71-89' GROUP BY ROLLUP (sex, region)"))],
    computes: "(subtotal(F) − Σ released F regions) / 6: the target is the F north cell.",
    recovers: ([view], secret) => {
      const output = view?.outputs.find((candidate) => candidate.name === 'rollup');
      const subtotal = output?.rows.find((row) => row[0] === 'F' && row[1] === null)?.[2];
      const parts = ['east', 'west', 'south'].map((region) => num(view, 'rollup', { sex: 'F', region }, 'total'));
      return near(costFrom(Number(subtotal ?? Number.NaN) - parts.reduce((a, b) => a + b, 0)), secret as number);
    },
  },
];

/**
 * Attacks the policy does NOT stop, kept with their notebooks so docs/policy.md can point at them
 * (and a later fix can move them back into classCases). Linear combinations of three or more
 * released values whose sets are pairwise far apart — everyone minus disjoint groups that together
 * are everyone but the target — are the auditing problem; only noise (differential privacy)
 * bounds them. The attack-classes test does not run these.
 */
export const documentedLimits: readonly ClassCase[] = [
  {
    attackClass: 8,
    name: 'three outputs: everyone minus two disjoint groups that together are everyone but the target (A − B − C)',
    secret: 'cost',
    runs: [
      nb(
        cell('rest', "SELECT sum(cost) AS total FROM visits WHERE age_band = '71-89' AND region <> 'north'"),
        cell('north_men', "SELECT sum(cost) AS total FROM visits WHERE age_band = '71-89' AND region = 'north' AND sex = 'M'"),
        cell('everyone', "SELECT sum(cost) AS total FROM visits WHERE age_band = '71-89'"),
      ),
    ],
    computes: '(everyone − rest − north_men) / 6: no two of the three sets are near (48, 8 and 57 people), but the first two add up to the third without the target.',
    recovers: ([view], secret) => near(costFrom(num(view, 'everyone', {}, 'total') - num(view, 'rest', {}, 'total') - num(view, 'north_men', {}, 'total')), secret as number),
  },
  {
    attackClass: 8,
    name: 'five outputs: everyone minus four disjoint groups, one output each (A − B − C − D − E)',
    secret: 'cost',
    runs: [
      nb(
        ...['east', 'west', 'south'].map((region) => cell(region, `SELECT sum(cost) AS total FROM visits WHERE age_band = '71-89' AND region = '${region}'`)),
        cell('north_men', "SELECT sum(cost) AS total FROM visits WHERE age_band = '71-89' AND region = 'north' AND sex = 'M'"),
        cell('everyone', "SELECT sum(cost) AS total FROM visits WHERE age_band = '71-89'"),
      ),
    ],
    computes: '(everyone − east − west − south − north_men) / 6: five single-set families, no two near.',
    recovers: ([view], secret) => {
      const parts = ['east', 'west', 'south', 'north_men'].map((output) => num(view, output, {}, 'total'));
      return near(costFrom(num(view, 'everyone', {}, 'total') - parts.reduce((a, b) => a + b, 0)), secret as number);
    },
  },
  {
    attackClass: 8,
    name: 'two runs: two disjoint groups in the first, everyone in the second (A − B − C with the ledger)',
    secret: 'cost',
    runs: [
      nb(
        cell('rest', "SELECT sum(cost) AS total FROM visits WHERE age_band = '71-89' AND region <> 'north'"),
        cell('north_men', "SELECT sum(cost) AS total FROM visits WHERE age_band = '71-89' AND region = 'north' AND sex = 'M'"),
      ),
      nb(cell('everyone', "SELECT sum(cost) AS total FROM visits WHERE age_band = '71-89'")),
    ],
    computes: '(run 2 everyone − rest − north_men) / 6.',
    recovers: ([first, second], secret) => near(costFrom(num(second, 'everyone', {}, 'total') - num(first, 'rest', {}, 'total') - num(first, 'north_men', {}, 'total')), secret as number),
  },
];
