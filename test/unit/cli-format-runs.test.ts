// How the CLI prints runs, outputs and receipts, and its progress line: what a person reads on a
// terminal (and a script in a log) from values core returns.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toCsv } from '../../shared/csv.js';
import { type OutputData, type OutputView, type ReceiptCheck, type RunView } from '../../shared/run.js';
import {
  failureSentence,
  maxCellWidth,
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
} from '../../electron/cli/format-runs.js';
import { plainLineEveryMs, progressReporter } from '../../electron/cli/progress.js';

const runId = `3f2a9c1d2e3f${'0'.repeat(52)}`;
const otherRunId = `77aa00bb11cc${'1'.repeat(52)}`;
const hash = 'ab'.repeat(32);

function runView(overrides: Partial<RunView> = {}): RunView {
  return {
    id: runId,
    room: 'cd'.repeat(32),
    snapshot: 'ef'.repeat(32),
    snapshotName: 'Readmission by ward',
    runner: 'Acme Insurance',
    runnerKey: 'A'.repeat(43),
    status: 'succeeded',
    startedAt: '2025-03-14T09:30:05.000Z',
    finishedAt: '2025-03-14T09:30:09.000Z',
    suppressedRows: 3,
    outputs: [
      { name: 'rates', rows: 4, suppressedRows: 3, hash },
      { name: 'totals', rows: 1, suppressedRows: 0, hash },
    ],
    failure: null,
    released: false,
    isMine: true,
    hasReceipt: true,
    interruptedAttempts: [],
    listedIn: null,
    ...overrides,
  };
}

function outputView(overrides: Partial<OutputView> = {}): OutputView {
  return {
    id: `${runId}:rates`,
    run: runId,
    name: 'rates',
    snapshotName: 'Readmission by ward',
    source: 'mine',
    kind: 'table',
    runner: 'Acme Insurance',
    columns: [
      { name: 'ward', type: 'VARCHAR' },
      { name: 'rate', type: 'DOUBLE' },
      { name: 'n', type: 'BIGINT' },
    ],
    rows: 3,
    suppressedRows: 2,
    hash,
    createdAt: '2025-03-14T09:30:09.000Z',
    expiresAt: '2025-04-13T09:30:09.000Z',
    ...overrides,
  };
}

