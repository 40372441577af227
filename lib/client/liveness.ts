import { Agent, request, type ClientRequest } from 'node:http';
import { debug } from '../diagnostics/channels';
import { HEALTH_ROUTE } from '../protocol/constants';
import type { LivenessPolicy } from './config';

/**
 * The grid, ms, that the watches of a host round their turns up to. A process that wakes
 * from idle pays for it in CPU (a cold cache: a call to a plugin that idled for a
 * millisecond costs it about four times the CPU of back-to-back calls), so the watches of
 * many plugins take their turns on one wake of the host, not on one each. @internal
 */
export const WATCH_GRID = 100;

/** A turn booked on a {@link WatchClock}. @internal */
export interface WatchTurn {
  /** When it is due (performance.now(), on its grid). */
  readonly at: number;
  /** From when it may run together with a turn that is due: `at` less what it allows early. */
  readonly from: number;
  readonly run: (at: number) => void;
}

/**
 * One timer for every watch of the host (liveness probes, memory reads). Each turn is due
 * on a grid point, and a turn that allows it runs early, together with one that is due:
 * the liveness probes of plugins that started at different times fall in step after one
 * round and then cost the host one wake per interval between them. Unref'd: a watch never
 * keeps the host alive. @internal
 */
export class WatchClock {
  private readonly turns = new Set<WatchTurn>();
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;

  /**
   * Books `run` for `delay` ms from now, rounded up to a grid of `grid` ms; it may run up
   * to `early` ms before, on the wake of another turn. `run` gets the time it was due.
   */
  book(delay: number, run: (at: number) => void, grid = WATCH_GRID, early = 0): WatchTurn {
    const at = Math.ceil((performance.now() + delay) / grid) * grid;
    const turn = { at, from: at - early, run };
    this.turns.add(turn);
    this.arm();
    return turn;
  }

  /** Takes a turn off the clock (nothing when it ran already). */
  cancel(turn: WatchTurn | undefined): void {
    if (turn === undefined || !this.turns.delete(turn)) return;
    if (this.turns.size === 0) this.disarm();
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  private arm(): void {
    let first = Infinity;
    for (const turn of this.turns) first = Math.min(first, turn.at);
    if (first === Infinity) return this.disarm();
    if (this.timer !== undefined && this.armedFor <= first) return;
    this.disarm();
    this.armedFor = first;
    this.timer = setTimeout(() => this.fire(), Math.max(0, first - performance.now())).unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    // Node's timers run on whole milliseconds: a turn may come up to a millisecond early.
    const now = performance.now() + 2;
    const due = [...this.turns].filter((turn) => turn.at <= now);
    // The turns that may run early go along only with one that is due: on its wake, which is paid for anyway.
    if (due.length > 0) due.push(...[...this.turns].filter((turn) => turn.at > now && turn.from <= now));
    for (const turn of due) this.turns.delete(turn);
    // One watch that throws (a bug) must not cost the others their turn: its error is thrown after theirs ran.
    let failure: { error: unknown } | undefined;
    for (const turn of due) {
      try {
        turn.run(turn.at);
      } catch (error) {
        failure ??= { error };
      }
    }
    this.arm();
    if (failure) throw failure.error;
  }
}

/** The clock of this host's watches. @internal */
export const watchClock = new WatchClock();

/** What a liveness monitor probes, and whom it tells. @internal */
export interface LivenessTarget {
  readonly name: string;
  readonly socket: string;
  /** The headers of a request to the plugin (its token), read at each probe. */
  headers(): Readonly<Record<string, string>>;
  /** The plugin failed `failures` probes in a row: replace it. Called once. */
  wedged(why: string): void;
}

/**
 * Probes one plugin process while it is silent, and after a call to it timed out; tells
 * its target once the plugin failed the policy's probes in a row. A probe due while the
 * host itself was frozen (its timers ran more than `timeout` late: a laptop that slept,
 * a Lambda between invocations) does not count: the plugin was frozen with the host and
 * is probed again at once. A plugin without the route (version 1: 404) is not probed
 * again; timeouts are all the client sees of it.
 * @internal
 */
export class LivenessMonitor {
  private turn: WatchTurn | undefined;
  private probe: ClientRequest | undefined;
  /**
   * The monitor's own connection, kept between probes: a probe on it costs the plugin and
   * the host no connect and accept, and the pool's connections may all be held by calls to
   * a stuck plugin.
   */
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  /** Probes in a row that went unanswered. */
  private misses = 0;
  /** When the plugin last answered a call, or started (performance.now()); the probes' answers do not count here. */
  private lastHeard = performance.now();
  private stopped = false;
  /** The grid of its turns: {@link WATCH_GRID}, finer for an interval under ten of it. */
  private readonly grid: number;

