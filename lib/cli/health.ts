// `plugwire health`: one request to a running plugin's health route, for an exec liveness or
// readiness probe (Kubernetes, a service manager). node:http over the socket, no client,
// pool or library: a probe runs every few seconds, so it starts fast and leaves nothing
// behind (one connection, closed with the answer).
import { statSync } from 'node:fs';
import { request } from 'node:http';
import type { ExitReason } from './exit-codes';
import { refusedToken } from './token';

/**
 * The health route, `/.plugwire/health` (HEALTH_ROUTE in lib/protocol/constants.ts, which
 * the package's entry does not export; spec/cli/health.spec.ts checks that the two agree).
 * @internal
 */
export const HEALTH_ROUTE = '/.plugwire/health';

/** The default of `--timeout` for `plugwire health`, ms: well within a probe's own `timeoutSeconds`. */
export const HEALTH_TIMEOUT = 1000;

/**
 * Why the plugin is not healthy: the reason picks the exit status, the message is the one
 * line on standard error.
 * @internal
 */
export class HealthFailure extends Error {
  /**
   * @param reason - the exit reason (see EXIT_CODES)
   * @param message - what happened, in one line
   */
  constructor(
    readonly reason: ExitReason,
    message: string,
  ) {
    super(message);
  }
}

/** A healthy answer: 200 from a plugwire plugin, 404 from a version 1 plugin (no health route). */
export interface HealthAnswer {
  /** The answer's status: 200, or 404 from a version 1 plugin. */
  readonly status: 200 | 404;
  /** From the start of the connection to the end of the answer, ms. */
  readonly elapsed: number;
}

/**
 * What is at a path that should be a socket but is not: `a regular file`, `a directory`, or
 * `not a socket`; `undefined` for a socket, or nothing at all (it went away meanwhile).
 * Connecting to a file or a directory is refused as a stale socket is (ECONNREFUSED), and
 * the remedy differs: a wrong path or a volume mounted wrongly, not a dead plugin.
 * @internal
 */
export function notASocket(path: string): string | undefined {
  let stats;
  try {
    // stat, not lstat: connect() follows a symbolic link, so what counts is where it leads.
    stats = statSync(path);
  } catch {
    return undefined;
  }
  if (stats.isSocket()) return undefined;
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a directory';
  return 'not a socket';
}

/** The words for a path that is not a socket: what it is, and what to check. @internal */
export function notASocketText(what: string): string {
  return `it is ${what}, not a socket (check the path, or the volume mount that should bring the plugin's socket)`;
}

/** What a failed connection says about the socket path. */
function unreachable(socket: string, error: NodeJS.ErrnoException): HealthFailure {
  switch (error.code) {
    case 'ENOENT':
      return new HealthFailure('PLUGWIRE_START', `nothing listens on ${socket}: no such file`);
    case 'ECONNREFUSED': {
      const what = notASocket(socket);
      if (what !== undefined) return new HealthFailure('PLUGWIRE_START', `nothing listens on ${socket}: ${notASocketText(what)}`);
      // The file of a plugin that died without removing it (SIGKILL).
      return new HealthFailure('PLUGWIRE_START', `nothing listens on ${socket}: connection refused (a stale socket file)`);
    }
    case 'EACCES':
    case 'EPERM':
      return new HealthFailure('PLUGWIRE_START', `cannot connect to ${socket}: permission denied (the socket is the plugin user's alone, mode 0600: probe as that user)`);
    default:
      return new HealthFailure('PLUGWIRE_START', `cannot connect to ${socket}: ${error.message}`);
  }
}

/**
 * Asks the plugin on `socket` whether it is alive: `GET /.plugwire/health` with the token.
 * A plugwire plugin answers 200 from its server's own code, without running user code, so a
 * plugin whose event loop is stuck does not answer. A version 1 plugin (a Go plugin, an
 * older plugwire) has no health route and answers 404: it answered, so it is alive.
 *
 * @param socket - the plugin's socket path
 * @param token - the token to send, or `undefined` for none
 * @param timeout - the bound on the whole exchange, ms; `0` for none
 * @returns the answer's status and how long it took
 * @throws {@link HealthFailure}: `PLUGWIRE_START` when nothing listens (no file, a stale
 * socket file, no permission), `PLUGWIRE_PROTOCOL` for a refused token (401) or any other
 * answer, or something that does not speak HTTP, `PLUGWIRE_TIMEOUT` when no answer came in time
 * @internal
 */
export function checkHealth(socket: string, token: string | undefined, timeout: number): Promise<HealthAnswer> {
  const began = performance.now();
  return new Promise((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (outcome: HealthAnswer | HealthFailure): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // One connection of our own (no agent): destroying it is all the clean-up there is.
      req.destroy();
      if (outcome instanceof HealthFailure) reject(outcome);
      else resolve(outcome);
    };
    const headers: Record<string, string> = { connection: 'close' };
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    const req = request({ socketPath: socket, path: HEALTH_ROUTE, method: 'GET', headers, agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      res.once('end', () => {
        const elapsed = Math.round(performance.now() - began);
        if (status === 200 || status === 404) settle({ status, elapsed });
        else if (status === 401) settle(new HealthFailure('PLUGWIRE_PROTOCOL', refusedToken(socket, token)));
        else settle(new HealthFailure('PLUGWIRE_PROTOCOL', `the plugin on ${socket} answered the health route with status ${status}, not 200`));
      });
      res.on('error', (error) => settle(new HealthFailure('PLUGWIRE_PROTOCOL', `the answer of the plugin on ${socket} broke off: ${error.message}`)));
    });
    let connected = false;
    req.once('socket', (connection) => connection.once('connect', () => (connected = true)));
    req.on('error', (error: NodeJS.ErrnoException) => {
      // Connected, then no answer it could read: something there that is not a plugin.
      if (connected) settle(new HealthFailure('PLUGWIRE_PROTOCOL', `the plugin on ${socket} gave no answer to the health route: ${error.message}`));
      else settle(unreachable(socket, error));
    });
    if (timeout > 0) {
      timer = setTimeout(() => settle(new HealthFailure('PLUGWIRE_TIMEOUT', `the plugin on ${socket} did not answer within ${timeout} ms (a stuck event loop, or a stopped process)`)), timeout);
    }
    req.end();
  });
}
