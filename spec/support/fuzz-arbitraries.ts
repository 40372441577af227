/**
 * fast-check arbitraries for spec/server/fuzz.spec.ts: HTTP/1.1 requests built byte by
 * byte (request line, headers, framing, body), and a raw-socket connection that reads the
 * answers back. node:http's client refuses most of these requests (unicode paths, bogus
 * lengths, duplicate framing headers), so neither is built on it.
 */
import fc from 'fast-check';
import { connect, type Socket } from 'node:net';

// ---------------------------------------------------------------------------------------
// Requests on the wire
// ---------------------------------------------------------------------------------------

/**
 * How the body is delimited. The first group makes a well-formed message (or one that is
 * refused at its headers); the second breaks the message after its headers.
 */
export type Framing =
  | { readonly kind: 'length'; readonly padded: boolean }
  | { readonly kind: 'chunked'; readonly size: number; readonly extension: boolean; readonly trailer: boolean }
  | { readonly kind: 'bogus-length'; readonly value: string }
  | { readonly kind: 'duplicate-length' }
  | { readonly kind: 'length-and-chunked' }
  // broken after the headers:
  | { readonly kind: 'short-length'; readonly missing: number }
  | { readonly kind: 'no-length' }
  | { readonly kind: 'long-length'; readonly extra: number }
  | { readonly kind: 'chunked-truncated' }
  | { readonly kind: 'chunked-malformed' }
  | { readonly kind: 'transfer-encoding-gzip' };

/** One HTTP request, before encoding. Header names and values are written as UTF-8. */
export interface WireRequest {
  readonly method: string;
  readonly target: string;
  readonly version: string;
  /** In order, duplicates allowed; never the framing headers (see `framing`). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly framing: Framing;
  readonly body: Buffer;
}

/** Whether the request stops short of what its framing announced: the client then half-closes. */
export function isTruncated(framing: Framing): boolean {
  return framing.kind === 'long-length' || framing.kind === 'chunked-truncated';
}

function chunked(body: Buffer, size: number, extension: boolean, trailer: boolean, terminate: boolean): Buffer {
  const parts: Buffer[] = [];
  const step = Math.max(1, size);
  for (let offset = 0; offset < body.length; offset += step) {
    const piece = body.subarray(offset, offset + step);
    parts.push(Buffer.from(`${piece.length.toString(16)}${extension ? ';fuzz=1' : ''}\r\n`), piece, Buffer.from('\r\n'));
  }
  if (terminate) parts.push(Buffer.from(`0\r\n${trailer ? 'X-Fuzz-Trailer: t\r\n' : ''}\r\n`));
  return Buffer.concat(parts);
}

function framed(framing: Framing, body: Buffer): { headers: string[]; payload: Buffer } {
  const length = (n: number | string): string => `Content-Length: ${n}`;
  switch (framing.kind) {
    case 'length':
      return { headers: [framing.padded ? `Content-Length:   ${body.length}  ` : length(body.length)], payload: body };
    case 'chunked':
      return { headers: ['Transfer-Encoding: chunked'], payload: chunked(body, framing.size, framing.extension, framing.trailer, true) };
    case 'bogus-length':
      return { headers: [length(framing.value)], payload: body };
    case 'duplicate-length':
      return { headers: [length(body.length), length(body.length)], payload: body };
    case 'length-and-chunked':
      return { headers: [length(body.length), 'Transfer-Encoding: chunked'], payload: chunked(body, 64, false, false, true) };
    case 'short-length':
      return { headers: [length(Math.max(0, body.length - framing.missing))], payload: body };
    case 'no-length':
      return { headers: [], payload: body };
    case 'long-length':
      return { headers: [length(body.length + framing.extra)], payload: body };
    case 'chunked-truncated':
      return { headers: ['Transfer-Encoding: chunked'], payload: chunked(body, 64, false, false, false) };
    case 'chunked-malformed':
      return { headers: ['Transfer-Encoding: chunked'], payload: Buffer.concat([Buffer.from('zz\r\n'), body, Buffer.from('\r\n0\r\n\r\n')]) };
    case 'transfer-encoding-gzip':
      return { headers: ['Transfer-Encoding: gzip'], payload: body };
  }
}

/** The bytes of a request. */
export function encodeRequest(request: WireRequest): Buffer {
  const { headers, payload } = framed(request.framing, request.body);
  const lines = [`${request.method} ${request.target} ${request.version}`, ...request.headers.map(([name, value]) => `${name}: ${value}`), ...headers];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'), payload]);
}

/** A short description of a request for failure messages (bodies can be megabytes). */
export function describeRequest(request: WireRequest): string {
  const body = request.body.length > 200 ? `${request.body.subarray(0, 200).toString('latin1')}… (${request.body.length} bytes)` : request.body.toString('latin1');
  const headers = request.headers.map(([n, v]) => `${n}: ${v.length > 80 ? `${v.slice(0, 80)}… (${v.length} chars)` : v}`);
  const target = request.target.length > 120 ? `${request.target.slice(0, 120)}… (${request.target.length} chars)` : request.target;
  return JSON.stringify({ line: `${request.method} ${target} ${request.version}`, headers, framing: request.framing, body });
}

// ---------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------

/** One parsed HTTP answer. Header names are lower case; interim (1xx) answers are skipped. */
export interface HttpAnswer {
  readonly statusLine: string;
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
  readonly interim: readonly number[];
}

export function headerOf(answer: HttpAnswer, name: string): string | undefined {
  return answer.headers.find(([n]) => n === name.toLowerCase())?.[1];
}

/** What came back on a connection within the bound. */
export type Outcome =
  | { readonly kind: 'answer'; readonly answer: HttpAnswer }
  /** The connection closed without a complete answer (`received` is what did arrive). */
  | { readonly kind: 'closed'; readonly received: Buffer; readonly error: string | undefined }
  /** Neither an answer nor a close within the bound. */
  | { readonly kind: 'silent'; readonly received: Buffer };

export function describeOutcome(outcome: Outcome): string {
  if (outcome.kind !== 'answer') return `${outcome.kind}${outcome.kind === 'closed' && outcome.error ? ` (${outcome.error})` : ''} after ${JSON.stringify(outcome.received.subarray(0, 300).toString('latin1'))}`;
  const { answer } = outcome;
  const body = answer.body.length > 300 ? `${answer.body.subarray(0, 300).toString('utf8')}… (${answer.body.length} bytes)` : answer.body.toString('utf8');
  return `${answer.statusLine} ${JSON.stringify(answer.headers)} ${JSON.stringify(body)}`;
}

/** A parsed answer and what follows it; or how many bytes in all are needed before trying again; or what is wrong. */
type Parsed = { answer: HttpAnswer; rest: Buffer } | { need: number } | { malformed: string };

function parseChunked(data: Buffer): { body: Buffer; used: number } | { need: number } | { malformed: string } {
  const more = { need: data.length + 1 };
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', offset);
    if (eol === -1) return more;
    const size = parseInt(data.subarray(offset, eol).toString('latin1').split(';')[0] ?? '', 16);
    if (Number.isNaN(size)) return { malformed: 'bad chunk size' };
    if (size === 0) {
      const end = data.indexOf('\r\n\r\n', eol);
      if (end === -1) return data.subarray(eol, eol + 4).toString('latin1') === '\r\n\r\n' ? { body: Buffer.concat(parts), used: eol + 4 } : more;
      return { body: Buffer.concat(parts), used: end + 4 };
    }
    if (data.length < eol + 2 + size + 2) return { need: eol + 2 + size + 2 };
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    offset = eol + 2 + size + 2;
  }
}

