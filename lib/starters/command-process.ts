import type { ChildProcess } from 'node:child_process';
import { untrackChild } from '../util/exit-cleanup';
import { OutputTail } from './plugin-output';
import type { PluginExit, StartedPlugin } from './starter';

/**
 * How long the output pipes of a plugin that exited are still read. Usually they end at
 * once; the plugin's own children may hold them open, and then they are let go.
 */
const PIPE_DRAIN_MS = 250;

/** Closes the pipes to a process that exited, once what it wrote has been read. */
function releasePipes(child: ChildProcess): void {
  child.stdio.forEach((stream, fd) => {
    if (!stream || stream.destroyed) return;
    if (fd !== 1 && fd !== 2) {
      stream.destroy();
      return;
    }
    const timer = setTimeout(() => stream.destroy(), PIPE_DRAIN_MS);
    timer.unref();
    stream.once('close', () => clearTimeout(timer));
  });
}

/**
 * A plugin process that {@link spawnCommand} started: when it ended, and how it is stopped
 * (SIGTERM, then SIGKILL after the grace period). @internal
 */
export class CommandPlugin implements StartedPlugin {
  readonly exited: Promise<PluginExit>;
  /** The last lines of the process's standard error, for the whole of its life. */
  readonly stderrTail = new OutputTail();
  private closing: Promise<void> | undefined;
  private exit: PluginExit | undefined;

  /**
   * @param child - the spawned process
   * @param grace - time between SIGTERM and SIGKILL, ms
   * @param token - the access token the process was given
   */
  constructor(readonly child: ChildProcess, private readonly grace: number, readonly token: string) {
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.exit) return;
        // Read when asked: the last words may still be in the pipe at the exit.
        const tail = this.stderrTail;
        this.exit = {
          code,
          signal,
          get stderr(): string | undefined {
            return tail.text === '' ? undefined : tail.text;
          },
        };
        releasePipes(child);
        untrackChild(child);
        resolve(this.exit);
      };
      child.once('exit', done);
      // A process that could not be spawned emits 'error' and never 'exit'.
      child.on('error', () => {
        if (child.pid === undefined) done(null, null);
      });
    });
  }

  /** The process id; `undefined` for a process that could not be spawned. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether the process has not exited yet. */
  get alive(): boolean {
    return this.exit === undefined;
  }

  /** Stops the process and resolves once it exited; safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= this.stop();
    return this.closing;
  }

  /** The same as {@link CommandPlugin.close}. */
  term(): Promise<void> {
    return this.close();
  }

  private async stop(): Promise<void> {
    if (this.exit === undefined) {
      // The running plugin does not keep the host alive, but a host awaiting its end must
      // see it through (grace, SIGKILL, exit): otherwise the event loop may empty at that
      // await and the host exit without running the code after it.
      this.child.ref();
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), this.grace);
      await this.exited;
      clearTimeout(timer);
    }
  }
}
