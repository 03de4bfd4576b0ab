// Data and code in a room, through the UI of two parties on two homes. The insurer and the
// hospital form a room, each imports a small CSV table (the insurer picks its file, which the
// browser shell uploads to RAM; the hospital types its path), choosing column roles and watching
// the import, and each carries a packet to the other: both then see the other's
// columns, types and roles, never a row. The insurer writes a notebook over both tables and adds
// it as a snapshot; the hospital reads the frozen code and approves it, releasing its key to the
// insurer, who sees the approval and the released key in the approval matrix.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { $, $$, browser, expect } from '@wdio/globals';
import { openApp } from '../support/app.js';
import {
  formRoom,
  hospitalParty,
  importPacketAndOpenRoom,
  insurerParty,
  type Party,
  use,
  writePacketToFolder,
} from '../support/parties.js';
import { currentTarget } from '../support/target.js';
import { approvalRow, asset, openTab, schemaRow } from '../support/room-ui.js';
import { allByTestId, byTestId, chooseFiles, saveFullScreenshot, typeInto } from '../support/ui.js';
import { ramFolderRoot } from '../../../electron/core/ram-folder.js';

const insurer: Party = insurerParty();
const hospital: Party = hospitalParty();

/** A value only in the hospital's file: it must never appear on the insurer's screen. */
const hospitalMarker = 'WARD-ZETA-7731';
/** A value only in the insurer's file: it must never appear on the hospital's screen. */
const insurerMarker = 'alice.marker@acme.example';

const bands = ['18-34', '35-49', '50-64', '65-79', '80+'];
const plans = ['Basic', 'Plus', 'Premier'];

function admissionsCsv(): string {
  const lines = ['patient_id,age_band,ward,length_of_stay,readmitted'];
  for (let id = 1; id <= 60; id += 1) {
    const ward = id === 7 ? hospitalMarker : `W${(id % 4) + 1}`;
    lines.push(`P${String(id).padStart(4, '0')},${bands[id % bands.length]},${ward},${(id % 9) + 1},${id % 3 === 0 ? 1 : 0}`);
  }
  return `${lines.join('\n')}\n`;
}

function policiesCsv(): string {
  const lines = ['patient_id,email,plan,annual_premium'];
  for (let id = 1; id <= 60; id += 1) {
    const email = id === 11 ? insurerMarker : `member${id}@acme.example`;
    lines.push(`P${String(id).padStart(4, '0')},${email},${plans[id % plans.length]},${(1200 + id * 37).toFixed(2)}`);
  }
  return `${lines.join('\n')}\n`;
}

const notebookName = 'Readmission rate by age band and plan';
const notebookSource = [
  '-- %% [markdown]',
  '-- # Readmission rate by age band and plan',
  "-- Joins the hospital's admissions with the insurer's policies on patient id.",
  '',
  '-- %% output=readmissions_by_band',
  'SELECT a.age_band, p.plan, count(*) AS patients, avg(a.readmitted) AS readmission_rate',
  'FROM admissions a',
  'JOIN policies p ON a.patient_id = p.patient_id',
  'GROUP BY a.age_band, p.plan',
].join('\n');

/** Through the Assets tab: the file (picked or typed), Inspect, roles, options, name, import; waits for the new card. */
async function importTable(options: {
  file: string;
  /** picker: chosen in the file picker (uploaded by the browser shell); path: typed. */
  via: 'picker' | 'path';
  name: string;
  roles: Record<string, string>;
  shareRowCount: boolean;
  /** Saves the filled-in review form under this name before importing. */
  screenshot?: string;
}): Promise<void> {
  await openTab('assets');
  await byTestId('add-table-button').click();
  if (options.via === 'picker') {
    await chooseFiles('table-path-drop-input', options.file);
    if (currentTarget() === 'chromium') {
      // Uploaded to the shell's RAM folder: the person sees the file's own name, not where it went.
      await expect(byTestId('table-path-uploaded')).toHaveAttribute('data-name', path.basename(options.file));
      await expect(byTestId('table-path-uploaded-name')).toHaveText(path.basename(options.file));
      await saveFullScreenshot('add-table-uploaded.png');
    } else {
      await expect(byTestId('table-path')).toHaveValue(options.file);
    }
  } else {
    await typeInto('table-path', options.file);
  }
  await byTestId('table-inspect').click();
  await byTestId('schema-review').waitForDisplayed();
  await expect(byTestId('table-review-format')).toHaveText('CSV');
  await expect(byTestId('table-review-path')).toHaveText(options.via === 'picker' && currentTarget() === 'chromium' ? path.basename(options.file) : options.file);
  for (const [column, role] of Object.entries(options.roles)) {
    const select = schemaRow(column).$('[data-testid="schema-role"]');
    await select.selectByAttribute('value', role);
    await expect(select).toHaveAttribute('data-role', role);
  }
  if (options.shareRowCount) await byTestId('table-share-row-count').click();
  await typeInto('table-name', options.name);
  if (options.screenshot !== undefined) await saveFullScreenshot(options.screenshot);
  await byTestId('table-import-submit').click();
  await byTestId('asset-next-step').waitForDisplayed();
  await expect(asset(options.name)).toHaveAttribute('data-mine', 'true');
}

