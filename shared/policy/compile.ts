// The algebra → the SQL the worker runs. Each aggregating branch becomes four stages:
//
//   rows     one row per source row: group keys, each term's argument(s) and FILTER, and the
//            privacy unit of every protected table (a view: recomputed where it is read);
//   person   per protected table, one row per (group, person): whether the person reaches each
//            term (argument present; non-zero for sums and moments), and the sum of |argument|
//            (for the dominance rules); the person's id is a keyed hash of their unit;
//   raw      per group: the aggregates, and per table and term the number of people behind it,
//            the number with a non-zero value, the total and the two largest per-person totals.
//            Groups with fewer than k people of any protected table are not kept at all;
//   sketch   per released candidate, an IBLT of the people behind it (sketch.ts) for differencing.
//
// The worker (guard.ts) then decides which terms may be released, sets the others to NULL in raw,
// and only then evaluates the select list, HAVING, ORDER BY and LIMIT over what is released — so
// nothing about suppression depends on HAVING or on a value inside a removed group.
import { type AggregateSelect, type AlgebraCell, summingAggregates, type Term } from './algebra.js';
import { sketchSql } from './sketch.js';
import { reservedPrefix, sqlIdentifier, sqlString } from './tree.js';

export interface CompiledTermStats {
  readonly table: number;
  readonly term: number;
  /** People with the argument present. */
  readonly people: string;
  /** People with a non-zero argument (sums and moments), or null. */
  readonly nonZero: string | null;
  /** Sum of per-person |argument| totals, and the two largest (sum/avg), or null. */
  readonly total: string | null;
  readonly top: string | null;
}

export interface CompiledBranch {
  /** Statements that create the branch's tables, in order. */
  readonly setup: readonly string[];
  /** The raw table: `__cr_row`, group keys, terms `__cr_v<i>`, and the statistics columns. */
  readonly raw: string;
  readonly tables: readonly string[];
  readonly terms: readonly Term[];
  /** Group key columns `__cr_g<i>` of raw. */
  readonly groupCount: number;
  readonly stats: readonly CompiledTermStats[];
  /** Rows (row, term, tbl, kind 'n'|'z', cell, count, ids, checks): the sketches of every candidate. */
  readonly sketches: string;
  /** Its FROM, WHERE and GROUP BY as SQL: what makes two sets "the same population". */
  readonly population: string;
  /** SELECT of the branch's output columns (and hidden ORDER BY columns) over raw, HAVING applied. */
  readonly select: (names: readonly string[]) => string;
}

export interface CompiledCell {
  readonly branches: readonly CompiledBranch[];
  /** The output: the branches' selects, UNION ALL, ordered and limited; its last column `__cr_withheld` counts withheld values. */
  readonly output: (names: readonly string[]) => string;
  /** Everything the stages created, to drop afterwards. */
  readonly cleanup: readonly string[];
}

export interface CompileOptions {
  /** Prefix unique to the cell, e.g. `__cr_c3_`. */
  readonly prefix: string;
  readonly k: number;
  /** Hex salt of the people's ids (per room and home). */
  readonly salt: string;
  /** Sketch width (cells per sub-table). */
  readonly width: number;
}

const id = sqlIdentifier;

/** Counts of rows (not of distinct people) get the dominance rules too, with rows as the weight. */
const weighsRows = (term: Term): boolean => (term.fn === 'count_star' || term.fn === 'count') && !term.distinct;

/** The SQL of a term over the rows stage's columns. */
function termSql(term: Term, index: number): string {
  const filter = term.filter === null ? '' : ` FILTER (WHERE ${id(`${reservedPrefix}f${index}`)})`;
  const args = term.args.map((_arg, position) => id(`${reservedPrefix}a${index}_${position}`));
  if (term.fn === 'count_star') return `count(*)${filter}`;
  return `${term.fn}(${term.distinct ? 'DISTINCT ' : ''}${args.join(', ')})${filter}`;
}

