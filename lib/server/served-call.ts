import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { convertArgs, resultToPlain, WIRE_VIOLATIONS } from '../conversion/converter';
import { channels, codeOf, debug, messageOf, type ServedCallMessage } from '../diagnostics/channels';
import { ErrorStatus } from '../errors/error-codes';
import { ProtocolError, TimeoutError, ValidationError, type DefinitionError } from '../errors/plugin-error';
import { ANSWER_CONTENT_TYPE, encodeAnswer } from '../protocol/answer';
import { decodeRequest, isRefusal } from '../protocol/envelope';
import { GO_DEADLINE_MESSAGE, toWireError } from '../protocol/wire-error';
import { DeadlineWatch, type Expiring } from '../util/deadline-watch';
import { Link } from '../util/linked-list';
import { answer, tooLarge, type Answer } from './answers';
import { REENTRANT_HEADER } from '../protocol/constants';
import { methodEnded, methodStarted, runInCallContext, type CallerInfo, type HostEndpoint, type ServingContext } from './call-context';
import type { Route } from './route-table';
import { answerStream, type StreamedAnswer, type StreamingCall } from './served-stream';
import { withoutAuthorization } from './token';
import { isThenable } from '../util/thenable';

/** What a served call needs from its server. @internal */
export interface CallServer {
  /** Largest request body accepted, bytes. */
  readonly maxBodySize: number;
  /** Largest stream collected into one array for a caller that does not read frames, bytes. */
  readonly maxCollectedSize: number;
  /** Whether a method's unexpected error is reported (the serve option `logErrors`). */
  readonly logErrors: boolean;
  /** Writes an error answer, unless the response is already answered or gone. */
  sendError(req: IncomingMessage, res: ServerResponse, answer: Answer): void;
  /** Answers 500 for a failure of the server's own, and reports it. */
  unexpected(req: IncomingMessage, res: ServerResponse, error: unknown): void;
  /** Reports a problem of the plugin's to its logger. */
  report(what: string, error: unknown): void;
  /** The host services the plugin may call, if its host offers any. */
  readonly hostServices?: HostEndpoint | undefined;
  /** A caller went away before its answer (its connection closed): maybe the host is dying. */
  callerLeft?(): void;
  /** Who made a request, on a server of host services. */
  readonly callerOf?: ((req: IncomingMessage) => CallerInfo) | undefined;
  /** A call stopped counting as in flight. */
  released(call: ServedCall): void;
  /**
   * Keeps the server from closing (within its grace) until some work of a call that is no
   * longer in flight settles: a stream's iterator returned while it awaited something.
   */
  holdUntil(work: PromiseLike<unknown>): void;
}

/** The deadlines of the calls being served, on one timer. */
const deadlines = new DeadlineWatch();

function callHandler(entry: Route, args: unknown[]): unknown {
  return entry.handler.apply(entry.target, args);
}

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

/**
 * One call being served, from its request's headers to its answer: it reads the body,
 * reads the envelope, arms the deadline, converts the arguments, runs the method and
 * answers with its result or its error, once. It is also the method's
 * {@link CallContext}: the AbortSignal, the deadline's Date and the filtered headers are
 * made only if the method asks. The pipeline runs in callbacks, not in async functions:
 * a call that is answered at once costs no promise of plugwire's own.
 * @internal
 */
export class ServedCall implements ServingContext, Expiring, StreamingCall {
  /** Answered (or given up): nothing more is sent. */
  settled = false;
  /** When the caller's deadline passes (epoch ms), if it set one. */
  expiresAt = Infinity;
  /** Still counted in flight: not yet answered, and its caller still there. */
  counted = true;
  /** Its diagnostics message, when someone subscribes to the served-call channels. */
  diagnostics: ServedCallMessage | undefined;
  /** Its place among the server's calls, and under the deadline watch. */
  readonly callLink: Link<ServedCall> = new Link<ServedCall>(this);
  readonly deadlineLink: Link<Expiring> = new Link<Expiring>(this);
  private controller: AbortController | undefined;
  /** A stream method's answer, once its method returned. */
  private stream: StreamedAnswer | undefined;
  private abortReason: unknown;
  private aborted = false;
  /** Its method (or its stream's iterator) still runs: counted by methodStarted(). */
  private methodRunning = false;

  /** See {@link ServingContext.running}. */
  get running(): boolean {
    return this.methodRunning;
  }

