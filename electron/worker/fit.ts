// Fitting models inside the worker: logistic regression (Newton's method with an L2 penalty) and
// linear regression (least squares), numeric features standardised and text features one-hot,
// a seeded held-out split, and the metrics. Pure arithmetic: no DuckDB, no I/O.
//
// Everything is deterministic in the rows' values alone: rows are sorted by their values before
// the seeded split, so the order DuckDB returns them in (threads, chunking) changes nothing.
import {
  maxCategoricalLevels,
  type ModelDocument,
  type ModelFeature,
  modelFormat,
  type ModelMetrics,
  type TrainSpec,
} from '../../shared/model.js';
import { seededRandom } from '../../shared/seeded-random.js';

/** One column of the training rows, all of the same length, in any order (the fit sorts rows first). */
export interface TrainingColumn {
  readonly name: string;
  /** DuckDB's type name: numeric types and BOOLEAN are numeric features; VARCHAR and the rest categorical. */
  readonly type: string;
  readonly values: readonly (number | string | boolean | null)[];
}

export interface FitOptions {
  /** Categorical levels with fewer training rows than this share the "(other)" coefficient (k in aggregate mode, 1 in reviewed). */
  readonly minLevelRows: number;
  /** Fewest rows the training part and the held-out part may each have. */
  readonly minRows: number;
  /**
   * Aggregate mode: per categorical feature (by name), the levels at least k people share. A level
   * named in the model is a value from the rows, so others are folded into "(other)" however many
   * rows they have (one person can have many). Absent: every level may be named.
   */
  readonly allowedLevels?: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Why a fit cannot be made: a class for the run's failure and a reason that names columns, never values. */
export class TrainingProblem extends Error {
  constructor(
    readonly problemClass: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** Most model terms (numeric features, kept levels and "(other)"s): the normal equations are terms × terms. */
export const maxModelTerms = 1000;
/**
 * Newton's method stops when every gradient component, per training row, is below this (or after
 * maxIterations steps). Per row because the gradient is a sum over the rows: an absolute bound
 * sits below double rounding once there are about a million of them, and the fit would never stop.
 */
export const gradientTolerance = 1e-12;
export const maxIterations = 100;
/** A Cholesky pivot below this share of its diagonal entry means the column is a combination of earlier ones. */
const pivotTolerance = 1e-9;
/** Longest categorical level kept in a model document (its schema's limit). */
const maxLevelLength = 1000;
/** The fixed ROC thresholds: 1.00, 0.99 … 0.00. */
const rocThresholds = Array.from({ length: 101 }, (_unused, index) => (100 - index) / 100);

const numericTypes = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|REAL|BOOLEAN|DECIMAL(\(\s*\d+\s*,\s*\d+\s*\))?|INT[1248]?|LONG|SHORT|FLOAT[48])$/i;

/** Whether a DuckDB type is a numeric feature (standardised); anything else is categorical (one-hot). */
export function isNumericType(type: string): boolean {
  return numericTypes.test(type.trim());
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

const numberOf = (value: number | string | boolean): number => (typeof value === 'number' ? value : typeof value === 'boolean' ? (value ? 1 : 0) : value.trim() === '' ? Number.NaN : Number(value));
const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** log(1 + e^x) without overflow. */
const softplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/**
 * Cholesky factorisation of a symmetric positive definite matrix (row-major, size p×p) in place:
 * the lower triangle becomes L. Returns the first column whose pivot is not clearly positive
 * (a combination of earlier columns), or -1.
 */
function cholesky(matrix: Float64Array, p: number): number {
  for (let j = 0; j < p; j++) {
    const diagonal = matrix[j * p + j] as number;
    let pivot = diagonal;
    for (let k = 0; k < j; k++) pivot -= (matrix[j * p + k] as number) ** 2;
    if (!(pivot > pivotTolerance * Math.abs(diagonal)) || !(pivot > 0)) return j;
    const root = Math.sqrt(pivot);
    matrix[j * p + j] = root;
    for (let i = j + 1; i < p; i++) {
      let sum = matrix[i * p + j] as number;
      for (let k = 0; k < j; k++) sum -= (matrix[i * p + k] as number) * (matrix[j * p + k] as number);
      matrix[i * p + j] = sum / root;
    }
  }
  return -1;
}

/** Solves L Lᵀ x = b with the factor cholesky left in `factor`. */
function choleskySolve(factor: Float64Array, p: number, b: Float64Array): Float64Array {
  const y = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let sum = b[i] as number;
    for (let k = 0; k < i; k++) sum -= (factor[i * p + k] as number) * (y[k] as number);
    y[i] = sum / (factor[i * p + i] as number);
  }
  const x = new Float64Array(p);
  for (let i = p - 1; i >= 0; i--) {
    let sum = y[i] as number;
    for (let k = i + 1; k < p; k++) sum -= (factor[k * p + i] as number) * (x[k] as number);
    x[i] = sum / (factor[i * p + i] as number);
  }
  return x;
}

const maxAbs = (values: ArrayLike<number>): number => {
  let largest = 0;
  for (let index = 0; index < values.length; index++) largest = Math.max(largest, Math.abs(values[index] as number));
  return largest;
};

// ---------------------------------------------------------------------------------------------
// Rows: checking, sorting, splitting.

type Cell = number | string;

interface Prepared {
  /** Per kept row: the target (a number) and each feature (a number, or text for categorical features). */
  readonly target: Float64Array;
  readonly features: Cell[][];
  readonly numeric: boolean[];
  /** Each kept row's position in the columns as given. */
  readonly source: number[];
  readonly droppedRows: number;
}

function prepareRows(spec: TrainSpec, target: TrainingColumn, features: readonly TrainingColumn[]): Prepared {
  const count = target.values.length;
  for (const feature of features) {
    if (feature.values.length !== count) throw new Error('training columns must all have the same length');
  }
  const numeric = features.map((feature) => isNumericType(feature.type));
  if (spec.algorithm === 'logistic' && !isNumericType(target.type)) {
    throw new TrainingProblem('TargetNotBinary', `target ${target.name} must be BOOLEAN or a number that is 0 or 1 (it is ${target.type})`);
  }
  if (spec.algorithm === 'linear' && !isNumericType(target.type)) {
    throw new TrainingProblem('TargetNotNumeric', `target ${target.name} must be a number for a linear model (it is ${target.type})`);
  }

  const targets: number[] = [];
  const rows: Cell[][] = [];
  const source: number[] = [];
  let droppedRows = 0;
  for (let row = 0; row < count; row++) {
    const y = target.values[row];
    if (y === null || y === undefined || features.some((feature) => feature.values[row] === null || feature.values[row] === undefined)) {
      droppedRows += 1;
      continue;
    }
    const yNumber = numberOf(y);
    if (!Number.isFinite(yNumber)) throw new TrainingProblem('NonFiniteValue', `target ${target.name} has NaN or infinite values`);
    const cells = features.map((feature, position): Cell => {
      const value = feature.values[row] as number | string | boolean;
      if (!numeric[position]) return String(value);
      const x = numberOf(value);
      if (!Number.isFinite(x)) throw new TrainingProblem('NonFiniteValue', `feature ${feature.name} has NaN or infinite values`);
      return x;
    });
    targets.push(yNumber);
    rows.push(cells);
    source.push(row);
  }

  if (spec.algorithm === 'logistic' && targets.some((y) => y !== 0 && y !== 1)) {
    throw new TrainingProblem('TargetNotBinary', `target ${target.name} must have only the values 0 and 1 for a logistic model`);
  }

  // Sort by value (target first, then the features), so the split does not depend on row order.
  const order = targets.map((_unused, index) => index);
  order.sort((a, b) => {
    const byTarget = (targets[a] as number) - (targets[b] as number);
    if (byTarget !== 0) return byTarget;
    const rowA = rows[a] as Cell[];
    const rowB = rows[b] as Cell[];
    for (let position = 0; position < rowA.length; position++) {
      const x = rowA[position] as Cell;
      const y = rowB[position] as Cell;
      const compared = typeof x === 'number' && typeof y === 'number' ? x - y : compareText(String(x), String(y));
      if (compared !== 0) return compared;
    }
    return 0;
  });
  return {
    target: Float64Array.from(order, (index) => targets[index] as number),
    features: order.map((index) => rows[index] as Cell[]),
    numeric,
    source: order.map((index) => source[index] as number),
    droppedRows,
  };
}

/** The held-out rows: exactly round(n × testFraction) of them, picked by a seeded Fisher–Yates shuffle. */
function splitRows(rowCount: number, spec: TrainSpec): { train: number[]; test: number[] } {
  const indices = Array.from({ length: rowCount }, (_unused, index) => index);
  const random = seededRandom(spec.seed);
  for (let index = rowCount - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    const swap = indices[index] as number;
    indices[index] = indices[other] as number;
    indices[other] = swap;
  }
  const testCount = Math.round(rowCount * spec.testFraction);
  const ascending = (a: number, b: number): number => a - b;
  return { test: indices.slice(0, testCount).sort(ascending), train: indices.slice(testCount).sort(ascending) };
}

/**
 * Which of the given rows fitModel trains on and which it holds out (positions in the columns as
 * given, ascending), and which it drops for a NULL. For tests and reference fits outside the worker.
 */
export function splitTrainingRows(spec: TrainSpec, target: TrainingColumn, features: readonly TrainingColumn[]): { train: number[]; test: number[]; dropped: number[] } {
  const prepared = prepareRows(spec, target, features);
  const split = splitRows(prepared.target.length, spec);
  const kept = new Set(prepared.source);
  const ascending = (a: number, b: number): number => a - b;
  return {
    train: split.train.map((row) => prepared.source[row] as number).sort(ascending),
    test: split.test.map((row) => prepared.source[row] as number).sort(ascending),
    dropped: target.values.flatMap((_value, row) => (kept.has(row) ? [] : [row])),
  };
}

// ---------------------------------------------------------------------------------------------
// Encoding: which terms the model has, and each row's values for them.

interface NumericEncoding {
  readonly kind: 'numeric';
  readonly name: string;
  readonly mean: number;
  readonly scale: number;
  readonly term: number;
}

interface CategoricalEncoding {
  readonly kind: 'categorical';
  readonly name: string;
  readonly reference: string;
  /** Kept levels in text order, each with its term. */
  readonly levels: Map<string, number>;
  /** The "(other)" term, or -1 when nothing was folded. */
  readonly other: number;
}

type Encoding = NumericEncoding | CategoricalEncoding;

interface Terms {
  readonly encodings: Encoding[];
  /** Columns of the design, the intercept (0) included. */
  readonly count: number;
  /** The feature behind each term, for reasons. */
  readonly featureOf: string[];
}

function encode(prepared: Prepared, features: readonly TrainingColumn[], train: readonly number[], options: FitOptions): Terms {
  const featureOf = ['(intercept)'];
  const encodings = features.map((feature, position): Encoding => {
    const values = train.map((row) => (prepared.features[row] as Cell[])[position] as Cell);
    if (prepared.numeric[position]) {
      const numbers = values as number[];
      const first = numbers[0] as number;
      if (numbers.every((x) => x === first)) throw new TrainingProblem('ConstantFeature', `feature ${feature.name} has the same value in every training row`);
      const mean = numbers.reduce((sum, x) => sum + x, 0) / numbers.length;
      const variance = numbers.reduce((sum, x) => sum + (x - mean) ** 2, 0) / numbers.length;
      const scale = Math.sqrt(variance);
      if (!(scale > 0) || !Number.isFinite(scale)) throw new TrainingProblem('ConstantFeature', `feature ${feature.name} has the same value in every training row`);
      featureOf.push(feature.name);
      return { kind: 'numeric', name: feature.name, mean, scale, term: featureOf.length - 1 };
    }
    const counts = new Map<string, number>();
    for (const value of values as string[]) counts.set(value, (counts.get(value) ?? 0) + 1);
    if (counts.size < 2) throw new TrainingProblem('ConstantFeature', `feature ${feature.name} has the same value in every training row`);
    if ([...counts.keys()].some((level) => level.length > maxLevelLength)) {
      throw new TrainingProblem('ValueTooLong', `feature ${feature.name} has values longer than ${maxLevelLength} characters: a categorical feature needs short labels`);
    }
    // Most frequent first, ties by text: the first level that may be named is the reference.
    const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || compareText(a[0], b[0]));
    const allowed = options.allowedLevels?.get(feature.name);
    const nameable = allowed === undefined ? ranked : ranked.filter(([level]) => allowed.has(level));
    if (nameable.length === 0) throw new TrainingProblem('TooFewRows', `feature ${feature.name} has no value that at least k people share`);
    const reference = (nameable[0] as [string, number])[0];
    const candidates = nameable.filter(([level, rows]) => level !== reference && rows >= options.minLevelRows);
    const kept = candidates.slice(0, maxCategoricalLevels).map(([level]) => level).sort(compareText);
    const levels = new Map<string, number>();
    for (const level of kept) {
      featureOf.push(feature.name);
      levels.set(level, featureOf.length - 1);
    }
    let other = -1;
    if (kept.length < ranked.length - 1) {
      featureOf.push(feature.name);
      other = featureOf.length - 1;
    }
    return { kind: 'categorical', name: feature.name, reference, levels, other };
  });
  if (featureOf.length > maxModelTerms) {
    throw new TrainingProblem('TooManyTerms', `the features make ${featureOf.length} model terms (numeric features plus categorical levels); at most ${maxModelTerms}`);
  }
  return { encodings, count: featureOf.length, featureOf };
}

/**
 * The design for some rows: each row's active terms (the intercept, every numeric feature
 * standardised, one level per categorical feature unless it is the reference) as index/value pairs.
 */
interface Design {
  readonly rows: number;
  readonly width: number;
  readonly index: Int32Array;
  readonly value: Float64Array;
  readonly y: Float64Array;
}

function designOf(prepared: Prepared, terms: Terms, rows: readonly number[]): Design {
  const width = 1 + terms.encodings.length;
  const index = new Int32Array(rows.length * width).fill(-1);
  const value = new Float64Array(rows.length * width);
  const y = new Float64Array(rows.length);
  rows.forEach((row, position) => {
    const base = position * width;
    y[position] = prepared.target[row] as number;
    index[base] = 0;
    value[base] = 1;
    const cells = prepared.features[row] as Cell[];
    terms.encodings.forEach((encoding, feature) => {
      const slot = base + 1 + feature;
      const cell = cells[feature] as Cell;
      if (encoding.kind === 'numeric') {
        index[slot] = encoding.term;
        value[slot] = ((cell as number) - encoding.mean) / encoding.scale;
        return;
      }
      const level = cell as string;
      if (level === encoding.reference) return;
      // Unseen or folded levels score as "(other)", or as the reference when nothing was folded.
      const term = encoding.levels.get(level) ?? encoding.other;
      if (term < 0) return;
      index[slot] = term;
      value[slot] = 1;
    });
  });
  return { rows: rows.length, width, index, value, y };
}

/** The linear predictor of every row of a design. */
function predictorOf(design: Design, beta: Float64Array): Float64Array {
  const eta = new Float64Array(design.rows);
  for (let row = 0; row < design.rows; row++) {
    let sum = 0;
    const base = row * design.width;
    for (let slot = base; slot < base + design.width; slot++) {
      const term = design.index[slot] as number;
      if (term >= 0) sum += (beta[term] as number) * (design.value[slot] as number);
    }
    eta[row] = sum;
  }
  return eta;
}

/** Σ wᵢ xᵢ xᵢᵀ (+ λ on the diagonal, intercept excepted), row-major p×p. */
function weightedGram(design: Design, p: number, weightOf: (row: number) => number, l2: number): Float64Array {
  const gram = new Float64Array(p * p);
  for (let row = 0; row < design.rows; row++) {
    const w = weightOf(row);
    if (w === 0) continue;
    const base = row * design.width;
    for (let a = base; a < base + design.width; a++) {
      const i = design.index[a] as number;
      if (i < 0) continue;
      const wx = w * (design.value[a] as number);
      for (let b = base; b < base + design.width; b++) {
        const j = design.index[b] as number;
        if (j < 0 || j > i) continue;
        gram[i * p + j] = (gram[i * p + j] as number) + wx * (design.value[b] as number);
      }
    }
  }
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < i; j++) gram[j * p + i] = gram[i * p + j] as number;
    if (i > 0) gram[i * p + i] = (gram[i * p + i] as number) + l2;
  }
  return gram;
}

