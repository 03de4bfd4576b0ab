// Two parties for run tests, on real homes with the real worker: St Mary Hospital (admissions,
// patient_id its privacy unit) and Acme Insurance (claims, member_id its privacy unit), in one
// active room. Acme's core records its worker's pids (to kill one mid-run) and can be reopened with
// a short run time limit. Helpers follow a run's job to its end and move the shared clock.
//
// Exports: movableClock, RunWorld, makeRunWorld(root, options), followJob(party, job, onView?),
// admissionsRows/claimsRows (the generated rows), workerPidsOf(party).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openCore } from '../../electron/core/index.js';
import { type WorkerLauncher } from '../../electron/core/worker-host.js';
import { launchNodeWorker } from '../../electron/core/worker-launch-node.js';
import { type JobView } from '../../shared/asset.js';
import { type ApiRequest } from '../../shared/contract.js';
import { addAsset, exchange, formRoom, makeParty, type Party } from './core-parties.js';
import { passphrase } from './homes.js';
import { tsxExecArgv, workerSourceEntry } from './paths.js';

/** A clock every home shares, moved forward to reach expiry dates. */
export function movableClock() {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), advance: (ms: number) => (offset += ms) };
}

export interface AdmissionRow {
  readonly patientId: number;
  readonly ageBand: string;
  readonly ward: string;
  readonly readmitted: number;
}

export interface ClaimRow {
  readonly memberId: number;
  readonly plan: string;
  readonly amount: number;
}

const bands = ['18-39', '40-64', '65-89', '90+'];

/** 120 patients: bands of 50, 40, 26 and 4 people; ward and readmission vary by id. */
export function admissionsRows(marker?: string): AdmissionRow[] {
  const rows: AdmissionRow[] = [];
  for (let id = 1; id <= 120; id++) {
    const band = id <= 50 ? bands[0] : id <= 90 ? bands[1] : id <= 116 ? bands[2] : bands[3];
    rows.push({ patientId: id, ageBand: band as string, ward: id % 3 === 0 ? 'north' : 'south', readmitted: id % 4 === 0 ? 1 : 0 });
  }
  if (marker !== undefined) rows.push({ patientId: 121, ageBand: marker, ward: marker, readmitted: 1 });
  return rows;
}

/** Every patient but a few is insured: gold for one in three, silver otherwise. */
export function claimsRows(): ClaimRow[] {
  const rows: ClaimRow[] = [];
  for (let id = 1; id <= 120; id++) if (id % 17 !== 0) rows.push({ memberId: id, plan: id % 3 === 1 ? 'gold' : 'silver', amount: (id * 37) % 500 });
  return rows;
}

export function admissionsCsv(rows: readonly AdmissionRow[], idText: (row: AdmissionRow) => string = (row) => String(row.patientId)): string {
  return `patient_id,age_band,ward,readmitted\n${rows.map((row) => `${idText(row)},${row.ageBand},${row.ward},${row.readmitted}`).join('\n')}\n`;
}

export function claimsCsv(rows: readonly ClaimRow[]): string {
  return `member_id,plan,amount\n${rows.map((row) => `${row.memberId},${row.plan},${row.amount}`).join('\n')}\n`;
}

/** The joint analysis: readmissions by age band and plan. */
export const jointNotebook = `-- %% [markdown]
-- Readmissions by age band and plan
-- %% output=rates
SELECT a.age_band, c.plan, count(*) AS n, sum(a.readmitted) AS readmissions
FROM admissions a JOIN claims c ON a.patient_id = c.member_id
GROUP BY a.age_band, c.plan
`;

/**
 * A cell that takes far longer than any test waits: a group key whose substring search is
 * quadratic (about a second per row, each row read by several of the compiled stages). Issue 17's
 * grammar refuses the self-join fan-out this used to be, so the slowness is in a dimension expression.
 */
export const slowNotebook = `-- %% output=slow
SELECT contains(lpad(ward, 600000, 'a'), lpad('b', 200000, 'a')) AS hit, count(*) AS n
FROM admissions
GROUP BY hit
`;

/**
 * What the joint analysis must output, computed here from the plain rows: [band, plan, n,
 * readmissions] sorted, and how many values were withheld. Issue 17: groups below k are removed and
 * not counted; sum(readmitted) is withheld (null) where fewer than k people were readmitted (its
 * non-zero contributors); `suppressed` counts those withheld values.
 */
export function expectedRates(admissions: readonly AdmissionRow[], claims: readonly ClaimRow[], k = 10): { rows: (string | null)[][]; suppressed: number } {
  const plans = new Map(claims.map((claim) => [claim.memberId, claim.plan]));
  const groups = new Map<string, { band: string; plan: string; n: number; readmissions: number; people: Set<number>; readmitted: Set<number> }>();
  for (const row of admissions) {
    const plan = plans.get(row.patientId);
    if (plan === undefined) continue;
    const key = `${row.ageBand}|${plan}`;
    const group = groups.get(key) ?? { band: row.ageBand, plan, n: 0, readmissions: 0, people: new Set<number>(), readmitted: new Set<number>() };
    group.n += 1;
    group.readmissions += row.readmitted;
    group.people.add(row.patientId);
    if (row.readmitted !== 0) group.readmitted.add(row.patientId);
    groups.set(key, group);
  }
  const kept = [...groups.values()].filter((group) => group.people.size >= k);
  const withheld = (group: (typeof kept)[number]): boolean => group.readmitted.size < k;
  return {
    rows: kept
      .map((group) => [group.band, group.plan, String(group.n), withheld(group) ? null : String(group.readmissions)])
      .sort((x, y) => x.join('|').localeCompare(y.join('|'))),
    suppressed: kept.filter(withheld).length,
  };
}

