// Display helpers shared by the screens.
import { type AppInfo } from '../../shared/contract.js';

export const trustLine = 'Your rows never leave this machine unencrypted; others see only column names and types.';

const hostLabels: Record<AppInfo['host'], string> = {
  electron: 'Desktop app',
  shell: 'Browser shell',
  cli: 'Command line',
};

export const hostLabel = (host: AppInfo['host']): string => hostLabels[host];

/** "23 Nov 2025" in the user's locale; the raw text when it is not a date. */
export function formatDate(value: string): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' }).format(date);
}

/** Up to two initials for the identity badge. */
export function initials(alias: string): string {
  const words = alias.split(/[\s._-]+/u).filter((word) => word !== '');
  const letters = words.slice(0, 2).map((word) => [...word][0] ?? '');
  return letters.join('').toUpperCase() || '?';
}
