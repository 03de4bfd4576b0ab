// The demo's script: three real homes (a hospital, an insurer, an ML expert), each with its own
// core and DuckDB worker in this process, walk both stories of the design through the same API
// every host uses. Packets and cards travel as files through one shared folder, as they would on
// a USB stick. Each step is printed in plain words; the results come back for the CLI and tests.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type AssetView } from '../../shared/asset.js';
import { cardFileName } from '../../shared/card.js';
import { type ApiMethod, type ApiRequest, type ApiResponse } from '../../shared/contract.js';
import { CleanroomError } from '../../shared/errors.js';
import { groupForReading } from '../../shared/identity.js';
import { type ModelDocument, parseModelDocument } from '../../shared/model.js';
import { type OutputColumnView } from '../../shared/run.js';
import { describeFileError } from '../core/files.js';
import { type Core, openCore } from '../core/index.js';
import {
  admissionsCsv,
  admissionsRoles,
  claimsCsv,
  claimsRoles,
  jointNotebook,
  jointNotebookName,
  libraryFileName,
  libraryName,
  libraryText,
  makeDemoData,
  membersCsv,
  membersRoles,
  modelName,
  newPatientsCsv,
  trainNotebook,
  trainNotebookName,
} from './demo-data.js';
import { count, modelSummaryLines, percent, shortHash, textTable } from './demo-format.js';

/** Every demo home's passphrase: printed, so a presenter can open the homes afterwards. */
export const demoPassphrase = 'demo passphrase for cleanroom';

export const partyKeys = ['hospital', 'insurer', 'mlExpert'] as const;
export type PartyKey = (typeof partyKeys)[number];

export const demoParties: Readonly<Record<PartyKey, { readonly alias: string; readonly folder: string; readonly role: string }>> = {
  hospital: { alias: 'St Mary Hospital', folder: 'hospital', role: 'data owner: admissions' },
  insurer: { alias: 'Acme Insurance', folder: 'insurer', role: 'data owner: members and claims' },
  mlExpert: { alias: 'Nova Analytics', folder: 'ml-expert', role: 'ML expert with no data, a private feature library' },
};

export const jointRoomName = 'Readmissions study';
export const modelRoomName = 'Readmission model';

export interface DemoOptions {
  /** Folder for the homes, data files and shared packets: new or empty. */
  readonly dir: string;
  /** One line per call, for the person watching. */
  readonly log: (line: string) => void;
  /** The DuckDB worker's script (build/out/worker.cjs bundled; electron/worker/main.ts under tsx). */
  readonly workerEntry: string;
  readonly workerExecArgv?: string[];
}

export interface DemoTable {
  readonly name: string;
  readonly columns: readonly OutputColumnView[];
  readonly rows: readonly (readonly (string | null)[])[];
  readonly suppressedRows: number;
}

export interface DemoResult {
  readonly dir: string;
  readonly passphrase: string;
  readonly homes: Readonly<Record<PartyKey, string>>;
  readonly sharedFolder: string;
  readonly files: {
    readonly admissions: string;
    readonly members: string;
    readonly claims: string;
    readonly library: string;
    readonly jointNotebook: string;
    readonly trainNotebook: string;
    readonly newPatients: string;
    readonly scoredPatients: string;
  };
  readonly story1: {
    readonly room: string;
    readonly snapshot: string;
    readonly run: string;
    /** The insurer's outputs, as its run made them. */
    readonly outputs: readonly DemoTable[];
    /** Output names the hospital can read after importing the release. */
    readonly hospitalReceived: readonly string[];
  };
  readonly story2: {
    readonly room: string;
    readonly snapshot: string;
    readonly run: string;
    /** The library volume's payload hash: all the hospital is shown of it. */
    readonly libraryPayloadHash: string;
    readonly model: ModelDocument;
    /** Output names the ML expert can read after importing the release. */
    readonly expertReceived: readonly string[];
    readonly prediction: { readonly columns: readonly string[]; readonly rows: readonly (readonly string[])[] };
  };
}