describe('cli format: a run', () => {
  it('on success names the run, its status, each output with rows and withheld values, and the receipt hint', () => {
    const lines = runResultLines(runView(), 'Readmissions');
    assert.equal(lines[0], 'Run 3f2a9c1d2e3f of "Readmission by ward" succeeded.');
    assert.ok(lines.includes(`Run         ${runId}`));
    assert.ok(lines.includes('Status      succeeded'));
    assert.ok(lines.some((line) => /^Withheld {4}3 values \(the output policy's; groups below the room's minimum size are left out uncounted\)$/.test(line)));
    assert.ok(lines.includes('  rates   4 rows, 3 withheld'));
    assert.ok(lines.includes('  totals  1 row, 0 withheld'));
    assert.ok(lines.includes('Keep the receipt: cleanroom receipt save Readmissions 3f2a9c1d2e3f --out F'));
    assert.ok(lines.includes('Read an output:   cleanroom output show Readmissions 3f2a9c1d2e3f:rates'));
  });

  it('quotes a room name with spaces or quotes in the hints, so they can be pasted into a shell', () => {
    const lines = runResultLines(runView(), "St Mary's room");
    assert.ok(lines.includes(`Keep the receipt: cleanroom receipt save 'St Mary'\\''s room' 3f2a9c1d2e3f --out F`));
    assert.equal(shellWord('abc-1.2'), 'abc-1.2');
    assert.equal(shellWord('two words'), "'two words'");
  });

  it('without a receipt or outputs gives no hint that would fail', () => {
    const lines = runResultLines(runView({ outputs: [], hasReceipt: false, suppressedRows: 0 }), 'R');
    assert.ok(lines.includes('Outputs     none'));
    assert.ok(!lines.some((line) => line.includes('receipt save') || line.includes('output show')));
  });

  it('says which cell failed and why, in one line, for each failure class', () => {
    assert.equal(
      runFailureLine(runView({ status: 'failed', failure: { class: 'PolicyRefused', cell: 2, reasons: ['string_agg is not an allowed aggregate'] } })),
      "Run 3f2a9c1d2e3f failed: Cell 2 was refused by the room's policy: string_agg is not an allowed aggregate.",
    );
    assert.equal(failureSentence({ class: 'Timeout', cell: null, reasons: [] }), "The run did not finish within the run's time limit");
    assert.equal(failureSentence({ class: 'OutOfMemory', cell: 3, reasons: [] }), 'Cell 3 ran out of memory');
    assert.equal(failureSentence({ class: 'OutputTooLarge', cell: 1, reasons: [] }), 'Cell 1 made more rows than an output may have');
    assert.equal(failureSentence({ class: 'OutOfRangeError', cell: 4, reasons: [] }), "Cell 4 failed: OutOfRangeError (DuckDB's message is not shown: it could quote data)");
    assert.equal(
      runFailureLine(runView({ status: 'interrupted', failure: null })),
      'Run 3f2a9c1d2e3f was interrupted before anything came out of it; it used no run, and the next run of its snapshot lists it in its receipt.',
    );
    assert.equal(runFailureLine(runView({ status: 'cancelled', failure: null })), 'Run 3f2a9c1d2e3f cancelled; it still used a run of each approval.');
  });

  it('lists the interrupted attempts a receipt names, oldest first, and marks them in run lists (issue 15)', () => {
    const attempts = [
      { run: otherRunId, startedAt: '2025-03-14T09:20:00.000Z' },
      { run: `0badc0ffee00${'2'.repeat(52)}`, startedAt: '2025-03-14T09:10:00.000Z' },
    ];
    const lines = runResultLines(runView({ interruptedAttempts: attempts }), 'R');
    const at = lines.indexOf('Interrupted attempts before this run (2 attempts, nothing came out of them, no run used; the receipt lists them):');
    assert.ok(at > 0, lines.join('\n'));
    assert.deepEqual(lines.slice(at + 1, at + 3), ['  0badc0ffee00  started 2025-03-14 09:10 UTC', '  77aa00bb11cc  started 2025-03-14 09:20 UTC']);
    assert.ok(!runResultLines(runView(), 'R').some((line) => line.startsWith('Interrupted')));
    const [, retried, waiting, listed] = runListLines([
      runView({ interruptedAttempts: attempts }),
      runView({ id: otherRunId, status: 'interrupted', outputs: [], suppressedRows: 0, hasReceipt: false }),
      runView({ id: otherRunId, status: 'interrupted', outputs: [], suppressedRows: 0, hasReceipt: false, listedIn: runId }),
    ]) as [string, string, string, string];
    assert.match(retried, /\ssucceeded \(after 2 interrupted\)\s/);
    assert.match(waiting, /\sinterrupted \(no run used\)\s/);
    assert.match(listed, /\sinterrupted \(no run used; listed by 3f2a9c1d2e3f\)\s/);
  });

  it('lists runs newest first as given: who, when, status, rows suppressed, released', () => {
    const lines = runListLines([
      runView(),
      runView({ id: otherRunId, runner: 'St Mary', isMine: false, status: 'failed', suppressedRows: 0, released: true, failure: { class: 'PolicyRefused', cell: 2, reasons: ['x'] } }),
    ]);
    assert.equal(lines.length, 3);
    const [header, mine, theirs] = lines as [string, string, string];
    assert.match(header, /^RUN\s+NOTEBOOK\s+RUNNER\s+STARTED\s+STATUS\s+SUPPRESSED\s+RELEASED$/);
    assert.match(mine, /^3f2a9c1d2e3f\s+Readmission by ward\s+Acme Insurance \(you\)\s+2025-03-14 09:30 UTC\s+succeeded\s+3\s+no$/);
    assert.match(theirs, /^77aa00bb11cc\s+Readmission by ward\s+St Mary\s+2025-03-14 09:30 UTC\s+failed \(cell 2: PolicyRefused\)\s+0\s+yes$/);
    // Every column starts under its header; the SUPPRESSED count is right-aligned under it.
    assert.equal(mine.indexOf('Acme Insurance'), header.indexOf('RUNNER'));
    assert.equal(theirs.indexOf('St Mary'), header.indexOf('RUNNER'));
    assert.equal(theirs.indexOf('failed'), header.indexOf('STATUS'));
    assert.equal(mine.indexOf('3  no'), header.indexOf('D  RELEASED'));
    assert.equal(theirs.indexOf('yes'), header.indexOf('RELEASED'));
  });

  it('says how to start when there are no runs', () => {
    assert.match(runListLines([])[0] as string, /No runs in this room yet.*cleanroom run ROOM SNAPSHOT/);
  });
});

