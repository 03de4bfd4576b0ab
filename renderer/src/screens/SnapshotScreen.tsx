// One snapshot: the frozen code to review (read-only cells), its id (the hash every approval
// names), who wrote it, who runs it and who receives the outputs, the assets it reads by hash,
// and the approval matrix: every member's approval, its expiry and runs, and which data keys it
// released to the runner. Here a member approves or revokes, and the runner runs it. A private
// library the notebook uses shows by name, owner and payload hash only: its content never reaches
// anyone but its owner, so what an approval pins is that hash.
import { type FormEvent, useCallback, useId, useState } from 'react';
import { type SnapshotView } from '../../../shared/approval-status.js';
import { type Cell } from '../../../shared/notebook.js';
import { type RoomDetail } from '../../../shared/room.js';
import { useApi } from '../ApiContext.js';
import { shortHash } from '../assets.js';
import { BackLink } from '../components/BackLink.js';
import { Badge } from '../components/Badge.js';
import { Button } from '../components/Button.js';
import { CopyButton } from '../components/CopyButton.js';
import { TextField } from '../components/Field.js';
import { Icon } from '../components/Icon.js';
import { LoadFailed, LoadingLine } from '../components/Loading.js';
import { ErrorNotice, Notice } from '../components/Notice.js';
import { SqlCode } from '../components/SqlCode.js';
import { formatDate, formatDateTime, initials, listNames } from '../format.js';
import { snapshotLibraries } from '../libraries.js';
import {
  type ApproveInput,
  type ApprovalRow,
  approvalStateInfo,
  canApprove,
  checkApprove,
  defaultApproveInput,
  keyCell,
  markdownBlocks,
  runsLabel,
} from '../notebooks.js';
import { memberAlias, packetRecipients } from '../rooms.js';
import { useAction } from '../useAction.js';
import { useLoaded } from '../useLoaded.js';
import { PacketPrompt } from './PacketPrompt.js';
import { RunCard } from './RunCard.js';

/** What this member just did that the others learn only from a packet. */
type Done = 'added' | 'approved' | 'revoked' | null;

export interface SnapshotScreenProps {
  readonly room: RoomDetail;
  readonly snapshotId: string;
  /** The view notebook.add just returned, shown at once. */
  readonly initial: SnapshotView | null;
  readonly onBack: () => void;
  /** After approve or revoke, so the list's counts follow. */
  readonly onChanged: () => void;
  /** Opens a run (its outputs and receipt) in the Runs tab. */
  readonly onShowRun: (run: string) => void;
  /** A run ended: the room's runs and outputs changed. */
  readonly onRunEnded: () => void;
}

export function SnapshotScreen({ room, snapshotId, initial, onBack, onChanged, onShowRun, onRunEnded }: SnapshotScreenProps) {
  const api = useApi();
  const roomId = room.summary.id;
  const snapshot = useLoaded(useCallback(() => api['notebook.show']({ room: roomId, snapshot: snapshotId }), [api, roomId, snapshotId]));
  const [done, setDone] = useState<Done>(initial !== null ? 'added' : null);
  const back = <BackLink label="Notebooks" onClick={onBack} testId="back-to-notebooks" />;

  const view = snapshot.loaded.state === 'ready' ? snapshot.loaded.value : initial;
  if (view === null) {
    return (
      <div className="stack-cards" data-testid="snapshot" data-state={snapshot.loaded.state}>
        {back}
        {snapshot.loaded.state === 'failed' ? (
          <LoadFailed title="The snapshot could not be opened" message={snapshot.loaded.error.message} testId="snapshot-error" onRetry={snapshot.reload} />
        ) : (
          <LoadingLine>Opening the snapshot…</LoadingLine>
        )}
      </div>
    );
  }

  const changed = (next: SnapshotView, what: Exclude<Done, null>) => {
    snapshot.replace(next);
    setDone(what);
    onChanged();
  };
  const others = listNames(packetRecipients(room).map((member) => member.alias)) || 'the other members';
  const promptText: Record<Exclude<Done, null>, { title: string; body: string }> = {
    added: {
      title: 'Next step: send the snapshot for review',
      body: `The snapshot is signed and in the room on this machine. Write a packet and carry it to ${others}: they read the code and approve it, or not.`,
    },
    approved: {
      title: 'Next step: send your approval',
      body: `Your approval and your sealed keys reach ${view.runner} only in a packet. Write one and carry it to ${others}.`,
    },
    revoked: {
      title: 'Next step: send your revocation',
      body: `The others learn that you withdrew your approval only from a packet. Write one and carry it to ${others}.`,
    },
  };

  return (
    <div className="stack-cards" data-testid="snapshot" data-state="ready" data-snapshot-id={view.id} data-can-run={view.status.canRun}>
      {back}
      <header className="snapshot-header">
        <div>
          <h2 className="snapshot-title" data-testid="snapshot-name">
            {view.name}
          </h2>
          <p className="muted">
            Snapshot by {view.author} · added {formatDateTime(view.createdAt)}
          </p>
        </div>
        <Badge tone={view.status.canRun ? 'good' : 'warning'} testId="snapshot-can-run-badge">
          {view.status.canRun
            ? 'Can run'
            : view.status.members.some((member) => member.state === 'used-up' || member.state === 'expired' || member.state === 'revoked')
              ? 'Cannot run: approve again'
              : 'Waiting for approvals'}
        </Badge>
      </header>

      {done !== null && (
        <PacketPrompt room={room} title={promptText[done].title} testId="snapshot-next-step" focusKey={done} dataStep={done}>
          {promptText[done].body}
        </PacketPrompt>
      )}

      <SnapshotFacts view={view} />
      <CanRunBanner view={view} />
      <RunCard
        view={view}
        room={room}
        onShowRun={onShowRun}
        onRunEnded={() => {
          // A run uses one run of each approval: the matrix's "runs left" changed.
          snapshot.reload();
          onChanged();
          onRunEnded();
        }}
      />
      <ApprovalMatrix view={view} room={room} />
      <MyApproval view={view} room={room} onChanged={changed} />
      <Libraries view={view} room={room} />
      <ReferencedAssets view={view} room={room} />
      <Cells view={view} />
    </div>
  );
}

