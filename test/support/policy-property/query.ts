// The generator's query model: a SELECT as parts (CTEs, FROM, WHERE, groups, items, HAVING,
// ORDER BY, LIMIT) so that mutations can change one part, rendered twice — as the analyst's text that
// the worker runs, and as the reference text that plain DuckDB runs for the brute force (the same
// query without the clauses applied after suppression: HAVING, ORDER BY and LIMIT of the final
// output, and with TRY where the worker evaluates every expression as total).

export type DimType = 'text' | 'int' | 'date' | 'bool';

export interface Dim {
  readonly sql: string;
  readonly type: DimType;
  /** Literal SQL values that occur in the data. */
  readonly values: readonly string[];
}

export interface Measure {
  readonly sql: string;
  /** For signatures: the measure's meaning ('cost', 'cost_k'…). */
  readonly name: string;
  readonly type: 'double' | 'int';
  /** Literal values near the data: a few samples and thresholds near the top. */
  readonly samples: readonly number[];
  readonly tops: readonly number[];
}

/** What a FROM clause offers the generator. */
export interface Catalog {
  /** SQL of a privacy unit column (for count(DISTINCT …) and the unit selectors of mutations). */
  readonly unit: string | null;
  readonly dims: readonly Dim[];
  readonly measures: readonly Measure[];
  /** Room tables it reads. */
  readonly tables: readonly string[];
  /**
   * What one row is, for signatures: 'people' (one row a person: per-unit CTEs, plans), 'visit',
   * 'tag-visit'… Two count(*) cells are compared for differencing only over the same kind of rows.
   */
  readonly rows: string;
}

export interface Item {
  readonly expr: string;
  readonly name: string;
  /** For the differencing check: 'people', 'count@<rows>', 'sum:<measure>' for a bare count or sum term; null otherwise. */
  readonly sig: string | null;
  /** Reference text when it differs (TRY variants). */
  readonly ref?: string;
  /**
   * The aggregate terms an arithmetic item (or an avg) is made of, when not just `expr`: the brute
   * force checks each of them (a ratio of two integers can stay the same when one person leaves by
   * coincidence; its terms cannot), while the item itself is checked against plain DuckDB.
   */
  readonly parts?: readonly string[];
}

export interface Select {
  ctes: string[];
  from: string;
  where: string[];
  groups: { expr: string; name: string }[];
  /** How GROUP BY names the groups: by expression, by alias or by position. */
  groupStyle: 'expr' | 'alias' | 'position';
  items: Item[];
  having: string | null;
  orderBy: string | null;
  limit: number | null;
  catalog: Catalog;
  /** In a UNION ALL: a literal key ('all') in place of group keys, for the branch that is a total. */
  label?: string;
}

/** A UNION ALL's branches each have one key column named `part`: a label or one group key cast to text. */
export type Query = { kind: 'select'; select: Select } | { kind: 'union'; branches: Select[]; orderBy: string | null };

/** One cell the property test runs: the analyst's text, the reference text and what the columns are. */
export interface GenCell {
  /** Output name (unique in the test). */
  readonly name: string;
  readonly sql: string;
  readonly ref: string;
  /** Positions of the output's key columns (group keys, UNION labels): they identify a row. */
  readonly keys: readonly number[];
  readonly sigs: readonly (string | null)[];
  /** The output's column names, as the SQL names them. */
  readonly columns: readonly string[];
  /** Per output column: the reference's extra columns holding its terms (see Item.parts), or null. */
  readonly partColumns: readonly (readonly number[] | null)[];
  /** The SQL of those extra columns, in order. */
  readonly partSql: readonly string[];
  /** Earlier outputs it reads. */
  readonly inputs: readonly string[];
  /** Room tables it reads (none for post-processing). */
  readonly tables: readonly string[];
  /** 'grammar' (generated from the grammar) or 'mutant'. */
  readonly origin: 'grammar' | 'mutant' | 'post';
  /** Issue 17's class (1-8) and the mutation's name, for mutants. */
  readonly mutation: string | null;
  /** Whether the grammar of SPEC.md should accept it (a refusal is then worth reporting). */
  readonly grammatical: boolean;
}