interface Party {
  readonly key: PartyKey;
  readonly alias: string;
  readonly home: string;
  readonly core: Core;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A new folder under the system's temporary folder, for `cleanroom demo` without --dir. */
export function defaultDemoDir(): string {
  const base = path.join(os.tmpdir(), 'cleanroom-demo');
  mkdirSync(base, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const candidate = path.join(base, `run-${new Date().toISOString().slice(0, 10)}-${attempt}`);
    if (!existsSync(candidate)) return candidate;
  }
}

/** Refuses a folder that holds anything: the demo makes fresh homes and never mixes with old ones. */
export function prepareDemoDir(dir: string): string {
  const resolved = path.resolve(dir);
  try {
    if (existsSync(resolved) && !statSync(resolved).isDirectory()) {
      throw new CleanroomError('FILE_ERROR', `${resolved} is a file, not a folder: give a new or empty folder for the demo's homes`);
    }
    if (existsSync(resolved) && readdirSync(resolved).length > 0) {
      throw new CleanroomError('NOT_ALLOWED', `${resolved} is not empty: the demo makes fresh homes there, so give a new or empty folder`);
    }
    mkdirSync(resolved, { recursive: true });
  } catch (error) {
    if (error instanceof CleanroomError) throw error;
    throw new CleanroomError('FILE_ERROR', `Cannot make the demo's folder ${resolved} (${describeFileError(error)}); give a new or empty folder`);
  }
  return resolved;
}

/** Walks both stories end to end; every core it opened is closed when it returns or throws. */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const dir = prepareDemoDir(options.dir);
  const { log } = options;
  const started = Date.now();
  const shared = path.join(dir, 'shared');
  const dataDir = path.join(dir, 'data');
  for (const folder of [shared, dataDir]) mkdirSync(folder, { recursive: true });
  const homes = Object.fromEntries(partyKeys.map((key) => [key, path.join(dir, demoParties[key].folder)])) as Record<PartyKey, string>;
  const parties: Party[] = [];
  try {
    log('Cleanroom demo: three organisations, two stories, no network. Every step below goes through');
    log('the real app: signed packets carried as files, approvals, the DuckDB worker and the policy.');
    log('');
    log(`  Folder        ${dir}`);
    log(`  Homes         ${partyKeys.map((key) => `${demoParties[key].folder}/ (${demoParties[key].alias})`).join(', ')}`);
    log(`  Shared folder ${shared}   (stands in for a USB stick)`);
    log(`  Passphrase    "${demoPassphrase}"   (the same for every demo home)`);
    log('');

    // ---- Data files, as each organisation has them --------------------------------------------
    const data = makeDemoData();
    const files = writeDataFiles(dataDir, data);
    log('Synthetic data, the same on every run:');
    log(`  St Mary Hospital  ${count(data.admissions.length)} admissions (age, diagnosis, stay, prior admissions, discharge, readmitted within 30 days)`);
    log(`  Acme Insurance    ${count(data.members.length)} members with plans and regions, ${count(data.claims.length)} claims`);
    log(`  Nova Analytics    no data; a private feature library (${libraryFileName}) and a training notebook`);
    log('');

    // ---- Identities and cards -----------------------------------------------------------------
    section(log, 'Setting up: identities and contact cards');
    for (const key of partyKeys) {
      const { alias } = demoParties[key];
      const core = await openCore({ home: homes[key], host: 'cli', workerEntry: options.workerEntry, ...(options.workerExecArgv ? { workerExecArgv: options.workerExecArgv } : {}) });
      const party: Party = { key, alias, home: homes[key], core };
      parties.push(party);
      const identity = await call(party, 'identity.create', { alias, passphrase: demoPassphrase });
      const { card } = await call(party, 'identity.card', {});
      writeFileSync(path.join(shared, cardFileName(alias)), card);
      say(log, `${alias} creates its identity (signing and encryption keys, locked by the passphrase). Sharing identifier ${groupForReading(identity.sharingId).join(' ')}`);
    }
    const [hospital, insurer, mlExpert] = parties as [Party, Party, Party];
    say(log, `Each puts its identity card in the shared folder (${cardFileName(hospital.alias)}, …); people compare sharing identifiers by phone.`);
    log('');

    const rows = { admissions: data.admissions.length, members: data.members.length, claims: data.claims.length };
    const story1 = await jointStory({ log, shared, files, rows, hospital, insurer });
    const story2 = await trainingStory({ log, shared, files, rows, hospital, mlExpert });

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    section(log, 'Done');
    say(log, `Both stories ran in ${seconds} s on this machine.`);
    say(log, `The homes stay in ${dir}: open one with \`cleanroom --home ${homes.hospital} room list\` (passphrase "${demoPassphrase}"),`);
    say(log, 'or click through the same rooms in the browser with `npm run demo -- --ui`.');
    return { dir, passphrase: demoPassphrase, homes, sharedFolder: shared, files, story1, story2 };
  } finally {
    for (const party of parties) await party.core.close();
  }
}

