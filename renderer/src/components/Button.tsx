// One button for the whole app. While `busy`, it is disabled (no double submit while Argon2 runs),
// shows a spinner and its busy label, and tells assistive technology it is working.
import { type ButtonHTMLAttributes, type ReactNode, type Ref } from 'react';

export interface ButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  readonly variant?: 'primary' | 'secondary' | 'ghost' | 'danger';
  readonly size?: 'normal' | 'small';
  readonly busy?: boolean;
  /** Label while busy, e.g. "Unlocking…". */
  readonly busyLabel?: string;
  readonly icon?: ReactNode;
  /** React 19 passes refs as a prop: e.g. to focus a confirmation button when it appears. */
  readonly ref?: Ref<HTMLButtonElement>;
}

export function Button({
  variant = 'secondary',
  size = 'normal',
  busy = false,
  busyLabel,
  icon,
  children,
  className,
  disabled,
  type = 'button',
  ...rest
}: ButtonProps) {
  const classes = ['button', `button-${variant}`, size === 'small' ? 'button-small' : '', className ?? ''].filter(Boolean).join(' ');
  return (
    <button {...rest} type={type} className={classes} disabled={disabled === true || busy} aria-busy={busy || undefined}>
      {busy ? <span className="spinner" aria-hidden="true" /> : icon}
      <span>{busy && busyLabel !== undefined ? busyLabel : children}</span>
    </button>
  );
}
