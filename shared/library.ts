// Private libraries (issue 6): SQL macros kept in a volume, expanded into a cell's syntax tree
// before the policy sees it, so a macro can do nothing the same SQL typed into the cell could not.
// Pure: the worker parses with DuckDB and calls these; core does the same for the owner's check.
//
// A library file is `;`-separated statements, each
//   CREATE [OR REPLACE] [TEMP|TEMPORARY] MACRO name(p1, p2, …) AS <expression>
// (scalar macros only). The body is parsed by DuckDB as `SELECT (<expression>)`; it may use only
// its parameters and other library macros: no subqueries, no tables, no columns of its own.
import { isNode, type Json, list, text } from './policy.js';

/** One macro: `CREATE MACRO name(a, b) AS expression;` from a library file. */
export interface MacroDefinition {
  readonly name: string;
  readonly parameters: readonly string[];
  /** The expression's tree: json_serialize_sql('SELECT (expression)')'s first select item. */
  readonly body: Json;
}

export type MacroExpansion =
  | { readonly ok: true; readonly tree: unknown; readonly used: readonly string[] }
  | { readonly ok: false; readonly reason: string };

/** One CREATE MACRO statement of a library file, not yet parsed by DuckDB. */
export interface LibraryStatement {
  /** Lower-case: DuckDB's names are case-insensitive. */
  readonly name: string;
  readonly parameters: readonly string[];
  /** The expression after AS, comments removed. */
  readonly bodyText: string;
  /** Where it is, for problems: "features.sql, statement 3". */
  readonly position: string;
}

export interface LibraryFileParse {
  readonly statements: LibraryStatement[];
  /** Why statements were not taken, each "FILE, statement N: why". */
  readonly problems: string[];
}

/** How deep macros may call macros. */
export const maxMacroDepth = 16;
/** Most syntax-tree nodes a cell may have once its macros are expanded (x + x nested 16 deep doubles 16 times). */
export const maxExpandedNodes = 200_000;
/** Longest library file text read. */
export const maxLibraryFileChars = 1_000_000;

const identifierPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Prefix of every name the worker's rewrites add (shared/policy/tree.ts reservedPrefix); not repeated here to keep this file's imports small. */
const reservedNamePrefix = '__cr_';

// ---- Library files --------------------------------------------------------------------------

/**
 * Splits SQL text at `;` outside quotes and comments. Comments become a space (so the parts are
 * the SQL DuckDB would see); block comments nest, as in DuckDB. Unterminated quotes or comments
 * end the text (the last part then fails to parse, which is reported).
 */
