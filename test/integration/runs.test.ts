// Running approved code through core, two real homes and the real worker: St Mary's admissions and
// Acme's claims, Acme's notebook approved by St Mary, run by Acme with k-suppression; the run in
// both homes' history; refusals for a snapshot that may not run (used up, another runner, revoked,
// expired, a payload missing or swapped), none of which records a run; cancel, a killed worker and
// a time limit each end the run with a signed receipt and nothing kept.
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { type Core } from '../../electron/core/index.js';
import { type JobView } from '../../shared/asset.js';
import { verifyReceipt } from '../../shared/receipt.js';
import { temporaryFolder } from '../support/homes.js';
import {
  admissionsRows,
  approvedSnapshot,
  claimsRows,
  expectedRates,
  followJob,
  jointNotebook,
  makeRunWorld,
  type RunWorld,
  sendPacket,
  slowNotebook,
} from '../support/run-parties.js';
import { whileClosed } from '../support/core-parties.js';

const dayMs = 24 * 60 * 60 * 1000;

async function refusal(core: Core, room: string, snapshot: string): Promise<{ code: string; message: string }> {
  const result = await core.dispatch('run.start', { room, snapshot });
  assert.equal(result.ok, false, 'the run is refused');
  if (result.ok) throw new Error('unreachable');
  assert.ok(!result.error.message.includes('\n'), 'one line');
  return result.error;
}

