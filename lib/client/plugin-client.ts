import { setMaxListeners } from 'node:events';
import type { Pool } from 'undici';
import { Call, timeoutError, type CallOwner, type Exchange } from './call';
import { convertArgs, convertResult } from '../conversion/converter';
import {
  CallAbortedError,
  CallTimeoutError,
  ClosedError,
  PayloadValidationError,
  PluginError,
  ProtocolError,
  StartError,
  UnavailableError,
} from '../errors/plugin-error';
import type { MethodDefinition } from '../metadata/method-definition';
import { ERROR_HEADER, EXTENSION_VERSION, MAX_TIMEOUT, VERSION_HEADER } from '../protocol/constants';
import { checkCallOptions, routeProblem, type CallOptions } from './call-options';
import { channels, codeOf, debug, messageOf, observingCalls, type CallMessage } from '../diagnostics/channels';
import { argumentsToPayload, encodeRequest } from '../protocol/envelope';
import { LinkedList } from '../util/linked-list';
import { isListening, removeStaleSocket } from '../socket/probe';
import { removeSocketDirectory } from '../socket/directory';
import { nodeCrypto, nodeZlib, undici } from '../util/lazy';
import { fromWireError } from '../protocol/wire-error';
import type { StartedPlugin, Starter } from '../starters/starter';
import type { PluginConfig } from './config';

export type { CallOptions } from './call-options';

/** The state of a client's plugin. */
export type PluginState = 'starting' | 'running' | 'exited' | 'unavailable' | 'closed';

/** Counters a client keeps, for monitoring and tests. */
export interface PluginStats {
  /** Processes started, the first start included. */
  readonly starts: number;
  /** Restarts after the plugin was gone. */
  readonly restarts: number;
  /** Starts that failed. */
  readonly failedStarts: number;
}

// How a failed request relates to the plugin being gone.
type Loss = 'unreached' | 'lost' | undefined;

const BASE_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'application/json', [VERSION_HEADER]: EXTENSION_VERSION });
// A failed write (EPIPE) means the request was never complete at the plugin, so its
// method cannot have run: the same as a refused connection (Go's nothingWrittenError).
const UNREACHED = new Set(['ECONNREFUSED', 'ENOENT', 'ENOTSOCK', 'EACCES', 'EPIPE']);
const LOST = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'ECONNABORTED']);
// The plugin's accept backlog is full: it listens but is busy (or frozen). The request was
// not delivered, and nothing is gone: wait and connect again, within the call's timeout.
const BUSY = 'EAGAIN';
/** The waits between connection attempts to a busy plugin, ms: doubling from the first to the last. */
const BUSY_FIRST_WAIT = 5;
const BUSY_MAX_WAIT = 200;

function errorCode(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 3 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (UNREACHED.has(code) || LOST.has(code) || code === BUSY || code.startsWith('UND_ERR') || code.startsWith('HPE_'))) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function classify(code: string | undefined): Loss {
  if (code === undefined) return undefined;
  if (UNREACHED.has(code)) return 'unreached';
  if (LOST.has(code)) return 'lost';
  return undefined;
}

/** How long a plugin that dropped a connection is given to show that it is exiting, ms. */
const EXIT_WAIT = 100;

/** Whether a started plugin exits within `ms`. */
async function exitsWithin(instance: StartedPlugin | undefined, ms: number): Promise<boolean> {
  if (!instance) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  const exited = await Promise.race([instance.exited.then(() => true), timeout]);
  clearTimeout(timer);
  return exited;
}

/** Waits for a promise, unless the signal fires first. */
function race<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: Error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** @internal */
export interface ClientInit {
  readonly starter: Starter;
  readonly socket: string;
  /** The private directory start() made for the socket, if it did: removed by close(). */
  readonly socketDir?: string;
  readonly config: PluginConfig;
}

