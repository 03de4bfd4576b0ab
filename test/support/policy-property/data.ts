// The property test's room (test/integration/policy-property.test.ts): a small, seeded population
// of about 60 patients, k = 5, in four tables of different owners.
//
//   visits  (hospital)  privacy unit patient_id; dimensions region, age_band, age, ward,
//                       visit_month (DATE), readmitted (BOOLEAN); measures cost (DOUBLE, random
//                       fractions, some NULL and some zero) and los (INTEGER, some NULL). 2-6 rows a person.
//   plans   (insurer)   privacy unit patient_id (most of the same people, a few of its own);
//                       dimension plan; measure premium.
//   tags    (the runner) privacy unit tag_id, join key patient_id; dimension label; measure weight.
//                       Besides ordinary tags it holds made-up "people" who all point at one real
//                       patient (label 'target'): class 5 of issue 17.
//   wards   (public)    no privacy unit: a lookup of ward → ward_type, floor (dimensions only).
//
// Some people are easy to single out on purpose: the islander (the only person in region 'islands',
// the oldest), the big spender (one visit costing far more than anyone's: dominates sums), people
// without a plan. Their ids are exported for the mutations that aim at them.
import { type TableSpec } from '../run-fixtures.js';
import { seededRandom } from '../../../shared/seeded-random.js';

type Value = string | number | boolean | null;

export const k = 5;

/** Patients 101…160 of the hospital; 201, 202 only have a plan. */
export const firstPatient = 101;
export const patientCount = 60;
export const islander = 160;
export const bigSpender = 107;
export const bigCost = 250_000.125;
/** The real patient the runner's made-up tag people point at. */
export const taggedTarget = 113;
export const regions = ['north', 'south', 'east', 'west'] as const;
export const ageBands = ['18-39', '40-64', '65+'] as const;
export const plans = ['basic', 'standard', 'premium'] as const;
export const wards = ['W1', 'W2', 'W3', 'W4', 'W5', 'W6'] as const;
export const labels = ['a', 'b', 'c'] as const;

export interface PropertyData {
  readonly specs: TableSpec[];
  /** Per person universe: the ids and how to drop one of them (table → column). */
  readonly universes: readonly Universe[];
  /** Data facts mutations aim with: ids, thresholds near the top of each measure, an exact total. */
  readonly facts: Facts;
}

export interface Universe {
  /** 'patient' or 'tag'. */
  readonly name: string;
  readonly ids: readonly number[];
  /** Tables that lose a person's rows when that person is removed, with the column naming them. */
  readonly tables: readonly { readonly table: string; readonly column: string }[];
  /**
   * The runner's own table's people: the runner knows them (it made them up), so what a value says
   * about them is reported but is not a leak to the runner.
   */
  readonly runnerOwn: boolean;
}

export interface Facts {
  readonly patients: readonly number[];
  /** Per measure ('cost', 'los', 'premium', 'age'): values that only 1-3 rows/people exceed. */
  readonly topThresholds: Readonly<Record<string, readonly number[]>>;
  /** Per measure: a few values that occur in the data (for equality selectors). */
  readonly sampleValues: Readonly<Record<string, readonly number[]>>;
  /** sum(cost) over all visits, rounded, and the islander's total cost. */
  readonly totalCost: number;
  readonly months: readonly string[];
  /**
   * (visit_month, ward) pairs that hold 1-3 visits, all of people with other visits too: a filter
   * that leaves these rows out keeps every person, so only rows (not people) differ.
   */
  readonly rareCells: readonly { readonly month: string; readonly ward: string; readonly rows: number }[];
}

const round4 = (value: number): number => Math.round(value * 10_000) / 10_000;

function rareCells(visits: readonly Value[][]): { month: string; ward: string; rows: number }[] {
  const cells = new Map<string, Value[][]>();
  const visitsOf = new Map<Value, number>();
  for (const row of visits) {
    const key = `${String(row[5])}|${String(row[4])}`;
    cells.set(key, [...(cells.get(key) ?? []), row]);
    visitsOf.set(row[0] ?? null, (visitsOf.get(row[0] ?? null) ?? 0) + 1);
  }
  const rare: { month: string; ward: string; rows: number }[] = [];
  for (const [key, rows] of cells) {
    const [month, ward] = key.split('|') as [string, string];
    const people = new Set(rows.map((row) => row[0]));
    if (rows.length <= 3 && [...people].every((person) => (visitsOf.get(person ?? null) ?? 0) > rows.filter((row) => row[0] === person).length)) rare.push({ month, ward, rows: rows.length });
  }
  return rare;
}

