import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { debug } from '../diagnostics/channels';
import { watchClock, type WatchTurn } from './liveness';

/** How often a plugin's resident memory is read, ms. @internal */
export const MEMORY_CHECK_INTERVAL = 1000;

/** What a memory watch reads, and whom it tells. @internal */
export interface MemoryTarget {
  /** The plugin's name, for debug lines. */
  readonly name: string;
  /** The process whose resident memory is read. */
  readonly pid: number;
  /** `limits.memoryMiB`. */
  readonly limitMiB: number;
  /**
   * The process used more than the limit: recycle it.
   * @param again - it was over at the last reading too, and kept
   * @returns true to go on watching (the process is kept for now), false to stop
   */
  over(usedMiB: number, again: boolean): boolean;
}

/**
 * The resident memory of a process (its `VmRSS`), in whole MiB rounded up, from
 * `/proc/<pid>/status`.
 *
 * @param pid - the process
 * @returns the MiB, or `undefined` when the file has no `VmRSS` line (a zombie)
 * @throws the read's error: ENOENT when the process is gone, or on a system without /proc
 * @internal
 */
export async function residentMiB(pid: number): Promise<number | undefined> {
  return vmRssMiB(await readFile(`/proc/${pid}/status`, 'latin1'));
}

/** The `VmRSS` line of a `/proc/<pid>/status`, in whole MiB rounded up. */
function vmRssMiB(status: string): number | undefined {
  const kB = /^VmRSS:\s*(\d+)\s*kB/m.exec(status)?.[1];
  return kB === undefined ? undefined : Math.ceil(Number(kB) / 1024);
}

/** Whether a process with this pid exists (a zombie included). */
function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Reads one plugin process's resident memory every {@link MEMORY_CHECK_INTERVAL} ms and
 * tells its target when it is over the limit, until the target recycles it (or keeps it
 * for now: then the watch reads on). It stops by itself on the first read that fails: the
 * process is gone, or the system has no /proc (then the heap limit of a Node plugin is all
 * that holds it). Its turns are on the host's watch clock; the read is
 * synchronous (a file of procfs, made as it is read: no disk, tens of µs), which spares
 * the thread pool's round trips (open, stat, read, close), each a wake of the host.
 * @internal
 */
export class MemoryWatch {
  private turn: WatchTurn | undefined;
  private stopped = false;
  /** The last reading was over the limit, and the target kept the process. */
  private kept = false;

  constructor(private readonly target: MemoryTarget) {
    this.schedule();
  }

  /** No reading from now on: the process is gone or recycled, or the client closed. */
  stop(): void {
    this.stopped = true;
    watchClock.cancel(this.turn);
    this.turn = undefined;
  }

  private schedule(): void {
    // Off the grid: two clients of the host that share one process (one socket path) must
    // not find it over the limit on the same turn, or both recycle it at once and neither
    // gets it back (see docs/restarts.md, recycling).
    this.turn = watchClock.book(MEMORY_CHECK_INTERVAL, () => this.check(), 1);
  }

  private check(): void {
    this.turn = undefined;
    if (this.stopped) return;
    const { name, pid, limitMiB } = this.target;
    let used: number | undefined;
    try {
      used = vmRssMiB(readFileSync(`/proc/${pid}/status`, 'latin1'));
    } catch (error) {
      this.stop();
      if (debug.enabled) {
        const why = exists(pid) ? `its memory cannot be read (${(error as Error).message}): limits.memoryMiB is not watched` : 'it is gone';
        debug('[%s] memory watch of pid %d stopped: %s', name, pid, why);
      }
      return;
    }
    if (used !== undefined && used > limitMiB) {
      this.kept = this.target.over(used, this.kept);
      if (!this.kept) return this.stop();
    } else {
      this.kept = false;
    }
    if (!this.stopped) this.schedule();
  }
}

/**
 * Starts watching a plugin process's memory, when there is something to watch: a limit, a
 * process (an in-process plugin has none of its own), and Linux, whose /proc tells the
 * resident memory without a native module or a child process. Elsewhere nothing is watched.
 *
 * @param target - the process, its limit, and what to do once it is over it
 * @returns the watch, or `undefined` when nothing is watched
 * @internal
 */
export function watchMemory(target: Omit<MemoryTarget, 'pid' | 'limitMiB'> & { readonly pid: number | undefined; readonly limitMiB: number | undefined }): MemoryWatch | undefined {
  const { pid, limitMiB } = target;
  if (pid === undefined || limitMiB === undefined || process.platform !== 'linux') return undefined;
  return new MemoryWatch({ ...target, pid, limitMiB });
}
