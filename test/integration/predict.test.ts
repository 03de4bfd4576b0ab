// model.predict on real cores and the real worker: scoring CSV, Parquet and JSON files with a model
// file and with a model a train cell made in a room. Every prediction must equal scoreRow computed
// here from the file's own values; the scored CSV keeps the file's columns as written; files are
// written whole under their final name only; bad input is refused in one clear sentence.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { type Core } from '../../electron/core/index.js';
import { WorkerHost } from '../../electron/core/worker-host.js';
import { type ApiRequest } from '../../shared/contract.js';
import { toCsv } from '../../shared/csv.js';
import { type ModelDocument, modelFileText, parseModelDocument, scoreRow, type ScoreInput } from '../../shared/model.js';
import { admissionsRows, approvedSnapshot, followJob, jointNotebook, makeRunWorld, type RunWorld } from '../support/run-parties.js';
import { openTestCore, temporaryFolder } from '../support/homes.js';
import { tsxExecArgv, workerSourceEntry } from '../support/paths.js';
import { linearModel, logisticModel } from '../support/model-fixtures.js';

/** RFC 4180 records of a CSV text (CRLF or LF line ends), for reading scored files back. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let index = 0; index < text.length; index++) {
    const character = text[index] as string;
    if (quoted) {
      if (character === '"' && text[index + 1] === '"') {
        field += '"';
        index++;
      } else if (character === '"') quoted = false;
      else field += character;
    } else if (character === '"') quoted = true;
    else if (character === ',') {
      record.push(field);
      field = '';
    } else if (character === '\n' || character === '\r') {
      if (character === '\r' && text[index + 1] === '\n') index++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += character;
  }
  if (field !== '' || record.length > 0) records.push([...record, field]);
  return records;
}

/** New patients to score: every kind of value a file can hold, and rows that cannot be scored. */
const patients: Record<string, string>[] = [
  { patient: 'p1', age: '75', on_dialysis: '1', diagnosis: 'sepsis', notes: 'plain' },
  { patient: 'p2', age: '42.5', on_dialysis: '0', diagnosis: 'CHF', notes: 'has, a comma' },
  { patient: 'p3', age: '61', on_dialysis: 'true', diagnosis: 'COPD', notes: 'said "hello"' },
  { patient: 'p4', age: '88', on_dialysis: 'false', diagnosis: 'stroke', notes: '=1+2' },
  { patient: 'p5', age: '1e2', on_dialysis: '0', diagnosis: 'copd', notes: '' },
  { patient: 'p6', age: '', on_dialysis: '1', diagnosis: 'CHF', notes: 'age missing' },
  { patient: 'p7', age: 'unknown', on_dialysis: '1', diagnosis: 'CHF', notes: 'age not a number' },
  { patient: 'p8', age: '30', on_dialysis: '0', diagnosis: '', notes: 'diagnosis missing' },
  { patient: 'p9', age: '007', on_dialysis: '0', diagnosis: 'sepsis', notes: 'leading zeros stay' },
];
const csvColumns = ['patient', 'age', 'on_dialysis', 'diagnosis', 'notes'];

/** A CSV field's value as scoreRow reads it: empty is missing; true/false are 1/0 as when training. */
function valueFromText(text: string | undefined): ScoreInput {
  if (text === undefined || text === '') return null;
  if (text === 'true' || text === 'false') return text === 'true';
  return text;
}

/** The scored CSV this module must write for `patients` with `model`, computed from the plain values. */
function expectedScoredCsv(model: ModelDocument, rows: readonly Record<string, string>[], columns: readonly string[]): string {
  const added = model.algorithm === 'logistic' ? ['prediction', 'predicted_label'] : ['prediction'];
  return toCsv(
    [...columns, ...added].map((name) => ({ name })),
    rows.map((row) => {
      const prediction = scoreRow(model, (feature) => valueFromText(row[feature]));
      const source = columns.map((column) => (row[column] === '' ? null : (row[column] as string)));
      if (prediction === null) return [...source, ...added.map(() => null)];
      return model.algorithm === 'logistic' ? [...source, String(prediction), prediction >= 0.5 ? '1' : '0'] : [...source, String(prediction)];
    }),
  );
}

