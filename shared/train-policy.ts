// The policy for a train cell's SQL body (issues 6 and 17): the rows it selects never leave the
// worker, only the model fitted on them does; but in aggregate mode the model must not single
// anyone out, so what the body may select is narrow.
//
// The body is walked by the same analyser as SQL cells (policy.ts), as a query whose rows stay
// inside the cell: statements, table functions, unknown nodes, hidden columns, environment
// functions, windows and revealing aggregates are judged exactly as there. Aggregate mode then
// holds the body to a shape whose rows are people's rows, each traceable to the people behind it:
//   - every SELECT (the top one, CTEs, derived tables) selects bare columns: a column, renamed or
//     CAST, never an expression (`CASE …`, `x * (x > 3)`, `patient_id = 5` would make a feature
//     that singles someone out);
//   - the top SELECT's columns are dimensions or measures (or columns of earlier outputs), never a
//     privacy unit, join key or hidden column;
//   - no aggregation, DISTINCT, ORDER BY, LIMIT, UNION, VALUES or subquery expressions; joins are
//     INNER or LEFT on equal columns only;
// and trainingTree() rewrites the checked tree so every training row also carries the privacy
// unit of each protected table it was read from (`__cr_unit_<n>`): the worker counts people with
// them (fit.ts), and nothing it lets out depends on fewer than k of them. Casts become TRY_CASTs and
// every WHERE is wrapped in TRY(…), so a person's value cannot make the run fail.
//
// The target's type (logistic needs BOOLEAN or a number) is checked by the worker from the training
// rows' declared types (DESCRIBE), since the policy tables given here carry roles, not types.
import { reservedNameIn, reservedPrefix } from './policy/tree.js';
import { type TrainSpec } from './model.js';
import { Analyser, containsAggregate, isNode, type Json, list, type PolicyContext, type PolicyProblem, type PolicyTable, type PolicyVerdict, text } from './policy.js';

type Node = { [key: string]: Json };

/** Prefix of every name the rewrite adds; notebook SQL may not use it (the same as the SQL cells' rewrite). */
export const trainReservedPrefix = reservedPrefix;
/** The training rows' unit columns: `__cr_unit_1`, `__cr_unit_2`… */
export const trainingUnitPrefix = `${trainReservedPrefix}unit_`;

const positionOf = (node: Json | undefined): string | undefined => {
  const location = isNode(node) ? node['query_location'] : undefined;
  return typeof location === 'number' && location >= 0 && location < 2 ** 31 ? `character ${location + 1}` : undefined;
};

/** A column reference, possibly renamed or CAST (any number of times). */
function isBareColumn(value: Json | undefined): boolean {
  if (!isNode(value)) return false;
  if (value['class'] === 'COLUMN_REF') return true;
  return value['class'] === 'CAST' && isBareColumn(value['child']);
}

/** The position of a select-list item: where it starts (the first position DuckDB gave inside it). */
function itemPosition(item: Json | undefined): string | undefined {
  let first = Number.POSITIVE_INFINITY;
  const walk = (value: Json | undefined): void => {
    if (Array.isArray(value)) value.forEach(walk);
    if (!isNode(value)) return;
    const location = value['query_location'];
    if (typeof location === 'number' && location >= 0 && location < 2 ** 31) first = Math.min(first, location);
    for (const [key, child] of Object.entries(value)) if (key !== 'query_location') walk(child);
  };
  walk(item);
  return Number.isFinite(first) ? `character ${first + 1}` : undefined;
}

function selectItemName(item: Json, index: number): string {
  if (!isNode(item)) return `column ${index + 1}`;
  const alias = text(item['alias']);
  if (alias !== '') return alias;
  if (item['class'] === 'COLUMN_REF') return list(item['column_names']).map(text).at(-1) ?? `column ${index + 1}`;
  return `column ${index + 1}`;
}

/** Whether a SELECT aggregates, as DuckDB decides it: GROUP BY (ALL), HAVING, or an aggregate in its list. */
function isAggregating(node: Node): boolean {
  return (
    list(node['group_expressions']).length > 0 ||
    list(node['group_sets']).length > 0 ||
    text(node['aggregate_handling']) === 'FORCE_AGGREGATES' ||
    (node['having'] !== null && node['having'] !== undefined) ||
    list(node['select_list']).some(containsAggregate) ||
    containsAggregate(node['where_clause'] ?? null)
  );
}

