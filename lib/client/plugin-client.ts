import { Call, timeoutError, type CallOwner, type Exchange } from './call';
import { convertArgs, convertResult } from '../conversion/converter';
import { AbortedError, ClosedError, ValidationError, PluginError, TimeoutError } from '../errors/plugin-error';
import type { MethodDefinition } from '../metadata/method-definition';
import { MAX_TIMEOUT } from '../protocol/constants';
import { checkCallOptions, routeProblem, type CallOptions } from './call-options';
import { channels, codeOf, debug, messageOf, observingCalls, type CallMessage } from '../diagnostics/channels';
import { argumentsToPayload, encodeRequest } from '../protocol/envelope';
import { decodeAnswer } from '../protocol/answer';
import { LinkedList } from '../util/linked-list';
import { removeSocketDirectory } from '../socket/directory';
import type { Starter } from '../starters/starter';
import type { PluginConfig } from './config';
import { Supervisor, type PluginState, type PluginStats } from './supervisor';
import type { PluginLoad } from './plugin-state';
import { StreamCall, type StreamOwner } from './stream-call';
import { reach } from './reach';
import { ClientPools } from './pools';
import { Admission } from './admission';
import { brokenAnswerError } from './transport-error';

export type { CallOptions } from './call-options';

export type { PluginState, PluginStats } from './supervisor';
export type { PluginLoad } from './plugin-state';

/** What a client is made from. @internal */
export interface ClientInit {
  readonly starter: Starter;
  readonly socket: string;
  /** The private directory start() made for the socket, if it did: removed by close(). */
  readonly socketDir?: string;
  /** The host services the plugin may call, handed to every start. */
  readonly host?: { readonly socket: string; readonly token: string };
  /**
   * Whether a call is made while the plugin waits for its answer: by a host service
   * method serving the plugin. Such a call does not wait for one of `connections`, which
   * the plugin's calls that wait on the service may all hold, and is marked with
   * `x-plugwire-reentrant: 1` so that the plugin's host calls meanwhile do not either.
   */
  readonly reentrant?: () => boolean;
  readonly config: PluginConfig;
}

/**
 * The connection to one plugin: it starts the plugin, sends calls over the socket, and
 * restarts the plugin when it is gone. Get one from {@link startPlugin} or {@link connect}.
 *
 * @remarks
 * Restart semantics: when a call fails because the plugin is gone (connection refused,
 * socket missing, connection reset or closed, process exited), the client restarts the
 * plugin through its starter and sends the call once more, as the Go library does.
 * Calls that fail together share one restart. A call whose request may already have
 * reached the plugin is sent again only if its method is not marked
 * `idempotent: false`: delivery is at-least-once. Restarts in a row back off, and after
 * `restart.maxRestarts` of them without a successful call the plugin is given up on
 * (`PLUGWIRE_UNAVAILABLE`) for `restart.cooldown` ms. A restarted process that dies
 * before any call succeeded counts as a failed restart, so a plugin that dies at every
 * call is given up on too.
 */
export class PluginClient {
  /** The socket path the plugin listens on. */
  readonly socket: string;
  /** The plugin's name, from its starter. */
  readonly name: string;
  /** The configuration in force. */
  readonly config: PluginConfig;

