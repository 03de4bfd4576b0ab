// Rooms: the list, the create form and one room's overview. Which one shows is held by AppShell,
// so the Exchange inbox can open the room a packet was for.
import { useCallback } from 'react';
import { type RoomSummary } from '../../../shared/room.js';
import { useApi } from '../ApiContext.js';
import { Badge } from '../components/Badge.js';
import { Button } from '../components/Button.js';
import { EmptyState } from '../components/EmptyState.js';
import { Icon } from '../components/Icon.js';
import { LoadFailed, LoadingLine } from '../components/Loading.js';
import { PageHeader } from '../components/PageHeader.js';
import { formatDate } from '../format.js';
import { joinedLabel, roomStatusInfo } from '../rooms.js';
import { useLoaded } from '../useLoaded.js';
import { CreateRoomForm } from './CreateRoomForm.js';
import { RoomOverview } from './RoomOverview.js';

export type RoomsView =
  | { readonly kind: 'list' }
  | { readonly kind: 'create' }
  | { readonly kind: 'room'; readonly roomId: string; readonly justCreated?: boolean };

export interface RoomsScreenProps {
  readonly view: RoomsView;
  readonly onView: (view: RoomsView) => void;
  readonly onOpenIdentity: () => void;
  readonly onOpenExchange: () => void;
}

export function RoomsScreen({ view, onView, onOpenIdentity, onOpenExchange }: RoomsScreenProps) {
  switch (view.kind) {
    case 'create':
      return (
        <CreateRoomForm
          onCancel={() => onView({ kind: 'list' })}
          onCreated={(room) => onView({ kind: 'room', roomId: room.summary.id, justCreated: true })}
          onOpenIdentity={onOpenIdentity}
        />
      );
    case 'room':
      // Keyed by room: another room is a fresh screen, not this one's state with new data.
      return (
        <RoomOverview
          key={view.roomId}
          roomId={view.roomId}
          justCreated={view.justCreated === true}
          onBack={() => onView({ kind: 'list' })}
        />
      );
    case 'list':
      return (
        <RoomList
          onCreate={() => onView({ kind: 'create' })}
          onOpen={(roomId) => onView({ kind: 'room', roomId })}
          onOpenExchange={onOpenExchange}
        />
      );
  }
}

function RoomList({
  onCreate,
  onOpen,
  onOpenExchange,
}: {
  onCreate: () => void;
  onOpen: (roomId: string) => void;
  onOpenExchange: () => void;
}) {
  const api = useApi();
  const { loaded, reload } = useLoaded(useCallback(() => api['room.list']({}), [api]));

  return (
    <div className="page" data-testid="rooms-screen">
      <PageHeader
        title="Rooms"
        description="Shared workspaces where every member adds data and code, and nothing runs without everyone's approval."
        actions={
          <Button variant="primary" icon={<Icon name="plus" />} onClick={onCreate} data-testid="new-room">
            New room
          </Button>
        }
      />
      {loaded.state === 'loading' && <LoadingLine testId="rooms-loading">Loading rooms…</LoadingLine>}
      {loaded.state === 'failed' && (
        <LoadFailed title="The rooms could not be listed" message={loaded.error.message} testId="rooms-error" onRetry={reload} />
      )}
      {loaded.state === 'ready' && loaded.value.rooms.length === 0 && (
        <EmptyState icon="rooms" title="No rooms yet" testId="rooms-empty">
          <p>
            Create a room with the people you want to analyse data with, or open the invitation packet someone sent you under{' '}
            <button type="button" className="link-button" onClick={onOpenExchange}>
              Exchange
            </button>
            .
          </p>
          <p>
            In a room, the others see your tables&rsquo; column names and types, never their rows. A notebook runs only after every member
            has approved its exact code, and only aggregate results come out.
          </p>
        </EmptyState>
      )}
      {loaded.state === 'ready' && loaded.value.rooms.length > 0 && <RoomTable rooms={loaded.value.rooms} onOpen={onOpen} />}
    </div>
  );
}

function RoomTable({ rooms, onOpen }: { rooms: readonly RoomSummary[]; onOpen: (roomId: string) => void }) {
  const sorted = [...rooms].sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0));
  return (
    <div className="table-card">
      <table className="table" data-testid="room-list">
        <caption className="visually-hidden">Your rooms, most recently changed first</caption>
        <thead>
          <tr>
            <th scope="col">Room</th>
            <th scope="col">Status</th>
            <th scope="col">Members</th>
            <th scope="col">Alerts</th>
            <th scope="col">Last change</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((room) => {
            const status = roomStatusInfo[room.status];
            return (
              <tr key={room.id} data-testid="room-row" data-room-id={room.id} data-status={room.status}>
                <th scope="row">
                  <button type="button" className="row-link" onClick={() => onOpen(room.id)} data-testid="room-open">
                    <span className="row-link-title" data-testid="room-row-name">
                      {room.name}
                    </span>
                    {room.site !== '' && (
                      <span className="row-link-sub" data-testid="room-row-site">
                        {room.site}
                      </span>
                    )}
                  </button>
                </th>
                <td>
                  <Badge tone={status.tone} testId="room-row-status" title={status.explanation}>
                    {status.label}
                  </Badge>
                </td>
                <td data-testid="room-row-members">
                  <span className="members-count">
                    <Icon name="users" size={14} /> {joinedLabel(room)}
                  </span>
                </td>
                <td data-testid="room-row-alerts">
                  {room.alertCount > 0 ? (
                    <Badge tone="danger">
                      <Icon name="alert" size={13} /> {room.alertCount} {room.alertCount === 1 ? 'alert' : 'alerts'}
                    </Badge>
                  ) : (
                    <span className="muted">None</span>
                  )}
                </td>
                <td className="muted">{formatDate(room.updatedAt)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
