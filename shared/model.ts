// Models made by train cells (issue 6): the options a train cell takes, the model document that is
// the only thing a train cell lets out of the worker, and scoring one row with it. Pure: the worker
// fits (electron/worker/fit.ts), while the CLI's `predict`, the model viewer and the tests read the
// same document through these validators.
import { assetNameSchema } from './asset.js';
import { type Cell } from './notebook.js';
import { array, type Infer, integer, nullable, number, object, oneOf, parse, refine, string, variants } from './validate.js';

export const modelFormat = 'cleanroom-model/1';
export const modelAlgorithms = ['logistic', 'linear'] as const;
export type ModelAlgorithm = (typeof modelAlgorithms)[number];

/** The column of a model output table: one row holding the model document as JSON text. */
export const modelColumnName = 'model';
export const modelColumnType = 'JSON';

export const maxModelFeatures = 200;
/** Categorical levels kept per feature; the rest are folded into "(other)". */
export const maxCategoricalLevels = 100;
export const otherLevelName = '(other)';
export const defaultTestFraction = 0.2;
export const defaultSeed = 1;
/** Default L2 penalty (λ in Σ loss + λ/2 Σ β², intercept not penalised) by algorithm. */
export const defaultL2: Record<ModelAlgorithm, number> = { logistic: 1, linear: 0 };

// ---- Train cell options -----------------------------------------------------------------------

/** What a train cell asks for, from `-- %% [train] model=NAME algorithm=… target=… features=…`. */
export interface TrainSpec {
  /** The model output's name. */
  readonly model: string;
  readonly algorithm: ModelAlgorithm;
  /** Result column to predict (logistic: 0/1 or boolean). */
  readonly target: string;
  /** Result columns to predict from, in order; numeric ones standardised, text ones one-hot. */
  readonly features: readonly string[];
  /** Share of rows held out for the test metrics, 0.05 to 0.5. */
  readonly testFraction: number;
  /** Seed of the held-out split; the same data and seed give the same split. */
  readonly seed: number;
  /** L2 penalty λ ≥ 0. */
  readonly l2: number;
}

export type TrainSpecCheck = { readonly ok: true; readonly spec: TrainSpec } | { readonly ok: false; readonly reasons: string[] };

const columnNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
const decimalPattern = /^\d+(\.\d+)?$/;

/**
 * Reads a train cell's options; every problem is named (never a value from data: options are the
 * notebook's own text). `output=` is refused on train cells: the model's name is `model=`.
 */
export function parseTrainOptions(cell: Pick<Cell, 'options' | 'output'>): TrainSpecCheck {
  const reasons: string[] = [];
  const option = (key: string): string | undefined => cell.options.find((candidate) => candidate.key === key)?.value;
  if (cell.output !== null) reasons.push('a train cell names its model with model=, not output=');
  const model = option('model');
  if (model === undefined) reasons.push('model=NAME is missing');
  else if (!parse(assetNameSchema, model).ok) reasons.push(`model=${model}: a model name is lower-case letters, digits and _, starting with a letter or _`);
  const algorithm = option('algorithm');
  if (algorithm === undefined) reasons.push('algorithm=logistic or algorithm=linear is missing');
  else if (!(modelAlgorithms as readonly string[]).includes(algorithm)) reasons.push(`algorithm=${algorithm} is not known; use logistic or linear`);
  const target = option('target');
  if (target === undefined) reasons.push('target=COLUMN is missing');
  else if (!columnNamePattern.test(target)) reasons.push(`target=${target} is not a column name`);
  const featureText = option('features');
  const features = featureText === undefined ? [] : featureText.split(',');
  if (featureText === undefined) reasons.push('features=A,B,C is missing');
  else {
    const seen = new Set<string>();
    for (const feature of features) {
      if (!columnNamePattern.test(feature)) reasons.push(`features: “${feature}” is not a column name`);
      else if (seen.has(feature.toLowerCase())) reasons.push(`features: ${feature} is listed twice`);
      else if (target !== undefined && feature.toLowerCase() === target.toLowerCase()) reasons.push(`features: ${feature} is the target`);
      seen.add(feature.toLowerCase());
    }
    if (features.length > maxModelFeatures) reasons.push(`features: at most ${maxModelFeatures}`);
  }
  const fractionText = option('test-fraction');
  const testFraction = fractionText === undefined ? defaultTestFraction : Number(fractionText);
  if (fractionText !== undefined && (!decimalPattern.test(fractionText) || testFraction < 0.05 || testFraction > 0.5)) {
    reasons.push(`test-fraction=${fractionText} must be a number from 0.05 to 0.5`);
  }
  const seedText = option('seed');
  const seed = seedText === undefined ? defaultSeed : Number(seedText);
  if (seedText !== undefined && (!/^\d{1,10}$/.test(seedText) || seed > 0xffffffff)) reasons.push(`seed=${seedText} must be a whole number from 0 to 4294967295`);
  const l2Text = option('l2');
  const chosen = (modelAlgorithms as readonly string[]).includes(algorithm ?? '') ? (algorithm as ModelAlgorithm) : 'logistic';
  const l2 = l2Text === undefined ? defaultL2[chosen] : Number(l2Text);
  if (l2Text !== undefined && (!decimalPattern.test(l2Text) || l2 > 1e6)) reasons.push(`l2=${l2Text} must be a number from 0 to 1000000`);
  if (reasons.length > 0) return { ok: false, reasons };
  return { ok: true, spec: { model: model as string, algorithm: chosen, target: target as string, features, testFraction, seed, l2 } };
}

