// The property itself. Over one run: for every released cell (a non-NULL value in a released row),
// the people whose removal changes it (or removes its row) are none or at least k, per universe of
// people, and the value equals plain DuckDB's on D. Over all runs (one home, one ledger): for every
// pair of released count or sum cells of the same kind (same aggregate over the same kind of rows),
// the people whose removal changes their difference are none or at least k.
import { type Outcome, type Removal, indexRows, keyOf, type RunCells, sameValue } from './brute-force.js';
import { type GenCell } from './query.js';

/** 'runner-own': k or differencing over the people of the runner's own table (reported, not a leak to the runner). */
export type ViolationKind = 'k' | 'sanity' | 'differencing' | 'failure' | 'suppressed-count' | 'runner-own';

export interface Violation {
  readonly kind: ViolationKind;
  readonly cells: readonly GenCell[];
  readonly detail: string;
  /** The people whose removal changes the value (k and differencing violations). */
  readonly people?: readonly number[];
  readonly universe?: string;
}

export interface RunCheck {
  releasedCells: number;
  releasedRows: number;
  /** Released count and sum cells, for the differencing check over all runs (differencingViolations). */
  released: Released[];
  referenceFailed: GenCell[];
  ambiguousRows: number;
  violations: Violation[];
}

export interface Released {
  /** The run (0-based) that released it. */
  readonly run: number;
  readonly cell: GenCell;
  readonly key: string;
  readonly column: string;
  readonly sig: string;
  readonly value: number;
  /** Per removal: the value on D − p minus the value on D; NaN when the row is gone or the query failed. */
  readonly deltas: Float64Array;
}

const describe = (cell: GenCell, key: string, column: string): string => `${cell.name} row ${key} column ${column}`;

export function checkRun(
  runIndex: number,
  run: RunCells,
  base: readonly Outcome[],
  perRemoval: readonly (readonly (Outcome | undefined)[])[],
  removals: readonly Removal[],
  k: number,
): RunCheck {
  const released: Released[] = [];
  const result: RunCheck = { releasedCells: 0, releasedRows: 0, released, referenceFailed: [], ambiguousRows: 0, violations: [] };
  const universes = [...new Set(removals.map((removal) => removal.universe.name))];
  const own = new Set(removals.filter((removal) => removal.universe.runnerOwn).map((removal) => removal.universe.name));
  // Index of each removal's rows per cell, built when first needed.
  const indexes = new Map<string, Map<string, (string | null)[] | null> | 'error'>();
  const rowsAfter = (removal: number, position: number, cell: GenCell): Map<string, (string | null)[] | null> | 'error' | 'unchanged' => {
    const outcome = perRemoval[removal]?.[position];
    if (outcome === undefined) return 'unchanged';
    const id = `${removal}/${position}`;
    let index = indexes.get(id);
    if (index === undefined) {
      index = 'error' in outcome ? 'error' : indexRows(outcome.rows, cell.keys);
      indexes.set(id, index);
    }
    return index;
  };

  for (const [position, cell] of run.cells.entries()) {
    const output = run.outputs[position];
    const outcome = base[position];
    if (output === undefined || outcome === undefined) continue;
    const nulls = output.rows.reduce((sum, row) => sum + row.filter((value) => value === null).length, 0);
    if (output.suppressedRows > nulls) {
      result.violations.push({ kind: 'suppressed-count', cells: [cell], detail: `${cell.name}: suppressedRows = ${output.suppressedRows} but the output shows ${nulls} withheld (NULL) values: the count says something the output does not` });
    }
    if ('error' in outcome) {
      result.referenceFailed.push(cell);
      continue;
    }
    const plain = indexRows(outcome.rows, cell.keys);
    for (const row of output.rows) {
      const key = keyOf(row, cell.keys);
      const plainRow = plain.get(key);
      if (plainRow === null) {
        result.ambiguousRows += 1;
        continue;
      }
      result.releasedRows += 1;
      if (plainRow === undefined) {
        result.violations.push({ kind: 'sanity', cells: [cell], detail: `${cell.name}: released row ${JSON.stringify(row)} is not in plain DuckDB's result` });
        continue;
      }
      row.forEach((value, column) => {
        if (value === null) return;
        const name = output.columns[column]?.name ?? String(column);
        result.releasedCells += 1;
        if (!sameValue(value, plainRow[column])) {
          result.violations.push({ kind: 'sanity', cells: [cell], detail: `${describe(cell, key, name)}: released ${value}, plain DuckDB ${String(plainRow[column])}` });
        }
        const sig = cell.sigs[column] ?? null;
        // The cell's terms when the generator knows them (a ratio, an avg), else the cell itself.
        const targets = cell.partColumns[column] ?? [column];
        for (const target of targets) {
          const deltas = sig === null || target !== column ? null : new Float64Array(removals.length);
          const changedBy = new Map<string, number[]>(universes.map((universe) => [universe, []]));
          removals.forEach((removal, index) => {
            const after = rowsAfter(index, position, cell);
            let changed: boolean;
            let delta = 0;
            if (after === 'unchanged') changed = false;
            else if (after === 'error') {
              changed = true;
              delta = Number.NaN;
            } else {
              const other = after.get(key);
              if (other === undefined || other === null) {
                changed = true;
                delta = Number.NaN;
              } else {
                changed = !sameValue(other[target], plainRow[target]);
                delta = Number(other[target]) - Number(plainRow[target]);
              }
            }
            if (changed) changedBy.get(removal.universe.name)?.push(removal.id);
            if (deltas !== null) deltas[index] = changed ? delta : 0;
          });
          const what = target === column ? `${describe(cell, key, name)} = ${value}` : `${describe(cell, key, name)} = ${value}, its term ${cell.partSql[target - cell.columns.length] ?? '?'} = ${String(plainRow[target])}`;
          for (const [universe, people] of changedBy) {
            if (people.length > 0 && people.length < k) result.violations.push({ kind: own.has(universe) ? 'runner-own' : 'k', cells: [cell], detail: `${what}: removing any of ${people.length} ${universe}(s) changes it`, people, universe });
          }
          if (deltas !== null && sig !== null && cell.origin !== 'post') released.push({ run: runIndex, cell, key, column: name, sig, value: Number(plainRow[column]), deltas });
        }
      });
    }
  }

  return result;
}

