// The output policy, decided on DuckDB's own syntax tree (json_serialize_sql). Pure: the worker
// parses, the policy decides, and the same answer is given to the editor, core and the worker.
//
// Aggregate mode is a positive grammar: shared/policy/ translates the tree into a small query
// algebra (translate.ts), with the role rules in check.ts, compiles it (compile.ts) and decides
// releases (guard.ts). This file is the entry point, and keeps the tree walker that reviewed mode,
// post-processing cells (which read earlier outputs only) and train-cell bodies use: it refuses
// statements other than one SELECT, table functions, tables outside the room, and functions that
// reveal the machine, the session or the catalog.
import { type ColumnRole } from './asset.js';
import { type AlgebraCell, type PolicyContext, type PolicyProblem, type PolicyTable } from './policy/algebra.js';
import { isEnvironmentFunction } from './policy/check.js';
import { containsAggregate, itemName, Translator } from './policy/translate.js';
import { isNode, type Json, list, text } from './policy/tree.js';

export type { AlgebraCell, PolicyContext, PolicyMode, PolicyProblem, PolicyTable } from './policy/algebra.js';
export { isNode, type Json, list, text } from './policy/tree.js';
export { containsAggregate } from './policy/translate.js';

export interface OutputColumn {
  readonly name: string;
  readonly kind: 'group_key' | 'aggregate';
}

export interface PolicyVerdict {
  readonly ok: boolean;
  readonly problems: PolicyProblem[];
  /** The output's columns (aggregate mode, when ok). */
  readonly outputColumns?: OutputColumn[];
}

// ---- Function lists ---------------------------------------------------------------------------

/** Aggregates whose result does not reveal one row's value. */
const allowedAggregates = new Set([
  'count', 'count_star', 'sum', 'avg', 'mean', 'stddev', 'stddev_samp', 'stddev_pop', 'variance', 'var_samp', 'var_pop',
  'corr', 'covar_pop', 'covar_samp', 'regr_avgx', 'regr_avgy', 'regr_count', 'regr_intercept', 'regr_r2', 'regr_slope',
  'regr_sxx', 'regr_sxy', 'regr_syy',
]);
const minMaxAggregates = new Set(['min', 'max']);
/** Aggregates that return a row's value, a list of values or a value chosen by rank. */
const revealingAggregates = new Set([
  'list', 'array_agg', 'string_agg', 'group_concat', 'listagg', 'first', 'last', 'any_value', 'arbitrary', 'arg_min',
  'arg_max', 'argmin', 'argmax', 'arg_min_null', 'arg_max_null', 'max_by', 'min_by', 'mode', 'median', 'quantile',
  'quantile_cont', 'quantile_disc', 'approx_quantile', 'reservoir_quantile', 'mad', 'histogram', 'histogram_exact',
  'approx_top_k', 'bitstring_agg', 'bit_and', 'bit_or', 'bit_xor', 'bool_and', 'bool_or', 'product', 'entropy',
  'kurtosis', 'kurtosis_pop', 'skewness', 'approx_count_distinct', 'fsum', 'sumkahan', 'kahan_sum', 'favg', 'sem',
  'weighted_avg', 'wavg', 'geomean', 'geometric_mean', 'count_if', 'countif', 'sum_no_overflow',
]);
/** Whether a function name is an aggregate (allowed or not): DuckDB's and the refused ones. */
export const isAggregateName = (name: string): boolean =>
  allowedAggregates.has(name) || minMaxAggregates.has(name) || revealingAggregates.has(name) || /^(quantile|regr_|approx_)/.test(name);

/** Row-wise functions usable in aggregate mode: arithmetic, comparison, text and date helpers. */
const scalarFunctions = new Set([
  '+', '-', '*', '/', '//', '%', '^', '**', '||', '~~', '!~~', '~~*', '!~~*', '~~~', '!~~~', 'like_escape', 'ilike_escape',
  'abs', 'round', 'floor', 'ceil', 'ceiling', 'trunc', 'sqrt', 'cbrt', 'ln', 'log', 'log10', 'log2', 'exp', 'pow', 'power',
  'sign', 'greatest', 'least', 'coalesce', 'nullif', 'ifnull', 'isnan', 'isinf', 'isfinite', 'divide', 'add', 'subtract',
  'multiply', 'mod', 'lower', 'upper', 'lcase', 'ucase', 'length', 'strlen', 'substr', 'substring', 'trim', 'ltrim',
  'rtrim', 'concat', 'left', 'right', 'replace', 'starts_with', 'ends_with', 'contains', 'prefix', 'suffix', 'lpad',
  'rpad', 'regexp_matches', 'date_trunc', 'datetrunc', 'date_part', 'datepart', 'extract', 'year', 'month', 'day',
  'quarter', 'week', 'weekofyear', 'dayofweek', 'dayofmonth', 'dayofyear', 'isodow', 'hour', 'minute', 'second',
  'epoch', 'strftime', 'make_date', 'date_diff', 'datediff', 'date_sub', 'datesub', 'age', 'if', 'iif', 'time_bucket',
  // The notebook's parameters, set by the worker as DuckDB variables.
  'getvariable',
]);

