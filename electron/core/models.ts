// Models: scoring a local file with a model output or an exported model file (`model.predict`).
// The worker reads the file with a DuckDB that may open nothing else and writes the scored CSV;
// core only picks where that goes: beside the chosen file under a temporary name, renamed into
// place once whole, or back as text in the worker's answer (never a file).
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, fstatSync, openSync, readFileSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { type ApiRequest, type Prediction } from '../../shared/contract.js';
import { CleanroomError, diskFullError } from '../../shared/errors.js';
import { parseModelDocument, scoredFileName } from '../../shared/model.js';
import { describeFileError, isFolder, outputTarget, type PendingFileJournal, removeQuietly, syncFolder, writeFailure } from './files.js';
import { type Staging } from './staging.js';
import { type WorkerHost } from './worker-host.js';

/** Largest model file read: a model document is at most 1,000,000 characters compact, more indented. */
export const maxModelFileBytes = 5 * 1024 * 1024;
/** Largest scored CSV returned as text; a larger one must be written to a file. */
export const maxReturnedCsvBytes = 20_000_000;
/** Scoring a big file takes as long as reading it; as generous as an import. */
const scoreTimeoutMs = 6 * 60 * 60 * 1000;

export type PredictRequest = Omit<ApiRequest<'model.predict'>, 'room' | 'model'>;

export class Models {
  constructor(
    private readonly worker: WorkerHost,
    /** Files the shell received; one scored here is removed once scoring ends, as imports do. */
    private readonly staging?: Pick<Staging, 'release'>,
    /** Where the scored file's temporary name is recorded while the worker writes it. */
    private readonly journal?: PendingFileJournal,
  ) {}

  /** Reads a model `.json` file (an exported model) as its JSON text, checked. */
  async readModelFile(file: string): Promise<string> {
    const resolved = path.resolve(file);
    let fd: number;
    try {
      fd = openSync(resolved, 'r');
    } catch (error) {
      throw new CleanroomError('FILE_ERROR', `Cannot read the model ${file} (${describeFileError(error)}).`);
    }
    let text: string;
    try {
      const info = fstatSync(fd);
      if (!info.isFile()) throw new CleanroomError('FILE_ERROR', `Cannot read the model ${file}: it is not a file.`);
      if (info.size > maxModelFileBytes) throw new CleanroomError('BAD_REQUEST', `${file} is not a Cleanroom model: it is larger than ${maxModelFileBytes / 1024 / 1024} MB.`);
      text = readFileSync(fd, 'utf8');
    } catch (error) {
      if (error instanceof CleanroomError) throw error;
      throw new CleanroomError('FILE_ERROR', `Cannot read the model ${file} (${describeFileError(error)}).`);
    } finally {
      closeSync(fd);
    }
    const parsed = parseModelDocument(text);
    if (!parsed.ok) throw new CleanroomError('BAD_REQUEST', `${file} is not a Cleanroom model: ${parsed.reason}.`);
    return text;
  }

  /** Scores `request.source` with the model document `modelText`. */
  async predict(modelText: string, request: PredictRequest): Promise<Prediction> {
    const parsed = parseModelDocument(modelText);
    if (!parsed.ok) throw new CleanroomError('BAD_REQUEST', `The model is not a Cleanroom model: ${parsed.reason}.`);
    const { algorithm, target } = parsed.model;
    const source = path.resolve(request.source);
    try {
      if (request.outPath !== undefined) {
        const written = await this.scoreToFile(modelText, source, request);
        return { algorithm, target, ...written.result, outPath: written.target, csv: null };
      }
      const { result, csv } = await this.scoreToText(modelText, source, request);
      return { algorithm, target, ...result, outPath: null, csv };
    } finally {
      this.staging?.release(source);
    }
  }

  private score(modelText: string, source: string, request: PredictRequest, outFile: string) {
    return this.worker.request(
      { kind: 'score', model: modelText, source, ...(request.format === undefined ? {} : { format: request.format }), outFile },
      { timeoutMs: scoreTimeoutMs },
    );
  }

  /** Writes beside the target under a temporary name, synced by the worker, then renamed into place. */
  private async scoreToFile(modelText: string, source: string, request: PredictRequest) {
    const target = outputTarget(request.outPath as string, scoredFileName(source));
    if (target === source) throw new CleanroomError('BAD_REQUEST', `The scored file would replace ${path.basename(source)}, the file being scored; write it somewhere else.`);
    const folder = path.dirname(target);
    try {
      if (!statSync(folder).isDirectory()) throw new CleanroomError('FILE_ERROR', `Cannot write ${target}: ${folder} is not a folder.`);
      // Read-only sticks and folders of other users fail here, naming the target, before any work.
      accessSync(folder, constants.W_OK);
    } catch (error) {
      if (error instanceof CleanroomError) throw error;
      throw new CleanroomError('FILE_ERROR', `Cannot write ${target} (${describeFileError(error)}).`);
    }
    if (isFolder(target)) throw new CleanroomError('FILE_ERROR', `Cannot write ${target}: it is a folder.`);
    const partial = path.join(folder, `.${path.basename(target)}.${randomBytes(6).toString('hex')}.partial`);
    this.journal?.begin(partial);
    try {
      const scored = await this.score(modelText, source, request, partial);
      try {
        renameSync(partial, target);
      } catch (error) {
        throw writeFailure(target, error);
      }
      syncFolder(folder);
      return { target, result: { columns: scored.columns, rows: scored.rows, scored: scored.scored } };
    } catch (error) {
      // The worker reports a full disk in its own words; the folder it was writing in is ours to name.
      if (error instanceof CleanroomError && error.code === 'DISK_FULL') throw diskFullError(folder);
      throw error;
    } finally {
      // One that could not be removed stays recorded for the next start-up.
      if (removeQuietly(partial)) this.journal?.end(partial);
    }
  }

  /** Has the worker return the CSV as text: written to no file, it cannot outlive a killed app. */
  private async scoreToText(modelText: string, source: string, request: PredictRequest) {
    const scored = await this.worker.request(
      { kind: 'score', model: modelText, source, ...(request.format === undefined ? {} : { format: request.format }), maxCsvBytes: maxReturnedCsvBytes },
      { timeoutMs: scoreTimeoutMs },
    );
    if (scored.csv === undefined) {
      throw new CleanroomError(
        'NOT_ALLOWED',
        `The scored file would be ${Math.ceil((scored.csvBytes ?? 0) / 1_000_000)} MB, more than the ${maxReturnedCsvBytes / 1_000_000} MB that can be shown; write it to a file instead (--out F).`,
      );
    }
    return { result: { columns: scored.columns, rows: scored.rows, scored: scored.scored }, csv: scored.csv };
  }

}
