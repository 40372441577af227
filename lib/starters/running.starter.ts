import { StartError } from '../errors/plugin-error';
import { isListening } from '../socket/probe';
import type { PluginExit, StartContext, StartedPlugin, Starter } from './starter';

/** Options of {@link startRunning}. */
export interface RunningOptions {
  /** The plugin's name in messages. Default `plugin`. */
  readonly name?: string;
  /** The access token the plugin expects, if it was started with one (`PLUGWIRE_TOKEN`). */
  readonly token?: string;
}

/**
 * A starter for a plugin that already runs on the socket (started by hand, by a service
 * manager, or by another host): it starts nothing, and `term()` leaves the plugin running.
 * If the plugin goes away, calls fail with `PLUGWIRE_UNAVAILABLE` until it is back.
 *
 * @example
 * ```ts
 * const { plugin } = await connect(Modifier, startRunning(), { socket: '/run/modifier.sock' });
 * ```
 */
export function startRunning(options: RunningOptions = {}): Starter {
  const name = options.name ?? 'plugin';
  return {
    name,
    async start(context: StartContext): Promise<StartedPlugin> {
      if (!(await isListening(context.socket))) {
        throw new StartError(`no plugin is listening on ${context.socket}`, 'socket');
      }
      // Never settles: the process is not ours to watch.
      const exited = new Promise<PluginExit>(() => undefined);
      return { exited, token: options.token ?? context.token, term: () => Promise.resolve() };
    },
  };
}