function parseAnswer(data: Buffer, head: boolean, closed: boolean, interim: number[] = []): Parsed {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1) return { need: data.length + 1 };
  const lines = data.subarray(0, end).toString('latin1').split('\r\n');
  const statusLine = lines[0] ?? '';
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
  if (!m) return { malformed: `status line ${JSON.stringify(statusLine)}` };
  const status = Number(m[1]);
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return { malformed: `header line ${JSON.stringify(line)}` };
    headers.push([line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]);
  }
  const after = data.subarray(end + 4);
  if (status >= 100 && status < 200) {
    const final = parseAnswer(after, head, closed, [...interim, status]);
    return 'need' in final ? { need: end + 4 + final.need } : final;
  }
  const base = { statusLine, status, headers, interim };
  const length = headers.find(([n]) => n === 'content-length')?.[1];
  const encoding = headers.find(([n]) => n === 'transfer-encoding')?.[1];
  if (head || status === 204 || status === 304) return { answer: { ...base, body: Buffer.alloc(0) }, rest: after };
  if (length !== undefined) {
    const n = Number(length);
    if (!/^\d+$/.test(length)) return { malformed: `content-length ${JSON.stringify(length)}` };
    if (after.length < n) return { need: end + 4 + n };
    return { answer: { ...base, body: after.subarray(0, n) }, rest: after.subarray(n) };
  }
  if (encoding !== undefined && /chunked/i.test(encoding)) {
    const result = parseChunked(after);
    if ('need' in result) return { need: end + 4 + result.need };
    if ('malformed' in result) return result;
    return { answer: { ...base, body: result.body }, rest: after.subarray(result.used) };
  }
  // delimited by the close of the connection
  return closed ? { answer: { ...base, body: after }, rest: Buffer.alloc(0) } : { need: data.length + 1 };
}

/**
 * A client connection over a Unix socket that writes raw bytes and reads answers one by
 * one. It never throws for what the server does: a refused or reset connection is an
 * outcome, not an error.
 */
