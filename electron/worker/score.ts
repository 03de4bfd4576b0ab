// Scoring a local file with a model document (the `score` request behind `cleanroom predict`).
// A short-lived DuckDB that may open only the source file reads it; its rows stream through
// scoreRow (shared/model.ts) chunk by chunk and out to `outFile`, or back in the result, as CSV
// (shared/csv.ts rules): the file's columns as DuckDB's text, then `prediction` and, for a
// logistic model, `predicted_label`.
//
// Messages may quote DuckDB's text about the source: it is the person's own file on their own
// machine, shown to them alone (as for imports).

import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import { toCsv } from '../../shared/csv.js';
import { CleanroomError, describeFileError, isDiskFull } from '../../shared/errors.js';
import { type ModelDocument, parseModelDocument, scoreRow, type ScoreInput } from '../../shared/model.js';
import { type ScoreResult, type WorkerProgress, type WorkerRequest } from '../../shared/worker-protocol.js';
import { readCsvHeader } from './csv-header.js';
import { type EngineLimits, type FileEngine, openFileEngine, sqlIdentifier } from './file-engine.js';
import { checkNames, csvRelation, describeSourceError, openSource, type ProgressSink, relationFor, type Source } from './import.js';

type ScoreRequest = Extract<WorkerRequest, { kind: 'score' }>;

/** The least time between progress messages. */
const progressIntervalMs = 200;
/** Scored rows written per file write. */
const rowsPerWrite = 8192;

/** import.ts and csv-header.ts speak of importing; here the same reasons are about scoring. */
const asScoring = (message: string): string => message.replace(/^Cannot import /, 'Cannot score ');

function scoringError(source: Source, error: unknown): CleanroomError {
  if (error instanceof CleanroomError) return new CleanroomError(error.code, asScoring(error.message));
  if (isDiskFull(error)) return new CleanroomError('DISK_FULL', 'Cannot write the scored file: the disk is full.');
  return new CleanroomError('FILE_ERROR', asScoring(describeSourceError(source, error instanceof Error ? error.message : String(error))));
}

/**
 * The table function reading the source. CSV fields are read as text exactly as written (no type
 * guessing, which could turn `007` into 7), under the header's own names and the import dialect.
 */
async function relationOf(source: Source): Promise<string> {
  if (source.format !== 'csv') return relationFor(source, ',');
  const header = await readCsvHeader(source.file, source.name, source.extension);
  checkNames(source, header.names, 'column');
  return csvRelation(source, header.delimiter, header.names);
}

/** A name for an added column that the file does not already use (case-insensitively). */
function freeName(wanted: string, taken: Set<string>): string {
  let name = wanted;
  for (let suffix = 2; taken.has(name.toLowerCase()); suffix++) name = `${wanted}_${suffix}`;
  taken.add(name.toLowerCase());
  return name;
}

/** The source column each feature reads: an exact name first, else the one that differs only in case. */
function featureColumns(model: ModelDocument, columns: readonly string[], fileName: string): string[] {
  return model.features.map((feature) => {
    if (columns.includes(feature.name)) return feature.name;
    const matches = columns.filter((column) => column.toLowerCase() === feature.name.toLowerCase());
    if (matches.length === 1) return matches[0] as string;
    if (matches.length > 1) throw new CleanroomError('BAD_REQUEST', `Cannot score ${fileName}: it has several columns named like ${feature.name} (${matches.join(', ')}); keep one.`);
    throw new CleanroomError('BAD_REQUEST', `Cannot score ${fileName}: it has no column ${feature.name}, which the model needs.`);
  });
}

/** The label a logistic model gives a row below the threshold, in the same spelling as its positive label. */
function negativeLabelOf(positive: string): string {
  switch (positive.toLowerCase()) {
    case '1':
      return '0';
    case 'true':
      return positive === 'TRUE' ? 'FALSE' : 'false';
    case 'yes':
      return 'no';
    default:
      return `not ${positive}`;
  }
}

/** A number as the scored file writes it: the shortest text that reads back as the same double. */
const numberText = (value: number): string => String(value);

function throttled(sink: ProgressSink, total: number): (done: number) => void {
  let last = 0;
  return (done) => {
    const now = Date.now();
    if (done < total && now - last < progressIntervalMs) return;
    last = now;
    sink({ phase: 'scoring', done, total } satisfies WorkerProgress);
  };
}

async function countRows(engine: FileEngine, source: Source, relation: string): Promise<number> {
  try {
    const rows = (await engine.connection.runAndReadAll(`SELECT count(*) FROM ${relation}`)).getRowsJson();
    const count = Number(rows[0]?.[0]);
    if (!Number.isSafeInteger(count) || count < 0) throw new CleanroomError('INTERNAL', 'scoring failed: DuckDB reported no row count');
    return count;
  } catch (error) {
    throw scoringError(source, error);
  }
}

