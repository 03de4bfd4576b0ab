// The identity exists but its secret keys are sealed: ask for the passphrase.
import { type FormEvent, useRef, useState } from 'react';
import { groupForReading, type IdentityPublic } from '../../../shared/identity.js';
import { useApi } from '../ApiContext.js';
import { Button } from '../components/Button.js';
import { PassphraseField } from '../components/Field.js';
import { Icon } from '../components/Icon.js';
import { initials } from '../format.js';
import { useAction } from '../useAction.js';
import { WelcomeLayout } from './WelcomeLayout.js';

export function UnlockScreen({ identity, onUnlocked }: { identity: IdentityPublic; onUnlocked: (identity: IdentityPublic) => void }) {
  const api = useApi();
  const unlock = useAction(api['identity.unlock']);
  const [passphrase, setPassphrase] = useState('');
  const [emptyError, setEmptyError] = useState<string | null>(null);
  const passphraseRef = useRef<HTMLInputElement>(null);

  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (unlock.busy) return;
    if (passphrase === '') {
      setEmptyError('Enter your passphrase.');
      passphraseRef.current?.focus();
      return;
    }
    const result = await unlock.run({ passphrase });
    if (result.ok) {
      onUnlocked(result.value);
      return;
    }
    // Keep the user in the field, with the wrong text selected so typing replaces it.
    passphraseRef.current?.focus();
    passphraseRef.current?.select();
  };

  return (
    <WelcomeLayout testId="unlock-screen">
      <div className="unlock-who">
        <span className="avatar avatar-large" aria-hidden="true">
          {initials(identity.alias)}
        </span>
        <div>
          <p className="unlock-alias" data-testid="unlock-alias">
            {identity.alias}
          </p>
          <p className="unlock-sharing-id">
            <span className="visually-hidden">Sharing identifier </span>
            <code>{groupForReading(identity.sharingId, 4).join(' ')}</code>
          </p>
        </div>
      </div>
      <h1 className="welcome-title">
        <Icon name="lock" size={20} /> Cleanroom is locked
      </h1>
      <p className="welcome-lead">Enter your passphrase to unlock your keys on this machine.</p>
      <form className="form" onSubmit={(event) => void onSubmit(event)} noValidate>
        <PassphraseField
          ref={passphraseRef}
          label="Passphrase"
          name="passphrase"
          autoComplete="current-password"
          autoFocus
          readOnly={unlock.busy}
          value={passphrase}
          onChange={(event) => {
            setPassphrase(event.target.value);
            setEmptyError(null);
            if (unlock.error !== null) unlock.clearError();
          }}
          error={emptyError ?? unlock.error?.message ?? null}
          errorTestId="unlock-error"
          data-testid="unlock-passphrase"
        />
        <Button type="submit" variant="primary" busy={unlock.busy} busyLabel="Unlocking…" className="button-block" data-testid="unlock-submit">
          Unlock
        </Button>
      </form>
    </WelcomeLayout>
  );
}