export class RawConnection {
  /** What arrived and was not consumed yet, in pieces: joined only when an answer may be complete. */
  private chunks: Buffer[] = [];
  private size = 0;
  /** Everything waiting for the next event (data, drain, close, a timer): send() and read() may both wait. */
  private waiters: Array<() => void> = [];
  private closeError: string | undefined;
  private isClosed = false;
  /** Resolves once the connection is closed (by either side). */
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.isClosed = true;
        this.notify();
        resolve();
      });
    });
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.size += chunk.length;
      this.notify();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.closeError ??= error.code ?? error.message;
    });
    socket.on('drain', () => this.notify());
  }

  /** Connects; resolves once connected, or once the attempt failed (then `closed` has resolved too). */
  static open(path: string): Promise<RawConnection> {
    return new Promise((resolve) => {
      const socket = connect(path);
      const connection = new RawConnection(socket);
      socket.once('connect', () => resolve(connection));
      void connection.closed.then(() => resolve(connection));
    });
  }

  get open(): boolean {
    return !this.isClosed;
  }

  get error(): string | undefined {
    return this.closeError;
  }

  private received(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks, this.size)];
    return this.chunks[0] as Buffer;
  }

  private consume(rest: Buffer): void {
    this.chunks = [rest];
    this.size = rest.length;
  }

  private notify(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  private next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Writes the bytes in slices, waiting for the socket to drain between them, and stops
   * early once the connection closes. Resolves with how many bytes were handed over.
   */
  async send(bytes: Buffer, options: { halfClose?: boolean } = {}): Promise<number> {
    const slice = 256 * 1024;
    let sent = 0;
    while (sent < bytes.length && !this.isClosed) {
      const piece = bytes.subarray(sent, sent + slice);
      sent += piece.length;
      if (!this.socket.write(piece)) {
        while (this.socket.writableNeedDrain && !this.isClosed) await this.next();
      }
    }
    if (options.halfClose && !this.isClosed) this.socket.end();
    return sent;
  }

  /** Half-closes: the server sees the end of the request stream. */
  end(): void {
    if (!this.isClosed) this.socket.end();
  }

  /** Waits for the next complete answer (consuming it), the close of the connection, or `timeoutMs`. */
  async read(options: { head?: boolean; timeoutMs?: number } = {}): Promise<Outcome> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.notify();
    }, options.timeoutMs ?? 5000);
    try {
      let need = 0;
      for (;;) {
        if (this.size >= need || this.isClosed || timedOut) {
          const parsed = parseAnswer(this.received(), options.head ?? false, this.isClosed);
          if ('answer' in parsed) {
            this.consume(parsed.rest);
            return { kind: 'answer', answer: parsed.answer };
          }
          if ('malformed' in parsed || this.isClosed) return { kind: 'closed', received: this.received(), error: this.closeError ?? ('malformed' in parsed ? parsed.malformed : undefined) };
          if (timedOut) return { kind: 'silent', received: this.received() };
          need = parsed.need;
        }
        await this.next();
      }
    } finally {
      clearTimeout(timer);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Options of {@link exchange}. */
export interface ExchangeOptions {
  /** The request is a HEAD request: its answer has no body. */
  readonly head?: boolean;
  /** Half-close after writing (for a request that stops short of its framing). */
  readonly halfClose?: boolean;
  /** Bound for the answer, ms. Default 5000. */
  readonly timeoutMs?: number;
}

/** Sends one request on a fresh connection and reads one answer; the connection is destroyed after. */
export async function exchange(path: string, bytes: Buffer, options: ExchangeOptions = {}): Promise<Outcome> {
  const connection = await RawConnection.open(path);
  try {
    const answer = connection.read({ head: options.head, timeoutMs: options.timeoutMs });
    await connection.send(bytes, { halfClose: options.halfClose });
    return await answer;
  } finally {
    connection.destroy();
  }
}

// ---------------------------------------------------------------------------------------
// Envelopes
// ---------------------------------------------------------------------------------------

/** The fixture's routes that take a body (`/memory` is left out: it runs two full GCs). */
export const ROUTES = ['/echo', '/order', '/sum', '/ping', '/fail', '/raw', '/polluted'] as const;
export type FuzzRoute = (typeof ROUTES)[number];

/** A Go-style envelope as JSON text, with the payload given as JSON text (so that any key survives). */
export function envelopeText(payloadJson: string, contextJson = '{"Deadline":null}', keys: readonly [string, string] = ['Context', 'Payload']): string {
  return `{${JSON.stringify(keys[0])}:${contextJson},${JSON.stringify(keys[1])}:${payloadJson}}`;
}

/** An RFC 3339 time with nanoseconds, as Go writes it, `offsetMs` from now. */
export function goDeadline(offsetMs: number): string {
  return new Date(Date.now() + offsetMs).toISOString().replace('Z', '123456Z');
}

// ---------------------------------------------------------------------------------------
// Arbitraries: request line and headers
// ---------------------------------------------------------------------------------------

const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,16}$/;

/** Request methods: POST, every method the parser knows but CONNECT, odd spellings, random tokens. */
export const methodArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.constant('POST') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK',
      'UNLOCK', 'SEARCH', 'PURGE', 'QUERY', 'REPORT', 'MKACTIVITY', 'CHECKOUT', 'MERGE', 'M-SEARCH', 'NOTIFY', 'SUBSCRIBE',
      'UNSUBSCRIBE', 'LINK', 'UNLINK', 'SOURCE', 'ACL', 'BIND', 'REBIND', 'UNBIND', 'MKCALENDAR', 'PRI',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom('post', 'Post', 'POST\t', 'PO ST', '', 'POST\u0000', 'PÖST') },
  // CONNECT has a case of its own in the spec
  { weight: 2, arbitrary: fc.stringMatching(TOKEN).filter((method) => method !== 'CONNECT') },
);

