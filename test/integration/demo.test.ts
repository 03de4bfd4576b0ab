// ACCEPTANCE for the demo (issue 6): runDemo walks both stories on real homes and workers; the
// readmission model reaches held-out AUC ≥ 0.70; story 1's rates equal the plain computation with
// small groups left out, values few people carry withheld; and the same fit on the plain data outside the clean room
// (plain DuckDB reading the demo's CSV, the library's macros created there, the train cell's SQL,
// then fitModel) gives the clean room's coefficients to 1e-6.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { cappedLos, diedInHospital, frailtyScore, libraryFileName, makeDemoData, trainNotebook } from '../../electron/cli/demo-data.js';
import { type DemoResult, parseSimpleCsv, runDemo } from '../../electron/cli/demo-story.js';
import { fitModel, type TrainingColumn } from '../../electron/worker/fit.js';
import { type ModelDocument, parseTrainOptions, scoreRow } from '../../shared/model.js';
import { parseNotebook } from '../../shared/notebook.js';
import { assertRefused, cliEnv, runCli } from '../support/cli-process.js';
import { allFileBytes, temporaryFolder } from '../support/homes.js';
import { tsxExecArgv, workerSourceEntry } from '../support/paths.js';

const k = 10;
const numericType = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*|BOOLEAN)$/;
const literal = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/** The train cell's rows read by plain DuckDB: the demo's CSV, the library's macros, the cell's SELECT. */
async function plainTrainingColumns(result: DemoResult, columns: readonly string[]): Promise<{ columns: TrainingColumn[]; derived: { los: number[]; frailty: number[] } }> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`CREATE TABLE admissions AS SELECT * FROM read_csv(${literal(result.files.admissions)})`);
    const library = readFileSync(path.join(result.files.library, libraryFileName), 'utf8');
    await connection.run(library);
    const train = parseNotebook(trainNotebook).cells.find((cell) => cell.kind === 'train');
    assert.ok(train !== undefined);
    await connection.run(`CREATE TABLE training AS ${train.source}`);
    const types = await connection.runAndReadAll('SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1', ['training']);
    const typeOf = new Map(types.getRows().map((row) => [String(row[0]), String(row[1])]));
    const read: TrainingColumn[] = [];
    for (const name of columns) {
      const type = typeOf.get(name);
      assert.ok(type !== undefined, `the train cell selects ${name}`);
      const numeric = numericType.test(type);
      const reader = await connection.runAndReadAll(`SELECT CAST("${name}" AS ${numeric ? 'DOUBLE' : 'VARCHAR'}) FROM training`);
      read.push({ name, type, values: reader.getRows().map((row) => (row[0] === null ? null : numeric ? Number(row[0]) : String(row[0]))) });
    }
    const derived = await connection.runAndReadAll('SELECT capped_los(length_of_stay), frailty_score(age, chronic_conditions, prior_admissions) FROM admissions ORDER BY patient_id');
    const rows = derived.getRows();
    return { columns: read, derived: { los: rows.map((row) => Number(row[0])), frailty: rows.map((row) => Number(row[1])) } };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Every coefficient of two models, by term, with the intercept. */
function coefficients(model: ModelDocument): Map<string, number> {
  const terms = new Map<string, number>([['(intercept)', model.intercept]]);
  for (const feature of model.features) {
    if (feature.kind === 'numeric') {
      terms.set(feature.name, feature.coefficient);
      terms.set(`${feature.name} mean`, feature.mean);
      terms.set(`${feature.name} scale`, feature.scale);
    } else {
      terms.set(`${feature.name} reference ${feature.reference}`, 0);
      for (const level of feature.levels) terms.set(`${feature.name}=${level.level}`, level.coefficient);
      if (feature.other !== null) terms.set(`${feature.name}=(other)`, feature.other);
    }
  }
  return terms;
}

