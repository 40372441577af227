import { resolve } from 'node:path';
import { checkSocket, configObject, resolveConfig, type PluginConfigInput } from '../client/config';
import { PluginClient } from '../client/plugin-client';
import { checkSocketPath, makePrivateSocketDirectory, makeSocketDirectory, removeSocketDirectory } from '../socket/directory';
import type { Starter } from '../starters/starter';
import { HostServices, servingHostCall } from '../services/host-services';

/** Options of {@link startPlugin}: the configuration, and the services the host offers the plugin. */
export type StartOptions = PluginConfigInput & {
  /**
   * Host services: instances of `@Plugin()` contract implementations that the plugin may
   * call through {@link hostProxy}. They are served on a socket of their own beside the
   * plugin's (mode 0600, with a token of their own) from the start to `close()`, across
   * restarts; in a service method, `callContext().caller` names the plugin. Default: none.
   */
  readonly services?: readonly object[];
};

/** A started plugin, as returned by {@link startPlugin}. */
export interface StartResult {
  /** The client: `client.call(route, payload)` for untyped calls, and the plugin's state. */
  readonly client: PluginClient;
  /** Stops the plugin and frees everything (socket, directory, connections); safe to call twice. */
  readonly close: () => Promise<void>;
  /** @deprecated use {@link StartResult.close}; removed in 0.3. */
  readonly term: () => Promise<void>;
}

/**
 * Starts a plugin and resolves once it is ready.
 *
 * @param starter - how to start it: {@link spawnCommand}, {@link serveInProcess},
 * {@link attachToSocket}, or your own
 * @param socket - the socket path; default: `plugin.sock` in a fresh private directory
 * (mode 0700) under the temporary directory, removed again by `close()`
 * @param config - overrides of {@link defaultConfig}, and the `services` the host offers the plugin
 * @returns the client and `close()`
 * @throws {@link StartError} (`PLUGWIRE_START`) when the plugin exits, prints
 * `failed to listen on socket`, or stays silent past `startTimeout`, or when the socket
 * path is longer than a Unix socket allows (107 bytes) or its directory cannot be made;
 * {@link DefinitionError} when a service is not an instance of a `@Plugin()` class, or two
 * serve the same route
 *
 * @example
 * ```ts
 * const { client, close } = await startPlugin(spawnCommand('./plugin'));
 * console.log(await client.call('/modify', 'some value'));
 * await close();
 * ```
 */
export async function startPlugin(starter: Starter, socket?: string, config: StartOptions = {}): Promise<StartResult> {
  if (!starter || typeof starter.start !== 'function') throw new TypeError('startPlugin(): the first argument must be a Starter');
  // resolveConfig() checks the rest; HostServices.open() the services.
  const { services, ...rest } = configObject(config) as StartOptions;
  const resolved = resolveConfig(rest);
  checkSocket(socket);
  if (resolved.instances > 1 && starter.attached === true) {
    throw new TypeError(`plugwire config: instances must be 1 for a plugin that runs already (${starter.name}): attaching starts no process, got ${resolved.instances}`);
  }
  const socketsOf = (first: string): string[] => Array.from({ length: resolved.instances }, (_, index) => instanceSocket(first, index));
  let path: string;
  let dir: string | undefined;
  let sockets: string[];
  if (socket === undefined) {
    ({ socket: path, dir } = makePrivateSocketDirectory());
    sockets = socketsOf(path);
    try {
      sockets.forEach(checkSocketPath);
    } catch (error) {
      removeSocketDirectory(dir);
      throw error;
    }
  } else {
    path = resolve(socket);
    // Every instance's path is checked before the directory is made: a refused start makes nothing.
    sockets = socketsOf(path);
    sockets.forEach(checkSocketPath);
    makeSocketDirectory(path);
  }
  const served: { client?: PluginClient } = {};
  let host: HostServices | undefined;
  // An empty list offers nothing, as no list does.
  if (services !== undefined && !(Array.isArray(services) && services.length === 0)) {
    try {
      host = await HostServices.open(services, dir, () => ({ name: starter.name, pid: served.client?.pid }), resolved.logger);
    } catch (error) {
      if (dir !== undefined) removeSocketDirectory(dir);
      throw error;
    }
  }
  const client = (served.client = new PluginClient({
    starter,
    socket: path,
    sockets,
    socketDir: dir,
    config: resolved,
    ...(host && { host: host.endpoint, reentrant: servingHostCall }),
  }));
  try {
    await client.start();
  } catch (error) {
    await host?.close();
    throw error;
  }
  // The plugin first, then its host services: it may call them until it is gone.
  const close = host === undefined ? (): Promise<void> => client.close() : (): Promise<void> => client.close().then(() => host.close());
  return { client, close, term: close };
}

/** @deprecated use {@link startPlugin}; removed in 0.3. */
export const start: typeof startPlugin = startPlugin;

/**
 * The socket of a pool's instance beside the first one's: `plugin.sock`, then
 * `plugin-1.sock`, `plugin-2.sock`...
 */
function instanceSocket(path: string, index: number): string {
  if (index === 0) return path;
  const dot = path.endsWith('.sock') ? path.length - '.sock'.length : path.length;
  return `${path.slice(0, dot)}-${index}${path.slice(dot)}`;
}
