// DuckDB's tree → the algebra of aggregate mode (algebra.ts). A positive grammar: each node kind
// the translator knows becomes an algebra value, with its role carried along; every other node,
// clause or function is refused with the reason and its position. What translates is rendered to
// SQL here as it is built (compile.ts wraps it in the counting stages), so the SQL that runs is
// made from checked parts only — never from the text as typed.
//
// Row-level expressions are made total: every function call, comparison and cast is wrapped in
// TRY (a cast becomes TRY_CAST), so no value of one person can make the run fail.
import {
  type AggregateSelect,
  type AlgebraCell,
  type Binding,
  type BoundColumn,
  type ColumnMeaning,
  countFunctions,
  type Kind,
  type OutputExpr,
  type PolicyContext,
  type PolicyProblem,
  type PolicyTable,
  type Scalar,
  type Source,
  type Term,
  valueAggregates,
} from './algebra.js';
import {
  aggregateFilter,
  columnUse,
  comparison,
  countArgument,
  dimensionOnly,
  functionArguments,
  groupKey,
  isEnvironmentFunction,
  revealingAggregates,
  scalarFunctions,
  valueArgument,
} from './check.js';
import { carriedNumberKey, isNode, type Json, list, type Node, positionOf, reservedNameIn, reservedPrefix, sqlIdentifier, sqlString, text } from './tree.js';

const countNames = new Set<string>(countFunctions);
const valueNames = new Set<string>(valueAggregates);
export const isAggregateName = (name: string): boolean =>
  countNames.has(name) || valueNames.has(name) || revealingAggregates.has(name) || /^(quantile|regr_|approx_)/.test(name);

/** Thrown to stop translating a construct after its refusal was recorded. */
class Refused extends Error {}

const comparisonOperators: Record<string, string> = {
  COMPARE_EQUAL: '=',
  COMPARE_NOTEQUAL: '<>',
  COMPARE_LESSTHAN: '<',
  COMPARE_GREATERTHAN: '>',
  COMPARE_LESSTHANOREQUALTO: '<=',
  COMPARE_GREATERTHANOREQUALTO: '>=',
  COMPARE_DISTINCT_FROM: 'IS DISTINCT FROM',
  COMPARE_NOT_DISTINCT_FROM: 'IS NOT DISTINCT FROM',
};
const infixOperators: Record<string, string> = { '+': '+', '-': '-', '*': '*', '/': '/', '//': '//', '%': '%', '||': '||', '~~': 'LIKE', '!~~': 'NOT LIKE', '~~*': 'ILIKE', '!~~*': 'NOT ILIKE' };
const simpleTypes = new Set(['VARCHAR', 'INTEGER', 'BIGINT', 'SMALLINT', 'TINYINT', 'HUGEINT', 'UBIGINT', 'UINTEGER', 'USMALLINT', 'UTINYINT', 'DOUBLE', 'FLOAT', 'DATE', 'TIMESTAMP', 'TIME', 'BOOLEAN']);
const numericTypes = /^(INTEGER|BIGINT|SMALLINT|TINYINT|HUGEINT|UBIGINT|UINTEGER|USMALLINT|UTINYINT|DOUBLE|FLOAT|REAL|DECIMAL.*|NUMERIC.*|INT\d*)$/i;

/** Where a row-level expression stands; decides what each kind may do there. */
type Place = 'where' | 'group' | 'filter' | 'argument' | 'item';

/** A CTE as written: translated afresh where it is read. */
interface CteDefinition {
  readonly node: Node;
  readonly aliases: readonly string[];
  readonly ctes: ReadonlyMap<string, CteDefinition>;
}

/** An output-level item before it is placed: its SQL over group keys and terms. */
interface OutputContext {
  readonly groups: readonly Scalar[];
  readonly terms: Term[];
  readonly scope: readonly Binding[];
  readonly aliases: ReadonlyMap<string, Json>;
}

export class Translator {
  readonly problems: PolicyProblem[] = [];
  private readonly tables = new Map<string, PolicyTable>();
  private readonly outputs: Set<string>;
  private counter = 0;
  /** Columns joined with USING: an unqualified name then means the left side's column, as in DuckDB. */
  private readonly usingColumns = new Set<string>();
  /** Each branch's output context, for ORDER BY expressions over its aggregates. */
  private readonly contexts = new WeakMap<AggregateSelect, OutputContext>();

  constructor(context: PolicyContext) {
    for (const table of context.tables) this.tables.set(table.name.toLowerCase(), table);
    this.outputs = new Set(context.earlierOutputs.map((name) => name.toLowerCase()));
  }

  refuse(node: Json | undefined, reason: string): never {
    const position = positionOf(node);
    if (!this.problems.some((p) => p.reason === reason && p.position === position)) this.problems.push(position === undefined ? { reason } : { position, reason });
    throw new Refused(reason);
  }

  /** Runs a step; a refusal inside it is recorded and the step yields `fallback`, so later problems are found too. */
  private attempt<T>(work: () => T, fallback: T): T {
    try {
      return work();
    } catch (error) {
      if (error instanceof Refused) return fallback;
      throw error;
    }
  }

  private fresh(prefix: string): string {
    this.counter += 1;
    return `${reservedPrefix}${prefix}${this.counter}`;
  }

  /** Keys a node may carry; any other key with content is a clause the translator does not know. */
  private known(node: Node, keys: readonly string[]): void {
    for (const [key, value] of Object.entries(node)) {
      if (keys.includes(key) || key === 'query_location') continue;
      if (value === null || typeof value !== 'object' || (Array.isArray(value) && value.length === 0)) continue;
      if (isNode(value) && Object.keys(value).length === 0) continue;
      this.refuse(node, `unknown SQL construct ${key}`);
    }
  }

  // ---- The cell ---------------------------------------------------------------------------------

  cell(statement: Node): AlgebraCell | null {
    return this.attempt(() => {
      const node = statement['node'];
      if (!isNode(node)) this.refuse(statement, 'only a single SELECT is allowed in aggregate mode');
      const reserved = reservedNameIn(node);
      if (reserved !== null) this.refuse(node, `names starting with ${reservedPrefix} are reserved`);
      const read = this.relationsRead(node, new Set());
      if (read.outputs.length > 0 && read.tables.length > 0) {
        this.refuse(node, `a cell reads either room tables or earlier outputs, never both (it reads ${read.tables.join(', ')} and ${read.outputs.join(', ')})`);
      }
      if (read.tables.length === 0 && read.outputs.length > 0) return { kind: 'post' as const };
      if (read.tables.length === 0) this.refuse(node, 'the cell reads no room table');
      return this.top(node);
    }, null);
  }

  /** Room tables and earlier outputs named anywhere in a query (CTE names excluded where they are bound). */
  private relationsRead(value: Json, ctes: ReadonlySet<string>): { tables: string[]; outputs: string[] } {
    const tables = new Set<string>();
    const outputs = new Set<string>();
    const walk = (item: Json, bound: ReadonlySet<string>): void => {
      if (Array.isArray(item)) {
        for (const child of item) walk(child, bound);
        return;
      }
      if (!isNode(item)) return;
      let scope = bound;
      const cteMap = item['cte_map'];
      if (isNode(cteMap) && list(cteMap['map']).length > 0) {
        const names = new Set(bound);
        for (const entry of list(cteMap['map'])) if (isNode(entry)) names.add(text(entry['key']).toLowerCase());
        scope = names;
      }
      if (item['type'] === 'BASE_TABLE') {
        const name = text(item['table_name']).toLowerCase();
        if (!scope.has(name)) {
          if (this.outputs.has(name) && !this.tables.has(name)) outputs.add(name);
          else tables.add(name);
        }
      }
      for (const child of Object.values(item)) walk(child, scope);
    };
    walk(value, ctes);
    return { tables: [...tables].sort(), outputs: [...outputs].sort() };
  }

  // ---- The output query: UNION ALL of aggregate SELECTs, then ORDER BY / LIMIT ----------------------

