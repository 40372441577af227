import { setMaxListeners } from 'node:events';
import { ClosedError, PluginError, StartError, UnavailableError } from '../errors/plugin-error';
import { EXTENSION_VERSION, VERSION_HEADER } from '../protocol/constants';
import { channels, debug } from '../diagnostics/channels';
import { isListening, removeStaleSocket } from '../socket/probe';
import { nodeCrypto } from '../util/lazy';
import { exitsWithin, race, sleep } from '../util/abortable';
import { closeStarted, type StartedPlugin, type Starter } from '../starters/starter';
import type { PluginConfig } from './config';
import { restartDelay } from './retry-policy';
import { LivenessMonitor } from './liveness';

/**
 * The state of a client's plugin: `starting` (a start is under way), `running`, `exited`
 * (gone; started again at the next call), `unavailable` (given up on, or restarts are
 * off: calls fail with `PLUGWIRE_UNAVAILABLE`), `closed` (by `close()`).
 */
export type PluginState = 'starting' | 'running' | 'exited' | 'unavailable' | 'closed';

/** Counters a client keeps, for monitoring and tests. */
export interface PluginStats {
  /** Processes started, the first start included. */
  readonly starts: number;
  /** Restarts after the plugin was gone (attempted, whether they succeeded or not). */
  readonly restarts: number;
  /** Starts that failed, the first start included. */
  readonly failedStarts: number;
}

const BASE_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'application/json', [VERSION_HEADER]: EXTENSION_VERSION });

/** Sends a signal to a process that may be gone already. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone: its exit is on its way
  }
}

/** How long a plugin that dropped a connection is given to show that it is exiting, ms. */
const EXIT_WAIT = 100;

/** What a supervisor needs. @internal */
export interface SupervisorInit {
  readonly starter: Starter;
  /** The socket path the plugin listens on. */
  readonly socket: string;
  /** The private directory start() made for the socket, if it did: handed to the starter. */
  readonly socketDir?: string;
  /** The host services the plugin may call, handed to every start. */
  readonly host?: { readonly socket: string; readonly token: string };
  readonly config: PluginConfig;
  /**
   * Resolves once no request of the client's calls is out to the plugin (the calls waiting
   * for a start do not count): what a graceful recycle waits for.
   */
  readonly drained?: () => Promise<void>;
  /** Whether something listens on the socket; the real probe unless a test passes its own. */
  readonly isListening?: (socket: string) => Promise<boolean>;
}

/**
 * Keeps one plugin running for a client: starts it, notices when it is gone (it exits, or
 * stops accepting connections), restarts it with back-off, and gives up on it after
 * `restart.maxRestarts` restarts in a row without a successful call. Each process it
 * starts is a new generation; a failure seen on an older generation changes nothing.
 * It knows nothing of calls: the client tells it when one succeeded.
 * @internal
 */
export class Supervisor {
  /** The plugin's name, from its starter. */
  readonly name: string;
  /** The socket path the plugin listens on. */
  readonly socket: string;
  /** Bumped at each start that succeeds: which process a request went to. */
  generation = 0;
  /** The headers of a request to the current process (its token). */
  headers: Readonly<Record<string, string>> = BASE_HEADERS;
  /** The probe of a connection failure under way, which calls wait for. */
  recovering: Promise<void> | undefined;

  private readonly starter: Starter;
  private readonly socketDir: string | undefined;
  private readonly host: SupervisorInit['host'];
  private readonly config: PluginConfig;
  private readonly listens: (socket: string) => Promise<boolean>;
  /** Fires on close(): ends a start and a back-off under way. */
  private readonly closeController = new AbortController();
  private closed = false;
  private instance: StartedPlugin | undefined;
  private currentState: PluginState = 'starting';
  private starting: Promise<void> | undefined;
  /** Restarts since the last successful call. */
  private failures = 0;
  /** Whether a call succeeded since the current process started. */
  private proven = false;
  private unavailableUntil = 0;
  /** Why the last plugin is gone, for the next start's diagnostics. */
  private goneWhy: string | undefined;
  /** Processes this supervisor terminated itself: their exit is expected. */
  private readonly terminated = new WeakSet<StartedPlugin>();
  /** Why a process was replaced as unresponsive, for the diagnostics of its exit. */
  private readonly replaced = new WeakMap<StartedPlugin, string>();
  /** Probes the current process while liveness is on. */
  private liveness: LivenessMonitor | undefined;
  private readonly counters = { starts: 0, restarts: 0, failedStarts: 0 };

