// The query algebra of aggregate mode: the only shapes a cell may have. translate.ts builds it from
// DuckDB's tree (refusing what does not fit), check.ts holds the role rules it applies on the way,
// compile.ts turns it into the SQL that runs, guard.ts decides in the worker what may be released.
//
// Roles travel with columns: every column of every relation says what it is (a privacy unit of a
// named table, a join key, a dimension, a measure) and which protected tables stand behind it, so
// no rule has to re-derive a role from the tree.
import { type ColumnRole } from '../asset.js';

export type PolicyMode = 'aggregate' | 'reviewed';

/** A room table as the policy sees it: columns with the owner's roles (and DuckDB types when known). */
export interface PolicyTable {
  readonly name: string;
  readonly columns: readonly { readonly name: string; readonly role: ColumnRole; readonly type?: string }[];
  /** Kept for descriptors that carry it; aggregate mode no longer releases min/max (one person's value). */
  readonly allowMinMax: boolean;
}

export interface PolicyContext {
  readonly tables: readonly PolicyTable[];
  /** Output tables of earlier cells: released values, readable by later cells (post-processing). */
  readonly earlierOutputs: readonly string[];
  readonly mode: PolicyMode;
}

export interface PolicyProblem {
  /** "character N" (1-based) of the construct in the cell's text, when DuckDB gave one. */
  readonly position?: string;
  /** Short, names the column, function or construct; never quotes a literal value. */
  readonly reason: string;
}

// ---- Columns and scalar expressions -----------------------------------------------------------

/**
 * What a value is. `unit` and `key` name the protected table whose people they identify; a
 * measure or dimension lists the protected tables its value comes from (empty: a public table or
 * a constant).
 */
export type Kind = 'constant' | 'dimension' | 'measure' | 'unit' | 'key' | 'hidden';

export interface ColumnMeaning {
  readonly kind: Kind;
  /** The column's name as the notebook sees it, for reasons. */
  readonly label: string;
  /** The protected table a unit or key belongs to. */
  readonly table: string | null;
  /** Whether the column comes from a table without a privacy unit (a public lookup). */
  readonly public: boolean;
  readonly type?: string;
  /** The room-table columns its value is computed from (`table.column`, `table.rows` for a count of rows). */
  readonly lineage: readonly string[];
}

/** A row-level expression, rendered to SQL, with what it reads. */
export interface Scalar {
  readonly sql: string;
  readonly kind: Kind;
  /** Labels of the columns it reads (for reasons). */
  readonly columns: readonly string[];
  /** The column when the expression is a bare column reference (a CAST of one counts as bare). */
  readonly bare: ColumnMeaning | null;
  /** A measure (or numeric dimension) times / divided by constants, or negated: what value aggregates accept. */
  readonly scaled: boolean;
  /** A predicate: comparisons, AND/OR/NOT, IN, BETWEEN, IS NULL, LIKE. */
  readonly predicate: boolean;
  readonly position: string | undefined;
  /** The room-table columns it reads (see ColumnMeaning.lineage). */
  readonly lineage: readonly string[];
}

/** A relation's column: its SQL reference from outside and its meaning. */
export interface BoundColumn {
  readonly sql: string;
  readonly meaning: ColumnMeaning;
}

/** A FROM item's columns by lower-case name, and the unit of every protected table behind its rows. */
export interface Binding {
  readonly alias: string;
  readonly columns: ReadonlyMap<string, BoundColumn>;
  /** Protected table → SQL of its privacy unit in this binding's rows (NULL where no one of it is behind a row). */
  readonly units: ReadonlyMap<string, string>;
}

/** A FROM clause: its SQL and its bindings. */
export interface Source {
  readonly sql: string;
  readonly bindings: readonly Binding[];
  /**
   * Protected tables whose privacy units are equal on every row (an inner join on the units, of
   * one type that compares exactly): they have the same people in every group, so one count of
   * people serves them all.
   */
  readonly sameUnits?: readonly (readonly [string, string])[];
}

// ---- Aggregates and outputs ---------------------------------------------------------------------

export const countFunctions = ['count', 'count_star'] as const;
/** Aggregates whose value mixes every contributor's value: sums and moments. */
export const valueAggregates = [
  'sum', 'avg', 'mean', 'stddev', 'stddev_samp', 'stddev_pop', 'variance', 'var_samp', 'var_pop',
  'corr', 'covar_pop', 'covar_samp', 'regr_avgx', 'regr_avgy', 'regr_count', 'regr_intercept', 'regr_r2', 'regr_slope',
  'regr_sxx', 'regr_sxy', 'regr_syy',
] as const;
/** Value aggregates that sum their argument (the dominance rules apply to them). */
export const summingAggregates = new Set(['sum', 'avg', 'mean']);

/** One aggregate the cell computes: its contributors are counted, and it is released or withheld as a whole. */
export interface Term {
  readonly fn: string;
  /** Row-level arguments (none for count(*)). */
  readonly args: readonly Scalar[];
  /** count(DISTINCT unit). */
  readonly distinct: boolean;
  /** FILTER (WHERE …) over dimensions, or null. */
  readonly filter: Scalar | null;
  /** `count`: rows with the argument present; `value`: sums and moments (non-zero contributors counted too). */
  readonly family: 'count' | 'value';
  readonly position: string | undefined;
}

/** An output-level expression: SQL over the group keys (`__cr_g<i>`) and terms (`__cr_v<i>`), and the terms it uses. */
export interface OutputExpr {
  readonly sql: string;
  readonly terms: readonly number[];
  /** It reads a group key only (no term): a group key column of the output. */
  readonly keyOnly: boolean;
}

/** One SELECT that aggregates room tables: the only thing that reads rows and lets values out. */
export interface AggregateSelect {
  readonly source: Source;
  readonly where: Scalar | null;
  /** Group key expressions (row level). */
  readonly groups: readonly Scalar[];
  readonly terms: readonly Term[];
  readonly items: readonly { readonly name: string; readonly expr: OutputExpr }[];
  /** HAVING over output expressions: applied after suppression. */
  readonly having: OutputExpr | null;
  /** Protected tables whose people are behind the rows. */
  readonly protectedTables: readonly string[];
  /** ORDER BY expressions of a single-branch output, compiled as hidden columns `__cr_o<i>`. */
  readonly order: OutputExpr[];
}

/** A cell of aggregate mode, as the algebra holds it. */
export type AlgebraCell =
  | {
      readonly kind: 'aggregate';
      /** UNION ALL branches (one for a plain SELECT). */
      readonly branches: readonly AggregateSelect[];
      readonly columns: readonly string[];
      /** ORDER BY over the output's columns, rendered against the final relation. */
      readonly orderBy: readonly string[];
      readonly limit: string | null;
      readonly offset: string | null;
    }
  | {
      /** Reads earlier outputs only: released values, so any read-only SELECT over them. */
      readonly kind: 'post';
    };
