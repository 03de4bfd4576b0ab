// `npm run faults`: crash every operation that writes — at random moments and at every fsync,
// rename and unlink (strace's fault injection kills the process making the N-th such call, the CLI
// or its worker) — and on a full disk (a small tmpfs), then check what is left:
//   - no process outlives the crash by more than a few seconds, and no file anywhere (the homes,
//     the output folder, the RAM folder, Cleanroom's temp folders) holds the marker value of the
//     hospital's table within a few seconds, before any Cleanroom process starts again;
//   - PRAGMA integrity_check passes; the CLI's words carry no stack lines or "unexpected";
//   - after one start (a read-only command, which must work on a full disk too): no .partial or
//     .tmp left, the vault holds exactly the payloads the database records, the operation either
//     happened or did not (never half), and it can be done again.
// Prints every trial and, per operation, trials, injected crashes and failures; exits 1 on any
// failure. CLEANROOM_FAULTS=ci runs a smaller sample (CI runs that); CLEANROOM_FAULTS_SEED picks
// the random moments. Needs Linux, strace, and root for the tmpfs (or the disk-full pass fails).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { seededRandom } from '../../shared/seeded-random.js';
import { integrity, descendants, plaintextGone, processesGone, vaultAgrees } from './checks.js';
import { leftovers, type Operation, operations, type Trial } from './operations.js';
import { cli, cliCommand, cliEnv, type CliOutcome, copyWorld, buildWorld, parties, type World } from './world.js';

type Fault =
  | { readonly kind: 'none' }
  | { readonly kind: 'boundary'; readonly calls: string; readonly n: number }
  | { readonly kind: 'random'; readonly delayMs: number; readonly victim: 'host' | 'worker' }
  | { readonly kind: 'disk-full' };

interface TrialResult {
  readonly injected: boolean;
  readonly problems: string[];
  /** How long the command itself took (for the random kill moments). */
  readonly durationMs: number;
  readonly summary: string;
}

const mode = process.env['CLEANROOM_FAULTS'] === 'ci' ? 'ci' : 'full';
const seed = Number(process.env['CLEANROOM_FAULTS_SEED'] ?? Date.now() % 100_000);
const random = seededRandom(seed);
const boundaryClasses = [
  { name: 'fsync', calls: 'fsync,fdatasync' },
  { name: 'rename', calls: 'rename,renameat,renameat2' },
  { name: 'unlink', calls: 'unlink,unlinkat' },
];

function describe(fault: Fault): string {
  switch (fault.kind) {
    case 'none':
      return 'no fault';
    case 'boundary':
      return `kill at ${fault.calls.split(',')[0]} #${fault.n}`;
    case 'random':
      return `kill -9 the ${fault.victim} after ${fault.delayMs} ms`;
    case 'disk-full':
      return 'disk full';
  }
}

/**
 * Whether strace's log shows an injected kill: a traced call that never returned ("= ?") in a
 * process then killed by SIGKILL. (The worker also ends itself with SIGKILL when its host is
 * gone, which shows only the "killed" line.)
 */
function killedByInjection(trace: string): boolean {
  // Per process: whether its last traced call has not returned. "12 fsync(3) = ?" never returned;
  // "12 fsync(3 <unfinished ...>" has not yet (another process's line came between) until
  // "12 <... fsync resumed>) = 0".
  const pending = new Map<string, boolean>();
  for (const line of trace.split('\n')) {
    const pid = /^(\d+) /.exec(line)?.[1];
    if (pid === undefined) continue;
    if (line.includes('+++ killed by SIGKILL')) {
      if (pending.get(pid) === true) return true;
    } else if (line.endsWith('<unfinished ...>') || /= \?$/.test(line)) pending.set(pid, true);
    else if (/= -?\d/.test(line)) pending.set(pid, false);
  }
  return false;
}

function waitClose(child: ReturnType<typeof spawn>, limitMs: number): Promise<CliOutcome & { timedOut: boolean }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => {
    let timedOut = false;
    // Not a test bound: a trial that hangs (a worker that never ends) is a failure to report, not to wait for.
    const timer = setTimeout(() => {
      timedOut = true;
      for (const pid of [...descendants(child.pid ?? 0), child.pid ?? 0]) if (pid > 0) process.kill(pid, 'SIGKILL');
    }, limitMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

function folderBytes(folder: string): number {
  let total = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true, recursive: true })) if (entry.isFile()) total += statSync(path.join(entry.parentPath, entry.name)).size;
  return total;
}

