// Models through the built `cleanroom` command alone: St Mary adds her admissions and a notebook
// with two train cells, runs it, then reads the models (`model show`, text and --json), saves one
// (`model save`) and scores new patients with it (`predict`, from the room and from the saved
// file): every prediction equals scoreRow on the model document, computed here. Also the refusals
// a person meets: a table given as a model, a file lacking a feature, a file that is not a model.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ModelDocument, modelFileText, modelTerms, scoreRow } from '../../shared/model.js';
import { assertRefused, assertUsage, cliEnv, lines, runCli } from '../support/cli-process.js';
import { type CliParty, createCliParty } from '../support/cli-rooms.js';
import { temporaryFolder } from '../support/homes.js';
import { admissionRows, type AdmissionRow } from '../support/train-fixtures.js';

const room = 'Readmissions';
const columns = ['patient_id', 'age', 'diagnosis', 'length_of_stay', 'prior_admissions', 'emergency', 'cost', 'readmitted'] as const;

const notebook = [
  '-- %% [markdown]',
  '-- Readmission risk and cost of stay',
  '-- %% output=by_diagnosis',
  'SELECT diagnosis, count(*) AS n, avg(readmitted) AS rate FROM admissions GROUP BY diagnosis',
  '-- %% [train] model=readmission algorithm=logistic target=readmitted features=age,length_of_stay,prior_admissions,emergency,diagnosis seed=3',
  'SELECT age, length_of_stay, prior_admissions, emergency, diagnosis, readmitted FROM admissions',
  '-- %% [train] model=stay_cost algorithm=linear target=cost features=length_of_stay,prior_admissions,diagnosis',
  'SELECT length_of_stay, prior_admissions, diagnosis, cost FROM admissions',
  '',
].join('\n');

function csvOf(rows: readonly AdmissionRow[], names: readonly (keyof AdmissionRow)[]): string {
  return `${names.join(',')}\n${rows.map((row) => names.map((name) => String(row[name])).join(',')).join('\n')}\n`;
}

/** A CSV field as scoreRow reads it (the worker reads true/false as 1/0, as when training). */
const valueOf = (text: string | undefined) => (text === undefined || text === '' ? null : text === 'true' || text === 'false' ? text === 'true' : text);

/** Asserts a scored CSV: the source columns kept, and each prediction equal to scoreRow computed here. */
function assertScored(stdout: string, model: ModelDocument, sourceColumns: readonly string[], expectedRows: number): void {
  const records = stdout.replace(/\r\n$/, '').split('\r\n').map((line) => line.split(','));
  const header = records[0] ?? [];
  assert.deepEqual(header, [...sourceColumns, 'prediction', ...(model.algorithm === 'logistic' ? ['predicted_label'] : [])]);
  assert.equal(records.length - 1, expectedRows);
  for (const record of records.slice(1)) {
    const expected = scoreRow(model, (feature) => valueOf(record[sourceColumns.indexOf(feature)]));
    assert.ok(expected !== null);
    assert.equal(record[sourceColumns.length], String(expected));
    if (model.algorithm === 'logistic') assert.equal(record[sourceColumns.length + 1], expected >= 0.5 ? '1' : '0');
  }
}

