import {
  checkSocket,
  ClosedError,
  configObject,
  connect,
  createProxy,
  DefinitionError,
  PluginError,
  readContract,
  resolveConfig,
  spawnCommand,
  StartError,
  type Connection,
  type ConnectOptions,
  type Remote,
  type Starter,
} from '../index';
import { deferredStream } from './deferred-stream';
import { resolveServices } from './host-services';
import type { PluginEntry, PluginStatus } from './plugwire.interfaces';

/** How a plugin is named in messages: `Modifier`, or `Modifier (named 'second')`. */
export function describeEntry(entry: Pick<PluginEntry, 'contract' | 'name'>): string {
  return entry.name === undefined ? entry.contract.name : `${entry.contract.name} (named '${entry.name}')`;
}

/** A plugin's key: its log prefix and its key in the registry's statuses: `Modifier`, or `Modifier:second`. */
export function entryKey(entry: Pick<PluginEntry, 'contract' | 'name'>): string {
  return entry.name === undefined ? entry.contract.name : `${entry.contract.name}:${entry.name}`;
}

/** A start failure, named after the entry: `plugin Modifier (named 'second') could not be started: ...`. */
function startFailure(entry: PluginEntry, starter: Starter, error: unknown): Error {
  const cause = error instanceof Error ? error : new Error(String(error));
  // A configuration refused before the spawn (`plugwire config: ...`) is the caller's
  // mistake, not a plugin that could not start.
  if (cause instanceof TypeError) return cause;
  if (PluginError.is(cause) && cause.code !== 'PLUGWIRE_START') return cause; // e.g. PLUGWIRE_CONTRACT
  // The starter's own message names the plugin already: keep what follows the name.
  const detail = cause.message.replace(new RegExp(`^plugin ${starter.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} (could not be started: )?`), '');
  const reason = cause instanceof StartError ? cause.reason : 'spawn';
  return new StartError(`plugin ${describeEntry(entry)} could not be started: ${detail}`, reason, { cause });
}

/**
 * What an entry gives connect(): its `config`, with the entry's `instances` and the host
 * services resolved for it.
 * @param entry - the plugin's entry
 * @param services - its resolved host services, if it has any
 */
function connectOptions(entry: PluginEntry, services: readonly object[] | undefined): ConnectOptions {
  const { instances, config: given } = entry;
  const extra = {
    ...(instances === undefined ? {} : { instances }),
    ...(services === undefined ? {} : { services }),
  };
  // A config that is no object (null, a string from JSON) is passed on as it is, for
  // configObject() to refuse with the TypeError that says so; spread, it would be {} or its characters.
  return given === undefined || (typeof given === 'object' && given !== null && !Array.isArray(given)) ? { ...given, ...extra } : given;
}

/**
 * Checks an entry's `config` (and `instances`) as connect() will, so that a misspelt
 * option fails the application's start for a lazy or optional plugin too, whose
 * connect() runs later or whose failure is only shown.
 * @param entry - the plugin's entry
 * @throws TypeError naming the option, the one connect() would throw
 * @internal
 */
export function checkConfig(entry: PluginEntry): void {
  // The steps of connect() and startPlugin(): `socket` and `services` are taken out first
  // (checkServices() checks the services), resolveConfig() checks the rest.
  const { socket, services: _services, ...rest } = configObject(connectOptions(entry, undefined)) as ConnectOptions;
  checkSocket(socket);
  resolveConfig(rest);
}

function starterOf(entry: PluginEntry, key: string): Starter {
  const what = `plugin ${describeEntry(entry)}`;
  if (entry.starter && entry.command !== undefined) throw new DefinitionError(`${what}: give a command or a starter, not both`);
  if (entry.starter) {
    if (typeof entry.starter.start !== 'function') throw new DefinitionError(`${what}: starter must be a plugwire Starter`);
    return entry.starter;
  }
  if (typeof entry.command !== 'string' || entry.command === '') throw new DefinitionError(`${what}: give a command or a starter`);
  return spawnCommand(entry.command, entry.args ?? [], {
    name: key,
    env: entry.env,
    cwd: entry.cwd,
    logger: entry.logger,
  });
}

/**
 * One plugin of a module: it starts the plugin (at module init or at the first call),
 * hands out its proxy, and terminates it on shutdown.
 * @internal
 */
export class PluginHandle<T = unknown> {
  private readonly starter: Starter;
  private connection: Connection<T> | undefined;
  private starting: Promise<Connection<T>> | undefined;
  private failure: Error | undefined;
  private closed = false;
  private forwarding: Remote<T> | undefined;
  /** The host services to serve, once resolved (see {@link PluginHandle.resolveServices}). */
  private services: readonly object[] | undefined;

