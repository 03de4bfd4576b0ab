// Train cells in the real worker: an EHR-like table with a planted signal is imported and
// encrypted by the worker, decrypted again by a `run`, and fitted inside it. The model that comes
// out must be the one fitAggregateModel (aggregate mode) or fitModel (reviewed mode) gives on the
// same rows taken straight from the generator (no clean room), find the planted signal, and be the
// only thing that leaves. Bad input that the SQL or the columns' types decide fails with its class
// and a reason naming the column; in aggregate mode, what the rows decide (too few people, a
// constant or non-finite feature) is withheld instead, never a failure (issue 17).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fitAggregateModel, fitModel, type TrainingColumn } from '../../electron/worker/fit.js';
import { isWithheldModel, type ModelDocument, modelTerms, parseModelDocument, parseModelOutput, parseTrainOptions, scoreRow, type WithheldModelDocument } from '../../shared/model.js';
import { parseNotebook } from '../../shared/notebook.js';
import { type RunResult, type WorkerProgress } from '../../shared/worker-protocol.js';
import { type RunOptions, RunFixture } from '../support/run-fixtures.js';
import { type AdmissionRow, admissionRows, admissionsTable } from '../support/train-fixtures.js';

const k = 10;
const rows = admissionRows({ patients: 1200, seed: 7 });
/** A ward of 8 patients with 10 admissions each: 80 rows, but fewer than k people. */
const wardRows = admissionRows({ patients: 8, seed: 3, firstPatient: 700_001 }).flatMap((row) =>
  Array.from({ length: 10 }, (_unused, visit) => ({ ...row, length_of_stay: row.length_of_stay + visit, readmitted: visit % 2 })),
);

/** 300 patients, plus one person with 30 admissions (more than k rows in the training part) and a diagnosis nobody else has. */
const rareDiagnosis = 'MARKER-dx-7f3a-only-one-person';
const clinicRows = [
  ...admissionRows({ patients: 300, seed: 5, firstPatient: 400_001 }),
  ...Array.from({ length: 30 }, (_unused, visit) => ({ ...(rows[0] as AdmissionRow), patient_id: 499_999, diagnosis: rareDiagnosis, readmitted: visit % 2 })),
];

let fixture: RunFixture;
before(async () => {
  fixture = await RunFixture.open([admissionsTable(rows), admissionsTable(wardRows, 'small_ward'), admissionsTable(clinicRows, 'clinic')]);
});
after(() => fixture.close());

const readmissionFeatures = 'age,length_of_stay,prior_admissions,diagnosis,emergency';
const readmissionNotebook = [
  '-- # Readmission within 30 days',
  `-- %% [train] model=readmission algorithm=logistic target=readmitted features=${readmissionFeatures} seed=42`,
  'SELECT age, length_of_stay, prior_admissions, diagnosis, emergency, readmitted FROM admissions',
].join('\n');

function modelOf(result: RunResult, name: string): ModelDocument {
  assert.equal(result.failure, null, `the run failed: ${JSON.stringify(result.failure)}`);
  const output = result.outputs.find((candidate) => candidate.name === name);
  assert.ok(output !== undefined, `an output named ${name}`);
  assert.deepEqual(output.columns, [{ name: 'model', type: 'JSON' }], 'a model output is one JSON column');
  assert.equal(output.rows.length, 1, '… and one row');
  assert.equal(output.suppressedRows, 0);
  const parsed = parseModelDocument(output.rows[0]?.[0] ?? '');
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  return parsed.model;
}

/** The withheld document a model output holds, when aggregate mode withheld the model. */
function withheldOf(result: RunResult, name: string): WithheldModelDocument {
  assert.equal(result.failure, null, `the run failed: ${JSON.stringify(result.failure)}`);
  const output = result.outputs.find((candidate) => candidate.name === name);
  assert.ok(output !== undefined, `an output named ${name}`);
  const read = parseModelOutput(output.rows[0]?.[0] ?? '');
  assert.ok(read.ok && read.withheld !== null, `the model is withheld: ${output.rows[0]?.[0] ?? ''}`);
  return read.withheld;
}

