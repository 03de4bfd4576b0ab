// The unlocked app: sidebar navigation on the left, the chosen section on the right.
import { type IdentityPublic, groupForReading } from '../../shared/identity.js';
import { Icon, type IconName, Logo } from './components/Icon.js';
import { initials, trustLine } from './format.js';
import { ExchangeScreen } from './screens/ExchangeScreen.js';
import { IdentityScreen } from './screens/IdentityScreen.js';
import { RoomsScreen } from './screens/RoomsScreen.js';

export const sections = ['rooms', 'exchange', 'identity'] as const;
export type Section = (typeof sections)[number];

const sectionNav: Record<Section, { label: string; icon: IconName }> = {
  rooms: { label: 'Rooms', icon: 'rooms' },
  exchange: { label: 'Exchange', icon: 'exchange' },
  identity: { label: 'Identity', icon: 'identity' },
};

export interface AppShellProps {
  readonly identity: IdentityPublic;
  readonly section: Section;
  readonly onNavigate: (section: Section) => void;
  readonly onLock: () => void;
  readonly locking: boolean;
}

export function AppShell({ identity, section, onNavigate, onLock, locking }: AppShellProps) {
  return (
    <div className="shell" data-testid="app-shell">
      <a className="skip-link" href="#content">
        Skip to content
      </a>
      <nav className="sidebar" aria-label="Main">
        <div className="brand">
          <Logo size={26} />
          <span className="brand-name">Cleanroom</span>
        </div>
        <ul className="nav-list">
          {sections.map((name) => (
            <li key={name}>
              <button
                type="button"
                className="nav-item"
                aria-current={name === section ? 'page' : undefined}
                onClick={() => onNavigate(name)}
                data-testid={`nav-${name}`}
              >
                <Icon name={sectionNav[name].icon} />
                <span>{sectionNav[name].label}</span>
              </button>
            </li>
          ))}
        </ul>
        <div className="sidebar-footer">
          <p className="sidebar-trust">
            <Icon name="shield" size={14} />
            <span>{trustLine}</span>
          </p>
          <div className="sidebar-identity">
            <span className="avatar" aria-hidden="true">
              {initials(identity.alias)}
            </span>
            <div className="sidebar-identity-text">
              <span className="sidebar-alias" title={identity.alias}>
                {identity.alias}
              </span>
              <span className="sidebar-sharing-id">{groupForReading(identity.sharingId, 4).slice(0, 2).join(' ')}…</span>
            </div>
            <button
              type="button"
              className="icon-button"
              onClick={onLock}
              disabled={locking}
              aria-label="Lock Cleanroom"
              title="Lock"
              data-testid="sidebar-lock"
            >
              <Icon name="lock" />
            </button>
          </div>
        </div>
      </nav>
      <main className="content" id="content">
        {section === 'rooms' && <RoomsScreen />}
        {section === 'exchange' && <ExchangeScreen />}
        {section === 'identity' && <IdentityScreen identity={identity} onLock={onLock} locking={locking} />}
      </main>
    </div>
  );
}
