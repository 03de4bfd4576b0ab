// The operations the fault trials interrupt, each with how to tell, after a crash and the next
// start-up, whether it happened (the new state), did not (the old state), or left something
// half-done — which is a failure.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { cli, cliJson, newPassphrase, passphrase, type Party, room, runsOf, snapshotsOf, type World } from './world.js';

export interface Trial {
  readonly homes: Record<Party, string>;
  readonly out: string;
}

export type Outcome = { readonly kind: 'old' | 'new' } | { readonly kind: 'half-done'; readonly problem: string };

export interface Operation {
  readonly name: string;
  readonly party: Party;
  /** The passphrase the operation is started with. */
  readonly passphrase: string;
  args(world: World, trial: Trial): string[];
  /** Which state the home is in; run after a Cleanroom process has started (and swept) again. */
  outcome(world: World, trial: Trial): Promise<Outcome>;
  /** Whether running it again after it happened must also succeed (exports, imports). */
  readonly repeatable: boolean;
}

const old: Outcome = { kind: 'old' };
const fresh: Outcome = { kind: 'new' };
const halfDone = (problem: string): Outcome => ({ kind: 'half-done', problem });

interface AssetRow {
  readonly name: string;
  readonly payloadPresent: boolean;
}

async function assetsOf(home: string): Promise<AssetRow[]> {
  return (await cliJson<{ assets: AssetRow[] }>(home, ['asset', 'list', room])).assets;
}

const packetsIn = (folder: string): string[] => readdirSync(folder).filter((name) => name.endsWith('.cleanroom'));

export const operations: readonly Operation[] = [
  {
    name: 'table add',
    party: 'hospital',
    passphrase,
    repeatable: false,
    args: (world) => ['table', 'add', room, '--name', 'markers_two', '--file', path.join(world.sources, 'markers.csv'), '--privacy-unit', 'patient_id', '--dimension', 'region', '--measure', 'cost', '--hidden', 'note'],
    async outcome(_world, trial) {
      const asset = (await assetsOf(trial.homes.hospital)).find((row) => row.name === 'markers_two');
      if (asset === undefined) return old;
      return asset.payloadPresent ? fresh : halfDone('the table is listed but its payload is not in the home');
    },
  },
  {
    name: 'packet export',
    party: 'hospital',
    passphrase,
    repeatable: true,
    args: (_world, trial) => ['packet', 'export', room, '--out', trial.out, '--with-payloads'],
    async outcome(_world, trial) {
      const written = packetsIn(trial.out);
      if (written.length === 0) return old;
      // A packet that is there must be whole: the insurer imports it.
      for (const name of written) {
        const imported = await cli(trial.homes.insurer, ['packet', 'import', path.join(trial.out, name)]);
        if (imported.code !== 0) return halfDone(`the exported ${name} does not import: ${imported.stdout}${imported.stderr}`);
      }
      return fresh;
    },
  },
  {
    name: 'packet import',
    party: 'insurer',
    passphrase,
    repeatable: true,
    args: (world) => ['packet', 'import', world.packet],
    async outcome(_world, trial) {
      const asset = (await assetsOf(trial.homes.insurer)).find((row) => row.name === 'markers');
      if (asset === undefined) return halfDone('the insurer lost the markers table it had before');
      return asset.payloadPresent ? fresh : old;
    },
  },
  {
    name: 'approve',
    party: 'hospital',
    passphrase,
    repeatable: false,
    args: (world) => ['approve', room, world.approveSnapshot],
    async outcome(world, trial) {
      const snapshot = (await snapshotsOf(trial.homes.hospital)).find((row) => row.id === world.approveSnapshot) as { approvedCount?: number } | undefined;
      if (snapshot === undefined) return halfDone('the snapshot to approve is gone');
      return snapshot.approvedCount === 2 ? fresh : old;
    },
  },
  {
    name: 'run',
    party: 'hospital',
    passphrase,
    repeatable: false,
    args: (world) => ['run', room, world.runSnapshot],
    async outcome(world, trial) {
      const runs = (await runsOf(trial.homes.hospital)).filter((run) => run.snapshot === world.runSnapshot);
      const running = runs.find((run) => run.status === 'running');
      if (running !== undefined) return halfDone(`run ${running.id.slice(0, 12)} is still "running" after a restart`);
      // A run that ended with a receipt happened (a worker killed under a living host ends as failed,
      // WorkerCrashed, and counts: docs/receipts.md); one cut short before it is free to start again.
      const ended = runs.filter((run) => run.status !== 'interrupted');
      if (ended.some((run) => !run.hasReceipt)) return halfDone('a run ended without a receipt');
      return ended.length > 0 ? fresh : old;
    },
  },
  {
    name: 'output release',
    party: 'hospital',
    passphrase,
    repeatable: false,
    args: (world, trial) => ['output', 'release', room, world.releaseRun, '--out', trial.out],
    async outcome(world, trial) {
      const run = (await runsOf(trial.homes.hospital)).find((row) => row.id === world.releaseRun);
      if (run === undefined) return halfDone('the run to release is gone');
      if (!run.released) return packetsIn(trial.out).length === 0 ? old : halfDone('a release packet was written but the run is not released');
      // Released in the home: the packet must reach the insurer, from this file or from a new export.
      for (const name of packetsIn(trial.out)) {
        const imported = await cli(trial.homes.insurer, ['packet', 'import', path.join(trial.out, name)]);
        if (imported.code !== 0) return halfDone(`the release packet ${name} does not import: ${imported.stdout}${imported.stderr}`);
      }
      return fresh;
    },
  },
  {
    name: 'passphrase change',
    party: 'hospital',
    passphrase,
    repeatable: false,
    args: (world) => ['identity', 'passphrase', '--new-passphrase-file', path.join(world.sources, 'new-passphrase')],
    async outcome(_world, trial) {
      // Exactly one of the two passphrases unlocks the identity.
      const probe = path.join(trial.out, 'unlock-probe');
      const unlocks = async (pass: string): Promise<boolean> => (await cli(trial.homes.hospital, ['packet', 'export', room, '--out', `${probe}-${pass.length}.cleanroom`], pass)).code === 0;
      const [withOld, withNew] = [await unlocks(passphrase), await unlocks(newPassphrase)];
      if (withOld && !withNew) return old;
      if (withNew && !withOld) return fresh;
      return halfDone(withOld ? 'both passphrases unlock the identity' : 'neither passphrase unlocks the identity');
    },
  },
];

/** Files a crash may leave that the next start (or the failed command) must have removed. */
export function leftovers(folder: string): string[] {
  if (!existsSync(folder)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(folder, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && (/\.partial$/.test(entry.name) || /\.tmp$/.test(entry.name))) found.push(path.join(entry.parentPath, entry.name));
  }
  return found;
}
