// Who you are to the other parties: alias, sharing identifier, fingerprint, the identity card you
// hand out and the cards you imported (contacts); plus the passphrase and this installation.
import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import { type AppInfo, type EngineInfo } from '../../../shared/contract.js';
import { type ApiError, type Result } from '../../../shared/errors.js';
import { groupForReading, type IdentityPublic, passphraseWeakness } from '../../../shared/identity.js';
import { useApi } from '../ApiContext.js';
import { Button } from '../components/Button.js';
import { CopyButton } from '../components/CopyButton.js';
import { PassphraseField } from '../components/Field.js';
import { Icon } from '../components/Icon.js';
import { Notice } from '../components/Notice.js';
import { PageHeader } from '../components/PageHeader.js';
import { formatDate, hostLabel, initials } from '../format.js';
import { passphraseFeedback } from '../formChecks.js';
import { useAction } from '../useAction.js';
import { ContactsCard, IdentityCardCard } from './ContactsSection.js';

export interface IdentityScreenProps {
  readonly identity: IdentityPublic;
  readonly onLock: () => void;
  readonly locking: boolean;
}

export function IdentityScreen({ identity, onLock, locking }: IdentityScreenProps) {
  const sharingGroups = groupForReading(identity.sharingId, 4);
  const fingerprintGroups = groupForReading(identity.fingerprint, 4);
  // 64 hex digits: 16 groups of 4, laid out as 4 rows of 4 groups.
  const fingerprintRows = Array.from({ length: Math.ceil(fingerprintGroups.length / 4) }, (_, row) => fingerprintGroups.slice(row * 4, row * 4 + 4));

  return (
    <div className="page" data-testid="identity-screen">
      <PageHeader
        title="Identity"
        description="How the other members of your rooms recognise you. Before trusting someone's keys, compare sharing identifiers by phone."
        actions={
          <Button icon={<Icon name="lock" />} onClick={onLock} busy={locking} busyLabel="Locking…" data-testid="lock-button">
            Lock
          </Button>
        }
      />

      <section className="card profile" aria-label="Your identity">
        <span className="avatar avatar-large" aria-hidden="true">
          {initials(identity.alias)}
        </span>
        <div className="profile-text">
          <h2 className="profile-alias" data-testid="identity-alias">
            {identity.alias}
          </h2>
          <p className="profile-meta">Created {formatDate(identity.createdAt)}</p>
        </div>
        <span className="badge badge-good" data-testid="identity-state">
          <Icon name="unlock" size={14} /> Unlocked
        </span>
      </section>

      <div className="card-grid card-grid-even">
        <section className="card" aria-labelledby="sharing-id-title">
          <div className="card-header">
            <h2 className="card-title" id="sharing-id-title">
              Sharing identifier
            </h2>
            <CopyButton text={identity.sharingId} label="sharing identifier" testId="copy-sharing-id" />
          </div>
          <p className="code-groups code-groups-large" data-testid="sharing-id" aria-label={`Sharing identifier: ${sharingGroups.join(' ')}`}>
            {sharingGroups.map((group, index) => (
              <span className="code-group" key={index} data-testid="sharing-id-group">
                {group}
              </span>
            ))}
          </p>
          <p className="card-note">Short enough to read aloud. The others see the same five groups for you in their rooms.</p>
        </section>

        <section className="card" aria-labelledby="fingerprint-title">
          <div className="card-header">
            <h2 className="card-title" id="fingerprint-title">
              Fingerprint
            </h2>
            <CopyButton text={identity.fingerprint} label="fingerprint" testId="copy-fingerprint" />
          </div>
          <div className="code-rows" data-testid="fingerprint" aria-label={`Fingerprint: ${fingerprintGroups.join(' ')}`} role="group">
            {fingerprintRows.map((row, rowIndex) => (
              <p className="code-groups" key={rowIndex}>
                {row.map((group, index) => (
                  <span className="code-group" key={index} data-testid="fingerprint-group">
                    {group}
                  </span>
                ))}
              </p>
            ))}
          </div>
          <p className="card-note">The full BLAKE2b-256 hash of your public signing and encryption keys.</p>
        </section>
      </div>

      <IdentityCardCard />
      <ContactsCard />

      <div className="card-grid card-grid-top">
        <ChangePassphraseCard />
        <AboutMachineCard />
      </div>
    </div>
  );
}

