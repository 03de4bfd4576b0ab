// How the CLI prints models and predictions: what a person reads on a terminal from a model
// document and a prediction.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { modelHintLines, modelLines, modelSavedLines, numberText, predictionLines, unscoredLine } from '../../electron/cli/format-models.js';
import { type Prediction } from '../../shared/contract.js';
import { type OutputView } from '../../shared/run.js';
import { aggregateModel, linearModel, logisticModel, withheldModel } from '../support/model-fixtures.js';

const runId = `3f2a9c1d2e3f${'0'.repeat(52)}`;

const output: OutputView = {
  id: `${runId}:readmission`,
  run: runId,
  name: 'readmission',
  snapshotName: 'Readmission model',
  source: 'mine',
  kind: 'model',
  runner: 'St Mary',
  columns: [{ name: 'model', type: 'JSON' }],
  rows: 1,
  suppressedRows: 0,
  hash: 'ab'.repeat(32),
  createdAt: '2025-03-14T09:30:05.000Z',
  expiresAt: '2025-06-12T09:30:05.000Z',
};

function prediction(overrides: Partial<Prediction> = {}): Prediction {
  return {
    algorithm: 'logistic',
    target: 'readmitted',
    columns: ['age', 'diagnosis', 'prediction', 'predicted_label'],
    rows: 120,
    scored: 120,
    outPath: '/data/new-scored.csv',
    csv: null,
    ...overrides,
  };
}

describe('numbers in model output', () => {
  it('four significant digits, exponent form only at the extremes, no -0', () => {
    assert.equal(numberText(0.8123456), '0.8123');
    assert.equal(numberText(-1.27349), '-1.273');
    assert.equal(numberText(2308.4), '2308');
    assert.equal(numberText(0.5), '0.5');
    assert.equal(numberText(12345.6), '12350');
    assert.equal(numberText(0.00001234), '1.234e-5');
    assert.equal(numberText(1234567), '1.235e+6');
    assert.equal(numberText(-0), '0');
    assert.equal(numberText(null), '-');
  });
});

describe('model show', () => {
  it('a logistic model: what it predicts, its origin, rows, fit, metrics held out beside training', () => {
    const lines = modelLines(logisticModel(), output);
    assert.deepEqual(lines.slice(0, 10), [
      'Model       readmission: logistic regression predicting the probability that readmitted = 1',
      'Made by     run 3f2a9c1d2e3f of "Readmission model", run by St Mary, 2025-03-14 09:30 UTC',
      'Rows        800 to train, 200 held out (20%, seed 7); 3 rows left out for a missing value',
      "Fit         Newton's method, 6 iterations, converged; L2 penalty 1",
      '',
      'Metric    held out  training',
      'AUC         0.7912    0.8123',
      'Accuracy     0.755      0.77',
      'Log loss    0.5012      0.48',
      '',
    ]);
  });

  it('terms largest first: numeric per SD and per unit, levels, (other); then how each feature is read', () => {
    const lines = modelLines(logisticModel(), null);
    const start = lines.findIndex((line) => line.startsWith('Coefficients'));
    assert.deepEqual(lines.slice(start + 1, start + 8), [
      '  TERM               PER SD / LEVEL  PER UNIT',
      '  (intercept)                 -0.75',
      '  diagnosis=sepsis              1.2',
      '  age                           0.9      0.06',
      '  on_dialysis                   0.4    0.9238',
      '  diagnosis=COPD                0.3',
      '  diagnosis=(other)            -0.2',
    ]);
    assert.ok(lines.includes('  age: mean 60, SD 15'));
    assert.ok(lines.includes('  diagnosis: compared with CHF (the most frequent level); rare and unseen levels share (other)'));
    assert.ok(lines.some((line) => line.startsWith('The held-out ROC curve (101 points)')));
    assert.ok(!lines.some((line) => line.startsWith('Made by')), 'no origin for a model read from a file');
  });

  it('a linear model: RMSE, R² and MAE; least squares; no ROC; unseen levels count as the reference', () => {
    const lines = modelLines(linearModel(), output);
    assert.equal(lines[0], 'Model       stay: linear regression predicting length_of_stay');
    assert.equal(lines[2], 'Rows        300 to train, 100 held out (25%, seed 1)');
    assert.equal(lines[3], 'Fit         least squares, 1 iteration, converged; L2 penalty 0');
    assert.deepEqual(lines.slice(5, 9), ['Metric  held out  training', 'RMSE        2.05       1.9', 'R²          0.58      0.61', 'MAE          1.5       1.4']);
    assert.ok(lines.includes('  ward: compared with north (the most frequent level); levels not seen in training count as the reference'));
    assert.ok(!lines.some((line) => line.includes('ROC')));
  });

  it('says plainly when the fit did not converge', () => {
    const lines = modelLines(logisticModel({ fit: { method: 'newton', iterations: 100, converged: false } }), null);
    assert.equal(lines[2], "Fit         Newton's method, 100 iterations, did NOT converge; L2 penalty 1");
  });

  it('hints use the names the person typed, quoted for the shell when needed', () => {
    assert.deepEqual(modelHintLines('St Mary room', 'readmission'), [
      "Save it as a file:    cleanroom model save 'St Mary room' readmission --out F",
      "Score a file with it: cleanroom predict readmission --room 'St Mary room' --file F",
    ]);
    assert.deepEqual(modelSavedLines(logisticModel(), '/home/me/my models/readmission.json'), [
      'Saved the model readmission to /home/me/my models/readmission.json.',
      "Score a file with it on any machine: cleanroom predict '/home/me/my models/readmission.json' --file F",
    ]);
  });
});

