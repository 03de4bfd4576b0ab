// An independent oracle for what an aggregate-mode run returns (issue 17: rows below k removed,
// withheld cells, nonzero contributors, dominance, differencing, complementary suppression). It
// never calls shared/policy: every notebook comes with a hand-written "reference form" of each of
// its SQL cells (test/support/legit-notebooks.ts), from which this file builds plain DuckDB SQL that
// returns, per output row, the notebook's own select-list values plus, per protected table, the
// people behind the row and, per aggregate term, the rows that reach the term. The release
// decisions are then taken here, in TypeScript, exactly in the order the rules are written:
//
//   1. A row is removed when, for any protected table the branch reads, fewer than k distinct
//      people are behind it. Removed rows are counted nowhere.
//   2. Per aggregate term t and protected table p: nonnull(t,p) = people with a row reaching t
//      (after WHERE, joins, t's FILTER) whose argument(s) are all non-NULL (count(*): every row);
//      for value aggregates nonzero(t,p) = people with such a row where some argument is non-zero.
//      t is withheld if |nonnull| < k, or (value aggregate) |nonzero| < k, for any p.
//   3. Dominance, for sum/avg only: per person of p, the sum of |argument| over their rows; t is
//      withheld if the 2 largest hold more than 90% of the total, or total − largest − second is
//      less than 10% of the largest (p% rule).
//   4. Differencing, greedily: outputs in order, branches in order, rows sorted by their group keys
//      (DuckDB's ORDER BY, NULLs last), terms left to right (order of first appearance in the select
//      list). Every term that passes 1–3 has, per protected table p, contributor sets of several
//      keys, each compared only with sets of the same table and key: n = the nonnull people;
//      r = the nonnull people each with their number of rows reaching the term ("person#rows";
//      a person whose row count changed differs by two elements, so near is 1..2k−2 elements,
//      for two sets whose sizes differ by less than k);
//      z.<column> = the nonzero people, once per room-table column the argument is computed from
//      (value aggregates only). "Near" = 1..k−1 people with a non-zero net count in a difference
//      (for two sets, their symmetric difference). A term is withheld if any of its sets is near
//      a set already released in the run (pairs), or equal to one released from another
//      population (another FROM, WHERE or GROUP BY), or near the sum of the released parts of
//      another family with 2 or more parts (a total after its parts). A family is one term
//      column of one branch, per table and key (its rows' sets).
//   5. Complementary, once a branch is decided: for each term (left to right), table, key
//      (n, then each z; r sets do not add up across groups): while the family's released parts, summed, are near a released set
//      outside the family or the sum of another released family (2+ parts), the family's smallest
//      released part (by that set's size; ties: the first in row order) is withheld.
//   6. An output cell is NULL when any term it uses is withheld; HAVING (written as a WHERE over the
//      output's column names), ORDER BY and LIMIT are applied afterwards, to released values.
//      suppressedRows = withheld cells among the rows finally returned.
//
// Cells that read earlier outputs (post-processing) run as written over the released tables.
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { parseNotebook } from '../../shared/notebook.js';

// ---- Reference forms ---------------------------------------------------------------------------

/** One aggregate call: rendered as fn([DISTINCT] args | *) [FILTER (WHERE filter)]. */
export interface ReferenceTerm {
  readonly fn: string;
  /** Row-level argument expressions; none for count(*). */
  readonly args?: readonly string[];
  readonly distinct?: boolean;
  /** The FILTER's predicate, row level. */
  readonly filter?: string;
  /**
   * Value aggregates: the room-table columns the argument is computed from (`table.column`;
   * `table.rows` for a per-person count of rows). Nonzero sets are compared per lineage column.
   */
  readonly lineage?: readonly string[];
}

/** One SELECT that aggregates room tables (one branch of a UNION ALL). */
export interface ReferenceBranch {
  /** CTE list (without the WITH keyword); rewritten by hand to carry the privacy units along. */
  readonly with?: string;
  /** The notebook's select-list items, each aggregate replaced by `{i}` (the index into `terms`). */
  readonly select: readonly string[];
  readonly terms: readonly ReferenceTerm[];
  readonly from: string;
  readonly where?: string;
  /** Group key expressions, in the notebook's GROUP BY order; none for a single total row. */
  readonly groupBy?: readonly string[];
  /** Each protected table the branch reads → SQL of that table's privacy unit in the FROM's rows. */
  readonly units: Readonly<Record<string, string>>;
}