export function splitSqlStatements(sql: string): string[] {
  const parts: string[] = [];
  let current = '';
  let index = 0;
  while (index < sql.length) {
    const char = sql[index] as string;
    const next = sql[index + 1];
    if (char === "'" || char === '"') {
      let end = index + 1;
      for (;;) {
        const found = sql.indexOf(char, end);
        if (found === -1) {
          end = sql.length;
          break;
        }
        // A doubled quote is the quote character itself.
        if (sql[found + 1] === char) {
          end = found + 2;
          continue;
        }
        end = found + 1;
        break;
      }
      current += sql.slice(index, end);
      index = end;
    } else if (char === '-' && next === '-') {
      const end = sql.indexOf('\n', index);
      index = end === -1 ? sql.length : end;
      current += ' ';
    } else if (char === '/' && next === '*') {
      let depth = 1;
      let at = index + 2;
      while (at < sql.length && depth > 0) {
        if (sql[at] === '/' && sql[at + 1] === '*') {
          depth += 1;
          at += 2;
        } else if (sql[at] === '*' && sql[at + 1] === '/') {
          depth -= 1;
          at += 2;
        } else at += 1;
      }
      index = at;
      current += ' ';
    } else if (char === ';') {
      parts.push(current);
      current = '';
      index += 1;
    } else {
      current += char;
      index += 1;
    }
  }
  parts.push(current);
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

const createPattern = /^create\s+(?:or\s+replace\s+)?(?:(?:temp|temporary)\s+)?(?:macro|function)\s+/i;

/** One statement as a macro, or why it is not one. */
function parseStatement(statement: string): Omit<LibraryStatement, 'position'> | string {
  const head = createPattern.exec(statement);
  if (head === null) return 'only CREATE MACRO name(parameters) AS expression statements are allowed';
  let rest = statement.slice(head[0].length);
  const name = /^([A-Za-z_][A-Za-z0-9_]*)(\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)?\s*/.exec(rest);
  if (name === null) return 'the macro name must be a plain name (letters, digits and _)';
  if (name[2] !== undefined) return `macro ${name[1] as string} is named with a schema; use a plain name`;
  const macroName = (name[1] as string).toLowerCase();
  rest = rest.slice(name[0].length);
  const parameters = /^\(([^()]*)\)\s*/.exec(rest);
  if (parameters === null) return `macro ${macroName}: its parameters must be plain names in parentheses`;
  const names = (parameters[1] as string).trim() === '' ? [] : (parameters[1] as string).split(',').map((parameter) => parameter.trim());
  for (const parameter of names) {
    if (parameter.includes(':=')) return `macro ${macroName}: default parameter values are not supported`;
    if (!identifierPattern.test(parameter)) return `macro ${macroName}: parameter "${parameter.slice(0, 40)}" is not a plain name`;
  }
  const lower = names.map((parameter) => parameter.toLowerCase());
  const repeated = lower.find((parameter, position) => lower.indexOf(parameter) !== position);
  if (repeated !== undefined) return `macro ${macroName}: parameter ${repeated} is named twice`;
  rest = rest.slice(parameters[0].length);
  const as = /^as\b\s*/i.exec(rest);
  if (as === null) return `macro ${macroName}: AS must follow the parameters`;
  const bodyText = rest.slice(as[0].length).trim();
  if (/^table\b/i.test(bodyText)) return `macro ${macroName}: table macros (AS TABLE) are not supported; only scalar macros`;
  if (bodyText === '') return `macro ${macroName} has no body`;
  return { name: macroName, parameters: lower, bodyText };
}

/** The CREATE MACRO statements of one library file, and why the others are not taken. */
export function parseLibraryFile(path: string, sqlText: string): LibraryFileParse {
  if (sqlText.length > maxLibraryFileChars) return { statements: [], problems: [`${path}: the file is longer than ${maxLibraryFileChars} characters`] };
  const statements: LibraryStatement[] = [];
  const problems: string[] = [];
  splitSqlStatements(sqlText).forEach((statement, index) => {
    const position = `${path}, statement ${index + 1}`;
    const parsed = parseStatement(statement);
    if (typeof parsed === 'string') problems.push(`${position}: ${parsed}`);
    else statements.push({ ...parsed, position });
  });
  return { statements, problems };
}

/** The SQL DuckDB serializes to get a macro's body tree. */
export const bodySelectSql = (statement: Pick<LibraryStatement, 'bodyText'>): string => `SELECT (${statement.bodyText}\n)`;

// ---- Macro bodies ------------------------------------------------------------------------------

/** Why an expression tree is not a valid body for these parameters, or null. */
function bodyProblem(value: Json, parameters: ReadonlySet<string>, depth: number): string | null {
  if (depth > 500) return 'the body is nested too deeply';
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = bodyProblem(item, parameters, depth + 1);
      if (found !== null) return found;
    }
    return null;
  }
  if (!isNode(value)) return null;
  const kind = text(value['class']);
  if (kind === 'SUBQUERY' || 'node' in value || 'from_table' in value || 'table_name' in value) return 'the body uses a subquery or a table; a macro may use only its parameters';
  if (kind === 'STAR') return 'the body uses *; a macro may use only its parameters';
  if (kind === 'PARAMETER') return 'the body uses a prepared-statement parameter';
  if (kind === 'LAMBDA' || kind === 'LAMBDA_REF') return 'the body uses a lambda; lambdas are not supported in library macros';
  if (kind === 'COLUMN_REF') {
    const names = list(value['column_names']).map(text);
    const name = names.length === 1 ? (names[0] as string).toLowerCase() : '';
    if (!parameters.has(name)) return `the body refers to ${names.join('.').slice(0, 80)}, which is not one of its parameters`;
    return null;
  }
  for (const child of Object.values(value)) {
    const found = bodyProblem(child, parameters, depth + 1);
    if (found !== null) return found;
  }
  return null;
}

const isEmpty = (value: Json | undefined): boolean => value === null || value === undefined || (Array.isArray(value) && value.length === 0);

/**
 * A statement's macro from DuckDB's tree of `SELECT (body)` (bodySelectSql): the single select
 * item of a SELECT with nothing else, which may use only the parameters. Or why not.
 */
