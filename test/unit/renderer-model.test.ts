// What the model viewer computes before drawing: the model document read from its output row,
// the metric cards, the coefficients ranked by weight, the ROC curve's points, file names, the
// preview of a scored CSV; and, for the snapshot screen, the libraries a notebook uses and how
// their `-- library` lines are highlighted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toCsv } from '../../shared/csv.js';
import { type ModelDocument, modelDocumentText, modelFileName, modelFormat, scoredFileName } from '../../shared/model.js';
import { snapshotLibraries } from '../../renderer/src/libraries.js';
import {
  csvPreview,
  fitLabel,
  formatCoefficient,
  metricCards,
  predictionSummary,
  predictsLabel,
  rankedTerms,
  readModelRows,
  rocCurve,
  splitLabel,
  withheldFeatureNotes,
  withheldModelLines,
} from '../../renderer/src/model.js';
import { aggregateModel, withheldModel } from '../support/model-fixtures.js';
import { tokenizeSql } from '../../renderer/src/sqlHighlight.js';

/** ROC points at 1.00, 0.99 … 0.00 from a simple concave curve (tpr = sqrt(fpr)). */
function rocAtThresholds(): ModelDocument['roc'] {
  const points = [];
  for (let step = 100; step >= 0; step--) {
    const threshold = step / 100;
    const fpr = step === 0 ? 1 : (1 - threshold) ** 2;
    points.push({ threshold, fpr, tpr: Math.sqrt(fpr) });
  }
  return points;
}

const logistic: ModelDocument = {
  format: modelFormat,
  name: 'readmission',
  algorithm: 'logistic',
  target: 'readmitted_30d',
  positiveLabel: '1',
  intercept: -1.25,
  features: [
    { kind: 'numeric', name: 'age', mean: 61.5, scale: 14.2, coefficient: 0.42 },
    { kind: 'numeric', name: 'prior_admissions', mean: 1.1, scale: 1.3, coefficient: 0.91 },
    {
      kind: 'categorical',
      name: 'diagnosis',
      reference: 'COPD',
      levels: [
        { level: 'CHF', coefficient: 0.35 },
        { level: 'Sepsis', coefficient: -0.6 },
      ],
      other: 0.05,
    },
  ],
  l2: 1,
  split: { testFraction: 0.2, seed: 7, trainRows: 1600, testRows: 400, droppedRows: 3 },
  metrics: {
    train: { rows: 1600, auc: 0.7812, accuracy: 0.7425, logLoss: 0.5011, rmse: null, r2: null, mae: null },
    test: { rows: 400, auc: 0.7431, accuracy: 0.72, logLoss: 0.5389, rmse: null, r2: null, mae: null },
  },
  roc: rocAtThresholds(),
  fit: { method: 'newton', iterations: 6, converged: true },
};

const linear: ModelDocument = {
  ...logistic,
  name: 'stay',
  algorithm: 'linear',
  target: 'length_of_stay',
  positiveLabel: null,
  features: [{ kind: 'numeric', name: 'age', mean: 60, scale: 15, coefficient: -0.3 }],
  l2: 0,
  metrics: {
    train: { rows: 1600, auc: null, accuracy: null, logLoss: null, rmse: 2.5, r2: 0.41, mae: 1.9 },
    test: { rows: 400, auc: null, accuracy: null, logLoss: null, rmse: 2.75, r2: 0.38, mae: null },
  },
  roc: [],
  fit: { method: 'least-squares', iterations: 1, converged: true },
};

describe('the model document from its output row', () => {
  it('reads the one JSON value of a model output', () => {
    const read = readModelRows([[modelDocumentText(logistic)]]);
    assert.equal(read.ok, true);
    assert.deepEqual(read.ok && read.model, logistic);
  });

  it('refuses rows that are not one model document, saying why', () => {
    assert.deepEqual(readModelRows([]), { ok: false, reason: 'a model output holds one row with the model document' });
    assert.equal(readModelRows([[modelDocumentText(logistic)], [modelDocumentText(logistic)]]).ok, false);
    assert.equal(readModelRows([[null]]).ok, false);
    assert.deepEqual(readModelRows([['{not json']]), { ok: false, reason: 'it is not JSON' });
    // A table's row (e.g. an age band and a count) is not a model.
    const table = readModelRows([['{"age_band":"18-34","patients":14}']]);
    assert.equal(table.ok, false);
    // A logistic model without its positive label is refused by the schema.
    const broken = readModelRows([[JSON.stringify({ ...logistic, positiveLabel: null })]]);
    assert.deepEqual(broken, { ok: false, reason: 'a logistic model names its positive label' });
  });
});

