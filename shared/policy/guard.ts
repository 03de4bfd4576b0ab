// The release decision for one compiled aggregate cell, made in the worker before any value
// leaves it. Pure: the worker reads the statistics and sketches compile.ts produced and hands them
// here; the answer is the set of (row, term) pairs to withhold. The properties it keeps:
//
// 1. k over contributors: a released term has, for every protected table, at least k people
//    whose rows reach it with the argument present, and for sums and moments at least k people
//    with a non-zero argument — so a value is never carried by fewer than k people.
// 2. Dominance: for sums and averages, the two largest per-person contributions hold at most
//    `dominance.percent`% of the total, and the rest is at least `pPercent`% of the largest.
// 3. Differencing: no released set of people (per table, per term) differs from another released
//    set — in this run or in the home's ledger of earlier runs of the room — by 1..k−1 people, and
//    no released set minus the sum of a family of released parts (the rows of one term) does.
//    Decided greedily in a fixed order (branches, rows by group keys, terms left to right), so
//    the outcome depends on which sets exist, never on a value inside a withheld one.
import { baseFamily, type DifferencingLedger } from './differencing.js';
import { type Sketch } from './sketch.js';

export interface DominanceRule {
  /** The n largest contributors… */
  readonly n: number;
  /** …may hold at most this share (percent) of the total. */
  readonly percent: number;
  /** p% rule: the total less the two largest must be at least this share (percent) of the largest. */
  readonly pPercent: number;
}

export const defaultDominance: DominanceRule = { n: 2, percent: 90, pPercent: 10 };

/** One table's statistics for one term of one row. */
export interface TermTableStats {
  readonly people: number;
  readonly nonZero: number | null;
  readonly total: number | null;
  /** The largest per-person totals, largest first. */
  readonly top: readonly number[] | null;
}

export interface CandidateRow {
  readonly row: number;
  /** The group's key values (a stable text): two aggregates of one group may hold the same people. */
  readonly key: string;
  /** [table][term] */
  readonly stats: readonly (readonly TermTableStats[])[];
}

export interface BranchCandidates {
  /** Protected tables, by index. */
  readonly tables: readonly string[];
  readonly termCount: number;
  readonly rows: readonly CandidateRow[];
  /** Sketch of (row, term, table, kind): 'n' present, 'r' present with row counts, 'z' non-zero. */
  readonly sketch: (row: number, term: number, table: number, kind: 'n' | 'r' | 'z') => Sketch | undefined;
  /** A family name prefix unique to this branch within the run: `<population>:<cell>:<branch>`. */
  readonly family: string;
  /** For each term, the lineage columns of its argument (value terms), for the non-zero sets. */
  readonly lineage: readonly (readonly string[])[];
}

/**
 * What a set holds, which decides what it is compared with: `n` the people present, `r` the
 * people present with their number of rows, `z.<lineage>` the people with a non-zero value of a
 * measure computed from that room-table column. Sets are compared only with sets of the same key:
 * a count's difference reveals a count, a sum's difference the values of one column.
 */
export type SetKey = string;

/** The ledger's name for a table's sets of one key. */
export const setTable = (table: string, key: SetKey): string => `${table}#${key}`;

/** The key a family name ends with (`…:<key>`, before any `@<row>`). */
export const setKeyOf = (family: string): SetKey => {
  const base = baseFamily(family);
  return base.slice(base.lastIndexOf(':') + 1);
};