describe('model show, aggregate mode', () => {
  it('a withheld model: what was asked, the rule the rows did not meet, and nothing else', () => {
    assert.deepEqual(modelLines(withheldModel(), output), [
      'Model       readmission: logistic regression predicting the probability that readmitted is positive: withheld (fewer than k people)',
      'Made by     run 3f2a9c1d2e3f of "Readmission model", run by St Mary, 2025-03-14 09:30 UTC',
      'Withheld    target readmitted: each of its two classes (non-zero and zero) needs at least k = 10 people in the training part',
      'No coefficient, row count or metric is given: the model would have told something about fewer than k people.',
      '',
      'Features withheld before that:',
      '  bonus: withheld (fewer than k people): fewer than k = 10 people have a value other than its most common one',
    ]);
  });

  it('a model with parts withheld: no dropped-row count, "withheld" for a metric and why, the features left out', () => {
    const lines = modelLines(aggregateModel(), null);
    assert.equal(lines[1], 'Rows        800 to train, 200 held out (20%, seed 7)');
    assert.ok(lines.includes('Accuracy  withheld      0.77'), lines.join('\n'));
    assert.ok(lines.includes('  held out: withheld (fewer than k people): accuracy: on one side of the 0.5 threshold a class has rows of fewer than k = 10 people'));
    const leftOut = lines.indexOf('Features left out of the model:');
    assert.ok(leftOut > 0);
    assert.equal(lines[leftOut + 1], '  bonus: withheld (fewer than k people): fewer than k = 10 people have a value other than its most common one');
    assert.ok(lines.some((line) => line.startsWith('The held-out ROC curve (4 points)')));
    const noCurve = modelLines(
      aggregateModel({
        roc: [],
        metrics: { train: aggregateModel().metrics.train, test: { rows: 200, auc: null, accuracy: null, logLoss: null, rmse: null, r2: null, mae: null } },
        withheld: { features: [], metrics: { train: null, test: "the held-out part has fewer than k = 10 people in one of the target's classes" } },
      }),
      null,
    );
    assert.ok(noCurve.includes('The held-out ROC curve is withheld (fewer than k people).'));
    assert.ok(noCurve.includes('AUC       withheld    0.8123'), noCurve.join('\n'));
  });
});

describe('predict', () => {
  it('--out: rows scored, the file written and what its added columns hold', () => {
    assert.deepEqual(predictionLines(prediction(), 'new.csv'), [
      'Scored 120 rows of new.csv: 120 with a prediction.',
      "Wrote /data/new-scored.csv: the file's columns, then prediction (the probability that readmitted is positive) and predicted_label.",
    ]);
    const linear = prediction({ algorithm: 'linear', target: 'cost', columns: ['age', 'prediction', 'prediction_2'], rows: 1, scored: 0 });
    assert.deepEqual(predictionLines(linear, 'one.csv'), [
      'Scored 1 row of one.csv: 0 with a prediction.',
      "Wrote /data/new-scored.csv: the file's columns, then prediction_2 (the predicted cost).",
      '1 row of 1 got no prediction: a feature value was missing or not a number.',
    ]);
  });

  it('counts rows without a prediction, and says nothing when every row has one', () => {
    assert.equal(unscoredLine(prediction()), null);
    assert.equal(unscoredLine(prediction({ scored: 117 })), '3 rows of 120 got no prediction: a feature value was missing or not a number.');
  });
});
