import { readPlugin } from '../metadata/reflection-helpers';
import { serve, type ServeOptions } from '../server/serve';
import type { PluginExit, StartContext, StartedPlugin, Starter } from './starter';

/**
 * A starter that serves an implementation inside the host process, on a real socket.
 * Meant for tests: the calls take the same path as with a plugin process.
 *
 * @param implementation - an implementation instance, or several with distinct routes
 * @param options - server options (limits); socket, token, host services, announce and standalone are set by the starter
 * @returns a {@link Starter} whose plugin's `close()` closes the server
 *
 * @example
 * ```ts
 * const { plugin, close } = await connect(Modifier, serveInProcess(new ModifierImpl()));
 * ```
 */
export function serveInProcess(
  implementation: object | readonly object[],
  options: Omit<ServeOptions, 'socket' | 'token' | 'tokenFile' | 'host' | 'announce' | 'standalone' | 'onClose' | 'onShutdown'> = {},
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
        ...(context.host === undefined ? {} : { host: context.host }),
        announce: false,
        standalone: false,
      });
      const exited: Promise<PluginExit> = server.closed.then(() => ({ code: 0, signal: null }));
      const close = (): Promise<void> => server.close();
      return { exited, token: context.token, close, term: close };
    },
  };
}

/** @deprecated use {@link serveInProcess}; removed in 0.3 */
export const startWithProvider: typeof serveInProcess = serveInProcess;
