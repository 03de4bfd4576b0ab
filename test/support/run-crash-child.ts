// A Cleanroom process that dies by SIGKILL part-way through a run, for the run-retry tests (issue
// 15): `node --import tsx run-crash-child.ts HOME ROOM SNAPSHOT WHEN`. It opens the home's core as
// the app or CLI would, starts the run and kills itself (and its worker) with no chance to tidy up:
// - `running`: at the worker's first progress message of the running phase (keys unsealed, inputs
//   decrypted, a cell starting), before the worker has answered;
// - `answered`: when the worker's answer, outputs included, reaches core, before core handles it;
// - `ended`: once the run's job has ended (its end, outputs and receipt committed).
import { openCore } from '../../electron/core/index.js';
import { type WorkerChannel, type WorkerLauncher } from '../../electron/core/worker-host.js';
import { launchNodeWorker } from '../../electron/core/worker-launch-node.js';
import { passphrase } from './homes.js';
import { tsxExecArgv, workerSourceEntry } from './paths.js';

const [home, room, snapshot, when] = process.argv.slice(2) as [string, string, string, string];
if (!['running', 'answered', 'ended'].includes(when)) throw new Error(`unknown moment ${when}`);

let worker: WorkerChannel | null = null;
function die(): never {
  worker?.kill();
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
}

const isMoment = (message: unknown): boolean => {
  if (typeof message !== 'object' || message === null) return false;
  const { kind, phase } = message as { kind?: unknown; phase?: unknown };
  return when === 'running' ? kind === 'progress' && phase === 'running' : when === 'answered' && kind === 'result';
};

const launch: WorkerLauncher = (entry, execArgv) => {
  const channel = launchNodeWorker(entry, execArgv);
  worker = channel;
  return {
    get pid() {
      return channel.pid;
    },
    send: (message) => channel.send(message),
    // Dies before core sees the message: core never learns of the moment.
    onMessage: (listener) => channel.onMessage((message) => (isMoment(message) ? die() : listener(message))),
    onExit: (listener) => channel.onExit(listener),
    kill: () => channel.kill(),
  };
};

const core = await openCore({ home, host: 'cli', workerEntry: workerSourceEntry, workerExecArgv: tsxExecArgv, launchWorker: launch });
await core.call('identity.unlock', { passphrase });
const started = await core.call('run.start', { room, snapshot });
process.stdout.write(`${started.run}\n`);
for (;;) {
  const view = await core.call('job.status', { job: started.job });
  if (view.state !== 'running') break;
  await new Promise((resolve) => setTimeout(resolve, 10));
}
// The job ended: the worker's moment never came (`running`, `answered`), or this is `ended`.
if (when === 'ended') die();
process.stderr.write('the run ended before the moment to die came\n');
process.exit(3);
