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
  if (ref && core) {
    const deduplicated = dedupReference(select);
    if (deduplicated !== null) return deduplicated;
  }
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

// ---- The reference where a join can repeat rows ------------------------------------------------
//
// Aggregate mode computes each value aggregate (sum, avg, moments) over the distinct rows of the
// table(s) its argument comes from, so that a join repeating a row cannot weight its value; counts
// keep SQL's meaning (rows of the join). The reference does the same: each value term over SELECT
// DISTINCT (group keys, row ids, arguments, filter) of the joined rows.

const aggregateNames = [
  'count', 'sum', 'avg', 'mean', 'var_samp', 'var_pop', 'variance', 'stddev', 'stddev_samp', 'stddev_pop', 'corr', 'covar_pop',
  'covar_samp', 'regr_slope', 'regr_intercept', 'regr_r2', 'regr_count', 'regr_avgx', 'regr_avgy', 'regr_sxx', 'regr_syy', 'regr_sxy',
];
const roomTables = ['visits', 'plans', 'tags', 'wards'];
const peopleTables = new Set(['visits', 'plans', 'tags']);
const sqlWords = new Set(['join', 'left', 'right', 'inner', 'on', 'using', 'where', 'group', 'cross', 'anti', 'semi', 'natural', 'as']);

/** Index of the parenthesis closing the one at `open`. */
function closing(text: string, open: number): number {
  let depth = 0;
  for (let index = open; index < text.length; index++) {
    if (text[index] === '(') depth += 1;
    else if (text[index] === ')') {
      depth -= 1;
      if (depth === 0) return index;
    } else if (text[index] === "'") index = text.indexOf("'", index + 1);
  }
  return text.length - 1;
}

function splitArguments(text: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '(') depth += 1;
    else if (char === ')') depth -= 1;
    else if (char === ',' && depth === 0) {
      args.push(text.slice(start, index).trim());
      start = index + 1;
    }
  }
  args.push(text.slice(start).trim());
  return args;
}

export interface ScannedTerm {
  readonly text: string;
  readonly fn: string;
  readonly distinct: boolean;
  readonly args: readonly string[];
  readonly filter: string | null;
}

/** The aggregate calls in an expression the generator wrote (with their FILTER). */
export function scanTerms(expr: string): ScannedTerm[] {
  const terms: ScannedTerm[] = [];
  const pattern = new RegExp(`\\b(${aggregateNames.join('|')})\\(`, 'g');
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(expr)) !== null) {
    const fn = match[1] as string;
    const open = match.index + fn.length;
    const close = closing(expr, open);
    let end = close + 1;
    let filter: string | null = null;
    if (expr.startsWith(' FILTER (WHERE ', end)) {
      const filterOpen = end + ' FILTER '.length;
      const filterClose = closing(expr, filterOpen);
      filter = expr.slice(filterOpen + '(WHERE '.length, filterClose);
      end = filterClose + 1;
    }
    const inner = expr.slice(open + 1, close).trim();
    const distinct = inner.startsWith('DISTINCT ');
    const argsText = distinct ? inner.slice('DISTINCT '.length) : inner;
    terms.push({ text: expr.slice(match.index, end), fn, distinct, args: argsText === '*' ? [] : splitArguments(argsText), filter });
    pattern.lastIndex = end;
  }
  return terms;
}

/** The room tables a FROM clause joins, with their aliases, in order; null if it reads anything else. */
function baseAliases(from: string): { table: string; alias: string }[] | null {
  const found: { table: string; alias: string }[] = [];
  const pattern = /\b(visits|plans|tags|wards)\b(?:\s+(?:AS\s+)?([a-z_]+))?/gi;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(from)) !== null) {
    const table = (match[1] as string).toLowerCase();
    const alias = match[2] !== undefined && !sqlWords.has(match[2].toLowerCase()) ? match[2] : table;
    found.push({ table, alias });
  }
  if (from.includes('(') && !/USING \(patient_id\)/.test(from)) return null;
  return found.every((entry) => roomTables.includes(entry.table)) ? found : null;
}

/** Tables with several rows per join key: joined to another table, they repeat that table's rows. */
const repeatingTables = new Set(['visits', 'tags']);

