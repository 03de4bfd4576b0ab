// One room: who is in it (with fingerprints to compare), its policy, amendments, status and
// history, and the next thing this member should do (join, or carry a packet to the others);
// then, under their own tabs, its tables and volumes, its notebooks with their approvals, its runs
// (with receipts and release) and the output tables this member can read.
import { type FormEvent, type ReactNode, useCallback, useEffect, useId, useRef, useState } from 'react';
import { type AmendmentView, type RoomDetail } from '../../../shared/room.js';
import { useApi } from '../ApiContext.js';
import { BackLink } from '../components/BackLink.js';
import { Badge } from '../components/Badge.js';
import { Button } from '../components/Button.js';
import { CopyButton } from '../components/CopyButton.js';
import { Icon } from '../components/Icon.js';
import { FieldError } from '../components/Field.js';
import { FingerprintToggle, SharingId } from '../components/Identifier.js';
import { LoadFailed, LoadingLine } from '../components/Loading.js';
import { ErrorNotice, Notice } from '../components/Notice.js';
import { PageHeader } from '../components/PageHeader.js';
import { type TabSpec, tabPanelProps, Tabs } from '../components/Tabs.js';
import { formatDate, formatDateTime, initials, listNames } from '../format.js';
import {
  alertMessage,
  awaitsMySignature,
  canWritePackets,
  contactsOutsideRoom,
  me,
  memberStatusInfo,
  newestFirst,
  packetRecipients,
  policyModeInfo,
  roomStatusInfo,
} from '../rooms.js';
import { toggled } from '../toggled.js';
import { useAction } from '../useAction.js';
import { useLoaded } from '../useLoaded.js';
import { AssetsPanel } from './AssetsPanel.js';
import { NotebooksPanel, type NotebooksView } from './NotebooksPanel.js';
import { OutputsPanel, type OutputsView } from './OutputsPanel.js';
import { RunsPanel, type RunsView } from './RunsPanel.js';
import { PacketPrompt } from './PacketPrompt.js';
import { WritePacketForm } from './WritePacketForm.js';

/** The room's sections: its members and history, its data, its code, its runs and their outputs. */
type RoomTab = 'overview' | 'assets' | 'notebooks' | 'runs' | 'outputs';

/** What this member just did that the others can only learn from a packet. */
type NextStep = 'invite' | 'joined' | 'left' | null;

export interface RoomOverviewProps {
  readonly roomId: string;
  readonly justCreated: boolean;
  readonly onBack: () => void;
}

