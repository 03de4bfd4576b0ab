// First run: no identity in this home yet. Creates the keys, sealed under a passphrase.
import { type FormEvent, useRef, useState } from 'react';
import { type IdentityPublic, passphraseWeakness } from '../../../shared/identity.js';
import { useApi } from '../ApiContext.js';
import { Button } from '../components/Button.js';
import { PassphraseField, TextField } from '../components/Field.js';
import { Notice } from '../components/Notice.js';
import { aliasProblem, passphraseFeedback } from '../formChecks.js';
import { useAction } from '../useAction.js';
import { WelcomeLayout } from './WelcomeLayout.js';

interface FieldErrors {
  alias?: string;
  passphrase?: string;
  confirm?: string;
}

export function CreateIdentityScreen({ onCreated }: { onCreated: (identity: IdentityPublic) => void }) {
  const api = useApi();
  const create = useAction(api['identity.create']);
  const [alias, setAlias] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [confirm, setConfirm] = useState('');
  const [confirmTouched, setConfirmTouched] = useState(false);
  const [errors, setErrors] = useState<FieldErrors>({});
  const aliasRef = useRef<HTMLInputElement>(null);
  const passphraseRef = useRef<HTMLInputElement>(null);
  const confirmRef = useRef<HTMLInputElement>(null);

  const feedback = passphraseFeedback(passphrase);
  const confirmMismatch = confirm !== '' && confirm !== passphrase;
  const confirmHint = confirm !== '' && !confirmMismatch ? 'Matches.' : 'Type it once more to make sure.';

  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (create.busy) return;
    const trimmedAlias = alias.trim();
    const found: FieldErrors = {};
    const aliasIssue = aliasProblem(trimmedAlias);
    if (aliasIssue !== null) found.alias = aliasIssue;
    const weakness = passphraseWeakness(passphrase);
    if (weakness !== null) found.passphrase = weakness;
    if (confirm !== passphrase) found.confirm = confirm === '' ? 'Type the passphrase again.' : 'The passphrases do not match.';
    setErrors(found);
    setConfirmTouched(true);
    const firstInvalid = found.alias !== undefined ? aliasRef : found.passphrase !== undefined ? passphraseRef : found.confirm !== undefined ? confirmRef : null;
    if (firstInvalid !== null) {
      firstInvalid.current?.focus();
      return;
    }

    const result = await create.run({ alias: trimmedAlias, passphrase });
    if (result.ok) {
      onCreated(result.value);
    } else if (result.error.code === 'WEAK_PASSPHRASE') {
      passphraseRef.current?.focus();
    }
  };

  return (
    <WelcomeLayout testId="create-identity-screen">
      <h1 className="welcome-title">Create your identity</h1>
      <p className="welcome-lead">
        Other parties know you by an alias and a pair of keys made on this machine. Both keys stay here; only their public
        halves are shared with your rooms.
      </p>
      <form className="form" onSubmit={(event) => void onSubmit(event)} noValidate aria-describedby="passphrase-explainer">
        {create.error !== null && (
          <Notice tone="error" title="The identity was not created" testId="create-error">
            {create.error.message}
          </Notice>
        )}
        <TextField
          ref={aliasRef}
          label="Alias"
          name="alias"
          autoComplete="organization"
          autoFocus
          maxLength={64}
          value={alias}
          onChange={(event) => {
            setAlias(event.target.value);
            if (errors.alias !== undefined) setErrors({ ...errors, alias: undefined });
          }}
          hint="How the other members of your rooms will see you, e.g. “St Mary Hospital Data Office”."
          error={errors.alias}
          data-testid="create-alias"
        />
        <PassphraseField
          ref={passphraseRef}
          label="Passphrase"
          name="new-passphrase"
          autoComplete="new-password"
          value={passphrase}
          onChange={(event) => {
            setPassphrase(event.target.value);
            if (errors.passphrase !== undefined) setErrors({ ...errors, passphrase: undefined });
          }}
          hint={feedback.text}
          hintTone={feedback.tone}
          hintLive
          error={errors.passphrase}
          data-testid="create-passphrase"
        />
        <PassphraseField
          ref={confirmRef}
          label="Confirm passphrase"
          name="confirm-passphrase"
          autoComplete="new-password"
          value={confirm}
          onChange={(event) => {
            setConfirm(event.target.value);
            if (errors.confirm !== undefined) setErrors({ ...errors, confirm: undefined });
          }}
          onBlur={() => setConfirmTouched(true)}
          hint={confirmHint}
          hintTone={confirm !== '' && !confirmMismatch ? 'good' : 'neutral'}
          error={errors.confirm ?? (confirmTouched && confirmMismatch ? 'The passphrases do not match.' : null)}
          data-testid="create-confirm"
        />
        <p className="explainer" id="passphrase-explainer">
          The passphrase protects your keys on this machine. It is never sent anywhere and{' '}
          <strong>cannot be recovered</strong>: if you forget it, you will need a new identity and new invitations to your
          rooms.
        </p>
        <Button type="submit" variant="primary" busy={create.busy} busyLabel="Creating keys…" className="button-block" data-testid="create-submit">
          Create identity
        </Button>
      </form>
    </WelcomeLayout>
  );
}
