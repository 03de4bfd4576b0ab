// k-suppression and TRY_CAST by rewriting an aggregate-mode cell's syntax tree (DuckDB's
// json_serialize_sql form) before the worker runs it. Pure: the worker parses, this rewrites, the
// worker turns the tree back into SQL with json_deserialize_sql.
//
// Every output row gets extra columns `__cr_k_<n>`: the number of distinct privacy units of each
// protected table (a table with a privacy_unit column) behind that row. The worker drops rows
// where any of them is below the room's k. The count is taken with count(DISTINCT …) on the
// privacy unit itself, so a join that repeats one person in many rows does not inflate it:
//   - a protected table bound in the aggregating SELECT's FROM (joins included) counts its own
//     privacy unit column;
//   - a row-level subquery or CTE passes the privacy unit up as an extra column `__cr_pu_<n>`;
//   - an aggregating subquery passes up list(DISTINCT unit), and the level above merges the lists
//     (list_distinct(flatten(list(…)))).
// What cannot be counted this way is refused, never guessed: a subquery expression (scalar, IN,
// EXISTS) over a protected table, SEMI/ANTI joins with one on the right, SELECT DISTINCT over one
// in a subquery, and an output that does not aggregate over one.
//
// Row-level functions a person's value could make fail (a cast, a bad regular expression, ln(0),
// an overflow) are made to yield NULL instead of failing the run: CASTs become TRY_CASTs and
// every function call outside an aggregate's result is wrapped in TRY(…). Arithmetic on
// aggregate results cannot be wrapped (DuckDB refuses TRY around aggregates); see docs/policy.md.
import { containsAggregate, isAggregateName, isNode, type Json, list, type PolicyTable, text } from './policy.js';

type Node = { [key: string]: Json };

export interface KGuardColumn {
  /** The extra output column, `__cr_k_<n>`. */
  readonly column: string;
  /** The protected table whose privacy units it counts. */
  readonly table: string;
}

export type KGuardResult =
  | { readonly ok: true; readonly tree: unknown; readonly guards: KGuardColumn[] }
  | { readonly ok: false; readonly reasons: string[] };

/** Prefix of every name the rewrite adds; notebook SQL may not use it. */
export const reservedPrefix = '__cr_';

/** A privacy-unit value (one per row) or a list of them, as an expression or a relation's column. */
type UnitKind = 'value' | 'list';
interface UnitExpr {
  readonly table: string;
  readonly kind: UnitKind;
  readonly expr: Node;
}
interface Unit {
  readonly table: string;
  readonly kind: UnitKind;
  readonly column: string;
}

/** What a CTE name stands for: the units its rows carry, and how many columns the notebook gave it. */
interface CteInfo {
  readonly units: Unit[];
  readonly width: number;
}
type Ctes = ReadonlyMap<string, CteInfo>;

// ---- Node builders ------------------------------------------------------------------------------

const columnRef = (...names: string[]): Node => ({ class: 'COLUMN_REF', type: 'COLUMN_REF', alias: '', column_names: names });

function call(name: string, children: Node[], distinct = false): Node {
  return {
    class: 'FUNCTION',
    type: 'FUNCTION',
    alias: '',
    function_name: name,
    schema: '',
    children,
    filter: null,
    order_bys: { type: 'ORDER_MODIFIER', orders: [] },
    distinct,
    is_operator: false,
    export_state: false,
    catalog: '',
  };
}

const constant = (value: number): Node => ({
  class: 'CONSTANT',
  type: 'VALUE_CONSTANT',
  alias: '',
  value: { type: { id: 'INTEGER', type_info: null }, is_null: false, value },
});
const nullConstant = (): Node => ({ class: 'CONSTANT', type: 'VALUE_CONSTANT', alias: '', value: { type: { id: 'NULL', type_info: null }, is_null: true } });
const tryOf = (child: Node): Node => ({ class: 'OPERATOR', type: 'OPERATOR_TRY', alias: '', children: [child] });
const aliased = (node: Node, alias: string): Node => ({ ...node, alias });

