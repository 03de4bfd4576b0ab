// Adding a volume: a file or folder (a SQL macro library, a model spec) encrypted like a table.
// Private means approved code may use it but no other member ever sees its content, not even its
// file names: only its payload hash. In the browser shell a single file can be uploaded; a folder
// needs its path typed, the desktop app or the CLI.
import { type FormEvent, useRef, useState } from 'react';
import { type AssetView } from '../../../shared/asset.js';
import { useApi } from '../ApiContext.js';
import { assetNameFromPath, assetNameProblem, sourcePathProblem } from '../assets.js';
import { AssetNameField } from '../components/AssetNameField.js';
import { Button } from '../components/Button.js';
import { Icon } from '../components/Icon.js';
import { ErrorNotice } from '../components/Notice.js';
import { noSourceFile, SourcePathField, useSourceFile } from '../components/SourcePathField.js';
import { useAction } from '../useAction.js';
import { ImportProgress } from './ImportProgress.js';

export interface AddVolumeFormProps {
  readonly roomId: string;
  readonly onAdded: (asset: AssetView) => void;
  readonly onCancel: () => void;
}

export function AddVolumeForm({ roomId, onAdded, onCancel }: AddVolumeFormProps) {
  const api = useApi();
  const add = useAction(api['volume.add']);
  const { source, setSource, handOver } = useSourceFile();
  const [uploading, setUploading] = useState(false);
  const [name, setName] = useState('');
  const [nameEdited, setNameEdited] = useState(false);
  const [isPrivate, setIsPrivate] = useState(true);
  const [problems, setProblems] = useState<{ path: string | null; name: string | null }>({ path: null, name: null });
  const [jobId, setJobId] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  const pathRef = useRef<HTMLInputElement>(null);
  const nameRef = useRef<HTMLInputElement>(null);
  const importing = jobId !== null && !failed;
  const locked = add.busy || importing || uploading;

  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (locked) return;
    const next = { path: sourcePathProblem(source.path, 'volume'), name: assetNameProblem(name) };
    setProblems(next);
    if (next.path !== null) {
      pathRef.current?.focus();
      return;
    }
    if (next.name !== null) {
      nameRef.current?.focus();
      return;
    }
    setFailed(false);
    setJobId(null);
    const result = await add.run({ room: roomId, name, path: source.path.trim(), private: isPrivate });
    if (result.ok) {
      handOver();
      setJobId(result.value.job);
    }
  };

  const onFailed = () => {
    setFailed(true);
    // An uploaded copy went with the failed import: the file must be chosen again.
    if (source.uploaded !== null) {
      setSource(noSourceFile);
      setProblems((current) => ({ ...current, path: `The uploaded copy of ${source.uploaded?.name ?? 'the file'} was removed with the failed import: choose it again.` }));
    }
  };

  return (
    <section className="card" aria-labelledby="add-volume-title" data-testid="add-volume">
      <div className="card-header">
        <h2 className="card-title card-title-large" id="add-volume-title">
          <Icon name="folder" size={18} /> Add a volume
        </h2>
        <Button variant="ghost" size="small" onClick={onCancel} data-testid="add-volume-cancel">
          Cancel
        </Button>
      </div>
      <p className="card-note">
        Files your notebooks can use, such as a SQL macro library or a model specification, encrypted on this machine under a new key.
      </p>
      <form className="form form-compact" onSubmit={(event) => void onSubmit(event)} noValidate data-testid="add-volume-form">
        <SourcePathField
          ref={pathRef}
          label="File or folder"
          what="a file or folder"
          placeholder="/home/me/models/readmission-spec"
          source={source}
          readOnly={locked && !uploading}
          onChange={(next) => {
            setSource(next);
            setProblems((current) => ({ ...current, path: null }));
            if (!nameEdited) setName(assetNameFromPath(next.uploaded?.name ?? next.path));
          }}
          onUploadingChange={setUploading}
          uploadNote="A browser can send one file, not a folder: for a folder, type its path below, or use the desktop app or `cleanroom volume add`."
          error={problems.path}
          testId="volume-path"
        />
        <AssetNameField
          ref={nameRef}
          value={name}
          readOnly={locked}
          onChange={(next) => {
            setName(next);
            setNameEdited(true);
          }}
          error={name !== '' ? assetNameProblem(name) : problems.name}
          testId="volume-name"
        />
        <label className="check">
          <input type="checkbox" checked={isPrivate} disabled={locked} onChange={(event) => setIsPrivate(event.target.checked)} data-testid="volume-private" />
          <span>
            Private
            <span className="check-hint">
              Code the members approve can use it, but no one else ever sees its content or even its file names: they see only its
              hash. Off: members see the list of files and their sizes (never the content).
            </span>
          </span>
        </label>
        <ErrorNotice error={add.error} title="The volume was not added" testId="volume-add-error" />
        {jobId !== null && (
          <ImportProgress jobId={jobId} what={name} testId="volume-import" onDone={onAdded} onFailed={onFailed} />
        )}
        <div className="form-actions">
          <Button
            type="submit"
            variant="primary"
            icon={<Icon name="lock" />}
            busy={locked}
            busyLabel={uploading ? 'Uploading…' : 'Adding…'}
            data-testid="volume-add-submit"
          >
            {failed ? 'Try again' : 'Encrypt and add'}
          </Button>
        </div>
      </form>
    </section>
  );
}