describe('a model aggregate mode withheld, in whole or in part', () => {
  it('reads a withheld model from its output row, with the rule it did not meet', () => {
    const document = withheldModel();
    assert.deepEqual(readModelRows([[modelDocumentText(document)]]), { ok: true, model: null, withheld: document });
    assert.deepEqual(withheldModelLines(document), [
      'target readmitted: each of its two classes (non-zero and zero) needs at least k = 10 people in the training part',
      'bonus: fewer than k = 10 people have a value other than its most common one',
    ]);
  });

  it('says "withheld (fewer than k people)" for a withheld metric, lists withheld features, and counts no dropped rows', () => {
    const model = aggregateModel();
    const cards = metricCards(model);
    assert.deepEqual(
      cards.map((card) => [card.key, card.test, card.train]),
      [
        ['auc', '0.791', '0.812'],
        ['accuracy', 'withheld (fewer than k people)', '77.0%'],
        ['logLoss', '0.501', '0.480'],
      ],
    );
    assert.equal(cards[1]?.testWithheld, 'accuracy: on one side of the 0.5 threshold a class has rows of fewer than k = 10 people');
    assert.equal(cards[0]?.testWithheld, null);
    assert.deepEqual(withheldFeatureNotes(model), ['bonus: fewer than k = 10 people have a value other than its most common one']);
    assert.equal(splitLabel(model), '800 training rows · 200 held out (20%)');
    assert.deepEqual(withheldFeatureNotes(logistic), [], 'a reviewed-mode model withholds nothing');
    assert.equal(rocCurve(model).length, 4, 'a thinned curve is drawn as it is');
  });
});

describe('what the viewer says about a model', () => {
  it('names what it predicts, its rows and its fit', () => {
    assert.equal(predictsLabel(logistic), 'P(readmitted_30d = 1)');
    assert.equal(predictsLabel(linear), 'length_of_stay');
    assert.equal(splitLabel(logistic), '1,600 training rows · 400 held out (20%) · 3 left out (a missing value)');
    assert.equal(splitLabel(linear), '1,600 training rows · 400 held out (20%) · 3 left out (a missing value)');
    assert.equal(splitLabel({ ...logistic, split: { ...logistic.split, droppedRows: 0, trainRows: 1 } }), '1 training row · 400 held out (20%)');
    assert.equal(fitLabel(logistic), "Newton's method, converged in 6 iterations, L2 λ = 1");
    assert.equal(fitLabel({ ...logistic, l2: 0, fit: { method: 'newton', iterations: 100, converged: false } }), "Newton's method, stopped after 100 iterations without converging");
    assert.equal(fitLabel(linear), 'Least squares');
    assert.equal(fitLabel({ ...linear, l2: 2.5 }), 'Least squares (ridge, λ = 2.5)');
  });

  it('shows AUC, accuracy and log loss for logistic, held out beside training', () => {
    const cards = metricCards(logistic);
    assert.deepEqual(
      cards.map((card) => [card.key, card.label, card.test, card.train, card.testValue]),
      [
        ['auc', 'AUC', '0.743', '0.781', 0.7431],
        ['accuracy', 'Accuracy', '72.0%', '74.3%', 0.72],
        ['logLoss', 'Log loss', '0.539', '0.501', 0.5389],
      ],
    );
  });

  it('shows RMSE, R² and MAE for linear, with a dash where a metric is missing', () => {
    const cards = metricCards(linear);
    assert.deepEqual(
      cards.map((card) => [card.key, card.test, card.train]),
      [
        ['rmse', '2.75', '2.5'],
        ['r2', '0.380', '0.410'],
        ['mae', '—', '1.9'],
      ],
    );
    assert.equal(cards[2]?.testValue, null);
  });
});