/**
 * The reference on the generator's rows, no DuckDB, no worker: fitAggregateModel with each row's
 * patient as the person behind it (aggregate mode), or fitModel (reviewed mode).
 */
function referenceFit(notebookText: string, columns: { name: keyof AdmissionRow; type: string }[], mode: 'aggregate' | 'reviewed' = 'aggregate'): ModelDocument {
  const cell = parseNotebook(notebookText).cells.find((candidate) => candidate.kind === 'train');
  assert.ok(cell !== undefined);
  const checked = parseTrainOptions(cell);
  assert.ok(checked.ok);
  const column = ({ name, type }: { name: keyof AdmissionRow; type: string }): TrainingColumn => ({ name, type, values: rows.map((row) => row[name]) });
  const [target, ...features] = columns.map(column);
  if (mode === 'reviewed') return fitModel(checked.spec, target as TrainingColumn, features, { minLevelRows: 1, minRows: 2 });
  const document = fitAggregateModel(checked.spec, target as TrainingColumn, features, { k, people: [{ table: 'admissions', values: rows.map((row) => String(row.patient_id)) }] });
  assert.ok(!isWithheldModel(document), 'the reference is a model');
  return document;
}

function assertSameModel(actual: ModelDocument, expected: ModelDocument): void {
  assert.equal(actual.features.length, expected.features.length);
  const expectedTerms = new Map(modelTerms(expected).map((term) => [term.term, term.coefficient]));
  const actualTerms = modelTerms(actual);
  assert.equal(actualTerms.length, expectedTerms.size);
  assert.ok(Math.abs(actual.intercept - expected.intercept) <= 1e-6, `intercept ${actual.intercept} vs ${expected.intercept}`);
  for (const term of actualTerms) {
    const coefficient = expectedTerms.get(term.term);
    assert.ok(coefficient !== undefined, `term ${term.term} in both`);
    assert.ok(Math.abs(term.coefficient - coefficient) <= 1e-6, `${term.term}: ${term.coefficient} vs ${coefficient}`);
  }
  assert.deepEqual(actual.split, expected.split);
  assert.deepEqual(actual.metrics, expected.metrics);
}

async function failure(notebookText: string, options: RunOptions = {}): Promise<NonNullable<RunResult['failure']>> {
  const { result, runDir } = await fixture.run(notebookText, options);
  assert.deepEqual(result.outputs, [], 'a failed run lets out nothing');
  assert.deepEqual(readdirSync(runDir), [], 'no plaintext left in the run folder');
  assert.ok(result.failure !== null, 'the run failed');
  assert.doesNotMatch(JSON.stringify(result.failure), /example\.org|70000\d|20\d{4}/, 'no value from the rows in the failure');
  return result.failure;
}

const trainCell = (options: string, body: string): string => [`-- %% [train] ${options}`, body].join('\n');