  private top(node: Node): AlgebraCell {
    const ctes = this.ctes(node, new Map());
    const modifiers = list(node['modifiers']);
    const branches: AggregateSelect[] = [];
    const collect = (query: Json | undefined, outer: ReadonlyMap<string, CteDefinition>, isTop: boolean): void => {
      if (!isNode(query)) this.refuse(node, 'unknown SQL construct query');
      const scoped = isTop ? outer : this.ctes(query, outer);
      const type = text(query['type']);
      if (type === 'SET_OPERATION_NODE') {
        this.known(query, ['type', 'modifiers', 'cte_map', 'setop_type', 'left', 'right', 'setop_all']);
        if (!(text(query['setop_type']) === 'UNION' && query['setop_all'] === true)) {
          const kind = text(query['setop_type']) === 'UNION_BY_NAME' ? 'UNION BY NAME' : text(query['setop_type']);
          this.refuse(query, `${kind}${query['setop_all'] === true ? ' ALL' : ''} is not allowed in aggregate mode: only UNION ALL`);
        }
        if (!isTop && list(query['modifiers']).length > 0) this.refuse(query, 'ORDER BY and LIMIT are allowed on the final output only');
        collect(query['left'], scoped, false);
        collect(query['right'], scoped, false);
        return;
      }
      if (type !== 'SELECT_NODE') this.refuse(query, `unknown SQL construct ${type || 'query'}`);
      if (!isTop && list(query['modifiers']).length > 0) this.refuse(query, 'ORDER BY and LIMIT are allowed on the final output only');
      branches.push(this.aggregateSelect(query, scoped));
    };
    collect(node, ctes, true);
    const first = branches[0];
    if (first === undefined) this.refuse(node, 'the cell has no SELECT');
    for (const branch of branches) {
      if (branch.items.length !== first.items.length) this.refuse(node, 'every UNION ALL branch must have the same number of columns');
    }
    const columns = first.items.map((item) => item.name);
    let orderBy: string[] = [];
    let limit: string | null = null;
    let offset: string | null = null;
    for (const modifier of modifiers) {
      if (!isNode(modifier)) continue;
      const kind = text(modifier['type']);
      if (kind === 'ORDER_MODIFIER') {
        orderBy = list(modifier['orders']).map((order) => this.orderItem(order, columns, branches.length === 1 ? first : null));
      } else if (kind === 'LIMIT_MODIFIER') {
        limit = modifier['limit'] === null || modifier['limit'] === undefined ? null : this.constantInteger(modifier['limit'], 'LIMIT');
        offset = modifier['offset'] === null || modifier['offset'] === undefined ? null : this.constantInteger(modifier['offset'], 'OFFSET');
      } else if (kind === 'DISTINCT_MODIFIER') {
        this.refuse(modifier, 'SELECT DISTINCT is not allowed in aggregate mode: use GROUP BY');
      } else {
        this.refuse(modifier, `unknown SQL construct ${kind}`);
      }
    }
    return { kind: 'aggregate', branches, columns, orderBy, limit, offset };
  }

  private constantInteger(value: Json | undefined, what: string): string {
    if (isNode(value) && value['class'] === 'CONSTANT') {
      const inner = value['value'];
      if (isNode(inner) && typeof inner['value'] === 'number' && Number.isSafeInteger(inner['value']) && inner['value'] >= 0) return String(inner['value']);
    }
    return this.refuse(value, `${what} takes a whole number`);
  }

  /** ORDER BY on the final output: an output column by name, or (one branch) any output expression. */
  private orderItem(order: Json, columns: readonly string[], branch: AggregateSelect | null): string {
    if (!isNode(order)) return this.refuse(null, 'unknown SQL construct ORDER BY');
    const type = text(order['type']);
    const nullOrder = text(order['null_order']);
    const direction = type === 'DESCENDING' || type === 'ORDER_DESCENDING' ? ' DESC' : type === 'ASCENDING' || type === 'ORDER_ASCENDING' ? ' ASC' : '';
    const nulls = nullOrder === 'NULLS FIRST' || nullOrder === 'ORDER_NULLS_FIRST' ? ' NULLS FIRST' : nullOrder === 'NULLS LAST' || nullOrder === 'ORDER_NULLS_LAST' ? ' NULLS LAST' : '';
    const expression = order['expression'];
    if (isNode(expression) && expression['class'] === 'CONSTANT') {
      // ORDER BY 2: the output's second column.
      const inner = expression['value'];
      const position = isNode(inner) && typeof inner['value'] === 'number' ? inner['value'] : NaN;
      const column = Number.isSafeInteger(position) && position >= 1 ? columns[position - 1] : undefined;
      if (column === undefined) return this.refuse(expression, 'ORDER BY takes an output column, its position or an expression');
      return `${sqlIdentifier(column)}${direction}${nulls}`;
    }
    if (isNode(expression) && expression['class'] === 'COLUMN_REF') {
      const names = list(expression['column_names']).map(text);
      const name = names.at(-1) ?? '';
      const found = columns.find((column) => column.toLowerCase() === name.toLowerCase());
      if (found !== undefined && names.length === 1) return `${sqlIdentifier(found)}${direction}${nulls}`;
    }
    if (branch === null) return this.refuse(expression, 'ORDER BY of a UNION ALL may name output columns only');
    // An expression over the group keys and aggregates: compiled as a hidden column of the branch.
    const context = this.contexts.get(branch);
    if (context === undefined) return this.refuse(expression, 'unknown SQL construct ORDER BY');
    branch.order.push(this.output(expression, context));
    return `${sqlIdentifier(`${reservedPrefix}o${branch.order.length - 1}`)}${direction}${nulls}`;
  }

  // ---- CTEs -------------------------------------------------------------------------------------

  private ctes(node: Node, outer: ReadonlyMap<string, CteDefinition>): ReadonlyMap<string, CteDefinition> {
    const cteMap = node['cte_map'];
    const items = isNode(cteMap) ? list(cteMap['map']) : [];
    if (items.length === 0) return outer;
    const scope = new Map(outer);
    for (const item of items) {
      if (!isNode(item) || !isNode(item['value'])) this.refuse(node, 'unknown SQL construct CTE');
      const cte = item['value'];
      this.known(cte, ['aliases', 'query', 'materialized', 'key_targets']);
      const query = isNode(cte['query']) ? cte['query']['node'] : undefined;
      if (!isNode(query)) this.refuse(node, 'unknown SQL construct CTE');
      if (list(cte['key_targets']).length > 0) this.refuse(node, 'recursive CTEs are not allowed in aggregate mode');
      scope.set(text(item['key']).toLowerCase(), { node: query, aliases: list(cte['aliases']).map(text), ctes: new Map(scope) });
    }
    return scope;
  }

  // ---- FROM ---------------------------------------------------------------------------------------

