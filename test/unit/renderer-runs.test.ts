// What the runs and outputs screens compute: the output table's window of rendered rows and the
// pages to fetch for it, column widths, how a failed run is explained, run order and durations,
// CSV file names, and a receipt file read for display.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type RunView } from '../../shared/run.js';
import {
  csvFileName,
  durationLabel,
  failureText,
  interruptedTitle,
  outputsLabel,
  readableClass,
  readReceipt,
  receiptEngineLabel,
  receiptPolicyLabel,
  runsNewestFirst,
  runStateInfo,
  suppressedLabel,
} from '../../renderer/src/runs.js';
import { columnWidths, maxColumnWidth, minColumnWidth, pagesFor, rowWindow, scrollToShow } from '../../renderer/src/windowing.js';
import { runStates } from '../../shared/run.js';

describe('the output table’s window', () => {
  const base = { rowHeight: 30, viewportHeight: 300, overscan: 5 };

  it('renders only the rows in view plus the overscan, at the top of 100,000 rows', () => {
    const window = rowWindow({ ...base, scrollTop: 0, rowCount: 100_000 });
    assert.deepEqual(window, { first: 0, end: 15, totalHeight: 3_000_000, offsetTop: 0 });
  });

  it('follows the scroll position, and stays inside the rows at the end', () => {
    const middle = rowWindow({ ...base, scrollTop: 45_015, rowCount: 100_000 });
    assert.equal(middle.first, 1500 - 5);
    assert.equal(middle.end, 1511 + 5);
    assert.equal(middle.offsetTop, middle.first * 30);
    const end = rowWindow({ ...base, scrollTop: 2_999_700, rowCount: 100_000 });
    assert.equal(end.end, 100_000);
    assert.equal(end.first, 99_990 - 5);
    // Scrolled past the end (the table shrank): the last rows, not an empty window.
    const past = rowWindow({ ...base, scrollTop: 10_000_000, rowCount: 50 });
    assert.deepEqual([past.first, past.end], [35, 50]);
  });

  it('is empty for no rows, and whole for fewer rows than fit', () => {
    assert.deepEqual(rowWindow({ ...base, scrollTop: 0, rowCount: 0 }), { first: 0, end: 0, totalHeight: 0, offsetTop: 0 });
    const few = rowWindow({ ...base, scrollTop: 0, rowCount: 4 });
    assert.deepEqual([few.first, few.end, few.totalHeight], [0, 4, 120]);
  });

  it('keeps the rendered row count bounded whatever the table size', () => {
    for (const rowCount of [10, 1000, 100_000, 10_000_000]) {
      for (const scrollTop of [0, 12_345, 9_999_999]) {
        const window = rowWindow({ ...base, scrollTop, rowCount });
        assert.ok(window.end - window.first <= 300 / 30 + 1 + 2 * 5, `${rowCount} rows at ${scrollTop}`);
        assert.ok(window.first >= 0 && window.end <= rowCount);
      }
    }
  });

  it('names the pages to fetch for a window', () => {
    assert.deepEqual(pagesFor(0, 15, 500), [0]);
    assert.deepEqual(pagesFor(495, 510, 500), [0, 1]);
    assert.deepEqual(pagesFor(1000, 1000, 500), []);
    assert.deepEqual(pagesFor(99_985, 100_000, 1000), [99]);
  });

  it('scrolls a row into view with the least movement', () => {
    assert.equal(scrollToShow(0, 300, 300, 30), 0);
    assert.equal(scrollToShow(20, 0, 300, 30), 330);
    assert.equal(scrollToShow(5, 0, 300, 30), 0);
  });

  it('sizes columns by header and longest value, within bounds', () => {
    const widths = columnWidths(
      [
        { name: 'age_band', type: 'VARCHAR' },
        { name: 'n', type: 'BIGINT' },
        { name: 'note', type: 'VARCHAR' },
      ],
      [['18-34', '12', 'x'.repeat(500)]],
    );
    assert.ok((widths[0] as number) >= minColumnWidth && (widths[0] as number) < 150);
    assert.equal(widths[1], minColumnWidth);
    assert.equal(widths[2], maxColumnWidth);
  });
});

