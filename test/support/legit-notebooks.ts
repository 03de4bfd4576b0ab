// Legitimate notebooks, as an analyst at a hospital or an insurer would write them, each with a
// hand-written reference form of every SQL cell (test/support/reference-suppression.ts explains the
// form) so test/integration/legit-notebooks.test.ts can compare the real worker with plain DuckDB
// plus an independent implementation of the suppression rules.
//
// The tables are run-fixtures.ts' two parties, extended here (run-fixtures.ts itself is shared):
//   admissions (hospital)  patient_id unit, hospital key, age_band/region/readmitted dimensions,
//                          stay_days/cost/score measures, email hidden, + admitted_on (DATE dimension)
//   members (insurer)      patient_id unit, plan dimension, premium measure, + birth_year (dimension)
//   claims (insurer)       patient_id unit, claim_date/claim_type dimensions, amount measure; one
//                          member has a huge pharmacy claim, so sums over their groups are dominated
//   regions (public)       a lookup without a privacy unit: region, region_name, area (dimensions)
// The marker patient (run-fixtures.ts) is alone in 'north', born in the 1920s, and a member.
import { type ReferenceBranch, type ReferenceOutput, type ReferenceTerm } from './reference-suppression.js';
import { admissionsSpec, markerPatient, membersSpec, type TableSpec } from './run-fixtures.js';

// ---- Tables -------------------------------------------------------------------------------------

const dayMs = 86_400_000;
const firstDay = Date.UTC(2023, 0, 1);
/** A day of 2023–2024 (offset 0..729 from 2023-01-01), as DuckDB's DATE text. */
const day = (offset: number): string => new Date(firstDay + (offset % 730) * dayMs).toISOString().slice(0, 10);

/** The whale: one member with a very large pharmacy claim. */
export const whalePatient = 100_042;

/** admissions with an admission date per visit. */
export function datedAdmissionsSpec(): TableSpec {
  const base = admissionsSpec();
  const visits = new Map<number, number>();
  const rows = base.rows.map((row) => {
    const patient = Number(row[0]);
    const visit = visits.get(patient) ?? 0;
    visits.set(patient, visit + 1);
    return [...row, day(patient * 53 + visit * 97)];
  });
  return { ...base, columns: [...base.columns, { name: 'admitted_on', role: 'dimension' }], rows };
}

/** members with a year of birth (a numeric dimension); the marker patient was born in 1925. */
export function agedMembersSpec(): TableSpec {
  const base = membersSpec();
  const rows = base.rows.map((row) => {
    const patient = Number(row[0]);
    return [...row, patient === markerPatient ? 1925 : 1940 + ((patient * 7) % 60)];
  });
  return { ...base, columns: [...base.columns, { name: 'birth_year', role: 'dimension' }], rows };
}

const claimTypes = ['inpatient', 'outpatient', 'pharmacy'];

/** The insurer's claims: 1–4 per member over 2023–2024, plus the whale's large pharmacy claim. */
export function claimsSpec(): TableSpec {
  const rows: (string | number)[][] = [];
  const members = [...Array.from({ length: 180 }, (_, index) => 100_001 + index), markerPatient];
  for (const patient of members) {
    const claims = 1 + (patient % 4);
    for (let claim = 0; claim < claims; claim++) {
      rows.push([patient, day(patient * 31 + claim * 67), claimTypes[(patient + claim) % 3] as string, 20 + ((patient * 37 + claim * 11) % 500)]);
    }
  }
  rows.push([whalePatient, '2023-05-10', 'pharmacy', 400_000]);
  return {
    name: 'claims',
    allowMinMax: false,
    columns: [
      { name: 'patient_id', role: 'privacy_unit' },
      { name: 'claim_date', role: 'dimension' },
      { name: 'claim_type', role: 'dimension' },
      { name: 'amount', role: 'measure' },
    ],
    rows,
  };
}

/** A public lookup of region names: no privacy unit, joinable on the region dimension only. */
export function regionsSpec(): TableSpec {
  return {
    name: 'regions',
    allowMinMax: false,
    columns: [
      { name: 'region', role: 'dimension' },
      { name: 'region_name', role: 'dimension' },
      { name: 'area', role: 'dimension' },
    ],
    rows: [
      ['east', 'East Coast', 'urban'],
      ['west', 'West Valley', 'rural'],
      ['south', 'South Plains', 'rural'],
      ['north', 'North Hills', 'rural'],
    ],
  };
}

export const legitTables = (): TableSpec[] => [datedAdmissionsSpec(), agedMembersSpec(), claimsSpec(), regionsSpec()];

// ---- Notebooks ----------------------------------------------------------------------------------

export interface LegitNotebook {
  readonly name: string;
  readonly notebook: string;
  /** The room's k (minGroupSize). */
  readonly k: number;
  /** The reference form of each SQL cell, in order. */
  readonly outputs: readonly ReferenceOutput[];
}

const count = (filter?: string): ReferenceTerm => (filter === undefined ? { fn: 'count' } : { fn: 'count', filter });
const countDistinct = (column: string): ReferenceTerm => ({ fn: 'count', args: [column], distinct: true });
/** Room-table measure columns, for the lineage of an aggregate's argument. */
const measureColumns: Readonly<Record<string, string>> = { stay_days: 'admissions.stay_days', cost: 'admissions.cost', premium: 'members.premium', amount: 'claims.amount' };
/** The lineage of an argument written over a room table's measure (`m.premium * 12` → members.premium). */
function lineageOf(arg: string): string {
  const column = /^(?:\w+\.)?(\w+)/.exec(arg)?.[1] ?? '';
  const lineage = measureColumns[column];
  if (lineage === undefined) throw new Error(`legit notebooks: give the lineage of ${arg}`);
  return lineage;
}
/** A value aggregate over room-table measures (lineage inferred). */
const agg = (fn: string, ...args: string[]): ReferenceTerm => ({ fn, args, lineage: args.map(lineageOf) });
/** A value aggregate over measures computed in a CTE or derived table: lineage given. */
const derived = (fn: string, args: readonly string[], lineage: readonly string[]): ReferenceTerm => ({ fn, args, lineage });
const aggregate = (branches: ReferenceBranch | readonly ReferenceBranch[], tail?: string): ReferenceOutput =>
  tail === undefined
    ? { kind: 'aggregate', branches: Array.isArray(branches) ? branches : [branches as ReferenceBranch] }
    : { kind: 'aggregate', branches: Array.isArray(branches) ? branches : [branches as ReferenceBranch], tail };
