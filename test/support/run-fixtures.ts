// Fixtures for runs in the worker: two parties' tables (a hospital's admissions and an insurer's
// members), made into encrypted payloads by the real worker's importTable exactly as an import
// does, `run` requests built from notebook text, and a plain DuckDB over the same decrypted rows to
// compute the expected answers directly.
//
// The data is deterministic. One person, the marker patient, is unique by age band and region
// ('90+' in 'north'), has 12 admissions (enough rows to pass k=10 if rows were counted instead of
// people), a hidden email and a score text that is neither a number nor a valid regular expression:
// the values an attack would try to recover.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { createRamFolder, type RamFolder } from '../../electron/core/ram-folder.js';
import { newDataKey } from '../../electron/core/vault.js';
import { WorkerHost } from '../../electron/core/worker-host.js';
import { decryptPayloadToFile } from '../../electron/worker/payload-stream.js';
import { type ColumnRole } from '../../shared/asset.js';
import { cryptoReady, toBase64Url } from '../../shared/crypto.js';
import { parseNotebook } from '../../shared/notebook.js';
import { type RunResult, type RunTable, type WorkerProgress, type WorkerRequestInput } from '../../shared/worker-protocol.js';
import { temporaryFolder } from './homes.js';
import { tsxExecArgv, workerSourceEntry } from './paths.js';

/** In the marker patient's hidden email and score: must never appear in anything a run returns. */
export const marker = 'MARKER-5e7a11-only-in-one-person';
export const markerPatient = 900_001;

type Value = string | number | boolean | null;

export interface TableSpec {
  readonly name: string;
  readonly allowMinMax: boolean;
  readonly columns: readonly { readonly name: string; readonly role: ColumnRole }[];
  readonly rows: readonly Value[][];
}

const regions = ['east', 'west', 'south'];
const ageBands = ['18-30', '31-50', '51-70', '71-89'];
const plans = ['basic', 'standard', 'premium'];

/**
 * The hospital's admissions: 240 patients over 3 regions × 4 age bands (20 each), some admitted
 * several times, plus the marker patient. patient_id is the privacy unit, hospital a join key,
 * email hidden, stay_days/cost/score measures. min/max not allowed.
 */
export function admissionsSpec(): TableSpec {
  const rows: Value[][] = [];
  let patient = 100_000;
  for (const region of regions) {
    for (const band of ageBands) {
      for (let person = 0; person < 20; person++) {
        patient += 1;
        const visits = 1 + (patient % 3);
        for (let visit = 0; visit < visits; visit++) {
          const stay = (patient % 9) + visit;
          rows.push([patient, `h${patient % 4}`, band, region, (patient + visit) % 5 === 0, stay, ((patient % 97) * 10 + visit * 3) / 4, String(patient % 50), `p${patient}@example.org`]);
        }
      }
    }
  }
  // One person in a region of their own: 12 admissions, stay 0 (ln(0) fails), a score that casts
  // to nothing and is not a valid regular expression.
  for (let visit = 0; visit < 12; visit++) rows.push([markerPatient, 'h1', '90+', 'north', visit % 2 === 0, 0, 1234.5, `${marker}(`, `${marker}@example.org`]);
  return {
    name: 'admissions',
    allowMinMax: false,
    columns: [
      { name: 'patient_id', role: 'privacy_unit' },
      { name: 'hospital', role: 'join_key' },
      { name: 'age_band', role: 'dimension' },
      { name: 'region', role: 'dimension' },
      { name: 'readmitted', role: 'dimension' },
      { name: 'stay_days', role: 'measure' },
      { name: 'cost', role: 'measure' },
      { name: 'score', role: 'measure' },
      { name: 'email', role: 'hidden' },
    ],
    rows,
  };
}