/** The units of an aggregating SELECT's FROM, gathered into one list per group. */
function gathered(unit: UnitExpr): UnitExpr {
  const expr = unit.kind === 'value' ? call('list', [unit.expr], true) : call('list_distinct', [call('flatten', [call('list', [unit.expr])])]);
  return { table: unit.table, kind: 'list', expr };
}

/** The number of distinct units behind an output row. */
function counted(unit: UnitExpr): Node {
  if (unit.kind === 'value') return call('count', [unit.expr], true);
  // list over no rows is NULL: no one is behind the row, which counts as 0.
  const people = call('length', [call('list_distinct', [call('flatten', [call('list', [unit.expr])])])]);
  return { class: 'OPERATOR', type: 'OPERATOR_COALESCE', alias: '', children: [people, constant(0)] };
}

// ---- Tree helpers -------------------------------------------------------------------------------


/** Whether an expression holds anything TRY cannot wrap: an aggregate, a window or a subquery. */
function holdsUnwrappable(value: Json): boolean {
  if (Array.isArray(value)) return value.some(holdsUnwrappable);
  if (!isNode(value)) return false;
  const cls = value['class'];
  if (cls === 'SUBQUERY' || cls === 'WINDOW' || cls === 'LAMBDA') return true;
  if (cls === 'FUNCTION' && isAggregateName(text(value['function_name']).toLowerCase())) return true;
  return Object.values(value).some(holdsUnwrappable);
}

/** Whether a SELECT aggregates, as DuckDB decides it: GROUP BY (ALL), HAVING, or an aggregate in its list. */
function isAggregating(node: Node): boolean {
  return (
    list(node['group_expressions']).length > 0 ||
    text(node['aggregate_handling']) === 'FORCE_AGGREGATES' ||
    (node['having'] !== null && node['having'] !== undefined) ||
    list(node['select_list']).some(containsAggregate)
  );
}

/** Number of columns a query's rows have as the notebook wrote it (its first SELECT's list). */
function widthOf(node: Json | undefined): number {
  if (!isNode(node)) return 0;
  if (node['type'] === 'SET_OPERATION_NODE') return widthOf(node['left']);
  return list(node['select_list']).length;
}

/** The query node of a subquery-bearing node ({subquery: {node}} or {query: {node}}). */
function innerNode(holder: Json | undefined): Node | null {
  return isNode(holder) && isNode(holder['node']) ? holder['node'] : null;
}

// ---- The rewrite --------------------------------------------------------------------------------

interface ProtectedTable {
  readonly name: string;
  /** The columns the run's view exposes (hidden ones removed), in order. */
  readonly visible: readonly string[];
  /** Privacy-unit column names. */
  readonly units: readonly string[];
}

class Rewriter {
  readonly reasons: string[] = [];
  private readonly tables = new Map<string, ProtectedTable>();
  private counter = 0;

  constructor(tables: readonly PolicyTable[]) {
    for (const table of tables) {
      const units = table.columns.filter((c) => c.role === 'privacy_unit').map((c) => c.name);
      if (units.length === 0) continue;
      const visible = table.columns.filter((c) => c.role !== 'hidden').map((c) => c.name);
      this.tables.set(table.name.toLowerCase(), { name: table.name, visible, units });
    }
  }

  refuse(reason: string): void {
    if (!this.reasons.includes(reason)) this.reasons.push(reason);
  }

  private fresh(prefix: string): string {
    this.counter += 1;
    return `${reservedPrefix}${prefix}${this.counter}`;
  }

  /** Rewrites the cell's top-level query; returns the k columns its rows carry. */
  output(node: Node): KGuardColumn[] {
    const branches = this.branches(node, new Map());
    const slots: { column: string; table: string; branch: number; expr: Node }[] = [];
    branches.forEach((branch, index) => {
      if (branch.units.length === 0) return;
      if (!isAggregating(branch.select)) {
        const tables = [...new Set(branch.units.map((u) => u.table))].join(', ');
        this.refuse(`the output reads ${tables} row by row: aggregate it (GROUP BY and aggregates) so k can be checked`);
        return;
      }
      for (const unit of branch.units) slots.push({ column: this.fresh('k_'), table: unit.table, branch: index, expr: counted(unit) });
    });
    branches.forEach((branch, index) => {
      const items = list(branch.select['select_list']);
      for (const slot of slots) items.push(aliased(slot.branch === index ? slot.expr : nullConstant(), slot.column));
      branch.select['select_list'] = items;
    });
    return slots.map((slot) => ({ column: slot.column, table: slot.table }));
  }