// ---- Story 1 -------------------------------------------------------------------------------------

interface StoryContext {
  readonly log: (line: string) => void;
  readonly shared: string;
  readonly files: DemoResult['files'];
  readonly hospital: Party;
  readonly rows: { readonly admissions: number; readonly members: number; readonly claims: number };
}

async function jointStory(context: StoryContext & { readonly insurer: Party }): Promise<DemoResult['story1']> {
  const { log, files, hospital, insurer } = context;
  const carry = packetCarrier(context.shared, log, 'joint');
  section(log, `Story 1: joint analysis (${insurer.alias} + ${hospital.alias})`);

  const hospitalContact = await call(insurer, 'contact.import', { card: readFileSync(path.join(context.shared, cardFileName(hospital.alias)), 'utf8') });
  const created = await call(insurer, 'room.create', { name: jointRoomName, members: [hospitalContact.signPublicKey] });
  const room = created.summary.id;
  say(log, `${insurer.alias} imports ${possessive(hospital.alias)} card and creates the room "${jointRoomName}" (k = ${created.policy.minGroupSize}: smaller groups are left out, and values fewer people carry are withheld).`);
  await carry(insurer, [hospital], room, 'invitation');

  await call(hospital, 'room.join', { room });
  say(log, `${hospital.alias} checks the invitation and joins: the room is active.`);
  await addTable(hospital, room, 'admissions', files.admissions, admissionsRoles);
  say(log, `${hospital.alias} adds its table admissions (${count(context.rows.admissions)} rows), converted to Parquet and encrypted under a new data key; it labels patient_id as the privacy unit.`);
  await carry(hospital, [insurer], room, 'joined, admissions added');

  await addTable(insurer, room, 'members', files.members, membersRoles);
  await addTable(insurer, room, 'claims', files.claims, claimsRoles);
  say(log, `${insurer.alias} adds its tables members (${count(context.rows.members)} rows) and claims (${count(context.rows.claims)} rows), member_id their privacy unit.`);
  const seen = (await call(insurer, 'asset.list', { room })).assets.find((asset) => asset.name === 'admissions');
  say(log, `What ${insurer.alias} can see of admissions: its columns, never its rows:`);
  for (const line of columnLines(seen)) log(line);

  const snapshot = await call(insurer, 'notebook.add', { room, name: jointNotebookName, source: jointNotebook, recipients: [insurer.alias, hospital.alias] });
  say(log, `${insurer.alias} writes the notebook ${jointNotebookName} and adds it: snapshot ${shortHash(snapshot.id)}, signed, runner ${snapshot.runner}.`);
  await carry(insurer, [hospital], room, 'members, claims, notebook');

  const shown = await call(hospital, 'notebook.show', { room, snapshot: snapshot.id });
  say(log, `${hospital.alias} reads the exact code it is asked to approve:`);
  for (const cell of shown.notebook.cells) {
    if (cell.kind !== 'sql') continue;
    log(`      │ -- %% output=${cell.output ?? ''}`);
    for (const line of cell.source.trim().split('\n')) log(`      │ ${line}`);
  }
  await call(hospital, 'approval.grant', { room, snapshot: snapshot.id });
  say(log, `${hospital.alias} approves: its key for admissions is sealed to ${insurer.alias}, for this snapshot only, one run, 7 days.`);
  await carry(hospital, [insurer], room, 'approval, admissions payload');

  const run = await runSnapshot(insurer, room, snapshot.id, log);
  const outputs: DemoTable[] = [];
  for (const view of (await call(insurer, 'output.list', { room })).outputs.filter((output) => output.run === run)) {
    const data = await call(insurer, 'output.show', { room, output: view.id });
    outputs.push({ name: view.name, columns: view.columns, rows: data.rows, suppressedRows: view.suppressedRows });
  }
  const rates = outputs.find((output) => output.name === 'readmission_rates');
  if (rates !== undefined) {
    say(log, `Output readmission_rates (${rates.rows.length} groups of at least k patients; ${rates.suppressedRows} values withheld):`);
    for (const line of textTable(
      ['Age band', 'Plan', 'Admissions', '30-day readmissions'],
      rates.rows.map((row) => [row[0] ?? '', row[1] ?? '', count(row[2] ?? '0'), percent(row[3] ?? null)]),
    )) log(line);
  }
  const claimsByPlan = outputs.find((output) => output.name === 'claims_by_plan');
  if (claimsByPlan !== undefined) {
    say(log, `Output claims_by_plan (${claimsByPlan.rows.length} groups; ${claimsByPlan.suppressedRows} values withheld):`);
    for (const line of textTable(
      ['Plan', 'Category', 'Claims', 'Mean amount'],
      claimsByPlan.rows.map((row) => [row[0] ?? '', row[1] ?? '', row[2] === null || row[2] === undefined ? 'withheld' : count(row[2]), row[3] === null || row[3] === undefined ? 'withheld' : Number(row[3]).toFixed(2)]),
    )) log(line);
  }

  const released = await carryRelease(insurer, hospital, room, run, path.join(context.shared, `${carry.next()}-joint-release-to-${slug(hospital.alias)}.cleanroom`));
  say(log, `${insurer.alias} releases the outputs to ${hospital.alias} as a signed, encrypted packet; ${hospital.alias} imports it (${released}).`);
  const hospitalReceived = (await call(hospital, 'output.list', { room })).outputs.filter((output) => output.run === run).map((output) => output.name);
  say(log, `${hospital.alias} now holds: ${hospitalReceived.join(', ') || 'nothing'}.`);
  log('');
  return { room, snapshot: snapshot.id, run, outputs, hospitalReceived };
}

