// The differencing ledger: which contributor sets have left the worker (in earlier runs of this
// room in this home, and so far in this run), and whether one more may. The guard (guard.ts) asks
// it greedily, in a fixed order, about each term's contributor set per protected table.
//
// Words: a "set" is a set of people of one table, known by its sketch (sketch.ts). A "family" is
// the sets of one term column of one output branch: the parts of a GROUP BY, whose sum an attacker
// can compute from released values. "Near" means 1..k−1 people have a non-zero net multiplicity in
// the difference (for two sets: the symmetric difference).
//
// Guarantees, for k the room's minimum group size, among the prior sets and the sets released
// through mayRelease → release (withdraw only removes sets, which keeps every property):
//   P1 Pairs. No two released sets of one table are near.
//   P2 Totals and parts. No released set T is near ΣF for a family F of its table that T is not in:
//      mayRelease checks T against every family released before it, and familyLeaks checks a
//      finished family against every set released before it. The guard must call familyLeaks once
//      a family is complete and withhold (withdraw) parts while it answers true.
//   P3 Two breakdowns of one population. No two families F, G of one table have ΣF near ΣG
//      (familyLeaks), e.g. counts by age band with a band removed, and counts by plan.
//   P4 Same people, another place. A set equal to a released set is withheld unless both come
//      from the same population (the family's `<population>:` prefix: one FROM, WHERE and GROUP
//      BY) and the same row (`@<row>`: the group's key values), i.e. two aggregates of one group.
//      Otherwise "equal → released, one apart → withheld" would tell whether one person is in a
//      set (a filter, or another table's rows, that excludes exactly them), though no value is given away.
// Every "not near" verdict rests on a lower bound (sketch.ts) that is sound unless peeling accepted
// a cell holding two or more people, which needs a 64-bit check to agree by chance: with person ids
// that are uniformly random 64-bit values (salted hashes), about 2^-64 per cell tried, so at most
// 2^-60 per comparison. (idCheck is a fixed public mixing function, not a keyed MAC: the bound
// assumes nobody can choose ids, which the per-room secret salt provides.)
// Not covered: other combinations of released sets (A − B − C across unrelated families, unions
// of parts of different families), sets of different tables related through joins, closeness of
// values (only sets of people are compared), and what other homes released.
//
// Speed: distinct sets that differ in size by k or more are k or more people apart, so pairs are
// looked up by size (binary search over sets sorted by size). Every comparison first bounds the
// difference from the cells' counts alone (no BigInt) and peels only when that cannot decide.

import { CleanroomError } from '../errors.js';
import { addSketches, emptySketch, encodeSketch, isNear, isSame, type Sketch, sketchWidth } from './sketch.js';

/** The population a family belongs to: its name up to the first `:` (earlier runs' `<run id>/` removed). */
export const populationOf = (family: string): string => {
  const own = baseFamily(family).slice(family.indexOf('/') + 1);
  return own.slice(0, Math.max(0, own.indexOf(':')));
};

export interface ReleasedSet {
  /** The protected table (an asset name) whose people the set holds. */
  readonly table: string;
  /** The family the set is a part of; unique per run (the ledger qualifies earlier runs' families). */
  readonly family: string;
  readonly sketch: Sketch;
}

interface Entry {
  readonly set: ReleasedSet;
  /** The family's key in this ledger: earlier runs' families and this run's never share one. */
  readonly familyKey: string;
}

interface FamilySum {
  sum: Sketch;
  members: number;
}

interface TableLedger {
  /** Every released set of the table, sorted by size. */
  readonly bySize: Entry[];
  readonly families: Map<string, FamilySum>;
}

/** A family name without its row (`<family>@<row>`): the parts of one family are its rows. */
export const baseFamily = (family: string): string => {
  const at = family.indexOf('@');
  return at < 0 ? family : family.slice(0, at);
};
/** The row a set belongs to (after `@`), or '' when its family name has none. */
export const rowOf = (family: string): string => {
  const at = family.indexOf('@');
  return at < 0 ? '' : family.slice(at + 1);
};
const priorFamily = (family: string): string => `prior\u0000${baseFamily(family)}`;
const runFamily = (family: string): string => `run\u0000${baseFamily(family)}`;

/** Index of the first entry whose size is at least `size`. */
function firstAtLeast(entries: readonly Entry[], size: number): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((entries[middle] as Entry).set.sketch.size < size) low = middle + 1;
    else high = middle;
  }
  return low;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

export class DifferencingLedger {
  readonly k: number;
  /** The width every sketch must have: sketchWidth(k). */
  readonly width: number;
  readonly #tables = new Map<string, TableLedger>();
  readonly #thisRun: Entry[] = [];

  /** `prior`: the sets released by earlier runs of the room in this home, each run's families already kept apart by name. */
  constructor(k: number, prior: readonly ReleasedSet[]) {
    if (!Number.isSafeInteger(k) || k < 1) throw new CleanroomError('BAD_REQUEST', 'k must be a whole number of at least 1.');
    this.k = k;
    this.width = sketchWidth(k);
    for (const set of prior) this.#record({ set: this.#checked(set), familyKey: priorFamily(set.family) });
  }