/**
 * The connection to one plugin: it starts the plugin, sends calls over the socket, and
 * restarts the plugin when it is gone. Get one from {@link start} or {@link connect}.
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
  private readonly socketDir: string | undefined;
  /** The plugin's name, from its starter. */
  readonly name: string;
  /** The configuration in force. */
  readonly config: PluginConfig;

  private readonly starter: Starter;
  private readonly pool: Pool;
  private headers: Record<string, string>;
  private readonly closeController = new AbortController();
  private instance: StartedPlugin | undefined;
  private generation = 0;
  private currentState: PluginState = 'starting';
  private starting: Promise<void> | undefined;
  private recovering: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  /** The calls in flight, aborted by close(). */
  private readonly inflight = new LinkedList<Call>();
  /** What the calls of this client see of it (kept off the public surface). */
  private readonly owner: CallOwner;
  /** Restarts since the last successful call. */
  private failures = 0;
  /** Whether a call succeeded since the current process started. */
  private proven = false;
  private unavailableUntil = 0;
  /** Why the last plugin is gone, for the next start's diagnostics. */
  private goneWhy: string | undefined;
  /** Processes this client terminated itself: their exit is expected. */
  private readonly terminated = new WeakSet<StartedPlugin>();
  private counters = { starts: 0, restarts: 0, failedStarts: 0 };

  /** @internal */
  constructor(init: ClientInit) {
    this.starter = init.starter;
    this.name = init.starter.name;
    this.socket = init.socket;
    this.socketDir = init.socketDir;
    this.config = init.config;
    // Calls waiting for a start or a back-off listen to it: as many listeners as calls is not a leak.
    setMaxListeners(0, this.closeController.signal);
    this.headers = BASE_HEADERS;
    this.owner = {
      maxResponseSize: init.config.maxResponseSize,
      dispatch: (route, body, extra, handler) =>
        this.pool.dispatch({ path: route, method: 'POST', headers: extra ? { ...extra, ...this.headers } : this.headers, body }, handler),
      decode: (call, exchange) => this.decode(call, exchange),
      recover: (call, failure) => {
        this.attempt(call, failure).then(
          (value) => call.succeed(value),
          (error: Error) => call.fail(error),
        );
      },
      settled: (call, ok) => {
        this.inflight.delete(call.inflightLink);
        if (ok) {
          this.failures = 0;
          this.proven = true;
        }
      },
    };
    // undici is loaded by the first client, not by the package root: a plugin process never needs it.
    const { Pool: UndiciPool } = undici();
    this.pool = new UndiciPool('http://plugin', {
      socketPath: init.socket,
      connections: init.config.connections,
      connectTimeout: init.config.connectTimeout,
      keepAliveTimeout: init.config.keepAliveTimeout,
      keepAliveMaxTimeout: init.config.keepAliveTimeout,
      maxResponseSize: init.config.maxResponseSize,
      // The client enforces the whole-call timeout itself, restarts included.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  /** The plugin's state: `running`, `exited` (restarted at the next call), `unavailable`, `closed`. */
  get state(): PluginState {
    return this.currentState;
  }

  /** The process id of the running plugin, when it runs as a process. */
  get pid(): number | undefined {
    return this.instance?.pid;
  }

  /** Start and restart counters. */
  get stats(): PluginStats {
    return { ...this.counters };
  }

  /** The first start. @internal */
  async start(): Promise<void> {
    try {
      await this.launch();
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
   * @throws {@link PluginError} with a code: see the error table in the README; a
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
   * `returns` class. @internal
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
    if (caller?.aborted) return Promise.reject(new CallAbortedError(`call to ${route} was aborted`, { route, cause: caller.reason }));
    const deadline = timeout > 0 ? Date.now() + timeout : 0;
    let body: string;
    try {
      body = encodeRequest(payload, deadline);
    } catch (error) {
      return Promise.reject(new PayloadValidationError(`payload for ${route} cannot be encoded as JSON: ${(error as Error).message}`, 'host', [], { route, cause: error }));
    }
    const call = new Call(this.owner, route, body, options.headers, definition, timeout, deadline, caller);
    this.inflight.add(call.inflightLink);
    // While a broken connection is being looked into, the pool's other connections to that
    // process may be dead too: a new call waits for the verdict (the slow path) rather than
    // be written into one of them.
    if (this.currentState === 'running' && this.recovering === undefined) call.send(this.generation);
    else this.owner.recover(call, undefined);
    return call.promise;
  }

  /**
   * The slow path of a call whose request failed before an answer began, or that was made
   * while no plugin ran: restarts the plugin when it is gone and sends the call again.
   */
  private async attempt(call: Call, failure: Error | undefined): Promise<unknown> {
    const { route, definition } = call;
    let pending = failure;
    let sent = 0;
    let first: number | undefined;
    let busyWait = BUSY_FIRST_WAIT;
    // Each pass either answers, throws, or replaces a plugin that is gone; the bound keeps
    // a plugin that dies on every request from looping until the timeout. Waiting for a
    // busy plugin is no pass: only the call's timeout (or its signal) ends that.
    for (let pass = 0; ; pass++) {
      if (!pending && this.recovering) await race(this.recovering.catch(() => undefined), call.signal);
      const generation = pending ? call.generation : this.currentState === 'running' ? this.generation : await this.ensureRunning(route, call.signal);
      first ??= generation;
      try {
        if (pending) throw pending;
        const exchange = await call.exchange(generation);
        if (exchange.failure && !exchange.answering) throw exchange.failure;
        return this.decode(call, exchange);
      } catch (error) {
        pending = undefined;
        if (call.reason) throw call.reason;
        if (PluginError.is(error)) throw error;
        const code = errorCode(error);
        if (code === BUSY) {
          await sleep(busyWait, call.signal);
          busyWait = Math.min(busyWait * 2, BUSY_MAX_WAIT);
          pass--;
          continue;
        }
        const loss = classify(code);
        if (!loss) throw this.transportError(route, code, error);
        if (loss === 'lost') {
          sent++;
          if (definition?.idempotent === false) {
            void this.recover(generation).catch(() => undefined);
            throw new UnavailableError(
              `connection to plugin ${this.name} was lost during ${route}, which is not idempotent: it was not sent again because it may have run (${code})`,
              { route, cause: error },
            );
          }
        }
        if (sent >= 2 || pass >= 3) {
          if (generation !== first) {
            throw new UnavailableError(`plugin ${this.name} went away again after a restart during ${route} (${code})`, { route, cause: error });
          }
          if (this.currentState === 'running' && (await isListening(this.socket))) {
            // Nothing was restarted: a live plugin that drops the connection without an answer is broken.
            throw new ProtocolError(`plugin ${this.name} closed the connection without answering ${route}, twice, while still accepting connections (${code})`, { route, cause: error });
          }
          throw new UnavailableError(`plugin ${this.name} is unreachable during ${route} (${code})`, { route, cause: error });
        }
        await race(this.recover(generation), call.signal);
      }
    }
  }

  private transportError(route: string, code: string | undefined, error: unknown): PluginError {
    if (code === 'UND_ERR_CONNECT_TIMEOUT') {
      return new CallTimeoutError(`connecting to plugin ${this.name} timed out after ${this.config.connectTimeout} ms`, { route, cause: error });
    }
    if (code === 'UND_ERR_CLOSED' || code === 'UND_ERR_DESTROYED') {
      return new ClosedError(`plugin ${this.name} was terminated during the call to ${route}`, { route, cause: error });
    }
    return new ProtocolError(`malformed answer from plugin ${this.name} to ${route}: ${(error as Error).message}`, { route, cause: error });
  }

  /** Turns an answer that began into the call's value, or throws its error. */
  private decode(call: Call, exchange: Exchange): unknown {
    const { route } = call;
    const { statusCode, headers, chunks, failure } = exchange;
    const limit = this.config.maxResponseSize;
    if (call.reason) throw call.reason;
    if (failure) {
      if (PluginError.is(failure)) {
        throw new ProtocolError(`${failure.message.replace(/^answer/, `answer from plugin ${this.name} to ${route}`)}`, { route, statusCode, cause: failure });
      }
      if (errorCode(failure) === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
        throw new ProtocolError(`answer from plugin ${this.name} to ${route} is larger than maxResponseSize (${limit})`, { route, statusCode, cause: failure });
      }
      // The plugin began to answer, so it has run the call: never send it again. A plugin
      // that died meanwhile is noticed by its exit and restarted at the next call.
      throw new ProtocolError(`answer from plugin ${this.name} to ${route} was cut off: ${failure.message}`, { route, statusCode, cause: failure });
    }
    let raw = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    // A Go plugin gzips its answer when the request accepts it; a Go host always does.
    if (headers['content-encoding'] === 'gzip') {
      try {
        raw = nodeZlib().gunzipSync(raw, { maxOutputLength: limit });
      } catch (error) {
        throw new ProtocolError(`answer from plugin ${this.name} to ${route} is not valid gzip or larger than maxResponseSize: ${(error as Error).message}`, { route, statusCode, cause: error });
      }
    }
    const text = raw.toString('utf8');
    if (statusCode !== 200) {
      const error = fromWireError(statusCode, text, headers[ERROR_HEADER] !== undefined, route);
      // Whichever side noticed the deadline first, a timeout reads the same; the plugin's own words stay as the cause.
      if (error.code === 'PLUGWIRE_TIMEOUT') throw timeoutError(call, error);
      throw error;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ProtocolError(`answer from plugin ${this.name} to ${route} is not JSON: ${JSON.stringify(text.slice(0, 120))}`, { route, statusCode });
    }
  }

  /** Waits until a plugin runs, starting one if the last is gone; returns its generation. */
  private async ensureRunning(route: string, signal: AbortSignal): Promise<number> {
    while (this.currentState !== 'running') {
      if (this.closing) throw new ClosedError(`plugin ${this.name} was terminated: call to ${route} refused`, { route });
      if (!this.starting) {
        this.starting = this.relaunch().finally(() => (this.starting = undefined));
      }
      await race(this.starting, signal);
    }
    return this.generation;
  }

  /** Decides, after a connection failure, whether the plugin of that generation is gone. */
  private recover(generation: number): Promise<void> {
    if (generation !== this.generation || this.currentState !== 'running') return Promise.resolve();
    // Calls that fail together share one probe; a later failure probes afresh.
    this.recovering ??= this.probe(generation).finally(() => (this.recovering = undefined));
    return this.recovering;
  }

  private async probe(generation: number): Promise<void> {
    const instance = this.instance;
    // A connection that broke while the plugin still accepts new ones, and the plugin does
    // not exit, was a stale keep-alive connection: nothing to restart. A killed process
    // resets its connections a moment before its listening socket goes, hence the wait.
    if ((await isListening(this.socket)) && !(await exitsWithin(instance, EXIT_WAIT))) return;
    if (generation !== this.generation || this.currentState !== 'running') return;
    // Terminate first: a starter that reuses live processes must not be handed this one again.
    await this.terminate(instance);
    this.markGone(generation, 'it stopped accepting connections');
  }

  private markGone(generation: number, why: string): void {
    if (generation !== this.generation || this.currentState !== 'running') return;
    this.currentState = 'exited';
    this.goneWhy = why;
    // A process that dies before any call succeeded has failed as surely as one that never
    // became ready: without this, a plugin that dies at every call is restarted for ever.
    const { maxRestarts } = this.config.restart;
    if (!this.proven && maxRestarts > 0 && this.failures >= maxRestarts) {
      this.giveUp(`[${this.name}] plugin is gone (${why}) before any call succeeded`);
      return;
    }
    if (debug.enabled) debug('[%s] plugin is gone (%s); it is restarted at the next call', this.name, why);
    this.config.logger?.error(`[${this.name}] plugin is gone (${why}); it is restarted at the next call`);
  }

  /** Stops restarting for `restart.cooldown` ms: calls fail with PLUGWIRE_UNAVAILABLE meanwhile. */
  private giveUp(failed: string): void {
    const { maxRestarts, cooldown } = this.config.restart;
    this.unavailableUntil = Date.now() + cooldown;
    this.currentState = 'unavailable';
    const gaveUp = `given up after ${maxRestarts} restart${maxRestarts === 1 ? '' : 's'} without a successful call: calls fail for ${cooldown} ms`;
    if (debug.enabled) debug('[%s] %s', this.name, gaveUp);
    this.config.logger?.error(`${failed}; ${gaveUp}`);
  }

  private async relaunch(): Promise<void> {
    const { maxRestarts, initialDelay, maxDelay } = this.config.restart;
    if (maxRestarts === 0) {
      this.currentState = 'unavailable';
      throw new UnavailableError(`plugin ${this.name} is gone, and restarts are turned off (restart.maxRestarts is 0)`);
    }
    if (this.failures >= maxRestarts && Date.now() < this.unavailableUntil) {
      this.currentState = 'unavailable';
      throw new UnavailableError(
        `plugin ${this.name} was given up on after ${maxRestarts} restarts without a successful call; next try in ${this.unavailableUntil - Date.now()} ms`,
      );
    }
    if (this.failures > 0 && this.failures < maxRestarts) {
      await sleep(Math.min(initialDelay * 2 ** (this.failures - 1), maxDelay), this.closeController.signal);
    }
    this.failures++;
    this.counters.restarts++;
    try {
      await this.launch();
    } catch (error) {
      if (this.closing) throw new ClosedError(`plugin ${this.name} was terminated during a restart`, { cause: error });
      // The logger is promised "a restart that failed" (PluginConfig.logger).
      const failed = `[${this.name}] restart failed: ${(error as Error).message}`;
      if (this.failures >= maxRestarts) {
        this.giveUp(failed);
      } else {
        this.currentState = 'exited';
        this.config.logger?.error(`${failed}; it is tried again at the next call`);
      }
      throw new UnavailableError(`plugin ${this.name} is gone and could not be restarted: ${(error as Error).message}`, { cause: error });
    }
  }

  private async launch(): Promise<void> {
    this.currentState = 'starting';
    const restart = this.counters.starts > 0;
    const cause = restart ? this.goneWhy : undefined;
    this.counters.starts++;
    if (channels.pluginSpawn.hasSubscribers) channels.pluginSpawn.publish({ plugin: this.name, socket: this.socket, restart, ...(cause === undefined ? {} : { cause }) });
    if (debug.enabled) debug('[%s] %s on %s%s', this.name, restart ? 'restarting' : 'starting', this.socket, cause === undefined ? '' : ` (it was gone: ${cause})`);
    const began = performance.now();
    let instance: StartedPlugin;
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded by the first start, not by a plugin importing plugwire
    const token = nodeCrypto().randomBytes(32).toString('base64url');
    try {
      instance = await this.starter.start({
        socket: this.socket,
        socketDir: this.socketDir,
        startTimeout: this.config.startTimeout,
        terminationGrace: this.config.terminationGrace,
        signal: this.closeController.signal,
        token,
      });
    } catch (caught) {
      this.counters.failedStarts++;
      const error = PluginError.is(caught) ? caught : new StartError(`plugin ${this.name} could not be started: ${(caught as Error).message}`, 'spawn', { cause: caught });
      if (channels.pluginStartError.hasSubscribers) channels.pluginStartError.publish({ plugin: this.name, socket: this.socket, error });
      if (debug.enabled) debug('[%s] start failed: %s', this.name, error.message);
      throw error;
    }
    if (this.closing) {
      await this.terminate(instance);
      throw new ClosedError(`plugin ${this.name} was terminated while it started`);
    }
    const duration = performance.now() - began;
    this.instance = instance;
    this.headers = { ...BASE_HEADERS, authorization: `Bearer ${instance.token ?? token}` };
    const generation = ++this.generation;
    this.proven = false;
    this.currentState = 'running';
    // Published once the client shows the new process: a subscriber may read client.pid and client.state.
    if (channels.pluginReady.hasSubscribers) channels.pluginReady.publish({ plugin: this.name, socket: this.socket, pid: instance.pid, duration });
    if (debug.enabled) debug('[%s] ready: pid %s, %d ms', this.name, String(instance.pid), Math.round(duration));
    // Notice an exit at once: the next call restarts without first failing on the socket.
    void instance.exited.then((exit) => {
      const expected = this.closing !== undefined || this.terminated.has(instance);
      const how = exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
      if (debug.enabled) debug('[%s] pid %s %s', this.name, String(instance.pid), how);
      if (this.instance === instance && !this.closing) this.markGone(generation, how);
      if (channels.pluginExit.hasSubscribers) channels.pluginExit.publish({ plugin: this.name, pid: instance.pid, code: exit.code, signal: exit.signal, expected });
    });
  }

  /**
   * Terminates the plugin and releases every resource: the process, the connections,
   * the socket directory plugwire created. Later calls reject with `PLUGWIRE_CLOSED`.
   * Safe to call more than once; resolves when the plugin is gone.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Terminates a process of this client's, noting that its exit is expected. */
  private terminate(instance: StartedPlugin | undefined): Promise<void> {
    if (!instance) return Promise.resolve();
    this.terminated.add(instance);
    return instance.term();
  }

  private async shutdown(): Promise<void> {
    if (debug.enabled) debug('[%s] closing: %d calls in flight', this.name, this.inflight.size);
    this.closeController.abort(new ClosedError(`plugin ${this.name} was terminated`));
    for (const call of this.inflight.values()) call.abort(new ClosedError(`plugin ${this.name} was terminated during the call to ${call.route}`, { route: call.route }));
    await this.starting?.catch(() => undefined);
    try {
      await this.terminate(this.instance);
      // A plugin that died without cleaning up leaves its socket file behind.
      await removeStaleSocket(this.socket);
    } finally {
      this.currentState = 'closed';
      await this.pool.destroy().catch(() => undefined);
      if (this.socketDir !== undefined) removeSocketDirectory(this.socketDir);
      if (debug.enabled) debug('[%s] closed', this.name);
    }
  }
}
