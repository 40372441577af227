import type { IncomingMessage, ServerResponse } from 'node:http';
import { resultToPlain } from '../conversion/converter';
import { messageOf } from '../diagnostics/channels';
import { DefinitionError, ProtocolError } from '../errors/plugin-error';
import { ANSWER_CONTENT_TYPE } from '../protocol/answer';
import { encodeErrorFrame, END_FRAME, STREAM_CONTENT_TYPE, STREAM_HEADER, STREAM_VERSION } from '../protocol/stream';
import type { WireError } from '../protocol/wire-error';
import { runInCallContext, type ServingContext } from './call-context';
import type { Route } from './route-table';
import { isThenable } from '../util/thenable';

/*
 * The answer of a stream method (`@Method({ stream: true })`), the plugin's half of
 * protocol/stream.ts. A caller that sent `x-plugwire-stream: 1` gets frames as the items
 * come; any other caller (a version 1 host, curl) gets the whole stream as one JSON array.
 * The iterator is pulled only when the response can take more, so a slow reader holds the
 * producer back; its first item is pulled before anything is written, so that an error
 * there is an ordinary error answer.
 */

/** Items pulled in one turn of the event loop at most: an iterator that never waits must not starve the server's timers and other calls. */
const ITEMS_PER_TURN = 1024;

/**
 * Frames are gathered into one write of about this many bytes: one `write()` per item
 * would cost a chunk (its size line) and a pass through Node's HTTP layer each. Whatever
 * is gathered is written at the latest once the iterator stops yielding at once (when the
 * microtasks that carried its items ran out).
 */
const WRITE_SIZE = 16 * 1024;

/** The headers of a frame stream. */
const STREAM_HEADERS = { 'Content-Type': STREAM_CONTENT_TYPE, [STREAM_HEADER]: STREAM_VERSION };

