// Writing a notebook: SQL in the jupytext "percent" format, checked as you type (what each cell
// reads and what the policy would refuse), a runner and the output recipients. "Add to room"
// freezes the exact text as a snapshot signed by you; editing afterwards makes a new snapshot.
import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import { type SnapshotView } from '../../../shared/approval-status.js';
import { type AssetView } from '../../../shared/asset.js';
import { type ApiResponse } from '../../../shared/contract.js';
import { type ApiError } from '../../../shared/errors.js';
import { type RoomDetail } from '../../../shared/room.js';
import { useApi } from '../ApiContext.js';
import { Button } from '../components/Button.js';
import { TextField } from '../components/Field.js';
import { Icon } from '../components/Icon.js';
import { NotebookEditor } from '../components/NotebookEditor.js';
import { ErrorNotice } from '../components/Notice.js';
import { notebookNameProblem, starterNotebook } from '../notebooks.js';
import { me } from '../rooms.js';
import { toggled } from '../toggled.js';
import { useAction } from '../useAction.js';

/** How long typing must pause before the notebook is checked. */
export const checkDelayMs = 400;

type NotebookCheck = ApiResponse<'notebook.check'>;
/** The latest answer of notebook.check, and the text it was for. */
type CheckAnswer =
  | { readonly source: string; readonly ok: true; readonly check: NotebookCheck }
  | { readonly source: string; readonly ok: false; readonly error: ApiError };

export interface NewNotebookFormProps {
  readonly room: RoomDetail;
  readonly assets: readonly AssetView[];
  readonly onAdded: (snapshot: SnapshotView) => void;
  readonly onCancel: () => void;
}

export function NewNotebookForm({ room, assets, onAdded, onCancel }: NewNotebookFormProps) {
  const api = useApi();
  const add = useAction(api['notebook.add']);
  const self = me(room);
  const members = room.members.filter((member) => member.status === 'joined');
  const [name, setName] = useState('');
  const [nameError, setNameError] = useState<string | null>(null);
  const [source, setSource] = useState(() => starterNotebook(assets));
  const [runner, setRunner] = useState(self?.alias ?? members[0]?.alias ?? '');
  const [recipients, setRecipients] = useState<readonly string[]>([]);
  const [answer, setAnswer] = useState<CheckAnswer | null>(null);
  const nameRef = useRef<HTMLInputElement>(null);
  const runnerId = useId();
  const roomId = room.summary.id;

  // The check follows the text: after a pause in typing, and only the latest answer counts.
  useEffect(() => {
    let current = true;
    const timer = window.setTimeout(() => {
      api['notebook.check']({ room: roomId, source }).then(
        (result) => {
          if (current) setAnswer(result.ok ? { source, ok: true, check: result.value } : { source, ok: false, error: result.error });
        },
        (thrown: unknown) => {
          const message = thrown instanceof Error ? thrown.message : 'Cleanroom did not answer.';
          if (current) setAnswer({ source, ok: false, error: { code: 'INTERNAL', message } });
        },
      );
    }, checkDelayMs);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [api, roomId, source]);

  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (add.busy) return;
    const problem = notebookNameProblem(name);
    setNameError(problem);
    if (problem !== null) {
      nameRef.current?.focus();
      return;
    }
    const result = await add.run({
      room: roomId,
      name: name.trim(),
      source,
      runner,
      ...(recipients.length > 0 ? { recipients: [...recipients] } : {}),
    });
    if (result.ok) onAdded(result.value);
  };

  return (
    <section className="card" aria-labelledby="new-notebook-title" data-testid="new-notebook">
      <div className="card-header">
        <h2 className="card-title card-title-large" id="new-notebook-title">
          <Icon name="notebook" size={18} /> New notebook
        </h2>
        <Button variant="ghost" size="small" onClick={onCancel} data-testid="new-notebook-cancel">
          Cancel
        </Button>
      </div>
      <p className="card-note">
        <code>-- %%</code> starts a SQL cell, <code>-- %% [markdown]</code> a note for the reviewers (its lines start with{' '}
        <code>--</code>), and <code>-- %% output=NAME</code> a cell whose result becomes the output table NAME. Refer to the room&rsquo;s
        tables by their names
        {assets.length > 0 && (
          <>
            : <RoomTableNames assets={assets} />
          </>
        )}
        .
      </p>
      <form className="form form-compact" onSubmit={(event) => void onSubmit(event)} noValidate data-testid="new-notebook-form">
        <TextField
          ref={nameRef}
          label="Name"
          name="notebook-name"
          autoComplete="off"
          maxLength={100}
          value={name}
          readOnly={add.busy}
          onChange={(event) => {
            setName(event.target.value);
            setNameError(null);
          }}
          hint="Every member sees it, e.g. “Readmission rate by age band and plan”."
          error={nameError}
          errorTestId="notebook-name-error"
          data-testid="notebook-name"
        />
        <NotebookEditor label="Notebook" initialValue={source} onChange={setSource} readOnly={add.busy} testId="notebook-source" />
        <CheckResults answer={answer} current={answer !== null && answer.source === source} />

        <div className="form-columns">
          <div className="field">
            <label className="field-label" htmlFor={runnerId}>
              Runner
            </label>
            <select
              id={runnerId}
              className="input select"
              value={runner}
              disabled={add.busy}
              onChange={(event) => setRunner(event.target.value)}
              aria-describedby={`${runnerId}-hint`}
              data-testid="notebook-runner"
            >
              {members.map((member) => (
                <option key={member.signPublicKey} value={member.alias}>
                  {member.alias}
                  {member.isMe ? ' (you)' : ''}
                </option>
              ))}
            </select>
            <p className="field-hint" id={`${runnerId}-hint`}>
              The member whose app runs it. Approvals release data keys to this member only.
            </p>
          </div>
          <fieldset className="choice-group" disabled={add.busy}>
            <legend className="field-label">Who receives the outputs</legend>
            <div className="check-list check-list-inline">
              {members.map((member) => (
                <label className="check" key={member.signPublicKey}>
                  <input
                    type="checkbox"
                    checked={recipients.includes(member.alias)}
                    onChange={(event) => setRecipients((current) => toggled(current, member.alias, event.target.checked))}
                    data-testid={`notebook-recipient-${member.alias}`}
                  />
                  <span>
                    {member.alias}
                    {member.isMe ? ' (you)' : ''}
                  </span>
                </label>
              ))}
            </div>
            <p className="field-hint">Leave all unticked and only the runner receives them.</p>
          </fieldset>
        </div>

        <p className="explainer">
          <strong>Adding it freezes this exact text</strong> as a snapshot signed by you; its hash becomes its id. It can run only once every
          other member has approved that snapshot. Editing later makes a new snapshot that needs new approvals.
        </p>
        <ErrorNotice error={add.error} title="The notebook was not added" testId="notebook-add-error" />
        <div className="form-actions">
          <Button type="submit" variant="primary" icon={<Icon name="pen" />} busy={add.busy} busyLabel="Signing…" data-testid="notebook-add">
            Add to room
          </Button>
        </div>
      </form>
    </section>
  );
}

