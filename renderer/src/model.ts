// How a model output reads on screen: the document from its one row, the metric cards, the terms
// ranked by weight, the ROC curve's points, file names for export and scoring, and a preview of a
// scored CSV. Pure (no DOM) so node:test checks it; the document's format is shared/model.ts.
import { type ModelDocument, type ModelMetrics, type ModelTerm, modelTerms, parseModelOutput, type WithheldModelDocument, withheldLabel } from '../../shared/model.js';
import { parseNumber } from './duckdbValues.js';
import { formatNumber } from './numberFormat.js';
import { formatValue } from './scales.js';

/** A model output read: a fitted model, or (aggregate mode) the document saying why it was withheld. */
export type ModelRead =
  | { readonly ok: true; readonly model: ModelDocument; readonly withheld: null }
  | { readonly ok: true; readonly model: null; readonly withheld: WithheldModelDocument }
  | { readonly ok: false; readonly reason: string };

/** The model document held by a model output's rows (one row, one JSON value). */
export function readModelRows(rows: readonly (readonly (string | null)[])[]): ModelRead {
  const text = rows[0]?.[0];
  if (rows.length !== 1 || typeof text !== 'string') return { ok: false, reason: 'a model output holds one row with the model document' };
  return parseModelOutput(text);
}

/** What a model aggregate mode withheld says, as lines: the rule, then any feature withheld before it. */
export function withheldModelLines(model: WithheldModelDocument): string[] {
  return [model.withheld.reason, ...model.withheld.features.map((feature) => `${feature.name}: ${feature.reason}`)];
}

/** The features an aggregate-mode model left out, each with the rule it broke ("age: fewer than k = 10 people …"). */
export function withheldFeatureNotes(model: ModelDocument): string[] {
  return (model.withheld?.features ?? []).map((feature) => `${feature.name}: ${feature.reason}`);
}

export const algorithmLabels: Record<ModelDocument['algorithm'], string> = {
  logistic: 'Logistic regression',
  linear: 'Linear regression',
};

/** What the model predicts, in words: "P(readmitted = 1)" or "length_of_stay". */
export function predictsLabel(model: ModelDocument): string {
  return model.algorithm === 'logistic' ? `P(${model.target} = ${model.positiveLabel ?? '1'})` : model.target;
}

const count = (value: number): string => new Intl.NumberFormat('en-US').format(value);

/** "1,600 training rows · 400 held out (20%) · 3 left out (a missing value)" */
export function splitLabel(model: ModelDocument): string {
  const { trainRows, testRows, droppedRows, testFraction } = model.split;
  const parts = [`${count(trainRows)} training ${trainRows === 1 ? 'row' : 'rows'}`, `${count(testRows)} held out (${Math.round(testFraction * 100)}%)`];
  if (droppedRows !== undefined && droppedRows > 0) parts.push(`${count(droppedRows)} left out (a missing value)`);
  return parts.join(' · ');
}

/** "Newton's method, converged in 6 iterations" or "Least squares (ridge, λ = 1)". */
export function fitLabel(model: ModelDocument): string {
  const { method, iterations, converged } = model.fit;
  if (method === 'least-squares') return model.l2 > 0 ? `Least squares (ridge, λ = ${formatValue(model.l2)})` : 'Least squares';
  const steps = `${iterations} ${iterations === 1 ? 'iteration' : 'iterations'}`;
  const penalty = model.l2 > 0 ? `, L2 λ = ${formatValue(model.l2)}` : '';
  return converged ? `Newton's method, converged in ${steps}${penalty}` : `Newton's method, stopped after ${steps} without converging${penalty}`;
}

export type MetricKey = 'auc' | 'accuracy' | 'logLoss' | 'rmse' | 'r2' | 'mae';

export interface MetricCard {
  readonly key: MetricKey;
  readonly label: string;
  /** On the held-out rows: the number to judge the model by. */
  readonly test: string;
  /** On the training rows, beside it: far better than `test` means the model learnt the rows by heart. */
  readonly train: string;
  readonly testValue: number | null;
  readonly explanation: string;
  /** Aggregate mode: why the held-out value is withheld, when it is. */
  readonly testWithheld: string | null;
}

const metricInfo: Record<MetricKey, { label: string; explanation: string; format: (value: number) => string }> = {
  auc: {
    label: 'AUC',
    explanation: 'The chance a random positive row scores above a random negative one: 0.5 is guessing, 1 is perfect.',
    format: (value) => value.toFixed(3),
  },
  accuracy: { label: 'Accuracy', explanation: 'Share of rows whose label is right at a 0.5 threshold.', format: (value) => `${(value * 100).toFixed(1)}%` },
  logLoss: { label: 'Log loss', explanation: 'Mean negative log-likelihood of the true labels: lower is better.', format: (value) => value.toFixed(3) },
  rmse: { label: 'RMSE', explanation: 'Root mean squared error, in the target’s units: lower is better.', format: formatValue },
  r2: { label: 'R²', explanation: 'Share of the target’s variance the model explains: 1 is perfect, 0 is the mean.', format: (value) => value.toFixed(3) },
  mae: { label: 'MAE', explanation: 'Mean absolute error, in the target’s units: lower is better.', format: formatValue },
};

const metricsShown: Record<ModelDocument['algorithm'], readonly MetricKey[]> = {
  logistic: ['auc', 'accuracy', 'logLoss'],
  linear: ['rmse', 'r2', 'mae'],
};

/**
 * The cards the viewer shows, held-out value first with the training value beside it; "—" where
 * there is none, "withheld (fewer than k people)" where aggregate mode left it out.
 */
