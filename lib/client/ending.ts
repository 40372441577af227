import type { PluginExit, StartedPlugin } from '../starters/starter';

/*
 * How a plugin process ended: by itself (a crash, an exit), or ended by its supervisor,
 * whose signal is then no news about the plugin: the supervisor's reason is what is told.
 */

/** Why a supervisor ends a plugin whose socket refuses connections; `connect()` tells it apart. @internal */
export const NOT_ACCEPTING = 'it stopped accepting connections';

/**
 * How a process found gone before any call to it succeeded ended: `how` it exited, and
 * `endedBy`, why, when its supervisor ended it itself. @internal
 */
export interface UnansweredExit {
  readonly how: string;
  readonly exit: PluginExit;
  readonly endedBy?: string;
}

/**
 * How a process exited, for the logs and the diagnostics.
 *
 * @param exit - its exit
 * @returns `killed by SIGTERM`, `exited with code 1`
 * @internal
 */
export function howItExited(exit: PluginExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/**
 * The processes a supervisor ended itself, and why: their exit is expected, and it is told
 * with that reason rather than as the signal the supervisor sent. @internal
 */
export class Endings {
  private readonly reasons = new WeakMap<StartedPlugin, string>();

  /** Notes why `instance` is ended; a reason noted before (the liveness check's) is kept. */
  note(instance: StartedPlugin, why: string): void {
    if (!this.reasons.has(instance)) this.reasons.set(instance, why);
  }

  /** Why the supervisor ended `instance`, if it did. */
  of(instance: StartedPlugin): string | undefined {
    return this.reasons.get(instance);
  }
}
