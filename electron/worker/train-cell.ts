// Train cells: select the training rows, fit the model, and let out only the model document.
//
// The body is checked like a SQL cell (shared/train-policy.ts), rendered from the checked tree and
// run into a temporary table that never leaves the worker. The rows are read into plain columns
// (numbers as DOUBLE, everything else as text) and fitted by fit.ts.
//
// Reviewed mode fits the rows as they are (fitModel) and fails with a class and a reason when they
// cannot be fitted. Aggregate mode first rewrites the tree (trainingTree) so every row also
// carries the privacy unit of each protected table it was read from, and fits with
// fitAggregateModel: what fewer than k people decide is withheld, never a failure, so the run's
// outcome cannot depend on one person's value. The target's type is checked here, from the rows'
// declared types (DESCRIBE), not their values: `notebook check` cannot, its tables carry no types.
import { type DuckDBConnection } from '@duckdb/node-api';
import {
  modelColumnName,
  modelColumnType,
  modelDocumentText,
  maxModelTextLength,
  modelFormat,
  type ModelOutputDocument,
  parseTrainOptions,
  type TrainSpec,
  type WithheldModelDocument,
} from '../../shared/model.js';
import { analyseTrainCell, trainingTree, trainReservedPrefix, type TrainingUnit } from '../../shared/train-policy.js';
import { type RunCell, type RunOutput } from '../../shared/worker-protocol.js';
import { type CellContext, checkOutputName, columnsOf, countRows, fail, refusalReasons } from './cells.js';
import { sqlIdentifier } from './file-engine.js';
import { fitAggregateModel, fitModel, isNumericType, type PeopleColumn, type TrainingColumn, TrainingProblem } from './fit.js';
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

/** Reads the training rows' unit columns as text: who is behind each row, per protected table read. */
async function readPeople(connection: DuckDBConnection, relation: string, units: readonly TrainingUnit[]): Promise<PeopleColumn[]> {
  if (units.length === 0) return [];
  const read = await readTrainingColumns(
    connection,
    relation,
    units.map((unit) => ({ name: unit.column, type: 'VARCHAR' })),
    units.map((unit) => unit.column),
  );
  return read.map((column, position) => ({ table: (units[position] as TrainingUnit).table, values: column.values as (string | null)[] }));
}

function specOf(cell: RunCell): TrainSpec {
  const checked = parseTrainOptions({ options: cell.options, output: cell.output });
  if (!checked.ok) fail('PolicyRefused', cell.index, checked.reasons);
  return checked.spec;
}

/** Aggregate mode's document when there is no model, before any row is read into the fit. */
function withheldDocument(spec: TrainSpec, target: string, reason: string): WithheldModelDocument {
  return { format: modelFormat, name: spec.model, algorithm: spec.algorithm, target, withheld: { reason, features: [] }, l2: spec.l2, split: { testFraction: spec.testFraction, seed: spec.seed } };
}

export async function runTrainCell(context: CellContext, cell: RunCell, sink: ProgressSink): Promise<RunOutput> {
  const { connection, request } = context;
  const index = cell.index;
  const mode = request.policy.mode;
  const aggregate = mode === 'aggregate';
  const k = request.policy.minGroupSize;
  const spec = specOf(cell);
  checkOutputName(context, index, spec.model);

  const parsed = await context.parseCell(index, cell.source);
  const verdict = analyseTrainCell(parsed.tree, { tables: context.policyTables, earlierOutputs: [...context.outputs], mode }, spec);
  if (!verdict.ok) {
    fail('PolicyRefused', index, refusalReasons(parsed, verdict.problems.map((problem) => (problem.position === undefined ? problem.reason : `${problem.position}: ${problem.reason}`))));
  }
  // What runs is DuckDB's own rendering of the tree the policy checked (aggregate mode: with the
  // units of the people behind each row added, and casts and filters that cannot fail).
  let units: TrainingUnit[] = [];
  let tree = parsed.tree;
  if (aggregate) {
    const rewritten = trainingTree(parsed.tree, context.policyTables);
    if (!rewritten.ok) fail('PolicyRefused', index, refusalReasons(parsed, rewritten.reasons));
    tree = rewritten.tree;
    units = rewritten.units;
  }
  const body = await context.render(tree);
  const rowsTable = sqlIdentifier(`${trainReservedPrefix}train_${index + 1}`);
  await connection.run(`CREATE TEMP TABLE ${rowsTable} AS ${body}`);
  try {
    const columns = await columnsOf(connection, rowsTable);
    const own = columns.slice(0, columns.length - units.length);
    const target = columnFor(own, 'target', spec.target, index);
    const features = spec.features.map((name) => columnFor(own, 'feature', name, index));
    // From the declared type, never the values: the same answer whatever the rows hold (aggregate
    // mode refuses it as the policy would, with the cell named: it is the notebook's mistake).
    if (spec.algorithm === 'logistic' && !isNumericType(target.type)) {
      fail(aggregate ? 'PolicyRefused' : 'TargetNotBinary', index, [`target ${spec.target} must be BOOLEAN or a number${aggregate ? ' (read as value <> 0)' : ' that is 0 or 1'} for a logistic model (it is ${target.type})`]);
    }
    if (spec.algorithm === 'linear' && !isNumericType(target.type)) {
      fail(aggregate ? 'PolicyRefused' : 'TargetNotNumeric', index, [`target ${spec.target} must be a number for a linear model (it is ${target.type})`]);
    }

    const total = await countRows(connection, `SELECT count(*) FROM ${rowsTable}`);
    let document: ModelOutputDocument;
    if (total > maxTrainingRows) {
      if (!aggregate) fail('TooManyRows', index, [`a train cell may select at most ${maxTrainingRows} rows`]);
      document = withheldDocument(spec, spec.target, `a train cell may select at most ${maxTrainingRows} rows`);
    } else {
      sink({ phase: 'training', done: 0, total });
      const [targetColumn, ...featureColumns] = await readTrainingColumns(connection, rowsTable, [target, ...features], [spec.target, ...spec.features], (rows) =>
        sink({ phase: 'training', done: Math.min(rows, total), total }),
      );
      try {
        document = aggregate
          ? fitAggregateModel(spec, targetColumn as TrainingColumn, featureColumns, { k, people: await readPeople(connection, rowsTable, units) })
          : fitModel(spec, targetColumn as TrainingColumn, featureColumns, { minLevelRows: 1, minRows: reviewedMinRows });
      } catch (error) {
        if (error instanceof TrainingProblem) fail(error.problemClass, index, [error.reason]);
        throw error;
      }
    }
    let text = modelDocumentText(document);
    if (text.length > maxModelTextLength) {
      if (!aggregate) fail('OutputTooLarge', index);
      text = modelDocumentText(withheldDocument(spec, spec.target, 'the model document would be larger than a model output may be'));
    }
    sink({ phase: 'training', done: total, total });
    return { name: spec.model, cell: index, columns: [{ name: modelColumnName, type: modelColumnType }], rows: [[text]], suppressedRows: 0 };
  } finally {
    await connection.run(`DROP TABLE IF EXISTS ${rowsTable}`);
  }
}
