// Stable error codes: every boundary (IPC, HTTP, CLI, worker) returns either a value or one of
// these, serialised as { code, message }. Codes are part of the API: add, never rename.

export const errorCodes = [
  'BAD_REQUEST', // the input does not match the method's schema
  'UNKNOWN_METHOD',
  'NO_IDENTITY', // this home has no identity yet
  'IDENTITY_EXISTS',
  'LOCKED', // the identity must be unlocked first
  'WRONG_PASSPHRASE',
  'WEAK_PASSPHRASE',
  'HOME_NOT_WRITABLE',
  'HOME_TOO_NEW', // created by a newer Cleanroom than this one
  'HOME_IN_USE', // another Cleanroom process has this home open
  'HOME_DAMAGED',
  'WORKER_TIMEOUT',
  'WORKER_CRASHED',
  'WORKER_UNAVAILABLE',
  'NOT_FOUND', // no room, contact, member or amendment by that name or id
  'AMBIGUOUS', // a name or id prefix matches more than one thing
  'BAD_CARD', // an identity card that is malformed, or whose fingerprint or signature does not match
  'BAD_PACKET', // a packet refused by its checks; the message says which check
  'NOT_A_MEMBER', // signed by, or addressed to, someone who is not a member of the room
  'NOT_ALLOWED', // the room's state does not allow this now (not active, already joined, expired...)
  'FILE_ERROR', // a file could not be read or written; the message names it
  'DISK_FULL', // a write met a full disk (or quota); nothing was changed; the message names the folder
  'POLICY_REFUSED', // a notebook cell the room's output policy does not allow; names the cell and the reason
  'RUN_FAILED', // notebook code failed while running: an error class and a cell, never DuckDB's text
  'CANCELLED', // the person cancelled a long-running job
  'BAD_RECEIPT', // a run receipt that does not verify; the message says which check
  'UNAUTHORIZED', // shell: missing or wrong token
  'FORBIDDEN', // shell: foreign Host or Origin; IPC: untrusted sender
  'INTERNAL',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export interface ApiError {
  readonly code: ErrorCode;
  readonly message: string;
}

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ApiError };

/** Thrown inside core and hosts; turned into `{ ok: false, error }` at every boundary. */
export class CleanroomError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'CleanroomError';
    this.code = code;
  }
}

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });

export const err = (code: ErrorCode, message: string): Result<never> => ({ ok: false, error: { code, message } });

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (errorCodes as readonly string[]).includes(value);
}

/**
 * Converts anything thrown into a serialisable error. Only CleanroomError messages are passed on:
 * other exceptions can quote file paths or data, so they become a generic INTERNAL error.
 */
export function toApiError(thrown: unknown): ApiError {
  if (thrown instanceof CleanroomError) return { code: thrown.code, message: thrown.message };
  return { code: 'INTERNAL', message: 'Internal error; details are in the log.' };
}

/** Unwraps a Result at a call site that wants exceptions (CLI, renderer actions). */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw new CleanroomError(result.error.code, result.error.message);
}

/**
 * Whether a failed write met a full disk: Node's ENOSPC or EDQUOT (quota), or SQLite's
 * SQLITE_FULL (which is how SQLite reports ENOSPC on its database or journal).
 */
export function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL';
}

/** The one refusal for a write that met a full disk, naming the folder it was writing in. */
export const diskFullError = (folder: string): CleanroomError => new CleanroomError('DISK_FULL', `The disk is full; nothing was changed (${folder}).`);

/** A short reason for a failed file operation (Node's error code), without the library's full message. */
export function describeFileError(error: unknown): string {
  const raw = (error as { code?: unknown } | null)?.code;
  const code = typeof raw === 'string' ? raw : undefined;
  switch (code) {
    case 'ENOENT':
      return 'no such file or folder';
    case 'ENOTDIR':
      return 'a part of the path is not a folder';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a folder';
    case 'ENOSPC':
      return 'the disk is full';
    case 'EROFS':
      return 'the disk is read-only';
    case 'EEXIST':
      return 'it already exists';
    default:
      return code ?? 'unexpected error';
  }
}