  constructor(
    private readonly server: CallServer,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly entry: Route,
    readonly route: string,
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

  get caller(): CallerInfo | undefined {
    return this.server.callerOf?.(this.req);
  }

  get reentrant(): boolean {
    return this.req.headers[REENTRANT_HEADER] === '1';
  }

  get hostServices(): HostEndpoint | undefined {
    return this.server.hostServices;
  }

  /**
   * Starts the call once its request was routed: tells the diagnostics channel, reads the
   * body (with 100 Continue first when `expectsContinue`), and stops counting it in flight
   * once its answer is flushed or its caller is gone.
   */
  start(expectsContinue: boolean): void {
    const { req, res, server } = this;
    if (channels.serveCallStart.hasSubscribers || channels.serveCallEnd.hasSubscribers) {
      this.diagnostics = { route: this.route, startTime: performance.now() };
      if (channels.serveCallStart.hasSubscribers) channels.serveCallStart.publish(this.diagnostics);
    }
    // A call stops counting as in flight once its answer is flushed to the socket
    // ('finish': not at res.end(), which may leave most of a large answer in Node's
    // buffer for a slow reader) or its caller is gone (a host that died): a graceful
    // close waits for callers, not for abandoned work.
    res.once('finish', () => this.release());
    res.once('close', () => {
      if (!res.writableFinished) {
        // A caller that hangs up at its deadline (whole ms; a deadline may carry a fraction)
        // timed out, even when the hang-up comes before the deadline watch fires.
        this.abort(Date.now() + 1 > this.expiresAt ? new TimeoutError(GO_DEADLINE_MESSAGE, { route: this.route }) : new Error('the caller went away'));
        this.server.callerLeft?.();
      }
      this.release();
    });
    if (expectsContinue) res.writeContinue();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > server.maxBodySize) {
        req.removeAllListeners('data');
        this.refuse(tooLarge(server.maxBodySize));
        return;
      }
      chunks.push(chunk);
    });
    // A request that breaks off before its end closes the response: 'close' above.
    req.on('end', () => {
      if (this.settled) return;
      try {
        this.onBody(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
      } catch (error) {
        server.unexpected(req, res, error);
        this.release();
      }
    });
  }

  /** The caller's deadline passed: answers 504 whatever the method does, and aborts its signal. */
  expire(): void {
    const error = new TimeoutError(GO_DEADLINE_MESSAGE, { route: this.route });
    this.failing(error);
    this.abort(error);
    this.answerError(answer('PLUGWIRE_TIMEOUT', GO_DEADLINE_MESSAGE));
  }

  /** Aborts the method's signal (made now or when it asks), once. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
    this.stream?.stop();
  }

  /** Answers a call refused before its method ran (a broken envelope, a body too large). */
  refuse(refusal: Answer): void {
    // Its diagnostics and NODE_DEBUG line get a PluginError with the code the caller sees,
    // made only when someone looks.
    if (this.diagnostics || debug.enabled) {
      const { code, message } = refusal.wire;
      this.failing(code === 'PLUGWIRE_VALIDATION' ? new ValidationError(message, 'plugin') : new ProtocolError(message, { route: this.route, statusCode: refusal.status }));
    }
    this.answerError(refusal);
  }

  /** Stops counting the call in flight, once: it was answered and flushed, or its caller is gone. */
  release(): void {
    if (!this.counted) return;
    this.counted = false;
    const message = this.diagnostics;
    if (message) {
      message.status = this.res.headersSent ? this.res.statusCode : 0;
      message.duration = performance.now() - message.startTime;
      if (channels.serveCallEnd.hasSubscribers) channels.serveCallEnd.publish(message);
    }
    deadlines.delete(this);
    this.server.released(this);
  }

  /** Reads the envelope, arms the deadline, converts the arguments and runs the method. */
  private onBody(body: Buffer): void {
    const { entry, route } = this;
    const { definition } = entry;
    const request = decodeRequest(body, definition.params.length, route);
    if (isRefusal(request)) return this.refuse(answer(request.code, request.message, request.status));
    const { deadline } = request;
    let { args } = request;

    if (deadline !== undefined) {
      if (deadline <= Date.now()) return this.expire();
      this.expiresAt = deadline;
      deadlines.add(this);
    }

    if (entry.convert) {
      let converted: unknown[] | Promise<unknown[]>;
      try {
        converted = convertArgs(definition, args, 'plugin');
      } catch (error) {
        return this.invalid(error);
      }
      if (converted instanceof Promise) {
        converted.then(
          (values) => this.run(values),
          (error: unknown) => this.invalid(error),
        );
        return;
      }
      args = converted;
    }
    this.run(args);
  }

  private invalid(error: unknown): void {
    this.failing(error);
    const all = error instanceof ValidationError ? error.violations : [];
    const violations = all.length > WIRE_VIOLATIONS ? all.slice(0, WIRE_VIOLATIONS) : all;
    this.answerError({ wire: { code: 'PLUGWIRE_VALIDATION', message: messageOf(error), violations }, status: ErrorStatus.PLUGWIRE_VALIDATION });
  }

  /** Runs the method in its call context and answers with its result or its error. */
  private run(args: unknown[]): void {
    if (this.settled) return; // timed out or gone while the arguments were checked
    let result: unknown;
    this.methodRunning = true;
    methodStarted();
    try {
      result = runInCallContext(this, callHandler, this.entry, args);
    } catch (error) {
      this.methodDone();
      return this.failed(error);
    }
    // A stream's method runs until its iterator is done: the stream says when.
    if (this.entry.definition.stream) {
      return answerStream(this, result, this.server.maxCollectedSize, (stream) => {
        this.stream = stream;
        // Aborted while the method's promise of an iterable was pending: return it unpulled.
        if (this.aborted) stream.stop();
      });
    }
    if (isThenable(result)) {
      Promise.resolve(result).then(
        (value) => {
          this.methodDone();
          this.succeeded(value);
        },
        (error: unknown) => {
          this.methodDone();
          this.failed(error);
        },
      );
      return;
    }
    this.methodDone();
    this.succeeded(result);
  }

  /** The method (or its stream's iterator) finished running, once. */
  methodDone(): void {
    if (!this.methodRunning) return;
    this.methodRunning = false;
    methodEnded();
  }

  private succeeded(result: unknown): void {
    if (this.settled) return;
    // Past the caller's deadline the answer is the timeout, as for a method that threw (see
    // failed()): one that blocked the event loop past it returns before the deadline watch fires.
    if (this.expiresAt !== Infinity && Date.now() >= this.expiresAt) return this.expire();
    if (isAsyncIterable(result)) {
      // JSON.stringify would write an async generator as {}: the contract lacks stream: true.
      void Promise.resolve()
        .then(() => result[Symbol.asyncIterator]().return?.())
        .catch(() => undefined);
      return this.failed(
        new TypeError(`${this.route} returned an AsyncIterable, but the contract does not declare it a stream: declare it @Method('${this.route}', { stream: true }) in the contract, for the host too`),
      );
    }
    let text: string;
    try {
      text = encodeAnswer(resultToPlain(this.entry.definition, result));
    } catch (error) {
      return this.failed(new TypeError(`the result of ${this.route} cannot be encoded as JSON: ${messageOf(error)}`));
    }
    if (!this.settle()) return;
    const { res } = this;
    if (!res.headersSent && !res.destroyed) {
      res.writeHead(200, { 'Content-Type': ANSWER_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    }
    this.answered();
  }

  /** Answers with an error of plugwire's own (a stream method that returned no iterable, a stream too large to collect). @internal */
  refuseWith(error: ProtocolError | DefinitionError, status: number): void {
    this.failing(error);
    this.answerError(answer(error.code, error.message, status));
  }

  /** Reports a problem of the plugin's to its logger. @internal */
  report(what: string, error: unknown): void {
    this.server.report(what, error);
  }

  /** See {@link CallServer.holdUntil}. */
  holdUntil(work: PromiseLike<unknown>): void {
    this.server.holdUntil(work);
  }

  /** Notes why a call fails, for its diagnostics message and the NODE_DEBUG line. */
  private failing(error: unknown): void {
    if (this.settled) return;
    if (this.diagnostics) this.diagnostics.error = error;
    if (debug.enabled) debug('call to %s failed: %s %s', this.route, codeOf(error), messageOf(error));
  }

  /** Answers with what the method threw. @internal */
  failed(error: unknown): void {
    // Past the caller's deadline the answer is the timeout, whatever the method threw: a
    // host call that inherited the deadline rejects on the same tick as the deadline watch.
    if (Date.now() >= this.expiresAt) return this.expire();
    this.failing(error);
    if (this.server.logErrors && unexpectedError(error) && !this.gaveUp(error)) {
      const { definition, target } = this.entry;
      this.server.report(`${target.constructor.name}.${definition.propertyKey} (route ${definition.route}) threw`, error);
    }
    // Whatever the method threw is the plugin's error, even a plugwire error of a call it made.
    this.answerError({ wire: toWireError(error), status: ErrorStatus.PLUGWIRE_REMOTE });
  }

  /**
   * Whether the method failed because its call was aborted and it stopped, as asked: with
   * its signal's reason, or an AbortError (what Node's own APIs reject with). Nobody reads
   * that answer, and it is not a failure to report.
   */
  private gaveUp(error: unknown): boolean {
    return this.aborted && (error === this.abortReason || (error instanceof Error && error.name === 'AbortError'));
  }

  private answerError(error: Answer): void {
    if (!this.settle()) return;
    // A stream that has begun ends with an error frame instead.
    if (this.stream?.started) this.stream.close(error.wire);
    else this.server.sendError(this.req, this.res, error);
    this.answered();
  }

  /** Marks the call settled, once: whether it was not yet. @internal */
  settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    deadlines.delete(this);
    return true;
  }

  /**
   * After the answer was written: the call is still in flight until it is flushed
   * ('finish', see start()); one that was never sent (its caller is gone) is done now.
   */
  answered(): void {
    if (!this.res.headersSent) this.release();
  }
}

/** Whether a method's result is an AsyncIterable (an async generator), which only a stream method may return. */
function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function';
}