function SnapshotFacts({ view }: { view: SnapshotView }) {
  return (
    <section className="card" aria-label="About this snapshot" data-testid="snapshot-facts">
      <dl className="stat-grid">
        <div className="stat stat-wide">
          <dt>Snapshot id</dt>
          <dd className="stat-with-action">
            <code className="identifier identifier-muted snapshot-id" title={view.id} data-testid="snapshot-id">
              {view.id}
            </code>
            <CopyButton text={view.id} label="snapshot id" testId="copy-snapshot-id" />
          </dd>
        </div>
        <div className="stat">
          <dt>Author</dt>
          <dd>
            <span className="stat-value" data-testid="snapshot-author">
              {view.author}
            </span>
            <span className="stat-note">Signed it</span>
          </dd>
        </div>
        <div className="stat">
          <dt>Runner</dt>
          <dd>
            <span className="stat-value" data-testid="snapshot-runner">
              {view.runner}
            </span>
            <span className="stat-note">Receives the released keys</span>
          </dd>
        </div>
        <div className="stat">
          <dt>Outputs go to</dt>
          <dd>
            <span className="stat-value" data-testid="snapshot-recipients">
              {listNames(view.recipients)}
            </span>
            <span className="stat-note">When the runner releases them</span>
          </dd>
        </div>
      </dl>
      <p className="card-note">
        The id is the hash of everything below: the cells, the assets by hash, the runner and the recipients. Change one byte and it is a
        different snapshot that needs new approvals.
      </p>
    </section>
  );
}

function CanRunBanner({ view }: { view: SnapshotView }) {
  if (view.status.canRun) {
    return (
      <Notice tone="success" title="Ready to run" testId="snapshot-can-run">
        Every member has approved this exact code and every data key it needs is released to {view.runner}.
      </Notice>
    );
  }
  return (
    <Notice tone="warning" title="Cannot run yet" testId="snapshot-can-run">
      {view.status.reasons.length > 0 ? (
        <ul className="reason-list" data-testid="snapshot-reasons">
          {view.status.reasons.map((reason) => (
            <li key={reason}>{reason}</li>
          ))}
        </ul>
      ) : (
        <p>Not every approval or key is in place.</p>
      )}
    </Notice>
  );
}