function RoomTableNames({ assets }: { assets: readonly AssetView[] }) {
  return (
    <>
      {assets.map((asset, index) => (
        <span key={asset.id}>
          {index > 0 && ', '}
          <code>{asset.name}</code>
        </span>
      ))}
    </>
  );
}

const cellKindLabels: Record<NotebookCheck['cells'][number]['kind'], string> = { sql: 'SQL', markdown: 'Markdown', train: 'Train' };

/** The latest check; while the text has changed since, it stays on screen, marked as being redone. */
function CheckResults({ answer, current }: { answer: CheckAnswer | null; current: boolean }) {
  const shown = answer !== null && answer.ok ? answer.check : null;
  const busy = !current;
  const state = busy ? 'checking' : answer?.ok === true ? 'checked' : 'failed';
  const problemCount = shown === null ? 0 : shown.problems.length + shown.cells.reduce((sum, cell) => sum + cell.problems.length, 0);

  let status: string;
  if (answer !== null && !answer.ok) status = busy ? 'Checking…' : 'The notebook could not be checked.';
  else if (shown === null) status = 'Checking…';
  else if (problemCount === 0) status = shown.cells.length === 1 ? '1 cell, no problems found.' : `${shown.cells.length} cells, no problems found.`;
  else status = problemCount === 1 ? '1 problem: the room would refuse this notebook as it is.' : `${problemCount} problems: the room would refuse this notebook as it is.`;

  return (
    <section
      className="check-results"
      aria-labelledby="notebook-check-title"
      data-testid="notebook-check"
      data-state={state}
      data-ok={shown?.ok ?? ''}
      aria-busy={busy}
    >
      <div className="check-results-header">
        <h3 className="check-results-title" id="notebook-check-title">
          Check
        </h3>
        <p className={`check-results-status${problemCount > 0 ? ' check-results-status-bad' : ''}`} aria-live="polite" data-testid="notebook-check-status">
          {busy && <span className="spinner" aria-hidden="true" />} {status}
        </p>
      </div>
      {answer !== null && !answer.ok && !busy && <ErrorNotice error={answer.error} title="Not checked" testId="notebook-check-error" />}
      {shown !== null && shown.problems.length > 0 && (
        <ul className="problem-list" data-testid="notebook-problems">
          {shown.problems.map((problem) => (
            <li key={problem}>
              <Icon name="alert" size={14} /> {problem}
            </li>
          ))}
        </ul>
      )}
      {shown !== null && shown.cells.length > 0 && (
        <table className="table table-compact check-table" data-testid="notebook-check-cells">
          <caption className="visually-hidden">Each cell: its kind, its output table, the tables it reads, and its problems</caption>
          <thead>
            <tr>
              <th scope="col">Cell</th>
              <th scope="col">Kind</th>
              <th scope="col">Output</th>
              <th scope="col">Reads</th>
              <th scope="col">Verdict</th>
            </tr>
          </thead>
          <tbody>
            {shown.cells.map((cell) => (
              <tr key={cell.index} data-testid="notebook-check-cell" data-kind={cell.kind} data-ok={cell.problems.length === 0}>
                <th scope="row">{cell.index + 1}</th>
                <td>{cellKindLabels[cell.kind]}</td>
                <td>{cell.output !== '' ? <code data-testid="check-cell-output">{cell.output}</code> : <span className="muted">—</span>}</td>
                <td data-testid="check-cell-reads">
                  {cell.reads.length > 0 ? (
                    cell.reads.map((read, index) => (
                      <span key={read}>
                        {index > 0 && ', '}
                        <code>{read}</code>
                      </span>
                    ))
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
                <td data-testid="check-cell-problems">
                  {cell.problems.length === 0 ? (
                    <span className="verdict-ok">
                      <Icon name="check" size={14} /> {cell.kind === 'markdown' ? 'Note' : 'OK'}
                    </span>
                  ) : (
                    <ul className="problem-list">
                      {cell.problems.map((problem) => (
                        <li key={problem}>
                          <Icon name="alert" size={14} /> {problem}
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