  private source(value: Json | undefined, ctes: ReadonlyMap<string, CteDefinition>): Source & { unitEqualities: [string, string][] } {
    if (!isNode(value)) return this.refuse(null, 'unknown SQL construct FROM');
    const type = text(value['type']);
    if (isNode(value['sample'])) this.refuse(value, 'USING SAMPLE and TABLESAMPLE are not allowed in aggregate mode');
    switch (type) {
      case 'BASE_TABLE': {
        this.known(value, ['type', 'alias', 'sample', 'schema_name', 'table_name', 'column_name_alias', 'catalog_name', 'at_clause']);
        const name = text(value['table_name']);
        const alias = text(value['alias']) || name;
        const renames = list(value['column_name_alias']).map(text);
        if (text(value['schema_name']) !== '' || text(value['catalog_name']) !== '') this.refuse(value, `schema-qualified table ${name} is not allowed: read room tables only`);
        if (isNode(value['at_clause'])) this.refuse(value, 'AT (time travel) is not allowed');
        const cte = ctes.get(name.toLowerCase());
        if (cte !== undefined) {
          const binding = this.derived(cte.node, alias, cte.ctes, renames.length > 0 ? renames : cte.aliases, value);
          return { sql: binding.sql, bindings: [binding.binding], unitEqualities: [] };
        }
        const table = this.tables.get(name.toLowerCase());
        if (table === undefined) this.refuse(value, `table ${name} is not in the room`);
        return { ...this.baseTable(table, alias, renames, value), unitEqualities: [] };
      }
      case 'JOIN':
        return this.join(value, ctes);
      case 'SUBQUERY': {
        this.known(value, ['type', 'alias', 'sample', 'subquery', 'column_name_alias']);
        const query = isNode(value['subquery']) ? value['subquery']['node'] : undefined;
        if (!isNode(query)) this.refuse(value, 'unknown SQL construct subquery');
        const alias = text(value['alias']) || this.fresh('s');
        const binding = this.derived(query, alias, this.ctes(query, ctes), list(value['column_name_alias']).map(text), value);
        return { sql: binding.sql, bindings: [binding.binding], unitEqualities: [] };
      }
      case 'EXPRESSION_LIST':
        return this.refuse(value, 'VALUES lists are not allowed in aggregate mode: read room tables only');
      case 'TABLE_FUNCTION': {
        const fn = value['function'];
        return this.refuse(value, `table function ${isNode(fn) ? text(fn['function_name']) : '(unnamed)'} is not allowed: read room tables only`);
      }
      case 'EMPTY':
        return this.refuse(value, 'the query reads no room table');
      default:
        return this.refuse(value, `unknown SQL construct ${type || 'FROM'}`);
    }
  }

  private baseTable(table: PolicyTable, alias: string, renames: readonly string[], node: Node): Source {
    const units = table.columns.filter((column) => column.role === 'privacy_unit');
    const isPublic = units.length === 0;
    const qualifier = sqlIdentifier(alias);
    const columns = new Map<string, BoundColumn>();
    const visible = table.columns.filter((column) => column.role !== 'hidden');
    if (renames.length > visible.length) this.refuse(node, `${alias} names more columns than ${table.name} has`);
    for (const column of table.columns) {
      const position = visible.indexOf(column);
      const shown = position >= 0 && position < renames.length ? (renames[position] as string) : column.name;
      const kind: Kind = column.role === 'privacy_unit' ? 'unit' : column.role === 'join_key' ? (isPublic ? 'hidden' : 'key') : column.role === 'hidden' ? 'hidden' : column.role;
      const meaning: ColumnMeaning = { kind, label: shown, table: kind === 'unit' || kind === 'key' ? table.name : null, public: isPublic, lineage: [`${table.name}.${column.name}`], ...(column.type === undefined ? {} : { type: column.type }) };
      // Hidden columns are not in the run's view: a reference is refused before it is rendered.
      columns.set(shown.toLowerCase(), { sql: `${qualifier}.${sqlIdentifier(shown)}`, meaning });
    }
    const unitMap = new Map<string, string>();
    const first = units[0];
    if (first !== undefined) {
      const position = visible.indexOf(first);
      const shown = position >= 0 && position < renames.length ? (renames[position] as string) : first.name;
      unitMap.set(table.name, `${qualifier}.${sqlIdentifier(shown)}`);
    }
    const renamed = renames.length === 0 ? '' : `(${renames.map(sqlIdentifier).join(', ')})`;
    return { sql: `${sqlIdentifier(table.name)} AS ${qualifier}${renamed}`, bindings: [{ alias: alias.toLowerCase(), columns, units: unitMap }] };
  }

  private join(value: Node, ctes: ReadonlyMap<string, CteDefinition>): Source & { unitEqualities: [string, string][] } {
    this.known(value, ['type', 'alias', 'sample', 'left', 'right', 'condition', 'join_type', 'ref_type', 'using_columns', 'delim_flipped', 'duplicate_eliminated_columns']);
    const refType = text(value['ref_type']);
    if (refType !== 'REGULAR') {
      const shown = refType === 'CROSS' ? 'CROSS JOIN (or a comma between tables)' : `${refType} JOIN`;
      this.refuse(value, `${shown} is not allowed in aggregate mode: join on equality of join keys or privacy units`);
    }
    const joinType = text(value['join_type']);
    if (joinType !== 'INNER' && joinType !== 'LEFT') this.refuse(value, `${joinType} JOIN is not allowed in aggregate mode: use an inner or left join`);
    const left = this.source(value['left'], ctes);
    const right = this.source(value['right'], ctes);
    for (const binding of right.bindings) {
      if (left.bindings.some((other) => other.alias === binding.alias)) this.refuse(value, `${binding.alias} is named twice in FROM`);
      for (const table of binding.units.keys()) {
        if (left.bindings.some((other) => other.units.has(table))) this.refuse(value, `${table} is read twice in one query: a self-join is not allowed in aggregate mode`);
      }
    }
    const pairs: [BoundColumn, BoundColumn][] = [];
    const using = list(value['using_columns']).map(text);
    if (using.length > 0) {
      for (const name of using) {
        this.usingColumns.add(name.toLowerCase());
        const a = this.column([name], left.bindings, value);
        const b = this.column([name], right.bindings, value);
        pairs.push([a, b]);
      }
    } else {
      const condition = value['condition'];
      if (!isNode(condition)) this.refuse(value, 'a join needs ON with equality of join keys or privacy units');
      for (const equality of this.conjuncts(condition)) {
        if (!(equality['class'] === 'COMPARISON' && equality['type'] === 'COMPARE_EQUAL')) {
          this.refuse(equality, 'a JOIN condition may only be equalities of join keys or privacy units joined by AND: filter in WHERE instead');
        }
        const a = this.joinColumn(equality['left'], [...left.bindings, ...right.bindings]);
        const b = this.joinColumn(equality['right'], [...left.bindings, ...right.bindings]);
        pairs.push([a, b]);
      }
    }
    const unitEqualities: [string, string][] = [...left.unitEqualities, ...right.unitEqualities];
    const sameUnits: (readonly [string, string])[] = [...(left.sameUnits ?? []), ...(right.sameUnits ?? [])];
    const conditions = pairs.map(([a, b]) => {
      const reason = joinPair(a.meaning, b.meaning);
      if (reason !== null) this.refuse(value, reason);
      const sameType = a.meaning.type !== undefined && a.meaning.type === b.meaning.type;
      if (a.meaning.kind === 'unit' && b.meaning.kind === 'unit' && a.meaning.table !== null && b.meaning.table !== null) {
        unitEqualities.push([a.meaning.table, b.meaning.table]);
        // Floating-point units compare equal where their text differs (0.0 and -0.0): not shared.
        if (joinType === 'INNER' && sameType && !/^(FLOAT|DOUBLE|REAL)/.test(a.meaning.type ?? '')) sameUnits.push([a.meaning.table, b.meaning.table]);
      }
      // Different (or unknown) types compare as text: an implicit cast could fail on one value.
      return sameType ? `${a.sql} = ${b.sql}` : `TRY_CAST(${a.sql} AS VARCHAR) = TRY_CAST(${b.sql} AS VARCHAR)`;
    });
    const sql = `${left.sql} ${joinType === 'LEFT' ? 'LEFT JOIN' : 'JOIN'} ${right.sql} ON ${conditions.join(' AND ')}`;
    return { sql, bindings: [...left.bindings, ...right.bindings], unitEqualities, sameUnits };
  }

  private conjuncts(node: Node): Node[] {
    if (node['class'] === 'CONJUNCTION' && node['type'] === 'CONJUNCTION_AND') return list(node['children']).flatMap((child) => (isNode(child) ? this.conjuncts(child) : []));
    return [node];
  }

  private joinColumn(value: Json | undefined, bindings: readonly Binding[]): BoundColumn {
    if (!isNode(value) || value['class'] !== 'COLUMN_REF') return this.refuse(value, 'a JOIN condition may only compare columns (join keys or privacy units), not expressions or constants');
    return this.column(list(value['column_names']).map(text), bindings, value);
  }

