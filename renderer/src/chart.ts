// Which chart an output table gets, from its columns' DuckDB types (and, for a numeric first
// column, whether the rows are in its order), and the data that chart draws. Pure, so node:test
// checks it; components/OutputChart.tsx draws it as SVG.
import { columnKind, type ColumnKind, isCategoryKind, isNumericKind, isTemporalKind, parseForAxis, parseNumber } from './duckdbValues.js';

export interface ChartColumn {
  readonly name: string;
  readonly type: string;
}

type Row = readonly (string | null)[];

export type ChartChoice =
  | {
      readonly kind: 'bar';
      /** Category columns, in table order: bars are labelled by the first, grouped by the second. */
      readonly categories: readonly number[];
      /** The second category column when it has few enough values to be a legend; null otherwise. */
      readonly series: number | null;
      /** Numeric columns the measure selector offers. */
      readonly measures: readonly number[];
    }
  | {
      readonly kind: 'line';
      /** The first column: a date, time or ordered number. */
      readonly x: number;
      readonly xKind: ColumnKind;
      /** A category column splitting the points into lines, when it has few enough values. */
      readonly series: number | null;
      readonly measures: readonly number[];
    }
  | { readonly kind: 'none'; readonly reason: string };

/** More distinct values than this in a second category: it becomes part of the bar label instead. */
export const maxSeries = 8;
/** Bars drawn at most; the chart says when it shows fewer groups than the table has. */
export const maxBars = 120;
export const maxCategories = 60;

/**
 * Line when the first column is a date or time, or a number the rows are ordered by (a year, an
 * age); bar when there is a category column (text, boolean or a date used as a label); none
 * without a numeric column to draw, or without rows.
 */
export function chooseChart(columns: readonly ChartColumn[], rows: readonly Row[]): ChartChoice {
  const kinds = columns.map((column) => columnKind(column.type));
  if (rows.length === 0) return { kind: 'none', reason: 'The output has no rows to chart.' };
  const first = kinds[0];
  if (first === undefined) return { kind: 'none', reason: 'The output has no columns.' };

  const categoryColumns = kinds.flatMap((kind, index) => (isCategoryKind(kind) ? [index] : []));
  const numericColumns = kinds.flatMap((kind, index) => (isNumericKind(kind) ? [index] : []));
  const seriesAmong = (candidates: readonly number[]): number | null => {
    const column = candidates[0];
    return column !== undefined && candidates.length === 1 && distinctCount(rows, column, maxSeries + 1) <= maxSeries ? column : null;
  };

  const lineOver = isTemporalKind(first) || (isNumericKind(first) && rows.length >= 2 && ascendingNumbers(rows, 0));
  const lineMeasures = numericColumns.filter((index) => index !== 0);
  if (lineOver && lineMeasures.length > 0) {
    const series = seriesAmong(categoryColumns.filter((index) => index !== 0));
    // Two or more category columns besides the axis: a line per combination would be unreadable.
    if (categoryColumns.filter((index) => index !== 0).length <= 1) {
      return { kind: 'line', x: 0, xKind: first, series, measures: lineMeasures };
    }
  }

  if (numericColumns.length === 0) return { kind: 'none', reason: 'No chart: the output has no numeric column to draw.' };
  if (categoryColumns.length > 0) {
    const measures = numericColumns;
    const series = categoryColumns.length === 2 ? seriesAmong(categoryColumns.slice(1)) : null;
    return { kind: 'bar', categories: categoryColumns, series, measures };
  }
  // One row of numbers (totals over everything): one group of bars, a measure at a time.
  if (rows.length === 1) return { kind: 'bar', categories: [], series: null, measures: numericColumns };
  // Only numbers: the first labels the bars (an unordered group key such as a region code).
  if (numericColumns.length >= 2 && numericColumns[0] === 0) return { kind: 'bar', categories: [0], series: null, measures: numericColumns.slice(1) };
  return { kind: 'none', reason: 'No chart: the output has no column to group the bars by.' };
}

function distinctCount(rows: readonly Row[], column: number, stopAt: number): number {
  const seen = new Set<string | null>();
  for (const row of rows) {
    seen.add(row[column] ?? null);
    if (seen.size >= stopAt) break;
  }
  return seen.size;
}

