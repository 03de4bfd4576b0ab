// Exchange: the signed files (packets) that carry a room between machines. The inbox imports
// them, each with its own result; the outbox writes one for a room.
import { type ReactNode, useCallback, useId, useState } from 'react';
import { type RoomSummary } from '../../../shared/room.js';
import { useApi } from '../ApiContext.js';
import { Button } from '../components/Button.js';
import { FileDrop } from '../components/FileDrop.js';
import { Icon } from '../components/Icon.js';
import { SharingId } from '../components/Identifier.js';
import { LoadFailed, LoadingLine } from '../components/Loading.js';
import { Notice } from '../components/Notice.js';
import { PageHeader } from '../components/PageHeader.js';
import { formatByteSize } from '../format.js';
import { cardFileSuffix, importCounts, type InboxItem } from '../inbox.js';
import { canWritePackets } from '../rooms.js';
import { type Inbox } from '../useInbox.js';
import { useLoaded } from '../useLoaded.js';
import { WritePacketForm } from './WritePacketForm.js';

export interface ExchangeScreenProps {
  readonly inbox: Inbox;
  readonly onOpenRoom: (roomId: string) => void;
}

export function ExchangeScreen({ inbox, onOpenRoom }: ExchangeScreenProps) {
  return (
    <div className="page" data-testid="exchange-screen">
      <PageHeader
        title="Exchange"
        description="Cleanroom needs no network between parties: rooms travel as signed packet files, by USB stick or a shared folder."
      />
      <InboxCard inbox={inbox} onOpenRoom={onOpenRoom} />
      <OutboxCard />
    </div>
  );
}

function InboxCard({ inbox, onOpenRoom }: ExchangeScreenProps) {
  const finished = inbox.items.some((item) => item.state !== 'importing');
  return (
    <section className="card" aria-labelledby="inbox-title" data-testid="inbox">
      <div className="card-header">
        <h2 className="card-title" id="inbox-title">
          Inbox
        </h2>
        {finished && (
          <Button variant="ghost" size="small" onClick={inbox.clear} data-testid="inbox-clear">
            Clear list
          </Button>
        )}
      </div>
      <FileDrop
        title="Import packets"
        hint={
          <>
            Drop <code>.cleanroom</code> files here, or open them: invitations and updates from the other members. Identity cards (
            <code>{cardFileSuffix}</code>) are added to your contacts.
          </>
        }
        buttonLabel="Open packet files"
        accept={`.cleanroom,${cardFileSuffix}`}
        multiple
        onFiles={inbox.importFiles}
        testId="packet-drop"
      />
      {inbox.items.length === 0 ? (
        <div className="inline-empty" data-testid="exchange-empty">
          <p>
            <strong>No packets imported yet.</strong> Each file you import is listed here with what it brought, or exactly why it was
            refused.
          </p>
          <p className="muted">
            Every packet is checked before anything in it is used: size, then signature, then content hashes. A packet that fails changes
            nothing, and importing one twice is harmless.
          </p>
        </div>
      ) : (
        <ul className="import-results" aria-live="polite" data-testid="inbox-results">
          {inbox.items.map((item) => (
            <InboxRow key={item.id} item={item} onOpenRoom={onOpenRoom} />
          ))}
        </ul>
      )}
    </section>
  );
}

