/** How a started plugin ended. */
export interface PluginExit {
  /** The exit code, or `null` when it was killed by a signal (or was served in-process). */
  readonly code: number | null;
  /** The signal that ended it, if any. */
  readonly signal: NodeJS.Signals | null;
}

/** What a starter is given to start a plugin. */
export interface StartContext {
  /** The socket path the plugin must listen on (for a process: `PLUGIN_SOCKET`). */
  readonly socket: string;
  /**
   * The private directory plugwire made for the socket, when it made one. A process is
   * told in `PLUGWIRE_SOCKET_DIR`, so that it removes the directory if its host dies.
   */
  readonly socketDir?: string;
  /** Time the plugin has to become ready, ms. */
  readonly startTimeout: number;
  /** Time between SIGTERM and SIGKILL when terminating, ms. */
  readonly terminationGrace: number;
  /** Fires when the client is closed while the start is under way. */
  readonly signal: AbortSignal;
  /**
   * A fresh random access token for this start. Hand it to the plugin (a process:
   * environment variable `PLUGWIRE_TOKEN`; in-process: `serve({ token })`) and it answers
   * only calls that carry it. Never log it.
   */
  readonly token: string;
}

/** A plugin that a {@link Starter} started. */
export interface StartedPlugin {
  /** The process id, for a plugin that runs as a process. */
  readonly pid?: number;
  /**
   * The token the plugin expects, when it is not the one in the {@link StartContext}
   * (a starter that reused a running plugin returns that plugin's token).
   */
  readonly token?: string;
  /** Settles (never rejects) once the plugin is gone, whoever ended it. */
  readonly exited: Promise<PluginExit>;
  /**
   * Stops the plugin (for a process: SIGTERM, then SIGKILL after the grace period) and
   * resolves once it is gone. Safe to call more than once.
   */
  term(): Promise<void>;
}

/**
 * Starts a plugin so that it listens on a given socket. plugwire ships
 * {@link startWithCommand} and {@link startWithProvider}; write your own to start
 * plugins another way (a container, a pre-forked pool).
 *
 * @remarks
 * `start()` resolves once the plugin listens on `context.socket`, and rejects with a
 * {@link StartError} if it never does. The client calls it again to restart a plugin
 * that is gone.
 */
export interface Starter {
  /** The plugin's name in logs and errors. */
  readonly name: string;
  /** Starts the plugin; see {@link StartContext}. */
  start(context: StartContext): Promise<StartedPlugin>;
}
