// Test data files: small tables in every source format, malformed CSVs, and a large CSV for
// benchmarks. Every generator is deterministic (seeded), so a failing test sees the same bytes again.
//
// Exports:
//   patientColumns                 the columns of the generated "patients" table, with DuckDB's inferred types
//   patientRows(count, options)    the rows themselves (plain JS values), optionally with a marker value in one row
//   writePatientsCsv(file, opts)   CSV with a header line; opts.delimiter (default ','), opts.rows, opts.marker
//   writePatientsNdjson(file, …)   one JSON object per line (.ndjson / .jsonl)
//   writePatientsJson(file, …)     one JSON array of objects (.json)
//   writePatientsParquet(file, …)  Parquet, written by an in-process DuckDB from a temporary CSV
//   badCsvFiles                    name → exact bytes of malformed CSVs (empty, ragged, bad quoting,
//                                  latin-1 bytes, duplicate/empty/case-duplicate names, header only)
//   writeLargeCsv(file, bytes)     streams a realistic CSV of about `bytes` bytes (never held in memory)
//   largeCsvPath(megabytes)        where a reusable large CSV of that size lives in os.tmpdir(),
//                                  generated on first use (ensureLargeCsv)
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { seededRandom } from '../../shared/seeded-random.js';

export const patientColumns = [
  { name: 'patient_id', type: 'BIGINT' },
  { name: 'email', type: 'VARCHAR' },
  { name: 'age', type: 'BIGINT' },
  { name: 'plan', type: 'VARCHAR' },
  { name: 'admitted', type: 'DATE' },
  { name: 'cost', type: 'DOUBLE' },
  { name: 'readmitted', type: 'BOOLEAN' },
] as const;

export interface PatientRow {
  patient_id: number;
  email: string;
  age: number;
  plan: string;
  admitted: string;
  cost: number;
  readmitted: boolean;
}

export interface PatientOptions {
  readonly rows?: number;
  /** Put this text in the email of the middle row: a value to search for where it must not be. */
  readonly marker?: string;
}

const plans = ['basic', 'standard', 'premium', 'family'];