// ---- Story 2 -------------------------------------------------------------------------------------

async function trainingStory(context: StoryContext & { readonly mlExpert: Party }): Promise<DemoResult['story2']> {
  const { log, files, hospital, mlExpert } = context;
  const carry = packetCarrier(context.shared, log, 'model');
  section(log, `Story 2: training on data you may not see (${hospital.alias} + ${mlExpert.alias})`);

  const expertContact = await call(hospital, 'contact.import', { card: readFileSync(path.join(context.shared, cardFileName(mlExpert.alias)), 'utf8') });
  // Reviewed mode: the features are the library's computed columns, which aggregate mode's train
  // cells refuse (bare columns only); here the data owner approves the notebook, runs it on their
  // own machine and looks at the model before releasing anything.
  const created = await call(hospital, 'room.create', { name: modelRoomName, members: [expertContact.signPublicKey], mode: 'reviewed' });
  const room = created.summary.id;
  say(log, `${hospital.alias} imports ${possessive(mlExpert.alias)} card and creates the room "${modelRoomName}" in reviewed mode: ${hospital.alias} runs the notebook itself and sees the model before releasing it.`);
  await carry(hospital, [mlExpert], room, 'invitation');

  await call(mlExpert, 'room.join', { room });
  const library = await addVolume(mlExpert, room, libraryName, files.library);
  say(log, `${mlExpert.alias} joins and adds its feature library as a PRIVATE volume ${libraryName} (${count(library.payloadSize)} bytes encrypted): others see its name and hash, never its files.`);
  await carry(mlExpert, [hospital], room, 'joined, library descriptor');

  await addTable(hospital, room, 'admissions', files.admissions, admissionsRoles);
  say(log, `${hospital.alias} adds admissions to this room too (${count(context.rows.admissions)} rows, under a new data key).`);
  await carry(hospital, [mlExpert], room, 'admissions added');

  const check = await call(mlExpert, 'notebook.check', { room, source: trainNotebook });
  say(log, `${mlExpert.alias} checks its training notebook against the room's policy on its own machine: ${check.ok ? 'nothing would be refused' : 'it would be refused'}.`);
  for (const problem of [...check.problems, ...check.cells.flatMap((cell) => cell.problems.map((text) => `cell ${cell.index + 1}: ${text}`))]) log(`      ! ${problem}`);
  const snapshot = await call(mlExpert, 'notebook.add', { room, name: trainNotebookName, source: trainNotebook, runner: hospital.alias, recipients: [hospital.alias, mlExpert.alias] });
  say(log, `${mlExpert.alias} adds it with ${hospital.alias} as the runner: snapshot ${shortHash(snapshot.id)}. Adding it seals the library's key to ${hospital.alias}, for this snapshot only.`);
  await carry(mlExpert, [hospital], room, 'notebook, approval, library payload');

  const shown = await call(hospital, 'notebook.show', { room, snapshot: snapshot.id });
  const libraryRef = shown.assets.find((asset) => asset.kind === 'volume' && asset.name === libraryName);
  const libraryView = (await call(hospital, 'asset.list', { room })).assets.find((asset) => asset.name === libraryName);
  say(log, `${hospital.alias} reads the notebook. The train cell it will run:`);
  for (const cell of shown.notebook.cells) {
    if (cell.kind !== 'train') continue;
    log(`      │ -- %% [train] ${cell.options.map((option) => `${option.key}=${option.value}`).join(' ')}`);
    for (const line of cell.source.trim().split('\n')) log(`      │ ${line}`);
  }
  say(log, `It uses the private library ${libraryName} by ${libraryView?.owner ?? mlExpert.alias}, payload hash ${shortHash(libraryRef?.payloadHash ?? libraryView?.payloadHash ?? '')}: ${hospital.alias} can pin what it approves by that hash, but is never shown the library's files or content.`);
  await call(hospital, 'approval.grant', { room, snapshot: snapshot.id });
  say(log, `${hospital.alias} approves the exact snapshot (library hash included) and runs it on its own machine: the data never leaves it.`);

  const run = await runSnapshot(hospital, room, snapshot.id, log);
  const data = await call(hospital, 'output.show', { room, output: `${run}:${modelName}` });
  const parsed = parseModelDocument(data.rows[0]?.[0] ?? '');
  if (!parsed.ok) throw new CleanroomError('INTERNAL', `the run's ${modelName} output is not a model: ${parsed.reason}`);
  const model = parsed.model;
  say(log, `Output ${modelName}: the model and its metrics, the only thing the train cell lets out of the worker.`);
  for (const line of modelSummaryLines(model)) log(line);

  const released = await carryRelease(hospital, mlExpert, room, run, path.join(context.shared, `${carry.next()}-model-release-to-${slug(mlExpert.alias)}.cleanroom`));
  const expertReceived = (await call(mlExpert, 'output.list', { room })).outputs.filter((output) => output.run === run).map((output) => output.name);
  say(log, `${hospital.alias} releases the model to ${mlExpert.alias} (${released}); ${mlExpert.alias} now holds: ${expertReceived.join(', ') || 'nothing'}.`);

  const prediction = await call(hospital, 'model.predict', { room, model: modelName, source: files.newPatients, outPath: files.scoredPatients });
  const scored = parseSimpleCsv(readFileSync(files.scoredPatients, 'utf8'));
  say(log, `${hospital.alias} scores ${prediction.rows} new patients locally with the model (\`cleanroom predict\`), written to ${path.basename(files.scoredPatients)}:`);
  const column = (name: string) => scored.columns.indexOf(name);
  const shownColumns = ['reference', 'age', 'diagnosis', 'discharge_to', 'prior_admissions', 'prediction', 'predicted_label'];
  for (const line of textTable(
    ['Patient', 'Age', 'Diagnosis', 'Discharge', 'Prior', 'Risk', 'Label'],
    scored.rows.map((row) => shownColumns.map((name) => (name === 'prediction' ? percent(row[column(name)] ?? null) : (row[column(name)] ?? '')))),
  )) log(line);
  log('');
  return { room, snapshot: snapshot.id, run, libraryPayloadHash: libraryView?.payloadHash ?? '', model, expertReceived, prediction: scored };
}

