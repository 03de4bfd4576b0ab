// Loading a run's library volumes: decrypt in memory, unpack, parse each macro with DuckDB.
// STUB — to be written (see /work/brief6.md).
import { type DuckDBConnection } from '@duckdb/node-api';
import { CleanroomError } from '../../shared/errors.js';
import { type MacroDefinition } from '../../shared/library.js';
import { type EngineLimits } from './file-engine.js';
import { type ReadLibraryResult, type RunVolume, type WorkerRequest } from '../../shared/worker-protocol.js';

export interface LoadedLibrary {
  /** Every macro of every library, by lower-case name. */
  readonly macros: ReadonlyMap<string, MacroDefinition>;
}

/** The macros of a run's volumes; throws on anything unreadable (the run reports only a class). */
export async function loadLibraries(_connection: DuckDBConnection, volumes: readonly RunVolume[]): Promise<LoadedLibrary> {
  if (volumes.length > 0) throw new CleanroomError('INTERNAL', 'libraries are not built yet');
  return { macros: new Map() };
}

/** The `readLibrary` request: one volume's macros as trees, and its problems, for its owner. */
export async function readLibrary(_limits: EngineLimits, _request: Extract<WorkerRequest, { kind: 'readLibrary' }>): Promise<ReadLibraryResult> {
  throw new CleanroomError('INTERNAL', 'libraries are not built yet');
}
