// Story 2 of DESIGN.md, "training on data you may not see", through the UI of two parties on two
// homes. St Mary Hospital (the data owner) and an ML lab form a room. The hospital adds its EHR
// admissions; the lab adds a PRIVATE volume (its features.sql, uploaded through the browser) and a
// notebook whose train cell calls the library's macros, with the hospital as runner. The hospital
// reads the code, sees the library only by name, owner and payload hash, approves, and runs it on
// its own machine; it opens the model viewer (held-out AUC, ROC curve, coefficients), exports the
// model as JSON and scores a file of new patients with it. Nothing the hospital's pages ever hold
// (text or markup) contains a line or a distinctive token of the library's content.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { $, browser, expect } from '@wdio/globals';
import { parseModelDocument, scoreRow } from '../../../shared/model.js';
import { openApp } from '../support/app.js';
import { downloadedNames, waitForDownload } from '../support/downloads.js';
import { formRoom, hospitalParty, importPacketAndOpenRoom, type Party, use, writePacketToFolder } from '../support/parties.js';
import { approvalRow, asset, importTable, openTab } from '../support/room-ui.js';
import { allByTestId, byTestId, chooseFiles, saveFullScreenshot, typeInto } from '../support/ui.js';
import { expectWindowUnscrolled } from '../support/window.js';
import { seededRandom } from '../../../shared/seeded-random.js';

const hospital: Party = hospitalParty();
const lab: Party = { alias: 'Orbit ML Lab', passphrase: 'granite willow falcon ember' };

// ---- The data: a seeded synthetic EHR with a planted readmission signal ------------------------

const diagnoses = ['CHF', 'COPD', 'Pneumonia', 'Sepsis', 'Diabetes'] as const;
const diagnosisEffect: Record<(typeof diagnoses)[number], number> = { CHF: 0.7, COPD: 0.35, Pneumonia: 0, Sepsis: 0.5, Diabetes: 0.1 };

function admissionsCsv(rows: number): string {
  const random = seededRandom(20_240_611);
  const pick = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));
  const lines = ['patient_id,age,sex,diagnosis,length_of_stay,prior_admissions,chronic_conditions,readmitted_30d'];
  for (let index = 0; index < rows; index++) {
    const age = pick(25, 94);
    const diagnosis = diagnoses[pick(0, diagnoses.length - 1)] as (typeof diagnoses)[number];
    const stay = pick(1, 24);
    const prior = Math.min(6, Math.floor(-Math.log(1 - random()) * 1.1));
    const chronic = pick(0, 5);
    const logit = -2.1 + 0.035 * (age - 60) + 0.13 * (Math.min(stay, 14) - 5) + 0.5 * prior + 0.3 * chronic + diagnosisEffect[diagnosis];
    const readmitted = random() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    lines.push(`P${String(index + 1).padStart(5, '0')},${age},${random() < 0.5 ? 'F' : 'M'},${diagnosis},${stay},${prior},${chronic},${readmitted}`);
  }
  return `${lines.join('\n')}\n`;
}

// ---- The lab's private library and notebook --------------------------------------------------

/**
 * The lab's features.sql. Its bodies are what must never reach the hospital: the constants are
 * distinctive so a leak anywhere is found. The macro names are in the notebook (which the hospital
 * reads and approves) and are not secret.
 */
const libraryText = [
  'CREATE MACRO capped_stay(los) AS least(los, 13.75);',
  'CREATE MACRO frailty_score(age, chronic) AS (age / 10.0) * 0.4429 + chronic * 1.8371;',
  '',
].join('\n');
/** Tokens of the library's content that appear nowhere else. */
const libraryTokens = ['13.75', '0.4429', '1.8371', 'least(los', 'CREATE MACRO', '(age / 10.0)'];
/** Every line of the library of 10 characters or more. */
const libraryLines = libraryText.split('\n').filter((line) => line.length >= 10);

