// What a section will hold once there is something in it, said plainly.
import { type ReactNode } from 'react';
import { Icon, type IconName } from './Icon.js';

export function EmptyState({ icon, title, children, testId }: { icon: IconName; title: string; children: ReactNode; testId: string }) {
  return (
    <section className="empty-state" data-testid={testId} aria-labelledby={`${testId}-title`}>
      <div className="empty-state-icon">
        <Icon name={icon} size={28} />
      </div>
      <h2 className="empty-state-title" id={`${testId}-title`}>
        {title}
      </h2>
      <div className="empty-state-body">{children}</div>
    </section>
  );
}