export type ReferenceOutput =
  | {
      readonly kind: 'aggregate';
      readonly branches: readonly ReferenceBranch[];
      /** Applied to the released rows, over the output's column names: `WHERE …` (the HAVING), `ORDER BY …`, `LIMIT …`. */
      readonly tail?: string;
    }
  | { readonly kind: 'post'; readonly sql: string };

export interface ReferencePolicy {
  readonly k: number;
  /** (n, share) dominance: the n largest contributors may hold at most `share` of the total. */
  readonly dominanceN: number;
  readonly dominanceShare: number;
  /** p% rule: total − largest − second must be at least p × largest. */
  readonly pShare: number;
}

export const defaultReferencePolicy = (k: number): ReferencePolicy => ({ k, dominanceN: 2, dominanceShare: 0.9, pShare: 0.1 });

export interface TextTable {
  readonly columns: string[];
  readonly rows: (string | null)[][];
}

export interface ExpectedOutput extends TextTable {
  readonly name: string;
  /** Whether the output's row order is fixed (an ORDER BY); otherwise compare as sets. */
  readonly ordered: boolean;
  readonly suppressedRows: number;
  /** Per returned row and column: why the value is withheld, or null. */
  readonly why: (string | null)[][];
  /** Rows removed for fewer than k people (before the tail): for summaries only, never returned by a run. */
  readonly removedRows: number;
  /** The oracle's self-check: the cell as written in plain DuckDB, and the reference form unsuppressed. */
  readonly check: { readonly plain: TextTable; readonly unsuppressed: TextTable } | null;
}

// ---- Aggregates as the grammar knows them ------------------------------------------------------

const countFunctions = new Set(['count']);
const summingFunctions = new Set(['sum', 'avg', 'mean']);
const valueFunctions = new Set([
  'sum', 'avg', 'mean', 'stddev', 'stddev_samp', 'stddev_pop', 'variance', 'var_samp', 'var_pop',
  'corr', 'covar_pop', 'covar_samp', 'regr_avgx', 'regr_avgy', 'regr_count', 'regr_intercept', 'regr_r2', 'regr_slope',
  'regr_sxx', 'regr_sxy', 'regr_syy',
]);

function termFamily(term: ReferenceTerm): 'count' | 'value' {
  if (countFunctions.has(term.fn)) return 'count';
  if (valueFunctions.has(term.fn)) return 'value';
  throw new Error(`reference: ${term.fn} is not an aggregate of the grammar`);
}

/** The keys of a term's nonzero sets: one per lineage column (value aggregates only). */
function zKeys(term: ReferenceTerm): string[] {
  if (termFamily(term) !== 'value') return [];
  if (term.lineage === undefined) throw new Error(`reference: ${termSql(term)} needs its lineage`);
  return (term.lineage.length === 0 ? ['(constant)'] : term.lineage).map((column) => `z.${column}`);
}

export function termSql(term: ReferenceTerm): string {
  const args = term.args ?? [];
  const inner = args.length === 0 ? '*' : `${term.distinct === true ? 'DISTINCT ' : ''}${args.join(', ')}`;
  return `${term.fn}(${inner})${term.filter === undefined ? '' : ` FILTER (WHERE ${term.filter})`}`;
}

const placeholder = /\{(\d+)\}/g;

