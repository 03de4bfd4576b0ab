// "Copy" that confirms with "Copied" for a moment, or says it failed so the user selects the text.
import { useEffect, useState } from 'react';
import { copyText } from '../clipboard.js';
import { Icon } from './Icon.js';

type CopyState = 'idle' | 'copied' | 'failed';

const confirmationMs = 2000;

export function CopyButton({ text, label, testId }: { text: string; label: string; testId?: string }) {
  const [state, setState] = useState<CopyState>('idle');

  useEffect(() => {
    if (state === 'idle') return undefined;
    const timer = window.setTimeout(() => setState('idle'), confirmationMs);
    return () => window.clearTimeout(timer);
  }, [state]);

  const onCopy = async () => {
    setState((await copyText(text)) ? 'copied' : 'failed');
  };

  return (
    <button type="button" className="button button-secondary button-small copy-button" onClick={() => void onCopy()} aria-label={`Copy ${label}`} data-testid={testId} data-state={state}>
      <Icon name={state === 'copied' ? 'check' : 'copy'} size={14} />
      <span aria-live="polite">{state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select the text' : 'Copy'}</span>
    </button>
  );
}