/** Whether a row of the rows stage reaches the term with its argument(s) present. */
function presentSql(term: Term, index: number): string {
  const parts = term.filter === null ? [] : [`coalesce(${id(`${reservedPrefix}f${index}`)}, false)`];
  term.args.forEach((_arg, position) => parts.push(`${id(`${reservedPrefix}a${index}_${position}`)} IS NOT NULL`));
  return parts.length === 0 ? 'true' : parts.join(' AND ');
}

/** Present and non-zero in at least one argument (a zero adds nothing to a sum or a moment). */
function nonZeroSql(term: Term, index: number): string {
  const any = term.args.map((_arg, position) => `coalesce(TRY(${id(`${reservedPrefix}a${index}_${position}`)} <> 0), true)`).join(' OR ');
  return `(${presentSql(term, index)}) AND (${any})`;
}

function compileBranch(branch: AggregateSelect, branchIndex: number, options: CompileOptions): CompiledBranch {
  const p = `${options.prefix}b${branchIndex}_`;
  const rows = id(`${p}rows`);
  const raw = id(`${p}raw`);
  const groups = branch.groups.map((_group, index) => id(`${reservedPrefix}g${index}`));
  const tables = branch.protectedTables;
  const units = new Map<string, string>();
  for (const binding of branch.source.bindings) for (const [table, unit] of binding.units) if (!units.has(table)) units.set(table, unit);

  const rowItems: string[] = [];
  branch.groups.forEach((group, index) => rowItems.push(`${group.sql} AS ${groups[index]}`));
  branch.terms.forEach((term, index) => {
    term.args.forEach((arg, position) => rowItems.push(`${arg.sql} AS ${id(`${reservedPrefix}a${index}_${position}`)}`));
    if (term.filter !== null) rowItems.push(`${term.filter.sql} AS ${id(`${reservedPrefix}f${index}`)}`);
    if (term.dedupe !== null) rowItems.push(`${term.dedupe} AS ${id(`${reservedPrefix}d${index}`)}`);
  });
  tables.forEach((table, index) => rowItems.push(`${units.get(table) as string} AS ${id(`${reservedPrefix}u${index}`)}`));
  const where = branch.where === null ? '' : ` WHERE ${branch.where.sql}`;
  const setup: string[] = [`CREATE TEMP VIEW ${rows} AS SELECT ${rowItems.join(', ')} FROM ${branch.source.sql}${where}`];

  const groupBy = (extra: string[] = []): string => {
    const all = [...groups, ...extra];
    return all.length === 0 ? '' : ` GROUP BY ${all.join(', ')}`;
  };
  const stats: CompiledTermStats[] = [];
  const statsSelects: string[] = [];
  tables.forEach((_table, t) => {
    const person = id(`${p}person${t}`);
    const unit = id(`${reservedPrefix}u${t}`);
    const personItems = [...groups];
    personItems.push(`md5_number_lower(${sqlString(options.salt)} || CAST(${unit} AS VARCHAR)) AS ${id(`${reservedPrefix}id`)}`);
    branch.terms.forEach((term, index) => {
      personItems.push(`bool_or(${presentSql(term, index)}) AS ${id(`${reservedPrefix}c${index}`)}`);
      if (term.family === 'value') personItems.push(`bool_or(${nonZeroSql(term, index)}) AS ${id(`${reservedPrefix}z${index}`)}`);
      const present = presentSql(term, index);
      const dedupe = term.dedupe === null ? null : id(`${reservedPrefix}d${index}`);
      // A person's rows reaching the term, each row of the term's own table once.
      const rows = dedupe === null ? `count(*) FILTER (WHERE ${present})` : `count(DISTINCT ${dedupe}) FILTER (WHERE ${present})`;
      if (summingAggregates.has(term.fn)) {
        const magnitude = `abs(TRY_CAST(${id(`${reservedPrefix}a${index}_0`)} AS DOUBLE))`;
        personItems.push(
          dedupe === null
            ? `sum(${magnitude}) FILTER (WHERE ${present}) AS ${id(`${reservedPrefix}s${index}`)}`
            : `list_sum([x.v FOR x IN list_distinct(list({'d': ${dedupe}, 'v': ${magnitude}}) FILTER (WHERE ${present}))]) AS ${id(`${reservedPrefix}s${index}`)}`,
        );
      } else if (weighsRows(term)) {
        // A person's weight in a count of rows is their number of rows.
        personItems.push(`CAST(${rows} AS DOUBLE) AS ${id(`${reservedPrefix}s${index}`)}`);
      }
      // The person with their number of rows reaching the term: two terms over the same people
      // whose rows differ for one person (a visit dropped by a filter) differ in these ids.
      personItems.push(`md5_number_lower(${sqlString(options.salt)} || CAST(${unit} AS VARCHAR) || '#' || CAST(${rows} AS VARCHAR)) AS ${id(`${reservedPrefix}rid${index}`)}`);
    });
    setup.push(`CREATE TEMP TABLE ${person} AS SELECT ${personItems.join(', ')} FROM ${rows} WHERE ${unit} IS NOT NULL${groupBy([unit])}`);
    const statItems = [...groups, `count(*) AS ${id(`${reservedPrefix}pop${t}`)}`];
    branch.terms.forEach((term, index) => {
      const people = `${reservedPrefix}n${t}_${index}`;
      statItems.push(`count(*) FILTER (WHERE ${id(`${reservedPrefix}c${index}`)}) AS ${id(people)}`);
      let nonZero: string | null = null;
      let total: string | null = null;
      let top: string | null = null;
      if (term.family === 'value') {
        nonZero = `${reservedPrefix}nz${t}_${index}`;
        statItems.push(`count(*) FILTER (WHERE ${id(`${reservedPrefix}z${index}`)}) AS ${id(nonZero)}`);
      }
      if (summingAggregates.has(term.fn) || weighsRows(term)) {
        total = `${reservedPrefix}tot${t}_${index}`;
        top = `${reservedPrefix}top${t}_${index}`;
        statItems.push(`coalesce(sum(${id(`${reservedPrefix}s${index}`)}), 0) AS ${id(total)}`);
        statItems.push(`max(${id(`${reservedPrefix}s${index}`)}, 2) AS ${id(top)}`);
      }
      stats.push({ table: t, term: index, people, nonZero, total, top });
    });
    statsSelects.push(`(SELECT ${statItems.join(', ')} FROM ${person}${groupBy()}) AS ${id(`${reservedPrefix}st${t}`)}`);
  });

  // Terms over rows a join can repeat are computed over the distinct rows of their own table.
  const aggItems = [...groups, `count(*) AS ${id(`${reservedPrefix}rows`)}`, ...branch.terms.flatMap((term, index) => (term.dedupe === null ? [`${termSql(term, index)} AS ${id(`${reservedPrefix}v${index}`)}`] : []))];
  const deduped = branch.terms.flatMap((term, index) => {
    if (term.dedupe === null) return [];
    const columns = [...groups, id(`${reservedPrefix}d${index}`), ...term.args.map((_arg, position) => id(`${reservedPrefix}a${index}_${position}`))];
    if (term.filter !== null) columns.push(id(`${reservedPrefix}f${index}`));
    const alias = id(`${reservedPrefix}dd${index}`);
    const on = groups.length === 0 ? 'true' : groups.map((group) => `${id(`${reservedPrefix}base`)}.${group} IS NOT DISTINCT FROM ${alias}.${group}`).join(' AND ');
    return [{ index, join: ` LEFT JOIN (SELECT ${[...groups, `${termSql(term, index)} AS ${id(`${reservedPrefix}v${index}`)}`].join(', ')} FROM (SELECT DISTINCT ${columns.join(', ')} FROM ${rows})${groupBy()}) AS ${alias} ON ${on}`, alias }];
  });
  const base = `(SELECT ${aggItems.join(', ')} FROM ${rows}${groupBy()}) AS ${id(`${reservedPrefix}base`)}`;
  const aggSelect = [
    ...groups.map((group) => `${id(`${reservedPrefix}base`)}.${group}`),
    ...branch.terms.map((_term, index) => {
      const found = deduped.find((entry) => entry.index === index);
      return found === undefined ? `${id(`${reservedPrefix}base`)}.${id(`${reservedPrefix}v${index}`)}` : `${found.alias}.${id(`${reservedPrefix}v${index}`)}`;
    }),
  ];
  const agg = `(SELECT ${aggSelect.join(', ')} FROM ${base}${deduped.map((entry) => entry.join).join('')}) AS ${id(`${reservedPrefix}agg`)}`;
  const match = (alias: string): string =>
    groups.length === 0 ? 'true' : groups.map((group) => `${id(`${reservedPrefix}agg`)}.${group} IS NOT DISTINCT FROM ${id(alias)}.${group}`).join(' AND ');
  const joins = statsSelects.map((select, t) => ` JOIN ${select} ON ${match(`${reservedPrefix}st${t}`)}`).join('');
  const statColumns = tables.flatMap((_table, t) => [
    `${id(`${reservedPrefix}st${t}`)}.${id(`${reservedPrefix}pop${t}`)}`,
    ...stats.filter((s) => s.table === t).flatMap((s) => [s.people, s.nonZero, s.total, s.top].filter((c): c is string => c !== null).map((c) => `${id(`${reservedPrefix}st${t}`)}.${id(c)}`)),
  ]);
  const keep = tables.map((_table, t) => `${id(`${reservedPrefix}st${t}`)}.${id(`${reservedPrefix}pop${t}`)} >= ${options.k}`).join(' AND ');
  const order = groups.length === 0 ? '' : `ORDER BY ${groups.map((group) => `${id(`${reservedPrefix}agg`)}.${group} NULLS LAST`).join(', ')}`;
  const aggColumns = [
    ...[...groups, ...branch.terms.map((_term, index) => id(`${reservedPrefix}v${index}`))].map((column) => `${id(`${reservedPrefix}agg`)}.${column}`),
    // Set by the worker for each withheld term (guard.ts), with the term's value set to NULL.
    ...branch.terms.map((_term, index) => `false AS ${id(`${reservedPrefix}w${index}`)}`),
  ];
  setup.push(
    `CREATE TEMP TABLE ${raw} AS SELECT row_number() OVER (${order}) AS ${id(`${reservedPrefix}row`)}, ${[...aggColumns, ...statColumns].join(', ')} FROM ${agg}${joins} WHERE ${keep}`,
  );

  // Sketches of every candidate set: people present (and non-zero) for each term and table.
  const sketch = sketchSql(id(`${reservedPrefix}id`), options.width);
  const cellCase = `CASE ${id(`${reservedPrefix}sub`)} WHEN 0 THEN ${sketch.cells[0]} WHEN 1 THEN ${sketch.cells[1]} ELSE ${sketch.cells[2]} END`;
  const sketchSelects: string[] = [];
  tables.forEach((_table, t) => {
    const person = id(`${p}person${t}`);
    const rawMatch = groups.length === 0 ? 'true' : groups.map((group) => `${id(`${reservedPrefix}pp`)}.${group} IS NOT DISTINCT FROM ${id(`${reservedPrefix}r`)}.${group}`).join(' AND ');
    branch.terms.forEach((term, index) => {
      // n: people present; r: people present with their row count; z: people with a non-zero value.
      const kinds: [string, string, string][] = [
        ['n', `c${index}`, 'id'],
        ['r', `c${index}`, `rid${index}`],
      ];
      if (term.family === 'value') kinds.push(['z', `z${index}`, 'id']);
      for (const [kind, flag, idColumn] of kinds) {
        const personId = `${id(`${reservedPrefix}pp`)}.${id(`${reservedPrefix}${idColumn}`)}`;
        sketchSelects.push(
          `SELECT ${id(`${reservedPrefix}r`)}.${id(`${reservedPrefix}row`)} AS row, ${index} AS term, ${t} AS tbl, '${kind}' AS kind, ${cellCase.replaceAll(id(`${reservedPrefix}id`), personId)} AS cell, count(*) AS count, ` +
            `CAST(sum(${personId}) AS VARCHAR) AS ids, CAST(sum(${sketch.check.replaceAll(id(`${reservedPrefix}id`), personId)}) AS VARCHAR) AS checks ` +
            `FROM ${person} AS ${id(`${reservedPrefix}pp`)} JOIN ${raw} AS ${id(`${reservedPrefix}r`)} ON ${rawMatch} CROSS JOIN (SELECT unnest([0, 1, 2]) AS ${id(`${reservedPrefix}sub`)}) ` +
            `WHERE ${id(`${reservedPrefix}pp`)}.${id(`${reservedPrefix}${flag}`)} GROUP BY ALL`,
        );
      }
    });
  });
  const sketches = sketchSelects.length === 0 ? `SELECT NULL AS row WHERE false` : sketchSelects.join(' UNION ALL ');

  const select = (names: readonly string[]): string => {
    // A value computed from a withheld aggregate is withheld as a whole (coalesce could not hide it).
    const withheldIf = (terms: readonly number[]): string => terms.map((term) => id(`${reservedPrefix}w${term}`)).join(' OR ');
    const items = branch.items.map(
      (item, index) => `${item.expr.terms.length === 0 ? item.expr.sql : `CASE WHEN ${withheldIf(item.expr.terms)} THEN NULL ELSE ${item.expr.sql} END`} AS ${id(names[index] ?? item.name)}`,
    );
    branch.order.forEach((expr, index) => items.push(`${expr.terms.length === 0 ? expr.sql : `CASE WHEN ${withheldIf(expr.terms)} THEN NULL ELSE ${expr.sql} END`} AS ${id(`${reservedPrefix}o${index}`)}`));
    // How many of the row's values are withheld: said to the runner, and derivable from the output.
    const withheld = branch.items.map((item) => (item.expr.terms.length === 0 ? '0' : `(CASE WHEN ${item.expr.terms.map((term) => id(`${reservedPrefix}w${term}`)).join(' OR ')} THEN 1 ELSE 0 END)`));
    items.push(`${withheld.length === 0 ? '0' : withheld.join(' + ')} AS ${id(`${reservedPrefix}withheld`)}`);
    const having = branch.having === null ? '' : ` WHERE coalesce(${branch.having.terms.length === 0 ? branch.having.sql : `CASE WHEN ${withheldIf(branch.having.terms)} THEN NULL ELSE ${branch.having.sql} END`}, false)`;
    return `SELECT ${items.join(', ')} FROM ${raw}${having}`;
  };
  const population = `${branch.source.sql} WHERE ${branch.where?.sql ?? 'true'} GROUP BY ${branch.groups.map((group) => group.sql).join(', ')}`;
  return { setup, raw, tables, terms: branch.terms, groupCount: groups.length, stats, sketches, select, population };
}

