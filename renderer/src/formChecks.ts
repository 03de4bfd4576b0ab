// Checks the forms run while the user types, from the same rules core enforces (shared/identity).
import { aliasSchema, minPassphraseLength, passphraseWeakness } from '../../shared/identity.js';

export interface PassphraseFeedback {
  readonly tone: 'neutral' | 'good' | 'warning';
  readonly text: string;
}

/** Live feedback under a new-passphrase field. */
export function passphraseFeedback(passphrase: string): PassphraseFeedback {
  if (passphrase === '') {
    return { tone: 'neutral', text: `At least ${minPassphraseLength} characters. A few unrelated words are easy to remember and hard to guess.` };
  }
  const weakness = passphraseWeakness(passphrase);
  return weakness === null ? { tone: 'good', text: 'Strong enough.' } : { tone: 'warning', text: weakness };
}

/** Why an alias would be refused, as a sentence; null when it is fine. */
export function aliasProblem(alias: string): string | null {
  if (alias === '') return 'Enter an alias.';
  const checked = aliasSchema.check(alias, 'alias');
  if (checked.ok) return null;
  const message = checked.issue.message;
  return `${message.charAt(0).toUpperCase()}${message.slice(1)}.`;
}