/** Σ rᵢ xᵢ for per-row values r. */
function weightedSum(design: Design, p: number, residualOf: (row: number) => number): Float64Array {
  const sum = new Float64Array(p);
  for (let row = 0; row < design.rows; row++) {
    const r = residualOf(row);
    const base = row * design.width;
    for (let slot = base; slot < base + design.width; slot++) {
      const term = design.index[slot] as number;
      if (term >= 0) sum[term] = (sum[term] as number) + r * (design.value[slot] as number);
    }
  }
  return sum;
}

function collinear(terms: Terms, column: number): TrainingProblem {
  const feature = terms.featureOf[column] ?? '(intercept)';
  return new TrainingProblem('CollinearFeatures', `feature ${feature} is a linear combination of the other features (collinear): drop it or set l2 above 0`);
}

// ---------------------------------------------------------------------------------------------
// The two fits.

interface Fitted {
  readonly beta: Float64Array;
  readonly method: 'newton' | 'least-squares';
  readonly iterations: number;
  readonly converged: boolean;
}

/** The penalised logistic objective Σ log-loss + (λ/2) Σ β² (intercept not penalised) at β. */
function logisticObjective(design: Design, beta: Float64Array, l2: number): number {
  const eta = predictorOf(design, beta);
  let sum = 0;
  for (let row = 0; row < design.rows; row++) sum += softplus(eta[row] as number) - (design.y[row] as number) * (eta[row] as number);
  let penalty = 0;
  for (let term = 1; term < beta.length; term++) penalty += (beta[term] as number) ** 2;
  return sum + (l2 / 2) * penalty;
}

