// Where a table or volume comes from. Core reads it from a path on this machine. In the desktop app
// a picked or dropped file gives its path (a large file streams from disk; its bytes never pass
// through this window). A browser never tells a page where a picked file lives, so in the browser
// shell a picked or dropped file is uploaded to the local shell, which keeps it in a private
// RAM-backed folder (never in the home) and answers the path to read; the person sees the file's
// own name, and can still type a path instead.
import { forwardRef, type ReactNode, useCallback, useEffect, useId, useRef, useState } from 'react';
import { type ApiError } from '../../../shared/errors.js';
import { formatByteSize } from '../format.js';
import { canPickLocalFiles, localPathOf } from '../localFiles.js';
import { discardStagedFile, readShellToken, startUpload, type Upload, type UploadProgress } from '../upload.js';
import { Button } from './Button.js';
import { TextField } from './Field.js';
import { FileDrop } from './FileDrop.js';
import { ErrorNotice } from './Notice.js';
import { ProgressBar } from './ProgressBar.js';

/** A file uploaded through the browser shell: its staged path is read, its name is shown. */
export interface UploadedFile {
  readonly name: string;
  readonly size: number;
}

/** What the form reads from: a path, and the uploaded file it stands for, if it is one. */
export interface SourceFile {
  readonly path: string;
  readonly uploaded: UploadedFile | null;
}

export const noSourceFile: SourceFile = { path: '', uploaded: null };

const shellToken = () => readShellToken(window.sessionStorage);

const discard = (path: string) => discardStagedFile({ path, token: shellToken(), fetch: (url, init) => window.fetch(url, init) });

/**
 * A form's source file, with the uploaded copy discarded when it is replaced or the form goes away
 * unused. Once an import has taken it (`handOver`), core removes it when the import ends.
 */
export function useSourceFile(): { source: SourceFile; setSource: (next: SourceFile) => void; handOver: () => void } {
  const [source, setSourceState] = useState<SourceFile>(noSourceFile);
  const current = useRef<SourceFile>(noSourceFile);
  const handedOver = useRef(false);
  const setSource = useCallback((next: SourceFile) => {
    const previous = current.current;
    if (previous.uploaded !== null && previous.path !== next.path && !handedOver.current) discard(previous.path);
    if (previous.path !== next.path) handedOver.current = false;
    current.current = next;
    setSourceState(next);
  }, []);
  useEffect(
    () => () => {
      const last = current.current;
      if (last.uploaded !== null && !handedOver.current) discard(last.path);
    },
    [],
  );
  const handOver = useCallback(() => {
    handedOver.current = true;
  }, []);
  return { source, setSource, handOver };
}

export interface SourcePathFieldProps {
  readonly label: string;
  readonly source: SourceFile;
  readonly onChange: (source: SourceFile) => void;
  /** What the path should point at, e.g. "a CSV, Parquet or JSON file". */
  readonly what: string;
  readonly accept?: string;
  readonly readOnly?: boolean;
  readonly error: string | null;
  readonly placeholder: string;
  readonly testId: string;
  /** What the app does with the file, for "…until the import ends" (default "the import"). */
  readonly task?: string;
  /** Browser shell only: a line on what cannot be uploaded (e.g. folders). */
  readonly uploadNote?: ReactNode;
  /** Told when an upload starts and ends, so the form can wait for it. */
  readonly onUploadingChange?: (uploading: boolean) => void;
}

type UploadState =
  | { readonly state: 'idle' }
  | { readonly state: 'sending'; readonly name: string; readonly progress: UploadProgress | null; readonly upload: Upload }
  | { readonly state: 'failed'; readonly name: string; readonly error: ApiError };

export const SourcePathField = forwardRef<HTMLInputElement, SourcePathFieldProps>(function SourcePathField(props, ref) {
  return canPickLocalFiles() ? <LocalPathField {...props} ref={ref} /> : <UploadField {...props} ref={ref} />;
});

/** The drop zone both pickers share: they differ only in what the hint says and what a file does. */
function SourceFileDrop({
  hint,
  accept,
  testId,
  onFile,
}: {
  readonly hint: string;
  readonly accept: string | undefined;
  readonly testId: string;
  readonly onFile: (file: File) => void;
}) {
  return (
    <FileDrop
      title="Drop the file here"
      hint={hint}
      buttonLabel="Choose file…"
      {...(accept !== undefined ? { accept } : {})}
      icon="file"
      testId={`${testId}-drop`}
      onFiles={(files) => {
        const file = files[0];
        if (file !== undefined) onFile(file);
      }}
    />
  );
}

