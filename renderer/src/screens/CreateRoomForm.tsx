// A new room: its name and site, the contacts to invite (by their imported identity cards), and
// the policy every member will sign. Creating it only writes your own first entry; the others
// see it once you carry the invitation packet to them.
import { type ChangeEvent, type FormEvent, useCallback, useRef, useState } from 'react';
import {
  type Contact,
  defaultInvitationDays,
  defaultMinGroupSize,
  defaultOutputRetentionDays,
  maxMembersAtCreation,
  policyModes,
  type RoomDetail,
} from '../../../shared/room.js';
import { useApi } from '../ApiContext.js';
import { BackLink } from '../components/BackLink.js';
import { Button } from '../components/Button.js';
import { FieldError, TextField } from '../components/Field.js';
import { Icon } from '../components/Icon.js';
import { SharingId } from '../components/Identifier.js';
import { LoadFailed, LoadingLine } from '../components/Loading.js';
import { ErrorNotice } from '../components/Notice.js';
import { PageHeader } from '../components/PageHeader.js';
import { checkCreateRoom, type CreateRoomField, createRoomFields, type CreateRoomInput } from '../formChecks.js';
import { policyModeInfo } from '../rooms.js';
import { toggled } from '../toggled.js';
import { useAction } from '../useAction.js';
import { useLoaded } from '../useLoaded.js';

export interface CreateRoomFormProps {
  readonly onCancel: () => void;
  readonly onCreated: (room: RoomDetail) => void;
  readonly onOpenIdentity: () => void;
}

type Problems = Partial<Record<CreateRoomField, string>>;
/** The fields typed as text (the others are choices). */
type TextInputField = Exclude<CreateRoomField, 'members'>;

export function CreateRoomForm({ onCancel, onCreated, onOpenIdentity }: CreateRoomFormProps) {
  const api = useApi();
  const create = useAction(api['room.create']);
  const contacts = useLoaded(useCallback(() => api['contact.list']({}), [api]));
  const [input, setInput] = useState<CreateRoomInput>({
    name: '',
    site: '',
    members: [],
    mode: 'aggregate',
    minGroupSize: String(defaultMinGroupSize),
    outputRetentionDays: String(defaultOutputRetentionDays),
    invitationDays: String(defaultInvitationDays),
  });
  const [problems, setProblems] = useState<Problems>({});
  const fieldRefs = useRef<Partial<Record<CreateRoomField, HTMLElement | null>>>({});

  const edit = <K extends keyof CreateRoomInput>(key: K, value: CreateRoomInput[K]) => {
    setInput((current) => ({ ...current, [key]: value }));
    setProblems((current) => {
      if (!(key in current)) return current;
      const next = { ...current };
      delete next[key as CreateRoomField];
      return next;
    });
    if (create.error !== null) create.clearError();
  };

  const toggleMember = (signPublicKey: string, on: boolean) => {
    edit('members', toggled(input.members, signPublicKey, on));
  };

  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (create.busy) return;
    const checked = checkCreateRoom(input);
    if (!checked.ok) {
      setProblems(checked.problems);
      const first = createRoomFields.find((field) => checked.problems[field] !== undefined);
      if (first !== undefined) fieldRefs.current[first]?.focus();
      return;
    }
    setProblems({});
    const result = await create.run(checked.request);
    if (result.ok) onCreated(result.value);
  };

  const refFor = (field: CreateRoomField) => (element: HTMLElement | null) => {
    fieldRefs.current[field] = element;
  };

  /** What every text field of the form takes from its field: its value, edits, problem and focus. */
  const textField = (field: TextInputField) => ({
    ref: refFor(field),
    value: input[field],
    readOnly: create.busy,
    onChange: (event: ChangeEvent<HTMLInputElement>) => edit(field, event.target.value),
    error: problems[field] ?? null,
  });

  return (
    <div className="page" data-testid="create-room-screen">
      <BackLink label="Rooms" onClick={onCancel} testId="back-to-rooms" />
      <PageHeader
        title="New room"
        description="Invite the people you will analyse data with and set the rules every member signs. Everyone has equal rights: creating the room gives you no extra power."
      />
      <form className="form" onSubmit={(event) => void onSubmit(event)} noValidate data-testid="create-room-form">
        <section className="card" aria-labelledby="room-about-title">
          <h2 className="card-title" id="room-about-title">
            About the room
          </h2>
          <div className="form-columns">
            <TextField
              {...textField('name')}
              label="Name"
              name="room-name"
              autoComplete="off"
              maxLength={100}
              hint="Every member sees it, e.g. “Readmissions 2025”."
              errorTestId="room-name-error"
              data-testid="room-name"
            />
            <TextField
              {...textField('site')}
              label="Site (optional)"
              name="room-site"
              autoComplete="off"
              maxLength={200}
              hint="Where or for whom, e.g. “St Mary × Acme, Boston”."
              data-testid="room-site"
            />
          </div>
        </section>

        <section className="card" aria-labelledby="room-members-title">
          <div className="card-header">
            <h2 className="card-title" id="room-members-title">
              Members
            </h2>
            <span className="muted card-header-note">You are a member. Pick 1 to {maxMembersAtCreation - 1} contacts.</span>
          </div>
          <MemberPicker
            contacts={contacts.loaded.state === 'ready' ? contacts.loaded.value.contacts : null}
            loadError={contacts.loaded.state === 'failed' ? contacts.loaded.error.message : null}
            onRetry={contacts.reload}
            selected={input.members}
            onToggle={toggleMember}
            disabled={create.busy}
            onOpenIdentity={onOpenIdentity}
            problem={problems.members ?? null}
            groupRef={refFor('members')}
          />
        </section>

        <section className="card" aria-labelledby="room-policy-title">
          <h2 className="card-title" id="room-policy-title">
            Policy
          </h2>
          <fieldset className="choice-group">
            <legend className="field-label">What may come out of a run</legend>
            <div className="choice-row">
              {policyModes.map((mode) => (
                <label className="choice" key={mode}>
                  <input
                    type="radio"
                    name="room-mode"
                    value={mode}
                    checked={input.mode === mode}
                    disabled={create.busy}
                    onChange={() => edit('mode', mode)}
                    data-testid={`room-mode-${mode}`}
                  />
                  <span className="choice-text">
                    <span className="choice-title">{policyModeInfo[mode].label}</span>
                    <span className="choice-hint">{policyModeInfo[mode].explanation}</span>
                  </span>
                </label>
              ))}
            </div>
          </fieldset>
          <div className="form-columns form-columns-3">
            <TextField
              {...textField('minGroupSize')}
              label="Minimum group size (k)"
              name="room-min-group-size"
              inputMode="numeric"
              hint="Output rows describing fewer people are suppressed."
              errorTestId="room-min-group-size-error"
              data-testid="room-min-group-size"
            />
            <TextField
              {...textField('outputRetentionDays')}
              label="Keep outputs for (days)"
              name="room-output-retention"
              inputMode="numeric"
              hint="Output tables are deleted after this."
              data-testid="room-output-retention"
            />
            <TextField
              {...textField('invitationDays')}
              label="Invitation valid for (days)"
              name="room-invitation-days"
              inputMode="numeric"
              hint="Members who have not joined by then cannot."
              data-testid="room-invitation-days"
            />
          </div>
        </section>

        <ErrorNotice error={create.error} title="The room was not created" testId="create-room-error" />
        <div className="form-actions">
          <Button type="submit" variant="primary" busy={create.busy} busyLabel="Creating…" data-testid="create-room-submit">
            Create room
          </Button>
          <Button variant="ghost" onClick={onCancel} disabled={create.busy}>
            Cancel
          </Button>
        </div>
      </form>
    </div>
  );
}