async function columnNamesOf(engine: FileEngine, source: Source, relation: string): Promise<string[]> {
  try {
    return (await engine.connection.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`)).getRowsJson().map(([name]) => String(name));
  } catch (error) {
    throw scoringError(source, error);
  }
}

/** Where the scored CSV goes: a new file, or text kept here for the result. */
interface ScoredOutput {
  write(text: string): Promise<void>;
  /** Makes what was written whole (synced, for a file). */
  finish(): Promise<void>;
  /** Removes whatever was written. */
  abort(): Promise<void>;
  /** The CSV as text: only for text output, and only within its limit. */
  text(): string | undefined;
  /** Bytes written (UTF-8), kept or not. */
  readonly bytes: number;
}

async function fileOutput(outFile: string): Promise<ScoredOutput> {
  const handle = await open(outFile, 'wx', 0o600).catch((error: unknown) => {
    if (isDiskFull(error)) throw new CleanroomError('DISK_FULL', 'Cannot write the scored file: the disk is full.');
    throw new CleanroomError('FILE_ERROR', `Cannot write the scored file (${describeFileError(error)}).`);
  });
  let bytes = 0;
  return {
    get bytes() {
      return bytes;
    },
    async write(text) {
      bytes += Buffer.byteLength(text);
      await handle.write(text);
    },
    async finish() {
      await handle.sync();
      await handle.close();
    },
    async abort() {
      // A failing close must neither skip the clean-up nor hide the error that got us here.
      await handle.close().catch(() => undefined);
      await rm(outFile, { force: true });
    },
    text: () => undefined,
  };
}

/**
 * The CSV kept in memory for the result, never in a file: a file core reads back would outlive a
 * killed app. Past `maxBytes` only the size is counted, for core to say how large it would be.
 */
function textOutput(maxBytes: number): ScoredOutput {
  let parts: string[] = [];
  let bytes = 0;
  return {
    get bytes() {
      return bytes;
    },
    write(text) {
      bytes += Buffer.byteLength(text);
      if (bytes <= maxBytes) parts.push(text);
      else parts = [];
      return Promise.resolve();
    },
    finish: () => Promise.resolve(),
    abort() {
      parts = [];
      return Promise.resolve();
    },
    text: () => (bytes <= maxBytes ? parts.join('') : undefined),
  };
}

export async function scoreFile(limits: EngineLimits, request: ScoreRequest, sink: ProgressSink): Promise<ScoreResult> {
  const parsed = parseModelDocument(request.model);
  if (!parsed.ok) throw new CleanroomError('BAD_REQUEST', `the model is not a Cleanroom model: ${parsed.reason}`);
  const model = parsed.model;
  if ((request.outFile === undefined) === (request.maxCsvBytes === undefined)) throw new CleanroomError('BAD_REQUEST', 'give either outFile or maxCsvBytes');
  if (request.outFile !== undefined && !path.isAbsolute(request.outFile)) throw new CleanroomError('BAD_REQUEST', 'outFile must be an absolute path');
  const source = await openSource(request.source, request.format, 'the file to score').catch((error: unknown) => {
    throw error instanceof CleanroomError ? new CleanroomError(error.code, asScoring(error.message)) : error;
  });
  const engine = await openFileEngine(limits, { files: [source.file] });
  try {
    const relation = await relationOf(source).catch((error: unknown) => {
      throw scoringError(source, error);
    });
    const columns = await columnNamesOf(engine, source, relation);
    const featureSources = featureColumns(model, columns, source.name);
    const total = await countRows(engine, source, relation);
    const taken = new Set(columns.map((column) => column.toLowerCase()));
    const added = model.algorithm === 'logistic' ? [freeName('prediction', taken), freeName('predicted_label', taken)] : [freeName('prediction', taken)];
    const header = [...columns, ...added].map((name) => ({ name }));

    // The file's columns as text, then each feature as the model reads it: numbers as DOUBLE (as the
    // worker trained on them; true/false count as 1/0), categories as text. Unreadable → NULL → no score.
    const asText = columns.map((column) => `CAST(${sqlIdentifier(column)} AS VARCHAR)`);
    const asFeature = model.features.map((feature, index) => {
      const column = sqlIdentifier(featureSources[index] as string);
      return feature.kind === 'numeric'
        ? `coalesce(TRY_CAST(${column} AS DOUBLE), TRY_CAST(TRY_CAST(${column} AS BOOLEAN) AS DOUBLE))`
        : `CAST(${column} AS VARCHAR)`;
    });
    const select = `SELECT ${[...asText, ...asFeature].join(', ')} FROM ${relation}`;
    const featureIndex = new Map(model.features.map((feature, index) => [feature.name, index]));
    const positive = model.positiveLabel ?? '1';
    const negative = negativeLabelOf(positive);
    const headerText = toCsv(header, []);

    const report = throttled(sink, total);
    report(0);
    const output = request.outFile === undefined ? textOutput(request.maxCsvBytes as number) : await fileOutput(request.outFile);
    let complete = false;
    let rows = 0;
    let scored = 0;
    try {
      await output.write(headerText);
      const result = await engine.connection.stream(select).catch((error: unknown) => {
        throw scoringError(source, error);
      });
      let pending: (string | null)[][] = [];
      const flush = async () => {
        if (pending.length === 0) return;
        // toCsv's own header line is cut off: the rows are written with exactly its quoting rules.
        await output.write(toCsv(header, pending).slice(headerText.length));
        pending = [];
        report(rows);
      };
      for (;;) {
        const chunk = await result.fetchChunk().catch((error: unknown) => {
          throw scoringError(source, error);
        });
        if (chunk === null || chunk.rowCount === 0) break;
        for (const values of chunk.getRows()) {
          const featureValues = values.slice(columns.length);
          const prediction = scoreRow(model, (name) => featureValues[featureIndex.get(name) ?? -1] as ScoreInput);
          const text = values.slice(0, columns.length).map((value) => (value === null ? null : String(value)));
          if (prediction === null) text.push(...added.map(() => null));
          else if (model.algorithm === 'logistic') text.push(numberText(prediction), prediction >= 0.5 ? positive : negative);
          else text.push(numberText(prediction));
          if (prediction !== null) scored += 1;
          rows += 1;
          pending.push(text);
          if (pending.length >= rowsPerWrite) await flush();
        }
      }
      await flush();
      await output.finish();
      complete = true;
    } finally {
      if (!complete) await output.abort();
    }
    report(rows);
    const csv = output.text();
    return { kind: 'score', ...(csv === undefined ? {} : { csv }), csvBytes: output.bytes, columns: header.map((column) => column.name), rows, scored };
  } finally {
    engine.close();
  }
}
