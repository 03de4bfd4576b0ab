// How numbers read on screen: output tables, scored predictions, model coefficients and chart
// labels all format through here, so one rule holds everywhere. The exact value is never lost:
// screens put it in a `title` (hover), and CSV/JSON exports write the values as they came.
// Pure (no DOM); the locale is a parameter so tests pin one, and undefined means the runtime's.
import { parseNumber } from './duckdbValues.js';

const formats = new Map<string, Intl.NumberFormat>();

/** Intl.NumberFormat is costly to build and a table formats thousands of cells: one per setting. */
function numberFormat(locale: string | undefined, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = `${locale ?? ''}|${JSON.stringify(options)}`;
  let format = formats.get(key);
  if (format === undefined) {
    format = new Intl.NumberFormat(locale, options);
    formats.set(key, format);
  }
  return format;
}

export interface NumberFormatOptions {
  /** A BCP 47 tag such as 'en-US'; undefined is the runtime's default (the browser's, in the app). */
  readonly locale?: string;
  /** Always write the sign ("+0.41", "-1.2"), as coefficients are. */
  readonly signed?: boolean;
}

/**
 * A number for reading. The rule:
 * - whole numbers below 1e15: every digit, grouped by the locale ("12,480");
 * - |x| ≥ 100: at most 2 decimals ("504.01"), since more are noise next to the whole part;
 * - |x| < 100: 4 significant digits ("12.35", "0.4167", "0.001235"), so small rates keep their detail;
 * - |x| < 0.0001 or ≥ 1e15: scientific, 4 significant digits ("1.235E-7"), as a double's digits
 *   that far out are not meaningful one by one;
 * - never trailing zeros ("0.5", not "0.5000"); NaN and ±Infinity as JavaScript writes them.
 */
export function formatNumber(value: number, { locale, signed = false }: NumberFormatOptions = {}): string {
  if (!Number.isFinite(value)) return String(value);
  // -0 would read "-0".
  const x = value === 0 ? 0 : value;
  const sign: Intl.NumberFormatOptions = signed ? { signDisplay: 'exceptZero' } : {};
  const magnitude = Math.abs(x);
  if (Number.isInteger(x) && magnitude < 1e15) return numberFormat(locale, { maximumFractionDigits: 0, ...sign }).format(x);
  if (magnitude !== 0 && (magnitude < 1e-4 || magnitude >= 1e15)) {
    return numberFormat(locale, { notation: 'scientific', maximumSignificantDigits: 4, ...sign }).format(x);
  }
  if (magnitude >= 100) return numberFormat(locale, { maximumFractionDigits: 2, ...sign }).format(x);
  return numberFormat(locale, { maximumSignificantDigits: 4, ...sign }).format(x);
}

const wholeNumberText = /^[+-]?\d+$/u;

/**
 * DuckDB's text for a number (any numeric column's value), formatted by `formatNumber`. Whole
 * numbers go through BigInt so a HUGEINT keeps every digit; text that is not a finite number
 * (`nan`, `inf`) is returned as it is.
 */
export function formatNumberText(text: string, options: NumberFormatOptions = {}): string {
  const trimmed = text.trim();
  if (wholeNumberText.test(trimmed)) {
    const sign: Intl.NumberFormatOptions = options.signed === true ? { signDisplay: 'exceptZero' } : {};
    return numberFormat(options.locale, { maximumFractionDigits: 0, ...sign }).format(BigInt(trimmed));
  }
  const value = parseNumber(trimmed);
  return value === null ? text : formatNumber(value, options);
}
