// Story 1 of DESIGN.md, "joint analysis", through the UI of two parties on two homes. St Mary
// Hospital and Acme Insurance form a room; each adds a table and sees only the other's columns.
// The insurer writes a notebook (join on patient id, readmission rate by age band and plan) and
// adds it; the hospital reads the code and approves. The insurer runs it, watching its progress,
// and sees the output table (groups of fewer than k = 10 patients left out, uncounted) beside
// its chart; verifies the run's receipt, saves it, exports the CSV and releases the outputs. The
// hospital imports the release and sees the same table and chart, and the run in the history.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { $, browser, expect } from '@wdio/globals';
import { formatNumberText } from '../../../renderer/src/numberFormat.js';
import { openApp } from '../support/app.js';
import { downloadedNames, waitForDownload } from '../support/downloads.js';
import { formRoom, hospitalParty, importPacketAndOpenRoom, insurerParty, type Party, use, writePacketToFolder } from '../support/parties.js';
import { approvalRow, asset, importTable, openTab } from '../support/room-ui.js';
import { allByTestId, artifactsDir, byTestId, saveFullScreenshot, typeInto } from '../support/ui.js';

const insurer: Party = insurerParty();
const hospital: Party = hospitalParty();

/** Values only in one party's file: they must never appear on the other's screen. */
const hospitalMarker = 'WARD-OMEGA-4417';
const insurerMarker = 'bob.marker@acme.example';

/**
 * Patients per age band and plan, and how many of them were readmitted. Groups of fewer than 10
 * patients (35-49 Plus, 65+ Basic) are below the room's k and are left out; every kept group has
 * at least 10 readmitted patients, so its readmission rate is carried by k people and released.
 */
const groups = [
  { band: '18-34', plan: 'Basic', patients: 24, readmitted: 10 },
  { band: '18-34', plan: 'Plus', patients: 22, readmitted: 11 },
  { band: '35-49', plan: 'Basic', patients: 25, readmitted: 12 },
  { band: '35-49', plan: 'Plus', patients: 6, readmitted: 1 },
  { band: '50-64', plan: 'Basic', patients: 21, readmitted: 10 },
  { band: '50-64', plan: 'Plus', patients: 23, readmitted: 12 },
  { band: '65+', plan: 'Basic', patients: 4, readmitted: 2 },
  { band: '65+', plan: 'Plus', patients: 26, readmitted: 13 },
];
const kept = groups.filter((group) => group.patients >= 10);

interface Patient {
  readonly id: string;
  readonly band: string;
  readonly plan: string;
  readonly readmitted: boolean;
}

function patients(): Patient[] {
  const all: Patient[] = [];
  for (const group of groups) {
    for (let index = 0; index < group.patients; index++) {
      all.push({ id: `P${String(all.length + 1).padStart(4, '0')}`, band: group.band, plan: group.plan, readmitted: index < group.readmitted });
    }
  }
  return all;
}

function admissionsCsv(): string {
  const lines = ['patient_id,age_band,ward,readmitted'];
  patients().forEach((patient, index) => {
    lines.push(`${patient.id},${patient.band},${index === 3 ? hospitalMarker : `W${(index % 4) + 1}`},${patient.readmitted ? 1 : 0}`);
  });
  // A patient the insurer does not cover: the join leaves them out.
  lines.push('P9999,18-34,W1,1');
  return `${lines.join('\n')}\n`;
}

function policiesCsv(): string {
  const lines = ['patient_id,email,plan'];
  patients().forEach((patient, index) => {
    lines.push(`${patient.id},${index === 5 ? insurerMarker : `member${index}@acme.example`},${patient.plan}`);
  });
  return `${lines.join('\n')}\n`;
}

const outputName = 'readmissions_by_band_plan';
const notebookName = 'Readmission rate by age band and plan';
const notebookSource = [
  '-- %% [markdown]',
  '-- # Readmission rate by age band and plan',
  "-- Joins the hospital's admissions with the insurer's policies on patient id.",
  '',
  `-- %% output=${outputName}`,
  'SELECT a.age_band, p.plan, count(*) AS patients, avg(a.readmitted) AS readmission_rate',
  'FROM admissions a',
  'JOIN policies p ON a.patient_id = p.patient_id',
  'GROUP BY a.age_band, p.plan',
  'ORDER BY a.age_band, p.plan',
].join('\n');

