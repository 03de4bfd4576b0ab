// The frame of the screens shown before the app is unlocked: what Cleanroom is on the left, the
// task (create or unlock) on the right.
import { type ReactNode } from 'react';
import { Icon, Logo } from '../components/Icon.js';
import { trustLine } from '../format.js';

export function WelcomeLayout({ children, testId }: { children: ReactNode; testId: string }) {
  return (
    <div className="welcome" data-testid={testId}>
      <aside className="welcome-aside" aria-label="About Cleanroom">
        <div className="brand brand-large">
          <Logo size={32} />
          <span className="brand-name">Cleanroom</span>
        </div>
        <p className="welcome-tagline">Answers from combined data, without anyone seeing anyone else&rsquo;s rows.</p>
        <ul className="welcome-points">
          <li>
            <Icon name="shield" size={18} />
            <span data-testid="trust-line">{trustLine}</span>
          </li>
          <li>
            <Icon name="check" size={18} />
            <span>Code runs only after every party has approved the exact snapshot, and only aggregates come out.</span>
          </li>
          <li>
            <Icon name="exchange" size={18} />
            <span>Works offline: signed files travel by USB stick or a shared folder.</span>
          </li>
        </ul>
      </aside>
      <main className="welcome-main">
        <div className="welcome-card">{children}</div>
      </main>
    </div>
  );
}
