// Train cells: select the training rows, fit the model, and let out only the model document.
// STUB — to be written (see /work/brief6.md).
import { type RunCell, type RunOutput } from '../../shared/worker-protocol.js';
import { type CellContext, fail } from './cells.js';
import { type ProgressSink } from './import.js';

export async function runTrainCell(_context: CellContext, cell: RunCell, _sink: ProgressSink): Promise<RunOutput> {
  return fail('NotSupported', cell.index);
}
