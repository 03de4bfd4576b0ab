// A small, seeded, EHR-like admissions table with a planted readmission signal (issue 6): for the
// worker's train-cell tests, and for anyone who needs rows a model can really learn from. No
// Math.random: the same options give the same rows.
//
// Each row is one admission of one patient (patient_id is the privacy unit). `readmitted` (0/1) is
// drawn from a logistic model of age, length of stay, prior admissions, diagnosis and emergency
// admission (plantedLogit); `cost` is a linear function of length of stay, prior admissions and
// diagnosis plus Gaussian noise (plantedCost). Columns a bad train cell would trip over are there
// too: a constant `ward_beds`, `lab_ratio` with a few NaN values, `lab_peak` with one infinite one,
// a hidden `email` and a join key `hospital`.
import { type ColumnRole } from '../../shared/asset.js';
import { type TableSpec } from './run-fixtures.js';

export interface AdmissionRow {
  readonly patient_id: number;
  readonly hospital: string;
  readonly age: number;
  readonly sex: string;
  readonly diagnosis: string;
  readonly length_of_stay: number;
  readonly prior_admissions: number;
  readonly emergency: boolean;
  readonly lab_ratio: number;
  readonly lab_peak: number;
  readonly ward_beds: number;
  readonly cost: number;
  readonly readmitted: number;
  readonly email: string;
}

export const diagnoses = ['heart_failure', 'copd', 'pneumonia', 'hip_fracture', 'other'] as const;

/** The true readmission model: logit = intercept + Σ effects. */
export const plantedLogit = {
  intercept: -1.4,
  agePerYearOver65: 0.03,
  perDayOfStayOver5: 0.2,
  perPriorAdmission: 0.45,
  emergency: 0.5,
  diagnosis: { heart_failure: 0.9, copd: 0.6, pneumonia: 0.3, hip_fracture: -0.3, other: 0 } as Record<(typeof diagnoses)[number], number>,
};

/** The true cost model: cost = base + per day × stay + per prior × prior + heart failure extra + N(0, noise²). */
export const plantedCost = { base: 800, perDay: 310, perPrior: 120, heartFailure: 900, noise: 250 };

/** xoshiro128**: seeded, so the rows are the same on every machine. */
export function seededRandom(seed: number): () => number {
  let a = 0x9e3779b9 ^ seed;
  let b = 0x243f6a88 + seed;
  let c = 0xb7e15162 ^ (seed * 31);
  let d = 0x1234567 + seed * 7;
  const next = (): number => {
    const result = Math.imul(rotate(Math.imul(b, 5), 7), 9);
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotate(d, 11);
    return (result >>> 0) / 4294967296;
  };
  for (let warm = 0; warm < 16; warm++) next();
  return next;
}
const rotate = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

export interface AdmissionOptions {
  readonly patients?: number;
  readonly seed?: number;
  /** First patient_id. */
  readonly firstPatient?: number;
}

/** Admissions, one row per patient, with the planted signals. */
export function admissionRows(options: AdmissionOptions = {}): AdmissionRow[] {
  const random = seededRandom(options.seed ?? 7);
  const patients = options.patients ?? 1200;
  const first = options.firstPatient ?? 200_001;
  const gaussian = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const rows: AdmissionRow[] = [];
  for (let position = 0; position < patients; position++) {
    const patient = first + position;
    const age = 30 + Math.floor(random() * 66);
    const diagnosis = diagnoses[Math.floor(random() * diagnoses.length)] as (typeof diagnoses)[number];
    const stay = 1 + Math.min(19, Math.floor(-Math.log(1 - random()) * (diagnosis === 'hip_fracture' ? 7 : 4)));
    let prior = 0;
    while (prior < 6 && random() < 0.4) prior += 1;
    const emergency = random() < 0.45;
    const logit =
      plantedLogit.intercept +
      plantedLogit.agePerYearOver65 * (age - 65) +
      plantedLogit.perDayOfStayOver5 * (stay - 5) +
      plantedLogit.perPriorAdmission * prior +
      (emergency ? plantedLogit.emergency : 0) +
      plantedLogit.diagnosis[diagnosis];
    const readmitted = random() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    const cost = Math.round(
      (plantedCost.base + plantedCost.perDay * stay + plantedCost.perPrior * prior + (diagnosis === 'heart_failure' ? plantedCost.heartFailure : 0) + plantedCost.noise * gaussian()) * 100,
    ) / 100;
    rows.push({
      patient_id: patient,
      hospital: `h${patient % 3}`,
      age,
      sex: random() < 0.5 ? 'F' : 'M',
      diagnosis,
      length_of_stay: stay,
      prior_admissions: prior,
      emergency,
      lab_ratio: position % 97 === 13 ? Number.NaN : Math.round((1 + 0.2 * gaussian()) * 1000) / 1000,
      lab_peak: position === 5 ? Number.POSITIVE_INFINITY : Math.round((5 + gaussian()) * 100) / 100,
      ward_beds: 24,
      cost,
      readmitted,
      email: `patient${patient}@example.org`,
    });
  }
  return rows;
}

/** Column order and roles of the admissions table. */
export const admissionColumns: readonly { readonly name: keyof AdmissionRow; readonly role: ColumnRole }[] = [
  { name: 'patient_id', role: 'privacy_unit' },
  { name: 'hospital', role: 'join_key' },
  { name: 'age', role: 'measure' },
  { name: 'sex', role: 'dimension' },
  { name: 'diagnosis', role: 'dimension' },
  { name: 'length_of_stay', role: 'measure' },
  { name: 'prior_admissions', role: 'measure' },
  { name: 'emergency', role: 'dimension' },
  { name: 'lab_ratio', role: 'measure' },
  { name: 'lab_peak', role: 'measure' },
  { name: 'ward_beds', role: 'measure' },
  { name: 'cost', role: 'measure' },
  { name: 'readmitted', role: 'dimension' },
  { name: 'email', role: 'hidden' },
];

/** The admissions as a table for RunFixture.open (imported from CSV by the real worker). */
export function admissionsTable(rows: readonly AdmissionRow[] = admissionRows(), name = 'admissions'): TableSpec {
  return {
    name,
    allowMinMax: false,
    columns: admissionColumns.map((column) => ({ name: column.name, role: column.role })),
    rows: rows.map((row) => admissionColumns.map((column) => row[column.name])),
  };
}
