// The world every fault trial starts from, built once per `npm run faults` with the real CLI:
// the demo's hospital and insurer, plus a hospital table whose hidden column holds a marker
// value (so any plaintext left behind can be found by grepping for it), and one object ready for
// each operation under test — a snapshot to run, a run to release, a snapshot waiting for the
// hospital's approval, a packet for the insurer to import.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { built } from '../support/paths.js';

export const passphrase = 'demo passphrase for cleanroom';
export const newPassphrase = 'a new passphrase for the fault trials';
export const room = 'Readmissions study';
export const parties = ['hospital', 'insurer'] as const;
export type Party = (typeof parties)[number];

export interface CliOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface World {
  readonly dir: string;
  readonly marker: string;
  /** The source files (the marker CSV, notebooks, passphrase files): never scanned for the marker. */
  readonly sources: string;
  readonly base: string;
  readonly runSnapshot: string;
  readonly releaseRun: string;
  readonly approveSnapshot: string;
  /** A packet from the hospital (every payload) for the insurer to import. */
  readonly packet: string;
}

export function cliEnv(pass = passphrase): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('CLEANROOM_')) delete env[key];
  return { ...env, CLEANROOM_PASSPHRASE: pass };
}

/** The built CLI's command line for `args` in `home`. */
export function cliCommand(home: string, args: readonly string[]): string[] {
  return [process.execPath, built('cli.cjs'), '--home', home, ...args];
}

export function runCommand(command: readonly string[], env: NodeJS.ProcessEnv = cliEnv()): Promise<CliOutcome> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = command as [string, ...string[]];
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export async function cli(home: string, args: readonly string[], pass = passphrase): Promise<CliOutcome> {
  return runCommand(cliCommand(home, args), cliEnv(pass));
}

/** The CLI's `--json` value, or an error naming the command. */
export async function cliJson<T>(home: string, args: readonly string[], pass = passphrase): Promise<T> {
  const outcome = await cli(home, [...args, '--json'], pass);
  if (outcome.code !== 0) throw new Error(`cleanroom ${args.join(' ')} failed (${outcome.code}): ${outcome.stderr || outcome.stdout}`);
  return (JSON.parse(outcome.stdout) as { value: T }).value;
}

async function must(home: string, args: readonly string[]): Promise<string> {
  const outcome = await cli(home, args);
  if (outcome.code !== 0) throw new Error(`building the world: cleanroom ${args.join(' ')} failed (${outcome.code}): ${outcome.stderr || outcome.stdout}`);
  return outcome.stdout;
}

interface SnapshotRow {
  readonly id: string;
  readonly name: string;
}
interface RunRow {
  readonly id: string;
  readonly snapshot: string;
  readonly status: string;
  readonly released: boolean;
  readonly hasReceipt: boolean;
}

export async function snapshotsOf(home: string): Promise<SnapshotRow[]> {
  return (await cliJson<{ snapshots: SnapshotRow[] }>(home, ['notebook', 'list', room])).snapshots;
}

export async function runsOf(home: string): Promise<RunRow[]> {
  return (await cliJson<{ runs: RunRow[] }>(home, ['run', 'list', room])).runs;
}

async function snapshotNamed(home: string, name: string): Promise<string> {
  const found = (await snapshotsOf(home)).find((snapshot) => snapshot.name === name);
  if (found === undefined) throw new Error(`building the world: no snapshot ${name}`);
  return found.id;
}

export async function buildWorld(dir: string): Promise<World> {
  const marker = `FAULTMARKER${randomBytes(8).toString('hex')}`;
  const sources = path.join(dir, 'sources');
  const base = path.join(dir, 'base');
  mkdirSync(sources, { recursive: true });
  const demo = await runCommand([process.execPath, built('cli.cjs'), 'demo', '--dir', base], cliEnv());
  if (demo.code !== 0) throw new Error(`building the world: cleanroom demo failed: ${demo.stderr}`);
  const home = (party: Party): string => path.join(base, party);

  const regions = ['north', 'south', 'east', 'west'];
  const lines = ['patient_id,region,cost,note'];
  for (let index = 1; index <= 80; index++) lines.push(`${index},${regions[index % 4]},${(index * 37) % 500},${marker}-${index}`);
  const markers = path.join(sources, 'markers.csv');
  writeFileSync(markers, `${lines.join('\n')}\n`);
  const notebook = (name: string): string => {
    const file = path.join(sources, `${name}.sql`);
    writeFileSync(file, `-- %% output=by_region\nSELECT region, count(*) AS visits, sum(cost) AS cost FROM markers GROUP BY region\n`);
    return file;
  };
  writeFileSync(path.join(sources, 'new-passphrase'), `${newPassphrase}\n`);

  await must(home('hospital'), ['table', 'add', room, '--name', 'markers', '--file', markers, '--privacy-unit', 'patient_id', '--dimension', 'region', '--measure', 'cost', '--hidden', 'note']);
  await must(home('hospital'), ['notebook', 'add', room, '--name', 'fault-run', '--file', notebook('fault-run')]);
  await must(home('hospital'), ['notebook', 'add', room, '--name', 'fault-release', '--file', notebook('fault-release'), '--recipient', 'St Mary Hospital', 'Acme Insurance']);
  const runSnapshot = await snapshotNamed(home('hospital'), 'fault-run');
  const releaseSnapshot = await snapshotNamed(home('hospital'), 'fault-release');

  // The insurer sees the markers table, approves both notebooks (every member approves), and asks
  // the hospital to approve one of its own over the table.
  const packets = path.join(dir, 'packets');
  mkdirSync(packets);
  const toInsurer = path.join(packets, 'hospital-1.cleanroom');
  await must(home('hospital'), ['packet', 'export', room, '--out', toInsurer]);
  await must(home('insurer'), ['packet', 'import', toInsurer]);
  await must(home('insurer'), ['approve', room, runSnapshot]);
  await must(home('insurer'), ['approve', room, releaseSnapshot]);
  await must(home('insurer'), ['notebook', 'add', room, '--name', 'fault-approve', '--file', notebook('fault-approve')]);
  const toHospital = path.join(packets, 'insurer-1.cleanroom');
  await must(home('insurer'), ['packet', 'export', room, '--out', toHospital]);
  await must(home('hospital'), ['packet', 'import', toHospital]);
  const approveSnapshot = await snapshotNamed(home('hospital'), 'fault-approve');

  await must(home('hospital'), ['run', room, releaseSnapshot]);
  const releaseRun = (await runsOf(home('hospital'))).find((run) => run.snapshot === releaseSnapshot && run.status === 'succeeded');
  if (releaseRun === undefined) throw new Error('building the world: the run to release did not succeed');

  const packet = path.join(packets, 'hospital-2.cleanroom');
  await must(home('hospital'), ['packet', 'export', room, '--out', packet, '--with-payloads']);
  return { dir, marker, sources, base, runSnapshot, releaseRun: releaseRun.id, approveSnapshot, packet };
}

/** A fresh copy of the world's homes for one trial, with an empty folder for files it writes. */
export function copyWorld(world: World, trialDir: string): { homes: Record<Party, string>; out: string } {
  const homes = {} as Record<Party, string>;
  for (const party of parties) {
    homes[party] = path.join(trialDir, party);
    cpSync(path.join(world.base, party), homes[party], { recursive: true });
  }
  const out = path.join(trialDir, 'out');
  mkdirSync(out);
  return { homes, out };
}
