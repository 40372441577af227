import { setMaxListeners } from 'node:events';
import { ClosedError, UnavailableError } from '../errors/plugin-error';
import { channels, debug } from '../diagnostics/channels';
import { isListening, removeStaleSocket } from '../socket/probe';
import { exitsWithin, race, sleep } from '../util/abortable';
import { heldByOthers } from '../starters/shared-process';
import { closeStarted, type StartedPlugin, type Starter } from '../starters/starter';
import type { PluginConfig } from './config';
import { restartDelay } from './retry-policy';
import { Endings, howItExited, NOT_ACCEPTING, type UnansweredExit } from './ending';
import type { PluginCounters, PluginState } from './plugin-state';
import { killWedged, ProcessWatch } from './process-watch';
import { BASE_HEADERS, startProcess, type StartedProcess } from './start-process';

export type { PluginState } from './plugin-state';

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
  /** Told when the plugin is found gone and will be restarted (a pool's instance restarts at once). */
  readonly gone?: () => void;
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
  /** Until when a plugin given up on is not started again, ms since the epoch. */
  unavailableUntil = 0;
  /** Why the last plugin is gone, for the next start's diagnostics. */
  private goneWhy: string | undefined;
  /** How the last process found gone before any call to it succeeded ended. */
  diedUnanswered: UnansweredExit | undefined;
  /** The processes this supervisor terminated itself, and why. */
  private readonly ended = new Endings();
  /** Probes the current process (liveness) and reads its memory (limits). */
  private watch: ProcessWatch | undefined;
  /** The recycle under way, which a second recycle() shares. */
  private recycling: Promise<void> | undefined;
  private readonly drained: (() => Promise<void>) | undefined;
  private readonly gone: (() => void) | undefined;
  private readonly counters = { starts: 0, restarts: 0, failedStarts: 0, recycles: 0 };

  constructor(init: SupervisorInit) {
    ({ starter: this.starter, socket: this.socket, socketDir: this.socketDir, host: this.host, config: this.config, drained: this.drained, gone: this.gone } = init);
    this.name = init.starter.name;
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
  get stats(): PluginCounters {
    return { ...this.counters };
  }

  /** A call to the current process succeeded: the restarts in a row are over. */
  succeeded(): void {
    this.failures = 0;
    this.proven = true;
    this.watch?.heard();
  }

  /** A call to the current process timed out: the liveness check probes it now. */
  timedOut(): void {
    this.watch?.suspect();
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
      await race(this.starting ?? this.track(this.relaunch()), signal);
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
    const listening = await this.listens(this.socket);
    // One that exits meanwhile was killed or crashed: its exit marks it gone, not terminated here.
    if ((instance !== undefined && (await exitsWithin(instance, EXIT_WAIT))) || listening) return;
    if (generation !== this.generation || this.currentState !== 'running') return;
    // Terminate first: a starter that reuses live processes must not be handed this one again.
    await this.terminate(instance, NOT_ACCEPTING);
    this.markGone(generation, NOT_ACCEPTING);
  }

  private markGone(generation: number, why: string): void {
    if (generation !== this.generation || this.currentState !== 'running') return;
    this.watch?.stop();
    this.currentState = 'exited';
    this.goneWhy = why;
    // A process that dies before any call succeeded has failed as surely as one that never
    // became ready: without this, a plugin that dies at every call is restarted for ever.
    const { maxRestarts } = this.config.restart;
    if (!this.proven && maxRestarts > 0 && this.failures >= maxRestarts) return this.giveUp(`[${this.name}] plugin is gone (${why}) before any call succeeded`);
    if (debug.enabled) debug('[%s] plugin is gone (%s); it is restarted at the next call', this.name, why);
    this.config.logger?.error(`[${this.name}] plugin is gone (${why}); it is restarted ${this.gone ? 'now' : 'at the next call'}`);
    this.gone?.();
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
    await this.startNew(false);
  }

  /**
   * Launches a new process after the last one is gone (a restart) or was recycled. One
   * that fails counts as a failed restart either way: a recycle's is not counted before.
   */
  private async startNew(recycled: boolean): Promise<void> {
    try {
      if (this.closed) throw new ClosedError(`plugin ${this.name} was terminated`);
      await this.launch();
    } catch (error) {
      const message = (error as Error).message;
      if (this.closed) throw new ClosedError(`plugin ${this.name} was terminated during a ${recycled ? 'recycle' : 'restart'}`, { cause: error });
      if (recycled) this.failures++;
      // The logger is promised "a restart that failed" (PluginConfig.logger).
      const failed = `[${this.name}] ${recycled ? 'start after a recycle' : 'restart'} failed: ${message}`;
      const { maxRestarts } = this.config.restart;
      if (maxRestarts > 0 && this.failures >= maxRestarts) {
        this.giveUp(failed);
      } else {
        this.currentState = 'exited';
        this.config.logger?.error(`${failed}; it is tried again at the next call`);
      }
      const what = recycled ? 'was recycled and could not be started again' : 'is gone and could not be restarted';
      throw new UnavailableError(`plugin ${this.name} ${what}: ${message}`, { cause: error });
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
    this.counters.starts++;
    let started: StartedProcess;
    try {
      const { starter, socket, socketDir, host, config } = this;
      started = await startProcess({ starter, socket, socketDir, host, config, signal: this.closeController.signal, restart, cause: restart ? this.goneWhy : undefined });
    } catch (error) {
      this.counters.failedStarts++;
      throw error;
    }
    const { instance, duration } = started;
    if (this.closed) {
      await this.terminate(instance, 'the client was closed');
      throw new ClosedError(`plugin ${this.name} was terminated while it started`);
    }
    this.instance = instance;
    this.headers = started.headers;
    const generation = ++this.generation;
    this.proven = false;
    this.currentState = 'running';
    this.watch?.stop();
    const { name, socket } = this;
    const wedged = (why: string): void => void this.replace(generation, instance, why);
    const watch = (this.watch = new ProcessWatch(this.config, { name, socket, pid: instance.pid, headers: () => this.headers, wedged, overMemory: (used, again) => this.overMemory(instance, used, again) }));
    // Published once the client shows the new process: a subscriber may read client.pid and client.state.
    if (channels.pluginReady.hasSubscribers) channels.pluginReady.publish({ plugin: this.name, socket: this.socket, pid: instance.pid, duration });
    if (debug.enabled) debug('[%s] ready: pid %s, %d ms', this.name, String(instance.pid), Math.round(duration));
    // Notice an exit at once: the next call restarts without first failing on the socket.
    void instance.exited.then((exit) => {
      watch.stop();
      const endedBy = this.ended.of(instance);
      const how = howItExited(exit);
      if (debug.enabled) debug('[%s] pid %s %s', this.name, String(instance.pid), how);
      // Gone, unless a recycle replaces it anyway. One ended here (it stopped accepting
      // connections, or answering) is gone for that reason: the signal it died of was ours.
      if (this.instance === instance && this.currentState === 'running' && !this.closed) {
        if (!this.proven) this.diedUnanswered = { how, exit, ...(endedBy !== undefined && { endedBy }) };
        this.markGone(generation, endedBy ?? how);
      }
      const expected = this.closed || endedBy !== undefined;
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
    // During a recycle's drain the old process is still watched: a wedged one would hold the recycle.
    if (generation !== this.generation || (this.currentState !== 'running' && !this.recycling) || this.closed) return;
    this.ended.note(instance, why);
    this.config.logger?.error(`[${this.name}] plugin stopped answering (${why}): it is replaced`);
    await killWedged(instance, this.config.liveness ? Math.min(this.config.liveness.timeout, this.config.terminationGrace) : 0);
    await this.terminate(instance, why).catch(() => undefined);
    this.markGone(generation, why);
  }

  /** Terminates a process of this supervisor's, noting that its exit is expected, and why. */
  private terminate(instance: StartedPlugin | undefined, why: string): Promise<void> {
    if (!instance) return Promise.resolve();
    this.ended.note(instance, why);
    return closeStarted(instance, this.name);
  }

  /**
   * Over `limits.memoryMiB`: recycled, unless other clients hold the process (a recycle
   * would hand it back): then it is kept, reported at its first reading over, watched on.
   */
  private overMemory(instance: StartedPlugin, used: number, again: boolean): boolean {
    if (this.instance !== instance || this.currentState !== 'running' || this.closed) return false;
    const over = `${used} MiB, over limits.memoryMiB ${String(this.config.limits.memoryMiB)}`;
    const kept = heldByOthers(instance);
    if (kept && !again) this.config.logger?.error(`[${this.name}] plugin uses ${over}, but other clients share its process: it is not recycled while they do`);
    if (kept) return true;
    this.config.logger?.error(`[${this.name}] plugin uses ${over}: it is recycled`);
    // Its outcome reaches the calls waiting for the fresh process; a failed start is logged there.
    this.recycle(`it used ${over}`).catch(() => undefined);
    return false;
  }

  /**
   * Replaces the running process gracefully (see `PluginClient.recycle()`), outside the
   * restart policy; a plugin that is not running is started at once, even one given up
   * on. A recycle under way is shared.
   * @param why - for the diagnostics (the `cause` of `plugwire:plugin:spawn`)
   * @throws `PLUGWIRE_CLOSED` when closed; `PLUGWIRE_UNAVAILABLE` when no new process starts
   */
  recycle(why: string): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError(`plugin ${this.name} was terminated: recycle refused`));
    this.recycling ??= this.renew(why).finally(() => (this.recycling = undefined));
    return this.recycling;
  }

  private async renew(why: string): Promise<void> {
    if (this.currentState === 'running') {
      const instance = this.instance;
      this.counters.recycles++;
      if (instance && heldByOthers(instance)) return; // letting it go would only get it back, or end it for all
      const recycled = `recycled: ${why}`;
      this.goneWhy = recycled;
      // From here new calls and streams take the slow path and wait for `starting`.
      this.currentState = 'starting';
      if (debug.enabled) debug('[%s] recycling pid %s: %s', this.name, String(instance?.pid), why);
      void this.track(this.replaceGracefully(instance, recycled)); // its outcome is awaited below
    }
    while (this.state !== 'running') {
      if (this.closed) throw new ClosedError(`plugin ${this.name} was terminated during a recycle`);
      // Gone, given up on, or never started: a start now is the fresh process.
      await race(this.starting ?? this.track(this.startNew(true)), this.closeController.signal);
    }
  }

  /**
   * Makes `start` the start under way, which calls wait for, until it settles. A start
   * that settles after the next one began (a recycle right after a restart) leaves it be.
   */
  private track(start: Promise<void>): Promise<void> {
    const tracked: Promise<void> = start.finally(() => {
      if (this.starting === tracked) this.starting = undefined;
    });
    this.starting = tracked;
    return tracked;
  }

  /** Waits for the calls in flight to the old process, terminates it, starts a new one. */
  private async replaceGracefully(instance: StartedPlugin | undefined, why: string): Promise<void> {
    // An old process that exits meanwhile (it crashed, or wedged and liveness killed it) has
    // nothing left to answer: its calls are on their way to the new one, as after any crash.
    if (this.drained) await race(Promise.race([this.drained(), instance?.exited ?? Promise.resolve()]), this.closeController.signal);
    this.watch?.stop();
    // A starter whose plugin cannot be stopped: the start below says what is in the way.
    await this.terminate(instance, why).catch(() => undefined);
    await this.startNew(true);
  }

  /**
   * The first step of closing, synchronous: no start or restart from now on, and a start
   * or back-off under way ends with `reason`.
   */
  abort(reason: Error): void {
    this.closed = true;
    this.watch?.stop();
    this.closeController.abort(reason);
  }

  /**
   * The rest of closing, after {@link abort}: waits for a start under way, terminates the
   * plugin and removes a socket file it left behind; the state is `closed` whatever fails.
   */
  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    try {
      await this.terminate(this.instance, 'the client was closed');
      // A dead plugin's socket file is left behind; an attached one's (maybe rebinding) is not ours.
      if (this.starter.attached !== true) await removeStaleSocket(this.socket);
    } finally {
      this.currentState = 'closed';
    }
  }
}
