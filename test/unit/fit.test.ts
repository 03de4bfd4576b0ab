// fitModel against independent references: DuckDB's own regr_slope/regr_intercept, a hand-solved
// two-feature fit, a plain gradient-descent logistic fit written here, a brute-force AUC; plus the
// split's determinism and every refusal a train cell can meet in reviewed mode. Then aggregate
// mode's fitAggregateModel: the people rules (levels, non-typical values, dominance, the target),
// withholding instead of failing, the split by person, the ridge floor, and the thinned ROC curve
// checked point by point against the people behind it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  aggregateFit,
  areaUnderCurve,
  fitAggregateModel,
  fitModel,
  type FitOptions,
  isDominated,
  type PeopleColumn,
  splitTrainingRows,
  type TrainingColumn,
  TrainingProblem,
} from '../../electron/worker/fit.js';
import {
  isWithheldModel,
  type ModelDocument,
  modelDocumentSchema,
  type ModelOutputDocument,
  scoreRow,
  type TrainSpec,
  type WithheldModelDocument,
  withheldModelSchema,
} from '../../shared/model.js';
import { parse } from '../../shared/validate.js';
import { seededRandom } from '../support/train-fixtures.js';

const options: FitOptions = { minLevelRows: 1, minRows: 2 };

function spec(overrides: Partial<TrainSpec> & Pick<TrainSpec, 'algorithm' | 'target' | 'features'>): TrainSpec {
  return { model: 'm', testFraction: 0.2, seed: 1, l2: overrides.algorithm === 'logistic' ? 1 : 0, ...overrides };
}

const numeric = (name: string, values: readonly (number | null)[], type = 'DOUBLE'): TrainingColumn => ({ name, type, values });
const text = (name: string, values: readonly (string | null)[]): TrainingColumn => ({ name, type: 'VARCHAR', values });

function valid(model: ModelDocument): ModelDocument {
  const checked = parse(modelDocumentSchema, JSON.parse(JSON.stringify(model)));
  assert.ok(checked.ok, `the model document is valid: ${checked.ok ? '' : checked.issue.message}`);
  return model;
}

function numericFeature(model: ModelDocument, name: string): { mean: number; scale: number; coefficient: number } {
  const feature = model.features.find((candidate) => candidate.name === name);
  assert.ok(feature !== undefined && feature.kind === 'numeric');
  return feature;
}

function refusal(work: () => unknown): TrainingProblem {
  try {
    work();
  } catch (error) {
    if (error instanceof TrainingProblem) return error;
    throw error;
  }
  assert.fail('the fit was refused');
}

