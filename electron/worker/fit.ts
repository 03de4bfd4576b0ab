// Fitting models inside the worker: logistic regression (Newton's method with an L2 penalty) and
// linear regression (least squares), numeric features standardised and text features one-hot,
// a seeded held-out split, and the metrics. Pure arithmetic: no DuckDB, no I/O.
// STUB — to be written (see /work/brief6.md).
import { type ModelDocument, type TrainSpec } from '../../shared/model.js';

/** One column of the training rows, all of the same length, in any order (the fit sorts rows first). */
export interface TrainingColumn {
  readonly name: string;
  /** DuckDB's type name: numeric types and BOOLEAN are numeric features; VARCHAR and the rest categorical. */
  readonly type: string;
  readonly values: readonly (number | string | boolean | null)[];
}

export interface FitOptions {
  /** Categorical levels with fewer training rows than this share the "(other)" coefficient (k in aggregate mode, 1 in reviewed). */
  readonly minLevelRows: number;
  /** Fewest rows the training part and the held-out part may each have. */
  readonly minRows: number;
}

/** Why a fit cannot be made: a class for the run's failure and a reason that names columns, never values. */
export class TrainingProblem extends Error {
  constructor(
    readonly problemClass: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

export function fitModel(_spec: TrainSpec, _target: TrainingColumn, _features: readonly TrainingColumn[], _options: FitOptions): ModelDocument {
  throw new TrainingProblem('NotSupported', 'fitting is not built yet');
}
