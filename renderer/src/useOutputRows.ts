// An output table's rows, fetched a page at a time (output.show with offset and limit) as the
// table scrolls to them, and kept: a 100,000-row output never crosses the API in one piece just to
// be looked at. Pages already here or in flight are not asked for again.
import { useCallback, useEffect, useRef, useState } from 'react';
import { type ApiError } from '../../shared/errors.js';
import { type OutputView } from '../../shared/run.js';
import { useApi } from './ApiContext.js';
import { pagesFor } from './windowing.js';

export const outputPageSize = 1000;

type Row = (string | null)[];

export interface OutputRows {
  readonly rowAt: (index: number) => Row | undefined;
  /** Fetches the pages holding rows [first, end) that are not here yet. */
  readonly want: (first: number, end: number) => void;
  /** The first `count` rows once they are all here (for the chart); null until then. A new function whenever a page arrives. */
  readonly firstRows: (count: number) => Row[] | null;
  readonly error: ApiError | null;
}

export function useOutputRows(room: string, output: OutputView): OutputRows {
  const api = useApi();
  // Replaced (not mutated) when a page arrives, so what reads it renders again.
  const [pages, setPages] = useState<ReadonlyMap<number, Row[]>>(() => new Map());
  const fetched = useRef(new Set<number>());
  const [error, setError] = useState<ApiError | null>(null);
  const alive = useRef(true);
  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);

  const fetchPage = useCallback(
    (page: number) => {
      if (fetched.current.has(page)) return;
      fetched.current.add(page);
      api['output.show']({ room, output: output.id, offset: page * outputPageSize, limit: outputPageSize }).then(
        (result) => {
          if (!alive.current) return;
          if (result.ok) {
            const rows = result.value.rows;
            setPages((current) => new Map(current).set(page, rows));
          } else {
            // Asked again when next wanted.
            fetched.current.delete(page);
            setError(result.error);
          }
        },
        (thrown: unknown) => {
          fetched.current.delete(page);
          if (alive.current) setError({ code: 'INTERNAL', message: thrown instanceof Error ? thrown.message : 'Cleanroom did not answer.' });
        },
      );
    },
    [api, room, output.id],
  );

  const want = useCallback(
    (first: number, end: number) => {
      for (const page of pagesFor(first, Math.min(end, output.rows), outputPageSize)) fetchPage(page);
    },
    [fetchPage, output.rows],
  );

  const rowAt = useCallback((index: number) => pages.get(Math.floor(index / outputPageSize))?.[index % outputPageSize], [pages]);

  const firstRows = useCallback(
    (count: number) => {
      const wanted = Math.min(count, output.rows);
      const rows: Row[] = [];
      for (const page of pagesFor(0, wanted, outputPageSize)) {
        const got = pages.get(page);
        if (got === undefined) return null;
        rows.push(...got);
      }
      return rows.slice(0, wanted);
    },
    [pages, output.rows],
  );

  return { rowAt, want, firstRows, error };
}
