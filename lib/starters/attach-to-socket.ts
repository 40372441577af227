import * as path from 'node:path';
import { StartError } from '../errors/plugin-error';
import { TOKEN_FILE_ENV } from '../protocol/constants';
import { isListening } from '../socket/probe';
import { waitUntilListening } from '../socket/wait-listening';
import { readTokenFile } from '../util/token-file';
import type { PluginExit, StartContext, StartedPlugin, Starter } from './starter';

/** Options of {@link attachToSocket}. */
export interface AttachOptions {
  /** The plugin's name in messages. Default `plugin`. */
  readonly name?: string;
  /** The access token the plugin expects, if it was started with one (`PLUGWIRE_TOKEN`). */
  readonly token?: string;
  /**
   * A file that holds the access token the plugin expects (a mounted Kubernetes Secret),
   * read at each start, so that a restart after the secret was rotated sends the new
   * one. Surrounding whitespace is not part of the token. Not with `token`. When neither
   * is given, the file named by the environment variable `PLUGWIRE_TOKEN_FILE`
   * ({@link TOKEN_FILE_ENV}) is read, if it is set.
   */
  readonly tokenFile?: string;
  /**
   * Whether a start waits for the plugin to listen on the socket, at most the client's
   * `startTimeout`: for a plugin that may come up after its host or that something else
   * restarts (a sidecar container, a service manager). Default `true`; `false`: a start
   * fails at once when nothing listens (a command-line tool that reports it at once).
   */
  readonly wait?: boolean;
}

/** @deprecated use {@link AttachOptions}; removed in 0.3 */
export type RunningOptions = AttachOptions;

/**
 * A starter for a plugin that runs on the socket without the host starting it (started
 * by hand, by a service manager, by another host, or in a container of its own beside the
 * host's: a sidecar sharing the socket's directory through a volume): it starts nothing,
 * and `close()` leaves the plugin running, and its socket file.
 *
 * @remarks
 * Its start, the first and each restart the client asks for after the
 * plugin went away, waits until something listens on the socket: at most the client's
 * `startTimeout` (10 s by default), and no longer once the client is closed. So a sidecar
 * may come up after its host, and a plugin its container runtime restarts is found again.
 * Meanwhile calls follow the usual rules: an idempotent call waits for it within its
 * timeout; an `idempotent: false` call that may have reached the plugin that died fails
 * with `PLUGWIRE_UNAVAILABLE`; after `restart.maxRestarts` starts in a row that found no
 * plugin, calls fail at once with `PLUGWIRE_UNAVAILABLE` for `restart.cooldown`. With
 * `wait: false`, a start fails at once when nothing listens.
 *
 * The token sent is `token`, else the content of `tokenFile`, else that of the file named
 * by `PLUGWIRE_TOKEN_FILE`, else the one the client made (which a plugin it did not start
 * does not know: give one of the others if the plugin has a token).
 *
 * @param options - the plugin's name, the token it expects or the file that holds it, and
 * whether a start waits for the socket
 * @returns a {@link Starter} whose start fails with a {@link StartError}: reason `socket`
 * when nothing listens on the socket (within `startTimeout`, with `wait`), `aborted` when
 * the client is closed meanwhile; and with a `DefinitionError` (`PLUGWIRE_DEFINITION`)
 * when the token file cannot be read, is empty, or holds what a token cannot
 * @throws TypeError when both `token` and `tokenFile` are given, or `tokenFile` is not a
 * non-empty string
 *
 * @example
 * ```ts
 * const { plugin } = await connect(Modifier, attachToSocket({ tokenFile: '/run/secrets/modifier/token' }), {
 *   socket: '/run/plugins/modifier.sock',
 *   startTimeout: 30_000,
 * });
 * ```
 */
export function attachToSocket(options: AttachOptions = {}): Starter {
  const name = options.name ?? 'plugin';
  const { token, tokenFile } = options;
  const wait = options.wait !== false;
  if (tokenFile !== undefined) {
    if (token !== undefined) throw new TypeError(`attachToSocket(): give either token or tokenFile, not both (plugin ${name})`);
    if (typeof tokenFile !== 'string' || tokenFile === '') throw new TypeError(`attachToSocket(): tokenFile must be a file path, got ${JSON.stringify(tokenFile)}`);
  }
  /** The token to send, read afresh: a rotated secret is seen by the next start. */
  const tokenNow = (): string | undefined => {
    if (token !== undefined) return token;
    if (tokenFile !== undefined) return readTokenFile(tokenFile, 'attachToSocket({ tokenFile })');
    const fromEnvironment = process.env[TOKEN_FILE_ENV];
    return fromEnvironment ? readTokenFile(fromEnvironment, TOKEN_FILE_ENV) : undefined;
  };
  return attachedStarter(name, tokenNow, wait);
}

/**
 * The starter of a plugin that runs without the host starting it: {@link attachToSocket}'s,
 * and that of a plugin's own client of its host's services, which sends the host's token
 * and never waits (a host that is gone is gone for good).
 *
 * @param name - the plugin's name in messages
 * @param tokenNow - the token to send, read at each start (`undefined`: the client's own)
 * @param wait - whether a start waits, at most `startTimeout`, for something to listen
 * @returns the starter
 * @internal
 */
export function attachedStarter(name: string, tokenNow: () => string | undefined, wait: boolean): Starter {
  return {
    name,
    attached: true,
    async start(context: StartContext): Promise<StartedPlugin> {
      const { socket, startTimeout, signal } = context;
      // Read before the wait too, so that a bad file fails the start at once, not after it.
      tokenNow();
      if (signal.aborted) throw new StartError(`start of ${name} was cancelled`, 'aborted');
      const outcome = wait ? await waitUntilListening(socket, startTimeout, signal) : (await isListening(socket)) ? 'listening' : 'absent';
      if (outcome === 'absent') throw new StartError(`no plugin is listening on ${socket}`, 'socket');
      if (outcome === 'aborted') throw new StartError(`start of ${name} was cancelled: the client was closed while it waited for ${socket}`, 'aborted');
      if (outcome === 'timeout') throw new StartError(notListening(name, socket, startTimeout), 'socket');
      // The plugin that listens now read its secret before it listened: read it again.
      const expected = tokenNow();
      // Never settles: the process is not ours to watch.
      const exited = new Promise<PluginExit>(() => undefined);
      const close = (): Promise<void> => Promise.resolve();
      return { exited, token: expected ?? context.token, close, term: close };
    },
  };
}

/** What a start that found no plugin says: where it looked, and what to check. */
function notListening(name: string, socket: string, startTimeout: number): string {
  return (
    `no plugin ${name} is listening on ${socket} after ${startTimeout} ms (startTimeout). attachToSocket() starts nothing: ` +
    `is the plugin (its container) running, and does it listen on this path? In a container of its own, it must share ` +
    `the directory ${path.dirname(socket)} with the host through a volume, mounted at the same path in both. ` +
    `If the plugin takes longer to come up, raise startTimeout.`
  );
}

/** @deprecated use {@link attachToSocket}; removed in 0.3 */
export const startRunning: typeof attachToSocket = attachToSocket;