const libraryName = 'feature_macros';
const modelName = 'readmission';
/** A second train cell: a linear model, so the viewer's other form is seen too. */
const stayModelName = 'stay_model';
const notebookName = 'Readmission model with private features';
const features = ['age', 'stay', 'frailty', 'prior_admissions', 'diagnosis'];
const notebookSource = [
  `-- library ${libraryName}`,
  '-- %% [markdown]',
  '-- # 30-day readmission model',
  "-- Fitted on the hospital's admissions, with the lab's private feature macros.",
  '',
  `-- %% [train] model=${modelName} algorithm=logistic target=readmitted_30d features=${features.join(',')} seed=7`,
  'SELECT age, capped_stay(length_of_stay) AS stay, frailty_score(age, chronic_conditions) AS frailty,',
  '       prior_admissions, diagnosis, readmitted_30d',
  'FROM admissions',
  '',
  `-- %% [train] model=${stayModelName} algorithm=linear target=length_of_stay features=age,chronic_conditions,diagnosis`,
  'SELECT age, chronic_conditions, diagnosis, length_of_stay FROM admissions',
].join('\n');

/** New patients to score: the model's features (the hospital computed stay and frailty beforehand), and one missing a value. */
const newPatients = [
  ['N001', '72', '9', '4.1', '2', 'CHF'],
  ['N002', '35', '3', '1.6', '0', 'Pneumonia'],
  ['N003', '81', '13.5', '8.9', '4', 'Sepsis'],
  ['N004', '58', '6', '', '1', 'COPD'],
  ['N005', '66', '2', '3.3', '0', 'Stroke'],
];
const newPatientsCsv = `${['ref,age,stay,frailty,prior_admissions,diagnosis', ...newPatients.map((row) => row.join(','))].join('\n')}\n`;

// ---- Steps --------------------------------------------------------------------------------------

/** What the hospital's window holds now, as markup and as text: no line or token of the library may be in either. */
async function expectNoLibraryContent(where: string): Promise<void> {
  const markup = await browser.getPageSource();
  const text = await $('body').getText();
  for (const needle of [...libraryLines, ...libraryTokens]) {
    expect({ where, needle, inMarkup: markup.includes(needle), inText: text.includes(needle) }).toEqual({ where, needle, inMarkup: false, inText: false });
  }
}

/**
 * Reads the scored rows the viewer shows: a map from the `ref` column to its prediction, exact (a
 * number's title holds it; the text is rounded for reading), or NULL.
 */
async function shownPredictions(): Promise<Map<string, string>> {
  const rows = await browser.execute(() =>
    Array.from(document.querySelectorAll('[data-testid="predict-table"] [data-testid="data-row"]')).map((row) =>
      Array.from(row.querySelectorAll('[data-testid="data-cell"]')).map((cell) => cell.getAttribute('title') ?? cell.textContent ?? ''),
    ),
  );
  const columns = await $$columns('predict-table');
  const ref = columns.indexOf('ref');
  const prediction = columns.indexOf('prediction');
  return new Map(rows.map((row) => [row[ref] ?? '', row[prediction] ?? '']));
}

async function $$columns(tableTestId: string): Promise<string[]> {
  return browser.execute(
    (testId) => Array.from(document.querySelectorAll(`[data-testid="${testId}"] [data-testid="data-column"]`)).map((column) => column.getAttribute('data-column') ?? ''),
    tableTestId,
  );
}