/** HTTP versions in the request line; mostly HTTP/1.1. */
export const versionArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.constant('HTTP/1.1') },
  { weight: 1, arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.2', 'http/1.1', 'HTTP/1.1 extra', 'HTTP/11', 'HTTP/1.1\t') },
);

function percentEncodeSome(text: string, mask: readonly boolean[]): string {
  return [...text].map((c, i) => (mask[i % Math.max(1, mask.length)] && c !== '/' ? `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}` : c)).join('');
}

/**
 * Request targets: the fixture's routes as they are and mangled (percent-encoded, `..`
 * segments, query and fragment, absolute form, upper case), reserved and odd targets,
 * random paths with any unicode, and very long paths (beyond the 16 KiB header limit).
 */
export const targetArb: fc.Arbitrary<string> = (() => {
  const route = fc.constantFrom<string>(...ROUTES);
  return fc.oneof(
    { weight: 4, arbitrary: route },
    {
      weight: 4,
      arbitrary: fc.oneof(
        fc.tuple(route, fc.array(fc.boolean(), { minLength: 1, maxLength: 6 })).map(([r, mask]) => percentEncodeSome(r, mask)),
        fc.tuple(route, fc.webQueryParameters()).map(([r, q]) => `${r}?${q}`),
        fc.tuple(route, fc.webFragments()).map(([r, f]) => `${r}#${f}`),
        route.map((r) => `/x/..${r}`),
        route.map((r) => `/.${r}`),
        route.map((r) => `/..${r}`),
        route.map((r) => `/${r}`),
        route.map((r) => `${r}/`),
        route.map((r) => r.toUpperCase()),
        route.map((r) => `http://plugin${r}`),
        route.map((r) => `http://user:pw@[::1]:80${r}?a=1`),
        fc.tuple(route, fc.integer({ min: 1, max: 4000 })).map(([r, n]) => `${r}/${'../'.repeat(n)}`),
      ),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '*', '/', '', '//', '/.plugwire', '/.plugwire/health', '%', '/%', '/%zz', '/%00', '/%2e%2e/echo', '/%C3%A9cho', '/échø',
        '/😀', '/\u0000echo', '/a b', '/echo\t', 'echo', 'plugin:80', '/\u2028', '/\ud800',
      ),
    },
    { weight: 2, arbitrary: fc.webPath() },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((s) => `/${s.replace(/[\r\n]/g, '')}`) },
    { weight: 1, arbitrary: fc.integer({ min: 1000, max: 40_000 }).map((n) => `/${'a'.repeat(n)}`) },
  );
})();

/** What a request says about the access token. */
export type AuthChoice = 'valid' | 'missing' | 'wrong' | 'wrong-scheme' | 'duplicate' | 'padded';

export const authArb: fc.Arbitrary<AuthChoice> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<AuthChoice>('valid') },
  { weight: 1, arbitrary: fc.constantFrom<AuthChoice>('missing', 'wrong', 'wrong-scheme', 'duplicate', 'padded') },
);

export function authHeaders(choice: AuthChoice, token: string): Array<[string, string]> {
  switch (choice) {
    case 'valid':
      return [['Authorization', `Bearer ${token}`]];
    case 'missing':
      return [];
    case 'wrong':
      return [['Authorization', `Bearer ${token.slice(1)}x`]];
    case 'wrong-scheme':
      return [['Authorization', `bearer ${token}`]];
    case 'duplicate':
      return [['Authorization', `Bearer ${token}`], ['Authorization', `Bearer ${token}`]];
    case 'padded':
      return [['Authorization', `  Bearer ${token}  `]];
  }
}

/** Host headers (always at least one: a missing Host is a case of its own in the spec). */
export const hostArb: fc.Arbitrary<Array<[string, string]>> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Array<[string, string]>>([['Host', 'plugin']]) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Array<[string, string]>>(
      [['Host', '']],
      [['Host', 'localhost:8080']],
      [['Host', 'plugin'], ['Host', 'other']],
      [['host', 'ünïcode.example']],
      [['HOST', '[::1]:80']],
    ),
  },
);

/** Names that change the framing or the expectations of a request are chosen on purpose, never at random. */
const RESERVED_NAMES = new Set(['content-length', 'transfer-encoding', 'expect', 'host', 'authorization']);

const headerNameArb = fc.oneof(
  fc.constantFrom('X-Fuzz', 'Accept', 'Cookie', 'User-Agent', 'X-Trace', 'Referer', 'Content-Type', 'x-plugwire-version'),
  fc.stringMatching(TOKEN).filter((name) => !RESERVED_NAMES.has(name.toLowerCase())),
);