// ---- Steps ---------------------------------------------------------------------------------------

/** Calls core through the contract; a refusal stops the demo with the party and the method named. */
async function call<M extends ApiMethod>(party: Party, method: M, request: ApiRequest<M>): Promise<ApiResponse<M>> {
  const result = await party.core.dispatch(method, request);
  if (!result.ok) throw new CleanroomError(result.error.code, `the demo stopped: ${possessive(party.alias)} ${method} was refused: ${result.error.message}`);
  return result.value as ApiResponse<M>;
}

/** Follows an import's job to its asset. */
async function finishImport(party: Party, job: string): Promise<AssetView> {
  for (;;) {
    const view = await call(party, 'job.status', { job });
    if (view.state === 'done' && view.asset !== null) return view.asset;
    if (view.state !== 'running') throw new CleanroomError('INTERNAL', `the demo stopped: ${possessive(party.alias)} import ended ${view.state}: ${view.error?.message ?? view.message}`);
    await sleep(20);
  }
}

async function addTable(party: Party, room: string, name: string, file: string, roles: readonly { readonly column: string; readonly role: string }[]): Promise<AssetView> {
  const { job } = await call(party, 'table.add', { room, name, path: file, roles: roles as ApiRequest<'table.add'>['roles'] });
  return finishImport(party, job);
}

