/**
 * The state of a client's plugin: `starting` (a start is under way, or a recycle: calls
 * wait for it), `running`, `exited` (gone; started again at the next call), `unavailable`
 * (given up on, or restarts are off: calls fail with `PLUGWIRE_UNAVAILABLE`), `closed` (by
 * `close()`).
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