  /** Resolves a column name in the bindings; unknown or ambiguous names are refused. */
  private column(names: readonly string[], bindings: readonly Binding[], node: Json): BoundColumn {
    const lower = names.map((name) => name.toLowerCase());
    const found: BoundColumn[] = [];
    if (lower.length >= 2) {
      for (const binding of bindings) {
        if (binding.alias !== lower[lower.length - 2]) continue;
        const column = binding.columns.get(lower[lower.length - 1] as string);
        if (column !== undefined) found.push(column);
      }
    } else {
      for (const binding of bindings) {
        const column = binding.columns.get(lower[0] as string);
        if (column !== undefined) found.push(column);
      }
    }
    if (found.length === 0) return this.refuse(node, `unknown column ${names.join('.')}`);
    if (found.length > 1 && !(lower.length === 1 && this.usingColumns.has(lower[0] as string))) return this.refuse(node, `column ${names.join('.')} is ambiguous: qualify it with its table`);
    return found[0] as BoundColumn;
  }

  // ---- Derived tables and CTEs: row-level projections or per-person pre-aggregations ----------------

  private derived(query: Node, alias: string, ctes: ReadonlyMap<string, CteDefinition>, renames: readonly string[], at: Node): { sql: string; binding: Binding } {
    const type = text(query['type']);
    if (type !== 'SELECT_NODE') this.refuse(query, type === 'SET_OPERATION_NODE' ? 'UNION ALL is allowed on the final output only, not in a subquery' : `unknown SQL construct ${type}`);
    if (list(query['modifiers']).length > 0) this.refuse(query, 'ORDER BY, LIMIT and DISTINCT are allowed on the final output only, not in a subquery');
    this.known(query, ['type', 'modifiers', 'cte_map', 'select_list', 'from_table', 'where_clause', 'group_expressions', 'group_sets', 'aggregate_handling', 'having', 'sample', 'qualify']);
    if (query['qualify'] !== null && query['qualify'] !== undefined) this.refuse(query, 'QUALIFY is not allowed in aggregate mode');
    const scoped = this.ctes(query, ctes);
    const source = this.source(query['from_table'], scoped);
    const scope = source.bindings;
    const where = query['where_clause'] === null || query['where_clause'] === undefined ? null : this.predicate(query['where_clause'], scope, 'where');
    const selectList = list(query['select_list']);
    const aggregating = list(query['group_expressions']).length > 0 || text(query['aggregate_handling']) === 'FORCE_AGGREGATES' || selectList.some(containsAggregate);
    const quoted = sqlIdentifier(alias);
    const columns = new Map<string, BoundColumn>();
    const items: string[] = [];
    const add = (name: string, sql: string, meaning: ColumnMeaning, position: number): void => {
      const shown = renames[position] ?? name;
      const key = shown.toLowerCase();
      if (columns.has(key)) this.refuse(query, `the subquery ${alias} has two columns named ${shown}`);
      items.push(`${sql} AS ${sqlIdentifier(shown)}`);
      columns.set(key, { sql: `${quoted}.${sqlIdentifier(shown)}`, meaning: { ...meaning, label: shown } });
    };
    const units = new Map<string, string>();
    let groupSql: string[] = [];
    if (!aggregating) {
      if (query['having'] !== null && query['having'] !== undefined) this.refuse(query, 'HAVING needs GROUP BY');
      let position = 0;
      for (const item of selectList) {
        if (isNode(item) && item['class'] === 'STAR') {
          if (list(item['exclude_list']).length > 0 || isNode(item['replace_list']) || text(item['relation_name']) !== '' || item['columns'] === true || isNode(item['expr'])) {
            this.refuse(item, '* in a subquery may not use EXCLUDE, REPLACE, COLUMNS or a table name in aggregate mode');
          }
          for (const binding of scope) {
            for (const column of binding.columns.values()) {
              if (column.meaning.kind === 'hidden') continue;
              add(column.meaning.label, column.sql, column.meaning, position);
              position += 1;
            }
          }
          continue;
        }
        const scalar = this.scalar(item, scope, 'item');
        if (scalar.kind === 'hidden') this.refuse(item, `column ${scalar.columns.join(', ')} is hidden`);
        const meaning: ColumnMeaning = scalar.bare ?? { kind: scalar.kind === 'constant' ? 'dimension' : scalar.kind, label: itemName(item, position), table: null, public: false, lineage: scalar.lineage };
        if (scalar.bare === null && (scalar.kind === 'unit' || scalar.kind === 'key')) this.refuse(item, 'a privacy unit or join key may only be passed on bare');
        // A measure scaled by a constant stays a measure (and stays scaled: still a bare value argument).
        add(itemName(item, position), scalar.sql, scalar.kind === 'measure' && scalar.bare === null ? { ...meaning, kind: 'measure' } : meaning, position);
        position += 1;
      }
      for (const binding of scope) {
        for (const [table, unit] of binding.units) {
          const column = this.fresh('u');
          items.push(`${unit} AS ${sqlIdentifier(column)}`);
          units.set(table, `${quoted}.${sqlIdentifier(column)}`);
        }
      }
    } else {
      // A per-person pre-aggregation: GROUP BY a privacy unit (and dimensions); its aggregates
      // become measures of that person.
      if (list(query['group_sets']).length > 1) this.refuse(query, 'GROUPING SETS, ROLLUP and CUBE are not allowed in aggregate mode');
      if (query['having'] !== null && query['having'] !== undefined) this.refuse(query['having'], 'HAVING is not allowed in a per-person pre-aggregation: filter its columns in the outer WHERE');
      const groups = list(query['group_expressions']).map((group) => this.groupExpression(group, selectList, scope));
      if (text(query['aggregate_handling']) === 'FORCE_AGGREGATES') {
        for (const item of selectList) if (!containsAggregate(item)) groups.push(this.scalar(item, scope, 'group'));
      }
      const unitGroups = groups.filter((group) => group.kind === 'unit' && group.bare !== null);
      if (unitGroups.length === 0) this.refuse(query, 'an aggregating subquery must GROUP BY a privacy unit (a per-person pre-aggregation); aggregate by dimensions in the final SELECT only');
      const personTable = (unitGroups[0] as Scalar).bare?.table ?? '';
      const grouped = new Set(unitGroups.map((group) => group.bare?.table ?? ''));
      for (const binding of scope) {
        for (const table of binding.units.keys()) {
          const same = grouped.has(table) || source.unitEqualities.some(([a, b]) => (a === table && grouped.has(b)) || (b === table && grouped.has(a)));
          if (!same) this.refuse(query, `a per-person pre-aggregation over ${personTable} also reads ${table}: group by its privacy unit too, or join it on the privacy unit`);
        }
      }
      for (const group of groups) {
        if (group.kind === 'unit' || group.kind === 'dimension' || group.kind === 'constant') continue;
        this.refuse(query, groupKey(group) ?? `${group.kind} cannot be a group key`);
      }
      groupSql = groups.map((group) => group.sql);
      let position = 0;
      for (const item of selectList) {
        const name = itemName(item, position);
        if (containsAggregate(item)) {
          const { sql, lineage } = this.personAggregate(item, scope);
          add(name, sql, { kind: 'measure', label: name, table: null, public: false, lineage }, position);
        } else {
          const scalar = this.scalar(item, scope, 'group');
          if (!groups.some((group) => group.sql === scalar.sql)) this.refuse(item, `${name} must be in GROUP BY or inside an aggregate`);
          const meaning: ColumnMeaning = scalar.bare ?? { kind: scalar.kind === 'constant' ? 'dimension' : scalar.kind, label: name, table: null, public: false, lineage: scalar.lineage };
          add(name, scalar.sql, meaning, position);
        }
        position += 1;
      }
      const unitSql = (unitGroups[0] as Scalar).sql;
      const column = this.fresh('u');
      items.push(`${unitSql} AS ${sqlIdentifier(column)}`);
      // Tables joined on the unit have the same people: one column serves them all.
      for (const binding of scope) for (const table of binding.units.keys()) units.set(table, `${quoted}.${sqlIdentifier(column)}`);
    }
    if (renames.length > columns.size) this.refuse(at, `${alias} names more columns than its query has`);
    const whereSql = where === null ? '' : ` WHERE ${where.sql}`;
    const groupBy = groupSql.length === 0 ? '' : ` GROUP BY ${groupSql.join(', ')}`;
    const sql = `(SELECT ${items.join(', ')} FROM ${source.sql}${whereSql}${groupBy}) AS ${quoted}`;
    return { sql, binding: { alias: alias.toLowerCase(), columns, units } };
  }

