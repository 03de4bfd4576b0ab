// Plain-text pieces the demo prints: aligned tables, rates and model summaries. Pure.
import { type ModelDocument, modelTerms } from '../../shared/model.js';

/** Columns padded to their widest cell; numbers right-aligned. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[], indent = '    '): string[] {
  const widths = header.map((name, column) => Math.max(name.length, ...rows.map((row) => (row[column] ?? '').length)));
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => /^[-+−]?[\d.,]+%?$/.test(row[column] ?? '')));
  const line = (cells: readonly string[]) =>
    indent +
    cells
      .map((cell, column) => (numeric[column] ? cell.padStart(widths[column] as number) : cell.padEnd(widths[column] as number)))
      .join('  ')
      .trimEnd();
  return [line(header), indent + widths.map((width) => '─'.repeat(width)).join('  '), ...rows.map(line)];
}

export const percent = (value: string | number | null): string => {
  const number = typeof value === 'string' ? Number(value) : value;
  return number === null || !Number.isFinite(number) ? '—' : `${(number * 100).toFixed(1)}%`;
};

export const fixed = (value: number | null, digits = 3): string => (value === null ? '—' : value.toFixed(digits));

export const count = (value: number | string): string => Number(value).toLocaleString('en-US');

export const shortHash = (hash: string): string => `${hash.slice(0, 12)}…`;

/** The model's headline: split, held-out metrics beside the training ones, and the strongest terms. */
export function modelSummaryLines(model: ModelDocument, topTerms = 8): string[] {
  const { train, test } = model.metrics;
  const lines = [
    `    ${model.algorithm === 'logistic' ? 'Logistic' : 'Linear'} regression of ${model.target}; ${count(model.split.trainRows)} training rows, ${count(model.split.testRows)} held out (seed ${model.split.seed}), ${model.split.droppedRows} dropped; ${model.fit.method} converged ${model.fit.converged ? 'yes' : 'no'} in ${model.fit.iterations} iterations.`,
    '',
  ];
  const metricRows =
    model.algorithm === 'logistic'
      ? [
          ['AUC', fixed(test.auc), fixed(train.auc)],
          ['Accuracy at 0.5', fixed(test.accuracy), fixed(train.accuracy)],
          ['Log loss', fixed(test.logLoss), fixed(train.logLoss)],
        ]
      : [
          ['RMSE', fixed(test.rmse), fixed(train.rmse)],
          ['R²', fixed(test.r2), fixed(train.r2)],
          ['MAE', fixed(test.mae), fixed(train.mae)],
        ];
  lines.push(...textTable(['Metric', 'Held out', 'Training'], metricRows), '');
  const terms = modelTerms(model)
    .sort((a, b) => Math.abs(b.coefficient) - Math.abs(a.coefficient))
    .slice(0, topTerms);
  lines.push(
    ...textTable(
      ['Strongest terms', 'Coefficient', 'Per raw unit'],
      terms.map((term) => [term.term, signed(term.coefficient), term.perUnit === null ? '' : signed(term.perUnit)]),
    ),
  );
  return lines;
}

const signed = (value: number): string => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(3)}`;