describe('train: story 2, training on data you may not see, with the data owner running it', () => {
  const stick = mkdtempSync(path.join(os.tmpdir(), 'cleanroom-e2e-stick-'));
  const data = mkdtempSync(path.join(os.tmpdir(), 'cleanroom-e2e-data-'));
  const admissionsFile = path.join(data, 'admissions.csv');
  const libraryFile = path.join(data, 'features.sql');
  const newPatientsFile = path.join(data, 'new-patients.csv');
  const downloaded: string[] = [];
  let packet = '';
  let shownAuc = Number.NaN;

  before(async () => {
    writeFileSync(admissionsFile, admissionsCsv(900));
    writeFileSync(libraryFile, libraryText);
    writeFileSync(newPatientsFile, newPatientsCsv);
    hospital.app = await openApp();
    lab.app = await openApp({ window: 'new' });
  });

  after(async () => {
    await hospital.app?.close();
    await lab.app?.close();
    rmSync(stick, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
    for (const file of [...downloaded, hospital.cardPath, lab.cardPath]) if (file !== undefined) rmSync(file, { force: true });
  });

  it('the hospital and the lab form a room; the hospital adds its admissions table', async () => {
    // Reviewed mode, as in the demo: the features are the library's computed columns, which an
    // aggregate room's train cells refuse (bare columns only); the hospital runs the notebook itself.
    await formRoom(hospital, lab, { name: 'Readmission model', site: 'St Mary × Orbit', stick, mode: 'reviewed' });
    await importTable(admissionsFile, 'admissions', {
      patient_id: 'privacy_unit',
      age: 'measure',
      sex: 'dimension',
      diagnosis: 'dimension',
      length_of_stay: 'measure',
      prior_admissions: 'measure',
      chronic_conditions: 'measure',
      readmitted_30d: 'measure',
    });
    packet = await writePacketToFolder('asset-next-step', stick);
  });

  it('the lab uploads its private library and adds the train notebook with the hospital as runner', async () => {
    await use(lab);
    await importPacketAndOpenRoom(packet);
    await openTab('assets');
    await byTestId('add-volume-button').click();
    await chooseFiles('volume-path-drop-input', libraryFile);
    await expect(byTestId('volume-path-uploaded-name')).toHaveText('features.sql');
    await typeInto('volume-name', libraryName);
    await expect(byTestId('volume-private')).toBeSelected();
    await byTestId('volume-add-submit').click();
    await byTestId('asset-next-step').waitForDisplayed();
    await expect(asset(libraryName)).toHaveAttribute('data-mine', 'true');

    await openTab('notebooks');
    await byTestId('new-notebook-button').click();
    await typeInto('notebook-name', notebookName);
    await typeInto('notebook-source', notebookSource);
    await browser.waitUntil(async () => (await byTestId('notebook-check').getAttribute('data-state')) === 'checked', {
      timeoutMsg: 'The notebook was not checked.',
    });
    // The author's own check sees the library's macros: the train cell passes.
    const trainCheck = $('[data-testid="notebook-check-cell"][data-kind="train"]');
    expect({ ok: await trainCheck.getAttribute('data-ok'), verdict: await trainCheck.$('[data-testid="check-cell-problems"]').getText() }).toEqual({ ok: 'true', verdict: 'OK' });
    await byTestId('notebook-runner').selectByAttribute('value', hospital.alias);
    await byTestId('notebook-add').click();
    await expect(byTestId('snapshot')).toHaveAttribute('data-state', 'ready');
    await expect(byTestId('snapshot-runner')).toHaveText(hospital.alias);
    await expect($(`[data-testid="snapshot-library"][data-name="${libraryName}"]`)).toHaveAttribute('data-mine', 'true');
    // Adding it was the lab's approval: its library's key is already sealed to the hospital, the runner.
    await expect(byTestId('my-approval')).toHaveAttribute('data-state', 'author');
    await expect(byTestId('approve')).not.toExist();
    await expect(approvalRow(lab.alias).$(`[data-testid="approval-key"][data-asset="${libraryName}"]`)).toHaveAttribute('data-key', 'released');
    packet = await writePacketToFolder('snapshot-next-step', stick);
  });

  it('the hospital reads the code, sees the library only by name, owner and hash, and approves', async () => {
    await use(hospital);
    await importPacketAndOpenRoom(packet);
    await openTab('assets');
    await expect(asset(libraryName)).toHaveAttribute('data-mine', 'false');
    await expect(asset(libraryName).$('[data-testid="asset-private"]')).toBeDisplayed();
    await expectNoLibraryContent('the assets tab');

    await openTab('notebooks');
    await $('[data-testid="snapshot-row"] [data-testid="snapshot-open"]').click();
    await expect(byTestId('snapshot')).toHaveAttribute('data-state', 'ready');
    const library = $(`[data-testid="snapshot-library"][data-name="${libraryName}"]`);
    await expect(library).toHaveAttribute('data-mine', 'false');
    await expect(library).toHaveText(expect.stringContaining(`Private library ${libraryName} by ${lab.alias}`));
    await expect(library.$('[data-testid="snapshot-library-note"]')).toHaveText(expect.stringContaining('Its content is never shown to you'));
    // The hash it shows is the one the snapshot pins for the volume.
    const pinned = await $(`[data-testid="snapshot-asset"][data-name="${libraryName}"] [data-testid="snapshot-asset-payload"]`).getAttribute('title');
    expect(pinned).toMatch(/^[0-9a-f]{64}$/);
    await expect(library.$('[data-testid="snapshot-library-hash"]')).toHaveAttribute('title', pinned ?? '');
    await expect(byTestId('snapshot-library-lines')).toHaveText(`-- library ${libraryName}`);
    await expect($('[data-testid="snapshot-library-lines"] .sql-library')).toExist();
    const train = $('[data-testid="snapshot-cell"][data-kind="train"]');
    await expect(train).toHaveText(expect.stringContaining('capped_stay(length_of_stay) AS stay'));
    await expect(train).toHaveText(expect.stringContaining(`model=${modelName}`));
    await expect(byTestId('run-card')).toHaveAttribute('data-state', 'waiting');
    await expectNoLibraryContent('the snapshot before approving');

    await byTestId('approve').click();
    await expect(approvalRow(hospital.alias)).toHaveAttribute('data-state', 'approved');
    await expect(byTestId('snapshot')).toHaveAttribute('data-can-run', 'true');
    await byTestId('snapshot-libraries').scrollIntoView();
    await saveFullScreenshot('model-viewer-snapshot-library.png');
    await expectNoLibraryContent('the snapshot after approving');
  });

  it('the hospital runs it on its own machine and opens the model: held-out AUC, ROC curve, coefficients', async () => {
    await byTestId('run-start').click();
    await byTestId('run-result').waitForDisplayed({ timeout: 120_000 });
    await expect(byTestId('run-card')).toHaveAttribute('data-state', 'done');
    await expectNoLibraryContent('the finished run');

    await expect(byTestId('run-result-summary')).toHaveText(expect.stringContaining('2 outputs kept'));
    await saveFullScreenshot('model-viewer-run-finished.png');

    // The run's own page lists the model as a model, not as a one-row table.
    await openTab('runs');
    await $('[data-testid="run-row"] [data-testid="run-open"]').click();
    await expect($(`[data-testid="run-output"][data-name="${modelName}"] [data-testid="run-output-rows"]`)).toHaveText('a model');

    await openTab('outputs');
    await expect(allByTestId('output-model-badge')).toBeElementsArrayOfSize(2);
    await saveFullScreenshot('model-viewer-outputs-list.png');
    const row = $(`[data-testid="output-row"][data-name="${modelName}"]`);
    await expect(row).toHaveAttribute('data-kind', 'model');
    await expect(row.$('[data-testid="output-model-badge"]')).toHaveText('Model');
    await row.$('[data-testid="output-open"]').click();
    const viewer = byTestId('model-viewer');
    await expect(viewer).toHaveAttribute('data-state', 'ready');
    await expect(byTestId('model-body')).toHaveAttribute('data-algorithm', 'logistic');
    await expect(byTestId('model-target')).toHaveText('P(readmitted_30d = 1)');
    await expect(byTestId('model-split')).toHaveText(expect.stringContaining('held out (20%)'));
    await byTestId('model-predict').waitForDisplayed();
    await expectWindowUnscrolled();

    const metrics = await allByTestId('model-metric').map((metric) => metric.getAttribute('data-metric'));
    expect(metrics).toEqual(['auc', 'accuracy', 'logLoss']);
    shownAuc = Number(await $('[data-testid="model-metric"][data-metric="auc"]').getAttribute('data-value'));
    // The planted signal is strong: well above guessing.
    expect(shownAuc).toBeGreaterThanOrEqual(0.7);
    expect(shownAuc).toBeLessThanOrEqual(1);
    await expect(byTestId('model-metric-auc')).toHaveText(shownAuc.toFixed(3));

    // The ROC curve: 101 thresholds, the diagonal, the AUC in the legend.
    await expect(byTestId('roc-chart')).toHaveAttribute('data-auc', String(shownAuc));
    await expect(byTestId('roc-legend-curve')).toHaveText(`Held-out ROC · AUC ${shownAuc.toFixed(3)}`);
    await expect(byTestId('roc-diagonal')).toExist();
    await expect(allByTestId('roc-point')).toBeElementsArrayOfSize(101);

    // Coefficients, largest first: one row per numeric feature and per non-reference diagnosis.
    const terms = await allByTestId('model-term').map(async (term) => ({
      term: (await term.getAttribute('data-term')) ?? '',
      coefficient: Number(await term.getAttribute('data-coefficient')),
    }));
    for (const feature of ['age', 'stay', 'frailty', 'prior_admissions']) expect(terms.map((term) => term.term)).toContain(feature);
    expect(terms.filter((term) => term.term.startsWith('diagnosis=')).length).toBe(diagnoses.length - 1);
    const sizes = terms.map((term) => Math.abs(term.coefficient));
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
    // prior_admissions has the planted positive effect.
    expect(terms.find((term) => term.term === 'prior_admissions')?.coefficient).toBeGreaterThan(0);
    // Each coefficient rounded for reading, right-aligned, its exact value on hover; at 1280 px the table fits without scrolling sideways.
    const coefficient = $('[data-testid="model-term"][data-term="prior_admissions"] [data-testid="model-term-coefficient"]');
    await expect(coefficient).toHaveAttribute('title', String(terms.find((term) => term.term === 'prior_admissions')?.coefficient));
    expect((await coefficient.getCSSProperty('text-align')).value).toBe('right');
    expect((await browser.getWindowSize()).width).toBe(1280);
    expect(
      await browser.execute(() => {
        const table = document.querySelector('[data-testid="model-terms"]');
        const box = table?.parentElement;
        return table !== null && box !== null && box !== undefined && box.scrollWidth <= box.clientWidth;
      }),
    ).toBe(true);

    await viewer.scrollIntoView();
    await saveFullScreenshot('model-viewer.png');
    await expectNoLibraryContent('the model viewer');
  });

  it('the linear model of the same run shows RMSE, R² and MAE, and no ROC curve', async () => {
    await byTestId('back-to-outputs').click();
    await $(`[data-testid="output-row"][data-name="${stayModelName}"] [data-testid="output-open"]`).click();
    await expect(byTestId('model-viewer')).toHaveAttribute('data-output', stayModelName);
    await expect(byTestId('model-body')).toHaveAttribute('data-algorithm', 'linear');
    await expect(byTestId('model-algorithm')).toHaveText('Linear regression');
    await expect(byTestId('model-target')).toHaveText('length_of_stay');
    const metrics = await allByTestId('model-metric').map((metric) => metric.getAttribute('data-metric'));
    expect(metrics).toEqual(['rmse', 'r2', 'mae']);
    // Stays are 1 to 24 days: the held-out error is within that range.
    const rmse = Number(await $('[data-testid="model-metric"][data-metric="rmse"]').getAttribute('data-value'));
    expect(rmse).toBeGreaterThan(0);
    expect(rmse).toBeLessThan(24);
    await expect(byTestId('roc-chart')).not.toExist();
    await expect(byTestId('model-fit')).toHaveText('Least squares');
    await saveFullScreenshot('model-viewer-linear.png');

    await byTestId('back-to-outputs').click();
    await $(`[data-testid="output-row"][data-name="${modelName}"] [data-testid="output-open"]`).click();
    await expect(byTestId('model-viewer')).toHaveAttribute('data-output', modelName);
    await expect(byTestId('model-viewer')).toHaveAttribute('data-state', 'ready');
  });

  it('the model exports as JSON: the same document the viewer shows', async () => {
    const before = downloadedNames();
    await byTestId('model-export-json').click();
    const file = await waitForDownload(before, 'The model export');
    downloaded.push(file);
    expect(path.basename(file)).toBe(`${modelName}.json`);
    const text = readFileSync(file, 'utf8');
    const read = parseModelDocument(text);
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    expect(read.model.name).toBe(modelName);
    expect(read.model.features.map((feature) => feature.name)).toEqual(features);
    expect(read.model.metrics.test.auc).toBe(shownAuc);
    for (const needle of [...libraryLines, ...libraryTokens]) expect({ needle, inModel: text.includes(needle) }).toEqual({ needle, inModel: false });
  });

  it('the hospital scores a file of new patients with it, and downloads the scored CSV', async () => {
    const exported = parseModelDocument(readFileSync(downloaded[0] as string, 'utf8'));
    if (!exported.ok) throw new Error('the exported model did not read');
    const model = exported.model;

    await byTestId('model-predict').scrollIntoView();
    await chooseFiles('predict-source-drop-input', newPatientsFile);
    await expect(byTestId('predict-source-uploaded-name')).toHaveText('new-patients.csv');
    // Choosing the file (its hidden input at the bottom of the page) leaves the window where it was.
    await expectWindowUnscrolled();
    await byTestId('predict-submit').click();
    const result = byTestId('predict-result');
    await result.waitForDisplayed({ timeout: 60_000 });
    // Core removed the uploaded copy once scoring ended: the field no longer offers it.
    await expect(byTestId('predict-source-uploaded')).not.toBeExisting();
    await expect(result).toHaveAttribute('data-rows', String(newPatients.length));
    // N004 lacks its frailty: no prediction for it.
    await expect(result).toHaveAttribute('data-scored', String(newPatients.length - 1));
    await expect(byTestId('predict-summary')).toHaveText(expect.stringContaining('Scored 4 of 5 rows; 1 lacked a feature value'));

    const header = ['ref', 'age', 'stay', 'frailty', 'prior_admissions', 'diagnosis'];
    const expected = new Map(
      newPatients.map((row) => {
        const valueOf = (feature: string) => {
          const value = row[header.indexOf(feature)];
          return value === '' ? null : value;
        };
        return [row[0] as string, scoreRow(model, valueOf)];
      }),
    );
    await browser.waitUntil(async () => (await shownPredictions()).size === newPatients.length, { timeoutMsg: 'The scored rows were not shown.' });
    const shown = await shownPredictions();
    for (const [ref, probability] of expected) {
      const text = shown.get(ref);
      if (probability === null) expect(text).toBe('NULL');
      else expect(Math.abs(Number(text) - probability)).toBeLessThan(1e-9);
    }
    // A diagnosis the model never saw (Stroke) is still scored: as the reference level, or "(other)".
    expect(shown.get('N005')).not.toBe('NULL');
    await saveFullScreenshot('model-viewer-scored.png');

    const before = downloadedNames();
    await byTestId('predict-download').click();
    const file = await waitForDownload(before, 'The scored CSV');
    downloaded.push(file);
    expect(path.basename(file)).toBe('new-patients-scored.csv');
    const lines = readFileSync(file, 'utf8').trimEnd().split('\r\n');
    expect(lines[0]?.split(',').slice(0, 7)).toEqual([...header, 'prediction']);
    expect(lines.length).toBe(newPatients.length + 1);
    await expectNoLibraryContent('the scored file');
  });
});
