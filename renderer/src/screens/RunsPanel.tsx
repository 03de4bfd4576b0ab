// A room's runs: the history (who ran what, when, how it ended, values withheld, outputs), newest
// first, from this home's own runs and every member's run.finished entries; and one run: its
// outputs with the viewer, its release to the snapshot's recipients (for the runner) and its
// signed receipt. Which of these shows is held by the room overview, so the tab keeps its place.
import { useCallback, useState } from 'react';
import { type AssetView } from '../../../shared/asset.js';
import { type RoomDetail } from '../../../shared/room.js';
import { type OutputView, type RunView } from '../../../shared/run.js';
import { useApi } from '../ApiContext.js';
import { jobOfRun } from '../activeRuns.js';
import { formatRowCount, jobProgress, shortHash } from '../assets.js';
import { BackLink } from '../components/BackLink.js';
import { Badge } from '../components/Badge.js';
import { Button } from '../components/Button.js';
import { CopyButton } from '../components/CopyButton.js';
import { EmptyState } from '../components/EmptyState.js';
import { Icon } from '../components/Icon.js';
import { LoadFailed, LoadingLine } from '../components/Loading.js';
import { Notice } from '../components/Notice.js';
import { ProgressBar } from '../components/ProgressBar.js';
import { formatDateTime, listNames } from '../format.js';
import { durationLabel, failureText, interruptedTitle, outputsLabel, runsNewestFirst, runStateInfo } from '../runs.js';
import { useJob } from '../useJob.js';
import { type Loader, useLoaded } from '../useLoaded.js';
import { OutputViewer } from './OutputViewer.js';
import { ReceiptCard } from './ReceiptCard.js';
import { WritePacketForm } from './WritePacketForm.js';

export type RunsView = { readonly kind: 'list' } | { readonly kind: 'run'; readonly id: string };

export interface RunsPanelProps {
  readonly room: RoomDetail;
  readonly runs: Loader<{ runs: RunView[] }>;
  readonly outputs: Loader<{ outputs: OutputView[] }>;
  readonly assets: Loader<{ assets: AssetView[] }>;
  readonly view: RunsView;
  readonly onView: (view: RunsView) => void;
}

export function RunsPanel({ room, runs, outputs, assets, view, onView }: RunsPanelProps) {
  if (view.kind === 'run') {
    return <RunDetail key={view.id} room={room} runId={view.id} runs={runs} outputs={outputs} assets={assets} onBack={() => onView({ kind: 'list' })} />;
  }
  return (
    <div className="stack-cards" data-testid="runs-panel">
      <div className="panel-header">
        <p className="muted panel-intro">
          Every run of an approved snapshot, by any member. A run&rsquo;s outputs stay with its runner until released to the snapshot&rsquo;s
          recipients; its signed receipt says what it read and what came out.
        </p>
        <div className="panel-actions">
          <Button size="small" onClick={() => runs.reload()} data-testid="runs-reload">
            Refresh
          </Button>
        </div>
      </div>
      <RunList runs={runs} outputs={outputs} onOpen={(id) => onView({ kind: 'run', id })} />
    </div>
  );
}