function ApprovalMatrix({ view, room }: { view: SnapshotView; room: RoomDetail }) {
  const approvedOrAuthor = view.status.members.filter((row) => row.state === 'approved' || row.state === 'author').length;
  return (
    <section className="card card-flush" aria-labelledby="approval-matrix-title" data-testid="approval-matrix">
      <div className="card-header card-header-padded">
        <h3 className="card-title" id="approval-matrix-title">
          Approvals
        </h3>
        <span className="muted card-header-note" data-testid="approval-count">
          {approvedOrAuthor} of {view.status.members.length} approved · keys go to {view.runner} only
        </span>
      </div>
      <div className="table-scroll">
        <table className="table table-in-card matrix">
          <caption className="visually-hidden">
            Each member&rsquo;s approval of this snapshot, and whether the data keys of the assets they own are released to the runner
          </caption>
          <thead>
            <tr>
              <th scope="col">Member</th>
              <th scope="col">Approval</th>
              <th scope="col">Expires</th>
              <th scope="col" className="number">
                Runs left
              </th>
              {view.assets.map((asset) => (
                <th scope="col" key={asset.asset} className="matrix-key-column">
                  <span className="matrix-key-head">
                    <Icon name="key" size={13} /> <code>{asset.name}</code>
                  </span>
                  <span className="matrix-key-owner">{memberAlias(room, asset.owner)}</span>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {view.status.members.map((row) => (
              <MatrixRow key={row.key} row={row} view={view} isMe={room.members.some((member) => member.isMe && member.signPublicKey === row.key)} />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function MatrixRow({ row, view, isMe }: { row: ApprovalRow; view: SnapshotView; isMe: boolean }) {
  const state = approvalStateInfo[row.state];
  return (
    <tr data-testid="approval-row" data-alias={row.alias} data-state={row.state}>
      <th scope="row">
        <span className="member">
          <span className="avatar avatar-small" aria-hidden="true">
            {initials(row.alias)}
          </span>
          <span className="member-alias">{row.alias}</span>
          {isMe && <span className="tag">you</span>}
        </span>
      </th>
      <td>
        <Badge tone={state.tone} testId="approval-state" title={state.explanation}>
          {state.label}
        </Badge>
      </td>
      <td data-testid="approval-expires">
        {row.expiresAt !== null ? <time dateTime={row.expiresAt} title={formatDateTime(row.expiresAt)}>{formatDate(row.expiresAt)}</time> : <span className="muted">—</span>}
      </td>
      <td className="number" data-testid="approval-runs-left">{row.runsLeft !== null ? row.runsLeft : <span className="muted">—</span>}</td>
      {view.assets.map((asset) => {
        const cell = keyCell(row, asset.name);
        return (
          <td key={asset.asset} className="matrix-key" data-testid="approval-key" data-asset={asset.name} data-key={cell}>
            {cell === 'released' && (
              <span className="key-released" title={`Key for ${asset.name} released to ${view.runner}`}>
                <Icon name="check" size={15} />
                <span className="visually-hidden">Key for {asset.name} released</span>
              </span>
            )}
            {cell === 'withheld' && (
              <span className="key-withheld" title={`Key for ${asset.name} not released`}>
                —<span className="visually-hidden">Key for {asset.name} not released</span>
              </span>
            )}
            {cell === 'not-theirs' && <span className="visually-hidden">Not theirs</span>}
          </td>
        );
      })}
    </tr>
  );
}

function MyApproval({
  view,
  room,
  onChanged,
}: {
  view: SnapshotView;
  room: RoomDetail;
  onChanged: (next: SnapshotView, what: 'approved' | 'revoked') => void;
}) {
  const api = useApi();
  const grant = useAction(api['approval.grant']);
  const revoke = useAction(api['approval.revoke']);
  const [input, setInput] = useState<ApproveInput>(defaultApproveInput);
  const [problems, setProblems] = useState<Partial<Record<keyof ApproveInput, string>>>({});
  const formId = useId();
  const myKey = room.members.find((member) => member.isMe)?.signPublicKey;
  const row = view.status.members.find((candidate) => candidate.key === myKey);
  if (row === undefined || room.summary.myStatus !== 'joined') return null;

  const myAssets = row.keys.map((key) => key.asset);
  const releases =
    myAssets.length > 0
      ? `your data keys for ${listNames(myAssets)}, sealed so only ${view.runner} can open them`
      : 'no data keys (this snapshot reads none of your tables)';

  const onGrant = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (grant.busy) return;
    const checked = checkApprove(input);
    if (!checked.ok) {
      setProblems(checked.problems);
      return;
    }
    setProblems({});
    const result = await grant.run({ room: room.summary.id, snapshot: view.id, expiresDays: checked.expiresDays, runs: checked.runs });
    if (result.ok) onChanged(result.value, 'approved');
  };
  const onRevoke = async () => {
    if (revoke.busy) return;
    const result = await revoke.run({ room: room.summary.id, snapshot: view.id });
    if (result.ok) onChanged(result.value, 'revoked');
  };

  let body;
  if (row.state === 'approved') {
    body = (
      <>
        <p data-testid="my-approval-state">
          You approved this snapshot
          {row.expiresAt !== null && <> until {formatDateTime(row.expiresAt)}</>}
          {row.runsLeft !== null && <>, for {runsLabel(row.runsLeft)} more</>}. Revoking withdraws it: {view.runner} cannot use your keys for
          it once they import your next packet.
        </p>
        <ErrorNotice error={revoke.error} title="Your approval was not revoked" testId="revoke-error" />
        <div>
          <Button variant="danger" icon={<Icon name="cross" />} onClick={() => void onRevoke()} busy={revoke.busy} busyLabel="Revoking…" data-testid="revoke">
            Revoke my approval
          </Button>
        </div>
      </>
    );
  } else if (!canApprove(row)) {
    body = (
      <p className="muted" data-testid="my-approval-state">
        You wrote this snapshot: adding it counted as your approval.
      </p>
    );
  } else {
    body = (
      <form className="form form-compact" onSubmit={(event) => void onGrant(event)} noValidate data-testid="approve-form" aria-describedby={`${formId}-what`}>
        <p id={`${formId}-what`}>
          {row.state === 'author' ? 'You wrote this snapshot. ' : 'Read the cells below first. '}
          Approving signs this exact snapshot for {view.runner} and releases {releases}.
        </p>
        <div className="form-columns approve-fields">
          <TextField
            label="Valid for (days)"
            name="approve-expires-days"
            inputMode="numeric"
            value={input.expiresDays}
            readOnly={grant.busy}
            onChange={(event) => setInput({ ...input, expiresDays: event.target.value })}
            hint="After this it releases nothing."
            error={problems.expiresDays ?? null}
            errorTestId="approve-expires-days-error"
            data-testid="approve-expires-days"
          />
          <TextField
            label="Runs allowed"
            name="approve-runs"
            inputMode="numeric"
            value={input.runs}
            readOnly={grant.busy}
            onChange={(event) => setInput({ ...input, runs: event.target.value })}
            hint="Each run uses one."
            error={problems.runs ?? null}
            errorTestId="approve-runs-error"
            data-testid="approve-runs"
          />
        </div>
        <ErrorNotice error={grant.error} title="Not approved" testId="approve-error" />
        <div className="form-actions">
          <Button type="submit" variant="primary" icon={<Icon name="check" />} busy={grant.busy} busyLabel="Signing…" data-testid="approve">
            {row.state === 'author' ? 'Release my keys' : 'Approve'}
          </Button>
        </div>
      </form>
    );
  }

  return (
    <section className="card" aria-labelledby="my-approval-title" data-testid="my-approval" data-state={row.state}>
      <div className="card-header">
        <h3 className="card-title" id="my-approval-title">
          Your approval
        </h3>
        <Badge tone={approvalStateInfo[row.state].tone}>{approvalStateInfo[row.state].label}</Badge>
      </div>
      {body}
    </section>
  );
}

function Libraries({ view, room }: { view: SnapshotView; room: RoomDetail }) {
  const libraries = snapshotLibraries(view);
  if (libraries.length === 0) return null;
  const myKey = room.members.find((member) => member.isMe)?.signPublicKey;
  return (
    <section className="card" aria-labelledby="snapshot-libraries-title" data-testid="snapshot-libraries">
      <div className="card-header">
        <h3 className="card-title" id="snapshot-libraries-title">
          <Icon name="lock" size={16} /> Private libraries
        </h3>
        <span className="muted card-header-note">Macros the cells call, pinned by hash</span>
      </div>
      <ul className="library-list">
        {libraries.map((library) => {
          const mine = library.asset !== null && library.asset.owner === myKey;
          const owner = library.asset === null ? 'an unknown member' : memberAlias(room, library.asset.owner);
          return (
            <li key={library.name} className="library-item" data-testid="snapshot-library" data-name={library.name} data-mine={mine}>
              <p className="library-line">
                <Icon name="lock" size={14} /> Private library <code>{library.name}</code> by {mine ? 'you' : owner}
                {library.asset !== null && (
                  <>
                    {' '}
                    — payload hash{' '}
                    <code className="identifier identifier-small" title={library.asset.payloadHash} data-testid="snapshot-library-hash">
                      {shortHash(library.asset.payloadHash)}
                    </code>
                    <CopyButton text={library.asset.payloadHash} label={`payload hash of ${library.name}`} testId="copy-library-hash" />
                  </>
                )}
              </p>
              <p className="muted small" data-testid="snapshot-library-note">
                {mine
                  ? 'Your library: the other members see only this hash, never its content. It runs only inside the worker of the runner you approve.'
                  : `Its content is never shown to you: not here, not in errors, not on disk. Approving pins this exact hash: a changed library is a different snapshot, which needs your approval again.`}
              </p>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function ReferencedAssets({ view, room }: { view: SnapshotView; room: RoomDetail }) {
  return (
    <section className="card card-flush" aria-labelledby="snapshot-assets-title" data-testid="snapshot-assets">
      <div className="card-header card-header-padded">
        <h3 className="card-title" id="snapshot-assets-title">
          Assets it reads
        </h3>
        <span className="muted card-header-note">Pinned by hash: a changed table is a different asset</span>
      </div>
      {view.assets.length === 0 ? (
        <p className="muted card-body">None.</p>
      ) : (
        <table className="table table-in-card">
          <caption className="visually-hidden">The assets this snapshot reads, each pinned by its id and payload hash</caption>
          <thead>
            <tr>
              <th scope="col">Asset</th>
              <th scope="col">Owner</th>
              <th scope="col">Asset id</th>
              <th scope="col">Payload hash</th>
            </tr>
          </thead>
          <tbody>
            {view.assets.map((asset) => (
              <tr key={asset.asset} data-testid="snapshot-asset" data-name={asset.name}>
                <th scope="row">
                  <code>{asset.name}</code>{' '}
                  <span className="muted small">{asset.kind === 'volume' && (view.notebook.libraries ?? []).includes(asset.name) ? 'library' : asset.kind}</span>
                </th>
                <td>{memberAlias(room, asset.owner)}</td>
                <td>
                  <code className="identifier identifier-small" title={asset.asset}>
                    {shortHash(asset.asset)}
                  </code>
                </td>
                <td>
                  <code className="identifier identifier-small" title={asset.payloadHash} data-testid="snapshot-asset-payload">
                    {shortHash(asset.payloadHash)}
                  </code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Cells({ view }: { view: SnapshotView }) {
  const { parameters, cells, libraries } = view.notebook;
  return (
    <section className="card" aria-labelledby="snapshot-cells-title" data-testid="snapshot-cells">
      <div className="card-header">
        <h3 className="card-title" id="snapshot-cells-title">
          Code
        </h3>
        <span className="muted card-header-note">Read-only: this is exactly what an approval approves</span>
      </div>
      {libraries !== undefined && libraries.length > 0 && (
        <SqlCode source={libraries.map((name) => `-- library ${name}`).join('\n')} label="Libraries the notebook uses" testId="snapshot-library-lines" />
      )}
      {parameters.length > 0 && (
        <dl className="parameter-list" data-testid="snapshot-parameters">
          {parameters.map((parameter) => (
            <div key={parameter.name}>
              <dt>
                <code>{parameter.name}</code>
              </dt>
              <dd>
                <code>{parameter.value}</code>
              </dd>
            </div>
          ))}
        </dl>
      )}
      <ol className="cell-list">
        {cells.map((cell, index) => (
          <CellView key={index} cell={cell} index={index} />
        ))}
      </ol>
    </section>
  );
}

const cellKindNames: Record<Cell['kind'], string> = { sql: 'SQL', markdown: 'Note', train: 'Train' };

function CellView({ cell, index }: { cell: Cell; index: number }) {
  return (
    <li className="cell" data-testid="snapshot-cell" data-kind={cell.kind} data-output={cell.output ?? ''}>
      <p className="cell-head">
        <span className="cell-number">{index + 1}</span>
        <span>{cellKindNames[cell.kind]}</span>
        {cell.output !== null && (
          <span className="cell-output">
            → output <code>{cell.output}</code>
          </span>
        )}
        {cell.options.map((option) => (
          <span key={option.key} className="cell-option">
            <code>
              {option.key}={option.value}
            </code>
          </span>
        ))}
      </p>
      {cell.kind === 'markdown' ? <MarkdownText source={cell.source} /> : <SqlCode source={cell.source.replace(/\n+$/u, '')} label={`Cell ${index + 1}, ${cellKindNames[cell.kind]}`} />}
    </li>
  );
}

/** Markdown as plain text blocks: headings, paragraphs, lists. Nothing is read as HTML. */
function MarkdownText({ source }: { source: string }) {
  return (
    <div className="cell-markdown">
      {markdownBlocks(source).map((block, index) => {
        if (block.kind === 'heading') return <p key={index} className={`md-heading md-heading-${block.level}`}>{block.text}</p>;
        if (block.kind === 'list') {
          return (
            <ul key={index}>
              {block.items.map((item, at) => (
                <li key={at}>{item}</li>
              ))}
            </ul>
          );
        }
        return <p key={index}>{block.text}</p>;
      })}
    </div>
  );
}