/** Compiles an aggregate cell; `post` cells run as checked and are not compiled here. */
export function compileCell(cell: Extract<AlgebraCell, { kind: 'aggregate' }>, options: CompileOptions): CompiledCell {
  const branches = cell.branches.map((branch, index) => compileBranch(branch, index, options));
  const cleanup = cell.branches.flatMap((branch, index) => {
    const p = `${options.prefix}b${index}_`;
    return [`DROP VIEW IF EXISTS ${id(`${p}rows`)}`, `DROP TABLE IF EXISTS ${id(`${p}raw`)}`, ...branch.protectedTables.map((_t, t) => `DROP TABLE IF EXISTS ${id(`${p}person${t}`)}`)];
  });
  const output = (names: readonly string[]): string => {
    const columns = [...names.map((name) => id(name)), id(`${reservedPrefix}withheld`)].join(', ');
    const union = branches.map((branch) => branch.select(names)).join(' UNION ALL ');
    const order = cell.orderBy.length === 0 ? '' : ` ORDER BY ${cell.orderBy.join(', ')}`;
    const limit = cell.limit === null ? '' : ` LIMIT ${cell.limit}`;
    const offset = cell.offset === null ? '' : ` OFFSET ${cell.offset}`;
    return `SELECT ${columns} FROM (${union}) AS ${id(`${reservedPrefix}out`)}${order}${limit}${offset}`;
  };
  return { branches, output, cleanup };
}
