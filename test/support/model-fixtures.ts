// Model documents built by hand (shared/model.ts format), for tests of reading and scoring models
// that need no training: one logistic model with a numeric, a boolean-as-numeric and a categorical
// feature, one linear model, an aggregate-mode model with parts withheld, and a withheld model.
import { type ModelDocument, type WithheldModelDocument } from '../../shared/model.js';

const emptyMetrics = { rows: 0, auc: null, accuracy: null, logLoss: null, rmse: null, r2: null, mae: null };

/** Readmission: age (numeric), on_dialysis (boolean, numeric 0/1), diagnosis (categorical, CHF reference). */
export function logisticModel(overrides: Partial<ModelDocument> = {}): ModelDocument {
  return {
    format: 'cleanroom-model/1',
    name: 'readmission',
    algorithm: 'logistic',
    target: 'readmitted',
    positiveLabel: '1',
    intercept: -0.75,
    features: [
      { kind: 'numeric', name: 'age', mean: 60, scale: 15, coefficient: 0.9 },
      { kind: 'numeric', name: 'on_dialysis', mean: 0.25, scale: 0.4330127018922193, coefficient: 0.4 },
      {
        kind: 'categorical',
        name: 'diagnosis',
        reference: 'CHF',
        levels: [
          { level: 'COPD', coefficient: 0.3 },
          { level: 'sepsis', coefficient: 1.2 },
        ],
        other: -0.2,
      },
    ],
    l2: 1,
    split: { testFraction: 0.2, seed: 7, trainRows: 800, testRows: 200, droppedRows: 3 },
    metrics: {
      train: { ...emptyMetrics, rows: 800, auc: 0.8123, accuracy: 0.77, logLoss: 0.48 },
      test: { ...emptyMetrics, rows: 200, auc: 0.7912, accuracy: 0.755, logLoss: 0.5012 },
    },
    roc: Array.from({ length: 101 }, (_unused, index) => {
      const threshold = (100 - index) / 100;
      return { threshold, fpr: index / 100, tpr: Math.sqrt(index / 100) };
    }),
    fit: { method: 'newton', iterations: 6, converged: true },
    ...overrides,
  };
}

/** Length of stay from age and ward (categorical, no folded levels). */
export function linearModel(overrides: Partial<ModelDocument> = {}): ModelDocument {
  return {
    format: 'cleanroom-model/1',
    name: 'stay',
    algorithm: 'linear',
    target: 'length_of_stay',
    positiveLabel: null,
    intercept: 4.5,
    features: [
      { kind: 'numeric', name: 'age', mean: 55, scale: 20, coefficient: 1.5 },
      { kind: 'categorical', name: 'ward', reference: 'north', levels: [{ level: 'south', coefficient: -0.8 }], other: null },
    ],
    l2: 0,
    split: { testFraction: 0.25, seed: 1, trainRows: 300, testRows: 100, droppedRows: 0 },
    metrics: {
      train: { ...emptyMetrics, rows: 300, rmse: 1.9, r2: 0.61, mae: 1.4 },
      test: { ...emptyMetrics, rows: 100, rmse: 2.05, r2: 0.58, mae: 1.5 },
    },
    roc: [],
    fit: { method: 'least-squares', iterations: 1, converged: true },
    ...overrides,
  };
}

/**
 * An aggregate-mode model: no dropped-row count, a feature withheld (fewer than k people had
 * another value), held-out accuracy withheld, a thinned ROC curve.
 */
export function aggregateModel(overrides: Partial<ModelDocument> = {}): ModelDocument {
  const base = logisticModel();
  return {
    ...base,
    split: { testFraction: 0.2, seed: 7, trainRows: 800, testRows: 200 },
    metrics: { train: base.metrics.train, test: { ...base.metrics.test, accuracy: null } },
    roc: [
      { threshold: 1, fpr: 0, tpr: 0 },
      { threshold: 0.62, fpr: 0.1, tpr: 0.35 },
      { threshold: 0.31, fpr: 0.4, tpr: 0.8 },
      { threshold: 0, fpr: 1, tpr: 1 },
    ],
    withheld: {
      features: [{ name: 'bonus', reason: 'fewer than k = 10 people have a value other than its most common one' }],
      metrics: { train: null, test: 'accuracy: on one side of the 0.5 threshold a class has rows of fewer than k = 10 people' },
    },
    ...overrides,
  };
}

/** What an aggregate-mode train cell lets out when the rows cannot give a model: the rule, nothing else. */
export function withheldModel(overrides: Partial<WithheldModelDocument> = {}): WithheldModelDocument {
  return {
    format: 'cleanroom-model/1',
    name: 'readmission',
    algorithm: 'logistic',
    target: 'readmitted',
    withheld: {
      reason: 'target readmitted: each of its two classes (non-zero and zero) needs at least k = 10 people in the training part',
      features: [{ name: 'bonus', reason: 'fewer than k = 10 people have a value other than its most common one' }],
    },
    l2: 1,
    split: { testFraction: 0.2, seed: 7 },
    ...overrides,
  };
}
