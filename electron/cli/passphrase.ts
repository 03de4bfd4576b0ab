// Where the CLI gets passphrases: the environment or a file, never an option value (which any
// user can read in the process list and which lands in shell history).
import { readFileSync, statSync } from 'node:fs';
import { CleanroomError } from '../../shared/errors.js';

/** A passphrase file larger than this is certainly not one. */
const maxPassphraseFileBytes = 64 * 1024;

/** The first line of a file, without its line ending. Throws CleanroomError with the reason. */
export function readPassphraseFile(file: string): string {
  let text: string;
  try {
    if (statSync(file).size > maxPassphraseFileBytes) {
      throw new CleanroomError('BAD_REQUEST', `The passphrase file ${file} is too large to hold a passphrase.`);
    }
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof CleanroomError) throw error;
    throw new CleanroomError('BAD_REQUEST', `Cannot read the passphrase file ${file} (${describeFsError(error)}).`);
  }
  const firstLine = text.split('\n', 1)[0] as string;
  return firstLine.endsWith('\r') ? firstLine.slice(0, -1) : firstLine;
}

/**
 * The passphrase from --passphrase-file (when given, it wins: it is the explicit choice on this
 * line) or CLEANROOM_PASSPHRASE; null when neither is set.
 */
export function passphraseFrom(passphraseFile: string | undefined, env: NodeJS.ProcessEnv): string | null {
  if (passphraseFile !== undefined) return readPassphraseFile(passphraseFile);
  const fromEnv = env.CLEANROOM_PASSPHRASE;
  return fromEnv === undefined || fromEnv === '' ? null : fromEnv;
}

function describeFsError(error: unknown): string {
  switch ((error as NodeJS.ErrnoException | null)?.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a folder';
    default:
      return (error as NodeJS.ErrnoException | null)?.code ?? 'unreadable';
  }
}
