// Entry of the `cleanroom` command, bundled to build/out/cli.cjs (CommonJS: __dirname is the
// bundle folder, next to worker.cjs and renderer/). Everything testable lives in run.ts.
import { constants } from 'node:os';
import { removeFilesBeingWritten } from '../core/pending-files.js';
import { runCli } from './run.js';

function stopRequested(): Promise<string> {
  return new Promise((resolve) => {
    // `once`: a second Ctrl-C while shutting down ends the process (endOnSignal below).
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

/** Exits once everything written so far has reached stdout and stderr. */
function exitAfterFlush(code: number): void {
  let pending = 2;
  const done = () => {
    pending -= 1;
    if (pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

let stopping: Promise<string> | null = null;

// Ctrl-C or SIGTERM ends a command that does not listen for them (all but serve, run and demo) as
// before, but first removes the hidden .partial of any file it was writing, which would otherwise
// wait, recorded in the home, for the next start-up. A command that listens stops cleanly on the
// first signal; a second one ends it the same way.
let signals = 0;
const endOnSignal = (signal: NodeJS.Signals): void => {
  signals += 1;
  if (stopping !== null && signals === 1) return;
  removeFilesBeingWritten();
  process.exit(128 + (constants.signals[signal] ?? 0));
};
process.on('SIGINT', endOnSignal);
process.on('SIGTERM', endOnSignal);

// A reader that went away (`cleanroom serve | head -1`) is not worth a crash with a stack trace.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});

runCli({
  argv: process.argv.slice(2),
  env: process.env,
  bundleDir: __dirname,
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  stdoutText: (text) => process.stdout.write(text),
  stderrText: (text) => process.stderr.write(text),
  stderrIsTerminal: process.stderr.isTTY === true,
  stopRequested: () => (stopping ??= stopRequested()),
}).then(exitAfterFlush, (error: unknown) => {
  // runCli answers every error itself; reaching here is a bug, still reported in one line.
  process.stderr.write(`cleanroom: internal error (${error instanceof Error ? error.name : typeof error})\n`);
  exitAfterFlush(1);
});
