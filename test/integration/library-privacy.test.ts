// ACCEPTANCE (issue 6, story 2): a private library stays private. On real homes, St Mary (the
// data owner, and the runner) and an ML expert (the author, with a private library volume of
// distinctive macros) form a room; the expert adds a notebook that trains a readmission model with
// the library; St Mary approves and runs it, and gets the model. Then a search of every file of
// St Mary's home (SQLite WAL included), of any run folder left anywhere, and of everything the
// `cleanroom` CLI shows St Mary (assets, snapshots, runs, outputs, the model, receipts, errors)
// finds no line and no distinctive token of the library. Also: a snapshot whose library owner
// withdrew their approval cannot run, and a macro that breaks the policy fails the run with the
// generic reason while the library's owner sees the real one.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ramFolderRoot } from '../../electron/core/ram-folder.js';
import { privateLibraryRefusal } from '../../electron/worker/cells.js';
import { parseModelDocument } from '../../shared/model.js';
import { type CliResult, runCli } from '../support/cli-process.js';
import { partyEnv } from '../support/cli-rooms.js';
import { addAsset, addUncheckedSnapshot, exchange, formRoom, makeParty, openUnlocked, type Party, whileClosed } from '../support/core-parties.js';
import { allFileBytes, liveFileBytes, temporaryFolder } from '../support/homes.js';
import { followJob } from '../support/run-parties.js';
import { admissionRows } from '../support/train-fixtures.js';

/**
 * The expert's library. Its body constants, strings and parameter names are distinctive. (What a
 * macro computes reaches the model by design — a categorical feature's levels are in it — so its
 * values here are numbers; its code must never show.)
 */
const featuresSql = `-- Readmission feature library (private to the ML expert, v3)
/* frailty weights fitted on the expert's own cohort */
CREATE MACRO capped_stay(stay_days_q) AS least(stay_days_q, 21) * 0.9721337;
CREATE MACRO frailty_index(yrs_q, prev_q) AS
  ln(1 + capped_stay(prev_q)) * 2.7182818 + yrs_q / 13.0717;
CREATE MACRO dx_family(dx_q) AS
  CASE WHEN dx_q IN ('heart_failure', 'copd') OR dx_q = 'zebra_cardio_pulm' THEN 1 ELSE 0 END;
CREATE MACRO patient_key(pid_q) AS pid_q + 0;
CREATE MACRO cohort_tag(tag_q) AS tag_q || current_setting('threads');
`;

/** Every line of the library with 10 or more characters, and its distinctive tokens. */
const secrets = [
  ...featuresSql
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length >= 10),
  '0.9721337',
  '2.7182818',
  '13.0717',
  'zebra_cardio_pulm',
  'stay_days_q',
  'yrs_q',
  'prev_q',
  'dx_q',
  'pid_q',
  'frailty weights',
  'least(',
];

const trainNotebook = `-- library features
-- %% [markdown]
-- # Readmission within 30 days
-- %% [train] model=readmission algorithm=logistic target=readmitted features=age,los,frailty,family,emergency
SELECT age, capped_stay(length_of_stay) AS los, frailty_index(age, prior_admissions) AS frailty,
       dx_family(diagnosis) AS family, emergency, readmitted
FROM admissions
`;

/** A SQL cell whose macro reads the engine's settings: refused in every mode, reviewed included. */
const leakyNotebook = `-- library features
-- %% output=per_cohort
SELECT cohort_tag(sex) AS cohort, count(*) AS n FROM admissions GROUP BY cohort
`;

/** Writes the admissions CSV: one row per patient, with a planted readmission signal. */
function admissionsCsv(file: string): void {
  const columns = ['patient_id', 'age', 'sex', 'diagnosis', 'length_of_stay', 'prior_admissions', 'emergency', 'readmitted'] as const;
  const rows = admissionRows({ patients: 600 }).map((row) => columns.map((column) => String(row[column])).join(','));
  writeFileSync(file, `${columns.join(',')}\n${rows.join('\n')}\n`);
}

/** "file: secret" for every secret found in any of `files`. */
function secretsIn(files: ReadonlyMap<string, Buffer>): string[] {
  const found: string[] = [];
  for (const [name, bytes] of files) for (const secret of secrets) if (bytes.includes(Buffer.from(secret, 'utf8'))) found.push(`${name}: ${secret}`);
  return found;
}

