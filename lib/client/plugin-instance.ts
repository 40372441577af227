import { Call, timeoutError, type CallOwner, type Exchange } from './call';
import { convertArgs, convertResult } from '../conversion/converter';
import { AbortedError, ClosedError, ValidationError, PluginError, TimeoutError } from '../errors/plugin-error';
import type { MethodDefinition } from '../metadata/method-definition';
import { MAX_TIMEOUT } from '../protocol/constants';
import { callTimeout, checkCallOptions, routeProblem, type CallOptions } from './call-options';
import { channels, codeOf, debug, messageOf, observingCalls, type CallMessage } from '../diagnostics/channels';
import { argumentsToPayload, encodeRequest } from '../protocol/envelope';
import { decodeAnswer } from '../protocol/answer';
import { LinkedList } from '../util/linked-list';
import type { Starter } from '../starters/starter';
import type { PluginConfig } from './config';
import { Supervisor } from './supervisor';
import type { PluginCounters, PluginLoad, PluginState } from './plugin-state';
import { StreamCall, type StreamOwner } from './stream-call';
import { reach } from './reach';
import { ClientPools } from './pools';
import { Admission } from './admission';
import { brokenAnswerError } from './transport-error';
import { inheritedFrom, inheritedLimits } from './inheritance';
import { currentCall, type ServingContext } from '../server/call-context';


/** What a client is made from. @internal */
export interface ClientInit {
  readonly starter: Starter;
  readonly socket: string;
  /** The private directory start() made for the socket, if it did: the client's close() removes it. */
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
  /** A pool's instance: a process that is gone is started again at once, not at the next call that reaches it. */
  readonly restartAtOnce?: boolean;
}

/**
 * One process of a plugin and the connection to it: it starts the process, sends calls
 * over its socket, and restarts it when it is gone. A {@link PluginClient} holds one of
 * these, or several for a pool (`instances`); the restart semantics are the client's.
 * @internal
 */
export class PluginInstance {
  /** The socket path this process listens on. */
  readonly socket: string;
  /** The plugin's name, from its starter. */
  readonly name: string;
  /** The configuration in force. */
  readonly config: PluginConfig;

  /** Starts, watches and restarts the plugin process. */
  private readonly supervisor: Supervisor;
  /** Its connections to the plugin. */
  private readonly pools: ClientPools;
  private closing: Promise<void> | undefined;
  /** A restart of its own under way (see revive()). */
  private reviving: Promise<void> | undefined;
  /** Never fires: close() ends a revival through the supervisor. */
  private readonly reviveSignal = new AbortController().signal;
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
    this.config = init.config;
    const gone = init.restartAtOnce === true ? (): void => this.revive() : undefined;
    const supervisor = (this.supervisor = new Supervisor({ ...init, drained: () => this.admission.drained(), gone }));
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
  get stats(): PluginCounters {
    return this.supervisor.stats;
  }

  /** How the last process that died before a call to it succeeded ended, if one did. */
  get diedUnanswered(): Supervisor['diedUnanswered'] {
    return this.supervisor.diedUnanswered;
  }

  /** Calls (queued ones included) and streams under way: what a pool's choice of the least busy instance compares. */
  get busy(): number {
    return this.admission.calls.size + this.streams.size;
  }

  /** Whether a call sent now goes straight out: the process runs and no broken connection is being looked into. */
  get ready(): boolean {
    return this.supervisor.state === 'running' && this.supervisor.recovering === undefined;
  }

  /**
   * Starts the process again, without waiting for a call, if it is gone and may be
   * restarted (back-off and give-up as for a call): in a pool, the other instances answer
   * the calls meanwhile, so none would come to restart this one.
   */
  revive(): void {
    const supervisor = this.supervisor;
    const { state } = supervisor;
    if (this.reviving || this.closing || (state !== 'exited' && !(state === 'unavailable' && this.config.restart.maxRestarts > 0 && Date.now() >= supervisor.unavailableUntil))) return;
    this.reviving = this.restartAlone().finally(() => (this.reviving = undefined));
  }

