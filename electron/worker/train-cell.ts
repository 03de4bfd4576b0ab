// Train cells: select the training rows, fit the model, and let out only the model document.
//
// The body is checked like a SQL cell (shared/train-policy.ts), rendered from the checked tree and
// run into a temporary table that never leaves the worker. In aggregate mode the k-guard then
// counts the distinct people of each protected table behind the rows the fit will use (those with
// no NULL in the target or a feature): fewer than k and nothing is fitted. The rows are read into
// plain columns (numbers as DOUBLE, everything else as text) and fitted by fit.ts.
import { type DuckDBConnection } from '@duckdb/node-api';
import { guardTree, parseSqlTree, reservedPrefix } from '../../shared/k-guard.js';
import { modelColumnName, modelColumnType, modelDocumentText, maxModelTextLength, parseTrainOptions, type TrainSpec } from '../../shared/model.js';
import { analyseTrainCell } from '../../shared/train-policy.js';
import { type RunCell, type RunOutput } from '../../shared/worker-protocol.js';
import { type CellContext, type ParsedCell, checkOutputName, columnsOf, countRows, fail, refusalReasons, scalarText } from './cells.js';
import { sqlIdentifier } from './file-engine.js';
import { fitModel, isNumericType, type TrainingColumn, TrainingProblem } from './fit.js';
import { type ProgressSink } from './import.js';

/** Most training rows a train cell may select: the fit holds them in the worker's memory. */
export const maxTrainingRows = 2_000_000;
/** Reviewed mode: the fewest rows each part of the split may have. */
const reviewedMinRows = 2;

/** The SELECT's column for a name the notebook gave (case-insensitive), or a refusal naming it. */
function columnFor(columns: readonly { name: string; type: string }[], label: string, name: string, index: number): { name: string; type: string } {
  const found = columns.filter((column) => column.name.toLowerCase() === name.toLowerCase());
  if (found.length === 0) fail('PolicyRefused', index, [`${label} ${name} is not a column of the cell's SELECT`]);
  if (found.length > 1) fail('PolicyRefused', index, [`the cell's SELECT has ${found.length} columns named ${name}`]);
  return found[0] as { name: string; type: string };
}

/**
 * Reads the training columns of a relation: numeric ones (and BOOLEAN) as DOUBLE, the rest as
 * DuckDB's text. `columns` are the relation's own names and types; each TrainingColumn is named
 * as `names` gives (the notebook's spelling). Exported so the plain-DuckDB reference fit in the
 * tests (and the demo's) reads rows exactly as a run does.
 */
export async function readTrainingColumns(
  connection: DuckDBConnection,
  relation: string,
  columns: readonly { name: string; type: string }[],
  names: readonly string[],
  onRows: (rows: number) => void = () => undefined,
): Promise<TrainingColumn[]> {
  const select = columns.map((column) => `CAST(${sqlIdentifier(column.name)} AS ${isNumericType(column.type) ? 'DOUBLE' : 'VARCHAR'})`).join(', ');
  const values: (number | string | null)[][] = columns.map(() => []);
  const result = await connection.stream(`SELECT ${select} FROM ${relation}`);
  let rows = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    chunk.getColumns().forEach((column, position) => {
      const into = values[position] as (number | string | null)[];
      for (const value of column) into.push(typeof value === 'number' || typeof value === 'string' ? value : value === null ? null : String(value));
    });
    rows += chunk.rowCount;
    onRows(rows);
  }
  return columns.map((column, position) => ({ name: names[position] ?? column.name, type: column.type, values: values[position] as (number | string | null)[] }));
}

/**
 * Runs `SELECT <keys>, count(*) FROM (body) WHERE <no NULL> GROUP BY <keys>` through the k-guard,
 * the same rewrite that guards SQL cells' outputs: each row with, per protected table read, the
 * number of distinct people behind it. `null` when the body reads no protected table.
 */
async function peopleBehind(
  context: CellContext,
  parsed: ParsedCell,
  index: number,
  body: string,
  used: readonly string[],
  key: string | null,
): Promise<{ tables: string[]; rows: { key: string | null; people: number[] }[] } | null> {
  const { connection } = context;
  const complete = used.map((name) => `${sqlIdentifier(name)} IS NOT NULL`).join(' AND ');
  const keyColumn = key === null ? '' : `CAST(${sqlIdentifier(key)} AS VARCHAR) AS training_level, `;
  // Grouped by the expression itself: a body column could be called training_level too.
  const grouping = key === null ? '' : ` GROUP BY CAST(${sqlIdentifier(key)} AS VARCHAR)`;
  const counting = `SELECT ${keyColumn}count(*) AS training_rows FROM (${body}) AS training_rows WHERE ${complete}${grouping}`;
  const tree = parseSqlTree(await scalarText(connection, 'SELECT json_serialize_sql($1::VARCHAR)', [counting]));
  const guarded = guardTree(tree, context.policyTables);
  if (!guarded.ok) fail('PolicyRefused', index, refusalReasons(parsed, guarded.reasons));
  if (guarded.guards.length === 0) return null;
  const own = key === null ? 1 : 2;
  const rows = (await connection.runAndReadAll(await context.render(guarded.tree))).getRowsJson();
  // The guard columns follow the query's own columns.
  return {
    tables: guarded.guards.map((guard) => guard.table),
    rows: rows.map((row) => ({ key: key === null ? null : (row[0] as string | null), people: guarded.guards.map((_guard, position) => Number(row[own + position] ?? 0)) })),
  };
}

