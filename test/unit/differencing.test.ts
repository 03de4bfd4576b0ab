// The differencing ledger (shared/policy/differencing.ts): pairs of released sets 1..k−1 people
// apart, a total and its parts with a small part withheld (in either order, within a run and across
// runs), two breakdowns of one population, withdrawal, and that a ledger of thousands of sets stays fast.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CleanroomError } from '../../shared/errors.js';
import { DifferencingLedger, type ReleasedSet } from '../../shared/policy/differencing.js';
import { addSketches, type Sketch, sketchOf, sketchWidth } from '../../shared/policy/sketch.js';
import { seededRandom } from '../../shared/seeded-random.js';

const k = 5;
const width = sketchWidth(k);

/** People as ids drawn from a seeded generator, never repeating within one test. */
function people(seed: number) {
  const random = seededRandom(seed);
  const used = new Set<bigint>();
  return (n: number): bigint[] => {
    const out: bigint[] = [];
    while (out.length < n) {
      const id = (BigInt(Math.floor(random() * 2 ** 32)) << 32n) | BigInt(Math.floor(random() * 2 ** 32));
      if (used.has(id)) continue;
      used.add(id);
      out.push(id);
    }
    return out;
  };
}

const sketch = (ids: readonly bigint[]): Sketch => sketchOf(ids, width);
const set = (family: string, ids: readonly bigint[], table = 'admissions'): ReleasedSet => ({ table, family, sketch: sketch(ids) });

/** Releases the set if the ledger allows it; says whether it did. */
function offer(ledger: DifferencingLedger, released: ReleasedSet): boolean {
  if (!ledger.mayRelease(released.table, released.family, released.sketch)) return false;
  ledger.release(released);
  return true;
}

describe('pairs of released sets', () => {
  it('refuses a set 1..k−1 people from a released one, in either direction, and allows k or more', () => {
    const draw = people(1);
    const base = draw(40);
    for (let d = 1; d < k; d++) {
      const ledger = new DifferencingLedger(k, []);
      assert.equal(offer(ledger, set('a', base)), true);
      const extra = draw(d);
      assert.equal(ledger.mayRelease('admissions', 'b', sketch([...base, ...extra])), false, `${d} more people`);
      assert.equal(ledger.mayRelease('admissions', 'b', sketch(base.slice(d))), false, `${d} fewer people`);
      // Same size, d people swapped out (2d apart): refused while 2d < k.
      const swapped = sketch([...base.slice(d), ...extra]);
      assert.equal(ledger.mayRelease('admissions', 'b', swapped), 2 * d >= k, `${d} swapped`);
    }
    const ledger = new DifferencingLedger(k, []);
    ledger.release(set('a', base));
    assert.equal(ledger.mayRelease('admissions', 'b', sketch([...base, ...draw(k)])), true, 'k more people');
    assert.equal(ledger.mayRelease('admissions', 'b', sketch(base)), true, 'the same people again (count and sum of one group)');
    assert.equal(ledger.mayRelease('admissions', 'a', sketch(base.slice(1))), false, 'siblings in one family are compared too');
  });

  it('compares sets of the same table only', () => {
    const draw = people(2);
    const base = draw(30);
    const ledger = new DifferencingLedger(k, [set('a', base, 'claims')]);
    assert.equal(ledger.mayRelease('admissions', 'b', sketch(base.slice(1))), true);
    assert.equal(ledger.mayRelease('claims', 'b', sketch(base.slice(1))), false);
  });

  it('checks against earlier runs (the prior ledger) as against this run', () => {
    const draw = people(3);
    const base = draw(50);
    const ledger = new DifferencingLedger(k, [set('run1/rates/n', base)]);
    assert.equal(ledger.mayRelease('admissions', 'rates/n', sketch([...base, ...draw(2)])), false);
    assert.deepEqual(ledger.releasedThisRun(), [], 'prior sets are not this run\'s');
  });

  it('refuses sketches of another width, and sums posing as sets', () => {
    const draw = people(4);
    const ledger = new DifferencingLedger(k, []);
    const refused = (error: unknown) => error instanceof CleanroomError && error.code === 'BAD_REQUEST';
    assert.throws(() => ledger.mayRelease('admissions', 'a', sketchOf(draw(10), width + 2)), refused);
    const sum = addSketches(sketch(draw(10)), sketch(draw(10)), 1);
    assert.throws(() => ledger.release({ table: 'admissions', family: 'a', sketch: sum }), refused);
    assert.throws(() => new DifferencingLedger(k, [{ table: 'admissions', family: 'a', sketch: sketchOf(draw(3), 64) }]), refused);
  });
});