  /** An aggregate inside a per-person pre-aggregation: any allowed aggregate of that person's rows. */
  private personAggregate(item: Json, scope: readonly Binding[]): { sql: string; lineage: string[] } {
    const lineage = new Set<string>();
    const walk = (value: Json | undefined): string => {
      if (!isNode(value)) return this.refuse(null, 'unknown SQL construct expression');
      if (value['class'] === 'FUNCTION' && isAggregateName(text(value['function_name']).toLowerCase())) {
        const name = text(value['function_name']).toLowerCase();
        const allowed = countNames.has(name) || valueNames.has(name) || name === 'min' || name === 'max';
        if (!allowed) this.refuse(value, `aggregate ${name} is not allowed in aggregate mode`);
        if (list(isNode(value['order_bys']) ? value['order_bys']['orders'] : []).length > 0) this.refuse(value, 'ORDER BY inside an aggregate is not allowed');
        const filter = isNode(value['filter']) ? this.predicate(value['filter'], scope, 'filter') : null;
        if (filter !== null) {
          const reason = aggregateFilter(filter);
          if (reason !== null) this.refuse(value['filter'], reason);
        }
        const args = list(value['children']).map((child) => {
          const arg = this.scalar(child, scope, 'argument');
          if (arg.kind === 'hidden') this.refuse(child, `column ${arg.columns.join(', ')} is hidden`);
          if (arg.kind === 'key') this.refuse(child, `join key ${arg.columns.join(', ')} may only be used in JOIN conditions`);
          if (arg.kind === 'unit' && !(name === 'count' && value['distinct'] === true)) this.refuse(child, `privacy unit ${arg.columns.join(', ')} may only be counted with count(DISTINCT …)`);
          if (arg.kind === 'measure' && !arg.scaled) this.refuse(child, valueArgument(name, arg) ?? 'not allowed');
          for (const source of arg.lineage) lineage.add(source);
          return arg.sql;
        });
        // A count of a person's rows comes from the rows of every table behind them.
        if (name === 'count_star' || (name === 'count' && value['distinct'] !== true)) for (const binding of scope) for (const table of binding.units.keys()) lineage.add(`${table}.rows`);
        const distinct = value['distinct'] === true ? 'DISTINCT ' : '';
        const call = name === 'count_star' ? 'count(*)' : `${name}(${distinct}${args.join(', ')})`;
        return filter === null ? call : `${call} FILTER (WHERE ${filter.sql})`;
      }
      if (value['class'] === 'CONSTANT') return this.literal(value);
      if (value['class'] === 'FUNCTION') {
        const name = text(value['function_name']).toLowerCase();
        if (!scalarFunctions.has(name) || isEnvironmentFunction(name)) this.refuse(value, `function ${name} is not allowed in aggregate mode`);
        const args = list(value['children']).map(walk);
        return `TRY(${renderCall(name, args)})`;
      }
      if (value['class'] === 'CAST') return `TRY_CAST(${walk(value['child'])} AS ${this.typeName(value['cast_type'], value)})`;
      return this.refuse(value, 'a per-person pre-aggregation may only compute aggregates of that person\'s rows and arithmetic over them');
    };
    const sql = walk(isNode(item) ? { ...item, alias: '' } : item);
    return { sql, lineage: [...lineage].sort() };
  }

  // ---- The aggregating SELECT ---------------------------------------------------------------------

  private aggregateSelect(node: Node, ctes: ReadonlyMap<string, CteDefinition>): AggregateSelect {
    this.known(node, ['type', 'modifiers', 'cte_map', 'select_list', 'from_table', 'where_clause', 'group_expressions', 'group_sets', 'aggregate_handling', 'having', 'sample', 'qualify']);
    if (node['qualify'] !== null && node['qualify'] !== undefined) this.refuse(node, 'QUALIFY is not allowed in aggregate mode');
    if (isNode(node['sample'])) this.refuse(node, 'USING SAMPLE is not allowed in aggregate mode');
    const source = this.source(node['from_table'], ctes);
    const scope = source.bindings;
    const where = node['where_clause'] === null || node['where_clause'] === undefined ? null : this.attempt(() => this.predicate(node['where_clause'], scope, 'where'), null);
    const selectList = list(node['select_list']);
    if (list(node['group_sets']).length > 1) this.refuse(node, 'GROUPING SETS, ROLLUP and CUBE are not allowed in aggregate mode: use UNION ALL of GROUP BYs');
    const aliases = new Map<string, Json>();
    for (const item of selectList) if (isNode(item) && text(item['alias']) !== '') aliases.set(text(item['alias']).toLowerCase(), item);
    const groups: Scalar[] = list(node['group_expressions']).map((group) => this.attempt(() => this.groupExpression(group, selectList, scope), null)).filter((group): group is Scalar => group !== null);
    const groupAll = text(node['aggregate_handling']) === 'FORCE_AGGREGATES';
    if (groupAll) {
      for (const item of selectList) if (isNode(item) && !containsAggregate(item)) groups.push(this.scalar({ ...item, alias: '' }, scope, 'group'));
    }
    for (const group of groups) {
      const reason = groupKey(group);
      if (reason !== null) this.refuse(group.position === undefined ? node : { query_location: Number(group.position.replace('character ', '')) - 1 }, reason);
    }
    const aggregating = groups.length > 0 || selectList.some(containsAggregate) || (node['having'] !== null && node['having'] !== undefined);
    if (!aggregating) this.refuse(node, 'the output is not aggregated: add GROUP BY and aggregates');
    const context: OutputContext = { groups, terms: [], scope, aliases };
    const items: { name: string; expr: OutputExpr }[] = [];
    selectList.forEach((item, index) => {
      if (isNode(item) && item['class'] === 'STAR') this.refuse(item, '* is not allowed in aggregate mode: name the group keys and aggregates');
      const expr = this.attempt(() => this.output(isNode(item) ? { ...item, alias: '' } : item, context), null);
      if (expr !== null) items.push({ name: itemName(item, index), expr });
    });
    const having = node['having'] === null || node['having'] === undefined ? null : this.output(node['having'], context);
    const protectedTables = [...new Set(scope.flatMap((binding) => [...binding.units.keys()]))].sort();
    const branch: AggregateSelect = { source, where, groups, terms: context.terms, items, having, protectedTables, order: [] };
    this.contexts.set(branch, context);
    if (protectedTables.length === 0) this.refuse(node, 'the query reads no table with a privacy unit: there is no one to count');
    return branch;
  }

  /** A GROUP BY expression; a name may be a select-list alias. */
  private groupExpression(group: Json, selectList: readonly Json[], scope: readonly Binding[]): Scalar {
    if (isNode(group) && group['class'] === 'COLUMN_REF') {
      const names = list(group['column_names']).map(text);
      if (names.length === 1) {
        const name = (names[0] as string).toLowerCase();
        const bound = scope.some((binding) => binding.columns.has(name));
        const aliased = selectList.find((item) => isNode(item) && text(item['alias']).toLowerCase() === name);
        if (!bound && isNode(aliased)) {
          if (containsAggregate(aliased)) this.refuse(group, `GROUP BY ${names[0]} names an aggregate`);
          return this.scalar({ ...aliased, alias: '' }, scope, 'group');
        }
      }
    }
    if (isNode(group) && group['class'] === 'CONSTANT') {
      // GROUP BY 1: DuckDB binds a whole number to that select item.
      const inner = group['value'];
      const position = isNode(inner) && typeof inner['value'] === 'number' ? inner['value'] : NaN;
      const item = Number.isSafeInteger(position) && position >= 1 ? selectList[position - 1] : undefined;
      if (!isNode(item)) this.refuse(group, 'GROUP BY takes an expression, an alias or a select-list position');
      if (containsAggregate(item)) this.refuse(group, `GROUP BY ${position} names an aggregate`);
      return this.scalar({ ...item, alias: '' }, scope, 'group');
    }
    return this.scalar(group, scope, 'group');
  }

