// Set-reconciliation sketches of sets of people: invertible Bloom lookup tables (IBLTs) over 64-bit
// person ids. The worker sketches every released contributor set; the differencing ledger
// (differencing.ts) compares sketches to find sets that differ by 1..k−1 people, without keeping
// the sets themselves. A sketch's size depends only on k, never on the table.
//
// Layout: 3 sub-tables of `width` cells (cell index = subtable·width + local). Each id x is added to
// one cell per sub-table, cellOf(x, s, width). A cell holds three sums over the ids in it:
//   count    = Σ m_x                  (m_x: the multiplicity of x, a plain signed number)
//   idSum    = Σ m_x · x          mod 2^64
//   checkSum = Σ m_x · idCheck(x) mod 2^64
// The sums are additive (not XOR) so sketches add and subtract with multiplicities: the sketch of a
// total minus the sketches of its parts is the sketch of the people left over, each with its net
// multiplicity. The same functions are expressible in DuckDB SQL (sketchSql), because the worker
// computes sketches with GROUP BY.

import { CleanroomError } from '../errors.js';

export const sketchSubtables = 3;
/** The smallest width sketchWidth gives; small k still gets a table that decodes reliably. */
export const minSketchWidth = 32;
/** Widest sketch accepted anywhere (k = 1,000,000, the room policy's largest k). */
export const maxSketchWidth = 2_000_000;
/** Largest |count| or |size| a sketch may hold: far beyond any table, and it keeps encoded headers below 2^53. */
export const maxSketchMagnitude = 2 ** 50;

const low32 = 0xffffffffn;
const checkMultiplierLow = 2654435769n;
const checkMultiplierHigh = 2246822519n;
const sketchFormat = 1;
const distinctFlag = 1;

/** A sketch of a set (or of a sum or difference of sets). Immutable: read it through these accessors. */
export interface Sketch {
  /** Cells per sub-table; the sketch has 3 · width cells. */
  readonly width: number;
  /** Σ multiplicities: for a set, the number of people in it. */
  readonly size: number;
  /**
   * True when every id has multiplicity 0 or 1: a set, as sketchOf (of distinct ids),
   * sketchFromCells and decodeSketch of a set give. False for sums and differences (addSketches).
   */
  readonly distinct: boolean;
  count(cell: number): number;
  idSum(cell: number): bigint;
  checkSum(cell: number): bigint;
}

/**
 * The cells, 64-bit sums kept as (low, high) 32-bit halves: adding and subtracting sketches and
 * looking for non-empty cells stays in plain numbers, and BigInt is used only to peel a cell.
 */
class CellTable implements Sketch {
  constructor(
    readonly width: number,
    readonly size: number,
    readonly distinct: boolean,
    readonly counts: Float64Array,
    readonly ids: Uint32Array,
    readonly checks: Uint32Array,
  ) {}

  count(cell: number): number {
    return this.counts[this.index(cell)] as number;
  }

  idSum(cell: number): bigint {
    return read64(this.ids, this.index(cell));
  }

  checkSum(cell: number): bigint {
    return read64(this.checks, this.index(cell));
  }

  private index(cell: number): number {
    if (!Number.isInteger(cell) || cell < 0 || cell >= this.counts.length) throw new CleanroomError('BAD_REQUEST', `cell must be a whole number from 0 to ${this.counts.length - 1}`);
    return cell;
  }
}

const bad = (why: string): CleanroomError => new CleanroomError('BAD_REQUEST', `The sketch is malformed: ${why}.`);

function read64(halves: Uint32Array, cell: number): bigint {
  return (BigInt(halves[2 * cell + 1] as number) << 32n) | BigInt(halves[2 * cell] as number);
}

function write64(halves: Uint32Array, cell: number, value: bigint): void {
  halves[2 * cell] = Number(value & low32);
  halves[2 * cell + 1] = Number((value >> 32n) & low32);
}

