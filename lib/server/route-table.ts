import { DefinitionError, PluginError, StubError } from '../errors/plugin-error';
import type { MethodDefinition, Type } from '../metadata/method-definition';
import { readContract } from '../metadata/contract';
import { needsConversion } from '../conversion/converter';

/** One callable route of a served plugin. @internal */
export interface Route {
  readonly definition: MethodDefinition;
  readonly target: object;
  readonly handler: (...args: unknown[]) => unknown;
  readonly convert: boolean;
  readonly plugin: string;
  /**
   * Whether the implementation overrides the contract's method. `false` when the served
   * class inherits the contract's body (a `stub()`): reported by serve() and in the manifest.
   */
  readonly implemented: boolean;
}

/** `Contract.method (route /x)`. @internal */
export function describeRoute(definition: MethodDefinition): string {
  return `${definition.declaringClass.name}.${definition.propertyKey} (route ${definition.route})`;
}

/**
 * The handler of a route whose method the implementation does not override: it runs the
 * contract's body (a default the contract may give), and turns its `stub()` error into one
 * that names the method, the route and the class that lacks it.
 */
function inherited(served: { readonly name: string }, definition: MethodDefinition, body: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
  const missing = (error: unknown): never => {
    if (!PluginError.is(error, 'PLUGWIRE_STUB')) throw error;
    throw new StubError(`${served.name} does not implement ${describeRoute(definition)}: override it in the class passed to serve()`);
  };
  return function (this: unknown, ...args: unknown[]): unknown {
    let result: unknown;
    try {
      result = body.apply(this, args);
    } catch (error) {
      return missing(error);
    }
    return result instanceof Promise ? result.catch(missing) : result;
  };
}

/**
 * Builds the route table once, from the metadata of each implementation's class chain.
 * Only decorated methods become routes.
 *
 * @param user - who asks, for the messages: `serve()`, `connect() services`
 * @throws {@link DefinitionError} for a value that is not a decorated instance, a route
 * served twice, or a route whose method is missing on the instance
 * @internal
 */
export function buildRouteTable(implementations: readonly object[], user = 'serve()'): Map<string, Route> {
  const table = new Map<string, Route>();
  if (implementations.length === 0) throw new DefinitionError(`${user} needs at least one plugin implementation`);
  for (const target of implementations) {
    if (typeof target !== 'object' || target === null) {
      throw new DefinitionError(`${user} takes instances of decorated classes, got ${target === null ? 'null' : typeof target}`);
    }
    const ctor = target.constructor;
    const { byRoute, name: plugin } = readContract(ctor as Type, user);
    for (const [route, definition] of byRoute) {
      const handler = (target as Record<string, unknown>)[definition.propertyKey];
      if (typeof handler !== 'function') {
        throw new DefinitionError(`${ctor.name}.${definition.propertyKey} (route ${route}) is not a method on the instance`);
      }
      const other = table.get(route);
      if (other) {
        throw new DefinitionError(`route '${route}' is served twice: by ${other.plugin} and by ${plugin}`);
      }
      // A subclass of the contract that does not override the method serves the contract's body.
      const declared = definition.declaringClass.prototype as Record<string, unknown>;
      const implemented = ctor === definition.declaringClass || handler !== declared[definition.propertyKey];
      table.set(route, {
        definition,
        target,
        handler: implemented ? (handler as (...args: unknown[]) => unknown) : inherited(ctor, definition, handler as (...args: unknown[]) => unknown),
        convert: needsConversion(definition),
        plugin,
        implemented,
      });
    }
  }
  return table;
}
