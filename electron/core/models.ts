// Models: scoring a local file with a model output or an exported model file (`model.predict`).
// STUB — to be written (see /work/brief6.md).
import { type ApiRequest, type Prediction } from '../../shared/contract.js';
import { CleanroomError } from '../../shared/errors.js';
import { type WorkerHost } from './worker-host.js';

export class Models {
  constructor(private readonly worker: WorkerHost) {}

  /** Reads a model `.json` file (an exported model) as its JSON text, checked. */
  async readModelFile(_file: string): Promise<string> {
    throw new CleanroomError('INTERNAL', `scoring is not built yet (${String(this.worker !== null)})`);
  }

  /** Scores `request.source` with the model document `modelText`. */
  async predict(_modelText: string, _request: Omit<ApiRequest<'model.predict'>, 'room' | 'model'>): Promise<Prediction> {
    throw new CleanroomError('INTERNAL', 'scoring is not built yet');
  }
}