async function addVolume(party: Party, room: string, name: string, folder: string): Promise<AssetView> {
  const { job } = await call(party, 'volume.add', { room, name, path: folder, private: true });
  return finishImport(party, job);
}

async function runSnapshot(party: Party, room: string, snapshot: string, log: (line: string) => void): Promise<string> {
  const { job, run } = await call(party, 'run.start', { room, snapshot });
  for (;;) {
    const view = await call(party, 'job.status', { job });
    if (view.state === 'done') break;
    if (view.state !== 'running') {
      const failure = (await call(party, 'run.list', { room })).runs.find((candidate) => candidate.id === run)?.failure;
      const why = failure ? `${failure.class}${failure.cell === null ? '' : ` in cell ${failure.cell}`}: ${failure.reasons.join('; ')}` : (view.error?.message ?? view.state);
      throw new CleanroomError('RUN_FAILED', `the demo stopped: ${possessive(party.alias)} run failed (${why})`);
    }
    await sleep(20);
  }
  const finished = (await call(party, 'run.list', { room })).runs.find((candidate) => candidate.id === run);
  say(
    log,
    `${party.alias} runs it: keys unsealed from the approvals, payloads decrypted in memory only, each cell checked against the policy in the worker. Run ${shortHash(run)}: ${finished?.status ?? 'done'}, ${finished?.suppressedRows ?? 0} values withheld, receipt signed.`,
  );
  return run;
}

