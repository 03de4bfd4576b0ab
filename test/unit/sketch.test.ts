// IBLT sketches of sets of people (shared/policy/sketch.ts): peeling decodes small differences
// exactly, large differences are never reported near, multiplicities (a total minus its parts) are
// handled, DuckDB's SQL computes the very same sketch as TypeScript, and the byte form round-trips
// and refuses anything malformed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { CleanroomError } from '../../shared/errors.js';
import { seededRandom } from '../../shared/seeded-random.js';
import {
  addSketches,
  cellOf,
  decodeSketch,
  differenceLowerBound,
  emptySketch,
  encodeSketch,
  idCheck,
  isNear,
  type Sketch,
  sketchFromCells,
  sketchOf,
  sketchSql,
  sketchWidth,
} from '../../shared/policy/sketch.js';

/** Uniform 64-bit ids from a seeded generator (32 bits per draw: seededRandom gives doubles). */
function idSource(seed: number): () => bigint {
  const random = seededRandom(seed);
  const word = (): bigint => BigInt(Math.floor(random() * 2 ** 32));
  return () => (word() << 32n) | word();
}

function distinctIds(next: () => bigint, n: number): bigint[] {
  const ids = new Set<bigint>();
  while (ids.size < n) ids.add(next());
  return [...ids];
}

function sameSketch(a: Sketch, b: Sketch): void {
  assert.equal(a.width, b.width);
  assert.equal(a.size, b.size);
  assert.equal(a.distinct, b.distinct);
  for (let cell = 0; cell < 3 * a.width; cell++) {
    assert.equal(a.count(cell), b.count(cell), `count of cell ${cell}`);
    assert.equal(a.idSum(cell), b.idSum(cell), `idSum of cell ${cell}`);
    assert.equal(a.checkSum(cell), b.checkSum(cell), `checkSum of cell ${cell}`);
  }
}

const refusedAsMalformed = (error: unknown): boolean => error instanceof CleanroomError && error.code === 'BAD_REQUEST';

describe('sketch hash functions', () => {
  it('sizes the table from k', () => {
    assert.equal(sketchWidth(2), 32);
    assert.equal(sketchWidth(16), 32);
    assert.equal(sketchWidth(17), 34);
    assert.equal(sketchWidth(100), 200);
  });

  it('computes idCheck and cellOf as specified, for ids across the whole 64-bit range', () => {
    const max = 2n ** 64n - 1n;
    assert.equal(idCheck(0n), 0n);
    assert.equal(idCheck(1n), 2654435769n);
    assert.equal(idCheck(2n ** 32n), 2246822519n);
    assert.equal(idCheck(max), (4294967295n * 2654435769n) ^ (4294967295n * 2246822519n));
    assert.equal(cellOf(max, 0, 32), 31);
    assert.equal(cellOf(5n << 20n, 1, 32), 32 + 5);
    assert.equal(cellOf(7n << 40n, 2, 32), 64 + 7);
    assert.throws(() => idCheck(-1n), refusedAsMalformed);
    assert.throws(() => idCheck(2n ** 64n), refusedAsMalformed);
  });
});

