// The CLI's run, output and receipt commands. A run is a core job followed with job.status; Ctrl-C
// cancels it through job.cancel, so the worker is stopped and nothing half-done is kept.
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type JobView } from '../../shared/asset.js';
import { toCsv } from '../../shared/csv.js';
import { CleanroomError, type ErrorCode, isErrorCode } from '../../shared/errors.js';
import { type RunView } from '../../shared/run.js';
import { type Core } from '../core/index.js';
import { describeFileError, outputTarget } from '../core/files.js';
import { type Command, type GlobalSettings } from './args.js';
import { progressLine } from './format-assets.js';
import { shortId } from './format.js';
import {
  outputJsonText,
  outputListLines,
  outputShowJsonText,
  outputTableLines,
  receiptCheckLines,
  releaseLines,
  runFailureLine,
  runListLines,
  runResultLines,
  shellWord,
} from './format-runs.js';
import { passphraseFrom } from './passphrase.js';
import { progressReporter } from './progress.js';
import { type CliContext, exitCodes, invoke, report, withCore, withUnlockedCore } from './session.js';

export type RunCommand = Extract<
  Command,
  { name: 'run' | 'run list' | 'output list' | 'output show' | 'output release' | 'receipt save' | 'receipt verify' }
>;

const pollMs = 100;
/** `--format table` shows this many rows; csv and json print them all. */
export const tableRowLimit = 1000;
/** The contract's limit on a receipt's text. */
const maxReceiptFileBytes = 600 * 1024;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function runCommands(context: CliContext, settings: GlobalSettings, command: RunCommand): Promise<number> {
  switch (command.name) {
    case 'run':
      return runSnapshot(context, settings, command);
    case 'run list': {
      const { runs } = await withCore(context, settings, (core) => invoke(core, 'run.list', { room: command.room }));
      report(context, settings, { runs }, runListLines(runs));
      return exitCodes.ok;
    }
    case 'output list': {
      // Listing also stores outputs released to me that a packet brought, which needs my keys.
      const { outputs } = await withUnlockedCore(context, settings, command.name, (core) => invoke(core, 'output.list', { room: command.room }));
      report(context, settings, { outputs }, outputListLines(outputs));
      return exitCodes.ok;
    }
    case 'output show': {
      // Only the aligned table is for reading on screen; every other form is the whole output.
      const paged = command.format === 'table' && !settings.json;
      const data = await withUnlockedCore(context, settings, command.name, (core) =>
        invoke(core, 'output.show', { room: command.room, output: command.output, ...(paged ? { limit: tableRowLimit } : {}) }),
      );
      if (settings.json) context.stdout(outputShowJsonText(data));
      else if (command.format === 'csv') context.stdoutText(toCsv(data.output.columns, data.rows));
      else if (command.format === 'json') context.stdout(outputJsonText(data));
      else for (const line of outputTableLines(data)) context.stdout(line);
      return exitCodes.ok;
    }
    case 'output release': {
      const result = await withUnlockedCore(context, settings, command.name, (core) =>
        invoke(core, 'output.release', { room: command.room, run: command.run, outPath: path.resolve(command.out) }),
      );
      report(context, settings, result, releaseLines(command.run, result));
      return exitCodes.ok;
    }
    case 'receipt save': {
      const { receipt, target } = await withCore(context, settings, async (core) => {
        const found = await invoke(core, 'run.receipt', { room: command.room, run: command.run });
        // Written while the home is open, so its temporary name is recorded there (pending-files.ts).
        const file = outputTarget(command.out, found.fileName);
        core.writeUserFile(file, Buffer.from(found.receipt, 'utf8'));
        return { receipt: found, target: file };
      });
      report(context, settings, { ...receipt, path: target }, [
        `Wrote the receipt of run ${command.run} to ${target}.`,
        `Anyone in the room can check it offline: cleanroom receipt verify ${shellWord(target)}`,
      ]);
      return exitCodes.ok;
    }
    case 'receipt verify': {
      const text = readReceiptFile(command.file);
      // With the passphrase, outputs this home holds are decrypted and hashed again; without it
      // they are compared by the hashes recorded when they were stored. Both check the signature.
      const passphrase = passphraseFrom(settings.passphraseFile, context.env);
      const verify = (core: Core) => invoke(core, 'receipt.verify', { receipt: text });
      const check = passphrase === null ? await withCore(context, settings, verify) : await withUnlockedCore(context, settings, command.name, verify);
      report(context, settings, check, receiptCheckLines(check));
      return check.ok ? exitCodes.ok : exitCodes.refused;
    }
  }
}