describe('train cells in the worker: fitting', () => {
  it('fits a logistic readmission model on the planted data, equal to fitModel on the same rows outside the clean room', async () => {
    const progress: WorkerProgress[] = [];
    const { result, runDir } = await fixture.run(readmissionNotebook, {}, progress);
    const model = modelOf(result, 'readmission');
    assert.equal(model.algorithm, 'logistic');
    assert.equal(model.target, 'readmitted');
    assert.equal(model.positiveLabel, '1');
    assert.deepEqual(model.features.map((feature) => `${feature.name}:${feature.kind}`), [
      'age:numeric',
      'length_of_stay:numeric',
      'prior_admissions:numeric',
      'diagnosis:categorical',
      'emergency:numeric',
    ]);
    assert.equal(model.split.trainRows + model.split.testRows, rows.length);
    assert.equal(model.split.testRows, Math.round(rows.length * 0.2), 'one admission per patient: a fifth of the people, a fifth of the rows');
    assert.equal(model.split.droppedRows, undefined, 'aggregate mode never counts the rows it left out');
    assert.equal(model.split.seed, 42);
    assert.ok((model.metrics.test.auc ?? 0) >= 0.7, `held-out AUC ${model.metrics.test.auc} finds the planted signal`);
    assert.equal(model.fit.converged, true);
    assert.deepEqual(model.withheld, { features: [], metrics: { train: null, test: null } });
    assert.ok(model.roc.length >= 3 && model.roc.length < 101, `a thinned ROC curve of ${model.roc.length} points`);
    assert.ok(model.roc.some((point) => point.threshold === 0.5), 'the accuracy threshold is a point');

    const reference = referenceFit(
      readmissionNotebook,
      [
        { name: 'readmitted', type: 'BIGINT' },
        { name: 'age', type: 'BIGINT' },
        { name: 'length_of_stay', type: 'BIGINT' },
        { name: 'prior_admissions', type: 'BIGINT' },
        { name: 'diagnosis', type: 'VARCHAR' },
        { name: 'emergency', type: 'BOOLEAN' },
      ],
    );
    assertSameModel(model, reference);
    assert.deepEqual(model.roc, reference.roc);

    // The planted effects, per raw unit: stay and prior admissions raise the odds, heart failure most of the diagnoses.
    const terms = new Map(modelTerms(model).map((term) => [term.term, term]));
    assert.ok((terms.get('length_of_stay')?.perUnit ?? 0) > 0.1);
    assert.ok((terms.get('prior_admissions')?.perUnit ?? 0) > 0.25);
    const diagnosis = model.features.find((feature) => feature.name === 'diagnosis');
    assert.ok(diagnosis?.kind === 'categorical');
    const levels = new Map(diagnosis.levels.map((level) => [level.level, level.coefficient]));
    levels.set(diagnosis.reference, 0);
    assert.ok((levels.get('heart_failure') ?? 0) > (levels.get('hip_fracture') ?? 0));

    assert.doesNotMatch(JSON.stringify(result), /example\.org/, 'nothing but the model leaves');
    assert.deepEqual(readdirSync(runDir), [], 'no plaintext left in the run folder');
    const training = progress.filter((event) => event.phase === 'training');
    assert.ok(training.length > 0, 'progress reports the training phase');
    assert.deepEqual(training.at(-1), { phase: 'training', done: rows.length, total: rows.length });
  });

  it("fits reviewed mode's model (fitModel) there, where the body may be SELECT *", async () => {
    const reviewedNotebook = readmissionNotebook.replace(/SELECT .* FROM admissions/, 'SELECT * FROM admissions');
    const { result } = await fixture.run(reviewedNotebook, { mode: 'reviewed' });
    const model = modelOf(result, 'readmission');
    const reference = referenceFit(
      readmissionNotebook,
      [
        { name: 'readmitted', type: 'BIGINT' },
        { name: 'age', type: 'BIGINT' },
        { name: 'length_of_stay', type: 'BIGINT' },
        { name: 'prior_admissions', type: 'BIGINT' },
        { name: 'diagnosis', type: 'VARCHAR' },
        { name: 'emergency', type: 'BOOLEAN' },
      ],
      'reviewed',
    );
    assertSameModel(model, reference);
    assert.equal(model.split.droppedRows, 0, 'reviewed mode still counts the rows it left out');
    assert.equal(model.roc.length, 101);
    assert.equal(model.withheld, undefined);
  });

  it('fits a linear cost model with the planted per-day cost and a high held-out R²', async () => {
    const notebook = trainCell('model=cost_model algorithm=linear target=cost features=length_of_stay,prior_admissions,diagnosis test-fraction=0.25', 'SELECT length_of_stay, prior_admissions, diagnosis, cost FROM admissions');
    const { result } = await fixture.run(notebook);
    const model = modelOf(result, 'cost_model');
    assert.equal(model.algorithm, 'linear');
    assert.equal(model.positiveLabel, null);
    assert.equal(model.fit.method, 'least-squares');
    assert.equal(model.split.testRows, rows.length / 4);
    assert.ok((model.metrics.test.r2 ?? 0) > 0.8, `held-out R² ${model.metrics.test.r2}`);
    const perDay = modelTerms(model).find((term) => term.term === 'length_of_stay')?.perUnit ?? 0;
    assert.ok(Math.abs(perDay - 310) < 15, `cost per day of stay ${perDay}`);
    const reference = referenceFit(
      notebook,
      [
        { name: 'cost', type: 'DOUBLE' },
        { name: 'length_of_stay', type: 'BIGINT' },
        { name: 'prior_admissions', type: 'BIGINT' },
        { name: 'diagnosis', type: 'VARCHAR' },
      ],
    );
    assertSameModel(model, reference);
    assert.ok(model.l2 > 0 && model.l2 <= 1e-6 * model.split.trainRows, 'a ridge just large enough that collinear features could not fail the fit');
  });

  it('names a categorical level only when k people share it, however many rows one person has; a rarer one counts as the reference (aggregate mode)', async () => {
    const notebook = trainCell('model=clinic_model algorithm=logistic target=readmitted features=diagnosis,length_of_stay', 'SELECT diagnosis, length_of_stay, readmitted FROM clinic');
    const { result } = await fixture.run(notebook);
    const model = modelOf(result, 'clinic_model');
    const diagnosis = model.features.find((feature) => feature.name === 'diagnosis');
    assert.ok(diagnosis?.kind === 'categorical');
    assert.equal(diagnosis.other, null, "the one person's level is not folded into an (other) that would be theirs alone");
    assert.doesNotMatch(JSON.stringify(result), new RegExp(rareDiagnosis), 'the value never leaves the worker');
    assert.deepEqual([diagnosis.reference, ...diagnosis.levels.map((level) => level.level)].sort(), ['copd', 'heart_failure', 'hip_fracture', 'other', 'pneumonia']);
    const asRare = scoreRow(model, (feature) => (feature === 'diagnosis' ? rareDiagnosis : 5));
    const asReference = scoreRow(model, (feature) => (feature === 'diagnosis' ? diagnosis.reference : 5));
    assert.equal(asRare, asReference, 'the rare level scores exactly as the reference: the model holds nothing of its own about it');

    // In reviewed mode every member approved the exact code, and the level is named.
    const { result: reviewed } = await fixture.run(notebook, { mode: 'reviewed' });
    const named = modelOf(reviewed, 'clinic_model').features.find((feature) => feature.name === 'diagnosis');
    assert.ok(named?.kind === 'categorical' && named.levels.some((level) => level.level === rareDiagnosis));
  });

  it('runs train cells beside SQL cells: both outputs come out, and a later cell cannot read the model as a table', async () => {
    const notebook = [
      '-- %% output=by_diagnosis',
      'SELECT diagnosis, count(*) AS admissions FROM admissions GROUP BY diagnosis',
      trainCell('model=stay_model algorithm=logistic target=readmitted features=length_of_stay', 'SELECT length_of_stay, readmitted FROM admissions'),
    ].join('\n');
    const { result } = await fixture.run(notebook);
    assert.deepEqual(result.outputs.map((output) => output.name), ['by_diagnosis', 'stay_model']);
    modelOf(result, 'stay_model');

    const reading = await failure([notebook, '-- %% output=peek', 'SELECT count(*) AS n FROM stay_model'].join('\n'));
    assert.equal(reading.class, 'PolicyRefused');
    assert.equal(reading.cell, 2);
    assert.match(reading.reasons.join('\n'), /stay_model is not a table in this room|table stay_model is not in the room/);
  });
});

