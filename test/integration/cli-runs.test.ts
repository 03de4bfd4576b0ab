// The joint analysis story of DESIGN.md through the built `cleanroom` command alone: St Mary and
// Acme each add a table, Acme adds a notebook, St Mary approves it by packet, Acme runs it and reads
// the output (groups below k suppressed) as CSV equal to the aggregates computed here from the
// plain data; the receipt verifies and a changed byte does not; the release reaches St Mary, whose
// `output show` gives the same CSV. Also Ctrl-C on a run, a policy refusal, and bad input.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, after, describe, it } from 'node:test';
import { toCsv } from '../../shared/csv.js';
import { assertRefused, assertUsage, lines, startCli } from '../support/cli-process.js';
import { type CliParty, createCliParty, partyEnv } from '../support/cli-rooms.js';
import { temporaryFolder } from '../support/homes.js';

const room = 'Readmissions';
/** The room's default minimum group size. */
const k = 10;

/** Groups of patients in both tables: age band, plan, how many, how many were readmitted. */
const groups = [
  { ageBand: '18-39', plan: 'gold', people: 20, readmitted: 5 },
  { ageBand: '18-39', plan: 'silver', people: 12, readmitted: 6 },
  { ageBand: '40-64', plan: 'gold', people: 16, readmitted: 2 },
  { ageBand: '40-64', plan: 'silver', people: 24, readmitted: 18 },
  // Fewer than k people: suppressed.
  { ageBand: '65+', plan: 'gold', people: 3, readmitted: 1 },
  // Exactly k: kept.
  { ageBand: '65+', plan: 'silver', people: 10, readmitted: 5 },
];
const claimPerPerson = 100;

interface RunJson {
  id: string;
  status: string;
  runner: string;
  isMine: boolean;
  suppressedRows: number;
  outputs: { name: string; rows: number; suppressedRows: number }[];
  failure: { class: string; cell: number | null; reasons: string[] } | null;
  released: boolean;
}

interface OutputJson {
  run: string;
  name: string;
  source: string;
  rows: number;
  suppressedRows: number;
  columns: { name: string; type: string }[];
}

interface SnapshotJson {
  id: string;
  status: { canRun: boolean; reasons: string[] };
}

// Issue 17: groups below k are removed and not counted; values are withheld (NULL) instead, and
// suppressedRows counts them. avg(readmitted) is withheld where fewer than k people were
// readmitted (non-zero contributors). sum(amount) is released: its non-zero set (everyone in the
// group) is compared by the differencing rule only with non-zero sets of the same column (not the
// rate's readmitted people), and amounts are equal, so no dominance.
const rateWithheld = (group: (typeof groups)[number]): boolean => group.readmitted < k;
const kept = groups.filter((group) => group.people >= k);
/** Withheld values in the output (4 rates). */
const withheldValues = kept.filter(rateWithheld).length;

/** The CSV the notebook's cell must produce: the groups of at least k, in ORDER BY order. */
function expectedCsv(): string {
  return toCsv(
    [{ name: 'age_band' }, { name: 'plan' }, { name: 'n' }, { name: 'readmission_rate' }, { name: 'claimed' }],
    kept.map((group) => [
      group.ageBand,
      group.plan,
      String(group.people),
      rateWithheld(group) ? null : String(group.readmitted / group.people),
      String(group.people * claimPerPerson),
    ]),
  );
}

