// The role rules of aggregate mode, one function per place a value can stand. translate.ts calls
// them as it builds the algebra; each returns the reason a value may not stand there, or null.
// Every rule is stated with the property it keeps:
//
// - A privacy unit or join key never becomes part of a value: it may only be matched for equality
//   in a JOIN, counted with count(DISTINCT unit), or be the GROUP BY of a per-person
//   pre-aggregation. So no expression can select one person by their identifier.
// - A measure is released only mixed with k or more people's measures: as the bare (or
//   constant-scaled) argument of a sum or moment, or compared with a constant in WHERE (which
//   selects rows whose people are then counted like any other). It never decides a group, a FILTER
//   or a CASE, so it cannot pick one contributor out inside an aggregate.
// - A dimension may decide groups and filters freely: every group and every aggregate is counted
//   over the people actually behind it.
import { type ColumnMeaning, type Scalar } from './algebra.js';

/** Aggregates that return one row's value, a list, a rank or a mode: never released in aggregate mode. */
export const revealingAggregates = new Set([
  'min', 'max', 'list', 'array_agg', 'string_agg', 'group_concat', 'listagg', 'first', 'last', 'any_value', 'arbitrary', 'arg_min',
  'arg_max', 'argmin', 'argmax', 'arg_min_null', 'arg_max_null', 'max_by', 'min_by', 'mode', 'median', 'quantile',
  'quantile_cont', 'quantile_disc', 'approx_quantile', 'reservoir_quantile', 'mad', 'histogram', 'histogram_exact',
  'approx_top_k', 'bitstring_agg', 'bit_and', 'bit_or', 'bit_xor', 'bool_and', 'bool_or', 'product', 'entropy',
  'kurtosis', 'kurtosis_pop', 'skewness', 'approx_count_distinct', 'fsum', 'sumkahan', 'kahan_sum', 'favg', 'sem',
  'weighted_avg', 'wavg', 'geomean', 'geometric_mean', 'count_if', 'countif', 'sum_no_overflow', 'first_value', 'last_value',
]);

/** Functions that reveal the machine, the session or the catalog: refused in every mode. */
const environmentFunctions = new Set([
  'getenv', 'current_setting', 'current_query', 'version', 'current_user', 'user', 'session_user', 'current_role',
  'current_database', 'current_schema', 'current_schemas', 'current_catalog', 'which_secret', 'txid_current',
  'nextval', 'currval', 'setseed', 'in_search_path', 'has_any_column_privilege', 'has_column_privilege',
  'has_database_privilege', 'has_function_privilege', 'has_schema_privilege', 'has_table_privilege', 'pg_backend_pid',
  'pg_get_viewdef', 'pg_get_constraintdef', 'pg_get_expr', 'pg_typeof', 'pg_size_pretty', 'col_description', 'obj_description',
  'format_pg_type', 'pg_has_role', 'pg_table_is_visible', 'pg_ts_parser_is_visible', 'current_localtime', 'sqlite_version',
  'query', 'query_table', 'read_blob', 'read_text', 'glob',
]);
export const isEnvironmentFunction = (name: string): boolean =>
  environmentFunctions.has(name) || name.startsWith('duckdb_') || name.startsWith('pragma_') || name.startsWith('pg_') || name.startsWith('sqlite_');

/** Row-wise functions for dimensions and for output arithmetic: text, dates, numbers, buckets. */
export const scalarFunctions = new Set([
  '+', '-', '*', '/', '//', '%', '||', '~~', '!~~', '~~*', '!~~*',
  'abs', 'round', 'floor', 'ceil', 'ceiling', 'trunc', 'sqrt', 'cbrt', 'ln', 'log', 'log10', 'log2', 'exp', 'pow', 'power',
  'sign', 'greatest', 'least', 'coalesce', 'nullif', 'ifnull', 'isnan', 'isinf', 'isfinite', 'divide', 'add', 'subtract',
  'multiply', 'mod', 'lower', 'upper', 'lcase', 'ucase', 'length', 'strlen', 'substr', 'substring', 'trim', 'ltrim',
  'rtrim', 'concat', 'left', 'right', 'replace', 'starts_with', 'ends_with', 'contains', 'prefix', 'suffix', 'lpad',
  'rpad', 'date_trunc', 'datetrunc', 'date_part', 'datepart', 'year', 'month', 'day', 'quarter', 'week', 'weekofyear',
  'dayofweek', 'dayofmonth', 'dayofyear', 'isodow', 'hour', 'minute', 'second', 'epoch', 'strftime', 'make_date',
  'date_diff', 'datediff', 'date_sub', 'datesub', 'age', 'if', 'iif', 'time_bucket', 'width_bucket',
  'to_days', 'to_months', 'to_years', 'to_hours', 'to_minutes', 'to_seconds', 'to_weeks',
  // The notebook's parameters, set by the worker as DuckDB variables.
  'getvariable',
]);

/** Operators that turn a measure into a multiple of itself (with a constant on the other side). */
const scalingOperators = new Set(['*', '/', 'multiply', 'divide']);

const describe = (meaning: ColumnMeaning): string =>
  meaning.kind === 'unit' ? `privacy unit ${meaning.label}` : meaning.kind === 'key' ? `join key ${meaning.label}` : meaning.kind === 'hidden' ? `column ${meaning.label} is hidden` : `${meaning.kind} ${meaning.label}`;

