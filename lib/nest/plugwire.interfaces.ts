import type { ModuleMetadata } from '@nestjs/common';
import type { ConnectOptions } from '../host/connect';
import type { PluginLogger } from '../client/config';
import type { Type } from '../metadata/method-definition';
import type { ProxyOptions } from '../proxy/create-proxy';
import type { Starter } from '../starters/starter';

/** One plugin of a {@link PlugwireModule}: its contract, how to start it, its configuration. */
export interface PluginEntry<T = unknown> {
  /** The `@Plugin()` contract class. It is also the injection token, unless `name` is set. */
  readonly contract: Type<T>;
  /**
   * A name for a second plugin with the same contract: inject it with
   * `@InjectPlugin(Contract, name)`.
   */
  readonly name?: string;
  /** The command that starts the plugin (or give `starter`). */
  readonly command?: string;
  /** Arguments of `command`. */
  readonly args?: readonly string[];
  /** Environment added to the host's for `command`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Working directory of `command`. */
  readonly cwd?: string;
  /** Where the output of `command` goes; default: the host's standard output and error. */
  readonly logger?: PluginLogger | false;
  /** Any plugwire starter, instead of `command`. */
  readonly starter?: Starter;
  /** plugwire's configuration: timeout, restart policy, socket, ... */
  readonly config?: ConnectOptions;
  /**
   * Host services the plugin may call with `hostProxy()` (or `@InjectHost()` in a Nest
   * plugin): classes that extend `@Plugin()` contracts, each resolved from the application
   * (a provider of any module, so it has its own injected dependencies), or instances
   * served as given. Served from the plugin's start to its termination, across restarts.
   * Checked when the module is made: a class that is not a `@Plugin()` implementation
   * fails the application's start, for a lazy or optional plugin too.
   */
  readonly services?: ReadonlyArray<Type | object>;
  /**
   * Processes of the plugin to run as a pool behind its one proxy, each call to the least
   * busy (see `PluginConfig.instances`); wins over `config.instances`. Default 1.
   */
  readonly instances?: number;
  /** Start at the first call instead of when the module initialises. Default `false`. */
  readonly lazy?: boolean;
  /**
   * A plugin that cannot start does not fail the application's start: calls try to start
   * it again and reject while it cannot. Default `false`.
   */
  readonly optional?: boolean;
}

/** A contract class, or a contract with a name: a plugin that {@link PlugwireModule.registerAsync} provides. */
export type PluginRef =
  | Type
  | {
      /** The `@Plugin()` contract class. */
      readonly contract: Type;
      /** The entry's `name`, for a second plugin with the same contract. */
      readonly name?: string;
    };

/** Options of {@link PlugwireModule.register}. */
export interface PlugwireModuleOptions {
  /** The plugins to provide, one entry each. */
  readonly plugins: readonly PluginEntry[];
  /** Make the proxies injectable everywhere without importing the module. Default `false`. */
  readonly isGlobal?: boolean;
}

/** Options of {@link PlugwireModule.registerAsync}. */
export interface PlugwireModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /**
   * The plugins whose proxies the module provides. Nest needs the injection tokens before
   * the factory runs; the factory's entries must match them.
   */
  readonly contracts: readonly PluginRef[];
  /** Builds the entries, e.g. from a ConfigService. */
  readonly useFactory: (...args: never[]) =>
    | {
        /** The plugins to provide, one entry each, matching `contracts`. */
        readonly plugins: readonly PluginEntry[];
      }
    | Promise<{
        /** The plugins to provide, one entry each, matching `contracts`. */
        readonly plugins: readonly PluginEntry[];
      }>;
  /** The providers passed to `useFactory`. */
  readonly inject?: readonly unknown[];
  /** Make the proxies injectable everywhere without importing the module. Default `false`. */
  readonly isGlobal?: boolean;
}

/** One process of a plugin in {@link PluginStatus.instances}. */
export interface InstanceStatus {
  /** Its place in the pool, from 0. */
  readonly index: number;
  /** Its client state. */
  readonly state: 'starting' | 'running' | 'exited' | 'unavailable' | 'closed';
  /** Its process id, when it runs as a process. */
  readonly pid?: number;
  /** How many times it was restarted. */
  readonly restarts: number;
}

/** What the registry tells of one plugin (see {@link PlugwireRegistry.list}). */
export interface PluginStatus {
  /** The contract class's name. */
  readonly contract: string;
  /** The entry's `name`, for a second plugin with the same contract. */
  readonly name?: string;
  /**
   * plugwire's client state, or `idle` (lazy, not started yet) or `failed` (its start
   * failed; the next call tries again).
   */
  readonly state: 'idle' | 'failed' | 'starting' | 'running' | 'exited' | 'unavailable' | 'closed';
  /** The process id of the plugin process started last (see `PluginClient.pid`), if any. */
  readonly pid?: number;
  /** How many times the plugin was restarted (`PluginClient.stats.restarts`), over all its instances. */
  readonly restarts: number;
  /** Each process of the plugin: one, or the entry's `instances`; none before it started. */
  readonly instances: readonly InstanceStatus[];
  /** The entry's `lazy`: it starts at its first call. */
  readonly lazy: boolean;
  /** The entry's `optional`: a failed start does not fail the application's. */
  readonly optional: boolean;
  /**
   * Whether it runs or comes back at its next call: `running`, `starting`, a lazy plugin
   * still `idle`, or `exited` with restarts on.
   */
  readonly healthy: boolean;
  /** Why the last start failed, when `state` is `failed`. */
  readonly error?: string;
}

/** Options of {@link PlugwireModule.forHost}. */
export interface PlugwireHostOptions {
  /** Make the host proxies injectable everywhere without importing the module. Default `false`. */
  readonly isGlobal?: boolean;
  /** Defaults for every call of the proxies: a timeout, an AbortSignal, extra headers. */
  readonly callOptions?: ProxyOptions;
}