export function RoomOverview({ roomId, justCreated, onBack }: RoomOverviewProps) {
  const api = useApi();
  const room = useLoaded(useCallback(() => api['room.show']({ room: roomId }), [api, roomId]));
  const [nextStep, setNextStep] = useState<NextStep>(justCreated ? 'invite' : null);
  const [tab, setTab] = useState<RoomTab>('overview');
  const [notebooksView, setNotebooksView] = useState<NotebooksView>({ kind: 'list' });
  const assets = useLoaded(useCallback(() => api['asset.list']({ room: roomId }), [api, roomId]));
  const snapshots = useLoaded(useCallback(() => api['notebook.list']({ room: roomId }), [api, roomId]));
  const runs = useLoaded(useCallback(() => api['run.list']({ room: roomId }), [api, roomId]));
  const outputs = useLoaded(useCallback(() => api['output.list']({ room: roomId }), [api, roomId]));
  const [runsView, setRunsView] = useState<RunsView>({ kind: 'list' });
  const [outputsView, setOutputsView] = useState<OutputsView>({ kind: 'list' });
  const tabsId = useId();

  const back = <BackLink label="Rooms" onClick={onBack} testId="back-to-rooms" />;

  if (room.loaded.state !== 'ready') {
    return (
      <div className="page" data-testid="room-screen" data-state={room.loaded.state}>
        {back}
        {room.loaded.state === 'loading' ? (
          <LoadingLine>Opening the room…</LoadingLine>
        ) : (
          <LoadFailed title="The room could not be opened" message={room.loaded.error.message} testId="room-error" onRetry={room.reload} />
        )}
      </div>
    );
  }

  const detail = room.loaded.value;
  const { summary } = detail;
  const status = roomStatusInfo[summary.status];
  // The guided next step replaces the general packet card while it is on screen.
  const showSendUpdates = nextStep === null && canWritePackets(summary);
  const showLeave = summary.myStatus === 'joined';
  // Someone only invited has nothing to propose or sign yet; show amendments once they matter.
  const amendments =
    summary.myStatus === 'joined' || detail.amendments.length > 0 ? (
      <AmendmentsCard detail={detail} onUpdated={(next) => updated(next)} />
    ) : null;
  const leave = showLeave ? <LeaveCard detail={detail} onLeft={(next) => updated(next, 'left')} /> : null;
  const updated = (next: RoomDetail, step: NextStep = nextStep) => {
    room.replace(next);
    setNextStep(step);
  };

  const tabs: readonly TabSpec<RoomTab>[] = [
    { id: 'overview', label: 'Overview' },
    { id: 'assets', label: 'Assets', count: assets.loaded.state === 'ready' ? assets.loaded.value.assets.length : null },
    { id: 'notebooks', label: 'Notebooks', count: snapshots.loaded.state === 'ready' ? snapshots.loaded.value.snapshots.length : null },
    { id: 'runs', label: 'Runs', count: runs.loaded.state === 'ready' ? runs.loaded.value.runs.length : null },
    { id: 'outputs', label: 'Outputs', count: outputs.loaded.state === 'ready' ? outputs.loaded.value.outputs.length : null },
  ];
  const selectTab = (next: RoomTab) => {
    // A tab opens on its list when chosen again, as a top-level tab should.
    if (next === tab) {
      if (next === 'notebooks') setNotebooksView({ kind: 'list' });
      if (next === 'runs') setRunsView({ kind: 'list' });
      if (next === 'outputs') setOutputsView({ kind: 'list' });
    }
    // Runs and outputs change in core (a run ends, a packet brings a release): show them fresh.
    if (next === 'runs' || next === 'outputs') {
      runs.reload();
      outputs.reload();
    }
    setTab(next);
  };
  const runEnded = () => {
    runs.reload();
    outputs.reload();
  };
  const showRun = (run: string) => {
    runEnded();
    setRunsView({ kind: 'run', id: run });
    setTab('runs');
  };

  return (
    <div className="page" data-testid="room-screen" data-state="ready" data-room-id={summary.id} data-status={summary.status} data-tab={tab}>
      {back}
      <PageHeader
        title={summary.name}
        description={
          <>
            {summary.site !== '' && (
              <>
                <span data-testid="room-site">{summary.site}</span>
                <span aria-hidden="true"> · </span>
              </>
            )}
            Created by {detail.createdBy} on {formatDate(detail.createdAt)}
          </>
        }
        actions={
          <Badge tone={status.tone} testId="room-status" title={status.explanation}>
            {status.label}
          </Badge>
        }
      />

      {detail.alerts.length > 0 && <SecurityAlerts detail={detail} />}
      {summary.myStatus === 'invited' && <InvitationBanner detail={detail} onJoined={(next) => updated(next, 'joined')} />}

      <Tabs label="Room sections" idBase={tabsId} tabs={tabs} selected={tab} onSelect={selectTab} />
      <div {...tabPanelProps(tabsId, tab)} className="tab-panel" data-testid={`room-panel-${tab}`}>
        {tab === 'overview' && (
          <div className="stack-cards">
            {nextStep !== null && canWritePackets(summary) && <NextStepCard step={nextStep} detail={detail} />}
            <MembersCard detail={detail} />
            <PolicyCard detail={detail} />
            <ActivityCard detail={detail} />
            {showSendUpdates ? (
              <div className="card-grid card-grid-top">
                <section className="card" aria-labelledby="send-updates-title" data-testid="send-updates">
                  <div className="card-header">
                    <h2 className="card-title" id="send-updates-title">
                      Send your updates
                    </h2>
                  </div>
                  <p className="card-note">
                    A packet carries everything you have signed in this room. Write one whenever the others should see something new, and
                    carry it to them.
                  </p>
                  <WritePacketForm room={detail} />
                </section>
                <div className="stack-cards">
                  {amendments}
                  {leave}
                </div>
              </div>
            ) : (
              (amendments !== null || leave !== null) && (
                <div className="card-grid card-grid-top">
                  {amendments}
                  {leave}
                </div>
              )
            )}
          </div>
        )}
        {tab === 'assets' && <AssetsPanel room={detail} assets={assets} />}
        {tab === 'notebooks' && (
          <NotebooksPanel
            room={detail}
            snapshots={snapshots}
            assets={assets}
            view={notebooksView}
            onView={setNotebooksView}
            onShowRun={showRun}
            onRunEnded={runEnded}
          />
        )}
        {tab === 'runs' && <RunsPanel room={detail} runs={runs} outputs={outputs} assets={assets} view={runsView} onView={setRunsView} />}
        {tab === 'outputs' && <OutputsPanel roomId={summary.id} outputs={outputs} view={outputsView} onView={setOutputsView} />}
      </div>
    </div>
  );
}