/** Desktop app: a picked or dropped file fills in its own path. */
const LocalPathField = forwardRef<HTMLInputElement, SourcePathFieldProps>(function LocalPathField(
  { label, source, onChange, what, accept, readOnly = false, error, placeholder, testId },
  ref,
) {
  const [pickProblem, setPickProblem] = useState<string | null>(null);
  return (
    <div className="stack source-path" data-testid={`${testId}-field`} data-picker="path">
      <TextField
        ref={ref}
        label={label}
        name={testId}
        placeholder={placeholder}
        spellCheck={false}
        autoCapitalize="off"
        autoCorrect="off"
        autoComplete="off"
        value={source.path}
        readOnly={readOnly}
        onChange={(event) => {
          setPickProblem(null);
          onChange({ path: event.target.value, uploaded: null });
        }}
        hint={`Choose or drop ${what} below, or type its full path. It is read from where it is; nothing is uploaded.`}
        error={error ?? pickProblem}
        errorTestId={`${testId}-error`}
        data-testid={testId}
      />
      {!readOnly && (
        <SourceFileDrop
          hint="Or choose it: only its path is taken."
          accept={accept}
          testId={testId}
          onFile={(file) => {
            const path = localPathOf(file);
            if (path === null) setPickProblem(`${file.name} is not a file on this machine's disk: save it to a folder first.`);
            else {
              setPickProblem(null);
              onChange({ path, uploaded: null });
            }
          }}
        />
      )}
    </div>
  );
});

/** Browser shell: a picked or dropped file is uploaded with progress; a path can still be typed. */
const UploadField = forwardRef<HTMLInputElement, SourcePathFieldProps>(function UploadField(
  { label, source, onChange, what, accept, readOnly = false, error, placeholder, testId, uploadNote, onUploadingChange, task = 'the import' },
  ref,
) {
  const [upload, setUpload] = useState<UploadState>({ state: 'idle' });
  const labelId = useId();
  const sending = upload.state === 'sending' ? upload.upload : null;
  const reportUploading = useRef(onUploadingChange);
  useEffect(() => {
    reportUploading.current = onUploadingChange;
  });
  useEffect(() => {
    reportUploading.current?.(sending !== null);
  }, [sending]);
  // Leaving the form stops an upload still going: the shell keeps nothing of it.
  useEffect(() => () => sending?.cancel(), [sending]);

  const send = async (file: File) => {
    const started = startUpload<File>({
      file,
      token: shellToken(),
      createRequest: () => new XMLHttpRequest(),
      onProgress: (progress) =>
        setUpload((current) => (current.state === 'sending' && current.upload === started ? { ...current, progress } : current)),
    });
    setUpload({ state: 'sending', name: file.name, progress: null, upload: started });
    const outcome = await started.outcome;
    setUpload((current) => {
      if (current.state !== 'sending' || current.upload !== started) return current;
      return outcome.state === 'failed' ? { state: 'failed', name: file.name, error: outcome.error } : { state: 'idle' };
    });
    if (outcome.state === 'done') onChange({ path: outcome.file.path, uploaded: { name: outcome.file.name, size: outcome.file.size } });
  };

  const chosen = source.uploaded !== null && source.path !== '' ? source.uploaded : null;

  return (
    <div className="stack source-path" role="group" aria-labelledby={labelId} data-testid={`${testId}-field`} data-picker="upload" data-upload={upload.state}>
      <p className="field-label" id={labelId}>
        {label}
      </p>
      {chosen !== null ? (
        <dl className="file-facts" data-testid={`${testId}-uploaded`} data-name={chosen.name}>
          <div>
            <dt>Chosen</dt>
            <dd>
              <code className="wrap-anywhere" data-testid={`${testId}-uploaded-name`}>
                {chosen.name}
              </code>
            </dd>
          </div>
          <div>
            <dt>Size</dt>
            <dd>{formatByteSize(chosen.size)}</dd>
          </div>
          {!readOnly && (
            <div className="file-facts-action">
              <button type="button" className="link-button" onClick={() => onChange({ path: '', uploaded: null })} data-testid={`${testId}-uploaded-change`}>
                Use another file
              </button>
            </div>
          )}
        </dl>
      ) : upload.state === 'sending' ? (
        <div className="stack" data-testid={`${testId}-upload`}>
          <ProgressBar
            progress={upload.progress ?? { percent: 0, label: `Uploading ${upload.name}…` }}
            label={`Uploading ${upload.name}`}
            testId={`${testId}-upload-progress`}
          />
          <div className="form-actions">
            <Button variant="secondary" size="small" onClick={() => upload.upload.cancel()} data-testid={`${testId}-upload-cancel`}>
              Cancel upload
            </Button>
          </div>
        </div>
      ) : (
        !readOnly && (
          <SourceFileDrop
            hint={`Or choose it. Cleanroom on this machine receives a copy and keeps it in memory only, never in its folder, until ${task} ends.`}
            accept={accept}
            testId={testId}
            onFile={(file) => void send(file)}
          />
        )
      )}
      {upload.state === 'failed' && <ErrorNotice error={upload.error} title={`${upload.name} was not uploaded`} testId={`${testId}-upload-error`} />}
      {uploadNote !== undefined && chosen === null && <p className="field-hint">{uploadNote}</p>}
      {chosen === null && (
        <TextField
          ref={ref}
          label="Or type a path on this machine"
          name={testId}
          placeholder={placeholder}
          spellCheck={false}
          autoCapitalize="off"
          autoCorrect="off"
          autoComplete="off"
          value={source.path}
          readOnly={readOnly || sending !== null}
          onChange={(event) => onChange({ path: event.target.value, uploaded: null })}
          hint={`The full path of ${what}, e.g. from your file manager: it is read from where it is, nothing is copied.`}
          error={error}
          errorTestId={`${testId}-error`}
          data-testid={testId}
        />
      )}
    </div>
  );
});