// ---- The tree ---------------------------------------------------------------------------------

type Node = { [key: string]: Json };

/** Where a value came from: its role, the column to name in reasons, and the room tables behind it. */
interface Origin {
  readonly role: ColumnRole | 'aggregated' | 'free';
  readonly column: string;
  readonly tables: ReadonlySet<string>;
  /** Reads a dimension. */
  readonly dims?: boolean;
  /** Computed from a dimension (a function, comparison or CASE over it), not the bare column. */
  readonly computed?: boolean;
}

/** More sensitive first: an expression takes the most sensitive role among what it reads. */
const rank: Record<Origin['role'], number> = { hidden: 6, privacy_unit: 5, join_key: 4, measure: 3, aggregated: 2, dimension: 1, free: 0 };
const free: Origin = { role: 'free', column: '', tables: new Set() };

function combine(a: Origin, b: Origin): Origin {
  const tables = a.tables.size === 0 ? b.tables : b.tables.size === 0 ? a.tables : new Set([...a.tables, ...b.tables]);
  const top = rank[b.role] > rank[a.role] ? b : a;
  return { role: top.role, column: top.column, tables, dims: a.dims === true || b.dims === true, computed: a.computed === true || b.computed === true };
}

/** The origin of an expression computed from others: a dimension inside it is no longer bare. */
const computedOf = (origin: Origin): Origin => (origin.dims === true ? { ...origin, computed: true } : origin);

/** A column reference, possibly cast: what an aggregate may take a dimension as. */
function isBareColumn(value: Json | undefined): boolean {
  if (!isNode(value)) return false;
  if (value['class'] === 'COLUMN_REF') return true;
  return value['class'] === 'CAST' && isBareColumn(value['child']);
}

/** A relation in FROM: its columns by lower-case name, or null when they are not known (earlier outputs). */
interface Binding {
  readonly name: string;
  readonly columns: Map<string, Origin> | null;
}

interface Scope {
  readonly bindings: Binding[];
  readonly parent: Scope | null;
  /** Select-list aliases, usable from GROUP BY, HAVING and ORDER BY. */
  readonly aliases: Set<string>;
}

/** Where an expression sits, which decides what each role may do there. */
type Place = 'output' | 'rows' | 'group' | 'where' | 'join' | 'aggregate' | 'count_distinct' | 'inner';

interface Relation {
  readonly columns: { name: string; origin: Origin }[];
  readonly known: boolean;
}

/** The walker behind analyseCell; train-policy.ts reuses it to learn where each output column comes from. */
export class Analyser {
  readonly problems: PolicyProblem[] = [];
  private readonly tables = new Map<string, PolicyTable>();
  private readonly outputs: Set<string>;
  private readonly aggregate: boolean;

  constructor(context: PolicyContext) {
    for (const table of context.tables) this.tables.set(table.name.toLowerCase(), table);
    this.outputs = new Set(context.earlierOutputs.map((name) => name.toLowerCase()));
    this.aggregate = context.mode === 'aggregate';
  }

  refuse(node: Node | null, reason: string): void {
    const location = node?.['query_location'];
    const position = typeof location === 'number' && location >= 0 && location < 2 ** 31 ? `character ${location + 1}` : undefined;
    if (this.problems.some((p) => p.reason === reason && p.position === position)) return;
    this.problems.push(position === undefined ? { reason } : { position, reason });
  }

  private unknown(node: Node | null, what: string): void {
    this.refuse(node, `unknown SQL construct ${what || '(unnamed)'}`);
  }