describe('train cells in the worker: bad input fails with its class and names the column', () => {
  const cases: { what: string; notebook: string; options?: RunOptions; failureClass: string; reason: RegExp }[] = [
    {
      what: 'a logistic target whose declared type is text (refused from the type, as the policy would)',
      notebook: trainCell('model=m algorithm=logistic target=sex features=age', 'SELECT age, sex FROM admissions'),
      failureClass: 'PolicyRefused',
      reason: /target sex must be BOOLEAN or a number \(read as value <> 0\) for a logistic model \(it is VARCHAR\)/,
    },
    {
      what: 'a linear target whose declared type is text',
      notebook: trainCell('model=m algorithm=linear target=diagnosis features=age', 'SELECT age, diagnosis FROM admissions'),
      failureClass: 'PolicyRefused',
      reason: /target diagnosis must be a number/,
    },
    {
      what: 'a logistic target that is not 0/1 (reviewed mode keeps deciding it from the rows)',
      notebook: trainCell('model=m algorithm=logistic target=prior_admissions features=age', 'SELECT age, prior_admissions FROM admissions'),
      options: { mode: 'reviewed' },
      failureClass: 'TargetNotBinary',
      reason: /target prior_admissions/,
    },
    {
      what: 'a feature that is a privacy unit (aggregate mode)',
      notebook: trainCell('model=m algorithm=logistic target=readmitted features=age,patient_id', 'SELECT age, patient_id, readmitted FROM admissions'),
      failureClass: 'PolicyRefused',
      reason: /feature patient_id comes from privacy unit patient_id/,
    },
    {
      what: 'a feature computed from a privacy unit (aggregate mode)',
      notebook: trainCell('model=m algorithm=logistic target=readmitted features=age,odd', 'SELECT age, patient_id % 2 AS odd, readmitted FROM admissions'),
      failureClass: 'PolicyRefused',
      reason: /character 13: column odd is computed/,
    },
    {
      what: 'a feature computed from a measure (aggregate mode)',
      notebook: trainCell('model=m algorithm=logistic target=readmitted features=age,long_stay', 'SELECT age, length_of_stay * (length_of_stay > 15) AS long_stay, readmitted FROM admissions'),
      failureClass: 'PolicyRefused',
      reason: /column long_stay is computed: in aggregate mode a train cell selects bare columns only/,
    },
    {
      what: 'a feature that is a join key (aggregate mode)',
      notebook: trainCell('model=m algorithm=logistic target=readmitted features=hospital', 'SELECT hospital, readmitted FROM admissions'),
      failureClass: 'PolicyRefused',
      reason: /feature hospital comes from join key hospital/,
    },
    {
      what: 'a hidden column',
      notebook: trainCell('model=m algorithm=logistic target=readmitted features=email', 'SELECT email, readmitted FROM admissions'),
      failureClass: 'PolicyRefused',
      reason: /column email is hidden/,
    },
    {
      what: 'too few rows for both parts of the split (reviewed mode)',
      notebook: trainCell('model=m algorithm=logistic target=readmitted features=length_of_stay', 'SELECT length_of_stay, readmitted FROM admissions ORDER BY patient_id LIMIT 5'),
      options: { mode: 'reviewed' },
      failureClass: 'TooFewRows',
      reason: /at least 2 rows each/,
    },
    {
      what: 'a constant feature (reviewed mode)',
      notebook: trainCell('model=m algorithm=logistic target=readmitted features=age,ward_beds', 'SELECT age, ward_beds, readmitted FROM admissions'),
      options: { mode: 'reviewed' },
      failureClass: 'ConstantFeature',
      reason: /feature ward_beds/,
    },
    {
      what: 'NaN values (reviewed mode)',
      notebook: trainCell('model=m algorithm=logistic target=readmitted features=age,lab_ratio', 'SELECT age, lab_ratio, readmitted FROM admissions'),
      options: { mode: 'reviewed' },
      failureClass: 'NonFiniteValue',
      reason: /feature lab_ratio/,
    },
    {
      what: 'an infinite value (reviewed mode)',
      notebook: trainCell('model=m algorithm=linear target=cost features=lab_peak', 'SELECT lab_peak, cost FROM admissions'),
      options: { mode: 'reviewed' },
      failureClass: 'NonFiniteValue',
      reason: /feature lab_peak/,
    },
    {
      what: 'a feature the SELECT does not have',
      notebook: trainCell('model=m algorithm=logistic target=readmitted features=age,weight', 'SELECT age, readmitted FROM admissions'),
      failureClass: 'PolicyRefused',
      reason: /feature weight is not a column of the cell's SELECT/,
    },
    {
      what: 'a feature the SELECT does not have, behind * (reviewed mode)',
      notebook: trainCell('model=m algorithm=logistic target=readmitted features=age,weight', 'SELECT * FROM admissions'),
      options: { mode: 'reviewed' },
      failureClass: 'PolicyRefused',
      reason: /feature weight is not a column of the cell's SELECT/,
    },
    {
      what: 'options that do not make a model',
      notebook: trainCell('model=m algorithm=forest target=readmitted features=age', 'SELECT age, readmitted FROM admissions'),
      failureClass: 'PolicyRefused',
      reason: /algorithm=forest is not known/,
    },
    {
      what: "a model named like one of the room's tables",
      notebook: trainCell('model=admissions algorithm=logistic target=readmitted features=age', 'SELECT age, readmitted FROM admissions'),
      failureClass: 'PolicyRefused',
      reason: /its output admissions has the name of a table/,
    },
  ];
  for (const { what, notebook, options, failureClass, reason } of cases) {
    it(`${what}: ${failureClass}`, async () => {
      const found = await failure(notebook, options);
      assert.equal(found.class, failureClass);
      assert.equal(found.cell, 0);
      assert.match(found.reasons.join('\n'), reason);
    });
  }
});

