import { Module, type DynamicModule, type FactoryProvider, type Provider } from '@nestjs/common';
import { ModuleRef, ModulesContainer } from '@nestjs/core';
import { DefinitionError, hostProxy, readContract } from '../index';
import type { Type } from '../metadata/method-definition';
import { PlugwireHealthIndicator } from './health.indicator';
import { describeEntry } from './plugin-handle';
import { getHostToken } from './host-token';
import { getPluginToken } from './plugin-token';
import type { PluginEntry, PluginRef, PlugwireHostOptions, PlugwireModuleAsyncOptions, PlugwireModuleOptions } from './plugwire.interfaces';
import { checkEntries, PlugwireRegistry } from './plugwire.registry';

type PluginEntries = { readonly plugins: readonly PluginEntry[] };

function refOf(ref: PluginRef): { contract: Type; name?: string } {
  return typeof ref === 'function' ? { contract: ref } : ref;
}

/** One provider per plugin: its token gives the proxy. */
function proxyProviders(refs: ReadonlyArray<{ contract: Type; name?: string }>): FactoryProvider[] {
  return refs.map(({ contract, name }) => ({
    provide: getPluginToken(contract, name),
    useFactory: (registry: PlugwireRegistry) => registry.handle(contract, name).proxy(),
    inject: [PlugwireRegistry],
  }));
}

/**
 * Tells each register() and registerAsync() apart: with `moduleIdGeneratorAlgorithm:
 * 'deep-hash'`, Nest identifies a dynamic module by a hash of its metadata, in which the
 * entries do not appear (they live in the registry's factory, whose source is the same for
 * all), nor do contract classes other than by name: two calls would be taken for one
 * module, and the second's plugins never started. Each call is its own module, as with
 * Nest's default algorithm.
 */
const REGISTRATION = Symbol('plugwire registration');
let registrations = 0;

function dynamicModule(registry: Provider, refs: ReadonlyArray<{ contract: Type; name?: string }>, imports: DynamicModule['imports'], global: boolean | undefined): DynamicModule {
  const proxies = proxyProviders(refs);
  registrations += 1;
  return {
    module: PlugwireModule,
    global: global === true,
    imports: imports ?? [],
    providers: [{ provide: REGISTRATION, useValue: registrations }, registry, PlugwireHealthIndicator, ...proxies],
    exports: [PlugwireRegistry, PlugwireHealthIndicator, ...proxies.map((p) => p.provide)],
  };
}

/**
 * Plugins as injectable providers. Each plugin's proxy is injected by its contract class
 * (or with {@link InjectPlugin} for a named one); plugins start when the module
 * initialises (or at their first call, `lazy`), and are terminated when the application
 * shuts down.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [PlugwireModule.register({ plugins: [{ contract: Modifier, command: './modifier-plugin' }] })],
 *   controllers: [ModifyController],
 * })
 * export class AppModule {}
 * ```
 */
@Module({})
export class PlugwireModule {
  /**
   * Registers plugins whose commands and configuration are known up front.
   *
   * @param options - the plugin entries, and whether the module is global
   * @returns a module that provides each plugin's proxy, the {@link PlugwireRegistry} and
   *   the {@link PlugwireHealthIndicator}
   */
  static register(options: PlugwireModuleOptions): DynamicModule {
    // Plain JavaScript may pass no options, or plugins that are no array of entries: the
    // proxies are made for the entries that have a contract, and the registry's factory
    // refuses the rest with a DefinitionError when the application is made, as it does
    // every other mistake in the entries.
    const plugins: unknown = (options as PlugwireModuleOptions | undefined)?.plugins;
    const refs = Array.isArray(plugins)
      ? (plugins as Array<Partial<PluginEntry> | null | undefined>).flatMap((e) => (typeof e?.contract === 'function' ? [{ contract: e.contract, name: e.name }] : []))
      : [];
    const registry: FactoryProvider = {
      provide: PlugwireRegistry,
      inject: [ModulesContainer, ModuleRef],
      useFactory: (modules: ModulesContainer, moduleRef: ModuleRef) => new PlugwireRegistry(plugins as readonly PluginEntry[], modules, moduleRef),
    };
    return dynamicModule(registry, refs, [], (options as PlugwireModuleOptions | undefined)?.isGlobal);
  }

