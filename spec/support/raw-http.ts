/**
 * Raw HTTP/1.1 requests over a Unix socket with node:http, for checking what a plugin
 * puts on the wire byte by byte (plugwire's own client would hide it).
 */
import { request, type ClientRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

/** What came back: the status, the headers and the body as UTF-8 text. */
export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One raw request. Defaults: `POST /`, `Content-Type: application/json`, no body. */
export interface RawRequestOptions {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: string | Buffer;
  /** Send the body with `Transfer-Encoding: chunked` (in pieces of `chunkSize` bytes) instead of `Content-Length`. */
  readonly chunked?: boolean;
  readonly chunkSize?: number;
}

/** A request on its way: the ClientRequest (to destroy it) and the answer. */
export interface RawExchange {
  readonly request: ClientRequest;
  readonly response: Promise<RawResponse>;
}

/**
 * Starts a raw request on a fresh connection (no agent, so nothing stays open).
 * The response promise rejects if the connection fails before an answer arrived.
 */
export function startRawRequest(socketPath: string, options: RawRequestOptions = {}): RawExchange {
  const body = options.body === undefined ? undefined : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body, 'utf8');
  const headers: OutgoingHttpHeaders = { 'Content-Type': 'application/json', ...options.headers };
  if (options.chunked) headers['Transfer-Encoding'] = 'chunked';
  else headers['Content-Length'] ??= body?.length ?? 0;

  let req!: ClientRequest;
  const response = new Promise<RawResponse>((resolve, reject) => {
    let answered = false;
    req = request({ socketPath, path: options.path ?? '/', method: options.method ?? 'POST', headers, agent: false }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    // A server that answers early (413) and closes may make the rest of our write fail:
    // the answer is what counts then.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
  });

  if (body !== undefined && options.chunked) {
    const size = Math.max(1, options.chunkSize ?? 256);
    for (let offset = 0; offset < body.length; offset += size) req.write(body.subarray(offset, offset + size));
    req.end();
  } else {
    req.end(body);
  }
  return { request: req, response };
}

/** Sends a raw request and resolves with the answer. */
export function rawRequest(socketPath: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  return startRawRequest(socketPath, options).response;
}
