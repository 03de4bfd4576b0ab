// An import followed to its end: the phase and percent while it runs, then the new asset is handed
// to the form, or the reason it failed is shown (nothing half-imported is ever listed).
import { useEffect, useRef } from 'react';
import { type AssetView } from '../../../shared/asset.js';
import { jobProgress } from '../assets.js';
import { ErrorNotice, Notice } from '../components/Notice.js';
import { ProgressBar } from '../components/ProgressBar.js';
import { useJob } from '../useJob.js';

export interface ImportProgressProps {
  readonly jobId: string;
  /** The asset's name, for the progress bar's label. */
  readonly what: string;
  readonly testId: string;
  readonly onDone: (asset: AssetView) => void;
  readonly onFailed: () => void;
}

export function ImportProgress({ jobId, what, testId, onDone, onFailed }: ImportProgressProps) {
  const job = useJob(jobId);
  // Report the end once, with the callbacks of the render that saw it.
  const reported = useRef<string | null>(null);
  const callbacks = useRef({ onDone, onFailed });
  useEffect(() => {
    callbacks.current = { onDone, onFailed };
  });

  useEffect(() => {
    if (reported.current === jobId) return;
    if (job.state === 'finished') {
      reported.current = jobId;
      if (job.job.state === 'done' && job.job.asset !== null) callbacks.current.onDone(job.job.asset);
      else callbacks.current.onFailed();
    } else if (job.state === 'lost') {
      reported.current = jobId;
      callbacks.current.onFailed();
    }
  }, [job, jobId]);

  if (job.state === 'lost') {
    return <ErrorNotice error={job.error} title="Cleanroom could not tell how the import is going" testId={`${testId}-error`} />;
  }
  if (job.state === 'finished' && job.job.state === 'failed') {
    const error = job.job.error ?? { code: 'INTERNAL', message: job.job.message !== '' ? job.job.message : 'The import stopped.' };
    return (
      <Notice tone="error" title={`${what} was not imported; nothing of it was kept`} testId={`${testId}-error`}>
        {error.message} <span className="error-code">({error.code})</span>
      </Notice>
    );
  }
  const view = job.state === 'following' || job.state === 'finished' ? job.job : null;
  const progress = view === null ? { percent: null, label: 'Starting…' } : jobProgress(view);
  return <ProgressBar progress={progress} label={`Importing ${what}`} testId={`${testId}-progress`} />;
}
