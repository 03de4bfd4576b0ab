// Raw HTTP for browser-shell tests: node:http lets a test set any Host or Origin header and send
// paths exactly as written (fetch would normalise "/../" and refuses to set Host).
import http from 'node:http';

export interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface RawRequest {
  readonly port: number;
  readonly path: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** Send the body with chunked encoding instead of a Content-Length. */
  readonly chunked?: boolean;
}

export function rawRequest(request: RawRequest): Promise<RawResponse> {
  const headers: Record<string, string> = { host: `127.0.0.1:${request.port}`, ...request.headers };
  if (request.body !== undefined && !request.chunked) headers['content-length'] = String(Buffer.byteLength(request.body));
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      { host: '127.0.0.1', port: request.port, method: request.method ?? 'GET', path: request.path, headers, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}

/** POST /api/<method> with a JSON body and, when given, the bearer token. */
export function postApi(port: number, method: string, body: unknown, token?: string, headers: Record<string, string> = {}) {
  return rawRequest({
    port,
    method: 'POST',
    path: `/api/${method}`,
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

/** The token from a shell URL's fragment (http://127.0.0.1:PORT/#token=...). */
export function tokenFromUrl(url: string): string {
  const token = new URL(url).hash.match(/^#token=([A-Za-z0-9_-]+)$/)?.[1];
  if (token === undefined) throw new Error(`no token in ${url}`);
  return token;
}