/** The gradient of the penalised logistic objective at β. */
function logisticGradient(design: Design, beta: Float64Array, l2: number): Float64Array {
  const eta = predictorOf(design, beta);
  const gradient = weightedSum(design, beta.length, (row) => sigmoid(eta[row] as number) - (design.y[row] as number));
  for (let term = 1; term < beta.length; term++) gradient[term] = (gradient[term] as number) + l2 * (beta[term] as number);
  return gradient;
}

/**
 * Newton's method (IRLS with the penalty in the Hessian), with step halving whenever a full step
 * would raise the objective. Stops at ‖gradient‖∞ < gradientTolerance × rows, after maxIterations steps,
 * or when a step no longer changes any coefficient (the rounding floor of double arithmetic).
 */
function fitLogistic(design: Design, terms: Terms, l2: number): Fitted {
  const p = terms.count;
  let beta = new Float64Array(p);
  let objective = logisticObjective(design, beta, l2);
  let iterations = 0;
  const gradientBound = gradientTolerance * Math.max(1, design.rows);
  for (;;) {
    const eta = predictorOf(design, beta);
    const gradient = weightedSum(design, p, (row) => sigmoid(eta[row] as number) - (design.y[row] as number));
    for (let term = 1; term < p; term++) gradient[term] = (gradient[term] as number) + l2 * (beta[term] as number);
    if (maxAbs(gradient) < gradientBound) return { beta, method: 'newton', iterations, converged: true };
    if (iterations >= maxIterations) return { beta, method: 'newton', iterations, converged: false };
    const hessian = weightedGram(
      design,
      p,
      (row) => {
        const probability = sigmoid(eta[row] as number);
        return probability * (1 - probability);
      },
      l2,
    );
    const failed = cholesky(hessian, p);
    if (failed >= 0) {
      // At the start every weight is ¼, so a singular Hessian means collinear terms; later it means
      // the classes are separated and the coefficients are running off (l2 = 0).
      if (iterations === 0) throw collinear(terms, failed);
      return { beta, method: 'newton', iterations, converged: false };
    }
    const step = choleskySolve(hessian, p, gradient);
    let size = 1;
    let next = beta.map((value, term) => value - size * (step[term] as number));
    let nextObjective = logisticObjective(design, next, l2);
    for (let halvings = 0; halvings < 50 && !(nextObjective <= objective + 1e-12 * Math.abs(objective)); halvings++) {
      size /= 2;
      next = beta.map((value, term) => value - size * (step[term] as number));
      nextObjective = logisticObjective(design, next, l2);
    }
    iterations += 1;
    const moved = maxAbs(next.map((value, term) => value - (beta[term] as number)));
    beta = next;
    objective = nextObjective;
    if (moved <= 1e-15 * (1 + maxAbs(beta))) {
      const final = logisticGradient(design, beta, l2);
      // Nothing more to gain: converged if the gradient is at the level rounding allows.
      return { beta, method: 'newton', iterations, converged: maxAbs(final) < gradientBound };
    }
  }
}