/** target[cell] += sign · source[from] mod 2^64, in halves. */
function add64(target: Uint32Array, cell: number, source: Uint32Array, from: number, sign: 1 | -1): void {
  const lo = (target[2 * cell] as number) + sign * (source[2 * from] as number);
  const carry = lo > 0xffffffff ? 1 : lo < 0 ? -1 : 0;
  target[2 * cell] = lo >>> 0;
  target[2 * cell + 1] = ((target[2 * cell + 1] as number) + sign * (source[2 * from + 1] as number) + carry) >>> 0;
}

function checkWidth(width: number): void {
  if (!Number.isSafeInteger(width) || width < 1 || width > maxSketchWidth) {
    throw new CleanroomError('BAD_REQUEST', `A sketch's width must be a whole number from 1 to ${maxSketchWidth}.`);
  }
}

function checkId(x: bigint): void {
  if (typeof x !== 'bigint' || x < 0n || x > 0xffffffffffffffffn) throw new CleanroomError('BAD_REQUEST', 'A person id must be a whole number from 0 to 2^64 − 1.');
}

function sameWidth(a: Sketch, b: Sketch): void {
  if (a.width !== b.width) throw new CleanroomError('BAD_REQUEST', `Sketches of widths ${a.width} and ${b.width} cannot be compared.`);
}

/** Our own representation of any Sketch (one made elsewhere is read through its accessors). */
function tableOf(sketch: Sketch): CellTable {
  if (sketch instanceof CellTable) return sketch;
  checkWidth(sketch.width);
  const cells = sketchSubtables * sketch.width;
  const counts = new Float64Array(cells);
  const ids = new Uint32Array(2 * cells);
  const checks = new Uint32Array(2 * cells);
  for (let cell = 0; cell < cells; cell++) {
    counts[cell] = sketch.count(cell);
    write64(ids, cell, BigInt.asUintN(64, sketch.idSum(cell)));
    write64(checks, cell, BigInt.asUintN(64, sketch.checkSum(cell)));
  }
  return new CellTable(sketch.width, sketch.size, sketch.distinct, counts, ids, checks);
}

// ---------------------------------------------------------------------------------------------
// The hash functions, in TypeScript and in DuckDB SQL.

/** Cells per sub-table for a room with minimum group size k: twice the largest difference it must decode. */
export function sketchWidth(k: number): number {
  if (!Number.isSafeInteger(k) || k < 1) throw new CleanroomError('BAD_REQUEST', 'k must be a whole number of at least 1.');
  return Math.min(maxSketchWidth, Math.max(minSketchWidth, 2 * k));
}

/** The check value of an id: ((x mod 2^32) · 2654435769) XOR ((x >> 32) · 2246822519); each product fits in 64 bits. */
export function idCheck(x: bigint): bigint {
  checkId(x);
  return ((x & low32) * checkMultiplierLow) ^ ((x >> 32n) * checkMultiplierHigh);
}

/** The absolute cell of id x in a sub-table: subtable·width + ((x >> 20·subtable) mod width). */
export function cellOf(x: bigint, subtable: number, width: number): number {
  checkId(x);
  if (!Number.isInteger(subtable) || subtable < 0 || subtable >= sketchSubtables) throw new CleanroomError('BAD_REQUEST', 'subtable must be 0, 1 or 2.');
  checkWidth(width);
  return subtable * width + Number((x >> BigInt(20 * subtable)) % BigInt(width));
}

/**
 * The same functions as DuckDB SQL over `idExpr`, a UBIGINT expression (cast to UBIGINT here).
 * Only %, >>, * and xor() on UBIGINT: << overflows in DuckDB. The worker sketches a set with
 *
 *   WITH people AS (SELECT DISTINCT <id> AS x FROM …),
 *        placed AS (SELECT <cells[0]> AS cell, x, <check> AS c FROM people UNION ALL … cells[1] … UNION ALL … cells[2] …)
 *   SELECT cell, count(*), sum(x), sum(c) FROM placed GROUP BY cell
 *
 * and hands the rows and count(DISTINCT x) to sketchFromCells.
 */
