// Models made by train cells (issue 6): the options a train cell takes, the model document that is
// the only thing a train cell lets out of the worker, and scoring one row with it. Pure: the worker
// fits (electron/worker/fit.ts), while the CLI's `predict`, the model viewer and the tests read the
// same document through these validators.
import { assetNameSchema } from './asset.js';
import { type Cell } from './notebook.js';
import { array, boolean, type Infer, integer, nullable, number, object, oneOf, optional, parse, refine, string, variants } from './validate.js';

export const modelFormat = 'cleanroom-model/1';
export const modelAlgorithms = ['logistic', 'linear'] as const;
export type ModelAlgorithm = (typeof modelAlgorithms)[number];

/** The column of a model output table: one row holding the model document as JSON text. */
export const modelColumnName = 'model';
export const modelColumnType = 'JSON';

export const maxModelFeatures = 200;
/** Categorical levels kept per feature; the rest are folded into "(other)" (aggregate mode: levels fewer than k people share are folded into the reference instead). */
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
 * Categorical: one-hot against the reference level (the most frequent in the training rows).
 * Reviewed mode: levels past the level cap share `other`. Aggregate mode: the reference is the
 * level the most people share, levels fewer than k people share count as the reference (they are
 * neither named nor given a coefficient), and only levels past the cap (each of k people or more)
 * share `other`.
 */
export const modelFeatureSchema = variants('kind', {
  numeric: object({
    name: string({ min: 1, max: 255 }),
    mean: finite,
    /** The training rows' standard deviation (> 0: constant features are refused, or withheld in aggregate mode). */
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

/** Longest reason a model document gives for something it withholds. */
const maxWithheldReasonLength = 500;
const withheldReason = string({ min: 1, max: maxWithheldReasonLength });

/** A feature the model leaves out (aggregate mode), and the rule it broke: names the column, never a value. */
export const withheldFeatureSchema = object({ name: string({ min: 1, max: 255 }), reason: withheldReason });
export type WithheldFeature = Infer<typeof withheldFeatureSchema>;

/**
 * What an aggregate-mode model leaves out, and why. Absent from reviewed-mode documents and from
 * documents made before it existed.
 */
export const modelWithheldSchema = object({
  /** Requested features that are not in the model (each with the rule it broke). */
  features: array(withheldFeatureSchema, { max: maxModelFeatures }),
  /** Why the metrics of each part are null (and, for the held-out part, why the ROC curve is empty); null when they are given. */
  metrics: object({ train: nullable(withheldReason), test: nullable(withheldReason) }),
});
export type ModelWithheld = Infer<typeof modelWithheldSchema>;

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
      /**
       * Reviewed mode: rows left out because the target or a feature was NULL. Never in an
       * aggregate-mode document: it would count the rows of however few people had a NULL.
       */
      droppedRows: optional(integer({ min: 0 })),
    }),
    metrics: object({ train: modelMetricsSchema, test: modelMetricsSchema }),
    /**
     * Logistic: the held-out ROC curve at fixed thresholds 1.00, 0.99 … 0.00; empty for linear. In
     * aggregate mode only thresholds between which at least k people (or none) of each class move.
     */
    roc: array(object({ threshold: number({ min: 0, max: 1 }), fpr: number({ min: 0, max: 1 }), tpr: number({ min: 0, max: 1 }) }), { max: 1001 }),
    fit: object({ method: oneOf(['newton', 'least-squares']), iterations: integer({ min: 0 }), converged: boolean() }),
    /** Aggregate mode: the features and metrics left out, each with its rule. */
    withheld: optional(modelWithheldSchema),
  }),
  (model) => {
    if (model.algorithm === 'logistic' && model.positiveLabel === null) return 'a logistic model names its positive label';
    if (model.algorithm === 'linear' && model.roc.length > 0) return 'a linear model has no ROC curve';
    return null;
  },
);
export type ModelDocument = Infer<typeof modelDocumentSchema>;

/**
 * What an aggregate-mode train cell lets out when the rows cannot give a model without singling
 * someone out (too few people, a target fewer than k people hold, no feature left…): the request
 * and the rule, no coefficient, no count, no metric. Its output row holds this instead of a model.
 */
