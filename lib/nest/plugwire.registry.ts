import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { ModuleRef, ModulesContainer } from '@nestjs/core';
import type { PluginClient } from '../client/plugin-client';
import { DefinitionError } from '../index';
import type { Type } from '../metadata/method-definition';
import { checkServices, resolveServices } from './host-services';
import { checkConfig, describeEntry, entryKey, PluginHandle } from './plugin-handle';
import type { PluginEntry, PluginStatus } from './plugwire.interfaces';

/**
 * The plugins of one {@link PlugwireModule}: injectable, for their states and clients.
 * Terminates every plugin when the application shuts down (`app.close()`, or a signal
 * with `enableShutdownHooks()`).
 */
export class PlugwireRegistry implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly handles = new Map<Type, Map<string | undefined, PluginHandle>>();

  /**
   * @param entries - the plugins
   * @param modules - the application's modules, to find the other registries
   * @param moduleRef - the module's reference, to resolve the entries' host services
   * @internal
   */
  constructor(
    entries: readonly PluginEntry[],
    private readonly modules?: ModulesContainer,
    moduleRef?: ModuleRef,
  ) {
    checkEntries(entries);
    if (entries.length === 0) throw new DefinitionError(PLUGINS_ARRAY);
    // Plugins are told apart by their contract class; two classes may share a name (two
    // packages each exporting `Api`), so a key that is taken gets `#2`, `#3`.
    const keys = new Set<string>();
    for (const entry of entries) {
      const byName = this.handles.get(entry.contract) ?? new Map<string | undefined, PluginHandle>();
      if (byName.has(entry.name)) throw new DefinitionError(`PlugwireModule: plugin ${describeEntry(entry)} is registered twice; give one a name`);
      let key = entryKey(entry);
      for (let n = 2; keys.has(key); n += 1) key = `${entryKey(entry)}#${n}`;
      keys.add(key);
      const what = `PlugwireModule: plugin ${describeEntry(entry)}`;
      checkKeys(entry, what);
      checkConfig(entry);
      checkServices(entry, what);
      byName.set(entry.name, new PluginHandle(entry, key, (e) => resolveServices(e, moduleRef, what)));
      this.handles.set(entry.contract, byName);
    }
  }

  /**
   * Resolves every entry's host services, and starts every plugin that is neither lazy
   * nor optional-and-failing; on a failure, terminates those already started and rejects
   * naming the plugin. @internal
   */
  async startEager(): Promise<void> {
    // Every provider exists now: the host services of every entry, lazy ones too, are
    // looked up here, so that one the application lacks fails its start.
    try {
      for (const handle of this.all()) handle.resolveServices();
    } catch (error) {
      await Promise.all(this.siblings().map((registry) => registry.close()));
      throw error;
    }
    const eager = this.all().filter((h) => h.entry.lazy !== true);
    const results = await Promise.allSettled(eager.map((h) => h.start()));
    const failed = results.findIndex((r, i) => r.status === 'rejected' && eager[i]?.entry.optional !== true);
    if (failed === -1) return;
    // Nest does not run shutdown hooks after a failed init (close() rethrows the init
    // error): end the plugins of every PlugwireModule of the application here.
    await Promise.all(this.siblings().map((registry) => registry.close()));
    throw (results[failed] as PromiseRejectedResult).reason;
  }

  /** @internal */
  handle(contract: Type, name?: string): PluginHandle {
    const handle = this.handles.get(contract)?.get(name);
    if (!handle) throw new DefinitionError(`PlugwireModule: no plugin ${describeEntry({ contract, name })} is registered`);
    return handle;
  }

  /**
   * The plugwire client of a plugin, for its `state`, `pid` and `stats`, or untyped calls.
   *
   * @param contract - the entry's `@Plugin()` contract class
   * @param name - the entry's `name`, if it has one
   * @returns its client; `undefined` while it has not started
   * @throws `DefinitionError` (`PLUGWIRE_DEFINITION`) when no such plugin is registered
   */
  client(contract: Type, name?: string): PluginClient | undefined {
    return this.handle(contract, name).client;
  }

  /**
   * The state of every plugin.
   *
   * @returns one status per entry, in the order of the entries
   */
  list(): PluginStatus[] {
    return this.all().map((h) => h.status);
  }

  /**
   * The state of every plugin by key: `Modifier`, `Modifier:second`; a second contract
   * class of the same name (from another package) gets `#2`, in the order of the entries.
   *
   * @returns each plugin's status by its key
   */
  statuses(): Record<string, PluginStatus> {
    const out: Record<string, PluginStatus> = {};
    for (const h of this.all()) out[h.key] = h.status;
    return out;
  }

  /**
   * The state of every plugin of every PlugwireModule of the application, as
   * {@link statuses} gives them, in the order the modules were registered; a key another
   * module took already gets `#2`, `#3`. For the health indicator, which any of the
   * modules may provide. @internal
   */
  applicationStatuses(): Record<string, PluginStatus> {
    const out: Record<string, PluginStatus> = {};
    for (const registry of this.siblings()) {
      for (const [key, status] of Object.entries(registry.statuses())) {
        let unique = key;
        for (let n = 2; Object.hasOwn(out, unique); n += 1) unique = `${key}#${n}`;
        out[unique] = status;
      }
    }
    return out;
  }

  /** Terminates every plugin. Safe to call more than once. */
  async close(): Promise<void> {
    await Promise.all(this.all().map((h) => h.close()));
  }

  /**
   * Nest's last init hook, not to be called by hand: the plugins start once every
   * provider is made and every onModuleInit hook has run, so that an application whose
   * start fails before has no process to leave behind. A provider that calls a plugin
   * earlier (in its own onModuleInit) starts that plugin through the proxy.
   */
  async onApplicationBootstrap(): Promise<void> {
    await this.startEager();
  }

  /** The registries of every PlugwireModule of the same application, this one included, in the order of their modules. */
  private siblings(): PlugwireRegistry[] {
    const found = new Set<PlugwireRegistry>();
    for (const module of this.modules?.values() ?? []) {
      for (const wrapper of module.providers.values()) {
        if (wrapper.instance instanceof PlugwireRegistry) found.add(wrapper.instance);
      }
    }
    return [...found.add(this)];
  }

  /** Nest's shutdown hook, not to be called by hand: terminates the plugins. */
  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  private all(): PluginHandle[] {
    return [...this.handles.values()].flatMap((byName) => [...byName.values()]);
  }
}