function InboxRow({ item, onOpenRoom }: { item: InboxItem; onOpenRoom: (roomId: string) => void }) {
  const icon = item.state === 'importing' ? null : item.state === 'failed' ? 'cross' : 'check';
  return (
    <li className={`import-row import-row-${item.state}`} data-testid="inbox-item" data-state={item.state} data-file-name={item.fileName}>
      <span className="import-row-icon" aria-hidden="true">
        {icon === null ? <span className="spinner" /> : <Icon name={icon} size={16} />}
      </span>
      <div className="import-row-body">
        <p className="import-row-file">
          <span className="import-row-name" data-testid="inbox-item-file">
            {item.fileName}
          </span>
          <span className="muted"> · {formatByteSize(item.size)}</span>
        </p>
        {item.state === 'importing' && <p className="muted">Checking…</p>}
        {item.state === 'failed' && (
          <p className="import-row-error" data-testid="inbox-item-error">
            <span className="visually-hidden">Refused: </span>
            {item.error.message} <span className="error-code">({item.error.code})</span>
          </p>
        )}
        {item.state === 'imported' && item.kind === 'packet' && (
          <>
            <p data-testid="inbox-item-summary">
              <span className="visually-hidden">Imported: </span>
              {item.result.summary}
            </p>
            <p className="muted small" data-testid="inbox-item-counts">
              {importCounts(item.result)}
            </p>
            {item.result.alerts.length > 0 && (
              <Notice tone="error" title="Security alert" testId="inbox-item-alerts">
                <ul className="plain-list">
                  {item.result.alerts.map((alert, index) => (
                    <li key={index}>{alert}</li>
                  ))}
                </ul>
              </Notice>
            )}
          </>
        )}
        {item.state === 'imported' && item.kind === 'card' && (
          <>
            <p data-testid="inbox-item-summary">
              Added <strong>{item.contact.alias}</strong> to your contacts. Sharing identifier <SharingId value={item.contact.sharingId} />
            </p>
            <p className="muted small">Compare this sharing identifier with {item.contact.alias} by phone before inviting them.</p>
          </>
        )}
      </div>
      {item.state === 'imported' && item.kind === 'packet' && (
        <Button size="small" onClick={() => onOpenRoom(item.result.room)} data-testid="inbox-item-open-room">
          Open {item.result.roomName}
        </Button>
      )}
    </li>
  );
}

function OutboxCard() {
  const api = useApi();
  const rooms = useLoaded(useCallback(() => api['room.list']({}), [api]));
  const [picked, setPicked] = useState<string | null>(null);
  const selectId = useId();

  let body: ReactNode;
  if (rooms.loaded.state === 'loading') {
    body = <LoadingLine>Loading rooms…</LoadingLine>;
  } else if (rooms.loaded.state === 'failed') {
    body = (
      <LoadFailed title="The rooms could not be listed" message={rooms.loaded.error.message} testId="outbox-error" onRetry={rooms.reload} buttonSize="small" />
    );
  } else {
    const writable: RoomSummary[] = rooms.loaded.value.rooms
      .filter((room) => canWritePackets(room))
      .sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0));
    const roomId = picked !== null && writable.some((room) => room.id === picked) ? picked : (writable[0]?.id ?? null);
    body =
      roomId === null ? (
        <p className="muted" data-testid="outbox-empty">
          No room to write for yet: create a room, or join one you were invited to.
        </p>
      ) : (
        <>
          <div className="field">
            <label className="field-label" htmlFor={selectId}>
              Room
            </label>
            <select
              id={selectId}
              className="input select"
              value={roomId}
              onChange={(event) => setPicked(event.target.value)}
              data-testid="outbox-room"
            >
              {writable.map((room) => (
                <option key={room.id} value={room.id}>
                  {room.site !== '' ? `${room.name} — ${room.site}` : room.name}
                </option>
              ))}
            </select>
          </div>
          <OutboxRoom key={roomId} roomId={roomId} />
        </>
      );
  }

  return (
    <section className="card" aria-labelledby="outbox-title" data-testid="outbox">
      <div className="card-header">
        <h2 className="card-title" id="outbox-title">
          Outbox
        </h2>
      </div>
      <p className="card-note">
        Write a packet with everything you have signed in a room, signed and encrypted for its other members. Carry it to them; they import
        it in their inbox.
      </p>
      {body}
    </section>
  );
}

function OutboxRoom({ roomId }: { roomId: string }) {
  const api = useApi();
  const room = useLoaded(useCallback(() => api['room.show']({ room: roomId }), [api, roomId]));
  if (room.loaded.state === 'loading') {
    return <LoadingLine>Loading the room…</LoadingLine>;
  }
  if (room.loaded.state === 'failed') {
    return (
      <Notice tone="error" title="The room could not be opened" testId="outbox-room-error">
        {room.loaded.error.message}
      </Notice>
    );
  }
  return <WritePacketForm room={room.loaded.value} />;
}
