// Sending a picked or dropped file to the browser shell. A browser never tells a page where a
// picked file lives, so instead of a path the shell receives the file's bytes over loopback and
// stages them in a private RAM-backed folder, answering a path core then reads like a typed one.
// XMLHttpRequest rather than fetch: only it reports upload progress. No DOM types here (only the
// small interfaces below), so node:test can drive it with a fake request.
import { shellUploadPath } from '../../shared/contract.js';
import { type ApiError, isErrorCode } from '../../shared/errors.js';
import { formatByteSize } from './format.js';
import { tokenStorageKey } from './transport.js';

/**
 * The largest file the shell stages (electron/core/staging.ts, maxStagedFileBytes): checked here
 * first, so a larger file is refused at once rather than after it started to stream.
 */
export const maxUploadBytes = 64 * 1024 ** 3;

/** What is sent: a File in the page. */
export interface UploadFile {
  readonly name: string;
  readonly size: number;
}

export interface UploadProgressEvent {
  readonly loaded: number;
  readonly total: number;
  readonly lengthComputable: boolean;
}

/** The part of XMLHttpRequest an upload uses. */
export interface UploadRequest<Body extends UploadFile> {
  open(method: 'PUT', url: string): void;
  setRequestHeader(name: string, value: string): void;
  send(body: Body): void;
  abort(): void;
  readonly status: number;
  readonly responseText: string;
  addEventListener(type: 'load' | 'error' | 'abort' | 'timeout', listener: () => void): void;
  readonly upload: { addEventListener(type: 'progress', listener: (event: UploadProgressEvent) => void): void };
}

/** Where a staged file is, for inspect and import, and its name for the person. */
export interface StagedUpload {
  /** The staged copy's path: core reads it; the person is shown `name`. */
  readonly path: string;
  readonly size: number;
  /** The file's own name, as the person chose it. */
  readonly name: string;
}

export type UploadOutcome =
  | { readonly state: 'done'; readonly file: StagedUpload }
  | { readonly state: 'failed'; readonly error: ApiError }
  | { readonly state: 'cancelled' };

export interface UploadProgress {
  readonly sent: number;
  readonly total: number;
  /** 0–100, whole. */
  readonly percent: number;
  /** "Uploading admissions.csv… 1.2 MB of 3.4 MB · 35%" */
  readonly label: string;
}

export interface UploadOptions<Body extends UploadFile> {
  readonly file: Body;
  /** The shell's access token (readShellToken); null when the page was opened without it. */
  readonly token: string | null;
  readonly createRequest: () => UploadRequest<Body>;
  readonly onProgress?: (progress: UploadProgress) => void;
  /** Origin of the shell; "" (the default) is the page's own. */
  readonly baseUrl?: string;
}

export interface Upload {
  /** Settles once: done, failed or cancelled. */
  readonly outcome: Promise<UploadOutcome>;
  /** Stops sending; the shell keeps nothing of a file that did not arrive whole. */
  cancel(): void;
}

/** The access token the page took from its address (see transport.ts), or null. */
export function readShellToken(storage: { getItem(key: string): string | null }): string | null {
  const token = storage.getItem(tokenStorageKey);
  return token === null || token === '' ? null : token;
}

export function uploadProgress(name: string, sent: number, total: number): UploadProgress {
  const percent = total <= 0 ? 100 : Math.max(0, Math.min(100, Math.floor((sent / total) * 100)));
  return { sent, total, percent, label: `Uploading ${name}… ${formatByteSize(sent)} of ${formatByteSize(total)} · ${percent}%` };
}

const failed = (code: ApiError['code'], message: string): UploadOutcome => ({ state: 'failed', error: { code, message } });

/** The outcome a finished request's status and body stand for. */
export function readUploadAnswer(name: string, status: number, text: string): UploadOutcome {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (typeof body === 'object' && body !== null && 'ok' in body) {
    const record = body as Record<string, unknown>;
    const value = record.value as Record<string, unknown> | undefined;
    if (record.ok === true && status === 200 && typeof value?.path === 'string' && value.path !== '' && typeof value.size === 'number') {
      return { state: 'done', file: { path: value.path, size: value.size, name } };
    }
    const error = record.error as Record<string, unknown> | undefined;
    if (record.ok === false && isErrorCode(error?.code) && typeof error.message === 'string') return failed(error.code, error.message);
  }
  return failed('INTERNAL', `The shell sent an unreadable answer to the upload of ${name} (HTTP ${status}).`);
}

/** Starts sending `file` to the shell with PUT; progress is reported as the bytes leave. */
export function startUpload<Body extends UploadFile>(options: UploadOptions<Body>): Upload {
  const { file, token, baseUrl = '' } = options;
  if (token === null) {
    return {
      outcome: Promise.resolve(failed('UNAUTHORIZED', 'This page was opened without its access token. Open the address that `cleanroom serve` printed.')),
      cancel: () => {},
    };
  }
  if (file.size > maxUploadBytes) {
    return {
      outcome: Promise.resolve(
        failed('BAD_REQUEST', `${file.name} is larger than 64 GiB: import it with the desktop app or the CLI, which read it from where it is, or type its path.`),
      ),
      cancel: () => {},
    };
  }
  const request = options.createRequest();
  let settle: (outcome: UploadOutcome) => void = () => {};
  let settled = false;
  const outcome = new Promise<UploadOutcome>((resolve) => {
    settle = (value) => {
      if (settled) return;
      settled = true;
      resolve(value);
    };
  });
  request.upload.addEventListener('progress', (event) => {
    if (settled) return;
    options.onProgress?.(uploadProgress(file.name, event.loaded, event.lengthComputable ? event.total : file.size));
  });
  request.addEventListener('load', () => settle(readUploadAnswer(file.name, request.status, request.responseText)));
  request.addEventListener('error', () =>
    settle(
      failed(
        'INTERNAL',
        `The upload of ${file.name} stopped before Cleanroom answered: the shell may have stopped or refused the file. Try again, or type the file's path.`,
      ),
    ),
  );
  request.addEventListener('timeout', () => settle(failed('INTERNAL', `The upload of ${file.name} took too long; nothing of it was kept.`)));
  request.addEventListener('abort', () => settle({ state: 'cancelled' }));
  request.open('PUT', `${baseUrl}${shellUploadPath}?name=${encodeURIComponent(file.name)}`);
  request.setRequestHeader('Authorization', `Bearer ${token}`);
  request.setRequestHeader('Content-Type', 'application/octet-stream');
  options.onProgress?.(uploadProgress(file.name, 0, file.size));
  request.send(file);
  return {
    outcome,
    cancel: () => {
      if (settled) return;
      request.abort();
      // Some implementations fire no abort event once sending has ended: settle here as well.
      settle({ state: 'cancelled' });
    },
  };
}

/** The part of fetch discarding uses. */
export type DiscardFetch = (url: string, init: { method: 'DELETE'; headers: Record<string, string>; keepalive: true; credentials: 'omit' }) => Promise<unknown>;

/**
 * Tells the shell a staged file is no longer needed (another was chosen, or the form closed), so
 * its plaintext leaves memory now. Best effort: whatever is left goes when Cleanroom closes.
 */
export function discardStagedFile(options: { readonly path: string; readonly token: string | null; readonly fetch: DiscardFetch; readonly baseUrl?: string }): void {
  if (options.token === null || options.path === '') return;
  options
    .fetch(`${options.baseUrl ?? ''}${shellUploadPath}?path=${encodeURIComponent(options.path)}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${options.token}` },
      // keepalive: the request still goes out when the page is closing.
      keepalive: true,
      credentials: 'omit',
    })
    .catch(() => {});
}
