// The browser shell: serves the built renderer and the API over loopback HTTP. Anything else on
// this machine can connect to 127.0.0.1, so every API call must carry a per-launch secret token,
// and Host and Origin are checked so that a web page (cross-site or via DNS rebinding) cannot
// talk to us through the user's browser.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { isApiMethod, shellUploadPath } from '../../shared/contract.js';
import { type ApiError, CleanroomError, type ErrorCode, type Result } from '../../shared/errors.js';
import type { Core } from '../core/index.js';
import { maxStagedFileBytes, StagingError, type StagingRefusal } from '../core/staging.js';
import { openBrowser } from './open-browser.js';
import { contentSecurityPolicy } from '../../shared/content-security-policy.js';

export interface ShellOptions {
  readonly core: Core;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** The built renderer: index.html, app.js, app.css. */
  readonly rendererDir: string;
  /** Start Chromium in app mode on the URL. */
  readonly open: boolean;
  /** Browser executable to use instead of searching for one. */
  readonly browser?: string;
  /** Where notes for the person go (the browser could not be started, ...); stderr by default. */
  readonly log?: (line: string) => void;
}

export interface Shell {
  /** http://127.0.0.1:PORT/#token=TOKEN — the token is in the fragment, which is never sent. */
  readonly url: string;
  readonly port: number;
  /** The address the server is bound to: always 127.0.0.1. */
  readonly address: string;
  readonly token: string;
  close(): Promise<void>;
}

export const maxRequestBytes = 1024 * 1024;
/**
 * `packet.import` carries a whole packet as base64 (drag and drop in the browser): up to the
 * contract's 100 MiB of base64, plus room for the JSON around it.
 */
export const maxPacketRequestBytes = 100 * 1024 * 1024 + 64 * 1024;
const requestLimitOf = (method: string): number => (method === 'packet.import' ? maxPacketRequestBytes : maxRequestBytes);
/** Beyond this an oversized body is no longer read to its end: the connection is closed. */
const maxDrainBytes = 16 * maxRequestBytes;

const apiPrefix = '/api/';
/**
 * An API body must arrive within this time. Node's own request timeout cannot be used: it would
 * also cut off an upload, which may rightly take minutes.
 */
const apiBodyTimeoutMs = 60_000;
/** An upload that sends nothing for this long is dropped (and nothing of it kept). */
const uploadIdleTimeoutMs = 60_000;

/** The HTTP status for each reason an upload is refused. */
const uploadRefusalStatus: Readonly<Record<StagingRefusal, number>> = {
  'bad-name': 400,
  'bad-size': 400,
  'too-large': 413,
  'no-space': 507,
  incomplete: 400,
  closed: 503,
  'write-failed': 500,
};


