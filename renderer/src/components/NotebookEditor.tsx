// The notebook editor: a real, labelled <textarea> (typing, selection, undo, screen readers and
// spell-check-off all come from the browser) over a highlighted copy of the same text. The
// textarea's own glyphs are transparent and the copy below follows its scrolling, so what shows
// is the coloured text with the browser's own caret and selection on top.
// The textarea is uncontrolled: the browser owns the text and React only follows it, so a render
// (e.g. a check result arriving) can never write an older text back over fast typing.
import { type ChangeEvent, useId, useRef, useState } from 'react';
import { SqlTokens } from './SqlCode.js';

export interface NotebookEditorProps {
  readonly label: string;
  /** The text it starts with; afterwards the person's typing is the text. */
  readonly initialValue: string;
  readonly onChange: (value: string) => void;
  readonly hint?: string;
  readonly readOnly?: boolean;
  readonly testId?: string;
}

export function NotebookEditor({ label, initialValue, onChange, hint, readOnly = false, testId }: NotebookEditorProps) {
  const id = useId();
  const [value, setValue] = useState(initialValue);
  const underlay = useRef<HTMLPreElement>(null);

  const followScroll = (textarea: HTMLTextAreaElement) => {
    const pre = underlay.current;
    if (pre === null) return;
    pre.scrollTop = textarea.scrollTop;
    pre.scrollLeft = textarea.scrollLeft;
  };

  return (
    <div className="field">
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      <div className="editor" data-testid={testId !== undefined ? `${testId}-frame` : undefined}>
        <pre className="editor-layer editor-highlight" ref={underlay} aria-hidden="true">
          <SqlTokens source={value} />
          {/* A final newline needs a character after it, or the copy is one line short of the textarea. */}
          {value.endsWith('\n') || value === '' ? ' ' : null}
        </pre>
        <textarea
          id={id}
          className="editor-layer editor-input"
          defaultValue={initialValue}
          readOnly={readOnly}
          wrap="off"
          spellCheck={false}
          autoCapitalize="off"
          autoCorrect="off"
          autoComplete="off"
          rows={16}
          aria-describedby={hint !== undefined ? `${id}-hint` : undefined}
          onChange={(event: ChangeEvent<HTMLTextAreaElement>) => {
            setValue(event.target.value);
            onChange(event.target.value);
            followScroll(event.target);
          }}
          onScroll={(event) => followScroll(event.currentTarget)}
          data-testid={testId}
        />
      </div>
      {hint !== undefined && (
        <p className="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
    </div>
  );
}