  /** Rewrites a query whose rows feed another query; its rows gain the returned unit columns. */
  private inner(node: Node, ctes: Ctes): Unit[] {
    const branches = this.branches(node, ctes);
    const slots: { unit: Unit; branch: number; expr: Node }[] = [];
    branches.forEach((branch, index) => {
      if (branch.units.length === 0) return;
      const aggregating = isAggregating(branch.select);
      if (hasDistinct(branch.select)) {
        this.refuse(`SELECT DISTINCT in a subquery over ${branch.units.map((u) => u.table).join(', ')} cannot be checked for k: use GROUP BY`);
        return;
      }
      for (const unit of branch.units) {
        const passed = aggregating ? gathered(unit) : unit;
        slots.push({ unit: { table: passed.table, kind: passed.kind, column: this.fresh('pu_') }, branch: index, expr: passed.expr });
      }
    });
    branches.forEach((branch, index) => {
      const items = list(branch.select['select_list']);
      for (const slot of slots) items.push(aliased(slot.branch === index ? slot.expr : nullConstant(), slot.unit.column));
      branch.select['select_list'] = items;
    });
    return slots.map((slot) => slot.unit);
  }

  /** The SELECTs whose rows make up a query (UNION ALL branches), each with the units behind its rows. */
  private branches(node: Node, outer: Ctes): { select: Node; units: UnitExpr[] }[] {
    const ctes = this.withCtes(node, outer);
    const type = text(node['type']);
    if (type === 'SET_OPERATION_NODE') {
      if (!(text(node['setop_type']) === 'UNION' && node['setop_all'] === true)) {
        this.refuse('only UNION ALL can be checked for k');
        return [];
      }
      const left = isNode(node['left']) ? this.branches(node['left'], ctes) : [];
      const right = isNode(node['right']) ? this.branches(node['right'], ctes) : [];
      return [...left, ...right];
    }
    if (type !== 'SELECT_NODE') {
      this.refuse(`unknown SQL construct ${type || 'query'}`);
      return [];
    }
    const units = this.from(node['from_table'], ctes);
    for (const key of ['select_list', 'where_clause', 'group_expressions', 'having', 'qualify', 'modifiers']) this.subqueries(node[key], ctes);
    return [{ select: node, units }];
  }

  private withCtes(node: Node, outer: Ctes): Ctes {
    const cteMap = node['cte_map'];
    const items = isNode(cteMap) ? list(cteMap['map']) : [];
    if (items.length === 0) return outer;
    const ctes = new Map(outer);
    for (const item of items) {
      if (!isNode(item) || !isNode(item['value'])) {
        this.refuse('unknown SQL construct CTE');
        continue;
      }
      const cte = item['value'];
      const query = innerNode(cte['query']);
      if (query === null) {
        this.refuse('unknown SQL construct CTE');
        continue;
      }
      const width = widthOf(query);
      if (list(cte['aliases']).length > width) this.refuse(`CTE ${text(item['key'])} names more columns than it has`);
      ctes.set(text(item['key']).toLowerCase(), { units: this.inner(query, ctes), width });
    }
    return ctes;
  }