describe('peeling', () => {
  it('finds the exact difference of 1..k−1 people, over many seeds and several k', () => {
    let trials = 0;
    for (const k of [2, 5, 10, 25, 60]) {
      const width = sketchWidth(k);
      for (let seed = 1; seed <= 120; seed++) {
        const next = idSource(seed * 1000 + k);
        const common = distinctIds(next, 50 + (seed % 7) * 40);
        const d = 1 + (seed % (k - 1 || 1));
        const extra = distinctIds(next, d);
        // Split the difference between both sides: people only in a, and people only in b.
        const onlyA = extra.slice(0, Math.ceil(d / 2));
        const onlyB = extra.slice(Math.ceil(d / 2));
        const a = sketchOf([...common, ...onlyA], width);
        const b = sketchOf([...common, ...onlyB], width);
        assert.equal(differenceLowerBound(a, b), d, `k=${k} seed=${seed}`);
        assert.equal(differenceLowerBound(b, a), d);
        assert.equal(isNear(a, b, k), true, `k=${k} seed=${seed}: ${d} people apart is near`);
        trials++;
      }
    }
    assert.ok(trials >= 500);
  });

  it('decodes every difference up to k−1 even when the two sides differ by k−1 people at once', () => {
    const k = 20;
    const width = sketchWidth(k);
    for (let seed = 1; seed <= 300; seed++) {
      const next = idSource(seed);
      const common = distinctIds(next, 200);
      const extra = distinctIds(next, k - 1);
      assert.equal(differenceLowerBound(sketchOf([...common, ...extra], width), sketchOf(common, width)), k - 1, `seed ${seed}`);
    }
  });

  it('says the same set is not near itself, however it was built', () => {
    const next = idSource(7);
    const ids = distinctIds(next, 300);
    const width = sketchWidth(10);
    const a = sketchOf(ids, width);
    const b = sketchOf([...ids].reverse(), width);
    assert.equal(differenceLowerBound(a, b), 0);
    assert.equal(isNear(a, b, 10), false);
  });

  it('never reports large differences as near, and bounds them at k or more', () => {
    for (const k of [5, 10, 30]) {
      const width = sketchWidth(k);
      for (let seed = 1; seed <= 60; seed++) {
        const next = idSource(seed * 31 + k);
        const common = distinctIds(next, 100);
        // From exactly k people apart up to far more than the sketch can decode.
        const d = [k, k + 1, 2 * k, 5 * k, 20 * k, 200 * k][seed % 6] as number;
        const extra = distinctIds(next, d);
        const split = seed % 3 === 0 ? d : Math.floor(d / 2);
        const a = sketchOf([...common, ...extra.slice(0, split)], width);
        const b = sketchOf([...common, ...extra.slice(split)], width);
        assert.equal(isNear(a, b, k), false, `k=${k} seed=${seed} d=${d}`);
        const bound = differenceLowerBound(a, b);
        assert.ok(bound >= k && bound <= d, `k=${k} seed=${seed} d=${d}: bound ${bound} must be sound`);
        // The same without the size shortcut: two sets of the same size.
        const c = sketchOf([...common, ...extra.slice(0, Math.floor(d / 2)), ...distinctIds(next, d - Math.floor(d / 2))], width);
        const e = sketchOf([...common, ...extra.slice(Math.floor(d / 2)), ...distinctIds(next, Math.floor(d / 2))], width);
        assert.equal(c.size, e.size);
        assert.equal(isNear(c, e, k), false, `k=${k} seed=${seed} d=${d}, equal sizes`);
      }
    }
  });

  it('handles multiplicities: a total minus its parts leaves the withheld part', () => {
    const k = 10;
    const width = sketchWidth(k);
    for (let seed = 1; seed <= 100; seed++) {
      const next = idSource(seed + 500);
      const parts = [distinctIds(next, 40), distinctIds(next, 25), distinctIds(next, 1 + (seed % (k - 1)))];
      const total = sketchOf(parts.flat(), width);
      const released = addSketches(sketchOf(parts[0] as bigint[], width), sketchOf(parts[1] as bigint[], width), 1);
      assert.equal(released.distinct, false);
      const left = addSketches(total, released, -1);
      assert.equal(left.size, (parts[2] as bigint[]).length);
      assert.equal(differenceLowerBound(total, released), (parts[2] as bigint[]).length, `seed ${seed}`);
      assert.equal(isNear(total, released, k), true);
      // Every part released: nothing left over.
      const all = addSketches(released, sketchOf(parts[2] as bigint[], width), 1);
      assert.equal(isNear(total, all, k), false);
      assert.equal(differenceLowerBound(total, all), 0);
    }
  });

  it('counts people, not multiplicity: one person in many released parts is one person', () => {
    const width = sketchWidth(5);
    const next = idSource(99);
    const everyone = distinctIds(next, 60);
    const person = everyone[0] as bigint;
    // The person is in 11 overlapping parts, everyone else in exactly one.
    let parts = sketchOf(everyone, width);
    for (let i = 0; i < 10; i++) parts = addSketches(parts, sketchOf([person], width), 1);
    const total = sketchOf(everyone, width);
    assert.equal(Math.abs(total.size - parts.size), 10, 'the sizes differ by 10');
    assert.equal(differenceLowerBound(total, parts), 1, 'yet only one person is in the difference');
    assert.equal(isNear(total, parts, 5), true, 'and that is near: the size alone must not decide');
    // An even multiplicity cannot be peeled; the bound must still be sound (at least 1, at most the truth).
    let twice = sketchOf(everyone, width);
    twice = addSketches(twice, sketchOf([person, person], width), 1);
    const bound = differenceLowerBound(twice, total);
    assert.ok(bound >= 1 && bound <= 1, `bound ${bound}`);
    assert.equal(isNear(twice, total, 5), true);
  });

  it('keeps its bound sound when peeling cannot finish (many people, some with even multiplicity)', () => {
    const width = 32;
    for (let seed = 1; seed <= 40; seed++) {
      const next = idSource(seed + 9000);
      const people = distinctIds(next, 3 + seed * 5);
      let multi = emptySketch(width);
      for (const [index, x] of people.entries()) {
        const m = (index % 3) + 1; // 1, 2 or 3 copies
        for (let copy = 0; copy < m; copy++) multi = addSketches(multi, sketchOf([x], width), 1);
      }
      const bound = differenceLowerBound(multi, emptySketch(width));
      assert.ok(bound <= people.length, `seed ${seed}: bound ${bound} > ${people.length} people`);
      assert.ok(bound >= 1);
    }
  });

  it('refuses to compare sketches of different widths', () => {
    assert.throws(() => isNear(emptySketch(32), emptySketch(34), 5), refusedAsMalformed);
  });
});