function close(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected}`);
}

/** Noisy linear data: y = 2 + 3a − 1.5b + noise. */
function linearData(rows: number, seed: number): { a: number[]; b: number[]; y: number[] } {
  const random = seededRandom(seed);
  const a: number[] = [];
  const b: number[] = [];
  const y: number[] = [];
  for (let row = 0; row < rows; row++) {
    const x1 = Math.round(random() * 1000) / 100;
    const x2 = Math.round(random() * 500) / 100 - 2;
    a.push(x1);
    b.push(x2);
    y.push(2 + 3 * x1 - 1.5 * x2 + (random() - 0.5) * 4);
  }
  return { a, b, y };
}

/** Logistic data: P(y = 1) = σ(−0.5 + 1.2a − 0.8b). */
function logisticData(rows: number, seed: number): { a: number[]; b: number[]; y: number[] } {
  const random = seededRandom(seed);
  const a: number[] = [];
  const b: number[] = [];
  const y: number[] = [];
  for (let row = 0; row < rows; row++) {
    const x1 = Math.round((random() * 4 - 2) * 1000) / 1000;
    const x2 = Math.round((random() * 6 - 3) * 1000) / 1000;
    a.push(x1);
    b.push(x2);
    y.push(random() < 1 / (1 + Math.exp(-(-0.5 + 1.2 * x1 - 0.8 * x2))) ? 1 : 0);
  }
  return { a, b, y };
}

const pick = <T>(values: readonly T[], rows: readonly number[]): T[] => rows.map((row) => values[row] as T);

describe('fitModel: linear regression', () => {
  it("agrees with DuckDB's regr_slope and regr_intercept on one feature, over the training rows", async () => {
    const data = linearData(300, 11);
    const trainSpec = spec({ algorithm: 'linear', target: 'y', features: ['a'] });
    const target = numeric('y', data.y);
    const features = [numeric('a', data.a)];
    const model = valid(fitModel(trainSpec, target, features, options));
    const { train, test } = splitTrainingRows(trainSpec, target, features);
    assert.equal(train.length + test.length, 300);
    assert.equal(test.length, 60);

    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const values = train.map((row) => `(${data.a[row]}, ${data.y[row]})`).join(', ');
      const [reference] = (await connection.runAndReadAll(`SELECT regr_slope(y, a), regr_intercept(y, a) FROM (VALUES ${values}) AS t(a, y)`)).getRows();
      const [slope, intercept] = reference as [number, number];
      const a = numericFeature(model, 'a');
      close(a.coefficient / a.scale, slope, 1e-9, 'slope per unit');
      close(model.intercept - (a.coefficient * a.mean) / a.scale, intercept, 1e-9, 'intercept in raw units');
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    assert.equal(model.fit.method, 'least-squares');
    assert.equal(model.metrics.train.rows, 240);
    assert.equal(model.metrics.test.rows, 60);
    assert.ok((model.metrics.test.r2 ?? 0) > 0.85, `a strong planted line gives a high held-out R² (${model.metrics.test.r2})`);
    assert.equal(model.metrics.test.auc, null);
    assert.deepEqual(model.roc, []);
  });

  it('recovers an exact two-feature plane and matches the normal equations solved by hand (Cramer) on noisy data', () => {
    const exact = linearData(50, 3);
    const planeY = exact.a.map((a, row) => 4 - 2 * a + 0.5 * (exact.b[row] as number));
    const planeSpec = spec({ algorithm: 'linear', target: 'y', features: ['a', 'b'] });
    const plane = valid(fitModel(planeSpec, numeric('y', planeY), [numeric('a', exact.a), numeric('b', exact.b)], options));
    const a = numericFeature(plane, 'a');
    const b = numericFeature(plane, 'b');
    close(a.coefficient / a.scale, -2, 1e-9, 'a per unit');
    close(b.coefficient / b.scale, 0.5, 1e-9, 'b per unit');
    close(plane.intercept - (a.coefficient * a.mean) / a.scale - (b.coefficient * b.mean) / b.scale, 4, 1e-9, 'intercept');
    close(plane.metrics.test.rmse ?? 1, 0, 1e-9, 'an exact plane leaves no error');

    // Noisy: solve the 3×3 normal equations in raw units with Cramer's rule over the training rows.
    const noisy = linearData(120, 5);
    const target = numeric('y', noisy.y);
    const features = [numeric('a', noisy.a), numeric('b', noisy.b)];
    const model = valid(fitModel(planeSpec, target, features, options));
    const { train } = splitTrainingRows(planeSpec, target, features);
    const columns = [train.map(() => 1), pick(noisy.a, train), pick(noisy.b, train)];
    const y = pick(noisy.y, train);
    const dot = (u: number[], v: number[]): number => u.reduce((sum, value, index) => sum + value * (v[index] as number), 0);
    const m = columns.map((u) => columns.map((v) => dot(u, v)));
    const r = columns.map((u) => dot(u, y));
    const det3 = (x: number[][]): number => {
      const [p, q, s] = x as [number[], number[], number[]];
      return (p[0] as number) * ((q[1] as number) * (s[2] as number) - (q[2] as number) * (s[1] as number)) - (p[1] as number) * ((q[0] as number) * (s[2] as number) - (q[2] as number) * (s[0] as number)) + (p[2] as number) * ((q[0] as number) * (s[1] as number) - (q[1] as number) * (s[0] as number));
    };
    const d = det3(m);
    const solved = [0, 1, 2].map((column) => det3(m.map((row, index) => row.map((value, position) => (position === column ? (r[index] as number) : value)))) / d);
    const fa = numericFeature(model, 'a');
    const fb = numericFeature(model, 'b');
    close(fa.coefficient / fa.scale, solved[1] as number, 1e-8, 'a per unit');
    close(fb.coefficient / fb.scale, solved[2] as number, 1e-8, 'b per unit');
    close(model.intercept - (fa.coefficient * fa.mean) / fa.scale - (fb.coefficient * fb.mean) / fb.scale, solved[0] as number, 1e-8, 'intercept');
  });

  it('reports RMSE, R² and MAE that equal the ones computed from scoreRow on each part', () => {
    const data = linearData(200, 8);
    const trainSpec = spec({ algorithm: 'linear', target: 'y', features: ['a', 'b'] });
    const target = numeric('y', data.y);
    const features = [numeric('a', data.a), numeric('b', data.b)];
    const model = fitModel(trainSpec, target, features, options);
    const { train, test } = splitTrainingRows(trainSpec, target, features);
    for (const [part, rows] of [['train', train], ['test', test]] as const) {
      const predicted = rows.map((row) => scoreRow(model, (name) => (name === 'a' ? data.a[row] : data.b[row])) as number);
      const actual = pick(data.y, rows);
      const mean = actual.reduce((sum, value) => sum + value, 0) / actual.length;
      const squares = actual.reduce((sum, value, index) => sum + (value - (predicted[index] as number)) ** 2, 0);
      const metrics = model.metrics[part];
      close(metrics.rmse ?? Number.NaN, Math.sqrt(squares / rows.length), 1e-9, `${part} RMSE`);
      close(metrics.mae ?? Number.NaN, actual.reduce((sum, value, index) => sum + Math.abs(value - (predicted[index] as number)), 0) / rows.length, 1e-9, `${part} MAE`);
      close(metrics.r2 ?? Number.NaN, 1 - squares / actual.reduce((sum, value) => sum + (value - mean) ** 2, 0), 1e-9, `${part} R²`);
    }
  });

  it('with l2 > 0 shrinks the coefficients (ridge) below least squares', () => {
    const data = linearData(100, 9);
    const target = numeric('y', data.y);
    const features = [numeric('a', data.a), numeric('b', data.b)];
    const plain = fitModel(spec({ algorithm: 'linear', target: 'y', features: ['a', 'b'] }), target, features, options);
    const ridge = fitModel(spec({ algorithm: 'linear', target: 'y', features: ['a', 'b'], l2: 50 }), target, features, options);
    assert.ok(Math.abs(numericFeature(ridge, 'a').coefficient) < Math.abs(numericFeature(plain, 'a').coefficient));
    assert.equal(ridge.l2, 50);
  });
});

describe('fitModel: logistic regression', () => {
  const data = logisticData(400, 21);
  const trainSpec = spec({ algorithm: 'logistic', target: 'y', features: ['a', 'b'], l2: 1 });
  const target = numeric('y', data.y, 'INTEGER');
  const features = [numeric('a', data.a), numeric('b', data.b)];
  const model = valid(fitModel(trainSpec, target, features, options));
  const { train, test } = splitTrainingRows(trainSpec, target, features);

  /** The training rows in the model's standardised units: [1, (a − mean)/scale, (b − mean)/scale]. */
  const standardised = (): number[][] => {
    const fa = numericFeature(model, 'a');
    const fb = numericFeature(model, 'b');
    return train.map((row) => [1, ((data.a[row] as number) - fa.mean) / fa.scale, ((data.b[row] as number) - fb.mean) / fb.scale]);
  };
  /** ∇ [Σ log-loss + (λ/2)(β₁² + β₂²)] at β, computed here from scratch. */
  const gradientAt = (beta: number[], rows: number[][], y: number[]): number[] => {
    const gradient = [0, 0, 0];
    rows.forEach((x, index) => {
      const p = 1 / (1 + Math.exp(-x.reduce((sum, value, term) => sum + value * (beta[term] as number), 0)));
      for (let term = 0; term < 3; term++) gradient[term] = (gradient[term] as number) + (p - (y[index] as number)) * (x[term] as number);
    });
    for (let term = 1; term < 3; term++) gradient[term] = (gradient[term] as number) + trainSpec.l2 * (beta[term] as number);
    return gradient;
  };

  it('stops where the gradient of the penalised log loss is zero', () => {
    assert.equal(model.fit.method, 'newton');
    assert.equal(model.fit.converged, true);
    assert.ok(model.fit.iterations >= 2 && model.fit.iterations <= 20, `Newton takes few steps (${model.fit.iterations})`);
    const beta = [model.intercept, numericFeature(model, 'a').coefficient, numericFeature(model, 'b').coefficient];
    for (const component of gradientAt(beta, standardised(), pick(data.y, train))) assert.ok(Math.abs(component) < 1e-8, `gradient component ${component}`);
  });

  it('agrees to 1e-6 with plain gradient descent written independently', () => {
    const rows = standardised();
    const y = pick(data.y, train);
    // A step of 1/L, with L ≥ the largest curvature (¼ Σ‖x‖² + λ).
    const curvature = rows.reduce((sum, x) => sum + x.reduce((s, value) => s + value * value, 0), 0) / 4 + trainSpec.l2;
    let beta = [0, 0, 0];
    for (let iteration = 0; iteration < 200_000; iteration++) {
      const gradient = gradientAt(beta, rows, y);
      if (Math.max(...gradient.map(Math.abs)) < 1e-11) break;
      beta = beta.map((value, term) => value - (gradient[term] as number) / curvature);
    }
    close(model.intercept, beta[0] as number, 1e-6, 'intercept');
    close(numericFeature(model, 'a').coefficient, beta[1] as number, 1e-6, 'a');
    close(numericFeature(model, 'b').coefficient, beta[2] as number, 1e-6, 'b');
  });

  it('finds the planted direction: a raises the odds, b lowers them, held-out AUC well above chance', () => {
    assert.ok(numericFeature(model, 'a').coefficient > 0.5);
    assert.ok(numericFeature(model, 'b').coefficient < -0.5);
    assert.ok((model.metrics.test.auc ?? 0) > 0.75, `held-out AUC ${model.metrics.test.auc}`);
    assert.equal(model.positiveLabel, '1');
    assert.equal(model.metrics.test.rmse, null);
  });

  it('reports AUC, accuracy and log loss equal to a brute-force count over the held-out rows', () => {
    const scores = test.map((row) => scoreRow(model, (name) => (name === 'a' ? data.a[row] : data.b[row])) as number);
    const labels = pick(data.y, test);
    let wins = 0;
    let pairs = 0;
    scores.forEach((positive, i) => {
      if (labels[i] !== 1) return;
      scores.forEach((negative, j) => {
        if (labels[j] !== 0) return;
        pairs += 1;
        wins += positive > negative ? 1 : positive === negative ? 0.5 : 0;
      });
    });
    close(model.metrics.test.auc ?? Number.NaN, wins / pairs, 1e-12, 'held-out AUC');
    const correct = scores.filter((score, index) => (score >= 0.5 ? 1 : 0) === labels[index]).length;
    close(model.metrics.test.accuracy ?? Number.NaN, correct / test.length, 1e-12, 'held-out accuracy');
    const loss = scores.reduce((sum, score, index) => sum - (labels[index] === 1 ? Math.log(score) : Math.log(1 - score)), 0) / test.length;
    close(model.metrics.test.logLoss ?? Number.NaN, loss, 1e-9, 'held-out log loss');
  });

  it('draws the held-out ROC curve at the 101 fixed thresholds, from (0,0) at 1.00 to (1,1) at 0.00', () => {
    assert.equal(model.roc.length, 101);
    assert.deepEqual(model.roc.slice(0, 3).map((point) => point.threshold), [1, 0.99, 0.98]);
    assert.deepEqual(model.roc.at(-1), { threshold: 0, fpr: 1, tpr: 1 });
    const scores = test.map((row) => scoreRow(model, (name) => (name === 'a' ? data.a[row] : data.b[row])) as number);
    const labels = pick(data.y, test);
    const at = model.roc.find((point) => point.threshold === 0.5);
    assert.ok(at !== undefined);
    const positives = labels.filter((label) => label === 1).length;
    const tpr = scores.filter((score, index) => score >= 0.5 && labels[index] === 1).length / positives;
    const fpr = scores.filter((score, index) => score >= 0.5 && labels[index] === 0).length / (labels.length - positives);
    assert.deepEqual(at, { threshold: 0.5, fpr, tpr });
    for (let index = 1; index < model.roc.length; index++) {
      assert.ok((model.roc[index] as { tpr: number }).tpr >= (model.roc[index - 1] as { tpr: number }).tpr, 'the curve never goes down');
    }
  });

  it('keeps perfectly separable data finite thanks to l2, and says when l2 = 0 cannot converge', () => {
    const x = Array.from({ length: 60 }, (_unused, index) => index - 30 + 0.5);
    const y = x.map((value) => (value > 0 ? 1 : 0));
    const penalised = valid(fitModel(spec({ algorithm: 'logistic', target: 'y', features: ['x'], l2: 1 }), numeric('y', y), [numeric('x', x)], options));
    assert.equal(penalised.fit.converged, true);
    assert.ok(Math.abs(numericFeature(penalised, 'x').coefficient) < 50);
    assert.equal(penalised.metrics.test.auc, 1);
    const unpenalised = valid(fitModel(spec({ algorithm: 'logistic', target: 'y', features: ['x'], l2: 0 }), numeric('y', y), [numeric('x', x)], options));
    assert.equal(unpenalised.fit.converged, false);
    assert.ok(Number.isFinite(numericFeature(unpenalised, 'x').coefficient));
  });

  it("names a BOOLEAN target's positive label true", () => {
    const booleans: TrainingColumn = { name: 'flag', type: 'BOOLEAN', values: data.y.map((value) => value === 1) };
    const flagged = valid(fitModel(spec({ algorithm: 'logistic', target: 'flag', features: ['a', 'b'] }), booleans, features, options));
    assert.equal(flagged.positiveLabel, 'true');
    assert.equal(flagged.intercept, model.intercept, 'the same fit as with 0/1');
  });
});

describe('fitModel: categorical features', () => {
  const random = seededRandom(5);
  // north twice as frequent as the others; island only 3 rows.
  const levels = ['north', 'north', 'south', 'east', 'west'];
  const region = Array.from({ length: 240 }, (_unused, index) => (index < 3 ? 'island' : (levels[Math.floor(random() * levels.length)] as string)));
  const effect: Record<string, number> = { north: 0, south: 2, east: -1, west: 0.5, island: 4 };
  const y = region.map((level) => 10 + (effect[level] as number) + (random() - 0.5));
  const trainSpec = spec({ algorithm: 'linear', target: 'y', features: ['region'], testFraction: 0.25 });

  it('one-hots against the most frequent level, with one coefficient per other level', () => {
    const model = valid(fitModel(trainSpec, numeric('y', y), [text('region', region)], options));
    const feature = model.features[0];
    assert.ok(feature !== undefined && feature.kind === 'categorical');
    assert.equal(feature.reference, 'north');
    assert.deepEqual(feature.levels.map((level) => level.level), ['east', 'island', 'south', 'west'].filter((level) => region.includes(level)));
    assert.equal(feature.other, null, 'nothing folded');
    const south = feature.levels.find((level) => level.level === 'south');
    close(south?.coefficient ?? 0, 2, 0.3, 'south vs north');
    close(model.intercept, 10, 0.3, 'the reference level is the intercept');
  });

  it('folds levels with fewer than minLevelRows training rows into "(other)"', () => {
    const model = valid(fitModel(trainSpec, numeric('y', y), [text('region', region)], { minLevelRows: 10, minRows: 10 }));
    const feature = model.features[0];
    assert.ok(feature !== undefined && feature.kind === 'categorical');
    assert.ok(!feature.levels.some((level) => level.level === 'island'), 'a rare level gets no coefficient of its own');
    assert.ok(feature.other !== null);
    close(scoreRow(model, () => 'island') as number, model.intercept + (feature.other ?? 0), 1e-12, 'a folded level scores as (other)');
    close(scoreRow(model, () => 'atlantis') as number, model.intercept + (feature.other ?? 0), 1e-12, 'so does an unseen one');
    close(scoreRow(model, () => 'north') as number, model.intercept, 1e-12, 'the reference adds nothing');
  });
});

describe('fitModel: the split', () => {
  const data = logisticData(101, 4);
  const trainSpec = spec({ algorithm: 'logistic', target: 'y', features: ['a', 'b'], testFraction: 0.3, seed: 99 });
  const columns = (order: number[]): [TrainingColumn, TrainingColumn[]] => [numeric('y', pick(data.y, order), 'INTEGER'), [numeric('a', pick(data.a, order)), numeric('b', pick(data.b, order))]];
  const identity = data.y.map((_unused, index) => index);

  it('holds out exactly round(n × test-fraction) rows, the same ones whatever order the rows come in', () => {
    const [target, features] = columns(identity);
    const model = fitModel(trainSpec, target, features, options);
    assert.equal(model.split.testRows, 30);
    assert.equal(model.split.trainRows, 71);
    const random = seededRandom(123);
    const shuffled = [...identity];
    for (let index = shuffled.length - 1; index > 0; index--) {
      const other = Math.floor(random() * (index + 1));
      [shuffled[index], shuffled[other]] = [shuffled[other] as number, shuffled[index] as number];
    }
    const [shuffledTarget, shuffledFeatures] = columns(shuffled);
    assert.deepEqual(fitModel(trainSpec, shuffledTarget, shuffledFeatures, options), model, 'the same model, bit for bit');
    const heldOut = splitTrainingRows(trainSpec, target, features).test.map((row) => `${data.a[row]}|${data.b[row]}`).sort();
    const heldOutShuffled = splitTrainingRows(trainSpec, shuffledTarget, shuffledFeatures).test.map((row) => `${data.a[shuffled[row] as number]}|${data.b[shuffled[row] as number]}`).sort();
    assert.deepEqual(heldOutShuffled, heldOut, 'the same rows are held out');
  });

  it('holds out other rows with another seed', () => {
    const [target, features] = columns(identity);
    const one = splitTrainingRows(trainSpec, target, features).test;
    const other = splitTrainingRows({ ...trainSpec, seed: 100 }, target, features).test;
    assert.equal(other.length, one.length);
    assert.notDeepEqual(other, one);
  });

  it('leaves out rows with a NULL target or feature, and counts them', () => {
    const y: (number | null)[] = [...data.y];
    const a: (number | null)[] = [...data.a];
    y[3] = null;
    a[7] = null;
    a[3] = null;
    const model = fitModel(trainSpec, numeric('y', y, 'INTEGER'), [numeric('a', a), numeric('b', data.b)], options);
    assert.equal(model.split.droppedRows, 2);
    assert.equal(model.split.trainRows + model.split.testRows, 99);
  });
});

describe('fitModel: refusals name the column, never a value', () => {
  const data = logisticData(80, 2);
  const y = numeric('y', data.y, 'INTEGER');
  const a = numeric('a', data.a);
  const logistic = spec({ algorithm: 'logistic', target: 'y', features: ['a'] });

  const cases: { what: string; problemClass: string; names: string; work: () => unknown }[] = [
    {
      what: 'a logistic target with a third value',
      problemClass: 'TargetNotBinary',
      names: 'y',
      work: () => fitModel(logistic, numeric('y', data.y.map((value, index) => (index === 4 ? 2 : value)), 'INTEGER'), [a], options),
    },
    { what: 'a logistic target with one value only', problemClass: 'TargetNotBinary', names: 'y', work: () => fitModel(logistic, numeric('y', data.y.map(() => 0), 'INTEGER'), [a], options) },
    { what: 'a text logistic target', problemClass: 'TargetNotBinary', names: 'y', work: () => fitModel(logistic, text('y', data.y.map(String)), [a], options) },
    { what: 'a text linear target', problemClass: 'TargetNotNumeric', names: 'y', work: () => fitModel({ ...logistic, algorithm: 'linear', l2: 0 }, text('y', data.y.map(String)), [a], options) },
    { what: 'a constant numeric feature', problemClass: 'ConstantFeature', names: 'beds', work: () => fitModel({ ...logistic, features: ['a', 'beds'] }, y, [a, numeric('beds', data.a.map(() => 24))], options) },
    { what: 'a constant categorical feature', problemClass: 'ConstantFeature', names: 'site', work: () => fitModel({ ...logistic, features: ['site'] }, y, [text('site', data.a.map(() => 'main-campus'))], options) },
    { what: 'a NaN feature value', problemClass: 'NonFiniteValue', names: 'a', work: () => fitModel(logistic, y, [numeric('a', data.a.map((value, index) => (index === 9 ? Number.NaN : value)))], options) },
    { what: 'an infinite feature value', problemClass: 'NonFiniteValue', names: 'a', work: () => fitModel(logistic, y, [numeric('a', data.a.map((value, index) => (index === 9 ? -Infinity : value)))], options) },
    {
      what: 'an infinite linear target',
      problemClass: 'NonFiniteValue',
      names: 'y',
      work: () => fitModel({ ...logistic, algorithm: 'linear', l2: 0 }, numeric('y', data.a.map((value, index) => (index === 2 ? Infinity : value))), [numeric('b', data.b)], options),
    },
    { what: 'fewer rows than minRows in a part', problemClass: 'TooFewRows', names: '20', work: () => fitModel(logistic, y, [a], { minLevelRows: 10, minRows: 20 }) },
    {
      what: 'collinear features in a linear model',
      problemClass: 'CollinearFeatures',
      names: 'twice_a',
      work: () => fitModel({ ...logistic, algorithm: 'linear', l2: 0, target: 'b', features: ['a', 'twice_a'] }, numeric('b', data.b), [a, numeric('twice_a', data.a.map((value) => value * 2 + 1))], options),
    },
  ];
  for (const { what, problemClass, names, work } of cases) {
    it(`refuses ${what} (${problemClass})`, () => {
      const problem = refusal(work);
      assert.equal(problem.problemClass, problemClass);
      assert.match(problem.reason, new RegExp(`\\b${names}\\b`));
      assert.doesNotMatch(problem.reason, /main-campus|\b24\b|\d\.\d/, 'no value from the rows');
    });
  }

  it('fits collinear features once l2 > 0 (ridge)', () => {
    const model = fitModel(
      { ...logistic, algorithm: 'linear', l2: 1, target: 'b', features: ['a', 'twice_a'] },
      numeric('b', data.b),
      [a, numeric('twice_a', data.a.map((value) => value * 2 + 1))],
      options,
    );
    assert.equal(model.features.length, 2);
  });
});

describe('areaUnderCurve', () => {
  it('equals the brute-force share of positive–negative pairs ranked correctly, ties counting one half', () => {
    const random = seededRandom(77);
    const scores = Array.from({ length: 300 }, () => Math.round(random() * 20) / 20);
    const labels = scores.map((score) => (random() < score ? 1 : 0));
    let wins = 0;
    let pairs = 0;
    scores.forEach((positive, i) => {
      if (labels[i] !== 1) return;
      scores.forEach((negative, j) => {
        if (labels[j] !== 0) return;
        pairs += 1;
        wins += positive > negative ? 1 : positive === negative ? 0.5 : 0;
      });
    });
    close(areaUnderCurve(scores, labels) ?? Number.NaN, wins / pairs, 1e-12, 'AUC');
    assert.equal(areaUnderCurve([0.1, 0.2], [1, 1]), null, 'no negatives: no AUC');
  });
});

// ---- Aggregate mode ------------------------------------------------------------------------------

const k = 10;

/** People 1..n, each with 1 to 3 rows (by id), and the rows' person as the unit. */
function peopleRows(people: number): { person: number[]; units: PeopleColumn } {
  const person: number[] = [];
  for (let id = 1; id <= people; id++) for (let visit = 0; visit <= id % 3; visit++) person.push(id);
  return { person, units: { table: 'patients', values: person.map((id) => `p${id}`) } };
}

/** Logistic data by person: P(y) = σ(−0.3 + 1.1a), a per row, one level per person. */
function aggregateData(people = 300, seed = 11): { person: number[]; units: PeopleColumn; a: number[]; y: number[]; ward: string[] } {
  const random = seededRandom(seed);
  const { person, units } = peopleRows(people);
  const a = person.map(() => Math.round((random() * 4 - 2) * 100) / 100);
  const y = a.map((x) => (random() < 1 / (1 + Math.exp(-(-0.3 + 1.1 * x))) ? 1 : 0));
  const wards = ['north', 'south', 'east'];
  const ward = person.map((id) => wards[id % 3] as string);
  return { person, units, a, y, ward };
}

function fitted(document: ModelOutputDocument): ModelDocument {
  assert.ok(!isWithheldModel(document), `a model, not withheld: ${JSON.stringify(document).slice(0, 300)}`);
  return valid(document);
}

function withheld(document: ModelOutputDocument): WithheldModelDocument {
  assert.ok(isWithheldModel(document), 'the model is withheld');
  const checked = parse(withheldModelSchema, JSON.parse(JSON.stringify(document)));
  assert.ok(checked.ok, `the withheld document is valid: ${checked.ok ? '' : checked.issue.message}`);
  assert.deepEqual(Object.keys(document).sort(), ['algorithm', 'format', 'l2', 'name', 'split', 'target', 'withheld'], 'no coefficient, count or metric');
  return document;
}

describe('fitAggregateModel: the people rules', () => {
  const data = aggregateData();
  const logistic = spec({ algorithm: 'logistic', target: 'y', features: ['a', 'ward'], seed: 5 });
  const options = { k, people: [data.units] };

  it('fits the model: no dropped-row count, the withheld part empty, every part from k people or more', () => {
    const model = fitted(fitAggregateModel(logistic, numeric('y', data.y, 'INTEGER'), [numeric('a', data.a), text('ward', data.ward)], options));
    assert.equal(model.split.droppedRows, undefined);
    assert.deepEqual(model.withheld, { features: [], metrics: { train: null, test: null } });
    assert.equal(model.split.trainRows + model.split.testRows, data.y.length);
    close(numericFeature(model, 'a').coefficient / numericFeature(model, 'a').scale, 1.1, 0.35, 'the planted slope per unit');
  });

  it('splits by person: every row of a person is on the same side, about test-fraction of the people held out', () => {
    const a = [...data.a];
    const { contributors } = aggregateFit(logistic, numeric('y', data.y, 'INTEGER'), [numeric('a', a), text('ward', data.ward)], options);
    const [patients] = contributors;
    assert.ok(patients !== undefined);
    assert.equal(patients.train.length + patients.test.length, 300, 'each person on one side only');
    assert.equal(patients.test.length, Math.round(300 * 0.2));
    assert.deepEqual(new Set([...patients.train, ...patients.test]).size, 300);
  });

  it('gives the same document whatever order the rows come in', () => {
    const random = seededRandom(3);
    const order = data.y.map((_unused, index) => index);
    for (let index = order.length - 1; index > 0; index--) {
      const other = Math.floor(random() * (index + 1));
      [order[index], order[other]] = [order[other] as number, order[index] as number];
    }
    const columns = (rows: number[]) =>
      [numeric('y', pick(data.y, rows), 'INTEGER'), [numeric('a', pick(data.a, rows)), text('ward', pick(data.ward, rows))], { k, people: [{ table: 'patients', values: pick(data.units.values, rows) }] }] as const;
    const [y1, f1, o1] = columns(data.y.map((_unused, index) => index));
    const [y2, f2, o2] = columns(order);
    assert.deepEqual(fitAggregateModel(logistic, y2, f2, o2), fitAggregateModel(logistic, y1, f1, o1), 'bit for bit');
  });

  it('counts a category level fewer than k people share as the reference: no coefficient, no "(other)", the same document whatever the level is', () => {
    const ward = data.ward.map((level, row) => (data.person[row] === 7 ? 'island-of-one' : level));
    const model = fitted(fitAggregateModel(logistic, numeric('y', data.y, 'INTEGER'), [numeric('a', data.a), text('ward', ward)], options));
    const feature = model.features.find((candidate) => candidate.name === 'ward');
    assert.ok(feature?.kind === 'categorical');
    assert.equal(feature.other, null);
    assert.ok(!JSON.stringify(model).includes('island-of-one'));
    // Person 7 was in ward north (7 % 3 = 1: south); as the reference or as its own rare level, the same rows the model sees.
    const asReference = ward.map((level) => (level === 'island-of-one' ? feature.reference : level));
    assert.deepEqual(fitAggregateModel(logistic, numeric('y', data.y, 'INTEGER'), [numeric('a', data.a), text('ward', asReference)], options), model);
  });

  it('withholds a categorical feature whose most common level fewer than k people share, or with no other level k people share', () => {
    const unique = data.person.map((id) => `ward-${id}`);
    const one = fitted(fitAggregateModel(logistic, numeric('y', data.y, 'INTEGER'), [numeric('a', data.a), text('ward', unique)], options));
    assert.deepEqual(one.withheld?.features, [{ name: 'ward', reason: 'its most common level is shared by fewer than k = 10 people' }]);
    const single = data.person.map((id) => (id <= 5 ? 'rare' : 'common'));
    const two = fitted(fitAggregateModel(logistic, numeric('y', data.y, 'INTEGER'), [numeric('a', data.a), text('ward', single)], options));
    assert.deepEqual(two.withheld?.features, [{ name: 'ward', reason: 'no level other than its most common one is shared by k = 10 people' }]);
    assert.deepEqual(two.features.map((feature) => feature.name), ['a']);
  });

  it('withholds a numeric feature that is the same for all but fewer than k people, whatever their value', () => {
    const secret = (value: number) => data.person.map((id) => (id === 42 ? value : 0));
    const first = fitAggregateModel(logistic, numeric('y', data.y, 'INTEGER'), [numeric('a', data.a), numeric('z', secret(3))], options);
    const second = fitAggregateModel(logistic, numeric('y', data.y, 'INTEGER'), [numeric('a', data.a), numeric('z', secret(90_000))], options);
    assert.deepEqual(fitted(first).withheld?.features, [{ name: 'z', reason: 'fewer than k = 10 people have a value other than its most common one' }]);
    assert.deepEqual(second, first, 'the document does not change with the one person’s value');
    const nine = data.person.map((id) => (id % 30 === 0 ? 1 : 0));
    assert.equal(new Set(data.person.filter((_id, row) => nine[row] === 1)).size, 10);
    // Ten people have a 1, but the split leaves fewer than ten of them in the training part.
    const model = fitted(fitAggregateModel(logistic, numeric('y', data.y, 'INTEGER'), [numeric('a', data.a), numeric('z', nine)], options));
    assert.deepEqual(model.withheld?.features.map((feature) => feature.name), ['z']);
  });

  it('withholds a numeric feature a few people dominate (the rule SQL cells apply to sums)', () => {
    const spread = data.person.map((id) => (id === 9 ? 1_000_000 : id % 2));
    const model = fitted(fitAggregateModel(logistic, numeric('y', data.y, 'INTEGER'), [numeric('a', data.a), numeric('spread', spread)], options));
    assert.deepEqual(model.withheld?.features, [{ name: 'spread', reason: 'a few people hold most of its spread around its most common value (dominance)' }]);
    assert.equal(isDominated([100, 1, 1, 1]), true, 'the largest two hold more than 90%');
    assert.equal(isDominated([50, 45, 3, 3, 3]), true, 'the rest is under 10% of the largest (p% rule)');
    assert.equal(isDominated([10, 10, 10, 10, 10, 10]), false);
  });

  it('withholds the model when fewer than k people are in a class of a logistic target, whatever their values', () => {
    const rare = (row: number): number => (data.person[row] === 13 ? 1 : 0);
    const document = withheld(fitAggregateModel(logistic, numeric('y', data.y.map((_y, row) => rare(row)), 'INTEGER'), [numeric('a', data.a), text('ward', data.ward)], options));
    assert.equal(document.withheld.reason, 'target y: each of its two classes (non-zero and zero) needs at least k = 10 people in the training part');
    const other = fitAggregateModel(logistic, numeric('y', data.y.map((_y, row) => rare(row) * 7), 'INTEGER'), [numeric('a', data.a), text('ward', data.ward)], options);
    assert.deepEqual(other, document);
  });

  it('withholds a linear model whose target is the same for all but fewer than k people', () => {
    const linear = spec({ algorithm: 'linear', target: 'cost', features: ['a'] });
    const cost = (value: number) => data.person.map((id) => (id === 21 ? value : 100));
    const first = withheld(fitAggregateModel(linear, numeric('cost', cost(5)), [numeric('a', data.a)], options));
    assert.equal(first.withheld.reason, 'target cost: fewer than k = 10 people have a value other than its most common one');
    assert.deepEqual(fitAggregateModel(linear, numeric('cost', cost(123_456)), [numeric('a', data.a)], options), first);
  });

  it('reads a numeric logistic target as value <> 0: a 2 is a 1, decided by the type alone', () => {
    const twos = data.y.map((value, row) => (data.person[row] === 3 && value === 1 ? 2 : value));
    const one = fitAggregateModel(logistic, numeric('y', data.y, 'INTEGER'), [numeric('a', data.a), text('ward', data.ward)], options);
    assert.deepEqual(fitAggregateModel(logistic, numeric('y', twos, 'INTEGER'), [numeric('a', data.a), text('ward', data.ward)], options), one);
    const problem = refusal(() => fitAggregateModel(logistic, text('y', data.y.map(String)), [numeric('a', data.a)], options));
    assert.equal(problem.problemClass, 'PolicyRefused', 'a text target is refused from its type');
  });

  it('counts non-finite numbers as NULL, and withholds instead of failing: too few people, every feature withheld', () => {
    const a = data.a.map((value, row) => (row === 4 ? Number.NaN : row === 5 ? Number.POSITIVE_INFINITY : value));
    const model = fitted(fitAggregateModel(logistic, numeric('y', data.y, 'INTEGER'), [numeric('a', a), text('ward', data.ward)], options));
    assert.equal(model.split.trainRows + model.split.testRows, data.y.length - 2);
    const few = data.person.flatMap((id, row) => (id <= 9 ? [row] : []));
    const small = withheld(fitAggregateModel(logistic, numeric('y', pick(data.y, few), 'INTEGER'), [numeric('a', pick(data.a, few))], { k, people: [{ table: 'patients', values: pick(data.units.values, few) }] }));
    assert.equal(small.withheld.reason, 'the training rows (those with no NULL in the target or a feature) come from fewer than k = 10 people of patients');
    const none = withheld(fitAggregateModel(logistic, numeric('y', data.y, 'INTEGER'), [numeric('beds', data.y.map(() => 24))], options));
    assert.equal(none.withheld.reason, 'every feature was withheld');
    assert.deepEqual(none.withheld.features, [{ name: 'beds', reason: 'fewer than k = 10 people have a value other than its most common one' }]);
  });

  it('says to raise test-fraction when the held-out part has fewer than k people', () => {
    const few = data.person.flatMap((id, row) => (id <= 30 ? [row] : []));
    const document = withheld(
      fitAggregateModel({ ...logistic, testFraction: 0.1 }, numeric('y', pick(data.y, few), 'INTEGER'), [numeric('a', pick(data.a, few))], { k, people: [{ table: 'patients', values: pick(data.units.values, few) }] }),
    );
    assert.match(document.withheld.reason, /^the rows of the held-out part come from fewer than k = 10 people of patients: raise test-fraction/);
  });

  it('fits collinear features with l2 = 0: a ridge of 1e-6 per training row keeps the fit from failing', () => {
    const linear = spec({ algorithm: 'linear', target: 'b', features: ['a', 'twice_a'], l2: 0 });
    const b = data.a.map((x, row) => 3 * x + (data.y[row] as number));
    const model = fitted(fitAggregateModel(linear, numeric('b', b), [numeric('a', data.a), numeric('twice_a', data.a.map((x) => 2 * x + 1))], options));
    close(model.l2, 1e-6 * model.split.trainRows, 1e-12, 'the ridge floor, reported as the penalty used');
    assert.ok(model.features.every((feature) => feature.kind === 'numeric' && Number.isFinite(feature.coefficient)));
  });
});

describe('fitAggregateModel: metrics and the ROC curve come from k people or more', () => {
  it('moves, between any two points of the curve, none or at least k people of each class', () => {
    const data = aggregateData(400, 21);
    const trainSpec = spec({ algorithm: 'logistic', target: 'y', features: ['a'], seed: 9, testFraction: 0.5 });
    const { document, contributors } = aggregateFit(trainSpec, numeric('y', data.y, 'INTEGER'), [numeric('a', data.a)], { k, people: [data.units] });
    const model = fitted(document);
    const held = new Set(contributors[0]?.test ?? []);
    const rows = data.y.flatMap((_y, row) => (held.has(data.units.values[row] as string) ? [row] : []));
    const score = (row: number): number => scoreRow(model, () => data.a[row] as number) as number;
    // The rows whose score falls between two thresholds are what the second point adds to the first.
    const peopleBetween = (low: number, high: number, label: number): number =>
      new Set(rows.filter((row) => data.y[row] === label && score(row) >= low && score(row) < high).map((row) => data.person[row] as number)).size;
    assert.ok(model.roc.length >= 3 && model.roc.length < 101, `thinned: ${model.roc.length} points`);
    let previous = Number.POSITIVE_INFINITY;
    for (const point of model.roc) {
      for (const label of [0, 1]) {
        const moved = peopleBetween(point.threshold, previous, label);
        assert.ok(moved === 0 || moved >= k, `at ${point.threshold}: rows of ${moved} people of class ${label} moved`);
      }
      previous = point.threshold;
    }
    assert.equal(model.roc.at(-1)?.threshold, 0);
    assert.ok(model.roc.some((point) => point.threshold === 0.5) === (model.metrics.test.accuracy !== null), 'accuracy only where 0.5 is a point');
  });

  it('withholds the held-out metrics and curve when a class has fewer than k held-out people, and says so', () => {
    const data = aggregateData(300, 4);
    // Positives only among 20 people: 4 or so of them held out.
    const y = data.person.map((id) => (id <= 20 ? 1 : 0));
    const a = data.person.map((id, row) => (id <= 20 ? 1 : 0) + (data.a[row] as number));
    const model = fitted(fitAggregateModel(spec({ algorithm: 'logistic', target: 'y', features: ['a'] }), numeric('y', y, 'INTEGER'), [numeric('a', a)], { k, people: [data.units] }));
    assert.equal(model.metrics.test.auc, null);
    assert.deepEqual(model.roc, []);
    assert.equal(model.withheld?.metrics.test, 'the held-out part has fewer than k = 10 people in one of the target\'s classes');
    assert.ok(model.metrics.train.auc !== null, 'the training part has k people in each class');
  });
});
