// The output tables this member can read in a room: its own runs' and those released to it, until
// the room's retention deletes them; and one of them in the viewer (table, chart, CSV), or for a
// train cell's model, the model viewer.
import { type OutputView } from '../../../shared/run.js';
import { formatRowCount } from '../assets.js';
import { BackLink } from '../components/BackLink.js';
import { Badge } from '../components/Badge.js';
import { Button } from '../components/Button.js';
import { EmptyState } from '../components/EmptyState.js';
import { LoadFailed, LoadingLine } from '../components/Loading.js';
import { Notice } from '../components/Notice.js';
import { formatDate, formatDateTime } from '../format.js';
import { outputsNewestFirst } from '../runs.js';
import { type Loader } from '../useLoaded.js';
import { OutputViewer } from './OutputViewer.js';

export type OutputsView = { readonly kind: 'list' } | { readonly kind: 'output'; readonly id: string };

export interface OutputsPanelProps {
  readonly roomId: string;
  readonly outputs: Loader<{ outputs: OutputView[] }>;
  readonly view: OutputsView;
  readonly onView: (view: OutputsView) => void;
}

export function OutputsPanel({ roomId, outputs, view, onView }: OutputsPanelProps) {
  const { loaded, reload } = outputs;
  if (view.kind === 'output') {
    const back = <BackLink label="Outputs" onClick={() => onView({ kind: 'list' })} testId="back-to-outputs" />;
    const output = loaded.state === 'ready' ? loaded.value.outputs.find((candidate) => candidate.id === view.id) : undefined;
    return (
      <div className="stack-cards" data-testid="output-detail">
        {back}
        {loaded.state === 'loading' && <LoadingLine>Loading the output…</LoadingLine>}
        {loaded.state === 'failed' && <LoadFailed title="The outputs could not be listed" message={loaded.error.message} testId="outputs-error" onRetry={reload} />}
        {loaded.state === 'ready' &&
          (output === undefined ? (
            <Notice tone="warning" title="This output is no longer here">
              It may have expired: outputs are deleted after the room&rsquo;s retention.
            </Notice>
          ) : (
            <OutputViewer key={output.id} roomId={roomId} output={output} />
          ))}
      </div>
    );
  }

  let body;
  if (loaded.state === 'loading') body = <LoadingLine testId="outputs-loading">Loading the outputs…</LoadingLine>;
  else if (loaded.state === 'failed') body = <LoadFailed title="The outputs could not be listed" message={loaded.error.message} testId="outputs-error" onRetry={reload} />;
  else if (loaded.value.outputs.length === 0) {
    body = (
      <EmptyState icon="chart" title="No outputs here yet" testId="outputs-empty">
        <p>Outputs appear when you run a snapshot, or when its runner releases them to you and you import their packet.</p>
      </EmptyState>
    );
  } else {
    body = (
      <div className="table-card">
        <table className="table" data-testid="output-list">
          <caption className="visually-hidden">Output tables you can read in this room, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Output</th>
              <th scope="col">From</th>
              <th scope="col">Rows</th>
              <th scope="col">Suppressed</th>
              <th scope="col">Kept until</th>
            </tr>
          </thead>
          <tbody>
            {outputsNewestFirst(loaded.value.outputs).map((output) => (
              <tr key={output.id} data-testid="output-row" data-name={output.name} data-source={output.source} data-run={output.run} data-kind={output.kind}>
                <th scope="row">
                  <button type="button" className="row-link" onClick={() => onView({ kind: 'output', id: output.id })} data-testid="output-open">
                    <span className="row-link-title">
                      <code>{output.name}</code>
                      {output.kind === 'model' && (
                        <Badge tone="accent" testId="output-model-badge">
                          Model
                        </Badge>
                      )}
                    </span>
                    <span className="row-link-sub">
                      {output.snapshotName} · <time dateTime={output.createdAt}>{formatDateTime(output.createdAt)}</time>
                    </span>
                  </button>
                </th>
                <td>
                  <Badge tone={output.source === 'mine' ? 'accent' : 'neutral'}>{output.source === 'mine' ? 'Your run' : `Released by ${output.runner}`}</Badge>
                </td>
                <td>{output.kind === 'model' ? <span className="muted">a model</span> : formatRowCount(output.rows)}</td>
                <td data-testid="output-row-suppressed">{output.suppressedRows}</td>
                <td>
                  <time dateTime={output.expiresAt}>{formatDate(output.expiresAt)}</time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  }

  return (
    <div className="stack-cards" data-testid="outputs-panel">
      <div className="panel-header">
        <p className="muted panel-intro">
          Read-only tables that passed the room&rsquo;s policy: every group below the minimum size was suppressed before anything was kept.
          A train cell&rsquo;s output is a model: its coefficients and metrics, never a row. They are deleted after the room&rsquo;s retention.
        </p>
        <div className="panel-actions">
          <Button size="small" onClick={reload} data-testid="outputs-reload">
            Refresh
          </Button>
        </div>
      </div>
      {body}
    </div>
  );
}