describe('demo: both stories end to end (acceptance)', () => {
  const folder = temporaryFolder('cleanroom-demo-test-');
  const data = makeDemoData();
  const printed: string[] = [];
  let result: DemoResult;

  before(async () => {
    result = await runDemo({ dir: path.join(folder.dir, 'demo'), log: (line) => printed.push(line), workerEntry: workerSourceEntry, workerExecArgv: tsxExecArgv });
  });
  after(() => folder.remove());

  it('prints each step, the passphrase, and the outputs of both stories', () => {
    const text = printed.join('\n');
    assert.ok(text.includes(result.passphrase));
    for (const expected of ['Story 1', 'Story 2', 'readmission_rates', 'withheld', 'AUC', 'Strongest terms', 'NEW-01']) assert.ok(text.includes(expected), expected);
  });

  it('story 1: rates by age band and plan equal the plain join, groups below k removed, rates on fewer than k readmitted withheld', () => {
    const rates = result.story1.outputs.find((output) => output.name === 'readmission_rates');
    assert.ok(rates !== undefined);
    const plans = new Map(data.members.map((member) => [member.memberId, member.plan]));
    const groups = new Map<string, { admissions: number; readmitted: number }>();
    for (const row of data.admissions) {
      const plan = plans.get(row.patientId);
      if (plan === undefined) continue;
      const key = `${row.ageBand}|${plan}`;
      const group = groups.get(key) ?? { admissions: 0, readmitted: 0 };
      group.admissions++;
      group.readmitted += row.readmitted30d;
      groups.set(key, group);
    }
    // One admission per patient, so admissions = people behind the group.
    const kept = [...groups].filter(([, group]) => group.admissions >= k).sort(([a], [b]) => (a < b ? -1 : 1));
    assert.ok(kept.length < groups.size, 'some groups were small enough to remove');
    // Issue 17: removed groups are no longer counted; suppressedRows counts withheld values in the
    // released rows. A rate (avg of a 0/1 measure) is withheld when fewer than k people have a
    // non-zero value (readmitted), since its sum would count them.
    const withheld = kept.filter(([, group]) => group.readmitted < k).length;
    assert.equal(rates.suppressedRows, withheld);
    assert.ok(withheld > 0, 'some rates rest on fewer than k readmitted people');
    assert.deepEqual(
      rates.rows.map((row) => `${row[0]}|${row[1]}`),
      kept.map(([key]) => key),
    );
    rates.rows.forEach((row, index) => {
      const [, group] = kept[index] as [string, { admissions: number; readmitted: number }];
      assert.equal(Number(row[2]), group.admissions);
      if (group.readmitted < k) assert.equal(row[3], null, `rate of ${row[0]} ${row[1]} is withheld`);
      else assert.ok(Math.abs(Number(row[3]) - group.readmitted / group.admissions) < 1e-9, `rate of ${row[0]} ${row[1]}`);
    });
    assert.deepEqual([...result.story1.hospitalReceived].sort(), ['claims_by_plan', 'readmission_rates'], 'the hospital received the released outputs');
  });

  it('story 2: the readmission model reaches held-out AUC ≥ 0.70, and the ML expert receives it', () => {
    const { model } = result.story2;
    assert.equal(model.algorithm, 'logistic');
    assert.equal(model.target, 'readmitted_30d');
    assert.ok(model.metrics.test.auc !== null && model.metrics.test.auc >= 0.7, `held-out AUC ${model.metrics.test.auc}`);
    const cohort = data.admissions.filter((row) => row.dischargeTo !== diedInHospital).length;
    assert.ok(cohort < data.admissions.length, 'the library\'s cohort macro leaves some patients out');
    // Issue 17: droppedRows is optional now (never in an aggregate-mode model); this room is reviewed mode, so it is there.
    assert.ok(model.split.droppedRows !== undefined, 'reviewed mode counts the dropped rows');
    assert.equal(model.split.trainRows + model.split.testRows + model.split.droppedRows, cohort);
    assert.deepEqual(result.story2.expertReceived, ['readmission']);
  });

  it('the same fit on the plain data outside the clean room gives the same coefficients (1e-6)', async () => {
    const { model } = result.story2;
    const train = parseNotebook(trainNotebook).cells.find((cell) => cell.kind === 'train');
    assert.ok(train !== undefined);
    const options = parseTrainOptions(train);
    assert.ok(options.ok);
    const { spec } = options;
    const plain = await plainTrainingColumns(result, [spec.target, ...spec.features]);
    const [target, ...features] = plain.columns as [TrainingColumn, ...TrainingColumn[]];
    const plainModel = fitModel(spec, target, features, { minLevelRows: k, minRows: k });
    const inRoom = coefficients(model);
    const outside = coefficients(plainModel);
    assert.deepEqual([...inRoom.keys()].sort(), [...outside.keys()].sort(), 'the same terms');
    for (const [term, value] of outside) {
      const other = inRoom.get(term) as number;
      assert.ok(Math.abs(other - value) <= 1e-6, `${term}: clean room ${other}, plain ${value}`);
    }
    // The new patients' file was prepared with the library's formulas: they agree with its macros.
    const byId = [...data.admissions].sort((a, b) => a.patientId - b.patientId);
    assert.deepEqual(plain.derived.los, byId.map((row) => cappedLos(row.lengthOfStay)));
    assert.deepEqual(plain.derived.frailty, byId.map((row) => frailtyScore(row.age, row.chronicConditions, row.priorAdmissions)));
  });

  it('scores the new patients with the model, as scoreRow does', () => {
    const { columns, rows } = result.story2.prediction;
    const input = parseSimpleCsv(readFileSync(result.files.newPatients, 'utf8'));
    assert.equal(rows.length, data.newPatients.length);
    rows.forEach((row, index) => {
      const source = input.rows[index] as string[];
      const expected = scoreRow(result.story2.model, (feature) => source[input.columns.indexOf(feature)]);
      assert.ok(expected !== null);
      assert.ok(Math.abs(Number(row[columns.indexOf('prediction')]) - expected) < 1e-6, `patient ${row[0]}`);
    });
  });

  it('leaves no line of the private library in any file of the hospital\'s home', () => {
    const library = readFileSync(path.join(result.files.library, libraryFileName), 'utf8');
    // Lines that only the library holds (the notebook calls the macros by name, so names are not secret).
    const secrets = library.split('\n').map((line) => line.trim()).filter((line) => line.length >= 10);
    assert.ok(secrets.length >= 4);
    for (const [file, bytes] of allFileBytes(result.homes.hospital)) {
      const text = bytes.toString('latin1');
      for (const secret of secrets) assert.ok(!text.includes(secret), `${file} holds “${secret}”`);
    }
  });
});

describe('cleanroom demo --dir', () => {
  const folder = temporaryFolder();
  after(() => folder.remove());

  it('refuses a folder that holds anything, or a file, with one line, and touches neither', async () => {
    const used = path.join(folder.dir, 'used');
    mkdirSync(used);
    writeFileSync(path.join(used, 'notes.txt'), 'keep me');
    assertRefused(await runCli(['demo', '--dir', used], cliEnv()), /used is not empty: .*give a new or empty folder/);
    assert.deepEqual(readdirSync(used), ['notes.txt']);

    const file = path.join(folder.dir, 'a-file');
    writeFileSync(file, 'not a folder');
    assertRefused(await runCli(['demo', '--dir', file], cliEnv()), /a-file is a file, not a folder/);
    assert.equal(readFileSync(file, 'utf8'), 'not a folder');
  });
});