describe('runs on screen', () => {
  it('has a label and tone for every run state', () => {
    assert.deepEqual(Object.keys(runStateInfo).sort(), [...runStates].sort());
    assert.equal(runStateInfo.succeeded.tone, 'good');
    assert.equal(runStateInfo.failed.tone, 'danger');
    assert.equal(runStateInfo.interrupted.explanation, 'The app stopped mid-run; nothing came out, so it used no run.');
    assert.equal(interruptedTitle(1), 'After 1 interrupted attempt');
    assert.equal(interruptedTitle(3), 'After 3 interrupted attempts');
  });

  it('explains a policy refusal with the cell and the policy’s reasons', () => {
    assert.equal(
      failureText({ class: 'PolicyRefused', cell: 2, reasons: ['patient_id is a privacy unit: it is never output', 'list() is not allowed'] }),
      "Cell 2 was refused by the room's policy: patient_id is a privacy unit: it is never output; list() is not allowed",
    );
    assert.equal(failureText({ class: 'PolicyRefused', cell: null, reasons: [] }), "The run was refused by the room's policy.");
  });

  it('names the error class and the cell for other failures, never a value', () => {
    assert.equal(failureText({ class: 'ConversionError', cell: 3, reasons: [] }), 'Cell 3 failed with a conversion error (ConversionError).');
    assert.equal(failureText({ class: 'OutOfMemory', cell: 1, reasons: [] }), 'Cell 1 ran out of memory.');
    assert.equal(failureText({ class: 'Timeout', cell: null, reasons: [] }), "The run took longer than the run's time limit.");
    assert.equal(readableClass('Divide_by_ZeroError'), 'divide by zero error');
  });

  it('counts suppressed rows and outputs in words', () => {
    assert.equal(suppressedLabel(0), 'no values withheld');
    assert.equal(suppressedLabel(1), '1 value withheld');
    assert.equal(suppressedLabel(12_000), '12,000 values withheld');
    assert.equal(outputsLabel(1), '1 output');
    assert.equal(outputsLabel(0), '0 outputs');
  });

  it('lists runs newest first and says how long each took', () => {
    const run = (id: string, startedAt: string) => ({ id: id.repeat(64), startedAt }) as RunView;
    const sorted = runsNewestFirst([run('a', '2025-01-01T10:00:00.000Z'), run('b', '2025-01-03T10:00:00.000Z'), run('c', '2025-01-02T10:00:00.000Z')]);
    assert.deepEqual(
      sorted.map((item) => item.id[0]),
      ['b', 'c', 'a'],
    );
    assert.equal(durationLabel('2025-01-01T10:00:00.000Z', null), '');
    assert.equal(durationLabel('2025-01-01T10:00:00.000Z', '2025-01-01T10:00:04.200Z'), '4 s');
    assert.equal(durationLabel('2025-01-01T10:00:00.000Z', '2025-01-01T10:02:05.000Z'), '2 min 5 s');
    assert.equal(durationLabel('2025-01-01T10:00:00.000Z', '2025-01-01T10:00:00.300Z'), 'under 1 s');
  });

  it('downloads an output’s CSV under its name', () => {
    assert.equal(csvFileName('readmissions_by_band'), 'readmissions_by_band.csv');
    assert.equal(csvFileName('../x'), '_x.csv');
  });
});

describe('a receipt file read for display', () => {
  const receipt = {
    format: 'cleanroom-receipt/1',
    room: 'a'.repeat(64),
    snapshot: 'b'.repeat(64),
    runner: 'A'.repeat(43),
    approvals: ['c'.repeat(64)],
    inputs: [{ asset: 'd'.repeat(64), payloadHash: 'e'.repeat(64) }],
    policy: { mode: 'aggregate', minGroupSize: 10 },
    engine: { cleanroom: '0.1.0', duckdb: 'v1.5.6' },
    outputs: [{ name: 'by_band', hash: 'f'.repeat(64), rows: 4, suppressedRows: 2 }],
    privacyBudgetSpent: null,
    startedAt: '2025-01-01T10:00:00.000Z',
    finishedAt: '2025-01-01T10:00:03.000Z',
    status: 'succeeded',
    failure: null,
  };

  it('reads what a well-formed receipt claims', () => {
    const read = readReceipt(`${JSON.stringify({ receipt, signature: 'S'.repeat(86) })}\n`);
    assert.ok(read !== null);
    assert.equal(read.outputs[0]?.suppressedRows, 2);
    assert.equal(receiptPolicyLabel(read.policy), 'aggregate, k = 10');
    assert.equal(receiptEngineLabel(read.engine), 'Cleanroom 0.1.0, DuckDB v1.5.6');
  });

  it('is null for text that is not a receipt', () => {
    assert.equal(readReceipt('not json'), null);
    assert.equal(readReceipt(JSON.stringify({ receipt: { ...receipt, status: 'exploded' }, signature: 'S'.repeat(86) })), null);
  });
});
