import { DefinitionError, PluginError, StartError } from '../errors/plugin-error';
import { debug } from '../diagnostics/channels';
import { FAILED_LINE, READY_LINE, SOCKET_ENV } from '../protocol/constants';
import { checkSocketPath } from '../socket/directory';
import { closeHook, type PluginServer, type ServeOptions } from './options';
import { PluginHttpServer } from './plugin-server';
import { buildRouteTable } from './route-table';
import { reportUnimplemented } from './unimplemented';
import { processHostEndpoint } from './host-endpoint';
import { servedToken } from './token';

export type { PluginServer, ServeOptions } from './options';

/**
 * Serves one or more plugin implementations on the Unix socket the host chose.
 *
 * @param implementation - an instance of a class that extends a `@Plugin()` contract, or
 * several whose routes differ
 * @param options - socket, limits and process behaviour; see {@link ServeOptions}
 * @returns a handle that resolves once the server listens and the ready line is printed
 * @throws {@link DefinitionError} (`PLUGWIRE_DEFINITION`) for a value without routes,
 * routes served twice, no socket path, both `onClose` and `onShutdown`, or (with
 * `unimplemented: 'error'`) a contract method the served class does not override, both
 * `token` and `tokenFile`, or a token file that cannot be read, is empty or holds what a
 * header cannot carry (after printing `failed to listen on socket`);
 * {@link StartError} (`PLUGWIRE_START`) when it cannot listen (after printing
 * `failed to listen on socket`)
 *
 * @remarks
 * The route table is built once, here. Each call's payload is converted and validated
 * before the method runs (422 with the field details when invalid); the method's
 * deadline and an AbortSignal are available through {@link callContext}; at the
 * deadline the caller gets a timeout answer even if the method ignores it. A stream method
 * (`@Method({ stream: true })`, an `async *` method) sends its items as the host reads
 * them, its iterator pulled no faster, and returned (its `finally` runs, its signal
 * aborted) when the host stops reading or the deadline passes; a version 1 host gets them
 * all as one JSON array, up to `maxCollectedSize`. The token callers must send is
 * `token`, else `PLUGWIRE_TOKEN` (a plugwire host's), else the file named by `tokenFile` or
 * `PLUGWIRE_TOKEN_FILE` (a mounted Secret), read once here: a rotated Secret takes effect
 * when the plugin restarts. The socket is
 * created with mode 0600. As a standalone process (the default) it exits with status 0
 * on SIGTERM or SIGINT after in-flight calls finish, and when the plugwire host that
 * started it dies (after running `onClose`).
 *
 * @example
 * ```ts
 * class ModifierImpl extends Modifier {
 *   override async modify(value: string) { return `${value} decorated`; }
 * }
 * void serve(new ModifierImpl());
 * ```
 */
export async function serve(implementation: object | readonly object[], options: ServeOptions = {}): Promise<PluginServer> {
  const table = buildRouteTable(Array.isArray(implementation) ? implementation : [implementation]);
  reportUnimplemented(table, options.unimplemented ?? 'warn');
  const onClose = closeHook(options);
  const socket = options.socket ?? process.env[SOCKET_ENV];
  const announce = options.announce ?? true;
  if (!socket) {
    throw new DefinitionError(`no socket to listen on: set ${SOCKET_ENV} (a plugwire or Go host does) or pass { socket }`);
  }
  let token: string | undefined;
  try {
    token = servedToken(options);
  } catch (error) {
    // A host waiting for the ready line learns at once that this plugin will not serve.
    if (announce) process.stdout.write(`${FAILED_LINE}\n`);
    throw error;
  }
  const given = options.host as { socket?: unknown; token?: unknown } | null | undefined;
  if (given !== undefined && (typeof given !== 'object' || given === null || typeof given.socket !== 'string' || given.socket === '' || (given.token !== undefined && typeof given.token !== 'string'))) {
    throw new DefinitionError('serve(): host must be { socket: string, token?: string }, the host services this plugin may call');
  }
  const host = options.host ?? processHostEndpoint();
  const server = new PluginHttpServer(socket, table, host ? { ...options, host } : options, token);
  try {
    checkSocketPath(socket);
    await server.listen();
  } catch (error) {
    if (announce) process.stdout.write(`${FAILED_LINE}\n`);
    if (PluginError.is(error)) throw error;
    throw new StartError(`failed to listen on ${socket}: ${(error as Error).message}`, 'socket', { cause: error });
  }
  if (options.standalone ?? true) server.watch(onClose);
  if (debug.enabled) debug('listening on %s: %s', socket, server.routes.join(', '));
  if (announce) process.stdout.write(`${READY_LINE}\n`);
  return server;
}