/** Hash of a delta vector over some coordinates, quantized so float noise does not matter. */
function hashOf(deltas: Float64Array, coordinates: readonly number[]): number {
  let hash = 2166136261;
  for (const index of coordinates) {
    const value = deltas[index] as number;
    const quantized = Number.isNaN(value) ? 'gone' : String(Math.round(value * 1e6));
    for (let position = 0; position < quantized.length; position++) hash = Math.imul(hash ^ quantized.charCodeAt(position), 16777619);
    hash = Math.imul(hash ^ 44, 16777619);
  }
  return hash >>> 0;
}

/**
 * Pairs of released count/sum cells of the same kind, within a run and across runs: the people of
 * one universe whose removal changes A − B must be none or at least k. Returns the pairs checked.
 */
export function differencingViolations(released: readonly Released[], removals: readonly Removal[], k: number, into: Violation[]): number {
  const universes = new Map<string, number[]>();
  const own = new Set(removals.filter((removal) => removal.universe.runnerOwn).map((removal) => removal.universe.name));
  removals.forEach((removal, index) => universes.set(removal.universe.name, [...(universes.get(removal.universe.name) ?? []), index]));
  const bySig = new Map<string, Released[]>();
  for (const entry of released) bySig.set(entry.sig, [...(bySig.get(entry.sig) ?? []), entry]);
  let pairs = 0;
  for (const group of bySig.values()) {
    const hashes = group.map((entry) => new Map([...universes].map(([name, coordinates]) => [name, hashOf(entry.deltas, coordinates)])));
    for (let a = 0; a < group.length; a++) {
      for (let b = a + 1; b < group.length; b++) {
        const first = group[a] as Released;
        const second = group[b] as Released;
        pairs += 1;
        const tolerance = 1e-9 * Math.max(Math.abs(first.value), Math.abs(second.value), 1e-3);
        for (const [universe, coordinates] of universes) {
          // Same deltas: the difference depends on no one of this universe.
          if (hashes[a]?.get(universe) === hashes[b]?.get(universe)) continue;
          const people: number[] = [];
          for (const index of coordinates) {
            const x = first.deltas[index] as number;
            const y = second.deltas[index] as number;
            if (Number.isNaN(x) || Number.isNaN(y) || Math.abs(x - y) > tolerance) {
              people.push((removals[index] as Removal).id);
              if (people.length >= k) break;
            }
          }
          if (people.length > 0 && people.length < k) {
            const across = first.run === second.run ? '' : ` (runs ${first.run + 1} and ${second.run + 1})`;
            into.push({
              kind: own.has(universe) ? 'runner-own' : 'differencing',
              cells: first.cell === second.cell ? [first.cell] : [first.cell, second.cell],
              detail: `${describe(first.cell, first.key, first.column)} = ${first.value} minus ${describe(second.cell, second.key, second.column)} = ${second.value}${across}: removing any of ${people.length} ${universe}(s) changes the difference`,
              people,
              universe,
            });
          }
        }
      }
    }
  }
  return pairs;
}
