// Scoring a local file with a model document (the `score` request behind `cleanroom predict`).
// STUB — to be written (see /work/brief6.md).
import { CleanroomError } from '../../shared/errors.js';
import { type ScoreResult, type WorkerRequest } from '../../shared/worker-protocol.js';
import { type EngineLimits } from './file-engine.js';
import { type ProgressSink } from './import.js';

export async function scoreFile(_limits: EngineLimits, _request: Extract<WorkerRequest, { kind: 'score' }>, _sink: ProgressSink): Promise<ScoreResult> {
  throw new CleanroomError('INTERNAL', 'scoring is not built yet');
}
