// Identifiers people compare by phone: the sharing identifier in five groups of four, and the
// fingerprint in a short form that expands to all sixteen groups. Plain text with spaces, so it
// reads aloud, copies and wraps as groups.
import { useId, useState } from 'react';
import { groupForReading } from '../../../shared/identity.js';
import { shortFingerprint } from '../rooms.js';

export function SharingId({ value, testId, size = 'normal' }: { value: string; testId?: string; size?: 'normal' | 'large' }) {
  return (
    <code className={`identifier identifier-${size}`} data-testid={testId}>
      {groupForReading(value, 4).join(' ')}
    </code>
  );
}

/** The fingerprint's first four groups, with a button that shows the full sixteen in rows of four. */
export function FingerprintToggle({ value, testId }: { value: string; testId?: string }) {
  const [expanded, setExpanded] = useState(false);
  const fullId = useId();
  const groups = groupForReading(value, 4);
  const rows = Array.from({ length: Math.ceil(groups.length / 4) }, (_, row) => groups.slice(row * 4, row * 4 + 4));
  return (
    <div className="fingerprint-toggle" data-testid={testId} data-expanded={expanded}>
      {expanded ? (
        <div id={fullId} className="fingerprint-full" data-testid={testId !== undefined ? `${testId}-full` : undefined}>
          {rows.map((row, index) => (
            <code key={index} className="identifier">
              {row.join(' ')}
            </code>
          ))}
        </div>
      ) : (
        <code className="identifier identifier-muted">{shortFingerprint(value)}</code>
      )}
      <button
        type="button"
        className="link-button"
        aria-expanded={expanded}
        aria-controls={expanded ? fullId : undefined}
        onClick={() => setExpanded((shown) => !shown)}
        data-testid={testId !== undefined ? `${testId}-toggle` : undefined}
      >
        {expanded ? 'Show less' : 'Show all'}
        <span className="visually-hidden"> of the fingerprint</span>
      </button>
    </div>
  );
}