export function propertyData(seed: number): PropertyData {
  const random = seededRandom(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
  const visits: Value[][] = [];
  const patients: number[] = [];
  const ages = new Map<number, number>();
  const months = Array.from({ length: 12 }, (_, index) => `2023-${String(index + 1).padStart(2, '0')}-01`);
  for (let index = 0; index < patientCount; index++) {
    const id = firstPatient + index;
    patients.push(id);
    const islanderHere = id === islander;
    const region = islanderHere ? 'islands' : index < 18 ? 'north' : index < 36 ? 'south' : index < 52 ? 'east' : 'west';
    const age = islanderHere ? 97 : 18 + Math.floor(random() * 72);
    ages.set(id, age);
    const band = islanderHere ? '90+' : age < 40 ? '18-39' : age < 65 ? '40-64' : '65+';
    const count = 2 + Math.floor(random() * 5);
    for (let visit = 0; visit < count; visit++) {
      const draw = random();
      let cost: number | null = round4(50 + random() * 2000);
      if (draw < 0.05) cost = null;
      else if (draw < 0.08) cost = 0;
      if (id === bigSpender && visit === 0) cost = bigCost;
      const losDraw = random();
      const los: number | null = losDraw < 0.05 ? null : Math.floor(random() * 15);
      visits.push([id, region, band, age, pick(wards), pick(months), random() < 0.2, cost, los]);
    }
  }

  const planRows: Value[][] = [];
  const withoutPlan = new Set(patients.filter(() => random() < 0.13));
  withoutPlan.delete(bigSpender);
  withoutPlan.delete(taggedTarget);
  for (const id of [...patients, 201, 202]) {
    if (withoutPlan.has(id)) continue;
    const draw = random();
    const premium = draw < 0.04 ? null : round4(80 + random() * 400);
    planRows.push([id, pick(plans), premium]);
  }

  const tagRows: Value[][] = [];
  for (let tag = 501; tag <= 530; tag++) tagRows.push([tag, pick(patients), pick(labels), round4(random() * 10)]);
  // The runner's made-up people: six "tag people", all the same real patient.
  for (let tag = 601; tag <= 606; tag++) tagRows.push([tag, taggedTarget, 'target', 1]);

  const wardRows: Value[][] = wards.map((ward, index) => [ward, index % 2 === 0 ? 'medical' : 'surgical', 1 + Math.floor(index / 2)]);

  const specs: TableSpec[] = [
    {
      name: 'visits',
      allowMinMax: false,
      columns: [
        { name: 'patient_id', role: 'privacy_unit' },
        { name: 'region', role: 'dimension' },
        { name: 'age_band', role: 'dimension' },
        { name: 'age', role: 'dimension' },
        { name: 'ward', role: 'dimension' },
        { name: 'visit_month', role: 'dimension' },
        { name: 'readmitted', role: 'dimension' },
        { name: 'cost', role: 'measure' },
        { name: 'los', role: 'measure' },
      ],
      rows: visits,
    },
    {
      name: 'plans',
      allowMinMax: false,
      columns: [
        { name: 'patient_id', role: 'privacy_unit' },
        { name: 'plan', role: 'dimension' },
        { name: 'premium', role: 'measure' },
      ],
      rows: planRows,
    },
    {
      name: 'tags',
      allowMinMax: false,
      columns: [
        { name: 'tag_id', role: 'privacy_unit' },
        { name: 'patient_id', role: 'join_key' },
        { name: 'label', role: 'dimension' },
        { name: 'weight', role: 'measure' },
      ],
      rows: tagRows,
    },
    {
      name: 'wards',
      allowMinMax: false,
      columns: [
        { name: 'ward', role: 'dimension' },
        { name: 'ward_type', role: 'dimension' },
        { name: 'floor', role: 'dimension' },
      ],
      rows: wardRows,
    },
  ];

  const numbers = (rows: Value[][], column: number): number[] => rows.map((row) => row[column]).filter((value): value is number => typeof value === 'number');
  const tops = (values: number[]): number[] => {
    const sorted = [...new Set(values)].sort((a, b) => b - a);
    // Just below the largest, the second and the third value: 1, 2 or 3 rows above it.
    return sorted.slice(1, 4).map((value, index) => value + ((sorted[index] ?? value) - value) / 2);
  };
  const costs = numbers(visits, 7);
  const facts: Facts = {
    patients,
    topThresholds: {
      cost: tops(costs),
      los: tops(numbers(visits, 8)).map(Math.floor),
      premium: tops(numbers(planRows, 2)),
      age: tops([...ages.values()]).map(Math.floor),
    },
    sampleValues: {
      cost: costs.filter((_, index) => index % 37 === 3).slice(0, 4),
      los: [0, 3, 7, 14],
      premium: numbers(planRows, 2).slice(0, 3),
      age: [...ages.values()].slice(0, 3),
    },
    totalCost: costs.reduce((sum, value) => sum + value, 0),
    months,
    rareCells: rareCells(visits),
  };
  const patientUniverse: Universe = {
    name: 'patient',
    ids: [...patients, 201, 202].filter((id) => !withoutPlan.has(id) || patients.includes(id)),
    tables: [
      { table: 'visits', column: 'patient_id' },
      { table: 'plans', column: 'patient_id' },
    ],
    runnerOwn: false,
  };
  const tagUniverse: Universe = { name: 'tag', ids: tagRows.map((row) => row[0] as number), tables: [{ table: 'tags', column: 'tag_id' }], runnerOwn: true };
  return { specs, universes: [patientUniverse, tagUniverse], facts };
}