/** A short, stable name for a lineage column (FNV-1a, 32 bits): a collision only merges comparisons. */
export function lineageKey(column: string): SetKey {
  let hash = 0x811c9dc5;
  for (let index = 0; index < column.length; index++) {
    hash ^= column.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `z.${hash.toString(16).padStart(8, '0')}`;
}

/** A stable 64-bit name for a group's key values (two FNV-1a hashes with different seeds). */
export function rowKey(values: string): string {
  return `${lineageKey(values).slice(2)}${lineageKey(`\u0001${values}`).slice(2)}`;
}

/** A stable name for a population (one FROM, WHERE and GROUP BY), for family names. */
export function populationKey(definition: string): string {
  return lineageKey(definition).slice(2);
}

/** Whether the two largest contributions dominate the total. */
export function dominated(total: number, top: readonly number[], rule: DominanceRule): boolean {
  if (!(total > 0)) return false;
  const largest = top.slice(0, rule.n).reduce((sum, value) => sum + value, 0);
  if (largest > (rule.percent / 100) * total) return true;
  const first = top[0] ?? 0;
  const second = top[1] ?? 0;
  return total - first - second < (rule.pPercent / 100) * first;
}

/** Property 1 and 2 for one term of one row: whether its own statistics allow release. */
function passesCounts(stats: readonly (readonly TermTableStats[])[], term: number, k: number, rule: DominanceRule): boolean {
  for (const table of stats) {
    const s = table[term];
    if (s === undefined) return false;
    if (s.people < k) return false;
    if (s.nonZero !== null && s.nonZero < k) return false;
    if (s.total !== null && s.top !== null && dominated(s.total, s.top, rule)) return false;
  }
  return true;
}

/**
 * Decides one branch: returns the withheld (row, term) pairs as "row:term" keys. Released sets
 * are recorded in `ledger` (which the worker then returns for the home to keep).
 */
export function decideBranch(branch: BranchCandidates, k: number, rule: DominanceRule, ledger: DifferencingLedger): Set<string> {
  const withheld = new Set<string>();
  const keysOf = (term: number): { key: SetKey; sketch: 'n' | 'r' | 'z' }[] => {
    const keys: { key: SetKey; sketch: 'n' | 'r' | 'z' }[] = [
      { key: 'n', sketch: 'n' },
      { key: 'r', sketch: 'r' },
    ];
    if ((branch.rows[0]?.stats[0]?.[term]?.nonZero ?? null) !== null) {
      const lineage = branch.lineage[term] ?? [];
      for (const column of lineage.length === 0 ? ['(constant)'] : lineage) keys.push({ key: lineageKey(column), sketch: 'z' });
    }
    return keys;
  };
  const familyOf = (term: number, key: SetKey): string => `${branch.family}:${term}:${key}`;
  const releasedSets = new Map<string, { table: string; family: string; sketch: Sketch }[]>();

  for (const row of branch.rows) {
    for (let term = 0; term < branch.termCount; term++) {
      const key = `${row.row}:${term}`;
      if (!passesCounts(row.stats, term, k, rule)) {
        withheld.add(key);
        continue;
      }
      const sets: { table: string; family: string; sketch: Sketch }[] = [];
      let safe = true;
      for (let t = 0; t < branch.tables.length && safe; t++) {
        for (const { key: setKey, sketch: kind } of keysOf(term)) {
          const sketch = branch.sketch(row.row, term, t, kind);
          if (sketch === undefined) {
            safe = false;
            break;
          }
          const set = { table: setTable(branch.tables[t] as string, setKey), family: `${familyOf(term, setKey)}@${rowKey(row.key)}`, sketch };
          if (!ledger.mayRelease(set.table, set.family, set.sketch)) {
            safe = false;
            break;
          }
          sets.push(set);
        }
      }
      if (!safe) {
        withheld.add(key);
        continue;
      }
      for (const set of sets) ledger.release(set);
      releasedSets.set(key, sets);
    }
  }

  // Complementary suppression: a family (one term's rows) whose released parts, subtracted from
  // some released total, leave 1..k−1 people gives a withheld or removed part away: withhold the
  // smallest released part too, until no family leaks.
  for (let term = 0; term < branch.termCount; term++) {
    for (let t = 0; t < branch.tables.length; t++) {
      // Row-count sets (r) do not add up across groups (a person split over two groups is two
      // different ids), so only people (n) and non-zero (z) families are checked as families.
      for (const { key: setKey } of keysOf(term).filter((entry) => entry.sketch !== 'r')) {
        const family = familyOf(term, setKey);
        const table = setTable(branch.tables[t] as string, setKey);
        for (let guard = 0; guard < branch.rows.length && ledger.familyLeaks(table, family); guard++) {
          let smallest: { key: string; size: number } | null = null;
          for (const row of branch.rows) {
            const key = `${row.row}:${term}`;
            const sets = releasedSets.get(key);
            const size = sets?.find((set) => set.table === table && set.family.startsWith(`${family}@`))?.sketch.size;
            if (size !== undefined && (smallest === null || size < smallest.size)) smallest = { key, size };
          }
          if (smallest === null) break;
          for (const set of releasedSets.get(smallest.key) ?? []) ledger.withdraw(set);
          releasedSets.delete(smallest.key);
          withheld.add(smallest.key);
        }
      }
    }
  }
  return withheld;
}