describe('cli format: outputs', () => {
  it('lists outputs with their run, rows, suppressed rows, source and expiry', () => {
    const lines = outputListLines([outputView(), outputView({ run: otherRunId, id: `${otherRunId}:rates`, source: 'released', runner: 'St Mary', rows: 12, suppressedRows: 0 })]);
    const [header, mine, released] = lines as [string, string, string];
    assert.match(header, /^RUN\s+NAME\s+NOTEBOOK\s+ROWS\s+SUPPRESSED\s+SOURCE\s+RUNNER\s+EXPIRES$/);
    assert.match(mine, /^3f2a9c1d2e3f\s+rates\s+Readmission by ward\s+3\s+2\s+mine\s+Acme Insurance\s+2025-04-13 09:30 UTC$/);
    assert.match(released, /^77aa00bb11cc\s+rates\s+Readmission by ward\s+12\s+0\s+released\s+St Mary\s+2025-04-13 09:30 UTC$/);
    assert.equal(released.indexOf('12'), header.indexOf('ROWS') + 2, 'row counts right-aligned');
    assert.equal(mine.indexOf('mine'), header.indexOf('SOURCE'));
    assert.match(lines.at(-1) as string, /output show ROOM NAME/);
    assert.match(outputListLines([])[0] as string, /^No outputs you can read in this room/);
  });

  it('shows a table aligned, numbers right-aligned, NULL for a missing value, and the counts below', () => {
    const data: OutputData = {
      output: outputView(),
      offset: 0,
      rows: [
        ['north', '0.25', '120'],
        ['south', '0.3333333333333333', '9'],
        [null, '0.5', '14'],
      ],
    };
    assert.deepEqual(outputTableLines(data), [
      'ward                 rate    n',
      '-----  ------------------  ---',
      'north                0.25  120',
      'south  0.3333333333333333    9',
      'NULL                  0.5   14',
      '(3 rows; 2 values withheld by the output policy)',
    ]);
  });

  it('cuts a wide value and flattens line breaks, so every row stays one aligned line', () => {
    const wide = 'x'.repeat(maxCellWidth + 25);
    const data: OutputData = {
      output: outputView({ columns: [{ name: 'label', type: 'VARCHAR' }, { name: 'n', type: 'BIGINT' }], rows: 2 }),
      offset: 0,
      rows: [
        [wide, '1'],
        ['two\nlines', '2'],
      ],
    };
    const lines = outputTableLines(data);
    assert.equal(lines[2], `${'x'.repeat(maxCellWidth - 1)}…  1`);
    assert.equal(lines[3], `two lines${' '.repeat(maxCellWidth - 9)}  2`);
  });

  it('says which rows are shown when the table is only a first page', () => {
    const data: OutputData = { output: outputView({ rows: 5000 }), offset: 0, rows: [['a', '1', '2']] };
    assert.equal(outputTableLines(data).at(-1), '(rows 1 to 1 of 5000; 2 withheld; --format csv prints them all)');
  });

  it('prints json as columns and rows only, and csv through the shared writer', () => {
    const data: OutputData = { output: outputView(), offset: 0, rows: [['north', '0.25', null]] };
    assert.deepEqual(JSON.parse(outputJsonText(data)), { columns: outputView().columns, rows: [['north', 0.25, null]] });
    assert.equal(toCsv(data.output.columns, data.rows), 'ward,rate,n\r\nnorth,0.25,\r\n');
  });

  it('writes numeric columns as JSON numbers with every digit DuckDB gave, text and non-finite doubles as strings', () => {
    const columns = [
      { name: 'label', type: 'VARCHAR' },
      { name: 'big', type: 'HUGEINT' },
      { name: 'amount', type: 'DECIMAL(38,2)' },
      { name: 'ratio', type: 'DOUBLE' },
    ];
    const data: OutputData = {
      output: outputView({ columns, rows: 2 }),
      offset: 0,
      rows: [
        ['007', '170141183460469231731687303715884105727', '-12345678901234567890.25', '1e-7'],
        ['x', null, '0.00', 'inf'],
      ],
    };
    const text = outputJsonText(data);
    assert.ok(text.includes('["007",170141183460469231731687303715884105727,-12345678901234567890.25,1e-7]'), text);
    assert.deepEqual(JSON.parse(text).rows, [
      ['007', Number('170141183460469231731687303715884105727'), Number('-12345678901234567890.25'), 1e-7],
      ['x', null, 0, 'inf'],
    ]);
    const whole = JSON.parse(outputShowJsonText(data)) as { ok: boolean; value: OutputData };
    assert.equal(whole.ok, true);
    assert.deepEqual(whole.value.output, data.output);
    assert.equal(whole.value.offset, 0);
    assert.deepEqual(whole.value.rows, JSON.parse(text).rows);
  });

  it('says who a release went to and where the packet is', () => {
    const lines = releaseLines(runId, { fileName: 'x.cleanroom', path: '/tmp/out/x.cleanroom', contentBase64: null, size: 2048, recipients: ['St Mary', 'Carol'] });
    assert.equal(lines[0], 'Released the outputs of run 3f2a9c1d2e3f to St Mary, Carol.');
    assert.equal(lines[1], 'Packet written to /tmp/out/x.cleanroom (2048 bytes).');
  });
});