interface MemberPickerProps {
  readonly contacts: readonly Contact[] | null;
  readonly loadError: string | null;
  readonly onRetry: () => void;
  readonly selected: readonly string[];
  readonly onToggle: (signPublicKey: string, on: boolean) => void;
  readonly disabled: boolean;
  readonly onOpenIdentity: () => void;
  readonly problem: string | null;
  readonly groupRef: (element: HTMLElement | null) => void;
}

function MemberPicker({
  contacts,
  loadError,
  onRetry,
  selected,
  onToggle,
  disabled,
  onOpenIdentity,
  problem,
  groupRef,
}: MemberPickerProps) {
  if (loadError !== null) {
    return (
      <LoadFailed title="Your contacts could not be listed" message={loadError} testId="create-room-contacts-error" onRetry={onRetry} buttonSize="small" />
    );
  }
  if (contacts === null) return <LoadingLine>Loading contacts…</LoadingLine>;
  if (contacts.length === 0) {
    return (
      <div className="inline-empty" data-testid="create-room-no-contacts" tabIndex={-1} ref={groupRef}>
        <p>
          <strong>No contacts yet.</strong> Ask the people you want to invite for their identity card file, import it under Identity →
          Contacts, and compare their sharing identifier with them by phone.
        </p>
        <div>
          <Button size="small" icon={<Icon name="card" />} onClick={onOpenIdentity} data-testid="create-room-open-contacts">
            Import a card
          </Button>
        </div>
        {problem !== null && <FieldError testId="room-members-error">{problem}</FieldError>}
      </div>
    );
  }
  return (
    <fieldset className="choice-group" aria-describedby={problem !== null ? 'room-members-problem' : undefined}>
      <legend className="visually-hidden">Contacts to invite</legend>
      <ul className="pick-list" data-testid="room-member-options">
        {contacts.map((contact, index) => {
          const checked = selected.includes(contact.signPublicKey);
          return (
            <li key={contact.signPublicKey}>
              <label className={`pick${checked ? ' pick-selected' : ''}`}>
                <input
                  type="checkbox"
                  checked={checked}
                  disabled={disabled}
                  onChange={(event) => onToggle(contact.signPublicKey, event.target.checked)}
                  ref={index === 0 ? groupRef : undefined}
                  data-testid={`room-member-${contact.alias}`}
                />
                <span className="pick-text">
                  <span className="pick-title">{contact.alias}</span>
                  <span className="pick-sub">
                    Sharing identifier <SharingId value={contact.sharingId} />
                  </span>
                </span>
              </label>
            </li>
          );
        })}
      </ul>
      {problem !== null && (
        <FieldError id="room-members-problem" testId="room-members-error">
          {problem}
        </FieldError>
      )}
    </fieldset>
  );
}