  /**
   * An output-level expression: aggregates become terms (`__cr_v<i>`), group expressions become
   * keys (`__cr_g<i>`), and functions over them are computed from the released values.
   */
  private output(value: Json | undefined, context: OutputContext): OutputExpr {
    const used = new Set<number>();
    let readsKey = false;
    const walk = (item: Json | undefined): string => {
      if (!isNode(item)) return this.refuse(null, 'unknown SQL construct expression');
      const cls = text(item['class']);
      if (cls === 'FUNCTION' && isAggregateName(text(item['function_name']).toLowerCase())) {
        const term = this.term(item, context.scope);
        let index = context.terms.findIndex((existing) => termKey(existing) === termKey(term));
        if (index < 0) {
          context.terms.push(term);
          index = context.terms.length - 1;
        }
        used.add(index);
        return sqlIdentifier(`${reservedPrefix}v${index}`);
      }
      if (!containsAggregate(item)) {
        // A group key (or something computed from group keys and constants only).
        if (cls === 'CONSTANT') return this.literal(item);
        if (cls === 'COLUMN_REF') {
          const names = list(item['column_names']).map(text);
          const alias = names.length === 1 ? context.aliases.get((names[0] as string).toLowerCase()) : undefined;
          const bound = names.length === 1 && context.scope.some((binding) => binding.columns.has((names[0] as string).toLowerCase()));
          if (alias !== undefined && !bound) {
            if (containsAggregate(alias)) return this.refuse(item, `${names[0]} refers to an aggregate by its alias: repeat the expression (an alias carries no role)`);
            return walk({ ...(alias as Node), alias: '' });
          }
        }
        const scalar = this.attempt(() => this.scalar(item, context.scope, 'group'), null);
        if (scalar !== null) {
          const index = context.groups.findIndex((group) => group.sql === scalar.sql);
          if (index >= 0) {
            readsKey = true;
            return sqlIdentifier(`${reservedPrefix}g${index}`);
          }
          if (scalar.kind === 'constant') return scalar.sql;
          if (cls === 'COLUMN_REF') return this.refuse(item, `column ${scalar.columns.join(', ')} must be in GROUP BY or inside an aggregate`);
        } else if (cls === 'COLUMN_REF') {
          return this.refuse(item, 'unknown column');
        }
      }
      switch (cls) {
        case 'FUNCTION': {
          const name = text(item['function_name']).toLowerCase();
          if (isEnvironmentFunction(name)) this.refuse(item, `function ${name} reveals the environment and is not allowed`);
          if (!scalarFunctions.has(name)) this.refuse(item, `function ${name} is not allowed in aggregate mode`);
          if (text(item['schema']) !== '' || text(item['catalog']) !== '') this.refuse(item, `schema-qualified function ${name} is not allowed in aggregate mode`);
          return `TRY(${renderCall(name, list(item['children']).map(walk))})`;
        }
        case 'CAST':
          return `TRY_CAST(${walk(item['child'])} AS ${this.typeName(item['cast_type'], item)})`;
        case 'COMPARISON': {
          const op = comparisonOperators[text(item['type'])];
          if (op === undefined) return this.refuse(item, `unknown SQL construct ${text(item['type'])}`);
          return `TRY(${walk(item['left'])} ${op} ${walk(item['right'])})`;
        }
        case 'CONJUNCTION':
          return `(${list(item['children']).map(walk).join(item['type'] === 'CONJUNCTION_OR' ? ' OR ' : ' AND ')})`;
        case 'OPERATOR': {
          const type = text(item['type']);
          const children = list(item['children']).map(walk);
          if (type === 'OPERATOR_NOT') return `(NOT ${children[0]})`;
          if (type === 'OPERATOR_IS_NULL') return `(${children[0]} IS NULL)`;
          if (type === 'OPERATOR_IS_NOT_NULL') return `(${children[0]} IS NOT NULL)`;
          if (type === 'OPERATOR_COALESCE') return `coalesce(${children.join(', ')})`;
          if (type === 'COMPARE_IN' || type === 'COMPARE_NOT_IN') return `TRY(${children[0]} ${type === 'COMPARE_IN' ? 'IN' : 'NOT IN'} (${children.slice(1).join(', ')}))`;
          return this.refuse(item, `unknown SQL construct ${type}`);
        }
        case 'CASE': {
          const whens = list(item['case_checks']).map((check) => (isNode(check) ? `WHEN ${walk(check['when_expr'])} THEN ${walk(check['then_expr'])}` : ''));
          const otherwise = item['else_expr'] === null || item['else_expr'] === undefined ? '' : ` ELSE ${walk(item['else_expr'])}`;
          return `(CASE ${whens.join(' ')}${otherwise} END)`;
        }
        case 'BETWEEN':
          return `TRY(${walk(item['input'])} BETWEEN ${walk(item['lower'])} AND ${walk(item['upper'])})`;
        case 'WINDOW':
          return this.refuse(item, `window function ${text(item['function_name'])} (OVER) is not allowed in aggregate mode`);
        case 'SUBQUERY':
          return this.refuse(item, 'a subquery expression is not allowed in aggregate mode: use a join or a CTE');
        default:
          return this.refuse(item, `unknown SQL construct ${text(item['type']) || cls}`);
      }
    };
    const sql = walk(value);
    return { sql, terms: [...used].sort((a, b) => a - b), keyOnly: used.size === 0 && readsKey };
  }

  /** An aggregate at output level: one term of the algebra. */
  private term(node: Node, scope: readonly Binding[]): Term {
    const name = text(node['function_name']).toLowerCase();
    const position = positionOf(node);
    if (revealingAggregates.has(name) || (!countNames.has(name) && !valueNames.has(name))) {
      const why = name === 'min' || name === 'max' ? `aggregate ${name} reveals one person's value and is not allowed in aggregate mode` : `aggregate ${name} reveals individual values and is not allowed in aggregate mode`;
      this.refuse(node, why);
    }
    if (text(node['schema']) !== '' || text(node['catalog']) !== '') this.refuse(node, `schema-qualified function ${name} is not allowed in aggregate mode`);
    if (list(isNode(node['order_bys']) ? node['order_bys']['orders'] : []).length > 0) this.refuse(node, 'ORDER BY inside an aggregate is not allowed');
    if (node['export_state'] === true) this.refuse(node, 'EXPORT_STATE is not allowed');
    const children = list(node['children']);
    for (const child of children) if (containsAggregate(child)) this.refuse(child, `aggregate inside ${name} is not allowed`);
    const filter = isNode(node['filter']) ? this.predicate(node['filter'], scope, 'filter') : null;
    if (filter !== null) {
      const reason = aggregateFilter(filter);
      if (reason !== null) this.refuse(node['filter'], reason);
    }
    const distinct = node['distinct'] === true;
    // Counts and values keep SQL's meaning over a join (rows of the join): a weight one table's rows
    // give another's people shows in every person's share (dominance) and in their row counts (r sets).
    if (name === 'count_star') return { fn: 'count_star', args: [], distinct: false, filter, family: 'count', position };
    const args = children.map((child) => this.scalar(child, scope, 'argument'));
    for (const arg of args) if (arg.kind === 'hidden') this.refuse(node, `column ${arg.columns.join(', ')} is hidden`);
    if (name === 'count') {
      if (args.length !== 1) this.refuse(node, 'count takes one column or *');
      const reason = countArgument(args[0] as Scalar, distinct);
      if (reason !== null) this.refuse(node, reason);
      return { fn: 'count', args, distinct, filter, family: 'count', position };
    }
    if (distinct) this.refuse(node, `DISTINCT is only allowed in count, not in ${name}`);
    for (const arg of args) {
      const reason = valueArgument(name, arg);
      if (reason !== null) this.refuse(node, reason);
    }
    return { fn: name, args, distinct: false, filter, family: 'value', position };
  }