  /**
   * Whether releasing `sketch` (a set of people of `table`, a part of `family`) is safe: no released
   * set of the table is near it (P1), and it is near no released family of the table but its own (P2).
   */
  mayRelease(table: string, family: string, sketch: Sketch): boolean {
    this.#checked({ table, family, sketch });
    const ledger = this.#tables.get(table);
    if (ledger === undefined) return true;
    const { bySize } = ledger;
    for (let index = firstAtLeast(bySize, sketch.size - this.k + 1); index < bySize.length; index++) {
      const entry = bySize[index] as Entry;
      const other = entry.set.sketch;
      if (other.size >= sketch.size + this.k) break;
      if (isNear(other, sketch, this.#nearFor(table))) return false;
      const samePlace = populationOf(entry.set.family) === populationOf(family) && rowOf(entry.set.family) === rowOf(family);
      if (other.size === sketch.size && !samePlace && isSame(other, sketch)) return false;
    }
    const own = runFamily(family);
    for (const [key, other] of ledger.families) {
      // A one-set family's sum is that set, already compared above.
      if (key === own || other.members < 2) continue;
      if (isNear(other.sum, sketch, this.#nearFor(table))) return false;
    }
    return true;
  }

  /** Records a set as released by this run. */
  release(set: ReleasedSet): void {
    const entry: Entry = { set: this.#checked(set), familyKey: runFamily(set.family) };
    this.#record(entry);
    this.#thisRun.push(entry);
  }

  /** Un-records a set released earlier in this run (before anything left the worker): the same object, or one equal to it. */
  withdraw(set: ReleasedSet): void {
    let at = this.#thisRun.findIndex((entry) => entry.set === set);
    if (at === -1) {
      const bytes = encodeSketch(set.sketch);
      at = this.#thisRun.findIndex((entry) => entry.set.table === set.table && entry.set.family === set.family && sameBytes(encodeSketch(entry.set.sketch), bytes));
    }
    const entry = this.#thisRun[at];
    if (entry === undefined) throw new CleanroomError('INTERNAL', 'Internal error: a set withdrawn from the differencing ledger was not released in this run.');
    this.#thisRun.splice(at, 1);
    const ledger = this.#tables.get(entry.set.table) as TableLedger;
    ledger.bySize.splice(ledger.bySize.indexOf(entry), 1);
    const family = ledger.families.get(entry.familyKey) as FamilySum;
    family.members -= 1;
    if (family.members === 0) ledger.families.delete(entry.familyKey);
    else family.sum = addSketches(family.sum, entry.set.sketch, -1);
  }

  /**
   * Whether this run's `family` of `table`, as released so far, lets a withheld part be recovered
   * by subtraction: some released set of the table outside the family (P2), or the sum of another
   * family (P3), is near the family's sum. Ask once the family is complete.
   */
  familyLeaks(table: string, family: string): boolean {
    const ledger = this.#tables.get(table);
    const key = runFamily(family);
    const mine = ledger?.families.get(key);
    if (ledger === undefined || mine === undefined) return false;
    for (const entry of ledger.bySize) {
      if (entry.familyKey !== key && isNear(entry.set.sketch, mine.sum, this.#nearFor(table))) return true;
    }
    for (const [otherKey, other] of ledger.families) {
      // One-set families were compared as sets above.
      if (otherKey !== key && other.members >= 2 && isNear(other.sum, mine.sum, this.#nearFor(table))) return true;
    }
    return false;
  }

  /** The sets released in this run, in release order, to be stored in the ledger. */
  releasedThisRun(): ReleasedSet[] {
    return this.#thisRun.map((entry) => entry.set);
  }

  /**
   * How many differing elements still count as near. A set of (person, row count) elements (a
   * table key ending `#r`) holds a person whose row count changed as two elements, one on each
   * side, so 1..k−1 people are up to 2k−2 elements.
   */
  #nearFor(table: string): number {
    return table.endsWith('#r') ? 2 * this.k - 1 : this.k;
  }

  #checked(set: ReleasedSet): ReleasedSet {
    if (typeof set.table !== 'string' || set.table === '' || typeof set.family !== 'string' || set.family === '') {
      throw new CleanroomError('BAD_REQUEST', 'A released set needs a table and a family.');
    }
    if (set.sketch.width !== this.width) {
      throw new CleanroomError('BAD_REQUEST', `A released set's sketch has width ${set.sketch.width}; this room's k = ${this.k} needs ${this.width}.`);
    }
    // Pair bounds (sizes, two people per stuck cell) hold only for sets, never for sums of sets.
    if (!set.sketch.distinct) throw new CleanroomError('BAD_REQUEST', 'A released set must be sketched as a set of distinct people.');
    return set;
  }

  #record(entry: Entry): void {
    let ledger = this.#tables.get(entry.set.table);
    if (ledger === undefined) {
      ledger = { bySize: [], families: new Map() };
      this.#tables.set(entry.set.table, ledger);
    }
    // After every set of the same size: release order is kept among equals.
    ledger.bySize.splice(firstAtLeast(ledger.bySize, entry.set.sketch.size + 1), 0, entry);
    const family = ledger.families.get(entry.familyKey);
    if (family === undefined) ledger.families.set(entry.familyKey, { sum: addSketches(emptySketch(this.width), entry.set.sketch, 1), members: 1 });
    else {
      family.sum = addSketches(family.sum, entry.set.sketch, 1);
      family.members += 1;
    }
  }
}