function SecurityAlerts({ detail }: { detail: RoomDetail }) {
  const authors = [...new Set(detail.alerts.map((alert) => alert.author))];
  return (
    <section className="security-alerts" role="alert" aria-labelledby="security-alerts-title" data-testid="room-alerts">
      <div className="security-alerts-header">
        <Icon name="alert" size={20} />
        <h2 id="security-alerts-title">{detail.alerts.length === 1 ? 'Security alert' : `${detail.alerts.length} security alerts`}</h2>
      </div>
      <ul className="security-alerts-list">
        {detail.alerts.map((alert, index) => (
          <li key={`${alert.authorKey}-${alert.seq}-${index}`} data-testid="room-alert" data-kind={alert.kind}>
            <p className="security-alert-message">{alertMessage(alert)}</p>
            <p className="security-alert-detail">
              {alert.detail} <span className="muted">· noticed {formatDateTime(alert.at)}</span>
            </p>
          </li>
        ))}
      </ul>
      <p className="security-alerts-advice">
        Do not approve or run anything in this room until you have talked to {listNames(authors)} by phone: someone may have forged or
        replayed entries in their name.
      </p>
    </section>
  );
}

function InvitationBanner({ detail, onJoined }: { detail: RoomDetail; onJoined: (next: RoomDetail) => void }) {
  const api = useApi();
  const join = useAction(api['room.join']);
  const expired = detail.summary.status === 'expired';

  const onJoin = async () => {
    if (join.busy) return;
    const result = await join.run({ room: detail.summary.id });
    if (result.ok) onJoined(result.value);
  };

  if (expired) {
    return (
      <Notice tone="error" title="This invitation has expired" testId="room-invitation-expired">
        It was valid until {formatDateTime(detail.invitationExpiresAt)}. Ask {detail.createdBy} to create the room again and send you a new
        invitation.
      </Notice>
    );
  }
  return (
    <section className="banner" aria-labelledby="invitation-title" data-testid="room-invitation">
      <div className="banner-icon" aria-hidden="true">
        <Icon name="users" size={22} />
      </div>
      <div className="banner-body">
        <h2 className="banner-title" id="invitation-title">
          {detail.createdBy} invited you to this room
        </h2>
        <p>
          Before you join, compare each member&rsquo;s sharing identifier below with them by phone. Joining signs the room as it is: its
          members and its policy. The invitation is valid until {formatDateTime(detail.invitationExpiresAt)}.
        </p>
        <ErrorNotice error={join.error} title="You did not join" testId="room-join-error" />
      </div>
      <Button
        variant="primary"
        icon={<Icon name="check" />}
        onClick={() => void onJoin()}
        busy={join.busy}
        busyLabel="Joining…"
        data-testid="room-join"
      >
        Join room
      </Button>
    </section>
  );
}

const nextStepText: Record<Exclude<NextStep, null>, { title: string; body: (others: string) => ReactNode; submit: string }> = {
  invite: {
    title: 'Next step: write the invitation packet',
    body: (others) => (
      <>
        So far the room exists only on this machine. Write the invitation packet and carry it to {others}. They open it under Exchange,
        compare sharing identifiers with you, and join.
      </>
    ),
    submit: 'Write the invitation packet',
  },
  joined: {
    title: 'Next step: tell the others you joined',
    body: (others) => <>You have joined. Write a packet and carry it to {others}: they see you joined once they import it.</>,
    submit: 'Write packet',
  },
  left: {
    title: 'Next step: tell the others you left',
    body: (others) => <>You have left. Write a packet and carry it to {others} so they see it too.</>,
    submit: 'Write packet',
  },
};

function NextStepCard({ step, detail }: { step: Exclude<NextStep, null>; detail: RoomDetail }) {
  const text = nextStepText[step];
  const others = listNames(packetRecipients(detail).map((member) => member.alias)) || 'the other members';
  return (
    <PacketPrompt room={detail} title={text.title} submitLabel={text.submit} testId="room-next-step" dataStep={step} focusKey={step}>
      {text.body(others)}
    </PacketPrompt>
  );
}

