// The unlocked app: sidebar navigation on the left, the chosen section on the right. It also holds
// what must outlive a section switch: the Exchange inbox's results and which room is open.
import { useEffect, useState } from 'react';
import { type IdentityPublic, groupForReading } from '../../shared/identity.js';
import { Icon, type IconName, Logo } from './components/Icon.js';
import { initials, trustLine } from './format.js';
import { ExchangeScreen } from './screens/ExchangeScreen.js';
import { IdentityScreen } from './screens/IdentityScreen.js';
import { RoomsScreen, type RoomsView } from './screens/RoomsScreen.js';
import { useInbox } from './useInbox.js';

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
  const inbox = useInbox();
  const [roomsView, setRoomsView] = useState<RoomsView>({ kind: 'list' });

  useEffect(() => {
    // A file dropped outside a drop zone would make the browser open it in place of the app.
    const refuse = (event: DragEvent) => {
      if (event.defaultPrevented || event.dataTransfer === null || !event.dataTransfer.types.includes('Files')) return;
      event.preventDefault();
      if (event.type === 'dragover') event.dataTransfer.dropEffect = 'none';
    };
    window.addEventListener('dragover', refuse);
    window.addEventListener('drop', refuse);
    return () => {
      window.removeEventListener('dragover', refuse);
      window.removeEventListener('drop', refuse);
    };
  }, []);

  const navigate = (next: Section) => {
    // The sidebar's Rooms always leads to the list, as a person expects from a top-level link.
    if (next === 'rooms') setRoomsView({ kind: 'list' });
    onNavigate(next);
  };

  const openRoom = (roomId: string) => {
    setRoomsView({ kind: 'room', roomId });
    onNavigate('rooms');
  };

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
                onClick={() => navigate(name)}
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
        {section === 'rooms' && (
          <RoomsScreen view={roomsView} onView={setRoomsView} onOpenIdentity={() => navigate('identity')} onOpenExchange={() => navigate('exchange')} />
        )}
        {section === 'exchange' && <ExchangeScreen inbox={inbox} onOpenRoom={openRoom} />}
        {section === 'identity' && <IdentityScreen identity={identity} onLock={onLock} locking={locking} />}
      </main>
    </div>
  );
}