describe('totals and their parts (complementary)', () => {
  it('flags a family whose parts, with one of 1..k−1 people withheld, leave that part in the total', () => {
    for (let small = 1; small < k; small++) {
      const draw = people(10 + small);
      const parts = [draw(30), draw(20), draw(small)];
      const total = parts.flat();
      const ledger = new DifferencingLedger(k, []);
      assert.equal(offer(ledger, set('total/n', total)), true);
      // The small part is below k: the guard removes it, and releases the other two.
      assert.equal(offer(ledger, set('band/n', parts[0] as bigint[])), true);
      assert.equal(offer(ledger, set('band/n', parts[1] as bigint[])), true);
      assert.equal(ledger.familyLeaks('admissions', 'band/n'), true, `total − parts = ${small} people`);
      // Withholding a second part makes the remainder k or more people: safe again.
      ledger.withdraw(ledger.releasedThisRun()[2] as ReleasedSet);
      assert.equal(ledger.familyLeaks('admissions', 'band/n'), false);
      assert.deepEqual(ledger.releasedThisRun().map((released) => released.family), ['total/n', 'band/n']);
    }
  });

  it('refuses a total released after parts that leave 1..k−1 people out', () => {
    const draw = people(20);
    const parts = [draw(30), draw(20), draw(3)];
    const ledger = new DifferencingLedger(k, []);
    assert.equal(offer(ledger, set('band/n', parts[0] as bigint[])), true);
    assert.equal(offer(ledger, set('band/n', parts[1] as bigint[])), true);
    assert.equal(ledger.familyLeaks('admissions', 'band/n'), false, 'no total yet');
    assert.equal(ledger.mayRelease('admissions', 'total/n', sketch(parts.flat())), false);
  });

  it('refuses the same across runs: parts released earlier, the total now', () => {
    const draw = people(21);
    const parts = [draw(25), draw(25), draw(2)];
    const prior = [set('run1/band/n', parts[0] as bigint[]), set('run1/band/n', parts[1] as bigint[])];
    const ledger = new DifferencingLedger(k, prior);
    assert.equal(ledger.mayRelease('admissions', 'total/n', sketch(parts.flat())), false);
    // And the other way round: the total earlier, the parts now.
    const later = new DifferencingLedger(k, [set('run1/total/n', parts.flat())]);
    assert.equal(offer(later, set('band/n', parts[0] as bigint[])), true);
    assert.equal(offer(later, set('band/n', parts[1] as bigint[])), true);
    assert.equal(later.familyLeaks('admissions', 'band/n'), true);
  });

  it('allows a partition whose parts all have k or more people, with its total, in either order', () => {
    const draw = people(30);
    const parts = [draw(12), draw(k), draw(40), draw(k + 1)];
    const first = new DifferencingLedger(k, []);
    assert.equal(offer(first, set('total/n', parts.flat())), true);
    for (const part of parts) assert.equal(offer(first, set('band/n', part)), true);
    assert.equal(first.familyLeaks('admissions', 'band/n'), false);
    assert.equal(first.familyLeaks('admissions', 'total/n'), false);

    const second = new DifferencingLedger(k, []);
    for (const part of parts) assert.equal(offer(second, set('band/n', part)), true);
    assert.equal(second.familyLeaks('admissions', 'band/n'), false);
    assert.equal(offer(second, set('total/n', parts.flat())), true);
    assert.equal(second.familyLeaks('admissions', 'total/n'), false);

    // Running the same notebook again, with the first run in the ledger, changes nothing.
    const again = new DifferencingLedger(k, first.releasedThisRun().map((released) => ({ ...released, family: `run1/${released.family}` })));
    assert.equal(offer(again, set('total/n', parts.flat())), true);
    for (const part of parts) assert.equal(offer(again, set('band/n', part)), true);
    assert.equal(again.familyLeaks('admissions', 'band/n'), false);
  });

  it('flags two breakdowns of one population that differ by a withheld part', () => {
    const draw = people(40);
    const everyone = draw(90);
    const bands = [everyone.slice(0, 40), everyone.slice(40, 87)]; // the last band (3 people) withheld
    const plans = [everyone.slice(0, 45), everyone.slice(45)];
    const ledger = new DifferencingLedger(k, []);
    for (const band of bands) assert.equal(offer(ledger, set('by-band/n', band)), true);
    assert.equal(ledger.familyLeaks('admissions', 'by-band/n'), false);
    for (const plan of plans) assert.equal(offer(ledger, set('by-plan/n', plan)), true);
    assert.equal(ledger.familyLeaks('admissions', 'by-plan/n'), true, 'Σ plans − Σ bands = the withheld band');
  });

  it('withdraw takes back only sets of this run', () => {
    const draw = people(50);
    const prior = set('run1/a', draw(20));
    const ledger = new DifferencingLedger(k, [prior]);
    assert.throws(() => ledger.withdraw(prior), (error: unknown) => error instanceof CleanroomError && error.code === 'INTERNAL');
    const ids = draw(20);
    ledger.release(set('b', ids));
    // An equal set (not the same object) is found too.
    ledger.withdraw(set('b', ids));
    assert.deepEqual(ledger.releasedThisRun(), []);
    assert.equal(ledger.familyLeaks('admissions', 'b'), false);
  });
});

describe('a large ledger', () => {
  it('checks new sets against thousands of released ones quickly', () => {
    const draw = people(60);
    const population = draw(20_000);
    const prior: ReleasedSet[] = [];
    // 3,000 earlier sets: 150 runs × 20 groups of one breakdown each, sizes 20..400.
    const random = seededRandom(61);
    for (let run = 0; run < 150; run++) {
      let start = Math.floor(random() * 10_000);
      for (let group = 0; group < 20; group++) {
        const size = 20 + Math.floor(random() * 380);
        prior.push(set(`run${run}/by-x/n`, population.slice(start, start + size)));
        start += size;
      }
    }
    const started = performance.now();
    const ledger = new DifferencingLedger(k, prior);
    const built = performance.now();
    let allowed = 0;
    for (let group = 0; group < 300; group++) {
      const start = Math.floor(random() * 19_000);
      if (offer(ledger, set('by-y/n', population.slice(start, start + 20 + Math.floor(random() * 300))))) allowed++;
    }
    const checked = performance.now();
    ledger.familyLeaks('admissions', 'by-y/n');
    const finished = performance.now();
    console.log(`ledger of ${prior.length} sets: built in ${Math.round(built - started)} ms, 300 mayRelease in ${Math.round(checked - built)} ms (${allowed} allowed), familyLeaks in ${Math.round(finished - checked)} ms`);
    assert.ok(checked - built < 20_000, 'checks stay fast');
  });
});
