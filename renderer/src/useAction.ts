// Runs one API call for a form or button: tracks whether it is in flight and keeps its error, so
// every screen shows busy state and the server's message the same way.
import { useCallback, useEffect, useRef, useState } from 'react';
import { type ApiError, type Result } from '../../shared/errors.js';

export interface Action<Req, Res> {
  /** Calls the API; resolves to its Result (never rejects). */
  readonly run: (request: Req) => Promise<Result<Res>>;
  readonly busy: boolean;
  readonly error: ApiError | null;
  readonly clearError: () => void;
}

export function useAction<Req, Res>(call: (request: Req) => Promise<Result<Res>>): Action<Req, Res> {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  // A call can finish after its screen was replaced (e.g. unlock swaps the whole view).
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const run = useCallback(
    async (request: Req): Promise<Result<Res>> => {
      setBusy(true);
      setError(null);
      let result: Result<Res>;
      try {
        result = await call(request);
      } catch (thrown) {
        // A transport that rejects instead of returning a Result (e.g. IPC torn down).
        const detail = thrown instanceof Error && thrown.message !== '' ? ` (${thrown.message})` : '';
        result = { ok: false, error: { code: 'INTERNAL', message: `Cleanroom did not answer${detail}.` } };
      }
      if (mounted.current) {
        setBusy(false);
        if (!result.ok) setError(result.error);
      }
      return result;
    },
    [call],
  );
  const clearError = useCallback(() => setError(null), []);
  return { run, busy, error, clearError };
}
