// Starts the DuckDB worker as an Electron utilityProcess: the launcher for the desktop app.
// Pass it to `new WorkerHost({ entry, launch: launchUtilityWorker })` once `app` is ready
// (utilityProcess.fork may only be called after the app's 'ready' event).

import { utilityProcess } from 'electron';
import { type WorkerChannel, type WorkerExit, type WorkerLauncher } from '../core/worker-host.js';
import { workerEnvironment } from '../core/worker-launch-node.js';

/** utilityProcess.kill() sends SIGTERM; a worker that has not gone by then gets SIGKILL. */
const killGraceMs = 2_000;

export const launchUtilityWorker: WorkerLauncher = (entry: string, execArgv: string[]): WorkerChannel => {
  const child = utilityProcess.fork(entry, [], {
    execArgv,
    env: workerEnvironment(process.env),
    serviceName: 'Cleanroom DuckDB worker',
    // stdin must be 'ignore' for a utility process; stdout is discarded so nothing can leak there.
    stdio: ['ignore', 'ignore', 'inherit'],
  });

  // child.pid turns undefined again after 'exit'; keep it for the SIGKILL fallback and callers.
  let spawnedPid: number | undefined;
  let exited = false;
  let killRequested = false;
  const exitListeners: ((exit: WorkerExit) => void)[] = [];
  child.once('spawn', () => {
    spawnedPid = child.pid;
    // A kill asked for before the process existed is carried out as soon as it does.
    if (killRequested) child.kill();
  });
  child.once('exit', (code: number) => {
    exited = true;
    for (const listener of exitListeners) listener({ code, signal: null });
  });

  return {
    get pid() {
      return exited ? undefined : (child.pid ?? spawnedPid);
    },
    send(message) {
      child.postMessage(message);
    },
    onMessage(listener) {
      child.on('message', (message: unknown) => listener(message));
    },
    onExit(listener) {
      exitListeners.push(listener);
    },
    kill() {
      if (exited) return;
      killRequested = true;
      child.kill();
      const pid = child.pid ?? spawnedPid;
      if (pid === undefined) return;
      setTimeout(() => {
        if (exited) return;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone between the check and the signal.
        }
      }, killGraceMs).unref();
    },
  };
};