describe('coefficients ranked by weight', () => {
  it('puts the largest |coefficient| first, negative ones by their size, with bar lengths against the largest', () => {
    const terms = rankedTerms(logistic);
    assert.deepEqual(
      terms.map((term) => term.term),
      ['prior_admissions', 'diagnosis=Sepsis', 'age', 'diagnosis=CHF', 'diagnosis=(other)'],
    );
    assert.equal(terms[0]?.share, 1);
    assert.ok(Math.abs((terms[1]?.share ?? 0) - 0.6 / 0.91) < 1e-12);
    // Per raw unit for numeric features: the per-SD coefficient over the training SD.
    assert.ok(Math.abs((terms[2]?.perUnit ?? 0) - 0.42 / 14.2) < 1e-12);
    assert.equal(terms[1]?.perUnit, null);
    for (const term of terms) assert.ok(term.share >= 0 && term.share <= 1);
  });

  it('orders equal weights by name, and a model of zero coefficients draws no bars', () => {
    const tied: ModelDocument = {
      ...logistic,
      features: [
        { kind: 'numeric', name: 'b', mean: 0, scale: 1, coefficient: -0.5 },
        { kind: 'numeric', name: 'a', mean: 0, scale: 1, coefficient: 0.5 },
      ],
    };
    assert.deepEqual(rankedTerms(tied).map((term) => term.term), ['a', 'b']);
    const zero: ModelDocument = { ...logistic, features: [{ kind: 'numeric', name: 'a', mean: 0, scale: 1, coefficient: 0 }] };
    assert.deepEqual(rankedTerms(zero).map((term) => term.share), [0]);
  });

  it('writes a coefficient with its sign', () => {
    // By the table's rule (renderer-number-format.test.ts), in a fixed locale.
    assert.equal(formatCoefficient(0.412345, 'en-US'), '+0.4123');
    assert.equal(formatCoefficient(-1.2749, 'en-US'), '-1.275');
    assert.equal(formatCoefficient(0, 'en-US'), '0');
    assert.equal(formatCoefficient(12345.6, 'en-US'), '+12,345.6');
    assert.equal(formatCoefficient(-0.000012, 'en-US'), '-1.2E-5');
  });
});

describe('the ROC curve', () => {
  it('joins the thresholds from 1 down to 0, from (0, 0) to (1, 1), never going back', () => {
    const shuffled: ModelDocument = { ...logistic, roc: [...logistic.roc].reverse() };
    const curve = rocCurve(shuffled);
    assert.equal(curve.length, 101);
    assert.deepEqual([curve[0]?.fpr, curve[0]?.tpr, curve[0]?.threshold], [0, 0, 1]);
    assert.deepEqual([curve[100]?.fpr, curve[100]?.tpr, curve[100]?.threshold], [1, 1, 0]);
    for (let index = 1; index < curve.length; index++) {
      const before = curve[index - 1];
      const point = curve[index];
      assert.ok(before !== undefined && point !== undefined && point.fpr >= before.fpr && point.tpr >= before.tpr);
    }
  });

  it('adds the ends when the thresholds miss them', () => {
    const middle: ModelDocument = { ...logistic, roc: [{ threshold: 0.5, fpr: 0.2, tpr: 0.7 }] };
    assert.deepEqual(rocCurve(middle), [
      { fpr: 0, tpr: 0, threshold: null },
      { fpr: 0.2, tpr: 0.7, threshold: 0.5 },
      { fpr: 1, tpr: 1, threshold: null },
    ]);
  });

  it('is empty for a linear model', () => {
    assert.deepEqual(rocCurve(linear), []);
  });
});

describe('file names', () => {
  it('exports a model as NAME.json and a scored file as NAME-scored.csv, safe on any file system', () => {
    assert.equal(modelFileName('readmission'), 'readmission.json');
    assert.equal(modelFileName('../x y'), '_x_y.json');
    assert.equal(modelFileName(''), 'model.json');
    assert.equal(scoredFileName('new-patients.csv'), 'new-patients-scored.csv');
    assert.equal(scoredFileName('/tmp/shell-upload/abc/new patients.csv'), 'new_patients-scored.csv');
    assert.equal(scoredFileName('C:\\data\\cohort.parquet'), 'cohort-scored.csv');
    assert.equal(scoredFileName('noextension'), 'noextension-scored.csv');
    assert.equal(scoredFileName(''), 'scored-scored.csv');
  });
});