describe('sketches in DuckDB SQL', () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  before(async () => {
    instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    connection = await instance.connect();
  });
  after(() => {
    connection?.closeSync();
    instance?.closeSync();
  });

  it('gives the same cells and checks as TypeScript, ids at and above 2^63 included', async () => {
    const width = sketchWidth(10);
    const next = idSource(4242);
    const ids = [0n, 1n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, ...distinctIds(next, 500)];
    const { cells, check } = sketchSql('x', width);
    const values = ids.map((id) => `(${id}::UBIGINT)`).join(', ');
    const reader = await connection.runAndReadAll(
      `SELECT CAST(x AS VARCHAR), CAST(${cells[0]} AS BIGINT), CAST(${cells[1]} AS BIGINT), CAST(${cells[2]} AS BIGINT), CAST(${check} AS VARCHAR) FROM (VALUES ${values}) AS t(x)`,
    );
    const rows = reader.getRows();
    assert.equal(rows.length, ids.length);
    for (const row of rows) {
      const x = BigInt(row[0] as string);
      for (let subtable = 0; subtable < 3; subtable++) assert.equal(Number(row[1 + subtable] as bigint), cellOf(x, subtable, width), `cell ${subtable} of ${x}`);
      assert.equal(BigInt(row[4] as string), idCheck(x), `check of ${x}`);
    }
  });

  it('builds the same sketch with GROUP BY cell as sketchOf, through sketchFromCells', async () => {
    const width = sketchWidth(5);
    const next = idSource(77);
    const ids = [2n ** 64n - 1n, 2n ** 63n, ...distinctIds(next, 400)];
    const { cells, check } = sketchSql('x', width);
    const values = ids.map((id) => `(${id}::UBIGINT)`).join(', ');
    const sql = `
      WITH people AS (SELECT DISTINCT x FROM (VALUES ${values}, (${ids[5]}::UBIGINT)) AS t(x)),
      placed AS (
        SELECT ${cells[0]} AS cell, x, ${check} AS c FROM people
        UNION ALL SELECT ${cells[1]}, x, ${check} FROM people
        UNION ALL SELECT ${cells[2]}, x, ${check} FROM people
      )
      SELECT CAST(cell AS INTEGER), count(*), CAST(sum(x) AS VARCHAR), CAST(sum(c) AS VARCHAR) FROM placed GROUP BY cell`;
    const rows = (await connection.runAndReadAll(sql)).getRows();
    const size = Number((await connection.runAndReadAll(`SELECT count(DISTINCT x) FROM (VALUES ${values}) AS t(x)`)).getRows()[0]?.[0] as bigint);
    const fromSql = sketchFromCells(
      width,
      size,
      rows.map((row) => ({ cell: row[0] as number, count: row[1] as bigint, idSum: row[2] as string, checkSum: row[3] as string })),
    );
    sameSketch(fromSql, sketchOf(ids, width));
  });
});

