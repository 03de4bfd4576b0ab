// Axes for the output charts: linear scales, round tick values (1, 2, 5 × 10ⁿ), calendar-aware
// time ticks, and how tick values read. Pure, so node:test checks it.
import { formatNumber } from './numberFormat.js';

export interface LinearScale {
  readonly domain: readonly [number, number];
  readonly range: readonly [number, number];
  /** Where a value lands in the range (outside the domain it extrapolates). */
  readonly at: (value: number) => number;
}

export function linearScale(domain: readonly [number, number], range: readonly [number, number]): LinearScale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  // A zero-width domain maps everything to the middle of the range rather than dividing by zero.
  const at = span === 0 ? () => (r0 + r1) / 2 : (value: number) => r0 + ((value - d0) / span) * (r1 - r0);
  return { domain, range, at };
}

export interface NiceTicks {
  /** The axis' ends, rounded outwards to whole steps; they contain the data. */
  readonly min: number;
  readonly max: number;
  readonly step: number;
  readonly ticks: readonly number[];
}

/** A round step (1, 2, 2.5 or 5 × 10ⁿ) that splits `span` into about `count` parts. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

/**
 * About `count` round ticks covering [min, max]. A flat range (all values equal) is widened so
 * the axis still has a length; ticks are rounded to the step's precision so 0.1 + 0.2 reads 0.3.
 */
export function niceTicks(min: number, max: number, count = 5): NiceTicks {
  let low = Math.min(min, max);
  let high = Math.max(min, max);
  if (!Number.isFinite(low) || !Number.isFinite(high)) return { min: 0, max: 1, step: 1, ticks: [0, 1] };
  if (low === high) {
    const pad = low === 0 ? 1 : Math.abs(low) * 0.1;
    low -= pad;
    high += pad;
    if (min >= 0 && low < 0) low = 0;
  }
  const step = niceStep(high - low, count);
  const start = Math.floor(low / step + 1e-9) * step;
  const end = Math.ceil(high / step - 1e-9) * step;
  const decimals = decimalsOf(step);
  const ticks: number[] = [];
  for (let index = 0; index <= Math.round((end - start) / step); index++) ticks.push(roundTo(start + index * step, decimals));
  return { min: roundTo(start, decimals), max: roundTo(end, decimals), step, ticks };
}

/** Digits after the point a step needs: 0.25 → 2, 5 → 0, 2.5 → 1. */
export function decimalsOf(step: number): number {
  if (!(step > 0) || !Number.isFinite(step)) return 0;
  for (let decimals = 0; decimals < 12; decimals++) {
    if (Math.abs(Math.round(step * 10 ** decimals) - step * 10 ** decimals) < 1e-9 * 10 ** decimals) return decimals;
  }
  return 12;
}

const roundTo = (value: number, decimals: number): number => {
  const rounded = Number(value.toFixed(decimals));
  return Object.is(rounded, -0) ? 0 : rounded;
};

/** A tick value as text: grouped thousands, the step's decimals; millions and up as 1.2M, 3B. */
export function formatTick(value: number, step: number): string {
  const magnitude = Math.abs(value);
  if (magnitude >= 1e6 && step >= 1e5) {
    const [divisor, suffix] = magnitude >= 1e12 ? [1e12, 'T'] : magnitude >= 1e9 ? [1e9, 'B'] : [1e6, 'M'];
    const decimals = Math.min(2, decimalsOf(step / divisor));
    return `${trimZeros((value / divisor).toFixed(decimals))}${suffix}`;
  }
  const decimals = Math.min(10, decimalsOf(step));
  return new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals }).format(value);
}

const trimZeros = (text: string): string => (text.includes('.') ? text.replace(/\.?0+$/u, '') : text);

/** A value for a tooltip or a label, by the table's rule (numberFormat.ts); in English like the ticks. */
export function formatValue(value: number): string {
  return formatNumber(value, { locale: 'en-US' });
}

// ---- Time ----------------------------------------------------------------------------------------

const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;
const day = 24 * hour;