const securityHeaders: Readonly<Record<string, string>> = {
  'Content-Security-Policy': contentSecurityPolicy,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export async function startShell(options: ShellOptions): Promise<Shell> {
  const { core } = options;
  const log = options.log ?? ((line: string) => console.error(line));
  const token = randomBytes(32).toString('base64url');
  const tokenDigest = digest(token);
  const rendererRoot = await rendererRootOf(options.rendererDir);
  const inFlight = new Set<Promise<void>>();
  let port = 0;

  const server = http.createServer((request, response) => {
    const handling = handle(request, response).catch(() => {
      // handle() answers every error itself; this only guards against a failed write.
      if (!response.headersSent) sendError(response, 500, 'INTERNAL', 'Internal error.');
      else response.destroy();
    });
    inFlight.add(handling);
    void handling.finally(() => inFlight.delete(handling));
  });
  server.headersTimeout = 30_000;
  // No whole-request deadline from Node (see apiBodyTimeoutMs); headers still must come in 30 s.
  server.requestTimeout = 0;

  async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const host = request.headers.host?.toLowerCase();
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      return sendError(response, 403, 'FORBIDDEN', 'This address only answers requests for 127.0.0.1 or localhost.');
    }
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== `http://127.0.0.1:${port}` && origin !== `http://localhost:${port}`) {
      return sendError(response, 403, 'FORBIDDEN', 'Requests from other sites are refused.');
    }

    const target = request.url ?? '/';
    const pathname = target.split(/[?#]/, 1)[0] as string;
    if (pathname.startsWith(apiPrefix)) {
      if (request.method !== 'POST') return sendMethodNotAllowed(response, 'POST');
      return handleApi(request, response, pathname.slice(apiPrefix.length));
    }
    if (pathname === shellUploadPath) {
      if (request.method === 'PUT') return handleUpload(request, response, target);
      if (request.method === 'DELETE') return handleDiscard(request, response, target);
      refuseBody(request, response);
      return sendMethodNotAllowed(response, 'PUT, DELETE');
    }
    if (request.method !== 'GET') return sendMethodNotAllowed(response, 'GET');
    return serveStatic(response, pathname);
  }

  async function handleApi(request: http.IncomingMessage, response: http.ServerResponse, method: string): Promise<void> {
    if (!hasToken(request.headers.authorization)) {
      request.resume();
      return sendError(response, 401, 'UNAUTHORIZED', 'Missing or wrong token: open Cleanroom from the address it printed.');
    }
    if (!isApiMethod(method)) {
      request.resume();
      return sendError(response, 404, 'UNKNOWN_METHOD', `Unknown method "${method.slice(0, 100)}".`);
    }
    const body = await readBody(request, response, requestLimitOf(method));
    if (body === null) return;
    let parsed: unknown;
    try {
      // An empty body is the empty request, so `curl -X POST` works for methods without input.
      parsed = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      return sendError(response, 400, 'BAD_REQUEST', 'The request body is not valid JSON.');
    }
    const result: Result<unknown> = await core.dispatch(method, parsed);
    sendJson(response, 200, result);
  }

  /**
   * PUT /upload?name=<file name>: the raw bytes of a file picked or dropped in the page, with a
   * Content-Length. Core stages them in its private RAM-backed folder and answers the path to
   * inspect or import, as if the person had typed it: `{ ok: true, value: { path, size } }`.
   */
  async function handleUpload(request: http.IncomingMessage, response: http.ServerResponse, target: string): Promise<void> {
    if (!hasToken(request.headers.authorization)) {
      refuseBody(request, response);
      return sendError(response, 401, 'UNAUTHORIZED', 'Missing or wrong token: open Cleanroom from the address it printed.');
    }
    const name = new URLSearchParams(target.includes('?') ? target.slice(target.indexOf('?') + 1) : '').get('name');
    if (name === null || name.trim() === '') {
      refuseBody(request, response);
      return sendError(response, 400, 'BAD_REQUEST', 'Give the file name as ?name=, e.g. ?name=admissions.csv.');
    }
    const lengthHeader = request.headers['content-length'];
    if (lengthHeader === undefined || request.headers['transfer-encoding'] !== undefined) {
      refuseBody(request, response);
      return sendError(response, 411, 'BAD_REQUEST', 'An upload must say its size in Content-Length.');
    }
    if (!/^\d{1,20}$/.test(lengthHeader)) {
      refuseBody(request, response);
      return sendError(response, 400, 'BAD_REQUEST', 'Content-Length is not a number of bytes.');
    }
    const size = Number(lengthHeader);
    if (size > maxStagedFileBytes) {
      refuseBody(request, response);
      return sendError(response, 413, 'BAD_REQUEST', `The file is larger than ${maxStagedFileBytes / 1024 ** 3} GiB: import it with the desktop app or the CLI, which read it from where it is.`);
    }
    // A sender that stalls is dropped; the body then fails and nothing of the file is kept.
    request.setTimeout(uploadIdleTimeoutMs, () => request.destroy());
    try {
      const staged = await core.staging.receive(name, size, request);
      request.setTimeout(0);
      sendJson(response, 200, { ok: true, value: staged });
    } catch (error) {
      if (request.destroyed || response.destroyed) return;
      refuseBody(request, response);
      if (error instanceof StagingError) return sendError(response, uploadRefusalStatus[error.refusal], error.code, error.message);
      return sendError(response, 500, 'INTERNAL', 'Internal error while receiving the file.');
    }
  }

  /**
   * DELETE /upload?path=<staged path>: the page no longer needs a file it uploaded (another was
   * chosen, or the form was closed), so its plaintext leaves memory now rather than at close.
   * Only staged files are removed; any other path is left alone.
   */
  async function handleDiscard(request: http.IncomingMessage, response: http.ServerResponse, target: string): Promise<void> {
    refuseBody(request, response);
    if (!hasToken(request.headers.authorization)) {
      return sendError(response, 401, 'UNAUTHORIZED', 'Missing or wrong token: open Cleanroom from the address it printed.');
    }
    const file = new URLSearchParams(target.includes('?') ? target.slice(target.indexOf('?') + 1) : '').get('path');
    if (file === null || file === '') return sendError(response, 400, 'BAD_REQUEST', 'Give the staged file as ?path=.');
    core.staging.release(file);
    sendJson(response, 200, { ok: true, value: {} });
  }

  /**
   * Before answering a request whose body will not be read: a small body is drained so the client
   * can read the answer; a large or unsized one closes the connection instead of being read.
   */
  function refuseBody(request: http.IncomingMessage, response: http.ServerResponse): void {
    const length = Number(request.headers['content-length'] ?? 'NaN');
    if (Number.isFinite(length) && length <= maxDrainBytes) request.resume();
    else response.setHeader('Connection', 'close');
  }

  function hasToken(authorization: string | undefined): boolean {
    const match = /^Bearer (\S+)$/.exec(authorization ?? '');
    if (match === null) return false;
    // Comparing fixed-length digests keeps the comparison constant-time whatever the input length.
    return timingSafeEqual(digest(match[1] as string), tokenDigest);
  }

  /** The body, or null after answering 413 because it is too large. */
  async function readBody(request: http.IncomingMessage, response: http.ServerResponse, limit: number): Promise<Buffer | null> {
    const drainLimit = Math.max(maxDrainBytes, limit);
    if (Number(request.headers['content-length'] ?? '0') > drainLimit) return sendTooLarge(response, limit, true);
    const chunks: Buffer[] = [];
    let size = 0;
    const deadline = setTimeout(() => request.destroy(), apiBodyTimeoutMs);
    try {
      for await (const chunk of request as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size <= limit) chunks.push(chunk);
        else if (size > drainLimit) return sendTooLarge(response, limit, true);
      }
    } finally {
      clearTimeout(deadline);
    }
    // A moderately oversized body is read to its end and dropped, so that the client, still
    // sending, is not cut off before it can read the answer.
    return size > limit ? sendTooLarge(response, limit, false) : Buffer.concat(chunks);
  }

  function sendTooLarge(response: http.ServerResponse, limit: number, closeConnection: boolean): null {
    if (closeConnection) response.setHeader('Connection', 'close');
    sendError(response, 413, 'BAD_REQUEST', `The request body is larger than ${limit} bytes.`);
    return null;
  }

  async function serveStatic(response: http.ServerResponse, pathname: string): Promise<void> {
    const file = await staticFile(pathname);
    if (file === 'refused') return sendError(response, 400, 'BAD_REQUEST', 'That path is not allowed.');
    if (file === null) return sendError(response, 404, 'BAD_REQUEST', 'Not found.');
    const type = contentTypes[path.extname(file.path).toLowerCase()] ?? 'application/octet-stream';
    response.writeHead(200, { ...securityHeaders, 'Content-Type': type, 'Content-Length': file.data.length });
    response.end(file.data);
  }

  /** The file under the renderer folder for a URL path; 'refused' for traversal attempts. */
  async function staticFile(pathname: string): Promise<{ path: string; data: Buffer } | 'refused' | null> {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return 'refused';
    }
    if (!decoded.startsWith('/') || decoded.includes('\0') || decoded.includes('\\')) return 'refused';
    const segments = decoded.split('/').slice(1);
    if (segments.some((segment) => segment === '..' || segment === '.')) return 'refused';
    const relative = decoded === '/' ? 'index.html' : segments.join('/');
    let real: string;
    try {
      real = await fs.realpath(path.join(rendererRoot, relative));
    } catch {
      return null;
    }
    const inside = path.relative(rendererRoot, real);
    if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) return 'refused';
    try {
      const stat = await fs.stat(real);
      if (!stat.isFile()) return null;
      return { path: real, data: await fs.readFile(real) };
    } catch {
      return null;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // 127.0.0.1 only: never 0.0.0.0, never ::, so no other machine can reach the shell.
    server.listen({ host: '127.0.0.1', port: options.port ?? 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: unknown) => {
    throw listenError(error, options.port ?? 0);
  });
  const bound = server.address() as AddressInfo;
  port = bound.port;
  const url = `http://127.0.0.1:${port}/#token=${token}`;

  let closing: Promise<void> | null = null;
  if (options.open) {
    const opened = await openBrowser({
      url,
      home: core.home,
      ...(options.browser === undefined ? {} : { browser: options.browser }),
      onFailedExit: (description) => {
        if (closing === null) log(`${description}. Open this address in Chromium or Chrome: ${url}`);
      },
    });
    if (opened.ok) {
      log(`Opened ${opened.browser} in app mode.`);
    } else {
      log(`${opened.reason} Open this address in Chromium or Chrome: ${url}`);
    }
  }

  return {
    url,
    port,
    address: bound.address,
    token,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // Let answers already being computed reach their callers, then drop every connection.
        await Promise.allSettled([...inFlight]);
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}

/** The renderer folder, resolved once so that symlinks inside it cannot lead outside it. */
async function rendererRootOf(dir: string): Promise<string> {
  try {
    const root = await fs.realpath(dir);
    await fs.access(path.join(root, 'index.html'));
    return root;
  } catch {
    throw new CleanroomError('INTERNAL', `The renderer is not built (${path.join(dir, 'index.html')} is missing): run \`npm run build\`.`);
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body), 'utf8');
  response.writeHead(status, { ...securityHeaders, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': data.length });
  response.end(data);
}

function sendError(response: http.ServerResponse, status: number, code: ErrorCode, message: string): void {
  const error: ApiError = { code, message };
  sendJson(response, status, { ok: false, error });
}

function sendMethodNotAllowed(response: http.ServerResponse, allowed: string): void {
  response.setHeader('Allow', allowed);
  sendError(response, 405, 'BAD_REQUEST', `Only ${allowed} is allowed here.`);
}

function listenError(error: unknown, port: number): CleanroomError {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'EADDRINUSE') {
    return new CleanroomError('BAD_REQUEST', `Port ${port} on 127.0.0.1 is already in use; choose another with --port, or leave it out for a free one.`);
  }
  if (code === 'EACCES') return new CleanroomError('BAD_REQUEST', `Port ${port} on 127.0.0.1 needs special privileges; choose one above 1023.`);
  return new CleanroomError('INTERNAL', `Could not listen on 127.0.0.1:${port} (${code ?? 'unknown error'}).`);
}