export function patientRows(options: PatientOptions = {}): PatientRow[] {
  const count = options.rows ?? 100;
  const random = seededRandom(42);
  const rows: PatientRow[] = [];
  for (let index = 0; index < count; index++) {
    const day = 1 + Math.floor(random() * 28);
    const month = 1 + Math.floor(random() * 12);
    rows.push({
      patient_id: 100_000 + index,
      email: `patient${index}@example.org`,
      age: 18 + Math.floor(random() * 80),
      plan: plans[Math.floor(random() * plans.length)] ?? 'basic',
      admitted: `2024-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
      cost: Math.round(random() * 1_000_000) / 100,
      readmitted: random() < 0.2,
    });
  }
  if (options.marker !== undefined && rows.length > 0) {
    const middle = rows[Math.floor(rows.length / 2)];
    if (middle !== undefined) middle.email = options.marker;
  }
  return rows;
}

const csvField = (value: string | number | boolean, delimiter: string): string => {
  const text = String(value);
  return text.includes(delimiter) || text.includes('"') || text.includes('\n') ? `"${text.replaceAll('"', '""')}"` : text;
};

export function writePatientsCsv(file: string, options: PatientOptions & { readonly delimiter?: string } = {}): PatientRow[] {
  const delimiter = options.delimiter ?? ',';
  const rows = patientRows(options);
  const lines = [patientColumns.map((column) => column.name).join(delimiter)];
  for (const row of rows) lines.push(Object.values(row).map((value) => csvField(value, delimiter)).join(delimiter));
  writeFileSync(file, `${lines.join('\n')}\n`);
  return rows;
}

export function writePatientsNdjson(file: string, options: PatientOptions = {}): PatientRow[] {
  const rows = patientRows(options);
  writeFileSync(file, `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`);
  return rows;
}

export function writePatientsJson(file: string, options: PatientOptions = {}): PatientRow[] {
  const rows = patientRows(options);
  writeFileSync(file, JSON.stringify(rows, null, 1));
  return rows;
}

export async function writePatientsParquet(file: string, options: PatientOptions = {}): Promise<PatientRow[]> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'cleanroom-data-'));
  try {
    const csv = path.join(scratch, 'patients.csv');
    const rows = writePatientsCsv(csv, options);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;
      await connection.run(`COPY (SELECT * FROM read_csv(${literal(csv)})) TO ${literal(file)} (FORMAT parquet)`);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    return rows;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Malformed CSVs, each with what is wrong in its name; latin-1 has a 0xE9 byte ("é") on line 3. */
export const badCsvFiles: Readonly<Record<string, Uint8Array>> = {
  'empty.csv': new Uint8Array(0),
  'header-only.csv': Buffer.from('patient_id,plan\n'),
  'ragged.csv': Buffer.from('patient_id,plan,age\n1,basic,40\n2,premium\n3,basic,50\n'),
  'ragged-long.csv': Buffer.from('patient_id,plan,age\n1,basic,40\n2,premium,41,extra\n3,basic,50\n'),
  'unclosed-quote.csv': Buffer.from('patient_id,plan\n1,basic\n2,"premium\n3,basic\n'),
  'stray-quote.csv': Buffer.from('patient_id,plan\n1,basic\n2,"prem"ium\n3,basic\n'),
  'latin1.csv': Buffer.concat([Buffer.from('patient_id,city\n1,Paris\n2,Montr'), Buffer.from([0xe9]), Buffer.from('al\n3,Lyon\n')]),
  'duplicate-names.csv': Buffer.from('patient_id,plan,plan\n1,basic,x\n'),
  'case-duplicate-names.csv': Buffer.from('Plan,plan\nbasic,x\n'),
  'empty-name.csv': Buffer.from('patient_id,,plan\n1,2,basic\n'),
};

// ---- Large CSV for benchmarks --------------------------------------------------------------------

const cities = ['Amsterdam', 'Berlin', 'Lisbon', 'Madrid', 'Oslo', 'Paris', 'Rome', 'Vienna', 'Warsaw', 'Zurich'];
const diagnoses = ['I10', 'E11.9', 'J45.909', 'M54.5', 'F32.9', 'K21.9', 'N39.0', 'R51', 'Z00.00', 'E78.5'];

/**
 * Writes a CSV of about `targetBytes` (a little more: it stops after the line that reaches it) with
 * realistic columns: ids, e-mail, dates, a decimal, categories, a boolean and free text. Streams.
 */
export async function writeLargeCsv(file: string, targetBytes: number): Promise<{ rows: number; bytes: number }> {
  const random = seededRandom(7);
  const out = createWriteStream(file);
  const header = 'patient_id,email,birth_date,admitted_at,city,diagnosis,plan,cost,readmitted,note\n';
  let bytes = Buffer.byteLength(header);
  out.write(header);
  let rows = 0;
  while (bytes < targetBytes) {
    const lines: string[] = [];
    for (let i = 0; i < 2000 && bytes < targetBytes; i++, rows++) {
      const id = 1_000_000 + rows;
      const year = 1930 + Math.floor(random() * 75);
      const month = String(1 + Math.floor(random() * 12)).padStart(2, '0');
      const day = String(1 + Math.floor(random() * 28)).padStart(2, '0');
      const hour = String(Math.floor(random() * 24)).padStart(2, '0');
      const minute = String(Math.floor(random() * 60)).padStart(2, '0');
      const line =
        `${id},user${id}@example.org,${year}-${month}-${day},2024-${month}-${day} ${hour}:${minute}:00,` +
        `${cities[Math.floor(random() * cities.length)]},${diagnoses[Math.floor(random() * diagnoses.length)]},` +
        `${plans[Math.floor(random() * plans.length)]},${(random() * 20_000).toFixed(2)},${random() < 0.15},` +
        `"visit ${Math.floor(random() * 1000)}, follow-up in ${Math.floor(random() * 12)} weeks"\n`;
      lines.push(line);
      bytes += Buffer.byteLength(line);
    }
    if (!out.write(lines.join(''))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { rows, bytes };
}

/** Path of the reusable benchmark CSV of this many MiB in os.tmpdir(). */
export const largeCsvPath = (megabytes: number): string => path.join(os.tmpdir(), `cleanroom-bench-${megabytes}mb-v1.csv`);

/** The benchmark CSV of this many MiB, generated once (under a temporary name, then renamed) and reused. */
export async function ensureLargeCsv(megabytes: number): Promise<string> {
  const file = largeCsvPath(megabytes);
  const target = megabytes * 1024 * 1024;
  if (existsSync(file) && statSync(file).size >= target) return file;
  const partial = `${file}.${process.pid}.partial`;
  try {
    await writeLargeCsv(partial, target);
    renameSync(partial, file);
  } finally {
    rmSync(partial, { force: true });
  }
  return file;
}
