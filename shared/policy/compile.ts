// The algebra → the SQL the worker runs. Each aggregating branch becomes these stages:
//
//   rows     one row per source row: group keys, each term's argument(s) and FILTER, and the
//            privacy unit of every protected table (a view: recomputed where it is read);
//   person   per protected table, one row per (group, person): a keyed hash of their unit, their
//            rows, and per term their rows reaching it, whether their value is non-zero and their
//            share (sum of |argument|). Tables joined on equal units share one. Dropped once the
//            sketches are read;
//   stats    per table and group: the people, per term the people present, with a non-zero
//            value, their rows, and the two largest per-person shares (dominance);
//   raw      per group: the aggregates and the statistics. Groups with
//            fewer than k people of any protected table are not kept at all;
//   sketch   per candidate set the worker asks for, an IBLT of its people (sketch.ts) for
//            differencing. A term whose set equals the group's population (the statistics tell:
//            same number of people, same number of rows) shares the population's sketch, so a
//            typical cell sketches two sets per table rather than three per term.
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
  /** The sum of the per-person shares (|argument|, or rows for counts), or null. */
  readonly total: string | null;
  /** The two largest per-person shares, or null. */
  readonly top: string | null;
  /** The rows reaching the term, summed over its people (equal to the population's: same rows). */
  readonly rows: string;
}

/** A set of people to sketch for one protected table: the population of a group (term null) or one term's. */
export interface SketchSet {
  readonly table: number;
  readonly term: number | null;
  /** n: people present; r: people present with their number of rows; z: people with a non-zero value. */
  readonly kind: 'n' | 'r' | 'z';
}

export interface CompiledBranch {
  /** Statements that create the branch's tables, in order. */
  readonly setup: readonly string[];
  /** The raw table: `__cr_row`, group keys, terms `__cr_v<i>`, and the statistics columns (`__cr_pop<t>`, `__cr_rall<t>`, …). */
  readonly raw: string;
  readonly tables: readonly string[];
  readonly terms: readonly Term[];
  /** Group key columns `__cr_g<i>` of raw. */
  readonly groupCount: number;
  readonly stats: readonly CompiledTermStats[];
  /** Rows (row, term (-1: the population), tbl, kind, cell, count, ids, checks): the sketches of the given sets, for every row of raw. */
  readonly sketches: (sets: readonly SketchSet[]) => string;
  /** Its FROM, WHERE and GROUP BY as SQL: what makes two sets "the same population". */
  readonly population: string;
  /** SELECT of the branch's output columns (and hidden ORDER BY columns) over raw, HAVING applied. */
  readonly select: (names: readonly string[]) => string;
  /** Drops the per-person tables, once the sketches are read (they are the stages' largest). */
  readonly release: readonly string[];
}

export interface CompiledCell {
  readonly branches: readonly CompiledBranch[];
  /** The output: the branches' selects, UNION ALL, ordered and limited; its last column `__cr_withheld` counts withheld values. */
  readonly output: (names: readonly string[]) => string;
  /** Everything the stages created, to drop afterwards. */
  readonly cleanup: readonly string[];
}

/** One row's statistics as read back from raw, for choosing the sets to sketch. */
export interface PopulationStats {
  /** Per table: the group's people and their rows. */
  readonly population: readonly { readonly people: number; readonly rows: number }[];
  /** [table][term]: people present, non-zero (or null), rows reaching the term. */
  readonly terms: readonly (readonly { readonly people: number; readonly nonZero: number | null; readonly rows: number }[])[];
}

/**
 * The sets that need a sketch of their own: a term's people (n) or rows (r) differ from the
 * population's in some row, or its non-zero people (z) are not the whole population. Every
 * table's population sets are always sketched; the rest share them, which is exact: a subset of
 * the population with as many people is the population, and with as many rows, the same rows.
 */