export function macroFromTree(statement: Omit<LibraryStatement, 'position' | 'bodyText'>, tree: unknown): { ok: true; macro: MacroDefinition } | { ok: false; reason: string } {
  const root = tree as Json;
  const notExpression = { ok: false as const, reason: `macro ${statement.name}: the body is not a single SQL expression` };
  if (!isNode(root) || root['error'] !== false) return notExpression;
  const statements = list(root['statements']);
  const first = statements[0];
  if (statements.length !== 1 || !isNode(first) || !isNode(first['node'])) return notExpression;
  const node = first['node'];
  const from = node['from_table'];
  const cteMap = node['cte_map'];
  const plain =
    node['type'] === 'SELECT_NODE' &&
    isNode(from) &&
    from['type'] === 'EMPTY' &&
    isEmpty(node['where_clause']) &&
    isEmpty(node['group_expressions']) &&
    isEmpty(node['group_sets']) &&
    isEmpty(node['having']) &&
    isEmpty(node['qualify']) &&
    isEmpty(node['sample']) &&
    isEmpty(node['modifiers']) &&
    (cteMap === undefined || (isNode(cteMap) && isEmpty(cteMap['map']))) &&
    (node['aggregate_handling'] === undefined || node['aggregate_handling'] === 'STANDARD_HANDLING') &&
    list(node['select_list']).length === 1;
  const body = list(node['select_list'])[0];
  if (!plain || !isNode(body) || text(body['alias']) !== '') return notExpression;
  const problem = bodyProblem(body, new Set(statement.parameters), 0);
  if (problem !== null) return { ok: false, reason: `macro ${statement.name}: ${problem}` };
  return { ok: true, macro: { name: statement.name, parameters: [...statement.parameters], body } };
}

/** Each FUNCTION call in `value` that names a library macro: [name, argument count]. */
function macroCalls(value: Json, macros: ReadonlyMap<string, unknown>, into: [string, number][] = []): [string, number][] {
  if (Array.isArray(value)) {
    for (const item of value) macroCalls(item, macros, into);
    return into;
  }
  if (!isNode(value)) return into;
  if (value['class'] === 'FUNCTION' && text(value['schema']) === '' && text(value['catalog']) === '') {
    const name = text(value['function_name']).toLowerCase();
    if (macros.has(name)) into.push([name, list(value['children']).length]);
  }
  for (const child of Object.values(value)) macroCalls(child, macros, into);
  return into;
}

export interface CheckedLibrary {
  /** Every usable macro, by lower-case name. */
  readonly macros: Map<string, MacroDefinition>;
  /** Why the others cannot be used, each "POSITION: why". */
  readonly problems: string[];
}

/**
 * Checks a library's macros together: names (not a DuckDB function, not reserved, not twice),
 * calls between them (argument counts, no cycles, at most maxMacroDepth deep). A macro that
 * calls an unusable one is unusable too.
 */
export function checkLibrary(entries: readonly { readonly macro: MacroDefinition; readonly position: string }[], builtins: ReadonlySet<string>): CheckedLibrary {
  const problems: string[] = [];
  const byName = new Map<string, { macro: MacroDefinition; position: string }>();
  for (const entry of entries) {
    const { name } = entry.macro;
    const where = `${entry.position}: macro ${name}`;
    if (name.startsWith(reservedNamePrefix)) problems.push(`${where}: names starting with ${reservedNamePrefix} are reserved`);
    else if (builtins.has(name)) problems.push(`${where} has the name of a DuckDB function; choose another name`);
    else if (byName.has(name)) problems.push(`${where} is defined twice (also at ${(byName.get(name) as { position: string }).position})`);
    else byName.set(name, entry);
  }
  const bad = new Map<string, string>();
  // Argument counts of calls between macros.
  for (const [name, entry] of byName) {
    for (const [callee, count] of macroCalls(entry.macro.body, byName)) {
      const expected = (byName.get(callee) as { macro: MacroDefinition }).macro.parameters.length;
      if (count !== expected && !bad.has(name)) bad.set(name, `calls ${callee} with ${count} argument${count === 1 ? '' : 's'}; it takes ${expected}`);
    }
  }
  // Depth of calls, and cycles.
  const depthOf = new Map<string, number>();
  const visit = (name: string, stack: string[]): number => {
    const known = depthOf.get(name);
    if (known !== undefined) return known;
    if (stack.includes(name)) {
      const cycle = [...stack.slice(stack.indexOf(name)), name];
      for (const member of cycle) if (!bad.has(member)) bad.set(member, `calls itself through ${cycle.join(' → ')}`);
      return Infinity;
    }
    const entry = byName.get(name) as { macro: MacroDefinition };
    let depth = 1;
    for (const [callee] of macroCalls(entry.macro.body, byName)) depth = Math.max(depth, 1 + visit(callee, [...stack, name]));
    depthOf.set(name, depth);
    return depth;
  };
  for (const name of byName.keys()) {
    const depth = visit(name, []);
    if (depth > maxMacroDepth && depth !== Infinity && !bad.has(name)) bad.set(name, `calls macros more than ${maxMacroDepth} deep`);
  }
  // A macro calling an unusable one is unusable, until nothing changes.
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, entry] of byName) {
      if (bad.has(name)) continue;
      const broken = macroCalls(entry.macro.body, byName).find(([callee]) => bad.has(callee));
      if (broken !== undefined) {
        bad.set(name, `calls ${broken[0]}, which cannot be used`);
        changed = true;
      }
    }
  }
  const macros = new Map<string, MacroDefinition>();
  for (const [name, entry] of byName) {
    const why = bad.get(name);
    if (why === undefined) macros.set(name, entry.macro);
    else problems.push(`${entry.position}: macro ${name} ${why}`);
  }
  return { macros, problems };
}

