// Identity cards: yours to hand out (saved as a file), and other people's, imported as contacts
// after comparing their sharing identifier by phone. Contacts are whom you can invite to a room.
import { useCallback, useRef, useState } from 'react';
import { type ApiError } from '../../../shared/errors.js';
import { groupForReading } from '../../../shared/identity.js';
import { type Contact } from '../../../shared/room.js';
import { useApi } from '../ApiContext.js';
import { Button } from '../components/Button.js';
import { FileDrop } from '../components/FileDrop.js';
import { Icon } from '../components/Icon.js';
import { FingerprintToggle, SharingId } from '../components/Identifier.js';
import { LoadFailed, LoadingLine } from '../components/Loading.js';
import { ErrorNotice, Notice } from '../components/Notice.js';
import { saveFile } from '../download.js';
import { formatDate, initials } from '../format.js';
import { cardFileSuffix, cardTextOf, fileSizeProblem } from '../inbox.js';
import { useAction } from '../useAction.js';
import { type Loaded, useLoaded } from '../useLoaded.js';

export function IdentityCardCard() {
  const api = useApi();
  const card = useAction(api['identity.card']);
  const [saved, setSaved] = useState<string | null>(null);

  const onSave = async () => {
    if (card.busy) return;
    setSaved(null);
    const result = await card.run({});
    if (!result.ok) return;
    saveFile(result.value.fileName, result.value.card);
    setSaved(result.value.fileName);
  };

  return (
    <section className="card card-row" aria-labelledby="identity-card-title" data-testid="identity-card">
      <span className="card-row-icon" aria-hidden="true">
        <Icon name="card" size={22} />
      </span>
      <div className="card-row-body">
        <h2 className="card-title" id="identity-card-title">
          Your identity card
        </h2>
        <p className="card-note">
          A small file with your alias and public keys, signed by you. Give it to the people who will invite you to a room; it holds no
          secret.
        </p>
        <ErrorNotice error={card.error} title="The card was not saved" testId="identity-card-error" />
        {saved !== null && (
          <Notice tone="success" testId="identity-card-saved">
            Saved <code>{saved}</code>. Find it in your downloads folder.
          </Notice>
        )}
      </div>
      <Button icon={<Icon name="download" />} onClick={() => void onSave()} busy={card.busy} busyLabel="Saving…" data-testid="save-card">
        Save card
      </Button>
    </section>
  );
}

type CardOutcome = { readonly state: 'imported'; readonly contact: Contact } | { readonly state: 'failed'; readonly error: ApiError };
type CardImport = { readonly id: number; readonly fileName: string } & ({ readonly state: 'importing' } | CardOutcome);

export function ContactsCard() {
  const api = useApi();
  const contacts = useLoaded(useCallback(() => api['contact.list']({}), [api]));
  const [imports, setImports] = useState<readonly CardImport[]>([]);
  const nextId = useRef(1);
  const reloadContacts = contacts.reload;

  const importCard = async (file: File): Promise<CardOutcome> => {
    const tooBig = fileSizeProblem(file.name, file.size, 'card');
    if (tooBig !== null) return { state: 'failed', error: tooBig };
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await file.arrayBuffer());
    } catch {
      return { state: 'failed', error: { code: 'FILE_ERROR', message: `${file.name} could not be read.` } };
    }
    const card = cardTextOf(file.name, bytes);
    if (!card.ok) return { state: 'failed', error: card.error };
    try {
      const result = await api['contact.import']({ card: card.text });
      return result.ok ? { state: 'imported', contact: result.value } : { state: 'failed', error: result.error };
    } catch {
      return { state: 'failed', error: { code: 'INTERNAL', message: 'Cleanroom did not answer.' } };
    }
  };

  const importCards = async (files: File[]) => {
    const batch = files.map((file) => ({ file, id: nextId.current++ }));
    setImports((current) => [...batch.map(({ file, id }) => ({ id, fileName: file.name, state: 'importing' as const })), ...current]);
    for (const { file, id } of batch) {
      const done = await importCard(file);
      setImports((current) => current.map((item) => (item.id === id ? { id, fileName: file.name, ...done } : item)));
    }
    reloadContacts();
  };

  return (
    <section className="card" aria-labelledby="contacts-title" data-testid="contacts">
      <div className="card-header">
        <h2 className="card-title" id="contacts-title">
          Contacts
        </h2>
        <span className="muted card-header-note">People you can invite to a room</span>
      </div>
      <FileDrop
        title="Import an identity card"
        hint={
          <>
            Drop a <code>{cardFileSuffix}</code> file here, or open it. Its signature and fingerprint are checked first.
          </>
        }
        buttonLabel="Open card file"
        accept={cardFileSuffix}
        multiple
        icon="card"
        onFiles={(files) => void importCards(files)}
        testId="contact-drop"
      />
      {imports.length > 0 && (
        <ul className="import-results" data-testid="contact-imports">
          {imports.map((item) => (
            <li key={item.id} data-testid="contact-import" data-state={item.state}>
              {item.state === 'importing' && (
                <p className="loading-line muted">
                  <span className="spinner" aria-hidden="true" /> Checking {item.fileName}…
                </p>
              )}
              {item.state === 'failed' && (
                <ErrorNotice error={item.error} title={`${item.fileName} was not imported`} testId="contact-import-error" />
              )}
              {item.state === 'imported' && <VerifyContact contact={item.contact} />}
            </li>
          ))}
        </ul>
      )}
      <ContactList loaded={contacts.loaded} onRetry={contacts.reload} />
    </section>
  );
}