/** The insurer's members: 180 of the hospital's patients, plus the marker patient. min/max allowed. */
export function membersSpec(): TableSpec {
  const rows: Value[][] = [];
  for (let patient = 100_001; patient <= 100_180; patient++) rows.push([patient, plans[patient % 3] as string, 100 + (patient % 40) * 5]);
  rows.push([markerPatient, 'premium', 9999]);
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

const csvField = (value: Value): string => {
  if (value === null) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};

const sqlLiteral = (text: string): string => `'${text.replaceAll("'", "''")}'`;

export interface RunOptions {
  readonly mode?: 'aggregate' | 'reviewed';
  readonly minGroupSize?: number;
  readonly maxOutputRows?: number;
  readonly runDir?: string;
}

export interface ImportedTable {
  readonly spec: TableSpec;
  readonly table: RunTable;
  /** The decrypted Parquet, for the plain-DuckDB reference. */
  readonly plainFile: string;
}

/** A worker, a vault of imported tables, and a plain DuckDB over the same rows. */
export class RunFixture {
  readonly host = new WorkerHost({ entry: workerSourceEntry, execArgv: tsxExecArgv, defaultTimeoutMs: 120_000 });
  readonly folder = temporaryFolder('cleanroom-run-');
  readonly ram: RamFolder;
  readonly tables: ImportedTable[] = [];
  private reference: { instance: DuckDBInstance; connection: DuckDBConnection } | null = null;
  private counter = 0;

  private constructor() {
    this.ram = createRamFolder();
  }

  /** A worker and the two parties' tables, imported through it. */
  static async open(specs: readonly TableSpec[] = [admissionsSpec(), membersSpec()]): Promise<RunFixture> {
    await cryptoReady();
    const fixture = new RunFixture();
    for (const spec of specs) fixture.tables.push(await fixture.importTable(spec));
    return fixture;
  }

  /** Writes the spec as CSV and imports it with the worker's importTable: a payload, a key, a chunk size. */
  async importTable(spec: TableSpec): Promise<ImportedTable> {
    const sources = path.join(this.folder.dir, 'sources');
    const vault = path.join(this.folder.dir, 'vault');
    const plain = path.join(this.folder.dir, 'plain');
    for (const dir of [sources, vault, plain]) mkdirSync(dir, { recursive: true });
    const source = path.join(sources, `${spec.name}.csv`);
    const lines = [spec.columns.map((column) => column.name).join(','), ...spec.rows.map((row) => row.map(csvField).join(','))];
    writeFileSync(source, `${lines.join('\n')}\n`);
    const dataKey = newDataKey();
    const payloadFile = path.join(vault, `${spec.name}-${++this.counter}.payload`);
    const imported = await this.host.request({
      kind: 'importTable',
      source,
      format: 'csv',
      columns: spec.columns.map((column) => column.name),
      dataKey: toBase64Url(dataKey),
      outFile: payloadFile,
      ramDir: this.ram.dir,
    });
    const plainFile = path.join(plain, `${spec.name}-${this.counter}.parquet`);
    await decryptPayloadToFile(payloadFile, plainFile, dataKey, imported.chunkSize);
    const table: RunTable = {
      name: spec.name,
      payloadFile,
      chunkSize: imported.chunkSize,
      dataKey: toBase64Url(dataKey),
      columns: spec.columns.map((column) => ({ name: column.name, role: column.role })),
      allowMinMax: spec.allowMinMax,
    };
    return { spec, table, plainFile };
  }

  /** A fresh, empty private run folder (inside the fixture's RAM folder). */
  runDir(): string {
    const dir = path.join(this.ram.dir, `run-${++this.counter}`);
    mkdirSync(dir, { mode: 0o700 });
    return dir;
  }

  /** The `run` request for a notebook's text over the fixture's tables. */
  request(notebookText: string, options: RunOptions = {}): WorkerRequestInput & { kind: 'run' } {
    const notebook = parseNotebook(notebookText);
    return {
      kind: 'run',
      runDir: options.runDir ?? this.runDir(),
      tables: this.tables.map((imported) => imported.table),
      parameters: notebook.parameters,
      cells: notebook.cells.map((cell, index) => ({ index, kind: cell.kind, source: cell.source, output: cell.output, options: cell.options })),
      policy: { mode: options.mode ?? 'aggregate', minGroupSize: options.minGroupSize ?? 10 },
      maxOutputRows: options.maxOutputRows ?? 100_000,
    };
  }

  /** Runs a notebook in the worker; the answer as the worker sent it. */
  async run(notebookText: string, options: RunOptions = {}, progress: WorkerProgress[] = []): Promise<{ result: RunResult; runDir: string }> {
    const request = this.request(notebookText, options);
    const result = await this.host.request(request, { onProgress: (event) => progress.push(event) });
    return { result, runDir: request.runDir };
  }

  /** A query over the plain rows (every column), each value as DuckDB's text, like a run's output. */
  async plain(sql: string): Promise<{ columns: string[]; rows: (string | null)[][] }> {
    if (this.reference === null) {
      const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
      const connection = await instance.connect();
      for (const imported of this.tables) {
        await connection.run(`CREATE VIEW ${imported.spec.name} AS SELECT * FROM read_parquet(${sqlLiteral(imported.plainFile)})`);
      }
      this.reference = { instance, connection };
    }
    const { connection } = this.reference;
    await connection.run(`CREATE OR REPLACE TEMP TABLE reference_result AS ${sql}`);
    const described = (await connection.runAndReadAll('DESCRIBE reference_result')).getRowsJson().map((row) => String(row[0]));
    const texts = described.map((name) => `CAST("${name.replaceAll('"', '""')}" AS VARCHAR)`).join(', ');
    const rows = (await connection.runAndReadAll(`SELECT ${texts} FROM reference_result`)).getRowsJson() as (string | null)[][];
    return { columns: described, rows };
  }

  async close(): Promise<void> {
    if (this.reference !== null) {
      this.reference.connection.closeSync();
      this.reference.instance.closeSync();
      this.reference = null;
    }
    await this.host.stop();
    this.ram.remove();
    this.folder.remove();
  }
}

/** Rows as sorted lines, for comparing outputs whose order SQL does not fix. */
export const sortedRows = (rows: readonly (readonly (string | null)[])[]): string[] => rows.map((row) => JSON.stringify(row)).sort();
