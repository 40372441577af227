import { request, type ClientRequest } from 'node:http';
import { debug } from '../diagnostics/channels';
import { HEALTH_ROUTE } from '../protocol/constants';
import type { LivenessPolicy } from './config';

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
  private timer: NodeJS.Timeout | undefined;
  private probe: ClientRequest | undefined;
  /** Probes in a row that went unanswered. */
  private misses = 0;
  /** When the plugin last showed it was alive (performance.now()). */
  private lastHeard = performance.now();
  private stopped = false;

  constructor(
    private readonly policy: LivenessPolicy,
    private readonly target: LivenessTarget,
  ) {
    this.schedule(policy.interval);
  }

  /** The plugin answered something: it is alive. */
  heard(): void {
    this.lastHeard = performance.now();
    this.misses = 0;
  }

  /** A call to the plugin timed out: probe now rather than at the next interval. */
  suspect(): void {
    if (this.stopped || this.probe) return;
    clearTimeout(this.timer);
    this.send();
  }

  /** No probe from now on: the process is gone, replaced or the client closed. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.probe?.destroy();
    this.probe = undefined;
  }

  /** Runs `tick` after `delay` ms, noting when it is due so that it can tell it ran late. */
  private schedule(delay: number): void {
    const due = performance.now() + delay;
    // Unref'd: a liveness check never keeps the host alive.
    this.timer = setTimeout(() => this.tick(due), delay).unref();
  }

  private tick(due: number): void {
    this.timer = undefined;
    if (this.stopped) return;
    const now = performance.now();
    // The host was frozen: what went unanswered before may have been the freeze too.
    if (now - due > this.policy.timeout) this.misses = 0;
    const silent = now - this.lastHeard;
    if (silent < this.policy.interval) return this.schedule(this.policy.interval - silent);
    this.send();
  }

  private send(): void {
    const { timeout } = this.policy;
    const started = performance.now();
    let done = false;
    const finish = (outcome: 'alive' | 'missed' | 'frozen' | 'unsupported', why: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      if (this.probe === req) this.probe = undefined;
      if (this.stopped) return;
      const elapsed = performance.now() - started;
      switch (outcome) {
        case 'alive':
          this.heard();
          return this.schedule(this.policy.interval);
        case 'unsupported':
          this.stopped = true;
          if (debug.enabled) debug('[%s] no health route (a version 1 plugin): liveness falls back to call timeouts', this.target.name);
          return;
        case 'frozen':
          if (debug.enabled) debug('[%s] health probe due while the host was frozen: not counted', this.target.name);
          return this.schedule(0);
        case 'missed':
          this.misses++;
          if (debug.enabled) debug('[%s] health probe %d of %d failed: %s', this.target.name, this.misses, this.policy.failures, why);
          if (this.misses >= this.policy.failures) {
            this.stop();
            this.target.wedged(`it failed ${this.misses} health probe${this.misses === 1 ? '' : 's'} in a row (the last: ${why})`);
            return;
          }
          // A refused connection fails at once: the next probe still waits the timeout out.
          return this.schedule(Math.max(0, timeout - elapsed));
      }
    };
    // A connection of its own: the pool's may all be held by calls to the stuck plugin.
    const req = request({ socketPath: this.target.socket, path: HEALTH_ROUTE, method: 'GET', headers: this.target.headers(), agent: false });
    this.probe = req;
    const timer = setTimeout(() => {
      // The timer itself ran late: the host was frozen while the probe waited.
      const late = performance.now() - started - timeout;
      finish(late > timeout ? 'frozen' : 'missed', `no answer in ${timeout} ms`);
    }, timeout).unref();
    req.on('response', (res) => {
      res.on('error', () => undefined); // cut off below, once its status is known
      res.resume();
      // Any answer shows a turning event loop; 404 is a plugin without the route.
      finish(res.statusCode === 404 ? 'unsupported' : 'alive', `status ${String(res.statusCode)}`);
    });
    req.on('error', (error) => finish('missed', error.message));
    req.end();
  }
}
