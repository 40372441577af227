import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { debug } from '../diagnostics/channels';
import { MANIFEST_ROUTE } from '../manifest/manifest';
import { HEALTH_ROUTE } from '../protocol/constants';
import { describeForLog } from '../util/thrown';
import { removeOrphanedSocketDirectory } from '../socket/directory';
import { LinkedList } from '../util/linked-list';
import { answer, tooLarge, writeError, type Answer } from './answers';
import { answerClientError, answerConnect } from './connection-errors';
import { exitWithHost, type HostWatch } from './lifeline';
import { lingerAfter } from './linger';
import { ManifestEndpoint, type EndpointServer } from './manifest-endpoint';
import { answerHealth } from './health-endpoint';
import { withDefaults, type PluginServer, type ResolvedOptions, type ServeOptions } from './options';
import type { Route } from './route-table';
import { ServedCall, type CallServer } from './served-call';
import { listenOnSocketFile, removeSocketFile } from './socket-file';
import { authorized, UNAUTHORIZED } from './token';
import type { CallerInfo, HostEndpoint } from './call-context';
import { releaseHostEndpoint, removeOrphanedHostSocket } from './host-endpoint';

/** How long a closing plugin whose callers went away waits for its lifeline to say whether the host is gone, ms. */
const LIFELINE_LAG_MS = 100;

/** Header fields a request may have; one more gets 431. */
const MAX_HEADERS = 100;

/** The one expectation supported: `Expect: 100-continue` (case-insensitive, RFC 9110 §10.1.1), alone. */
const CONTINUE = /^100-continue$/i;

function ignore(): void {}

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

/**
 * A plugin server: Node's HTTP server set up for plugwire's limits, the dispatch of each
 * request (refusals, the manifest, a call), and the graceful close.
 * @internal
 */
export class PluginHttpServer implements PluginServer, CallServer, EndpointServer {
  readonly routes: readonly string[];
  readonly closed: Promise<void>;
  inflight = 0;
  readonly maxBodySize: number;
  readonly maxCollectedSize: number;
  readonly logErrors: boolean;
  private readonly server: Server;
  private readonly options: ResolvedOptions;
  private closing: Promise<void> | undefined;
  private resolveClosed!: () => void;
  private socketIno: number | undefined;
  /** The host that started this plugin, when it runs standalone with a lifeline. */
  private host: HostWatch | undefined;
  private readonly calls = new LinkedList<ServedCall>();
  private idleWaiter: (() => void) | undefined;
  /** Work of calls no longer in flight that closing waits for (see holdUntil). */
  private holding = 0;
  /** Every response not yet flushed to its socket, and whose connection is still open. */
  private readonly answering = new Set<ServerResponse>();
  /** Per connection, the responses queued behind an earlier pipelined answer that have not got the socket yet. */
  private readonly queued = new WeakMap<Socket, Set<ServerResponse>>();
  /** The token callers must send, when the plugin has one. */
  private readonly expectedToken: Buffer | undefined;
  private readonly manifest: ManifestEndpoint;
  /** The host services the plugin may call, if its host offers any. */
  readonly hostServices: HostEndpoint | undefined;
  /** Whether a caller went away before its answer while closing: a dying host does so a moment before its lifeline closes. */
  private callersLeft = false;
  /** Who made a request: set on a server of host services. */
  callerOf: ((req: IncomingMessage) => CallerInfo) | undefined;