  /** Refuses keys the walker does not know that carry a subtree: a new clause is never skipped. */
  private known(node: Node, keys: readonly string[]): void {
    for (const [key, value] of Object.entries(node)) {
      if (keys.includes(key)) continue;
      if (value === null || typeof value !== 'object' || (Array.isArray(value) && value.length === 0)) continue;
      if (isNode(value) && Object.keys(value).length === 0) continue;
      this.unknown(node, key);
    }
  }

  // ---- Queries --------------------------------------------------------------------------------

  /** A query node. `output`: its rows leave the cell (top level, UNION ALL branches, expression subqueries). */
  query(value: Json | undefined, output: boolean, parent: Scope | null, ctes: Map<string, Relation>, depth: number): Relation {
    const node = isNode(value) ? value : null;
    if (node === null) {
      this.unknown(null, 'query');
      return { columns: [], known: false };
    }
    if (depth > 200) {
      this.refuse(node, 'the query is nested too deeply');
      return { columns: [], known: false };
    }
    const scopeCtes = this.withCtes(node, parent, ctes, depth);
    const type = text(node['type']);
    if (type === 'SELECT_NODE') return this.select(node, output, parent, scopeCtes, depth);
    if (type === 'SET_OPERATION_NODE') {
      this.known(node, ['type', 'modifiers', 'cte_map', 'setop_type', 'left', 'right', 'setop_all']);
      const kind = text(node['setop_type']);
      const all = node['setop_all'] === true;
      if (!['UNION', 'EXCEPT', 'INTERSECT', 'UNION_BY_NAME'].includes(kind)) this.unknown(node, kind);
      else if (this.aggregate && !(kind === 'UNION' && all)) {
        this.refuse(node, `${kind === 'UNION_BY_NAME' ? 'UNION BY NAME' : kind}${all ? ' ALL' : ''} is not allowed in aggregate mode: only UNION ALL`);
      }
      const left = this.query(node['left'], output, parent, scopeCtes, depth + 1);
      const right = this.query(node['right'], output, parent, scopeCtes, depth + 1);
      this.modifiers(node, { bindings: [], parent, aliases: new Set(left.columns.map((c) => c.name)) }, output ? 'output' : 'inner', depth);
      const columns = left.columns.map((column, index) => {
        const other = right.columns[index];
        return { name: column.name, origin: other === undefined ? column.origin : combine(column.origin, other.origin) };
      });
      return { columns, known: left.known && right.known };
    }
    this.unknown(node, type);
    return { columns: [], known: false };
  }

  private withCtes(node: Node, parent: Scope | null, ctes: Map<string, Relation>, depth: number): Map<string, Relation> {
    const cteMap = node['cte_map'];
    const items = isNode(cteMap) ? list(cteMap['map']) : [];
    if (items.length === 0) return ctes;
    const scope = new Map(ctes);
    for (const item of items) {
      if (!isNode(item) || !isNode(item['value'])) {
        this.unknown(null, 'CTE');
        continue;
      }
      const name = text(item['key']).toLowerCase();
      const cte = item['value'];
      this.known(cte, ['aliases', 'query', 'materialized', 'key_targets']);
      const query = isNode(cte['query']) ? cte['query']['node'] : undefined;
      const relation = this.query(query, false, parent, scope, depth + 1);
      scope.set(name, renamed(relation, list(cte['aliases'])));
    }
    return scope;
  }

