// The Exchange inbox: files brought in by hand, each with its own result. Pure (no DOM) so
// node:test checks it; useInbox.ts does the reading and the calls.
import { cardFileSizeProblem, cardFileText, maxCardBytes } from '../../shared/card.js';
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

/** Largest card file read: a card is at most this many bytes, trailing newline included. */
export const maxCardFileBytes = maxCardBytes;

/** Largest packet file read: packet.import takes at most 100 MiB of base64. */
export const maxPacketFileBytes = Math.floor((100 * 1024 * 1024 * 3) / 4);

export function inboxFileKind(fileName: string): InboxFileKind {
  return fileName.toLowerCase().endsWith(cardFileSuffix) ? 'card' : 'packet';
}

/** Why a file is not even sent to core, or null. Empty and oversized files are refused here. */
export function fileSizeProblem(fileName: string, size: number, kind: InboxFileKind): ApiError | null {
  if (size === 0) return { code: 'FILE_ERROR', message: `${fileName} is empty.` };
  if (kind === 'card') {
    const tooLarge = cardFileSizeProblem(fileName, size);
    return tooLarge === null ? null : { code: 'BAD_CARD', message: tooLarge };
  }
  return size > maxPacketFileBytes ? { code: 'BAD_PACKET', message: `${fileName} is too large to be a packet.` } : null;
}

/**
 * A card file's text for contact.import, or why it is refused. Decoded strictly: File.text() would
 * turn each bad byte into three, and the card would then be reported larger than the file is.
 */
export function cardTextOf(fileName: string, bytes: Uint8Array): { readonly ok: true; readonly text: string } | { readonly ok: false; readonly error: ApiError } {
  const read = cardFileText(fileName, bytes);
  return read.ok ? read : { ok: false, error: { code: 'BAD_CARD', message: read.reason } };
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
