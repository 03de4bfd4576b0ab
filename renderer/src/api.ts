// Chooses how this renderer reaches core: the Electron preload's `window.cleanroom`, or the
// browser shell's HTTP API. Everything above this module sees one CleanroomApi either way.
import { buildApi, type CleanroomApi } from '../../shared/contract.js';
import { createHttpCall, takeTokenFromAddress, takeTokenOnHashChange } from './transport.js';

declare global {
  interface Window {
    /** Set by electron/preload through contextBridge; absent in the browser shell. */
    readonly cleanroom?: CleanroomApi;
  }
}

export type Transport = 'electron' | 'http';

export interface Connection {
  readonly api: CleanroomApi;
  readonly transport: Transport;
}

export function connect(): Connection {
  if (window.cleanroom !== undefined) return { api: window.cleanroom, transport: 'electron' };

  const stripTo = (hash: string) => {
    const { pathname, search } = window.location;
    window.history.replaceState(window.history.state, '', `${pathname}${search}${hash}`);
  };
  const { token, strippedHash } = takeTokenFromAddress(window.location.hash, window.sessionStorage);
  if (strippedHash !== null) stripTo(strippedHash);
  // The right address pasted into this tab (after a page without its token, or with an old one)
  // changes only the fragment: no load, so nothing would read the token without this.
  window.addEventListener('hashchange', () => {
    const next = takeTokenOnHashChange(window.location.hash, window.sessionStorage, token);
    if (next.strippedHash !== null) stripTo(next.strippedHash);
    if (next.restart) window.location.reload();
  });
  const call = createHttpCall({ fetch: (url, init) => window.fetch(url, init), token });
  return { api: buildApi(call), transport: 'http' };
}