  private readonly socketDir: string | undefined;
  /** Starts, watches and restarts the plugin process. */
  private readonly supervisor: Supervisor;
  /** Its connections to the plugin. */
  private readonly pools: ClientPools;
  private closing: Promise<void> | undefined;
  /** The calls in flight and queued, aborted by close(). */
  private readonly admission: Admission;
  private readonly reentrant: (() => boolean) | undefined;
  /** What the calls of this client see of it (kept off the public surface). */
  private readonly owner: CallOwner;
  /** The streams under way, ended by close(). */
  private readonly streams = new LinkedList<StreamCall>();
  private readonly streamOwner: StreamOwner;
  /** @internal */
  constructor(init: ClientInit) {
    this.name = init.starter.name;
    this.socket = init.socket;
    this.socketDir = init.socketDir;
    this.config = init.config;
    const supervisor = (this.supervisor = new Supervisor({ ...init, drained: () => this.admission.drained() }));
    const { reentrant } = init;
    this.reentrant = reentrant;
    this.owner = {
      maxResponseSize: init.config.maxResponseSize,
      dispatch: (route, body, extra, handler, callBack) => this.pools.call(route, body, supervisor.headers, extra, handler, callBack),
      decode: (call, exchange) => this.decode(call, exchange),
      recover: (call, failure) => {
        this.attempt(call, failure).then(
          (value) => call.succeed(value),
          (error: Error) => call.fail(error),
        );
      },
      released: () => this.admission.changed(),
      settled: (call, ok) => {
        this.admission.settled(call);
        if (ok) supervisor.succeeded();
        else if (call.reason instanceof TimeoutError) supervisor.timedOut(); // is it stuck? probe it now
      },
    };
    this.streamOwner = {
      name: this.name,
      maxResponseSize: init.config.maxResponseSize,
      timeout: init.config.timeout,
      closing: () => this.closing !== undefined,
      dispatch: (route, body, extra, handler) => this.pools.stream(route, body, supervisor.headers, extra, handler, reentrant?.() === true),
      open: async (stream) => {
        this.streams.add(stream.inflightLink);
        await reach(supervisor, init.config.connectTimeout, stream, undefined);
      },
      answered: () => supervisor.succeeded(),
      settled: (stream) => this.streams.delete(stream.inflightLink),
    };
    this.pools = new ClientPools(init.socket, init.config);
    // While a broken connection is being looked into, the pool's other connections to that
    // process may be dead too: a new call waits for the verdict (the slow path) rather than
    // be written into one of them.
    this.admission = new Admission(init.config, (call) => {
      if (supervisor.state === 'running' && supervisor.recovering === undefined) call.send(supervisor.generation);
      else this.owner.recover(call, undefined);
    });
  }

  /**
   * The plugin's state: `starting` (a start, a restart or a {@link recycle} under way),
   * `running`, `exited` (restarted at the next call), `unavailable` (given up on: calls
   * fail until `restart.cooldown` has passed), `closed`.
   */
  get state(): PluginState {
    return this.supervisor.state;
  }

  /** The process id of the running plugin, when it runs as a process; `undefined` in process or before the first start. */
  get pid(): number | undefined {
    return this.supervisor.pid;
  }

  /** The calls of this client right now, held and queued; streams and calls back from host services are not counted. */
  get load(): PluginLoad {
    return this.admission.load;
  }

  /** Start and restart counters, as a fresh object. */
  get stats(): PluginStats {
    return this.supervisor.stats;
  }