describe('a private library stays private (story 2 on real homes)', () => {
  const folder = temporaryFolder('library-privacy-');
  const files = path.join(folder.dir, 'files');
  let mary: Party;
  let expert: Party;
  let room = '';
  const snapshots = { train: '', revoked: '', leaky: '' };
  let trainRun = '';
  /** Everything the CLI printed to St Mary. */
  const shown: CliResult[] = [];

  before(async () => {
    mary = await makeParty(folder.dir, 'St Mary');
    expert = await makeParty(folder.dir, 'Expert');
    // Reviewed mode, as in the demo's story 2: the features are the library's computed columns,
    // which an aggregate room's train cells refuse (bare columns only); St Mary runs it herself.
    room = await formRoom(mary, [expert], 'Readmission model', 'reviewed');
    mkdirSync(path.join(files, 'library'), { recursive: true });
    admissionsCsv(path.join(files, 'admissions.csv'));
    writeFileSync(path.join(files, 'library', 'features.sql'), featuresSql);
    const table = await addAsset(mary, 'table.add', {
      room,
      name: 'admissions',
      path: path.join(files, 'admissions.csv'),
      roles: [
        { column: 'patient_id', role: 'privacy_unit' },
        { column: 'age', role: 'measure' },
        { column: 'sex', role: 'dimension' },
        { column: 'diagnosis', role: 'dimension' },
        { column: 'length_of_stay', role: 'measure' },
        { column: 'prior_admissions', role: 'measure' },
        { column: 'emergency', role: 'dimension' },
        { column: 'readmitted', role: 'dimension' },
      ],
    });
    assert.ok(table.ok, table.ok ? '' : table.error.message);
    const volume = await addAsset(expert, 'volume.add', { room, name: 'features', path: path.join(files, 'library'), private: true });
    assert.ok(volume.ok, volume.ok ? '' : volume.error.message);
    await exchange([mary, expert], room);
  });

  after(async () => {
    for (const party of [mary, expert]) await party?.core.close();
    folder.remove();
  });

  it('lets only the library\'s owner use it in a notebook, and shows the owner the real reasons', async () => {
    const refused = await mary.core.dispatch('notebook.add', { room, name: 'Not mine', source: trainNotebook });
    assert.equal(refused.ok, false);
    if (!refused.ok) {
      assert.equal(refused.error.code, 'NOT_ALLOWED');
      assert.match(refused.error.message, /^A notebook may use only your own volumes as libraries; features is Expert's; nothing was added\.$/);
    }
    const missing = await expert.core.dispatch('notebook.add', { room, name: 'Missing', source: trainNotebook.replace('-- library features', '-- library nowhere') });
    assert.equal(missing.ok, false);
    if (!missing.ok) assert.equal(missing.error.code, 'NOT_FOUND');

    // On the expert's own machine the macro is read and expanded: the policy's reason is given in full.
    const check = await expert.core.call('notebook.check', { room, source: leakyNotebook });
    assert.equal(check.ok, false);
    assert.deepEqual(check.problems, []);
    assert.match(check.cells[0]?.problems.join('; ') ?? '', /function current_setting reveals the environment/);
    const good = await expert.core.call('notebook.check', { room, source: trainNotebook });
    assert.deepEqual({ ok: good.ok, problems: good.problems, cells: good.cells.map((cell) => cell.problems) }, { ok: true, problems: [], cells: [[], []] });
    assert.equal(good.cells[1]?.output, 'readmission');
    assert.deepEqual(good.cells[1]?.reads, ['admissions']);
    const leakyAdd = await expert.core.dispatch('notebook.add', { room, name: 'Leaky', source: leakyNotebook, runner: 'St Mary' });
    assert.equal(leakyAdd.ok, false);
    if (!leakyAdd.ok) assert.equal(leakyAdd.error.code, 'POLICY_REFUSED');
  });

  it('shows the owner the problems of their own library, and refuses to add a notebook that uses it', async () => {
    const broken = path.join(files, 'broken');
    mkdirSync(broken);
    writeFileSync(path.join(broken, 'bad.sql'), 'CREATE MACRO fine_one(x) AS x + 1;\nDROP TABLE admissions;\nCREATE MACRO sneaky(x) AS (SELECT count(*) FROM admissions);\n');
    const volume = await addAsset(expert, 'volume.add', { room, name: 'scratch', path: broken, private: true });
    assert.ok(volume.ok, volume.ok ? '' : volume.error.message);
    const source = '-- library scratch\n-- %% output=n\nSELECT sex, count(*) AS n FROM admissions GROUP BY sex\n';
    const check = await expert.core.call('notebook.check', { room, source });
    assert.equal(check.ok, false);
    assert.deepEqual(check.problems, [
      'library scratch: bad.sql, statement 2: only CREATE MACRO name(parameters) AS expression statements are allowed',
      'library scratch: bad.sql, statement 3: macro sneaky: the body uses a subquery or a table; a macro may use only its parameters',
    ]);
    const added = await expert.core.dispatch('notebook.add', { room, name: 'Scratch', source });
    assert.equal(added.ok, false);
    if (!added.ok) {
      assert.equal(added.error.code, 'BAD_REQUEST');
      assert.equal(added.error.message, 'Library scratch: bad.sql, statement 2: only CREATE MACRO name(parameters) AS expression statements are allowed; nothing was added.');
    }
  });

  it('runs the approved snapshot on the data owner\'s machine and gives the data owner the model', async () => {
    const added = await expert.core.call('notebook.add', { room, name: 'Readmission model', source: trainNotebook, runner: 'St Mary' });
    snapshots.train = added.id;
    const library = added.assets.find((asset) => asset.kind === 'volume');
    assert.equal(library?.name, 'features', 'the snapshot pins the library by its payload hash');
    await exchange([mary, expert], room);

    const view = await mary.core.call('notebook.show', { room, snapshot: snapshots.train });
    assert.equal(view.assets.find((asset) => asset.kind === 'volume')?.payloadHash, library?.payloadHash);
    await mary.core.call('approval.grant', { room, snapshot: snapshots.train });
    const started = await mary.core.call('run.start', { room, snapshot: snapshots.train });
    const job = await followJob(mary, started.job);
    assert.equal(job.state, 'done', JSON.stringify(job.error));
    trainRun = started.run;

    const output = await mary.core.call('output.show', { room, output: 'readmission' });
    assert.equal(output.output.kind, 'model', JSON.stringify(output).slice(0, 2000));
    const parsed = parseModelDocument(output.rows[0]?.[0] ?? '');
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
    const { model } = parsed;
    assert.equal(model.algorithm, 'logistic');
    assert.deepEqual(model.features.map((feature) => feature.name).sort(), ['age', 'emergency', 'family', 'frailty', 'los']);
    assert.ok((model.metrics.test.auc ?? 0) > 0.6, `held-out AUC ${model.metrics.test.auc}`);

    // The receipt pins the library's payload hash among the inputs.
    const runs = await mary.core.call('run.list', { room });
    assert.equal(runs.runs.find((run) => run.id === trainRun)?.status, 'succeeded');
    await exchange([mary, expert], room);
  });

  it('refuses to run a snapshot whose library owner withdrew their approval, saying whose key is missing', async () => {
    const added = await expert.core.call('notebook.add', { room, name: 'Readmission model again', source: trainNotebook.replace('# Readmission', '# Again: readmission'), runner: 'St Mary' });
    snapshots.revoked = added.id;
    await expert.core.call('approval.revoke', { room, snapshot: snapshots.revoked });
    await exchange([mary, expert], room);
    await mary.core.call('approval.grant', { room, snapshot: snapshots.revoked });
    const refused = await mary.core.dispatch('run.start', { room, snapshot: snapshots.revoked });
    assert.equal(refused.ok, false);
    if (!refused.ok) {
      assert.equal(refused.error.code, 'NOT_ALLOWED');
      assert.match(refused.error.message, /cannot run in Readmission model: Expert revoked their approval/);
      assert.ok(!refused.error.message.includes('\n'));
    }
  });

  it('prepares a snapshot whose macro breaks the policy (added by a home that skipped the checks)', async () => {
    await addUncheckedSnapshot(expert, room, { name: 'Leaky', source: leakyNotebook, assets: ['admissions', 'features'], runner: mary.identity.signPublicKey, recipients: [mary.identity.signPublicKey] });
    const listed = (await expert.core.call('notebook.list', { room })).snapshots.find((snapshot) => snapshot.name === 'Leaky');
    assert.ok(listed !== undefined);
    snapshots.leaky = listed.id;
    // The author's approval carries the library's key to the runner.
    await expert.core.call('approval.grant', { room, snapshot: snapshots.leaky });
    await exchange([mary, expert], room);
    await mary.core.call('approval.grant', { room, snapshot: snapshots.leaky });
  });

  it('shows the data owner, through the CLI, no byte of the library — outputs, errors and receipts included', async () => {
    await mary.core.close();
    const cli = async (args: string[], expectOk = true): Promise<CliResult> => {
      const result = await runCli(['--home', mary.home, ...args], partyEnv);
      if (expectOk) assert.equal(result.code, 0, `cleanroom ${args.join(' ')}: ${result.stderr}`);
      shown.push(result);
      return result;
    };
    try {
      // The leaky snapshot: the run fails with the generic reason, on the CLI.
      const leaky = await cli(['run', room, snapshots.leaky], false);
      assert.equal(leaky.code, 1);
      assert.ok(leaky.stderr.includes(privateLibraryRefusal), leaky.stderr);
      const revoked = await cli(['run', room, snapshots.revoked], false);
      assert.equal(revoked.code, 1);
      assert.match(revoked.stderr, /Expert/);

      for (const json of [[], ['--json']]) {
        await cli([...json, 'room', 'show', room]);
        await cli([...json, 'asset', 'list', room]);
        await cli([...json, 'notebook', 'list', room]);
        for (const snapshot of Object.values(snapshots)) await cli([...json, 'notebook', 'show', room, snapshot]);
        await cli([...json, 'run', 'list', room]);
        await cli([...json, 'output', 'list', room]);
        await cli([...json, 'model', 'show', room, 'readmission']);
      }
      for (const format of ['table', 'csv', 'json']) await cli(['output', 'show', room, 'readmission', '--format', format]);
      const receipts = path.join(folder.dir, 'receipts');
      mkdirSync(receipts);
      await cli(['receipt', 'save', room, trainRun, '--out', receipts]);
      const [receipt] = readdirSync(receipts);
      assert.ok(receipt !== undefined);
      await cli(['receipt', 'verify', path.join(receipts, receipt)]);
      const modelFile = path.join(folder.dir, 'readmission.json');
      await cli(['model', 'save', room, 'readmission', '--out', modelFile]);
      // The owner's own check of the notebook names the library as someone else's, and nothing more.
      const notebookFile = path.join(folder.dir, 'notebook.sql');
      writeFileSync(notebookFile, trainNotebook);
      const check = await cli(['notebook', 'check', room, '--file', notebookFile], false);
      assert.equal(check.code, 1);
      assert.match(check.stdout + check.stderr, /only your own volumes/);

      const printed = new Map(shown.map((result, index) => [`cli output ${index + 1}`, Buffer.from(`${result.stdout}\n${result.stderr}`, 'utf8')]));
      for (const file of [path.join(receipts, receipt), modelFile]) printed.set(file, readFileSync(file));
      assert.deepEqual(secretsIn(printed), [], 'nothing the CLI showed holds the library');
      assert.match(shown.map((result) => result.stdout).join('\n'), /features/, 'the library is shown by name');
    } finally {
      mary.core = await openUnlocked(mary.home, mary.clock);
    }
  });

  it('leaves no byte of the library in any file of the data owner\'s home, nor in any run folder', async () => {
    // With the home open (SQLite WAL present) and closed again.
    assert.deepEqual(secretsIn(allFileBytes(mary.home)), []);
    await whileClosed(mary, () => assert.deepEqual(secretsIn(allFileBytes(mary.home)), []));
    const elsewhere = new Map<string, Buffer>();
    liveFileBytes(ramFolderRoot().root, elsewhere);
    for (const name of readdirSync(os.tmpdir())) if (name.startsWith('cleanroom')) liveFileBytes(path.join(os.tmpdir(), name), elsewhere);
    assert.deepEqual(secretsIn(elsewhere), []);
    const mine = [...liveFileBytes(ramFolderRoot().root).keys()].filter((name) => path.relative(ramFolderRoot().root, name).startsWith(`${process.pid}-`));
    assert.deepEqual(mine, [], 'no run folder is left');
    // The test is not vacuous: the expert's own source folder does hold the library.
    assert.ok(secretsIn(liveFileBytes(path.join(files, 'library'))).length > 0);
  });
});
