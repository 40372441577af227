import { PluginError } from '../errors/plugin-error';
import type { MethodDefinition } from '../metadata/method-definition';
import { removeSocketDirectory } from '../socket/directory';
import type { ServingContext } from '../server/call-context';
import { callTimeout, type CallOptions } from './call-options';
import { inheritedFrom } from './inheritance';
import type { PluginConfig } from './config';
import { PluginInstance, type ClientInit } from './plugin-instance';
import type { PluginLoad, PluginState, PluginStats } from './plugin-state';

export type { CallOptions } from './call-options';
export type { InstanceStats, PluginCounters, PluginLoad, PluginState, PluginStats } from './plugin-state';

/** What a client is made from: one instance's, with a socket path for each instance. @internal */
export interface PoolInit extends ClientInit {
  /** The socket of each instance, the first one `socket`. */
  readonly sockets: readonly string[];
}

/** The order of the states, best first: a pool is as well as its best instance. */
const STATE_ORDER: readonly PluginState[] = ['running', 'starting', 'exited', 'unavailable', 'closed'];

/**
 * The connection to a plugin: it starts the plugin, sends calls over the socket, and
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
 *
 * A pool (`instances` above 1) runs that many processes of the plugin, each on its own
 * socket: a call goes to the least busy instance that runs (calls and streams under way),
 * a stream stays on its instance, and each instance restarts on its own, while the others
 * answer: one that is gone is started again at once, without waiting for a call. A call
 * cut by the death of its instance is sent again to that instance once it is back, by the
 * rules above; if that fails too (`PLUGWIRE_UNAVAILABLE`), an idempotent call is sent once
 * to another instance that runs. Liveness, limits, `maxInFlight` and `connections` hold per instance.
 */
export class PluginClient {
  /** The socket path the plugin listens on; in a pool, the first instance's (see `stats.instances`). */
  readonly socket: string;
  /** The plugin's name, from its starter. */
  readonly name: string;
  /** The configuration in force. */
  readonly config: PluginConfig;

  private readonly members: readonly PluginInstance[];
  private readonly socketDir: string | undefined;
  private closing: Promise<void> | undefined;
  /** Where the search for the least busy instance begins: turns, so that ties are shared out. */
  private turn = 0;

  /** @internal */
  constructor(init: PoolInit) {
    this.name = init.starter.name;
    this.socket = init.socket;
    this.config = init.config;
    this.socketDir = init.socketDir;
    // In a pool the others answer while one instance starts again: it need not wait for a call.
    this.members = init.sockets.map((socket) => new PluginInstance({ ...init, socket, restartAtOnce: init.sockets.length > 1 }));
  }

  /**
   * The plugin's state: `starting` (a start, a restart or a {@link recycle} under way),
   * `running`, `exited` (restarted at the next call), `unavailable` (given up on: calls
   * fail until `restart.cooldown` has passed), `closed`. A pool's is the best of its
   * instances' (`running` while one runs).
   */
  get state(): PluginState {
    let best = STATE_ORDER.length - 1;
    for (const member of this.members) best = Math.min(best, STATE_ORDER.indexOf(member.state));
    return STATE_ORDER[best] as PluginState;
  }

  /**
   * The process id of the running plugin, when it runs as a process; `undefined` in
   * process or before the first start. In a pool, the first instance's: `stats.instances`
   * has each one's.
   */
  get pid(): number | undefined {
    return this.first.pid;
  }

  /** The calls of this client right now, held and queued, over all its instances; streams and calls back from host services are not counted. */
  get load(): PluginLoad {
    let inFlight = 0;
    let queued = 0;
    for (const member of this.members) {
      const load = member.load;
      inFlight += load.inFlight;
      queued += load.queued;
    }
    return { inFlight, queued };
  }

  /** Start and restart counters, summed over the instances, and each instance's own, as a fresh object. */
  get stats(): PluginStats {
    const instances = this.members.map((member, index) => ({
      index,
      socket: member.socket,
      state: member.state,
      pid: member.pid,
      load: member.load,
      ...member.stats,
    }));
    const sum = (key: 'starts' | 'restarts' | 'failedStarts' | 'recycles'): number => instances.reduce((total, one) => total + one[key], 0);
    return { starts: sum('starts'), restarts: sum('restarts'), failedStarts: sum('failedStarts'), recycles: sum('recycles'), instances };
  }

  /**
   * How a process of this client that died before a call to it succeeded ended, if one
   * did: what `connect()` reports when its plugin dies right after it became ready.
   * @internal
   */
  diedUnanswered(): PluginInstance['diedUnanswered'] {
    return this.members.find((member) => member.diedUnanswered !== undefined)?.diedUnanswered;
  }

  private get first(): PluginInstance {
    return this.members[0] as PluginInstance;
  }

