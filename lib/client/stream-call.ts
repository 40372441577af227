import type { Dispatcher } from 'undici';
import { AbortedError, ClosedError, PluginError, ProtocolError, UnavailableError, ValidationError } from '../errors/plugin-error';
import { ErrorStatus } from '../errors/error-codes';
import type { MethodDefinition } from '../metadata/method-definition';
import { decodeAnswer } from '../protocol/answer';
import { MAX_TIMEOUT } from '../protocol/constants';
import { encodeRequest } from '../protocol/envelope';
import { FrameError, STREAM_HEADER, STREAM_VERSION, type StreamFrame } from '../protocol/stream';
import { fromWireError, type WireError } from '../protocol/wire-error';
import { channels, codeOf, debug, messageOf, observingCalls, type CallMessage } from '../diagnostics/channels';
import { DeadlineWatch, type Expiring } from '../util/deadline-watch';
import { Link } from '../util/linked-list';
import type { ServingContext } from '../server/call-context';
import { callTimeout, followSignal, unfollowSignal, type CallOptions } from './call-options';
import { abortCause, followServed, inheritedFrom, inheritedLimits } from './inheritance';
import { timeoutError } from './call';
import type { Attempt } from './reach';
import { brokenAnswerError } from './transport-error';
import { StreamExchange, type ExchangeReader } from './stream-exchange';

/**
 * Items read ahead of the consumer before the answer's body is paused: the window of
 * backpressure. Paused, the plugin's writes fill the socket's buffers and then wait, so
 * its iterator is pulled no faster than the host's loop takes items.
 */
const HIGH_WATER = 16;
/** Buffered items at which a paused body is read again. */
const LOW_WATER = 4;
/** The same window in bytes (of the frames as they arrived), for large items. */
const HIGH_WATER_BYTES = 1024 * 1024;
const LOW_WATER_BYTES = 256 * 1024;
/** A stream read without a pause gives the event loop a turn this often, ms (see pull()). */
const TURN_EVERY_MS = 10;

/** What a stream call needs from its client. @internal */
export interface StreamOwner {
  readonly name: string;
  readonly maxResponseSize: number;
  /** The client's default timeout, ms. */
  readonly timeout: number;
  /** Whether the client is closing. */
  closing(): boolean;
  /** Sends one request of the stream, with the current plugin's headers and the stream's own. */
  dispatch(route: string, body: string, headers: Readonly<Record<string, string>>, handler: Dispatcher.DispatchHandler): void;
  /** Finds a running plugin, sends, and sends again (restarts included) while no answer began. */
  open(stream: StreamCall): Promise<void>;
  /** The stream began (`answered`: a plugin answered it 200) or settled. */
  answered(stream: StreamCall): void;
  settled(stream: StreamCall): void;
}

/** The stream's watch of timeouts, one timer for every stream of the process. */
const timeouts = new DeadlineWatch();

/**
 * One streamed call: an `AsyncIterableIterator` of the items a plugin's stream method
 * yields. Nothing is sent before the first `next()`. The answer's body is read as the
 * consumer pulls, with a window of {@link HIGH_WATER} items or {@link HIGH_WATER_BYTES}
 * bytes; `return()` (a `break`), the caller's signal, the timeout and the client's close
 * end the request.
 * @internal
 */
export class StreamCall implements AsyncIterableIterator<unknown>, Expiring, ExchangeReader {
  /** The request in flight or answering, if any. */
  current: StreamExchange | undefined;
  /** Why the stream was ended from the host's side (timeout, caller, close, consumer); set once. */
  reason: Error | undefined;
  /** The plugin generation the last request went to. */
  generation = 0;
  timeout = 0;
  expiresAt = 0;
  readonly deadlineLink: Link<Expiring> = new Link<Expiring>(this);
  readonly inflightLink: Link<StreamCall> = new Link<StreamCall>(this);
  private body = '';
  private readonly controller = new AbortController();
  private readonly items: unknown[] = [];
  /** The size of each buffered item on the wire, about (a chunk's bytes shared among its frames). */
  private readonly sizes: number[] = [];
  private bufferedBytes = 0;
  private unattributed = 0;
  /** The stream ended normally (end frame, or a version 1 answer read whole). */
  private complete = false;
  /** How the stream failed from the plugin's side, thrown once the items before it are taken. */
  private failure: Error | undefined;
  /** The error or end has been handed to the consumer. */
  private over = false;
  private started = false;
  /** The consumer ended the stream (return(), a `break`): an end, not a failure. */
  private returned = false;
  private settledOnce = false;
  private waiter: (() => void) | undefined;
  private attemptWaiter: ((attempt: Attempt) => void) | undefined;
  /** next() calls run one after another: items are converted in order. */
  private queue: Promise<unknown> = Promise.resolve();
  /** When the loop reading this stream last let the event loop turn. */
  private lastTurn = performance.now();
  private message: CallMessage | undefined;