describe('cli: joint analysis: run, outputs, receipts and release through the command alone', () => {
  const folder = temporaryFolder();
  const files = path.join(folder.dir, 'source-files');
  let mary: CliParty;
  let acme: CliParty;
  let snapshot: SnapshotJson;
  let failingSnapshot: SnapshotJson;
  let runId = '';
  let receiptFile = '';

  let sent = 0;
  /** One packet from `from` to `to`, carried over and imported, as people do it. */
  const send = async (from: CliParty, to: CliParty) => {
    const packet = await from.json<{ path: string }>(['packet', 'export', room, '--out', path.join(from.outbox, `packet-${++sent}.cleanroom`)]);
    await to.json(['packet', 'import', packet.path]);
  };

  before(async () => {
    mkdirSync(files, { recursive: true });
    const admissions = ['patient_id,age_band,readmitted'];
    const claims = ['patient_id,plan,amount'];
    let patient = 1000;
    for (const group of groups) {
      for (let i = 0; i < group.people; i++) {
        patient++;
        admissions.push(`${patient},${group.ageBand},${i < group.readmitted ? 1 : 0}`);
        claims.push(`${patient},${group.plan},${claimPerPerson}`);
      }
    }
    // People in only one of the tables: the join leaves them out.
    for (let i = 0; i < 15; i++) admissions.push(`${5000 + i},18-39,1`);
    for (let i = 0; i < 5; i++) claims.push(`${7000 + i},gold,999`);
    writeFileSync(path.join(files, 'admissions.csv'), `${admissions.join('\n')}\n`);
    writeFileSync(path.join(files, 'claims.csv'), `${claims.join('\n')}\n`);
    writeFileSync(
      path.join(files, 'rates.sql'),
      [
        '-- %% [markdown]',
        '-- Readmission rate by age band and plan',
        '-- %% output=rates',
        'SELECT a.age_band, c.plan, count(*) AS n, avg(a.readmitted) AS readmission_rate, sum(c.amount) AS claimed',
        'FROM admissions a JOIN claims c ON a.patient_id = c.patient_id',
        'GROUP BY a.age_band, c.plan',
        'ORDER BY a.age_band, c.plan',
        '',
      ].join('\n'),
    );
    // Passes the policy, then overflows HUGEINT while running: before issue 17 a failure of cell 2;
    // now arithmetic over aggregates is total (TRY), so the value is NULL and the run succeeds.
    writeFileSync(
      path.join(files, 'overflow.sql'),
      [
        '-- %% output=bands',
        'SELECT a.age_band, count(*) AS n FROM admissions a GROUP BY a.age_band',
        '-- %% output=too_big',
        'SELECT c.plan, sum(c.amount) * 9223372036854775807 * 9223372036854775807 AS too_big FROM claims c GROUP BY c.plan',
        '',
      ].join('\n'),
    );
    writeFileSync(
      path.join(files, 'plans.sql'),
      "-- %% output=plans\nSELECT a.age_band, string_agg(c.plan, ',') AS plans FROM admissions a JOIN claims c ON a.patient_id = c.patient_id GROUP BY a.age_band\n",
    );

    [mary, acme] = await Promise.all([createCliParty(folder.dir, 'St Mary'), createCliParty(folder.dir, 'Acme Insurance')]);
    const created = await acme.json<{ packet: { path: string } }>(['room', 'create', '--name', room, '--member', mary.card, '--out', acme.outbox]);
    await mary.json(['packet', 'import', created.packet.path]);
    const joined = await mary.json<{ packet: { path: string } }>(['room', 'join', room, '--out', mary.outbox]);
    await mary.json(['table', 'add', room, '--name', 'admissions', '--file', path.join(files, 'admissions.csv'), '--privacy-unit', 'patient_id', '--dimension', 'age_band', '--measure', 'readmitted']);
    await acme.json(['packet', 'import', joined.packet.path]);
    await acme.json(['table', 'add', room, '--name', 'claims', '--file', path.join(files, 'claims.csv'), '--privacy-unit', 'patient_id', '--dimension', 'plan', '--measure', 'amount']);
    await send(mary, acme);
    const recipients = ['--recipient', acme.alias, mary.alias];
    snapshot = await acme.json<SnapshotJson>(['notebook', 'add', room, '--name', 'Readmission by age and plan', '--file', path.join(files, 'rates.sql'), ...recipients]);
    failingSnapshot = await acme.json<SnapshotJson>(['notebook', 'add', room, '--name', 'Overflow', '--file', path.join(files, 'overflow.sql')]);
    // Three runs: one that succeeds, one cancelled with Ctrl-C, one spare. Adding a notebook is
    // its author's approval for one run, so Acme approves again for more.
    await acme.json(['approve', room, snapshot.id, '--runs', '3']);
    await acme.json(['approve', room, failingSnapshot.id, '--runs', '2']);
    await send(acme, mary);
    await mary.json(['approve', room, snapshot.id, '--runs', '3']);
    await mary.json(['approve', room, failingSnapshot.id, '--runs', '2']);
    // St Mary's approval carries her data key sealed to Acme, and the packet her encrypted table.
    await send(mary, acme);
    const ready = await acme.json<SnapshotJson>(['notebook', 'show', room, snapshot.id]);
    assert.equal(ready.status.canRun, true, ready.status.reasons.join('; '));
  });

  after(() => folder.remove());

  it('Acme runs the approved snapshot: run id, status, outputs with rows and rows suppressed, the receipt hint', async () => {
    const result = await acme.run(['run', room, snapshot.id.slice(0, 8)]);
    assert.equal(result.code, 0, result.stderr);
    const found = /^Run {9}([0-9a-f]{64})$/m.exec(result.stdout);
    assert.ok(found !== null, result.stdout);
    runId = found[1] as string;
    assert.match(result.stdout, /^Status {6}succeeded$/m);
    assert.equal(withheldValues, 4);
    // Issue 17: the count is of withheld values now (removed groups are not counted).
    assert.match(result.stdout, /^Withheld {4}4 values \(the output policy's; groups below the room's minimum size are left out uncounted\)$/m);
    assert.match(result.stdout, /^ {2}rates {2}5 rows, 4 withheld$/m);
    assert.match(result.stdout, new RegExp(`^Keep the receipt: cleanroom receipt save ${room} ${runId.slice(0, 12)} --out F$`, 'm'));
    assert.match(result.stderr, new RegExp(`^Started run ${runId.slice(0, 12)}; Ctrl-C cancels it\\.$`, 'm'));
  });

  it('the run is in the room\'s history for both members once a packet has carried it', async () => {
    const [mine] = (await acme.json<{ runs: RunJson[] }>(['run', 'list', room])).runs;
    assert.equal(mine?.id, runId);
    assert.equal(mine?.status, 'succeeded');
    assert.equal(mine?.isMine, true);
    assert.equal(mine?.suppressedRows, withheldValues); // issue 17: withheld values
    await send(acme, mary);
    const seenByMary = (await mary.json<{ runs: RunJson[] }>(['run', 'list', room])).runs.find((run) => run.id === runId);
    assert.equal(seenByMary?.runner, 'Acme Insurance');
    assert.equal(seenByMary?.isMine, false);
    assert.equal(seenByMary?.status, 'succeeded');
    const text = await mary.run(['run', 'list', room]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^RUN\s+NOTEBOOK\s+RUNNER\s+STARTED\s+STATUS\s+(SUPPRESSED|WITHHELD)\s+RELEASED$/m);
    assert.match(text.stdout, new RegExp(`^${runId.slice(0, 12)}\\s+Readmission by age and plan\\s+Acme Insurance\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\\s+succeeded\\s+${withheldValues}\\s+no$`, 'm'));
  });

  it('output list and output show: the CSV equals the aggregates of the plain data, small groups suppressed', async () => {
    const { outputs } = await acme.json<{ outputs: OutputJson[] }>(['output', 'list', room]);
    assert.deepEqual(
      outputs.map((output) => [output.run, output.name, output.source, output.rows, output.suppressedRows]),
      [[runId, 'rates', 'mine', 5, withheldValues]], // issue 17: withheld values
    );
    const csv = await acme.run(['output', 'show', room, 'rates', '--format', 'csv']);
    assert.equal(csv.code, 0, csv.stderr);
    assert.equal(csv.stdout, expectedCsv());
    assert.ok(!csv.stdout.includes('65+,gold'), 'the group of 3 is not in the output');

    const byRun = await acme.run(['output', 'show', room, `${runId.slice(0, 8)}:rates`, '--format', 'csv']);
    assert.equal(byRun.stdout, expectedCsv());
    const json = JSON.parse((await acme.run(['output', 'show', room, 'rates', '--format', 'json'])).stdout) as { columns: { name: string }[]; rows: unknown[][] };
    assert.deepEqual(json.columns.map((column) => column.name), ['age_band', 'plan', 'n', 'readmission_rate', 'claimed']);
    assert.deepEqual(json.rows[3], ['40-64', 'silver', 24, 0.75, 2400], 'numbers are JSON numbers');
    assert.deepEqual(json.rows[0]?.[3], null, 'a withheld value is null');

    // --json: the whole of output.show, its counts and its cells' numbers all JSON numbers.
    const whole = await acme.run(['--json', 'output', 'show', room, 'rates']);
    assert.equal(whole.code, 0, whole.stderr);
    const shown = JSON.parse(whole.stdout) as { ok: boolean; value: { output: { rows: unknown; suppressedRows: unknown }; offset: unknown; rows: unknown[][] } };
    assert.equal(shown.ok, true);
    assert.equal(typeof shown.value.output.rows, 'number');
    assert.equal(typeof shown.value.output.suppressedRows, 'number');
    assert.equal(typeof shown.value.offset, 'number');
    assert.deepEqual(
      shown.value.rows[3]?.map((value) => typeof value),
      ['string', 'string', 'number', 'number', 'number'],
    );
    assert.deepEqual(shown.value.rows, json.rows);

    const table = await acme.run(['output', 'show', room, 'rates']);
    assert.equal(table.code, 0, table.stderr);
    const tableLines = lines(table.stdout);
    assert.match(tableLines[0] as string, /^age_band\s+plan\s+n\s+readmission_rate\s+claimed$/);
    assert.match(tableLines[1] as string, /^-+ {2}-+ {2}-+ {2}-+ {2}-+$/);
    assert.match(tableLines[5] as string, /^40-64\s+silver\s+24\s+0\.75\s+2400$/);
    assert.match(tableLines[2] as string, /^18-39\s+gold\s+20\s+NULL\s+2000$/, 'issue 17: a rate on 5 readmitted people is withheld');
    assert.equal(tableLines.at(-1), '(5 rows; 4 values withheld by the output policy)'); // issue 17: withheld values
  });

  it('receipt save writes the receipt; receipt verify says OK, by the runner and by St Mary', async () => {
    const saved = await acme.run(['receipt', 'save', room, runId.slice(0, 10), '--out', acme.outbox]);
    assert.equal(saved.code, 0, saved.stderr);
    const written = /^Wrote the receipt of run \S+ to (.+)\.$/m.exec(saved.stdout);
    assert.ok(written !== null, saved.stdout);
    receiptFile = written[1] as string;
    assert.ok(receiptFile.endsWith('.cleanroom-receipt'));

    for (const party of [acme, mary]) {
      const verified = await party.run(['receipt', 'verify', receiptFile]);
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      assert.equal(lines(verified.stdout).at(-1), 'OK: the receipt verifies.');
      assert.match(verified.stdout, /^ {2}ok {6}\S/m);
      assert.match(verified.stdout, /^ {2}output {2}rates: 5 rows, 4 withheld; /m); // issue 17: withheld values
    }
    const json = await acme.json<{ ok: boolean; outputs: { name: string; matches: boolean | null }[] }>(['receipt', 'verify', receiptFile]);
    assert.equal(json.ok, true);
    assert.deepEqual(json.outputs, [{ name: 'rates', rows: 5, suppressedRows: withheldValues, matches: true }]);
  });

  it('a receipt with one changed byte does not verify: FAILED, exit 1', async () => {
    const bytes = readFileSync(receiptFile);
    const digit = bytes.indexOf(`"suppressedRows":${withheldValues}`);
    assert.ok(digit > 0);
    const changedCount = Buffer.from(bytes);
    changedCount[digit + '"suppressedRows":'.length] = '0'.charCodeAt(0);
    const middle = Buffer.from(bytes);
    const at = Math.floor(middle.length / 2);
    middle[at] = (middle[at] as number) ^ 0x01;
    for (const [name, changed] of [['count', changedCount], ['middle', middle]] as const) {
      const file = path.join(folder.dir, `changed-${name}.cleanroom-receipt`);
      writeFileSync(file, changed);
      const result = await mary.run(['receipt', 'verify', file]);
      assert.equal(result.code, 1, `${name}: ${result.stdout}${result.stderr}`);
      assert.match(lines(result.stdout).at(-1) ?? '', /^FAILED: \S/, name);
      assert.ok(!result.stdout.includes('OK: the receipt verifies'), name);
    }
    const missing = await mary.run(['receipt', 'verify', path.join(folder.dir, 'nowhere.cleanroom-receipt')]);
    assertRefused(missing, /Cannot read the receipt .*nowhere\.cleanroom-receipt \(no such file or folder\)/);
  });

  it('output release: St Mary imports the packet and output show gives the same CSV', async () => {
    const released = await acme.run(['output', 'release', room, runId.slice(0, 8), '--out', path.join(acme.outbox, 'release.cleanroom')]);
    assert.equal(released.code, 0, released.stderr);
    assert.match(released.stdout, new RegExp(`^Released the outputs of run ${runId.slice(0, 8)} to St Mary\\.$`, 'm'));
    assert.match(released.stdout, /^Packet written to .*release\.cleanroom \(\d+ bytes\)\.$/m);

    const imported = await mary.run(['packet', 'import', path.join(acme.outbox, 'release.cleanroom')]);
    assert.equal(imported.code, 0, imported.stderr);
    const { outputs } = await mary.json<{ outputs: OutputJson[] }>(['output', 'list', room]);
    assert.deepEqual(outputs.map((output) => [output.run, output.name, output.source, output.rows]), [[runId, 'rates', 'released', 5]]);
    const csv = await mary.run(['output', 'show', room, 'rates', '--format', 'csv']);
    assert.equal(csv.code, 0, csv.stderr);
    assert.equal(csv.stdout, expectedCsv());
    const [run] = (await acme.json<{ runs: RunJson[] }>(['run', 'list', room])).runs;
    assert.equal(run?.released, true);
  });

  it('Ctrl-C cancels a run: exit 1, it says nothing was kept, and the run is recorded as cancelled', async () => {
    const running = startCli(['--home', acme.home, 'run', room, snapshot.id], partyEnv);
    // Ctrl-C as soon as the run has started (the worker is still starting then).
    let stderr = '';
    let signalled = false;
    running.child.stderr?.on('data', (chunk: string) => {
      stderr += chunk;
      if (!signalled && stderr.includes('Ctrl-C cancels it')) {
        signalled = true;
        running.child.kill('SIGINT');
      }
    });
    const result = await running.result;
    assert.ok(signalled, result.stderr);
    assert.equal(result.signal, null, 'ended by itself, not by the signal');
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(lines(result.stderr).at(-1) as string, /^cleanroom: Run [0-9a-f]{12} was cancelled; nothing was kept/);
    assert.equal(result.stdout, '');
    const [latest] = (await acme.json<{ runs: RunJson[] }>(['run', 'list', room])).runs;
    assert.notEqual(latest?.id, runId);
    assert.equal(latest?.status, 'cancelled');
    assert.deepEqual(latest?.outputs, []);
    const { outputs } = await acme.json<{ outputs: OutputJson[] }>(['output', 'list', room]);
    assert.deepEqual(outputs.map((output) => output.run), [runId], 'the cancelled run left no output');
  });

  // Issue 17: no value can fail an aggregate-mode run any more (arithmetic is total), so this
  // notebook, which used to fail cell 2 with OutOfRangeError, succeeds with NULL where it overflows.
  // It also shows differencing against the ledger of earlier runs: the rates run released the
  // 65+ silver group (10 people); the 65+ band here (13 people) differs from it by 3 < k, so its
  // count is withheld. The plan totals (90 claims people) differ by 8 < k from the people behind the
  // rates run's released counts (82), so the smaller plan's total is withheld too (complementary).
  it('an overflow over aggregates gives NULL, not a failure; counts near an earlier run\'s are withheld', async () => {
    const result = await acme.run(['run', room, failingSnapshot.id]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^Status {6}succeeded$/m);
    const [latest] = (await acme.json<{ runs: RunJson[] }>(['run', 'list', room])).runs;
    assert.equal(latest?.failure, null);
    assert.deepEqual(latest?.outputs.map((output) => [output.name, output.rows, output.suppressedRows]), [['bands', 3, 1], ['too_big', 2, 1]]);
    const show = async (output: string) =>
      (JSON.parse((await acme.run(['output', 'show', room, `${(latest?.id ?? '').slice(0, 12)}:${output}`, '--format', 'json'])).stdout) as { rows: (string | number | null)[][] }).rows;
    const bands = (await show('bands')).sort((x, y) => String(x[0]).localeCompare(String(y[0])));
    assert.deepEqual(bands, [['18-39', 47], ['40-64', 40], ['65+', null]]);
    assert.deepEqual((await show('too_big')).map((row) => row[1]), [null, null], 'overflow gives NULL (and one of them is withheld besides)');
  });

  it('refuses bad input with one clear line, and usage errors with the usage', async () => {
    assertRefused(await acme.run(['run', 'Nowhere', snapshot.id]), /Nowhere/);
    assertRefused(await acme.run(['output', 'list', 'Nowhere']), /Nowhere/);
    assertRefused(await acme.run(['receipt', 'save', room, 'abcdef0123', '--out', acme.outbox]), /abcdef0123/);
    assertRefused(await acme.run(['output', 'release', room, 'abcdef0123', '--out', acme.outbox]), /abcdef0123/);
    assertRefused(await acme.run(['output', 'show', room, 'no_such_output']), /no_such_output/);
    assertRefused(await mary.run(['run', room, snapshot.id]), /runner|Acme Insurance/);
    assertRefused(
      await acme.run(['notebook', 'add', room, '--name', 'Plans', '--file', path.join(files, 'plans.sql')]),
      /Cell 1: .*string_agg reveals individual values and is not allowed in aggregate mode/,
    );
    assertUsage(await acme.run(['output', 'show', room, 'rates', '--format', 'xlsx']), /--format must be table, csv, json, not "xlsx"/);
    assertUsage(await acme.run(['output', 'release', room, runId]), /needs --out/);
    assertUsage(await acme.run(['receipt', 'verify']), /needs F/);
  });
});
