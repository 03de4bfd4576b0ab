// A message block: API errors (announced immediately), confirmations, warnings and explanations.
import { type ReactNode } from 'react';
import { type ApiError } from '../../../shared/errors.js';
import { Icon } from './Icon.js';

export interface NoticeProps {
  readonly tone: 'error' | 'success' | 'warning' | 'info';
  readonly title?: string;
  readonly children: ReactNode;
  readonly testId?: string;
}

export function Notice({ tone, title, children, testId }: NoticeProps) {
  return (
    <div className={`notice notice-${tone}`} role={tone === 'error' ? 'alert' : 'status'} data-testid={testId}>
      <Icon name={tone === 'error' ? 'alert' : tone === 'success' ? 'check' : 'info'} />
      <div className="notice-body">
        {title !== undefined && <p className="notice-title">{title}</p>}
        <div>{children}</div>
      </div>
    </div>
  );
}

/** The error an API call returned, with its code, under a title saying what did not happen; nothing while there is none. */
export function ErrorNotice({ error, title, testId }: { error: ApiError | null; title: string; testId?: string }) {
  if (error === null) return null;
  return (
    <Notice tone="error" title={title} testId={testId}>
      {error.message} <span className="error-code">({error.code})</span>
    </Notice>
  );
}
