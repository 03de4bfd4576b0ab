// Adding a table to a room, in three steps: a CSV, Parquet or JSON file on this machine (its path,
// or in the browser shell a picked or dropped file uploaded to RAM); its schema for review, with a
// role for each column (the suggested ones preselected), what else to share, and the name
// notebooks will use; then the import itself, followed to the end with a progress bar. Core reads
// the file and stores only the encrypted Parquet.
import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import { type AssetView, type ColumnRole, type TableInspection } from '../../../shared/asset.js';
import { useApi } from '../ApiContext.js';
import { assetNameFromPath, assetNameProblem, columnRoleInfo, roleOrder, sourcePathProblem } from '../assets.js';
import { AssetNameField } from '../components/AssetNameField.js';
import { Button } from '../components/Button.js';
import { Icon } from '../components/Icon.js';
import { ErrorNotice } from '../components/Notice.js';
import { RoleLegend } from '../components/RoleBadge.js';
import { noSourceFile, type SourceFile, SourcePathField, useSourceFile } from '../components/SourcePathField.js';
import { formatByteSize } from '../format.js';
import { useAction } from '../useAction.js';
import { ImportProgress } from './ImportProgress.js';

export interface AddTableFormProps {
  readonly roomId: string;
  readonly onAdded: (asset: AssetView) => void;
  readonly onCancel: () => void;
}

const formatLabels: Record<TableInspection['format'], string> = { csv: 'CSV', parquet: 'Parquet', json: 'JSON' };

export function AddTableForm({ roomId, onAdded, onCancel }: AddTableFormProps) {
  const api = useApi();
  const inspect = useAction(api['table.inspect']);
  const { source, setSource, handOver } = useSourceFile();
  const [uploading, setUploading] = useState(false);
  const [pathError, setPathError] = useState<string | null>(null);
  const [inspected, setInspected] = useState<{ source: SourceFile; inspection: TableInspection } | null>(null);
  const pathRef = useRef<HTMLInputElement>(null);

  const onInspect = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (inspect.busy || uploading) return;
    const problem = sourcePathProblem(source.path, 'table');
    setPathError(problem);
    if (problem !== null) {
      pathRef.current?.focus();
      return;
    }
    const trimmed = { ...source, path: source.path.trim() };
    const result = await inspect.run({ path: trimmed.path });
    if (result.ok) setInspected({ source: trimmed, inspection: result.value });
  };

  return (
    <section className="card" aria-labelledby="add-table-title" data-testid="add-table">
      <div className="card-header">
        <h2 className="card-title card-title-large" id="add-table-title">
          <Icon name="table" size={18} /> Add a table
        </h2>
        <Button variant="ghost" size="small" onClick={onCancel} data-testid="add-table-cancel">
          Cancel
        </Button>
      </div>
      <p className="card-note">
        The rows are converted to Parquet and encrypted under a new key on this machine. The others see the name, the columns with their
        types and roles, and the row count only if you share it: never a row.
      </p>
      {inspected === null ? (
        <form className="form form-compact" onSubmit={(event) => void onInspect(event)} noValidate data-testid="add-table-path-form">
          <SourcePathField
            ref={pathRef}
            label="File"
            what="a CSV, Parquet or JSON file"
            accept=".csv,.tsv,.txt,.parquet,.json,.ndjson,.jsonl"
            placeholder="/home/me/data/admissions.csv"
            source={source}
            readOnly={inspect.busy}
            onChange={(next) => {
              setSource(next);
              setPathError(null);
              inspect.clearError();
            }}
            onUploadingChange={setUploading}
            error={pathError}
            testId="table-path"
          />
          <ErrorNotice error={inspect.error} title="The file could not be read" testId="table-inspect-error" />
          <div className="form-actions">
            <Button
              type="submit"
              variant="primary"
              icon={<Icon name="eye" />}
              busy={inspect.busy || uploading}
              busyLabel={uploading ? 'Uploading…' : 'Reading the schema…'}
              data-testid="table-inspect"
            >
              Inspect
            </Button>
          </div>
        </form>
      ) : (
        <ReviewTable
          roomId={roomId}
          source={inspected.source}
          inspection={inspected.inspection}
          onBack={() => setInspected(null)}
          onChooseAgain={() => {
            setInspected(null);
            setSource(noSourceFile);
          }}
          onImportStarted={handOver}
          onAdded={onAdded}
        />
      )}
    </section>
  );
}