  /**
   * @param entry - the plugin's entry
   * @param key - its key in the registry's statuses and its log prefix (see {@link entryKey})
   * @param resolve - gives the instances of the entry's host services (the registry looks
   *   their classes up in the application)
   */
  constructor(
    readonly entry: PluginEntry<T>,
    readonly key: string = entryKey(entry),
    private readonly resolve: (entry: PluginEntry) => object[] = (e) => resolveServices(e, undefined, `PlugwireModule: plugin ${describeEntry(e)}`),
  ) {
    // A contract without routes is refused before anything starts.
    readContract(entry.contract, `plugin ${describeEntry(entry)}`);
    this.starter = starterOf(entry, key);
  }

  get status(): PluginStatus {
    const { entry } = this;
    const client = this.connection?.client;
    const state = client ? client.state : this.starting ? 'starting' : this.failure ? 'failed' : this.closed ? 'closed' : 'idle';
    // Runs, or comes back at its next call: an exited plugin only if restarts are on.
    const healthy =
      state === 'running' || state === 'starting' || (state === 'idle' && entry.lazy === true) || (state === 'exited' && (client?.config.restart.maxRestarts ?? 0) > 0);
    return {
      contract: entry.contract.name,
      ...(entry.name === undefined ? {} : { name: entry.name }),
      state,
      ...(client?.pid === undefined ? {} : { pid: client.pid }),
      restarts: client?.stats.restarts ?? 0,
      instances: client ? client.stats.instances.map(({ index, state: one, pid, restarts }) => ({ index, state: one, ...(pid === undefined ? {} : { pid }), restarts })) : [],
      lazy: entry.lazy === true,
      optional: entry.optional === true,
      healthy,
      ...(state === 'failed' && this.failure ? { error: this.failure.message } : {}),
    };
  }

  get client(): Connection<T>['client'] | undefined {
    return this.connection?.client;
  }

  /**
   * Resolves the entry's host services, once: at the application's bootstrap, or at the
   * first start when a provider calls the plugin earlier.
   * @throws DefinitionError when a service cannot be resolved
   */
  resolveServices(): void {
    if (this.entry.services !== undefined) this.services ??= this.resolve(this.entry);
  }

  /** Starts the plugin (once; concurrent callers share the start). */
  start(): Promise<Connection<T>> {
    if (this.connection) return Promise.resolve(this.connection);
    if (this.closed) return Promise.reject(new ClosedError(`plugin ${describeEntry(this.entry)} was terminated: the application shut down`));
    try {
      this.resolveServices();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    this.starting ??= connect(this.entry.contract, this.starter, connectOptions(this.entry, this.services)).then(
      (connection) => {
        this.starting = undefined;
        this.failure = undefined;
        if (this.closed) {
          return connection.close().then(() => {
            throw new ClosedError(`plugin ${describeEntry(this.entry)} was terminated: the application shut down while it started`);
          });
        }
        this.connection = connection;
        return connection;
      },
      (error: unknown) => {
        this.starting = undefined;
        this.failure = startFailure(this.entry, this.starter, error);
        throw this.failure;
      },
    );
    return this.starting;
  }

  /**
   * The proxy to inject, made before the plugin starts: each method calls the running
   * plugin's proxy, or starts the plugin first (a lazy plugin, or an optional one whose
   * start failed). After shutdown its calls reject with `PLUGWIRE_CLOSED`.
   */
  proxy(): Remote<T> {
    this.forwarding ??= this.forwardingProxy();
    return this.forwarding;
  }

  /**
   * A proxy of the contract like any other (withOptions() and closeProxy() take it), whose
   * client is the running plugin's, or, while none runs, a start first.
   */
  private forwardingProxy(): Remote<T> {
    type Client = Connection<T>['client'];
    const running = (): Client | undefined => this.connection?.client;
    const started = (): Promise<Client> => this.start().then((connection) => connection.client);
    const client: Pick<Client, 'name' | 'call' | 'callMethod' | 'streamMethod'> = {
      name: this.key,
      call: (route, payload, options) => running()?.call(route, payload, options) ?? started().then((one) => one.call(route, payload, options)),
      callMethod: (definition, args, options, convert) =>
        running()?.callMethod(definition, args, options, convert) ?? started().then((one) => one.callMethod(definition, args, options, convert)),
      streamMethod: (definition, args, options, convert) =>
        running()?.streamMethod(definition, args, options, convert) ?? deferredStream(() => started().then((one) => one.streamMethod(definition, args, options, convert))),
    };
    // createProxy() needs no more of a client than these: calls and streams, and a name.
    return createProxy(client as Client, this.entry.contract);
  }

  /** Terminates the plugin; waits for a start in progress. */
  async close(): Promise<void> {
    this.closed = true;
    await this.starting?.catch(() => undefined);
    const connection = this.connection;
    this.connection = undefined;
    await connection?.close();
  }
}