// ---- Expansion ---------------------------------------------------------------------------------

class ExpansionError extends Error {}

const deepCopy = (value: Json): Json =>
  Array.isArray(value) ? value.map(deepCopy) : isNode(value) ? Object.fromEntries(Object.entries(value).map(([key, child]) => [key, deepCopy(child)])) : value;

function countNodes(value: Json): number {
  if (Array.isArray(value)) return value.reduce<number>((sum, item) => sum + countNodes(item), 0);
  if (!isNode(value)) return 0;
  let count = 1;
  for (const child of Object.values(value)) count += countNodes(child);
  return count;
}

class Expander {
  /** Each macro's body with the macros it calls expanded, its own parameters still in place. */
  private readonly expandedBodies = new Map<string, Json>();
  readonly used: string[] = [];
  private nodes = 0;

  constructor(private readonly macros: ReadonlyMap<string, MacroDefinition>) {}

  private macroOf(value: Json): MacroDefinition | undefined {
    if (!isNode(value) || value['class'] !== 'FUNCTION' || text(value['schema']) !== '' || text(value['catalog']) !== '') return undefined;
    return this.macros.get(text(value['function_name']).toLowerCase());
  }

  private note(name: string): void {
    if (!this.used.includes(name)) this.used.push(name);
  }

  /** A copy of `value` with every macro call replaced; `stack` is the macros being expanded. */
  expand(value: Json, stack: readonly string[]): Json {
    if (Array.isArray(value)) return value.map((item) => this.expand(item, stack));
    if (!isNode(value)) return value;
    const macro = this.macroOf(value);
    if (macro !== undefined) return this.expandCall(value, macro, stack);
    const copy: { [key: string]: Json } = {};
    for (const [key, child] of Object.entries(value)) {
      // A table function's own call is not a scalar expression: leave it (DuckDB will not find it).
      if (key === 'function' && value['type'] === 'TABLE_FUNCTION' && isNode(child)) {
        copy[key] = { ...child, children: this.expand(child['children'] ?? [], stack) };
      } else copy[key] = this.expand(child, stack);
    }
    if (value['type'] === 'SELECT_NODE') nameMacroItems(value, copy, this.macros);
    return copy;
  }

  private expandCall(call: { [key: string]: Json }, macro: MacroDefinition, stack: readonly string[]): Json {
    const { name, parameters } = macro;
    const args = list(call['children']);
    if (args.length !== parameters.length) {
      throw new ExpansionError(`macro ${name} takes ${parameters.length} argument${parameters.length === 1 ? '' : 's'}, not ${args.length}`);
    }
    const aggregateLike = call['distinct'] === true || !isEmpty(call['filter']) || list(isNode(call['order_bys']) ? call['order_bys']['orders'] : []).length > 0;
    if (aggregateLike) throw new ExpansionError(`macro ${name} is called with DISTINCT, FILTER or ORDER BY, which a macro does not take`);
    const body = this.bodyOf(macro, stack);
    const expandedArgs = new Map(parameters.map((parameter, position) => [parameter, this.expand(args[position] ?? null, stack)]));
    const location = call['query_location'];
    const result = this.substitute(body, expandedArgs, name, typeof location === 'number' ? location : undefined);
    this.nodes += countNodes(result);
    if (this.nodes > maxExpandedNodes) throw new ExpansionError(`the cell is too large once its macros are expanded (more than ${maxExpandedNodes} nodes)`);
    if (isNode(result)) result['alias'] = text(call['alias']);
    return result;
  }

