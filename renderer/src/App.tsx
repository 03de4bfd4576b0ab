// The identity state drives the whole window: no identity → create it; locked → unlock; unlocked
// → the app. The state comes from core (identity.status) and from the answers of create, unlock
// and lock, never from a guess.
import { useCallback, useEffect, useState } from 'react';
import { type ApiError } from '../../shared/errors.js';
import { type IdentityPublic } from '../../shared/identity.js';
import { useApi } from './ApiContext.js';
import { AppShell, type Section } from './AppShell.js';
import { Button } from './components/Button.js';
import { Logo } from './components/Icon.js';
import { Notice } from './components/Notice.js';
import { CreateIdentityScreen } from './screens/CreateIdentityScreen.js';
import { UnlockScreen } from './screens/UnlockScreen.js';
import { useAction } from './useAction.js';

type Gate =
  | { readonly state: 'loading' }
  | { readonly state: 'failed'; readonly error: ApiError }
  | { readonly state: 'none' }
  | { readonly state: 'locked'; readonly identity: IdentityPublic }
  | { readonly state: 'unlocked'; readonly identity: IdentityPublic };

const sectionTitles: Record<Section, string> = { rooms: 'Rooms', exchange: 'Exchange', identity: 'Identity' };

export function App() {
  const api = useApi();
  const [gate, setGate] = useState<Gate>({ state: 'loading' });
  const [section, setSection] = useState<Section>('rooms');
  const lock = useAction(api['identity.lock']);

  const loadStatus = useCallback(async () => {
    setGate({ state: 'loading' });
    let next: Gate;
    try {
      const result = await api['identity.status']({});
      next = result.ok ? result.value : { state: 'failed', error: result.error };
    } catch (thrown) {
      next = { state: 'failed', error: { code: 'INTERNAL', message: thrown instanceof Error ? thrown.message : 'Cleanroom did not answer.' } };
    }
    setGate(next);
  }, [api]);

  useEffect(() => {
    void loadStatus();
  }, [loadStatus]);

  useEffect(() => {
    const titles: Record<Gate['state'], string> = {
      loading: 'Cleanroom',
      failed: 'Cleanroom: cannot start',
      none: 'Create your identity · Cleanroom',
      locked: 'Locked · Cleanroom',
      unlocked: `${sectionTitles[section]} · Cleanroom`,
    };
    document.title = titles[gate.state];
  }, [gate.state, section]);

  const onLock = async () => {
    if (gate.state !== 'unlocked' || lock.busy) return;
    const result = await lock.run({});
    if (result.ok) setGate({ state: 'locked', identity: gate.identity });
  };

  switch (gate.state) {
    case 'loading':
      return (
        <div className="splash" data-testid="splash" aria-busy="true">
          <Logo size={40} />
          <p className="muted">Opening Cleanroom…</p>
        </div>
      );
    case 'failed':
      return (
        <div className="splash" data-testid="startup-error">
          <Logo size={40} />
          <div className="splash-message">
            <Notice tone="error" title="Cleanroom could not open this home">
              {gate.error.message}
            </Notice>
            <Button variant="primary" onClick={() => void loadStatus()}>
              Try again
            </Button>
          </div>
        </div>
      );
    case 'none':
      return (
        <CreateIdentityScreen
          onCreated={(identity) => {
            setSection('identity');
            setGate({ state: 'unlocked', identity });
          }}
        />
      );
    case 'locked':
      return <UnlockScreen identity={gate.identity} onUnlocked={(identity) => setGate({ state: 'unlocked', identity })} />;
    case 'unlocked':
      return (
        <>
          {lock.error !== null && (
            <div className="toast">
              <Notice tone="error" title="Cleanroom was not locked" testId="lock-error">
                {lock.error.message}
              </Notice>
            </div>
          )}
          <AppShell identity={gate.identity} section={section} onNavigate={setSection} onLock={() => void onLock()} locking={lock.busy} />
        </>
      );
  }
}