  constructor(
    readonly owner: StreamOwner,
    readonly route: string,
    readonly definition: MethodDefinition | undefined,
    private readonly options: CallOptions,
    /** The payload, worked out at the first next(): may throw or reject (a bad argument). */
    private readonly payload: () => unknown,
    /** Converts one item (the method's `returns`), if it needs it. */
    private readonly convert: ((item: unknown) => Promise<unknown>) | undefined,
    /** The call being served at the stream's call, if any: what it inherits is settled at the first next(). */
    private served: ServingContext | undefined,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** An AbortSignal for the waits of the slow path (restarts, back-off). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  next(): Promise<IteratorResult<unknown>> {
    const result = this.queue.then(() => this.pull());
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Ends the stream from the host's side: the request is cut, so the plugin's iterator ends. */
  return(): Promise<IteratorResult<unknown>> {
    this.over = true;
    this.returned = true;
    this.items.length = 0;
    this.sizes.length = 0;
    if (this.started) this.abort(new AbortedError(`stream of ${this.route} was ended by its consumer`, { route: this.route }));
    this.wake();
    return Promise.resolve({ done: true, value: undefined });
  }

  /** The caller's AbortSignal, or the served call's, fired. */
  handleEvent(): void {
    const reason = abortCause(this.options.signal, this.served);
    // The served call's deadline passed (its signal and the inherited timeout fire together): a timeout.
    if (PluginError.is(reason, 'PLUGWIRE_TIMEOUT')) this.abort(timeoutError(this, reason));
    else this.abort(new AbortedError(`call to ${this.route} was aborted`, { route: this.route, cause: reason }));
  }

  /** The stream's timeout passed. */
  expire(): void {
    this.abort(timeoutError(this));
  }

  private async pull(): Promise<IteratorResult<unknown>> {
    if (this.over) return { done: true, value: undefined };
    if (!this.started) await this.begin();
    for (;;) {
      if (this.over) return { done: true, value: undefined };
      if (this.reason) return this.throwOnce(this.reason);
      if (this.items.length > 0) {
        // A loop that takes items as fast as they come takes each read's items within that
        // read's own microtasks: the socket never backs up, Node reads on, and the host's
        // timers (its calls' timeouts among them) wait for seconds. A turn of the event
        // loop every few ms keeps them on time.
        const now = performance.now();
        if (now - this.lastTurn > TURN_EVERY_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          this.lastTurn = performance.now();
          continue;
        }
        const item = this.items.shift();
        this.bufferedBytes -= this.sizes.shift() ?? 0;
        const control = this.current?.control;
        if (control?.paused && this.items.length <= LOW_WATER && this.bufferedBytes <= LOW_WATER_BYTES) control.resume();
        if (!this.convert) return { done: false, value: item };
        try {
          return { done: false, value: await this.convert(item) };
        } catch (error) {
          this.abort(error as Error);
          return this.throwOnce(error as Error);
        }
      }
      if (this.failure) return this.throwOnce(this.failure);
      if (this.complete) {
        this.over = true;
        return { done: true, value: undefined };
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  private throwOnce(error: Error): never {
    this.over = true;
    this.items.length = 0;
    this.sizes.length = 0;
    throw error;
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  /** The first next(): works out the request and opens it; a failure ends the stream. */
  private async begin(): Promise<void> {
    this.started = true;
    if (observingCalls()) {
      this.message = { plugin: this.owner.name, route: this.route, startTime: performance.now() };
      if (channels.callStart.hasSubscribers) channels.callStart.publish(this.message);
    }
    const { route, options, owner } = this;
    try {
      const payload = await this.payload();
      // return() while the arguments were converted: nothing is sent.
      if (this.reason || this.over) return;
      if (owner.closing()) throw new ClosedError(`plugin ${owner.name} was terminated: call to ${route} refused`, { route });
      const timeout = callTimeout(options, this.definition, owner.timeout);
      if (typeof timeout !== 'number' || !(timeout >= 0 && timeout <= MAX_TIMEOUT)) {
        throw new TypeError(`call to ${route}: timeout must be a number of ms from 0 to ${MAX_TIMEOUT}, got ${String(timeout)}`);
      }
      const caller = options.signal;
      if (caller?.aborted) throw new AbortedError(`call to ${route} was aborted`, { route, cause: caller.reason });
      this.timeout = timeout;
      this.expiresAt = timeout > 0 ? Date.now() + timeout : 0;
      const served = (this.served = inheritedFrom(this.served));
      if (served !== undefined) {
        const limits = inheritedLimits(served, route, this.timeout, this.expiresAt);
        if (limits instanceof PluginError) throw limits;
        ({ timeout: this.timeout, expiresAt: this.expiresAt } = limits);
      }
      try {
        this.body = encodeRequest(payload, this.expiresAt);
      } catch (error) {
        throw new ValidationError(`payload for ${route} cannot be encoded as JSON: ${(error as Error).message}`, 'host', [], { route, cause: error });
      }
    } catch (error) {
      this.reason = error instanceof Error ? error : new Error(String(error));
      this.settle();
      return;
    }
    if (this.expiresAt > 0) timeouts.add(this);
    if (options.signal) followSignal(options.signal, this);
    if (this.served) followServed(this.served, this);
    this.owner.open(this).catch((error: Error) => this.abort(error));
  }

  /** Sends one request and resolves once its answer began or it failed before: for the client's retries. */
  exchange(generation: number): Promise<Attempt> {
    return new Promise((resolve) => {
      this.attemptWaiter = resolve;
      this.generation = generation;
      const exchange = new StreamExchange(this);
      this.current = exchange;
      const headers = { ...this.options.headers, [STREAM_HEADER]: STREAM_VERSION };
      this.owner.dispatch(this.route, this.body, headers, exchange);
    });
  }

  private attempted(exchange: StreamExchange): void {
    const waiter = this.attemptWaiter;
    this.attemptWaiter = undefined;
    waiter?.(exchange);
  }

  /** @internal the answer began. */
  began(exchange: StreamExchange): void {
    if (exchange !== this.current) return;
    if (exchange.statusCode === 200) this.owner.answered(this);
    this.attempted(exchange);
  }

  /** @internal frames arrived. */
  received(exchange: StreamExchange, frames: readonly StreamFrame[], bytes: number): void {
    if (exchange !== this.current || this.reason || this.failure) return;
    // A chunk may end inside a frame: its bytes are shared among the frames it completes.
    this.unattributed += bytes;
    if (frames.length === 0) return;
    const size = this.unattributed / frames.length;
    this.unattributed = 0;
    for (const frame of frames) {
      if (frame.kind === 'item') {
        this.items.push(frame.value);
        this.sizes.push(size);
        this.bufferedBytes += size;
      } else if (frame.kind === 'end') {
        this.complete = true;
      } else {
        const error = streamError(frame.error, this.route);
        // Whichever side noticed the deadline first, a timeout reads the same (as for a unary call).
        this.failure = error.code === 'PLUGWIRE_TIMEOUT' ? timeoutError(this, error) : error;
      }
    }
    if (this.complete || this.failure) {
      // Everything is read: let the connection go back to the pool whatever the consumer does.
      if (exchange.control?.paused) exchange.control.resume();
      this.settle();
    } else if ((this.items.length >= HIGH_WATER || this.bufferedBytes >= HIGH_WATER_BYTES) && exchange.control && !exchange.control.paused) {
      exchange.control.pause();
    }
    this.wake();
  }

  /** @internal the answer cannot be read on (too large, not frames): it is cut. */
  broke(exchange: StreamExchange, error: Error): void {
    if (exchange !== this.current || this.reason) return;
    if (this.complete || this.failure) {
      // The closing frame was read (or the answer broke before): the stream's outcome is
      // that, whether what follows it came in the same chunk or later, and whether the
      // loop has taken it yet. The request is cut all the same: a plugin that writes on
      // after its last frame does not keep the connection.
      exchange.control?.abort(error);
      return;
    }
    const { name, maxResponseSize } = this.owner;
    this.failure =
      error instanceof FrameError
        ? new ProtocolError(`answer from plugin ${name} to ${this.route} is not a frame stream: ${error.message}`, { route: this.route, cause: error })
        : brokenAnswerError(name, this.route, exchange.statusCode, error, maxResponseSize);
    exchange.control?.abort(this.failure);
    this.settle();
    this.wake();
  }

  /** @internal the answer's body ended. */
  ended(exchange: StreamExchange): void {
    if (exchange !== this.current) return;
    this.current = undefined;
    if (this.reason || this.failure || this.complete) return;
    const { name, maxResponseSize } = this.owner;
    if (exchange.decoder) {
      try {
        exchange.decoder.end();
        if (!exchange.decoder.closed) throw new FrameError('the stream ended without its closing frame');
      } catch (error) {
        this.failure = new ProtocolError(`answer from plugin ${name} to ${this.route} is not a frame stream: ${(error as Error).message}`, { route: this.route, cause: error });
      }
    } else {
      // An error answer, or a plugin that does not stream (a Go or version 1 plugin): an array is the items.
      try {
        const value = decodeAnswer(exchange, this.route, name, maxResponseSize);
        if (Array.isArray(value)) this.items.push(...(value as unknown[]));
        else this.items.push(value);
        this.complete = true;
      } catch (error) {
        this.failure = (error as PluginError).code === 'PLUGWIRE_TIMEOUT' ? timeoutError(this, error) : (error as Error);
      }
    }
    this.settle();
    this.wake();
  }

  /** @internal the request or its answer broke off. */
  failed(exchange: StreamExchange, error: Error): void {
    if (exchange !== this.current) return;
    this.current = undefined;
    // Before an answer began, the client's retries decide; once it began, a retry waiting for it hears so too.
    this.attempted(exchange);
    if (!exchange.answering) return;
    if (!this.reason && !this.failure && !this.complete) {
      // The plugin has run the call (an item may have been delivered): it is never sent again.
      this.failure = new UnavailableError(`stream from plugin ${this.owner.name} to ${this.route} was cut off: ${error.message}`, { route: this.route, cause: error });
    }
    this.settle();
    this.wake();
  }

  /**
   * Ends the stream from the host's side with `reason`: the request in flight is cut (the
   * plugin sees its connection close), and the consumer's loop throws it (unless the
   * consumer ended the loop itself).
   */
  abort(reason: Error): void {
    if (this.reason || this.settledOnce) {
      this.closeRequest(reason);
      return;
    }
    this.reason = reason;
    this.controller.abort(reason);
    this.closeRequest(reason);
    this.settle();
    this.wake();
  }

  private closeRequest(reason: Error): void {
    const exchange = this.current;
    if (!exchange) return;
    if (exchange.control) {
      exchange.control.abort(reason); // undici reports it through onResponseError
    } else {
      // Still queued in the pool: the request is dropped when it starts.
      exchange.failure = reason;
      this.current = undefined;
      this.attempted(exchange);
    }
  }

  /** The stream is over for the network: nothing more to wait for, the client forgets it. */
  private settle(): void {
    if (this.settledOnce) return;
    this.settledOnce = true;
    if (this.expiresAt > 0) timeouts.delete(this);
    if (this.options.signal) unfollowSignal(this.options.signal, this);
    if (this.served) unfollowSignal(this.served.signal, this);
    this.owner.settled(this);
    const message = this.message;
    if (!message) return;
    message.duration = performance.now() - message.startTime;
    const error = this.returned ? undefined : (this.reason ?? this.failure);
    if (error === undefined) {
      if (channels.callEnd.hasSubscribers) channels.callEnd.publish(message);
      return;
    }
    message.error = error;
    if (channels.callError.hasSubscribers) channels.callError.publish(message);
    if (debug.enabled) debug('[%s] stream of %s failed after %d ms: %s %s', this.owner.name, this.route, Math.round(message.duration), codeOf(error), messageOf(error));
  }
}

/** The error of an `{"error":…}` frame: the one an error answer with that wire error gives. */
function streamError(wire: WireError, route: string): PluginError {
  const status = (ErrorStatus as Record<string, number | undefined>)[wire.code] ?? 500;
  return fromWireError(status, JSON.stringify(JSON.stringify(wire)), true, route);
}
