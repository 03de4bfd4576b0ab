// DuckDB's real syntax trees for policy tests: json_serialize_sql run in-process, the SQL bound as
// a parameter, so the tests see exactly the format the worker hands to shared/policy.ts.
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

let opened: Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> | undefined;

function open(): Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> {
  opened ??= (async () => {
    const instance = await DuckDBInstance.create(':memory:');
    return { instance, connection: await instance.connect() };
  })();
  return opened;
}

/** The parsed `json_serialize_sql` tree of `sql` (only parsed, never run). */
export async function sqlTree(sql: string): Promise<unknown> {
  const { connection } = await open();
  const reader = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
  const text = reader.getRows()[0]?.[0];
  if (typeof text !== 'string') throw new Error('json_serialize_sql gave no text');
  return JSON.parse(text) as unknown;
}

/** Closes the in-process DuckDB (call from `after`). */
export async function closeSqlTrees(): Promise<void> {
  if (opened === undefined) return;
  const { instance, connection } = await opened;
  opened = undefined;
  connection.closeSync();
  instance.closeSync();
}