  constructor(init: SupervisorInit) {
    this.starter = init.starter;
    this.name = init.starter.name;
    this.socket = init.socket;
    this.socketDir = init.socketDir;
    this.host = init.host;
    this.config = init.config;
    this.listens = init.isListening ?? isListening;
    // Calls waiting for a start or a back-off listen to it: as many listeners as calls is not a leak.
    setMaxListeners(0, this.closeController.signal);
  }

  /** The plugin's state. */
  get state(): PluginState {
    return this.currentState;
  }

  /** The process id of the running plugin, when it runs as a process. */
  get pid(): number | undefined {
    return this.instance?.pid;
  }

  /** A copy of the counters. */
  get stats(): PluginStats {
    return { ...this.counters };
  }

  /** A call to the current process succeeded: the restarts in a row are over. */
  succeeded(): void {
    this.failures = 0;
    this.proven = true;
    this.liveness?.heard();
  }

  /** A call to the current process timed out: the liveness check probes it now. */
  timedOut(): void {
    this.liveness?.suspect();
  }

  /** Whether something listens on the socket right now. */
  listening(): Promise<boolean> {
    return this.listens(this.socket);
  }

  /**
   * Waits until a plugin runs, starting one if the last is gone.
   * @returns the running plugin's generation
   * @throws `PLUGWIRE_CLOSED` once closed; `PLUGWIRE_UNAVAILABLE` when the plugin is given
   * up on or cannot be restarted; the signal's reason when it fires
   */
  async ensureRunning(route: string, signal: AbortSignal): Promise<number> {
    while (this.currentState !== 'running') {
      if (this.closed) throw new ClosedError(`plugin ${this.name} was terminated: call to ${route} refused`, { route });
      if (!this.starting) {
        this.starting = this.relaunch().finally(() => (this.starting = undefined));
      }
      await race(this.starting, signal);
    }
    return this.generation;
  }

  /**
   * Decides, after a connection failure, whether the plugin of that generation is gone
   * (and marks it so); resolves once decided. Failures that come together share one probe.
   */
  recover(generation: number): Promise<void> {
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
    if ((await this.listens(this.socket)) && !(await exitsWithin(instance, EXIT_WAIT))) return;
    if (generation !== this.generation || this.currentState !== 'running') return;
    // Terminate first: a starter that reuses live processes must not be handed this one again.
    await this.terminate(instance);
    this.markGone(generation, 'it stopped accepting connections');
  }