interface ReviewTableProps {
  readonly roomId: string;
  readonly source: SourceFile;
  readonly inspection: TableInspection;
  readonly onBack: () => void;
  /** After a failed import of an uploaded file: its copy went with the import, so pick it again. */
  readonly onChooseAgain: () => void;
  /** The import took the file: from now on core removes an uploaded copy when the import ends. */
  readonly onImportStarted: () => void;
  readonly onAdded: (asset: AssetView) => void;
}

function ReviewTable({ roomId, source, inspection, onBack, onChooseAgain, onImportStarted, onAdded }: ReviewTableProps) {
  const { path, uploaded } = source;
  const api = useApi();
  const add = useAction(api['table.add']);
  const [roles, setRoles] = useState<readonly ColumnRole[]>(() => inspection.columns.map((column) => column.suggestedRole));
  const [shareRowCount, setShareRowCount] = useState(false);
  const [allowMinMax, setAllowMinMax] = useState(false);
  const [name, setName] = useState(() => assetNameFromPath(uploaded?.name ?? path));
  const [nameTouched, setNameTouched] = useState(false);
  const [jobId, setJobId] = useState<string | null>(null);
  const [jobEnded, setJobEnded] = useState<'failed' | null>(null);
  const nameRef = useRef<HTMLInputElement>(null);
  const formId = useId();

  const nameProblem = assetNameProblem(name);
  const importing = jobId !== null && jobEnded === null;
  const locked = add.busy || importing;

  useEffect(() => {
    // Reviewing starts at the schema; the name field is below it.
    document.getElementById(`${formId}-schema-title`)?.focus();
  }, [formId]);

  const onImport = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (locked) return;
    setNameTouched(true);
    if (nameProblem !== null) {
      nameRef.current?.focus();
      return;
    }
    setJobEnded(null);
    setJobId(null);
    const result = await add.run({
      room: roomId,
      name,
      path,
      format: inspection.format,
      roles: inspection.columns.map((column, index) => ({ column: column.name, role: roles[index] ?? column.suggestedRole })),
      shareRowCount,
      allowMinMax,
    });
    if (result.ok) {
      onImportStarted();
      setJobId(result.value.job);
    }
  };
  const mustChooseAgain = jobEnded === 'failed' && uploaded !== null;

  return (
    <form className="form form-compact" onSubmit={(event) => void onImport(event)} noValidate data-testid="add-table-review">
      <dl className="file-facts">
        <div>
          <dt>File</dt>
          <dd>
            <code className="wrap-anywhere" data-testid="table-review-path" data-uploaded={uploaded !== null}>
              {uploaded?.name ?? path}
            </code>
          </dd>
        </div>
        <div>
          <dt>Format</dt>
          <dd data-testid="table-review-format">{formatLabels[inspection.format]}</dd>
        </div>
        <div>
          <dt>Size</dt>
          <dd>{formatByteSize(inspection.size)}</dd>
        </div>
        <div className="file-facts-action">
          <button type="button" className="link-button" onClick={onBack} disabled={locked} data-testid="table-review-back">
            Choose another file
          </button>
        </div>
      </dl>

      <fieldset className="choice-group" disabled={locked}>
        <legend className="field-label" id={`${formId}-schema-title`} tabIndex={-1}>
          Columns and their roles
        </legend>
        <p className="field-hint">
          The role decides what notebooks may do with a column. Suggestions are preselected: ID-like and e-mail-like columns start as
          join keys.
        </p>
        <RoleLegend testId="role-legend" />
        <div className="table-scroll">
          <table className="table table-compact schema-table" data-testid="schema-review">
            <caption className="visually-hidden">Columns found in the file, with the role each will have</caption>
            <thead>
              <tr>
                <th scope="col">Column</th>
                <th scope="col">Type</th>
                <th scope="col">Role</th>
              </tr>
            </thead>
            <tbody>
              {inspection.columns.map((column, index) => {
                const role = roles[index] ?? column.suggestedRole;
                return (
                  <tr key={`${index}-${column.name}`} data-testid="schema-row" data-column={column.name}>
                    <th scope="row">
                      <code className="column-name">{column.name === '' ? '(no name)' : column.name}</code>
                    </th>
                    <td>
                      <code className="column-type">{column.type}</code>
                    </td>
                    <td>
                      <select
                        className="input select role-select"
                        aria-label={`Role of ${column.name}`}
                        value={role}
                        onChange={(event) => {
                          const next = event.target.value as ColumnRole;
                          setRoles((current) => current.map((existing, at) => (at === index ? next : existing)));
                        }}
                        data-testid="schema-role"
                        data-role={role}
                      >
                        {roleOrder.map((option) => (
                          <option key={option} value={option}>
                            {columnRoleInfo[option].label}
                            {option === column.suggestedRole ? ' (suggested)' : ''}
                          </option>
                        ))}
                      </select>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </fieldset>

      <fieldset className="choice-group" disabled={locked}>
        <legend className="field-label">What else the others may know</legend>
        <div className="check-list">
          <label className="check">
            <input type="checkbox" checked={shareRowCount} onChange={(event) => setShareRowCount(event.target.checked)} data-testid="table-share-row-count" />
            <span>
              Share the row count
              <span className="check-hint">Members see how many rows the table has. Off: they see only its columns.</span>
            </span>
          </label>
          <label className="check">
            <input type="checkbox" checked={allowMinMax} onChange={(event) => setAllowMinMax(event.target.checked)} data-testid="table-allow-min-max" />
            <span>
              Allow min and max of measures
              <span className="check-hint">An extreme value can single out one person: allow it only when that is harmless.</span>
            </span>
          </label>
        </div>
      </fieldset>

      <AssetNameField
        ref={nameRef}
        value={name}
        readOnly={locked}
        onChange={(next) => {
          setName(next);
          setNameTouched(true);
        }}
        hintLive
        // Live once the person has typed: the rule is on screen before that.
        error={nameTouched || name !== '' ? nameProblem : null}
        testId="table-name"
      />

      {!roles.includes('privacy_unit') && (
        <p className="explainer" role="note" data-testid="table-no-privacy-unit">
          No column is the privacy unit. In an aggregate room this table is then a public lookup: it joins other tables on
          dimensions only, and its join keys cannot be used. If its rows are about people, mark the column that names the person.
        </p>
      )}
      <ErrorNotice error={add.error} title="The import did not start" testId="table-add-error" />
      {jobId !== null && (
        <ImportProgress
          jobId={jobId}
          what={name}
          testId="table-import"
          onDone={onAdded}
          onFailed={() => setJobEnded('failed')}
        />
      )}
      <div className="form-actions">
        {mustChooseAgain ? (
          // The uploaded copy was removed with the failed import: nothing is left to try again with.
          <Button variant="primary" icon={<Icon name="file" />} onClick={onChooseAgain} data-testid="table-choose-again">
            Choose the file again
          </Button>
        ) : (
          <Button type="submit" variant="primary" icon={<Icon name="lock" />} busy={locked} busyLabel="Importing…" data-testid="table-import-submit">
            {jobEnded === 'failed' ? 'Try the import again' : 'Encrypt and import'}
          </Button>
        )}
      </div>
    </form>
  );
}