  // ---- Row-level expressions ----------------------------------------------------------------------

  /** A boolean row-level expression (WHERE, FILTER): measures only where the place allows. */
  private predicate(value: Json | undefined, scope: readonly Binding[], place: Place): Scalar {
    const scalar = this.scalar(value, scope, place);
    if (scalar.kind === 'unit' || scalar.kind === 'key') this.refuse(value, `${scalar.kind === 'unit' ? 'a privacy unit' : 'a join key'} (${scalar.columns.join(', ')}) may not be used in ${place === 'where' ? 'WHERE' : 'FILTER'}: it would select people by identity`);
    if (scalar.kind === 'measure' && !scalar.predicate) this.refuse(value, `measure ${scalar.columns.join(', ')} may only be compared with constants in WHERE`);
    return scalar;
  }

  /** Translates a row-level expression and applies the role rules for where it stands. */
  scalar(value: Json | undefined, scope: readonly Binding[], place: Place): Scalar {
    if (!isNode(value)) return this.refuse(null, 'unknown SQL construct expression');
    const position = positionOf(value);
    const cls = text(value['class']);
    const make = (sql: string, parts: readonly Scalar[], extra: Partial<Scalar> = {}): Scalar => {
      const kind = combineKinds(parts);
      const lineage = [...new Set(parts.flatMap((part) => part.lineage))].sort();
      return { sql, kind, columns: [...new Set(parts.flatMap((part) => part.columns))], bare: null, scaled: false, predicate: false, position, lineage, ...extra };
    };
    switch (cls) {
      case 'CONSTANT':
        return { sql: this.literal(value), kind: 'constant', columns: [], bare: null, scaled: false, predicate: false, position, lineage: [] };
      case 'COLUMN_REF': {
        const column = this.column(list(value['column_names']).map(text), scope, value);
        const reason = columnUse(column.meaning);
        if (reason !== null) this.refuse(value, reason);
        const kind = column.meaning.kind;
        return { sql: column.sql, kind, columns: [column.meaning.label], bare: column.meaning, scaled: kind === 'measure' || (kind === 'dimension' && isNumeric(column.meaning.type)), predicate: false, position, lineage: column.meaning.lineage };
      }
      case 'CAST': {
        const child = this.scalar(value['child'], scope, place);
        const type = this.typeName(value['cast_type'], value);
        if (child.kind === 'unit' || child.kind === 'key') this.refuse(value, functionArguments('CAST', [child]) ?? 'not allowed');
        const numericCast = numericTypes.test(type) || type === 'BOOLEAN';
        return { ...child, sql: `TRY_CAST(${child.sql} AS ${type})`, scaled: child.scaled || (child.bare !== null && numericCast && child.kind === 'dimension'), position };
      }
      case 'FUNCTION': {
        const name = text(value['function_name']).toLowerCase();
        if (isEnvironmentFunction(name)) this.refuse(value, `function ${name} reveals the environment and is not allowed`);
        if (isAggregateName(name)) this.refuse(value, place === 'argument' ? `aggregate ${name} inside another aggregate is not allowed` : `aggregate ${name} is not allowed here`);
        if (text(value['schema']) !== '' || text(value['catalog']) !== '') this.refuse(value, `schema-qualified function ${name} is not allowed in aggregate mode`);
        if (!scalarFunctions.has(name)) this.refuse(value, `function ${name} is not allowed in aggregate mode`);
        if (isNode(value['filter']) || value['distinct'] === true) this.refuse(value, `${name} is not an aggregate`);
        if (name === 'getvariable') {
          const arg = list(value['children'])[0];
          if (!(isNode(arg) && arg['class'] === 'CONSTANT')) this.refuse(value, 'getvariable takes a parameter name');
          return { sql: `getvariable(${this.literal(arg)})`, kind: 'constant', columns: [], bare: null, scaled: false, predicate: false, position, lineage: [] };
        }
        const args = list(value['children']).map((child) => this.scalar(child, scope, place));
        const isLike = ['~~', '!~~', '~~*', '!~~*'].includes(name);
        const reason = isLike ? comparison(args, place === 'where') : functionArguments(name, args);
        if (reason !== null) this.refuse(value, reason);
        const sql = `TRY(${renderCall(name, args.map((arg) => arg.sql))})`;
        const scaledMeasure = args.some((arg) => arg.kind === 'measure' || (arg.kind === 'dimension' && arg.scaled)) && ['*', '/', '-', 'multiply', 'divide'].includes(name) && args.filter((arg) => arg.kind !== 'constant').length === 1;
        return make(sql, args, { scaled: scaledMeasure && args.every((arg) => arg.kind === 'constant' || arg.scaled), predicate: isLike });
      }
      case 'COMPARISON': {
        const op = comparisonOperators[text(value['type'])];
        if (op === undefined) return this.refuse(value, `unknown SQL construct ${text(value['type'])}`);
        const parts = [this.scalar(value['left'], scope, place), this.scalar(value['right'], scope, place)];
        const reason = comparison(parts, place === 'where');
        if (reason !== null) this.refuse(value, reason);
        return make(`TRY(${parts[0]?.sql} ${op} ${parts[1]?.sql})`, parts, { predicate: true });
      }
      case 'CONJUNCTION': {
        const parts = list(value['children']).map((child) => this.scalar(child, scope, place));
        for (const part of parts) if (part.kind === 'measure' && !part.predicate) this.refuse(value, `measure ${part.columns.join(', ')} may only be compared with constants`);
        const joiner = value['type'] === 'CONJUNCTION_OR' ? ' OR ' : ' AND ';
        return make(`(${parts.map((part) => part.sql).join(joiner)})`, parts, { predicate: true });
      }
      case 'OPERATOR': {
        const type = text(value['type']);
        const parts = list(value['children']).map((child) => this.scalar(child, scope, place));
        switch (type) {
          case 'OPERATOR_NOT': {
            const part = parts[0] as Scalar;
            if (part.kind === 'measure' && !part.predicate) this.refuse(value, `measure ${part.columns.join(', ')} may only be compared with constants`);
            return make(`(NOT ${part.sql})`, parts, { predicate: true });
          }
          case 'OPERATOR_IS_NULL':
          case 'OPERATOR_IS_NOT_NULL': {
            const reason = comparison(parts, place === 'where');
            if (reason !== null) this.refuse(value, reason);
            return make(`(${parts[0]?.sql} IS ${type === 'OPERATOR_IS_NULL' ? '' : 'NOT '}NULL)`, parts, { predicate: true });
          }
          case 'COMPARE_IN':
          case 'COMPARE_NOT_IN': {
            const reason = comparison(parts, place === 'where');
            if (reason !== null) this.refuse(value, reason);
            const [first, ...rest] = parts;
            // One TRY per comparison: DuckDB may plan a long IN list as a join (or push it into the
            // scan), where a value that fails the implicit cast would fail the run outside any TRY.
            const any = `(${rest.map((part) => `TRY(${first?.sql} = ${part.sql})`).join(' OR ')})`;
            return make(type === 'COMPARE_IN' ? any : `(NOT ${any})`, parts, { predicate: true });
          }
          case 'OPERATOR_COALESCE': {
            const reason = dimensionOnly('coalesce', parts);
            if (reason !== null) this.refuse(value, reason);
            return make(`coalesce(${parts.map((part) => part.sql).join(', ')})`, parts);
          }
          default:
            return this.refuse(value, type === 'ARRAY_EXTRACT' || type === 'ARRAY_SLICE' ? 'list indexing is not allowed in aggregate mode' : `unknown SQL construct ${type}`);
        }
      }
      case 'BETWEEN': {
        const parts = [this.scalar(value['input'], scope, place), this.scalar(value['lower'], scope, place), this.scalar(value['upper'], scope, place)];
        const reason = comparison(parts, place === 'where');
        if (reason !== null) this.refuse(value, reason);
        return make(`TRY(${parts[0]?.sql} BETWEEN ${parts[1]?.sql} AND ${parts[2]?.sql})`, parts, { predicate: true });
      }
      case 'CASE': {
        const parts: Scalar[] = [];
        const whens = list(value['case_checks']).map((check) => {
          if (!isNode(check)) return this.refuse(value, 'unknown SQL construct CASE');
          const when = this.scalar(check['when_expr'], scope, place);
          const then = this.scalar(check['then_expr'], scope, place);
          parts.push(when, then);
          return `WHEN ${when.sql} THEN ${then.sql}`;
        });
        const otherwise = value['else_expr'] === null || value['else_expr'] === undefined ? null : this.scalar(value['else_expr'], scope, place);
        if (otherwise !== null) parts.push(otherwise);
        const reason = dimensionOnly('CASE', parts);
        if (reason !== null) this.refuse(value, reason);
        return make(`(CASE ${whens.join(' ')}${otherwise === null ? '' : ` ELSE ${otherwise.sql}`} END)`, parts);
      }
      case 'SUBQUERY':
        return this.refuse(value, 'a subquery expression (scalar, IN, EXISTS) is not allowed in aggregate mode: use a join or a CTE');
      case 'WINDOW':
        return this.refuse(value, `window function ${text(value['function_name']) || 'OVER'} (OVER) is not allowed in aggregate mode`);
      case 'STAR':
        return this.refuse(value, text(value['type']) === 'COLUMNS' || value['columns'] === true ? 'COLUMNS(…) is not allowed in aggregate mode' : '* is not allowed in aggregate mode');
      case 'LAMBDA':
        return this.refuse(value, 'lambda functions are not allowed in aggregate mode');
      case 'PARAMETER':
        return this.refuse(value, 'prepared-statement parameters are not allowed');
      case 'POSITIONAL_REFERENCE':
        return this.refuse(value, 'positional column references (#n) are not allowed in aggregate mode');
      default:
        return this.refuse(value, `unknown SQL construct ${text(value['type']) || cls}`);
    }
  }