  private select(node: Node, output: boolean, parent: Scope | null, ctes: Map<string, Relation>, depth: number): Relation {
    this.known(node, ['type', 'modifiers', 'cte_map', 'select_list', 'from_table', 'where_clause', 'group_expressions', 'group_sets', 'aggregate_handling', 'having', 'sample', 'qualify']);
    const bindings = this.from(node['from_table'], parent, ctes, depth);
    const selectList = list(node['select_list']);
    const aliases = new Set(selectList.flatMap((item) => (isNode(item) && text(item['alias']) !== '' ? [text(item['alias']).toLowerCase()] : [])));
    const scope: Scope = { bindings, parent, aliases };
    const groups = list(node['group_expressions']);
    const aggregating =
      groups.length > 0 || text(node['aggregate_handling']) === 'FORCE_AGGREGATES' || selectList.some(containsAggregate) || containsAggregate(node['having'] ?? null);
    const place: Place = !this.aggregate ? 'inner' : aggregating ? 'output' : output ? 'rows' : 'inner';

    const columns: { name: string; origin: Origin }[] = [];
    let known = true;
    for (const [index, item] of selectList.entries()) {
      if (isNode(item) && item['class'] === 'STAR') {
        known = false;
        this.star(item);
        continue;
      }
      const origin = this.expression(item, place, scope, ctes, depth);
      columns.push({ name: columnName(item, index), origin });
    }
    if (this.aggregate && place === 'rows' && columns.some((c) => c.origin.role === 'dimension')) {
      this.refuse(node, 'the output is not aggregated: add GROUP BY and aggregates');
    }
    if (node['where_clause'] !== null && node['where_clause'] !== undefined) this.expression(node['where_clause'], 'where', { ...scope, aliases: new Set() }, ctes, depth);
    for (const group of groups) this.expression(group, 'group', scope, ctes, depth);
    if (node['having'] !== null && node['having'] !== undefined) this.expression(node['having'], place, scope, ctes, depth);
    if (node['qualify'] !== null && node['qualify'] !== undefined) {
      if (this.aggregate) this.refuse(isNode(node['qualify']) ? node['qualify'] : node, 'QUALIFY is not allowed in aggregate mode');
      else this.expression(node['qualify'], place, scope, ctes, depth);
    }
    if (this.aggregate && node['sample'] !== null && node['sample'] !== undefined) this.refuse(node, 'USING SAMPLE is not allowed in aggregate mode');
    this.modifiers(node, scope, place, depth, ctes);
    return { columns, known };
  }

  private modifiers(node: Node, scope: Scope, place: Place, depth: number, ctes: Map<string, Relation> = new Map()): void {
    for (const modifier of list(node['modifiers'])) {
      if (!isNode(modifier)) continue;
      const type = text(modifier['type']);
      if (type === 'ORDER_MODIFIER') {
        this.known(modifier, ['type', 'orders']);
        for (const order of list(modifier['orders'])) if (isNode(order)) this.expression(order['expression'], place, scope, ctes, depth);
      } else if (type === 'LIMIT_MODIFIER' || type === 'LIMIT_PERCENT_MODIFIER') {
        this.known(modifier, ['type', 'limit', 'offset']);
        for (const key of ['limit', 'offset']) if (isNode(modifier[key])) this.expression(modifier[key], place, scope, ctes, depth);
      } else if (type === 'DISTINCT_MODIFIER') {
        this.known(modifier, ['type', 'distinct_on_targets']);
        for (const target of list(modifier['distinct_on_targets'])) this.expression(target, place, scope, ctes, depth);
      } else {
        this.unknown(modifier, type);
      }
    }
  }

  private star(item: Node): void {
    if (!this.aggregate) return;
    if (item['columns'] === true) this.refuse(item, 'COLUMNS(…) is not allowed in aggregate mode: name the columns');
    else this.refuse(item, `${text(item['relation_name']) === '' ? '*' : `${text(item['relation_name'])}.*`} is not allowed in aggregate mode: name the columns`);
  }

  // ---- FROM -----------------------------------------------------------------------------------