export function sketchSql(idExpr: string, width: number): { cells: [string, string, string]; check: string } {
  checkWidth(width);
  const x = `CAST((${idExpr}) AS UBIGINT)`;
  const cell = (subtable: number): string =>
    subtable === 0 ? `(${x} % CAST(${width} AS UBIGINT))` : `(CAST(${subtable * width} AS UBIGINT) + (${x} >> ${20 * subtable}) % CAST(${width} AS UBIGINT))`;
  const check =
    `xor((${x} % CAST(4294967296 AS UBIGINT)) * CAST(${checkMultiplierLow} AS UBIGINT), ` +
    `(${x} >> 32) * CAST(${checkMultiplierHigh} AS UBIGINT))`;
  return { cells: [cell(0), cell(1), cell(2)], check };
}

// ---------------------------------------------------------------------------------------------
// Building sketches.

function blank(width: number, size: number, distinct: boolean): CellTable {
  const cells = sketchSubtables * width;
  return new CellTable(width, size, distinct, new Float64Array(cells), new Uint32Array(2 * cells), new Uint32Array(2 * cells));
}

export function emptySketch(width: number): Sketch {
  checkWidth(width);
  return blank(width, 0, true);
}

/** Adds m · x to its three cells. */
function place(table: CellTable, x: bigint, m: number): void {
  const mm = BigInt.asUintN(64, BigInt(m));
  const id = BigInt.asUintN(64, mm * x);
  const check = BigInt.asUintN(64, mm * idCheck(x));
  for (let subtable = 0; subtable < sketchSubtables; subtable++) {
    const cell = cellOf(x, subtable, table.width);
    table.counts[cell] = (table.counts[cell] as number) + m;
    write64(table.ids, cell, BigInt.asUintN(64, read64(table.ids, cell) + id));
    write64(table.checks, cell, BigInt.asUintN(64, read64(table.checks, cell) + check));
  }
}

/** The sketch of a collection of ids; an id given twice counts twice (and the sketch is then not distinct). For tests and references. */
export function sketchOf(ids: Iterable<bigint>, width: number): Sketch {
  checkWidth(width);
  const seen = new Set<bigint>();
  let size = 0;
  const table = blank(width, 0, true);
  for (const x of ids) {
    checkId(x);
    seen.add(x);
    size += 1;
    place(table, x, 1);
  }
  return new CellTable(width, size, seen.size === size, table.counts, table.ids, table.checks);
}

function parseSum(value: bigint | string, what: string): bigint {
  if (typeof value === 'bigint') return BigInt.asUintN(64, value);
  if (typeof value !== 'string' || !/^-?[0-9]{1,60}$/.test(value)) throw bad(`${what} must be a whole number`);
  return BigInt.asUintN(64, BigInt(value));
}

function parseCount(value: number | bigint, what: string): number {
  const n = typeof value === 'bigint' ? (value >= -BigInt(maxSketchMagnitude) && value <= BigInt(maxSketchMagnitude) ? Number(value) : Number.NaN) : value;
  if (!Number.isSafeInteger(n) || Math.abs(n) > maxSketchMagnitude) throw bad(`${what} must be a whole number of at most 2^50`);
  return n;
}