/** The output viewer's rendered rows as arrays of cell texts: as shown, or (`title`) the exact values. */
async function renderedRows(what: 'text' | 'title' = 'text'): Promise<string[][]> {
  return browser.execute(
    (attribute) =>
      Array.from(document.querySelectorAll('[data-testid="output-table"] [data-testid="data-row"]'))
        .sort((a, b) => Number(a.getAttribute('data-row')) - Number(b.getAttribute('data-row')))
        .map((row) =>
          Array.from(row.querySelectorAll('[data-testid="data-cell"]')).map((cell) => (attribute === 'title' ? cell.getAttribute('title') : cell.textContent) ?? ''),
        ),
    what,
  );
}

/** Whether an element's content is wider than its box: cut off, or scrolling sideways. */
async function overflowsSideways(selector: string): Promise<boolean> {
  return browser.execute((css) => {
    const element = document.querySelector(css);
    if (element === null) throw new Error(`${css} is not on the page`);
    return element.scrollWidth > element.clientWidth;
  }, selector);
}

/** Checks what the viewer shows for the story's output: the kept groups, the count suppressed, and a grouped bar chart. */
async function expectStoryOutput(): Promise<void> {
  const viewer = byTestId('output-viewer');
  await viewer.waitForDisplayed();
  await expect(viewer).toHaveAttribute('data-output', outputName);
  await expect(byTestId('output-rows')).toHaveText(`${kept.length} rows`);
  // The small groups are left out without a count (a count of removed groups could single someone out); no value of a kept group is withheld.
  await expect(byTestId('output-suppressed')).toHaveAttribute('data-count', '0');
  await expect(byTestId('output-suppressed')).toHaveText('no values withheld');

  const columns = await allByTestId('data-column').map((column) => column.getAttribute('data-column'));
  expect(columns).toEqual(['age_band', 'plan', 'patients', 'readmission_rate']);
  await browser.waitUntil(async () => (await renderedRows()).length === kept.length && !(await renderedRows()).some((row) => row.includes('')), {
    timeoutMsg: 'The output rows were not shown.',
  });
  const rows = await renderedRows();
  expect(rows.map((row) => [row[0], row[1], row[2]])).toEqual(kept.map((group) => [group.band, group.plan, String(group.patients)]));
  // The rate shows rounded for reading, in the browser's locale; its title holds DuckDB's exact value.
  const exact = await renderedRows('title');
  const locale = await browser.execute(() => new Intl.NumberFormat().resolvedOptions().locale);
  exact.forEach((row, index) => {
    const group = kept[index] as (typeof kept)[number];
    expect(Number(row[3])).toBeCloseTo(group.readmitted / group.patients, 12);
    expect(rows[index]?.[3]).toBe(formatNumberText(row[3] ?? '', { locale }));
  });
  // 10 of 24 readmitted: 0.4166… reads as 0.4167 (in English), right-aligned as numbers are.
  const rateCell = $('[data-testid="output-table"] [data-testid="data-row"][data-row="0"] [data-testid="data-cell"][aria-colindex="4"]');
  await expect(rateCell).toHaveAttribute('title', '0.4166666666666667');
  if (locale.startsWith('en')) await expect(rateCell).toHaveText('0.4167');
  expect((await rateCell.getCSSProperty('text-align')).value).toBe('right');
  // Headers are never cut: each name fits its column.
  for (const name of ['age_band', 'plan', 'patients', 'readmission_rate']) {
    expect({ name, cut: await overflowsSideways(`[data-testid="data-column"][data-column="${name}"] .data-table-header-name`) }).toEqual({ name, cut: false });
  }
  // The suppressed groups are nowhere in the table.
  expect(rows.some((row) => row[0] === '35-49' && row[1] === 'Plus')).toBe(false);
  expect(rows.some((row) => row[0] === '65+' && row[1] === 'Basic')).toBe(false);

  // Bars for the category columns, a bar per plan within each age band, drawing the rate.
  await expect(byTestId('output-chart-panel')).toHaveAttribute('data-kind', 'bar');
  await expect(byTestId('output-chart')).toHaveAttribute('data-kind', 'bar');
  const legend = await allByTestId('chart-legend-item').map((item) => item.getText());
  expect(legend).toEqual(['Basic', 'Plus']);
  await expect(byTestId('chart-measure')).toHaveValue('3');
  const bars = await allByTestId('chart-bar').map(async (bar) => ({
    group: await bar.getAttribute('data-group'),
    series: await bar.getAttribute('data-series'),
    value: Number(await bar.getAttribute('data-value')),
  }));
  expect(bars.map((bar) => `${bar.group} ${bar.series}`).sort()).toEqual(kept.map((group) => `${group.band} ${group.plan}`).sort());
  for (const bar of bars) {
    const group = kept.find((candidate) => candidate.band === bar.group && candidate.plan === bar.series);
    expect(bar.value).toBeCloseTo((group?.readmitted ?? NaN) / (group?.patients ?? NaN), 6);
  }
  // Each bar says what it is to assistive technology.
  expect(await $('[data-testid="chart-bar"][data-group="65+"][data-series="Plus"] title').getProperty('textContent')).toBe('65+ · Plus: 0.5');
  // The measure selector redraws the chart with the patient counts.
  await byTestId('chart-measure').selectByAttribute('value', '2');
  await expect($('[data-testid="chart-bar"][data-group="18-34"][data-series="Basic"]')).toHaveAttribute('data-value', '24');
  await byTestId('chart-measure').selectByAttribute('value', '3');
}

