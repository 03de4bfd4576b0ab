// How models and predictions read on a terminal. Pure: values in, lines out.
import { type Prediction } from '../../shared/contract.js';
import { type ModelDocument, type ModelMetrics, modelTerms } from '../../shared/model.js';
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

/** The metric rows of a model's algorithm: [label, held-out, training]. */
function metricRows(model: ModelDocument): string[][] {
  const row = (name: string, pick: (metrics: ModelMetrics) => number | null): string[] => [name, numberText(pick(model.metrics.test)), numberText(pick(model.metrics.train))];
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
function predictsText(model: ModelDocument): string {
  return model.algorithm === 'logistic' ? `the probability that ${model.target} = ${model.positiveLabel ?? '1'}` : model.target;
}

/**
 * `cleanroom model show`: what the model is, where it came from, its metrics on the held-out and
 * training rows, and its terms by size of effect. `output` is the room output it was read from.
 */
export function modelLines(model: ModelDocument, output: OutputView | null): string[] {
  const { split, fit } = model;
  const lines = [
    `${label('Model')}${model.name}: ${model.algorithm === 'logistic' ? 'logistic' : 'linear'} regression predicting ${predictsText(model)}`,
  ];
  if (output !== null) {
    lines.push(`${label('Made by')}run ${shortId(output.run)} of "${output.snapshotName}", run by ${output.runner}, ${readableTime(output.createdAt)}`);
  }
  lines.push(
    `${label('Rows')}${split.trainRows} to train, ${split.testRows} held out (${percentText(split.testFraction)}, seed ${split.seed})` +
      (split.droppedRows === 0 ? '' : `; ${plural(split.droppedRows, 'row')} left out for a missing value`),
    `${label('Fit')}${fit.method === 'newton' ? "Newton's method" : 'least squares'}, ${plural(fit.iterations, 'iteration')}, ${fit.converged === 'yes' ? 'converged' : 'did NOT converge'}; L2 penalty ${numberText(model.l2)}`,
    '',
    ...aligned([['Metric', 'held out', 'training'], ...metricRows(model)]),
    '',
  );

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
  if (model.algorithm === 'logistic') lines.push('', `The held-out ROC curve (${model.roc.length} points) is in the model document: --json or \`cleanroom model save\`.`);
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
