// A run leaves no plaintext behind. St Mary's admissions carry a marker value in a privacy unit and
// in two dimensions; after a run that succeeds, one the worker refuses by policy, one that fails
// in a cell, one cancelled and one whose worker is killed, the run's private RAM folder is gone
// and no file in either home, in Cleanroom's temporary folders or in /dev/shm/cleanroom-<uid>
// holds the marker.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ramFolderRoot } from '../../electron/core/ram-folder.js';
import { type JobView } from '../../shared/asset.js';
import { addUncheckedSnapshot } from '../support/core-parties.js';
import { allFileBytes, liveFileBytes, temporaryFolder } from '../support/homes.js';
import { approvedSnapshot, followJob, makeRunWorld, type RunWorld, sendPacket, slowNotebook } from '../support/run-parties.js';

const marker = `MARKER-${randomBytes(8).toString('hex')}`;

/** Files of both homes, of Cleanroom's folders in the temp folder, and of the RAM folder root that hold the marker. */
function filesWithMarker(world: RunWorld): string[] {
  const files = new Map<string, Buffer>();
  for (const party of [world.mary, world.acme]) for (const [name, bytes] of allFileBytes(party.home)) files.set(name, bytes);
  for (const name of readdirSync(os.tmpdir())) if (name.startsWith('cleanroom')) liveFileBytes(path.join(os.tmpdir(), name), files);
  liveFileBytes(ramFolderRoot().root, files);
  const needle = Buffer.from(marker, 'utf8');
  return [...files].filter(([, bytes]) => bytes.includes(needle)).map(([name]) => name);
}

/** How many files under `dir` process `pid` has open: on Linux the decrypted inputs have no name (private-file.ts), only the worker's descriptors. */
function filesHeld(pid: number, dir: string): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(`${dir}/`);
      } catch {
        return false;
      }
    }).length;
  } catch {
    return 0;
  }
}

/** This process's run folders under the RAM folder root (`<pid>-<hex>`). */
function myRamFolders(): string[] {
  try {
    return readdirSync(ramFolderRoot().root).filter((name) => name.startsWith(`${process.pid}-`));
  } catch {
    return [];
  }
}