/** Every sub-table holds each id once, so the three sub-tables have the same totals, and the count total is the size. */
function checkTotals(table: CellTable): void {
  let first: [number, bigint, bigint] | null = null;
  for (let subtable = 0; subtable < sketchSubtables; subtable++) {
    let count = 0;
    let ids = 0n;
    let checks = 0n;
    for (let cell = subtable * table.width; cell < (subtable + 1) * table.width; cell++) {
      count += table.counts[cell] as number;
      ids += read64(table.ids, cell);
      checks += read64(table.checks, cell);
    }
    const totals: [number, bigint, bigint] = [count, BigInt.asUintN(64, ids), BigInt.asUintN(64, checks)];
    if (first === null) first = totals;
    else if (totals[0] !== first[0] || totals[1] !== first[1] || totals[2] !== first[2]) throw bad('its sub-tables do not hold the same ids');
  }
  if (first !== null && first[0] !== table.size) throw bad(`its cells hold ${first[0]} ids, not its size ${table.size}`);
}

/**
 * A set's sketch from the worker's `GROUP BY cell` rows (count(*), sum(id), sum(check); DuckDB's
 * sums are HUGEINT text, reduced here mod 2^64) and the set's exact size. Cells not listed are
 * empty; a cell listed twice is added up. Throws BAD_REQUEST for rows no set can give.
 */
export function sketchFromCells(
  width: number,
  size: number,
  cells: readonly { cell: number; count: number | bigint; idSum: bigint | string; checkSum: bigint | string }[],
): Sketch {
  checkWidth(width);
  if (!Number.isSafeInteger(size) || size < 0 || size > maxSketchMagnitude) throw bad('size must be a whole number from 0 to 2^50');
  const table = blank(width, size, true);
  for (const row of cells) {
    if (!Number.isInteger(row.cell) || row.cell < 0 || row.cell >= sketchSubtables * width) throw bad(`cell ${String(row.cell)} is outside 0..${sketchSubtables * width - 1}`);
    const count = parseCount(row.count, 'count');
    if (count < 0) throw bad('a set has no negative counts');
    table.counts[row.cell] = (table.counts[row.cell] as number) + count;
    write64(table.ids, row.cell, BigInt.asUintN(64, read64(table.ids, row.cell) + parseSum(row.idSum, 'idSum')));
    write64(table.checks, row.cell, BigInt.asUintN(64, read64(table.checks, row.cell) + parseSum(row.checkSum, 'checkSum')));
  }
  checkTotals(table);
  return table;
}

