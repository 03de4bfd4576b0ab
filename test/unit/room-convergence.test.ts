// Convergence (issue 15): members working offline with clashing names, approvals, revocations,
// amendments proposed and signed at once (newcomers joining once admitted) and a leave, with clocks
// up to an hour apart, packets delivered in random order, twice, late or dropped and re-sent. Once everyone has
// everyone's packets, every home derives the same room, no packet was refused, and every member
// who has not left can still add to the room. 200 seeded runs; each prints its seed, operations
// and the conflicts settled (`node --test test/unit/room-convergence.test.ts` shows them).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { cryptoReady } from '../../shared/crypto.js';
import { type Home, simulate, type Simulation } from '../support/convergence-sim.js';
import { makeTable } from '../support/room-fixtures.js';

const runs = 200;

function assertConverged(simulation: Simulation, context: string): void {
  const [first, ...rest] = simulation.homes as [Home, ...Home[]];
  const ids = (home: Home): string[] => home.stored.map((entry) => entry.signature).sort();
  const reference = simulation.stateOf(first);
  for (const home of rest) {
    assert.deepEqual(ids(home), ids(first), `${context}: ${home.alias} holds other entries than ${first.alias}`);
    assert.deepEqual(simulation.stateOf(home), reference, `${context}: ${home.alias} derives another room than ${first.alias}`);
  }
}

describe('convergence: seeded offline members', () => {
  before(() => cryptoReady());

  it(`converges in ${runs} seeded runs of 3 to 5 members, and everyone can still append`, () => {
    let settled = 0;
    let clashes = 0;
    let joins = 0;
    for (let seed = 1; seed <= runs; seed++) {
      const simulation = simulate(seed, 3 + (seed % 3));
      const report = simulation.report();
      console.log(report);
      assert.deepEqual(simulation.problems, [], report);
      assertConverged(simulation, report);
      const state = simulation.stateOf(simulation.homes[0] as Home);
      settled += state.log.filter((item) => item.settlement !== null).length;
      clashes += state.log.filter((item) => item.settlement?.kind === 'renamed').length;
      joins += state.members.filter((member) => member.addedBy !== null && member.status !== 'invited').length;

      // Every member still in the room appends, and the room converges again.
      for (const home of simulation.homes) {
        const status = state.members.find((member) => member.signPublicKey === home.member.ref.signPublicKey)?.status;
        if (status !== 'joined') continue;
        const added = simulation.append(home, { type: 'asset.added', descriptor: makeTable(simulation.room.roomId, home.member, `after_${seed}_${home.alias.replace(/\W/g, '_').toLowerCase()}`) }, 9 * 60);
        assert.notEqual(added, null, `${report}\n${home.alias} cannot append`);
      }
      simulation.resendAll();
      assert.deepEqual(simulation.problems, [], report);
      assertConverged(simulation, `${report}\nafter everyone appended`);
    }
    console.log(`${runs} runs: ${settled} conflicts settled, ${clashes} of them name clashes; ${joins} newcomers joined by amendment`);
    // The simulation must actually produce the conflicts and amendments it is about.
    assert.ok(clashes >= runs / 4, `only ${clashes} name clashes in ${runs} runs`);
    assert.ok(joins >= 5, `only ${joins} newcomers joined in ${runs} runs`);
  });
});
