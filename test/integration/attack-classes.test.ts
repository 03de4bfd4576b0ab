// ACCEPTANCE (issue 17, item 1, classes 1–6 and 8): for each attack in test/support/attack-classes.ts,
// the real worker runs the attacker's notebooks on two versions of the hospital's table that differ
// only in the target's secret, and everything the runs give back must be the same: then nothing
// computed from it can tell the two secrets apart. The attacker's own computation is run on both
// and must not yield the secret; in reviewed mode (no policy) the same computation must yield it,
// so that every attack is a working one.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newDataKey } from '../../electron/core/vault.js';
import { toBase64Url } from '../../shared/crypto.js';
import { type RunDifferencing, type RunResult, type RunTable, type RunVolume } from '../../shared/worker-protocol.js';
import {
  type ClassCase,
  classCases,
  k,
  libraries,
  membersSpec,
  referralsSpec,
  type RunView,
  type Secret,
  secretPairs,
  versionFor,
  viewOf,
  visitsSpec,
  type VisitsVersion,
  watchlistSpec,
} from '../support/attack-classes.js';
import { RunFixture } from '../support/run-fixtures.js';

let fixture: RunFixture;
/** The hospital's table, one import per version, by JSON of the version. */
const visitsTables = new Map<string, RunTable>();
let otherTables: RunTable[] = [];
const volumes = new Map<string, RunVolume>();

type RunRequestInput = ReturnType<RunFixture['request']>;

/** The room's salt for the ledger's sketches: fixed, like a room's. */
const ledgerSalt = Buffer.alloc(32, 7).toString('base64url');

/**
 * The contributor sets run `run` let out, for the next runs' ledger, their families prefixed with
 * the run as core does (electron/core/ledger.ts, ledgerRequest).
 */
const releasedSets = (result: RunResult, run: string): RunDifferencing['sets'] => (result.released ?? []).map((set) => ({ ...set, family: `${run}/${set.family}` }));

before(async () => {
  fixture = await RunFixture.open([]);
  const versions: VisitsVersion[] = [];
  for (const kind of ['cost', 'diagnosis', 'presence'] as const) for (const secret of secretPairs[kind]) versions.push(versionFor(kind, secret));
  for (const version of versions) {
    const key = JSON.stringify(version);
    if (!visitsTables.has(key)) visitsTables.set(key, (await fixture.importTable(visitsSpec(version))).table);
  }
  otherTables = [];
  for (const spec of [membersSpec(), referralsSpec(), watchlistSpec()]) otherTables.push((await fixture.importTable(spec)).table);
  for (const [name, text] of Object.entries(libraries)) {
    const folder = path.join(fixture.folder.dir, 'libraries', name);
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, `${name}.sql`), text);
    const dataKey = toBase64Url(newDataKey());
    const payloadFile = path.join(fixture.folder.dir, `${name}-volume.payload`);
    const packed = await fixture.host.request({ kind: 'packVolume', source: folder, dataKey, outFile: payloadFile });
    volumes.set(name, { name, payloadFile, chunkSize: packed.chunkSize, dataKey });
  }
});
after(() => fixture.close());

/** Runs a case's notebooks in order on the version where the target's secret is `secret`; every run's view. */
async function runCase(attack: ClassCase, secret: Secret, mode: 'aggregate' | 'reviewed'): Promise<RunView[]> {
  const visits = visitsTables.get(JSON.stringify(versionFor(attack.secret, secret)));
  assert.ok(visits !== undefined);
  const tables = [visits, ...otherTables];
  const caseVolumes = (attack.libraries ?? []).map((name) => {
    const volume = volumes.get(name);
    assert.ok(volume !== undefined, name);
    return volume;
  });
  // A fresh room for every case and version: the ledger starts empty.
  let ledger: RunDifferencing['sets'] = [];
  const views: RunView[] = [];
  for (const [position, text] of attack.runs.entries()) {
    let request: RunRequestInput = { ...fixture.request(text, { mode, minGroupSize: k, ...(attack.maxOutputRows === undefined ? {} : { maxOutputRows: attack.maxOutputRows }) }), tables };
    if (caseVolumes.length > 0) request = { ...request, volumes: caseVolumes };
    // Aggregate mode carries the room's ledger (earlier runs' released sets), as core sends it.
    if (mode === 'aggregate') request = { ...request, differencing: { salt: ledgerSalt, sets: ledger } };
    const result = await fixture.host.request(request);
    assert.deepEqual(readdirSync(request.runDir), [], 'no plaintext left in the run folder');
    ledger = [...ledger, ...releasedSets(result, `run-${position + 1}`)];
    views.push(viewOf(result));
  }
  return views;
}

