// How models and predictions read on a terminal. Pure: values in, lines out.
import { type Prediction } from '../../shared/contract.js';
import { isWithheldModel, type ModelDocument, type ModelMetrics, type ModelOutputDocument, modelTerms, type WithheldModelDocument, withheldLabel } from '../../shared/model.js';
import { type OutputView } from '../../shared/run.js';
import { readableTime, shortId } from './format.js';
import { shellWord } from './format-runs.js';

const label = (text: string, width = 12): string => text.padEnd(width);

const plural = (count: number, one: string, many = `${one}s`): string => `${count} ${count === 1 ? one : many}`;

/**
 * A coefficient or metric for reading: four significant digits, exponent form only for very large
 * or very small values, and no `-0`.
 */
export function numberText(value: number | null): string {
  if (value === null) return '-';
  if (value === 0 || Object.is(value, -0)) return '0';
  const size = Math.abs(value);
  if (size >= 1e6 || size < 1e-4) return value.toExponential(3);
  return String(Number(value.toPrecision(4)));
}

const percentText = (share: number): string => `${String(Number((share * 100).toPrecision(3)))}%`;

/** The metric rows of a model's algorithm: [label, held-out, training]; "withheld" where aggregate mode left a metric out. */
function metricRows(model: ModelDocument): string[][] {
  const shown = (value: number | null, withheld: string | null | undefined): string => (value === null && typeof withheld === 'string' ? 'withheld' : numberText(value));
  const row = (name: string, pick: (metrics: ModelMetrics) => number | null): string[] => [
    name,
    shown(pick(model.metrics.test), model.withheld?.metrics.test),
    shown(pick(model.metrics.train), model.withheld?.metrics.train),
  ];
  return model.algorithm === 'logistic'
    ? [row('AUC', (m) => m.auc), row('Accuracy', (m) => m.accuracy), row('Log loss', (m) => m.logLoss)]
    : [row('RMSE', (m) => m.rmse), row('R²', (m) => m.r2), row('MAE', (m) => m.mae)];
}

/** Columns two spaces apart; the first left-aligned, the others right-aligned. */
function aligned(rows: readonly (readonly string[])[], indent = ''): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, [...cell].length)));
  return rows.map(
    (row) =>
      indent +
      row
        .map((cell, index) => {
          const pad = ' '.repeat((widths[index] ?? 0) - [...cell].length);
          return index === 0 ? cell + pad : pad + cell;
        })
        .join('  ')
        .trimEnd(),
  );
}

/** What the model predicts, in words: "the probability that readmitted = 1". */
function predictsText(model: ModelOutputDocument): string {
  if (model.algorithm !== 'logistic') return model.target;
  return isWithheldModel(model) ? `the probability that ${model.target} is positive` : `the probability that ${model.target} = ${model.positiveLabel ?? '1'}`;
}

/** Where a model output came from, when it was read from a room. */
function madeByLine(output: OutputView | null): string[] {
  return output === null ? [] : [`${label('Made by')}run ${shortId(output.run)} of "${output.snapshotName}", run by ${output.runner}, ${readableTime(output.createdAt)}`];
}

/** Aggregate mode's withheld features: one line each, the rule it broke. */
function withheldFeatureLines(features: readonly { name: string; reason: string }[]): string[] {
  return features.map((feature) => `  ${feature.name}: ${withheldLabel}: ${feature.reason}`);
}

/** A model aggregate mode withheld: what was asked, and the rule the rows did not meet. */
function withheldModelLines(model: WithheldModelDocument, output: OutputView | null): string[] {
  const lines = [
    `${label('Model')}${model.name}: ${model.algorithm === 'logistic' ? 'logistic' : 'linear'} regression predicting ${predictsText(model)}: ${withheldLabel}`,
    ...madeByLine(output),
    `${label('Withheld')}${model.withheld.reason}`,
    'No coefficient, row count or metric is given: the model would have told something about fewer than k people.',
  ];
  if (model.withheld.features.length > 0) lines.push('', 'Features withheld before that:', ...withheldFeatureLines(model.withheld.features));
  return lines;
}

/**
 * `cleanroom model show`: what the model is, where it came from, its metrics on the held-out and
 * training rows, and its terms by size of effect; or, for a model aggregate mode withheld, why.
 * `output` is the room output it was read from.
 */