function dedupReference(select: Select): string | null {
  const aliases = baseAliases(select.from);
  if (aliases === null || aliases.length < 2) return null;
  const items = select.items.flatMap((item) => [item.ref ?? item.expr, ...(item.parts ?? [])]);
  const terms = [...new Map(items.flatMap(scanTerms).map((term) => [term.text, term])).values()].sort((a, b) => b.text.length - a.text.length);
  const where = select.where.length > 0 ? ` WHERE ${select.where.map((term) => `(${term})`).join(' AND ')}` : '';
  const groups = select.label !== undefined ? [] : select.groups;
  const groupColumns = groups.map((group, index) => `${group.expr} AS __g${index}`);
  const keys = groups.map((_group, at) => `__g${at}`);
  const firstPeople = aliases.find((entry) => peopleTables.has(entry.table)) ?? aliases[0];
  // Where the term's rows are never repeated (no other table of the join has several rows per key),
  // it is computed as written, in one pass with the others; the rest over their distinct rows.
  const rowsOf = (term: ScannedTerm) => {
    const tables = aliases.filter((entry) => term.args.some((arg) => new RegExp(`\\b${entry.alias}\\.`).test(arg)));
    return tables.length > 0 ? tables : firstPeople === undefined ? [] : [firstPeople];
  };
  const repeated = (term: ScannedTerm): boolean => {
    const own = rowsOf(term);
    return aliases.some((entry) => !own.includes(entry) && repeatingTables.has(entry.table));
  };
  // Counts keep SQL's meaning over a join (rows of the join); value aggregates are deduplicated.
  const deduplicated = terms.filter((term) => term.fn !== 'count' && repeated(term));
  const plain = terms.filter((term) => !deduplicated.includes(term));
  const joins = deduplicated.map((term, index) => {
    const rowIds = rowsOf(term).map((entry, at) => `${entry.alias}.__rid AS __d${at}`);
    const args = term.args.map((arg, at) => `${arg} AS __a${at}`);
    const inner = [...groupColumns, ...rowIds, ...args, `coalesce(${term.filter ?? 'true'}, false) AS __f`].join(', ');
    const call = `${term.fn}(${term.distinct ? 'DISTINCT ' : ''}${term.args.length === 0 ? '*' : term.args.map((_arg, at) => `__a${at}`).join(', ')}) FILTER (WHERE __f)`;
    const body = `SELECT ${[...keys, `${call} AS __v`].join(', ')} FROM (SELECT DISTINCT ${inner} FROM ${select.from}${where}) AS __rows${keys.length > 0 ? ` GROUP BY ${keys.join(', ')}` : ''}`;
    const on = keys.length === 0 ? 'true' : keys.map((key) => `__grp.${key} IS NOT DISTINCT FROM __t${index}.${key}`).join(' AND ');
    return ` LEFT JOIN (${body}) AS __t${index} ON ${on}`;
  });
  const replacements = [...plain.map((term, index) => ({ term, sql: `__grp.__b${index}` })), ...deduplicated.map((term, index) => ({ term, sql: `__t${index}.__v` }))].sort(
    (a, b) => b.term.text.length - a.term.text.length,
  );
  const replaced = (expr: string): string => {
    let text = expr;
    // Longest terms first, through placeholders, so count(*) does not match inside count(*) FILTER (…).
    replacements.forEach(({ term }, index) => (text = text.replaceAll(term.text, `@@term${index}@@`)));
    return text.replace(/@@term(\d+)@@/g, (_match, index: string) => replacements[Number(index)]?.sql ?? 'NULL');
  };
  const outputs = [
    ...(select.label !== undefined ? [`'${select.label}' AS part`] : groups.map((group, index) => `__grp.__g${index} AS ${group.name}`)),
    ...select.items.map((item) => `${replaced(item.ref ?? item.expr)} AS ${item.name}`),
  ];
  select.items.forEach((item, index) => item.parts?.forEach((part, at) => outputs.push(`${replaced(part)} AS __part_${index}_${at}`)));
  // The groups (one row when there are none), with the terms that need no deduplication.
  const baseItems = [...groupColumns, ...plain.map((term, index) => `${term.text} AS __b${index}`)];
  const population =
    baseItems.length === 0 ? '(SELECT 1 AS __one) AS __grp' : `(SELECT ${baseItems.join(', ')} FROM ${select.from}${where}${keys.length > 0 ? ` GROUP BY ${keys.join(', ')}` : ''}) AS __grp`;
  const ctes = select.ctes.length > 0 ? `WITH ${select.ctes.join(', ')}\n` : '';
  return `${ctes}SELECT ${outputs.join(', ')} FROM ${population}${joins.join('')}`;
}