  /**
   * Registers plugins whose entries a factory builds, e.g. from a ConfigService. The
   * factory's entries must match `contracts`, the plugins the module provides.
   *
   * @param options - the plugins it provides (`contracts`), the factory of their entries,
   *   what the factory gets injected, and the modules that provide it
   * @returns a module that provides each plugin's proxy, the {@link PlugwireRegistry} and
   *   the {@link PlugwireHealthIndicator}
   * @throws `DefinitionError` (`PLUGWIRE_DEFINITION`) at the application's start, when the
   *   factory gives no entry for one of `contracts`
   */
  static registerAsync(options: PlugwireModuleAsyncOptions): DynamicModule {
    checkAsyncOptions(options);
    const refs = (options.contracts ?? []).map(refOf);
    const registry: FactoryProvider = {
      provide: PlugwireRegistry,
      inject: [ModulesContainer, ModuleRef, ...(options.inject ?? [])] as FactoryProvider['inject'],
      useFactory: async (modules: ModulesContainer, moduleRef: ModuleRef, ...deps: unknown[]) => {
        const factory = options.useFactory as (...args: unknown[]) => PluginEntries | Promise<PluginEntries> | undefined;
        const built = await factory(...deps);
        const entries: unknown = built?.plugins ?? [];
        // Before the entries are searched for `contracts`: an entry that is no object fails as such.
        checkEntries(entries);
        for (const ref of refs) {
          if (!entries.some((e) => e.contract === ref.contract && e.name === ref.name)) {
            throw new DefinitionError(`PlugwireModule.registerAsync(): the factory gave no entry for plugin ${describeEntry(ref)}, which contracts names`);
          }
        }
        return new PlugwireRegistry(entries, modules, moduleRef);
      },
    };
    return dynamicModule(registry, refs, options.imports, options.isGlobal);
  }

  /**
   * For a plugin written as a Nest application context: provides a proxy to each of the
   * host's services, injected with {@link InjectHost}. The proxies are those of
   * `hostProxy()`: inside a served call they reach the host of that call and inherit its
   * deadline and signal; elsewhere (an `onModuleInit` hook, a timer) the host named in the
   * process's environment.
   *
   * @param contracts - the `@Plugin()` contract classes of the host services
   * @param options - whether the module is global, and defaults for every call
   * @returns a module that provides a proxy per contract under {@link getHostToken}
   * @throws `DefinitionError` (`PLUGWIRE_DEFINITION`) when a class is not a `@Plugin()`
   *   contract. A host that offers no services, or not this contract, makes the calls
   *   reject with `ContractError` (`PLUGWIRE_CONTRACT`) naming it.
   *
   * @example
   * ```ts
   * @Module({ imports: [PlugwireModule.forHost([HostApi])], providers: [LogsImpl] })
   * export class PluginModule {}
   * ```
   */
  static forHost(contracts: readonly Type[], options: PlugwireHostOptions = {}): DynamicModule {
    const list: unknown = contracts;
    if (!Array.isArray(list)) throw new DefinitionError('PlugwireModule.forHost(): contracts must be an array of @Plugin() contract classes');
    for (const contract of contracts) readContract(contract, 'PlugwireModule.forHost()');
    const proxies: FactoryProvider[] = contracts.map((contract) => ({
      provide: getHostToken(contract),
      useFactory: () => hostProxy(contract, options.callOptions),
    }));
    return {
      module: PlugwireModule,
      global: options.isGlobal === true,
      providers: proxies,
      exports: proxies.map((p) => p.provide),
    };
  }
}

/**
 * Checks what plain JavaScript or a mistyped configuration may pass registerAsync(): the
 * calls that follow would fail with a TypeError, or inside Nest's injector.
 */
function checkAsyncOptions(options: PlugwireModuleAsyncOptions): void {
  const given = options as Partial<Record<keyof PlugwireModuleAsyncOptions, unknown>> | null | undefined;
  const what = 'PlugwireModule.registerAsync()';
  if (typeof given !== 'object' || given === null) throw new DefinitionError(`${what} takes options: { contracts, useFactory, inject?, imports? }`);
  if (typeof given.useFactory !== 'function') throw new DefinitionError(`${what}: useFactory must be a function that returns { plugins }`);
  for (const key of ['contracts', 'inject', 'imports'] as const) {
    if (given[key] !== undefined && !Array.isArray(given[key])) throw new DefinitionError(`${what}: ${key} must be an array`);
  }
  for (const ref of (given.contracts ?? []) as unknown[]) {
    const contract = typeof ref === 'function' ? ref : (ref as { contract?: unknown } | null)?.contract;
    if (typeof contract !== 'function') throw new DefinitionError(`${what}: every entry of contracts must be a contract class or { contract, name }`);
  }
}
