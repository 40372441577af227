import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { PluginLogger } from '../diagnostics/logger';
import { DefinitionError, PluginError, StartError } from '../errors/plugin-error';
import { CALLER_PID_HEADER } from '../protocol/constants';
import { currentCall, type CallerInfo } from '../server/call-context';
import { PluginHttpServer } from '../server/plugin-server';
import { buildRouteTable } from '../server/route-table';
import { reportUnimplemented } from '../server/unimplemented';
import { checkSocketPath, makePrivateSocketDirectory, removeSocketDirectory } from '../socket/directory';
import { nodeCrypto } from '../util/lazy';

/*
 * The services a host offers the plugin it starts (`connect(..., { services })`): served
 * with the plugin server's code on a socket of their own beside the plugin's, with a
 * token of their own, from the plugin's start to its close, across its restarts.
 */

/** The name of the services' socket file in the host's private socket directory. */
const HOST_SOCKET_NAME = 'host.sock';

/** Who the services are for: the plugin's name and its running process. @internal */
export interface ServedPlugin {
  readonly name: string;
  readonly pid: number | undefined;
}

/** The host's side of host services: their server and where it listens. @internal */
export class HostServices {
  /** Where the plugin finds them: handed to every start of the plugin. */
  readonly endpoint: { readonly socket: string; readonly token: string };
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: PluginHttpServer,
    /** The directory made for the socket when the plugin's socket has none of plugwire's. */
    private readonly ownDir: string | undefined,
    token: string,
  ) {
    this.endpoint = { socket: server.socket, token };
  }

  /**
   * Checks the services and listens for them.
   *
   * @param services - instances of classes that extend `@Plugin()` contracts, with distinct routes
   * @param socketDir - the private directory made for the plugin's socket, if one was made
   * @param plugin - the plugin they are offered to, asked at each call (its pid changes at a restart)
   * @param logger - where a service's unexpected error and the server's own failures are
   * reported (the `logger` of connect()); default `console`
   * @throws {@link DefinitionError} for services without routes or with a route twice;
   * {@link StartError} (`socket`) when the socket cannot be made
   */
  static async open(services: readonly object[], socketDir: string | undefined, plugin: () => ServedPlugin, logger?: PluginLogger): Promise<HostServices> {
    if (!Array.isArray(services)) throw new DefinitionError('services must be an array of host service instances');
    const table = buildRouteTable(services, 'services of connect()');
    reportUnimplemented(table, 'warn', 'the services of connect()');
    const ownDir = socketDir === undefined ? makePrivateSocketDirectory().dir : undefined;
    const socket = join(socketDir ?? (ownDir as string), HOST_SOCKET_NAME);
    const token = nodeCrypto().randomBytes(32).toString('base64url');
    const server = new PluginHttpServer(socket, table, { standalone: false, announce: false, name: 'host', unimplemented: 'ignore', ...(logger && { logger }) }, token);
    server.callerOf = (req) => callerOf(req, plugin());
    try {
      checkSocketPath(socket);
      await server.listen();
    } catch (error) {
      if (ownDir !== undefined) removeSocketDirectory(ownDir);
      if (PluginError.is(error)) throw error;
      throw new StartError(`cannot serve the host services on ${socket}: ${(error as Error).message}`, 'socket', { cause: error });
    }
    // They serve the plugin, which does not keep the host alive either: a host with nothing
    // else to do exits, and its plugin with it. A call being served holds its connection open.
    server.unref();
    return new HostServices(server, ownDir, token);
  }

  /**
   * Stops serving: calls under way finish within the server's grace, then the socket (and
   * the directory made for it) is removed. Safe to call twice.
   */
  close(): Promise<void> {
    this.closing ??= this.server.close().finally(() => {
      if (this.ownDir !== undefined) removeSocketDirectory(this.ownDir);
    });
    return this.closing;
  }
}

/** The plugin that made a request: the pid it names, or the one its host started. */
function callerOf(req: IncomingMessage, plugin: ServedPlugin): CallerInfo {
  const named = Number(req.headers[CALLER_PID_HEADER]);
  return { name: plugin.name, pid: Number.isInteger(named) && named > 0 ? named : plugin.pid };
}

/** Whether the code running serves a call of a plugin to its host services (the caller is known). @internal */
export function servingHostCall(): boolean {
  return currentCall()?.caller !== undefined;
}