/** Steps a time axis may use, smallest first: fixed lengths, then whole calendar months and years. */
const timeSteps: readonly { readonly unit: 'ms' | 'month' | 'year'; readonly size: number }[] = [
  ...[1, 5, 15, 30].map((n) => ({ unit: 'ms' as const, size: n * second })),
  ...[1, 5, 15, 30].map((n) => ({ unit: 'ms' as const, size: n * minute })),
  ...[1, 3, 6, 12].map((n) => ({ unit: 'ms' as const, size: n * hour })),
  ...[1, 2, 7, 14].map((n) => ({ unit: 'ms' as const, size: n * day })),
  ...[1, 3, 6].map((n) => ({ unit: 'month' as const, size: n })),
  ...[1, 2, 5, 10, 25, 50, 100].map((n) => ({ unit: 'year' as const, size: n })),
];

const approximateLength = (step: (typeof timeSteps)[number]): number =>
  step.unit === 'ms' ? step.size : step.unit === 'month' ? step.size * 30.44 * day : step.size * 365.25 * day;

export interface TimeTicks {
  readonly ticks: readonly number[];
  /** How the ticks read: a time of day, a day, a month or a year. */
  readonly format: (ms: number) => string;
}

/**
 * About `count` ticks on whole units of time between two instants (ms since the epoch, UTC; or
 * since midnight when `timeOfDay`). Months and years start on the 1st; days at midnight UTC.
 */
export function timeTicks(min: number, max: number, count = 5, timeOfDay = false): TimeTicks {
  const low = Math.min(min, max);
  const high = Math.max(min, max);
  const wanted = (high - low) / Math.max(1, count);
  const step = timeSteps.find((candidate) => approximateLength(candidate) >= wanted) ?? (timeSteps[timeSteps.length - 1] as (typeof timeSteps)[number]);
  const ticks: number[] = [];
  if (step.unit === 'ms') {
    for (let tick = Math.ceil(low / step.size) * step.size; tick <= high && ticks.length < 1000; tick += step.size) ticks.push(tick);
  } else {
    const start = new Date(low);
    let year = start.getUTCFullYear();
    let month = step.unit === 'year' ? 0 : start.getUTCMonth();
    if (step.unit === 'year') year = Math.floor(year / step.size) * step.size;
    else month = Math.floor(month / step.size) * step.size;
    for (let guard = 0; guard < 2000 && ticks.length < 1000; guard++) {
      const tick = utcMonthStart(year, month);
      if (tick > high) break;
      if (tick >= low) ticks.push(tick);
      if (step.unit === 'year') year += step.size;
      else month += step.size;
    }
  }
  if (ticks.length === 0) ticks.push(low);
  const format = timeOfDay
    ? formatTimeOfDay
    : step.unit === 'year'
      ? (ms: number) => String(new Date(ms).getUTCFullYear())
      : step.unit === 'month'
        ? formatMonth
        : step.size >= day
          ? formatDay
          : formatDateTimeUtc;
  return { ticks, format };
}

function utcMonthStart(year: number, month: number): number {
  const date = new Date(Date.UTC(2000, 0, 1));
  date.setUTCFullYear(year + Math.floor(month / 12), ((month % 12) + 12) % 12, 1);
  return date.getTime();
}

const monthNames = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => String(n).padStart(2, '0');

/** "Mar 2025" */
export const formatMonth = (ms: number): string => {
  const date = new Date(ms);
  return `${monthNames[date.getUTCMonth()] as string} ${date.getUTCFullYear()}`;
};
/** "2025-03-14": the day, as DuckDB writes dates (UTC, so it is the day the data says). */
export const formatDay = (ms: number): string => {
  const date = new Date(ms);
  return `${date.getUTCFullYear()}-${pad2(date.getUTCMonth() + 1)}-${pad2(date.getUTCDate())}`;
};
/** "2025-03-14 09:30" */
export const formatDateTimeUtc = (ms: number): string => {
  const date = new Date(ms);
  return `${formatDay(ms)} ${pad2(date.getUTCHours())}:${pad2(date.getUTCMinutes())}`;
};
/** "09:30" or "09:30:15" for milliseconds since midnight. */
export const formatTimeOfDay = (ms: number): string => {
  const total = Math.floor(ms / 1000);
  const seconds = total % 60;
  const text = `${pad2(Math.floor(total / 3600) % 24)}:${pad2(Math.floor(total / 60) % 60)}`;
  return seconds === 0 ? text : `${text}:${pad2(seconds)}`;
};
