// The Exchange inbox: files brought in by hand, each with its own result. Pure (no DOM) so
// node:test checks it; useInbox.ts does the reading and the calls.
import { type ApiError } from '../../shared/errors.js';
import { type Contact, type ImportResult } from '../../shared/room.js';

/** Identity cards are imported as contacts; anything else is offered to packet.import. */
export type InboxFileKind = 'packet' | 'card';

interface InboxFile {
  /** Unique within this window, for React keys and test ids. */
  readonly id: number;
  readonly fileName: string;
  readonly size: number;
  readonly kind: InboxFileKind;
}

export type InboxItem =
  | (InboxFile & { readonly state: 'importing' })
  | (InboxFile & { readonly state: 'imported'; readonly kind: 'packet'; readonly result: ImportResult })
  | (InboxFile & { readonly state: 'imported'; readonly kind: 'card'; readonly contact: Contact })
  | (InboxFile & { readonly state: 'failed'; readonly error: ApiError });

export const cardFileSuffix = '.cleanroom-card';

/** Largest card file read: the card text itself is at most 4096 characters. */
export const maxCardFileBytes = 16 * 1024;

/** Largest packet file read: packet.import takes at most 100 MiB of base64. */
export const maxPacketFileBytes = Math.floor((100 * 1024 * 1024 * 3) / 4);

export function inboxFileKind(fileName: string): InboxFileKind {
  return fileName.toLowerCase().endsWith(cardFileSuffix) ? 'card' : 'packet';
}

/** Why a file is not even sent to core, or null. Empty and oversized files are refused here. */
export function fileSizeProblem(fileName: string, size: number, kind: InboxFileKind): ApiError | null {
  if (size === 0) return { code: 'FILE_ERROR', message: `${fileName} is empty.` };
  const limit = kind === 'card' ? maxCardFileBytes : maxPacketFileBytes;
  if (size > limit) {
    const what = kind === 'card' ? 'an identity card' : 'a packet';
    return { code: kind === 'card' ? 'BAD_CARD' : 'BAD_PACKET', message: `${fileName} is too large to be ${what}.` };
  }
  return null;
}

/** Puts one item's new state in place, keeping every other result. */
export function updateItem(items: readonly InboxItem[], next: InboxItem): InboxItem[] {
  return items.map((item) => (item.id === next.id ? next : item));
}

/** "2 new entries · 1 already known", or "Nothing new · 3 entries already known" for a repeat. */
export function importCounts(result: Pick<ImportResult, 'accepted' | 'ignored'>): string {
  const entries = (count: number) => `${count} ${count === 1 ? 'entry' : 'entries'}`;
  if (result.accepted === 0) return result.ignored === 0 ? 'Nothing new' : `Nothing new · ${entries(result.ignored)} already known`;
  const fresh = `${result.accepted} new ${result.accepted === 1 ? 'entry' : 'entries'}`;
  return result.ignored === 0 ? fresh : `${fresh} · ${result.ignored} already known`;
}