/** The terms each item uses, and the terms' left-to-right order (first appearance in the select list). */
function termUse(branch: ReferenceBranch): { perItem: number[][]; order: number[] } {
  const order: number[] = [];
  const perItem = branch.select.map((item) => {
    const used: number[] = [];
    for (const match of item.matchAll(placeholder)) {
      const index = Number(match[1]);
      if (branch.terms[index] === undefined) throw new Error(`reference: {${index}} names no term`);
      if (!used.includes(index)) used.push(index);
      if (!order.includes(index)) order.push(index);
    }
    return used;
  });
  if (order.length !== branch.terms.length) throw new Error('reference: a term is not used by any select item');
  return { perItem, order };
}

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** The branch as one plain SQL: the notebook's items, the sort keys, and the contributor lists. */
function branchSql(branch: ReferenceBranch, tables: readonly string[]): string {
  const items = branch.select.map((item) => item.replace(placeholder, (_, index: string) => termSql(branch.terms[Number(index)] as ReferenceTerm)));
  const keys = (branch.groupBy ?? []).map((key, index) => `${key} AS "__k${index}"`);
  const rowPeople = tables.map((table, p) => {
    const unit = branch.units[table] as string;
    return `list(DISTINCT CAST(${unit} AS VARCHAR)) FILTER (WHERE ${unit} IS NOT NULL) AS "__row_${p}"`;
  });
  const termLists = branch.terms.flatMap((term, t) => {
    const args = term.args ?? [];
    const family = termFamily(term);
    const nonnull = args.length === 0 ? 'true' : args.map((arg) => `(${arg}) IS NOT NULL`).join(' AND ');
    const nonzero = family === 'value' ? `(${nonnull}) AND (${args.map((arg) => `(${arg}) <> 0`).join(' OR ')})` : 'false';
    const magnitude = summingFunctions.has(term.fn) ? `TRY_CAST(abs(${args[0] as string}) AS DOUBLE)` : 'CAST(NULL AS DOUBLE)';
    return tables.map((table, p) => {
      const unit = branch.units[table] as string;
      const reaches = `${unit} IS NOT NULL${term.filter === undefined ? '' : ` AND (${term.filter})`}`;
      const entry = `{'u': CAST(${unit} AS VARCHAR), 'nn': coalesce(${nonnull}, false), 'nz': coalesce(${nonzero}, false), 'a': ${magnitude}}`;
      return `list(${entry}) FILTER (WHERE ${reaches}) AS "__t${t}_${p}"`;
    });
  });
  const groupBy = branch.groupBy === undefined || branch.groupBy.length === 0 ? '' : `\nGROUP BY ${branch.groupBy.join(', ')}`;
  return [
    branch.with === undefined ? '' : `WITH ${branch.with}\n`,
    `SELECT ${[...items, ...keys, ...rowPeople, ...termLists].join(',\n  ')}\nFROM ${branch.from}`,
    branch.where === undefined ? '' : `\nWHERE ${branch.where}`,
    groupBy,
  ].join('');
}

// ---- Contributors and decisions ----------------------------------------------------------------

interface ContributorEntry {
  readonly u: string;
  readonly nn: boolean;
  readonly nz: boolean;
  readonly a: number | null;
}

interface TermStats {
  readonly nonnull: Set<string>;
  /** Per person present: the number of rows that reach the term with the argument present. */
  readonly rows: Map<string, number>;
  readonly nonzero: Set<string>;
  /** Per person: sum of |argument| (summing aggregates only). */
  readonly magnitude: Map<string, number>;
}

function statsOf(entries: readonly ContributorEntry[] | null): TermStats {
  const stats: TermStats = { nonnull: new Set(), rows: new Map(), nonzero: new Set(), magnitude: new Map() };
  // Every row of the join counts, as in SQL: a row the join repeats counts each time.
  for (const entry of entries ?? []) {
    if (!entry.nn) continue;
    stats.nonnull.add(entry.u);
    stats.rows.set(entry.u, (stats.rows.get(entry.u) ?? 0) + 1);
    if (entry.nz) stats.nonzero.add(entry.u);
    stats.magnitude.set(entry.u, (stats.magnitude.get(entry.u) ?? 0) + (entry.a ?? 0));
  }
  return stats;
}

export function dominated(magnitudes: Iterable<number>, policy: ReferencePolicy): boolean {
  const sorted = [...magnitudes].sort((a, b) => b - a);
  const total = sorted.reduce((sum, value) => sum + value, 0);
  if (!(total > 0)) return false;
  const top = sorted.slice(0, policy.dominanceN).reduce((sum, value) => sum + value, 0);
  const largest = sorted[0] ?? 0;
  const second = sorted[1] ?? 0;
  return top > policy.dominanceShare * total || total - largest - second < policy.pShare * largest;
}

