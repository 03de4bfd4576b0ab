// `cleanroom demo`: three parties, synthetic data, both stories end to end.
// STUB — to be written (see /work/brief6.md).
import { CleanroomError } from '../../shared/errors.js';
import { type Command, type GlobalSettings } from './args.js';
import { type CliContext } from './session.js';

export async function demoCommand(_context: CliContext, _settings: GlobalSettings, _command: Extract<Command, { name: 'demo' }>): Promise<number> {
  throw new CleanroomError('INTERNAL', 'the demo is not built yet');
}
