// The attack suite at the worker: every notebook in test/support/attack-notebooks.ts runs through
// the real worker over two parties' encrypted tables, and must be refused at the right cell with a
// reason naming the construct, or have what would single out a person removed or withheld, or run
// although one person's value would make DuckDB fail. Nothing the worker answers may contain the
// marker patient's values, and the run folder is empty after every run. (Issue 17's acceptance
// cases — the secret cannot be computed from a run's answer — are in attack-classes.test.ts.)
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { attackNotebooks, forbiddenTargets, legitimateNotebooks } from '../support/attack-notebooks.js';
import { addAsset, exchange, formRoom, makeParty, type Party } from '../support/core-parties.js';
import { temporaryFolder } from '../support/homes.js';
import { admissionsSpec, marker, markerPatient, membersSpec, RunFixture, sortedRows, type TableSpec } from '../support/run-fixtures.js';

const k = 10;
/** The marker patient's group ('90+', 'north') or values (premium 9999, cost 1234.5) in an answer. */
const markerShown = /90\+|north|9999|1234\.5/;

let fixture: RunFixture;
before(async () => {
  fixture = await RunFixture.open();
});
after(() => fixture.close());

/** A grouped query over admissions on the plain rows, keeping only groups of at least k patients. */
async function plainWithK(sql: string): Promise<(string | null)[][]> {
  return (await fixture.plain(`${sql} HAVING count(DISTINCT patient_id) >= ${k}`)).rows;
}

describe('attack notebooks, run in the worker', () => {
  it('has at least 40 attacks', () => assert.ok(attackNotebooks.length >= 40, `only ${attackNotebooks.length}`));

  for (const attack of attackNotebooks) {
    it(`${attack.mode}: ${attack.name}`, async () => {
      const { result, runDir } = await fixture.run(attack.notebook, { mode: attack.mode, minGroupSize: k });
      const answer = JSON.stringify(result);
      assert.doesNotMatch(answer, new RegExp(marker), 'no marker value in the answer');
      assert.deepEqual(readdirSync(runDir), [], 'no plaintext left in the run folder');
      const expect = attack.expect;
      switch (expect.kind) {
        case 'refused': {
          assert.equal(result.failure?.class, 'PolicyRefused', answer);
          assert.equal(result.failure?.cell, expect.cell, 'at the right cell');
          assert.ok(result.failure?.reasons.some((reason) => expect.reason.test(reason)), `expected ${expect.reason} among ${answer}`);
          assert.deepEqual(result.outputs, []);
          return;
        }
        case 'locked': {
          assert.notEqual(result.failure, null, 'the run fails');
          assert.equal(result.failure?.cell, expect.cell);
          assert.ok(['PolicyRefused', 'PermissionError', 'InvalidInputError'].includes(result.failure?.class ?? ''), answer);
          for (const target of forbiddenTargets) assert.equal(existsSync(target), false, `${target} was not written`);
          return;
        }
        case 'suppressed': {
          assert.equal(result.failure, null, answer);
          const output = result.outputs[expect.output];
          assert.ok(output !== undefined);
          assert.doesNotMatch(answer, markerShown, "no row shows the marker patient's group or values");
          assert.doesNotMatch(answer, new RegExp(String(markerPatient)));
          // Issue 17: removed groups are not counted (suppressedRows > 0 for a removed group was an
          // oracle); suppressedRows counts withheld values in released rows, readable from the output.
          const nulls = output.rows.flat().filter((value) => value === null).length;
          assert.equal(output.suppressedRows, nulls, 'suppressedRows counts the withheld values shown as NULL, nothing else');
          // Without the policy the same notebook does show the marker patient: something was removed.
          const plain = await fixture.run(attack.notebook, { mode: 'reviewed' });
          assert.equal(plain.result.failure, null, JSON.stringify(plain.result.failure));
          assert.match(JSON.stringify(plain.result.outputs), markerShown, 'in reviewed mode the marker patient shows');
          return;
        }
        case 'tolerated': {
          assert.equal(result.failure, null, `the run must not fail: ${answer}`);
          const output = result.outputs[expect.output];
          assert.ok(output !== undefined);
          assert.deepEqual(sortedRows(output.rows), sortedRows(await plainWithK(expect.sameAs)));
          return;
        }
      }
    });
  }
});

