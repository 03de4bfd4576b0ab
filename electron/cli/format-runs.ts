// How runs, outputs and receipts read on a terminal. Pure: values in, lines (or text) out.
import { type ExportResult } from '../../shared/room.js';
import { type OutputData, type OutputView, type ReceiptCheck, type RunView } from '../../shared/run.js';
import { readableTime, shortId } from './format.js';

const label = (text: string, width = 12): string => text.padEnd(width);

const plural = (count: number, one: string, many = `${one}s`): string => `${count} ${count === 1 ? one : many}`;

/** A value as the shell needs it in a hint the person can copy: quoted when it holds anything unusual. */
export function shellWord(value: string): string {
  return /^[\w./:@%+=-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

const textWidth = (text: string): number => [...text].length;

function columnWidths(rows: readonly (readonly string[])[]): number[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, textWidth(cell))));
  return widths;
}

/** Columns two spaces apart, padded to the widest cell; a rule of dashes under the first row when asked. */
function alignedRows(rows: readonly (readonly string[])[], rightAligned: readonly boolean[] = [], ruleAfterHeader = false): string[] {
  const widths = columnWidths(rows);
  const line = (row: readonly string[]) =>
    row
      .map((cell, index) => {
        const pad = ' '.repeat((widths[index] ?? 0) - textWidth(cell));
        return rightAligned[index] ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  const lines = rows.map(line);
  if (ruleAfterHeader) lines.splice(1, 0, widths.map((width) => '-'.repeat(width)).join('  '));
  return lines;
}

// ---- Runs ---------------------------------------------------------------------------------------

/**
 * Why a run failed, in one sentence for a person: the error class and 1-based cell, and for a
 * policy refusal its reasons (they name columns and functions, never values).
 */
export function failureSentence(failure: NonNullable<RunView['failure']>): string {
  const where = failure.cell === null ? 'The run' : `Cell ${failure.cell}`;
  const reasons = failure.reasons.length === 0 ? '' : `: ${failure.reasons.join('; ')}`;
  switch (failure.class) {
    case 'PolicyRefused':
      return `${where} was refused by the room's policy${reasons}`;
    case 'OutputTooLarge':
      return `${where} made more rows than an output may have${reasons}`;
    case 'OutOfMemory':
      return `${where} ran out of memory${reasons}`;
    case 'Timeout':
      return `${where} did not finish within the run's time limit${reasons}`;
    default:
      // DuckDB's own text is never shown: it can quote a row's value.
      return `${where} failed: ${failure.class}${reasons} (DuckDB's message is not shown: it could quote data)`;
  }
}

/** An interrupted run's note: it used no run; which run's receipt lists it, once one does. */
function interruptedNote(run: RunView): string {
  return run.listedIn === null ? 'no run used' : `no run used; listed by ${shortId(run.listedIn)}`;
}

/** Text for a run's state in lists: "failed (cell 2: PolicyRefused)", "succeeded (after 1 interrupted)". */
function statusText(run: RunView): string {
  if (run.status === 'interrupted') return `interrupted (${interruptedNote(run)})`;
  const after = run.interruptedAttempts.length === 0 ? '' : `after ${run.interruptedAttempts.length} interrupted`;
  if (run.failure === null) return after === '' ? run.status : `${run.status} (${after})`;
  return `${run.status} (${run.failure.cell === null ? '' : `cell ${run.failure.cell}: `}${run.failure.class}${after === '' ? '' : `; ${after}`})`;
}

/** The receipt's interrupted attempts, one line each: "  3f2a9c1b0d4e  started 2030-03-04 09:00 UTC". */
function attemptLines(run: RunView): string[] {
  if (run.interruptedAttempts.length === 0) return [];
  const n = run.interruptedAttempts.length;
  return [
    `Interrupted attempts before this run (${plural(n, 'attempt')}, nothing came out of them, no run used; the receipt lists them):`,
    ...[...run.interruptedAttempts].sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : 0)).map((attempt) => `  ${shortId(attempt.run)}  started ${readableTime(attempt.startedAt)}`),
  ];
}