  private from(value: Json | undefined, parent: Scope | null, ctes: Map<string, Relation>, depth: number): Binding[] {
    if (!isNode(value)) {
      this.unknown(null, 'FROM');
      return [];
    }
    const type = text(value['type']);
    switch (type) {
      case 'EMPTY':
        return [];
      case 'BASE_TABLE': {
        this.known(value, ['type', 'alias', 'sample', 'query_location', 'schema_name', 'table_name', 'column_name_alias', 'catalog_name', 'at_clause']);
        const name = text(value['table_name']);
        const alias = (text(value['alias']) || name).toLowerCase();
        if (text(value['schema_name']) !== '' || text(value['catalog_name']) !== '') {
          this.refuse(value, `${text(value['schema_name']) || text(value['catalog_name'])}.${name} is not a table in this room`);
          return [];
        }
        if (isNode(value['at_clause'])) this.refuse(value, 'AT (time travel) is not allowed');
        if (this.aggregate && isNode(value['sample'])) this.refuse(value, 'TABLESAMPLE is not allowed in aggregate mode');
        const key = name.toLowerCase();
        const cte = ctes.get(key);
        const renames = list(value['column_name_alias']);
        if (cte !== undefined) return [binding(alias, renamed(cte, renames))];
        const table = this.tables.get(key);
        if (table !== undefined) {
          const origin = (c: PolicyTable['columns'][number]): Origin => ({ role: c.role, column: c.name, tables: new Set([key]), dims: c.role === 'dimension' });
          if (!this.aggregate) return [binding(alias, renamed({ columns: table.columns.map((c) => ({ name: c.name, origin: origin(c) })), known: true }, renames))];
          // The run's view has no hidden columns, so `t AS a(x, y)` renames the visible ones in order;
          // hidden ones keep their names here only so that using them is refused by name.
          const visible = renamed({ columns: table.columns.filter((c) => c.role !== 'hidden').map((c) => ({ name: c.name, origin: origin(c) })), known: true }, renames);
          const hidden = table.columns.filter((c) => c.role === 'hidden').map((c) => ({ name: c.name, origin: origin(c) }));
          return [binding(alias, { columns: [...visible.columns, ...hidden], known: true })];
        }
        if (this.outputs.has(key)) return [binding(alias, renamed({ columns: [], known: false }, renames))];
        this.refuse(value, `${name} is not a table in this room`);
        return [];
      }
      case 'JOIN': {
        this.known(value, ['type', 'alias', 'sample', 'query_location', 'left', 'right', 'condition', 'join_type', 'ref_type', 'using_columns', 'delim_flipped', 'duplicate_eliminated_columns']);
        const left = this.from(value['left'], parent, ctes, depth + 1);
        const right = this.from(value['right'], parent, ctes, depth + 1);
        const bindings = [...left, ...right];
        const refType = text(value['ref_type']);
        if (!['REGULAR', 'CROSS', 'NATURAL', 'POSITIONAL', 'ASOF', 'DEPENDENT'].includes(refType)) this.unknown(value, `${refType} JOIN`);
        else if (this.aggregate && refType !== 'REGULAR' && refType !== 'CROSS') this.refuse(value, `${refType} JOIN is not allowed in aggregate mode: name the join columns`);
        const joinType = text(value['join_type']);
        if (!['INNER', 'LEFT', 'RIGHT', 'OUTER', 'SEMI', 'ANTI'].includes(joinType)) this.unknown(value, `${joinType} JOIN`);
        const scope: Scope = { bindings, parent, aliases: new Set() };
        if (isNode(value['condition'])) this.expression(value['condition'], 'join', scope, ctes, depth);
        for (const column of list(value['using_columns'])) {
          const origin = this.resolve([text(column)], scope, value);
          this.check(origin, 'join', value);
        }
        return bindings;
      }
      case 'SUBQUERY': {
        this.known(value, ['type', 'alias', 'sample', 'query_location', 'subquery', 'column_name_alias']);
        const subquery = isNode(value['subquery']) ? value['subquery']['node'] : undefined;
        const relation = this.query(subquery, false, parent, ctes, depth + 1);
        if (this.aggregate && isNode(value['sample'])) this.refuse(value, 'TABLESAMPLE is not allowed in aggregate mode');
        return [binding(text(value['alias']).toLowerCase(), renamed(relation, list(value['column_name_alias'])))];
      }
      case 'EXPRESSION_LIST': {
        this.known(value, ['type', 'alias', 'sample', 'query_location', 'expected_names', 'expected_types', 'values']);
        const scope: Scope = { bindings: [], parent, aliases: new Set() };
        for (const row of list(value['values'])) for (const item of list(row)) this.expression(item, 'inner', scope, ctes, depth);
        return [binding(text(value['alias']).toLowerCase(), { columns: [], known: false })];
      }
      case 'TABLE_FUNCTION': {
        const fn = value['function'];
        const name = isNode(fn) ? text(fn['function_name']) : '';
        this.refuse(value, `table function ${name || '(unnamed)'} is not allowed: read room tables and earlier outputs only`);
        return [];
      }
      default:
        this.unknown(value, type);
        return [];
    }
  }

  // ---- Expressions ----------------------------------------------------------------------------