const renderSelect = (select: Select, core: boolean, ref: boolean): string => {
  const parts: string[] = [];
  const keys = select.label !== undefined ? [`'${select.label}' AS part`] : select.groups.map((group) => `${group.expr} AS ${group.name}`);
  const items = [...keys, ...select.items.map((item) => `${ref && item.ref !== undefined ? item.ref : item.expr} AS ${item.name}`)];
  // The reference also computes each item's terms, after the output's own columns.
  if (ref) select.items.forEach((item, index) => item.parts?.forEach((part, at) => items.push(`${part} AS __part_${index}_${at}`)));
  if (select.ctes.length > 0) parts.push(`WITH ${select.ctes.join(', ')}`);
  parts.push(`SELECT ${items.join(', ')}`);
  parts.push(`FROM ${select.from}`);
  if (select.where.length > 0) parts.push(`WHERE ${select.where.map((term) => (select.where.length > 1 ? `(${term})` : term)).join(' AND ')}`);
  if (select.groups.length > 0) {
    const groups = select.groups.map((group, index) => (select.groupStyle === 'alias' ? group.name : select.groupStyle === 'position' ? String(index + 1) : group.expr));
    parts.push(`GROUP BY ${groups.join(', ')}`);
  }
  if (!core) {
    if (select.having !== null) parts.push(`HAVING ${select.having}`);
    if (select.orderBy !== null) parts.push(`ORDER BY ${select.orderBy}`);
    if (select.limit !== null) parts.push(`LIMIT ${select.limit}`);
  }
  return parts.join('\n');
};

export function renderQuery(query: Query, core: boolean, ref: boolean): string {
  if (query.kind === 'select') return renderSelect(query.select, core, ref);
  // CTEs go before the first branch (a WITH belongs to the whole UNION ALL).
  const ctes = [...new Set(query.branches.flatMap((branch) => branch.ctes))];
  const body = query.branches.map((branch) => renderSelect({ ...branch, ctes: [], having: null, orderBy: null, limit: null }, true, ref)).join('\nUNION ALL\n');
  const text = ctes.length > 0 ? `WITH ${ctes.join(', ')}\n${body}` : body;
  return !core && query.orderBy !== null ? `${text}\nORDER BY ${query.orderBy}` : text;
}

/** Where each output column's terms are in the reference's rows (after the output's columns). */
function partColumnsOf(keyCount: number, items: readonly Item[]): (number[] | null)[] {
  let next = keyCount + items.length;
  return [...Array.from({ length: keyCount }, () => null), ...items.map((item) => (item.parts === undefined ? null : item.parts.map(() => next++)))];
}

export function cellOf(
  query: Query,
  name: string,
  origin: GenCell['origin'],
  mutation: string | null,
  grammatical: boolean,
  refSubstitutions: readonly (readonly [string, string])[] = [],
): GenCell {
  let ref = renderQuery(query, true, true);
  for (const [from, to] of refSubstitutions) ref = ref.replaceAll(from, to);
  if (query.kind === 'select') {
    const { select } = query;
    return {
      name,
      sql: renderQuery(query, false, false),
      ref,
      keys: select.groups.map((_, index) => index),
      sigs: [...select.groups.map(() => null), ...select.items.map((item) => item.sig)],
      columns: [...select.groups.map((group) => group.name), ...select.items.map((item) => item.name)],
      partColumns: partColumnsOf(select.groups.length, select.items),
      partSql: select.items.flatMap((item) => item.parts ?? []),
      inputs: [],
      tables: select.catalog.tables,
      origin,
      mutation,
      grammatical,
    };
  }
  const first = query.branches[0] as Select;
  return {
    name,
    sql: renderQuery(query, false, false),
    ref,
    keys: [0],
    sigs: [null, ...first.items.map((item) => item.sig)],
    columns: ['part', ...first.items.map((item) => item.name)],
    partColumns: partColumnsOf(1, first.items),
    partSql: first.items.flatMap((item) => item.parts ?? []),
    inputs: [],
    tables: [...new Set(query.branches.flatMap((branch) => branch.catalog.tables))],
    origin,
    mutation,
    grammatical,
  };
}

export const cloneSelect = (select: Select): Select => ({
  ...select,
  ctes: [...select.ctes],
  where: [...select.where],
  groups: select.groups.map((group) => ({ ...group })),
  items: select.items.map((item) => ({ ...item })),
});