describe('legitimate notebooks, run in the worker', () => {
  for (const legitimate of legitimateNotebooks) {
    it(legitimate.name, async () => {
      const { result } = await fixture.run(legitimate.notebook, { minGroupSize: k });
      assert.equal(result.failure, null, JSON.stringify(result.failure));
      const output = result.outputs[0];
      assert.ok(output !== undefined && output.rows.length > 0);
      // Issue 17: rows below k are removed and not counted, so the plain query applies k itself and
      // the output must equal it (nothing withheld in these).
      const plain = await fixture.plain(legitimate.plain);
      assert.deepEqual(sortedRows(output.rows), sortedRows(plain.rows));
      assert.equal(output.suppressedRows, 0);
    });
  }
});

describe('attack notebooks at core: notebook check and add refuse what the worker would', () => {
  const folder = temporaryFolder('cleanroom-policy-core-');
  let hospital: Party;
  let insurer: Party;
  let room = '';

  const writeCsv = (spec: TableSpec): string => {
    const file = path.join(folder.dir, `${spec.name}.csv`);
    const lines = [spec.columns.map((column) => column.name).join(','), ...spec.rows.slice(0, 40).map((row) => row.map((value) => String(value)).join(','))];
    writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  };

  before(async () => {
    hospital = await makeParty(folder.dir, 'Hospital');
    insurer = await makeParty(folder.dir, 'Insurer');
    room = await formRoom(hospital, [insurer], 'Readmissions');
    for (const [party, spec] of [[hospital, admissionsSpec()], [insurer, membersSpec()]] as const) {
      const added = await addAsset(party, 'table.add', {
        room,
        name: spec.name,
        path: writeCsv(spec),
        roles: spec.columns.map((column) => ({ column: column.name, role: column.role })),
        allowMinMax: spec.allowMinMax,
      });
      assert.ok(added.ok, added.ok ? undefined : added.error.message);
    }
    await exchange([hospital, insurer], room);
  });
  after(async () => {
    for (const party of [hospital, insurer]) await party?.core.close();
    folder.remove();
  });

  it('check reports every aggregate-mode refusal at its cell with the position and reason', async () => {
    const misses: string[] = [];
    for (const attack of attackNotebooks.filter((candidate) => candidate.mode === 'aggregate' && candidate.expect.kind === 'refused')) {
      const expect = attack.expect as { cell: number; reason: RegExp };
      const check = await insurer.core.call('notebook.check', { room, source: attack.notebook });
      const problems = check.cells[expect.cell]?.problems ?? [];
      if (check.ok || !problems.some((problem) => expect.reason.test(problem))) misses.push(`${attack.name}: ${check.ok ? 'accepted' : problems.join(' | ')}`);
    }
    assert.deepEqual(misses, [], 'every refusal is reported by check, with the reason the worker gives');
  });

  it('add refuses a notebook the policy refuses, with POLICY_REFUSED naming the cell, and adds nothing', async () => {
    const before = await insurer.core.call('notebook.list', { room });
    const refused = await insurer.core.dispatch('notebook.add', {
      room,
      name: 'Leak',
      source: '-- %%\nSELECT plan, count(*) AS n FROM members GROUP BY plan\n-- %%\nSELECT plan, list(patient_id) FROM members GROUP BY plan\n',
    });
    assert.equal(refused.ok, false);
    if (refused.ok) return;
    assert.equal(refused.error.code, 'POLICY_REFUSED');
    assert.match(refused.error.message, /^Cell 2: character \d+: aggregate list reveals individual values and is not allowed in aggregate mode; nothing was added\.$/);
    assert.deepEqual(await insurer.core.call('notebook.list', { room }), before);
    const added = await insurer.core.dispatch('notebook.add', {
      room,
      name: 'Plans',
      source: '-- %%\nSELECT plan, count(*) AS n FROM members GROUP BY plan\n-- %%\nSELECT plan, n FROM cell_1 WHERE n > 5\n',
    });
    assert.ok(added.ok, added.ok ? undefined : added.error.message);
  });
});