interface RunOutcome {
  readonly job: JobView;
  /** The run as core recorded it; null only if core refused it before recording anything. */
  readonly run: RunView | null;
  readonly cancelAsked: boolean;
}

async function runSnapshot(context: CliContext, settings: GlobalSettings, command: Extract<RunCommand, { name: 'run' }>): Promise<number> {
  // Listen for Ctrl-C before anything starts: a signal during start-up still cancels cleanly.
  const stopped = context.stopRequested();
  let stopAsked = false;
  void stopped.then(() => (stopAsked = true));

  const outcome = await withUnlockedCore(context, settings, command.name, async (core): Promise<RunOutcome> => {
    // Ctrl-C while unlocking: nothing has started, so no run of any approval is used.
    if (stopAsked) throw new CleanroomError('CANCELLED', 'Cancelled before the run started; nothing was run.');
    const started = await invoke(core, 'run.start', { room: command.room, snapshot: command.snapshot });
    const progress = settings.json ? null : progressReporter(context);
    if (!settings.json) context.stderr(`Started run ${shortId(started.run)}; Ctrl-C cancels it.`);
    let cancelAsked = false;
    let job: JobView;
    for (;;) {
      job = await invoke(core, 'job.status', { job: started.job });
      if (job.state !== 'running') break;
      if (stopAsked && !cancelAsked) {
        cancelAsked = true;
        progress?.clear();
        if (!settings.json) context.stderr('Cancelling the run…');
        job = await cancelJob(core, started.job);
        if (job.state !== 'running') break;
        continue;
      }
      progress?.show(progressLine(job));
      await Promise.race([sleep(pollMs), stopped]);
    }
    progress?.clear();
    return { job, run: await runById(core, command.room, started.run), cancelAsked };
  });
  return reportRun(context, settings, command.room, outcome);
}

/** Asks core to cancel; a job that ended meanwhile is simply reported as it ended. */
async function cancelJob(core: Core, job: string): Promise<JobView> {
  try {
    return await invoke(core, 'job.cancel', { job });
  } catch (error) {
    if (error instanceof CleanroomError && error.code !== 'INTERNAL') return invoke(core, 'job.status', { job });
    throw error;
  }
}

async function runById(core: Core, room: string, id: string): Promise<RunView | null> {
  const { runs } = await invoke(core, 'run.list', { room });
  return runs.find((run) => run.id === id) ?? null;
}

function reportRun(context: CliContext, settings: GlobalSettings, room: string, { job, run, cancelAsked }: RunOutcome): number {
  const cancelled = job.state === 'cancelled' || run?.status === 'cancelled' || job.error?.code === 'CANCELLED';
  if (cancelled) {
    throw new CleanroomError(
      'CANCELLED',
      `Run ${shortId(job.run ?? run?.id ?? '')} was cancelled; nothing was kept (it still used a run of each approval).`,
    );
  }
  if (job.state === 'done' && run !== null && run.status === 'succeeded') {
    if (cancelAsked && !settings.json) context.stderr('The run had finished before it could be cancelled.');
    report(context, settings, run, runResultLines(run, room));
    return exitCodes.ok;
  }
  if (run !== null && run.status !== 'running' && run.status !== 'succeeded') {
    const code: ErrorCode = run.failure?.class === 'PolicyRefused' ? 'POLICY_REFUSED' : 'RUN_FAILED';
    throw new CleanroomError(code, runFailureLine(run));
  }
  const code = isErrorCode(job.error?.code) ? job.error.code : 'RUN_FAILED';
  throw new CleanroomError(code, job.error?.message ?? `The run ended as ${job.state}; see \`cleanroom run list ${shellWord(room)}\`.`);
}

/** A receipt file's text; FILE_ERROR naming the file when it cannot be read. */
function readReceiptFile(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new CleanroomError('FILE_ERROR', `Cannot read the receipt ${file} (${describeFileError(error)}).`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new CleanroomError('FILE_ERROR', `Cannot read the receipt ${file}: it is not a file.`);
    if (stat.size > maxReceiptFileBytes) throw new CleanroomError('BAD_RECEIPT', `${file} is too large to be a run receipt.`);
    if (stat.size === 0) throw new CleanroomError('BAD_RECEIPT', `${file} is empty: it is not a run receipt.`);
    return readFileSync(fd, 'utf8');
  } catch (error) {
    if (error instanceof CleanroomError) throw error;
    throw new CleanroomError('FILE_ERROR', `Cannot read the receipt ${file} (${describeFileError(error)}).`);
  } finally {
    closeSync(fd);
  }
}
