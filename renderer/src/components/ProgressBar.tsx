// A progress bar with its line of text: determinate when the total is known, otherwise a moving
// stripe. The text is what a screen reader announces (politely, as it changes).
import { type Progress } from '../assets.js';

export function ProgressBar({ progress, label, testId }: { progress: Progress; label: string; testId?: string }) {
  const { percent } = progress;
  return (
    <div className="progress" data-testid={testId} data-percent={percent ?? ''}>
      <div
        className={`progress-track${percent === null ? ' progress-track-indeterminate' : ''}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent ?? undefined}
        aria-valuetext={progress.label}
      >
        {percent !== null && <div className="progress-fill" style={{ width: `${percent}%` }} />}
      </div>
      <p className="progress-label" aria-live="polite" data-testid={testId !== undefined ? `${testId}-label` : undefined}>
        {progress.label}
      </p>
    </div>
  );
}
