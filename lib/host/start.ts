import { resolve } from 'node:path';
import { resolveConfig, type PluginConfigInput } from '../client/config';
import { PluginClient } from '../client/plugin-client';
import { checkSocketPath, makePrivateSocketDirectory, makeSocketDirectory } from '../socket/directory';
import type { Starter } from '../starters/starter';

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
 * @param config - overrides of {@link defaultConfig}
 * @returns the client and `close()`
 * @throws {@link StartError} (`PLUGWIRE_START`) when the plugin exits, prints
 * `failed to listen on socket`, or stays silent past `startTimeout`, or when the socket
 * path is longer than a Unix socket allows (107 bytes) or its directory cannot be made
 *
 * @example
 * ```ts
 * const { client, close } = await startPlugin(spawnCommand('./plugin'));
 * console.log(await client.call('/modify', 'some value'));
 * await close();
 * ```
 */
export async function startPlugin(starter: Starter, socket?: string, config?: PluginConfigInput): Promise<StartResult> {
  if (!starter || typeof starter.start !== 'function') throw new TypeError('startPlugin(): the first argument must be a Starter');
  const resolved = resolveConfig(config);
  let path: string;
  let dir: string | undefined;
  if (socket === undefined) {
    ({ socket: path, dir } = makePrivateSocketDirectory());
  } else {
    path = resolve(socket);
    checkSocketPath(path);
    makeSocketDirectory(path);
  }
  const client = new PluginClient({ starter, socket: path, socketDir: dir, config: resolved });
  await client.start();
  const close = (): Promise<void> => client.close();
  return { client, close, term: close };
}

/** @deprecated use {@link startPlugin}; removed in 0.3. */
export const start: typeof startPlugin = startPlugin;
