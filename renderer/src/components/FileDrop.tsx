// Where files come in: drop them on the zone, or press the button to pick them. The button is a
// real button (keyboard and screen readers reach it); the file input behind it stays in the page,
// visually hidden, so the picker and automated tests both use it.
import { type ChangeEvent, type DragEvent, type ReactNode, useRef, useState } from 'react';
import { Button } from './Button.js';
import { Icon, type IconName } from './Icon.js';

export interface FileDropProps {
  readonly title: string;
  readonly hint: ReactNode;
  readonly buttonLabel: string;
  /** e.g. ".cleanroom"; the picker still lets the user choose any file. */
  readonly accept?: string;
  readonly multiple?: boolean;
  readonly busy?: boolean;
  readonly busyLabel?: string;
  readonly icon?: IconName;
  readonly onFiles: (files: File[]) => void;
  /** The zone gets this id, the input `<testId>-input`, the button `<testId>-button`. */
  readonly testId: string;
}

export function FileDrop({
  title,
  hint,
  buttonLabel,
  accept,
  multiple = false,
  busy = false,
  busyLabel,
  icon = 'upload',
  onFiles,
  testId,
}: FileDropProps) {
  const inputRef = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  // dragenter/dragleave fire for every child the pointer crosses: count them.
  const depth = useRef(0);

  const hasFiles = (event: DragEvent) => event.dataTransfer.types.includes('Files');

  const onDragEnter = (event: DragEvent<HTMLDivElement>) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth.current += 1;
    setDragging(true);
  };
  const onDragOver = (event: DragEvent<HTMLDivElement>) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = busy ? 'none' : 'copy';
  };
  const onDragLeave = () => {
    depth.current = Math.max(0, depth.current - 1);
    if (depth.current === 0) setDragging(false);
  };
  const onDrop = (event: DragEvent<HTMLDivElement>) => {
    event.preventDefault();
    depth.current = 0;
    setDragging(false);
    if (busy) return;
    const files = [...event.dataTransfer.files];
    if (files.length > 0) onFiles(multiple ? files : files.slice(0, 1));
  };
  const onChange = (event: ChangeEvent<HTMLInputElement>) => {
    const files = [...(event.target.files ?? [])];
    // Clear it, so picking the same file again still fires a change.
    event.target.value = '';
    if (files.length > 0) onFiles(files);
  };

  return (
    <div
      className={`file-drop${dragging ? ' file-drop-active' : ''}`}
      data-testid={testId}
      data-dragging={dragging}
      onDragEnter={onDragEnter}
      onDragOver={onDragOver}
      onDragLeave={onDragLeave}
      onDrop={onDrop}
    >
      <span className="file-drop-icon" aria-hidden="true">
        <Icon name={icon} size={22} />
      </span>
      <div className="file-drop-text">
        <p className="file-drop-title">{dragging ? 'Drop to import' : title}</p>
        <p className="file-drop-hint">{hint}</p>
      </div>
      <Button
        variant="secondary"
        icon={<Icon name="file" />}
        busy={busy}
        busyLabel={busyLabel}
        onClick={() => inputRef.current?.click()}
        data-testid={`${testId}-button`}
      >
        {buttonLabel}
      </Button>
      <input
        ref={inputRef}
        type="file"
        className="visually-hidden"
        tabIndex={-1}
        aria-hidden="true"
        accept={accept}
        multiple={multiple}
        onChange={onChange}
        disabled={busy}
        data-testid={`${testId}-input`}
      />
    </div>
  );
}