/** a + sign · b, cell by cell; sizes add too. The result counts multiplicities, so it is not distinct. */
export function addSketches(a: Sketch, b: Sketch, sign: 1 | -1): Sketch {
  sameWidth(a, b);
  if (sign !== 1 && sign !== -1) throw new CleanroomError('BAD_REQUEST', 'sign must be 1 or -1.');
  const x = tableOf(a);
  const y = tableOf(b);
  const size = x.size + sign * y.size;
  if (Math.abs(size) > maxSketchMagnitude) throw new CleanroomError('BAD_REQUEST', 'The sum of these sketches is too large.');
  const out = new CellTable(x.width, size, false, x.counts.slice(), x.ids.slice(), x.checks.slice());
  for (let cell = 0; cell < out.counts.length; cell++) {
    out.counts[cell] = (out.counts[cell] as number) + sign * (y.counts[cell] as number);
    add64(out.ids, cell, y.ids, cell, sign);
    add64(out.checks, cell, y.checks, cell, sign);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Comparing sketches.
//
// In the difference D = a − b every person x has a net multiplicity m_x (for two sets: −1, 0 or 1),
// and a person is "in the difference" when m_x ≠ 0. The lower bound on how many people that is:
//
// 1. Peeling. A cell holding exactly one person x with odd m is pure: count = m, idSum = m·x, and
//    m is invertible mod 2^64, so x = idSum · m⁻¹. A candidate is accepted only if checkSum equals
//    m·idCheck(x) and cellOf(x) is this very cell; then m·x is removed from its three cells and
//    counted as one person. A mixed cell passes only if a 64-bit check agrees by chance.
//    (A single person with EVEN multiplicity cannot be peeled: m·x mod 2^64 loses x's top bits.)
// 2. What is left. Each remaining person sits in exactly one cell of every sub-table, so for each
//    sub-table, the people left are at least Σ over its non-empty cells of the fewest people such a
//    cell can hold. Peeling stopped only after checking every odd-count cell, so:
//      - a cell with odd count, or count 0 but non-zero sums, holds ≥ 2 people (one person alone is
//        either peelable or makes count = m ≠ 0);
//      - a cell with even non-zero count may hold one person of even multiplicity: ≥ 1;
//      - when both sketches are sets every m is ±1 (odd), so every non-empty cell holds ≥ 2.
//    Taking the best sub-table is at least the average, i.e. ⌈2|C|/3⌉ for C the non-empty cells of
//    a set difference, and ⌈|C|/3⌉ in general.
// 3. Sizes. For two sets, |size(a) − size(b)| people are in one and not the other.
// When peeling empties every cell the bound is exact.

/** The difference a − b as a fresh table that peeling may consume. */
const difference = (a: Sketch, b: Sketch): CellTable => addSketches(a, b, -1) as CellTable;

/** The fewest people behind the non-zero counts alone (each person is in one cell per sub-table). Cheap: no BigInt. */
function countBound(x: CellTable, y: CellTable): number {
  let best = 0;
  for (let subtable = 0; subtable < sketchSubtables; subtable++) {
    let nonZero = 0;
    for (let cell = subtable * x.width; cell < (subtable + 1) * x.width; cell++) if (x.counts[cell] !== y.counts[cell]) nonZero++;
    best = Math.max(best, nonZero);
  }
  return best;
}

const isOdd = (n: number): boolean => n % 2 !== 0;

function isEmptyCell(d: CellTable, cell: number): boolean {
  return d.counts[cell] === 0 && d.ids[2 * cell] === 0 && d.ids[2 * cell + 1] === 0 && d.checks[2 * cell] === 0 && d.checks[2 * cell + 1] === 0;
}

/** m⁻¹ mod 2^64 for odd m, by Newton's iteration (each step doubles the correct low bits: 3→6→…→96). */
function inverse64(m: bigint): bigint {
  let inverse = m;
  for (let step = 0; step < 5; step++) inverse = BigInt.asUintN(64, inverse * (2n - m * inverse));
  return inverse;
}

/** Peels `d` in place; returns the people peeled and whether every odd cell was checked afterwards. */
function peel(d: CellTable, limit: number): { peeled: number; settled: boolean } {
  const cells = d.counts.length;
  const queue: number[] = [];
  for (let cell = 0; cell < cells; cell++) if (isOdd(d.counts[cell] as number)) queue.push(cell);
  let peeled = 0;
  // Each true peel empties a cell and queues at most three, so a correct decode ends well within this.
  let steps = 8 * cells + 16;
  while (queue.length > 0) {
    if (peeled >= limit) return { peeled, settled: false };
    if (steps-- === 0) return { peeled, settled: false };
    const cell = queue.pop() as number;
    const count = d.counts[cell] as number;
    if (!isOdd(count)) continue;
    const m = BigInt.asUintN(64, BigInt(count));
    const x = BigInt.asUintN(64, read64(d.ids, cell) * inverse64(m));
    if (cellOf(x, Math.floor(cell / d.width), d.width) !== cell) continue;
    const check = BigInt.asUintN(64, m * idCheck(x));
    if (check !== read64(d.checks, cell)) continue;
    const id = BigInt.asUintN(64, m * x);
    for (let subtable = 0; subtable < sketchSubtables; subtable++) {
      const at = cellOf(x, subtable, d.width);
      d.counts[at] = (d.counts[at] as number) - count;
      write64(d.ids, at, BigInt.asUintN(64, read64(d.ids, at) - id));
      write64(d.checks, at, BigInt.asUintN(64, read64(d.checks, at) - check));
      if (isOdd(d.counts[at] as number)) queue.push(at);
    }
    peeled++;
  }
  return { peeled, settled: true };
}

/** Rules 1 and 2 above on a difference table (consumed). */
function boundOf(d: CellTable, sets: boolean, limit: number): number {
  const { peeled, settled } = peel(d, limit);
  if (peeled >= limit) return peeled;
  let best = 0;
  for (let subtable = 0; subtable < sketchSubtables; subtable++) {
    let least = 0;
    for (let cell = subtable * d.width; cell < (subtable + 1) * d.width; cell++) {
      if (isEmptyCell(d, cell)) continue;
      const count = d.counts[cell] as number;
      // Without a finished peel an odd cell may be a peelable single person: only "non-empty" is sure.
      least += settled && (sets || isOdd(count) || count === 0) ? 2 : 1;
    }
    best = Math.max(best, least);
  }
  return peeled + best;
}

/**
 * A lower bound on the number of people with non-zero net multiplicity in a − b (for two sets:
 * the symmetric difference), exact when peeling decodes the whole difference (the usual case for
 * fewer than ~2·width people). Stops early once the bound reaches `limit`.
 */
export function differenceLowerBound(a: Sketch, b: Sketch, limit = Number.POSITIVE_INFINITY): number {
  sameWidth(a, b);
  const sets = a.distinct && b.distinct;
  const bySize = sets ? Math.abs(a.size - b.size) : 0;
  if (bySize >= limit) return bySize;
  return Math.max(bySize, boundOf(difference(a, b), sets, limit));
}

/**
 * Whether a and b could differ by 1..k−1 people: false when they are the same set (the difference
 * sketch is all zero) or when at least k people are surely in the difference; true otherwise
 * (including when the sketch cannot tell).
 */
export function isNear(a: Sketch, b: Sketch, k: number): boolean {
  sameWidth(a, b);
  if (!Number.isSafeInteger(k) || k < 1) throw new CleanroomError('BAD_REQUEST', 'k must be a whole number of at least 1.');
  const sets = a.distinct && b.distinct;
  if (sets && Math.abs(a.size - b.size) >= k) return false;
  const x = tableOf(a);
  const y = tableOf(b);
  if (countBound(x, y) >= k) return false;
  const d = difference(x, y);
  let zero = true;
  for (let cell = 0; cell < d.counts.length && zero; cell++) zero = isEmptyCell(d, cell);
  if (zero) return false;
  return boundOf(d, sets, k) < k;
}

/** Whether two sketches hold exactly the same people (their difference is empty). */
export function isSame(a: Sketch, b: Sketch): boolean {
  sameWidth(a, b);
  if (a.distinct && b.distinct && a.size !== b.size) return false;
  const d = difference(tableOf(a), tableOf(b));
  for (let cell = 0; cell < d.counts.length; cell++) if (!isEmptyCell(d, cell)) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Bytes: format byte (1), flags (bit 0: distinct), width and zigzag(size) as LEB128 varints, then
// each cell: varint zigzag(count)·2 + (sums follow ? 1 : 0), and if they follow, idSum and checkSum
// as 8 bytes little-endian each. A cell whose sums are both zero carries none (the usual case for
// empty cells), and must not: every sketch has exactly one encoding.

const zigzag = (n: number): number => (n >= 0 ? 2 * n : -2 * n - 1);
const unzigzag = (z: number): number => (z % 2 === 0 ? z / 2 : -(z + 1) / 2);

function pushVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 128) {
    out.push((v % 128) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

function push64(out: number[], halves: Uint32Array, cell: number): void {
  for (const half of [halves[2 * cell] as number, halves[2 * cell + 1] as number]) {
    out.push(half & 0xff, (half >>> 8) & 0xff, (half >>> 16) & 0xff, half >>> 24);
  }
}

export function encodeSketch(sketch: Sketch): Uint8Array {
  const table = tableOf(sketch);
  const out: number[] = [sketchFormat, table.distinct ? distinctFlag : 0];
  pushVarint(out, table.width);
  pushVarint(out, zigzag(table.size));
  for (let cell = 0; cell < table.counts.length; cell++) {
    const hasSums = table.ids[2 * cell] !== 0 || table.ids[2 * cell + 1] !== 0 || table.checks[2 * cell] !== 0 || table.checks[2 * cell + 1] !== 0;
    pushVarint(out, 2 * zigzag(table.counts[cell] as number) + (hasSums ? 1 : 0));
    if (hasSums) {
      push64(out, table.ids, cell);
      push64(out, table.checks, cell);
    }
  }
  return Uint8Array.from(out);
}

class Reader {
  offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get left(): number {
    return this.bytes.length - this.offset;
  }

  byte(): number {
    if (this.offset >= this.bytes.length) throw bad('it ends too early');
    return this.bytes[this.offset++] as number;
  }

  /** A minimal LEB128 varint of at most 8 bytes (56 bits), below 2^53. */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let length = 1; length <= 8; length++) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && length > 1) throw bad('a number is not minimally encoded');
        if (!Number.isSafeInteger(value)) throw bad('a number is too large');
        return value;
      }
      scale *= 128;
    }
    throw bad('a number is too long');
  }

  halves(target: Uint32Array, cell: number): void {
    if (this.left < 8) throw bad('it ends too early');
    const b = this.bytes;
    const o = this.offset;
    target[2 * cell] = ((b[o] as number) | ((b[o + 1] as number) << 8) | ((b[o + 2] as number) << 16) | ((b[o + 3] as number) << 24)) >>> 0;
    target[2 * cell + 1] = ((b[o + 4] as number) | ((b[o + 5] as number) << 8) | ((b[o + 6] as number) << 16) | ((b[o + 7] as number) << 24)) >>> 0;
    this.offset += 8;
  }
}

