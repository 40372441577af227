import { readPlugin } from '../metadata/reflection-helpers';
import { serve, type ServeOptions } from '../server/serve';
import type { PluginExit, StartContext, StartedPlugin, Starter } from './starter';

/**
 * A starter that serves an implementation inside the host process, on a real socket.
 * Meant for tests: the calls take the same path as with a plugin process.
 *
 * @param implementation - an implementation instance, or several with distinct routes
 * @param options - server options (limits); socket, announce and standalone are set by the starter
 * @returns a {@link Starter}
 *
 * @example
 * ```ts
 * const { plugin, term } = await connect(Modifier, startWithProvider(new ModifierImpl()));
 * ```
 */
export function startWithProvider(
  implementation: object | readonly object[],
  options: Omit<ServeOptions, 'socket' | 'token' | 'announce' | 'standalone' | 'onShutdown'> = {},
): Starter {
  const first = (Array.isArray(implementation) ? implementation[0] : implementation) as object | undefined;
  const ctor = first?.constructor;
  return {
    name: (ctor && readPlugin(ctor)?.name) ?? ctor?.name ?? 'plugin',
    async start(context: StartContext): Promise<StartedPlugin> {
      const server = await serve(implementation, {
        grace: context.terminationGrace,
        ...options,
        socket: context.socket,
        token: context.token,
        announce: false,
        standalone: false,
      });
      const exited: Promise<PluginExit> = server.closed.then(() => ({ code: 0, signal: null }));
      return { exited, token: context.token, term: () => server.close() };
    },
  };
}
