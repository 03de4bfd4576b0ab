// Starts the DuckDB worker as a plain Node child (child_process.fork): the launcher for the CLI,
// the browser shell and tests. Electron uses electron/main/worker-launch-electron.ts instead.

import { fork } from 'node:child_process';
import { type WorkerChannel, type WorkerExit, type WorkerLauncher } from './worker-host.js';

/** Names of environment variables the worker must not inherit: it never needs a secret. */
const secretVariable = /PASSPHRASE|PASSWORD|SECRET|TOKEN|CREDENTIAL|_KEY$/i;

/** The parent's environment minus anything that looks like a secret. */
export function workerEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !secretVariable.test(name)));
}

export const launchNodeWorker: WorkerLauncher = (entry: string, execArgv: string[]): WorkerChannel => {
  const child = fork(entry, [], {
    execArgv,
    env: workerEnvironment(process.env),
    // 'advanced' (structured clone) moves large results faster than JSON; both sides still validate.
    serialization: 'advanced',
    // stdout is discarded so a stray print can never leak data; stderr carries fatal notices only.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exitListeners: ((exit: WorkerExit) => void)[] = [];
  let exited = false;
  const reportExit = (exit: WorkerExit): void => {
    if (exited) return;
    exited = true;
    for (const listener of exitListeners) listener(exit);
  };
  // 'exit' comes after Node has reaped the child, so its pid is free from then on.
  child.on('exit', (code, signal) => reportExit({ code, signal }));
  child.on('error', () => {
    // A spawn failure gets no 'exit'; other errors (a failed kill or send) are followed by one.
    if (child.pid === undefined) reportExit({ code: null, signal: null });
  });

  return {
    get pid() {
      return child.pid;
    },
    send(message) {
      // With a callback, a send on a closed channel is reported there instead of as an 'error'
      // event; the exit that follows is what fails the request.
      child.send(message, () => undefined);
    },
    onMessage(listener) {
      child.on('message', (message: unknown) => listener(message));
    },
    onExit(listener) {
      exitListeners.push(listener);
    },
    kill() {
      if (!exited) child.kill('SIGKILL');
    },
  };
};
