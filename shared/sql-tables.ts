// Which tables a SQL text reads, from DuckDB's own syntax tree (json_serialize_sql). Pure: the
// worker parses, this walks, so the UI and core name the same tables for the same cell.

/** A table a statement reads: its name as written (schema-qualified when it was). */
export interface TableRead {
  readonly name: string;
  readonly schema: string;
}

/** The result of `json_serialize_sql` when DuckDB could not serialise the text. */
export interface SqlParseFailure {
  readonly error: true;
  readonly message: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (value: Json | undefined): value is { [key: string]: Json } =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** CTE names a node's `cte_map` defines; in scope for the whole node, including the CTEs themselves. */
function cteNames(node: { [key: string]: Json }): string[] {
  const cteMap = node['cte_map'];
  if (!isObject(cteMap) || !Array.isArray(cteMap['map'])) return [];
  return cteMap['map'].flatMap((item) => (isObject(item) && typeof item['key'] === 'string' ? [item['key'].toLowerCase()] : []));
}

function walk(value: Json, inScope: ReadonlySet<string>, found: Map<string, TableRead>, depth: number): void {
  // DuckDB's trees are shallow in practice; a pathological one is cut off rather than overflowing.
  if (depth > 2000) return;
  if (Array.isArray(value)) {
    for (const item of value) walk(item, inScope, found, depth + 1);
    return;
  }
  if (!isObject(value)) return;
  const defined = cteNames(value);
  const scope = defined.length === 0 ? inScope : new Set([...inScope, ...defined]);
  if (value['type'] === 'BASE_TABLE' && typeof value['table_name'] === 'string') {
    const name = value['table_name'];
    const schema = typeof value['schema_name'] === 'string' ? value['schema_name'] : '';
    const isCte = schema === '' && scope.has(name.toLowerCase());
    const key = `${schema.toLowerCase()}.${name.toLowerCase()}`;
    if (!isCte && !found.has(key)) found.set(key, { name, schema });
  }
  for (const inner of Object.values(value)) walk(inner, scope, found, depth + 1);
}

/**
 * The tables `tree` (the parsed output of `json_serialize_sql`) reads, in order of first
 * appearance, without CTE names; or the parser's failure. Anything unexpected in the tree yields
 * fewer names, never an exception.
 */
export function tablesReadBy(tree: unknown): TableRead[] | SqlParseFailure {
  const root = tree as Json;
  if (!isObject(root)) return { error: true, message: 'the SQL could not be parsed' };
  if (root['error'] === true) {
    const message = typeof root['error_message'] === 'string' ? root['error_message'] : 'the SQL could not be parsed';
    return { error: true, message };
  }
  const found = new Map<string, TableRead>();
  walk(root['statements'] ?? null, new Set(), found, 0);
  return [...found.values()];
}

/** A table read as a room asset name: lower-case, unqualified; null when schema-qualified. */
export function assetNameOf(read: TableRead): string | null {
  return read.schema === '' ? read.name.toLowerCase() : null;
}