/** A column reference standing on its own somewhere: hidden columns nowhere. */
export function columnUse(meaning: ColumnMeaning): string | null {
  return meaning.kind === 'hidden' ? `column ${meaning.label} is hidden` : null;
}

/**
 * What a function or operator may take. Dimensions and constants go anywhere; a measure only into
 * scaling by a constant (m * 2, m / 100, -m) — anything else (power(64, m), m * (m > t), m + z)
 * could encode a refused aggregate or select one contributor. Units and keys into nothing.
 */
export function functionArguments(name: string, args: readonly Scalar[]): string | null {
  for (const arg of args) {
    if (arg.kind === 'unit' || arg.kind === 'key') {
      return `${arg.bare !== null ? describe(arg.bare) : `${arg.kind === 'unit' ? 'a privacy unit' : 'a join key'} (${arg.columns.join(', ')})`} may only be used in JOIN conditions, count(DISTINCT …) and a per-person GROUP BY, not inside ${name}`;
    }
  }
  const measures = args.filter((arg) => arg.kind === 'measure');
  if (measures.length === 0) return null;
  const constants = args.filter((arg) => arg.kind === 'constant');
  const scaling = measures.length === 1 && constants.length === args.length - 1 && (measures[0] as Scalar).scaled;
  if (scaling && (scalingOperators.has(name) || (name === '-' && args.length === 1))) {
    // m / c scales; c / m does not (it is not linear in m).
    if ((name === '/' || name === 'divide') && args[0] !== measures[0]) return `measure ${measures[0]?.columns.join(', ')} may only be scaled by a constant (m * c, m / c), not divide one`;
    return null;
  }
  return `measure ${measures.map((m) => m.columns.join(', ')).join(', ')} may only be used bare (or scaled by a constant) inside an aggregate, or compared with a constant in WHERE — not inside ${name}`;
}

/** CASE, IN, BETWEEN, LIKE over measures would pick contributors out: dimensions and constants only. */
export function dimensionOnly(what: string, parts: readonly Scalar[]): string | null {
  for (const part of parts) {
    if (part.kind === 'unit' || part.kind === 'key' || part.kind === 'measure') {
      const label = part.bare !== null ? describe(part.bare) : `${part.kind} ${part.columns.join(', ')}`;
      return `${label} may not be used in ${what}: only dimensions and constants`;
    }
  }
  return null;
}

/**
 * A comparison. Dimensions against anything of dimension or constant kind; a bare measure only
 * against constants, and only where the caller allows it (WHERE, not FILTER or GROUP BY).
 */
export function comparison(parts: readonly Scalar[], measuresAllowed: boolean): string | null {
  const measures = parts.filter((part) => part.kind === 'measure');
  if (measures.length > 0) {
    const label = measures.map((m) => m.columns.join(', ')).join(', ');
    if (!measuresAllowed) return `measure ${label} may only be compared in WHERE, not here (a FILTER, CASE or group key may test dimensions only)`;
    const others = parts.filter((part) => part.kind !== 'measure');
    if (measures.length !== 1 || (measures[0] as Scalar).bare === null || others.some((other) => other.kind !== 'constant')) {
      return `measure ${label} may only be compared, as a bare column, with constants or parameters`;
    }
  }
  return dimensionOnly('a comparison', parts.filter((part) => part.kind !== 'measure'));
}

/** A group key: a dimension expression; never a unit, key or measure. */
export function groupKey(key: Scalar): string | null {
  if (key.kind === 'dimension' || key.kind === 'constant') return null;
  if (key.bare !== null) return `${describe(key.bare)} cannot be a group key`;
  return `${key.kind} ${key.columns.join(', ')} cannot be a group key`;
}

/** A FILTER (WHERE …) of an aggregate: dimensions only, so the people it keeps are counted like a group. */
export function aggregateFilter(filter: Scalar): string | null {
  if (filter.kind === 'measure' || filter.kind === 'unit' || filter.kind === 'key') return `FILTER may test dimensions only, not ${filter.kind} ${filter.columns.join(', ')}`;
  return null;
}

/** The argument of sum/avg/stddev/var/corr/regr_*: a bare measure or numeric dimension, possibly scaled by constants. */
export function valueArgument(fn: string, arg: Scalar): string | null {
  if ((arg.kind === 'measure' || arg.kind === 'dimension') && arg.scaled) return null;
  if (arg.kind === 'unit' || arg.kind === 'key') return `${fn} may not take ${arg.kind === 'unit' ? 'a privacy unit' : 'a join key'} (${arg.columns.join(', ')})`;
  if (arg.kind === 'constant') return `${fn} of a constant is not allowed: count(*) counts rows`;
  return `${fn} may take only a bare measure or dimension (or one scaled by a constant), not an expression over ${arg.columns.join(', ') || 'constants'}`;
}

/** count(x): a bare column that is neither hidden nor a join key. count(DISTINCT x): a privacy unit only. */
export function countArgument(arg: Scalar, distinct: boolean): string | null {
  if (distinct) {
    if (arg.kind === 'unit' && arg.bare !== null) return null;
    return 'count(DISTINCT …) may count only a privacy unit (the number of distinct values of anything else can single a person out)';
  }
  if (arg.bare === null) return 'count may take only a bare column (or *)';
  if (arg.kind === 'key') return `join key ${arg.bare.label} may only be used in JOIN conditions`;
  return null;
}
