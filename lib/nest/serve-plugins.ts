import type { INestApplicationContext } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { DefinitionError, hasMethods, serve, type PluginServer, type ServeOptions } from '../index';

/**
 * The provider instances of a context whose classes have `@Method()` routes.
 * @throws DefinitionError for such a provider that is request-scoped or transient
 */
function pluginProviders(app: INestApplicationContext): object[] {
  const found = new Set<object>();
  for (const module of app.get(ModulesContainer, { strict: false }).values()) {
    for (const wrapper of module.providers.values()) {
      const instance: unknown = wrapper.instance;
      if (!instance || typeof instance !== 'object' || !hasMethods(instance.constructor)) continue;
      // Nest makes a request-scoped or transient provider (or one that depends on such a
      // provider) per request or per injection; the wrapper's instance is then only an
      // object of its class that no constructor ran on, without its injected fields.
      if (wrapper.isTransient || !wrapper.isDependencyTreeStatic()) {
        throw new DefinitionError(
          `servePlugins(): provider ${String(wrapper.name)} is ${wrapper.isTransient ? 'transient' : 'request-scoped (or depends on a request-scoped provider)'}: a served plugin must be a singleton (the default scope)`,
        );
      }
      found.add(instance);
    }
  }
  return [...found];
}

/**
 * Serves the plugin implementations of a Nest application context on the socket the host
 * chose: every provider whose class extends a `@Plugin()` contract. On SIGTERM or SIGINT,
 * or when the host dies, it stops accepting calls, lets those in flight finish, closes the
 * context (its onModuleDestroy/onApplicationShutdown hooks run) and exits with status 0.
 * Do not also call `app.enableShutdownHooks()`: the plugin server owns the signals.
 *
 * @param app - a context from `NestFactory.createApplicationContext(PluginModule)`
 * @param options - plugwire's {@link ServeOptions}; `onClose` runs after the context closed
 * @returns the running plugin server
 * @throws `DefinitionError` (`PLUGWIRE_DEFINITION`) when the context has no plugin implementation,
 *   or one that is not a singleton (request-scoped or transient)
 *
 * @example
 * ```ts
 * const app = await NestFactory.createApplicationContext(PluginModule);
 * await servePlugins(app);
 * ```
 */
export async function servePlugins(app: INestApplicationContext, options: ServeOptions = {}): Promise<PluginServer> {
  const implementations = pluginProviders(app);
  if (implementations.length === 0) {
    throw new DefinitionError('servePlugins(): the application context has no provider that extends a @Plugin() contract');
  }
  const { onClose, onShutdown, ...rest } = options;
  if (onClose !== undefined && onShutdown !== undefined) {
    throw new DefinitionError('servePlugins(): pass onClose or onShutdown (its deprecated name), not both');
  }
  const hook = onClose ?? onShutdown;
  return serve(implementations, {
    ...rest,
    onClose: async () => {
      await app.close();
      await hook?.();
    },
  });
}