/** Fills the file system holding `folder` until a write fails with ENOSPC. */
function fill(folder: string): void {
  const chunk = Buffer.alloc(4096, 7);
  for (let index = 0; ; index++) {
    try {
      writeFileSync(path.join(folder, `filler-${index}`), chunk);
    } catch {
      return;
    }
  }
}

async function runTrial(world: World, operation: Operation, fault: Fault, trialDir: string): Promise<TrialResult> {
  const problems: string[] = [];
  let commandMs = 0;
  mkdirSync(trialDir, { recursive: true });
  let mounted = false;
  if (fault.kind === 'disk-full') {
    const size = parties.reduce((sum, party) => sum + folderBytes(path.join(world.base, party)), 0) + 2 * 1024 * 1024;
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', trialDir], { encoding: 'utf8' });
    if (mount.status !== 0) return { injected: false, problems: [`cannot mount a small tmpfs for the disk-full pass (${mount.stderr.trim() || 'needs root'})`], durationMs: 0, summary: 'not run' };
    mounted = true;
  }
  try {
    const trial: Trial = copyWorld(world, trialDir);
    const home = trial.homes[operation.party];
    const command = cliCommand(home, operation.args(world, trial));
    const env = cliEnv(operation.passphrase);
    let injected = false;
    let outcome: CliOutcome & { timedOut: boolean };
    const started = Date.now();
    const fillers = path.join(trialDir, 'fillers');
    if (fault.kind === 'boundary') {
      const trace = path.join(os.tmpdir(), `faults-trace-${process.pid}`);
      const child = spawn('strace', ['-f', '-qq', '-o', trace, '-e', `trace=${fault.calls}`, '-e', `inject=${fault.calls}:signal=KILL:when=${fault.n}`, ...command], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      outcome = await waitClose(child, 120_000);
      injected = killedByInjection(readFileSync(trace, 'utf8'));
      rmSync(trace, { force: true });
    } else {
      if (fault.kind === 'disk-full') {
        mkdirSync(fillers);
        fill(fillers);
      }
      const [file, ...args] = command as [string, ...string[]];
      const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const closing = waitClose(child, 120_000);
      let watched: number[] = [];
      if (fault.kind === 'random') {
        await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
        const family = descendants(child.pid ?? 0);
        const victim = fault.victim === 'worker' && family.length > 0 ? (family[0] as number) : (child.pid as number);
        watched = [child.pid as number, ...family];
        try {
          if (child.exitCode === null) {
            process.kill(victim, 'SIGKILL');
            injected = true;
          }
        } catch {
          // It ended on its own just before.
        }
      }
      outcome = await closing;
      const gone = await processesGone(watched);
      if (gone !== null) problems.push(gone);
    }
    commandMs = Date.now() - started;
    if (outcome.timedOut) problems.push('the command did not end within 120 s');

    const plaintext = await plaintextGone(trialDir, world.marker);
    if (plaintext !== null) problems.push(plaintext);
    const checkIntegrity = (): void => {
      for (const party of parties) {
        const broken = integrity(trial.homes[party]);
        if (broken !== null) problems.push(broken);
      }
    };
    // On a full disk SQLite cannot even make the shared-memory file it reads through: check there once space is back.
    if (fault.kind !== 'disk-full') checkIntegrity();
    const words = `${outcome.stdout}\n${outcome.stderr}`;
    // A stack line, or core's last-resort "unexpected Error in …", means an error we did not put in words.
    if (/\n\s+at [^\n]+:\d+:\d+/.test(words) || /unexpected [A-Z]\w*(Error|Exception)\b/.test(words)) problems.push(`the command's words are not ours: ${outcome.stderr.trim().slice(0, 300)}`);
    if (fault.kind === 'disk-full' && outcome.code !== 0 && !/disk is full/i.test(words)) problems.push(`on a full disk it said: ${words.trim().slice(0, 300)}`);

    // One start of Cleanroom (a read-only command, which must work even on a full disk).
    for (const party of parties) {
      const listed = await cli(trial.homes[party], ['room', 'list']);
      if (listed.code !== 0) problems.push(`${party}: \`room list\` fails after the crash: ${listed.stderr.trim().slice(0, 300)}`);
    }
    if (fault.kind === 'disk-full') {
      rmSync(fillers, { recursive: true, force: true });
      checkIntegrity();
    }
    const left = leftovers(trialDir);
    if (left.length > 0) problems.push(`left behind: ${left.map((file) => path.relative(trialDir, file)).join(', ')}`);
    for (const party of parties) {
      const disagreement = vaultAgrees(trial.homes[party]);
      if (disagreement !== null) problems.push(`${party}: ${disagreement}`);
    }

    let state = await operation.outcome(world, trial);
    let summary = `exit ${outcome.code ?? outcome.signal}, ${state.kind === 'half-done' ? 'half-done' : state.kind === 'new' ? 'done' : 'not done'}`;
    if (state.kind === 'half-done') problems.push(state.problem);
    else if (state.kind === 'old' || operation.repeatable) {
      const again = await cli(home, operation.args(world, trial), operation.passphrase);
      if (again.code !== 0) problems.push(`cannot be done again: ${again.stderr.trim().slice(0, 300)}`);
      else {
        state = await operation.outcome(world, trial);
        if (state.kind !== 'new') problems.push(`done again, but the home shows ${state.kind === 'half-done' ? state.problem : 'the old state'}`);
        summary += ', redone';
      }
    }
    return { injected, problems, durationMs: commandMs, summary };
  } finally {
    if (mounted) spawnSync('umount', [trialDir]);
    rmSync(trialDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'faults-'));
  console.log(`fault injection (${mode}), seed ${seed}; building the world in ${work}`);
  const world = await buildWorld(work);
  const rows: { name: string; trials: number; injected: number; failures: number }[] = [];
  let trialCount = 0;
  for (const operation of operations) {
    const row = { name: operation.name, trials: 0, injected: 0, failures: 0 };
    rows.push(row);
    const attempt = async (fault: Fault): Promise<TrialResult> => {
      const result = await runTrial(world, operation, fault, path.join(work, 'trials', String(trialCount++)));
      row.trials++;
      if (result.injected) row.injected++;
      if (result.problems.length > 0) row.failures++;
      const verdict = result.problems.length === 0 ? 'ok' : `FAILED\n      ${result.problems.join('\n      ')}`;
      console.log(`  ${operation.name}: ${describe(fault)}${fault.kind === 'boundary' || fault.kind === 'random' ? (result.injected ? '' : ' (ended first)') : ''} → ${result.summary} — ${verdict}`);
      return result;
    };

    const baseline = await attempt({ kind: 'none' });
    for (const boundary of boundaryClasses) {
      if (mode === 'ci') {
        // The first such call, and one later one at random.
        for (const n of [1, 2 + Math.floor(random() * 4)]) if (!(await attempt({ kind: 'boundary', calls: boundary.calls, n })).injected) break;
      } else {
        for (let n = 1; n <= 60; n++) if (!(await attempt({ kind: 'boundary', calls: boundary.calls, n })).injected) break;
      }
    }
    const randomKills = mode === 'ci' ? 2 : 10;
    for (let index = 0; index < randomKills; index++) {
      await attempt({ kind: 'random', delayMs: Math.round(random() * Math.max(200, baseline.durationMs * 0.6)), victim: random() < 0.5 ? 'host' : 'worker' });
    }
    await attempt({ kind: 'disk-full' });
  }

  console.log('\noperation            trials  crashes  failures');
  for (const row of rows) console.log(`${row.name.padEnd(20)} ${String(row.trials).padStart(6)}  ${String(row.injected).padStart(7)}  ${String(row.failures).padStart(8)}`);
  const failures = rows.reduce((sum, row) => sum + row.failures, 0);
  console.log(`${rows.reduce((sum, row) => sum + row.trials, 0)} trials, ${failures} failures (seed ${seed})`);
  rmSync(work, { recursive: true, force: true });
  process.exit(failures === 0 ? 0 : 1);
}

try {
  await main();
} catch (error) {
  // A world that cannot be built (no build, no strace) is said in one line, not a stack.
  console.error(`faults: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
