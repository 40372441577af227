import type { Type } from '../metadata/method-definition';
import { createProxy } from '../proxy/create-proxy';
import type { Remote } from '../proxy/remote';
import type { Starter } from '../starters/starter';
import type { PluginConfigInput } from './config';
import type { PluginClient } from './plugin-client';
import { checkContract } from '../manifest/contract-check';
import { start } from './start';

/** Options of {@link connect}: the configuration plus a socket path. */
export type ConnectOptions = PluginConfigInput & {
  /** The socket path; default: a fresh private directory under the temporary directory. */
  readonly socket?: string;
};

/** A connected plugin, as returned by {@link connect}. */
export interface Connection<T> {
  /** The typed proxy: `await plugin.modify('x')`. */
  readonly plugin: Remote<T>;
  /** The client underneath: untyped calls, state, counters. */
  readonly client: PluginClient;
  /** Terminates the plugin and frees everything; safe to call twice. */
  readonly term: () => Promise<void>;
}

/**
 * Starts a plugin and makes a typed proxy for its contract: {@link start} and
 * {@link createProxy} in one.
 *
 * @param contract - the `@Plugin()` contract class that host and plugin share
 * @param starter - how to start the plugin
 * @param config - overrides of {@link defaultConfig}, and `socket`
 * @returns the proxy, the client and `term()`
 * @throws {@link StartError} when the plugin does not become ready; {@link ContractError}
 * (`PLUGWIRE_CONTRACT`) when its manifest lacks routes of the contract (see `contractCheck`)
 *
 * @example
 * ```ts
 * const { plugin, term } = await connect(Modifier, startWithCommand(process.execPath, ['plugin.js']));
 * console.log(await plugin.modify('some value')); // some value decorated
 * await term();
 * ```
 */
export async function connect<T>(contract: Type<T>, starter: Starter, config: ConnectOptions = {}): Promise<Connection<T>> {
  const { socket, ...rest } = config;
  // Check the contract before anything is spawned.
  createProxy(undefined as unknown as PluginClient, contract);
  const { client, term } = await start(starter, socket, rest);
  try {
    await checkContract(client, contract);
  } catch (error) {
    await term();
    throw error;
  }
  return { plugin: createProxy(client, contract), client, term };
}