function MembersCard({ detail }: { detail: RoomDetail }) {
  const joined = detail.members.filter((member) => member.status === 'joined').length;
  return (
    <section className="card card-flush" aria-labelledby="members-title" data-testid="room-members">
      <div className="card-header card-header-padded">
        <h2 className="card-title" id="members-title">
          Members
        </h2>
        <span className="muted card-header-note" data-testid="room-joined-count">
          {joined} of {detail.members.length} joined
        </span>
      </div>
      <table className="table table-in-card">
        <caption className="visually-hidden">Members of {detail.summary.name}, with the identifiers to compare by phone</caption>
        <thead>
          <tr>
            <th scope="col">Member</th>
            <th scope="col">Sharing identifier</th>
            <th scope="col">Fingerprint</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {detail.members.map((member) => {
            const memberStatus = memberStatusInfo[member.status];
            return (
              <tr
                key={member.signPublicKey}
                data-testid="member-row"
                data-alias={member.alias}
                data-status={member.status}
                data-me={member.isMe}
              >
                <th scope="row">
                  <span className="member">
                    <span className="avatar" aria-hidden="true">
                      {initials(member.alias)}
                    </span>
                    <span className="member-alias" data-testid="member-alias">
                      {member.alias}
                    </span>
                    {member.isMe && (
                      <span className="tag" data-testid="member-you">
                        you
                      </span>
                    )}
                  </span>
                </th>
                <td>
                  <SharingId value={member.sharingId} testId="member-sharing-id" />
                </td>
                <td>
                  <FingerprintToggle value={member.fingerprint} testId="member-fingerprint" />
                </td>
                <td>
                  <Badge tone={memberStatus.tone} testId="member-status">
                    {memberStatus.label}
                  </Badge>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

function PolicyCard({ detail }: { detail: RoomDetail }) {
  const mode = policyModeInfo[detail.policy.mode];
  // Once everyone has joined, the invitation's deadline no longer matters to anyone.
  const invitationOpen = detail.summary.status === 'invited' || detail.summary.status === 'pending' || detail.summary.status === 'expired';
  return (
    <section className="card" aria-labelledby="policy-title" data-testid="room-policy">
      <div className="card-header">
        <h2 className="card-title" id="policy-title">
          Policy
        </h2>
        <span className="muted card-header-note">Part of the room&rsquo;s definition: every member signs it by joining</span>
      </div>
      <dl className="stat-grid">
        <div className="stat stat-wide">
          <dt>Outputs</dt>
          <dd>
            <span className="stat-value" data-testid="policy-mode" data-mode={detail.policy.mode}>
              {mode.label}
            </span>
            <span className="stat-note">{mode.explanation}</span>
          </dd>
        </div>
        <div className="stat">
          <dt>Minimum group size</dt>
          <dd>
            <span className="stat-value">
              k = <span data-testid="policy-min-group-size">{detail.policy.minGroupSize}</span>
            </span>
            <span className="stat-note">Smaller groups are suppressed</span>
          </dd>
        </div>
        <div className="stat">
          <dt>Outputs kept</dt>
          <dd>
            <span className="stat-value" data-testid="policy-retention">
              {detail.policy.outputRetentionDays === 1 ? '1 day' : `${detail.policy.outputRetentionDays} days`}
            </span>
            <span className="stat-note">Then deleted</span>
          </dd>
        </div>
        {invitationOpen ? (
          <div className="stat">
            <dt>Invitation expires</dt>
            <dd>
              <span className="stat-value" data-testid="policy-invitation" title={formatDateTime(detail.invitationExpiresAt)}>
                {formatDate(detail.invitationExpiresAt)}
              </span>
              <span className="stat-note">Then no one else can join</span>
            </dd>
          </div>
        ) : (
          <div className="stat">
            <dt>Room id</dt>
            <dd className="stat-with-action">
              <code className="identifier identifier-muted" title={detail.summary.id}>
                {detail.summary.id.slice(0, 12)}…
              </code>
              <CopyButton text={detail.summary.id} label="room id" testId="copy-room-id" />
            </dd>
          </div>
        )}
      </dl>
    </section>
  );
}

function AmendmentsCard({ detail, onUpdated }: { detail: RoomDetail; onUpdated: (next: RoomDetail) => void }) {
  const myAlias = me(detail)?.alias;
  const pending = detail.amendments.filter((amendment) => amendment.status === 'pending');
  const accepted = detail.amendments.filter((amendment) => amendment.status === 'accepted');
  const canPropose = detail.summary.myStatus === 'joined' && detail.summary.status === 'active';
  return (
    <section className="card" aria-labelledby="amendments-title" data-testid="room-amendments">
      <div className="card-header">
        <h2 className="card-title" id="amendments-title">
          Adding members
        </h2>
      </div>
      <p className="card-note">A new member is added by an amendment that takes effect once every current member has signed it.</p>
      {pending.length > 0 && (
        <ul className="amendment-list" data-testid="amendments-pending">
          {pending.map((amendment) => (
            <PendingAmendment
              key={amendment.id}
              amendment={amendment}
              roomId={detail.summary.id}
              canSign={awaitsMySignature(amendment, myAlias)}
              onSigned={onUpdated}
            />
          ))}
        </ul>
      )}
      {accepted.length > 0 && (
        <ul className="amendment-list amendment-list-done">
          {accepted.map((amendment) => (
            <li key={amendment.id} className="amendment" data-testid="amendment-accepted">
              <Icon name="check" size={14} /> Added {listNames(amendment.addMembers.map((member) => member.alias))}, proposed by{' '}
              {amendment.proposedBy}
            </li>
          ))}
        </ul>
      )}
      {canPropose ? (
        <ProposeAmendment detail={detail} onProposed={onUpdated} />
      ) : (
        <p className="muted small">
          {detail.summary.myStatus === 'joined' ? 'You can propose new members once everyone has joined.' : 'No amendments so far.'}
        </p>
      )}
    </section>
  );
}

function PendingAmendment({
  amendment,
  roomId,
  canSign,
  onSigned,
}: {
  amendment: AmendmentView;
  roomId: string;
  canSign: boolean;
  onSigned: (next: RoomDetail) => void;
}) {
  const api = useApi();
  const sign = useAction(api['room.signAmendment']);
  const onSign = async () => {
    if (sign.busy) return;
    const result = await sign.run({ room: roomId, amendment: amendment.id });
    if (result.ok) onSigned(result.value);
  };
  return (
    <li className="amendment amendment-pending" data-testid="amendment" data-amendment-id={amendment.id}>
      <p>
        <strong>{amendment.proposedBy}</strong> proposes adding:
      </p>
      <ul className="amendment-members">
        {amendment.addMembers.map((member) => (
          <li key={member.signPublicKey}>
            <span className="member-alias">{member.alias}</span>
          </li>
        ))}
      </ul>
      <p className="small muted">
        Signed by {amendment.signedBy.length > 0 ? listNames(amendment.signedBy) : 'no one yet'}
        {amendment.waitingFor.length > 0 && <> · waiting for {listNames(amendment.waitingFor)}</>}
      </p>
      <ErrorNotice error={sign.error} title="Not signed" testId="amendment-sign-error" />
      {canSign && (
        <div>
          <Button
            size="small"
            variant="primary"
            icon={<Icon name="pen" size={14} />}
            onClick={() => void onSign()}
            busy={sign.busy}
            busyLabel="Signing…"
            data-testid="amendment-sign"
          >
            Sign
          </Button>
        </div>
      )}
    </li>
  );
}

function ProposeAmendment({ detail, onProposed }: { detail: RoomDetail; onProposed: (next: RoomDetail) => void }) {
  const api = useApi();
  const contacts = useLoaded(useCallback(() => api['contact.list']({}), [api]));
  const propose = useAction(api['room.proposeAmendment']);
  const [chosen, setChosen] = useState<readonly string[]>([]);
  const [problem, setProblem] = useState<string | null>(null);

  if (contacts.loaded.state === 'loading') return null;
  if (contacts.loaded.state === 'failed') {
    return (
      <Notice tone="error" title="Your contacts could not be listed">
        {contacts.loaded.error.message}
      </Notice>
    );
  }
  const candidates = contactsOutsideRoom(contacts.loaded.value.contacts, detail);
  if (candidates.length === 0) {
    return <p className="muted small">To propose a new member, import their identity card under Identity → Contacts first.</p>;
  }

  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (propose.busy) return;
    if (chosen.length === 0) {
      setProblem('Pick at least one contact to add.');
      return;
    }
    const result = await propose.run({ room: detail.summary.id, addMembers: [...chosen] });
    if (result.ok) {
      setChosen([]);
      onProposed(result.value);
    }
  };

  return (
    <form
      className="form form-compact propose-form"
      onSubmit={(event) => void onSubmit(event)}
      noValidate
      data-testid="propose-amendment-form"
    >
      <fieldset className="choice-group">
        <legend className="field-label">Propose adding</legend>
        <div className="check-list">
          {candidates.map((contact) => (
            <label className="check" key={contact.signPublicKey}>
              <input
                type="checkbox"
                checked={chosen.includes(contact.signPublicKey)}
                onChange={(event) => {
                  setProblem(null);
                  propose.clearError();
                  setChosen((current) => toggled(current, contact.signPublicKey, event.target.checked));
                }}
                data-testid={`propose-member-${contact.alias}`}
              />
              <span>
                {contact.alias} <SharingId value={contact.sharingId} />
              </span>
            </label>
          ))}
        </div>
      </fieldset>
      {problem !== null && <FieldError>{problem}</FieldError>}
      <ErrorNotice error={propose.error} title="Nothing was proposed" testId="propose-amendment-error" />
      <div>
        <Button
          type="submit"
          size="small"
          icon={<Icon name="plus" size={14} />}
          busy={propose.busy}
          busyLabel="Proposing…"
          data-testid="propose-amendment-submit"
        >
          Propose
        </Button>
      </div>
    </form>
  );
}

function ActivityCard({ detail }: { detail: RoomDetail }) {
  const entries = newestFirst(detail.log);
  return (
    <section className="card card-flush" aria-labelledby="activity-title" data-testid="room-activity">
      <div className="card-header card-header-padded">
        <h2 className="card-title" id="activity-title">
          Activity
        </h2>
        <span className="muted card-header-note">Signed entries from every member, newest first</span>
      </div>
      {entries.length === 0 ? (
        <p className="muted card-body">Nothing yet.</p>
      ) : (
        <ol className="log" data-testid="room-log">
          {entries.map((entry) => (
            <li key={entry.id} className="log-entry" data-testid="log-entry" data-type={entry.type}>
              <time className="log-time" dateTime={entry.at} data-testid="log-time">
                {formatDateTime(entry.at)}
              </time>
              <span className="log-author" data-testid="log-author">
                {entry.author}
              </span>
              <span className="log-summary" data-testid="log-summary">
                {entry.summary}
              </span>
              {entry.settlement === null ? null : (
                <span className="log-settlement" data-testid="log-settlement">
                  Conflict settled: {entry.settlement}
                </span>
              )}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function LeaveCard({ detail, onLeft }: { detail: RoomDetail; onLeft: (next: RoomDetail) => void }) {
  const api = useApi();
  const leave = useAction(api['room.leave']);
  const [confirming, setConfirming] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const startRef = useRef<HTMLButtonElement>(null);
  // Focus follows the question: onto "Leave room" when asked, back to where it was on Cancel.
  const wasConfirming = useRef(false);
  useEffect(() => {
    if (confirming) confirmRef.current?.focus();
    else if (wasConfirming.current) startRef.current?.focus();
    wasConfirming.current = confirming;
  }, [confirming]);

  const onLeave = async () => {
    if (leave.busy) return;
    const result = await leave.run({ room: detail.summary.id });
    if (result.ok) {
      setConfirming(false);
      onLeft(result.value);
    }
  };

  return (
    <section className="card" aria-labelledby="leave-title" data-testid="room-leave">
      <div className="card-header">
        <h2 className="card-title" id="leave-title">
          Leave the room
        </h2>
      </div>
      <p className="card-note">You keep its history on this machine. The others see that you left once they import your next packet.</p>
      <ErrorNotice error={leave.error} title="You did not leave" testId="room-leave-error" />
      {confirming ? (
        <div className="confirm" role="group" aria-labelledby="leave-confirm-text" data-testid="room-leave-confirm">
          <p id="leave-confirm-text">
            Leave <strong>{detail.summary.name}</strong>? You cannot join it again without a new invitation.
          </p>
          <div className="form-actions">
            <Button
              ref={confirmRef}
              variant="danger"
              icon={<Icon name="leave" />}
              onClick={() => void onLeave()}
              busy={leave.busy}
              busyLabel="Leaving…"
              data-testid="room-leave-confirm-button"
            >
              Leave room
            </Button>
            <Button variant="ghost" onClick={() => setConfirming(false)} disabled={leave.busy} data-testid="room-leave-cancel">
              Cancel
            </Button>
          </div>
        </div>
      ) : (
        <div>
          <Button ref={startRef} icon={<Icon name="leave" />} onClick={() => setConfirming(true)} data-testid="room-leave-button">
            Leave room…
          </Button>
        </div>
      )}
    </section>
  );
}