  private markGone(generation: number, why: string): void {
    if (generation !== this.generation || this.currentState !== 'running') return;
    this.liveness?.stop();
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
    const policy = this.config.restart;
    const { maxRestarts } = policy;
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
      await sleep(restartDelay(this.failures, policy), this.closeController.signal);
    }
    this.failures++;
    this.counters.restarts++;
    try {
      await this.launch();
    } catch (error) {
      if (this.closed) throw new ClosedError(`plugin ${this.name} was terminated during a restart`, { cause: error });
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

  /**
   * Starts a process through the starter and makes it the current generation; watches
   * its exit. The client's first start calls it directly.
   * @throws {@link StartError} (or the starter's own PluginError) when the start fails;
   * `PLUGWIRE_CLOSED` when closed meanwhile
   */
  async launch(): Promise<void> {
    this.currentState = 'starting';
    const restart = this.counters.starts > 0;
    const cause = restart ? this.goneWhy : undefined;
    this.counters.starts++;
    if (channels.pluginSpawn.hasSubscribers) channels.pluginSpawn.publish({ plugin: this.name, socket: this.socket, restart, ...(cause === undefined ? {} : { cause }) });
    if (debug.enabled) debug('[%s] %s on %s%s', this.name, restart ? 'restarting' : 'starting', this.socket, cause === undefined ? '' : ` (it was gone: ${cause})`);
    const began = performance.now();
    let instance: StartedPlugin;
    const token = nodeCrypto().randomBytes(32).toString('base64url');
    try {
      instance = await this.starter.start({
        socket: this.socket,
        socketDir: this.socketDir,
        startTimeout: this.config.startTimeout,
        terminationGrace: this.config.terminationGrace,
        signal: this.closeController.signal,
        token,
        ...(this.host === undefined ? {} : { host: this.host }),
      });
    } catch (caught) {
      this.counters.failedStarts++;
      const error = PluginError.is(caught) ? caught : new StartError(`plugin ${this.name} could not be started: ${(caught as Error).message}`, 'spawn', { cause: caught });
      if (channels.pluginStartError.hasSubscribers) channels.pluginStartError.publish({ plugin: this.name, socket: this.socket, error });
      if (debug.enabled) debug('[%s] start failed: %s', this.name, error.message);
      throw error;
    }
    if (this.closed) {
      await this.terminate(instance);
      throw new ClosedError(`plugin ${this.name} was terminated while it started`);
    }
    const duration = performance.now() - began;
    this.instance = instance;
    this.headers = { ...BASE_HEADERS, authorization: `Bearer ${instance.token ?? token}` };
    const generation = ++this.generation;
    this.proven = false;
    this.currentState = 'running';
    this.liveness?.stop();
    const { liveness } = this.config;
    this.liveness = liveness
      ? new LivenessMonitor(liveness, { name: this.name, socket: this.socket, headers: () => this.headers, wedged: (why) => void this.replace(generation, instance, why) })
      : undefined;
    // Published once the client shows the new process: a subscriber may read client.pid and client.state.
    if (channels.pluginReady.hasSubscribers) channels.pluginReady.publish({ plugin: this.name, socket: this.socket, pid: instance.pid, duration });
    if (debug.enabled) debug('[%s] ready: pid %s, %d ms', this.name, String(instance.pid), Math.round(duration));
    // Notice an exit at once: the next call restarts without first failing on the socket.
    void instance.exited.then((exit) => {
      const expected = this.closed || this.terminated.has(instance);
      const how = exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
      if (debug.enabled) debug('[%s] pid %s %s', this.name, String(instance.pid), how);
      if (this.instance === instance && !this.closed) this.markGone(generation, this.replaced.get(instance) ?? how);
      if (channels.pluginExit.hasSubscribers) channels.pluginExit.publish({ plugin: this.name, pid: instance.pid, code: exit.code, signal: exit.signal, expected });
    });
  }

  /**
   * Replaces a process that failed the liveness check: SIGTERM, the probe's timeout as
   * grace (a process that cannot answer a probe will not close itself gracefully either),
   * SIGKILL; then it is gone, and the next call (an idempotent call in flight sent again)
   * starts a fresh one. Calls in flight to it fail as their connections break.
   */
  private async replace(generation: number, instance: StartedPlugin, why: string): Promise<void> {
    if (generation !== this.generation || this.currentState !== 'running' || this.closed) return;
    this.replaced.set(instance, why);
    this.terminated.add(instance);
    this.config.logger?.error(`[${this.name}] plugin stopped answering (${why}): it is replaced`);
    const { pid } = instance;
    const grace = this.config.liveness ? Math.min(this.config.liveness.timeout, this.config.terminationGrace) : 0;
    if (pid !== undefined) {
      signal(pid, 'SIGTERM');
      if (!(await exitsWithin(instance, grace))) signal(pid, 'SIGKILL');
    }
    await this.terminate(instance).catch(() => undefined);
    this.markGone(generation, why);
  }

  /** Terminates a process of this supervisor's, noting that its exit is expected. */
  private terminate(instance: StartedPlugin | undefined): Promise<void> {
    if (!instance) return Promise.resolve();
    this.terminated.add(instance);
    return closeStarted(instance, this.name);
  }

  /**
   * Replaces the running process gracefully: new calls wait for a fresh process, the
   * calls in flight finish, then the old one is terminated.
   * @param why - for the logs and diagnostics
   */
  recycle(why: string): Promise<void> {
    return Promise.reject(new Error(`recycle (${why}) is not built yet`));
  }

  /**
   * The first step of closing, synchronous: no start or restart from now on, and a start
   * or back-off under way ends with `reason`.
   */
  abort(reason: Error): void {
    this.closed = true;
    this.liveness?.stop();
    this.closeController.abort(reason);
  }

  /**
   * The rest of closing, after {@link abort}: waits for a start under way, terminates the
   * plugin and removes a socket file it left behind; the state is `closed` whatever fails.
   */
  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    try {
      await this.terminate(this.instance);
      // A plugin that died without cleaning up leaves its socket file behind.
      await removeStaleSocket(this.socket);
    } finally {
      this.currentState = 'closed';
    }
  }
}