describe('runs', () => {
  const folder = temporaryFolder();
  let world: RunWorld;
  let room = '';
  let joint = '';
  let run = '';

  before(async () => {
    world = await makeRunWorld(folder.dir);
    room = world.room;
    joint = await approvedSnapshot(world, 'Readmissions by plan', jointNotebook);
  });

  after(async () => {
    await world?.close();
    folder.remove();
  });

  it('runs the joint analysis: progress, outputs with small groups suppressed, a signed receipt', async () => {
    const { acme } = world;
    const before = await acme.core.call('notebook.show', { room, snapshot: joint });
    assert.equal(before.status.canRun, true, before.status.reasons.join('; '));
    const started = await acme.core.call('run.start', { room, snapshot: joint });
    run = started.run;
    assert.match(run, /^[0-9a-f]{64}$/);
    const messages = new Set<string>();
    const done = await followJob(acme, started.job, (view) => void messages.add(view.message));
    assert.equal(done.state, 'done', JSON.stringify(done.error));
    assert.equal(done.kind, 'run');
    assert.equal(done.run, run);
    const expected = expectedRates(admissionsRows(), claimsRows());
    // Issue 17: groups below k are removed uncounted; the count is of withheld values (here the
    // readmissions of groups with fewer than k readmitted people).
    assert.ok(expected.suppressed > 0, 'the data has values to withhold');
    assert.equal(done.message, `Finished “Readmissions by plan”: 1 output, ${expected.suppressed} value${expected.suppressed === 1 ? '' : 's'} withheld.`);
    for (const message of messages) assert.match(message, /^(Starting “Readmissions by plan”…|Decrypting… .+ of .+|Running cell [12] of 2)$/);

    const { outputs } = await acme.core.call('output.list', { room });
    assert.deepEqual(outputs.map((output) => [output.name, output.source, output.runner, output.run]), [['rates', 'mine', 'Acme', run]]);
    const shown = await acme.core.call('output.show', { room, output: 'rates' });
    assert.deepEqual(shown.output.columns.map((column) => column.name), ['age_band', 'plan', 'n', 'readmissions']);
    const rows = shown.rows.map((row) => row.map((value) => (value === null ? null : String(value)))).sort((x, y) => x.join('|').localeCompare(y.join('|')));
    assert.deepEqual(rows, expected.rows);
    assert.equal(shown.output.suppressedRows, expected.suppressed);
    const page = await acme.core.call('output.show', { room, output: `${run.slice(0, 8)}:rates`, offset: 1, limit: 2 });
    assert.deepEqual(page.rows, shown.rows.slice(1, 3));
    assert.equal(page.offset, 1);

    const [listed] = (await acme.core.call('run.list', { room })).runs;
    assert.equal(listed?.id, run);
    assert.equal(listed?.status, 'succeeded');
    assert.equal(listed?.isMine, true);
    assert.equal(listed?.suppressedRows, expected.suppressed);
    assert.equal(listed?.hasReceipt, true);
    assert.equal(listed?.outputs[0]?.hash, shown.output.hash);

    const receipt = await acme.core.call('run.receipt', { room, run: run.slice(0, 10) });
    assert.equal(receipt.fileName, `readmissions-${run.slice(0, 8)}.cleanroom-receipt`);
    const checked = verifyReceipt(receipt.receipt, { runnerKey: acme.identity.signPublicKey, expected: { snapshot: joint, outputs: [{ name: 'rates', hash: shown.output.hash }] } });
    assert.ok(checked.ok, checked.ok ? '' : checked.reason);
    assert.equal(checked.receipt.status, 'succeeded');
    assert.equal(checked.receipt.approvals.length, 2, "Acme's and St Mary's approvals");
    assert.deepEqual(checked.receipt.outputs.map((output) => [output.name, output.rows, output.suppressedRows]), [['rates', expected.rows.length, expected.suppressed]]);
    const verified = await acme.core.call('receipt.verify', { receipt: receipt.receipt });
    assert.equal(verified.ok, true, verified.reason ?? '');
    assert.ok(verified.checks.includes('output rates matches the copy this home holds'), verified.checks.join('\n'));
  });

  it('shows the run in the other member\'s history after a packet, and counts it against the approvals', async () => {
    const { acme, mary } = world;
    await sendPacket(acme, mary, room);
    const [seen] = (await mary.core.call('run.list', { room })).runs;
    assert.equal(seen?.id, run);
    assert.equal(seen?.runner, 'Acme');
    assert.equal(seen?.isMine, false);
    assert.equal(seen?.status, 'succeeded');
    const expected = expectedRates(admissionsRows(), claimsRows());
    assert.equal(seen?.suppressedRows, expected.suppressed);
    const detail = await mary.core.call('room.show', { room });
    // Issue 17: the log counts withheld values.
    assert.ok(detail.log.some((item) => item.summary === `Acme ran “Readmissions by plan” (succeeded, ${expected.suppressed} value${expected.suppressed === 1 ? '' : 's'} withheld)`), detail.log.map((item) => item.summary).join('\n'));
    const { receipt } = await mary.core.call('run.receipt', { room, run });
    const verified = await mary.core.call('receipt.verify', { receipt });
    assert.equal(verified.ok, true, verified.reason ?? '');
    assert.equal(verified.runner, 'Acme');
    assert.deepEqual(verified.outputs.map((output) => output.matches), [null], 'St Mary does not hold the output yet');
    const shown = await mary.core.call('notebook.show', { room, snapshot: joint });
    assert.equal(shown.status.members.find((member) => member.alias === 'St Mary')?.runsLeft, 0);
  });

  it('refuses a second run once an approval is used up, and a run by anyone but the runner', async () => {
    const { acme, mary } = world;
    const usedUp = await refusal(acme.core, room, joint);
    assert.equal(usedUp.code, 'NOT_ALLOWED');
    assert.equal(usedUp.message, "“Readmissions by plan” cannot run in Readmissions: St Mary's approval has no runs left; Acme's approval has no runs left.");
    const other = await refusal(mary.core, room, joint);
    assert.equal(other.code, 'NOT_ALLOWED');
    assert.equal(other.message, 'Acme is the runner of “Readmissions by plan”; only they can run it.');
    assert.equal((await acme.core.call('run.list', { room })).runs.length, 1, 'no run was recorded');
  });

  it('refuses a revoked approval and an expired one', async () => {
    const { acme, mary } = world;
    const revoked = await approvedSnapshot(world, 'Revoked', jointNotebook.replace('count(*) AS n', 'count(*) AS patients'));
    await mary.core.call('approval.revoke', { room, snapshot: revoked });
    await sendPacket(mary, acme, room);
    const error = await refusal(acme.core, room, revoked);
    assert.equal(error.code, 'NOT_ALLOWED');
    assert.match(error.message, /St Mary revoked their approval/);

    const expiring = await approvedSnapshot(world, 'Expiring', jointNotebook.replace('count(*) AS n', 'count(*) AS people'), { expiresDays: 1 });
    world.clock.advance(2 * dayMs);
    const expired = await refusal(acme.core, room, expiring);
    assert.equal(expired.code, 'NOT_ALLOWED');
    assert.match(expired.message, /St Mary's approval expired on \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    assert.equal((await acme.core.call('run.list', { room })).runs.length, 1, 'no run was recorded');
  });

  it('refuses a payload that has not arrived or was swapped, before anything is decrypted', async () => {
    const { acme, mary } = world;
    const snapshot = await approvedSnapshot(world, 'Payload checks', jointNotebook.replace('count(*) AS n', 'count(*) AS rows_joined'), { runs: 10 });
    const admissions = (await mary.core.call('asset.list', { room })).assets.find((asset) => asset.name === 'admissions');
    assert.ok(admissions !== undefined);
    const claims = (await acme.core.call('asset.list', { room })).assets.find((asset) => asset.name === 'claims');
    assert.ok(claims !== undefined);
    const vault = path.join(acme.home, 'vault');
    const file = path.join(vault, `${admissions.payloadHash}.payload`);
    assert.ok(readdirSync(vault).includes(path.basename(file)), 'Acme holds the admissions payload');

    renameSync(file, `${file}.away`);
    const missing = await refusal(acme.core, room, snapshot);
    assert.equal(missing.code, 'NOT_FOUND');
    assert.equal(missing.message, 'The payload of table admissions has not arrived; import a packet from its owner, St Mary.');

    // Another payload (Acme's own claims) under the admissions name, then the right size but changed bytes.
    copyFileSync(path.join(vault, `${claims.payloadHash}.payload`), file);
    const swapped = await refusal(acme.core, room, snapshot);
    assert.equal(swapped.code, 'NOT_ALLOWED');
    assert.match(swapped.message, /^The payload of table admissions in this home is not the one the snapshot was approved with \(it was changed or swapped\); nothing was decrypted\./);
    copyFileSync(`${file}.away`, file);
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] as number) ^ 1;
    writeFileSync(file, bytes);
    assert.equal((await refusal(acme.core, room, snapshot)).code, 'NOT_ALLOWED');
    renameSync(`${file}.away`, file);
    assert.equal((await acme.core.call('run.list', { room })).runs.length, 1, 'no run was recorded');

    const started = await acme.core.call('run.start', { room, snapshot });
    assert.equal((await followJob(acme, started.job)).state, 'done', 'with the payload back, it runs');
  });

  /** Starts a run of the slow notebook and acts once its cell is running. */
  async function slowRun(act: (view: JobView) => Promise<void> | void, snapshotName: string): Promise<{ run: string; view: JobView }> {
    const { acme } = world;
    const snapshot = await approvedSnapshot(world, snapshotName, slowNotebook.replace('AS n', `AS ${snapshotName.toLowerCase().replace(/\W+/g, '_')}`));
    const started = await acme.core.call('run.start', { room, snapshot });
    let acted = false;
    const view = await followJob(acme, started.job, async (current) => {
      if (acted || !current.message.startsWith('Running cell')) return;
      acted = true;
      await act(current);
    });
    assert.ok(acted, `the run reached its cell (${view.message})`);
    return { run: started.run, view };
  }

  async function runOf(id: string) {
    const found = (await world.acme.core.call('run.list', { room })).runs.find((candidate) => candidate.id === id);
    assert.ok(found !== undefined);
    return found;
  }

  it('cancels a run mid-way: the worker is stopped, the run is cancelled with a receipt, nothing kept', async () => {
    const { acme } = world;
    let cancelled: JobView | null = null;
    const { run: id, view } = await slowRun(async (current) => {
      cancelled = await acme.core.call('job.cancel', { job: current.id });
    }, 'Cancelled');
    assert.equal(view.state, 'cancelled');
    assert.equal((cancelled as JobView | null)?.state, 'cancelled');
    assert.equal(view.error?.code, 'CANCELLED');
    assert.equal(view.message, 'Cancelled “Cancelled”; nothing was kept.');
    const ended = await runOf(id);
    assert.equal(ended.status, 'cancelled');
    assert.deepEqual(ended.outputs, []);
    assert.equal(ended.hasReceipt, true);
    const { receipt } = await acme.core.call('run.receipt', { room, run: id });
    assert.equal((await acme.core.call('receipt.verify', { receipt })).status, 'cancelled');
    assert.ok(!(await acme.core.call('output.list', { room })).outputs.some((output) => output.run === id));
    // The next request starts a new worker.
    assert.match((await acme.core.call('engine.info', {})).duckdbVersion, /^v?\d/);
  });

  it('ends a run whose worker is killed as failed (WorkerCrashed), and the app carries on', async () => {
    const { acme } = world;
    const { run: id, view } = await slowRun(() => {
      const pid = world.acmeWorkers[world.acmeWorkers.length - 1] as number;
      process.kill(pid, 'SIGKILL');
    }, 'Killed');
    assert.equal(view.state, 'failed');
    assert.equal(view.error?.code, 'RUN_FAILED');
    assert.match(view.error?.message ?? '', /worker stopped during the run/);
    const ended = await runOf(id);
    assert.equal(ended.status, 'failed');
    assert.deepEqual(ended.failure, { class: 'WorkerCrashed', cell: null, reasons: [] });
    assert.match((await acme.core.call('engine.info', {})).duckdbVersion, /^v?\d/);
  });

  it('stops a run at its time limit: failed, class Timeout', async () => {
    await world.reopenAcme({ runTimeoutMs: 8000 });
    const { run: id, view } = await slowRun(() => undefined, 'Timed out');
    assert.equal(view.state, 'failed');
    assert.equal(view.error?.code, 'RUN_FAILED');
    assert.match(view.error?.message ?? '', /time limit/);
    const ended = await runOf(id);
    assert.deepEqual(ended.failure, { class: 'Timeout', cell: null, reasons: [] });
    await world.reopenAcme();
  });

  it('marks a run left running by a crash as interrupted at the next start-up', async () => {
    const { acme } = world;
    const fake = 'e'.repeat(64);
    const roomId = room;
    await whileClosed(acme, () => {
      const db = new Database(path.join(acme.home, 'cleanroom.db'));
      try {
        db.prepare("INSERT INTO runs (id, room, snapshot, status, started_at) VALUES (?, ?, ?, 'running', ?)").run(fake, roomId, joint, new Date().toISOString());
      } finally {
        db.close();
      }
    });
    await world.reopenAcme();
    const found = await runOf(fake);
    assert.equal(found.status, 'interrupted');
    assert.equal(found.hasReceipt, false);
    const error = await acme.core.dispatch('run.receipt', { room, run: fake });
    assert.ok(!error.ok && /interrupted/.test(error.error.message));
  });

  it('deletes outputs once the room\'s retention has passed', async () => {
    const { acme } = world;
    assert.ok((await acme.core.call('output.list', { room })).outputs.length > 0);
    world.clock.advance(31 * dayMs);
    assert.deepEqual((await acme.core.call('output.list', { room })).outputs, []);
    const gone = await acme.core.dispatch('output.show', { room, output: 'rates' });
    assert.ok(!gone.ok && gone.error.code === 'NOT_FOUND');
    assert.equal((await runOf(run)).status, 'succeeded', 'the run and its receipt stay');
  });
});