function symmetricDifference(a: ReadonlySet<string>, b: ReadonlySet<string>, limit: number): number {
  let count = 0;
  for (const x of a) if (!b.has(x) && ++count > limit) return count;
  for (const x of b) if (!a.has(x) && ++count > limit) return count;
  return count;
}

/** One term of one row: whether (and why) it is withheld. */
interface TermDecision {
  withheld: string | null;
}

interface BranchRow {
  readonly id: number;
  readonly removed: boolean;
  /** By term index. */
  readonly terms: Map<number, TermDecision>;
}

interface BranchResult {
  readonly branch: ReferenceBranch;
  readonly table: string;
  readonly itemNames: string[];
  readonly perItem: number[][];
  readonly rows: BranchRow[];
}

/** A contributor set that left the worker: people of one table, of one kind, part of one family. */
interface LedgerSet {
  /** `${table}#n` (nonnull), `${table}#r` (nonnull with row counts) or `${table}#z.<lineage column>` (nonzero). */
  readonly table: string;
  /** One term column of one branch of one output. */
  readonly family: string;
  /** The branch's FROM, WHERE and GROUP BY: sets of one population may be equal. */
  readonly population: string;
  readonly people: ReadonlySet<string>;
  /** Where it comes from, for messages. */
  readonly label: string;
}

/** The people behind the differing elements of two r sets ("person#rows"). */
function peopleApart(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  const people = new Set<string>();
  for (const x of a) if (!b.has(x)) people.add(x.slice(0, x.lastIndexOf('#')));
  for (const x of b) if (!a.has(x)) people.add(x.slice(0, x.lastIndexOf('#')));
  return people.size;
}

/** The number of people with a non-zero net count in Σ plus − Σ minus. */
function netPeople(plus: readonly ReadonlySet<string>[], minus: readonly ReadonlySet<string>[]): number {
  const counts = new Map<string, number>();
  for (const set of plus) for (const person of set) counts.set(person, (counts.get(person) ?? 0) + 1);
  for (const set of minus) for (const person of set) counts.set(person, (counts.get(person) ?? 0) - 1);
  let people = 0;
  for (const count of counts.values()) if (count !== 0) people += 1;
  return people;
}

/**
 * The released sets of a run, exactly (no sketches). "Near": 1..k−1 people with a non-zero net
 * count in a difference (for two sets, the symmetric difference).
 */
class ReferenceLedger {
  readonly released: LedgerSet[] = [];

  constructor(readonly k: number) {}

  /**
   * Whether a difference of `elements` is near: 1..k−1 people. An r set holds a person whose row
   * count changed as two elements (one on each side), so there it is 1..2k−2 elements.
   */
  near(elements: number, table: string): boolean {
    return elements >= 1 && elements <= (table.endsWith('#r') ? 2 * this.k - 2 : this.k - 1);
  }

  /** Released sets of a family, by family name, for one table kind. */
  families(table: string): Map<string, LedgerSet[]> {
    const families = new Map<string, LedgerSet[]>();
    for (const set of this.released) {
      if (set.table !== table) continue;
      families.set(set.family, [...(families.get(set.family) ?? []), set]);
    }
    return families;
  }

  /** Why releasing `set` would be unsafe, or null: near a released set (pairs), or near the sum of another released family of 2 or more parts (a total after its parts). */
  refuses(set: Omit<LedgerSet, 'label'>): string | null {
    for (const other of this.released) {
      if (other.table !== set.table) continue;
      // Sets whose sizes differ by k or more are k or more people apart (r sets too: a person adds
      // at most one element to each side).
      if (Math.abs(set.people.size - other.people.size) >= this.k) continue;
      const apart = symmetricDifference(set.people, other.people, 2 * this.k);
      if (this.near(apart, set.table)) return `differencing: ${apart} ${set.table.endsWith('#r') ? `elements (${peopleApart(set.people, other.people)} people)` : 'people'} of ${set.table} from ${other.label}`;
      if (apart === 0 && other.population !== set.population) return `same people as ${other.label}, another population (${set.table})`;
    }
    for (const [family, parts] of this.families(set.table)) {
      if (family === set.family || parts.length < 2) continue;
      const apart = netPeople([set.people], parts.map((part) => part.people));
      if (this.near(apart, set.table)) return `complementary: ${apart} people of ${set.table} from the sum of family ${family}`;
    }
    return null;
  }