/** Whether the coefficients put every training row on its own side (the classes are separated). */
function separates(design: Design, beta: Float64Array): boolean {
  const eta = predictorOf(design, beta);
  return eta.every((value, row) => (design.y[row] === 1 ? value > 0 : value < 0));
}

/** Least squares (ridge when l2 > 0) through the normal equations, solved by Cholesky. */
function fitLinear(design: Design, terms: Terms, l2: number): Fitted {
  const p = terms.count;
  const gram = weightedGram(design, p, () => 1, l2);
  const failed = cholesky(gram, p);
  if (failed >= 0) throw collinear(terms, failed);
  const beta = choleskySolve(gram, p, weightedSum(design, p, (row) => design.y[row] as number));
  return { beta, method: 'least-squares', iterations: 1, converged: true };
}

// ---------------------------------------------------------------------------------------------
// Metrics.

const emptyMetrics = (rows: number): ModelMetrics => ({ rows, auc: null, accuracy: null, logLoss: null, rmse: null, r2: null, mae: null });

/** AUC as the Mann–Whitney statistic: tied scores count one half. Null without both classes. */
export function areaUnderCurve(scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  const order = Array.from({ length: scores.length }, (_unused, index) => index).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let positives = 0;
  let rankSum = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && scores[order[end + 1] as number] === scores[order[start] as number]) end += 1;
    // Ranks start..end (1-based start+1..end+1) share their average.
    const rank = (start + end + 2) / 2;
    for (let position = start; position <= end; position++) {
      if (labels[order[position] as number] === 1) {
        positives += 1;
        rankSum += rank;
      }
    }
    start = end + 1;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return null;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