export function metricCards(model: ModelDocument): MetricCard[] {
  const text = (metrics: ModelMetrics, key: MetricKey, withheld: string | null | undefined): string => {
    const value = metrics[key];
    if (value === null) return typeof withheld === 'string' ? withheldLabel : '—';
    return metricInfo[key].format(value);
  };
  const testWithheld = model.withheld?.metrics.test ?? null;
  return metricsShown[model.algorithm].map((key) => ({
    key,
    label: metricInfo[key].label,
    test: text(model.metrics.test, key, testWithheld),
    train: text(model.metrics.train, key, model.withheld?.metrics.train),
    testValue: model.metrics.test[key],
    explanation: metricInfo[key].explanation,
    testWithheld: model.metrics.test[key] === null ? testWithheld : null,
  }));
}

export interface RankedTerm extends ModelTerm {
  /** |coefficient| over the largest |coefficient|: the bar's length, 0 to 1. */
  readonly share: number;
}

/** The model's terms, largest |coefficient| first (ties by term), each with its bar length. */
export function rankedTerms(model: ModelDocument): RankedTerm[] {
  const terms = modelTerms(model);
  const largest = Math.max(0, ...terms.map((term) => Math.abs(term.coefficient)));
  return terms
    .map((term) => ({ ...term, share: largest === 0 ? 0 : Math.abs(term.coefficient) / largest }))
    .sort((a, b) => Math.abs(b.coefficient) - Math.abs(a.coefficient) || (a.term < b.term ? -1 : a.term > b.term ? 1 : 0));
}

/** A coefficient with its sign always written ("+0.4123", "-1.275", "0"), by the rule of numberFormat.ts. */
export function formatCoefficient(value: number, locale?: string): string {
  return formatNumber(value, { locale, signed: true });
}

export interface RocPoint {
  readonly fpr: number;
  readonly tpr: number;
  /** The score threshold this point is for; null for the curve's added ends. */
  readonly threshold: number | null;
}

/**
 * The held-out ROC curve as points to join, from (0, 0) to (1, 1): the model's thresholds from
 * 1.00 down to 0.00 move the point up and right; the ends are added if the thresholds miss them.
 */
export function rocCurve(model: ModelDocument): RocPoint[] {
  if (model.roc.length === 0) return [];
  const points: RocPoint[] = [...model.roc]
    .sort((a, b) => b.threshold - a.threshold)
    .map((point) => ({ fpr: point.fpr, tpr: point.tpr, threshold: point.threshold }));
  const first = points[0];
  const last = points[points.length - 1];
  if (first !== undefined && (first.fpr !== 0 || first.tpr !== 0)) points.unshift({ fpr: 0, tpr: 0, threshold: null });
  if (last !== undefined && (last.fpr !== 1 || last.tpr !== 1)) points.push({ fpr: 1, tpr: 1, threshold: null });
  return points;
}

export interface CsvPreview {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: readonly (string | null)[][];
}

/**
 * The first `maxRows` rows of a CSV as shared/csv.ts writes it (RFC 4180, CRLF): an unquoted empty
 * field is null (no value; csv.ts writes an empty text so too), a quoted one is empty text. Column types are read from the values
 * shown (whole numbers BIGINT, other numbers DOUBLE, else VARCHAR), so numbers align right.
 */
export function csvPreview(text: string, maxRows: number): CsvPreview {
  const records: (string | null)[][] = [];
  let record: (string | null)[] = [];
  let index = 0;
  const length = text.length;
  // One record more than asked: the header.
  while (index < length && records.length <= maxRows) {
    let value: string | null;
    if (text[index] === '"') {
      let end = index + 1;
      let out = '';
      for (;;) {
        const quote = text.indexOf('"', end);
        if (quote === -1) {
          out += text.slice(end);
          end = length;
          break;
        }
        out += text.slice(end, quote);
        if (text[quote + 1] === '"') {
          out += '"';
          end = quote + 2;
        } else {
          end = quote + 1;
          break;
        }
      }
      value = out;
      index = end;
    } else {
      let end = index;
      while (end < length && text[end] !== ',' && text[end] !== '\r' && text[end] !== '\n') end++;
      value = end === index ? null : text.slice(index, end);
      index = end;
    }
    record.push(value);
    const next = text[index];
    if (next === ',') {
      index++;
      continue;
    }
    // End of the record: CRLF, LF, CR or the end of the text.
    if (next === '\r' && text[index + 1] === '\n') index += 2;
    else if (next !== undefined) index++;
    records.push(record);
    record = [];
  }
  const header = records[0] ?? [];
  const rows = records.slice(1, maxRows + 1);
  const columns = header.map((name, at) => ({ name: name ?? '', type: previewType(rows.map((row) => row[at] ?? null)) }));
  return { columns, rows };
}

function previewType(values: readonly (string | null)[]): string {
  const present = values.filter((value): value is string => value !== null);
  if (present.length === 0 || !present.every((value) => parseNumber(value) !== null)) return 'VARCHAR';
  return present.every((value) => /^-?\d+$/u.test(value)) ? 'BIGINT' : 'DOUBLE';
}

/** "Scored 498 of 500 rows; 2 lacked a feature value (no prediction)." */
export function predictionSummary(prediction: { readonly rows: number; readonly scored: number }): string {
  const { rows, scored } = prediction;
  const head = scored === rows ? `Scored all ${count(rows)} ${rows === 1 ? 'row' : 'rows'}.` : `Scored ${count(scored)} of ${count(rows)} rows;`;
  if (scored === rows) return head;
  const missing = rows - scored;
  return `${head} ${count(missing)} lacked a feature value (no prediction).`;
}
