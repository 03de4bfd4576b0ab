// shared/model.ts: a train cell's options, the model document's checks, and reading a model the
// way the viewer, the CLI and `predict` do (terms, one row's score).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isWithheldModel,
  modelDocumentText,
  modelFileText,
  modelTerms,
  parseModelDocument,
  parseModelOutput,
  parseTrainOptions,
  scoreRow,
  type ScoreInput,
  type TrainSpec,
} from '../../shared/model.js';
import { parseNotebook } from '../../shared/notebook.js';
import { aggregateModel, linearModel, logisticModel, withheldModel } from '../support/model-fixtures.js';

/** The options of a train cell written as its marker line. */
function optionsOf(marker: string): ReturnType<typeof parseTrainOptions> {
  const cell = parseNotebook(`${marker}\nSELECT 1 AS a\n`).cells[0];
  assert.ok(cell !== undefined);
  return parseTrainOptions(cell);
}

function specOf(marker: string): TrainSpec {
  const checked = optionsOf(marker);
  assert.ok(checked.ok, checked.ok ? '' : checked.reasons.join('; '));
  return checked.spec;
}

function reasonsOf(marker: string): string[] {
  const checked = optionsOf(marker);
  assert.equal(checked.ok, false, `${marker} should be refused`);
  return checked.ok ? [] : checked.reasons;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

describe('train cell options', () => {
  it('reads a full marker, features in order', () => {
    assert.deepEqual(specOf('-- %% [train] model=readmission algorithm=logistic target=readmitted features=age,Diagnosis,los test-fraction=0.3 seed=42 l2=0.5'), {
      model: 'readmission',
      algorithm: 'logistic',
      target: 'readmitted',
      features: ['age', 'Diagnosis', 'los'],
      testFraction: 0.3,
      seed: 42,
      l2: 0.5,
    });
  });

  it('defaults: a fifth held out, seed 1, L2 1 for logistic and 0 for linear', () => {
    const logistic = specOf('-- %% [train] model=m algorithm=logistic target=y features=x');
    assert.deepEqual([logistic.testFraction, logistic.seed, logistic.l2], [0.2, 1, 1]);
    const linear = specOf('-- %% [train] model=m algorithm=linear target=y features=x');
    assert.deepEqual([linear.testFraction, linear.seed, linear.l2], [0.2, 1, 0]);
  });

  it('names every missing option', () => {
    const reasons = reasonsOf('-- %% [train]');
    assert.equal(reasons.length, 4);
    for (const wanted of [/model=NAME is missing/, /algorithm=logistic or algorithm=linear is missing/, /target=COLUMN is missing/, /features=A,B,C is missing/]) {
      assert.ok(reasons.some((reason) => wanted.test(reason)), `${String(wanted)} in ${reasons.join('; ')}`);
    }
  });

  it('refuses bad values, each with its own reason', () => {
    const cases: [string, RegExp][] = [
      ['model=Bad-Name algorithm=logistic target=y features=x', /model=Bad-Name: a model name is lower-case/],
      ['model=m algorithm=forest target=y features=x', /algorithm=forest is not known/],
      ['model=m algorithm=linear target=1y features=x', /target=1y is not a column name/],
      ['model=m algorithm=linear target=y features=x,,z', /“” is not a column name/],
      ['model=m algorithm=linear target=y features=x,X', /X is listed twice/],
      ['model=m algorithm=linear target=y features=x,Y', /Y is the target/],
      ['model=m algorithm=linear target=y features=x test-fraction=0.6', /test-fraction=0.6 must be a number from 0.05 to 0.5/],
      ['model=m algorithm=linear target=y features=x test-fraction=0.01', /test-fraction=0.01/],
      ['model=m algorithm=linear target=y features=x test-fraction=.2', /test-fraction=.2/],
      ['model=m algorithm=linear target=y features=x seed=-1', /seed=-1 must be a whole number/],
      ['model=m algorithm=linear target=y features=x seed=4294967296', /seed=4294967296/],
      ['model=m algorithm=linear target=y features=x l2=-1', /l2=-1 must be a number from 0 to 1000000/],
      ['model=m algorithm=linear target=y features=x l2=2000000', /l2=2000000/],
    ];
    for (const [options, pattern] of cases) {
      const reasons = reasonsOf(`-- %% [train] ${options}`);
      assert.ok(reasons.some((reason) => pattern.test(reason)), `${options}: ${reasons.join('; ')}`);
    }
  });

  it('takes the edges of each range', () => {
    assert.equal(specOf('-- %% [train] model=m algorithm=linear target=y features=x test-fraction=0.05').testFraction, 0.05);
    assert.equal(specOf('-- %% [train] model=m algorithm=linear target=y features=x test-fraction=0.5').testFraction, 0.5);
    assert.equal(specOf('-- %% [train] model=m algorithm=linear target=y features=x seed=4294967295').seed, 4294967295);
    assert.equal(specOf('-- %% [train] model=m algorithm=linear target=y features=x l2=0').l2, 0);
  });

  it('refuses output= on a train cell: the model is named with model=', () => {
    const reasons = parseTrainOptions({ output: 'rates', options: [{ key: 'model', value: 'm' }, { key: 'algorithm', value: 'linear' }, { key: 'target', value: 'y' }, { key: 'features', value: 'x' }] });
    assert.equal(reasons.ok, false);
    assert.match(reasons.ok ? '' : (reasons.reasons[0] ?? ''), /model=, not output=/);
  });

  it('refuses more than 200 features', () => {
    const features = Array.from({ length: 201 }, (_unused, index) => `f${index}`).join(',');
    assert.ok(reasonsOf(`-- %% [train] model=m algorithm=linear target=y features=${features}`).some((reason) => /at most 200/.test(reason)));
  });
});

describe('the model document', () => {
  it('reads back what was written, compact and as a file', () => {
    for (const model of [logisticModel(), linearModel()]) {
      const stored = modelDocumentText(model);
      assert.ok(!stored.includes('\n'), 'the stored text is one line');
      assert.deepEqual(parseModelDocument(stored), { ok: true, model });
      const file = modelFileText(model);
      assert.ok(file.endsWith('}\n') && file.includes('\n  "format": "cleanroom-model/1"'), 'the file is indented JSON');
      assert.deepEqual(parseModelDocument(file), { ok: true, model });
    }
  });

  it('writes converged as a JSON boolean, and reads the "yes"/"no" of older documents as one', () => {
    const model = logisticModel();
    assert.match(modelDocumentText(model), /"converged":true/);
    const older = (converged: string) => modelDocumentText(model).replace('"converged":true', `"converged":"${converged}"`);
    assert.deepEqual(parseModelDocument(older('yes')), { ok: true, model });
    assert.deepEqual(parseModelDocument(older('no')), { ok: true, model: { ...model, fit: { ...model.fit, converged: false } } });
    assert.equal(parseModelDocument(older('maybe')).ok, false);
  });

  it('says why a text is not a model', () => {
    const reasonOf = (text: string) => {
      const parsed = parseModelDocument(text);
      assert.equal(parsed.ok, false, text.slice(0, 80));
      return parsed.ok ? '' : parsed.reason;
    };
    assert.equal(reasonOf('name,age\nx,1\n'), 'it is not JSON');
    assert.match(reasonOf(JSON.stringify({ ...logisticModel(), format: 'other/1' })), /^format: /);
    assert.match(reasonOf(JSON.stringify({ ...logisticModel(), intercept: 'high' })), /^intercept: /);
    assert.match(reasonOf(JSON.stringify({ ...logisticModel(), features: [] })), /^features: /);
    assert.match(reasonOf(JSON.stringify(logisticModel({ positiveLabel: null }))), /names its positive label/);
    assert.match(reasonOf(JSON.stringify(linearModel({ roc: [{ threshold: 1, fpr: 0, tpr: 0 }] }))), /linear model has no ROC curve/);
    const zeroScale = logisticModel();
    assert.match(reasonOf(JSON.stringify({ ...zeroScale, features: [{ kind: 'numeric', name: 'age', mean: 1, scale: 0, coefficient: 1 }] })), /scale/);
    assert.match(reasonOf(JSON.stringify({ ...zeroScale, features: [{ kind: 'spline', name: 'age' }] })), /^features\[0\]/);
  });

  it('reads an aggregate-mode model: no dropped-row count, its withheld features and metrics with their reasons', () => {
    const model = aggregateModel();
    assert.deepEqual(parseModelDocument(modelDocumentText(model)), { ok: true, model });
    assert.deepEqual(parseModelOutput(modelDocumentText(model)), { ok: true, model, withheld: null });
    assert.match(JSON.stringify(parseModelDocument(JSON.stringify({ ...model, withheld: { features: [{ name: 'x' }], metrics: { train: null, test: null } } }))), /reason/);
    // Documents from before (a dropped-row count, no withheld part) still read.
    assert.equal(parseModelDocument(modelDocumentText(logisticModel())).ok, true);
  });

  it('reads a withheld model as an output, but not as a model to score or save', () => {
    const document = withheldModel();
    const read = parseModelOutput(modelDocumentText(document));
    assert.deepEqual(read, { ok: true, model: null, withheld: document });
    assert.ok(isWithheldModel(document) && !isWithheldModel(logisticModel()));
    assert.deepEqual(parseModelDocument(modelDocumentText(document)), {
      ok: false,
      reason: 'the model was withheld: target readmitted: each of its two classes (non-zero and zero) needs at least k = 10 people in the training part',
    });
    // A withheld model carries no coefficient, count or metric: anything more is not one.
    const padded = parseModelOutput(JSON.stringify({ ...document, intercept: 0.5 }));
    assert.equal(padded.ok, false);
    assert.equal(parseModelOutput(JSON.stringify({ ...document, split: { testFraction: 0.2, seed: 7, trainRows: 3 } })).ok, false);
  });
});

describe('reading a model', () => {
  it('lists its terms: numeric per SD and per unit, each kept level, then (other)', () => {
    assert.deepEqual(modelTerms(logisticModel()), [
      { term: 'age', feature: 'age', level: null, coefficient: 0.9, perUnit: 0.9 / 15 },
      { term: 'on_dialysis', feature: 'on_dialysis', level: null, coefficient: 0.4, perUnit: 0.4 / 0.4330127018922193 },
      { term: 'diagnosis=COPD', feature: 'diagnosis', level: 'COPD', coefficient: 0.3, perUnit: null },
      { term: 'diagnosis=sepsis', feature: 'diagnosis', level: 'sepsis', coefficient: 1.2, perUnit: null },
      { term: 'diagnosis=(other)', feature: 'diagnosis', level: '(other)', coefficient: -0.2, perUnit: null },
    ]);
    // No folded levels: no (other) term.
    assert.deepEqual(
      modelTerms(linearModel()).map((term) => term.term),
      ['age', 'ward=south'],
    );
  });

  it('scores a logistic row as the probability of the positive label', () => {
    const model = logisticModel();
    const row: Record<string, ScoreInput> = { age: 75, on_dialysis: 1, diagnosis: 'sepsis' };
    const z = -0.75 + (0.9 * (75 - 60)) / 15 + (0.4 * (1 - 0.25)) / 0.4330127018922193 + 1.2;
    assert.equal(scoreRow(model, (name) => row[name]), sigmoid(z));
  });

  it('reads numbers from text and true/false as 1/0, as a CSV gives them', () => {
    const model = logisticModel();
    const typed = scoreRow(model, (name) => ({ age: 48.5, on_dialysis: 0, diagnosis: 'COPD' })[name]);
    assert.equal(scoreRow(model, (name) => ({ age: ' 48.5 ', on_dialysis: false, diagnosis: 'COPD' })[name]), typed);
    assert.equal(scoreRow(model, (name) => ({ age: '4.85e1', on_dialysis: '0', diagnosis: 'COPD' })[name]), typed);
  });

  it('scores the reference level as 0, an unseen level as (other) when the model has one, else as the reference', () => {
    const model = logisticModel();
    const base = (diagnosis: string) => scoreRow(model, (name) => ({ age: 60, on_dialysis: 0.25, diagnosis })[name]);
    assert.equal(base('CHF'), sigmoid(-0.75));
    assert.equal(base('stroke'), sigmoid(-0.75 - 0.2));
    // Levels are compared as written.
    assert.equal(base('copd'), sigmoid(-0.75 - 0.2));
    const linear = linearModel();
    assert.equal(scoreRow(linear, (name) => ({ age: 55, ward: 'east' })[name]), 4.5);
    assert.equal(scoreRow(linear, (name) => ({ age: 55, ward: 'south' })[name]), 4.5 - 0.8);
  });

  it('scores a linear row as the predicted value', () => {
    assert.equal(scoreRow(linearModel(), (name) => ({ age: 75, ward: 'south' })[name]), 4.5 + (1.5 * (75 - 55)) / 20 - 0.8);
  });

  it('gives no score when a feature is missing or not a number', () => {
    const model = logisticModel();
    const full: Record<string, ScoreInput> = { age: 70, on_dialysis: 1, diagnosis: 'COPD' };
    for (const [feature, value] of [
      ['age', null],
      ['age', undefined],
      ['age', ''],
      ['age', 'seventy'],
      ['age', Number.NaN],
      ['age', Number.POSITIVE_INFINITY],
      ['on_dialysis', 'yes'],
      ['diagnosis', null],
    ] as [string, ScoreInput][]) {
      assert.equal(scoreRow(model, (name) => (name === feature ? value : full[name])), null, `${feature} = ${String(value)}`);
    }
  });
});
