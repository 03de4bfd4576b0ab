// Short-lived DuckDB instances for reading one source file (inspect, importTable) or a run's
// decrypted tables. Each may open only the files it is given: enable_external_access=false with
// allowed_paths (the source and, for an import, the one Parquet file it writes, a nameless
// /proc/self/fd/<n> on Linux: private-file.ts), then the configuration is locked. Parquet and JSON readers are built into @duckdb/node-api's DuckDB, so
// nothing is loaded or installed; autoloading stays off.

import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

export interface EngineLimits {
  readonly memoryLimit: string;
  readonly threads: number;
}

export interface FileEngineAccess {
  /** Files the engine may read (each exactly). */
  readonly files: readonly string[];
  /** Folders the engine may read and write below (none today: every file is named exactly). */
  readonly folders?: readonly string[];
}

export interface FileEngine {
  readonly connection: DuckDBConnection;
  close(): void;
}

/** A SQL string literal. */
export const sqlString = (text: string): string => `'${text.replaceAll("'", "''")}'`;
/** A SQL quoted identifier. */
export const sqlIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/**
 * The settings every worker DuckDB starts with, file engines and the locked-down engine alike:
 * no spilling to disk, the worker's limits, and no extension installed or loaded. Each adds its
 * own access settings and lock_configuration after these.
 */
export function engineBaseConfig(limits: EngineLimits): Record<string, string> {
  return {
    // No spilling: an in-memory database would otherwise spill source or decrypted rows to ./.tmp on disk.
    temp_directory: '',
    threads: String(limits.threads),
    memory_limit: limits.memoryLimit,
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    allow_community_extensions: 'false',
    allow_unsigned_extensions: 'false',
  };
}

export async function openFileEngine(limits: EngineLimits, access: FileEngineAccess): Promise<FileEngine> {
  const instance = await DuckDBInstance.create(':memory:', engineBaseConfig(limits));
  let connection: DuckDBConnection | null = null;
  try {
    connection = await instance.connect();
    const list = (items: readonly string[]): string => `[${items.map(sqlString).join(', ')}]`;
    // allowed_* only mean something once external access is off, and must be set before it is;
    // lock_configuration last, so no later statement can widen them.
    const settings = [
      `SET allowed_paths = ${list(access.files)}`,
      `SET allowed_directories = ${list(access.folders ?? [])}`,
      // Progress is polled (DuckDBConnection.progress) for the person's progress bar; never printed.
      'SET enable_progress_bar = true',
      'SET enable_progress_bar_print = false',
      'SET enable_external_access = false',
      'SET lock_configuration = true',
    ];
    for (const statement of settings) await connection.run(statement);
  } catch (error) {
    connection?.closeSync();
    instance.closeSync();
    throw error;
  }
  const open = connection;
  return {
    connection: open,
    close() {
      open.closeSync();
      instance.closeSync();
    },
  };
}