/**
 * Extra headers: the ones hosts send, odd content types, connection and upgrade headers,
 * Expect: 100-continue, plugwire's version header, duplicates, huge values (up to 20 kB:
 * beyond the 16 KiB header limit; 40 kB in all), random names and values with any
 * character but CR and LF (control characters included), a CR or LF alone, and up to 150
 * headers at once.
 */
export const extraHeadersArb: fc.Arbitrary<Array<[string, string]>> = (() => {
  const known = fc.constantFrom<[string, string]>(
    ['Content-Type', 'application/json'],
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['Content-Type', ''],
    ['Content-Type', 'application/json; charset=latin1'],
    ['Content-Type', 'multipart/form-data; boundary=----x'],
    ['Content-Type', 'application/x-www-form-urlencoded'],
    ['Content-Type', 'application/json, text/html'],
    ['Content-Type', '*/*'],
    ['Content-Encoding', 'gzip'],
    ['Accept-Encoding', 'gzip'],
    ['User-Agent', 'Go-http-client/1.1'],
    ['Connection', 'close'],
    ['Connection', 'keep-alive'],
    ['Connection', 'Upgrade, HTTP2-Settings'],
    ['Upgrade', 'websocket'],
    ['Upgrade', 'h2c'],
    ['HTTP2-Settings', 'AAMAAABkAARAAAAAAAIAAAAA'],
    ['Expect', '100-continue'],
    ['x-plugwire-version', '1'],
    ['x-plugwire-version', '2'],
    ['x-plugwire-version', ''],
    ['Keep-Alive', 'timeout=1, max=1'],
    ['TE', 'trailers'],
    ['Trailer', 'X-Fuzz-Trailer'],
    ['Range', 'bytes=0-1'],
    ['Proxy-Connection', 'keep-alive'],
    ['Authorization', 'Basic Zm9vOmJhcg=='],
    ['X-Forwarded-For', '127.0.0.1'],
    ['X-Fuzz', 'a\rb'],
    ['X-Fuzz', 'a\nb'],
    ['X-Fuzz ', 'space before the colon'],
    ['', 'no name'],
    ['X-Fü', 'non-token name'],
  );
  // sized in bytes: 'é' takes 2, '😀' 4
  const huge = fc
    .tuple(headerNameArb, fc.integer({ min: 1000, max: 20_000 }), fc.constantFrom('v', 'é', '😀'))
    .map(([n, bytes, c]): [string, string] => [n, c.repeat(Math.ceil(bytes / Buffer.byteLength(c)))]);
  const random = fc.tuple<[string, string]>(headerNameArb, fc.string({ unit: 'binary', maxLength: 60 }).map((s) => s.replace(/[\r\n]/g, '')));
  const many = fc.integer({ min: 50, max: 150 }).map((n) => Array.from({ length: n }, (_, i): [string, string] => [`X-Many-${i}`, String(i)]));
  return fc.oneof(
    { weight: 6, arbitrary: fc.array(fc.oneof({ weight: 4, arbitrary: known }, { weight: 2, arbitrary: random }, { weight: 1, arbitrary: huge }), { maxLength: 12 }).map(withinBudget) },
    { weight: 1, arbitrary: many },
  );
})();

/**
 * Keeps the headers that fit in 40 kB: past the 16 KiB limit either way (431), but small
 * enough for the client to have written the whole request before the server answers and
 * closes. Larger ones make the answer race the close (a case of its own in the spec).
 */
function withinBudget(headers: Array<[string, string]>): Array<[string, string]> {
  let bytes = 0;
  return headers.filter(([n, v]) => (bytes += Buffer.byteLength(n) + Buffer.byteLength(v) + 4) <= 40_000);
}

/** Framings that leave the message whole (or are refused at the headers). */
export function framingArb(bodyLength: number): fc.Arbitrary<Framing> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.boolean().map((padded): Framing => ({ kind: 'length', padded })) },
    {
      weight: 3,
      arbitrary: fc
        .record({ size: fc.integer({ min: 1, max: 65_536 }), extension: fc.boolean(), trailer: fc.boolean() })
        // at most about 2000 chunks, whatever the body size
        .map((c): Framing => ({ kind: 'chunked', ...c, size: Math.max(c.size, Math.ceil(bodyLength / 2000)) })),
    },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.constantFrom('abc', '-1', '1e3', '0x10', '1,1', '+5', '99999999999999999999999', '１２', `${bodyLength}abc`, `${bodyLength} ${bodyLength}`).map((value): Framing => ({ kind: 'bogus-length', value })),
        fc.constant<Framing>({ kind: 'duplicate-length' }),
        fc.constant<Framing>({ kind: 'length-and-chunked' }),
      ),
    },
  );
}

/** Framings that break the message after its headers: too short, missing, too long (truncated), broken chunks. */
export function brokenFramingArb(bodyLength: number): fc.Arbitrary<Framing> {
  return fc.oneof(
    fc.integer({ min: 1, max: Math.max(1, bodyLength) }).map((missing): Framing => ({ kind: 'short-length', missing })),
    fc.constant<Framing>({ kind: 'no-length' }),
    fc.integer({ min: 1, max: 10_000 }).map((extra): Framing => ({ kind: 'long-length', extra })),
    fc.constant<Framing>({ kind: 'chunked-truncated' }),
    fc.constant<Framing>({ kind: 'chunked-malformed' }),
    fc.constant<Framing>({ kind: 'transfer-encoding-gzip' }),
  );
}

