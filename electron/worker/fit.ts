// Fitting models inside the worker: logistic regression (Newton's method with an L2 penalty) and
// linear regression (least squares), numeric features standardised and text features one-hot,
// a held-out split, and the metrics. Pure arithmetic: no DuckDB, no I/O.
//
// Two entry points. fitModel is reviewed mode's (and any reference fit's): every member approved
// the exact code, so what cannot be fitted fails with a TrainingProblem naming the column. Rows are
// sorted by their values before a seeded split, so the order DuckDB returns them in changes nothing.
//
// fitAggregateModel is aggregate mode's: it is given, for every training row, the privacy unit of
// each protected table behind it, and lets nothing out that fewer than k people decide. What would
// fail or single someone out is withheld instead, by a fixed rule that names the column and the
// rule, never a value: a category level fewer than k people share counts as the reference level; a
// numeric feature whose values other than its most common one come from fewer than k people (or
// that a few people dominate) is left out; a target fewer than k people give another value, too
// few people in a part, no feature left: no model, only the reason. The split is by person (a
// seeded hash of the units), so no value, withheld or not, moves anyone between the parts; rows
// are ordered by what the model sees of them. A small ridge keeps collinear features from failing
// the fit; metrics come only from parts of k people or more of each class, and the ROC curve keeps
// only thresholds between which k people or none of each class move.
import {
  isWithheldModel,
  maxCategoricalLevels,
  type ModelDocument,
  type ModelFeature,
  modelFormat,
  type ModelMetrics,
  type ModelOutputDocument,
  type TrainSpec,
  type WithheldFeature,
  type WithheldModelDocument,
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
  /** Categorical levels with fewer training rows than this share the "(other)" coefficient (1 in reviewed mode). */
  readonly minLevelRows: number;
  /** Fewest rows the training part and the held-out part may each have. */
  readonly minRows: number;
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

/** How the model names the positive class: a BOOLEAN target's `true`, a numeric one's 1; none for linear models. */
const positiveLabelOf = (logistic: boolean, targetType: string): string | null => (logistic ? (targetType.trim().toUpperCase() === 'BOOLEAN' ? 'true' : '1') : null);

/** The model document's features from the encodings and the fitted coefficients. */
function modelFeaturesOf(encodings: readonly Encoding[], coefficient: (term: number) => number): ModelFeature[] {
  return encodings.map((encoding): ModelFeature => {
    if (encoding.kind === 'numeric') return { kind: 'numeric', name: encoding.name, mean: encoding.mean, scale: encoding.scale, coefficient: coefficient(encoding.term) };
    return {
      kind: 'categorical',
      name: encoding.name,
      reference: encoding.reference,
      levels: [...encoding.levels.entries()].map(([level, term]) => ({ level, coefficient: coefficient(term) })),
      other: encoding.other < 0 ? null : coefficient(encoding.other),
    };
  });
}

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
    const reference = (ranked[0] as [string, number])[0];
    const candidates = ranked.filter(([level, rows]) => level !== reference && rows >= options.minLevelRows);
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

/** Rows as the design reads them: each row's target and feature cells. */
interface DesignSource {
  readonly target: Float64Array;
  readonly features: readonly (readonly Cell[])[];
}

function designOf(prepared: DesignSource, terms: Terms, rows: readonly number[]): Design {
  const width = 1 + terms.encodings.length;
  const index = new Int32Array(rows.length * width).fill(-1);
  const value = new Float64Array(rows.length * width);
  const y = new Float64Array(rows.length);
  rows.forEach((row, position) => {
    const base = position * width;
    y[position] = prepared.target[row] as number;
    index[base] = 0;
    value[base] = 1;
    const cells = prepared.features[row] as readonly Cell[];
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
  const modelFeatures = modelFeaturesOf(terms.encodings, coefficient);
  const logistic = spec.algorithm === 'logistic';
  const metricsOf = logistic ? logisticMetrics : linearMetrics;
  return {
    format: modelFormat,
    name: spec.model,
    algorithm: spec.algorithm,
    target: target.name,
    positiveLabel: positiveLabelOf(logistic, target.type),
    intercept: coefficient(0),
    features: modelFeatures,
    l2: spec.l2,
    split: { testFraction: spec.testFraction, seed: spec.seed, trainRows: split.train.length, testRows: split.test.length, droppedRows: prepared.droppedRows },
    metrics: { train: metricsOf(trainDesign, fitted.beta), test: metricsOf(testDesign, fitted.beta) },
    roc: logistic ? rocCurve(testDesign, fitted.beta) : [],
    fit: { method: fitted.method, iterations: fitted.iterations, converged: fitted.converged },
  };
}

// ---------------------------------------------------------------------------------------------
// Aggregate mode: the fit that lets out nothing fewer than k people decide.

/** One protected table read by the body: the privacy unit behind each training row (null where none, e.g. a LEFT JOIN's missing side). */
export interface PeopleColumn {
  readonly table: string;
  readonly values: readonly (string | number | null)[];
}

export interface AggregateFitOptions {
  /** The room's k. */
  readonly k: number;
  /** One column per protected table read (a table read twice, twice); empty when the body reads none. */
  readonly people: readonly PeopleColumn[];
}

/**
 * Dominance, as SQL cells' sums are judged: a spread is dominated when the `top` people with the
 * largest share hold more than `share` of it, or when what everyone else holds is less than `p`
 * of the largest one's (the p% rule: the second-largest could estimate the largest too closely).
 */
export const dominanceRule = { top: 2, share: 0.9, p: 0.1 } as const;
/** Aggregate mode's L2 penalty is at least this times the training rows, so collinear features cannot fail the fit. */
export const minimumL2PerRow = 1e-6;
/** The threshold accuracy is measured at. */
const accuracyThreshold = 0.5;

/** Per protected table: each kept row's person as a small number (-1: none), and how many people there are. */
interface PeopleIndex {
  readonly table: string;
  readonly ids: Int32Array;
  readonly count: number;
  /** Each person's unit, as text, by id. */
  readonly units: string[];
}

/** The rows an aggregate fit uses: no NULL (or non-finite number) in the target or a feature. */
interface AggregateRows {
  /** Logistic: 1 for true or a non-zero number, else 0. Linear: the number. */
  readonly target: Float64Array;
  readonly features: Cell[][];
  readonly people: PeopleIndex[];
  /** Each row's split key: its units, as text (the same for every row of the same people). */
  readonly keys: string[];
}

const finiteOrNull = (value: number | string | boolean): number | null => {
  const x = numberOf(value);
  return Number.isFinite(x) ? x : null;
};

function aggregateRows(spec: TrainSpec, target: TrainingColumn, features: readonly TrainingColumn[], numeric: readonly boolean[], people: readonly PeopleColumn[]): AggregateRows {
  const count = target.values.length;
  for (const column of [...features, ...people]) {
    if (column.values.length !== count) throw new Error('training columns must all have the same length');
  }
  const targets: number[] = [];
  const rows: Cell[][] = [];
  const source: number[] = [];
  for (let row = 0; row < count; row++) {
    const raw = target.values[row];
    // A non-finite number counts as NULL: the row is left out like any row with a missing value.
    const y = raw === null || raw === undefined ? null : finiteOrNull(raw);
    if (y === null) continue;
    const cells: Cell[] = [];
    let complete = true;
    for (let position = 0; position < features.length && complete; position++) {
      const value = (features[position] as TrainingColumn).values[row];
      if (value === null || value === undefined) complete = false;
      else if (!numeric[position]) cells.push(String(value));
      else {
        const x = finiteOrNull(value);
        if (x === null) complete = false;
        else cells.push(x);
      }
    }
    if (!complete) continue;
    // Logistic: the target's declared type decides, never its values: true or any non-zero number is the positive class.
    targets.push(spec.algorithm === 'logistic' ? (y !== 0 ? 1 : 0) : y);
    rows.push(cells);
    source.push(row);
  }
  // No order is imposed here: what decides anything below is counted per person or per value, and
  // each part is put in the order of what the model sees before it is fitted.
  const indexes = people.map((column): PeopleIndex => {
    const numbers = new Map<string, number>();
    const ids = new Int32Array(source.length);
    source.forEach((row, position) => {
      const unit = column.values[row];
      if (unit === null || unit === undefined) {
        ids[position] = -1;
        return;
      }
      const key = String(unit);
      let id = numbers.get(key);
      if (id === undefined) {
        id = numbers.size;
        numbers.set(key, id);
      }
      ids[position] = id;
    });
    return { table: column.table, ids, count: numbers.size, units: [...numbers.keys()] };
  });
  return { target: Float64Array.from(targets), features: rows, people: indexes, keys: source.map((row) => unitText(people, row)) };
}

/** A row's units as one text: the same for every row of the same people. */
function unitText(people: readonly PeopleColumn[], row: number): string {
  const only = people.length === 1 ? (people[0] as PeopleColumn).values[row] : undefined;
  if (only !== undefined && only !== null) return String(only);
  return JSON.stringify(people.map((column) => (column.values[row] === null || column.values[row] === undefined ? null : String(column.values[row]))));
}

/** Orders rows by target, then cell by cell (numbers as numbers, text as text). */
function compareRows(targetA: number, rowA: readonly Cell[], targetB: number, rowB: readonly Cell[]): number {
  const byTarget = targetA - targetB;
  if (byTarget !== 0) return byTarget;
  for (let position = 0; position < rowA.length; position++) {
    const x = rowA[position] as Cell;
    const y = rowB[position] as Cell;
    const compared = typeof x === 'number' && typeof y === 'number' ? x - y : compareText(String(x), String(y));
    if (compared !== 0) return compared;
  }
  return 0;
}

/** A 32-bit hash of a text, seeded (FNV-1a, then murmur3's finaliser): the held-out people's order. */
function seededHash(seed: number, value: string): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let index = 0; index < value.length; index++) {
    hash ^= value.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b) >>> 0;
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35) >>> 0;
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/**
 * Aggregate mode's split: by people, not rows. Every distinct set of units is ranked by a seeded
 * hash of its text, and the first round(groups × testFraction) are held out with all their rows.
 * Only who is in the rows and the seed decide it, never a value. Without protected tables (the
 * body reads only earlier outputs and public tables) it is the reviewed split over the rows.
 */
function splitByPeople(rows: AggregateRows, spec: TrainSpec): { train: number[]; test: number[] } {
  if (rows.people.length === 0) {
    // Rows by value first, as reviewed mode does, so the order DuckDB gave them in changes nothing.
    const order = Array.from({ length: rows.target.length }, (_unused, row) => row);
    order.sort((a, b) => compareRows(rows.target[a] as number, rows.features[a] as Cell[], rows.target[b] as number, rows.features[b] as Cell[]));
    const split = splitRows(order.length, spec);
    return { train: split.train.map((position) => order[position] as number), test: split.test.map((position) => order[position] as number) };
  }
  const groups = [...new Set(rows.keys)].map((key) => ({ key, hash: seededHash(spec.seed, key) }));
  groups.sort((a, b) => a.hash - b.hash || compareText(a.key, b.key));
  const held = new Set(groups.slice(0, Math.round(groups.length * spec.testFraction)).map((group) => group.key));
  const train: number[] = [];
  const test: number[] = [];
  rows.keys.forEach((key, row) => (held.has(key) ? test : train).push(row));
  return { train, test };
}

/** Counts distinct people of a table among rows, without allocating per call. */
class PeopleCounter {
  private readonly stamps: Int32Array[];
  private generation = 0;

  constructor(private readonly people: readonly PeopleIndex[]) {
    this.stamps = people.map((index) => new Int32Array(index.count));
  }

  /** Distinct people of table `table` (its position) among `rows`. */
  count(rows: Iterable<number>, table: number): number {
    const index = this.people[table] as PeopleIndex;
    const stamps = this.stamps[table] as Int32Array;
    this.generation += 1;
    let found = 0;
    for (const row of rows) {
      const id = index.ids[row] as number;
      if (id < 0 || stamps[id] === this.generation) continue;
      stamps[id] = this.generation;
      found += 1;
    }
    return found;
  }

  /** The first protected table (its position) among `rows` with fewer than k people, or -1. */
  short(rows: readonly number[], k: number): number {
    for (let table = 0; table < this.people.length; table++) if (this.count(rows, table) < k) return table;
    return -1;
  }

  /**
   * Whether rows come from at least k people of every protected table (and are at least k rows:
   * without a protected table, rows are all there is to count).
   */
  enough(rows: readonly number[], k: number): boolean {
    return rows.length >= k && this.short(rows, k) < 0;
  }

  /** Whether rows are none at all, or enough. */
  noneOrEnough(rows: readonly number[], k: number): boolean {
    return rows.length === 0 || this.enough(rows, k);
  }
}

/** Whether the spread of per-person totals (each ≥ 0) is dominated by a few people (dominanceRule). */
export function isDominated(totals: ArrayLike<number>): boolean {
  // Ascending, summed from the smallest: the same sum whatever order the totals came in.
  const sorted = Float64Array.from(Array.prototype.filter.call(totals, (total: number) => total > 0) as number[]).sort();
  let sum = 0;
  for (const total of sorted) sum += total;
  if (!(sum > 0)) return false;
  let top = 0;
  for (let index = sorted.length - 1; index >= Math.max(0, sorted.length - dominanceRule.top); index--) top += sorted[index] as number;
  const largest = sorted[sorted.length - 1] as number;
  const second = sorted.length > 1 ? (sorted[sorted.length - 2] as number) : 0;
  return top > dominanceRule.share * sum || sum - largest - second < dominanceRule.p * largest;
}

/** Rows grouped by the first protected table's person (a stable sort: the fixed row order inside), for typicalValue. */
function byPerson(rows: readonly number[], people: readonly PeopleIndex[]): readonly number[] {
  const first = people[0];
  return first === undefined ? rows : [...rows].sort((a, b) => (first.ids[a] as number) - (first.ids[b] as number));
}

/**
 * The value most people share (ties: the smallest), by the first protected table's people (no
 * protected table: by rows). `grouped`: the rows, grouped by that person (byPerson).
 */
function typicalValue(grouped: readonly number[], valueOf: (row: number) => number, people: PeopleIndex | undefined): number {
  const tally = new Map<number, number>();
  const last = new Map<number, number>();
  for (const row of grouped) {
    const value = valueOf(row);
    const person = people === undefined ? -1 : (people.ids[row] as number);
    if (person >= 0 && last.get(value) === person) continue;
    last.set(value, person);
    tally.set(value, (tally.get(value) ?? 0) + 1);
  }
  let best = Number.NaN;
  let bestCount = -1;
  for (const [value, count] of tally) {
    if (count > bestCount || (count === bestCount && value < best)) {
      best = value;
      bestCount = count;
    }
  }
  return best;
}

type NumericVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * The rule for a numeric column (a feature, or a linear target) over some rows: its values other
 * than the most common one come from at least k people of every protected table, and no few
 * people dominate its spread around that value.
 */
function numericRule(grouped: readonly number[], valueOf: (row: number) => number, people: readonly PeopleIndex[], counter: PeopleCounter, k: number): NumericVerdict {
  const typical = typicalValue(grouped, valueOf, people[0]);
  const unusual = grouped.filter((row) => valueOf(row) !== typical);
  if (!counter.enough(unusual, k)) return { ok: false, reason: `fewer than k = ${k} people have a value other than its most common one` };
  for (const index of people) {
    // Per person, summed in the rows' fixed order.
    const totals = new Float64Array(index.count);
    for (const row of unusual) {
      const id = index.ids[row] as number;
      if (id >= 0) totals[id] = (totals[id] as number) + Math.abs(valueOf(row) - typical);
    }
    if (isDominated(totals)) return { ok: false, reason: 'a few people hold most of its spread around its most common value (dominance)' };
  }
  return { ok: true };
}

/** A categorical feature as the model will use it: the reference, the levels with a term, and every row's level mapped (rare ones to the reference). */
interface CategoricalPlan {
  readonly reference: string;
  /** Levels with a term of their own, in text order. */
  readonly named: string[];
  /** Levels past the cap (each of k people or more), sharing "(other)". */
  readonly other: Set<string>;
  /** Every level that stays itself (the reference, named or "(other)"); the rest count as the reference. */
  readonly kept: Set<string>;
}

function categoricalRule(rows: readonly number[], levelOf: (row: number) => string, people: readonly PeopleIndex[], counter: PeopleCounter, k: number): { ok: true; plan: CategoricalPlan } | { ok: false; reason: string } {
  const byLevel = new Map<string, number[]>();
  for (const row of rows) {
    const level = levelOf(row);
    const list = byLevel.get(level);
    if (list === undefined) byLevel.set(level, [row]);
    else list.push(row);
  }
  // Most people of the first protected table first (rows without one: most rows), ties by text.
  const ranked = [...byLevel.entries()].map(([level, levelRows]) => ({ level, rows: levelRows, size: people.length === 0 ? levelRows.length : counter.count(levelRows, 0) }));
  ranked.sort((a, b) => b.size - a.size || compareText(a.level, b.level));
  const shared = (entry: (typeof ranked)[number]): boolean => counter.enough(entry.rows, k) && entry.level.length <= maxLevelLength;
  const first = ranked[0];
  if (first === undefined) return { ok: false, reason: 'it has no value' };
  if (first.level.length > maxLevelLength) return { ok: false, reason: `its most common level is longer than ${maxLevelLength} characters` };
  if (!shared(first)) return { ok: false, reason: `its most common level is shared by fewer than k = ${k} people` };
  const others = ranked.slice(1).filter(shared);
  if (others.length === 0) return { ok: false, reason: `no level other than its most common one is shared by k = ${k} people` };
  return {
    ok: true,
    plan: {
      reference: first.level,
      named: others.slice(0, maxCategoricalLevels).map((entry) => entry.level).sort(compareText),
      other: new Set(others.slice(maxCategoricalLevels).map((entry) => entry.level)),
      kept: new Set([first.level, ...others.map((entry) => entry.level)]),
    },
  };
}

/** A threshold's cut: how many of the rows, sorted by score from the highest, score at least it. */
function cutAt(sortedScores: Float64Array, threshold: number): number {
  let low = 0;
  let high = sortedScores.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((sortedScores[middle] as number) >= threshold) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The held-out (or training) rows by score, for the ROC curve and the accuracy. */
interface Scored {
  /** Row positions in the design, by score from the highest (ties by position). */
  readonly order: number[];
  readonly scores: Float64Array;
  readonly labels: Float64Array;
}

function scored(design: Design, beta: Float64Array): Scored {
  const eta = predictorOf(design, beta);
  const scores = Float64Array.from(eta, (value) => sigmoid(value));
  const order = Array.from({ length: design.rows }, (_unused, index) => index).sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
  return { order, scores: Float64Array.from(order, (row) => scores[row] as number), labels: Float64Array.from(order, (row) => design.y[row] as number) };
}

/**
 * Whether the rows between two cuts (by score) single nobody out: of each class, none, or at
 * least k people of every protected table. `rowOf` maps a position in the score order to the
 * row's position among the aggregate rows.
 */
function quietBetween(part: Scored, from: number, to: number, rowOf: (position: number) => number, counter: PeopleCounter, k: number): boolean {
  const positives: number[] = [];
  const negatives: number[] = [];
  for (let position = from; position < to; position++) (part.labels[position] === 1 ? positives : negatives).push(rowOf(position));
  return counter.noneOrEnough(positives, k) && counter.noneOrEnough(negatives, k);
}

/**
 * The held-out ROC curve at the fixed thresholds, thinned so that between two points it keeps (and
 * from the start and to the end) the rows that move are, of each class, none or from at least k
 * people. `keepHalf`: the 0.5 threshold is kept (the accuracy is measured there).
 */
function thinnedRoc(part: Scored, rowOf: (position: number) => number, counter: PeopleCounter, k: number, keepHalf: boolean): ModelDocument['roc'] {
  const positives = Array.from(part.labels).filter((y) => y === 1).length;
  const negatives = part.labels.length - positives;
  const cuts = rocThresholds.map((threshold) => cutAt(part.scores, threshold));
  const kept: number[] = [];
  const thin = (first: number, last: number, startCut: number): void => {
    // Greedy from the start, then back off while the rest up to the segment's end is too thin.
    const segment: number[] = [];
    let previous = startCut;
    for (let index = first; index < last; index++) {
      if (quietBetween(part, previous, cuts[index] as number, rowOf, counter, k)) {
        segment.push(index);
        previous = cuts[index] as number;
      }
    }
    while (segment.length > 0 && !quietBetween(part, previous, cuts[last] as number, rowOf, counter, k)) {
      segment.pop();
      previous = segment.length === 0 ? startCut : (cuts[segment[segment.length - 1] as number] as number);
    }
    kept.push(...segment, last);
  };
  const half = rocThresholds.indexOf(accuracyThreshold);
  if (keepHalf && half > 0) {
    thin(0, half, 0);
    thin(half + 1, rocThresholds.length - 1, cuts[half] as number);
  } else {
    thin(0, rocThresholds.length - 1, 0);
  }
  return kept.map((index) => {
    const cut = cuts[index] as number;
    let truePositives = 0;
    for (let position = 0; position < cut; position++) if (part.labels[position] === 1) truePositives += 1;
    return { threshold: rocThresholds[index] as number, fpr: (cut - truePositives) / negatives, tpr: truePositives / positives };
  });
}

/**
 * Whether the accuracy at 0.5 singles nobody out: on each side of it, each class is none or from
 * k people. `rows`: each design row's position among the aggregate rows.
 */
function accuracyIsQuiet(design: Design, beta: Float64Array, rows: readonly number[], counter: PeopleCounter, k: number): boolean {
  const eta = predictorOf(design, beta);
  const sides: number[][] = [[], [], [], []];
  for (let row = 0; row < design.rows; row++) {
    const above = sigmoid(eta[row] as number) >= accuracyThreshold ? 1 : 0;
    (sides[2 * above + (design.y[row] === 1 ? 1 : 0)] as number[]).push(rows[row] as number);
  }
  return sides.every((side) => counter.noneOrEnough(side, k));
}

/**
 * Aggregate mode's fit (see the top of this file): the model document, or the withheld document
 * that says which rule the rows did not meet. Throws TrainingProblem only for what the cell's
 * options and the columns' declared types decide (no feature, a target type that cannot be
 * predicted), never for anything in the rows.
 */
export function fitAggregateModel(spec: TrainSpec, target: TrainingColumn, features: readonly TrainingColumn[], options: AggregateFitOptions): ModelOutputDocument {
  return aggregateFit(spec, target, features, options).document;
}

/** The people of one protected table behind a fitted model: its training part and its held-out part (units as text, sorted). */
export interface ModelContributors {
  readonly table: string;
  readonly train: string[];
  readonly test: string[];
}

/**
 * fitAggregateModel, with the contributor sets of a fitted model (empty when it was withheld), for
 * a differencing ledger: two models whose training people differ by fewer than k are a difference.
 */
export function aggregateFit(
  spec: TrainSpec,
  target: TrainingColumn,
  features: readonly TrainingColumn[],
  options: AggregateFitOptions,
): { document: ModelOutputDocument; contributors: ModelContributors[] } {
  let contributors: ModelContributors[] = [];
  const document = fitAggregateDocument(spec, target, features, options, (people, split) => {
    const unitsOf = (index: PeopleIndex, rows: readonly number[]): string[] =>
      [...new Set(rows.flatMap((row) => (index.ids[row] as number) < 0 ? [] : [index.units[index.ids[row] as number] as string]))].sort(compareText);
    contributors = people.map((index) => ({ table: index.table, train: unitsOf(index, split.train), test: unitsOf(index, split.test) }));
  });
  return { document, contributors: isWithheldModel(document) ? [] : contributors };
}

function fitAggregateDocument(
  spec: TrainSpec,
  target: TrainingColumn,
  features: readonly TrainingColumn[],
  options: AggregateFitOptions,
  onSplit: (people: readonly PeopleIndex[], split: { train: number[]; test: number[] }) => void,
): ModelOutputDocument {
  if (features.length === 0) throw new TrainingProblem('PolicyRefused', 'a model needs at least one feature');
  if (spec.algorithm === 'logistic' && !isNumericType(target.type)) {
    throw new TrainingProblem('PolicyRefused', `target ${target.name} must be BOOLEAN or a number (read as value <> 0) for a logistic model (it is ${target.type})`);
  }
  if (spec.algorithm === 'linear' && !isNumericType(target.type)) {
    throw new TrainingProblem('PolicyRefused', `target ${target.name} must be a number for a linear model (it is ${target.type})`);
  }
  const { k } = options;
  const logistic = spec.algorithm === 'logistic';
  const withheldFeatures: WithheldFeature[] = [];
  const withhold = (reason: string): WithheldModelDocument => ({
    format: modelFormat,
    name: spec.model,
    algorithm: spec.algorithm,
    target: target.name,
    withheld: { reason, features: withheldFeatures },
    l2: spec.l2,
    split: { testFraction: spec.testFraction, seed: spec.seed },
  });

  const numeric = features.map((feature) => isNumericType(feature.type));
  const rows = aggregateRows(spec, target, features, numeric, options.people);
  const counter = new PeopleCounter(rows.people);
  const all = Array.from({ length: rows.target.length }, (_unused, row) => row);
  const fewPeople = (part: readonly number[], what: string): string | null => {
    if (rows.people.length === 0) return part.length < k ? `${what} need at least k = ${k} rows` : null;
    const table = counter.short(part, k);
    return table < 0 ? null : `${what} come from fewer than k = ${k} people of ${(rows.people[table] as PeopleIndex).table}`;
  };
  const used = fewPeople(all, 'the training rows (those with no NULL in the target or a feature)');
  if (used !== null) return withhold(used);
  const split = splitByPeople(rows, spec);
  onSplit(rows.people, split);
  const trainFew = fewPeople(split.train, 'the rows of the training part');
  if (trainFew !== null) return withhold(trainFew);
  const testFew = fewPeople(split.test, 'the rows of the held-out part');
  if (testFew !== null) return withhold(`${testFew}: raise test-fraction or select more people`);

  // The target, on the training part: both classes (logistic) from k people or more; or (linear) its
  // values other than the most common one from k people or more, not dominated by a few.
  const classes = (part: readonly number[]): boolean => counter.enough(part.filter((row) => rows.target[row] === 1), k) && counter.enough(part.filter((row) => rows.target[row] === 0), k);
  const trainGrouped = byPerson(split.train, rows.people);
  const classNames = target.type.trim().toUpperCase() === 'BOOLEAN' ? 'true and false' : 'non-zero and zero';
  if (logistic && !classes(split.train)) {
    return withhold(`target ${target.name}: each of its two classes (${classNames}) needs at least k = ${k} ${rows.people.length === 0 ? 'rows' : 'people'} in the training part`);
  }
  if (!logistic) {
    const rule = numericRule(trainGrouped, (row) => rows.target[row] as number, rows.people, counter, k);
    if (!rule.ok) return withhold(`target ${target.name}: ${rule.reason}`);
  }

  // The features, on the training part: each kept as it is, mapped (rare levels to the reference), or withheld.
  const plans = features.map((_feature, position) => {
    if (numeric[position]) {
      const rule = numericRule(trainGrouped, (row) => (rows.features[row] as Cell[])[position] as number, rows.people, counter, k);
      return rule.ok ? { kind: 'numeric' as const } : { kind: 'withheld' as const, reason: rule.reason };
    }
    const rule = categoricalRule(split.train, (row) => (rows.features[row] as Cell[])[position] as string, rows.people, counter, k);
    return rule.ok ? { kind: 'categorical' as const, plan: rule.plan } : { kind: 'withheld' as const, reason: rule.reason };
  });
  features.forEach((feature, position) => {
    const plan = plans[position];
    if (plan?.kind === 'withheld') withheldFeatures.push({ name: feature.name, reason: plan.reason });
  });
  const keptPositions = plans.flatMap((plan, position) => (plan.kind === 'withheld' ? [] : [position]));
  if (keptPositions.length === 0) return withhold('every feature was withheld');

  // What the model sees of each row: kept features only, rare levels as the reference.
  const seen: Cell[][] = rows.features.map((cells) =>
    keptPositions.map((position) => {
      const plan = plans[position];
      const cell = cells[position] as Cell;
      if (plan?.kind !== 'categorical') return cell;
      const level = cell as string;
      return plan.plan.kept.has(level) ? level : plan.plan.reference;
    }),
  );
  // Each part in the order of what the model sees (the target, then the kept cells, a level by its
  // text): a fixed order whatever order DuckDB gave, so the sums come out the same to the last bit.
  const source: DesignSource = { target: rows.target, features: seen };
  const sortKeys = keptPositions.map((_position, column) => {
    const cells = seen.map((cells) => cells[column] as Cell);
    if (typeof cells[0] === 'number') return Float64Array.from(cells as number[]);
    const levels = [...new Set(cells as string[])].sort(compareText);
    const rank = new Map(levels.map((level, index) => [level, index]));
    return Float64Array.from(cells as string[], (level) => rank.get(level) as number);
  });
  const byWhatIsSeen = (a: number, b: number): number => {
    const byTarget = (rows.target[a] as number) - (rows.target[b] as number);
    if (byTarget !== 0) return byTarget;
    for (const keys of sortKeys) {
      const compared = (keys[a] as number) - (keys[b] as number);
      if (compared !== 0) return compared;
    }
    return 0;
  };
  const train = [...split.train].sort(byWhatIsSeen);
  const test = [...split.test].sort(byWhatIsSeen);
  const featureOf = ['(intercept)'];
  const encodings = keptPositions.map((position): Encoding => {
    const feature = features[position] as TrainingColumn;
    const plan = plans[position];
    const column = keptPositions.indexOf(position);
    if (plan?.kind === 'categorical') {
      const levels = new Map<string, number>();
      for (const level of plan.plan.named) {
        featureOf.push(feature.name);
        levels.set(level, featureOf.length - 1);
      }
      let other = -1;
      if (plan.plan.other.size > 0) {
        featureOf.push(feature.name);
        other = featureOf.length - 1;
      }
      return { kind: 'categorical', name: feature.name, reference: plan.plan.reference, levels, other };
    }
    const values = train.map((row) => (seen[row] as Cell[])[column] as number);
    const mean = values.reduce((sum, x) => sum + x, 0) / values.length;
    const scale = Math.sqrt(values.reduce((sum, x) => sum + (x - mean) ** 2, 0) / values.length);
    featureOf.push(feature.name);
    return { kind: 'numeric', name: feature.name, mean, scale, term: featureOf.length - 1 };
  });
  if (featureOf.length > maxModelTerms) return withhold(`the features make more than ${maxModelTerms} model terms`);
  if (encodings.some((encoding) => encoding.kind === 'numeric' && !(encoding.scale > 0 && Number.isFinite(encoding.scale) && Number.isFinite(encoding.mean)))) {
    return withhold('a feature has no finite spread in the training part');
  }
  const terms: Terms = { encodings, count: featureOf.length, featureOf };

  const trainDesign = designOf(source, terms, train);
  const testDesign = designOf(source, terms, test);
  const l2 = Math.max(spec.l2, minimumL2PerRow * train.length);
  let fitted: Fitted;
  try {
    fitted = logistic ? fitLogistic(trainDesign, terms, l2) : fitLinear(trainDesign, terms, l2);
  } catch (error) {
    if (error instanceof TrainingProblem) return withhold(`the fit could not be made: ${error.reason}`);
    throw error;
  }
  if (!fitted.beta.every(Number.isFinite)) return withhold('the fit did not give finite coefficients');
  const coefficient = (term: number): number => fitted.beta[term] as number;

  // Metrics: the training part met the target's rule; the held-out part must too.
  let trainMetrics: ModelMetrics;
  let testMetrics: ModelMetrics;
  let trainReason: string | null = null;
  let testReason: string | null = null;
  let roc: ModelDocument['roc'] = [];
  if (logistic) {
    trainMetrics = logisticMetrics(trainDesign, fitted.beta);
    if (!accuracyIsQuiet(trainDesign, fitted.beta, train, counter, k)) {
      trainMetrics = { ...trainMetrics, accuracy: null };
      trainReason = `accuracy: on one side of the 0.5 threshold a class has rows of fewer than k = ${k} people`;
    }
    if (!classes(split.test)) {
      testMetrics = emptyMetrics(test.length);
      testReason = `the held-out part has fewer than k = ${k} ${rows.people.length === 0 ? 'rows' : 'people'} in one of the target's classes`;
    } else {
      testMetrics = logisticMetrics(testDesign, fitted.beta);
      const testScored = scored(testDesign, fitted.beta);
      const rowOf = (position: number): number => test[testScored.order[position] as number] as number;
      const quiet = accuracyIsQuiet(testDesign, fitted.beta, test, counter, k);
      if (!quiet) {
        testMetrics = { ...testMetrics, accuracy: null };
        testReason = `accuracy: on one side of the 0.5 threshold a class has rows of fewer than k = ${k} people`;
      }
      roc = thinnedRoc(testScored, rowOf, counter, k, quiet);
    }
  } else {
    trainMetrics = linearMetrics(trainDesign, fitted.beta);
    const rule = numericRule(byPerson(split.test, rows.people), (row) => rows.target[row] as number, rows.people, counter, k);
    if (rule.ok) testMetrics = linearMetrics(testDesign, fitted.beta);
    else {
      testMetrics = emptyMetrics(test.length);
      testReason = `target ${target.name} in the held-out part: ${rule.reason}`;
    }
  }

  const modelFeatures = modelFeaturesOf(terms.encodings, coefficient);
  return {
    format: modelFormat,
    name: spec.model,
    algorithm: spec.algorithm,
    target: target.name,
    positiveLabel: positiveLabelOf(logistic, target.type),
    intercept: coefficient(0),
    features: modelFeatures,
    l2,
    split: { testFraction: spec.testFraction, seed: spec.seed, trainRows: train.length, testRows: test.length },
    metrics: { train: trainMetrics, test: testMetrics },
    roc,
    fit: { method: fitted.method, iterations: fitted.iterations, converged: fitted.converged },
    withheld: { features: withheldFeatures, metrics: { train: trainReason, test: testReason } },
  };
}