// ---- The model document -----------------------------------------------------------------------

const finite = number();

/**
 * One feature as the model uses it. Numeric: the term is coefficient × (x − mean) / scale.
 * Categorical: one-hot against the reference level (the most frequent in the training rows);
 * levels with fewer than k training rows (aggregate mode) or past the level cap share `other`.
 */
export const modelFeatureSchema = variants('kind', {
  numeric: object({
    name: string({ min: 1, max: 255 }),
    mean: finite,
    /** The training rows' standard deviation (> 0: constant features are refused). */
    scale: number({ min: Number.MIN_VALUE }),
    coefficient: finite,
  }),
  categorical: object({
    name: string({ min: 1, max: 255 }),
    /** The level with no coefficient (the term is 0). */
    reference: string({ min: 0, max: 1000 }),
    levels: array(object({ level: string({ min: 0, max: 1000 }), coefficient: finite }), { max: maxCategoricalLevels }),
    /** The coefficient shared by folded and unseen levels; null when none were folded (unseen then score as the reference). */
    other: nullable(finite),
  }),
});
export type ModelFeature = Infer<typeof modelFeatureSchema>;

/** Metrics over one part of the split. Logistic fills auc, accuracy, logLoss; linear rmse, r2, mae. */
export const modelMetricsSchema = object({
  rows: integer({ min: 0 }),
  auc: nullable(finite),
  accuracy: nullable(finite),
  logLoss: nullable(finite),
  rmse: nullable(finite),
  r2: nullable(finite),
  mae: nullable(finite),
});
export type ModelMetrics = Infer<typeof modelMetricsSchema>;

export const modelDocumentSchema = refine(
  object({
    format: oneOf([modelFormat]),
    name: assetNameSchema,
    algorithm: oneOf(modelAlgorithms),
    target: string({ min: 1, max: 255 }),
    /** Logistic: the target's value counted as the positive class, as DuckDB writes it (`1`, `true`). */
    positiveLabel: nullable(string({ min: 1, max: 100 })),
    intercept: finite,
    features: array(modelFeatureSchema, { min: 1, max: maxModelFeatures }),
    l2: number({ min: 0 }),
    split: object({
      testFraction: number({ min: 0, max: 1 }),
      seed: integer({ min: 0, max: 0xffffffff }),
      trainRows: integer({ min: 0 }),
      testRows: integer({ min: 0 }),
      /** Rows left out because the target or a feature was NULL. */
      droppedRows: integer({ min: 0 }),
    }),
    metrics: object({ train: modelMetricsSchema, test: modelMetricsSchema }),
    /** Logistic: the held-out ROC curve at fixed thresholds 1.00, 0.99 … 0.00; empty for linear. */
    roc: array(object({ threshold: number({ min: 0, max: 1 }), fpr: number({ min: 0, max: 1 }), tpr: number({ min: 0, max: 1 }) }), { max: 1001 }),
    fit: object({ method: oneOf(['newton', 'least-squares']), iterations: integer({ min: 0 }), converged: oneOf(['yes', 'no']) }),
  }),
  (model) => {
    if (model.algorithm === 'logistic' && model.positiveLabel === null) return 'a logistic model names its positive label';
    if (model.algorithm === 'linear' && model.roc.length > 0) return 'a linear model has no ROC curve';
    return null;
  },
);
export type ModelDocument = Infer<typeof modelDocumentSchema>;