/**
 * Carries a packet from one party to others through the shared folder: exported to a numbered
 * file there, then imported by each recipient from that path.
 */
function packetCarrier(shared: string, log: (line: string) => void, story: string) {
  const carry = async (from: Party, to: readonly Party[], room: string, what: string): Promise<void> => {
    const file = path.join(shared, `${carry.next()}-${story}-${slug(from.alias)}-to-${to.map((party) => slug(party.alias)).join('-')}.cleanroom`);
    const exported = await call(from, 'packet.export', { room, to: to.map((party) => party.alias), outPath: file });
    for (const party of to) await call(party, 'packet.import', { path: file });
    log(`      ↳ packet ${path.basename(file)} (${what}; ${count(exported.size)} bytes, signed and encrypted) carried to ${to.map((party) => party.alias).join(', ')} and imported.`);
  };
  let counter = 0;
  carry.next = (): string => String(++counter).padStart(2, '0');
  return carry;
}

/** Writes the runner's release packet to the shared folder and has each recipient import it. */
async function carryRelease(from: Party, to: Party, room: string, run: string, file: string): Promise<string> {
  const released = await call(from, 'output.release', { room, run, outPath: file });
  const imported = await call(to, 'packet.import', { path: released.path ?? file });
  return `${path.basename(file)}: ${imported.summary}`;
}

/** "Nova Analytics'", "St Mary Hospital's". */
const possessive = (name: string): string => (name.endsWith('s') ? `${name}'` : `${name}'s`);

const slug = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

function section(log: (line: string) => void, title: string): void {
  log(`== ${title} ${'='.repeat(Math.max(3, 92 - title.length))}`);
}

function say(log: (line: string) => void, line: string): void {
  log(`  • ${line}`);
}

function columnLines(asset: AssetView | undefined): string[] {
  if (asset === undefined) return ['      (not visible)'];
  return textTable(
    ['Column', 'Type', 'Role'],
    asset.columns.map((column) => [column.name, column.type, column.role.replace('_', ' ')]),
    '      ',
  );
}

function writeDataFiles(dataDir: string, data: ReturnType<typeof makeDemoData>): DemoResult['files'] {
  const folders = Object.fromEntries(partyKeys.map((key) => [key, path.join(dataDir, demoParties[key].folder)])) as Record<PartyKey, string>;
  for (const folder of Object.values(folders)) mkdirSync(folder, { recursive: true });
  const library = path.join(folders.mlExpert, libraryName);
  mkdirSync(library, { recursive: true });
  const files = {
    admissions: path.join(folders.hospital, 'admissions.csv'),
    members: path.join(folders.insurer, 'members.csv'),
    claims: path.join(folders.insurer, 'claims.csv'),
    library,
    jointNotebook: path.join(folders.insurer, `${jointNotebookName}.sql`),
    trainNotebook: path.join(folders.mlExpert, `${trainNotebookName}.sql`),
    newPatients: path.join(folders.hospital, 'new-patients.csv'),
    scoredPatients: path.join(folders.hospital, 'new-patients-scored.csv'),
  };
  writeFileSync(files.admissions, admissionsCsv(data.admissions));
  writeFileSync(files.members, membersCsv(data.members));
  writeFileSync(files.claims, claimsCsv(data.claims));
  writeFileSync(path.join(library, libraryFileName), libraryText);
  writeFileSync(files.jointNotebook, jointNotebook);
  writeFileSync(files.trainNotebook, trainNotebook);
  writeFileSync(files.newPatients, newPatientsCsv(data.newPatients));
  return files;
}

/** The scored CSV core wrote (RFC 4180, as shared/csv.ts writes it). */
export function parseSimpleCsv(text: string): { columns: string[]; rows: string[][] } {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index] as string;
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        field += '"';
        index++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      record.push(field);
      field = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[index + 1] === '\n') index++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += char;
  }
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  const [columns = [], ...rows] = records;
  return { columns, rows };
}
