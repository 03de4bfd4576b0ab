// Runs the Exchange inbox for the whole unlocked session (it lives in AppShell), so results stay
// listed when the user looks at a room and comes back. Files are imported one at a time, in the
// order they were given: packets are order-free, but one at a time keeps each result readable.
import { useCallback, useRef, useState } from 'react';
import { type ApiError } from '../../shared/errors.js';
import { useApi } from './ApiContext.js';
import { base64FromBytes } from './bytes.js';
import { cardTextOf, fileSizeProblem, inboxFileKind, type InboxItem, updateItem } from './inbox.js';

export interface Inbox {
  /** Newest first. */
  readonly items: readonly InboxItem[];
  readonly importFiles: (files: readonly File[]) => void;
  readonly clear: () => void;
}

const unreadable = (fileName: string, thrown: unknown): ApiError => ({
  code: 'FILE_ERROR',
  message: `${fileName} could not be read${thrown instanceof Error && thrown.message !== '' ? ` (${thrown.message})` : ''}.`,
});

const noAnswer = (thrown: unknown): ApiError => ({
  code: 'INTERNAL',
  message: `Cleanroom did not answer${thrown instanceof Error && thrown.message !== '' ? ` (${thrown.message})` : ''}.`,
});

export function useInbox(): Inbox {
  const api = useApi();
  const [items, setItems] = useState<readonly InboxItem[]>([]);
  const nextId = useRef(1);
  const queue = useRef<Promise<void>>(Promise.resolve());

  const importOne = useCallback(
    async (file: File, id: number): Promise<InboxItem> => {
      const kind = inboxFileKind(file.name);
      const base = { id, fileName: file.name, size: file.size, kind } as const;
      const tooBig = fileSizeProblem(file.name, file.size, kind);
      if (tooBig !== null) return { ...base, state: 'failed', error: tooBig };
      try {
        if (kind === 'card') {
          let bytes: Uint8Array;
          try {
            bytes = new Uint8Array(await file.arrayBuffer());
          } catch (thrown) {
            return { ...base, state: 'failed', error: unreadable(file.name, thrown) };
          }
          const card = cardTextOf(file.name, bytes);
          if (!card.ok) return { ...base, state: 'failed', error: card.error };
          const result = await api['contact.import']({ card: card.text });
          return result.ok
            ? { ...base, kind: 'card', state: 'imported', contact: result.value }
            : { ...base, state: 'failed', error: result.error };
        }
        let contentBase64: string;
        try {
          contentBase64 = base64FromBytes(await file.arrayBuffer());
        } catch (thrown) {
          return { ...base, state: 'failed', error: unreadable(file.name, thrown) };
        }
        const result = await api['packet.import']({ contentBase64 });
        return result.ok
          ? { ...base, kind: 'packet', state: 'imported', result: result.value }
          : { ...base, state: 'failed', error: result.error };
      } catch (thrown) {
        return { ...base, state: 'failed', error: noAnswer(thrown) };
      }
    },
    [api],
  );

  const importFiles = useCallback(
    (files: readonly File[]) => {
      const started = files.map((file) => ({ file, id: nextId.current++ }));
      const pending: InboxItem[] = started.map(({ file, id }) => ({
        id,
        fileName: file.name,
        size: file.size,
        kind: inboxFileKind(file.name),
        state: 'importing',
      }));
      // Newest first: this batch goes on top, in the order the files were given.
      setItems((current) => [...pending, ...current]);
      for (const { file, id } of started) {
        queue.current = queue.current.then(async () => {
          const done = await importOne(file, id);
          setItems((current) => updateItem(current, done));
        });
      }
    },
    [importOne],
  );

  const clear = useCallback(() => setItems((current) => current.filter((item) => item.state === 'importing')), []);

  return { items, importFiles, clear };
}
