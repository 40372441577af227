import { StartError } from '../errors/plugin-error';
import { isListening } from '../socket/probe';
import type { PluginExit, StartContext, StartedPlugin, Starter } from './starter';

/** Options of {@link attachToSocket}. */
export interface AttachOptions {
  /** The plugin's name in messages. Default `plugin`. */
  readonly name?: string;
  /** The access token the plugin expects, if it was started with one (`PLUGWIRE_TOKEN`). */
  readonly token?: string;
}

/** @deprecated use {@link AttachOptions}; removed in 0.3 */
export type RunningOptions = AttachOptions;

/**
 * A starter for a plugin that already runs on the socket (started by hand, by a service
 * manager, or by another host): it starts nothing, and `close()` leaves the plugin running.
 * If the plugin goes away, calls fail with `PLUGWIRE_UNAVAILABLE` until it is back.
 *
 * @param options - the plugin's name and the token it expects
 * @returns a {@link Starter} whose start fails with a {@link StartError} (reason `socket`)
 * when nothing listens on the socket
 *
 * @example
 * ```ts
 * const { plugin } = await connect(Modifier, attachToSocket(), { socket: '/run/modifier.sock' });
 * ```
 */
export function attachToSocket(options: AttachOptions = {}): Starter {
  const name = options.name ?? 'plugin';
  return {
    name,
    attached: true,
    async start(context: StartContext): Promise<StartedPlugin> {
      if (!(await isListening(context.socket))) {
        throw new StartError(`no plugin is listening on ${context.socket}`, 'socket');
      }
      // Never settles: the process is not ours to watch.
      const exited = new Promise<PluginExit>(() => undefined);
      const close = (): Promise<void> => Promise.resolve();
      return { exited, token: options.token ?? context.token, close, term: close };
    },
  };
}

/** @deprecated use {@link attachToSocket}; removed in 0.3 */
export const startRunning: typeof attachToSocket = attachToSocket;