  /** Checks an expression where it sits and returns what it reads (its most sensitive origin). */
  expression(value: Json | undefined, place: Place, scope: Scope, ctes: Map<string, Relation>, depth: number): Origin {
    if (!isNode(value)) {
      if (value !== null && value !== undefined) this.unknown(null, 'expression');
      return free;
    }
    if (depth > 500) {
      this.refuse(value, 'the expression is nested too deeply');
      return free;
    }
    const next = (child: Json | undefined, at: Place = place): Origin => this.expression(child, at, scope, ctes, depth + 1);
    const all = (children: Json[], at: Place = place): Origin => children.reduce<Origin>((acc, child) => combine(acc, next(child, at)), free);
    const cls = text(value['class']);
    const type = text(value['type']);
    switch (cls) {
      case 'CONSTANT':
        return free;
      case 'COLUMN_REF': {
        const names = list(value['column_names']).map(text);
        const origin = this.resolve(names, scope, value);
        this.check(origin, place, value);
        return origin;
      }
      case 'FUNCTION':
        return computedOf(this.call(value, place, scope, ctes, depth));
      case 'CAST':
        return next(value['child']);
      case 'COLLATE':
        return next(value['child']);
      case 'COMPARISON':
        return computedOf(combine(next(value['left']), next(value['right'])));
      case 'CONJUNCTION':
        return computedOf(all(list(value['children'])));
      case 'OPERATOR': {
        const operators = ['COMPARE_IN', 'COMPARE_NOT_IN', 'OPERATOR_NOT', 'OPERATOR_IS_NULL', 'OPERATOR_IS_NOT_NULL', 'OPERATOR_COALESCE', 'OPERATOR_NULLIF', 'ARRAY_EXTRACT', 'ARRAY_SLICE', 'STRUCT_EXTRACT', 'OPERATOR_TRY'];
        if (!operators.includes(type)) {
          this.unknown(value, type);
          return free;
        }
        if (this.aggregate && ['ARRAY_EXTRACT', 'ARRAY_SLICE'].includes(type)) this.refuse(value, 'list indexing is not allowed in aggregate mode');
        return computedOf(all(list(value['children'])));
      }
      case 'BETWEEN':
        return computedOf(combine(combine(next(value['input']), next(value['lower'])), next(value['upper'])));
      case 'CASE': {
        let origin = free;
        for (const check of list(value['case_checks'])) {
          if (!isNode(check)) continue;
          origin = combine(origin, combine(next(check['when_expr']), next(check['then_expr'])));
        }
        return computedOf(combine(origin, next(value['else_expr'])));
      }
      case 'SUBQUERY': {
        const kind = text(value['subquery_type']);
        if (!['SCALAR', 'EXISTS', 'NOT_EXISTS', 'ANY'].includes(kind)) this.unknown(value, `${kind} subquery`);
        const child = isNode(value['child']) ? next(value['child']) : free;
        const subquery = isNode(value['subquery']) ? value['subquery']['node'] : undefined;
        // Its rows feed this cell's values directly, so it is held to the output's rules.
        this.query(subquery, true, scope, ctes, depth + 1);
        return child;
      }
      case 'WINDOW': {
        if (this.aggregate) {
          this.refuse(value, `window function ${text(value['function_name']) || type} (OVER) is not allowed in aggregate mode`);
          return free;
        }
        for (const key of ['children', 'partitions']) all(list(value[key]));
        for (const key of ['start_expr', 'end_expr', 'offset_expr', 'default_expr', 'filter_expr']) next(value[key]);
        for (const order of [...list(value['orders']), ...list(value['arg_orders'])]) if (isNode(order)) next(order['expression']);
        return free;
      }
      case 'STAR':
        this.star(value);
        return free;
      case 'LAMBDA':
        if (this.aggregate) this.refuse(value, 'lambda functions are not allowed in aggregate mode');
        return free;
      case 'PARAMETER':
        this.refuse(value, 'prepared-statement parameters are not allowed');
        return free;
      case 'POSITIONAL_REFERENCE':
        if (this.aggregate) this.refuse(value, 'positional column references (#n) are not allowed in aggregate mode');
        return free;
      default:
        this.unknown(value, type || cls);
        return free;
    }
  }