/** What a stream needs of the call it answers (a ServedCall). @internal */
export interface StreamingCall extends ServingContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly entry: Route;
  /** Marks the call answered, once: whether it was not yet. */
  settle(): boolean;
  /** After the answer was written. */
  answered(): void;
  /** Answers with what the method (its iterator) threw. */
  failed(error: unknown): void;
  /** Answers with the timeout: the caller's deadline passed. */
  expire(): void;
  /** Answers with an error of plugwire's own, noting it for diagnostics. */
  refuseWith(error: ProtocolError | DefinitionError, status: number): void;
  /** Reports a problem of the plugin's to its logger. */
  report(what: string, error: unknown): void;
  /** Keeps the server open (within its grace) until the work settles. */
  holdUntil(work: PromiseLike<unknown>): void;
  /** The method's iterator is done (it ended, threw or was returned), or there is none: once is enough. */
  methodDone(): void;
}

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`;
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? `an object of class ${name}` : 'an object';
}

/** The iterator a stream is pulled from, and whether it came from `[Symbol.iterator]()`. */
interface Source {
  readonly iterator: AnyIterator;
  /** A sync iterator: its items may be promises, which are awaited as `for await` awaits them. */
  readonly sync: boolean;
}

/**
 * The iterator of what a stream method returned, or `undefined` when it is not iterable
 * (a string counts as not iterable: it is a unary result by mistake).
 * @throws what its `[Symbol.asyncIterator]()` or `[Symbol.iterator]()` throws
 */
function iteratorOf(value: unknown): Source | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const source = value as { [Symbol.asyncIterator]?: unknown; [Symbol.iterator]?: unknown };
  const async = typeof source[Symbol.asyncIterator] === 'function';
  const make = async ? source[Symbol.asyncIterator] : source[Symbol.iterator];
  if (typeof make !== 'function') return undefined;
  const iterator = (make as () => unknown).call(value);
  if (typeof iterator !== 'object' || iterator === null || typeof (iterator as AnyIterator).next !== 'function') return undefined;
  return { iterator: iterator as AnyIterator, sync: !async };
}

function nextOf(iterator: AnyIterator): unknown {
  return iterator.next();
}

/**
 * Starts answering a stream method's call with what the method returned: an
 * AsyncIterable (an `async *` method), an Iterable, or a promise of one. Anything else is
 * a `PLUGWIRE_DEFINITION` error answer naming the method.
 *
 * @param attach - called with the stream before it starts (the call routes its errors to it)
 * @internal
 */
export function answerStream(call: StreamingCall, result: unknown, maxCollectedSize: number, attach: (stream: StreamedAnswer) => void): void {
  if (isThenable(result)) {
    Promise.resolve(result).then(
      (value) => openStream(call, value, maxCollectedSize, attach),
      (error: unknown) => {
        call.methodDone();
        call.failed(error);
      },
    );
    return;
  }
  openStream(call, result, maxCollectedSize, attach);
}

function openStream(call: StreamingCall, result: unknown, maxCollectedSize: number, attach: (stream: StreamedAnswer) => void): void {
  let source: Source | undefined;
  try {
    source = runInCallContext(call, iteratorOf, result);
  } catch (error) {
    call.methodDone();
    return call.failed(error);
  }
  if (!source) {
    call.methodDone();
    const { definition, target } = call.entry;
    const error = new DefinitionError(
      `${target.constructor.name}.${definition.propertyKey} (route ${definition.route}) is a stream method ({ stream: true }) but returned ${describeValue(result)}: make it an async * method, or return an AsyncIterable or an Iterable`,
    );
    call.report('a stream method returned no iterable', error);
    return call.refuseWith(error, 500);
  }
  // A caller that does not ask for frames gets a version 1 answer: the whole stream as one array.
  const frames = call.req.headers[STREAM_HEADER] === STREAM_VERSION;
  const stream = new StreamedAnswer(call, source.iterator, source.sync, frames ? undefined : maxCollectedSize);
  attach(stream);
  stream.pump();
}

/**
 * One stream method's answer: pulls the iterator as the response takes its items, and
 * ends it with the end frame, an error frame (see {@link StreamedAnswer.close}), or the
 * collected array.
 * @internal
 */
export class StreamedAnswer {
  /** The 200 and the stream's headers are written: an error is a closing frame from now on. */
  started = false;
  /** Nothing more is pulled: the stream ended, failed or was stopped. */
  private done = false;
  /** The iterator finished by itself (it ended or threw), or was returned: it is not returned (again). */
  private finished = false;
  /** Without frames: the items' JSON so far, and the array's size in bytes. */
  private readonly collected: string[] | undefined;
  private collectedSize = 2;
  private pulledThisTurn = 0;
  /** A `next()` is on its way: never two at once. */
  private pulling = false;
  /** The response holds more than it wants: nothing is pulled until 'drain'. */
  private waitingForDrain = false;
  /** Frames gathered for the next write, and whether that write is scheduled. */
  private gathered = '';
  private flushScheduled = false;
  private readonly nextTurn = (): void => {
    this.pulledThisTurn = 0;
    this.pump();
  };
  // Not a new turn: on Node 20 a write the socket took at once drains in the same turn of
  // the event loop, and a fast reader would let an iterator that never waits run forever.
  private readonly drained = (): void => {
    this.waitingForDrain = false;
    this.pump();
  };
  private readonly flushLater = (): void => {
    this.flushScheduled = false;
    if (!this.done) this.flush();
  };

  constructor(
    private readonly call: StreamingCall,
    private readonly iterator: AnyIterator,
    private readonly sync: boolean,
    private readonly maxCollectedSize: number | undefined,
  ) {
    if (maxCollectedSize !== undefined) this.collected = [];
  }

  /** Pulls items while the response can take them. */
  pump(): void {
    if (this.pulling) return;
    while (!this.done && !this.waitingForDrain) {
      let step: unknown;
      try {
        step = runInCallContext(this.call, nextOf, this.iterator);
      } catch (error) {
        return this.threw(error);
      }
      if (isThenable(step)) {
        this.pulling = true;
        (step instanceof Promise ? step : Promise.resolve(step)).then(
          (value) => {
            this.pulling = false;
            if (this.take(value)) this.pump();
          },
          (error: unknown) => {
            this.pulling = false;
            this.threw(error);
          },
        );
        return;
      }
      if (!this.take(step)) return;
    }
  }

  /**
   * Stops pulling and returns the iterator (its `finally` runs), unless it already
   * finished: the caller went away, the deadline passed, or the server is closing.
   */
  stop(): void {
    this.done = true;
    if (this.finished) return;
    this.finished = true;
    const { iterator, call } = this;
    try {
      const returned = typeof iterator.return === 'function' ? runInCallContext(call, () => iterator.return?.()) : undefined;
      // An async generator that awaits something when it is returned runs its `finally`
      // only once that settles: a server that closes meanwhile waits for it, within grace.
      if (isThenable(returned)) {
        const ended = (): void => call.methodDone();
        call.holdUntil(returned.then(ended, (error: unknown) => {
          ended();
          call.report(`the iterator of ${call.route} threw when it was returned`, error);
        }));
        return;
      }
    } catch (error) {
      call.report(`the iterator of ${call.route} threw when it was returned`, error);
    }
    call.methodDone();
  }

  /** The iterator finished by itself (it ended, threw, or broke its protocol): it is not returned, and the method no longer runs. */
  private ended(): void {
    this.finished = true;
    this.call.methodDone();
  }

  /** Ends a started frame stream with an error frame (the call is settled). */
  close(error: WireError): void {
    this.done = true;
    const { res } = this.call;
    if (!res.destroyed) res.end(this.takeGathered() + encodeErrorFrame(error));
  }

  /** Handles one result of `next()`: whether to pull the next one at once. */
  private take(step: unknown): boolean {
    if (this.done) return false; // stopped while the item was on its way: it is dropped
    const { call } = this;
    let text: string;
    try {
      if (typeof step !== 'object' || step === null) {
        this.ended();
        throw new TypeError(`the iterator of ${call.route} returned ${describeValue(step)} from next(), not an iterator result`);
      }
      const { done, value } = step as IteratorResult<unknown, unknown>;
      // `for await` awaits each value of a sync iterator (an array of promises), its last
      // one too; an async iterator's values are what they are. One check per item, no await
      // for a value that is not a promise.
      if (this.sync && isThenable(value)) {
        this.settleItem(done === true, value);
        return false;
      }
      if (done === true) {
        this.ended();
        this.end();
        return false;
      }
      text = JSON.stringify(resultToPlain(call.entry.definition, value)) ?? 'null';
    } catch (error) {
      const failure = this.finished ? error : new TypeError(`an item of ${call.route} cannot be encoded as JSON: ${messageOf(error)}`);
      this.stop();
      call.failed(failure);
      return false;
    }
    if (this.collected) return this.collect(text);
    return this.write(text);
  }

  /**
   * Waits for a promise a sync iterator gave as its value, and takes what it resolves to.
   * A rejected one fails the stream as an iterator that throws does, and returns the
   * iterator unless it was done, as `for await` closes a sync iterator whose value rejects.
   */
  private settleItem(done: boolean, value: PromiseLike<unknown>): void {
    this.pulling = true;
    (value instanceof Promise ? value : Promise.resolve(value)).then(
      (resolved: unknown) => {
        this.pulling = false;
        // What a promise resolves to is never a thenable: take() does not come back here.
        if (this.take({ done, value: resolved })) this.pump();
      },
      (error: unknown) => {
        this.pulling = false;
        if (done) return this.threw(error);
        if (this.done) return; // stopped meanwhile: the iterator was returned then
        this.stop();
        this.call.failed(error);
      },
    );
  }

  /** Gathers one item frame for writing: whether the response can take more now. */
  private write(json: string): boolean {
    const { res } = this.call;
    if (res.destroyed) return false; // its 'close' stops the stream
    if (!this.started) {
      this.started = true;
      res.writeHead(200, STREAM_HEADERS);
    }
    this.gathered += `{"item":${json}}\n`;
    if (this.gathered.length >= WRITE_SIZE) {
      this.flush();
    } else if (!this.flushScheduled) {
      // After the microtasks in flight: an iterator that yields at once goes on gathering.
      this.flushScheduled = true;
      process.nextTick(this.flushLater);
    }
    return !this.waitingForDrain && this.nextInThisTurn();
  }

  /** Writes what was gathered; past the response's high-water mark, pulling waits for 'drain'. */
  private flush(): void {
    const { res } = this.call;
    const text = this.takeGathered();
    if (text === '' || res.destroyed) return;
    if (!res.write(text) && !this.waitingForDrain) {
      this.waitingForDrain = true;
      res.once('drain', this.drained);
    }
  }

  private takeGathered(): string {
    const text = this.gathered;
    this.gathered = '';
    return text;
  }

  /** Adds one item to the array a version 1 caller gets, within maxCollectedSize. */
  private collect(json: string): boolean {
    const collected = this.collected as string[];
    this.collectedSize += Buffer.byteLength(json) + 1;
    const limit = this.maxCollectedSize as number;
    if (this.collectedSize > limit) {
      this.stop();
      const { call } = this;
      call.refuseWith(
        new ProtocolError(`the stream of ${call.route} is larger than maxCollectedSize (${limit} bytes) as one JSON array: read it as a stream (${STREAM_HEADER}: ${STREAM_VERSION})`, { route: call.route, statusCode: 500 }),
        500,
      );
      return false;
    }
    collected.push(json);
    return this.nextInThisTurn();
  }

  private nextInThisTurn(): boolean {
    if (++this.pulledThisTurn < ITEMS_PER_TURN) return true;
    setImmediate(this.nextTurn);
    return false;
  }

  /** The iterator ended: the end frame, or the collected array. */
  private end(): void {
    this.done = true;
    const { call } = this;
    // An iterator that ends past the deadline (it blocked the event loop) ends as one that threw.
    if (Date.now() >= call.expiresAt) return call.expire();
    if (!call.settle()) return;
    const { res } = call;
    if (!res.destroyed) {
      if (this.collected) {
        const body = `[${this.collected.join(',')}]\n`;
        res.writeHead(200, { 'Content-Type': ANSWER_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      } else {
        if (!this.started) {
          this.started = true;
          res.writeHead(200, STREAM_HEADERS);
        }
        res.end(this.takeGathered() + END_FRAME);
      }
    }
    call.answered();
  }

  /** The iterator threw: an ordinary error answer before the first item, an error frame after. */
  private threw(error: unknown): void {
    this.ended();
    // Stopped already (the caller went away, the deadline passed, the server closes): an
    // iterator that then fails, often with its signal's reason, tells nobody anything.
    if (this.done) return;
    this.done = true;
    this.call.failed(error);
  }
}