  constructor(
    private readonly policy: LivenessPolicy,
    private readonly target: LivenessTarget,
  ) {
    this.grid = Math.min(WATCH_GRID, Math.max(1, Math.floor(policy.interval / 10)));
    this.schedule(policy.interval);
  }

  /** The plugin answered a call: it is alive, and need not be probed within the interval. */
  heard(): void {
    this.lastHeard = performance.now();
    this.misses = 0;
  }

  /** A call to the plugin timed out: probe now rather than at the next interval. */
  suspect(): void {
    if (this.stopped || this.probe) return;
    watchClock.cancel(this.turn);
    this.turn = undefined;
    this.send();
  }

  /** No probe from now on: the process is gone, replaced or the client closed. */
  stop(): void {
    this.stopped = true;
    watchClock.cancel(this.turn);
    this.turn = undefined;
    this.probe?.destroy();
    this.probe = undefined;
    this.agent.destroy();
  }

  /**
   * Runs `tick` after `delay` ms, which gets when it was due so that it can tell it ran
   * late. An idle turn is on the grid and may run up to half the interval early with the
   * probes of other plugins (a probe early is only one more probe); a turn after a miss is
   * exact.
   */
  private schedule(delay: number, exact = false): void {
    this.turn = exact ? watchClock.book(delay, (due) => this.tick(due), 1) : watchClock.book(delay, (due) => this.tick(due), this.grid, this.policy.interval / 2);
  }

  private tick(due: number): void {
    this.turn = undefined;
    if (this.stopped) return;
    const now = performance.now();
    // The host was frozen: what went unanswered before may have been the freeze too.
    if (now - due > this.policy.timeout) this.misses = 0;
    // A plugin that answered a call within the interval (less the grid's rounding) is busy and answering: a probe would prove nothing new.
    const silent = now - this.lastHeard;
    if (silent < this.policy.interval - this.grid) return this.schedule(this.policy.interval - silent);
    this.send();
  }

  /** Probes the plugin; `fresh` once the kept connection failed, so that a connection the plugin closed meanwhile costs no miss. */
  private send(fresh = false): void {
    const { timeout } = this.policy;
    const started = performance.now();
    let done = false;
    const finish = (outcome: 'alive' | 'missed' | 'frozen' | 'unsupported', why: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // An answered probe gives its connection back to the agent for the next one.
      if (outcome !== 'alive') req.destroy();
      if (this.probe === req) this.probe = undefined;
      if (this.stopped) return;
      const elapsed = performance.now() - started;
      switch (outcome) {
        case 'alive':
          this.misses = 0;
          return this.schedule(this.policy.interval);
        case 'unsupported':
          this.stopped = true;
          if (debug.enabled) debug('[%s] no health route (a version 1 plugin): liveness falls back to call timeouts', this.target.name);
          return;
        case 'frozen':
          if (debug.enabled) debug('[%s] health probe due while the host was frozen: not counted', this.target.name);
          return this.schedule(0, true);
        case 'missed':
          this.misses++;
          if (debug.enabled) debug('[%s] health probe %d of %d failed: %s', this.target.name, this.misses, this.policy.failures, why);
          if (this.misses >= this.policy.failures) {
            this.stop();
            this.target.wedged(`it failed ${this.misses} health probe${this.misses === 1 ? '' : 's'} in a row (the last: ${why})`);
            return;
          }
          // A refused connection fails at once: the next probe still waits the timeout out.
          // Off the grid: a plugin that missed a probe is not the idle case the grid is for.
          return this.schedule(Math.max(0, timeout - elapsed), true);
      }
    };
    const req = request({ socketPath: this.target.socket, path: HEALTH_ROUTE, method: 'GET', headers: this.target.headers(), agent: this.agent });
    this.probe = req;
    const timer = setTimeout(() => {
      // The timer itself ran late: the host was frozen while the probe waited.
      const late = performance.now() - started - timeout;
      finish(late > timeout ? 'frozen' : 'missed', `no answer in ${timeout} ms`);
    }, timeout).unref();
    req.on('response', (res) => {
      res.on('error', () => undefined); // cut off below when it is not an answer to keep the connection for
      res.resume();
      // Any answer shows a turning event loop; 404 is a plugin without the route.
      finish(res.statusCode === 404 ? 'unsupported' : 'alive', `status ${String(res.statusCode)}`);
    });
    req.on('error', (error) => {
      if (done || !req.reusedSocket || fresh || this.stopped) return finish('missed', error.message);
      // The kept connection was closed by the plugin (its keepAliveTimeout) as the probe went out: once more on a new one.
      done = true;
      clearTimeout(timer);
      if (this.probe === req) this.probe = undefined;
      this.send(true);
    });
    req.end();
  }
}
