// The brute force of the property test: plain DuckDB, in process, over the same plain rows the
// worker decrypts, evaluating each cell's reference SQL on D and on D − p for every person p.
//
// A connection's room tables are temporary views over the full tables (`__all_<name>`), recreated
// without one person's rows for each removal. A cell that reads earlier outputs reads them as the
// run released them, with the run's suppression decisions held fixed: the released rows (by key),
// each value recomputed on D − p, withheld values NULL.
import { type DuckDBConnection, DuckDBInstance, type DuckDBPreparedStatement } from '@duckdb/node-api';
import { type RunOutput } from '../../../shared/worker-protocol.js';
import { type Universe } from './data.js';
import { type GenCell } from './query.js';

export type Rows = (string | null)[][];
export type Outcome = { readonly rows: Rows } | { readonly error: string };

/** Removing every row of one person of one universe; null is D itself. */
export interface Removal {
  readonly universe: Universe;
  readonly id: number;
}

/** A one-row table per universe naming the person removed (NULL: nobody). */
const dropTable = (universe: Universe): string => `__drop_${universe.name}`;
const ident = (name: string): string => `"${name.replaceAll('"', '""')}"`;
const literal = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/** Whether two output values are the same (numbers to a relative 1e-9, for float summation order). */
export function sameValue(a: string | null | undefined, b: string | null | undefined): boolean {
  if (a === b) return true;
  if (a === null || a === undefined || b === null || b === undefined) return false;
  const x = Number(a);
  const y = Number(b);
  if (!Number.isFinite(x) || !Number.isFinite(y)) return false;
  return Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y), 1e-3);
}

export const keyOf = (row: readonly (string | null)[], keys: readonly number[]): string => JSON.stringify(keys.map((index) => row[index] ?? null));

/** Rows of an outcome by key; keys seen more than once map to null (ambiguous). */
export function indexRows(rows: Rows, keys: readonly number[]): Map<string, (string | null)[] | null> {
  const index = new Map<string, (string | null)[] | null>();
  for (const row of rows) {
    const key = keyOf(row, keys);
    index.set(key, index.has(key) ? null : row);
  }
  return index;
}

/** The tables of the room that a cell's SQL names. */
export const tablesNamed = (sql: string, tables: readonly string[]): string[] => tables.filter((table) => new RegExp(`\\b${table}\\b`).test(sql));

export interface RunCells {
  readonly cells: readonly GenCell[];
  /** The worker's outputs, one per cell, in order. */
  readonly outputs: readonly RunOutput[];
}