/**
 * The output view uses the window's width: the chart beside the table on a wide window, above it
 * on a narrow one. Screenshots at 1440x900 and 1280x720 (and the narrow one), then the size as it was.
 */
async function expectOutputLayout(): Promise<void> {
  const before = await browser.getWindowSize();
  const boxes = async () => ({ table: await byTestId('output-table').getLocation(), tableSize: await byTestId('output-table').getSize(), chart: await byTestId('output-chart').getLocation() });
  for (const [width, height] of [
    [1440, 900],
    [1280, 720],
  ] as const) {
    await browser.setWindowSize(width, height);
    await byTestId('output-viewer').scrollIntoView();
    await browser.waitUntil(async () => {
      const { table, tableSize, chart } = await boxes();
      return chart.x >= table.x + tableSize.width;
    }, { timeoutMsg: `At ${width}x${height} the chart is not beside the table.` });
    // No fixed page width: the page fills the window beside the sidebar.
    const room = await browser.execute(() => {
      const element = document.querySelector<HTMLElement>('[data-testid="room-screen"]');
      return { width: element?.offsetWidth ?? 0, room: element?.parentElement?.clientWidth ?? -1 };
    });
    expect(room.width).toBe(room.room);
    await browser.saveScreenshot(path.join(artifactsDir, `runs-output-${width}x${height}.png`));
  }
  await browser.setWindowSize(1000, 720);
  await byTestId('output-viewer').scrollIntoView();
  await browser.waitUntil(async () => {
    const { table, chart } = await boxes();
    return chart.y < table.y;
  }, { timeoutMsg: 'On a narrow window the chart is not above the table.' });
  await browser.saveScreenshot(path.join(artifactsDir, 'runs-output-1000x720.png'));
  await browser.setWindowSize(before.width, before.height);
}