const PLUGINS_ARRAY = 'PlugwireModule: plugins must be a non-empty array of entries';

/**
 * Checks the shape of the entries (an array of objects with a contract class), which plain
 * JavaScript or a registerAsync() factory may get wrong: register() and registerAsync()
 * read the entries' contracts before the registry is made.
 * @param entries - the `plugins` given
 * @throws DefinitionError when they are no array, or an entry is no object with a contract class
 * @internal
 */
export function checkEntries(entries: unknown): asserts entries is readonly PluginEntry[] {
  if (!Array.isArray(entries)) throw new DefinitionError(PLUGINS_ARRAY);
  for (const entry of entries as unknown[]) {
    if (typeof (entry as Partial<PluginEntry> | null | undefined)?.contract !== 'function') {
      throw new DefinitionError('PlugwireModule: every plugin entry needs a contract class');
    }
  }
}

/** Every key of an entry: a misspelt one (`lazzy: true`) would otherwise be ignored without a word. */
const ENTRY_KEYS = Object.keys({
  contract: true,
  name: true,
  command: true,
  args: true,
  env: true,
  cwd: true,
  logger: true,
  starter: true,
  config: true,
  services: true,
  instances: true,
  lazy: true,
  optional: true,
} satisfies Record<keyof PluginEntry, true>);

function checkKeys(entry: PluginEntry, what: string): void {
  const unknown = Object.keys(entry).find((key) => !ENTRY_KEYS.includes(key));
  if (unknown !== undefined) throw new DefinitionError(`${what}: unknown key '${unknown}' in its entry; the keys are ${ENTRY_KEYS.join(', ')}`);
}