function outputSummary(output: RunView['outputs'][number]): string {
  return `${plural(output.rows, 'row')}, ${output.suppressedRows} withheld`;
}

/** What `cleanroom run` prints when the run succeeded. `room` is how the person named the room. */
export function runResultLines(run: RunView, room: string): string[] {
  const lines = [
    `Run ${shortId(run.id)} of "${run.snapshotName}" ${run.status}.`,
    '',
    `${label('Run')}${run.id}`,
    `${label('Status')}${run.status}`,
    `${label('Started')}${readableTime(run.startedAt)}${run.finishedAt === null ? '' : `, finished ${readableTime(run.finishedAt)}`}`,
    `${label('Withheld')}${plural(run.suppressedRows, 'value')} (the output policy's; groups below the room's minimum size are left out uncounted)`,
  ];
  if (run.outputs.length === 0) lines.push(`${label('Outputs')}none`);
  else {
    lines.push('Outputs:');
    const width = Math.max(...run.outputs.map((output) => output.name.length)) + 2;
    for (const output of run.outputs) lines.push(`  ${output.name.padEnd(width)}${outputSummary(output)}`);
  }
  lines.push(...attemptLines(run));
  const roomWord = shellWord(room);
  const first = run.outputs[0];
  lines.push('');
  if (first !== undefined) lines.push(`Read an output:   cleanroom output show ${roomWord} ${shortId(run.id)}:${first.name}`);
  if (run.hasReceipt) lines.push(`Keep the receipt: cleanroom receipt save ${roomWord} ${shortId(run.id)} --out F`);
  if (first !== undefined) lines.push(`Share the outputs with the snapshot's recipients: cleanroom output release ${roomWord} ${shortId(run.id)} --out F`);
  return lines;
}

/** One line for a run that did not succeed. */
export function runFailureLine(run: RunView): string {
  if (run.failure !== null) return `Run ${shortId(run.id)} ${run.status}: ${failureSentence(run.failure)}.`;
  if (run.status === 'interrupted') return `Run ${shortId(run.id)} was interrupted before anything came out of it; it used no run, and the next run of its snapshot lists it in its receipt.`;
  return `Run ${shortId(run.id)} ${run.status}; it still used a run of each approval.`;
}

export function runListLines(runs: readonly RunView[]): string[] {
  if (runs.length === 0) return ['No runs in this room yet. The runner starts one with `cleanroom run ROOM SNAPSHOT`.'];
  return alignedRows(
    [
      ['RUN', 'NOTEBOOK', 'RUNNER', 'STARTED', 'STATUS', 'SUPPRESSED', 'RELEASED'],
      ...runs.map((run) => [
        shortId(run.id),
        run.snapshotName,
        run.isMine ? `${run.runner} (you)` : run.runner,
        readableTime(run.startedAt),
        statusText(run),
        String(run.suppressedRows),
        run.released ? 'yes' : 'no',
      ]),
    ],
    [false, false, false, false, false, true, false],
  );
}

// ---- Outputs ------------------------------------------------------------------------------------

export function outputListLines(outputs: readonly OutputView[]): string[] {
  if (outputs.length === 0) {
    return ['No outputs you can read in this room. Your runs\' outputs appear here, and those released to you once you import the packet.'];
  }
  return [
    ...alignedRows(
      [
        ['RUN', 'NAME', 'NOTEBOOK', 'ROWS', 'SUPPRESSED', 'SOURCE', 'RUNNER', 'EXPIRES'],
        ...outputs.map((output) => [
          shortId(output.run),
          output.name,
          output.snapshotName,
          String(output.rows),
          String(output.suppressedRows),
          output.source,
          output.runner,
          readableTime(output.expiresAt),
        ]),
      ],
      [false, false, false, true, true, false, false, false],
    ),
    '',
    'Show one with `cleanroom output show ROOM NAME` (the newest with that name) or `... RUN:NAME`.',
  ];
}

/** The widest a value is shown in `--format table`; the rest is cut with an ellipsis. */
export const maxCellWidth = 40;

/** DuckDB types whose values read best right-aligned. */
const numericType = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|REAL|DECIMAL(\(\d+,\s*\d+\))?)$/i;