describe('cli format: receipt checks', () => {
  const check: ReceiptCheck = {
    ok: true,
    reason: null,
    checks: ['signed by Acme Insurance, the snapshot\'s runner', 'the snapshot is in the room Readmissions'],
    roomName: 'Readmissions',
    runner: 'Acme Insurance',
    snapshot: 'ef'.repeat(32),
    status: 'succeeded',
    outputs: [
      { name: 'rates', rows: 4, suppressedRows: 3, matches: true },
      { name: 'totals', rows: 1, suppressedRows: 0, matches: null },
    ],
  };

  it('prints every check, each output against this home\'s copy, and OK', () => {
    assert.deepEqual(receiptCheckLines(check), [
      'Receipt: room Readmissions, runner Acme Insurance, snapshot efefefefefef, status succeeded',
      "  ok      signed by Acme Insurance, the snapshot's runner",
      '  ok      the snapshot is in the room Readmissions',
      '  output  rates: 4 rows, 3 withheld; matches the copy in this home',
      '  output  totals: 1 row, 0 withheld; not held in this home',
      'OK: the receipt verifies.',
    ]);
  });

  it('ends with FAILED and the reason when it does not verify', () => {
    const failed: ReceiptCheck = {
      ...check,
      ok: false,
      reason: 'the signature does not match the runner\'s key',
      checks: [],
      outputs: [{ name: 'rates', rows: 4, suppressedRows: 3, matches: false }],
    };
    const lines = receiptCheckLines(failed);
    assert.equal(lines.at(-1), "FAILED: the signature does not match the runner's key");
    assert.ok(lines.includes('  output  rates: 4 rows, 3 withheld; DOES NOT MATCH the copy in this home'));
    assert.ok(!lines.some((line) => line.startsWith('OK')));
  });
});

describe('cli progress', () => {
  function sink(isTerminal: boolean) {
    const written: string[] = [];
    return {
      written,
      stderr: (line: string) => written.push(`${line}\n`),
      stderrText: (text: string) => written.push(text),
      stderrIsTerminal: isTerminal,
    };
  }

  it('on a terminal rewrites one line in place, skips repeats, cuts a long line, and clears it at the end', () => {
    const out = sink(true);
    const progress = progressReporter(out);
    progress.show('Decrypting… 1.0 MB of 4.0 MB');
    progress.show('Decrypting… 1.0 MB of 4.0 MB');
    progress.show('Running cell 2 of 3');
    progress.show('y'.repeat(200));
    progress.clear();
    assert.deepEqual(out.written.slice(0, 2), ['\r\u001b[KDecrypting… 1.0 MB of 4.0 MB', '\r\u001b[KRunning cell 2 of 3']);
    assert.equal([...(out.written[2] as string)].length, '\r\u001b[K'.length + 78);
    assert.equal(out.written[3], '\r\u001b[K');
    assert.equal(out.written.length, 4);
    assert.ok(!out.written.join('').includes('\n'), 'no new lines on a terminal');
  });

  it('elsewhere prints plain lines, only changed ones, at most one a second', () => {
    const out = sink(false);
    let now = 10_000;
    const progress = progressReporter(out, () => now);
    progress.show('Decrypting…');
    now += 100;
    progress.show('Running cell 1 of 3');
    now += plainLineEveryMs;
    progress.show('Running cell 1 of 3');
    progress.show('Running cell 2 of 3');
    now += plainLineEveryMs;
    progress.show('Running cell 2 of 3');
    progress.clear();
    assert.deepEqual(out.written, ['Decrypting…\n', 'Running cell 1 of 3\n', 'Running cell 2 of 3\n']);
  });
});