  /** Restarts until the process runs, is given up on (back-off as for calls), or the client closes. */
  private async restartAlone(): Promise<void> {
    while (this.supervisor.state === 'exited' || this.supervisor.state === 'unavailable') {
      try {
        await this.supervisor.ensureRunning('(a restart of its own)', this.reviveSignal);
      } catch {
        // Counted and logged by the supervisor. Given up on: the first call after the cooldown
        // tries again. Closed: the supervisor refuses at once, for as long as it is asked.
        if (this.supervisor.state !== 'exited' || this.closing) return;
      }
    }
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

  /** Calls a route with a payload, without a contract: see `PluginClient.call()`. */
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

  /** Calls a stream method without a contract: see `PluginClient.stream()`. */
  stream(route: string, payload?: unknown, options: CallOptions = {}): AsyncIterableIterator<unknown> {
    const check = (): unknown => {
      const problem = routeProblem(route);
      if (problem !== undefined) throw new TypeError(`client.stream(): ${problem}`);
      checkCallOptions(options, `call to ${route}`);
      return payload ?? null;
    };
    return new StreamCall(this.streamOwner, route, undefined, options, check, undefined, currentCall());
  }

  /**
   * Calls a contract's stream method: the arguments are converted and checked at the
   * first `next()`, each item is converted into `returns`.
   * @internal
   */
  streamMethod(
    definition: MethodDefinition,
    args: readonly unknown[],
    options: CallOptions,
    convert: boolean,
    served: ServingContext | undefined = currentCall(),
  ): AsyncIterableIterator<unknown> {
    const payload = async (): Promise<unknown> => argumentsToPayload(convert ? await convertArgs(definition, args, 'host') : args, definition.params.length);
    const item = definition.returns ? (value: unknown): Promise<unknown> => convertResult(definition, value) : undefined;
    return new StreamCall(this.streamOwner, definition.route, definition, options, payload, item, served);
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
    let timeout = callTimeout(options, definition, this.config.timeout);
    if (typeof timeout !== 'number' || !(timeout >= 0 && timeout <= MAX_TIMEOUT)) {
      return Promise.reject(new TypeError(`call to ${route}: timeout must be a number of ms from 0 to ${MAX_TIMEOUT}, got ${String(timeout)}`));
    }
    const caller = options.signal;
    if (caller?.aborted) return Promise.reject(new AbortedError(`call to ${route} was aborted`, { route, cause: caller.reason }));
    let deadline = timeout > 0 ? Date.now() + timeout : 0;
    const served = inheritedFrom();
    if (served !== undefined) {
      const limits = inheritedLimits(served, route, timeout, deadline);
      if (limits instanceof PluginError) return Promise.reject(limits);
      ({ timeout, expiresAt: deadline } = limits);
    }
    const callBack = this.reentrant?.() === true;
    const overloaded = callBack ? undefined : this.admission.refusal(route, this.name);
    if (overloaded) return Promise.reject(overloaded);
    let body: string;
    try {
      body = encodeRequest(payload, deadline);
    } catch (error) {
      return Promise.reject(new ValidationError(`payload for ${route} cannot be encoded as JSON: ${(error as Error).message}`, 'host', [], { route, cause: error }));
    }
    const call = new Call(this.owner, route, body, options.headers, definition, timeout, deadline, caller, served);
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

  /** Replaces this process with a fresh one, gracefully: see `PluginClient.recycle()`. */
  recycle(): Promise<void> {
    if (this.closing) return Promise.reject(new ClosedError(`plugin ${this.name} was terminated: recycle() refused`));
    return this.supervisor.recycle('recycle() was called');
  }

  /** Terminates this process and releases its connections; the same promise at every call. */
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
      if (debug.enabled) debug('[%s] closed', this.name);
    }
  }
}
