// A room's notebooks: the snapshots added so far with their approval status, a new notebook, or
// one snapshot (where its runner runs it). Which of these shows is held by the room overview, so the tab keeps its place.
import { type SnapshotSummary, type SnapshotView } from '../../../shared/approval-status.js';
import { type AssetView } from '../../../shared/asset.js';
import { type RoomDetail } from '../../../shared/room.js';
import { Badge } from '../components/Badge.js';
import { Button } from '../components/Button.js';
import { EmptyState } from '../components/EmptyState.js';
import { Icon } from '../components/Icon.js';
import { LoadFailed, LoadingLine } from '../components/Loading.js';
import { formatDate } from '../format.js';
import { approvalsLabel } from '../notebooks.js';
import { type Loader } from '../useLoaded.js';
import { NewNotebookForm } from './NewNotebookForm.js';
import { SnapshotScreen } from './SnapshotScreen.js';

export type NotebooksView =
  | { readonly kind: 'list' }
  | { readonly kind: 'new' }
  | { readonly kind: 'snapshot'; readonly id: string; readonly added: SnapshotView | null };

export interface NotebooksPanelProps {
  readonly room: RoomDetail;
  readonly snapshots: Loader<{ snapshots: SnapshotSummary[] }>;
  readonly assets: Loader<{ assets: AssetView[] }>;
  readonly view: NotebooksView;
  readonly onView: (view: NotebooksView) => void;
  /** Opens a run (its outputs and receipt) in the Runs tab. */
  readonly onShowRun: (run: string) => void;
  /** A run of a snapshot ended: the room's runs and outputs changed. */
  readonly onRunEnded: () => void;
}

export function NotebooksPanel({ room, snapshots, assets, view, onView, onShowRun, onRunEnded }: NotebooksPanelProps) {
  const { summary } = room;
  const canWrite = summary.status === 'active' && summary.myStatus === 'joined';

  if (view.kind === 'snapshot') {
    return (
      <SnapshotScreen
        key={view.id}
        room={room}
        snapshotId={view.id}
        initial={view.added}
        onBack={() => onView({ kind: 'list' })}
        onChanged={snapshots.reload}
        onShowRun={onShowRun}
        onRunEnded={onRunEnded}
      />
    );
  }
  if (view.kind === 'new') {
    const roomAssets = assets.loaded.state === 'ready' ? assets.loaded.value.assets : [];
    return (
      <NewNotebookForm
        room={room}
        assets={roomAssets}
        onCancel={() => onView({ kind: 'list' })}
        onAdded={(snapshot) => {
          snapshots.reload();
          onView({ kind: 'snapshot', id: snapshot.id, added: snapshot });
        }}
      />
    );
  }

  return (
    <div className="stack-cards" data-testid="notebooks-panel">
      <div className="panel-header">
        <p className="muted panel-intro">
          A notebook is frozen into a signed snapshot when it is added. It runs only after every other member has approved that exact
          snapshot, and each approval releases its owner&rsquo;s data keys to the named runner alone.
        </p>
        {canWrite && (
          <div className="panel-actions">
            <Button variant="primary" icon={<Icon name="plus" />} onClick={() => onView({ kind: 'new' })} data-testid="new-notebook-button">
              New notebook
            </Button>
          </div>
        )}
      </div>
      <SnapshotList snapshots={snapshots} onOpen={(id) => onView({ kind: 'snapshot', id, added: null })} />
    </div>
  );
}

function SnapshotList({ snapshots, onOpen }: { snapshots: Loader<{ snapshots: SnapshotSummary[] }>; onOpen: (id: string) => void }) {
  const { loaded, reload } = snapshots;
  if (loaded.state === 'loading') return <LoadingLine testId="snapshots-loading">Loading the notebooks…</LoadingLine>;
  if (loaded.state === 'failed') {
    return <LoadFailed title="The notebooks could not be listed" message={loaded.error.message} testId="snapshots-error" onRetry={reload} />;
  }
  if (loaded.value.snapshots.length === 0) {
    return (
      <EmptyState icon="notebook" title="No notebooks yet" testId="snapshots-empty">
        <p>Write a notebook in SQL over the room&rsquo;s tables. The others review its exact code and approve it before it can run.</p>
      </EmptyState>
    );
  }
  const sorted = [...loaded.value.snapshots].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  return (
    <div className="table-card">
      <table className="table" data-testid="snapshot-list">
        <caption className="visually-hidden">Notebook snapshots in this room, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Snapshot</th>
            <th scope="col">Author</th>
            <th scope="col">Runner</th>
            <th scope="col">Approvals</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((snapshot) => (
            <tr key={snapshot.id} data-testid="snapshot-row" data-snapshot-id={snapshot.id} data-can-run={snapshot.canRun}>
              <th scope="row">
                <button type="button" className="row-link" onClick={() => onOpen(snapshot.id)} data-testid="snapshot-open">
                  <span className="row-link-title" data-testid="snapshot-row-name">
                    {snapshot.name}
                  </span>
                  <span className="row-link-sub">
                    <code>{snapshot.id.slice(0, 12)}</code> · {formatDate(snapshot.createdAt)}
                  </span>
                </button>
              </th>
              <td>{snapshot.author}</td>
              <td>{snapshot.runner}</td>
              <td data-testid="snapshot-row-approvals">{approvalsLabel(snapshot)}</td>
              <td>
                <Badge tone={snapshot.canRun ? 'good' : 'warning'} testId="snapshot-row-status">
                  {snapshot.canRun ? 'Can run' : 'Waiting'}
                </Badge>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
