// The CLI's model commands: `model show`, `model save` and `predict`.
// STUB — to be written (see /work/brief6.md).
import { CleanroomError } from '../../shared/errors.js';
import { type Command, type GlobalSettings } from './args.js';
import { type CliContext } from './session.js';

export type ModelCommand = Extract<Command, { name: 'model show' | 'model save' | 'predict' }>;

export async function modelCommands(_context: CliContext, _settings: GlobalSettings, command: ModelCommand): Promise<number> {
  throw new CleanroomError('INTERNAL', `${command.name} is not built yet`);
}
