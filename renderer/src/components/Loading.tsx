// What a screen shows while what it needs is loading, and when loading failed: the reason and a
// way to try again.
import { type ReactNode } from 'react';
import { Button } from './Button.js';
import { Notice } from './Notice.js';

export function LoadingLine({ children, testId }: { children: ReactNode; testId?: string }) {
  return (
    <p className="muted loading-line" aria-busy="true" data-testid={testId}>
      <span className="spinner" aria-hidden="true" /> {children}
    </p>
  );
}

export interface LoadFailedProps {
  /** What could not be loaded, e.g. "Your contacts could not be listed". */
  readonly title: string;
  readonly message: string;
  readonly testId: string;
  readonly onRetry: () => void;
  readonly buttonSize?: 'normal' | 'small';
}

export function LoadFailed({ title, message, testId, onRetry, buttonSize = 'normal' }: LoadFailedProps) {
  return (
    <div className="stack">
      <Notice tone="error" title={title} testId={testId}>
        {message}
      </Notice>
      <div>
        <Button size={buttonSize} onClick={onRetry}>
          Try again
        </Button>
      </div>
    </div>
  );
}
