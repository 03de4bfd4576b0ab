// How runs, their failures, outputs and receipts read on screen. Pure (no DOM) so node:test
// checks it; the views come from core (shared/run.ts), the receipt format from shared/receipt.ts.
import { type Receipt, signedReceiptSchema } from '../../shared/receipt.js';
import { type OutputView, type RunState, type RunView } from '../../shared/run.js';
import { parse } from '../../shared/validate.js';
import { type Tone } from './rooms.js';
import { safeFileStem } from '../../shared/model.js';

export const runStateInfo: Record<RunState, { readonly label: string; readonly tone: Tone; readonly explanation: string }> = {
  running: { label: 'Running', tone: 'accent', explanation: 'The worker is running the cells now.' },
  succeeded: { label: 'Succeeded', tone: 'good', explanation: 'Every cell ran; the outputs passed the room’s policy.' },
  failed: { label: 'Failed', tone: 'danger', explanation: 'A cell was refused or failed; no output was kept.' },
  cancelled: { label: 'Cancelled', tone: 'neutral', explanation: 'Stopped by the runner; nothing was kept.' },
  interrupted: { label: 'Interrupted', tone: 'warning', explanation: 'The app stopped mid-run; nothing came out, so it used no run.' },
};

/** Heading of a run's note on the attempts interrupted before it: "After 1 interrupted attempt". */
export function interruptedTitle(count: number): string {
  return count === 1 ? 'After 1 interrupted attempt' : `After ${count} interrupted attempts`;
}

/** The values the policy withheld (NULL) in an output's released rows (`suppressedRows` on the wire). */
export function suppressedLabel(values: number): string {
  if (values === 0) return 'no values withheld';
  return values === 1 ? '1 value withheld' : `${new Intl.NumberFormat('en-US').format(values)} values withheld`;
}

/** "1 output", "3 outputs" */
export function outputsLabel(count: number): string {
  return count === 1 ? '1 output' : `${count} outputs`;
}

/** "ConversionError" → "conversion error"; "OutOfMemory" → "out of memory". */
export function readableClass(errorClass: string): string {
  return errorClass
    .replace(/([a-z0-9])([A-Z])/gu, '$1 $2')
    .replace(/_/gu, ' ')
    .toLowerCase();
}

/** A failure's classes that have their own sentence; any other is DuckDB's error class. */
const failureSentences: Record<string, (where: string) => string> = {
  OutputTooLarge: (where) => `${where} made more rows than the room allows in one output.`,
  OutOfMemory: (where) => `${where} ran out of memory.`,
  Timeout: (where) => `${where} took longer than the run's time limit.`,
  Interrupted: (where) => `${where} was interrupted.`,
};

/**
 * Why a run failed, as one sentence: "Cell 2 was refused by the room's policy: …" for a policy
 * refusal, else the error class and the cell. DuckDB's own message is never shown: it can quote
 * a row's value.
 */
export function failureText(failure: NonNullable<RunView['failure']>): string {
  const where = failure.cell === null ? 'The run' : `Cell ${failure.cell}`;
  if (failure.class === 'PolicyRefused') {
    const reasons = failure.reasons.length > 0 ? `: ${failure.reasons.join('; ')}` : '.';
    return `${where} was refused by the room's policy${reasons}`;
  }
  const sentence = failureSentences[failure.class];
  if (sentence !== undefined) return sentence(where);
  return `${where} failed with a ${readableClass(failure.class)} (${failure.class}).`;
}

/** Runs newest first (by start), as the history lists them. */
export function runsNewestFirst(runs: readonly RunView[]): RunView[] {
  return [...runs].sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : a.id < b.id ? 1 : -1));
}

/** "4 s", "2 min 5 s", "1 h 3 min": how long a run took; empty while it runs. */
export function durationLabel(startedAt: string, finishedAt: string | null): string {
  if (finishedAt === null) return '';
  const ms = Date.parse(finishedAt) - Date.parse(startedAt);
  if (!Number.isFinite(ms) || ms < 0) return '';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return seconds < 1 ? 'under 1 s' : `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Outputs of one run, mine first then released, each by name. */
export function outputsOfRun(outputs: readonly OutputView[], run: string): OutputView[] {
  return outputs.filter((output) => output.run === run).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Outputs newest first, then by name. */
export function outputsNewestFirst(outputs: readonly OutputView[]): OutputView[] {
  return [...outputs].sort((a, b) => (a.createdAt !== b.createdAt ? (a.createdAt < b.createdAt ? 1 : -1) : a.name < b.name ? -1 : 1));
}

/** The file name an output's CSV downloads as: its name, made safe for any file system. */
export function csvFileName(outputName: string): string {
  return `${safeFileStem(outputName, 'output')}.csv`;
}

/**
 * A receipt file's content, read for display only (what it claims). Whether it holds is
 * receipt.verify's answer, which checks the signature against the room's keys; null when the text
 * is not a receipt at all.
 */
export function readReceipt(text: string): Receipt | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const checked = parse(signedReceiptSchema, value);
  return checked.ok ? checked.value.receipt : null;
}

/** "aggregate, k = 10" */
export function receiptPolicyLabel(policy: Receipt['policy']): string {
  return `${policy.mode}, k = ${policy.minGroupSize}`;
}

/** "Cleanroom 0.1.0, DuckDB v1.5.6" */
export function receiptEngineLabel(engine: Receipt['engine']): string {
  return `Cleanroom ${engine.cleanroom}, DuckDB ${engine.duckdb}`;
}
