// Labelled text inputs. The hint and the error are tied to the input with aria-describedby, and an
// error marks the input aria-invalid, so screen readers hear why a value was refused.
import { forwardRef, type InputHTMLAttributes, type ReactNode, useId, useState } from 'react';
import { Icon } from './Icon.js';

export interface FieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, 'id'> {
  readonly label: string;
  /** Help text under the input, or live feedback such as passphrase strength. */
  readonly hint?: ReactNode;
  readonly hintTone?: 'neutral' | 'good' | 'warning';
  /** Shown instead of the hint when set. */
  readonly error?: string | null;
  readonly errorTestId?: string;
  /** Announce hint changes politely (live feedback while typing). */
  readonly hintLive?: boolean;
}

function describedBy(hintId: string, errorId: string, hasHint: boolean, hasError: boolean): string | undefined {
  const ids = [hasError ? errorId : null, hasHint ? hintId : null].filter((id): id is string => id !== null);
  return ids.length > 0 ? ids.join(' ') : undefined;
}

export const TextField = forwardRef<HTMLInputElement, FieldProps>(function TextField(
  { label, hint, hintTone = 'neutral', hintLive = false, error, errorTestId, className, ...input },
  ref,
) {
  const id = useId();
  const hasError = error !== undefined && error !== null && error !== '';
  const hasHint = hint !== undefined && hint !== null && !hasError;
  return (
    <div className={`field ${className ?? ''}`}>
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      <input
        {...input}
        ref={ref}
        id={id}
        className="input"
        aria-invalid={hasError || undefined}
        aria-describedby={describedBy(`${id}-hint`, `${id}-error`, hasHint, hasError)}
      />
      <FieldMessages id={id} hint={hasHint ? hint : null} hintTone={hintTone} hintLive={hintLive} error={hasError ? error : null} errorTestId={errorTestId} />
    </div>
  );
});

export interface PassphraseFieldProps extends Omit<FieldProps, 'type'> {
  /** Test id for the input; the show/hide toggle gets `<testId>-toggle`. */
  readonly 'data-testid'?: string;
}

/** A password input with a show/hide toggle: long passphrases are easier to type when visible. */
export const PassphraseField = forwardRef<HTMLInputElement, PassphraseFieldProps>(function PassphraseField(
  { label, hint, hintTone = 'neutral', hintLive = false, error, errorTestId, className, ...input },
  ref,
) {
  const id = useId();
  const [visible, setVisible] = useState(false);
  const hasError = error !== undefined && error !== null && error !== '';
  const hasHint = hint !== undefined && hint !== null && !hasError;
  const testId = input['data-testid'];
  return (
    <div className={`field ${className ?? ''}`}>
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      <div className="input-with-action">
        <input
          {...input}
          ref={ref}
          id={id}
          type={visible ? 'text' : 'password'}
          className="input"
          spellCheck={false}
          autoCapitalize="off"
          autoCorrect="off"
          aria-invalid={hasError || undefined}
          aria-describedby={describedBy(`${id}-hint`, `${id}-error`, hasHint, hasError)}
        />
        <button
          type="button"
          className="input-action"
          aria-label={visible ? `Hide ${label.toLowerCase()}` : `Show ${label.toLowerCase()}`}
          aria-pressed={visible}
          aria-controls={id}
          title={visible ? 'Hide' : 'Show'}
          data-testid={testId !== undefined ? `${testId}-toggle` : undefined}
          onClick={() => setVisible((shown) => !shown)}
        >
          <Icon name={visible ? 'eyeOff' : 'eye'} />
        </button>
      </div>
      <FieldMessages id={id} hint={hasHint ? hint : null} hintTone={hintTone} hintLive={hintLive} error={hasError ? error : null} errorTestId={errorTestId} />
    </div>
  );
});

function FieldMessages({
  id,
  hint,
  hintTone,
  hintLive,
  error,
  errorTestId,
}: {
  id: string;
  hint: ReactNode;
  hintTone: 'neutral' | 'good' | 'warning';
  hintLive: boolean;
  error: string | null | undefined;
  errorTestId: string | undefined;
}) {
  return (
    <>
      {error !== null && error !== undefined && (
        <FieldError id={`${id}-error`} testId={errorTestId}>
          {error}
        </FieldError>
      )}
      {hint !== null && (
        <p className={`field-hint field-hint-${hintTone}`} id={`${id}-hint`} aria-live={hintLive ? 'polite' : undefined}>
          {hint}
        </p>
      )}
    </>
  );
}

/** Why a value was refused, under its input or group of choices; announced as it appears. */
export function FieldError({ id, testId, children }: { id?: string; testId?: string | undefined; children: ReactNode }) {
  return (
    <p className="field-error" id={id} role="alert" data-testid={testId}>
      <Icon name="alert" size={14} />
      <span>{children}</span>
    </p>
  );
}
