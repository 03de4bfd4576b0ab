// DuckDB's syntax tree (json_serialize_sql) as the policy reads it: the JSON shape, small readers,
// and exact reading and writing of its text. Pure.

/** A parsed json_serialize_sql tree. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Node = { [key: string]: Json };

export const isNode = (value: Json | undefined): value is Node => typeof value === 'object' && value !== null && !Array.isArray(value);
export const list = (value: Json | undefined): Json[] => (Array.isArray(value) ? value : []);
export const text = (value: Json | undefined): string => (typeof value === 'string' ? value : '');

/** Prefix of every name the compiled SQL adds; notebook SQL may not use it. */
export const reservedPrefix = '__cr_';

/** "character N" (1-based) of a node in the cell's text, when DuckDB gave a position. */
export function positionOf(node: Json | undefined): string | undefined {
  const location = isNode(node) ? node['query_location'] : undefined;
  return typeof location === 'number' && location >= 0 && location < 2 ** 31 ? `character ${location + 1}` : undefined;
}

// ---- Reading and writing the tree's JSON exactly ---------------------------------------------------
//
// JSON.parse turns numbers into doubles, so a BIGINT constant like 2305843009213693952 or a
// 20-digit decimal would come back from json_deserialize_sql as a different number. Long number
// tokens are therefore carried as {"__cr_number": "<token>"} and written back verbatim.

export const carriedNumberKey = `${reservedPrefix}number`;
const jsonTokens = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
const carriedNumbers = new RegExp(`\\{"${carriedNumberKey}":"(-?[0-9.eE+-]+)"\\}`, 'g');

/** Parses json_serialize_sql's text, keeping every number token that a double cannot hold exactly. */
export function parseSqlTree(json: string): unknown {
  const carried = json.replace(jsonTokens, (token) => (token.startsWith('"') || token.replace(/[-.eE+]/g, '').length <= 15 ? token : `{"${carriedNumberKey}":"${token}"}`));
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

/** json_deserialize_sql rejects a query_location it cannot read as an unsigned 64-bit number. */
function dropUnsafeLocations(value: Json): void {
  if (Array.isArray(value)) {
    for (const item of value) dropUnsafeLocations(item);
    return;
  }
  if (!isNode(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (key === 'query_location' && !(typeof child === 'number' && Number.isSafeInteger(child))) delete value[key];
    else dropUnsafeLocations(child);
  }
}

/** A name the notebook uses that starts with the reserved prefix, or null. Literals are not names. */
export function reservedNameIn(value: Json): string | null {
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

/** SQL text helpers for the compiled query. */
export const sqlIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;
export const sqlString = (value: string): string => `'${value.replaceAll("'", "''")}'`;