/** Reads encodeSketch's bytes; throws BAD_REQUEST for anything else (truncated, extra bytes, inconsistent cells). */
export function decodeSketch(bytes: Uint8Array): Sketch {
  if (!(bytes instanceof Uint8Array)) throw bad('it is not bytes');
  const reader = new Reader(bytes);
  if (reader.byte() !== sketchFormat) throw bad('unknown format');
  const flags = reader.byte();
  if ((flags & ~distinctFlag) !== 0) throw bad('unknown flags');
  const distinct = (flags & distinctFlag) !== 0;
  const width = reader.varint();
  if (width < 1 || width > maxSketchWidth) throw bad(`width ${width} is outside 1..${maxSketchWidth}`);
  const size = unzigzag(reader.varint());
  if (Math.abs(size) > maxSketchMagnitude) throw bad('its size is too large');
  if (distinct && size < 0) throw bad('a set has no negative size');
  const cells = sketchSubtables * width;
  // Every cell takes at least one byte: refuse a width the bytes cannot hold before allocating for it.
  if (reader.left < cells) throw bad('it is shorter than its width says');
  const table = blank(width, size, distinct);
  for (let cell = 0; cell < cells; cell++) {
    const header = reader.varint();
    const hasSums = header % 2 === 1;
    const count = unzigzag((header - (hasSums ? 1 : 0)) / 2);
    if (Math.abs(count) > maxSketchMagnitude) throw bad('a count is too large');
    if (distinct && count < 0) throw bad('a set has no negative counts');
    table.counts[cell] = count;
    if (hasSums) {
      reader.halves(table.ids, cell);
      reader.halves(table.checks, cell);
      if (table.ids[2 * cell] === 0 && table.ids[2 * cell + 1] === 0 && table.checks[2 * cell] === 0 && table.checks[2 * cell + 1] === 0) {
        throw bad('a cell carries sums that are zero');
      }
    }
  }
  if (reader.left !== 0) throw bad(`${reader.left} bytes follow its last cell`);
  checkTotals(table);
  return table;
}