/** The columns an asset card lists, as "name type role". */
async function columnsOf(name: string): Promise<string[]> {
  return asset(name)
    .$$('[data-testid="asset-column"]')
    .map(async (row) => `${await row.getAttribute('data-column')} ${await row.getAttribute('data-type')} ${await row.getAttribute('data-role')}`);
}

/** Every file name under the RAM folders of this user (where the shell stages uploads). */
function ramFolderFileNames(): string[] {
  const { root } = ramFolderRoot();
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name);
}

describe('assets: tables, a notebook snapshot and an approval, between two parties', () => {
  const stick = mkdtempSync(path.join(os.tmpdir(), 'cleanroom-e2e-stick-'));
  // Each party's source file, on "its own machine": picked (and uploaded by the shell) or typed.
  const data = mkdtempSync(path.join(os.tmpdir(), 'cleanroom-e2e-data-'));
  const policiesFile = path.join(data, 'Acme policies.csv');
  const admissionsFile = path.join(data, 'admissions.csv');
  let insurerPacket = '';
  let hospitalPacket = '';

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
    // The downloads folder is shared by every spec of the run: leave it as it was, so another
    // spec's card downloads keep their plain names.
    for (const party of [insurer, hospital]) if (party.cardPath !== undefined) rmSync(party.cardPath, { force: true });
  });

  it('the two parties form a room through the UI', async () => {
    await formRoom(insurer, hospital, { name: 'Readmissions 2025', site: 'St Mary × Acme, Boston', stick });
    await use(hospital);
    await expect(byTestId('room-screen')).toHaveAttribute('data-status', 'active');
  });

  it('the insurer reviews its file’s schema: suggested roles, a live name rule, a clear error for a bad path', async () => {
    await use(insurer);
    await openTab('assets');
    await byTestId('assets-empty').waitForDisplayed();
    await byTestId('add-table-button').click();
    // The browser shell cannot learn a picked file's path: a picked file is uploaded to RAM instead,
    // and a path can still be typed. The desktop app takes a picked file's path.
    if (currentTarget() === 'chromium') {
      await expect(byTestId('table-path-field')).toHaveAttribute('data-picker', 'upload');
      await expect(byTestId('table-path-field')).toHaveText(expect.stringContaining('keeps it in memory only'));
      await expect(byTestId('table-path-field')).toHaveText(expect.stringContaining('Or type a path on this machine'));
    } else {
      await expect(byTestId('table-path-field')).toHaveAttribute('data-picker', 'path');
    }
    await expect(byTestId('table-path-drop-button')).toBeDisplayed();

    await byTestId('table-inspect').click();
    await expect(byTestId('table-path-error')).toHaveText('Enter the path of a CSV, Parquet or JSON file on this machine.');
    await typeInto('table-path', path.join(data, 'missing.csv'));
    await byTestId('table-inspect').click();
    await expect(byTestId('table-inspect-error')).toHaveText(expect.stringMatching(/\([A-Z_]+\)$/));

    await typeInto('table-path', policiesFile);
    await byTestId('table-inspect').click();
    await byTestId('schema-review').waitForDisplayed();
    const columns = await allByTestId('schema-row').map((row) => row.getAttribute('data-column'));
    expect(columns).toEqual(['patient_id', 'email', 'plan', 'annual_premium']);
    // ID-like and e-mail-like columns start as join keys.
    await expect(schemaRow('patient_id').$('[data-testid="schema-role"]')).toHaveAttribute('data-role', 'join_key');
    await expect(schemaRow('email').$('[data-testid="schema-role"]')).toHaveAttribute('data-role', 'join_key');
    await expect(byTestId('role-legend')).toHaveText(expect.stringContaining('Privacy unit'));
    // With no privacy unit chosen, the form says what the table would be: a public lookup.
    await expect(byTestId('table-no-privacy-unit')).toHaveText(expect.stringContaining('public lookup'));
    // The name starts from the file's name and follows the SQL identifier rule as it is typed.
    await expect(byTestId('table-name')).toHaveValue('acme_policies');
    await typeInto('table-name', 'Acme policies');
    await expect(byTestId('table-name-error')).toHaveText(expect.stringContaining('lower-case letters, digits and _'));
    await byTestId('add-table-cancel').click();
  });

  it('the insurer picks its file, imports it with the roles it chose and sees it listed as its own', async () => {
    await importTable({
      file: policiesFile,
      via: 'picker',
      name: 'policies',
      roles: { patient_id: 'privacy_unit', email: 'hidden', plan: 'dimension', annual_premium: 'measure' },
      shareRowCount: true,
    });
    expect(await columnsOf('policies')).toEqual([
      'patient_id VARCHAR privacy_unit',
      'email VARCHAR hidden',
      'plan VARCHAR dimension',
      'annual_premium DOUBLE measure',
    ]);
    await expect(asset('policies').$('[data-testid="asset-yours"]')).toBeDisplayed();
    await expect(asset('policies').$('[data-testid="asset-row-count"]')).toHaveText('60 rows');
    await expect(byTestId('tab-assets-count')).toHaveText('1');
    // The uploaded copy left the RAM folder with the import.
    expect(ramFolderFileNames()).not.toContain(path.basename(policiesFile));
    insurerPacket = await writePacketToFolder('asset-next-step', stick);
  });

  it('the hospital types its file’s path instead, keeping its row count to itself', async () => {
    await use(hospital);
    await importTable({
      file: admissionsFile,
      via: 'path',
      name: 'admissions',
      roles: { patient_id: 'privacy_unit', age_band: 'dimension', ward: 'hidden', length_of_stay: 'measure', readmitted: 'measure' },
      shareRowCount: false,
      screenshot: 'add-table-review.png',
    });
    await expect(asset('admissions').$('[data-testid="asset-row-count"]')).toHaveText('row count not shared');
    hospitalPacket = await writePacketToFolder('asset-next-step', stick);
  });

  it('each sees the other’s table: columns, types and roles, and never a row', async () => {
    await importPacketAndOpenRoom(insurerPacket);
    await openTab('assets');
    const theirs = asset('policies');
    await theirs.waitForDisplayed();
    await expect(theirs).toHaveAttribute('data-mine', 'false');
    await expect(theirs.$('[data-testid="asset-owner"]')).toHaveText(`Owned by ${insurer.alias}`);
    await expect(theirs.$('[data-testid="asset-yours"]')).not.toExist();
    expect(await columnsOf('policies')).toEqual([
      'patient_id VARCHAR privacy_unit',
      'email VARCHAR hidden',
      'plan VARCHAR dimension',
      'annual_premium DOUBLE measure',
    ]);
    await expect(theirs.$('[data-testid="asset-row-count"]')).toHaveText('60 rows');
    expect(await $('body').getText()).not.toContain(insurerMarker);

    await use(insurer);
    await importPacketAndOpenRoom(hospitalPacket);
    await openTab('assets');
    await asset('admissions').waitForDisplayed();
    await expect(asset('admissions')).toHaveAttribute('data-owner', hospital.alias);
    await expect(asset('admissions').$('[data-testid="asset-row-count"]')).toHaveText('row count not shared');
    expect(await columnsOf('admissions')).toEqual([
      'patient_id VARCHAR privacy_unit',
      'age_band VARCHAR dimension',
      'ward VARCHAR hidden',
      'length_of_stay BIGINT measure',
      'readmitted BIGINT measure',
    ]);
    expect(await $('body').getText()).not.toContain(hospitalMarker);
    await expect(byTestId('tab-assets-count')).toHaveText('2');
    await saveFullScreenshot('assets-list.png');
  });

  it('the insurer writes a notebook over both tables, checked as it is typed', async () => {
    await openTab('notebooks');
    await byTestId('snapshots-empty').waitForDisplayed();
    await byTestId('new-notebook-button').click();
    await typeInto('notebook-name', notebookName);
    await typeInto('notebook-source', notebookSource);
    await expect(byTestId('notebook-source')).toHaveValue(notebookSource);
    // The highlighted copy under the textarea shows the cell markers and keywords.
    await expect($('[data-testid="notebook-source-frame"] .sql-marker')).toHaveText('-- %% [markdown]');
    await expect($$('[data-testid="notebook-source-frame"] .sql-keyword')).toBeElementsArrayOfSize({ gte: 6 });

    await browser.waitUntil(async () => (await byTestId('notebook-check').getAttribute('data-state')) === 'checked', {
      timeoutMsg: 'The notebook was not checked.',
    });
    const cells = await allByTestId('notebook-check-cell').map(async (cell) => ({
      kind: await cell.getAttribute('data-kind'),
      reads: await cell.$('[data-testid="check-cell-reads"]').getText(),
    }));
    expect(cells.map((cell) => cell.kind)).toEqual(['markdown', 'sql']);
    expect(cells[1]?.reads).toContain('admissions');
    expect(cells[1]?.reads).toContain('policies');
    await expect(byTestId('check-cell-output')).toHaveText('readmissions_by_band');
    await expect(byTestId('notebook-runner')).toHaveValue(insurer.alias);
    await saveFullScreenshot('notebook-editor.png');
  });

  it('adding it freezes a signed snapshot that waits for the hospital’s approval', async () => {
    await byTestId('notebook-add').click();
    await expect(byTestId('snapshot')).toHaveAttribute('data-state', 'ready');
    await expect(byTestId('snapshot-name')).toHaveText(notebookName);
    await expect(byTestId('snapshot-id')).toHaveText(expect.stringMatching(/^[0-9a-f]{64}$/));
    await expect(byTestId('snapshot-author')).toHaveText(insurer.alias);
    await expect(byTestId('snapshot-runner')).toHaveText(insurer.alias);
    await expect(byTestId('snapshot')).toHaveAttribute('data-can-run', 'false');
    await expect(approvalRow(insurer.alias)).toHaveAttribute('data-state', 'author');
    await expect(approvalRow(hospital.alias)).toHaveAttribute('data-state', 'missing');
    await expect(byTestId('snapshot-reasons')).toHaveText(expect.stringContaining(hospital.alias));
    insurerPacket = await writePacketToFolder('snapshot-next-step', stick);
  });

  it('the hospital reads the frozen code, sees the matrix, and approves', async () => {
    await use(hospital);
    await importPacketAndOpenRoom(insurerPacket);
    await openTab('notebooks');
    const row = $('[data-testid="snapshot-row"]');
    await expect(row.$('[data-testid="snapshot-row-approvals"]')).toHaveText('1 of 2 approved');
    await row.$('[data-testid="snapshot-open"]').click();
    await expect(byTestId('snapshot')).toHaveAttribute('data-state', 'ready');
    await expect(byTestId('snapshot-author')).toHaveText(insurer.alias);

    // Markdown as plain text, SQL highlighted, read-only.
    const [note, query] = await allByTestId('snapshot-cell');
    await expect(allByTestId('snapshot-cell')).toBeElementsArrayOfSize(2);
    await expect(note).toHaveAttribute('data-kind', 'markdown');
    await expect(note).toHaveText(expect.stringContaining('Readmission rate by age band and plan'));
    await expect(query).toHaveAttribute('data-output', 'readmissions_by_band');
    await expect(query?.$('.sql-keyword')).toHaveText('SELECT');
    await expect(query).toHaveText(expect.stringContaining('JOIN policies p ON a.patient_id = p.patient_id'));
    const referenced = await allByTestId('snapshot-asset').map((item) => item.getAttribute('data-name'));
    expect([...referenced].sort()).toEqual(['admissions', 'policies']);

    await expect(approvalRow(hospital.alias)).toHaveAttribute('data-state', 'missing');
    await expect(approvalRow(hospital.alias).$('[data-testid="approval-key"][data-asset="admissions"]')).toHaveAttribute('data-key', 'withheld');
    await expect(byTestId('approve-expires-days')).toHaveValue('7');
    await expect(byTestId('approve-runs')).toHaveValue('1');
    await expect(byTestId('approve-form')).toHaveText(expect.stringContaining(`releases your data keys for admissions`));
    await byTestId('approve').click();

    await expect(byTestId('my-approval')).toHaveAttribute('data-state', 'approved');
    await expect(approvalRow(hospital.alias)).toHaveAttribute('data-state', 'approved');
    await expect(approvalRow(hospital.alias).$('[data-testid="approval-key"][data-asset="admissions"]')).toHaveAttribute('data-key', 'released');
    await expect(approvalRow(hospital.alias).$('[data-testid="approval-runs-left"]')).toHaveText('1');
    await expect(byTestId('snapshot-next-step')).toHaveAttribute('data-step', 'approved');
    hospitalPacket = await writePacketToFolder('snapshot-next-step', stick);
  });

  it('the insurer sees the hospital’s approval in the matrix, with its key released', async () => {
    await use(insurer);
    await importPacketAndOpenRoom(hospitalPacket);
    await openTab('notebooks');
    const row = $('[data-testid="snapshot-row"]');
    await expect(row.$('[data-testid="snapshot-row-approvals"]')).toHaveText('2 of 2 approved');
    await row.$('[data-testid="snapshot-open"]').click();
    await expect(byTestId('snapshot')).toHaveAttribute('data-state', 'ready');
    await expect(approvalRow(hospital.alias)).toHaveAttribute('data-state', 'approved');
    await expect(approvalRow(hospital.alias).$('[data-testid="approval-key"][data-asset="admissions"]')).toHaveAttribute('data-key', 'released');
    await expect(approvalRow(hospital.alias).$('[data-testid="approval-expires"]')).not.toHaveText('—');
    await byTestId('approval-matrix').scrollIntoView();
    await saveFullScreenshot('approval-matrix.png');
  });
});