describe('the preview of a scored CSV', () => {
  const columns = [{ name: 'patient' }, { name: 'note' }, { name: 'age' }, { name: 'prediction' }, { name: 'predicted_label' }];
  const rows: (string | null)[][] = [
    ['P1', 'plain', '64', '0.7312', '1'],
    ['P2', 'has, a comma', '71', '0.25', '0'],
    ['P3', 'says "hi"\r\nover two lines', '58', null, null],
    ['P4', '', '80', '0.5', '1'],
    ['P5', '=SUM(A1)', '45', '0.125', '0'],
  ];

  it('reads back what shared/csv.ts writes: quotes, commas, line breaks, missing values', () => {
    const preview = csvPreview(toCsv(columns, rows), 100);
    assert.deepEqual(
      preview.columns.map((column) => column.name),
      columns.map((column) => column.name),
    );
    assert.deepEqual(preview.rows.slice(0, 3), rows.slice(0, 3));
    // shared/csv.ts writes empty text and a missing value alike: both read as no value.
    assert.deepEqual(preview.rows[3], ['P4', null, '80', '0.5', '1']);
    assert.deepEqual(csvPreview('a,b\r\n"",x\r\n', 5).rows, [['', 'x']]);
    // A value a spreadsheet would run is written with a guard: shown as written.
    assert.equal(preview.rows[4]?.[1], "'=SUM(A1)");
  });

  it('types columns from the values shown, so numbers align right', () => {
    const preview = csvPreview(toCsv(columns, rows), 100);
    assert.deepEqual(
      preview.columns.map((column) => column.type),
      ['VARCHAR', 'VARCHAR', 'BIGINT', 'DOUBLE', 'BIGINT'],
    );
  });

  it('stops after the rows asked for', () => {
    const many = Array.from({ length: 50 }, (_, index) => [String(index), `r${index}`]);
    const preview = csvPreview(toCsv([{ name: 'n' }, { name: 'r' }], many), 10);
    assert.equal(preview.rows.length, 10);
    assert.deepEqual(preview.rows[9], ['9', 'r9']);
    assert.deepEqual(csvPreview('', 10), { columns: [], rows: [] });
    assert.deepEqual(csvPreview('a,b\n1,2\n', 10).rows, [['1', '2']]);
  });

  it('says how many rows were scored', () => {
    assert.equal(predictionSummary({ rows: 500, scored: 500 }), 'Scored all 500 rows.');
    assert.equal(predictionSummary({ rows: 1, scored: 1 }), 'Scored all 1 row.');
    assert.equal(predictionSummary({ rows: 1500, scored: 1498 }), 'Scored 1,498 of 1,500 rows; 2 lacked a feature value (no prediction).');
  });
});

describe('libraries of a snapshot', () => {
  const hash = (digit: string) => digit.repeat(64);
  const volume = { name: 'feature_macros', kind: 'volume' as const, owner: 'k'.repeat(43), asset: hash('a'), payloadHash: hash('b') };
  const table = { name: 'admissions', kind: 'table' as const, owner: 'h'.repeat(43), asset: hash('c'), payloadHash: hash('d') };
  const notebook = { parameters: [], cells: [{ kind: 'sql' as const, source: 'SELECT 1', output: null, options: [] }] };

  it('matches each `-- library` name to the volume the snapshot pins, by name and kind', () => {
    assert.deepEqual(snapshotLibraries({ notebook: { ...notebook, libraries: ['feature_macros'] }, assets: [table, volume] }), [{ name: 'feature_macros', asset: volume }]);
    // A table of the same name is not a library.
    assert.deepEqual(snapshotLibraries({ notebook: { ...notebook, libraries: ['admissions'] }, assets: [table] }), [{ name: 'admissions', asset: null }]);
    assert.deepEqual(snapshotLibraries({ notebook, assets: [table, volume] }), []);
  });
});

describe('highlighting library lines', () => {
  const source = ['-- library feature_macros', '-- parameter k = 3', '-- %% [train] model=m', '-- library not_here', 'SELECT capped_stay(x) -- library y', ''].join('\n');

  it('marks `-- library` header lines, and only before the first cell', () => {
    const tokens = tokenizeSql(source);
    assert.equal(tokens.map((token) => token.text).join(''), source);
    assert.deepEqual(tokens[0], { kind: 'library', text: '-- library feature_macros' });
    assert.ok(tokens.some((token) => token.kind === 'marker' && token.text === '-- %% [train] model=m'));
    assert.ok(tokens.some((token) => token.kind === 'comment' && token.text === '-- library not_here'));
    assert.ok(tokens.some((token) => token.kind === 'comment' && token.text === '-- library y'));
    assert.equal(tokens.filter((token) => token.kind === 'library').length, 1);
    assert.deepEqual(tokenizeSql('--LIBRARY Feature')[0], { kind: 'library', text: '--LIBRARY Feature' });
    // A word that only starts like it is a comment.
    assert.deepEqual(tokenizeSql('-- libraryish')[0], { kind: 'comment', text: '-- libraryish' });
  });
});