describe('runs: story 1, joint analysis, from two tables to a released output chart', () => {
  const stick = mkdtempSync(path.join(os.tmpdir(), 'cleanroom-e2e-stick-'));
  const data = mkdtempSync(path.join(os.tmpdir(), 'cleanroom-e2e-data-'));
  const policiesFile = path.join(data, 'policies.csv');
  const admissionsFile = path.join(data, 'admissions.csv');
  const downloaded: string[] = [];
  let insurerPacket = '';
  let hospitalPacket = '';
  let releasePacket = '';

  before(async () => {
    writeFileSync(policiesFile, policiesCsv());
    writeFileSync(admissionsFile, admissionsCsv());
    insurer.app = await openApp();
    hospital.app = await openApp({ window: 'new' });
  });

  after(async () => {
    await insurer.app?.close();
    await hospital.app?.close();
    rmSync(stick, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
    // The downloads folder is shared by every spec of the run: leave it as it was.
    for (const file of [...downloaded, insurer.cardPath, hospital.cardPath]) if (file !== undefined) rmSync(file, { force: true });
  });

  it('the hospital and the insurer form a room and each adds a table the other sees only the schema of', async () => {
    await formRoom(insurer, hospital, { name: 'Readmissions study', site: 'St Mary × Acme', stick });
    await expect(byTestId('policy-min-group-size')).toHaveText('10');

    await importTable(policiesFile, 'policies', { patient_id: 'privacy_unit', email: 'hidden', plan: 'dimension' });
    insurerPacket = await writePacketToFolder('asset-next-step', stick);

    await use(hospital);
    await importTable(admissionsFile, 'admissions', { patient_id: 'privacy_unit', age_band: 'dimension', ward: 'hidden', readmitted: 'measure' });
    hospitalPacket = await writePacketToFolder('asset-next-step', stick);
    await importPacketAndOpenRoom(insurerPacket);
    await openTab('assets');
    await expect(asset('policies')).toHaveAttribute('data-mine', 'false');
    expect(await $('body').getText()).not.toContain(insurerMarker);

    await use(insurer);
    await importPacketAndOpenRoom(hospitalPacket);
    await openTab('assets');
    await expect(asset('admissions')).toHaveAttribute('data-mine', 'false');
    expect(await $('body').getText()).not.toContain(hospitalMarker);
  });

  it('the insurer adds the notebook with both as recipients; the hospital reads it and approves', async () => {
    await openTab('notebooks');
    await byTestId('new-notebook-button').click();
    await typeInto('notebook-name', notebookName);
    await typeInto('notebook-source', notebookSource);
    await browser.waitUntil(async () => (await byTestId('notebook-check').getAttribute('data-state')) === 'checked', {
      timeoutMsg: 'The notebook was not checked.',
    });
    await byTestId(`notebook-recipient-${insurer.alias}`).click();
    await byTestId(`notebook-recipient-${hospital.alias}`).click();
    await byTestId('notebook-add').click();
    await expect(byTestId('snapshot')).toHaveAttribute('data-state', 'ready');
    await expect(byTestId('snapshot-recipients')).toHaveText(expect.stringContaining(hospital.alias));
    // Not approved by the hospital yet: no Run button, the reason instead.
    await expect(byTestId('run-card')).toHaveAttribute('data-state', 'waiting');
    await expect(byTestId('run-start')).not.toExist();
    await expect(byTestId('snapshot-reasons')).toHaveText(expect.stringContaining(hospital.alias));
    insurerPacket = await writePacketToFolder('snapshot-next-step', stick);

    await use(hospital);
    await importPacketAndOpenRoom(insurerPacket);
    await openTab('notebooks');
    await $('[data-testid="snapshot-row"] [data-testid="snapshot-open"]').click();
    await expect(byTestId('snapshot')).toHaveAttribute('data-state', 'ready');
    await expect($('[data-testid="snapshot-cell"][data-kind="sql"]')).toHaveText(expect.stringContaining('JOIN policies p ON a.patient_id = p.patient_id'));
    // The hospital is not the runner: it approves, it does not run.
    await expect(byTestId('run-card')).not.toExist();
    await byTestId('approve').click();
    await expect(approvalRow(hospital.alias)).toHaveAttribute('data-state', 'approved');
    hospitalPacket = await writePacketToFolder('snapshot-next-step', stick);
  });

  it('the insurer runs it, watching its progress, and sees the outputs without the small groups', async () => {
    await use(insurer);
    await importPacketAndOpenRoom(hospitalPacket);
    await openTab('notebooks');
    await $('[data-testid="snapshot-row"] [data-testid="snapshot-open"]').click();
    await expect(byTestId('snapshot')).toHaveAttribute('data-can-run', 'true');
    await expect(byTestId('run-card')).toHaveAttribute('data-state', 'ready');
    await expect(approvalRow(hospital.alias).$('[data-testid="approval-runs-left"]')).toHaveText('1');
    // At 1280 px the approval matrix fits without scrolling sideways, its count right-aligned.
    expect((await browser.getWindowSize()).width).toBe(1280);
    expect(await overflowsSideways('[data-testid="approval-matrix"] .table-scroll')).toBe(false);
    expect((await approvalRow(hospital.alias).$('[data-testid="approval-runs-left"]').getCSSProperty('text-align')).value).toBe('right');

    // The progress bar may come and go faster than a poll: record that it appeared at all.
    await browser.execute(() => {
      const seen = (window as unknown as { runProgressSeen?: boolean }).runProgressSeen;
      if (seen !== undefined) return;
      (window as unknown as { runProgressSeen: boolean }).runProgressSeen = false;
      new MutationObserver(() => {
        if (document.querySelector('[data-testid="run-progress"]') !== null) (window as unknown as { runProgressSeen: boolean }).runProgressSeen = true;
      }).observe(document.body, { childList: true, subtree: true });
    });
    await byTestId('run-start').click();
    await byTestId('run-result').waitForDisplayed({ timeout: 120_000 });
    expect(await browser.execute(() => (window as unknown as { runProgressSeen?: boolean }).runProgressSeen)).toBe(true);
    await expect(byTestId('run-card')).toHaveAttribute('data-state', 'done');
    await expect(byTestId('run-result-summary')).toHaveText('1 output kept, no values withheld by the output policy.');
    // The run used the hospital's one approved run.
    await expect(approvalRow(hospital.alias)).toHaveAttribute('data-state', 'used-up');
    await saveFullScreenshot('runs-finished.png');

    await byTestId('run-show-outputs').click();
    await expect(byTestId('room-screen')).toHaveAttribute('data-tab', 'runs');
    await expect(byTestId('run-detail')).toHaveAttribute('data-status', 'succeeded');
    await expect(byTestId('run-suppressed')).toHaveText('0');
    await expectStoryOutput();
    await byTestId('output-viewer').scrollIntoView();
    await saveFullScreenshot('runs-output-chart.png');
    await expectOutputLayout();
  });

  it('the run’s receipt verifies, and saves as a file', async () => {
    const card = byTestId('receipt-card');
    await expect(card).toHaveAttribute('data-state', 'ready');
    await expect(byTestId('receipt-approvals')).toHaveAttribute('data-count', '2');
    await expect(byTestId('receipt-policy')).toHaveText('aggregate, k = 10');
    expect((await allByTestId('receipt-input').map((input) => input.getAttribute('data-asset'))).sort()).toEqual(['admissions', 'policies']);
    await expect($(`[data-testid="receipt-output"][data-name="${outputName}"]`)).toHaveText(expect.stringContaining('no values withheld'));
    await byTestId('receipt-verify').click();
    await expect(byTestId('receipt-verdict-state')).toHaveAttribute('data-ok', 'true');
    await expect(allByTestId('receipt-check-line')).toBeElementsArrayOfSize({ gte: 1 });
    await expect($(`[data-testid="receipt-check-output"][data-name="${outputName}"]`)).toHaveAttribute('data-matches', 'true');
    await card.scrollIntoView();
    await saveFullScreenshot('runs-receipt.png');

    const before = downloadedNames();
    await byTestId('receipt-save').click();
    const receiptFile = await waitForDownload(before, 'The receipt');
    downloaded.push(receiptFile);
    expect(receiptFile.endsWith('.cleanroom-receipt')).toBe(true);
    const saved = JSON.parse(readFileSync(receiptFile, 'utf8')) as { receipt: { snapshot: string; outputs: { name: string }[] } };
    expect(saved.receipt.outputs.map((output) => output.name)).toEqual([outputName]);
  });

  it('the output exports as CSV with exactly the kept rows', async () => {
    const before = downloadedNames();
    await byTestId('output-export-csv').click();
    const csvFile = await waitForDownload(before, 'The CSV export');
    downloaded.push(csvFile);
    expect(path.basename(csvFile)).toBe(`${outputName}.csv`);
    const lines = readFileSync(csvFile, 'utf8').trimEnd().split('\r\n');
    expect(lines[0]).toBe('age_band,plan,patients,readmission_rate');
    expect(lines.slice(1).map((line) => line.split(',').slice(0, 3).join(','))).toEqual(kept.map((group) => `${group.band},${group.plan},${group.patients}`));
  });

  it('the insurer releases the outputs; the hospital imports them and sees the table, the chart and the run', async () => {
    await byTestId('run-release').scrollIntoView();
    releasePacket = await writePacketToFolder('run-release', stick);
    await expect(byTestId('run-release')).toHaveAttribute('data-released', 'true');

    await use(hospital);
    await importPacketAndOpenRoom(releasePacket);
    await openTab('runs');
    const row = $('[data-testid="run-row"]');
    await expect(row).toHaveAttribute('data-status', 'succeeded');
    await expect(row).toHaveAttribute('data-mine', 'false');
    await expect(row.$('[data-testid="run-row-runner"]')).toHaveText(expect.stringContaining(insurer.alias));
    await expect(row.$('[data-testid="run-row-suppressed"]')).toHaveAttribute('data-count', '0');
    await saveFullScreenshot('runs-history.png');

    await openTab('outputs');
    const output = $(`[data-testid="output-row"][data-name="${outputName}"]`);
    await expect(output).toHaveAttribute('data-source', 'released');
    await output.$('[data-testid="output-open"]').click();
    await expect(byTestId('output-viewer')).toHaveAttribute('data-source', 'released');
    await expectStoryOutput();
    expect(await $('body').getText()).not.toContain(insurerMarker);
    await saveFullScreenshot('runs-hospital-output.png');

    // The hospital checks the insurer's receipt against the output it now holds.
    await openTab('runs');
    await $('[data-testid="run-row"] [data-testid="run-open"]').click();
    await byTestId('receipt-verify').click();
    await expect(byTestId('receipt-verdict-state')).toHaveAttribute('data-ok', 'true');
    await expect($(`[data-testid="receipt-check-output"][data-name="${outputName}"]`)).toHaveAttribute('data-matches', 'true');
    // Only the runner releases.
    await expect(byTestId('run-release')).not.toExist();
  });
});
