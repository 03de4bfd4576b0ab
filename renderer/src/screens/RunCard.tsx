// Running a snapshot, for its runner: the Run button once every approval is in, then the worker's
// progress with a Cancel button, then how it ended: the outputs (with the values withheld), or
// why it failed (a policy refusal names the cell and the reason; other failures their class and
// cell, never DuckDB's text, which could quote a row).
import { useCallback, useEffect, useRef, useState } from 'react';
import { type SnapshotView } from '../../../shared/approval-status.js';
import { type JobView } from '../../../shared/asset.js';
import { type RoomDetail } from '../../../shared/room.js';
import { type RunView } from '../../../shared/run.js';
import { useApi } from '../ApiContext.js';
import { activeRunOf, type ActiveRun, forgetActiveRun, rememberActiveRun } from '../activeRuns.js';
import { jobProgress } from '../assets.js';
import { Button } from '../components/Button.js';
import { Icon } from '../components/Icon.js';
import { ErrorNotice, Notice } from '../components/Notice.js';
import { ProgressBar } from '../components/ProgressBar.js';
import { listNames } from '../format.js';
import { failureText, outputsLabel, suppressedLabel } from '../runs.js';
import { useAction } from '../useAction.js';
import { useJob } from '../useJob.js';

export interface RunCardProps {
  readonly view: SnapshotView;
  readonly room: RoomDetail;
  /** Opens a run in the Runs tab: its outputs, chart and receipt. */
  readonly onShowRun: (run: string) => void;
  /** A run ended (any way): approvals' runs left and the room's runs changed. */
  readonly onRunEnded: () => void;
}

interface Ended {
  readonly run: string;
  readonly job: JobView;
  /** The run as core recorded it; null until loaded (or when it could not be). */
  readonly view: RunView | null;
}

export function RunCard({ view, room, onShowRun, onRunEnded }: RunCardProps) {
  const api = useApi();
  const roomId = room.summary.id;
  const isRunner = room.members.some((member) => member.isMe && member.signPublicKey === view.runnerKey);
  const [active, setActive] = useState<ActiveRun | null>(() => activeRunOf(view.id));
  const [ended, setEnded] = useState<Ended | null>(null);
  const start = useAction(api['run.start']);
  const cancel = useAction(api['job.cancel']);
  const job = useJob(active?.job ?? null);
  const reported = useRef<string | null>(null);
  const onRunEndedRef = useRef(onRunEnded);
  useEffect(() => {
    onRunEndedRef.current = onRunEnded;
  });

  const loadRunView = useCallback(
    async (run: string): Promise<RunView | null> => {
      try {
        const result = await api['run.list']({ room: roomId });
        return result.ok ? (result.value.runs.find((candidate) => candidate.id === run) ?? null) : null;
      } catch {
        return null;
      }
    },
    [api, roomId],
  );

  useEffect(() => {
    if (active === null || job.state !== 'finished' || reported.current === active.run) return;
    reported.current = active.run;
    const finished = { run: active.run, job: job.job };
    forgetActiveRun(view.id, active.run);
    setActive(null);
    setEnded({ ...finished, view: null });
    onRunEndedRef.current();
    void loadRunView(finished.run).then((runView) => {
      setEnded((current) => (current !== null && current.run === finished.run ? { ...current, view: runView } : current));
    });
  }, [active, job, view.id, loadRunView]);

  if (!isRunner) return null;

  const onStart = async () => {
    if (start.busy || active !== null) return;
    setEnded(null);
    cancel.clearError();
    const result = await start.run({ room: roomId, snapshot: view.id });
    if (!result.ok) return;
    const next = { job: result.value.job, run: result.value.run };
    rememberActiveRun(view.id, next);
    setActive(next);
  };
  const onCancel = async () => {
    if (active === null || cancel.busy) return;
    await cancel.run({ job: active.job });
  };

  let body;
  if (active !== null) {
    const current = job.state === 'following' || job.state === 'finished' ? job.job : null;
    const progress = current === null ? { percent: null, label: 'Starting the worker…' } : jobProgress(current);
    body = (
      <>
        {job.state === 'lost' ? (
          <ErrorNotice error={job.error} title="Cleanroom could not tell how the run is going" testId="run-lost" />
        ) : (
          <ProgressBar progress={progress} label={`Running ${view.name}`} testId="run-progress" />
        )}
        <ErrorNotice error={cancel.error} title="The run was not cancelled" testId="run-cancel-error" />
        <div className="form-actions">
          <Button variant="danger" icon={<Icon name="cross" />} onClick={() => void onCancel()} busy={cancel.busy} busyLabel="Cancelling…" data-testid="run-cancel">
            Cancel run
          </Button>
        </div>
      </>
    );
  } else {
    body = (
      <>
        {ended !== null && <RunEnded ended={ended} onShowRun={onShowRun} />}
        <ErrorNotice error={start.error} title="The run did not start" testId="run-start-error" />
        {view.status.canRun ? (
          <>
            <p className="card-note">
              The worker decrypts {listNames(view.assets.map((asset) => asset.name)) || 'the tables'} in memory only, runs the cells under the
              room&rsquo;s policy and keeps only what passes it. Each run that ends uses one run of every approval, whatever its outcome; one cut short before anything came out (the app stopped) uses none.
            </p>
            <div className="form-actions">
              <Button variant="primary" icon={<Icon name="play" />} onClick={() => void onStart()} busy={start.busy} busyLabel="Starting…" data-testid="run-start">
                {ended === null ? 'Run' : 'Run again'}
              </Button>
            </div>
          </>
        ) : (
          ended === null && <p className="muted">You can run it once every approval and data key is in place (see above).</p>
        )}
      </>
    );
  }

  const state = active !== null ? 'running' : ended !== null ? ended.job.state : view.status.canRun ? 'ready' : 'waiting';
  return (
    <section className="card" aria-labelledby="run-card-title" data-testid="run-card" data-state={state}>
      <div className="card-header">
        <h3 className="card-title" id="run-card-title">
          Run
        </h3>
        <span className="muted card-header-note">You are the runner: the keys were released to you</span>
      </div>
      {body}
    </section>
  );
}

function RunEnded({ ended, onShowRun }: { ended: Ended; onShowRun: (run: string) => void }) {
  const { job, view } = ended;
  if (job.state === 'done') {
    return (
      <Notice tone="success" title="The run finished" testId="run-result">
        <p data-testid="run-result-summary">
          {view === null ? 'Loading its outputs…' : `${outputsLabel(view.outputs.length)} kept, ${suppressedLabel(view.suppressedRows)} by the output policy.`}
        </p>
        <div className="notice-actions">
          <Button variant="primary" size="small" icon={<Icon name="table" size={14} />} onClick={() => onShowRun(ended.run)} data-testid="run-show-outputs">
            See the outputs
          </Button>
        </div>
      </Notice>
    );
  }
  if (job.state === 'cancelled') {
    return (
      <Notice tone="info" title="The run was cancelled" testId="run-result">
        Nothing was kept and no plaintext is left behind. It still used one run of each approval.
      </Notice>
    );
  }
  const reason =
    view?.failure !== null && view?.failure !== undefined
      ? failureText(view.failure)
      : (job.error?.message ?? (job.message !== '' ? job.message : 'The run stopped.'));
  return (
    <Notice tone="error" title="The run failed; nothing was kept" testId="run-result">
      <p data-testid="run-failure">{reason}</p>
      {view !== null && (
        <div className="notice-actions">
          <Button size="small" onClick={() => onShowRun(ended.run)} data-testid="run-show-run">
            See it in the run history
          </Button>
        </div>
      )}
    </Notice>
  );
}