  /** Whether a family's released parts, summed, are near a released set outside it or another family's sum (2+ parts). */
  familyLeaks(table: string, family: string): boolean {
    const families = this.families(table);
    const mine = families.get(family);
    if (mine === undefined) return false;
    const sum = mine.map((part) => part.people);
    for (const set of this.released) {
      if (set.table === table && set.family !== family && this.near(netPeople([set.people], sum), table)) return true;
    }
    for (const [other, parts] of families) {
      if (other !== family && parts.length >= 2 && this.near(netPeople(parts.map((part) => part.people), sum), table)) return true;
    }
    return false;
  }

  withdraw(sets: readonly LedgerSet[]): void {
    for (const set of sets) this.released.splice(this.released.indexOf(set), 1);
  }
}

// ---- Running ------------------------------------------------------------------------------------

export interface Reference {
  readonly connection: DuckDBConnection;
  close(): void;
}

/** A plain DuckDB over the plain rows: one view per room table. */
export async function openReference(tables: readonly { readonly name: string; readonly file: string }[]): Promise<Reference> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  for (const table of tables) {
    await connection.run(`CREATE VIEW ${quote(table.name)} AS SELECT * FROM read_parquet('${table.file.replaceAll("'", "''")}')`);
  }
  return {
    connection,
    close: () => {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

async function readText(connection: DuckDBConnection, relation: string, extra: readonly string[] = []): Promise<{ columns: string[]; rows: (string | null)[][]; extra: unknown[][] }> {
  const described = (await connection.runAndReadAll(`DESCRIBE ${relation}`)).getRowsJson().map((row) => String(row[0]));
  const columns = described.filter((name) => !extra.includes(name));
  const texts = [...columns.map((name) => `CAST(${quote(name)} AS VARCHAR)`), ...extra.map(quote)].join(', ');
  const all = (await connection.runAndReadAll(`SELECT ${texts} FROM ${relation}`)).getRowsJson();
  return {
    columns,
    rows: all.map((row) => row.slice(0, columns.length) as (string | null)[]),
    extra: all.map((row) => row.slice(columns.length)),
  };
}

/**
 * What a run of `notebookText` in aggregate mode must return, by the rules above: one expected
 * output per SQL cell, `outputs` giving each cell's reference form in order.
 */
export async function referenceRun(reference: Reference, notebookText: string, outputs: readonly ReferenceOutput[], policy: ReferencePolicy): Promise<ExpectedOutput[]> {
  const { connection } = reference;
  const notebook = parseNotebook(notebookText);
  const cells = notebook.cells.filter((cell) => cell.kind === 'sql');
  if (cells.length !== outputs.length) throw new Error(`reference: ${cells.length} SQL cells but ${outputs.length} reference outputs`);
  const made: string[] = [];
  const scratch: string[] = [];
  for (const parameter of notebook.parameters) await connection.run(`SET VARIABLE ${quote(parameter.name)} = ${parameter.value}`);
  const ledger = new ReferenceLedger(policy.k);
  const expected: ExpectedOutput[] = [];
  const k = policy.k;
  try {
    for (const [o, output] of outputs.entries()) {
      const cell = cells[o];
      if (cell === undefined) throw new Error('reference: no cell');
      const name = cell.output ?? `cell_${notebook.cells.indexOf(cell) + 1}`;
      const ordered = /\border\s+by\b/i.test(output.kind === 'post' ? output.sql : (output.tail ?? ''));
      if (output.kind === 'post') {
        await connection.run(`CREATE TEMP TABLE ${quote(name)} AS ${output.sql}`);
        made.push(name);
        const table = await readText(connection, quote(name));
        expected.push({ name, ordered, ...table, suppressedRows: 0, why: table.rows.map((row) => row.map(() => null)), removedRows: 0, check: null });
        continue;
      }

      // Per branch: the reference SQL into a table, rows numbered in the greedy order, then decided.
      const branches: BranchResult[] = [];
      for (const [b, branch] of output.branches.entries()) {
        const tables = Object.keys(branch.units);
        const table = `__ref_${o}_${b}`;
        const keyOrder = (branch.groupBy ?? []).map((_, index) => `"__k${index}"`).join(', ');
        await connection.run(`CREATE TEMP TABLE ${quote(table)} AS SELECT row_number() OVER (${keyOrder === '' ? '' : `ORDER BY ${keyOrder}`}) AS "__id", * FROM (${branchSql(branch, tables)})`);
        scratch.push(table);
        const { perItem, order } = termUse(branch);
        const described = (await connection.runAndReadAll(`DESCRIBE ${quote(table)}`)).getRowsJson().map((row) => String(row[0]));
        const itemNames = described.slice(1, 1 + branch.select.length);
        const hidden = [...tables.map((_, p) => `__row_${p}`), ...branch.terms.flatMap((_, t) => tables.map((__, p) => `__t${t}_${p}`))];
        const read = (await connection.runAndReadAll(`SELECT "__id", ${hidden.map(quote).join(', ')} FROM ${quote(table)} ORDER BY "__id"`)).getRowsJson();
        const rows: BranchRow[] = [];
        /** The sets each released (row, term) put in the ledger. */
        const releasedSets = new Map<string, LedgerSet[]>();
        const family = (t: number): string => `output ${o} branch ${b} term ${t}`;
        const population = [branch.with ?? '', branch.from, branch.where ?? 'true', (branch.groupBy ?? []).join(', ')].join(' | ').replace(/\s+/g, ' ');
        for (const raw of read) {
          const id = Number(raw[0]);
          const people = tables.map((_, p) => new Set((raw[1 + p] as string[] | null) ?? []));
          const removed = people.some((set) => set.size < k);
          const row: BranchRow = { id, removed, terms: new Map() };
          rows.push(row);
          if (removed) continue;
          for (const t of order) {
            const term = branch.terms[t] as ReferenceTerm;
            const value = termFamily(term) === 'value';
            const stats = tables.map((_, p) => statsOf(raw[1 + tables.length + t * tables.length + p] as ContributorEntry[] | null));
            let withheld: string | null = null;
            for (const [p, stat] of stats.entries()) {
              const name = tables[p] as string;
              if (stat.nonnull.size < k) withheld = `fewer than k contributors of ${name} (${stat.nonnull.size})`;
              else if (value && stat.nonzero.size < k) withheld = `fewer than k non-zero contributors of ${name} (${stat.nonzero.size})`;
              else if (summingFunctions.has(term.fn) && dominated(stat.magnitude.values(), policy)) withheld = `dominated (${name})`;
              if (withheld !== null) break;
            }
            const sets: LedgerSet[] = [];
            for (const [p, stat] of stats.entries()) {
              const keyed: [string, ReadonlySet<string>][] = [
                ['n', stat.nonnull],
                ['r', new Set([...stat.rows].map(([person, rows]) => `${person}#${rows}`))],
                ...zKeys(term).map((key): [string, ReadonlySet<string>] => [key, stat.nonzero]),
              ];
              for (const [key, set] of keyed) {
                if (withheld !== null) break;
                const candidate = { table: `${tables[p] as string}#${key}`, family: `${family(t)} ${key}`, population, people: set, label: `output ${o} branch ${b} row ${id} term ${t}` };
                withheld = ledger.refuses(candidate);
                sets.push(candidate);
              }
            }
            if (withheld === null) {
              ledger.released.push(...sets);
              releasedSets.set(`${id}:${t}`, sets);
            }
            row.terms.set(t, { withheld });
          }
        }
        // Complementary: each term's family, per table and kind, once complete.
        for (const t of order) {
          for (const name of tables) {
            // Row-count sets (r) do not add up across groups: only n and z families are checked.
            for (const key of ['n', ...zKeys(branch.terms[t] as ReferenceTerm)]) {
              const kindTable = `${name}#${key}`;
              for (let guard = 0; guard < rows.length && ledger.familyLeaks(kindTable, `${family(t)} ${key}`); guard++) {
                let smallest: { row: BranchRow; size: number } | null = null;
                for (const row of rows) {
                  const size = releasedSets.get(`${row.id}:${t}`)?.find((set) => set.table === kindTable)?.people.size;
                  if (size !== undefined && (smallest === null || size < smallest.size)) smallest = { row, size };
                }
                if (smallest === null) break;
                ledger.withdraw(releasedSets.get(`${smallest.row.id}:${t}`) ?? []);
                releasedSets.delete(`${smallest.row.id}:${t}`);
                smallest.row.terms.set(t, { withheld: `complementary: family ${family(t)} of ${kindTable}, summed, is near a released set or another family's sum` });
              }
            }
          }
        }
        branches.push({ branch, table, itemNames, perItem, rows });
      }

      // Released rows, withheld cells as NULL, then the tail over released values.
      let removedRows = 0;
      const selects = branches.map((result, b) => {
        const released = result.rows.filter((row) => !row.removed);
        removedRows += result.rows.length - released.length;
        const withheldItems = (row: BranchRow): number[] =>
          result.perItem.flatMap((terms, item) => (terms.some((t) => row.terms.get(t)?.withheld !== null) ? [item] : []));
        const names = (branches[0] as BranchResult).itemNames;
        const columns = result.itemNames.map((column, item) => {
          const ids = released.filter((row) => withheldItems(row).includes(item)).map((row) => row.id);
          const value = ids.length === 0 ? quote(column) : `CASE WHEN "__id" IN (${ids.join(', ')}) THEN NULL ELSE ${quote(column)} END`;
          return `${value} AS ${quote(names[item] as string)}`;
        });
        const counted = released.filter((row) => withheldItems(row).length > 0).map((row) => `WHEN ${row.id} THEN ${withheldItems(row).length}`);
        const count = counted.length === 0 ? '0' : `CASE "__id" ${counted.join(' ')} ELSE 0 END`;
        const where = released.length === 0 ? 'false' : `"__id" IN (${released.map((row) => row.id).join(', ')})`;
        return `SELECT ${columns.join(', ')}, ${b} AS "__branch", "__id", ${count} AS "__withheld" FROM ${quote(result.table)} WHERE ${where}`;
      });
      const full = `__full_${o}`;
      await connection.run(`CREATE TEMP TABLE ${quote(full)} AS SELECT * FROM (${selects.join('\nUNION ALL\n')}) ${output.tail ?? ''}`);
      scratch.push(full);
      const read = await readText(connection, quote(full), ['__branch', '__id', '__withheld']);
      const why = read.extra.map(([branch, id]) => {
        const result = branches[Number(branch)] as BranchResult;
        const row = result.rows.find((candidate) => candidate.id === Number(id)) as BranchRow;
        return result.perItem.map((terms) => terms.map((t) => row.terms.get(t)?.withheld ?? null).find((reason) => reason !== null) ?? null);
      });
      const suppressedRows = read.extra.reduce((sum, extra) => sum + Number(extra[2]), 0);
      await connection.run(`CREATE TEMP TABLE ${quote(name)} AS SELECT ${read.columns.map(quote).join(', ')} FROM ${quote(full)}`);
      made.push(name);

      // Self-check of the oracle: the reference form, unsuppressed, equals the cell as written.
      const unsuppressed = `__all_${o}`;
      const names = (branches[0] as BranchResult).itemNames;
      const all = branches.map((result) => `SELECT ${result.itemNames.map((column, item) => `${quote(column)} AS ${quote(names[item] as string)}`).join(', ')} FROM ${quote(result.table)}`);
      await connection.run(`CREATE TEMP TABLE ${quote(unsuppressed)} AS SELECT * FROM (${all.join('\nUNION ALL\n')}) ${output.tail ?? ''}`);
      scratch.push(unsuppressed);
      const plain = `__plain_${o}`;
      await connection.run(`CREATE TEMP TABLE ${quote(plain)} AS ${cell.source}`);
      scratch.push(plain);
      const check = { plain: await readText(connection, quote(plain)), unsuppressed: await readText(connection, quote(unsuppressed)) };

      expected.push({ name, ordered, columns: read.columns, rows: read.rows, suppressedRows, why, removedRows, check });
    }
  } finally {
    for (const table of [...scratch, ...made]) await connection.run(`DROP TABLE IF EXISTS ${quote(table)}`);
    for (const parameter of notebook.parameters) await connection.run(`RESET VARIABLE ${quote(parameter.name)}`);
  }
  return expected;
}