const post = (sql: string): ReferenceOutput => ({ kind: 'post', sql });
const notebook = (name: string, lines: readonly string[], outputs: readonly ReferenceOutput[], k = 10): LegitNotebook => ({ name, notebook: lines.join('\n'), k, outputs });

const admissionsUnit = { admissions: 'patient_id' };
const joinedUnits = { admissions: 'a.patient_id', members: 'm.patient_id' };
const joined = 'admissions a JOIN members m ON a.patient_id = m.patient_id';

export const legitNotebooks: readonly LegitNotebook[] = [
  notebook(
    'cohort sizes by age band',
    [
      '-- %% [markdown]',
      '-- # Cohort sizes by age band',
      '-- %% output=cohorts',
      'SELECT age_band, count(DISTINCT patient_id) AS patients, count(*) AS admissions',
      'FROM admissions',
      'GROUP BY age_band',
      'ORDER BY age_band',
    ],
    [aggregate({ select: ['age_band', '{0} AS patients', '{1} AS admissions'], terms: [countDistinct('patient_id'), count()], from: 'admissions', groupBy: ['age_band'], units: admissionsUnit }, 'ORDER BY age_band')],
  ),

  notebook(
    'readmission rate by age band and plan (join of both parties on the privacy unit)',
    [
      '-- %% output=readmission_by_band_plan',
      'SELECT a.age_band, m.plan,',
      '       count(DISTINCT a.patient_id) AS patients,',
      '       count(*) AS admissions,',
      '       round(100.0 * count(*) FILTER (WHERE a.readmitted) / count(*), 1) AS readmission_pct',
      'FROM admissions a',
      'JOIN members m ON a.patient_id = m.patient_id',
      'GROUP BY a.age_band, m.plan',
      'ORDER BY a.age_band, m.plan',
    ],
    [
      aggregate(
        {
          select: ['a.age_band', 'm.plan', '{0} AS patients', '{1} AS admissions', 'round(100.0 * {2} / {1}, 1) AS readmission_pct'],
          terms: [countDistinct('a.patient_id'), count(), count('a.readmitted')],
          from: joined,
          groupBy: ['a.age_band', 'm.plan'],
          units: joinedUnits,
        },
        'ORDER BY age_band, plan',
      ),
    ],
    5,
  ),

  notebook(
    'length of stay: mean, standard deviation and variance by region',
    [
      '-- %% output=stay_by_region',
      'SELECT region, count(*) AS admissions, avg(stay_days) AS mean_stay, stddev_samp(stay_days) AS sd_stay, var_samp(stay_days) AS var_stay',
      'FROM admissions GROUP BY region ORDER BY region',
    ],
    [
      aggregate(
        {
          select: ['region', '{0} AS admissions', '{1} AS mean_stay', '{2} AS sd_stay', '{3} AS var_stay'],
          terms: [count(), agg('avg', 'stay_days'), agg('stddev_samp', 'stay_days'), agg('var_samp', 'stay_days')],
          from: 'admissions',
          groupBy: ['region'],
          units: admissionsUnit,
        },
        'ORDER BY region',
      ),
    ],
  ),

  notebook(
    'total and mean cost per region, cost per bed day, largest first',
    [
      '-- %% output=cost_by_region',
      'SELECT region,',
      '       sum(cost) AS total_cost,',
      '       avg(cost) AS mean_cost,',
      '       sum(cost) / sum(stay_days) AS cost_per_bed_day',
      'FROM admissions',
      'GROUP BY region',
      'ORDER BY total_cost DESC',
    ],
    [
      aggregate(
        {
          select: ['region', '{0} AS total_cost', '{1} AS mean_cost', '{0} / {2} AS cost_per_bed_day'],
          terms: [agg('sum', 'cost'), agg('avg', 'cost'), agg('sum', 'stay_days')],
          from: 'admissions',
          groupBy: ['region'],
          units: admissionsUnit,
        },
        'ORDER BY total_cost DESC',
      ),
    ],
  ),

  notebook(
    'monthly admissions in 2023 (date_trunc month, GROUP BY an alias)',
    [
      '-- %% output=monthly',
      "SELECT date_trunc('month', admitted_on) AS month, count(*) AS admissions, count(DISTINCT patient_id) AS patients",
      'FROM admissions',
      "WHERE admitted_on < DATE '2024-01-01'",
      'GROUP BY month',
      'ORDER BY month',
    ],
    [
      aggregate(
        {
          select: ["date_trunc('month', admitted_on) AS month", '{0} AS admissions', '{1} AS patients'],
          terms: [count(), countDistinct('patient_id')],
          from: 'admissions',
          where: "admitted_on < DATE '2024-01-01'",
          groupBy: ["date_trunc('month', admitted_on)"],
          units: admissionsUnit,
        },
        'ORDER BY month',
      ),
    ],
  ),

  notebook(
    'cost per year and quarter by region (year(), quarter(), GROUP BY ALL)',
    [
      '-- %% output=quarterly_cost',
      'SELECT year(admitted_on) AS year, quarter(admitted_on) AS quarter, region, count(*) AS admissions, sum(cost) AS cost',
      'FROM admissions',
      'GROUP BY ALL',
      'ORDER BY year, quarter, region',
    ],
    [
      aggregate(
        {
          select: ['year(admitted_on) AS year', 'quarter(admitted_on) AS quarter', 'region', '{0} AS admissions', '{1} AS cost'],
          terms: [count(), agg('sum', 'cost')],
          from: 'admissions',
          groupBy: ['year(admitted_on)', 'quarter(admitted_on)', 'region'],
          units: admissionsUnit,
        },
        'ORDER BY year, quarter, region',
      ),
    ],
  ),

  notebook(
    'CASE buckets over the age band (GROUP BY 1)',
    [
      '-- %% output=age_groups',
      "SELECT CASE WHEN age_band IN ('18-30', '31-50') THEN 'working age' WHEN age_band = '51-70' THEN 'older' ELSE 'elderly' END AS age_group,",
      '       count(DISTINCT patient_id) AS patients, avg(stay_days) AS mean_stay',
      'FROM admissions',
      'GROUP BY 1',
      'ORDER BY 1',
    ],
    [
      aggregate(
        {
          select: ["CASE WHEN age_band IN ('18-30', '31-50') THEN 'working age' WHEN age_band = '51-70' THEN 'older' ELSE 'elderly' END AS age_group", '{0} AS patients', '{1} AS mean_stay'],
          terms: [countDistinct('patient_id'), agg('avg', 'stay_days')],
          from: 'admissions',
          groupBy: ["CASE WHEN age_band IN ('18-30', '31-50') THEN 'working age' WHEN age_band = '51-70' THEN 'older' ELSE 'elderly' END"],
          units: admissionsUnit,
        },
        'ORDER BY age_group',
      ),
    ],
  ),

  notebook(
    'per-patient pre-aggregation: visits and cost per patient, by insurance plan',
    [
      '-- %% output=per_patient_by_plan',
      'WITH per_patient AS (',
      '  SELECT patient_id, count(*) AS visits, sum(cost) AS total_cost',
      '  FROM admissions',
      '  GROUP BY patient_id',
      ')',
      'SELECT m.plan, count(*) AS patients, avg(p.visits) AS mean_visits, avg(p.total_cost) AS mean_cost_per_patient, stddev_samp(p.total_cost) AS sd_cost_per_patient',
      'FROM per_patient p',
      'JOIN members m ON p.patient_id = m.patient_id',
      'GROUP BY m.plan',
      'ORDER BY m.plan',
    ],
    [
      aggregate(
        {
          with: 'per_patient AS (SELECT patient_id, count(*) AS visits, sum(cost) AS total_cost FROM admissions GROUP BY patient_id)',
          select: ['m.plan', '{0} AS patients', '{1} AS mean_visits', '{2} AS mean_cost_per_patient', '{3} AS sd_cost_per_patient'],
          terms: [count(), derived('avg', ['p.visits'], ['admissions.rows']), derived('avg', ['p.total_cost'], ['admissions.cost']), derived('stddev_samp', ['p.total_cost'], ['admissions.cost'])],
          from: 'per_patient p JOIN members m ON p.patient_id = m.patient_id',
          groupBy: ['m.plan'],
          units: { admissions: 'p.patient_id', members: 'm.patient_id' },
        },
        'ORDER BY plan',
      ),
    ],
  ),

  notebook(
    'per-patient pre-aggregation keeping a dimension: bed days per patient by region',
    [
      '-- %% output=bed_days',
      'WITH per_patient AS (',
      '  SELECT patient_id, region, count(*) AS visits, sum(stay_days) AS bed_days',
      '  FROM admissions GROUP BY patient_id, region',
      ')',
      'SELECT region, count(*) AS patients, avg(visits) AS mean_visits, avg(bed_days) AS mean_bed_days, sum(bed_days) AS bed_days',
      'FROM per_patient',
      'GROUP BY region',
      'ORDER BY region',
    ],
    [
      aggregate(
        {
          with: 'per_patient AS (SELECT patient_id, region, count(*) AS visits, sum(stay_days) AS bed_days FROM admissions GROUP BY patient_id, region)',
          select: ['region', '{0} AS patients', '{1} AS mean_visits', '{2} AS mean_bed_days', '{3} AS bed_days'],
          terms: [count(), derived('avg', ['visits'], ['admissions.rows']), derived('avg', ['bed_days'], ['admissions.stay_days']), derived('sum', ['bed_days'], ['admissions.stay_days'])],
          from: 'per_patient',
          groupBy: ['region'],
          units: admissionsUnit,
        },
        'ORDER BY region',
      ),
    ],
  ),

  notebook(
    'a CTE filtering long stays by a parameter (getvariable)',
    [
      '-- parameter min_stay = 3',
      '',
      '-- %% output=long_stays',
      'WITH long_stays AS (',
      "  SELECT region, age_band, cost FROM admissions WHERE stay_days >= getvariable('min_stay')",
      ')',
      'SELECT region, count(*) AS long_stays, avg(cost) AS mean_cost',
      'FROM long_stays',
      'GROUP BY region',
      'ORDER BY region',
    ],
    [
      aggregate(
        {
          with: "long_stays AS (SELECT patient_id, region, age_band, cost FROM admissions WHERE stay_days >= getvariable('min_stay'))",
          select: ['region', '{0} AS long_stays', '{1} AS mean_cost'],
          terms: [count(), agg('avg', 'cost')],
          from: 'long_stays',
          groupBy: ['region'],
          units: admissionsUnit,
        },
        'ORDER BY region',
      ),
    ],
  ),

  notebook(
    'WHERE with a text and a DATE parameter',
    [
      "-- parameter chosen_region = 'east'",
      "-- parameter since = DATE '2023-07-01'",
      '',
      '-- %% output=recent_in_region',
      'SELECT age_band, count(*) AS admissions, avg(stay_days) AS mean_stay',
      'FROM admissions',
      "WHERE region = getvariable('chosen_region') AND admitted_on >= getvariable('since')",
      'GROUP BY age_band',
      'ORDER BY age_band',
    ],
    [
      aggregate(
        {
          select: ['age_band', '{0} AS admissions', '{1} AS mean_stay'],
          terms: [count(), agg('avg', 'stay_days')],
          from: 'admissions',
          where: "region = getvariable('chosen_region') AND admitted_on >= getvariable('since')",
          groupBy: ['age_band'],
          units: admissionsUnit,
        },
        'ORDER BY age_band',
      ),
    ],
  ),

  notebook(
    'UNION ALL of a total row and the breakdown by region',
    [
      '-- %% output=regions_with_total',
      "SELECT 'all regions' AS region, count(DISTINCT patient_id) AS patients, count(*) AS admissions, avg(stay_days) AS mean_stay",
      'FROM admissions',
      'UNION ALL',
      'SELECT region, count(DISTINCT patient_id), count(*), avg(stay_days)',
      'FROM admissions',
      'GROUP BY region',
      'ORDER BY region',
    ],
    [
      aggregate(
        [
          { select: ["'all regions' AS region", '{0} AS patients', '{1} AS admissions', '{2} AS mean_stay'], terms: [countDistinct('patient_id'), count(), agg('avg', 'stay_days')], from: 'admissions', units: admissionsUnit },
          { select: ['region', '{0} AS patients', '{1} AS admissions', '{2} AS mean_stay'], terms: [countDistinct('patient_id'), count(), agg('avg', 'stay_days')], from: 'admissions', groupBy: ['region'], units: admissionsUnit },
        ],
        'ORDER BY region',
      ),
    ],
  ),

  notebook(
    'UNION ALL of the breakdown by region, then a total row',
    [
      '-- %% output=regions_then_total',
      'SELECT region, count(*) AS admissions, sum(cost) AS cost',
      'FROM admissions',
      'GROUP BY region',
      'UNION ALL',
      "SELECT 'total', count(*), sum(cost)",
      'FROM admissions',
    ],
    [
      aggregate([
        { select: ['region', '{0} AS admissions', '{1} AS cost'], terms: [count(), agg('sum', 'cost')], from: 'admissions', groupBy: ['region'], units: admissionsUnit },
        { select: ["'total' AS region", '{0} AS admissions', '{1} AS cost'], terms: [count(), agg('sum', 'cost')], from: 'admissions', units: admissionsUnit },
      ]),
    ],
  ),

  notebook(
    'membership by plan, then by decade of birth (two breakdowns of one population)',
    [
      '-- %% output=members_by_plan',
      'SELECT plan, count(*) AS members, avg(premium) AS mean_premium FROM members GROUP BY plan ORDER BY plan',
      '-- %% output=members_by_decade',
      'SELECT floor(birth_year / 10) * 10 AS decade, count(*) AS members FROM members GROUP BY decade ORDER BY decade',
    ],
    [
      aggregate({ select: ['plan', '{0} AS members', '{1} AS mean_premium'], terms: [count(), agg('avg', 'premium')], from: 'members', groupBy: ['plan'], units: { members: 'patient_id' } }, 'ORDER BY plan'),
      aggregate(
        { select: ['floor(birth_year / 10) * 10 AS decade', '{0} AS members'], terms: [count()], from: 'members', groupBy: ['floor(birth_year / 10) * 10'], units: { members: 'patient_id' } },
        'ORDER BY decade',
      ),
    ],
  ),

  notebook(
    'top 5 region × age band cells by admissions (ORDER BY … LIMIT)',
    [
      '-- %% output=top_cells',
      'SELECT region, age_band, count(*) AS admissions, round(avg(cost), 2) AS mean_cost',
      'FROM admissions',
      'GROUP BY region, age_band',
      'ORDER BY admissions DESC, region, age_band',
      'LIMIT 5',
    ],
    [
      aggregate(
        {
          select: ['region', 'age_band', '{0} AS admissions', 'round({1}, 2) AS mean_cost'],
          terms: [count(), agg('avg', 'cost')],
          from: 'admissions',
          groupBy: ['region', 'age_band'],
          units: admissionsUnit,
        },
        'ORDER BY admissions DESC, region, age_band LIMIT 5',
      ),
    ],
  ),

  notebook(
    'activity overview: an overall row, then by region, then by age band (several outputs)',
    [
      '-- %% [markdown]',
      '-- # Hospital activity overview',
      '-- %% output=overall',
      'SELECT count(DISTINCT patient_id) AS patients, count(*) AS admissions, round(avg(stay_days), 2) AS mean_stay, sum(cost) AS total_cost',
      'FROM admissions',
      '-- %% output=by_region',
      'SELECT region, count(DISTINCT patient_id) AS patients, count(*) AS admissions, round(avg(stay_days), 2) AS mean_stay',
      'FROM admissions GROUP BY region ORDER BY region',
      '-- %% output=by_band',
      'SELECT age_band, count(DISTINCT patient_id) AS patients, count(*) AS admissions',
      'FROM admissions GROUP BY age_band ORDER BY age_band',
    ],
    [
      aggregate({
        select: ['{0} AS patients', '{1} AS admissions', 'round({2}, 2) AS mean_stay', '{3} AS total_cost'],
        terms: [countDistinct('patient_id'), count(), agg('avg', 'stay_days'), agg('sum', 'cost')],
        from: 'admissions',
        units: admissionsUnit,
      }),
      aggregate(
        {
          select: ['region', '{0} AS patients', '{1} AS admissions', 'round({2}, 2) AS mean_stay'],
          terms: [countDistinct('patient_id'), count(), agg('avg', 'stay_days')],
          from: 'admissions',
          groupBy: ['region'],
          units: admissionsUnit,
        },
        'ORDER BY region',
      ),
      aggregate({ select: ['age_band', '{0} AS patients', '{1} AS admissions'], terms: [countDistinct('patient_id'), count()], from: 'admissions', groupBy: ['age_band'], units: admissionsUnit }, 'ORDER BY age_band'),
    ],
  ),

  notebook(
    'a later cell post-processes an earlier output (cost per admission, share with a window)',
    [
      '-- %% output=by_plan',
      'SELECT m.plan, count(DISTINCT a.patient_id) AS patients, count(*) AS admissions, sum(a.cost) AS cost',
      'FROM admissions a JOIN members m ON a.patient_id = m.patient_id',
      'GROUP BY m.plan',
      '-- %% output=plan_shares',
      'SELECT plan, cost / admissions AS cost_per_admission, round(100.0 * cost / sum(cost) OVER (), 1) AS cost_share_pct',
      'FROM by_plan',
      'ORDER BY plan',
    ],
    [
      aggregate({
        select: ['m.plan', '{0} AS patients', '{1} AS admissions', '{2} AS cost'],
        terms: [countDistinct('a.patient_id'), count(), agg('sum', 'a.cost')],
        from: joined,
        groupBy: ['m.plan'],
        units: joinedUnits,
      }),
      post('SELECT plan, cost / admissions AS cost_per_admission, round(100.0 * cost / sum(cost) OVER (), 1) AS cost_share_pct FROM by_plan ORDER BY plan'),
    ],
  ),

  notebook(
    'corr and regression of cost on length of stay, by region',
    [
      '-- %% output=cost_vs_stay',
      'SELECT region, count(*) AS admissions,',
      '       corr(stay_days, cost) AS r_stay_cost,',
      '       regr_slope(cost, stay_days) AS cost_per_extra_day,',
      '       regr_intercept(cost, stay_days) AS base_cost,',
      '       regr_r2(cost, stay_days) AS r2',
      'FROM admissions GROUP BY region ORDER BY region',
    ],
    [
      aggregate(
        {
          select: ['region', '{0} AS admissions', '{1} AS r_stay_cost', '{2} AS cost_per_extra_day', '{3} AS base_cost', '{4} AS r2'],
          terms: [count(), agg('corr', 'stay_days', 'cost'), agg('regr_slope', 'cost', 'stay_days'), agg('regr_intercept', 'cost', 'stay_days'), agg('regr_r2', 'cost', 'stay_days')],
          from: 'admissions',
          groupBy: ['region'],
          units: admissionsUnit,
        },
        'ORDER BY region',
      ),
    ],
  ),

  notebook(
    'insured share of admitted patients by region (LEFT JOIN, count DISTINCT on both sides)',
    [
      '-- %% output=insured_share',
      'SELECT a.region,',
      '       count(DISTINCT a.patient_id) AS patients,',
      '       count(DISTINCT m.patient_id) AS insured,',
      '       round(100.0 * count(DISTINCT m.patient_id) / count(DISTINCT a.patient_id), 1) AS insured_pct',
      'FROM admissions a',
      'LEFT JOIN members m ON a.patient_id = m.patient_id',
      'GROUP BY a.region',
      'ORDER BY a.region',
    ],
    [
      aggregate(
        {
          select: ['a.region', '{0} AS patients', '{1} AS insured', 'round(100.0 * {1} / {0}, 1) AS insured_pct'],
          terms: [countDistinct('a.patient_id'), countDistinct('m.patient_id')],
          from: 'admissions a LEFT JOIN members m ON a.patient_id = m.patient_id',
          groupBy: ['a.region'],
          units: joinedUnits,
        },
        'ORDER BY region',
      ),
    ],
  ),

  notebook(
    'claims by type and quarter (a whale claim dominates one cell)',
    [
      '-- %% output=claims_by_quarter',
      "SELECT claim_type, date_trunc('quarter', claim_date) AS quarter, count(*) AS claims, count(DISTINCT patient_id) AS claimants, sum(amount) AS amount",
      'FROM claims',
      'GROUP BY claim_type, quarter',
      'ORDER BY claim_type, quarter',
    ],
    [
      aggregate(
        {
          select: ['claim_type', "date_trunc('quarter', claim_date) AS quarter", '{0} AS claims', '{1} AS claimants', '{2} AS amount'],
          terms: [count(), countDistinct('patient_id'), agg('sum', 'amount')],
          from: 'claims',
          groupBy: ['claim_type', "date_trunc('quarter', claim_date)"],
          units: { claims: 'patient_id' },
        },
        'ORDER BY claim_type, quarter',
      ),
    ],
    5,
  ),

  notebook(
    'three tables: hospital and insurer per-person totals joined, by plan',
    [
      '-- %% output=hospital_vs_claims',
      'WITH hospital AS (',
      '  SELECT patient_id, count(*) AS visits, sum(cost) AS hospital_cost FROM admissions GROUP BY patient_id',
      '), insurer AS (',
      '  SELECT patient_id, count(*) AS claims, sum(amount) AS claimed FROM claims GROUP BY patient_id',
      ')',
      'SELECT m.plan, count(*) AS people, avg(h.visits) AS mean_visits, avg(i.claimed) AS mean_claimed,',
      '       corr(h.hospital_cost, i.claimed) AS r_cost_claimed',
      'FROM hospital h',
      'JOIN insurer i ON h.patient_id = i.patient_id',
      'JOIN members m ON m.patient_id = h.patient_id',
      'GROUP BY m.plan',
      'ORDER BY m.plan',
    ],
    [
      aggregate(
        {
          with: [
            'hospital AS (SELECT patient_id, count(*) AS visits, sum(cost) AS hospital_cost FROM admissions GROUP BY patient_id),',
            'insurer AS (SELECT patient_id, count(*) AS claims, sum(amount) AS claimed FROM claims GROUP BY patient_id)',
          ].join(' '),
          select: ['m.plan', '{0} AS people', '{1} AS mean_visits', '{2} AS mean_claimed', '{3} AS r_cost_claimed'],
          terms: [count(), derived('avg', ['h.visits'], ['admissions.rows']), derived('avg', ['i.claimed'], ['claims.amount']), derived('corr', ['h.hospital_cost', 'i.claimed'], ['admissions.cost', 'claims.amount'])],
          from: 'hospital h JOIN insurer i ON h.patient_id = i.patient_id JOIN members m ON m.patient_id = h.patient_id',
          groupBy: ['m.plan'],
          units: { admissions: 'h.patient_id', claims: 'i.patient_id', members: 'm.patient_id' },
        },
        'ORDER BY plan',
      ),
    ],
  ),

  notebook(
    'region names from a public lookup table joined on the region dimension',
    [
      '-- %% output=by_region_name',
      'SELECT r.region_name, r.area, count(*) AS admissions, round(avg(a.stay_days), 2) AS mean_stay',
      'FROM admissions a',
      'JOIN regions r ON a.region = r.region',
      'GROUP BY r.region_name, r.area',
      'ORDER BY r.region_name',
    ],
    [
      aggregate(
        {
          select: ['r.region_name', 'r.area', '{0} AS admissions', 'round({1}, 2) AS mean_stay'],
          terms: [count(), agg('avg', 'a.stay_days')],
          from: 'admissions a JOIN regions r ON a.region = r.region',
          groupBy: ['r.region_name', 'r.area'],
          units: { admissions: 'a.patient_id' },
        },
        'ORDER BY region_name',
      ),
    ],
  ),

  notebook(
    'readmissions per year: counts and percentage (FILTER, year())',
    [
      '-- %% output=readmissions_per_year',
      'SELECT year(admitted_on) AS year,',
      '       count(*) AS admissions,',
      '       count(*) FILTER (WHERE readmitted) AS readmissions,',
      '       round(100.0 * count(*) FILTER (WHERE readmitted) / count(*), 2) AS readmission_pct',
      'FROM admissions',
      'GROUP BY year(admitted_on)',
      'ORDER BY year',
    ],
    [
      aggregate(
        {
          select: ['year(admitted_on) AS year', '{0} AS admissions', '{1} AS readmissions', 'round(100.0 * {1} / {0}, 2) AS readmission_pct'],
          terms: [count(), count('readmitted')],
          from: 'admissions',
          groupBy: ['year(admitted_on)'],
          units: admissionsUnit,
        },
        'ORDER BY year',
      ),
    ],
  ),

  notebook(
    'seasonality: admissions and stay by month of the year (month())',
    [
      '-- %% output=seasonality',
      'SELECT month(admitted_on) AS month_of_year, count(*) AS admissions, avg(stay_days) AS mean_stay',
      'FROM admissions',
      'GROUP BY month(admitted_on)',
      'ORDER BY month_of_year',
    ],
    [
      aggregate(
        {
          select: ['month(admitted_on) AS month_of_year', '{0} AS admissions', '{1} AS mean_stay'],
          terms: [count(), agg('avg', 'stay_days')],
          from: 'admissions',
          groupBy: ['month(admitted_on)'],
          units: admissionsUnit,
        },
        'ORDER BY month_of_year',
      ),
    ],
  ),

  notebook(
    'a pivot of cost by region with FILTER columns, by age band',
    [
      '-- %% output=cost_pivot',
      'SELECT age_band,',
      "       sum(cost) FILTER (WHERE region = 'east') AS east_cost,",
      "       sum(cost) FILTER (WHERE region = 'west') AS west_cost,",
      "       sum(cost) FILTER (WHERE region = 'south') AS south_cost,",
      '       sum(cost) AS all_cost',
      'FROM admissions',
      'GROUP BY age_band',
      'ORDER BY age_band',
    ],
    [
      aggregate(
        {
          select: ['age_band', '{0} AS east_cost', '{1} AS west_cost', '{2} AS south_cost', '{3} AS all_cost'],
          terms: [
            { ...agg('sum', 'cost'), filter: "region = 'east'" },
            { ...agg('sum', 'cost'), filter: "region = 'west'" },
            { ...agg('sum', 'cost'), filter: "region = 'south'" },
            agg('sum', 'cost'),
          ],
          from: 'admissions',
          groupBy: ['age_band'],
          units: admissionsUnit,
        },
        'ORDER BY age_band',
      ),
    ],
  ),

  notebook(
    'premium income by plan: a measure scaled by constants, an aggregate times a constant',
    [
      '-- %% output=premium_income',
      'SELECT plan, count(*) AS members, sum(premium * 12) AS annual_premiums, avg(premium / 100.0) AS mean_premium_hundreds, avg(premium) * 12 AS mean_annual_premium',
      'FROM members',
      'GROUP BY plan',
      'ORDER BY plan',
    ],
    [
      aggregate(
        {
          select: ['plan', '{0} AS members', '{1} AS annual_premiums', '{2} AS mean_premium_hundreds', '{3} * 12 AS mean_annual_premium'],
          terms: [count(), agg('sum', 'premium * 12'), agg('avg', 'premium / 100.0'), agg('avg', 'premium')],
          from: 'members',
          groupBy: ['plan'],
          units: { members: 'patient_id' },
        },
        'ORDER BY plan',
      ),
    ],
  ),

  notebook(
    'cost and admissions per patient by age band (ratios of aggregates)',
    [
      '-- %% output=per_patient_ratios',
      'SELECT age_band,',
      '       sum(cost) / count(DISTINCT patient_id) AS cost_per_patient,',
      '       count(*) * 1.0 / count(DISTINCT patient_id) AS admissions_per_patient',
      'FROM admissions',
      'GROUP BY age_band',
      'ORDER BY age_band',
    ],
    [
      aggregate(
        {
          select: ['age_band', '{0} / {1} AS cost_per_patient', '{2} * 1.0 / {1} AS admissions_per_patient'],
          terms: [agg('sum', 'cost'), countDistinct('patient_id'), count()],
          from: 'admissions',
          groupBy: ['age_band'],
          units: admissionsUnit,
        },
        'ORDER BY age_band',
      ),
    ],
  ),

  notebook(
    'members and mean premium by decade of birth (floor bucket over a numeric dimension)',
    [
      '-- %% output=by_decade',
      'SELECT floor(birth_year / 10) * 10 AS decade, count(*) AS members, avg(premium) AS mean_premium',
      'FROM members',
      'GROUP BY decade',
      'ORDER BY decade',
    ],
    [
      aggregate(
        {
          select: ['floor(birth_year / 10) * 10 AS decade', '{0} AS members', '{1} AS mean_premium'],
          terms: [count(), agg('avg', 'premium')],
          from: 'members',
          groupBy: ['floor(birth_year / 10) * 10'],
          units: { members: 'patient_id' },
        },
        'ORDER BY decade',
      ),
    ],
  ),

  notebook(
    'claims by a short type code (upper(substr())) with mean amount',
    [
      '-- %% output=by_type_code',
      'SELECT upper(substr(claim_type, 1, 3)) AS type_code, count(*) AS claims, round(avg(amount), 2) AS mean_amount',
      'FROM claims',
      'GROUP BY type_code',
      'ORDER BY type_code',
    ],
    [
      aggregate(
        {
          select: ['upper(substr(claim_type, 1, 3)) AS type_code', '{0} AS claims', 'round({1}, 2) AS mean_amount'],
          terms: [count(), agg('avg', 'amount')],
          from: 'claims',
          groupBy: ['upper(substr(claim_type, 1, 3))'],
          units: { claims: 'patient_id' },
        },
        'ORDER BY type_code',
      ),
    ],
  ),

  notebook(
    'older patients admitted in 2023 (IN list, BETWEEN dates)',
    [
      '-- %% output=older_2023',
      'SELECT region, count(*) AS admissions, avg(stay_days) AS mean_stay',
      'FROM admissions',
      "WHERE age_band IN ('51-70', '71-89') AND admitted_on BETWEEN DATE '2023-03-01' AND DATE '2023-12-31'",
      'GROUP BY region',
      'ORDER BY region',
    ],
    [
      aggregate(
        {
          select: ['region', '{0} AS admissions', '{1} AS mean_stay'],
          terms: [count(), agg('avg', 'stay_days')],
          from: 'admissions',
          where: "age_band IN ('51-70', '71-89') AND admitted_on BETWEEN DATE '2023-03-01' AND DATE '2023-12-31'",
          groupBy: ['region'],
          units: admissionsUnit,
        },
        'ORDER BY region',
      ),
    ],
  ),

  notebook(
    'HAVING over released counts: only busy region × age band cells',
    [
      '-- %% output=busy_cells',
      'SELECT region, age_band, count(*) AS admissions, avg(cost) AS mean_cost',
      'FROM admissions',
      'GROUP BY region, age_band',
      'HAVING count(*) >= 40',
      'ORDER BY region, age_band',
    ],
    [
      aggregate(
        {
          select: ['region', 'age_band', '{0} AS admissions', '{1} AS mean_cost'],
          terms: [count(), agg('avg', 'cost')],
          from: 'admissions',
          groupBy: ['region', 'age_band'],
          units: admissionsUnit,
        },
        'WHERE admissions >= 40 ORDER BY region, age_band',
      ),
    ],
  ),

  notebook(
    'two outputs joined by a later cell: share of long stays per region',
    [
      '-- %% output=admissions_by_region',
      'SELECT region, count(*) AS admissions FROM admissions GROUP BY region',
      '-- %% output=long_by_region',
      'SELECT region, count(*) AS long_admissions FROM admissions WHERE stay_days >= 5 GROUP BY region',
      '-- %% output=long_share',
      'SELECT t.region, t.admissions, l.long_admissions, round(100.0 * l.long_admissions / t.admissions, 1) AS long_pct',
      'FROM admissions_by_region t JOIN long_by_region l ON t.region = l.region',
      'ORDER BY t.region',
    ],
    [
      aggregate({ select: ['region', '{0} AS admissions'], terms: [count()], from: 'admissions', groupBy: ['region'], units: admissionsUnit }),
      aggregate({ select: ['region', '{0} AS long_admissions'], terms: [count()], from: 'admissions', where: 'stay_days >= 5', groupBy: ['region'], units: admissionsUnit }),
      post(
        'SELECT t.region, t.admissions, l.long_admissions, round(100.0 * l.long_admissions / t.admissions, 1) AS long_pct FROM admissions_by_region t JOIN long_by_region l ON t.region = l.region ORDER BY t.region',
      ),
    ],
  ),

  notebook(
    'first admissions of young or eastern patients with their premium (NOT, OR, LEFT JOIN, count(column))',
    [
      '-- %% output=first_admissions',
      'SELECT a.age_band, count(*) AS admissions, count(DISTINCT a.patient_id) AS patients, count(m.plan) AS with_plan, avg(m.premium) AS mean_premium',
      'FROM admissions a',
      'LEFT JOIN members m ON a.patient_id = m.patient_id',
      "WHERE NOT a.readmitted AND (a.region = 'east' OR a.age_band = '18-30')",
      'GROUP BY a.age_band',
      'ORDER BY a.age_band',
    ],
    [
      aggregate(
        {
          select: ['a.age_band', '{0} AS admissions', '{1} AS patients', '{2} AS with_plan', '{3} AS mean_premium'],
          // avg over the join weighs each member's premium by their admissions, as SQL does.
          terms: [count(), countDistinct('a.patient_id'), { fn: 'count', args: ['m.plan'] }, agg('avg', 'm.premium')],
          from: 'admissions a LEFT JOIN members m ON a.patient_id = m.patient_id',
          where: "NOT a.readmitted AND (a.region = 'east' OR a.age_band = '18-30')",
          groupBy: ['a.age_band'],
          units: joinedUnits,
        },
        'ORDER BY age_band',
      ),
    ],
  ),

  notebook(
    'monthly inpatient claims in 2024 (LIKE, date literal, k = 5)',
    [
      '-- %% output=inpatient_monthly',
      "SELECT date_trunc('month', claim_date) AS month, count(*) AS claims, sum(amount) AS amount",
      'FROM claims',
      "WHERE claim_type LIKE 'in%' AND claim_date >= DATE '2024-01-01'",
      'GROUP BY month',
      'ORDER BY month',
    ],
    [
      aggregate(
        {
          select: ["date_trunc('month', claim_date) AS month", '{0} AS claims', '{1} AS amount'],
          terms: [count(), agg('sum', 'amount')],
          from: 'claims',
          where: "claim_type LIKE 'in%' AND claim_date >= DATE '2024-01-01'",
          groupBy: ["date_trunc('month', claim_date)"],
          units: { claims: 'patient_id' },
        },
        'ORDER BY month',
      ),
    ],
    5,
  ),

  notebook(
    'admissions by day of the week (date_part dow)',
    [
      '-- %% output=by_weekday',
      "SELECT date_part('dow', admitted_on) AS weekday, count(*) AS admissions, round(avg(cost), 2) AS mean_cost",
      'FROM admissions',
      'GROUP BY weekday',
      'ORDER BY weekday',
    ],
    [
      aggregate(
        {
          select: ["date_part('dow', admitted_on) AS weekday", '{0} AS admissions', 'round({1}, 2) AS mean_cost'],
          terms: [count(), agg('avg', 'cost')],
          from: 'admissions',
          groupBy: ["date_part('dow', admitted_on)"],
          units: admissionsUnit,
        },
        'ORDER BY weekday',
      ),
    ],
  ),

  notebook(
    'readmissions per 100 patients and mean premium by plan and region (join, rate over count DISTINCT)',
    [
      '-- %% output=plan_region_rates',
      'SELECT m.plan, a.region,',
      '       count(DISTINCT a.patient_id) AS patients,',
      '       round(100.0 * count(*) FILTER (WHERE a.readmitted) / count(DISTINCT a.patient_id), 1) AS readmissions_per_100,',
      '       avg(m.premium) AS mean_premium',
      'FROM members m',
      'JOIN admissions a ON a.patient_id = m.patient_id',
      'GROUP BY m.plan, a.region',
      'ORDER BY m.plan, a.region',
    ],
    [
      aggregate(
        {
          select: ['m.plan', 'a.region', '{0} AS patients', 'round(100.0 * {1} / {0}, 1) AS readmissions_per_100', '{2} AS mean_premium'],
          terms: [countDistinct('a.patient_id'), count('a.readmitted'), agg('avg', 'm.premium')],
          from: 'members m JOIN admissions a ON a.patient_id = m.patient_id',
          groupBy: ['m.plan', 'a.region'],
          units: joinedUnits,
        },
        'ORDER BY plan, region',
      ),
    ],
  ),

  notebook(
    'admissions per member by plan (the insurer’s table first in FROM, count(*) over the join)',
    [
      '-- %% output=admissions_per_member',
      'SELECT m.plan,',
      '       count(*) AS admissions,',
      '       count(DISTINCT m.patient_id) AS members,',
      '       round(count(*) * 1.0 / count(DISTINCT m.patient_id), 2) AS admissions_per_member,',
      '       sum(a.cost) AS cost',
      'FROM members m',
      'JOIN admissions a ON a.patient_id = m.patient_id',
      'GROUP BY m.plan',
      'ORDER BY m.plan',
    ],
    [
      aggregate(
        {
          select: ['m.plan', '{0} AS admissions', '{1} AS members', 'round({0} * 1.0 / {1}, 2) AS admissions_per_member', '{2} AS cost'],
          terms: [count(), countDistinct('m.patient_id'), agg('sum', 'a.cost')],
          from: 'members m JOIN admissions a ON a.patient_id = m.patient_id',
          groupBy: ['m.plan'],
          units: { members: 'm.patient_id', admissions: 'a.patient_id' },
        },
        'ORDER BY plan',
      ),
    ],
  ),

  notebook(
    'all admissions and overnight stays by region, two outputs (their sets differ by a few day cases)',
    [
      '-- %% output=all_admissions',
      'SELECT region, count(*) AS admissions, sum(cost) AS cost FROM admissions GROUP BY region ORDER BY region',
      '-- %% output=overnight',
      'SELECT region, count(*) AS overnight_stays, sum(cost) AS cost FROM admissions WHERE stay_days >= 1 GROUP BY region ORDER BY region',
    ],
    [
      aggregate({ select: ['region', '{0} AS admissions', '{1} AS cost'], terms: [count(), agg('sum', 'cost')], from: 'admissions', groupBy: ['region'], units: admissionsUnit }, 'ORDER BY region'),
      aggregate(
        { select: ['region', '{0} AS overnight_stays', '{1} AS cost'], terms: [count(), agg('sum', 'cost')], from: 'admissions', where: 'stay_days >= 1', groupBy: ['region'], units: admissionsUnit },
        'ORDER BY region',
      ),
    ],
  ),

  notebook(
    'casts and NULLIF over aggregates (visits per patient, cost per bed day)',
    [
      '-- %% output=band_ratios',
      'SELECT age_band,',
      '       CAST(count(*) AS DOUBLE) / count(DISTINCT patient_id) AS visits_per_patient,',
      '       sum(cost) / nullif(sum(stay_days), 0) AS cost_per_bed_day,',
      '       avg(cost)::DECIMAL(10, 2) AS mean_cost',
      'FROM admissions',
      'GROUP BY age_band',
      'ORDER BY age_band',
    ],
    [
      aggregate(
        {
          select: ['age_band', 'CAST({0} AS DOUBLE) / {1} AS visits_per_patient', '{2} / nullif({3}, 0) AS cost_per_bed_day', '{4}::DECIMAL(10, 2) AS mean_cost'],
          terms: [count(), countDistinct('patient_id'), agg('sum', 'cost'), agg('sum', 'stay_days'), agg('avg', 'cost')],
          from: 'admissions',
          groupBy: ['age_band'],
          units: admissionsUnit,
        },
        'ORDER BY age_band',
      ),
    ],
  ),

  notebook(
    '2024 admissions by quarter and readmission status (dimension expression in WHERE, FILTER aggregates)',
    [
      '-- %% output=quarters_2024',
      "SELECT date_trunc('quarter', admitted_on) AS quarter, readmitted,",
      '       count(*) AS admissions,',
      "       count(*) FILTER (WHERE region IN ('east', 'west')) AS east_west,",
      "       avg(cost) FILTER (WHERE age_band <> '18-30') AS mean_cost_over_30",
      'FROM admissions',
      'WHERE year(admitted_on) = 2024',
      "GROUP BY date_trunc('quarter', admitted_on), readmitted",
      'ORDER BY quarter, readmitted',
    ],
    [
      aggregate(
        {
          select: ["date_trunc('quarter', admitted_on) AS quarter", 'readmitted', '{0} AS admissions', '{1} AS east_west', '{2} AS mean_cost_over_30'],
          terms: [count(), count("region IN ('east', 'west')"), { ...agg('avg', 'cost'), filter: "age_band <> '18-30'" }],
          from: 'admissions',
          where: 'year(admitted_on) = 2024',
          groupBy: ["date_trunc('quarter', admitted_on)", 'readmitted'],
          units: admissionsUnit,
        },
        'ORDER BY quarter, readmitted',
      ),
    ],
  ),

  notebook(
    'claim amounts against premiums by claim type (join of the insurer’s tables, covar_samp, stddev_pop)',
    [
      '-- %% output=claims_vs_premium',
      'SELECT c.claim_type, count(*) AS claims, covar_samp(c.amount, m.premium) AS cov_amount_premium, stddev_pop(c.amount) AS sd_amount',
      'FROM claims c',
      'JOIN members m ON c.patient_id = m.patient_id',
      'GROUP BY c.claim_type',
      'ORDER BY c.claim_type',
    ],
    [
      aggregate(
        {
          select: ['c.claim_type', '{0} AS claims', '{1} AS cov_amount_premium', '{2} AS sd_amount'],
          terms: [count(), agg('covar_samp', 'c.amount', 'm.premium'), agg('stddev_pop', 'c.amount')],
          from: 'claims c JOIN members m ON c.patient_id = m.patient_id',
          groupBy: ['c.claim_type'],
          units: { claims: 'c.patient_id', members: 'm.patient_id' },
        },
        'ORDER BY claim_type',
      ),
    ],
  ),

  notebook(
    'stay and cost by readmission status and region, as a derived table with renamed columns',
    [
      '-- %% output=by_status',
      'SELECT status, area, count(*) AS admissions, avg(days) AS mean_days, sum(eur) AS cost',
      'FROM (',
      "  SELECT CASE WHEN readmitted THEN 'readmission' ELSE 'first' END AS status, region AS area, stay_days AS days, cost AS eur",
      '  FROM admissions',
      "  WHERE region <> 'north'",
      ') t',
      'GROUP BY status, area',
      'ORDER BY status, area',
    ],
    [
      aggregate(
        {
          select: ['status', 'area', '{0} AS admissions', '{1} AS mean_days', '{2} AS cost'],
          terms: [count(), derived('avg', ['days'], ['admissions.stay_days']), derived('sum', ['eur'], ['admissions.cost'])],
          from: "(SELECT patient_id, CASE WHEN readmitted THEN 'readmission' ELSE 'first' END AS status, region AS area, stay_days AS days, cost AS eur FROM admissions WHERE region <> 'north') t",
          groupBy: ['status', 'area'],
          units: { admissions: 't.patient_id' },
        },
        'ORDER BY status, area',
      ),
    ],
  ),
];
