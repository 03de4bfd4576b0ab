// Issue 15: a run whose process is killed (SIGKILL, in a child process on Acme's home) before
// anything came out of it used no run of its approvals. The same snapshot then runs on the same
// approvals (one run each, the default), and the receipt of that run lists the interrupted attempt,
// verifies, and reaches St Mary, whose home counts the runs exactly as Acme's does. A run whose end
// was committed (outputs, ledger sets, receipt) counts even if its process is killed right after,
// and so does an interrupted run with values recorded as released: neither can be retried. A
// hundred interrupted attempts waiting, as many as a receipt lists, stop further tries.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { verifyReceipt } from '../../shared/receipt.js';
import { temporaryFolder } from '../support/homes.js';
import { repoRoot, tsxExecArgv } from '../support/paths.js';
import { approvedSnapshot, followJob, jointNotebook, makeRunWorld, type RunWorld, sendPacket } from '../support/run-parties.js';

const childScript = path.join(repoRoot, 'test', 'support', 'run-crash-child.ts');

describe('an interrupted run is retried on the same approvals (issue 15)', () => {
  const folder = temporaryFolder('run-retry-test-');
  let world: RunWorld;
  let room = '';

  before(async () => {
    world = await makeRunWorld(folder.dir);
    room = world.room;
  });

  after(async () => {
    await world?.close();
    folder.remove();
  });

  const dbOf = (readonly: boolean) => new Database(path.join(world.acme.home, 'cleanroom.db'), { readonly });

  /** Runs the snapshot in a child process on Acme's home that dies by SIGKILL at `when`; Acme's core is reopened after. */
  async function crash(snapshot: string, when: 'running' | 'answered' | 'ended'): Promise<{ run: string; approvals: string[] }> {
    await world.acme.core.close();
    const child = spawn(process.execPath, [...tsxExecArgv, childScript, world.acme.home, room, snapshot, when], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.once('close', (_code, killed) => resolve(killed)));
    assert.equal(signal, 'SIGKILL', `the child died at ${when}: ${stderr}`);
    const run = stdout.trim();
    assert.match(run, /^[0-9a-f]{64}$/);
    const db = dbOf(true);
    let approvals: string[];
    try {
      approvals = (db.prepare('SELECT approval FROM run_approvals WHERE run = ? ORDER BY approval').all(run) as { approval: string }[]).map((row) => row.approval);
    } finally {
      db.close();
    }
    await world.reopenAcme();
    return { run, approvals };
  }

  async function runOf(id: string) {
    return (await world.acme.core.call('run.list', { room })).runs.find((candidate) => candidate.id === id);
  }

  async function usedUp(snapshot: string, name: string): Promise<void> {
    const refused = await world.acme.core.dispatch('run.start', { room, snapshot });
    assert.equal(refused.ok, false, 'the run is refused');
    if (refused.ok) return;
    assert.equal(refused.error.code, 'NOT_ALLOWED');
    assert.equal(refused.error.message, `“${name}” cannot run in Readmissions: St Mary's approval has no runs left; Acme's approval has no runs left.`);
  }

  /** Runs the snapshot to its end in Acme's core; returns the run id. */
  async function runToEnd(snapshot: string): Promise<string> {
    const started = await world.acme.core.call('run.start', { room, snapshot });
    const ended = await followJob(world.acme, started.job);
    assert.equal(ended.state, 'done', JSON.stringify(ended.error));
    return started.run;
  }

  it('runs again after a kill mid-cell: the receipt lists the interrupted attempt and verifies, in both homes', async () => {
    const { acme, mary } = world;
    const snapshot = await approvedSnapshot(world, 'Retried', jointNotebook);
    const attempt = await crash(snapshot, 'running');
    assert.equal(attempt.approvals.length, 2, "the attempt took Acme's and St Mary's approvals");

    const interrupted = await runOf(attempt.run);
    assert.equal(interrupted?.status, 'interrupted');
    assert.equal(interrupted?.hasReceipt, false);
    assert.equal(interrupted?.listedIn, null);
    const waiting = await acme.core.call('notebook.show', { room, snapshot });
    assert.equal(waiting.status.canRun, true, waiting.status.reasons.join('; '));
    assert.deepEqual(waiting.status.members.map((member) => member.runsLeft), [1, 1], 'the attempt used no run');

    const retry = await runToEnd(snapshot);
    const { receipt } = await acme.core.call('run.receipt', { room, run: retry });
    const checked = verifyReceipt(receipt, { runnerKey: acme.identity.signPublicKey, expected: { snapshot } });
    assert.ok(checked.ok, checked.ok ? '' : checked.reason);
    assert.equal(checked.receipt.format, 'cleanroom-receipt/2');
    assert.equal(checked.receipt.status, 'succeeded');
    assert.deepEqual(checked.receipt.approvals, attempt.approvals, 'the same approvals');
    assert.deepEqual(checked.receipt.interrupted, [{ run: attempt.run, startedAt: interrupted?.startedAt }]);
    const verified = await acme.core.call('receipt.verify', { receipt });
    assert.equal(verified.ok, true, verified.reason ?? '');
    assert.ok(verified.checks.includes('the file is a well-formed cleanroom-receipt/2'), verified.checks.join('\n'));
    assert.ok(verified.checks.includes('after 1 interrupted attempt that used no run (nothing came out of them), none a run recorded in the room'), verified.checks.join('\n'));

    const retried = await runOf(retry);
    assert.deepEqual(retried?.interruptedAttempts, checked.receipt.interrupted);
    assert.equal((await runOf(attempt.run))?.listedIn, retry, 'listed once, by this run');
    await usedUp(snapshot, 'Retried');

    // St Mary never saw the attempt, only the receipt that lists it: both homes count one run.
    await sendPacket(acme, mary, room);
    const seen = (await mary.core.call('run.list', { room })).runs.filter((run) => run.snapshot === snapshot);
    assert.deepEqual(seen.map((run) => [run.id, run.status, run.interruptedAttempts]), [[retry, 'succeeded', checked.receipt.interrupted]]);
    const atMary = await mary.core.call('receipt.verify', { receipt });
    assert.equal(atMary.ok, true, atMary.reason ?? '');
    const shownAtMary = await mary.core.call('notebook.show', { room, snapshot });
    const shownAtAcme = await acme.core.call('notebook.show', { room, snapshot });
    assert.deepEqual(shownAtMary.status, shownAtAcme.status);
    assert.deepEqual(shownAtAcme.status.members.map((member) => member.runsLeft), [0, 0]);
  });

  it('runs again after a kill when the worker\'s answer had reached core but nothing was stored or shown', async () => {
    const snapshot = await approvedSnapshot(world, 'Answered', jointNotebook.replace('count(*) AS n', 'count(*) AS people'));
    const attempt = await crash(snapshot, 'answered');
    assert.equal((await runOf(attempt.run))?.status, 'interrupted');
    assert.ok(!(await world.acme.core.call('output.list', { room })).outputs.some((output) => output.run === attempt.run), 'no output was stored');
    const retry = await runToEnd(snapshot);
    const { receipt } = await world.acme.core.call('run.receipt', { room, run: retry });
    const checked = verifyReceipt(receipt, { runnerKey: world.acme.identity.signPublicKey });
    assert.ok(checked.ok, checked.ok ? '' : checked.reason);
    assert.deepEqual(checked.receipt.interrupted?.map((listed) => listed.run), [attempt.run]);
  });

  it('does not retry a run whose end was committed, though its process was killed right after', async () => {
    const snapshot = await approvedSnapshot(world, 'Ended', jointNotebook.replace('count(*) AS n', 'count(*) AS joined'));
    const attempt = await crash(snapshot, 'ended');
    const ended = await runOf(attempt.run);
    assert.equal(ended?.status, 'succeeded');
    assert.equal(ended?.hasReceipt, true);
    await usedUp(snapshot, 'Ended');
  });

  it('stops at as many interrupted attempts as one receipt can list', async () => {
    const snapshot = await approvedSnapshot(world, 'Hundred', jointNotebook.replace('count(*) AS n', 'count(*) AS tries'));
    await world.acme.core.close();
    const db = dbOf(false);
    try {
      const insert = db.prepare("INSERT INTO runs (id, room, snapshot, status, started_at, finished_at) VALUES (?, ?, ?, 'interrupted', ?, ?)");
      const at = new Date().toISOString();
      for (let index = 0; index < 100; index++) insert.run(index.toString(16).padStart(64, 'c'), room, snapshot, at, at);
    } finally {
      db.close();
    }
    await world.reopenAcme();
    const refused = await world.acme.core.dispatch('run.start', { room, snapshot });
    assert.equal(refused.ok ? null : refused.error.code, 'NOT_ALLOWED');
    assert.equal(
      refused.ok ? null : refused.error.message,
      '“Hundred” was interrupted 100 times without ending, as many as one receipt can list; it cannot be tried again in this home. Add the notebook again and ask for new approvals.',
    );
  });

  it('does not retry an interrupted run whose values were recorded as released', async () => {
    const snapshot = await approvedSnapshot(world, 'Released', jointNotebook.replace('count(*) AS n', 'count(*) AS matched'));
    const attempt = await crash(snapshot, 'running');
    // A released value counts as released, whatever the run's row says: what a ledger row would mean.
    await world.acme.core.close();
    const db = dbOf(false);
    try {
      db.prepare('INSERT INTO ledger_runs (run, room, sealed_key, created_at) VALUES (?, ?, ?, ?)').run(attempt.run, room, 'not-a-key', new Date().toISOString());
    } finally {
      db.close();
    }
    await world.reopenAcme();
    assert.equal((await runOf(attempt.run))?.status, 'interrupted');
    await usedUp(snapshot, 'Released');
  });
});