function ChangePassphraseCard() {
  const api = useApi();
  const change = useAction(api['identity.changePassphrase']);
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [problem, setProblem] = useState<{ field: 'current' | 'next' | 'confirm'; message: string } | null>(null);
  const [changed, setChanged] = useState(false);
  const currentRef = useRef<HTMLInputElement>(null);
  const nextRef = useRef<HTMLInputElement>(null);
  const confirmRef = useRef<HTMLInputElement>(null);
  const feedback = passphraseFeedback(next);

  const edit = (setter: (value: string) => void) => (value: string) => {
    setter(value);
    setProblem(null);
    setChanged(false);
    if (change.error !== null) change.clearError();
  };

  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (change.busy) return;
    const weakness = passphraseWeakness(next);
    const found =
      current === ''
        ? ({ field: 'current', message: 'Enter your current passphrase.' } as const)
        : weakness !== null
          ? ({ field: 'next', message: weakness } as const)
          : next === current
            ? ({ field: 'next', message: 'The new passphrase is the same as the current one.' } as const)
            : confirm !== next
              ? ({ field: 'confirm', message: 'The new passphrases do not match.' } as const)
              : null;
    setProblem(found);
    if (found !== null) {
      ({ current: currentRef, next: nextRef, confirm: confirmRef })[found.field].current?.focus();
      return;
    }
    const result = await change.run({ current, next });
    if (result.ok) {
      setCurrent('');
      setNext('');
      setConfirm('');
      setChanged(true);
    } else {
      const target = result.error.code === 'WEAK_PASSPHRASE' ? nextRef : currentRef;
      target.current?.focus();
      target.current?.select();
    }
  };

  const fieldError = (field: 'current' | 'next' | 'confirm') => (problem?.field === field ? problem.message : null);

  return (
    <section className="card" aria-labelledby="change-passphrase-title">
      <div className="card-header">
        <h2 className="card-title" id="change-passphrase-title">
          Change passphrase
        </h2>
      </div>
      <form className="form form-compact" onSubmit={(event) => void onSubmit(event)} noValidate data-testid="change-passphrase-form">
        {change.error !== null && <ErrorNotice error={change.error} title="The passphrase was not changed" testId="change-passphrase-error" />}
        {changed && (
          <Notice tone="success" testId="change-passphrase-done">
            Passphrase changed. Use the new one the next time you unlock.
          </Notice>
        )}
        <PassphraseField
          ref={currentRef}
          label="Current passphrase"
          name="current-passphrase"
          autoComplete="current-password"
          readOnly={change.busy}
          value={current}
          onChange={(event) => edit(setCurrent)(event.target.value)}
          error={fieldError('current')}
          data-testid="change-current"
        />
        <PassphraseField
          ref={nextRef}
          label="New passphrase"
          name="new-passphrase"
          autoComplete="new-password"
          readOnly={change.busy}
          value={next}
          onChange={(event) => edit(setNext)(event.target.value)}
          hint={feedback.text}
          hintTone={feedback.tone}
          hintLive
          error={fieldError('next')}
          data-testid="change-next"
        />
        <PassphraseField
          ref={confirmRef}
          label="Confirm new passphrase"
          name="confirm-new-passphrase"
          autoComplete="new-password"
          readOnly={change.busy}
          value={confirm}
          onChange={(event) => edit(setConfirm)(event.target.value)}
          error={fieldError('confirm')}
          data-testid="change-confirm"
        />
        <div className="form-actions">
          <Button type="submit" variant="primary" busy={change.busy} busyLabel="Changing…" data-testid="change-submit">
            Change passphrase
          </Button>
        </div>
      </form>
    </section>
  );
}

function ErrorNotice({ error, title, testId }: { error: ApiError; title: string; testId: string }) {
  return (
    <Notice tone="error" title={title} testId={testId}>
      {error.message}
    </Notice>
  );
}

type Loaded<T> = { state: 'loading' } | { state: 'ready'; value: T } | { state: 'failed'; error: ApiError };

/** Loads one fact for the About card without holding up the rest of the screen. */
function useFact<T>(load: () => Promise<Result<T>>): Loaded<T> {
  const [fact, setFact] = useState<Loaded<T>>({ state: 'loading' });
  useEffect(() => {
    let current = true;
    load().then(
      (result) => {
        if (current) setFact(result.ok ? { state: 'ready', value: result.value } : { state: 'failed', error: result.error });
      },
      (thrown: unknown) => {
        if (current) setFact({ state: 'failed', error: { code: 'INTERNAL', message: thrown instanceof Error ? thrown.message : 'No answer.' } });
      },
    );
    return () => {
      current = false;
    };
  }, [load]);
  return fact;
}

function AboutMachineCard() {
  const api = useApi();
  const app = useFact<AppInfo>(useCallback(() => api['app.info']({}), [api]));
  // engine.info may start the DuckDB worker: it loads on its own, after the rest is on screen.
  const engine = useFact<EngineInfo>(useCallback(() => api['engine.info']({}), [api]));

  return (
    <section className="card" aria-labelledby="about-title" data-testid="about-machine">
      <div className="card-header">
        <h2 className="card-title" id="about-title">
          About this machine
        </h2>
      </div>
      <dl className="facts">
        <Fact label="Cleanroom version" testId="about-version" fact={app} show={(info) => info.version} />
        <Fact label="Running as" testId="about-host" fact={app} show={(info) => hostLabel(info.host)} />
        <Fact label="DuckDB engine" testId="about-duckdb" fact={engine} show={(info) => info.duckdbVersion} loadingText="Starting the engine…" />
        <Fact label="Home folder" testId="about-home" fact={app} show={(info) => info.home} mono />
      </dl>
      <p className="card-note">These details stay on this machine; they are never put in a packet.</p>
    </section>
  );
}

function Fact<T>({
  label,
  testId,
  fact,
  show,
  loadingText = 'Loading…',
  mono = false,
}: {
  label: string;
  testId: string;
  fact: Loaded<T>;
  show: (value: T) => string;
  loadingText?: string;
  mono?: boolean;
}) {
  return (
    <div className="fact">
      <dt>{label}</dt>
      <dd data-testid={testId} data-state={fact.state}>
        {fact.state === 'loading' && <span className="muted">{loadingText}</span>}
        {fact.state === 'ready' && <span className={mono ? 'mono wrap-anywhere' : undefined}>{show(fact.value)}</span>}
        {fact.state === 'failed' && (
          <span className="fact-error" role="alert">
            <Icon name="alert" size={14} /> {fact.error.message}
          </span>
        )}
      </dd>
    </div>
  );
}
