import { DefinitionError } from '../errors/plugin-error';
import type { MethodDefinition, PluginDefinition, Type } from './method-definition';

/*
 * The only file that calls Reflect.*. Keys are global symbols so that two installed
 * copies of plugwire read each other's metadata.
 */
const METHODS = Symbol.for('plugwire:methods');
const PLUGIN = Symbol.for('plugwire:plugin');

/** The design-time parameter types TypeScript emitted for a method. @internal */
export function readParamTypes(prototype: object, propertyKey: string): readonly unknown[] | undefined {
  return Reflect.getMetadata('design:paramtypes', prototype, propertyKey) as unknown[] | undefined;
}

/**
 * The route map of a class: route → definition, including inherited routes.
 * Never mutate the result. @internal
 */
export function readMethods(target: object): ReadonlyMap<string, MethodDefinition> | undefined {
  return Reflect.getMetadata(METHODS, target) as Map<string, MethodDefinition> | undefined;
}

/**
 * Adds a route to a class. The class gets its own copy of the inherited map first, so a
 * subclass never changes its parent's contract. A property that is decorated again
 * (an override) replaces its earlier route. @internal
 */
export function addMethod(target: Type, definition: MethodDefinition): void {
  let own = Reflect.getOwnMetadata(METHODS, target) as Map<string, MethodDefinition> | undefined;
  if (!own) {
    own = new Map(readMethods(target) ?? []);
    Reflect.defineMetadata(METHODS, own, target);
  }
  for (const [route, existing] of own) {
    if (existing.propertyKey === definition.propertyKey && existing.declaringClass !== target) own.delete(route);
  }
  const clash = own.get(definition.route);
  if (clash) {
    const where = `${clash.declaringClass.name}.${clash.propertyKey}`;
    throw new DefinitionError(
      `duplicate route '${definition.route}': ${target.name}.${definition.propertyKey} and ${where} both declare it`,
    );
  }
  own.set(definition.route, definition);
}

/** Records the plugin definition of a contract class. @internal */
export function definePlugin(target: object, definition: PluginDefinition): void {
  Reflect.defineMetadata(PLUGIN, definition, target);
}

/** The nearest plugin definition in the class chain. @internal */
export function readPlugin(target: object): PluginDefinition | undefined {
  return Reflect.getMetadata(PLUGIN, target) as PluginDefinition | undefined;
}

/** Whether a value is a class constructor that carries routes. @internal */
export function hasMethods(target: unknown): target is Type {
  return typeof target === 'function' && readMethods(target) !== undefined;
}

/** The design type TypeScript emitted for a decorated property (`Date`, a class, `Array`...). @internal */
export function readPropertyType(prototype: object, propertyKey: string): unknown {
  return Reflect.getMetadata('design:type', prototype, propertyKey) as unknown;
}