/** The first subquery expression (scalar, IN, EXISTS) inside an expression, or null. */
function subqueryIn(value: Json | undefined): Node | null {
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = subqueryIn(item);
      if (found !== null) return found;
    }
    return null;
  }
  if (!isNode(value)) return null;
  if (value['class'] === 'SUBQUERY') return value;
  for (const child of Object.values(value)) {
    const found = subqueryIn(child);
    if (found !== null) return found;
  }
  return null;
}

/** Whether a join condition is an AND of `column = column`. */
function isKeyEquality(value: Json | undefined): boolean {
  if (!isNode(value)) return false;
  if (value['class'] === 'CONJUNCTION' && value['type'] === 'CONJUNCTION_AND') return list(value['children']).every(isKeyEquality);
  return value['class'] === 'COMPARISON' && value['type'] === 'COMPARE_EQUAL' && isBareColumn(value['left']) && isBareColumn(value['right']);
}

/** The query node of a subquery-bearing node ({subquery: {node}} or {query: {node}}). */
function innerNode(holder: Json | undefined): Node | null {
  return isNode(holder) && isNode(holder['node']) ? holder['node'] : null;
}

// ---- The aggregate-mode shape -------------------------------------------------------------------

/** Holds an aggregate-mode body to the shape whose rows are people's rows, bare columns only. */
class TrainShape {
  readonly problems: PolicyProblem[] = [];

  private refuse(node: Json | undefined, reason: string): void {
    const position = positionOf(node);
    if (this.problems.some((problem) => problem.reason === reason && problem.position === position)) return;
    this.problems.push(position === undefined ? { reason } : { position, reason });
  }

  /** A query whose rows feed the training rows; returns its number of columns. */
  query(value: Json | undefined, ctes: ReadonlyMap<string, number>, depth: number): number {
    if (!isNode(value) || depth > 100) return 0;
    if (value['type'] === 'SET_OPERATION_NODE') {
      this.refuse(value, 'UNION, EXCEPT and INTERSECT are not allowed in a train cell in aggregate mode: select the training rows with one SELECT');
      return 0;
    }
    if (value['type'] !== 'SELECT_NODE') return 0;
    return this.select(value, ctes, depth);
  }

  private select(node: Node, outer: ReadonlyMap<string, number>, depth: number): number {
    const ctes = new Map(outer);
    const cteMap = node['cte_map'];
    for (const item of isNode(cteMap) ? list(cteMap['map']) : []) {
      if (!isNode(item) || !isNode(item['value'])) continue;
      const cte = item['value'];
      const width = this.query(innerNode(cte['query']), ctes, depth + 1);
      if (list(cte['aliases']).length > width) this.refuse(cte, `CTE ${text(item['key'])} names more columns than it selects`);
      ctes.set(text(item['key']).toLowerCase(), width);
    }
    for (const modifier of list(node['modifiers'])) {
      if (!isNode(modifier)) continue;
      const what = modifier['type'] === 'DISTINCT_MODIFIER' ? 'DISTINCT' : modifier['type'] === 'ORDER_MODIFIER' ? 'ORDER BY' : 'LIMIT and OFFSET';
      this.refuse(node, `${what} is not allowed in a train cell in aggregate mode: the fit uses every row the SELECT gives, in an order of its own`);
    }
    if (isAggregating(node)) {
      this.refuse(node, 'a train cell may not aggregate (GROUP BY, HAVING or an aggregate) in aggregate mode: its rows must be people\'s rows so the people behind each part of the model can be counted; aggregate in a SQL cell instead');
    }
    const where = subqueryIn(node['where_clause']);
    if (where !== null) this.refuse(where, 'a subquery in WHERE is not allowed in a train cell in aggregate mode: join the table instead');
    this.from(node['from_table'], ctes, depth);
    const items = list(node['select_list']);
    items.forEach((item, index) => {
      if (isNode(item) && item['class'] === 'STAR') return; // the analyser refuses * by name
      if (isBareColumn(item)) return;
      const position = itemPosition(item);
      const reason = `column ${selectItemName(item, index)} is computed: in aggregate mode a train cell selects bare columns only (a column, renamed or CAST), so no feature or target is an expression that could single someone out`;
      if (!this.problems.some((problem) => problem.reason === reason && problem.position === position)) this.problems.push(position === undefined ? { reason } : { position, reason });
    });
    return items.length;
  }

