import type { ModuleRef } from '@nestjs/core';
import { DefinitionError, hasMethods, readContract } from '../index';
import type { PluginEntry } from './plugwire.interfaces';

/*
 * The host services of a plugin entry (`services: [HostApiImpl]`): checked when the module
 * is made, so that a wrong entry fails the application's start even for a lazy or optional
 * plugin, and resolved from the Nest container once its providers exist, so that each
 * service is the application's own instance with its own injected dependencies.
 */

/** How a service is named in messages: its class's name. */
function nameOf(service: unknown): string {
  const type = typeof service === 'function' ? service : (service as object | null | undefined)?.constructor;
  return typeof type === 'function' && type.name !== '' ? type.name : String(service);
}

/**
 * Checks an entry's `services`: classes or instances of `@Plugin()` implementations (a
 * class that extends a contract, not the contract), no route served twice, and not also
 * given as `config.services`.
 * @param entry - the plugin's entry
 * @param what - the plugin, for the messages: `PlugwireModule: plugin Logs`
 * @throws DefinitionError naming the plugin and the service
 * @internal
 */
export function checkServices(entry: PluginEntry, what: string): void {
  const { services } = entry;
  if (services === undefined) return;
  if (!Array.isArray(services)) throw new DefinitionError(`${what}: services must be an array of host service classes`);
  if (entry.config?.services !== undefined) throw new DefinitionError(`${what}: give services or config.services, not both`);
  const routes = new Map<string, string>();
  for (const [i, service] of services.entries()) {
    const type: unknown = typeof service === 'function' ? service : (service as object | null | undefined)?.constructor;
    if (typeof service !== 'function' && (typeof service !== 'object' || service === null)) {
      throw new DefinitionError(`${what}: services[${i}] (${String(service)}) is not a class: give host service classes, which the module resolves from the application`);
    }
    if (!hasMethods(type)) {
      throw new DefinitionError(
        `${what}: host service ${nameOf(service)} (services[${i}]) is not a @Plugin() implementation: a host service is a class that extends a @Plugin() contract and implements its methods`,
      );
    }
    const { byRoute } = readContract(type, `${what}, services`);
    // The contract class itself (`services: [HostApi]`) serves its placeholder bodies, so
    // every call would fail with PLUGWIRE_STUB, and the route table counts a method of the
    // class that declares it as implemented, so no PLUGWIRE_NOT_IMPLEMENTED warning says so.
    // A class that declares its routes and implements them in one is refused with it:
    // nothing tells its bodies from placeholders without calling them.
    if ([...byRoute.values()].every((d) => d.declaringClass === type)) {
      throw new DefinitionError(
        `${what}: host service ${nameOf(service)} (services[${i}]) is the @Plugin() contract itself, whose methods are placeholders that fail every call with PLUGWIRE_STUB: pass a class that extends the contract and implements its methods`,
      );
    }
    for (const route of byRoute.keys()) {
      const other = routes.get(route);
      if (other !== undefined) throw new DefinitionError(`${what}: host services ${other} and ${nameOf(service)} both serve ${route}`);
      routes.set(route, nameOf(service));
    }
  }
}

/** The Nest error classes a lookup throws, told apart by name: the exceptions are not exported by @nestjs/core's root. */
function notProvided(error: unknown): boolean {
  return error instanceof Error && error.constructor.name === 'UnknownElementException';
}

/**
 * The instances to serve for an entry's `services`: each class is the provider of that
 * token anywhere in the application (a singleton); an instance is served as given.
 * @param entry - a checked entry (see {@link checkServices})
 * @param moduleRef - the module's reference, to look the classes up in the whole application
 * @param what - the plugin, for the messages: `PlugwireModule: plugin Logs`
 * @throws DefinitionError when a class is not provided, or is request-scoped or transient
 * @internal
 */
export function resolveServices(entry: PluginEntry, moduleRef: ModuleRef | undefined, what: string): object[] {
  return (entry.services ?? []).map((service) => {
    if (typeof service !== 'function') return service;
    if (!moduleRef) throw new DefinitionError(`${what}: host service ${nameOf(service)} cannot be resolved outside a Nest application`);
    let instance: unknown;
    try {
      instance = moduleRef.get(service, { strict: false });
    } catch (error) {
      if (notProvided(error)) {
        throw new DefinitionError(
          `${what}: host service ${nameOf(service)} is not a provider of the application: add it to the providers of a module, where its own dependencies are injected`,
          { cause: error },
        );
      }
      throw new DefinitionError(`${what}: host service ${nameOf(service)} cannot be resolved (it must be a singleton, the default scope): ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (instance === undefined || instance === null || typeof instance !== 'object') {
      throw new DefinitionError(`${what}: the provider of host service ${nameOf(service)} is not an object (it is ${String(instance)})`);
    }
    if (!hasMethods(instance.constructor)) {
      throw new DefinitionError(`${what}: the provider of host service ${nameOf(service)} is a ${nameOf(instance)}, which is not a @Plugin() implementation`);
    }
    return instance;
  });
}
