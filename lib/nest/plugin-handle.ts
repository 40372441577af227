import { connect, type Connection } from '../client/connect';
import { DefinitionError, PluginError, StartError } from '../errors/plugin-error';
import { readMethods } from '../metadata/reflection-helpers';
import type { Remote } from '../proxy/remote';
import { startWithCommand } from '../starters/command.starter';
import type { Starter } from '../starters/starter';
import type { PluginEntry, PluginStatus } from './plugwire.interfaces';

/** How a plugin is named in messages: `Modifier`, or `Modifier (named 'second')`. */
export function describeEntry(entry: Pick<PluginEntry, 'contract' | 'name'>): string {
  return entry.name === undefined ? entry.contract.name : `${entry.contract.name} (named '${entry.name}')`;
}

function starterOf(entry: PluginEntry): Starter {
  const what = `plugin ${describeEntry(entry)}`;
  if (entry.starter && entry.command !== undefined) throw new DefinitionError(`${what}: give a command or a starter, not both`);
  if (entry.starter) {
    if (typeof entry.starter.start !== 'function') throw new DefinitionError(`${what}: starter must be a plugwire Starter`);
    return entry.starter;
  }
  if (typeof entry.command !== 'string' || entry.command === '') throw new DefinitionError(`${what}: give a command or a starter`);
  return startWithCommand(entry.command, entry.args ?? [], {
    name: entry.name ?? entry.contract.name,
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
  private deferred: Remote<T> | undefined;

  constructor(readonly entry: PluginEntry<T>) {
    const methods = readMethods(entry.contract);
    if (!methods || methods.size === 0) {
      throw new DefinitionError(`plugin ${describeEntry(entry)}: ${entry.contract.name} has no @Method() routes; contract must be a @Plugin() class`);
    }
    this.starter = starterOf(entry);
  }

  get status(): PluginStatus {
    const { entry } = this;
    const client = this.connection?.client;
    const state = client ? client.state : this.starting ? 'starting' : this.failure ? 'failed' : this.closed ? 'closed' : 'idle';
    return {
      contract: entry.contract.name,
      ...(entry.name === undefined ? {} : { name: entry.name }),
      state,
      ...(client?.pid === undefined ? {} : { pid: client.pid }),
      restarts: client?.stats.restarts ?? 0,
      lazy: entry.lazy === true,
      optional: entry.optional === true,
      ...(state === 'failed' && this.failure ? { error: this.failure.message } : {}),
    };
  }

  get client(): Connection<T>['client'] | undefined {
    return this.connection?.client;
  }

  /** Starts the plugin (once; concurrent callers share the start). */
  start(): Promise<Connection<T>> {
    if (this.connection) return Promise.resolve(this.connection);
    if (this.closed) return Promise.reject(new StartError(`plugin ${describeEntry(this.entry)} was not started: the application is shutting down`, 'spawn'));
    this.starting ??= connect(this.entry.contract, this.starter, this.entry.config ?? {}).then(
      (connection) => {
        this.starting = undefined;
        this.failure = undefined;
        if (this.closed) {
          return connection.term().then(() => {
            throw new StartError(`plugin ${describeEntry(this.entry)} was started while the application shut down`, 'spawn');
          });
        }
        this.connection = connection;
        return connection;
      },
      (error: unknown) => {
        this.starting = undefined;
        const cause = error instanceof Error ? error : new Error(String(error));
        const failure = PluginError.is(cause) && cause.code !== 'PLUGWIRE_START'
          ? cause
          : new StartError(`plugin ${describeEntry(this.entry)} could not be started: ${cause.message}`, PluginError.is(cause, 'PLUGWIRE_START') ? (cause as StartError).reason : 'spawn', { cause });
        this.failure = failure;
        throw failure;
      },
    );
    return this.starting;
  }

  /** The proxy to inject: the client's own once started, else one that starts the plugin at its first call. */
  proxy(): Remote<T> {
    if (this.connection) return this.connection.plugin;
    this.deferred ??= this.deferredProxy();
    return this.deferred;
  }

  private deferredProxy(): Remote<T> {
    const target = Object.create(null) as Record<string, (...args: unknown[]) => Promise<unknown>>;
    for (const definition of readMethods(this.entry.contract)?.values() ?? []) {
      const key = definition.propertyKey;
      target[key] = (...args: unknown[]) =>
        this.start().then((connection) => (connection.plugin as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[key]!(...args));
    }
    return Object.freeze(target) as unknown as Remote<T>;
  }

  /** Terminates the plugin; waits for a start in progress. */
  async close(): Promise<void> {
    this.closed = true;
    await this.starting?.catch(() => undefined);
    const connection = this.connection;
    this.connection = undefined;
    await connection?.term();
  }
}