describe('cli: model show, model save and predict', () => {
  const folder = temporaryFolder();
  const files = path.join(folder.dir, 'files');
  const newPatients = path.join(files, 'new-patients.csv');
  const scoredColumns = ['patient_id', 'age', 'diagnosis', 'length_of_stay', 'prior_admissions', 'emergency'];
  let mary: CliParty;
  let readmission: ModelDocument;
  let stayCost: ModelDocument;

  before(async () => {
    mkdirSync(files, { recursive: true });
    writeFileSync(path.join(files, 'admissions.csv'), csvOf(admissionRows({ patients: 400, seed: 11 }), columns));
    writeFileSync(path.join(files, 'models.sql'), notebook);
    writeFileSync(newPatients, csvOf(admissionRows({ patients: 25, seed: 99, firstPatient: 900_000 }), scoredColumns as (keyof AdmissionRow)[]));

    let acme: CliParty;
    [mary, acme] = await Promise.all([createCliParty(folder.dir, 'St Mary'), createCliParty(folder.dir, 'Acme Insurance')]);
    const created = await acme.json<{ packet: { path: string } }>(['room', 'create', '--name', room, '--member', mary.card, '--out', acme.outbox]);
    await mary.json(['packet', 'import', created.packet.path]);
    await mary.json(['room', 'join', room, '--out', mary.outbox]);
    let sent = 0;
    const send = async (from: CliParty, to: CliParty) => {
      const packet = await from.json<{ path: string }>(['packet', 'export', room, '--out', path.join(from.outbox, `packet-${++sent}.cleanroom`)]);
      await to.json(['packet', 'import', packet.path]);
    };
    await mary.json([
      'table', 'add', room, '--name', 'admissions', '--file', path.join(files, 'admissions.csv'),
      '--privacy-unit', 'patient_id', '--dimension', 'diagnosis', '--dimension', 'emergency', '--dimension', 'readmitted',
      '--measure', 'age', '--measure', 'length_of_stay', '--measure', 'prior_admissions', '--measure', 'cost',
    ]);
    // St Mary writes and runs the notebook on her own table (adding it is her approval for one
    // run); every member approves a snapshot, so Acme's approval comes back by packet.
    const snapshot = await mary.json<{ id: string }>(['notebook', 'add', room, '--name', 'Risk models', '--file', path.join(files, 'models.sql')]);
    await send(mary, acme);
    await acme.json(['approve', room, snapshot.id]);
    await send(acme, mary);
    const run = await mary.run(['run', room, snapshot.id]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    readmission = await mary.json<ModelDocument>(['model', 'show', room, 'readmission']);
    stayCost = await mary.json<ModelDocument>(['model', 'show', room, 'stay_cost']);
  });

  after(() => folder.remove());

  it('--json model show is the model document, the same as the stored output', async () => {
    const shown = await mary.run(['output', 'show', room, 'readmission', '--format', 'json']);
    assert.equal(shown.code, 0, shown.stderr);
    const stored = JSON.parse(shown.stdout) as { columns: { name: string; type: string }[]; rows: string[][] };
    assert.deepEqual(stored.columns, [{ name: 'model', type: 'JSON' }]);
    assert.deepEqual(JSON.parse(stored.rows[0]?.[0] ?? ''), readmission);
    assert.equal(readmission.algorithm, 'logistic');
    assert.equal(readmission.target, 'readmitted');
    assert.equal(readmission.split.seed, 3);
  });

  it('--json model show carries numbers as numbers and booleans as booleans', async () => {
    const shown = await mary.run(['--json', 'model', 'show', room, 'readmission']);
    assert.equal(shown.code, 0, shown.stderr);
    const parsed = JSON.parse(shown.stdout) as { ok: boolean; value: ModelDocument };
    const { fit, split, metrics, intercept, features, roc } = parsed.value;
    assert.equal(typeof fit.converged, 'boolean');
    assert.equal(fit.converged, true);
    assert.equal(typeof fit.iterations, 'number');
    assert.equal(typeof split.trainRows, 'number');
    assert.equal(typeof split.testFraction, 'number');
    assert.equal(typeof metrics.test.auc, 'number');
    assert.equal(typeof metrics.test.rows, 'number');
    assert.equal(typeof intercept, 'number');
    for (const feature of features) {
      if (feature.kind === 'numeric') assert.deepEqual([typeof feature.mean, typeof feature.scale, typeof feature.coefficient], ['number', 'number', 'number']);
      else for (const level of feature.levels) assert.equal(typeof level.coefficient, 'number');
    }
    assert.equal(typeof roc[0]?.tpr, 'number');
  });

  it('model show: what it predicts, where it came from, held-out and training metrics, terms by size', async () => {
    const result = await mary.run(['model', 'show', room, 'readmission']);
    assert.equal(result.code, 0, result.stderr);
    const text = lines(result.stdout);
    assert.equal(text[0], 'Model       readmission: logistic regression predicting the probability that readmitted = 1');
    assert.match(result.stdout, /^Made by {5}run [0-9a-f]{12} of "Risk models", run by St Mary, \d{4}-\d\d-\d\d \d\d:\d\d UTC$/m);
    const { trainRows, testRows } = readmission.split;
    assert.match(result.stdout, new RegExp(`^Rows {8}${trainRows} to train, ${testRows} held out \\(20%, seed 3\\)$`, 'm'));
    assert.equal(trainRows + testRows, 400);
    const auc = /^AUC\s+(\S+)\s+(\S+)$/m.exec(result.stdout);
    assert.ok(auc !== null, result.stdout);
    assert.equal(Number(auc[1]), Number((readmission.metrics.test.auc ?? Number.NaN).toPrecision(4)));
    assert.equal(Number(auc[2]), Number((readmission.metrics.train.auc ?? Number.NaN).toPrecision(4)));
    assert.match(result.stdout, /^Accuracy\s+\S+\s+\S+$/m);
    assert.match(result.stdout, /^Log loss\s+\S+\s+\S+$/m);
    // Terms listed largest first, each as the document has it.
    const termLines = text.slice(text.findIndex((line) => /^ {2}TERM/.test(line)) + 2).filter((line) => /^ {2}\S/.test(line));
    const terms = [...modelTerms(readmission)].sort((a, b) => Math.abs(b.coefficient) - Math.abs(a.coefficient));
    assert.deepEqual(
      termLines.slice(0, terms.length).map((line) => line.trim().split(/\s+/)[0]),
      terms.map((term) => term.term),
    );
    const age = termLines.find((line) => line.trim().startsWith('age '));
    const ageTerm = terms.find((term) => term.term === 'age');
    assert.deepEqual(age?.trim().split(/\s+/).slice(1).map(Number), [Number(ageTerm?.coefficient.toPrecision(4)), Number(ageTerm?.perUnit?.toPrecision(4))]);
    assert.match(result.stdout, /^ {2}diagnosis: compared with \S+ \(the most frequent level\)/m);
    assert.match(result.stdout, /^Score a file with it: cleanroom predict readmission --room Readmissions --file F$/m);
  });

  it('model show of a linear model gives RMSE, R² and MAE', async () => {
    const result = await mary.run(['model', 'show', room, 'stay_cost']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Model {7}stay_cost: linear regression predicting cost$/m);
    // Aggregate mode fits with a ridge of at least 1e-6 per training row (320 rows), so collinear
    // features cannot make the fit fail on the data.
    assert.match(result.stdout, /^Fit {9}least squares, 1 iteration, converged; L2 penalty 0\.00032$/m);
    const r2 = /^R²\s+(\S+)\s+(\S+)$/m.exec(result.stdout);
    assert.equal(Number(r2?.[1]), Number((stayCost.metrics.test.r2 ?? Number.NaN).toPrecision(4)));
    assert.match(result.stdout, /^RMSE\s+\S+\s+\S+$/m);
    assert.match(result.stdout, /^MAE\s+\S+\s+\S+$/m);
    assert.ok(!result.stdout.includes('ROC'), 'a linear model has no ROC curve');
  });

  it('model save writes the model file, into a folder as NAME.json or to a named file', async () => {
    const out = path.join(folder.dir, 'saved');
    mkdirSync(out);
    const saved = await mary.run(['model', 'save', room, 'readmission', '--out', out]);
    assert.equal(saved.code, 0, saved.stderr);
    const file = path.join(out, 'readmission.json');
    assert.equal(lines(saved.stdout)[0], `Saved the model readmission to ${file}.`);
    assert.equal(readFileSync(file, 'utf8'), modelFileText(readmission));
    const named = await mary.json<{ name: string; path: string }>(['model', 'save', room, 'stay_cost', '--out', path.join(out, 'cost-model.json')]);
    assert.deepEqual(named, { name: 'stay_cost', path: path.join(out, 'cost-model.json') });
    assert.equal(readFileSync(named.path, 'utf8'), modelFileText(stayCost));
    assert.deepEqual(readdirSync(out).sort(), ['cost-model.json', 'readmission.json']);

    // Written as a folder that does not exist: refused, rather than a file under the folder's name.
    const missing = path.join(folder.dir, 'no-such-folder');
    assertRefused(await mary.run(['model', 'save', room, 'readmission', '--out', `${missing}${path.sep}`]), /Cannot write into .*no-such-folder: there is no such folder\./);
    assert.ok(!existsSync(missing));
  });

  it('predict from the room and from the saved file print the same CSV, each prediction equal to scoreRow', async () => {
    const fromRoom = await mary.run(['predict', 'readmission', '--room', room, '--file', newPatients]);
    assert.equal(fromRoom.code, 0, fromRoom.stderr);
    assertScored(fromRoom.stdout, readmission, scoredColumns, 25);
    assert.equal(fromRoom.stderr, '');
    const saved = path.join(folder.dir, 'saved', 'readmission.json');
    // A model file needs no identity and no passphrase: any home, even a new one, can score with it.
    const fromFile = await runCli(['--home', path.join(folder.dir, 'other-home'), 'predict', saved, '--file', newPatients], cliEnv());
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.equal(fromFile.stdout, fromRoom.stdout);
    const linear = await mary.run(['predict', 'stay_cost', '--room', room, '--file', newPatients]);
    assert.equal(linear.code, 0, linear.stderr);
    assertScored(linear.stdout, stayCost, scoredColumns, 25);
  });

  it('predict --out writes the CSV and says what it wrote; rows without a value are counted', async () => {
    const out = path.join(folder.dir, 'scored');
    mkdirSync(out);
    const printed = await mary.run(['predict', 'readmission', '--room', room, '--file', newPatients]);
    const written = await mary.run(['predict', 'readmission', '--room', room, '--file', newPatients, '--out', out]);
    assert.equal(written.code, 0, written.stderr);
    const target = path.join(out, 'new-patients-scored.csv');
    assert.deepEqual(lines(written.stdout).slice(0, 2), [
      'Scored 25 rows of new-patients.csv: 25 with a prediction.',
      `Wrote ${target}: the file's columns, then prediction (the probability that readmitted is positive) and predicted_label.`,
    ]);
    assert.equal(readFileSync(target, 'utf8'), printed.stdout);

    const gaps = path.join(files, 'gaps.csv');
    writeFileSync(gaps, 'age,length_of_stay,prior_admissions,emergency,diagnosis\n70,3,1,true,copd\n,3,1,false,copd\n70,n/a,1,false,copd\n');
    const json = await mary.json<{ rows: number; scored: number; csv: string }>(['predict', 'readmission', '--room', room, '--file', gaps]);
    assert.deepEqual([json.rows, json.scored], [3, 1]);
    const text = await mary.run(['predict', 'readmission', '--room', room, '--file', gaps]);
    assert.equal(text.stdout, json.csv);
    assert.equal(text.stderr, '2 rows of 3 got no prediction: a feature value was missing or not a number.\n');
  });

  it('refuses a table output as a model, a file lacking a feature, and a file that is not a model', async () => {
    assertRefused(await mary.run(['model', 'show', room, 'by_diagnosis']), /^cleanroom: by_diagnosis is a table, not a model; read it with `cleanroom output show`\.$/);
    assertRefused(await mary.run(['predict', 'by_diagnosis', '--room', room, '--file', newPatients]), /by_diagnosis is a table, not a model/);
    assertRefused(await mary.run(['model', 'show', room, 'no_such_model']), /no_such_model/);
    const lacking = path.join(files, 'lacking.csv');
    writeFileSync(lacking, 'age,length_of_stay,prior_admissions,emergency\n70,3,1,true\n');
    assertRefused(await mary.run(['predict', 'readmission', '--room', room, '--file', lacking]), /^cleanroom: Cannot score [^ ]+\.csv: it has no column diagnosis, which the model needs\.$/);
    assertRefused(await mary.run(['predict', newPatients, '--file', newPatients]), new RegExp(`^cleanroom: ${newPatients.replaceAll('.', '\\.')} is not a Cleanroom model: it is not JSON\\.$`));
  });

  it('usage: model show needs the passphrase; predict needs --file; model save needs --out', async () => {
    assertUsage(await runCli(['--home', mary.home, 'model', 'show', room, 'readmission'], cliEnv()), /needs the passphrase/);
    assertUsage(await mary.run(['predict', 'readmission', '--room', room]), /--file/);
    assertUsage(await mary.run(['model', 'save', room, 'readmission']), /--out/);
  });
});