/**
 * Aggregate mode: the rows the fit will use (no NULL in the target or a feature) must come from at
 * least k distinct people of every protected table the body reads; and a categorical feature may
 * name only levels that k people share (the rest are folded into "(other)").
 */
async function checkPeople(
  context: CellContext,
  parsed: ParsedCell,
  index: number,
  body: string,
  used: readonly string[],
  categorical: readonly { column: string; feature: string }[],
): Promise<Map<string, Set<string>>> {
  const k = context.request.policy.minGroupSize;
  const allowed = new Map<string, Set<string>>();
  const total = await peopleBehind(context, parsed, index, body, used, null);
  if (total === null) return allowed;
  total.tables.forEach((table, position) => {
    const people = total.rows[0]?.people[position] ?? 0;
    if (!(people >= k)) fail('TooFewRows', index, [`the training rows come from fewer than k = ${k} people of ${table}`]);
  });
  for (const { column, feature } of categorical) {
    const levels = (await peopleBehind(context, parsed, index, body, used, column))?.rows ?? [];
    allowed.set(feature, new Set(levels.flatMap((level) => (level.key !== null && level.people.every((people) => people >= k) ? [level.key] : []))));
  }
  return allowed;
}

function specOf(cell: RunCell): TrainSpec {
  const checked = parseTrainOptions({ options: cell.options, output: cell.output });
  if (!checked.ok) fail('PolicyRefused', cell.index, checked.reasons);
  return checked.spec;
}

export async function runTrainCell(context: CellContext, cell: RunCell, sink: ProgressSink): Promise<RunOutput> {
  const { connection, request } = context;
  const index = cell.index;
  const mode = request.policy.mode;
  const spec = specOf(cell);
  checkOutputName(context, index, spec.model);

  const parsed = await context.parseCell(index, cell.source);
  const verdict = analyseTrainCell(parsed.tree, { tables: context.policyTables, earlierOutputs: [...context.outputs], mode }, spec);
  if (!verdict.ok) {
    fail('PolicyRefused', index, refusalReasons(parsed, verdict.problems.map((problem) => (problem.position === undefined ? problem.reason : `${problem.position}: ${problem.reason}`))));
  }
  // What runs is DuckDB's own rendering of the tree the policy checked.
  const body = await context.render(parsed.tree);
  const rowsTable = sqlIdentifier(`${reservedPrefix}train_${index + 1}`);
  await connection.run(`CREATE TEMP TABLE ${rowsTable} AS ${body}`);
  try {
    const columns = await columnsOf(connection, rowsTable);
    const target = columnFor(columns, 'target', spec.target, index);
    const features = spec.features.map((name) => columnFor(columns, 'feature', name, index));
    const categorical = features.flatMap((feature, position) => (isNumericType(feature.type) ? [] : [{ column: feature.name, feature: spec.features[position] as string }]));
    const allowedLevels = mode === 'aggregate' ? await checkPeople(context, parsed, index, body, [target.name, ...features.map((feature) => feature.name)], categorical) : undefined;

    const total = await countRows(connection, `SELECT count(*) FROM ${rowsTable}`);
    if (total > maxTrainingRows) fail('TooManyRows', index, [`a train cell may select at most ${maxTrainingRows} rows`]);
    sink({ phase: 'training', done: 0, total });
    const [targetColumn, ...featureColumns] = await readTrainingColumns(connection, rowsTable, [target, ...features], [spec.target, ...spec.features], (rows) =>
      sink({ phase: 'training', done: Math.min(rows, total), total }),
    );
    const k = request.policy.minGroupSize;
    let text: string;
    try {
      const model = fitModel(spec, targetColumn as TrainingColumn, featureColumns, {
        minLevelRows: mode === 'aggregate' ? k : 1,
        minRows: mode === 'aggregate' ? k : reviewedMinRows,
        ...(allowedLevels === undefined || allowedLevels.size === 0 ? {} : { allowedLevels }),
      });
      text = modelDocumentText(model);
    } catch (error) {
      if (error instanceof TrainingProblem) fail(error.problemClass, index, [error.reason]);
      throw error;
    }
    if (text.length > maxModelTextLength) fail('OutputTooLarge', index);
    sink({ phase: 'training', done: total, total });
    return { name: spec.model, cell: index, columns: [{ name: modelColumnName, type: modelColumnType }], rows: [[text]], suppressedRows: 0 };
  } finally {
    await connection.run(`DROP TABLE IF EXISTS ${rowsTable}`);
  }
}
