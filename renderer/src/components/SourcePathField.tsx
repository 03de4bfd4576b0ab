// Where a table or volume comes from: a path on this machine, which core reads directly (a large
// file streams from disk; its bytes never pass through this window). In the desktop app a picked
// or dropped file fills the path in. A browser never tells a page where a picked file lives, so
// in the browser shell the field says plainly to type or paste the path.
import { forwardRef, type ReactNode, useState } from 'react';
import { canPickLocalFiles, localPathOf } from '../localFiles.js';
import { TextField } from './Field.js';
import { FileDrop } from './FileDrop.js';

export interface SourcePathFieldProps {
  readonly label: string;
  readonly value: string;
  readonly onChange: (path: string) => void;
  /** What the path should point at, e.g. "a CSV, Parquet or JSON file". */
  readonly what: string;
  readonly accept?: string;
  readonly readOnly?: boolean;
  readonly error: string | null;
  readonly placeholder: string;
  readonly testId: string;
}

export const SourcePathField = forwardRef<HTMLInputElement, SourcePathFieldProps>(function SourcePathField(
  { label, value, onChange, what, accept, readOnly = false, error, placeholder, testId },
  ref,
) {
  const picker = canPickLocalFiles();
  const [pickProblem, setPickProblem] = useState<string | null>(null);
  const hint: ReactNode = picker
    ? `Choose or drop ${what} below, or type its full path. It is read from where it is; nothing is uploaded.`
    : `Type or paste the full path of ${what} on this machine, e.g. from your file manager. In the browser Cleanroom cannot learn a file's path from a file picker, so there is none here. The file is read from where it is; nothing is uploaded.`;

  return (
    <div className="stack source-path" data-testid={`${testId}-field`} data-picker={picker}>
      <TextField
        ref={ref}
        label={label}
        name={testId}
        placeholder={placeholder}
        spellCheck={false}
        autoCapitalize="off"
        autoCorrect="off"
        autoComplete="off"
        value={value}
        readOnly={readOnly}
        onChange={(event) => {
          setPickProblem(null);
          onChange(event.target.value);
        }}
        hint={hint}
        error={error ?? pickProblem}
        errorTestId={`${testId}-error`}
        data-testid={testId}
      />
      {picker && !readOnly && (
        <FileDrop
          title="Drop the file here"
          hint="Or choose it: only its path is taken."
          buttonLabel="Choose file…"
          {...(accept !== undefined ? { accept } : {})}
          icon="file"
          testId={`${testId}-drop`}
          onFiles={(files) => {
            const file = files[0];
            if (file === undefined) return;
            const path = localPathOf(file);
            if (path === null) setPickProblem(`${file.name} is not a file on this machine's disk: save it to a folder first.`);
            else {
              setPickProblem(null);
              onChange(path);
            }
          }}
        />
      )}
    </div>
  );
});
