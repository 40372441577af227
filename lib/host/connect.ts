import { configObject } from '../client/config';
import { NOT_ACCEPTING, type UnansweredExit } from '../client/ending';
import type { PluginClient } from '../client/plugin-client';
import { PluginError, StartError } from '../errors/plugin-error';
import { READY_LINE } from '../protocol/constants';
import { readContract } from '../metadata/contract';
import type { Type } from '../metadata/method-definition';
import { createProxy } from '../proxy/create-proxy';
import type { Remote } from '../proxy/remote';
import type { Starter } from '../starters/starter';
import { outsideCall } from '../server/call-context';
import { checkContract } from './contract-check';
import { startPlugin, type StartOptions } from './start';

/** Options of {@link connect}: the configuration, the host services, and a socket path. */
export type ConnectOptions = StartOptions & {
  /** The socket path; default: a fresh private directory under the temporary directory. */
  readonly socket?: string;
};

/** A connected plugin, as returned by {@link connect}. */
export interface Connection<T> {
  /** The typed proxy: `await plugin.modify('x')`. */
  readonly plugin: Remote<T>;
  /** The client underneath: untyped calls, state, counters. */
  readonly client: PluginClient;
  /** Stops the plugin and frees everything (socket, directory, connections); safe to call twice. */
  readonly close: () => Promise<void>;
  /** @deprecated use {@link Connection.close}; removed in 0.3. */
  readonly term: () => Promise<void>;
}

/**
 * Starts a plugin and makes a typed proxy for its contract: {@link startPlugin} and
 * {@link createProxy} in one.
 *
 * @param contract - the `@Plugin()` contract class that host and plugin share
 * @param starter - how to start the plugin
 * @param config - overrides of {@link defaultConfig}, `services` the plugin may call
 * (see {@link hostProxy}), and `socket`
 * @returns the proxy, the client and `close()`
 * @throws {@link DefinitionError} when the contract has no `@Method()` routes (before
 * anything is started); {@link StartError} when the plugin does not become ready;
 * {@link ContractError} (`PLUGWIRE_CONTRACT`) when its manifest lacks routes of the
 * contract (see `contractCheck`)
 *
 * @example
 * ```ts
 * const { plugin, close } = await connect(Modifier, spawnCommand(process.execPath, ['plugin.js']));
 * console.log(await plugin.modify('some value')); // some value decorated
 * await close();
 * ```
 */
export function connect<T>(contract: Type<T>, starter: Starter, config: ConnectOptions = {}): Promise<Connection<T>> {
  // A start may be shared (a lazy plugin, the same socket): it takes no deadline or abort
  // from a call being served that happens to start it (see client/inheritance.ts).
  return outsideCall(() => connectNow(contract, starter, config));
}

async function connectNow<T>(contract: Type<T>, starter: Starter, config: ConnectOptions): Promise<Connection<T>> {
  // Configuration loaded at run time may be no object at all: said as such, not as a failed destructuring.
  const { socket, ...rest } = configObject(config) as ConnectOptions;
  readContract(contract, 'connect()');
  const { client, close } = await startPlugin(starter, socket, rest);
  try {
    await checkContract(client, contract);
  } catch (error) {
    await close();
    throw diedAfterReady(client, error) ?? checkTimedOut(client, error) ?? error;
  }
  return { plugin: createProxy(client, contract), client, close, term: close };
}

/**
 * The start error of a plugin that printed its ready line and then did not answer the
 * contract check within `startTimeout`: the start failed, as for a plugin that never
 * printed the line.
 */
function checkTimedOut(client: PluginClient, error: unknown): StartError | undefined {
  if (!PluginError.is(error, 'PLUGWIRE_TIMEOUT')) return undefined;
  const { startTimeout } = client.config;
  return new StartError(
    `plugin ${client.name} printed '${READY_LINE}' but did not answer the contract check (its manifest) within startTimeout ${startTimeout} ms: ` +
      `check that it is not blocked; a plugin that cannot answer it may be started with contractCheck: 'off'`,
    'timeout',
    { cause: error },
  );
}

/**
 * The start error of a plugin that printed its ready line and then died before it
 * answered the contract check (and so did its restarts): a failed start, not a call that
 * failed, with what it wrote to standard error last. One the client ended itself did not
 * die by itself: the error says why, and one that accepted no connections fails as `socket`.
 */
function diedAfterReady(client: PluginClient, error: unknown): StartError | undefined {
  const died = client.diedUnanswered();
  if (died === undefined || !PluginError.is(error) || PluginError.is(error, 'PLUGWIRE_CONTRACT') || PluginError.is(error, 'PLUGWIRE_CLOSED')) return undefined;
  const { code, signal, stderr } = died.exit;
  const { starts } = client.stats;
  const started = starts > 1 ? ` (started ${starts} times)` : '';
  const message = afterReady(client.name, died, started) + (stderr ? `\nits standard error:\n${stderr.replace(/^/gm, '  ')}` : '');
  return new StartError(message, died.endedBy === NOT_ACCEPTING ? 'socket' : 'exited', { cause: error, exitCode: code, signal, ...(stderr !== undefined && { stderr }) });
}

/** What became of a plugin after its ready line, and what to check. */
function afterReady(name: string, died: UnansweredExit, started: string): string {
  const ready = `'${READY_LINE}'`;
  if (died.endedBy === NOT_ACCEPTING) {
    return (
      `plugin ${name} printed ${ready} but did not accept connections on its socket, so the host ended it before it answered a call${started}: ` +
      `check that it listens on its socket before it prints ${ready}, and goes on listening`
    );
  }
  if (died.endedBy !== undefined) {
    return (
      `plugin ${name} was ended by the host after it printed ${ready}, before it answered a call${started}, as ${died.endedBy}: ` +
      'check what keeps it from answering once it serves, such as work that blocks its event loop'
    );
  }
  return `plugin ${name} ${died.how} after it printed ${ready}, before it answered a call${started}: check what ends it once it serves, such as an unhandled rejection or process.exit()`;
}