/** A model document from its JSON text (a model output's one value, or an exported file). */
export function parseModelDocument(text: string): { ok: true; model: ModelDocument } | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'it is not JSON' };
  }
  const checked = parse(modelDocumentSchema, value);
  return checked.ok ? { ok: true, model: checked.value } : { ok: false, reason: `${checked.issue.path === '' ? '' : `${checked.issue.path}: `}${checked.issue.message}` };
}

/** Longest model document text (its output row's one value). */
export const maxModelTextLength = 1_000_000;

/** The model as the JSON text stored in its output row: keys in schema order, compact. */
export function modelDocumentText(model: ModelDocument): string {
  return JSON.stringify(model);
}

/** The model as an exported `.json` file: the same document, indented for people. */
export function modelFileText(model: ModelDocument): string {
  return `${JSON.stringify(model, null, 2)}\n`;
}

// ---- Reading a model --------------------------------------------------------------------------

export interface ModelTerm {
  /** `age`, or `diagnosis=CHF` for a categorical level. */
  readonly term: string;
  readonly feature: string;
  readonly level: string | null;
  /** Per standard deviation for numeric features (comparable across features); per level otherwise. */
  readonly coefficient: number;
  /** Per unit of the raw column (numeric only): coefficient / scale. */
  readonly perUnit: number | null;
}

/** The model's terms in feature order, as the viewer and the CLI list them. */
export function modelTerms(model: ModelDocument): ModelTerm[] {
  return model.features.flatMap((feature): ModelTerm[] => {
    if (feature.kind === 'numeric') {
      return [{ term: feature.name, feature: feature.name, level: null, coefficient: feature.coefficient, perUnit: feature.coefficient / feature.scale }];
    }
    const levels = feature.levels.map((level) => ({ term: `${feature.name}=${level.level}`, feature: feature.name, level: level.level, coefficient: level.coefficient, perUnit: null }));
    return feature.other === null ? levels : [...levels, { term: `${feature.name}=${otherLevelName}`, feature: feature.name, level: otherLevelName, coefficient: feature.other, perUnit: null }];
  });
}

export type ScoreInput = string | number | boolean | null | undefined;

/**
 * The model's prediction for one row: the probability of the positive label (logistic) or the
 * predicted value (linear); null when a feature is missing or not a number where one is needed.
 * `valueOf` gets each feature's name. Text of a categorical value is compared as written.
 */
export function scoreRow(model: ModelDocument, valueOf: (feature: string) => ScoreInput): number | null {
  let sum = model.intercept;
  for (const feature of model.features) {
    const value = valueOf(feature.name);
    if (value === null || value === undefined) return null;
    if (feature.kind === 'numeric') {
      const x = typeof value === 'number' ? value : typeof value === 'boolean' ? (value ? 1 : 0) : value.trim() === '' ? Number.NaN : Number(value);
      if (!Number.isFinite(x)) return null;
      sum += (feature.coefficient * (x - feature.mean)) / feature.scale;
    } else {
      const level = String(value);
      if (level === feature.reference) continue;
      const found = feature.levels.find((candidate) => candidate.level === level);
      sum += found !== undefined ? found.coefficient : (feature.other ?? 0);
    }
  }
  return model.algorithm === 'logistic' ? 1 / (1 + Math.exp(-sum)) : sum;
}
