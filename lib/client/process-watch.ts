import type { StartedPlugin } from '../starters/starter';
import { exitsWithin } from '../util/abortable';
import type { PluginConfig } from './config';
import { LivenessMonitor } from './liveness';
import { watchMemory, type MemoryWatch } from './memory-watch';

/** One running plugin process, as its watch sees it, and whom the watch tells. @internal */
export interface WatchedProcess {
  readonly name: string;
  readonly socket: string;
  readonly pid: number | undefined;
  /** The headers of a request to the process (its token), read at each probe. */
  headers(): Readonly<Record<string, string>>;
  /** It failed the liveness policy's probes in a row. Called once. */
  wedged(why: string): void;
  /**
   * It uses more resident memory than `limits.memoryMiB` (`again`: as at the last reading,
   * when it was kept); returns whether to watch on.
   */
  overMemory(usedMiB: number, again: boolean): boolean;
}

/**
 * What a supervisor watches of its running process besides its exit: its liveness
 * (while the policy is on) and its memory (while `limits.memoryMiB` is set, on Linux).
 * Stopped as a whole when the process is gone, replaced or recycled, or the client closes.
 * @internal
 */
export class ProcessWatch {
  private readonly liveness: LivenessMonitor | undefined;
  private readonly memory: MemoryWatch | undefined;

  constructor(config: PluginConfig, target: WatchedProcess) {
    const { name, socket, pid } = target;
    this.liveness = config.liveness ? new LivenessMonitor(config.liveness, { name, socket, headers: () => target.headers(), wedged: (why) => target.wedged(why) }) : undefined;
    this.memory = watchMemory({ name, pid, limitMiB: config.limits.memoryMiB, over: (used, again) => target.overMemory(used, again) });
  }

  /** The process answered something: it is alive. */
  heard(): void {
    this.liveness?.heard();
  }

  /** A call to it timed out: probe it now. */
  suspect(): void {
    this.liveness?.suspect();
  }

  stop(): void {
    this.liveness?.stop();
    this.memory?.stop();
  }
}

/** Sends a signal to a process that may be gone already. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone: its exit is on its way
  }
}

/**
 * Stops a process that failed the liveness check: SIGTERM, then SIGKILL after `grace` ms
 * (a process that cannot answer a probe will not close itself gracefully either).
 *
 * @param instance - the started plugin; nothing is sent to one without a pid
 * @param grace - ms between the two signals
 * @returns once it exited, or once SIGKILL was sent
 * @internal
 */
export async function killWedged(instance: StartedPlugin, grace: number): Promise<void> {
  const { pid } = instance;
  if (pid === undefined) return;
  signal(pid, 'SIGTERM');
  if (!(await exitsWithin(instance, grace))) signal(pid, 'SIGKILL');
}
