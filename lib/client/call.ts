import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { AbortedError, PluginError, TimeoutError } from '../errors/plugin-error';
import { answerTooLarge } from '../protocol/answer';
import type { MethodDefinition } from '../metadata/method-definition';
import { DeadlineWatch, type Expiring } from '../util/deadline-watch';
import { Link } from '../util/linked-list';
import type { ServingContext } from '../server/call-context';
import { followSignal, unfollowSignal } from './call-options';
import { abortCause, followServed } from './inheritance';

/** What a call needs from its client. @internal */
export interface CallOwner {
  readonly maxResponseSize: number;
  /**
   * Sends one request of the call through the connection pool, with the current plugin's
   * headers and the call's own; `callBack` for a call made by a host service method.
   */
  dispatch(route: string, body: string, headers: Readonly<Record<string, string>> | undefined, handler: Dispatcher.DispatchHandler, callBack: boolean): void;
  /** Turns a complete (or cut-off) answer into the call's value; throws its error. */
  decode(call: Call, exchange: Exchange): unknown;
  /** Takes over a call whose request failed before an answer began (the slow path). */
  recover(call: Call, failure: Error | undefined): void;
  /** A call settled (answered, failed or aborted). */
  settled(call: Call, ok: boolean): void;
  /** A request of a call ended (answered, failed or cut), whatever the call does next. */
  released(): void;
}

/**
 * One request of a call through undici's dispatch(): it collects the answer's status,
 * headers and body chunks in place, without a stream or a copy.
 * @internal
 */
export class Exchange implements Dispatcher.DispatchHandler {
  statusCode = 0;
  headers: IncomingHttpHeaders = {};
  readonly chunks: Buffer[] = [];
  /** The answer began: the plugin has run the call, so it is never sent again. */
  answering = false;
  /** Why the request or its answer broke off. */
  failure: Error | undefined;
  control: Dispatcher.DispatchController | undefined;

  constructor(private readonly call: Call) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.control = controller;
    const reason = this.call.current === this ? this.call.reason : new AbortedError('request no longer wanted');
    if (reason) controller.abort(reason);
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    if (status < 200) return; // 1xx: the real answer follows
    this.statusCode = status;
    this.headers = headers;
    this.answering = true;
    const limit = this.call.owner.maxResponseSize;
    if (Number(headers['content-length']) > limit) {
      controller.abort(answerTooLarge(headers['content-length'], limit, status));
    }
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.call.exchanged(this);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.failure = error;
    this.call.exchanged(this);
  }
}

/** The error of a call that timed out, with the plugin's own timeout answer, if any, as its cause. @internal */
export function timeoutError(call: Pick<Call, 'route' | 'timeout'>, cause?: unknown): TimeoutError {
  const { route, timeout } = call;
  const message =
    timeout > 0 || !cause ? `call to ${route} timed out after ${timeout} ms` : `call to ${route} timed out in the plugin: ${(cause as Error).message}`;
  return new TimeoutError(message, cause === undefined ? { route } : { route, cause });
}

/** The timeouts of every client's calls, on one timer. */
const timeouts = new DeadlineWatch();

/**
 * One call of a client: its outcome, its timeout, its caller's AbortSignal and the
 * request in flight. The common case (the plugin runs and answers) costs one promise and
 * two small objects (timeouts share one timer); an AbortController is made only for a
 * call that has to wait for a restart.
 * @internal
 */
export class Call implements Expiring {
  readonly promise: Promise<unknown>;
  /** The request in flight, if any. */
  current: Exchange | undefined;
  /** Why the call was aborted (timeout, caller, close); set once. */
  reason: Error | undefined;
  /** The plugin generation the last request went to. */
  generation = 0;
  /** Its place among its client's calls in flight. */
  readonly inflightLink: Link<Call> = new Link<Call>(this);
  /** Its place in its client's queue while it waits for one of `maxInFlight`. */
  readonly queueLink: Link<Call> = new Link<Call>(this);
  /** Whether it holds one of its client's `maxInFlight`. */
  admitted = false;
  /** Made by a host service method serving the plugin (see ClientInit.reentrant): told once, at the call. */
  callBack = false;
  readonly deadlineLink: Link<Expiring> = new Link<Expiring>(this);
  private resolve!: (value: unknown) => void;
  private reject!: (error: Error) => void;
  private done = false;
  private controller: AbortController | undefined;
  private waiter: ((exchange: Exchange) => void) | undefined;