/** Whether a numeric column's values never decrease and take at least two values. */
function ascendingNumbers(rows: readonly Row[], column: number): boolean {
  let previous = -Infinity;
  let distinct = 0;
  for (const row of rows) {
    const value = parseNumber(row[column] ?? null);
    if (value === null || value < previous) return false;
    if (value > previous) distinct++;
    previous = value;
  }
  return distinct >= 2;
}

// ---- Bar data ----------------------------------------------------------------------------------------

export interface BarData {
  /** Bar groups, in the table's order: the category label (several category columns joined by " · "). */
  readonly groups: readonly string[];
  /** Legend entries (the series column's values); one unnamed series when there is none. */
  readonly series: readonly string[];
  /** values[group][series]: null where that combination has no row or no number. */
  readonly values: readonly (readonly (number | null)[])[];
  /** Groups in the rows given, of which `groups` shows the first. */
  readonly totalGroups: number;
}

export const nullLabel = 'NULL';

export function barData(choice: Extract<ChartChoice, { kind: 'bar' }>, measure: number, rows: readonly Row[]): BarData {
  const labelColumns = choice.categories.filter((index) => index !== choice.series);
  const groupIndex = new Map<string, number>();
  const seriesIndex = new Map<string, number>();
  const cells = new Map<string, number | null>();
  for (const row of rows) {
    const group = labelColumns.length === 0 ? 'All rows' : labelColumns.map((index) => row[index] ?? nullLabel).join(' · ');
    const series = choice.series === null ? '' : (row[choice.series] ?? nullLabel);
    if (!groupIndex.has(group)) groupIndex.set(group, groupIndex.size);
    if (!seriesIndex.has(series)) seriesIndex.set(series, seriesIndex.size);
    // One value per group and series: the first row's, as the table lists it.
    const key = `${groupIndex.get(group) as number}\u0000${seriesIndex.get(series) as number}`;
    if (!cells.has(key)) cells.set(key, parseNumber(row[measure] ?? null));
  }
  const seriesCount = Math.max(1, seriesIndex.size);
  const shownGroups = Math.max(1, Math.min(maxCategories, Math.floor(maxBars / seriesCount)));
  const groups = [...groupIndex.keys()].slice(0, shownGroups);
  const series = [...seriesIndex.keys()];
  const values = groups.map((_, group) => series.map((__, at) => cells.get(`${group}\u0000${at}`) ?? null));
  return { groups, series, values, totalGroups: groupIndex.size };
}

// ---- Line data ---------------------------------------------------------------------------------------

export interface LineSeries {
  readonly name: string;
  /** Points sorted by x; rows whose x or y does not read are left out. */
  readonly points: readonly { readonly x: number; readonly y: number; readonly label: string }[];
}

export interface LineData {
  readonly series: readonly LineSeries[];
  /** Rows left out because their x or y is NULL or does not read as a number or time. */
  readonly skipped: number;
}

export function lineData(choice: Extract<ChartChoice, { kind: 'line' }>, measure: number, rows: readonly Row[]): LineData {
  const bySeries = new Map<string, { x: number; y: number; label: string }[]>();
  let skipped = 0;
  for (const row of rows) {
    const label = row[choice.x] ?? null;
    const x = parseForAxis(label, choice.xKind);
    const y = parseNumber(row[measure] ?? null);
    if (x === null || y === null || label === null) {
      skipped++;
      continue;
    }
    const name = choice.series === null ? '' : (row[choice.series] ?? nullLabel);
    let points = bySeries.get(name);
    if (points === undefined) {
      points = [];
      bySeries.set(name, points);
    }
    points.push({ x, y, label });
  }
  const series = [...bySeries].map(([name, points]) => ({ name, points: points.sort((a, b) => a.x - b.x) }));
  return { series, skipped };
}

/** The smallest and largest of some numbers (ignoring nulls); null when there are none. */
export function extent(values: Iterable<number | null>): readonly [number, number] | null {
  let low = Infinity;
  let high = -Infinity;
  for (const value of values) {
    if (value === null) continue;
    if (value < low) low = value;
    if (value > high) high = value;
  }
  return low <= high ? [low, high] : null;
}

/** The measure a chart starts on: a rate or average reads better than a count, when there is one. */
export function defaultMeasure(columns: readonly ChartColumn[], measures: readonly number[]): number | null {
  const preferred = measures.find((index) => /rate|avg|average|mean|ratio|share|pct|percent/iu.test(columns[index]?.name ?? ''));
  return preferred ?? measures[0] ?? null;
}