  constructor(
    readonly socket: string,
    private readonly table: ReadonlyMap<string, Route>,
    options: ServeOptions,
    token: string | undefined,
  ) {
    this.expectedToken = token ? Buffer.from(token) : undefined;
    this.routes = [...table.keys()];
    this.options = withDefaults(options);
    this.maxBodySize = this.options.maxBodySize;
    this.maxCollectedSize = this.options.maxCollectedSize;
    this.logErrors = this.options.logErrors !== false;
    this.manifest = new ManifestEndpoint(this, table, options.name, options.version);
    this.hostServices = options.host ? { socket: options.host.socket, token: options.host.token } : undefined;
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
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => answerClientError(error, socket, this.answering, this.maxBodySize));
    // Node's own answers to these have empty bodies, or none at all: every answer must be a JSON string.
    this.server.on('connect', (req: IncomingMessage, socket: Socket) => answerConnect(socket, this.refusal(req), this.answering, this.maxBodySize));
    // With these two, Node sends neither 100 Continue nor 417 by itself: both come after
    // the checks that may refuse the request (401, 404, 405, 413).
    // Node takes `100-continue` anywhere in the header for it (`100-continue, foo`, two Expect
    // fields): anything but that one expectation alone is not supported.
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res, CONTINUE.test(req.headers.expect ?? '') ? 'continue' : 'expectation'));
    this.server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res, 'expectation'));
  }

  /** Listens on the socket path (see socket-file.ts), replacing a dead plugin's socket file. */
  async listen(): Promise<void> {
    this.socketIno = await listenOnSocketFile(this.server, this.socket);
  }

  /**
   * Lets the process exit while the server listens and its connections are idle, as a host
   * may once it has nothing else to do (host services): a connection holds the process
   * only while it carries a call, until the answer is out.
   */
  unref(): void {
    this.server.unref();
    this.server.on('connection', (socket: Socket) => socket.unref());
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      req.socket.ref();
      res.once('close', () => req.socket.unref());
    });
  }

  /** As the plugin process: exits on a signal, or with the host, after running `onClose`. */
  watch(onClose: (() => void | Promise<void>) | undefined): void {
    this.host = exitWithHost(this, this.socket, onClose, (what, error) => this.report(what, error));
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** @internal */
  sendError(req: IncomingMessage, res: ServerResponse, error: Answer): void {
    if (res.headersSent || res.destroyed) return;
    writeError(req, res, error);
    // An answer given before the whole body arrived (401, 404, 405, 413): closing at once
    // would reset a client that is still sending, and it would never read the answer.
    if (!req.complete) this.lingerAfter(req, res);
  }

  /** @internal */
  lingerAfter(req: IncomingMessage, res: ServerResponse): void {
    lingerAfter(req, res, this.maxBodySize);
  }

  /** @internal */
  unexpected(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    this.report(`unexpected failure serving ${req.url ?? ''}`, error);
    this.sendError(req, res, answer('PLUGWIRE_REMOTE', 'internal plugin server error'));
  }

  /** @internal */
  report(what: string, error: unknown): void {
    const logger = this.options.logger ?? console;
    logger.error(`plugwire: ${what}: ${describeForLog(error)}`);
  }

  /** @internal */
  holdUntil(work: PromiseLike<unknown>): void {
    this.holding++;
    const done = (): void => {
      this.holding--;
      this.checkIdle();
    };
    work.then(done, done);
  }

  /** @internal */
  callerLeft(): void {
    // Only while closing: a host that dies while this plugin serves on is noticed by its lifeline.
    if (this.closing) this.callersLeft = true;
  }

  /** @internal */
  released(call: ServedCall): void {
    this.calls.delete(call.callLink);
    --this.inflight;
    this.checkIdle();
  }

  private async shutdown(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Nothing listens at the path any more: new callers find no file, as they would
    // after a crash (the file is not libuv's to remove: see socket-file.ts).
    removeSocketFile(this.socket, this.socketIno);
    // Waits for the calls in flight and for every answer to be flushed to its socket.
    if (this.inflight > 0 || this.answering.size > 0 || this.holding > 0) {
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
    // Callers that went away mid-call may be a host that is dying: its lifeline reads
    // closed a moment later, and only then would this plugin know to remove its directory.
    if (this.callersLeft && this.host && !this.host.gone()) await this.host.goneWithin(LIFELINE_LAG_MS);
    const hostGone = this.host?.gone() === true;
    const orphaned = hostGone ? this.host?.socketDir : undefined;
    this.host?.stop();
    if (this.hostServices) {
      await releaseHostEndpoint(this.hostServices).catch((error: unknown) => this.report('closing the connections to the host services failed', error));
      // The host's socket for its services, which a host killed with SIGKILL left behind.
      if (hostGone) removeOrphanedHostSocket(this.hostServices);
    }
    if (orphaned !== undefined) removeOrphanedSocketDirectory(orphaned);
    if (debug.enabled) debug('server on %s closed', this.socket);
    this.resolveClosed();
  }

  private checkIdle(): void {
    if (this.inflight === 0 && this.answering.size === 0 && this.holding === 0) this.idleWaiter?.();
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

  /**
   * Watches a response queued behind an earlier pipelined answer until it gets the socket.
   * Node emits 'close' on the response that has the socket when the connection closes, but
   * never on those queued behind it: their calls would stay in flight for good, holding
   * their answers, a place under maxInFlight, and a graceful close for its whole grace.
   * One 'close' listener a connection, added with its first queued response, closes them.
   */
  private queue(socket: Socket, res: ServerResponse): void {
    const responses = this.queued.get(socket) ?? this.watchQueued(socket);
    responses.add(res);
    // From here on the response has the socket, and Node's own 'close' (see assignSocket).
    res.once('socket', () => responses.delete(res));
  }

  private watchQueued(socket: Socket): Set<ServerResponse> {
    const responses = new Set<ServerResponse>();
    this.queued.set(socket, responses);
    socket.once('close', () => this.closeQueued(responses));
    return responses;
  }

  /**
   * The connection closed: each response still queued on it is closed as Node closes the
   * one that has the socket (destroyed, then 'close'), so its call is aborted as a caller
   * that went away and released, and its buffered answer is dropped with it.
   */
  private closeQueued(responses: Set<ServerResponse>): void {
    const closing = [...responses];
    responses.clear();
    for (const res of closing) {
      if (res.closed) continue;
      // Destroyed, whatever its call still writes (a late result, a stream's items) is dropped.
      if (!res.destroyed) res.destroy();
      res.emit('close');
    }
  }

  /** The answer to a request refused before anything else is looked at: too many headers, or no token. */
  private refusal(req: IncomingMessage): Answer | undefined {
    if (req.rawHeaders.length > 2 * MAX_HEADERS) {
      return answer('PLUGWIRE_PROTOCOL', `request header fields too large: more than ${MAX_HEADERS} header fields`, 431);
    }
    if (!authorized(this.expectedToken, req.headers.authorization)) return answer('PLUGWIRE_PROTOCOL', UNAUTHORIZED, 401);
    return undefined;
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
    // A pipelined request's response waits without the socket until the answers before it are out.
    if (res.socket === null) this.queue(req.socket, res);
    try {
      this.dispatch(req, res, expects);
    } catch (error) {
      this.unexpected(req, res, error);
    }
  }

  /** Refuses the request, answers it (the manifest), or starts the call it makes. */
  private dispatch(req: IncomingMessage, res: ServerResponse, expects?: 'continue' | 'expectation'): void {
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
    // be framed at all: Node's parser fails the request (400, answerClientError).
    const coding = req.headers['transfer-encoding'];
    if (coding !== undefined && /,\s*chunked\s*$/i.test(coding)) {
      return this.sendError(req, res, answer('PLUGWIRE_PROTOCOL', `transfer coding not implemented: ${coding.slice(0, 80)}`, 501));
    }
    const route = routeOf(req.url);
    if (route === MANIFEST_ROUTE) return this.manifest.handle(req, res, expects === 'continue');
    if (route === HEALTH_ROUTE) return answerHealth(this, req, res, expects === 'continue');
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
    if (declared > this.maxBodySize) {
      return this.sendError(req, res, tooLarge(this.maxBodySize));
    }
    if (this.inflight >= this.options.maxInFlight) {
      res.setHeader('Retry-After', '1');
      return this.sendError(req, res, answer('PLUGWIRE_OVERLOADED', `plugin overloaded: it serves ${this.inflight} calls, its maxInFlight; call ${route} refused, not run`));
    }
    this.inflight++;
    const call = new ServedCall(this, req, res, entry, route, this.expectedToken !== undefined);
    this.calls.add(call.callLink);
    call.start(expects === 'continue');
  }
}
