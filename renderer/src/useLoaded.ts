// Loads what a screen shows (a room, the room list, the contacts) and keeps it: reload() fetches
// again without blanking what is on screen, and replace() takes the fresh value an action
// returned (join, sign…) so the screen never shows a state older than the last answer.
import { useCallback, useEffect, useRef, useState } from 'react';
import { type ApiError, type Result } from '../../shared/errors.js';

export type Loaded<T> =
  { readonly state: 'loading' } | { readonly state: 'ready'; readonly value: T } | { readonly state: 'failed'; readonly error: ApiError };

export interface Loader<T> {
  readonly loaded: Loaded<T>;
  readonly reload: () => void;
  readonly replace: (value: T) => void;
}

export function useLoaded<T>(load: () => Promise<Result<T>>): Loader<T> {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  // Only the latest request may write: an older answer arriving late must not win.
  const generation = useRef(0);

  const fetchNow = useCallback(() => {
    const mine = ++generation.current;
    load().then(
      (result) => {
        if (generation.current === mine)
          setLoaded(result.ok ? { state: 'ready', value: result.value } : { state: 'failed', error: result.error });
      },
      (thrown: unknown) => {
        const message = thrown instanceof Error && thrown.message !== '' ? thrown.message : 'Cleanroom did not answer.';
        if (generation.current === mine) setLoaded({ state: 'failed', error: { code: 'INTERNAL', message } });
      },
    );
  }, [load]);

  useEffect(() => {
    fetchNow();
    return () => {
      // Unmounted or a new loader: drop whatever is still in flight.
      generation.current += 1;
    };
  }, [fetchNow]);

  const replace = useCallback((value: T) => {
    generation.current += 1;
    setLoaded({ state: 'ready', value });
  }, []);

  return { loaded, reload: fetchNow, replace };
}
