import { STATUS_CODES, createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { chmodSync, linkSync, statSync, unlinkSync } from 'node:fs';
import { checkSocketPath, fitsSocketPath, removeOrphanedSocketDirectory } from '../socket/directory';
import { nodeCrypto } from '../util/lazy';
import { dirname, join } from 'node:path';
import { convertArgs, resultToPlain } from '../conversion/converter';
import { ErrorStatus } from '../errors/error-codes';
import { CallTimeoutError, DefinitionError, PayloadValidationError, PluginError, ProtocolError, StartError } from '../errors/plugin-error';
import { decodeRequest, isRefusal } from '../protocol/envelope';
import { DeadlineWatch, type Expiring } from '../util/deadline-watch';
import { Link, LinkedList } from '../util/linked-list';
import {
  ERROR_HEADER,
  FAILED_LINE,
  LIFELINE_ENV,
  READY_LINE,
  SOCKET_DIR_ENV,
  SOCKET_ENV,
  TOKEN_ENV,
  VERSION_HEADER,
} from '../protocol/constants';
import { describeForLog, GO_DEADLINE_MESSAGE, toWireError, type WireError } from '../protocol/wire-error';
import { removeStaleSocket } from '../socket/probe';
import { buildManifest, MANIFEST_ROUTE, type Manifest } from '../manifest/manifest';
import { readPlugin } from '../metadata/reflection-helpers';
import { runInCallContext, type CallContext } from './call-context';
import { buildRouteTable, describeRoute, type Route } from './route-table';
import { channels, codeOf, debug, messageOf, type ServedCallMessage } from '../diagnostics/channels';

/** Options of {@link serve}. Every field is optional. */
export interface ServeOptions {
  /** The socket path. Default: the `PLUGIN_SOCKET` environment variable that the host set. */
  readonly socket?: string;
  /**
   * The access token callers must send as `Authorization: Bearer <token>`; others get 401.
   * Default: the `PLUGWIRE_TOKEN` environment variable a plugwire host sets (removed from
   * the environment once read, so the plugin's children do not inherit it); none when
   * unset, as under a Go host.
   */
  readonly token?: string;
  /** Print `plugin is ready` (or `failed to listen on socket`) on standard output. Default `true`. */
  readonly announce?: boolean;
  /**
   * Run as the plugin process: on SIGTERM or SIGINT, or when the plugwire host that
   * started it dies, close gracefully and exit with status 0. Default `true`.
   */
  readonly standalone?: boolean;
  /** Called after the server closed on a signal, before the process exits (close databases here). */
  readonly onShutdown?: () => void | Promise<void>;
  /** How long in-flight calls may run on after close() before their connections are cut, ms. Default 5000. */
  readonly grace?: number;
  /** Largest request body accepted, bytes; larger ones get 413. Default 16 MiB. */
  readonly maxBodySize?: number;
  /** Time a client has to send the request headers, ms. Default 5000. */
  readonly headersTimeout?: number;
  /** Time a client has to send the whole request, ms. Default 30000. */
  readonly requestTimeout?: number;
  /** Open connections at most; further ones are refused. Default 1024. */
  readonly maxConnections?: number;
  /**
   * Idle keep-alive connections are closed after this, ms; `0` never closes them. Default 0:
   * the host closes idle connections. A Go host never does, and a connection that the
   * plugin closes just as the host reuses it makes a Go host restart the plugin.
   */
  readonly keepAliveTimeout?: number;
  /** Where server-side problems (unexpected exceptions) are reported. Default `console`. */
  readonly logger?: { error(message: string): void };
  /**
   * Whether a method that throws an unexpected error has its stack written to `logger`
   * (standard error by default), so the host's forwarded output shows where it failed.
   * Unexpected: anything but an error with a `code` of your own (a Node.js system error
   * such as `ENOENT`, or an `ERR_*` code, counts as unexpected). The caller gets the
   * error either way. Default `true`.
   */
  readonly logErrors?: boolean;
  /**
   * What serve() does about a contract method that the served class does not override
   * (it would run the contract's `stub()`): `warn` emits a process warning
   * (`PLUGWIRE_NOT_IMPLEMENTED`, once per class) naming `Class.method` and the route,
   * `error` throws a {@link DefinitionError}, `ignore` says nothing (a plugin that
   * implements part of a contract on purpose). In every case the manifest marks the
   * method `implemented: false`, and a call to it fails with an error that names it.
   * Default `warn`.
   */
  readonly unimplemented?: 'warn' | 'error' | 'ignore';
  /** The plugin's name in its manifest. Default: the `@Plugin()` names of the implementations. */
  readonly name?: string;
  /** The plugin's version in its manifest (e.g. your package.json's). Default: none (`null`). */
  readonly version?: string;
}

/** A running plugin server, as returned by {@link serve}. */
export interface PluginServer {
  /** The socket path it listens on. */
  readonly socket: string;
  /** The routes it serves. */
  readonly routes: readonly string[];
  /** Calls being served right now. */
  readonly inflight: number;
  /** Resolves once the server has closed. */
  readonly closed: Promise<void>;
  /**
   * Stops accepting, lets in-flight calls finish within the grace period, cuts what is
   * left, and removes the socket file. Safe to call more than once.
   */
  close(): Promise<void>;
}

const DEFAULTS = {
  grace: 5000,
  maxBodySize: 16 * 1024 * 1024,
  headersTimeout: 5000,
  requestTimeout: 30000,
  maxConnections: 1024,
  keepAliveTimeout: 0,
};

const JSON_TYPE = 'application/json; charset=utf-8';
/** After an early answer, a connection is closed once the client is silent this long, ms. */
const LINGER_IDLE = 1000;
/** ... or at the latest after this long, ms. */
const LINGER_MAX = 5000;
/** Header fields a request may have; one more gets 431. */
const MAX_HEADERS = 100;
/** The methods the manifest answers. */
const MANIFEST_METHODS = 'GET, HEAD, POST, OPTIONS';
const UNAUTHORIZED = 'unauthorized: this plugin answers only the host that started it';
/** Connections answered outside a response object (clientError), answered once only. */
const answeredRaw = new WeakSet<Socket>();

/** The deadlines of the calls being served, on one timer. */
const deadlines = new DeadlineWatch();

/**
 * One call being served. It is also the method's {@link CallContext}: the AbortSignal,
 * the deadline's Date and the filtered headers are made only if the method asks.
 */
class CallState implements CallContext, Expiring {
  settled = false;
  /** When the caller's deadline passes (epoch ms), if it set one. */
  expiresAt = Infinity;
  /** Still counted in flight: not yet answered, and its caller still there. */
  counted = true;
  route = '';
  /** Its diagnostics message, when someone subscribes to the served-call channels. */
  diagnostics: ServedCallMessage | undefined;
  /** Its place among the server's calls, and under the deadline watch. */
  readonly callLink: Link<CallState> = new Link<CallState>(this);
  readonly deadlineLink: Link<Expiring> = new Link<Expiring>(this);
  private controller: AbortController | undefined;
  private abortReason: unknown;
  private aborted = false;

  constructor(
    private readonly server: PluginHttpServer,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly entry: Route,
    private readonly hideAuthorization: boolean,
  ) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get deadline(): Date | undefined {
    return this.expiresAt === Infinity ? undefined : new Date(Math.floor(this.expiresAt));
  }

  get headers(): IncomingHttpHeaders {
    return this.hideAuthorization ? withoutAuthorization(this.req.headers) : this.req.headers;
  }

  expire(): void {
    this.server.timedOut(this);
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}

function callHandler(entry: Route, args: unknown[]): unknown {
  return entry.handler.apply(entry.target, args);
}

function ignore(): void {}

/**
 * Whether a method's error is unexpected, i.e. not one it threw on purpose with a code
 * of its own. Node.js's own errors carry codes too: a system error (`ENOENT`, with a
 * syscall) or an `ERR_*` code is still a bug to show.
 */
function unexpectedError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return true;
  let code: unknown;
  let syscall: unknown;
  try {
    ({ code, syscall } = error as { code?: unknown; syscall?: unknown });
  } catch {
    return true; // a getter that throws
  }
  if (typeof code === 'number') return false;
  return typeof code !== 'string' || code.startsWith('ERR_') || syscall !== undefined;
}

/** Thrown inside the pipeline to answer with a given status and message. */
class Answer extends Error {
  constructor(readonly wire: WireError, readonly status: number) {
    super(wire.message);
  }
}

function answer(code: keyof typeof ErrorStatus, message: string, status: number = ErrorStatus[code]): Answer {
  return new Answer({ code, message }, status);
}

function routeOf(url: string | undefined): string {
  if (!url) return '/';
  if (url.startsWith('/')) {
    const q = url.search(/[?#]/);
    return q === -1 ? url : url.slice(0, q);
  }
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

/** A whole HTTP answer with a JSON-string body, for the cases where Node gives no response object. */
function rawAnswer(status: number, message: string): string {
  const body = `${JSON.stringify(message)}\n`;
  const extra = status === 405 ? 'Allow: POST\r\n' : status === 401 ? 'WWW-Authenticate: Bearer\r\n' : '';
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: ${JSON_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`;
}


/**
 * A name next to the socket path to bind at before the socket is linked there, or
 * undefined when it would not fit in a socket address.
 */
function temporaryPath(socket: string): string | undefined {
  const name = `.pw${process.pid.toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const temporary = join(dirname(socket), name);
  return fitsSocketPath(temporary) ? temporary : undefined;
}

function withoutAuthorization(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  // The method sees the request headers, but never the host's token.
  const { authorization: _token, ...rest } = headers;
  return rest;
}

class PluginHttpServer implements PluginServer {
  readonly routes: readonly string[];
  readonly closed: Promise<void>;
  inflight = 0;
  private readonly server: Server;
  private readonly table: Map<string, Route>;
  private readonly options: typeof DEFAULTS & ServeOptions;
  private closing: Promise<void> | undefined;
  private resolveClosed!: () => void;
  private socketIno: number | undefined;
  /** The directory the host made for the socket, if it made one: removed after it once the host is gone. */
  private hostDir: string | undefined;
  /** Whether the host that started this plugin is gone: its lifeline closed, or its parent changed. */
  private hostGone: () => boolean = () => false;
  private readonly calls = new LinkedList<CallState>();
  private idleWaiter: (() => void) | undefined;
  /** Every response not yet flushed to its socket, and whose connection is still open. */
  private readonly answering = new Set<ServerResponse>();
  private readonly cleanups: Array<() => void> = [];
  /** The token callers must send, when the plugin has one. */
  private readonly expectedToken: Buffer | undefined;
  /** The manifest's JSON without and with schemas, once built. */
  private readonly manifestTexts: [string | undefined, string | undefined] = [undefined, undefined];

  constructor(readonly socket: string, table: Map<string, Route>, options: ServeOptions, token: string | undefined) {
    this.table = table;
    this.expectedToken = token ? Buffer.from(token) : undefined;
    this.routes = [...table.keys()];
    this.options = { ...DEFAULTS, ...options };
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.server = createServer(
      {
        headersTimeout: this.options.headersTimeout,
        requestTimeout: this.options.requestTimeout,
        connectionsCheckingInterval: Math.min(1000, this.options.headersTimeout),
        maxHeaderSize: 16 * 1024,
        // A request without Host is answered like any other (the host name means nothing here).
        requireHostHeader: false,
      },
      (req, res) => this.onRequest(req, res),
    );
    this.server.maxConnections = this.options.maxConnections;
    this.server.keepAliveTimeout = this.options.keepAliveTimeout;
    // One more than the limit, so that a request past it is refused (431) rather than
    // having its last headers dropped silently (an Authorization header among them).
    this.server.maxHeadersCount = MAX_HEADERS + 1;
    // Node's closeIdleConnections() (server.close() calls it too) takes a connection as
    // idle once its answer was ended, and destroys it even while most of a large answer
    // still waits in Node's buffer for a slow reader: such a connection is not idle here.
    const closeIdle = this.server.closeIdleConnections.bind(this.server);
    this.server.closeIdleConnections = () => this.closeIdleConnections(closeIdle);
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => this.onClientError(error, socket));
    // Node's own answers to these have empty bodies, or none at all: every answer must be a JSON string.
    this.server.on('connect', (req: IncomingMessage, socket: Socket) => this.onConnect(req, socket));
    // With these two, Node sends neither 100 Continue nor 417 by itself: both come after
    // the checks that may refuse the request (401, 404, 405, 413).
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res, 'continue'));
    this.server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res, 'expectation'));
  }

  /**
   * Listens on the socket path, or fails with `EADDRINUSE` when something is there.
   *
   * libuv unlinks the path a pipe server was bound to when it closes, whoever's file is
   * there by then: a plugin that took the path over would be left alive and unreachable.
   * So the server is bound at a temporary name in the same directory, hard-linked at the
   * socket path (link() never replaces what is there), and the temporary name removed
   * at once. libuv's unlink at close then finds nothing, and the socket path is removed
   * only by removeSocket(), only if it is still this server's.
   */
  async listen(): Promise<void> {
    const temporary = temporaryPath(this.socket);
    if (temporary === undefined) {
      await this.bind(this.socket); // no room for a longer name: libuv owns the path
    } else {
      await this.bind(temporary);
      try {
        linkSync(temporary, this.socket);
      } catch (error) {
        await new Promise((resolve) => this.server.close(resolve));
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
          throw Object.assign(new Error(`listen EADDRINUSE: address already in use ${this.socket}`, { cause: error }), { code: 'EADDRINUSE' });
        }
        // A file system without hard links for sockets: bind at the path itself.
        await this.bind(this.socket);
      }
      try {
        unlinkSync(temporary);
      } catch {
        // the server's close() removes it then
      }
    }
    chmodSync(this.socket, 0o600);
    this.socketIno = statSync(this.socket).ino;
  }

  private async bind(path: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        this.server.off('listening', onListening);
        reject(error);
      };
      const onListening = (): void => {
        this.server.off('error', onError);
        resolve();
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      // The socket file takes its mode from the umask at bind time: 0177 makes it 0600
      // from its first instant. bind() happens synchronously inside listen().
      let previous: number | undefined;
      try {
        previous = process.umask(0o177);
      } catch {
        previous = undefined; // worker threads cannot change the umask; chmod below still applies
      }
      try {
        this.server.listen(path);
      } finally {
        if (previous !== undefined) process.umask(previous);
      }
    });
  }

  watch(standalone: boolean): void {
    if (!standalone) return;
    let exiting = false;
    const shutdown = (why: string): void => {
      // A signal after the first (Ctrl-C, then the host stopping its plugin) is part of
      // the same graceful shutdown: the call in flight and the shutdown hook still finish.
      if (exiting) {
        if (debug.enabled) debug('%s: already closing', why);
        return;
      }
      exiting = true;
      if (debug.enabled) debug('%s: closing, %d calls in flight', why, this.inflight);
      void this.close()
        .then(() => this.options.onShutdown?.())
        .catch((error: unknown) => this.report('shutdown failed', error))
        .finally(() => process.exit(0));
    };
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const onSignal = (): void => shutdown(signal);
      // Installed until the process exits: without a listener, a later signal's default
      // action would end the process in its grace period.
      process.on(signal, onSignal);
      void this.closed.then(() => {
        if (!exiting) process.off(signal, onSignal); // closed by the plugin's own close()
      });
    }
    const fd = Number(process.env[LIFELINE_ENV]);
    const socketDir = process.env[SOCKET_DIR_ENV];
    // The variables name things of this process only: children must not inherit them.
    delete process.env[LIFELINE_ENV];
    delete process.env[SOCKET_DIR_ENV];
    if (Number.isInteger(fd) && fd > 2) {
      this.hostDir = socketDir !== undefined && dirname(this.socket) === socketDir ? socketDir : undefined;
      // The host dying closes the lifeline and makes this process an orphan; the shutdown
      // checks the parent too, since the host's connections may close a moment before the lifeline.
      const hostPid = process.ppid;
      let lifelineClosed = false;
      this.hostGone = () => lifelineClosed || process.ppid !== hostPid;
      const hostGone = (): void => {
        lifelineClosed = true;
        shutdown('the host is gone');
      };
      try {
        const lifeline = new Socket({ fd, readable: true, writable: false });
        lifeline.on('error', hostGone);
        lifeline.on('close', hostGone);
        lifeline.on('data', () => undefined); // the host never writes; reading lets EOF arrive
        lifeline.unref();
        this.cleanups.push(() => {
          lifeline.off('close', hostGone);
          lifeline.off('error', hostGone);
          lifeline.destroy();
        });
      } catch {
        // not a pipe we can watch (started by something else): nothing to watch
      }
    }
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Nothing listens at the path any more: new callers find no file, as they would
    // after a crash (the file is not libuv's to remove: see listen()).
    this.removeSocket();
    // Waits for the calls in flight and for every answer to be flushed to its socket.
    if (this.inflight > 0 || this.answering.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.idleWaiter = resolve;
        timer = setTimeout(resolve, this.options.grace);
      });
      clearTimeout(timer);
      this.idleWaiter = undefined;
    }
    for (const call of this.calls.values()) call.abort(new Error('plugin server is closing'));
    this.server.closeAllConnections();
    await stopped;
    // The lifeline is watched to the end: a host that dies while this plugin shuts down on a
    // signal (Ctrl-C or SIGTERM to the whole process group) leaves its directory to it.
    // Then nobody else will remove the directory the host made for the socket.
    const orphaned = this.hostGone() ? this.hostDir : undefined;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    if (orphaned !== undefined) removeOrphanedSocketDirectory(orphaned);
    if (debug.enabled) debug('server on %s closed', this.socket);
    this.resolveClosed();
  }

  private removeSocket(): void {
    // Remove the file only if it is still ours: another server may have bound the path since.
    try {
      if (statSync(this.socket).ino === this.socketIno) unlinkSync(this.socket);
    } catch {
      // already gone
    }
  }

  private checkIdle(): void {
    if (this.inflight === 0 && this.answering.size === 0) this.idleWaiter?.();
  }

  private closeIdleConnections(closeIdle: () => void): void {
    // Node skips a connection whose response is not `finished`: an ended answer still
    // being flushed reads as unfinished for the length of this call.
    const flushing: ServerResponse[] = [];
    for (const res of this.answering) {
      if (res.finished && !res.writableFinished) {
        (res as { finished: boolean }).finished = false;
        flushing.push(res);
      }
    }
    try {
      closeIdle();
    } finally {
      for (const res of flushing) (res as { finished: boolean }).finished = true;
    }
  }

  private report(what: string, error: unknown): void {
    const logger = this.options.logger ?? console;
    logger.error(`plugwire: ${what}: ${describeForLog(error)}`);
  }

  private onClientError(error: NodeJS.ErrnoException, socket: Socket): void {
    if (answeredRaw.has(socket)) return;
    answeredRaw.add(socket);
    // The parser gave up on this connection: stop feeding it.
    socket.removeAllListeners('data');
    // A request broken after its headers has a response object: the last one on the
    // connection, its request unfinished. The requests before it were read whole.
    let own: ServerResponse | undefined;
    for (const res of this.answering) if (res.req.socket === socket) own = res;
    if (own?.req.complete) own = undefined;
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    this.afterEarlierAnswers(socket, own, () => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      if (own?.headersSent) {
        // Its own answer (401, 413) went out first: nothing can follow it.
        this.afterEarlierAnswers(socket, undefined, () => socket.destroySoon());
        return;
      }
      const text = rawAnswer(status, `${STATUS_CODES[status]?.toLowerCase() ?? 'bad request'}: ${error.code ?? error.message}`);
      // A slow client (408) is cut off; one that may still be sending (400, 431) gets the
      // time to read its answer.
      if (status === 408) {
        socket.end(text);
        socket.destroySoon();
        return;
      }
      socket.write(text);
      this.linger(undefined, socket);
    });
  }

  /**
   * Runs `then` once every answer on this connection (but `except`) is flushed or gone.
   * Node queues the answers of pipelined requests in request order, but what is written
   * to the socket directly (a raw answer) or closes it (a linger) would overtake them.
   */
  private afterEarlierAnswers(socket: Socket, except: ServerResponse | undefined, then: () => void): void {
    let waiting = 1;
    const one = (): void => {
      if (--waiting === 0) then();
    };
    for (const res of this.answering) {
      if (res === except || res.req.socket !== socket || res.writableFinished) continue;
      waiting++;
      let counted = false;
      const done = (): void => {
        if (counted) return;
        counted = true;
        res.off('finish', done);
        res.off('close', done);
        one();
      };
      res.once('finish', done);
      res.once('close', done);
    }
    one();
  }

  /**
   * Lingers after an answer given before its request's body arrived, once that answer is
   * flushed: until then it may wait behind a slow answer to an earlier pipelined request,
   * which a linger that closes the connection would cut off.
   */
  private lingerAfter(req: IncomingMessage, res: ServerResponse): void {
    const start = (): void => {
      if (!req.complete && !req.socket.destroyed) this.linger(req, req.socket);
    };
    if (res.writableFinished) start();
    else res.once('finish', start);
  }

  /** A CONNECT request: Node hands over its socket, without a response object. */
  private onConnect(req: IncomingMessage, socket: Socket): void {
    // Node takes its own 'error' listener off a socket it hands over: without one, a
    // client that is gone before its answer is written (EPIPE, ECONNRESET) would be an
    // unhandled 'error' event that ends the process.
    socket.on('error', ignore);
    const refusal = this.refusal(req);
    const text = refusal ? rawAnswer(refusal.status, refusal.wire.message) : rawAnswer(405, 'method CONNECT not allowed: calls are POST requests');
    // A CONNECT pipelined after other requests is answered after them.
    this.afterEarlierAnswers(socket, undefined, () => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      socket.write(text);
      this.linger(undefined, socket);
    });
  }

  /**
   * A request, with what it expects: `continue` (`Expect: 100-continue`, answered with
   * 100 Continue once the body is wanted) or an `expectation` not supported (417).
   */
  private onRequest(req: IncomingMessage, res: ServerResponse, expects?: 'continue' | 'expectation'): void {
    res.on('error', ignore); // a caller that went away is not the plugin's problem
    this.answering.add(res);
    const answered = (): void => {
      if (this.answering.delete(res)) this.checkIdle();
    };
    res.once('finish', answered);
    res.once('close', answered);
    try {
      this.handle(req, res, expects);
    } catch (error) {
      this.unexpected(req, res, error);
    }
  }

  private unexpected(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    this.report(`unexpected failure serving ${req.url ?? ''}`, error);
    this.sendError(req, res, answer('PLUGWIRE_REMOTE', 'internal plugin server error'));
  }

  // The pipeline of a call runs in callbacks, not in async functions: a call that is
  // answered at once costs no promise of plugwire's own.
  private handle(req: IncomingMessage, res: ServerResponse, expects?: 'continue' | 'expectation'): void {
    if (this.closing) {
      res.setHeader('Connection', 'close');
    }
    const refusal = this.refusal(req);
    if (refusal) {
      if (refusal.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
      return this.sendError(req, res, refusal);
    }
    if (expects === 'expectation') {
      return this.sendError(req, res, answer('PLUGWIRE_PROTOCOL', `expectation not supported: ${String(req.headers.expect)}`, 417));
    }
    // A coding before a final chunked (gzip, chunked) frames the body but is one this
    // server cannot decode (RFC 9112 §6.1: 501). Without a final chunked the body cannot
    // be framed at all: Node's parser fails the request (400, onClientError).
    const coding = req.headers['transfer-encoding'];
    if (coding !== undefined && /,\s*chunked\s*$/i.test(coding)) {
      return this.sendError(req, res, answer('PLUGWIRE_PROTOCOL', `transfer coding not implemented: ${coding.slice(0, 80)}`, 501));
    }
    const route = routeOf(req.url);
    if (route === MANIFEST_ROUTE) {
      if (req.method === 'GET' || req.method === 'POST' || req.method === 'HEAD') {
        return this.sendManifest(req, res, expects === 'continue');
      }
      res.setHeader('Allow', MANIFEST_METHODS);
      if (req.method === 'OPTIONS') {
        res.writeHead(204);
        res.end();
        if (!req.complete) this.lingerAfter(req, res);
        return;
      }
      return this.sendError(req, res, answer('PLUGWIRE_PROTOCOL', `method ${req.method ?? ''} not allowed on the manifest: ${MANIFEST_METHODS}`, 405));
    }
    const entry = this.table.get(route);
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return this.sendError(req, res, answer('PLUGWIRE_PROTOCOL', `method ${req.method ?? ''} not allowed: calls are POST requests`, 405));
    }
    if (!entry) {
      if (debug.enabled) debug('call to %s failed: PLUGWIRE_METHOD_NOT_FOUND', route);
      return this.sendError(req, res, answer('PLUGWIRE_METHOD_NOT_FOUND', `method not found: ${route}`));
    }
    const declared = Number(req.headers['content-length']);
    if (declared > this.options.maxBodySize) {
      return this.sendError(req, res, this.tooLarge());
    }
    this.inflight++;
    const state = new CallState(this, req, res, entry, this.expectedToken !== undefined);
    state.route = route;
    if (channels.serveCallStart.hasSubscribers || channels.serveCallEnd.hasSubscribers) {
      state.diagnostics = { route, startTime: performance.now() };
      if (channels.serveCallStart.hasSubscribers) channels.serveCallStart.publish(state.diagnostics);
    }
    this.calls.add(state.callLink);
    // A call stops counting as in flight once its answer is flushed to the socket
    // ('finish': not at res.end(), which may leave most of a large answer in Node's
    // buffer for a slow reader) or its caller is gone (a host that died): a graceful
    // close waits for callers, not for abandoned work.
    res.once('finish', () => this.release(state));
    res.once('close', () => {
      if (!res.writableFinished) state.abort(new Error('the caller went away'));
      this.release(state);
    });
    if (expects === 'continue') res.writeContinue();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > this.options.maxBodySize) {
        req.removeAllListeners('data');
        this.refuse(state, this.tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    // A request that breaks off before its end closes the response: 'close' above.
    req.on('end', () => {
      if (state.settled) return;
      try {
        this.onBody(state, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
      } catch (error) {
        this.unexpected(req, res, error);
        this.release(state);
      }
    });
  }

  /**
   * Answers the manifest once the request is read. Built at the first request for it
   * (the schemas load their generator) and kept; `?schemas=false` (a host's contract
   * check) leaves the schemas out and loads nothing.
   */
  private sendManifest(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    const schemas = !/[?&]schemas=false(&|$)/.test(req.url ?? '');
    req.on('end', () => {
      let text: string;
      try {
        text = this.manifestTexts[schemas ? 1 : 0] ??= `${JSON.stringify(this.buildManifest(schemas))}\n`;
      } catch (error) {
        this.unexpected(req, res, error);
        return;
      }
      // For HEAD, Node sends the headers alone.
      res.writeHead(200, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    });
    if (expectsContinue) res.writeContinue();
    req.resume();
  }

  private buildManifest(schemas: boolean): Manifest {
    // Each method is named after the @Plugin() contract that declares it (an inherited
    // route after its base contract), not after the implementation.
    const sources = [...this.table.values()].map((r) => ({
      definition: r.definition,
      contract: readPlugin(r.definition.declaringClass)?.name ?? r.definition.declaringClass.name,
      implemented: r.implemented,
    }));
    const name = this.options.name ?? [...new Set([...this.table.values()].map((r) => r.plugin))].join(', ');
    return buildManifest(sources, { name, version: this.options.version ?? null }, schemas);
  }

  private release(state: CallState): void {
    if (!state.counted) return;
    state.counted = false;
    const message = state.diagnostics;
    if (message) {
      message.status = state.res.headersSent ? state.res.statusCode : 0;
      message.duration = performance.now() - message.startTime;
      if (channels.serveCallEnd.hasSubscribers) channels.serveCallEnd.publish(message);
    }
    this.calls.delete(state.callLink);
    deadlines.delete(state);
    --this.inflight;
    this.checkIdle();
  }

  /** The answer to a request refused before anything else is looked at: too many headers, or no token. */
  private refusal(req: IncomingMessage): Answer | undefined {
    if (req.rawHeaders.length > 2 * MAX_HEADERS) {
      return answer('PLUGWIRE_PROTOCOL', `request header fields too large: more than ${MAX_HEADERS} header fields`, 431);
    }
    if (!this.authorized(req.headers.authorization)) return answer('PLUGWIRE_PROTOCOL', UNAUTHORIZED, 401);
    return undefined;
  }

  /** Whether a request may be served: the plugin has no token, or the request carries it. */
  private authorized(header: string | undefined): boolean {
    const expected = this.expectedToken;
    if (expected === undefined) return true;
    // `Bearer`, in any case (RFC 9110 §11.1: the scheme is case-insensitive), then spaces.
    if (header === undefined || header.charCodeAt(6) !== 0x20 || header.slice(0, 6).toLowerCase() !== 'bearer') return false;
    // Constant time for a token of the right length; the length itself (43 characters of
    // base64url for a plugwire host's token) is no secret.
    const given = Buffer.from(header.slice(7).replace(/^ +/, ''));
    return given.length === expected.length && nodeCrypto().timingSafeEqual(given, expected);
  }

  private tooLarge(): Answer {
    return answer('PLUGWIRE_PROTOCOL', `request body larger than ${this.options.maxBodySize} bytes`, 413);
  }

  /** Reads the envelope, arms the deadline, converts the arguments and runs the method. */
  private onBody(state: CallState, body: Buffer): void {
    const { entry, route } = state;
    const { definition } = entry;
    const request = decodeRequest(body, definition.params.length, route);
    if (isRefusal(request)) return this.refuse(state, answer(request.code, request.message, request.status));
    const { deadline } = request;
    let { args } = request;

    if (deadline !== undefined) {
      if (deadline <= Date.now()) return this.timedOut(state);
      state.expiresAt = deadline;
      deadlines.add(state);
    }

    if (entry.convert) {
      let converted: unknown[] | Promise<unknown[]>;
      try {
        converted = convertArgs(definition, args, 'plugin');
      } catch (error) {
        return this.invalid(state, error);
      }
      if (converted instanceof Promise) {
        converted.then(
          (values) => this.run(state, values),
          (error: unknown) => this.invalid(state, error),
        );
        return;
      }
      args = converted;
    }
    this.run(state, args);
  }

  /** @internal the caller's deadline passed: answer 504 whatever the method does. */
  timedOut(state: CallState): void {
    const error = new CallTimeoutError(GO_DEADLINE_MESSAGE, { route: state.route });
    this.failing(state, error);
    state.abort(error);
    this.finish(state, () => this.sendError(state.req, state.res, new Answer({ code: 'PLUGWIRE_TIMEOUT', message: GO_DEADLINE_MESSAGE }, ErrorStatus.PLUGWIRE_TIMEOUT)));
  }

  /** Answers a call refused before its method ran (a broken envelope, a body too large). */
  private refuse(state: CallState, refusal: Answer): void {
    // Its diagnostics and NODE_DEBUG line get a PluginError with the code the caller sees,
    // made only when someone looks.
    if (state.diagnostics || debug.enabled) {
      const { code, message } = refusal.wire;
      this.failing(state, code === 'PLUGWIRE_VALIDATION' ? new PayloadValidationError(message, 'plugin') : new ProtocolError(message, { route: state.route, statusCode: refusal.status }));
    }
    this.finish(state, () => this.sendError(state.req, state.res, refusal));
  }

  private invalid(state: CallState, error: unknown): void {
    this.failing(state, error);
    const violations = error instanceof PayloadValidationError ? error.violations : [];
    this.finish(state, () =>
      this.sendError(state.req, state.res, new Answer({ code: 'PLUGWIRE_VALIDATION', message: messageOf(error), violations }, ErrorStatus.PLUGWIRE_VALIDATION)),
    );
  }

  /** Runs the method in its call context and answers with its result or its error. */
  private run(state: CallState, args: unknown[]): void {
    if (state.settled) return; // timed out or gone while the arguments were checked
    let result: unknown;
    try {
      result = runInCallContext(state, callHandler, state.entry, args);
    } catch (error) {
      return this.failed(state, error);
    }
    if (result instanceof Promise || (typeof result === 'object' && result !== null && typeof (result as PromiseLike<unknown>).then === 'function')) {
      Promise.resolve(result as PromiseLike<unknown>).then(
        (value) => this.succeeded(state, value),
        (error: unknown) => this.failed(state, error),
      );
      return;
    }
    this.succeeded(state, result);
  }

  private succeeded(state: CallState, result: unknown): void {
    if (state.settled) return;
    let text: string;
    try {
      text = `${JSON.stringify(resultToPlain(state.entry.definition, result)) ?? 'null'}\n`;
    } catch (error) {
      return this.failed(state, new TypeError(`the result of ${state.route} cannot be encoded as JSON: ${messageOf(error)}`));
    }
    const { res } = state;
    this.finish(state, () => {
      res.writeHead(200, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    });
  }

  /** Notes why a call fails, for its diagnostics message and the NODE_DEBUG line. */
  private failing(state: CallState, error: unknown): void {
    if (state.settled) return;
    if (state.diagnostics) state.diagnostics.error = error;
    if (debug.enabled) debug('call to %s failed: %s %s', state.route, codeOf(error), messageOf(error));
  }

  private failed(state: CallState, error: unknown): void {
    this.failing(state, error);
    if (this.options.logErrors !== false && unexpectedError(error)) {
      const { definition, target } = state.entry;
      this.report(`${target.constructor.name}.${definition.propertyKey} (route ${definition.route}) threw`, error);
    }
    // Whatever the method threw is the plugin's error, even a plugwire error of a call it made.
    this.finish(state, () => this.sendError(state.req, state.res, new Answer(toWireError(error), ErrorStatus.PLUGWIRE_REMOTE)));
  }

  private finish(state: CallState, send: () => void): void {
    if (state.settled) return;
    state.settled = true;
    deadlines.delete(state);
    if (!state.res.headersSent && !state.res.destroyed) send();
    // Still in flight until its answer is flushed ('finish' above); one that was never
    // sent (its caller is gone) is done now.
    if (!state.res.headersSent) this.release(state);
  }

  private sendError(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    if (res.headersSent || res.destroyed) return;
    const { wire, status } = error instanceof Answer ? error : new Answer(toWireError(error), ErrorStatus.PLUGWIRE_REMOTE);
    // A plugwire host gets the structured error inside the JSON string; a version 1
    // host gets the message alone, as a Go plugin would send it.
    const structured = req.headers[VERSION_HEADER] !== undefined;
    const text = `${JSON.stringify(structured ? JSON.stringify(wire) : wire.message)}\n`;
    const headers: Record<string, string | number> = { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text) };
    if (structured) headers[ERROR_HEADER] = '1';
    res.writeHead(status, headers);
    res.end(text);
    // An answer given before the whole body arrived (401, 404, 405, 413): closing at once
    // would reset a client that is still sending, and it would never read the answer.
    if (!req.complete) this.lingerAfter(req, res);
  }

  /**
   * Reads and discards what a client still sends after it was answered, for a bounded
   * amount and time (RFC 9112 §9.6), then closes the connection. A request whose body
   * ends in time leaves the connection open for the next one.
   */
  private linger(request: IncomingMessage | undefined, socket: Socket): void {
    let discarded = 0;
    let idle: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(idle);
      clearTimeout(overall);
      socket.removeListener('data', onData);
      socket.removeListener('end', close);
      socket.removeListener('close', done);
      request?.removeListener('end', done);
    };
    const close = (): void => {
      done();
      socket.destroy();
    };
    const arm = (): void => {
      clearTimeout(idle);
      idle = setTimeout(close, LINGER_IDLE);
    };
    const onData = (chunk: Buffer): void => {
      discarded += chunk.length;
      if (discarded > this.options.maxBodySize) close();
      else arm();
    };
    const overall = setTimeout(close, LINGER_MAX);
    // Count raw bytes on the socket: Node itself drains the request body (req._dump).
    socket.on('data', onData);
    socket.once('end', close);
    socket.once('close', done);
    request?.once('end', done);
    if (!request) socket.resume();
    arm();
  }
}

/** Classes already warned about: a host serving in-process plugins again and again is told once. */
const warnedUnimplemented = new WeakSet<object>();

/** Reports the contract methods that the served classes leave to the contract's `stub()`. */
function reportUnimplemented(table: ReadonlyMap<string, Route>, mode: 'warn' | 'error' | 'ignore'): void {
  if (mode !== 'warn' && mode !== 'error' && mode !== 'ignore') {
    throw new DefinitionError(`serve(): unimplemented must be 'warn', 'error' or 'ignore', got ${String(mode)}`);
  }
  const missing = [...table.values()].filter((r) => !r.implemented);
  if (missing.length === 0 || mode === 'ignore') return;
  if (mode === 'warn' && missing.every((r) => warnedUnimplemented.has(r.target.constructor))) return;
  for (const r of missing) warnedUnimplemented.add(r.target.constructor);
  const served = [...new Set(missing.map((r) => r.target.constructor.name))].join(', ');
  const message =
    `${served} does not override ${missing.map((r) => describeRoute(r.definition)).join(', ')}: ` +
    `${missing.length === 1 ? 'a call to it fails' : 'calls to them fail'} with PLUGWIRE_STUB. Override ${missing.length === 1 ? 'it' : 'them'} in the class passed to serve().`;
  if (mode === 'error') throw new DefinitionError(message);
  process.emitWarning(message, { code: 'PLUGWIRE_NOT_IMPLEMENTED' });
}

/**
 * Serves one or more plugin implementations on the Unix socket the host chose.
 *
 * @param implementation - an instance of a class that extends a `@Plugin()` contract, or
 * several whose routes differ
 * @param options - socket, limits and process behaviour; see {@link ServeOptions}
 * @returns a handle that resolves once the server listens and the ready line is printed
 * @throws {@link DefinitionError} (`PLUGWIRE_DEFINITION`) for a value without routes,
 * routes served twice, no socket path, or (with `unimplemented: 'error'`) a contract
 * method the served class does not override; {@link StartError} (`PLUGWIRE_START`) when it
 * cannot listen (after printing `failed to listen on socket`)
 *
 * @remarks
 * The route table is built once, here. Each call's payload is converted and validated
 * before the method runs (422 with the field details when invalid); the method's
 * deadline and an AbortSignal are available through {@link callContext}; at the
 * deadline the caller gets a timeout answer even if the method ignores it. The socket is
 * created with mode 0600. As a standalone process (the default) it exits with status 0
 * on SIGTERM or SIGINT after in-flight calls finish, and when the plugwire host that
 * started it dies.
 *
 * @example
 * ```ts
 * class ModifierImpl extends Modifier {
 *   override async modify(value: string) { return `${value} decorated`; }
 * }
 * void serve(new ModifierImpl());
 * ```
 */
export async function serve(implementation: object | readonly object[], options: ServeOptions = {}): Promise<PluginServer> {
  const table = buildRouteTable(Array.isArray(implementation) ? implementation : [implementation]);
  reportUnimplemented(table, options.unimplemented ?? 'warn');
  const socket = options.socket ?? process.env[SOCKET_ENV];
  const announce = options.announce ?? true;
  if (!socket) {
    throw new DefinitionError(`no socket to listen on: set ${SOCKET_ENV} (a plugwire or Go host does) or pass { socket }`);
  }
  const token = options.token ?? process.env[TOKEN_ENV];
  // The token is this process's alone: children must not inherit it.
  delete process.env[TOKEN_ENV];
  const server = new PluginHttpServer(socket, table, options, token);
  try {
    checkSocketPath(socket);
    try {
      await server.listen();
    } catch (error) {
      // A socket file left by a dead plugin: nobody answers on it, so it is safe to
      // replace. Anything else at the path (a live socket, a regular file) is left alone.
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || (await removeStaleSocket(socket)) !== 'removed') throw error;
      await server.listen();
    }
  } catch (error) {
    if (announce) process.stdout.write(`${FAILED_LINE}\n`);
    if (PluginError.is(error)) throw error;
    throw new StartError(`failed to listen on ${socket}: ${(error as Error).message}`, 'socket', { cause: error });
  }
  server.watch(options.standalone ?? true);
  if (debug.enabled) debug('listening on %s: %s', socket, server.routes.join(', '));
  if (announce) process.stdout.write(`${READY_LINE}\n`);
  // Load what the first call needs while the host reads the ready line and connects.
  if (token) setImmediate(nodeCrypto);
  return server;
}