  /** A constant, rendered from its typed value (never from the text as typed). */
  literal(node: Json | undefined): string {
    if (!isNode(node)) return this.refuse(null, 'unknown SQL construct constant');
    const value = node['value'];
    if (!isNode(value)) return this.refuse(node, 'unknown SQL construct constant');
    if (value['is_null'] === true) return 'NULL';
    const type = isNode(value['type']) ? text(value['type']['id']) : '';
    const raw = value['value'];
    const token = isNode(raw) && typeof raw[carriedNumberKey] === 'string' ? (raw[carriedNumberKey] as string) : typeof raw === 'number' ? String(raw) : null;
    switch (type) {
      case 'VARCHAR':
        if (typeof raw !== 'string') return this.refuse(node, 'unknown SQL construct constant');
        return sqlString(raw);
      case 'BOOLEAN':
        return raw === true ? 'true' : 'false';
      case 'INTEGER':
      case 'BIGINT':
      case 'SMALLINT':
      case 'TINYINT':
      case 'HUGEINT':
      case 'UBIGINT':
      case 'UINTEGER':
        if (token === null || !/^-?\d+$/.test(token)) return this.refuse(node, 'unknown SQL construct constant');
        return token.startsWith('-') ? `(${token})` : token;
      case 'DOUBLE':
      case 'FLOAT':
        if (token === null || !/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(token)) return this.refuse(node, 'unknown SQL construct constant');
        return `CAST(${sqlString(token)} AS DOUBLE)`;
      case 'DECIMAL': {
        const info = isNode(value['type']) ? value['type']['type_info'] : null;
        const scale = isNode(info) && typeof info['scale'] === 'number' ? info['scale'] : 0;
        const width = isNode(info) && typeof info['width'] === 'number' ? info['width'] : 18;
        if (token === null || !/^-?\d+$/.test(token)) return this.refuse(node, 'unknown SQL construct constant');
        const negative = token.startsWith('-');
        const digits = (negative ? token.slice(1) : token).padStart(scale + 1, '0');
        const shown = scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
        return `CAST(${sqlString(`${negative ? '-' : ''}${shown}`)} AS DECIMAL(${width}, ${scale}))`;
      }
      default:
        return this.refuse(node, `a constant of type ${type || 'unknown'} is not allowed in aggregate mode`);
    }
  }

  typeName(value: Json | undefined, at: Node): string {
    if (!isNode(value)) return this.refuse(at, 'unknown SQL construct type');
    const id = text(value['id']);
    if (simpleTypes.has(id)) return id;
    if (id === 'DECIMAL') {
      const info = value['type_info'];
      const width = isNode(info) && typeof info['width'] === 'number' ? info['width'] : 18;
      const scale = isNode(info) && typeof info['scale'] === 'number' ? info['scale'] : 3;
      return `DECIMAL(${width}, ${scale})`;
    }
    return this.refuse(at, `CAST to ${id || 'this type'} is not allowed in aggregate mode`);
  }
}

// ---- Helpers --------------------------------------------------------------------------------------

/** The most sensitive kind among parts: hidden > unit > key > measure > dimension > constant. */
function combineKinds(parts: readonly Scalar[]): Kind {
  const order: Kind[] = ['hidden', 'unit', 'key', 'measure', 'dimension', 'constant'];
  for (const kind of order) if (parts.some((part) => part.kind === kind)) return kind;
  return 'constant';
}

/** A join pair: units and keys of protected tables with each other; dimensions only against a public lookup. */
function joinPair(a: ColumnMeaning, b: ColumnMeaning): string | null {
  const identity = (m: ColumnMeaning): boolean => m.kind === 'unit' || m.kind === 'key';
  if (identity(a) && identity(b)) return null;
  if (a.kind === 'dimension' && b.kind === 'dimension' && (a.public || b.public)) return null;
  if (a.kind === 'hidden' || b.kind === 'hidden') return `column ${(a.kind === 'hidden' ? a : b).label} is hidden (a table without a privacy unit joins on dimensions only)`;
  if (a.kind === 'dimension' && b.kind === 'dimension') return `${a.label} = ${b.label}: two tables with people join on join keys or privacy units, not dimensions`;
  const odd = identity(a) ? b : a;
  return `${odd.kind} ${odd.label} cannot be used in a JOIN condition: join on equality of join keys or privacy units (or a dimension of a public lookup table)`;
}

const isNumeric = (type: string | undefined): boolean => type === undefined || numericTypes.test(type) || type === 'BOOLEAN';

function renderCall(name: string, args: readonly string[]): string {
  const infix = infixOperators[name];
  if (infix !== undefined && args.length === 2) return `(${args[0]} ${infix} ${args[1]})`;
  if (name === '-' && args.length === 1) return `(-${args[0]})`;
  if (name === '+' && args.length === 1) return `(${args[0]})`;
  return `${name}(${args.join(', ')})`;
}

/** Whether an expression holds an aggregate call outside any subquery. */
export function containsAggregate(value: Json): boolean {
  if (Array.isArray(value)) return value.some(containsAggregate);
  if (!isNode(value)) return false;
  if (value['class'] === 'SUBQUERY') return false;
  if (value['class'] === 'FUNCTION' && isAggregateName(text(value['function_name']).toLowerCase())) return true;
  return Object.values(value).some(containsAggregate);
}

/** The column name DuckDB would give a select-list item. */
export function itemName(item: Json, index: number): string {
  if (!isNode(item)) return `column${index}`;
  const alias = text(item['alias']);
  if (alias !== '') return alias;
  if (item['class'] === 'COLUMN_REF') return list(item['column_names']).map(text).at(-1) ?? `column${index}`;
  if (item['class'] === 'FUNCTION') {
    const name = text(item['function_name']);
    return name === 'count_star' ? 'count_star()' : name || `column${index}`;
  }
  return `column${index}`;
}

const termKey = (term: Term): string => `${term.fn}|${term.distinct}|${term.args.map((arg) => arg.sql).join(',')}|${term.filter?.sql ?? ''}`;
