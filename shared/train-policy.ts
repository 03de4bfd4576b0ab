// The policy for a train cell's SQL body (issue 6): the rows it selects never leave the worker,
// only the model fitted on them does, so a row-level SELECT is allowed; but in aggregate mode no
// feature or target may come from a privacy unit or join key column, and hidden columns stay out.
// STUB — to be written (see /work/brief6.md).
import { type TrainSpec } from './model.js';
import { type PolicyContext, type PolicyVerdict } from './policy.js';

/** Checks a train cell's tree (macros already expanded) against the room's policy. */
export function analyseTrainCell(_tree: unknown, _context: PolicyContext, _spec: TrainSpec): PolicyVerdict {
  return { ok: false, problems: [{ reason: 'train cells are not built yet' }] };
}