function RunList({ runs, outputs, onOpen }: { runs: Loader<{ runs: RunView[] }>; outputs: Loader<{ outputs: OutputView[] }>; onOpen: (id: string) => void }) {
  const { loaded, reload } = runs;
  if (loaded.state === 'loading') return <LoadingLine testId="runs-loading">Loading the runs…</LoadingLine>;
  if (loaded.state === 'failed') return <LoadFailed title="The runs could not be listed" message={loaded.error.message} testId="runs-error" onRetry={reload} />;
  if (loaded.value.runs.length === 0) {
    return (
      <EmptyState icon="play" title="No runs yet" testId="runs-empty">
        <p>Once every member has approved a snapshot, its runner runs it from the Notebooks tab. Runs by anyone show here after their packet.</p>
      </EmptyState>
    );
  }
  const held = outputs.loaded.state === 'ready' ? outputs.loaded.value.outputs : [];
  return (
    <div className="table-card">
      <table className="table" data-testid="run-list">
        <caption className="visually-hidden">Runs in this room, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Runner</th>
            <th scope="col">Status</th>
            <th scope="col">Values withheld</th>
            <th scope="col">Outputs</th>
          </tr>
        </thead>
        <tbody>
          {runsNewestFirst(loaded.value.runs).map((run) => {
            const state = runStateInfo[run.status];
            const readable = held.filter((output) => output.run === run.id).length;
            return (
              <tr key={run.id} data-testid="run-row" data-run-id={run.id} data-status={run.status} data-mine={run.isMine}>
                <th scope="row">
                  <button type="button" className="row-link" onClick={() => onOpen(run.id)} data-testid="run-open">
                    <span className="row-link-title" data-testid="run-row-snapshot">
                      {run.snapshotName}
                    </span>
                    <span className="row-link-sub">
                      <time dateTime={run.startedAt}>{formatDateTime(run.startedAt)}</time>
                      {run.finishedAt !== null && <> · {durationLabel(run.startedAt, run.finishedAt)}</>}
                    </span>
                  </button>
                </th>
                <td data-testid="run-row-runner">
                  {run.runner}
                  {run.isMine && <span className="tag">you</span>}
                </td>
                <td>
                  <Badge tone={state.tone} testId="run-row-status" title={state.explanation}>
                    {state.label}
                  </Badge>
                </td>
                <td data-testid="run-row-suppressed" data-count={run.suppressedRows}>
                  {run.status === 'succeeded' ? run.suppressedRows : <span className="muted">—</span>}
                </td>
                <td data-testid="run-row-outputs">
                  {run.outputs.length === 0 ? (
                    <span className="muted">—</span>
                  ) : (
                    <>
                      {outputsLabel(run.outputs.length)}
                      {run.released && <span className="tag">released</span>}
                      {!run.isMine && readable > 0 && <span className="tag">{readable} here</span>}
                    </>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

interface RunDetailProps {
  readonly room: RoomDetail;
  readonly runId: string;
  readonly runs: Loader<{ runs: RunView[] }>;
  readonly outputs: Loader<{ outputs: OutputView[] }>;
  readonly assets: Loader<{ assets: AssetView[] }>;
  readonly onBack: () => void;
}

function RunDetail({ room, runId, runs, outputs, assets, onBack }: RunDetailProps) {
  const [chosen, setChosen] = useState<string | null>(null);
  const back = <BackLink label="Runs" onClick={onBack} testId="back-to-runs" />;
  if (runs.loaded.state !== 'ready') {
    return (
      <div className="stack-cards" data-testid="run-detail" data-state={runs.loaded.state}>
        {back}
        {runs.loaded.state === 'loading' ? (
          <LoadingLine>Loading the run…</LoadingLine>
        ) : (
          <LoadFailed title="The run could not be loaded" message={runs.loaded.error.message} testId="run-error" onRetry={runs.reload} />
        )}
      </div>
    );
  }
  const run = runs.loaded.value.runs.find((candidate) => candidate.id === runId);
  if (run === undefined) {
    return (
      <div className="stack-cards" data-testid="run-detail" data-state="missing">
        {back}
        <Notice tone="warning" title="This run is not in the room’s history here">
          It may be a run another member made: it shows once you import their packet.
        </Notice>
      </div>
    );
  }

  const held = outputs.loaded.state === 'ready' ? outputs.loaded.value.outputs.filter((output) => output.run === run.id) : [];
  const shown = held.find((output) => output.name === chosen) ?? held[0] ?? null;
  const state = runStateInfo[run.status];
  const roomAssets = assets.loaded.state === 'ready' ? assets.loaded.value.assets : [];

  return (
    <div className="stack-cards" data-testid="run-detail" data-state="ready" data-run-id={run.id} data-status={run.status}>
      {back}
      <header className="snapshot-header">
        <div>
          <h2 className="snapshot-title" data-testid="run-snapshot-name">
            {run.snapshotName}
          </h2>
          <p className="muted">
            Run by <span data-testid="run-runner">{run.runner}</span> · started {formatDateTime(run.startedAt)}
            {run.finishedAt !== null && <> · took {durationLabel(run.startedAt, run.finishedAt)}</>}
          </p>
        </div>
        <Badge tone={state.tone} testId="run-status" title={state.explanation}>
          {state.label}
        </Badge>
      </header>

      <section className="card" aria-label="About this run" data-testid="run-facts">
        <dl className="stat-grid">
          <div className="stat">
            <dt>Outputs</dt>
            <dd>
              <span className="stat-value" data-testid="run-output-count">
                {run.outputs.length}
              </span>
              <span className="stat-note">{run.released ? 'Released to the recipients' : run.isMine ? 'Not released yet' : 'Kept by the runner'}</span>
            </dd>
          </div>
          <div className="stat">
            <dt>Values withheld</dt>
            <dd>
              <span className="stat-value" data-testid="run-suppressed" data-count={run.suppressedRows}>
                {run.suppressedRows}
              </span>
              <span className="stat-note">Groups below the minimum size; which is never recorded</span>
            </dd>
          </div>
          <div className="stat stat-wide">
            <dt>Run id</dt>
            <dd className="stat-with-action">
              <code className="identifier identifier-muted" title={run.id} data-testid="run-id">
                {shortHash(run.id)}
              </code>
              <CopyButton text={run.id} label="run id" testId="copy-run-id" />
            </dd>
          </div>
        </dl>
      </section>

      {run.status === 'running' && <RunningNotice run={run} onEnded={runs.reload} />}
      {run.failure !== null && (
        <Notice tone="error" title="The run failed; nothing was kept" testId="run-failure">
          {failureText(run.failure)}
        </Notice>
      )}
      {run.status === 'cancelled' && (
        <Notice tone="info" title="The run was cancelled" testId="run-stopped">
          Nothing was kept. It still used one run of each approval.
        </Notice>
      )}
      {run.status === 'interrupted' && (
        <Notice tone="info" title="The run was interrupted" testId="run-stopped">
          Nothing came out of it, so it used no run of its approvals.{' '}
          {run.listedIn === null ? 'The next run of this notebook lists it in its receipt.' : `The receipt of run ${shortHash(run.listedIn)} lists it.`}
        </Notice>
      )}
      {run.interruptedAttempts.length > 0 && (
        <Notice tone="info" title={interruptedTitle(run.interruptedAttempts.length)} testId="run-interrupted-attempts">
          They used no run: nothing came out of them. The receipt lists each:{' '}
          {run.interruptedAttempts.map((attempt) => `${shortHash(attempt.run)} (started ${formatDateTime(attempt.startedAt)})`).join(', ')}.
        </Notice>
      )}

      {run.outputs.length > 0 && (
        <section className="card card-flush" aria-labelledby="run-outputs-title" data-testid="run-outputs">
          <div className="card-header card-header-padded">
            <h3 className="card-title" id="run-outputs-title">
              Outputs
            </h3>
            <span className="muted card-header-note">Read-only tables and models, as the policy let them out</span>
          </div>
          <table className="table table-in-card">
            <caption className="visually-hidden">Output tables of this run</caption>
            <thead>
              <tr>
                <th scope="col">Output</th>
                <th scope="col">Rows</th>
                <th scope="col">Suppressed</th>
                <th scope="col">Here</th>
              </tr>
            </thead>
            <tbody>
              {run.outputs.map((output) => {
                const readable = held.find((candidate) => candidate.name === output.name) ?? null;
                return (
                  <tr key={output.name} data-testid="run-output" data-name={output.name} data-held={readable !== null} data-selected={shown?.name === output.name}>
                    <th scope="row">
                      {readable !== null ? (
                        <button type="button" className="link-button" onClick={() => setChosen(output.name)} data-testid="run-output-open" aria-pressed={shown?.name === output.name}>
                          <code>{output.name}</code>
                        </button>
                      ) : (
                        <code>{output.name}</code>
                      )}
                    </th>
                    <td data-testid="run-output-rows">{readable?.kind === 'model' ? 'a model' : formatRowCount(output.rows)}</td>
                    <td data-testid="run-output-suppressed">{output.suppressedRows}</td>
                    <td>
                      {readable !== null ? (
                        <span className="muted small">{readable.source === 'mine' ? 'Yours' : 'Released to you'}</span>
                      ) : (
                        <span className="muted small">{run.isMine ? 'Expired' : 'Not released to you'}</span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </section>
      )}
      {shown !== null && <OutputViewer key={shown.id} roomId={room.summary.id} output={shown} />}

      {run.isMine && run.status === 'succeeded' && run.outputs.length > 0 && <ReleaseCard room={room} run={run} onReleased={runs.reload} />}
      {run.hasReceipt && <ReceiptCard roomId={room.summary.id} run={run} assets={roomAssets} />}
    </div>
  );
}

/** A run still going: its progress when this window started it, else a note to refresh. */
function RunningNotice({ run, onEnded }: { run: RunView; onEnded: () => void }) {
  const job = useJob(jobOfRun(run.id));
  if (job.state === 'following' && job.job !== null) {
    return <ProgressBar progress={jobProgress(job.job)} label={`Running ${run.snapshotName}`} testId="run-detail-progress" />;
  }
  return (
    <Notice tone="info" title="Running" testId="run-running">
      The worker is running it now.{' '}
      <button type="button" className="link-button" onClick={onEnded}>
        Refresh
      </button>
    </Notice>
  );
}

function ReleaseCard({ room, run, onReleased }: { room: RoomDetail; run: RunView; onReleased: () => void }) {
  const api = useApi();
  const roomId = room.summary.id;
  const snapshot = useLoaded(useCallback(() => api['notebook.show']({ room: roomId, snapshot: run.snapshot }), [api, roomId, run.snapshot]));
  const release = api['output.release'];
  const writer = useCallback(
    (outPath: string | undefined) => release({ room: roomId, run: run.id, ...(outPath !== undefined ? { outPath } : {}) }),
    [release, roomId, run.id],
  );
  const recipients = snapshot.loaded.state === 'ready' ? listNames(snapshot.loaded.value.recipients) : '';
  return (
    <section className="card" aria-labelledby="release-title" data-testid="run-release" data-released={run.released}>
      <div className="card-header">
        <h3 className="card-title" id="release-title">
          <Icon name="send" size={16} /> {run.released ? 'Outputs released' : 'Release the outputs'}
        </h3>
      </div>
      <p className="card-note" data-testid="release-explanation">
        {run.released ? 'You released them. Write the packet again if it was lost: it carries the same tables. ' : ''}
        Releasing signs an entry naming each output&rsquo;s hash and writes a packet carrying the tables, encrypted for{' '}
        {recipients !== '' ? recipients : 'the snapshot’s recipients'} alone. They see the tables and charts once they import it.
      </p>
      <WritePacketForm room={room} writer={writer} submitLabel={run.released ? 'Write the release packet again' : 'Release outputs'} errorTitle="The outputs were not released" onWritten={onReleased} />
    </section>
  );
}