function logisticMetrics(design: Design, beta: Float64Array): ModelMetrics {
  if (design.rows === 0) return emptyMetrics(0);
  const eta = predictorOf(design, beta);
  let correct = 0;
  let loss = 0;
  const scores = new Float64Array(design.rows);
  for (let row = 0; row < design.rows; row++) {
    const y = design.y[row] as number;
    const score = sigmoid(eta[row] as number);
    scores[row] = score;
    if ((score >= 0.5 ? 1 : 0) === y) correct += 1;
    loss += softplus(eta[row] as number) - y * (eta[row] as number);
  }
  return { ...emptyMetrics(design.rows), auc: areaUnderCurve(scores, design.y), accuracy: correct / design.rows, logLoss: loss / design.rows };
}

function linearMetrics(design: Design, beta: Float64Array): ModelMetrics {
  if (design.rows === 0) return emptyMetrics(0);
  const predicted = predictorOf(design, beta);
  let squares = 0;
  let absolute = 0;
  let mean = 0;
  for (let row = 0; row < design.rows; row++) mean += design.y[row] as number;
  mean /= design.rows;
  let total = 0;
  for (let row = 0; row < design.rows; row++) {
    const residual = (design.y[row] as number) - (predicted[row] as number);
    squares += residual ** 2;
    absolute += Math.abs(residual);
    total += ((design.y[row] as number) - mean) ** 2;
  }
  return { ...emptyMetrics(design.rows), rmse: Math.sqrt(squares / design.rows), r2: total > 0 ? 1 - squares / total : null, mae: absolute / design.rows };
}

