// Private libraries (issue 6): SQL macros kept in a volume, expanded into a cell's syntax tree
// before the policy sees it, so a macro can do nothing the same SQL typed into the cell could not.
// Pure: the worker parses with DuckDB and calls these; core does the same for the owner's check.
// STUB — to be written (see /work/brief6.md).
import { type Json } from './policy.js';

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

/** Replaces each call of a macro in `tree` by its body with the call's arguments put in. */
export function expandMacros(tree: unknown, macros: ReadonlyMap<string, MacroDefinition>): MacroExpansion {
  if (macros.size === 0) return { ok: true, tree, used: [] };
  return { ok: false, reason: 'libraries are not built yet' };
}