export function modelLines(document: ModelOutputDocument, output: OutputView | null): string[] {
  if (isWithheldModel(document)) return withheldModelLines(document, output);
  const model = document;
  const { split, fit } = model;
  const dropped = split.droppedRows ?? 0;
  const lines = [
    `${label('Model')}${model.name}: ${model.algorithm === 'logistic' ? 'logistic' : 'linear'} regression predicting ${predictsText(model)}`,
    ...madeByLine(output),
  ];
  lines.push(
    `${label('Rows')}${split.trainRows} to train, ${split.testRows} held out (${percentText(split.testFraction)}, seed ${split.seed})` +
      (dropped === 0 ? '' : `; ${plural(dropped, 'row')} left out for a missing value`),
    `${label('Fit')}${fit.method === 'newton' ? "Newton's method" : 'least squares'}, ${plural(fit.iterations, 'iteration')}, ${fit.converged ? 'converged' : 'did NOT converge'}; L2 penalty ${numberText(model.l2)}`,
    '',
    ...aligned([['Metric', 'held out', 'training'], ...metricRows(model)]),
  );
  for (const [part, reason] of [['held out', model.withheld?.metrics.test], ['training', model.withheld?.metrics.train]] as const) {
    if (typeof reason === 'string') lines.push(`  ${part}: ${withheldLabel}: ${reason}`);
  }
  lines.push('');

  const terms = [...modelTerms(model)].sort((a, b) => Math.abs(b.coefficient) - Math.abs(a.coefficient) || a.term.localeCompare(b.term));
  lines.push('Coefficients, largest effect first (numeric: per standard deviation of the training rows, and per unit):');
  lines.push(
    ...aligned(
      [
        ['TERM', 'PER SD / LEVEL', 'PER UNIT'],
        ['(intercept)', numberText(model.intercept), ''],
        ...terms.map((term) => [term.term, numberText(term.coefficient), term.perUnit === null ? '' : numberText(term.perUnit)]),
      ],
      '  ',
    ),
  );
  const notes: string[] = [];
  for (const feature of model.features) {
    if (feature.kind === 'numeric') notes.push(`  ${feature.name}: mean ${numberText(feature.mean)}, SD ${numberText(feature.scale)}`);
    else {
      const other = feature.other === null ? 'levels not seen in training count as the reference' : 'rare and unseen levels share (other)';
      notes.push(`  ${feature.name}: compared with ${feature.reference === '' ? 'the empty value' : feature.reference} (the most frequent level); ${other}`);
    }
  }
  lines.push('', 'Features:', ...notes);
  if (model.withheld !== undefined && model.withheld.features.length > 0) lines.push('', 'Features left out of the model:', ...withheldFeatureLines(model.withheld.features));
  if (model.algorithm === 'logistic') {
    lines.push(
      '',
      model.roc.length === 0 && typeof model.withheld?.metrics.test === 'string'
        ? `The held-out ROC curve is ${withheldLabel}.`
        : `The held-out ROC curve (${model.roc.length} points) is in the model document: --json or \`cleanroom model save\`.`,
    );
  }
  return lines;
}

/** Where to go next after `model show`, with the names the person used. */
export function modelHintLines(room: string, model: string): string[] {
  return [
    `Save it as a file:    cleanroom model save ${shellWord(room)} ${shellWord(model)} --out F`,
    `Score a file with it: cleanroom predict ${shellWord(model)} --room ${shellWord(room)} --file F`,
  ];
}

/** `cleanroom model save`. */
export function modelSavedLines(model: ModelDocument, target: string): string[] {
  return [`Saved the model ${model.name} to ${target}.`, `Score a file with it on any machine: cleanroom predict ${shellWord(target)} --file F`];
}

/** How many rows got no prediction, or null when every row got one. */
export function unscoredLine(prediction: Prediction): string | null {
  const missing = prediction.rows - prediction.scored;
  if (missing === 0) return null;
  return `${plural(missing, 'row')} of ${prediction.rows} got no prediction: a feature value was missing or not a number.`;
}

/** `cleanroom predict --out F`. */
export function predictionLines(prediction: Prediction, source: string): string[] {
  const added = prediction.columns.slice(prediction.algorithm === 'logistic' ? -2 : -1);
  const what =
    prediction.algorithm === 'logistic'
      ? `${added[0] ?? 'prediction'} (the probability that ${prediction.target} is positive) and ${added[1] ?? 'predicted_label'}`
      : `${added[0] ?? 'prediction'} (the predicted ${prediction.target})`;
  const lines = [
    `Scored ${plural(prediction.rows, 'row')} of ${source}: ${prediction.scored} with a prediction.`,
    `Wrote ${prediction.outPath ?? '(nothing)'}: the file's columns, then ${what}.`,
  ];
  const missing = unscoredLine(prediction);
  if (missing !== null) lines.push(missing);
  return lines;
}