  /**
   * The first start; on failure the client is closed.
   * @returns once the plugin is ready
   * @throws the start's error (`PLUGWIRE_START`)
   * @internal
   */
  async start(): Promise<void> {
    try {
      await this.supervisor.launch();
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /**
   * Calls a route with a payload, without a contract: nothing is converted or validated.
   *
   * @param route - the method's route, e.g. `/modify`: a URL path (`%20` for a space)
   * @param payload - the request value (`null` when left out)
   * @param options - a per-call timeout, AbortSignal or extra headers
   * @returns the decoded JSON answer
   * @throws {@link PluginError} with a code: see the error table in docs/errors.md; a
   * TypeError for a route that cannot be sent or a bad option
   *
   * @example
   * ```ts
   * const answer = await client.call('/modify', 'some value', { timeout: 1000 });
   * ```
   */
  call(route: string, payload?: unknown, options: CallOptions = {}): Promise<unknown> {
    const problem = routeProblem(route);
    if (problem !== undefined) return Promise.reject(new TypeError(`client.call(): ${problem}`));
    if (observingCalls()) return this.observed(route, () => this.checkedCall(route, payload, options));
    return this.checkedCall(route, payload, options);
  }

  private checkedCall(route: string, payload: unknown, options: CallOptions): Promise<unknown> {
    try {
      checkCallOptions(options, `call to ${route}`);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new TypeError(String(error)));
    }
    return this.invoke(route, payload, undefined, options);
  }

  /**
   * Calls a stream method without a contract: its items as they arrive, nothing converted.
   * Nothing is sent before the first `next()`; a bad route or option rejects it.
   *
   * @param route - the method's route, e.g. `/tail`
   * @param payload - the request value (`null` when left out)
   * @param options - a timeout for the whole stream (`0` for none), an AbortSignal, extra headers
   * @returns the items, for `for await`; `break` (or `return()`) ends the plugin's stream
   * @throws (in the loop) a {@link PluginError} with the code a call would give; an item
   * yielded before the error is delivered first
   *
   * @remarks
   * A plugin that does not stream (a Go or version 1 plugin) answers with one JSON value:
   * an array is read as the items, any other value as the one item. A stream read ahead
   * of its consumer by a few items (16, or 1 MB) waits for it; one left unfinished without
   * `return()` keeps its request open until its timeout or `close()`.
   *
   * @example
   * ```ts
   * for await (const line of client.stream('/tail', { level: 'warn' }, { timeout: 0 })) console.log(line);
   * ```
   */
  stream(route: string, payload?: unknown, options: CallOptions = {}): AsyncIterableIterator<unknown> {
    const check = (): unknown => {
      const problem = routeProblem(route);
      if (problem !== undefined) throw new TypeError(`client.stream(): ${problem}`);
      checkCallOptions(options, `call to ${route}`);
      return payload ?? null;
    };
    return new StreamCall(this.streamOwner, route, undefined, options, check, undefined);
  }

  /**
   * Calls a contract's stream method: the arguments are converted and checked at the
   * first `next()`, each item is converted into `returns`.
   * @internal
   */
  streamMethod(definition: MethodDefinition, args: readonly unknown[], options: CallOptions, convert: boolean): AsyncIterableIterator<unknown> {
    const payload = async (): Promise<unknown> => argumentsToPayload(convert ? await convertArgs(definition, args, 'host') : args, definition.params.length);
    const item = definition.returns ? (value: unknown): Promise<unknown> => convertResult(definition, value) : undefined;
    return new StreamCall(this.streamOwner, definition.route, definition, options, payload, item);
  }

  /** Runs a call with its diagnostics: the channels' messages and the NODE_DEBUG line of a failure. */
  private observed(route: string, run: () => Promise<unknown>): Promise<unknown> {
    const message: CallMessage = { plugin: this.name, route, startTime: performance.now() };
    if (channels.callStart.hasSubscribers) channels.callStart.publish(message);
    const promise = run();
    promise.then(
      () => {
        message.duration = performance.now() - message.startTime;
        if (channels.callEnd.hasSubscribers) channels.callEnd.publish(message);
      },
      (error: Error) => {
        message.duration = performance.now() - message.startTime;
        message.error = error;
        if (channels.callError.hasSubscribers) channels.callError.publish(message);
        if (debug.enabled) debug('[%s] call to %s failed after %d ms: %s %s', this.name, route, Math.round(message.duration), codeOf(error), messageOf(error));
      },
    );
    return promise;
  }

  /**
   * Calls a contract method: checks and converts the arguments (when `convert`, which the
   * proxy works out once per method), sends them, and converts the answer into the
   * `returns` class.
   *
   * @param definition - the method, as the contract declares it
   * @param args - the arguments as the caller passed them
   * @param options - checked already (by the proxy)
   * @param convert - whether the arguments need converting and validating
   * @returns the answer, converted when the method declares `returns`
   * @internal
   */
  callMethod(definition: MethodDefinition, args: readonly unknown[], options: CallOptions, convert: boolean): Promise<unknown> {
    if (observingCalls()) return this.observed(definition.route, () => this.checkedMethodCall(definition, args, options, convert));
    return this.checkedMethodCall(definition, args, options, convert);
  }

  private checkedMethodCall(definition: MethodDefinition, args: readonly unknown[], options: CallOptions, convert: boolean): Promise<unknown> {
    if (convert) {
      let converted: unknown[] | Promise<unknown[]>;
      try {
        converted = convertArgs(definition, args, 'host');
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
      if (converted instanceof Promise) return converted.then((values) => this.callConverted(definition, values, options));
      return this.callConverted(definition, converted, options);
    }
    return this.callConverted(definition, args, options);
  }

  private callConverted(definition: MethodDefinition, values: readonly unknown[], options: CallOptions): Promise<unknown> {
    const count = definition.params.length;
    const payload = argumentsToPayload(values, count);
    const answer = this.invoke(definition.route, payload, definition, options);
    return definition.returns ? answer.then((value) => convertResult(definition, value)) : answer;
  }

  private invoke(route: string, payload: unknown, definition: MethodDefinition | undefined, options: CallOptions): Promise<unknown> {
    if (this.closing) return Promise.reject(new ClosedError(`plugin ${this.name} was terminated: call to ${route} refused`, { route }));
    const timeout = options.timeout ?? definition?.timeout ?? this.config.timeout;
    if (typeof timeout !== 'number' || !(timeout >= 0 && timeout <= MAX_TIMEOUT)) {
      return Promise.reject(new TypeError(`call to ${route}: timeout must be a number of ms from 0 to ${MAX_TIMEOUT}, got ${String(timeout)}`));
    }
    const caller = options.signal;
    if (caller?.aborted) return Promise.reject(new AbortedError(`call to ${route} was aborted`, { route, cause: caller.reason }));
    const callBack = this.reentrant?.() === true;
    const refused = callBack ? undefined : this.admission.refusal(route, this.name);
    if (refused) return Promise.reject(refused);
    const deadline = timeout > 0 ? Date.now() + timeout : 0;
    let body: string;
    try {
      body = encodeRequest(payload, deadline);
    } catch (error) {
      return Promise.reject(new ValidationError(`payload for ${route} cannot be encoded as JSON: ${(error as Error).message}`, 'host', [], { route, cause: error }));
    }
    const call = new Call(this.owner, route, body, options.headers, definition, timeout, deadline, caller);
    call.callBack = callBack;
    this.admission.enter(call);
    return call.promise;
  }

  /**
   * The slow path of a call whose request failed before an answer began, or that was made
   * while no plugin ran: restarts the plugin when it is gone and sends the call again, as
   * {@link reach} says.
   */
  private async attempt(call: Call, failure: Error | undefined): Promise<unknown> {
    return this.decode(call, await reach(this.supervisor, this.config.connectTimeout, call, failure));
  }

  /** Turns an answer that began into the call's value, or throws its error. */
  private decode(call: Call, exchange: Exchange): unknown {
    const { route } = call;
    const limit = this.config.maxResponseSize;
    if (call.reason) throw call.reason;
    if (exchange.failure) throw brokenAnswerError(this.name, route, exchange.statusCode, exchange.failure, limit);
    try {
      return decodeAnswer(exchange, route, this.name, limit);
    } catch (error) {
      // Whichever side noticed the deadline first, a timeout reads the same; the plugin's own words stay as the cause.
      if ((error as PluginError).code === 'PLUGWIRE_TIMEOUT') throw timeoutError(call, error);
      throw error;
    }
  }

  /**
   * Replaces the plugin process with a fresh one, gracefully: calls made from now on wait
   * for the new process, the calls in flight are answered by the old one, which is then
   * terminated (SIGTERM, `terminationGrace`, SIGKILL). No call is lost or failed. For
   * example after deploying a new version of the plugin.
   *
   * @returns once the new process runs
   * @throws `PLUGWIRE_CLOSED` when the client is closed meanwhile; `PLUGWIRE_UNAVAILABLE`,
   * with the start's error as its cause, when the new process cannot start (the calls
   * waiting for it get the same)
   *
   * @example `await client.recycle();`
   */
  recycle(): Promise<void> {
    if (this.closing) return Promise.reject(new ClosedError(`plugin ${this.name} was terminated: recycle() refused`));
    return this.supervisor.recycle('recycle() was called');
  }

  /**
   * Terminates the plugin and releases every resource: the process, the connections,
   * the socket directory plugwire created. Later calls reject with `PLUGWIRE_CLOSED`, and
   * so do the calls in flight.
   *
   * @returns a promise that resolves when the plugin is gone; the same one at every call
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (debug.enabled) debug('[%s] closing: %d calls in flight', this.name, this.admission.calls.size);
    this.supervisor.abort(new ClosedError(`plugin ${this.name} was terminated`));
    this.admission.stop();
    for (const call of [...this.admission.calls.values(), ...this.streams.values()]) {
      call.abort(new ClosedError(`plugin ${this.name} was terminated during the call to ${call.route}`, { route: call.route }));
    }
    try {
      await this.supervisor.stop();
    } finally {
      await this.pools.destroy();
      if (this.socketDir !== undefined) removeSocketDirectory(this.socketDir);
      if (debug.enabled) debug('[%s] closed', this.name);
    }
  }
}
