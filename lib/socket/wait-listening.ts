import { watch, type FSWatcher } from 'node:fs';
import * as path from 'node:path';
import { isListening } from './probe';

/** The first pause between two probes, ms: a plugin that is binding is usually there by then. */
const FIRST_PAUSE = 25;
/** The longest pause between two probes, ms: what a socket that appears unseen waits at most. */
const LAST_PAUSE = 500;

/** How {@link waitUntilListening} ended. @internal */
export type SocketWait = 'listening' | 'timeout' | 'aborted';

/**
 * Waits until something listens on a Unix socket path, for at most `timeout` ms, or until
 * `signal` fires. It wakes when the socket's directory changes under that name (the file
 * appears, or a restarted plugin replaces a stale one), and otherwise probes after a pause
 * that doubles from 25 ms to 500 ms: a file can exist before its process listens, or be
 * left by a dead one, and a directory that cannot be watched (it does not exist yet, or
 * a network file system) is probed all the same. Its timer and watcher are gone when it
 * settles; both keep the process alive while it waits, as any start under way does.
 *
 * @param socket - the socket path
 * @param timeout - how long to wait at most, ms
 * @param signal - ends the wait at once
 * @param listens - the probe (the real one unless a test passes its own)
 * @returns `listening`, `timeout` or `aborted`; never rejects
 * @internal
 */
export async function waitUntilListening(
  socket: string,
  timeout: number,
  signal: AbortSignal,
  listens: (socket: string) => Promise<boolean> = isListening,
): Promise<SocketWait> {
  const deadline = performance.now() + timeout;
  const name = path.basename(socket);
  let pause = FIRST_PAUSE;
  /** Ends the pause under way; unset while a probe runs. */
  let wake: (() => void) | undefined;
  /** Set by a change seen while a probe ran: the next probe comes without a pause. */
  let stirred = false;
  const onChange = (filename: string | Buffer | null): void => {
    if (filename !== null && String(filename) !== name) return;
    pause = FIRST_PAUSE;
    if (wake) wake();
    else stirred = true;
  };
  const onAbort = (): void => wake?.();
  signal.addEventListener('abort', onAbort, { once: true });
  let watcher: FSWatcher | undefined;
  try {
    for (let probed = false; ; probed = true) {
      if (signal.aborted) return 'aborted';
      if (await listens(socket)) return 'listening';
      if (signal.aborted) return 'aborted';
      const left = deadline - performance.now();
      if (left <= 0) return 'timeout';
      // Watched from the first miss on: the common case (it listens) never opens a watcher.
      if (!probed) watcher = watchDirectory(path.dirname(socket), onChange);
      if (stirred) {
        stirred = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, Math.min(pause, left));
        wake = done;
      });
      pause = Math.min(pause * 2, LAST_PAUSE);
    }
  } finally {
    watcher?.close();
    signal.removeEventListener('abort', onAbort);
  }
}

/** A watcher of a directory's entries, or `undefined` where it cannot be watched: probes alone then. */
function watchDirectory(dir: string, onChange: (filename: string | Buffer | null) => void): FSWatcher | undefined {
  try {
    const watcher = watch(dir, { persistent: true }, (_event, filename) => onChange(filename));
    // The directory removed, or the watch lost: the probes go on without it.
    watcher.on('error', () => watcher.close());
    return watcher;
  } catch {
    return undefined;
  }
}