export const withheldModelSchema = object({
  format: oneOf([modelFormat]),
  name: assetNameSchema,
  algorithm: oneOf(modelAlgorithms),
  target: string({ min: 1, max: 255 }),
  withheld: object({
    /** The rule the rows did not meet: names columns and k, never a value or a count of rows. */
    reason: withheldReason,
    /** Features already withheld on their own when the model was (empty when that was not reached). */
    features: array(withheldFeatureSchema, { max: maxModelFeatures }),
  }),
  l2: number({ min: 0 }),
  split: object({ testFraction: number({ min: 0, max: 1 }), seed: integer({ min: 0, max: 0xffffffff }) }),
});
export type WithheldModelDocument = Infer<typeof withheldModelSchema>;

/** What a model output holds: a fitted model, or (aggregate mode) the reason there is none. */
export type ModelOutputDocument = ModelDocument | WithheldModelDocument;

export const isWithheldModel = (document: ModelOutputDocument): document is WithheldModelDocument => !('features' in document);

export type ModelOutputRead =
  | { readonly ok: true; readonly model: ModelDocument; readonly withheld: null }
  | { readonly ok: true; readonly model: null; readonly withheld: WithheldModelDocument }
  | { readonly ok: false; readonly reason: string };

const issueText = (issue: { path: string; message: string }): string => `${issue.path === '' ? '' : `${issue.path}: `}${issue.message}`;

/**
 * Documents written before `fit.converged` became a JSON boolean said "yes" or "no"; they are read
 * as the boolean, so stored outputs and saved model files keep working.
 */
function withBooleanConverged(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || !('fit' in value)) return value;
  const { fit } = value;
  if (typeof fit !== 'object' || fit === null || !('converged' in fit)) return value;
  const { converged } = fit;
  if (converged !== 'yes' && converged !== 'no') return value;
  return { ...value, fit: { ...fit, converged: converged === 'yes' } };
}

/** A model output's document from its JSON text: a fitted model or a withheld one. */
export function parseModelOutput(text: string): ModelOutputRead {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'it is not JSON' };
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !('features' in value) && 'withheld' in value) {
    const withheld = parse(withheldModelSchema, value);
    return withheld.ok ? { ok: true, model: null, withheld: withheld.value } : { ok: false, reason: issueText(withheld.issue) };
  }
  const checked = parse(modelDocumentSchema, withBooleanConverged(value));
  return checked.ok ? { ok: true, model: checked.value, withheld: null } : { ok: false, reason: issueText(checked.issue) };
}

/**
 * A fitted model from its JSON text (a model output's one value, or an exported file); a withheld
 * model is not one, and the reason says why it was withheld.
 */
export function parseModelDocument(text: string): { ok: true; model: ModelDocument } | { ok: false; reason: string } {
  const read = parseModelOutput(text);
  if (!read.ok) return read;
  if (read.model === null) return { ok: false, reason: `the model was withheld: ${read.withheld.withheld.reason}` };
  return { ok: true, model: read.model };
}

/** What the viewer and the CLI say for anything an aggregate-mode model withholds. */
export const withheldLabel = 'withheld (fewer than k people)';

/** Longest model document text (its output row's one value). */
export const maxModelTextLength = 1_000_000;

/** The model as the JSON text stored in its output row: keys in schema order, compact. */
export function modelDocumentText(model: ModelOutputDocument): string {
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

/** A file name's safe stem: letters, digits, `_ . -` only, no leading dots; `fallback` if nothing is left. */
export function safeFileStem(name: string, fallback: string): string {
  const safe = name.replace(/[^A-Za-z0-9_.-]+/gu, '_').replace(/^\.+/u, '');
  return safe === '' ? fallback : safe;
}

/** An exported model's file name: `NAME.json`. */
export function modelFileName(modelName: string): string {
  return `${safeFileStem(modelName, 'model')}.json`;
}

/** A scored file's name, from the scored file's path or name: `admissions.csv` → `admissions-scored.csv`. */
export function scoredFileName(sourceName: string): string {
  const base = sourceName.split(/[\\/]/u).pop() ?? '';
  return `${safeFileStem(base.replace(/\.[^.]*$/u, ''), 'scored')}-scored.csv`;
}