/** The held-out ROC curve at the fixed thresholds (a row is positive when its score ≥ the threshold); empty without both classes. */
function rocCurve(design: Design, beta: Float64Array): ModelDocument['roc'] {
  const eta = predictorOf(design, beta);
  const scores = Array.from(eta, (value) => sigmoid(value));
  const positives = Array.from(design.y).filter((y) => y === 1).length;
  const negatives = design.rows - positives;
  if (positives === 0 || negatives === 0) return [];
  return rocThresholds.map((threshold) => {
    let truePositives = 0;
    let falsePositives = 0;
    scores.forEach((score, row) => {
      if (score < threshold) return;
      if (design.y[row] === 1) truePositives += 1;
      else falsePositives += 1;
    });
    return { threshold, fpr: falsePositives / negatives, tpr: truePositives / positives };
  });
}

// ---------------------------------------------------------------------------------------------
// The fit.

/**
 * Fits the train cell's model on its rows: drops rows with a NULL, refuses what cannot be fitted
 * honestly (TrainingProblem), splits off the held-out rows, encodes on the training part only, fits,
 * and measures both parts. The document is the only thing about the rows that leaves the worker.
 */
export function fitModel(spec: TrainSpec, target: TrainingColumn, features: readonly TrainingColumn[], options: FitOptions): ModelDocument {
  if (features.length === 0) throw new TrainingProblem('PolicyRefused', 'a model needs at least one feature');
  const prepared = prepareRows(spec, target, features);
  const split = splitRows(prepared.target.length, spec);
  if (split.train.length < options.minRows || split.test.length < options.minRows) {
    throw new TrainingProblem('TooFewRows', `too few rows to train: the training part and the held-out part need at least ${options.minRows} rows each (rows with a NULL in the target or a feature are left out)`);
  }
  if (spec.algorithm === 'logistic') {
    // Both classes in the training part, or the (unpenalised) intercept runs off to infinity.
    const label = target.type.trim().toUpperCase() === 'BOOLEAN' ? 'true and false' : '0 and 1';
    const trainTargets = split.train.map((row) => prepared.target[row]);
    if (!trainTargets.includes(0) || !trainTargets.includes(1)) {
      throw new TrainingProblem('TargetNotBinary', `target ${target.name} must have both values (${label}) among the training rows`);
    }
  }
  const terms = encode(prepared, features, split.train, options);
  const trainDesign = designOf(prepared, terms, split.train);
  const testDesign = designOf(prepared, terms, split.test);
  let fitted = spec.algorithm === 'logistic' ? fitLogistic(trainDesign, terms, spec.l2) : fitLinear(trainDesign, terms, spec.l2);
  if (spec.algorithm === 'logistic' && spec.l2 === 0 && separates(trainDesign, fitted.beta)) {
    // The gradient vanishes only as the coefficients run off to infinity: there is no optimum to converge to.
    fitted = { ...fitted, converged: false };
  }
  if (!fitted.beta.every(Number.isFinite)) {
    throw new TrainingProblem('NotConverged', 'the fit did not give finite coefficients: set l2 above 0 or use fewer features');
  }
  const coefficient = (term: number): number => fitted.beta[term] as number;
  const modelFeatures = terms.encodings.map((encoding): ModelFeature => {
    if (encoding.kind === 'numeric') return { kind: 'numeric', name: encoding.name, mean: encoding.mean, scale: encoding.scale, coefficient: coefficient(encoding.term) };
    return {
      kind: 'categorical',
      name: encoding.name,
      reference: encoding.reference,
      levels: [...encoding.levels.entries()].map(([level, term]) => ({ level, coefficient: coefficient(term) })),
      other: encoding.other < 0 ? null : coefficient(encoding.other),
    };
  });
  const logistic = spec.algorithm === 'logistic';
  const metricsOf = logistic ? logisticMetrics : linearMetrics;
  return {
    format: modelFormat,
    name: spec.model,
    algorithm: spec.algorithm,
    target: target.name,
    positiveLabel: logistic ? (target.type.trim().toUpperCase() === 'BOOLEAN' ? 'true' : '1') : null,
    intercept: coefficient(0),
    features: modelFeatures,
    l2: spec.l2,
    split: { testFraction: spec.testFraction, seed: spec.seed, trainRows: split.train.length, testRows: split.test.length, droppedRows: prepared.droppedRows },
    metrics: { train: metricsOf(trainDesign, fitted.beta), test: metricsOf(testDesign, fitted.beta) },
    roc: logistic ? rocCurve(testDesign, fitted.beta) : [],
    fit: { method: fitted.method, iterations: fitted.iterations, converged: fitted.converged ? 'yes' : 'no' },
  };
}