  private from(value: Json | undefined, ctes: ReadonlyMap<string, number>, depth: number): void {
    if (!isNode(value)) return;
    switch (text(value['type'])) {
      case 'EMPTY':
        this.refuse(value, 'a SELECT without FROM is not allowed in a train cell in aggregate mode: read room tables or earlier outputs');
        return;
      case 'BASE_TABLE': {
        const width = ctes.get(text(value['table_name']).toLowerCase());
        if (width !== undefined && list(value['column_name_alias']).length > width) this.refuse(value, `${text(value['alias']) || text(value['table_name'])} names more columns than it has`);
        return;
      }
      case 'JOIN': {
        const joinType = text(value['join_type']);
        const refType = text(value['ref_type']);
        if (refType !== 'REGULAR' || (joinType !== 'INNER' && joinType !== 'LEFT')) {
          this.refuse(value, `${refType === 'REGULAR' ? joinType : refType} JOIN is not allowed in a train cell in aggregate mode: use INNER or LEFT JOIN on equal columns`);
        } else if (list(value['using_columns']).length === 0 && !isKeyEquality(value['condition'])) {
          this.refuse(value, 'a join in a train cell joins on equal columns only in aggregate mode (ON a.x = b.y AND …, or USING): filter rows in WHERE');
        }
        this.from(value['left'], ctes, depth + 1);
        this.from(value['right'], ctes, depth + 1);
        return;
      }
      case 'SUBQUERY': {
        const width = this.query(innerNode(value['subquery']), ctes, depth + 1);
        if (list(value['column_name_alias']).length > width) this.refuse(value, `${text(value['alias']) || 'a subquery'} names more columns than it selects`);
        return;
      }
      case 'EXPRESSION_LIST':
        this.refuse(value, 'VALUES is not allowed in a train cell in aggregate mode: read room tables or earlier outputs');
        return;
      default:
        // Table functions and unknown sources: the analyser refuses them by name.
        return;
    }
  }
}

// ---- The check ----------------------------------------------------------------------------------

/** Roles a column of an aggregate-mode training SELECT may have. */
const trainableRoles = new Set(['dimension', 'measure', 'free']);

/** Checks a train cell's tree (macros already expanded) against the room's policy. */
export function analyseTrainCell(tree: unknown, context: PolicyContext, spec: TrainSpec): PolicyVerdict {
  const aggregate = context.mode === 'aggregate';
  const single = aggregate ? 'a train cell is a single SELECT of its training rows' : 'a train cell is a single read-only SELECT of its training rows';
  const root = tree as Json;
  if (!isNode(root) || root['error'] !== false) return { ok: false, problems: [{ reason: single }] };
  const statements = list(root['statements']);
  const statement = statements[0];
  if (statements.length !== 1 || !isNode(statement)) return { ok: false, problems: [{ reason: single }] };

  const analyser = new Analyser(context);
  let relation: ReturnType<Analyser['query']> = { columns: [], known: false };
  try {
    // Not an output: its rows stay in the worker, so privacy units, join keys and measures may be
    // selected inside (and joined on); what leaves is the model, checked column by column below.
    relation = analyser.query(statement['node'], false, null, new Map(), 0);
  } catch {
    analyser.refuse(null, 'unknown SQL construct (the tree could not be read)');
  }
  const problems: PolicyProblem[] = [...analyser.problems];
  if (aggregate) {
    const node = statement['node'];
    if (reservedNameIn(node ?? null) !== null) problems.push({ reason: `names starting with ${trainReservedPrefix} are reserved` });
    const shape = new TrainShape();
    try {
      shape.query(node, new Map(), 0);
    } catch {
      shape.problems.push({ reason: 'unknown SQL construct (the tree could not be read)' });
    }
    problems.push(...shape.problems);
  }

  // A `*` (reviewed mode) leaves the columns unknown here; the worker checks them once the rows exist.
  if (relation.known) {
    const named = [
      { label: 'target', name: spec.target },
      ...spec.features.map((name) => ({ label: 'feature', name })),
    ];
    const used = new Set<string>();
    for (const { label, name } of named) {
      const found = relation.columns.filter((column) => column.name.toLowerCase() === name.toLowerCase());
      if (found.length === 0) {
        problems.push({ reason: `${label} ${name} is not a column of the cell's SELECT` });
        continue;
      }
      if (found.length > 1) {
        problems.push({ reason: `the cell's SELECT has ${found.length} columns named ${name}` });
        continue;
      }
      used.add(name.toLowerCase());
      if (!aggregate) continue;
      const origin = (found[0] as (typeof found)[number]).origin;
      if (origin.role === 'privacy_unit') problems.push({ reason: `${label} ${name} comes from privacy unit ${origin.column}: a model may not learn from a privacy unit in aggregate mode` });
      else if (origin.role === 'join_key') problems.push({ reason: `${label} ${name} comes from join key ${origin.column}: a join key may only be used to join in aggregate mode` });
      else if (origin.role === 'hidden') problems.push({ reason: `${label} ${name} comes from hidden column ${origin.column}` });
    }
    if (aggregate) {
      // The other columns of the SELECT go into the training rows too: the same roles only.
      for (const column of relation.columns) {
        if (used.has(column.name.toLowerCase()) || trainableRoles.has(column.origin.role)) continue;
        const what = column.origin.role === 'privacy_unit' ? 'privacy unit' : column.origin.role === 'join_key' ? 'join key' : column.origin.role === 'hidden' ? 'hidden column' : 'an aggregate';
        problems.push({ reason: `column ${column.name} of the SELECT comes from ${what}${column.origin.column === '' ? '' : ` ${column.origin.column}`}: in aggregate mode a train cell selects only dimensions and measures (the features and the target)` });
      }
    }
  }
  return { ok: problems.length === 0, problems };
}

