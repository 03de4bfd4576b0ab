// The browser-shell side of the API: the access token the shell puts in the page address, and the
// HTTP transport that carries every contract method. No DOM types here (only the small interfaces
// below), so node:test can exercise it with a fake fetch and a fake storage.
import { api, type ApiMethod, httpPath } from '../../shared/contract.js';
import { type ApiError, isErrorCode, type Result } from '../../shared/errors.js';

/** sessionStorage key: the token survives a reload of this tab, and dies with it. */
export const tokenStorageKey = 'cleanroom.shellToken';

/** The part of sessionStorage the token logic uses. */
export interface TokenStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export interface TokenFromAddress {
  /** The shell's access token, or null when the page was opened without one. */
  readonly token: string | null;
  /**
   * The fragment to put back in the address bar once the token is stored ("" for none), or null
   * when the address held no token and needs no change.
   */
  readonly strippedHash: string | null;
}

/**
 * Reads `#token=…` from the page fragment and stores it; without one, falls back to the token
 * stored by an earlier load of this tab. The caller strips the token from the address bar with
 * history.replaceState so it does not linger in history, bookmarks or screenshots.
 */
export function takeTokenFromAddress(hash: string, store: TokenStore): TokenFromAddress {
  const params = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash);
  const fromAddress = params.get('token');
  if (fromAddress !== null && fromAddress !== '') {
    store.setItem(tokenStorageKey, fromAddress);
    params.delete('token');
    const rest = params.toString();
    return { token: fromAddress, strippedHash: rest === '' ? '' : `#${rest}` };
  }
  const stored = store.getItem(tokenStorageKey);
  return { token: stored !== null && stored !== '' ? stored : null, strippedHash: null };
}

/**
 * For a fragment that changed in an open tab: pasting the printed address into a tab already on
 * the shell changes only the fragment, which loads no new page. The token it carries is stored,
 * and `restart` says the page must load again to use it (not when it is the token in use).
 */
export function takeTokenOnHashChange(hash: string, store: TokenStore, current: string | null): TokenFromAddress & { readonly restart: boolean } {
  const taken = takeTokenFromAddress(hash, store);
  return { ...taken, restart: taken.strippedHash !== null && taken.token !== current };
}

/** The part of fetch's response the transport reads. */
export interface FetchResponse {
  readonly status: number;
  json(): Promise<unknown>;
}

export type FetchFunction = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: string; credentials: 'omit'; cache: 'no-store' },
) => Promise<FetchResponse>;

export interface HttpTransportOptions {
  readonly fetch: FetchFunction;
  readonly token: string | null;
  /** Origin of the shell, e.g. "http://127.0.0.1:5123"; "" means the page's own origin. */
  readonly baseUrl?: string;
}

const failure = (error: ApiError): Result<never> => ({ ok: false, error });

/**
 * Checks that a response body is a Result whose value matches the method's response schema, so
 * the UI only ever renders what the contract promises.
 */
export function readResult(name: ApiMethod, body: unknown, status: number): Result<unknown> {
  if (typeof body === 'object' && body !== null && 'ok' in body) {
    const record = body as Record<string, unknown>;
    if (record.ok === true) {
      const checked = api[name].response.check(record.value, 'response');
      if (checked.ok) return { ok: true, value: checked.value };
      return failure({ code: 'INTERNAL', message: `The shell sent an invalid answer to ${name}: ${checked.issue.message}.` });
    }
    if (record.ok === false && typeof record.error === 'object' && record.error !== null) {
      const error = record.error as Record<string, unknown>;
      if (isErrorCode(error.code) && typeof error.message === 'string') {
        return failure({ code: error.code, message: error.message });
      }
    }
  }
  return failure({ code: 'INTERNAL', message: `The shell sent an unreadable answer to ${name} (HTTP ${status}).` });
}

/** The transport function for buildApi: POST /api/<method> with the bearer token. */
export function createHttpCall(options: HttpTransportOptions): (name: ApiMethod, request: unknown) => Promise<Result<unknown>> {
  const { fetch, token, baseUrl = '' } = options;
  return async (name, request) => {
    if (token === null) {
      return failure({
        code: 'UNAUTHORIZED',
        message: 'This page was opened without its access token. Open the address that `cleanroom serve` printed.',
      });
    }
    let response: FetchResponse;
    try {
      response = await fetch(`${baseUrl}${httpPath(name)}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify(request),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch {
      return failure({
        code: 'INTERNAL',
        message: 'Cannot reach Cleanroom: the shell that served this page has stopped. Start it again with `cleanroom serve`.',
      });
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      body = undefined;
    }
    return readResult(name, body, response.status);
  };
}
