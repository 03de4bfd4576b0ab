// A message block: API errors (announced immediately), confirmations and explanations.
import { type ReactNode } from 'react';
import { Icon } from './Icon.js';

export interface NoticeProps {
  readonly tone: 'error' | 'success' | 'info';
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
