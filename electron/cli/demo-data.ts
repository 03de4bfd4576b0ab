// The demo's synthetic world, the same for every run (seeded, no Math.random): St Mary Hospital's
// admissions with a planted 30-day readmission signal, Acme Insurance's members and claims (most
// patients are members: patient_id = member_id), Nova Analytics' private feature library, the two
// notebooks of the stories, and a few new patients to score. Pure: demo-story.ts writes the files.
import { toCsv } from '../../shared/csv.js';
import { seededRandom } from '../../shared/seeded-random.js';

export const demoSeed = 20_260_601;

type Random = () => number;

function normal(random: Random): number {
  // Box–Muller; 1 − u keeps the logarithm's argument above 0.
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function poisson(random: Random, mean: number): number {
  // Knuth's method: fine for the small means used here.
  const limit = Math.exp(-mean);
  let count = 0;
  let product = random();
  while (product > limit) {
    count++;
    product *= random();
  }
  return count;
}

function pick<T>(random: Random, choices: readonly (readonly [T, number])[]): T {
  const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
  let left = random() * total;
  for (const [choice, weight] of choices) {
    left -= weight;
    if (left < 0) return choice;
  }
  return (choices[choices.length - 1] as readonly [T, number])[0];
}

const clamp = (value: number, low: number, high: number): number => Math.min(high, Math.max(low, value));
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

// ---- The hospital ------------------------------------------------------------------------------

export interface Admission {
  readonly patientId: number;
  readonly age: number;
  readonly sex: 'F' | 'M';
  readonly ageBand: string;
  readonly diagnosis: string;
  readonly admitMonth: string;
  readonly lengthOfStay: number;
  readonly priorAdmissions: number;
  readonly chronicConditions: number;
  readonly dischargeTo: string;
  readonly readmitted30d: 0 | 1;
}

export const ageBands = ['18-39', '40-54', '55-64', '65-74', '75-84', '85+'] as const;

export function ageBandOf(age: number): string {
  if (age < 40) return '18-39';
  if (age < 55) return '40-54';
  if (age < 65) return '55-64';
  if (age < 75) return '65-74';
  if (age < 85) return '75-84';
  return '85+';
}

/** Diagnosis: share of admissions, typical stay in days, and its planted effect on readmission (log-odds). */
const diagnoses: readonly (readonly [string, number, number, number])[] = [
  ['heart failure', 14, 5, 0.85],
  ['COPD', 12, 4, 0.7],
  ['pneumonia', 15, 5, 0.35],
  ['sepsis', 8, 7, 0.6],
  ['stroke', 8, 7, 0.3],
  ['diabetes', 10, 3, 0.4],
  ['hip fracture', 7, 8, 0.15],
  ['cellulitis', 8, 3, -0.1],
  ['elective surgery', 18, 2, -0.7],
];

/** Where patients go at discharge, and its planted effect on readmission (log-odds). */
const dischargeEffects: Readonly<Record<string, number>> = {
  home: 0,
  'home care': 0.25,
  'nursing facility': 0.45,
  'left against advice': 1.2,
  'died in hospital': 0,
};

/** Patients who died in hospital cannot be readmitted: the library's cohort macro leaves them out. */
export const diedInHospital = 'died in hospital';

/**
 * The planted truth: log-odds of readmission within 30 days. Older, sicker, frequently admitted
 * patients with long stays and risky diagnoses or discharges come back more often.
 */
export function plantedLogit(row: Omit<Admission, 'readmitted30d' | 'patientId' | 'ageBand' | 'admitMonth'>): number {
  const diagnosisEffect = diagnoses.find(([name]) => name === row.diagnosis)?.[3] ?? 0;
  return (
    -3.55 +
    0.025 * (row.age - 60) +
    0.45 * Math.min(row.priorAdmissions, 5) +
    0.3 * row.chronicConditions +
    0.07 * Math.min(row.lengthOfStay, 21) +
    (row.sex === 'M' ? 0.1 : 0) +
    diagnosisEffect +
    (dischargeEffects[row.dischargeTo] ?? 0)
  );
}

function patientProfile(random: Random) {
  const age = clamp(Math.round(62 + 17 * normal(random)), 18, 99);
  const sex = random() < 0.52 ? ('F' as const) : ('M' as const);
  const [diagnosis, , typicalStay] = pick(random, diagnoses.map((entry) => [entry, entry[1]] as const));
  const chronicConditions = Math.min(8, poisson(random, 0.4 + Math.max(0, age - 18) / 28));
  const priorAdmissions = Math.min(10, poisson(random, 0.25 + 0.3 * chronicConditions));
  // Stays spread around the diagnosis's typical length; one in fifty is a very long outlier.
  const stretch = random() < 0.02 ? 4 + 6 * random() : Math.exp(0.45 * normal(random));
  const lengthOfStay = clamp(Math.round(typicalStay * stretch * (1 + Math.max(0, age - 70) / 60)), 1, 90);
  const dischargeTo = pick(random, [
    ['home', 62],
    ['home care', 20],
    ['nursing facility', age >= 75 ? 22 : 5],
    ['left against advice', 2],
    [diedInHospital, age >= 75 ? 3 : 1],
  ] as const);
  return { age, sex, diagnosis, lengthOfStay, priorAdmissions, chronicConditions, dischargeTo };
}

const months = Array.from({ length: 12 }, (_, index) => `2025-${String(index + 1).padStart(2, '0')}`);

export const firstPatientId = 100_001;

export function makeAdmissions(random: Random, count: number): Admission[] {
  const rows: Admission[] = [];
  for (let index = 0; index < count; index++) {
    const profile = patientProfile(random);
    const readmitted30d = profile.dischargeTo !== diedInHospital && random() < sigmoid(plantedLogit(profile)) ? 1 : 0;
    rows.push({
      patientId: firstPatientId + index,
      ageBand: ageBandOf(profile.age),
      admitMonth: months[Math.floor(random() * months.length)] as string,
      ...profile,
      readmitted30d,
    });
  }
  return rows;
}

// ---- The insurer -------------------------------------------------------------------------------

export interface Member {
  readonly memberId: number;
  readonly plan: string;
  readonly region: string;
  readonly enrolledYear: number;
}

export interface Claim {
  readonly memberId: number;
  readonly claimMonth: string;
  readonly category: string;
  readonly amount: number;
}

const regions = ['north', 'south', 'east', 'west', 'central'] as const;

function planFor(random: Random, age: number): string {
  // Platinum is rare and held mostly by older members, so some of story 1's groups are small.
  return pick(random, [
    ['bronze', age < 40 ? 40 : 25],
    ['silver', 40],
    ['gold', age >= 65 ? 30 : 18],
    ['platinum', age >= 75 ? 4 : age >= 55 ? 1.5 : 0.4],
  ] as const);
}

export const firstOtherMemberId = 500_001;

export function makeInsurer(random: Random, admissions: readonly Admission[], otherMembers: number): { members: Member[]; claims: Claim[] } {
  const members: Member[] = [];
  const claims: Claim[] = [];
  const addMember = (memberId: number, age: number, chronic: number) => {
    members.push({ memberId, plan: planFor(random, age), region: pick(random, regions.map((region) => [region, 1] as const)), enrolledYear: 2012 + Math.floor(random() * 14) });
    const claimCount = poisson(random, 1 + 0.6 * chronic);
    for (let index = 0; index < claimCount; index++) {
      const category = pick(random, [
        ['pharmacy', 45],
        ['outpatient', 35],
        ['imaging', 12],
        ['inpatient', 8],
      ] as const);
      const base = { pharmacy: 60, outpatient: 180, imaging: 420, inpatient: 4200 }[category];
      claims.push({ memberId, claimMonth: months[Math.floor(random() * months.length)] as string, category, amount: Math.round(base * Math.exp(0.6 * normal(random)) * 100) / 100 });
    }
  };
  // Most of the hospital's patients are Acme members; the insurer also has members the hospital never saw.
  for (const admission of admissions) if (random() < 0.85) addMember(admission.patientId, admission.age, admission.chronicConditions);
  for (let index = 0; index < otherMembers; index++) {
    const age = clamp(Math.round(48 + 18 * normal(random)), 18, 99);
    addMember(firstOtherMemberId + index, age, Math.min(8, poisson(random, 0.3 + Math.max(0, age - 18) / 35)));
  }
  return { members, claims };
}

// ---- The ML expert's private library -----------------------------------------------------------

export const libraryName = 'readmission_features';
export const libraryFileName = 'features.sql';

/**
 * Nova Analytics' feature library: the macros story 2's train cell calls. Private: St Mary's app
 * runs them, St Mary sees only the volume's name and hash.
 */
export const libraryText = `-- Nova Analytics readmission feature set, v3.2 (proprietary; licensed for run-only use).
-- Stays are capped at three weeks: beyond that, stay length stops adding risk.
CREATE MACRO capped_los(days) AS least(greatest(days, 1), 21);

-- Nova age points: 0 below 65, then one point per decade band, 3 from 85.
CREATE MACRO nova_age_points(age) AS CASE WHEN age >= 85 THEN 3 WHEN age >= 75 THEN 2 WHEN age >= 65 THEN 1 ELSE 0 END;

-- Nova frailty index: age points, chronic conditions (up to 5) and twice the prior admissions (up to 3).
CREATE MACRO frailty_score(age, chronic, prior) AS nova_age_points(age) + least(chronic, 5) + 2 * least(prior, 3);

-- The cohort: patients discharged alive (a death in hospital is not a readmission risk).
CREATE MACRO readmission_cohort(discharge) AS discharge NOT IN ('died in hospital', 'deceased');
`;

/** The same formulas as the library, for preparing the new patients' file the model scores. */
export const cappedLos = (days: number): number => Math.min(Math.max(days, 1), 21);
export const frailtyScore = (age: number, chronic: number, prior: number): number =>
  (age >= 85 ? 3 : age >= 75 ? 2 : age >= 65 ? 1 : 0) + Math.min(chronic, 5) + 2 * Math.min(prior, 3);

// ---- The notebooks -----------------------------------------------------------------------------

/** Story 1, written by the insurer: readmission rates by age band and plan, joining on patient id = member id. */
export const jointNotebookName = 'readmission-rates';
export const jointNotebook = `-- %% [markdown]
-- # Readmissions by age band and plan
-- St Mary's admissions joined to Acme's members on patient id = member id.
-- Groups of fewer than k patients are suppressed by the clean room.
-- %% output=readmission_rates
SELECT a.age_band, m.plan, count(*) AS admissions, avg(a.readmitted_30d) AS readmission_rate
FROM admissions a JOIN members m ON a.patient_id = m.member_id
GROUP BY a.age_band, m.plan
ORDER BY a.age_band, m.plan
-- %% output=claims_by_plan
SELECT m.plan, c.category, count(*) AS claims, avg(c.amount) AS mean_amount
FROM admissions a JOIN members m ON a.patient_id = m.member_id JOIN claims c ON c.member_id = m.member_id
GROUP BY m.plan, c.category
ORDER BY m.plan, c.category
`;

export const trainNotebookName = 'readmission-model';
export const modelName = 'readmission';
export const modelFeatures = ['age', 'sex', 'diagnosis', 'discharge_to', 'prior_admissions', 'chronic_conditions', 'los_days', 'frailty'] as const;

/** Story 2, written by the ML expert and run by the hospital: a train cell using the private library. */
export const trainNotebook = `-- library ${libraryName}
-- %% [markdown]
-- # 30-day readmission model
-- Trained on St Mary's admissions on St Mary's own machine; only the model and its metrics come out.
-- The features come from Nova's private library: St Mary runs it, and sees its name and hash only.
-- %% [train] model=${modelName} algorithm=logistic target=readmitted_30d features=${modelFeatures.join(',')} test-fraction=0.25 seed=2026
SELECT age, sex, diagnosis, discharge_to, prior_admissions, chronic_conditions,
       capped_los(length_of_stay) AS los_days,
       frailty_score(age, chronic_conditions, prior_admissions) AS frailty,
       readmitted_30d
FROM admissions
WHERE readmission_cohort(discharge_to)
`;

// ---- New patients to score ---------------------------------------------------------------------

export interface NewPatient {
  readonly reference: string;
  readonly profile: ReturnType<typeof patientProfile>;
}

export function makeNewPatients(random: Random, count: number): NewPatient[] {
  return Array.from({ length: count }, (_, index) => {
    // Patients to score are alive at discharge: the model is for the readmission cohort.
    const profile = patientProfile(random);
    return { reference: `NEW-${String(index + 1).padStart(2, '0')}`, profile: profile.dischargeTo === diedInHospital ? { ...profile, dischargeTo: 'home' } : profile };
  });
}

// ---- Everything, as files ----------------------------------------------------------------------

export interface DemoData {
  readonly admissions: readonly Admission[];
  readonly members: readonly Member[];
  readonly claims: readonly Claim[];
  readonly newPatients: readonly NewPatient[];
}

export const demoSizes = { patients: 4000, otherMembers: 1500, newPatients: 6 } as const;

export function makeDemoData(seed = demoSeed, sizes: { patients: number; otherMembers: number; newPatients: number } = demoSizes): DemoData {
  const random = seededRandom(seed);
  const admissions = makeAdmissions(random, sizes.patients);
  const { members, claims } = makeInsurer(random, admissions, sizes.otherMembers);
  const newPatients = makeNewPatients(random, sizes.newPatients);
  return { admissions, members, claims, newPatients };
}

const csv = (names: readonly string[], rows: readonly (readonly (string | number)[])[]): string =>
  toCsv(
    names.map((name) => ({ name })),
    rows.map((row) => row.map(String)),
  );

export function admissionsCsv(rows: readonly Admission[]): string {
  return csv(
    ['patient_id', 'age', 'sex', 'age_band', 'diagnosis', 'admit_month', 'length_of_stay', 'prior_admissions', 'chronic_conditions', 'discharge_to', 'readmitted_30d'],
    rows.map((row) => [row.patientId, row.age, row.sex, row.ageBand, row.diagnosis, row.admitMonth, row.lengthOfStay, row.priorAdmissions, row.chronicConditions, row.dischargeTo, row.readmitted30d]),
  );
}

export function membersCsv(rows: readonly Member[]): string {
  return csv(['member_id', 'plan', 'region', 'enrolled_year'], rows.map((row) => [row.memberId, row.plan, row.region, row.enrolledYear]));
}

export function claimsCsv(rows: readonly Claim[]): string {
  return csv(['member_id', 'claim_month', 'category', 'amount'], rows.map((row) => [row.memberId, row.claimMonth, row.category, row.amount.toFixed(2)]));
}

/** The new patients with the model's inputs: raw columns, and the two the library derives (prepared for the demo with the same formulas). */
export function newPatientsCsv(rows: readonly NewPatient[]): string {
  return csv(
    ['reference', ...modelFeatures, 'length_of_stay'],
    rows.map(({ reference, profile: p }) => [
      reference,
      p.age,
      p.sex,
      p.diagnosis,
      p.dischargeTo,
      p.priorAdmissions,
      p.chronicConditions,
      cappedLos(p.lengthOfStay),
      frailtyScore(p.age, p.chronicConditions, p.priorAdmissions),
      p.lengthOfStay,
    ]),
  );
}

/** Column roles the hospital and the insurer label their tables with. */
export const admissionsRoles = [
  { column: 'patient_id', role: 'privacy_unit' },
  { column: 'age', role: 'measure' },
  { column: 'sex', role: 'dimension' },
  { column: 'age_band', role: 'dimension' },
  { column: 'diagnosis', role: 'dimension' },
  { column: 'admit_month', role: 'dimension' },
  { column: 'length_of_stay', role: 'measure' },
  { column: 'prior_admissions', role: 'measure' },
  { column: 'chronic_conditions', role: 'measure' },
  { column: 'discharge_to', role: 'dimension' },
  { column: 'readmitted_30d', role: 'measure' },
] as const;

export const membersRoles = [
  { column: 'member_id', role: 'privacy_unit' },
  { column: 'plan', role: 'dimension' },
  { column: 'region', role: 'dimension' },
  { column: 'enrolled_year', role: 'dimension' },
] as const;

export const claimsRoles = [
  { column: 'member_id', role: 'privacy_unit' },
  { column: 'claim_month', role: 'dimension' },
  { column: 'category', role: 'dimension' },
  { column: 'amount', role: 'measure' },
] as const;
