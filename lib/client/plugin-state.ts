/**
 * The state of a client's plugin: `starting` (a start is under way, or a recycle: calls
 * wait for it), `running`, `exited` (gone; started again at the next call), `unavailable`
 * (given up on, or restarts are off: calls fail with `PLUGWIRE_UNAVAILABLE`), `closed` (by
 * `close()`).
 */
export type PluginState = 'starting' | 'running' | 'exited' | 'unavailable' | 'closed';

/** Start and restart counters, of one instance or summed over a client's instances. */
export interface PluginCounters {
  /** Processes started, the first start included. */
  readonly starts: number;
  /** Restarts after the plugin was gone (attempted, whether they succeeded or not). */
  readonly restarts: number;
  /** Starts that failed, the first start included. */
  readonly failedStarts: number;
  /**
   * Graceful replacements of a running process, by `client.recycle()` or over
   * `limits.memoryMiB`: each also counts in `starts`, never in `restarts`.
   */
  readonly recycles: number;
}

/** The calls of a client right now, for monitoring: see `client.load`. */
export interface PluginLoad {
  /** Calls holding one of `maxInFlight`: sent, or waiting for a restart. */
  readonly inFlight: number;
  /** Calls waiting behind them; past `maxQueued`, calls are refused with `PLUGWIRE_OVERLOADED`. */
  readonly queued: number;
}

/** One instance of a client's plugin (a process on its own socket), as `client.stats.instances` shows it. */
export interface InstanceStats extends PluginCounters {
  /** Its place in the pool, from 0. */
  readonly index: number;
  /** The socket path it listens on. */
  readonly socket: string;
  /** Its state: see {@link PluginState}. */
  readonly state: PluginState;
  /** The process id of its running process, when it runs as a process. */
  readonly pid: number | undefined;
  /** Its calls right now. */
  readonly load: PluginLoad;
}

/**
 * Counters a client keeps, for monitoring and tests: summed over its instances, and
 * `instances` with each one's own (one entry unless `instances` was set).
 */
export interface PluginStats extends PluginCounters {
  /** Each instance's own state, process, counters and load, in the order of their index. */
  readonly instances: readonly InstanceStats[];
}