// ---------------------------------------------------------------------------------------
// Arbitraries: bodies
// ---------------------------------------------------------------------------------------

/** A body for a route, and what the plugin must answer when that is certain. */
export interface BodyCase {
  readonly kind: string;
  readonly route: FuzzRoute;
  readonly body: Buffer;
  /** The exact answer (status and body text) a correct plugin gives, when the case fixes it. */
  readonly expect?: { readonly status: number; readonly body?: string };
}

const text = (s: string): Buffer => Buffer.from(s, 'utf8');

/** How fast-check prints a case in a counterexample: bodies can be megabytes. */
export function describeCase(c: BodyCase): string {
  const body = c.body.length > 200 ? `${c.body.subarray(0, 200).toString('latin1')}… (${c.body.length} bytes)` : c.body.toString('latin1');
  return `{${c.kind} ${c.route} ${JSON.stringify(body)}${c.expect ? ` expect ${c.expect.status}` : ''}}`;
}

function printable(arbitrary: fc.Arbitrary<BodyCase>): fc.Arbitrary<BodyCase> {
  return arbitrary.map((c) => Object.assign(c, { [fc.toStringMethod]: () => describeCase(c) }));
}

/** Strings with any code point, lone surrogates included. */
const anyStringArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), maxLength: 4 }),
);

/** Short names that class-validator's Length(1, n) counts as 1 to 10 characters. */
const shortNameArb = fc.string({ unit: fc.oneof(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }), fc.constantFrom('é', 'ß', '中', '😀', 'ü')), minLength: 1, maxLength: 10 });

const contextArb: fc.Arbitrary<{ json: string; late: boolean }> = fc.oneof(
  fc.constantFrom('{"Deadline":null}', '{}', 'null', '{"deadline":null,"Trace":"t"}').map((json) => ({ json, late: false })),
  fc.integer({ min: 60_000, max: 3_600_000 }).map((ms) => ({ json: JSON.stringify({ Deadline: goDeadline(ms) }), late: false })),
);

const keysArb = fc.constantFrom<[string, string]>(['Context', 'Payload'], ['context', 'payload'], ['CONTEXT', 'PAYLOAD'], ['Context', 'pAyLoAd']);

/** Valid calls of each route with random values, and the answer they must get. */
export const validCallArb: fc.Arbitrary<BodyCase> = printable((() => {
  const wrap = (route: FuzzRoute, payload: string, expected: string): fc.Arbitrary<BodyCase> =>
    fc.tuple(contextArb, keysArb).map(([context, keys]) => ({ kind: 'valid call', route, body: text(envelopeText(payload, context.json, keys)), expect: { status: 200, body: `${expected}\n` } }));
  const tag = shortNameArb.map((label) => ({ label }));
  const order = fc.record(
    {
      name: shortNameArb,
      quantity: fc.integer({ min: 0, max: 1000 }),
      address: fc.record({ city: shortNameArb, tags: fc.array(tag, { maxLength: 3 }) }, { requiredKeys: ['city'] }),
      tags: fc.array(tag, { maxLength: 3 }),
      x_extra: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: ['name', 'quantity', 'address'] },
  );
  const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
  return fc.oneof(
    anyStringArb.chain((s) => wrap('/echo', JSON.stringify(s), JSON.stringify(`echo:${s}`))),
    order.chain((o) => wrap('/order', JSON.stringify(o), JSON.stringify(`${o.quantity} x ${o.name} to ${o.address.city}`))),
    fc.tuple(finite, finite, anyStringArb).chain(([a, b, label]) => wrap('/sum', JSON.stringify([a, b, label]), JSON.stringify(`${label}=${a + b}`))),
    fc.jsonValue({ maxDepth: 3 }).chain((v) => wrap('/ping', JSON.stringify(v), '"pong"')),
    fc.jsonValue({ maxDepth: 4 }).chain((v) => {
      const payload = JSON.stringify(v);
      return wrap('/raw', payload, JSON.stringify(JSON.parse(payload)));
    }),
  );
})());

const routeArb = fc.constantFrom<FuzzRoute>(...ROUTES);