describe('a run leaves no plaintext behind', () => {
  const folder = temporaryFolder('plaintext-test-');
  let world: RunWorld;
  let room = '';

  before(async () => {
    world = await makeRunWorld(folder.dir, { marker });
    room = world.room;
    assert.deepEqual(filesWithMarker(world), [], 'only the source file (outside every checked folder) holds the marker');
  });

  after(async () => {
    await world?.close();
    folder.remove();
  });

  /** Runs a snapshot, noting the run's RAM folder while its cell runs; `act` may stop it then. */
  async function runAndCheck(snapshot: string, act?: (view: JobView) => Promise<void> | void): Promise<JobView> {
    const before = new Set(myRamFolders());
    const started = await world.acme.core.call('run.start', { room, snapshot });
    const seen = new Set<string>();
    let acted = false;
    let plaintextFiles = 0;
    const view = await followJob(world.acme, started.job, async (current) => {
      for (const name of myRamFolders()) if (!before.has(name)) seen.add(name);
      if (act !== undefined && !acted && current.message.startsWith('Running cell')) {
        acted = true;
        // The decrypted inputs are there while the cell runs: what must be gone afterwards.
        const worker = world.acmeWorkers[world.acmeWorkers.length - 1] as number;
        for (const name of seen) {
          const dir = path.join(ramFolderRoot().root, name);
          plaintextFiles += liveFileBytes(dir).size + filesHeld(worker, dir);
        }
        await act(current);
      }
    });
    if (act !== undefined) assert.ok(acted, 'the run reached its cells');
    const left = myRamFolders().filter((name) => !before.has(name));
    assert.deepEqual(left, [], 'the run\'s RAM folder is gone');
    if (act !== undefined) assert.ok(seen.size > 0 && plaintextFiles > 0, 'the run had decrypted files in its RAM folder while it ran');
    assert.deepEqual(filesWithMarker(world), [], 'no file holds the marker');
    return view;
  }

  it('after a run that succeeds (the marker\'s group suppressed)', async () => {
    const snapshot = await approvedSnapshot(world, 'By ward', '-- %% output=wards\nSELECT ward, age_band, count(*) AS n, sum(readmitted) AS r FROM admissions GROUP BY ward, age_band\n');
    const view = await runAndCheck(snapshot);
    assert.equal(view.state, 'done', JSON.stringify(view.error));
    const shown = await world.acme.core.call('output.show', { room, output: 'wards' });
    // Issue 17: the marker's group is removed and not counted; suppressedRows >= 1 now comes from
    // sums of readmitted withheld for fewer than k readmitted people.
    assert.ok(shown.output.suppressedRows >= 1);
    assert.ok(!JSON.stringify(shown.rows).includes(marker));
  });

  it('after a run the worker refuses by policy in its second cell', async () => {
    const source = '-- %% output=fine\nSELECT ward, count(*) AS n FROM admissions GROUP BY ward\n-- %% output=leak\nSELECT patient_id, count(*) AS n FROM admissions GROUP BY patient_id\n';
    await addUncheckedSnapshot(world.acme, room, { name: 'Leaky', source, assets: ['admissions'], runner: world.acme.identity.signPublicKey, recipients: [world.acme.identity.signPublicKey] });
    await world.reopenAcme();
    await sendPacket(world.acme, world.mary, room);
    const snapshot = (await world.mary.core.call('notebook.list', { room })).snapshots.find((candidate) => candidate.name === 'Leaky');
    assert.ok(snapshot !== undefined);
    await world.mary.core.call('approval.grant', { room, snapshot: snapshot.id });
    await sendPacket(world.mary, world.acme, room);
    const view = await runAndCheck(snapshot.id);
    assert.equal(view.state, 'failed');
    assert.equal(view.error?.code, 'POLICY_REFUSED');
    assert.match(view.error?.message ?? '', /^Cell 2 was refused by the room's policy: .*privacy unit patient_id/);
    assert.ok(!(view.error?.message ?? '').includes(marker));
    const run = (await world.acme.core.call('run.list', { room })).runs.find((candidate) => candidate.id === view.run);
    assert.equal(run?.failure?.class, 'PolicyRefused');
    assert.equal(run?.failure?.cell, 2);
  });

  // Issue 17: `sum(readmitted) + 'x'` no longer fails (arithmetic over aggregates is total: NULL);
  // a type error the binder finds, whatever the values, still fails the cell.
  it('after a run that fails in a cell', async () => {
    const snapshot = await approvedSnapshot(world, 'Bad type', '-- %% output=bad\nSELECT lower(ward) + 1 AS x, count(*) AS n FROM admissions GROUP BY x\n');
    const view = await runAndCheck(snapshot);
    assert.equal(view.state, 'failed');
    assert.equal(view.error?.code, 'RUN_FAILED');
    assert.equal(view.error?.message, 'Cell 1: BinderError');
  });

  it('after a cancelled run', async () => {
    const snapshot = await approvedSnapshot(world, 'Slow', slowNotebook);
    const view = await runAndCheck(snapshot, async (current) => {
      await world.acme.core.call('job.cancel', { job: current.id });
    });
    assert.equal(view.state, 'cancelled');
  });

  it('after a run whose worker is killed', async () => {
    const snapshot = await approvedSnapshot(world, 'Slow again', slowNotebook.replace('AS n', 'AS pairs'));
    const view = await runAndCheck(snapshot, () => {
      process.kill(world.acmeWorkers[world.acmeWorkers.length - 1] as number, 'SIGKILL');
    });
    assert.equal(view.state, 'failed');
    const run = (await world.acme.core.call('run.list', { room })).runs.find((candidate) => candidate.id === view.run);
    assert.equal(run?.failure?.class, 'WorkerCrashed');
  });
});