export interface RunWorld {
  readonly mary: Party;
  readonly acme: Party;
  readonly room: string;
  readonly clock: ReturnType<typeof movableClock>;
  readonly files: string;
  /** Pids of every worker Acme's core started, newest last. */
  readonly acmeWorkers: number[];
  /** Reopens Acme's core (same home, same clock) with these run options. */
  reopenAcme(options?: { runTimeoutMs?: number }): Promise<void>;
  close(): Promise<void>;
}

export interface RunWorldOptions {
  /** A value placed in one patient's privacy unit, age band and ward (plaintext tests). */
  readonly marker?: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function makeRunWorld(root: string, options: RunWorldOptions = {}): Promise<RunWorld> {
  const clock = movableClock();
  const mary = await makeParty(root, 'St Mary', clock.now);
  const acme = await makeParty(root, 'Acme', clock.now);
  const acmeWorkers: number[] = [];
  const recording: WorkerLauncher = (entry, execArgv) => {
    const channel = launchNodeWorker(entry, execArgv);
    if (channel.pid !== undefined) acmeWorkers.push(channel.pid);
    return channel;
  };
  const reopenAcme = async (runOptions: { runTimeoutMs?: number } = {}): Promise<void> => {
    await acme.core.close();
    acme.core = await openCore({
      home: acme.home,
      host: 'cli',
      workerEntry: workerSourceEntry,
      workerExecArgv: tsxExecArgv,
      clock: clock.now,
      launchWorker: recording,
      ...runOptions,
    });
    await acme.core.call('identity.unlock', { passphrase });
  };
  await reopenAcme();
  const room = await formRoom(mary, [acme], 'Readmissions');
  const files = path.join(root, 'files');
  mkdirSync(files, { recursive: true });
  const admissionsFile = path.join(files, 'admissions.csv');
  const marker = options.marker;
  writeFileSync(admissionsFile, admissionsCsv(admissionsRows(marker), (row) => (marker !== undefined && row.patientId === 121 ? marker : String(row.patientId))));
  const claimsFile = path.join(files, 'claims.csv');
  writeFileSync(claimsFile, claimsCsv(claimsRows()));
  const add = async (party: Party, request: ApiRequest<'table.add'>): Promise<void> => {
    const added = await addAsset(party, 'table.add', request);
    assert.ok(added.ok, added.ok ? undefined : added.error.message);
  };
  await add(mary, {
    room,
    name: 'admissions',
    path: admissionsFile,
    roles: [
      { column: 'patient_id', role: 'privacy_unit' },
      { column: 'age_band', role: 'dimension' },
      { column: 'ward', role: 'dimension' },
      { column: 'readmitted', role: 'measure' },
    ],
  });
  await add(acme, {
    room,
    name: 'claims',
    path: claimsFile,
    roles: [
      { column: 'member_id', role: 'privacy_unit' },
      { column: 'plan', role: 'dimension' },
      { column: 'amount', role: 'measure' },
    ],
  });
  await exchange([mary, acme], room);
  return {
    mary,
    acme,
    room,
    clock,
    files,
    acmeWorkers,
    reopenAcme,
    async close() {
      for (const party of [mary, acme]) await party.core.close();
    },
  };
}

/** Polls a job until it ends; `onView` sees every view polled (to act mid-run). */
export async function followJob(party: Party, job: string, onView?: (view: JobView) => Promise<void> | void): Promise<JobView> {
  for (;;) {
    const view = await party.core.call('job.status', { job });
    if (view.state !== 'running') return view;
    await onView?.(view);
    await sleep(20);
  }
}

/** Sends a packet from `from` to `to` (all of `from`'s entries, and payloads they need). */
export async function sendPacket(from: Party, to: Party, room: string): Promise<void> {
  const packet = await from.core.call('packet.export', { room, to: [to.alias] });
  assert.ok(packet.contentBase64 !== null);
  await to.core.call('packet.import', { contentBase64: packet.contentBase64 });
}

/**
 * Acme adds `source` as a notebook (run by Acme, outputs for Acme and St Mary), St Mary approves
 * it with `approval` and sends Acme a packet. Returns the snapshot id.
 */
export async function approvedSnapshot(world: RunWorld, name: string, source: string, approval: { runs?: number; expiresDays?: number } = {}): Promise<string> {
  const { acme, mary, room } = world;
  const snapshot = await acme.core.call('notebook.add', { room, name, source, recipients: ['Acme', 'St Mary'] });
  await sendPacket(acme, mary, room);
  await mary.core.call('approval.grant', { room, snapshot: snapshot.id, ...approval });
  await sendPacket(mary, acme, room);
  return snapshot.id;
}