  constructor(
    readonly owner: CallOwner,
    readonly route: string,
    private readonly body: string,
    /** Extra request headers of this call. */
    private readonly headers: Readonly<Record<string, string>> | undefined,
    readonly definition: MethodDefinition | undefined,
    /** The call's timeout in ms; 0 for none. */
    readonly timeout: number,
    /** When the call times out (epoch ms); 0 for never. */
    readonly expiresAt: number,
    private readonly caller: AbortSignal | undefined,
    /** The call being served that this one inherits from (see inheritance.ts), if any; its signal is followed. */
    private readonly served: ServingContext | undefined,
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (expiresAt > 0) timeouts.add(this);
    if (caller) followSignal(caller, this);
    if (served) followServed(served, this);
  }

  /** The caller's AbortSignal, or the served call's, fired (no closure per call). */
  handleEvent(): void {
    const reason = abortCause(this.caller, this.served);
    // The deadline of the served call, whose signal the call inherits along with that
    // deadline: whichever fires first, the call timed out.
    if (PluginError.is(reason, 'PLUGWIRE_TIMEOUT')) this.abort(timeoutError(this, reason));
    else this.abort(new AbortedError(`call to ${this.route} was aborted`, { route: this.route, cause: reason }));
  }

  /** The call's timeout passed. */
  expire(): void {
    this.abort(timeoutError(this));
  }

  /** An AbortSignal for the slow path's waits (restarts, back-off); made on first use. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Sends the request; its outcome settles the call, or hands it to the slow path. */
  send(generation: number): void {
    this.generation = generation;
    const exchange = new Exchange(this);
    this.current = exchange;
    this.owner.dispatch(this.route, this.body, this.headers, exchange, this.callBack);
  }

  /** Sends the request once for the slow path and resolves with its exchange. */
  exchange(generation: number): Promise<Exchange> {
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.send(generation);
    });
  }

  /** @internal called by the exchange when its request is over. */
  exchanged(exchange: Exchange): void {
    if (exchange !== this.current) return;
    this.current = undefined;
    this.owner.released();
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter(exchange);
      return;
    }
    if (this.done) return;
    if (this.reason) {
      this.fail(this.reason);
    } else if (!exchange.failure || exchange.answering) {
      let value: unknown;
      try {
        value = this.owner.decode(this, exchange);
      } catch (error) {
        this.fail(error as Error);
        return;
      }
      this.succeed(value);
    } else {
      this.owner.recover(this, exchange.failure);
    }
  }

  /** Aborts the call: the request in flight is cut, the call rejects with `reason`. */
  abort(reason: Error): void {
    if (this.done || this.reason) return;
    this.reason = reason;
    this.controller?.abort(reason);
    const exchange = this.current;
    if (exchange?.control) {
      exchange.control.abort(reason); // undici reports it through onResponseError
    } else if (exchange) {
      // Still queued in the pool: settle now; the request is dropped when it starts.
      exchange.failure = reason;
      this.exchanged(exchange);
    } else if (!this.controller) {
      this.fail(reason);
    }
  }

  succeed(value: unknown): void {
    if (this.done) return;
    this.finish();
    this.owner.settled(this, true);
    this.resolve(value);
  }

  fail(error: Error): void {
    if (this.done) return;
    this.finish();
    this.owner.settled(this, false);
    this.reject(error);
  }

  private finish(): void {
    this.done = true;
    if (this.expiresAt > 0) timeouts.delete(this);
    if (this.caller) unfollowSignal(this.caller, this);
    if (this.served) unfollowSignal(this.served.signal, this);
  }
}
