import { Socket } from 'node:net';
import { dirname } from 'node:path';
import { debug } from '../diagnostics/channels';
import { LIFELINE_ENV, SOCKET_DIR_ENV } from '../protocol/constants';

/*
 * A plugin server run as the plugin process: it closes and exits on SIGTERM or SIGINT,
 * and when the plugwire host that started it is gone (its lifeline, a pipe the host holds
 * open, closes).
 */

/** What the process watch needs of its server. @internal */
export interface WatchedServer {
  readonly inflight: number;
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

/** The host that started this plugin, as its lifeline tells. @internal */
export interface HostWatch {
  /** Whether the host is gone: its lifeline closed, or this process's parent changed. */
  gone(): boolean;
  /** The directory the host made for the socket, if it made one: removed after it once the host is gone. */
  readonly socketDir: string | undefined;
  /**
   * Resolves once the host is gone, or after `ms`: a host that dies closes its connections
   * a moment before its lifeline reads closed and this process is reparented.
   */
  goneWithin(ms: number): Promise<void>;
  /** Stops watching the lifeline. */
  stop(): void;
}

/**
 * Makes the process close the server and exit with status 0 on SIGTERM or SIGINT, and
 * when the host whose lifeline it inherited is gone.
 *
 * @param server - the server to close
 * @param socket - its socket path
 * @param onClose - run after the server closed, before the process exits
 * @param report - where a failed shutdown is reported
 * @returns the watch of the host, or `undefined` when no lifeline was passed
 * @internal
 */
export function exitWithHost(
  server: WatchedServer,
  socket: string,
  onClose: (() => void | Promise<void>) | undefined,
  report: (what: string, error: unknown) => void,
): HostWatch | undefined {
  let exiting = false;
  const shutdown = (why: string): void => {
    // A signal after the first (Ctrl-C, then the host stopping its plugin) is part of
    // the same graceful shutdown: the call in flight and the close hook still finish.
    if (exiting) {
      if (debug.enabled) debug('%s: already closing', why);
      return;
    }
    exiting = true;
    if (debug.enabled) debug('%s: closing, %d calls in flight', why, server.inflight);
    void server
      .close()
      .then(() => onClose?.())
      .catch((error: unknown) => report('shutdown failed', error))
      .finally(() => process.exit(0));
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const onSignal = (): void => shutdown(signal);
    // Installed until the process exits: without a listener, a later signal's default
    // action would end the process in its grace period.
    process.on(signal, onSignal);
    void server.closed.then(() => {
      if (!exiting) process.off(signal, onSignal); // closed by the plugin's own close()
    });
  }
  const fd = Number(process.env[LIFELINE_ENV]);
  const socketDir = process.env[SOCKET_DIR_ENV];
  // The variables name things of this process only: children must not inherit them.
  delete process.env[LIFELINE_ENV];
  delete process.env[SOCKET_DIR_ENV];
  if (!Number.isInteger(fd) || fd <= 2) return undefined;
  // The host dying closes the lifeline and makes this process an orphan; the shutdown
  // checks the parent too, since the host's connections may close a moment before the lifeline.
  const hostPid = process.ppid;
  let lifelineClosed = false;
  const waiters = new Set<() => void>();
  const hostGone = (): void => {
    lifelineClosed = true;
    for (const waiter of waiters) waiter();
    waiters.clear();
    shutdown('the host is gone');
  };
  let stop: () => void = () => undefined;
  try {
    const lifeline = new Socket({ fd, readable: true, writable: false });
    lifeline.on('error', hostGone);
    lifeline.on('close', hostGone);
    lifeline.on('data', () => undefined); // the host never writes; reading lets EOF arrive
    lifeline.unref();
    stop = () => {
      lifeline.off('close', hostGone);
      lifeline.off('error', hostGone);
      lifeline.destroy();
    };
  } catch {
    // not a pipe we can watch (started by something else): nothing to watch
  }
  const gone = (): boolean => lifelineClosed || process.ppid !== hostPid;
  return {
    gone,
    goneWithin: (ms) =>
      gone()
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const done = (): void => {
              clearTimeout(timer);
              waiters.delete(done);
              resolve();
            };
            const timer = setTimeout(done, ms);
            waiters.add(done);
          }),
    socketDir: socketDir !== undefined && dirname(socket) === socketDir ? socketDir : undefined,
    stop,
  };
}