describe('sketchFromCells', () => {
  const width = 32;
  const ids = distinctIds(idSource(5), 50);
  const rowsOf = (sketch: Sketch) =>
    Array.from({ length: 3 * width }, (_, cell) => ({ cell, count: sketch.count(cell), idSum: sketch.idSum(cell).toString(), checkSum: sketch.checkSum(cell) }))
      .filter((row) => row.count !== 0);

  it('accepts HUGEINT text and bigint, and reduces sums mod 2^64', () => {
    const reference = sketchOf(ids, width);
    const rows = rowsOf(reference).map((row, index) => (index === 0 ? { ...row, idSum: (BigInt(row.idSum) + 3n * 2n ** 64n).toString() } : row));
    sameSketch(sketchFromCells(width, ids.length, rows), reference);
  });

  it('refuses rows no set can give', () => {
    const rows = rowsOf(sketchOf(ids, width));
    assert.throws(() => sketchFromCells(width, ids.length + 1, rows), refusedAsMalformed, 'size that is not the cells');
    assert.throws(() => sketchFromCells(width, ids.length, rows.slice(1)), refusedAsMalformed, 'a missing cell');
    assert.throws(() => sketchFromCells(width, ids.length, [...rows, { cell: 3 * width, count: 0, idSum: '0', checkSum: '0' }]), refusedAsMalformed, 'a cell out of range');
    assert.throws(() => sketchFromCells(width, ids.length, [...rows, { cell: 0, count: 0, idSum: '0x10', checkSum: '0' }]), refusedAsMalformed, 'not decimal');
    assert.throws(() => sketchFromCells(width, ids.length, [...rows, { cell: 0, count: -1, idSum: '0', checkSum: '0' }]), refusedAsMalformed, 'negative count');
  });
});

describe('encodeSketch / decodeSketch', () => {
  it('round-trips sets, sums and differences, compactly', () => {
    const width = sketchWidth(10);
    const next = idSource(11);
    const a = sketchOf(distinctIds(next, 1000), width);
    const b = sketchOf(distinctIds(next, 3), width);
    for (const sketch of [a, b, emptySketch(width), addSketches(a, b, 1), addSketches(b, a, -1)]) {
      const bytes = encodeSketch(sketch);
      sameSketch(decodeSketch(bytes), sketch);
      assert.deepEqual(encodeSketch(decodeSketch(bytes)), bytes, 'one encoding per sketch');
    }
    assert.ok(encodeSketch(a).length <= 3 * width * 19 + 16, `${encodeSketch(a).length} bytes`);
    assert.ok(encodeSketch(emptySketch(width)).length <= 3 * width + 8, 'empty cells take one byte');
  });

  it('refuses malformed bytes with BAD_REQUEST', () => {
    const width = 32;
    const sketch = sketchOf(distinctIds(idSource(3), 20), width);
    const bytes = encodeSketch(sketch);
    const variants: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['unknown format', Uint8Array.from([2, ...bytes.subarray(1)])],
      ['unknown flags', Uint8Array.from([1, 4, ...bytes.subarray(2)])],
      ['truncated', bytes.subarray(0, bytes.length - 1)],
      ['extra byte', Uint8Array.from([...bytes, 0])],
      ['huge width, few bytes', Uint8Array.from([1, 1, 0xff, 0xff, 0xff, 0x7f, 0])],
      ['zero width', Uint8Array.from([1, 1, 0, 0])],
      ['non-minimal varint', Uint8Array.from([1, 1, 0xa0, 0x00, ...bytes.subarray(3)])],
    ];
    // A flipped byte inside a cell's sums breaks the sub-tables' agreement.
    const flipped = Uint8Array.from(bytes);
    const sumsAt = bytes.findIndex((byte, index) => index > 4 && byte % 2 === 1 && index + 16 < bytes.length);
    flipped[sumsAt + 3] = (flipped[sumsAt + 3] as number) ^ 0x40;
    variants.push(['flipped sum', flipped]);
    // Size that does not match the cells.
    variants.push(['wrong size', Uint8Array.from([1, 1, 32, 2 * 21, ...bytes.subarray(4)])]);
    for (const [what, input] of variants) assert.throws(() => decodeSketch(input), refusedAsMalformed, what);
    assert.throws(() => decodeSketch('not bytes' as unknown as Uint8Array), refusedAsMalformed);
  });
});