export function setsToSketch(tableCount: number, termCount: number, rows: readonly PopulationStats[]): SketchSet[] {
  const sets: SketchSet[] = [];
  for (let table = 0; table < tableCount; table++) {
    sets.push({ table, term: null, kind: 'n' }, { table, term: null, kind: 'r' });
    for (let term = 0; term < termCount; term++) {
      const differs = (test: (population: { people: number; rows: number }, stats: { people: number; nonZero: number | null; rows: number }) => boolean): boolean =>
        rows.some((row) => {
          const population = row.population[table];
          const stats = row.terms[table]?.[term];
          return population === undefined || stats === undefined || test(population, stats);
        });
      if (differs((population, stats) => stats.people !== population.people)) sets.push({ table, term, kind: 'n' });
      if (differs((population, stats) => stats.people !== population.people || stats.rows !== population.rows)) sets.push({ table, term, kind: 'r' });
      if (differs((population, stats) => stats.nonZero !== null && stats.nonZero !== population.people)) sets.push({ table, term, kind: 'z' });
    }
  }
  return sets;
}

/** The sketch that holds a term's set: its own when it was sketched, else the population's. */
export function sketchKey(sketched: ReadonlySet<string>, row: number, term: number, table: number, kind: 'n' | 'r' | 'z'): string {
  const own = `${row}:${term}:${table}:${kind}`;
  return sketched.has(`${term}:${table}:${kind}`) ? own : `${row}:-1:${table}:${kind === 'r' ? 'r' : 'n'}`;
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
  const col = (name: string): string => id(`${reservedPrefix}${name}`);
  const groups = branch.groups.map((_group, index) => col(`g${index}`));
  const tables = branch.protectedTables;
  const units = new Map<string, string>();
  for (const binding of branch.source.bindings) for (const [table, unit] of binding.units) if (!units.has(table)) units.set(table, unit);

  const rowItems: string[] = [];
  branch.groups.forEach((group, index) => rowItems.push(`${group.sql} AS ${groups[index]}`));
  branch.terms.forEach((term, index) => {
    term.args.forEach((arg, position) => rowItems.push(`${arg.sql} AS ${col(`a${index}_${position}`)}`));
    if (term.filter !== null) rowItems.push(`${term.filter.sql} AS ${col(`f${index}`)}`);
  });
  tables.forEach((table, index) => rowItems.push(`${units.get(table) as string} AS ${col(`u${index}`)}`));
  const where = branch.where === null ? '' : ` WHERE ${branch.where.sql}`;
  const setup: string[] = [`CREATE TEMP VIEW ${rows} AS SELECT ${rowItems.join(', ')} FROM ${branch.source.sql}${where}`];

  const groupBy = (extra: string[] = []): string => {
    const all = [...groups, ...extra];
    return all.length === 0 ? '' : ` GROUP BY ${all.join(', ')}`;
  };
  const magnitudeOf = (index: number): string => `abs(TRY_CAST(${col(`a${index}_0`)} AS DOUBLE))`;
  const hasMagnitude = (term: Term): boolean => summingAggregates.has(term.fn) || weighsRows(term);

  // Tables whose units are equal on every row have the same people: the first of them is counted
  // (and sketched) for all.
  const sameUnit = (a: string, b: string): boolean => units.get(a) === units.get(b) || (branch.source.sameUnits ?? []).some(([x, y]) => (x === a && y === b) || (x === b && y === a));
  const canonical = tables.map((table) => {
    // Transitively: a table equal to one that is equal to another.
    const reach = new Set([table]);
    for (let grown = true; grown; ) {
      grown = false;
      for (const other of tables) {
        if (reach.has(other) || ![...reach].some((known) => sameUnit(known, other))) continue;
        reach.add(other);
        grown = true;
      }
    }
    return tables.findIndex((other) => reach.has(other));
  });

  // Per table: one row per (group, person) — their id, rows, and per term their rows reaching it,
  // whether their value is non-zero and their share — kept until the sketches are read, so the
  // costly aggregation over people runs once; then the statistics per group. The statistics
  // tables name columns per term; raw names them per table and term.
  const stats: CompiledTermStats[] = [];
  /** Per term, the person table's column of their rows reaching it (the same for every table). */
  const personRows: string[] = [];
  const rawStats: string[] = [];
  const statTables = new Map<number, string>();
  tables.forEach((_table, t) => {
    const c = canonical[t] as number;
    const from = col(`st${c}`);
    rawStats.push(`${from}.${col('pop')} AS ${col(`pop${t}`)}`, `${from}.${col('rall')} AS ${col(`rall${t}`)}`);
    const personItems = [...groups, `md5_number_lower(${sqlString(options.salt)} || CAST(${col(`u${t}`)} AS VARCHAR)) AS ${col('id')}`, `count(*) AS ${col('rall')}`];
    const groupItems = [...groups, `count(*) AS ${col('pop')}`, `sum(${col('rall')}) AS ${col('rall')}`];
    const both = (inStats: string, item: string, inRaw: string): void => {
      groupItems.push(`${item} AS ${col(inStats)}`);
      rawStats.push(`${from}.${col(inStats)} AS ${id(inRaw)}`);
    };
    const rowsColumns = new Map<string, string>([['true', col('rall')]]);
    branch.terms.forEach((term, index) => {
      const present = presentSql(term, index);
      // A person reaches the term when some row of theirs does (r > 0); terms present on the same
      // rows share the column (every row: the person's rows).
      if (!rowsColumns.has(present)) {
        const only = term.filter === null && term.args.length === 1 ? col(`a${index}_0`) : null;
        personItems.push(`${only === null ? `count(*) FILTER (WHERE ${present})` : `count(${only})`} AS ${col(`r${index}`)}`);
        rowsColumns.set(present, col(`r${index}`));
      }
      const rowsOfTerm = rowsColumns.get(present) as string;
      personRows[index] = rowsOfTerm;
      const people = `${reservedPrefix}n${t}_${index}`;
      const rowsColumn = `${reservedPrefix}rs${t}_${index}`;
      both(`n${index}`, `count(*) FILTER (WHERE ${rowsOfTerm} > 0)`, people);
      both(`rs${index}`, `sum(${rowsOfTerm})`, rowsColumn);
      let nonZero: string | null = null;
      let top: string | null = null;
      if (term.family === 'value') {
        nonZero = `${reservedPrefix}nz${t}_${index}`;
        personItems.push(`bool_or(${nonZeroSql(term, index)}) AS ${col(`z${index}`)}`);
        both(`nz${index}`, `count(*) FILTER (WHERE ${col(`z${index}`)})`, nonZero);
      }
      let total: string | null = null;
      if (hasMagnitude(term)) {
        // A person's share: the sum of |argument| over their rows as the join gives them (a row
        // the join repeats counts each time, as it does in the value); for counts, their rows.
        top = `${reservedPrefix}top${t}_${index}`;
        total = `${reservedPrefix}tot${t}_${index}`;
        // (A sum skips NULLs: the FILTER matters only with one, or with more than one argument.)
        const where = term.filter === null && term.args.length === 1 ? '' : ` FILTER (WHERE ${present})`;
        if (summingAggregates.has(term.fn)) personItems.push(`sum(${magnitudeOf(index)})${where} AS ${col(`s${index}`)}`);
        const share = summingAggregates.has(term.fn) ? col(`s${index}`) : `CAST(${rowsOfTerm} AS DOUBLE)`;
        both(`tot${index}`, `coalesce(sum(${share}), 0)`, total);
        both(`top${index}`, `max(${share}, 2)`, top);
      }
      stats.push({ table: t, term: index, people, nonZero, total, top, rows: rowsColumn });
    });
    if (c !== t) return;
    const statTable = id(`${p}st${t}`);
    statTables.set(t, statTable);
    setup.push(
      `CREATE TEMP TABLE ${id(`${p}person${t}`)} AS SELECT ${personItems.join(', ')} FROM ${rows} WHERE ${col(`u${t}`)} IS NOT NULL${groupBy([col(`u${t}`)])}`,
      `CREATE TEMP TABLE ${statTable} AS SELECT ${groupItems.join(', ')} FROM ${id(`${p}person${t}`)}${groupBy()}`,
    );
  });

  // The values, with SQL's meaning over a join: a row the join repeats counts each time, as it
  // does in every person's share above and in their rows (the r sets).
  const valueItems = branch.terms.map((term, index) => `${termSql(term, index)} AS ${col(`v${index}`)}`);
  const same = (left: string, right: string): string => (groups.length === 0 ? 'true' : groups.map((group) => `${left}.${group} IS NOT DISTINCT FROM ${right}.${group}`).join(' AND '));
  const agg = col('agg');
  const aggSql = `(SELECT ${[...groups, ...valueItems].join(', ')} FROM ${rows}${groupBy()}) AS ${agg}`;
  const statJoins = [...statTables].map(([t, table]) => ` JOIN ${table} AS ${col(`st${t}`)} ON ${same(agg, col(`st${t}`))}`).join('');
  const keep = [...statTables.keys()].map((t) => `${col(`st${t}`)}.${col('pop')} >= ${options.k}`).join(' AND ');
  const order = groups.length === 0 ? '' : `ORDER BY ${groups.map((group) => `${agg}.${group} NULLS LAST`).join(', ')}`;
  const aggColumns = [
    ...[...groups, ...branch.terms.map((_term, index) => col(`v${index}`))].map((column) => `${agg}.${column}`),
    // Set by the worker for each withheld term (guard.ts), with the term's value set to NULL.
    ...branch.terms.map((_term, index) => `false AS ${col(`w${index}`)}`),
  ];
  setup.push(`CREATE TEMP TABLE ${raw} AS SELECT row_number() OVER (${order}) AS ${col('row')}, ${[...aggColumns, ...rawStats].join(', ')} FROM ${aggSql}${statJoins} WHERE ${keep}`);

  // Sketches, of the sets the worker asks for (sets equal to the population reuse its sketch).
  const sketch = sketchSql(col('x'), options.width);
  const sketches = (sets: readonly SketchSet[]): string => {
    const selects: string[] = [];
    tables.forEach((_table, t) => {
      if (canonical[t] !== t) return;
      // The sets of every table with these people, each once, with the tables that asked for it.
      const asked = new Map<string, { term: number | null; kind: SketchSet['kind']; tables: number[] }>();
      for (const set of sets) {
        if (canonical[set.table] !== t) continue;
        const key = `${set.term ?? -1}:${set.kind}`;
        const entry = asked.get(key) ?? { term: set.term, kind: set.kind, tables: [] };
        if (!entry.tables.includes(set.table)) entry.tables.push(set.table);
        asked.set(key, entry);
      }
      const wanted = [...asked.values()];
      if (wanted.length === 0) return;
      // A person with their number of rows: two terms over the same people whose rows differ for
      // one person (a visit dropped by a filter) differ in these ids.
      const withRows = (rowsColumn: string): string => `xor(${col('id')}, (CAST(${rowsColumn} AS UBIGINT) % CAST(4294967296 AS UBIGINT)) * CAST(2654435761 AS UBIGINT))`;
      const entries = wanted.map((set, index) => {
        const rowsOfTerm = set.term === null ? col('rall') : (personRows[set.term] as string);
        const flag = set.term === null ? 'true' : set.kind === 'z' ? col(`z${set.term}`) : `${rowsOfTerm} > 0`;
        const x = set.kind === 'r' ? withRows(rowsOfTerm) : col('id');
        return `{'s': ${index}, 'x': CASE WHEN ${flag} THEN ${x} END}`;
      });
      const pp = col('pp');
      const r = col('r');
      const people = `SELECT ${r}.${col('row')}, ${pp}.* FROM ${id(`${p}person${t}`)} AS ${pp} JOIN ${raw} AS ${r} ON ${same(pp, r)}`;
      const placed = `SELECT ${col('row')}, ${col('e')}.s AS ${col('s')}, ${col('e')}.x AS ${col('x')} FROM (SELECT ${col('row')}, unnest([${entries.join(', ')}]) AS ${col('e')} FROM (${people})) WHERE ${col('e')}.x IS NOT NULL`;
      const cell = `CASE ${col('sub')} WHEN 0 THEN ${sketch.cells[0]} WHEN 1 THEN ${sketch.cells[1]} ELSE ${sketch.cells[2]} END`;
      const setTerm = `CASE ${col('s')} ${wanted.map((set, index) => `WHEN ${index} THEN ${set.term ?? -1}`).join(' ')} END`;
      const setKind = `CASE ${col('s')} ${wanted.map((set, index) => `WHEN ${index} THEN '${set.kind}'`).join(' ')} END`;
      const setTables = `CASE ${col('s')} ${wanted.map((set, index) => `WHEN ${index} THEN [${set.tables.join(', ')}]`).join(' ')} END`;
      selects.push(
        `SELECT ${col('row')} AS row, ${setTerm} AS term, unnest(${setTables}) AS tbl, ${setKind} AS kind, cell, count, ids, checks FROM (` +
          `SELECT ${col('row')}, ${col('s')}, ${cell} AS cell, count(*) AS count, CAST(sum(${col('x')}) AS VARCHAR) AS ids, CAST(sum(${sketch.check}) AS VARCHAR) AS checks ` +
          `FROM (${placed}) CROSS JOIN (SELECT unnest([0, 1, 2]) AS ${col('sub')}) GROUP BY ALL)`,
      );
    });
    return selects.length === 0 ? `SELECT NULL AS row WHERE false` : selects.join(' UNION ALL ');
  };

  const select = (names: readonly string[]): string => {
    // A value computed from a withheld aggregate is withheld as a whole (coalesce could not hide it).
    const withheldIf = (terms: readonly number[]): string => terms.map((term) => col(`w${term}`)).join(' OR ');
    const items = branch.items.map(
      (item, index) => `${item.expr.terms.length === 0 ? item.expr.sql : `CASE WHEN ${withheldIf(item.expr.terms)} THEN NULL ELSE ${item.expr.sql} END`} AS ${id(names[index] ?? item.name)}`,
    );
    branch.order.forEach((expr, index) => items.push(`${expr.terms.length === 0 ? expr.sql : `CASE WHEN ${withheldIf(expr.terms)} THEN NULL ELSE ${expr.sql} END`} AS ${col(`o${index}`)}`));
    // How many of the row's values are withheld: said to the runner, and derivable from the output.
    const withheld = branch.items.map((item) => (item.expr.terms.length === 0 ? '0' : `(CASE WHEN ${withheldIf(item.expr.terms)} THEN 1 ELSE 0 END)`));
    items.push(`${withheld.length === 0 ? '0' : withheld.join(' + ')} AS ${col('withheld')}`);
    const having = branch.having === null ? '' : ` WHERE coalesce(${branch.having.terms.length === 0 ? branch.having.sql : `CASE WHEN ${withheldIf(branch.having.terms)} THEN NULL ELSE ${branch.having.sql} END`}, false)`;
    return `SELECT ${items.join(', ')} FROM ${raw}${having}`;
  };
  const population = `${branch.source.sql} WHERE ${branch.where?.sql ?? 'true'} GROUP BY ${branch.groups.map((group) => group.sql).join(', ')}`;
  const release = [...statTables.keys()].map((t) => `DROP TABLE IF EXISTS ${id(`${p}person${t}`)}`);
  return { setup, raw, tables, terms: branch.terms, groupCount: groups.length, stats, sketches, select, population, release };
}

/** Compiles an aggregate cell; `post` cells run as checked and are not compiled here. */
export function compileCell(cell: Extract<AlgebraCell, { kind: 'aggregate' }>, options: CompileOptions): CompiledCell {
  const branches = cell.branches.map((branch, index) => compileBranch(branch, index, options));
  const cleanup = cell.branches.flatMap((branch, index) => {
    const p = `${options.prefix}b${index}_`;
    return [`DROP VIEW IF EXISTS ${id(`${p}rows`)}`, `DROP TABLE IF EXISTS ${id(`${p}raw`)}`, ...branch.protectedTables.flatMap((_t, t) => [`DROP TABLE IF EXISTS ${id(`${p}st${t}`)}`, `DROP TABLE IF EXISTS ${id(`${p}person${t}`)}`])];
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