/**
 * The views with the values a case lists in mayDiffer blanked out, and suppressedRows without them
 * (whether such a value is withheld may differ too: it is counted there when it is).
 */
function masked(attack: ClassCase, views: readonly RunView[]): unknown {
  const allowed = attack.mayDiffer ?? [];
  return views.map((view) => ({
    failure: view.failure,
    outputs: view.outputs.map((output) => {
      let maskedWithheld = 0;
      const rows = output.rows.map((row) =>
        row.map((value, position) => {
          const column = output.columns[position]?.split(':')[0];
          const hit = allowed.some(
            (entry) =>
              entry.output === output.name &&
              entry.column === column &&
              Object.entries(entry.key).every(([name, keyValue]) => row[output.columns.findIndex((candidate) => candidate.split(':')[0] === name)] === keyValue),
          );
          if (hit && value === null) maskedWithheld += 1;
          return hit ? '(may differ)' : value;
        }),
      );
      return { ...output, rows, suppressedRows: output.suppressedRows - maskedWithheld };
    }),
  }));
}

/** What happened to a run, in a few words, for the test's diagnostics. */
const outcome = (views: readonly RunView[]): string =>
  views
    .map((view) =>
      view.failure !== null
        ? `${view.failure.class}${view.failure.reasons.length > 0 ? ` (${view.failure.reasons.join('; ')})` : ''}`
        : view.outputs.map((output) => `${output.name}: ${output.rows.length} rows, ${output.rows.flat().filter((value) => value === null).length} NULL values, suppressed ${output.suppressedRows}`).join(' | '),
    )
    .join(' || ');

describe('attacks by class: the target\'s secret cannot be computed from what the runs give back', () => {
  it('has at least 3 techniques for each of classes 1–6 and 8', () => {
    for (const attackClass of [1, 2, 3, 4, 5, 6, 8]) {
      assert.ok(classCases.filter((candidate) => candidate.attackClass === attackClass).length >= 3, `class ${attackClass}`);
    }
  });

  for (const attack of classCases) {
    it(`class ${attack.attackClass}: ${attack.name} (${attack.secret})`, async (t) => {
      const [first, second] = secretPairs[attack.secret];
      if (attack.control !== 'none') {
        // The control: with no policy (reviewed mode) the attacker's computation does give the secret.
        for (const secret of [first, second]) {
          const plain = await runCase(attack, secret, 'reviewed');
          assert.ok(attack.recovers(plain, secret), `control: in reviewed mode the attack must recover ${String(secret)}: ${JSON.stringify(plain)}`);
        }
      }
      const viewsA = await runCase(attack, first, 'aggregate');
      const viewsB = await runCase(attack, second, 'aggregate');
      t.diagnostic(`${String(first)}: ${outcome(viewsA)}`);
      t.diagnostic(`${String(second)}: ${outcome(viewsB)}`);
      for (const [position, view] of viewsA.entries()) {
        const other = viewsB[position];
        const sameFailure = view.failure !== null && other?.failure !== null && view.failure.class === other?.failure?.class;
        assert.ok(!sameFailure || view.failure?.class === 'PolicyRefused', `run ${position + 1} fails as ${view.failure?.class} in both versions: check the notebook's SQL`);
      }
      // The attacker's computation, on everything each version gave back.
      const recoveredA = attack.recovers(viewsA, first);
      const recoveredB = attack.recovers(viewsB, second);
      if (attack.secret === 'cost' && attack.inference !== 'binary') {
        assert.ok(!recoveredA && !recoveredB, `${attack.computes} — recovered ${recoveredA ? String(first) : ''} ${recoveredB ? String(second) : ''}`);
      } else {
        assert.ok(!(recoveredA && recoveredB), `${attack.computes} — the guess is right in both versions`);
      }
      // Indistinguishable: what came back is the same whichever the secret.
      assert.deepEqual(masked(attack, viewsA), masked(attack, viewsB), `the runs give back different things for ${String(first)} and ${String(second)}: ${attack.computes}`);
    });
  }
});