// ---- The rewrite: people behind each training row ---------------------------------------------------

/** A training row's column holding the privacy unit of one protected table it was read from. */
export interface TrainingUnit {
  /** `__cr_unit_<n>`, the last columns of the rewritten SELECT. */
  readonly column: string;
  /** The protected table (a table with a privacy-unit column) it counts people of. */
  readonly table: string;
}

export type TrainingTree = { readonly ok: true; readonly tree: unknown; readonly units: TrainingUnit[] } | { readonly ok: false; readonly reasons: string[] };

const columnRef = (...names: string[]): Node => ({ class: 'COLUMN_REF', type: 'COLUMN_REF', alias: '', column_names: names });
const aliased = (node: Node, alias: string): Node => ({ ...node, alias });

interface UnitExpr {
  readonly table: string;
  readonly expr: Node;
}
interface UnitColumn {
  readonly table: string;
  readonly column: string;
}

interface ProtectedTable {
  readonly name: string;
  /** The columns the run's view exposes (hidden ones removed), in order. */
  readonly visible: readonly string[];
  readonly units: readonly string[];
}

/** Passes the privacy units of every protected table read up through CTEs and derived tables. */
class UnitRewriter {
  readonly reasons: string[] = [];
  private readonly tables = new Map<string, ProtectedTable>();
  private counter = 0;

  constructor(tables: readonly PolicyTable[]) {
    for (const table of tables) {
      const units = table.columns.filter((column) => column.role === 'privacy_unit').map((column) => column.name);
      if (units.length === 0) continue;
      this.tables.set(table.name.toLowerCase(), { name: table.name, visible: table.columns.filter((column) => column.role !== 'hidden').map((column) => column.name), units });
    }
  }

  private refuse(reason: string): void {
    if (!this.reasons.includes(reason)) this.reasons.push(reason);
  }

  private fresh(prefix: string): string {
    this.counter += 1;
    return `${trainReservedPrefix}${prefix}${this.counter}`;
  }

  /** The units behind the rows of a SELECT, as expressions over its FROM. */
  select(node: Node, outer: ReadonlyMap<string, UnitColumn[]>): UnitExpr[] {
    if (node['type'] !== 'SELECT_NODE') {
      this.refuse('a train cell selects its rows with one SELECT in aggregate mode');
      return [];
    }
    const ctes = new Map(outer);
    const cteMap = node['cte_map'];
    for (const item of isNode(cteMap) ? list(cteMap['map']) : []) {
      if (!isNode(item) || !isNode(item['value'])) continue;
      const query = innerNode(item['value']['query']);
      if (query === null) {
        this.refuse('unknown SQL construct CTE');
        continue;
      }
      ctes.set(text(item['key']).toLowerCase(), this.passUp(query, ctes));
    }
    return this.from(node['from_table'], ctes);
  }

  /** Adds a query's units to its select list under fresh names, for the query reading it. */
  private passUp(query: Node, ctes: ReadonlyMap<string, UnitColumn[]>): UnitColumn[] {
    const units = this.select(query, ctes).map((unit) => ({ ...unit, column: this.fresh('u_') }));
    if (query['type'] === 'SELECT_NODE') query['select_list'] = [...list(query['select_list']), ...units.map((unit) => aliased(unit.expr, unit.column))];
    return units.map(({ table, column }) => ({ table, column }));
  }