  private call(node: Node, place: Place, scope: Scope, ctes: Map<string, Relation>, depth: number): Origin {
    const name = text(node['function_name']).toLowerCase();
    const children = list(node['children']);
    const order = isNode(node['order_bys']) ? list(node['order_bys']['orders']) : [];
    const filter = node['filter'];
    const walk = (at: Place): Origin => {
      let origin = free;
      for (const child of children) origin = combine(origin, this.expression(child, at, scope, ctes, depth + 1));
      for (const item of order) if (isNode(item)) origin = combine(origin, this.expression(item['expression'], at, scope, ctes, depth + 1));
      if (isNode(filter)) this.expression(filter, at === 'count_distinct' ? 'aggregate' : at, scope, ctes, depth + 1);
      return origin;
    };
    if (isEnvironmentFunction(name)) {
      this.refuse(node, `function ${name} reveals the environment and is not allowed`);
      return free;
    }
    if (!this.aggregate) {
      walk(place);
      return free;
    }
    if (text(node['schema']) !== '' || text(node['catalog']) !== '') {
      this.refuse(node, `schema-qualified function ${name} is not allowed in aggregate mode`);
      return free;
    }
    if (isAggregateName(name)) {
      if (place === 'aggregate' || place === 'count_distinct') {
        this.refuse(node, `aggregate ${name} inside another aggregate is not allowed`);
        return free;
      }
      if (revealingAggregates.has(name) || (!allowedAggregates.has(name) && !minMaxAggregates.has(name))) {
        this.refuse(node, `aggregate ${name} reveals individual values and is not allowed in aggregate mode`);
        return free;
      }
      if (node['distinct'] === true && name !== 'count') this.refuse(node, `DISTINCT is only allowed in count, not in ${name}`);
      // Walked child by child: a dimension may enter an aggregate only as the bare column. Inside an
      // expression (CASE WHEN age_band = '90+' THEN cost END, cost * length(age_band), FILTER) it
      // would pick out a subgroup the k count of the output row does not see.
      const at: Place = name === 'count' && node['distinct'] === true ? 'count_distinct' : 'aggregate';
      const childOrigins = children.map((child) => this.expression(child, at, scope, ctes, depth + 1));
      let origin = childOrigins.reduce<Origin>(combine, free);
      for (const item of order) if (isNode(item)) origin = combine(origin, this.expression(item['expression'], at, scope, ctes, depth + 1));
      if (isNode(filter) && this.expression(filter, 'aggregate', scope, ctes, depth + 1).dims === true) {
        this.refuse(filter, `FILTER over a dimension is not allowed in aggregate mode: use WHERE or GROUP BY so k can be checked`);
      }
      const bare = children.length === 1 && order.length === 0 && isBareColumn(children[0]) && childOrigins[0]?.computed !== true;
      if (origin.dims === true && !bare) {
        this.refuse(node, `aggregate ${name} may take a dimension only as a bare column, not inside an expression: group by the dimension instead so k can be checked`);
      }
      if (minMaxAggregates.has(name)) {
        const closed = [...origin.tables].filter((table) => this.tables.get(table)?.allowMinMax !== true).sort();
        if (closed.length > 0) this.refuse(node, `${name} is not allowed over ${closed.join(', ')}: its owner did not allow min/max`);
      }
      return { role: 'aggregated', column: name, tables: origin.tables };
    }
    if (!scalarFunctions.has(name)) {
      this.refuse(node, `function ${name} is not allowed in aggregate mode`);
      return free;
    }
    return walk(place);
  }

  // ---- Columns --------------------------------------------------------------------------------

  /** The origin of a column reference; unknown names are refused (aggregate mode). */
  resolve(names: string[], scope: Scope, node: Node): Origin {
    const lower = names.map((n) => n.toLowerCase());
    let unknownColumns = false;
    for (let level: Scope | null = scope, first = true; level !== null; level = level.parent, first = false) {
      const found: Origin[] = [];
      if (lower.length >= 2) {
        for (const b of level.bindings) {
          if (b.name !== lower[0]) continue;
          if (b.columns === null) found.push(free);
          else {
            const origin = b.columns.get(lower[1] as string);
            if (origin !== undefined) found.push(origin);
          }
        }
      }
      if (found.length === 0) {
        for (const b of level.bindings) {
          if (b.columns === null) unknownColumns = true;
          else {
            const origin = b.columns.get(lower[0] as string);
            if (origin !== undefined) found.push(origin);
          }
        }
      }
      if (found.length > 0) return found.reduce(combine);
      // A select-list alias: its expression was checked where it stands.
      if (first && lower.length === 1 && level.aliases.has(lower[0] as string)) return free;
    }
    if (unknownColumns || !this.aggregate) return free;
    this.refuse(node, `unknown column ${names.join('.')}`);
    return free;
  }