  private bodyOf(macro: MacroDefinition, stack: readonly string[]): Json {
    const { name } = macro;
    this.note(name);
    const known = this.expandedBodies.get(name);
    if (known !== undefined) return known;
    if (stack.includes(name)) throw new ExpansionError(`macro ${name} calls itself through ${[...stack.slice(stack.indexOf(name)), name].join(' → ')}`);
    if (stack.length >= maxMacroDepth) throw new ExpansionError(`macros call macros more than ${maxMacroDepth} deep (${[...stack, name].join(' → ')})`);
    const body = this.expand(macro.body, [...stack, name]);
    this.expandedBodies.set(name, body);
    return body;
  }

  /** A copy of the body with each parameter replaced by its argument; body nodes take the call's location. */
  private substitute(body: Json, args: ReadonlyMap<string, Json>, name: string, location: number | undefined): Json {
    if (Array.isArray(body)) return body.map((item) => this.substitute(item, args, name, location));
    if (!isNode(body)) return body;
    if (body['class'] === 'COLUMN_REF') {
      const names = list(body['column_names']).map(text);
      const argument = names.length === 1 ? args.get((names[0] as string).toLowerCase()) : undefined;
      if (argument === undefined) throw new ExpansionError(`macro ${name} refers to something that is not one of its parameters`);
      return deepCopy(argument);
    }
    const copy: { [key: string]: Json } = {};
    for (const [key, child] of Object.entries(body)) {
      copy[key] = key === 'query_location' && location !== undefined ? location : this.substitute(child, args, name, location);
    }
    return copy;
  }
}

/** The first library macro the unexpanded `value` calls (subqueries too: DuckDB names a scalar subquery after its text). */
function firstMacroCall(value: Json, macros: ReadonlyMap<string, MacroDefinition>): string | null {
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = firstMacroCall(item, macros);
      if (found !== null) return found;
    }
    return null;
  }
  if (!isNode(value)) return null;
  if (value['class'] === 'FUNCTION' && text(value['schema']) === '' && text(value['catalog']) === '') {
    const name = text(value['function_name']).toLowerCase();
    if (macros.has(name)) return name;
  }
  for (const child of Object.values(value)) {
    const found = firstMacroCall(child, macros);
    if (found !== null) return found;
  }
  return null;
}

/**
 * DuckDB names an unaliased select item after its expression's text, which after expansion
 * would spell out the private body in the output's column names. Such an item is named after its
 * (outermost) macro instead: `capped(los)` → `capped`, `capped(los) + 1` → `capped`, made unique.
 */
function nameMacroItems(original: { [key: string]: Json }, copy: { [key: string]: Json }, macros: ReadonlyMap<string, MacroDefinition>): void {
  const items = list(original['select_list']);
  const copied = list(copy['select_list']);
  const taken = new Set(
    items.flatMap((item) => {
      if (!isNode(item)) return [];
      const alias = text(item['alias']);
      if (alias !== '') return [alias.toLowerCase()];
      if (item['class'] === 'COLUMN_REF') return [(list(item['column_names']).map(text).at(-1) ?? '').toLowerCase()];
      return [];
    }),
  );
  items.forEach((item, index) => {
    const target = copied[index];
    if (!isNode(item) || !isNode(target) || text(item['alias']) !== '') return;
    const macro = firstMacroCall(item, macros);
    if (macro === null) return;
    let name = macro;
    for (let suffix = 2; taken.has(name); suffix++) name = `${macro}_${suffix}`;
    taken.add(name);
    target['alias'] = name;
  });
}

/** Replaces each call of a macro in `tree` by its body with the call's arguments put in. */
export function expandMacros(tree: unknown, macros: ReadonlyMap<string, MacroDefinition>): MacroExpansion {
  if (macros.size === 0) return { ok: true, tree, used: [] };
  const expander = new Expander(macros);
  try {
    const expanded = expander.expand(tree as Json, []);
    return { ok: true, tree: expanded, used: [...expander.used] };
  } catch (error) {
    if (error instanceof ExpansionError) return { ok: false, reason: error.message };
    if (error instanceof RangeError) return { ok: false, reason: 'the cell is nested too deeply once its macros are expanded' };
    throw error;
  }
}