  private from(value: Json | undefined, ctes: ReadonlyMap<string, UnitColumn[]>): UnitExpr[] {
    if (!isNode(value)) return [];
    switch (text(value['type'])) {
      case 'BASE_TABLE': {
        const name = text(value['table_name']);
        const qualifier = text(value['alias']) || name;
        const cte = ctes.get(name.toLowerCase());
        if (cte !== undefined) return cte.map((unit) => ({ table: unit.table, expr: columnRef(qualifier, unit.column) }));
        if (text(value['schema_name']) !== '' || text(value['catalog_name']) !== '') return [];
        const table = this.tables.get(name.toLowerCase());
        if (table === undefined) return [];
        const renames = list(value['column_name_alias']).map(text);
        return table.units.map((column) => {
          const position = table.visible.indexOf(column);
          const shown = position >= 0 && position < renames.length ? (renames[position] as string) : column;
          return { table: table.name, expr: columnRef(qualifier, shown) };
        });
      }
      case 'JOIN':
        return [...this.from(value['left'], ctes), ...this.from(value['right'], ctes)];
      case 'SUBQUERY': {
        const query = innerNode(value['subquery']);
        if (query === null) {
          this.refuse('unknown SQL construct subquery');
          return [];
        }
        if (text(value['alias']) === '') value['alias'] = this.fresh('s');
        const qualifier = text(value['alias']);
        return this.passUp(query, ctes).map((unit) => ({ table: unit.table, expr: columnRef(qualifier, unit.column) }));
      }
      default:
        return [];
    }
  }
}

/**
 * Makes a person's value unable to fail the run: every CAST a TRY_CAST and every WHERE wrapped in
 * TRY(…) (an implicit cast in a comparison, ln(0), an overflow: the row is left out instead).
 * The body has no aggregate, window or subquery expression for TRY to trip over. Copies.
 */
function tolerate(value: Json): Json {
  if (Array.isArray(value)) return value.map(tolerate);
  if (!isNode(value)) return value;
  const copy: Node = {};
  for (const [key, child] of Object.entries(value)) copy[key] = tolerate(child);
  if (copy['class'] === 'CAST') copy['try_cast'] = true;
  if (copy['type'] === 'SELECT_NODE' && isNode(copy['where_clause'])) {
    copy['where_clause'] = { class: 'OPERATOR', type: 'OPERATOR_TRY', alias: '', children: [copy['where_clause']] };
  }
  return copy;
}


/**
 * Aggregate mode: the tree of a train cell that analyseTrainCell accepted, rewritten so each row
 * also carries, as its last columns, the privacy unit of every protected table it was read from
 * (one column per table read, a table read twice counted twice), and so no value can make it fail.
 * The input is not changed. Never throws.
 */
export function trainingTree(tree: unknown, tables: readonly PolicyTable[]): TrainingTree {
  const root = tree as Json;
  if (!isNode(root) || root['error'] !== false) return { ok: false, reasons: ['the SQL does not parse'] };
  const statements = list(root['statements']);
  const statement = statements[0];
  if (statements.length !== 1 || !isNode(statement) || !isNode(statement['node'])) return { ok: false, reasons: ['a train cell is a single SELECT of its training rows'] };
  if (reservedNameIn(statement['node']) !== null) return { ok: false, reasons: [`names starting with ${trainReservedPrefix} are reserved`] };
  const copy = tolerate(root) as Node;
  const node = (list(copy['statements'])[0] as Node)['node'] as Node;
  const rewriter = new UnitRewriter(tables);
  let units: UnitExpr[] = [];
  try {
    units = rewriter.select(node, new Map());
  } catch {
    return { ok: false, reasons: ['unknown SQL construct (the tree could not be read)'] };
  }
  if (rewriter.reasons.length > 0) return { ok: false, reasons: rewriter.reasons };
  const columns = units.map((unit, index) => ({ table: unit.table, column: `${trainingUnitPrefix}${index + 1}`, expr: unit.expr }));
  node['select_list'] = [...list(node['select_list']), ...columns.map((unit) => aliased(unit.expr, unit.column))];
  return { ok: true, tree: copy, units: columns.map(({ column, table }) => ({ column, table })) };
}