function writeCsv(file: string, columns: readonly string[], rows: readonly Record<string, string>[]): void {
  const quote = (value: string) => (/[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);
  writeFileSync(file, `${columns.join(',')}\n${rows.map((row) => columns.map((column) => quote(row[column] ?? '')).join(',')).join('\n')}\n`);
}

async function refusal(core: Core, request: ApiRequest<'model.predict'>): Promise<{ code: string; message: string }> {
  const result = await core.dispatch('model.predict', request);
  assert.equal(result.ok, false, 'should be refused');
  return result.ok ? { code: '', message: '' } : result.error;
}

describe('predict with a model file', () => {
  const folder = temporaryFolder();
  const files = path.join(folder.dir, 'files');
  const modelFile = path.join(files, 'readmission.json');
  const patientsFile = path.join(files, 'new-patients.csv');
  let core: Core;

  before(async () => {
    mkdirSync(files, { recursive: true });
    writeFileSync(modelFile, modelFileText(logisticModel()));
    writeCsv(patientsFile, csvColumns, patients);
    core = await openTestCore(path.join(folder.dir, 'home'));
  });
  after(async () => {
    await core.close();
    folder.remove();
  });

  it('returns the file with a prediction per row equal to scoreRow, labels at 0.5, unscorable rows empty', async () => {
    const prediction = await core.call('model.predict', { model: modelFile, source: patientsFile });
    assert.equal(prediction.algorithm, 'logistic');
    assert.equal(prediction.target, 'readmitted');
    assert.deepEqual(prediction.columns, [...csvColumns, 'prediction', 'predicted_label']);
    assert.equal(prediction.rows, patients.length);
    // p6 (no age), p7 (age not a number) and p8 (no diagnosis) cannot be scored.
    assert.equal(prediction.scored, patients.length - 3);
    assert.equal(prediction.outPath, null);
    assert.equal(prediction.csv, expectedScoredCsv(logisticModel(), patients, csvColumns));
    const records = parseCsv(prediction.csv ?? '');
    // Both labels occur, so the threshold is exercised on both sides.
    assert.deepEqual(new Set(records.slice(1).map((record) => record[6]).filter((label) => label !== '')), new Set(['0', '1']));
  });

  it('has the worker send the CSV back as text, never as a file, and only its size past the limit', async () => {
    const host = new WorkerHost({ entry: workerSourceEntry, execArgv: tsxExecArgv });
    try {
      const model = readFileSync(modelFile, 'utf8');
      const whole = await host.request({ kind: 'score', model, source: patientsFile, maxCsvBytes: 1_000_000 });
      assert.equal(whole.csv, expectedScoredCsv(logisticModel(), patients, csvColumns));
      assert.equal(whole.csvBytes, Buffer.byteLength(whole.csv ?? ''));
      const over = await host.request({ kind: 'score', model, source: patientsFile, maxCsvBytes: 10 });
      assert.equal(over.csv, undefined);
      assert.equal(over.csvBytes, whole.csvBytes);
    } finally {
      await host.stop();
    }
  });

  it('scores a linear model with a prediction column only', async () => {
    const linearFile = path.join(files, 'stay.json');
    writeFileSync(linearFile, modelFileText(linearModel()));
    const wards = path.join(files, 'wards.csv');
    const rows = [
      { age: '75', ward: 'south' },
      { age: '20', ward: 'north' },
      { age: '55', ward: 'east' },
    ];
    writeCsv(wards, ['age', 'ward'], rows);
    const prediction = await core.call('model.predict', { model: linearFile, source: wards });
    assert.deepEqual(prediction.columns, ['age', 'ward', 'prediction']);
    assert.equal(prediction.csv, expectedScoredCsv(linearModel(), rows, ['age', 'ward']));
    assert.equal(Number(parseCsv(prediction.csv ?? '')[1]?.[2]), 4.5 + (1.5 * 20) / 20 - 0.8);
  });

  it('writes to a file or into a folder, whole, replacing an older one, with no temporary file left', async () => {
    const out = path.join(folder.dir, 'out');
    mkdirSync(out, { recursive: true });
    const expected = expectedScoredCsv(logisticModel(), patients, csvColumns);
    const target = path.join(out, 'scored.csv');
    writeFileSync(target, 'an older file\n');
    const toFile = await core.call('model.predict', { model: modelFile, source: patientsFile, outPath: target });
    assert.equal(toFile.outPath, target);
    assert.equal(toFile.csv, null);
    assert.equal(toFile.scored, patients.length - 3);
    assert.equal(readFileSync(target, 'utf8'), expected);
    const intoFolder = await core.call('model.predict', { model: modelFile, source: patientsFile, outPath: out });
    assert.equal(intoFolder.outPath, path.join(out, 'new-patients-scored.csv'));
    assert.equal(readFileSync(path.join(out, 'new-patients-scored.csv'), 'utf8'), expected);
    assert.deepEqual(readdirSync(out).sort(), ['new-patients-scored.csv', 'scored.csv']);
  });

  it('reads Parquet and JSON with their types: numbers, booleans as 1/0, text', async () => {
    const parquet = path.join(files, 'typed.parquet');
    const json = path.join(files, 'typed.json');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const rows = "(1, 75.5, true, 'sepsis'), (2, 40.0, false, 'CHF'), (3, NULL, true, 'COPD'), (4, 66.25, false, 'other')";
    const select = `SELECT id, CAST(age AS DOUBLE) AS age, on_dialysis, diagnosis FROM (VALUES ${rows}) AS t(id, age, on_dialysis, diagnosis)`;
    await connection.run(`COPY (${select}) TO '${parquet}' (FORMAT parquet)`);
    await connection.run(`COPY (${select}) TO '${json}' (FORMAT json)`);
    connection.closeSync();
    instance.closeSync();
    const typed: { id: number; age: number | null; on_dialysis: boolean; diagnosis: string }[] = [
      { id: 1, age: 75.5, on_dialysis: true, diagnosis: 'sepsis' },
      { id: 2, age: 40, on_dialysis: false, diagnosis: 'CHF' },
      { id: 3, age: null, on_dialysis: true, diagnosis: 'COPD' },
      { id: 4, age: 66.25, on_dialysis: false, diagnosis: 'other' },
    ];
    for (const source of [parquet, json]) {
      const prediction = await core.call('model.predict', { model: modelFile, source });
      assert.deepEqual(prediction.columns, ['id', 'age', 'on_dialysis', 'diagnosis', 'prediction', 'predicted_label'], source);
      assert.equal(prediction.scored, 3);
      const records = parseCsv(prediction.csv ?? '').slice(1);
      assert.deepEqual(
        records.map((record) => record.slice(0, 4)),
        [
          ['1', '75.5', 'true', 'sepsis'],
          ['2', '40.0', 'false', 'CHF'],
          ['3', '', 'true', 'COPD'],
          ['4', '66.25', 'false', 'other'],
        ],
        source,
      );
      typed.forEach((row, index) => {
        const expected = scoreRow(logisticModel(), (feature) => row[feature as keyof typeof row]);
        assert.equal(records[index]?.[4], expected === null ? '' : String(expected), `${source} row ${index}`);
      });
    }
  });

  it('finds feature columns whatever their case, and does not overwrite a column named prediction', async () => {
    const file = path.join(files, 'upper.csv');
    writeFileSync(file, 'AGE,On_Dialysis,DIAGNOSIS,prediction\n70,1,COPD,old guess\n');
    const prediction = await core.call('model.predict', { model: modelFile, source: file });
    assert.deepEqual(prediction.columns, ['AGE', 'On_Dialysis', 'DIAGNOSIS', 'prediction', 'prediction_2', 'predicted_label']);
    const row = parseCsv(prediction.csv ?? '')[1];
    assert.equal(row?.[3], 'old guess');
    assert.equal(row?.[4], String(scoreRow(logisticModel(), (feature) => ({ age: 70, on_dialysis: 1, diagnosis: 'COPD' })[feature])));
  });

  it('refuses a file without a feature column, naming it', async () => {
    const file = path.join(files, 'no-diagnosis.csv');
    writeCsv(file, ['age', 'on_dialysis'], [{ age: '50', on_dialysis: '0' }]);
    const error = await refusal(core, { model: modelFile, source: file, outPath: path.join(files, 'never.csv') });
    assert.equal(error.code, 'BAD_REQUEST');
    assert.match(error.message, /^Cannot score [^ ]+\.csv: it has no column diagnosis, which the model needs\.$/);
    assert.ok(!readdirSync(files).some((name) => name.includes('never')), 'nothing written, not even a temporary file');
  });

  it('refuses what is not a model, saying why', async () => {
    const csvAsModel = await refusal(core, { model: patientsFile, source: patientsFile });
    assert.equal(csvAsModel.code, 'BAD_REQUEST');
    assert.equal(csvAsModel.message, `${patientsFile} is not a Cleanroom model: it is not JSON.`);
    const notModel = path.join(files, 'settings.json');
    writeFileSync(notModel, JSON.stringify({ format: 'something-else', name: 'x' }));
    assert.match((await refusal(core, { model: notModel, source: patientsFile })).message, /settings\.json is not a Cleanroom model: format: /);
    const missing = await refusal(core, { model: path.join(files, 'nowhere.json'), source: patientsFile });
    assert.equal(missing.code, 'FILE_ERROR');
    assert.match(missing.message, /Cannot read the model .*nowhere\.json \(no such file or folder\)/);
  });

  it('refuses a missing or unreadable file to score, and an output that would replace it', async () => {
    const missing = await refusal(core, { model: modelFile, source: path.join(files, 'absent.csv') });
    assert.equal(missing.code, 'FILE_ERROR');
    assert.match(missing.message, /Cannot score absent\.csv: there is no such file/);
    const ragged = path.join(files, 'ragged.csv');
    writeFileSync(ragged, 'age,on_dialysis,diagnosis\n50,0,CHF\n60,1\n');
    const broken = await refusal(core, { model: modelFile, source: ragged });
    assert.equal(broken.code, 'FILE_ERROR');
    assert.match(broken.message, /^Cannot score ragged\.csv: /);
    const onItself = await refusal(core, { model: modelFile, source: patientsFile, outPath: patientsFile });
    assert.match(onItself.message, /would replace new-patients\.csv/);
    assert.match(readFileSync(patientsFile, 'utf8'), /^patient,age/);
  });
});

describe('predict with a model made in a room', () => {
  const folder = temporaryFolder();
  let world: RunWorld;
  let model: ModelDocument;
  const scoreFile = () => path.join(world.files, 'to-score.csv');

  before(async () => {
    world = await makeRunWorld(folder.dir);
    const notebook = `${jointNotebook}-- %% [train] model=readmission algorithm=logistic target=readmitted features=age_band,ward\nSELECT age_band, ward, readmitted FROM admissions\n`;
    const snapshot = await approvedSnapshot(world, 'Rates and model', notebook);
    const started = await world.acme.core.call('run.start', { room: world.room, snapshot });
    const done = await followJob(world.acme, started.job);
    assert.equal(done.state, 'done', done.error?.message);
    const shown = await world.acme.core.call('output.show', { room: world.room, output: 'readmission' });
    assert.equal(shown.output.kind, 'model');
    const parsed = parseModelDocument(shown.rows[0]?.[0] ?? '');
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
    model = parsed.model;
    const rows = admissionsRows().slice(0, 40);
    writeFileSync(scoreFile(), `age_band,ward\n${rows.map((row) => `${row.ageBand},${row.ward}`).join('\n')}\n`);
  });
  after(async () => {
    await world.close();
    folder.remove();
  });

  it('scores with the stored model by name, equal to scoreRow on its document', async () => {
    const prediction = await world.acme.core.call('model.predict', { room: world.room, model: 'readmission', source: scoreFile() });
    const records = parseCsv(prediction.csv ?? '');
    assert.deepEqual(records[0], ['age_band', 'ward', 'prediction', 'predicted_label']);
    assert.equal(prediction.scored, 40);
    for (const record of records.slice(1)) {
      const expected = scoreRow(model, (feature) => (feature === 'age_band' ? record[0] : record[1]));
      assert.equal(record[2], String(expected));
    }
  });

  it('refuses a table output given as a model', async () => {
    const error = await refusal(world.acme.core, { room: world.room, model: 'rates', source: scoreFile() });
    assert.equal(error.code, 'BAD_REQUEST');
    assert.match(error.message, /^rates is a table, not a model/);
  });
});