/** Right after an import: the identifiers in full, and what to do with them. */
function VerifyContact({ contact }: { contact: Contact }) {
  const fingerprintGroups = groupForReading(contact.fingerprint, 4);
  return (
    <div className="verify" data-testid="contact-imported" data-alias={contact.alias}>
      <div className="verify-who">
        <span className="avatar" aria-hidden="true">
          {initials(contact.alias)}
        </span>
        <p>
          Imported <strong data-testid="contact-imported-alias">{contact.alias}</strong>
        </p>
      </div>
      <div className="verify-ids">
        <div>
          <p className="verify-label">Sharing identifier</p>
          <p className="code-groups code-groups-medium" data-testid="contact-imported-sharing-id">
            {groupForReading(contact.sharingId, 4).map((group, index) => (
              <span className="code-group" key={index} data-testid="contact-imported-sharing-id-group">
                {group}
              </span>
            ))}
          </p>
        </div>
        <div>
          <p className="verify-label">Fingerprint</p>
          <div className="fingerprint-full" data-testid="contact-imported-fingerprint">
            {[fingerprintGroups.slice(0, 8), fingerprintGroups.slice(8)].map((row, index) => (
              <code className="identifier identifier-small" key={index}>
                {row.join(' ')}
              </code>
            ))}
          </div>
        </div>
      </div>
      <p className="verify-note" data-testid="contact-imported-note">
        <Icon name="shield" size={15} />
        <span>
          Compare this sharing identifier with {contact.alias} by phone before inviting them. If it differs, the card is not theirs: do not
          invite it.
        </span>
      </p>
    </div>
  );
}

function ContactList({ loaded, onRetry }: { loaded: Loaded<{ contacts: Contact[] }>; onRetry: () => void }) {
  if (loaded.state === 'loading') return <LoadingLine>Loading contacts…</LoadingLine>;
  if (loaded.state === 'failed') {
    return (
      <LoadFailed title="Your contacts could not be listed" message={loaded.error.message} testId="contacts-error" onRetry={onRetry} buttonSize="small" />
    );
  }
  const contacts = [...loaded.value.contacts].sort((a, b) => a.alias.localeCompare(b.alias));
  if (contacts.length === 0) {
    return (
      <p className="muted" data-testid="contacts-empty">
        No contacts yet. Ask the people you want to work with for their identity card.
      </p>
    );
  }
  return (
    <table className="table table-compact" data-testid="contact-list">
      <caption className="visually-hidden">Your contacts</caption>
      <thead>
        <tr>
          <th scope="col">Contact</th>
          <th scope="col">Sharing identifier</th>
          <th scope="col">Fingerprint</th>
          <th scope="col">Imported</th>
        </tr>
      </thead>
      <tbody>
        {contacts.map((contact) => (
          <tr key={contact.signPublicKey} data-testid="contact-row" data-alias={contact.alias}>
            <th scope="row">
              <span className="member">
                <span className="avatar avatar-small" aria-hidden="true">
                  {initials(contact.alias)}
                </span>
                <span className="member-alias">{contact.alias}</span>
              </span>
            </th>
            <td>
              <SharingId value={contact.sharingId} testId="contact-sharing-id" />
            </td>
            <td>
              <FingerprintToggle value={contact.fingerprint} testId="contact-fingerprint" />
            </td>
            <td className="muted">{formatDate(contact.importedAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
