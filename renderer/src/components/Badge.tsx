// A small status pill: room and member states, counts that need attention.
import { type ReactNode } from 'react';
import { type Tone } from '../rooms.js';

export function Badge({ tone, children, testId, title }: { tone: Tone; children: ReactNode; testId?: string; title?: string }) {
  return (
    <span className={`badge badge-${tone}`} data-testid={testId} data-tone={tone} title={title}>
      {children}
    </span>
  );
}