  /** The units behind the rows of a FROM clause, as expressions over its bindings. */
  private from(value: Json | undefined, ctes: Ctes): UnitExpr[] {
    if (!isNode(value)) return [];
    const type = text(value['type']);
    switch (type) {
      case 'EMPTY':
      case 'EXPRESSION_LIST':
        return [];
      case 'BASE_TABLE': {
        const name = text(value['table_name']);
        const qualifier = text(value['alias']) || name;
        const renames = list(value['column_name_alias']).map(text);
        const cte = ctes.get(name.toLowerCase());
        if (cte !== undefined) {
          if (renames.length > cte.width) this.refuse(`${qualifier} names more columns than ${name} has`);
          return cte.units.map((unit) => ({ table: unit.table, kind: unit.kind, expr: columnRef(qualifier, unit.column) }));
        }
        if (text(value['schema_name']) !== '' || text(value['catalog_name']) !== '') return [];
        const table = this.tables.get(name.toLowerCase());
        if (table === undefined) return [];
        return table.units.map((column) => {
          const position = table.visible.indexOf(column);
          const shown = position >= 0 && position < renames.length ? (renames[position] as string) : column;
          return { table: table.name, kind: 'value' as const, expr: columnRef(qualifier, shown) };
        });
      }
      case 'JOIN': {
        const left = this.from(value['left'], ctes);
        const right = this.from(value['right'], ctes);
        this.subqueries(value['condition'], ctes);
        const joinType = text(value['join_type']);
        if ((joinType === 'SEMI' || joinType === 'ANTI') && right.length > 0) {
          this.refuse(`${joinType} JOIN with ${[...new Set(right.map((u) => u.table))].join(', ')} on the right cannot be checked for k: use an inner join`);
          return left;
        }
        return [...left, ...right];
      }
      case 'SUBQUERY': {
        const query = innerNode(value['subquery']);
        if (query === null) {
          this.refuse('unknown SQL construct subquery');
          return [];
        }
        if (text(value['alias']) === '') value['alias'] = this.fresh('s');
        const qualifier = text(value['alias']);
        if (list(value['column_name_alias']).length > widthOf(query)) this.refuse(`${qualifier} names more columns than its subquery has`);
        return this.inner(query, ctes).map((unit) => ({ table: unit.table, kind: unit.kind, expr: columnRef(qualifier, unit.column) }));
      }
      default:
        this.refuse(`unknown SQL construct ${type || 'FROM'} cannot be checked for k`);
        return [];
    }
  }

  /** Refuses subquery expressions (scalar, IN, EXISTS) that read a protected table. */
  private subqueries(value: Json | undefined, ctes: Ctes): void {
    if (Array.isArray(value)) {
      for (const item of value) this.subqueries(item, ctes);
      return;
    }
    if (!isNode(value)) return;
    if (value['class'] === 'SUBQUERY') {
      const read = this.protectedReads(value['subquery'], ctes);
      if (read.length > 0) this.refuse(`a subquery expression reading ${read.join(', ')} cannot be checked for k: use a join`);
      this.subqueries(value['child'], ctes);
      return;
    }
    for (const child of Object.values(value)) this.subqueries(child, ctes);
  }

  /** Protected tables (or CTEs over them) named anywhere inside a subtree; shadowing is ignored, so this errs on the safe side. */
  private protectedReads(value: Json | undefined, ctes: Ctes): string[] {
    const found = new Set<string>();
    const walk = (item: Json | undefined): void => {
      if (Array.isArray(item)) item.forEach(walk);
      if (!isNode(item)) return;
      if (item['type'] === 'BASE_TABLE') {
        const name = text(item['table_name']).toLowerCase();
        const table = this.tables.get(name);
        if (table !== undefined) found.add(table.name);
        const cte = ctes.get(name);
        if (cte !== undefined) for (const unit of cte.units) found.add(unit.table);
      }
      for (const child of Object.values(item)) walk(child);
    };
    walk(value);
    return [...found].sort();
  }
}

function hasDistinct(select: Node): boolean {
  return list(select['modifiers']).some((modifier) => isNode(modifier) && modifier['type'] === 'DISTINCT_MODIFIER');
}

// ---- TRY and TRY_CAST -----------------------------------------------------------------------------

/**
 * Makes row-level failures yield NULL: every CAST a TRY_CAST, and every function call whose
 * subtree holds no aggregate, window or subquery wrapped in TRY(…) (the outermost such call, so
 * equal expressions in SELECT and GROUP BY stay equal).
 */
function tolerate(value: Json, insideTry = false): Json {
  if (Array.isArray(value)) return value.map((item) => tolerate(item, insideTry));
  if (!isNode(value)) return value;
  const cls = value['class'];
  const wrap = !insideTry && cls === 'FUNCTION' && !isAggregateName(text(value['function_name']).toLowerCase()) && !holdsUnwrappable(value);
  const copy: Node = {};
  for (const [key, child] of Object.entries(value)) copy[key] = tolerate(child, insideTry || wrap);
  if (cls === 'CAST') copy['try_cast'] = true;
  // The alias moves to the TRY so the select list keeps its names.
  return wrap ? { ...tryOf({ ...copy, alias: '' }), alias: text(value['alias']) } : copy;
}

