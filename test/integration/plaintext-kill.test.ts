// No plaintext outlives its process (issue 15). An import and a run over data holding a marker are
// killed with SIGKILL at seeded random moments: first the worker alone (core, in this process,
// carries on), then the host itself (the built `cleanroom` CLI), with no Cleanroom process started
// afterwards. Then, within a few seconds, no process the trial started is still alive holding a
// file of the RAM folder root (named or nameless), no file the killed process left there has a
// byte in it, and no file in the homes, Cleanroom's temporary folders or the RAM folder root holds
// the marker. Seeds and kill moments are printed so a failure can be replayed.
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ramFolderRoot } from '../../electron/core/ram-folder.js';
import { cliEnv, startCli } from '../support/cli-process.js';
import { allFileBytes, liveFileBytes, passphrase, temporaryFolder } from '../support/homes.js';
import { approvedSnapshot, followJob, makeRunWorld, type RunWorld, slowNotebook } from '../support/run-parties.js';
import { seededRandom } from '../support/train-fixtures.js';

const seed = Number(process.env['CLEANROOM_KILL_SEED'] ?? 20_261_208);
const random = seededRandom(seed);
const marker = `MARKER-${randomBytes(8).toString('hex')}`;
const ramRoot = ramFolderRoot().root;
/** The requirement: gone "within a few seconds" of the kill. */
const goneWithinMs = 5_000;
/** Kills per operation and kind of kill: enough for `npm test`; the fault script runs more. */
const trials = 4;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Processes (other than this one) whose environment carries `tag`: a killed host's worker is re-parented, so its pid is found this way. */
function processesTagged(tag: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`).includes(`${tag}\0`)) found.push(Number(name));
    } catch {
      // Gone, or not ours.
    }
  }
  return found;
}

/** Whether a process is still running (a zombie has closed every file). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The descriptors of `pid` that lead into the RAM folder root, including nameless (deleted) files. */
function ramDescriptors(pid: number): string[] {
  const held: string[] = [];
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (target.startsWith(`${ramRoot}/`)) held.push(target);
      } catch {
        // Closed meanwhile.
      }
    }
  } catch {
    // Gone.
  }
  return held;
}

/** Non-empty files in the RAM folders `pid` made (`<pid>-<hex>`). */
function filledRamFiles(pid: number): string[] {
  let names: string[];
  try {
    names = readdirSync(ramRoot).filter((name) => name.startsWith(`${pid}-`));
  } catch {
    return [];
  }
  const files = new Map<string, Buffer>();
  for (const name of names) liveFileBytes(path.join(ramRoot, name), files);
  return [...files].filter(([, bytes]) => bytes.length > 0).map(([name]) => name);
}

/** Removes the (empty) RAM folders of a killed process, as the next start-up's sweep would. */
function removeRamFolders(pid: number): void {
  try {
    for (const name of readdirSync(ramRoot)) if (name.startsWith(`${pid}-`)) rmSync(path.join(ramRoot, name), { recursive: true, force: true });
  } catch {
    // No root: nothing to remove.
  }
}

/** Polls until none of `pids` is running; returns those still running when the requirement's time is up. */
async function stillRunningAfter(pids: readonly number[]): Promise<number[]> {
  const deadline = Date.now() + goneWithinMs;
  for (;;) {
    const left = pids.filter(running);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await sleep(20);
  }
}

/** A CSV of about 20 MB whose wards are the marker: big enough that an import takes a while. */
function writeLargeCsv(file: string): void {
  const rows: string[] = ['patient_id,age_band,ward,readmitted'];
  for (let id = 1; id <= 600_000; id++) rows.push(`${id},${id % 90},${marker}-${id % 7},${id % 2}`);
  writeFileSync(file, `${rows.join('\n')}\n`);
}

describe('no plaintext outlives a killed process', () => {
  const folder = temporaryFolder('plaintext-kill-');
  let world: RunWorld;
  let room = '';
  let snapshot = '';
  let largeCsv = '';
  /** How long an import takes here when nothing stops it: the span kill moments are drawn from. */
  let importMs = 0;

  /** Files of both homes, of Cleanroom's folders in the temp folder, and of the RAM folder root that hold the marker. */
  function filesWithMarker(): string[] {
    const files = new Map<string, Buffer>();
    for (const party of [world.mary, world.acme]) for (const [name, bytes] of allFileBytes(party.home)) files.set(name, bytes);
    for (const name of readdirSync(os.tmpdir())) if (name.startsWith('cleanroom')) liveFileBytes(path.join(os.tmpdir(), name), files);
    liveFileBytes(ramRoot, files);
    const needle = Buffer.from(marker, 'utf8');
    return [...files].filter(([, bytes]) => bytes.includes(needle)).map(([name]) => name);
  }

  before(async () => {
    console.log(`plaintext-kill seed ${seed} (replay with CLEANROOM_KILL_SEED=${seed})`);
    world = await makeRunWorld(folder.dir, { marker });
    room = world.room;
    largeCsv = path.join(world.files, 'large.csv');
    writeLargeCsv(largeCsv);
    // Enough runs for every trial: a killed run counts against its approvals.
    snapshot = await approvedSnapshot(world, 'Slow', slowNotebook, { runs: 100 });
    assert.deepEqual(filesWithMarker(), [], 'only the source files (outside every checked folder) hold the marker');
  });

  after(async () => {
    await world?.close();
    folder.remove();
  });

  /**
   * Waits for the moment to kill: odd trials a random time after the start (up to `span` ms), even
   * ones a random time (up to 300 ms) after a watched process first holds a RAM file, so some kills
   * surely land while plaintext exists. `holding` counts the RAM files of the watched processes;
   * `ended` resolves once the operation has ended by itself. Returns what the log line says.
   */
  async function waitForMoment(trial: number, span: number, holding: () => number, ended: Promise<boolean>): Promise<string> {
    const fromPlaintext = trial % 2 === 0;
    const delay = Math.floor(random() * (fromPlaintext ? 300 : span));
    /** Waits 10 ms; true once the operation has ended by itself. */
    const tick = () => Promise.race([ended, sleep(10).then(() => false)]);
    if (fromPlaintext) {
      while (holding() === 0) if (await tick()) break;
    }
    const until = Date.now() + delay;
    while (Date.now() < until) {
      if (await tick()) break;
      holding();
    }
    return `at ${delay} ms ${fromPlaintext ? 'after the first plaintext file' : 'after the start'}, holding ${holding()} RAM file(s)`;
  }

  describe('the worker killed, core carrying on', () => {
    before(async () => {
      const started = Date.now();
      const { job } = await world.acme.core.call('table.add', { room, name: 'large', path: largeCsv });
      const view = await followJob(world.acme, job);
      importMs = Date.now() - started;
      console.log(`  an import whole: ${importMs} ms`);
      assert.equal(view.state, 'done', JSON.stringify(view.error));
      assert.deepEqual(filesWithMarker(), [], 'a whole import leaves no marker either');
    });

    /** Starts an operation, kills the newest worker at a random moment, and follows the job to its end. */
    async function killWorker(label: string, trial: number, span: number, start: () => Promise<string>): Promise<void> {
      const job = await start();
      const worker = world.acmeWorkers[world.acmeWorkers.length - 1] as number;
      let done = false;
      const ended = followJob(world.acme, job).then(() => (done = true));
      const moment = await waitForMoment(trial, span, () => ramDescriptors(worker).length, ended);
      if (!done) process.kill(worker, 'SIGKILL');
      const view = await followJob(world.acme, job);
      console.log(`  worker kill: ${label} #${trial} ${moment} -> job ${view.state}`);
      assert.deepEqual(await stillRunningAfter([worker]), []);
      // Reaped, so core has seen the exit: the next trial's request starts a new worker instead of meeting this one.
      while (existsSync(`/proc/${worker}`)) await sleep(10);
      assert.deepEqual(filledRamFiles(process.pid), [], 'no RAM file of this process has a byte in it');
      assert.deepEqual(filesWithMarker(), [], 'no file holds the marker');
    }

    it('during an import', async () => {
      for (let trial = 1; trial <= trials; trial++) {
        await killWorker('import', trial, importMs, async () => (await world.acme.core.call('table.add', { room, name: `large_w${trial}`, path: largeCsv })).job);
      }
    });

    it('during a run', async () => {
      for (let trial = 1; trial <= trials; trial++) {
        await killWorker('run', trial, 2_000, async () => (await world.acme.core.call('run.start', { room, snapshot })).job);
      }
    });
  });

  describe('the host (the cleanroom CLI) killed, nothing started afterwards', () => {
    /** How long `cleanroom table add` takes here when nothing stops it, start-up included. */
    let cliImportMs = 0;

    before(async () => {
      // The CLI must own Acme's home: one process per home.
      await world.acme.core.close();
      const started = Date.now();
      const whole = await startCli(['--home', world.acme.home, 'table', 'add', room, '--name', 'large_h0', '--file', largeCsv], cliEnv({ CLEANROOM_PASSPHRASE: passphrase })).result;
      cliImportMs = Date.now() - started;
      console.log(`  a CLI import whole: ${cliImportMs} ms`);
      assert.equal(whole.code, 0, whole.stderr);
    });

    /**
     * Runs `cleanroom --home <acme> ...args`, kills it with SIGKILL at a random moment (from its
     * start, or from when its worker first holds a RAM file), then checks what is left.
     */
    async function killHost(label: string, trial: number, span: number, args: readonly string[]): Promise<void> {
      const tag = `PLAINTEXT_KILL_TRIAL=${process.pid}-${label}-${trial}`;
      const [tagName, tagValue] = tag.split('=') as [string, string];
      const cli = startCli(['--home', world.acme.home, ...args], cliEnv({ CLEANROOM_PASSPHRASE: passphrase, [tagName]: tagValue }));
      const child: ChildProcess = cli.child;
      const seen = new Set<number>();
      const holding = (): number => {
        let held = 0;
        for (const pid of processesTagged(tag)) {
          seen.add(pid);
          held += ramDescriptors(pid).length;
        }
        return held;
      };
      const moment = await waitForMoment(trial, span, holding, cli.result.then(() => true));
      const killedAt = Date.now();
      child.kill('SIGKILL');
      const left = await stillRunningAfter([...seen]);
      const goneAfter = Date.now() - killedAt;
      // Only now: the result waits for the worker too (it shares the CLI's stderr).
      const result = await cli.result;
      holding();
      const cliPid = child.pid as number;
      console.log(`  host kill: ${label} #${trial} ${moment}, ${seen.size} process(es) -> ${result.signal ?? `exit ${result.code}`}; all gone ${goneAfter} ms after the kill`);
      assert.deepEqual(left, [], 'every process of the killed host is gone');
      for (const pid of seen) assert.deepEqual(ramDescriptors(pid), []);
      assert.deepEqual(filledRamFiles(cliPid), [], 'no RAM file the killed host made has a byte in it');
      assert.deepEqual(filesWithMarker(), [], 'no file holds the marker');
      removeRamFolders(cliPid);
    }

    it('during an import', async () => {
      for (let trial = 1; trial <= trials; trial++) {
        await killHost('import', trial, cliImportMs, ['table', 'add', room, '--name', `large_h${trial}`, '--file', largeCsv]);
      }
    });

    it('during a run', async () => {
      for (let trial = 1; trial <= trials; trial++) await killHost('run', trial, 3_000, ['run', room, snapshot]);
    });
  });
});