  check(origin: Origin, place: Place, node: Node): void {
    if (!this.aggregate) return;
    const name = origin.column;
    switch (origin.role) {
      case 'hidden':
        this.refuse(node, `column ${name} is hidden`);
        return;
      case 'privacy_unit':
        if (place === 'join' || place === 'count_distinct' || place === 'inner') return;
        this.refuse(node, place === 'group' ? `privacy unit ${name} cannot be a group key` : `privacy unit ${name} may only be used in JOIN conditions and count(DISTINCT …)`);
        return;
      case 'join_key':
        if (place === 'join' || place === 'inner') return;
        this.refuse(node, place === 'group' ? `join key ${name} cannot be a group key` : `join key ${name} may only be used in JOIN conditions`);
        return;
      case 'measure':
        if (place === 'aggregate' || place === 'count_distinct' || place === 'inner') return;
        this.refuse(node, place === 'group' ? `measure ${name} cannot be a group key` : `measure ${name} may only be used inside an aggregate`);
        return;
      default:
        return;
    }
  }
}


function columnName(item: Json, index: number): string {
  if (!isNode(item)) return `column${index}`;
  const alias = text(item['alias']);
  if (alias !== '') return alias;
  if (item['class'] === 'COLUMN_REF') return list(item['column_names']).map(text).at(-1) ?? `column${index}`;
  if (item['class'] === 'FUNCTION') return text(item['function_name']) || `column${index}`;
  return `column${index}`;
}

/** Applies `t(a, b)` / CTE column aliases, positionally, as DuckDB does. */
function renamed(relation: Relation, names: Json[]): Relation {
  if (names.length === 0) return relation;
  const columns = relation.columns.map((column, index) => {
    const name = names[index];
    return typeof name === 'string' ? { name, origin: column.origin } : column;
  });
  for (let index = columns.length; index < names.length; index++) columns.push({ name: text(names[index]), origin: free });
  return { columns, known: relation.known };
}

function binding(name: string, relation: Relation): Binding {
  if (!relation.known) return { name, columns: null };
  const columns = new Map<string, Origin>();
  for (const column of relation.columns) {
    const key = column.name.toLowerCase();
    const origin = column.origin.role === 'aggregated' ? { ...column.origin, role: 'measure' as const } : column.origin;
    const existing = columns.get(key);
    columns.set(key, existing === undefined ? origin : combine(existing, origin));
  }
  return { name, columns };
}

/** The verdict on one cell, with its algebra when aggregate mode accepted it. */
export interface CellTranslation extends PolicyVerdict {
  readonly cell?: AlgebraCell;
}

/**
 * Checks one cell's syntax tree (the parsed result of `json_serialize_sql`) against the room's
 * policy. Never throws: a tree it does not understand is refused.
 */
export function analyseCell(tree: unknown, context: PolicyContext): CellTranslation {
  const single = context.mode === 'aggregate' ? 'only a single SELECT is allowed in aggregate mode' : 'only a single read-only SELECT is allowed';
  const root = tree as Json;
  if (!isNode(root) || root['error'] === true) return { ok: false, problems: [{ reason: single }] };
  const statements = list(root['statements']);
  if (root['error'] !== false || statements.length !== 1) return { ok: false, problems: [{ reason: single }] };
  const statement = statements[0] ?? null;
  if (!isNode(statement)) return { ok: false, problems: [{ reason: 'unknown SQL construct statement' }] };
  if (context.mode === 'aggregate') {
    const translator = new Translator(context);
    let cell: AlgebraCell | null = null;
    try {
      cell = translator.cell(statement);
    } catch {
      translator.problems.push({ reason: 'unknown SQL construct (the tree could not be read)' });
    }
    if (translator.problems.length > 0 || cell === null) return { ok: false, problems: translator.problems.length > 0 ? translator.problems : [{ reason: single }] };
    if (cell.kind === 'aggregate') {
      const outputColumns = (cell.branches[0]?.items ?? []).map((item) => ({ name: item.name, kind: item.expr.keyOnly ? ('group_key' as const) : ('aggregate' as const) }));
      return { ok: true, problems: [], outputColumns, cell };
    }
    // Post-processing: it reads released values only, so any read-only SELECT over them.
    const verdict = walk(statement, { ...context, mode: 'reviewed' });
    return verdict.ok ? { ...verdict, cell } : verdict;
  }
  return walk(statement, context);
}

function walk(statement: Node, context: PolicyContext): PolicyVerdict {
  const analyser = new Analyser(context);
  let relation: Relation = { columns: [], known: false };
  try {
    relation = analyser.query(statement['node'], true, null, new Map(), 0);
  } catch {
    analyser.refuse(null, 'unknown SQL construct (the tree could not be read)');
  }
  const problems = analyser.problems;
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, problems, outputColumns: relation.columns.map((column, index) => ({ name: column.name || itemName(null, index), kind: 'aggregate' as const })) };
}
