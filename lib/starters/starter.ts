/** How a started plugin ended. */
export interface PluginExit {
  /** The exit code, or `null` when it was killed by a signal (or was served in-process). */
  readonly code: number | null;
  /** The signal that ended it, if any. */
  readonly signal: NodeJS.Signals | null;
  /**
   * The last lines it wrote to standard error, as far as they were read (a process that
   * {@link spawnCommand} started; other starters may leave it out): what a plugin that
   * died after it became ready said last.
   */
  readonly stderr?: string | undefined;
}

/** What a starter is given to start a plugin. */
export interface StartContext {
  /** The socket path the plugin must listen on (for a process: `PLUGIN_SOCKET`). */
  readonly socket: string;
  /**
   * The private directory plugwire made for the socket, when it made one. A process is
   * told in `PLUGWIRE_SOCKET_DIR`, so that it removes the directory if its host dies.
   */
  readonly socketDir?: string | undefined;
  /** Time the plugin has to become ready, ms. */
  readonly startTimeout: number;
  /** Time between SIGTERM and SIGKILL when stopping a process, ms. */
  readonly terminationGrace: number;
  /** Fires when the client is closed while the start is under way. */
  readonly signal: AbortSignal;
  /**
   * A fresh random access token for this start. Hand it to the plugin (a process:
   * environment variable `PLUGWIRE_TOKEN`; in-process: `serve({ token })`) and it answers
   * only calls that carry it. Never log it.
   */
  readonly token: string;
  /**
   * The host services the plugin may call, when its host offers any
   * (`connect(..., { services })`): the socket and the token. Hand them to the plugin (a
   * process: `PLUGWIRE_HOST_SOCKET` and `PLUGWIRE_HOST_TOKEN`; in-process:
   * `serve({ host })`). The same at every restart. Never log the token.
   */
  readonly host?:
    | {
        /** The socket path the host serves its services on. */
        readonly socket: string;
        /** The token of the host services (not the plugin's own). */
        readonly token: string;
      }
    | undefined;
  /**
   * The plugin's memory limit in MiB (`limits.memoryMiB`), when one is set; the client
   * watches the process's resident memory itself. {@link spawnCommand} also passes it to
   * the plugin as its heap limit, `--max-old-space-size` appended to `NODE_OPTIONS`, so that
   * a Node plugin fails fast rather than swap (other programs ignore the variable); a
   * starter of your own may hand it on as it can (a container's memory limit).
   */
  readonly memoryMiB?: number | undefined;
}

/**
 * A plugin that a {@link Starter} started. plugwire stops it with `close()`, or with
 * `term()` for a starter written for 0.1, which has only that one.
 */
export interface StartedPlugin {
  /** The process id, for a plugin that runs as a process. */
  readonly pid?: number | undefined;
  /**
   * The token the plugin expects, when it is not the one in the {@link StartContext}
   * (a starter that reused a running plugin returns that plugin's token).
   */
  readonly token?: string | undefined;
  /** Settles (never rejects) once the plugin is gone, whoever ended it. */
  readonly exited: Promise<PluginExit>;
  /**
   * Stops the plugin (for a process: SIGTERM, then SIGKILL after the grace period) and
   * resolves once it is gone. Safe to call more than once.
   *
   * @returns a promise that resolves once the plugin is gone
   */
  close?(): Promise<void>;
  /**
   * The same as `close()`, under its name of 0.1. Still required in 0.2, so that code
   * written for 0.1 that calls it on a started plugin (a starter that wraps another) keeps
   * compiling: give both, `const close = ...; return { exited, close, term: close }`.
   *
   * @deprecated call and implement {@link StartedPlugin.close}; in 0.3 `close()` becomes
   * required and this goes
   * @returns a promise that resolves once the plugin is gone
   */
  term(): Promise<void>;
}

/**
 * Stops a started plugin through its `close()`, or the deprecated `term()` of a starter
 * written for 0.1.
 *
 * @param instance - what a starter's `start()` returned
 * @param starter - the starter's name, for the error
 * @returns a promise that resolves once the plugin is gone
 * @throws TypeError (the promise rejects) when the instance has neither method
 * @internal
 */
export function closeStarted(instance: StartedPlugin, starter = 'plugin'): Promise<void> {
  if (typeof instance.close === 'function') return instance.close();
  if (typeof instance.term === 'function') return instance.term();
  return Promise.reject(new TypeError(`the starter of ${starter} returned a started plugin without close(): it cannot be stopped`));
}

/**
 * Starts a plugin so that it listens on a given socket. plugwire ships
 * {@link spawnCommand}, {@link serveInProcess} and {@link attachToSocket}; write your own
 * to start plugins another way (a container, a pre-forked pool).
 *
 * @remarks
 * `start()` resolves once the plugin listens on `context.socket`, and rejects with a
 * {@link StartError} if it never does. The client calls it again to restart a plugin
 * that is gone, and stops it with the started plugin's `close()`.
 *
 * @example
 * ```ts
 * const starter: Starter = {
 *   name: 'modifier',
 *   async start(context) {
 *     const server = await serve(new ModifierImpl(), { socket: context.socket, token: context.token, announce: false, standalone: false });
 *     const close = () => server.close();
 *     return { exited: server.closed.then(() => ({ code: 0, signal: null })), close, term: close };
 *   },
 * };
 * ```
 */
export interface Starter {
  /** The plugin's name in logs and errors. */
  readonly name: string;
  /**
   * `true` for a starter that starts nothing but reaches a plugin that runs already on the
   * socket ({@link attachToSocket}): a client of it cannot run a pool (`instances` above 1).
   */
  readonly attached?: boolean | undefined;
  /**
   * Starts the plugin.
   *
   * @param context - the socket to listen on, the token, the time allowed, and a signal
   * that fires when the client is closed meanwhile
   * @returns the started plugin, once it listens on the socket
   */
  start(context: StartContext): Promise<StartedPlugin>;
}
