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

/** "23 Nov 2025, 14:05" in the user's locale; the raw text when it is not a date. */
export function formatDateTime(value: string): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

/** "812 bytes", "4.2 KB", "1.5 MB": binary units, one decimal below 10. */
export function formatByteSize(bytes: number): string {
  if (bytes < 1024) return bytes === 1 ? '1 byte' : `${bytes} bytes`;
  const units = ['KB', 'MB', 'GB'] as const;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const rounded = value < 10 ? value.toFixed(1) : Math.round(value).toString();
  return `${rounded.replace(/\.0$/u, '')} ${units[unit]}`;
}

/** "Acme", "Acme and St Mary", "Acme, Lab and St Mary". */
export function listNames(names: readonly string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}
