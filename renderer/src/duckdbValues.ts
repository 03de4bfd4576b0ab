// Output values arrive as DuckDB's own text for them (the hashed form of shared/receipt.ts) with
// the column's DuckDB type name. What a type name means for a chart and how its text reads as a
// number or a point in time. Pure, so node:test checks it.

/** What a column can be in a chart: a measure (numeric), an axis of time, or a category. */
export type ColumnKind = 'integer' | 'decimal' | 'date' | 'timestamp' | 'time' | 'text' | 'boolean' | 'other';

const integerTypes = new Set([
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'BIGINT',
  'HUGEINT',
  'UTINYINT',
  'USMALLINT',
  'UINTEGER',
  'UBIGINT',
  'UHUGEINT',
  'INT1',
  'INT2',
  'INT4',
  'INT8',
  'INT',
  'LONG',
  'SHORT',
  'VARINT',
  'BIGNUM',
]);
const decimalTypes = new Set(['FLOAT', 'DOUBLE', 'REAL', 'FLOAT4', 'FLOAT8', 'NUMERIC', 'DECIMAL']);
const timestampTypes = new Set([
  'TIMESTAMP',
  'TIMESTAMP_S',
  'TIMESTAMP_MS',
  'TIMESTAMP_NS',
  'TIMESTAMP_US',
  'DATETIME',
  'TIMESTAMPTZ',
  'TIMESTAMP WITH TIME ZONE',
]);
const textTypes = new Set(['VARCHAR', 'TEXT', 'STRING', 'CHAR', 'BPCHAR', 'UUID']);

/** The kind of a DuckDB type name: `BIGINT`, `DECIMAL(18,3)`, `TIMESTAMP WITH TIME ZONE`, `ENUM('a', 'b')`… */
export function columnKind(type: string): ColumnKind {
  const upper = type.trim().toUpperCase();
  // Lists, arrays, structs and maps are not one value per cell a chart can use.
  if (/\[\d*\]$/u.test(upper) || /^(STRUCT|MAP|UNION|LIST)\b/u.test(upper)) return 'other';
  const base = upper.replace(/\(.*\)$/su, '').trim();
  if (integerTypes.has(base)) return 'integer';
  if (decimalTypes.has(base)) return 'decimal';
  if (base === 'DATE') return 'date';
  if (timestampTypes.has(base)) return 'timestamp';
  if (base === 'TIME' || base === 'TIMETZ' || base === 'TIME WITH TIME ZONE') return 'time';
  if (base === 'BOOLEAN' || base === 'BOOL') return 'boolean';
  if (textTypes.has(base) || base === 'ENUM') return 'text';
  return 'other';
}

export const isNumericKind = (kind: ColumnKind): boolean => kind === 'integer' || kind === 'decimal';

export const isTemporalKind = (kind: ColumnKind): boolean => kind === 'date' || kind === 'timestamp' || kind === 'time';

/** A category: something to group bars by (a date can be one, as a label). */
export const isCategoryKind = (kind: ColumnKind): boolean => kind === 'text' || kind === 'boolean' || kind === 'date' || kind === 'timestamp';

/** Right-aligned in tables, as numbers are. */
export const alignsRight = (type: string): boolean => isNumericKind(columnKind(type));

const numberPattern = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/u;

/** DuckDB's text for a number, as a finite number; null for NULL, NaN, ±inf or anything else. */
export function parseNumber(text: string | null): number | null {
  if (text === null) return null;
  const trimmed = text.trim();
  if (!numberPattern.test(trimmed)) return null;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : null;
}

const datePattern = /^(\d{4,})-(\d{2})-(\d{2})$/u;
const timestampPattern = /^(\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([+-])(\d{2})(?::?(\d{2}))?(?::(\d{2}))?)?$/u;
const timePattern = /^(\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[+-]\d{2}(?::?\d{2})?)?$/u;

const millisOf = (fraction: string | undefined): number => (fraction === undefined ? 0 : Math.floor(Number(`0${fraction}`) * 1000));

/**
 * DuckDB's text for a DATE, TIMESTAMP (with or without zone) or TIME as milliseconds: since the
 * epoch in UTC for dates and timestamps, since midnight for times. Null for NULL, `infinity`, BC
 * dates and anything else.
 */
export function parseTemporal(text: string | null, kind: 'date' | 'timestamp' | 'time'): number | null {
  if (text === null) return null;
  const trimmed = text.trim();
  if (kind === 'time') {
    const match = timePattern.exec(trimmed);
    if (match === null) return null;
    const [, hours, minutes, seconds, fraction] = match;
    if (Number(hours) > 23 || Number(minutes) > 59 || Number(seconds) > 60) return null;
    return ((Number(hours) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000 + millisOf(fraction);
  }
  const date = datePattern.exec(trimmed);
  if (date !== null) {
    const [, year, month, day] = date;
    return validUtc(Number(year), Number(month), Number(day), 0, 0, 0, 0);
  }
  const stamp = timestampPattern.exec(trimmed);
  if (stamp === null) return null;
  const [, year, month, day, hours, minutes, seconds, fraction, sign, offsetHours, offsetMinutes] = stamp;
  const local = validUtc(Number(year), Number(month), Number(day), Number(hours), Number(minutes), Number(seconds), millisOf(fraction));
  if (local === null) return null;
  if (sign === undefined) return local;
  const offset = (Number(offsetHours) * 60 + Number(offsetMinutes ?? '0')) * 60_000;
  return sign === '+' ? local - offset : local + offset;
}

function validUtc(year: number, month: number, day: number, hours: number, minutes: number, seconds: number, millis: number): number | null {
  if (month < 1 || month > 12 || day < 1 || day > 31 || hours > 23 || minutes > 59 || seconds > 60) return null;
  const date = new Date(Date.UTC(2000, month - 1, day, hours, minutes, seconds, millis));
  date.setUTCFullYear(year);
  // 2025-02-30 rolls over into March: not a date.
  if (date.getUTCMonth() !== month - 1) return null;
  return date.getTime();
}

/** A column's values as numbers for a chart's x or y axis, by its kind; null where a value does not read. */
export function parseForAxis(text: string | null, kind: ColumnKind): number | null {
  if (kind === 'date' || kind === 'timestamp' || kind === 'time') return parseTemporal(text, kind);
  return parseNumber(text);
}
