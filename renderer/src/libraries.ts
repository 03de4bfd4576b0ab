// The private libraries a snapshot's notebook uses (`-- library NAME`), each matched to the volume
// the snapshot pins by hash. Pure (no DOM) so node:test checks it. Only names, owners and hashes:
// a library's content never reaches any member but its owner.
import { type SnapshotView } from '../../shared/approval-status.js';

export type SnapshotAssetRef = SnapshotView['assets'][number];

export interface SnapshotLibrary {
  readonly name: string;
  /** The volume the snapshot pins for it; null if the snapshot has none of that name (core refuses such snapshots). */
  readonly asset: SnapshotAssetRef | null;
}

/** The notebook's libraries in `-- library` order, each with its pinned volume. */
export function snapshotLibraries(view: Pick<SnapshotView, 'notebook' | 'assets'>): SnapshotLibrary[] {
  return (view.notebook.libraries ?? []).map((name) => ({
    name,
    asset: view.assets.find((asset) => asset.kind === 'volume' && asset.name === name) ?? null,
  }));
}