/** Envelopes whose payload (or context) has the wrong type or shape for the route. */
export const wrongTypeArb: fc.Arbitrary<BodyCase> = printable(fc.oneof(
  fc.tuple(routeArb, fc.jsonValue({ maxDepth: 4 })).map(([route, v]) => ({ kind: 'random payload', route, body: text(envelopeText(JSON.stringify(v))) })),
  fc.tuple(routeArb, fc.jsonValue({ maxDepth: 3 })).map(([route, v]) => ({ kind: 'random body', route, body: text(JSON.stringify(v)) })),
  fc.tuple(routeArb, fc.jsonValue({ maxDepth: 2 })).map(([route, v]) => ({ kind: 'random context', route, body: text(envelopeText('"x"', JSON.stringify(v))) })),
  fc.tuple(routeArb, fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constantFrom('2026-13-01T00:00:00Z', '2026-02-30T00:00:00Z', '2026-11-25T12:00:00', 'tomorrow'))).map(([route, d]) => ({
    kind: 'bad deadline',
    route,
    body: text(envelopeText('"x"', JSON.stringify({ Deadline: d }))),
    expect: { status: 422 },
  })),
  // null: a payload of the wrong shape is refused (422) before the deadline is looked at
  fc.tuple(routeArb, fc.integer({ min: 1, max: 10 ** 9 })).map(([route, ago]) => ({ kind: 'past deadline', route, body: text(envelopeText('null', JSON.stringify({ Deadline: goDeadline(-ago) }))), expect: { status: 504, body: '"context deadline exceeded"\n' } })),
  fc.constantFrom('1e400', '-1e400', '1'.repeat(400), '-0', '0.0000001e-400').map((n) => ({ kind: 'odd number', route: '/sum' as const, body: text(envelopeText(`[${n},${n},"n"]`)) })),
  fc.tuple(routeArb, fc.jsonValue({ maxDepth: 1 })).map(([route, v]) => ({ kind: 'duplicate keys', route, body: text(`{"Payload":"x","Payload":${JSON.stringify(v)},"Context":null,"Context":{"Deadline":null}}`) })),
));

/** Bodies that are not JSON: empty, truncated JSON, a BOM, random text and bytes. */
export const malformedArb: fc.Arbitrary<BodyCase> = printable(fc.oneof(
  fc.tuple(routeArb, fc.constantFrom('', ' ', '\n', '\t\r\n ')).map(([route, s]) => ({ kind: 'empty', route, body: text(s), expect: { status: 400 } })),
  fc.tuple(routeArb, fc.jsonValue({ maxDepth: 3 }), fc.double({ min: 0, max: 1, noNaN: true })).map(([route, v, at]) => {
    const full = envelopeText(JSON.stringify(v));
    return { kind: 'truncated JSON', route, body: text(full.slice(0, Math.floor(at * (full.length - 1)))), expect: { status: 400 } };
  }),
  routeArb.map((route) => ({ kind: 'byte order mark', route, body: text(`\ufeff${envelopeText('"x"')}`), expect: { status: 400 } })),
  fc.tuple(routeArb, fc.string({ unit: 'binary', maxLength: 200 })).map(([route, s]) => ({ kind: 'random text', route, body: text(s) })),
  fc.tuple(routeArb, fc.uint8Array({ maxLength: 300 })).map(([route, bytes]) => ({ kind: 'random bytes', route, body: Buffer.from(bytes) })),
));

/** Bytes that are not UTF-8: stray continuation bytes, overlong forms, encoded surrogates, cut sequences. */
const INVALID_UTF8: readonly number[][] = [[0xff], [0xfe, 0xff], [0x80], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xf0, 0x9f, 0x98]];

export const invalidUtf8Arb: fc.Arbitrary<BodyCase> = printable(fc.oneof(
  // inside the /echo string: decoded with U+FFFD replacements, a valid call
  fc.tuple(fc.array(fc.constantFrom(...INVALID_UTF8), { minLength: 1, maxLength: 5 }), fc.string({ maxLength: 10 })).map(([seqs, s]) => {
    const inner = Buffer.concat([text(JSON.stringify(s).slice(1, -1)), ...seqs.map((b) => Buffer.from(b))]);
    const body = Buffer.concat([text('{"Payload":"'), inner, text('"}')]);
    const decoded = JSON.parse(body.toString('utf8')) as { Payload: string };
    return { kind: 'invalid UTF-8 in a string', route: '/echo' as const, body, expect: { status: 200, body: `${JSON.stringify(`echo:${decoded.Payload}`)}\n` } };
  }),
  // in a key, and outside any string
  fc.tuple(routeArb, fc.constantFrom(...INVALID_UTF8)).map(([route, b]) => ({ kind: 'invalid UTF-8 in a key', route, body: Buffer.concat([text('{"'), Buffer.from(b), text('":1,"Payload":"x"}')]) })),
  fc.tuple(routeArb, fc.constantFrom(...INVALID_UTF8)).map(([route, b]) => ({ kind: 'invalid UTF-8 outside strings', route, body: Buffer.concat([text('{"Payload":'), Buffer.from(b), text('}')]), expect: { status: 400 } })),
));