  /**
   * The first start of every instance, side by side; on a failure the client is closed.
   * @returns once every instance is ready
   * @throws the first failed start's error (`PLUGWIRE_START`)
   * @internal
   */
  async start(): Promise<void> {
    try {
      await allOf(this.members.map((member) => member.start()));
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /**
   * The instance a new call or stream goes to: the least busy one that is ready; when none
   * is, the least busy one that is not given up on (the call waits for its start), else the
   * first (whose error says why). Instances that are gone are started again meanwhile.
   */
  private pick(): PluginInstance {
    const members = this.members;
    const count = members.length;
    if (count === 1) return this.first;
    const turn = (this.turn = (this.turn + 1) % count);
    let fallback: PluginInstance | undefined;
    for (let k = 0; k < count; k++) {
      const member = members[(turn + k) % count] as PluginInstance;
      if (member.ready) continue;
      member.revive();
      if (member.state !== 'unavailable' && member.state !== 'closed' && (fallback === undefined || member.busy < fallback.busy)) fallback = member;
    }
    return this.leastBusyReady(turn, undefined) ?? fallback ?? this.first;
  }

  /** The ready instance with the fewest calls and streams under way, but `except`; ties go to the first from `turn` on. */
  private leastBusyReady(turn: number, except: PluginInstance | undefined): PluginInstance | undefined {
    const members = this.members;
    let best: PluginInstance | undefined;
    for (let k = 0; k < members.length; k++) {
      const member = members[(turn + k) % members.length] as PluginInstance;
      if (member !== except && member.ready && (best === undefined || member.busy < best.busy)) best = member;
    }
    return best;
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
    const member = this.pick();
    const answer = member.call(route, payload, options);
    if (this.members.length === 1) return answer;
    const began = performance.now();
    const served = inheritedFrom();
    return answer.catch((error: unknown) => this.failover(error, member, true, this.rest(options, undefined, began, served), (other, rest) => other.call(route, payload, rest)));
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
   * `return()` keeps its request open until its timeout or `close()`. In a pool, the
   * stream goes to the least busy instance and stays there.
   *
   * @example
   * ```ts
   * for await (const line of client.stream('/tail', { level: 'warn' }, { timeout: 0 })) console.log(line);
   * ```
   */
  stream(route: string, payload?: unknown, options: CallOptions = {}): AsyncIterableIterator<unknown> {
    return this.pick().stream(route, payload, options);
  }

  /** Calls a contract's stream method (see {@link PluginInstance.streamMethod}). @internal */
  streamMethod(definition: MethodDefinition, args: readonly unknown[], options: CallOptions, convert: boolean): AsyncIterableIterator<unknown> {
    return this.pick().streamMethod(definition, args, options, convert);
  }

  /** Calls a contract method (see {@link PluginInstance.callMethod}). @internal */
  callMethod(definition: MethodDefinition, args: readonly unknown[], options: CallOptions, convert: boolean): Promise<unknown> {
    const member = this.pick();
    const answer = member.callMethod(definition, args, options, convert);
    if (this.members.length === 1) return answer;
    const began = performance.now();
    const served = inheritedFrom();
    return answer.catch((error: unknown) =>
      this.failover(error, member, definition.idempotent !== false, this.rest(options, definition, began, served), (other, rest) => other.callMethod(definition, args, rest, convert)),
    );
  }

  /**
   * A pool's second chance for a call that its instance could not answer
   * (`PLUGWIRE_UNAVAILABLE`: gone and not started again, or gone again after its restart):
   * an idempotent call is sent once more, to another instance that runs, if there is one.
   * Any other failure stands.
   */
  private failover(error: unknown, member: PluginInstance, idempotent: boolean, rest: () => CallOptions | undefined, send: (other: PluginInstance, rest: CallOptions) => Promise<unknown>): Promise<unknown> {
    if (!idempotent || !PluginError.is(error) || error.code !== 'PLUGWIRE_UNAVAILABLE' || this.closing) throw error;
    // Another instance: the one that failed may be running again by now, and fail again (killed twice in a row).
    const other = this.leastBusyReady(this.turn, member);
    // Within the call's own timeout: what the first instance took of it is gone.
    const options = rest();
    if (other === undefined || options === undefined) throw error;
    return send(other, options);
  }

  /**
   * The options of a call sent again after `began`: its timeout (the call's, the method's or
   * the client's) less the time gone by, and no later than the deadline it inherited from
   * `served` when it was first sent (which the second try, made once the served method may
   * have returned, would not inherit again); `undefined` once none is left, or once the
   * served call was given up on.
   */
  private rest(options: CallOptions, definition: MethodDefinition | undefined, began: number, served: ServingContext | undefined): () => CallOptions | undefined {
    return () => {
      const timeout = callTimeout(options, definition, this.config.timeout);
      let left = timeout === 0 ? Infinity : Math.floor(timeout - (performance.now() - began));
      if (served !== undefined) {
        if (served.signal.aborted) return undefined;
        left = Math.min(left, Math.floor(served.expiresAt - Date.now()));
      }
      if (left === Infinity) return options;
      return left > 0 ? { ...options, timeout: left } : undefined;
    };
  }

  /**
   * Replaces the plugin process with a fresh one, gracefully: calls made from now on wait
   * for the new process, the calls in flight are answered by the old one, which is then
   * terminated (SIGTERM, `terminationGrace`, SIGKILL). No call is lost or failed. For
   * example after deploying a new version of the plugin. A pool replaces its instances one
   * after the other, so that the others answer meanwhile. A process that other clients of
   * this host share (one socket path) is kept: it resolves at once.
   *
   * @returns once the new process runs (every instance's)
   * @throws `PLUGWIRE_CLOSED` when the client is closed meanwhile; `PLUGWIRE_UNAVAILABLE`,
   * with the start's error as its cause, when the new process cannot start (the calls
   * waiting for it get the same)
   *
   * @example `await client.recycle();`
   */
  async recycle(): Promise<void> {
    for (const member of this.members) await member.recycle();
  }

  /**
   * Terminates the plugin and releases every resource: the processes, the connections,
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
    try {
      await allOf(this.members.map((member) => member.close()));
    } finally {
      if (this.socketDir !== undefined) removeSocketDirectory(this.socketDir);
    }
  }
}

/** Waits for every promise to settle; then throws the first failure, if any. */
async function allOf(promises: ReadonlyArray<Promise<void>>): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed) throw failed.reason;
}