/** Drops query locations JSON cannot carry exactly (DuckDB's "none" is 2^64−1); they only place error messages. */
function dropUnsafeLocations(value: Json): void {
  if (Array.isArray(value)) {
    value.forEach(dropUnsafeLocations);
    return;
  }
  if (!isNode(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (key === 'query_location' && !(typeof child === 'number' && Number.isSafeInteger(child))) delete value[key];
    else dropUnsafeLocations(child);
  }
}

// ---- Reading and writing the tree's JSON exactly ---------------------------------------------------
//
// JSON.parse turns numbers into doubles, so a BIGINT constant like 2305843009213693952 or a
// 20-digit decimal would come back from json_deserialize_sql as a different number. Long number
// tokens are therefore carried as {"__cr_number": "<token>"} and written back verbatim.

const numberKey = `${reservedPrefix}number`;
const jsonTokens = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
const carriedNumbers = new RegExp(`\\{"${numberKey}":"(-?[0-9.eE+-]+)"\\}`, 'g');

/** Parses json_serialize_sql's text, keeping every number token that a double cannot hold exactly. */
export function parseSqlTree(json: string): unknown {
  const carried = json.replace(jsonTokens, (token) => (token.startsWith('"') || token.replace(/[-.eE+]/g, '').length <= 15 ? token : `{"${numberKey}":"${token}"}`));
  return JSON.parse(carried) as unknown;
}

/** The tree as text for json_deserialize_sql: carried numbers written back as they were. */
export function stringifySqlTree(tree: unknown): string {
  const copy = deepCopy(tree as Json);
  dropUnsafeLocations(copy);
  // Inside a JSON string the quotes would be escaped, so only real carried numbers match.
  return JSON.stringify(copy).replace(carriedNumbers, (_match, token: string) => token);
}

const deepCopy = (value: Json): Json => (Array.isArray(value) ? value.map(deepCopy) : isNode(value) ? Object.fromEntries(Object.entries(value).map(([key, child]) => [key, deepCopy(child)])) : value);

/** A name the notebook uses that starts with the reserved prefix, or null. Literals are not names. */
function reservedNameIn(value: Json): string | null {
  if (typeof value === 'string') return value.toLowerCase().startsWith(reservedPrefix) ? value : null;
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = reservedNameIn(item);
      if (found !== null) return found;
    }
    return null;
  }
  if (!isNode(value) || value['class'] === 'CONSTANT') return null;
  for (const child of Object.values(value)) {
    const found = reservedNameIn(child);
    if (found !== null) return found;
  }
  return null;
}

/**
 * Rewrites the json_serialize_sql tree of an aggregate-mode cell that analyseCell accepted: adds
 * the k columns to its output and makes row-level failures NULL. Never throws; refuses what it
 * cannot guard. The input is not changed.
 */
export function guardTree(tree: unknown, tables: readonly PolicyTable[]): KGuardResult {
  const root = tree as Json;
  if (!isNode(root) || root['error'] !== false) return { ok: false, reasons: ['the SQL does not parse'] };
  const statements = list(root['statements']);
  const statement = statements[0];
  if (statements.length !== 1 || !isNode(statement) || !isNode(statement['node'])) return { ok: false, reasons: ['only a single SELECT is allowed in aggregate mode'] };
  if (reservedNameIn(statement['node']) !== null) return { ok: false, reasons: [`names starting with ${reservedPrefix} are reserved`] };
  // tolerate copies every node and list, so the caller's tree is left as it was.
  const copy = tolerate(root) as Node;
  dropUnsafeLocations(copy);
  const node = (list(copy['statements'])[0] as Node)['node'] as Node;
  const rewriter = new Rewriter(tables);
  let guards: KGuardColumn[] = [];
  try {
    guards = rewriter.output(node);
  } catch {
    rewriter.refuse('unknown SQL construct (the tree could not be read)');
  }
  if (rewriter.reasons.length > 0) return { ok: false, reasons: rewriter.reasons };
  return { ok: true, tree: copy, guards };
}