function nested(depth: number, shape: 'array' | 'object'): string {
  return shape === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** JSON nested up to 100,000 levels: unbalanced, as the payload, inside a DTO field, inside the context. */
export const deepArb: fc.Arbitrary<BodyCase> = printable(fc
  .tuple(routeArb, fc.oneof(fc.integer({ min: 1000, max: 100_000 }), fc.constant(100_000)), fc.constantFrom<'array' | 'object'>('array', 'object'))
  .chain(([route, depth, shape]) =>
    fc.constantFrom<BodyCase>(
      { kind: 'unbalanced nesting', route, body: text(`{"Payload":${'['.repeat(depth)}`), expect: { status: 400 } },
      { kind: 'nested payload', route, body: text(envelopeText(nested(depth, shape))) },
      { kind: 'nested body', route, body: text(nested(depth, shape)) },
      { kind: 'nested DTO field', route: '/order', body: text(envelopeText(`{"name":"n","quantity":1,"address":{"city":"c","tags":[${nested(depth, shape)}]},"x_extra":${nested(depth, shape)}}`)) },
      // only beside the Deadline: a nested Deadline itself is a case of its own in the spec
      { kind: 'nested context field', route, body: text(envelopeText('"x"', `{"Deadline":null,"Trace":${nested(depth, shape)}}`)) },
    ),
  ));

/** The default maxBodySize, 16 MiB. */
export const DEFAULT_MAX_BODY = 16 * 1024 * 1024;

/**
 * Megabyte-sized bodies under the default limit: strings of 1 to 4 MB, 200,000 keys, a
 * number of a million digits. (Bodies over the limit have tests of their own in the spec:
 * their 413 can be lost, which would make every property that sends them flaky.)
 */
export const hugeArb: fc.Arbitrary<BodyCase> = printable(fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 4 }), fc.constantFrom('a', 'é', '😀', '\u0000')).map(([mb, c]) => {
    // sized by the JSON text: '\u0000' takes 6 bytes there
    const s = c.repeat(Math.floor((mb * 1_000_000) / (Buffer.byteLength(JSON.stringify(c)) - 2)));
    return { kind: `a ${mb} MB string`, route: '/echo' as const, body: text(envelopeText(JSON.stringify(s))), expect: { status: 200, body: `${JSON.stringify(`echo:${s}`)}\n` } };
  }),
  routeArb.map((route) => ({ kind: 'many keys', route, body: text(`{${Array.from({ length: 200_000 }, (_, i) => `"k${i}":${i}`).join(',')},"Payload":"x"}`) })),
  fc.constantFrom<FuzzRoute>('/sum', '/echo', '/raw').map((route) => ({ kind: 'a number of a million digits', route, body: text(envelopeText(`[${'9'.repeat(1_000_000)},1,"big"]`)) })),
));

/** Calls of /fail with each kind of thrown value whose message is a string (see the spec for the others). */
export const failArb: fc.Arbitrary<BodyCase> = printable(fc
  .oneof(fc.constantFrom('error', 'coded', 'string', 'circular', 'bigint', 'circular-details'), fc.string({ maxLength: 20 }))
  .map((kind) => ({ kind: `fail ${kind}`, route: '/fail' as const, body: text(envelopeText(JSON.stringify(kind))), expect: { status: 500 } })));

// ---------------------------------------------------------------------------------------
// Arbitraries: keys that reach for prototypes
// ---------------------------------------------------------------------------------------

const dangerousKeyArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('polluted', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'isPrototypeOf', 'summary', 'name', 'city', 'tags', 'label', 'Payload', 'Context', 'Deadline', 'length', '0'),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);

/** JSON text (not a value: a key `__proto__` must reach the parser) with those keys at any depth. */
export const dangerousJsonArb: fc.Arbitrary<string> = fc.letrec<{ value: string; object: string; array: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.constantFrom('null', 'true', '1', '"polluted"', '{"polluted":"yes"}', '{"prototype":{"polluted":"yes"}}', '[]', '{}'), fc.jsonValue({ maxDepth: 1 }).map((v) => JSON.stringify(v))),
    tie('object'),
    tie('array'),
  ),
  object: fc.array(fc.tuple(dangerousKeyArb, tie('value')), { maxLength: 5 }).map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  array: fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
})).value;

const dangerousEntriesArb = fc.array(fc.tuple(dangerousKeyArb, dangerousJsonArb), { maxLength: 3 }).map((entries) => entries.map(([k, v]) => `,${JSON.stringify(k)}:${v}`).join(''));

/**
 * Bodies with prototype keys: at any depth of a random payload for any route, and spliced
 * into every level of a valid /order (the order, its address, its tags) and into the
 * envelope and its context.
 */
export const pollutionArb: fc.Arbitrary<BodyCase> = printable(fc.oneof(
  fc.tuple(routeArb, dangerousJsonArb).map(([route, payload]) => ({ kind: 'prototype keys in the payload', route, body: text(envelopeText(payload)) })),
  fc.tuple(dangerousEntriesArb, dangerousEntriesArb, dangerousEntriesArb, dangerousEntriesArb, dangerousEntriesArb).map(([order, address, tag, envelope, context]) => ({
    kind: 'prototype keys in a valid order',
    route: '/order' as const,
    body: text(`{"Context":{"Deadline":null${context}},"Payload":{"name":"n","quantity":2${order},"address":{"city":"c"${address},"tags":[{"label":"l"${tag}}]},"tags":[{"label":"m"${tag}}]}${envelope}}`),
  })),
  fc.tuple(routeArb, dangerousJsonArb).map(([route, json]) => ({ kind: 'prototype keys as the body', route, body: text(json) })),
));