describe('train cells in the worker: aggregate mode withholds what the rows decide, and the run goes on', () => {
  it('training rows from fewer than k people (80 rows, 8 people): the model is withheld, the reason names the table and k', async () => {
    const notebook = [
      trainCell('model=m algorithm=logistic target=readmitted features=length_of_stay', 'SELECT length_of_stay, readmitted FROM small_ward'),
      '-- %% output=after',
      'SELECT diagnosis, count(*) AS admissions FROM admissions GROUP BY diagnosis',
    ].join('\n');
    const { result } = await fixture.run(notebook);
    const withheld = withheldOf(result, 'm');
    assert.match(withheld.withheld.reason, /fewer than k = 10 people of small_ward/);
    assert.deepEqual(Object.keys(withheld).sort(), ['algorithm', 'format', 'l2', 'name', 'split', 'target', 'withheld'], 'no coefficient, count or metric');
    assert.deepEqual(result.outputs.map((output) => output.name), ['m', 'after'], 'the later cell still runs');
    assert.equal(parseModelDocument(result.outputs[0]?.rows[0]?.[0] ?? '').ok, false, 'a withheld model cannot be scored');
  });

  it('a constant feature, NaN and infinite values: the feature is withheld, non-finite numbers count as NULL', async () => {
    const notebook = trainCell('model=m algorithm=logistic target=readmitted features=age,ward_beds,lab_ratio,lab_peak', 'SELECT age, ward_beds, lab_ratio, lab_peak, readmitted FROM admissions');
    const { result } = await fixture.run(notebook);
    const model = modelOf(result, 'm');
    assert.deepEqual(model.features.map((feature) => feature.name), ['age', 'lab_ratio', 'lab_peak']);
    assert.deepEqual(model.withheld?.features, [{ name: 'ward_beds', reason: 'fewer than k = 10 people have a value other than its most common one' }]);
    const nonFinite = rows.filter((row) => !Number.isFinite(row.lab_ratio) || !Number.isFinite(row.lab_peak)).length;
    assert.ok(nonFinite > 1);
    assert.equal(model.split.trainRows + model.split.testRows, rows.length - nonFinite, 'rows with a NaN or an infinity are left out, like NULLs');
  });

  it('reads a numeric logistic target as value <> 0, from its declared type: no rows are asked whether it is binary', async () => {
    const notebook = trainCell('model=m algorithm=logistic target=prior_admissions features=age,length_of_stay', 'SELECT age, length_of_stay, prior_admissions FROM admissions');
    const { result } = await fixture.run(notebook);
    const model = modelOf(result, 'm');
    assert.equal(model.positiveLabel, '1');
    const reference = referenceFit(notebook, [
      { name: 'prior_admissions', type: 'BIGINT' },
      { name: 'age', type: 'BIGINT' },
      { name: 'length_of_stay', type: 'BIGINT' },
    ]);
    assertSameModel(model, reference);
  });
});