function cellText(value: string | null): string {
  if (value === null) return 'NULL';
  // One line per row: a newline or tab inside a value would break the alignment.
  const flat = value.replace(/[\r\n\t]+/g, ' ');
  const chars = [...flat];
  return chars.length > maxCellWidth ? `${chars.slice(0, maxCellWidth - 1).join('')}…` : flat;
}

/**
 * An output as aligned text: a header, a rule, the rows, and a footer with the counts. `data.rows`
 * may be the first page only; the footer then says how to get the rest.
 */
export function outputTableLines(data: OutputData): string[] {
  const { output } = data;
  const header = output.columns.map((column) => cellText(column.name));
  const body = data.rows.map((row) => row.map(cellText));
  const right = output.columns.map((column) => numericType.test(column.type));
  const table = alignedRows([header, ...body], right, true);
  const shown = data.rows.length;
  const footer =
    shown < output.rows
      ? `(rows ${data.offset + 1} to ${data.offset + shown} of ${output.rows}; ${output.suppressedRows} withheld; --format csv prints them all)`
      : `(${plural(output.rows, 'row')}; ${plural(output.suppressedRows, 'value')} withheld by the output policy)`;
  return [...table, footer];
}

/** DuckDB's text for a number when it is also a JSON number (DuckDB's `inf`, `-inf` and `nan` are not). */
const jsonNumber = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * The rows as JSON text: numeric columns' values as JSON numbers, written with DuckDB's own digits
 * (JSON.stringify of a JS number would round a HUGEINT or DECIMAL(38,s)); other values, and the
 * non-finite doubles JSON has no number for, as strings; NULL as null.
 */
export function outputRowsJson(data: OutputData): string {
  const numeric = data.output.columns.map((column) => numericType.test(column.type));
  const cell = (value: string | null, index: number): string => (value !== null && numeric[index] === true && jsonNumber.test(value) ? value : JSON.stringify(value));
  return `[${data.rows.map((row) => `[${row.map(cell).join(',')}]`).join(',')}]`;
}

/** `--json`: the whole of output.show, its rows as outputRowsJson writes them. */
export function outputShowJsonText(data: OutputData): string {
  const { rows: _rows, ...rest } = data;
  return `{"ok":true,"value":${JSON.stringify(rest).slice(0, -1)},"rows":${outputRowsJson(data)}}}`;
}

/** `--format json`: just the table, for tools that want columns and rows. */
export function outputJsonText(data: OutputData): string {
  return `{"columns":${JSON.stringify(data.output.columns)},"rows":${outputRowsJson(data)}}`;
}

export function releaseLines(run: string, result: ExportResult): string[] {
  return [
    `Released the outputs of run ${shortId(run)} to ${result.recipients.length === 0 ? 'nobody' : result.recipients.join(', ')}.`,
    `Packet written to ${result.path ?? result.fileName} (${result.size} bytes).`,
    'Carry it to them; they apply it with `cleanroom packet import F` and read the outputs with `cleanroom output show`.',
  ];
}

// ---- Receipts -----------------------------------------------------------------------------------

export function receiptCheckLines(check: ReceiptCheck): string[] {
  const about = [
    check.roomName === null ? null : `room ${check.roomName}`,
    check.runner === null ? null : `runner ${check.runner}`,
    check.snapshot === null ? null : `snapshot ${shortId(check.snapshot)}`,
    check.status === null ? null : `status ${check.status}`,
  ].filter((part): part is string => part !== null);
  const lines = about.length === 0 ? [] : [`Receipt: ${about.join(', ')}`];
  for (const line of check.checks) lines.push(`  ok      ${line}`);
  for (const output of check.outputs) {
    const held = output.matches === null ? 'not held in this home' : output.matches ? 'matches the copy in this home' : 'DOES NOT MATCH the copy in this home';
    lines.push(`  output  ${output.name}: ${plural(output.rows, 'row')}, ${output.suppressedRows} withheld; ${held}`);
  }
  lines.push(check.ok ? 'OK: the receipt verifies.' : `FAILED: ${check.reason ?? 'the receipt does not verify'}`);
  return lines;
}