export class BruteForce {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connections: DuckDBConnection[],
    private readonly tables: readonly string[],
    private readonly universes: readonly Universe[],
  ) {}

  static async open(
    tables: readonly { readonly name: string; readonly plainFile: string }[],
    universes: readonly Universe[],
    parameters: readonly { readonly name: string; readonly value: string }[],
    parallel = 2,
  ): Promise<BruteForce> {
    const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    const setup = await instance.connect();
    for (const table of tables) await setup.run(`CREATE TABLE ${ident(`__all_${table.name}`)} AS SELECT * FROM read_parquet(${literal(table.plainFile)})`);
    setup.closeSync();
    const connections: DuckDBConnection[] = [];
    // `parallel` connections for the brute force, and one more for screening (syntax trees,
    // failure profiles) while a brute force runs.
    for (let index = 0; index <= parallel; index++) {
      const connection = await instance.connect();
      for (const parameter of parameters) await connection.run(`SET VARIABLE ${ident(parameter.name)} = ${parameter.value}`);
      // Each room table without the person its universe's drop table names. A table, not a variable:
      // a prepared statement reads it when it runs, so one plan serves every removal.
      for (const universe of universes) {
        await connection.run(`CREATE TEMP TABLE ${ident(dropTable(universe))} (id BIGINT)`);
        await connection.run(`INSERT INTO ${ident(dropTable(universe))} VALUES (NULL)`);
      }
      for (const table of tables) {
        const filters = universes.flatMap((universe) =>
          universe.tables.filter((entry) => entry.table === table.name).map((entry) => `${ident(entry.column)} IS DISTINCT FROM (SELECT id FROM ${ident(dropTable(universe))})`),
        );
        const where = filters.length === 0 ? '' : ` WHERE ${filters.join(' AND ')}`;
        await connection.run(`CREATE TEMP VIEW ${ident(table.name)} AS SELECT * FROM main.${ident(`__all_${table.name}`)}${where}`);
      }
      connections.push(connection);
    }
    return new BruteForce(instance, connections, tables.map((table) => table.name), universes);
  }

  /** DuckDB's syntax tree of a statement (json_serialize_sql), as the worker gets it. */
  async syntaxTree(sql: string): Promise<string> {
    const reader = await this.side.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
    return String(reader.getRowsJson()[0]?.[0] ?? '');
  }

  /** Column types of a room table, as DuckDB reads the plain rows. */
  async columnTypes(table: string): Promise<Map<string, string>> {
    const reader = await this.side.runAndReadAll(`DESCRIBE ${ident(table)}`);
    return new Map(reader.getRowsJson().map((row) => [String(row[0]).toLowerCase(), String(row[1])]));
  }

  close(): void {
    for (const connection of this.connections) connection.closeSync();
    this.instance.closeSync();
  }

  private async useRemoval(connection: DuckDBConnection, removal: Removal | null): Promise<void> {
    for (const universe of this.universes) {
      const id = removal !== null && removal.universe.name === universe.name ? String(removal.id) : 'NULL';
      await connection.run(`UPDATE ${ident(dropTable(universe))} SET id = ${id}`);
    }
  }

  /** One query's rows, every value as DuckDB's text (as a run's output shows it), or its error. */
  async query(connection: DuckDBConnection, sql: string): Promise<Outcome> {
    try {
      return { rows: await this.readAll(connection, `SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (${sql}) AS __reference`) };
    } catch (error) {
      return { error: error instanceof Error ? error.message.split('\n')[0] ?? 'error' : String(error) };
    }
  }

  /** An earlier output as the run released it, its values recomputed from `outcome`. */
  private async materialize(connection: DuckDBConnection, cell: GenCell, output: RunOutput, outcome: Outcome | undefined): Promise<void> {
    // Made once per run and connection (a statement prepared over it stays valid), refilled per removal.
    let made = this.made.get(connection);
    if (made === undefined) {
      made = new Set();
      this.made.set(connection, made);
    }
    if (!made.has(output.name)) {
      const columns = output.columns.map((column) => `${ident(column.name)} ${column.type}`).join(', ');
      await connection.run(`CREATE OR REPLACE TEMP TABLE ${ident(output.name)} (${columns})`);
      made.add(output.name);
    } else await connection.run(`DELETE FROM ${ident(output.name)}`);
    if (outcome === undefined || 'error' in outcome) return;
    const index = indexRows(outcome.rows, cell.keys);
    const values: string[] = [];
    for (const released of output.rows) {
      const row = index.get(keyOf(released, cell.keys));
      if (row === undefined || row === null) continue;
      values.push(`(${released.map((value, column) => (value === null || row[column] === null || row[column] === undefined ? 'NULL' : literal(row[column] as string))).join(', ')})`);
    }
    if (values.length > 0) await connection.run(`INSERT INTO ${ident(output.name)} VALUES ${values.join(', ')}`);
  }

  /**
   * Several cells' rows in one statement (one round trip instead of one per cell: most of a tiny
   * query's cost); null when the statement fails (a cell's error, duplicate column names).
   */
  private async queryMany(connection: DuckDBConnection, sqls: readonly string[]): Promise<Outcome[] | null> {
    const parts = sqls.map((sql, index) => `(SELECT list(__row) FROM (SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (${sql}) AS __reference) AS __row) AS c${index}`);
    try {
      const row = (await this.readAll(connection, `SELECT ${parts.join(', ')}`))[0] ?? [];
      return sqls.map((_, index) => ({ rows: ((row[index] ?? []) as Record<string, string | null>[]).map((struct) => Object.values(struct)) }));
    } catch {
      return null;
    }
  }

  /** The cells of a run that `needed` marks, on D minus one person (or D), in order; undefined for the others. */
  private async evaluate(connection: DuckDBConnection, run: RunCells, removal: Removal | null, needed: readonly boolean[]): Promise<(Outcome | undefined)[]> {
    await this.useRemoval(connection, removal);
    const outcomes: (Outcome | undefined)[] = [];
    const positions = new Map(run.cells.map((cell, position) => [cell.name, position]));
    let position = 0;
    while (position < run.cells.length) {
      const cell = run.cells[position] as GenCell;
      if (!needed[position]) {
        outcomes.push(undefined);
        position += 1;
      } else if (cell.inputs.length > 0) {
        for (const input of cell.inputs) {
          const source = positions.get(input);
          if (source === undefined) continue;
          await this.materialize(connection, run.cells[source] as GenCell, run.outputs[source] as RunOutput, outcomes[source] ?? this.baseline?.[source]);
        }
        outcomes.push(await this.query(connection, cell.ref));
        position += 1;
      } else {
        // The following cells that read room tables only, together.
        const chunk: number[] = [];
        let end = position;
        while (end < run.cells.length && chunk.length < 40 && (run.cells[end] as GenCell).inputs.length === 0) {
          if (needed[end]) chunk.push(end);
          end += 1;
        }
        const sqls = chunk.map((index) => (run.cells[index] as GenCell).ref);
        const together = chunk.length > 1 ? await this.queryMany(connection, sqls) : null;
        let results = together;
        if (results === null) {
          results = [];
          for (const sql of sqls) results.push(await this.query(connection, sql));
        }
        const byPosition = new Map(chunk.map((index, at) => [index, results[at]]));
        for (let index = position; index < end; index++) outcomes.push(byPosition.get(index));
        position = end;
      }
    }
    return outcomes;
  }

  private baseline: (Outcome | undefined)[] | null = null;
  /** Per connection: prepared statements of the run being evaluated, and the output tables made for it. */
  private readonly prepared = new Map<DuckDBConnection, Map<string, DuckDBPreparedStatement>>();
  private readonly made = new Map<DuckDBConnection, Set<string>>();

  private async readAll(connection: DuckDBConnection, sql: string): Promise<Rows> {
    let statements = this.prepared.get(connection);
    if (statements === undefined) {
      statements = new Map();
      this.prepared.set(connection, statements);
    }
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = await connection.prepare(sql);
      statements.set(sql, statement);
    }
    return (await statement.runAndReadAll()).getRowsJson() as Rows;
  }

  /** The connection for screening, apart from the brute force's. */
  private get side(): DuckDBConnection {
    return this.connections[this.connections.length - 1] as DuckDBConnection;
  }

  /** The brute force's connections. */
  private get workers(): DuckDBConnection[] {
    return this.connections.slice(0, -1);
  }

  /** Forgets the statements and output tables of a run on these connections. */
  private async endRun(connections: readonly DuckDBConnection[]): Promise<void> {
    for (const connection of connections) {
      for (const statement of this.prepared.get(connection)?.values() ?? []) statement.destroySync();
      this.prepared.delete(connection);
      for (const table of this.made.get(connection) ?? []) await connection.run(`DROP TABLE IF EXISTS ${ident(table)}`);
      this.made.delete(connection);
    }
  }

  /** Whether one query fails on D, and for which removals its failing or not differs from D's. */
  async failureProfile(sql: string, removals: readonly Removal[]): Promise<{ failsOnD: boolean; differing: Removal[] }> {
    const connection = this.side;
    await this.useRemoval(connection, null);
    const failsOnD = 'error' in (await this.query(connection, sql));
    const differing: Removal[] = [];
    for (const removal of removals) {
      await this.useRemoval(connection, removal);
      if ('error' in (await this.query(connection, sql)) !== failsOnD) differing.push(removal);
    }
    await this.useRemoval(connection, null);
    await this.endRun([connection]);
    return { failsOnD, differing };
  }

  /**
   * D's outcomes and, for every removal, the outcomes of the cells it can change that released a
   * value (or feed one that did). A cell that reads none of the removal universe's tables, directly
   * or through earlier outputs, keeps D's outcome (undefined here).
   */
  async evaluateRun(run: RunCells, removals: readonly Removal[]): Promise<{ base: Outcome[]; perRemoval: (Outcome | undefined)[][] }> {
    const first = this.workers[0] as DuckDBConnection;
    this.baseline = null;
    const base = (await this.evaluate(first, run, null, run.cells.map(() => true))) as Outcome[];
    this.baseline = base;
    const reads = new Map<string, Set<string>>();
    for (const cell of run.cells) {
      const direct = new Set(tablesNamed(cell.ref, this.tables));
      for (const input of cell.inputs) for (const table of reads.get(input) ?? []) direct.add(table);
      reads.set(cell.name, direct);
    }
    const positions = new Map(run.cells.map((cell, position) => [cell.name, position]));
    const releasedSomething = run.outputs.map((output, position) => !('error' in (base[position] ?? { error: '' })) && output.rows.some((row) => row.some((value) => value !== null)));
    const neededFor = (removal: Removal): boolean[] => {
      const affected = run.cells.map((cell) => removal.universe.tables.some((entry) => reads.get(cell.name)?.has(entry.table)));
      const needed = run.cells.map((_, position) => (affected[position] ?? false) && (releasedSomething[position] ?? false));
      for (let position = run.cells.length - 1; position >= 0; position--) {
        if (!needed[position]) continue;
        for (const input of (run.cells[position] as GenCell).inputs) {
          const source = positions.get(input);
          if (source !== undefined && affected[source]) needed[source] = true;
        }
      }
      return needed;
    };
    const perRemoval: (Outcome | undefined)[][] = new Array(removals.length);
    let next = 0;
    await Promise.all(
      this.workers.map(async (connection) => {
        while (next < removals.length) {
          const position = next++;
          const removal = removals[position] as Removal;
          const needed = neededFor(removal);
          perRemoval[position] = needed.some(Boolean) ? await this.evaluate(connection, run, removal, needed) : run.cells.map(() => undefined);
        }
      }),
    );
    this.baseline = null;
    await this.endRun(this.workers);
    return { base, perRemoval };
  }
}
