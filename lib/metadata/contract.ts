import { DefinitionError } from '../errors/plugin-error';
import type { MethodDefinition, Type } from './method-definition';
import { readMethods, readPlugin } from './reflection-helpers';
import { shown } from '../util/checked-number';

/**
 * What a contract class declares, read from its metadata: its routes by route and by
 * method name, and the plugin's name. serve(), createProxy(), connect() and the NestJS
 * module read a contract here and nowhere else.
 * @internal
 */
export interface Contract {
  /** The class. */
  readonly type: Type;
  /** The plugin's name: `@Plugin('name')`, else the class name. */
  readonly name: string;
  /** route → definition, inherited routes included. */
  readonly byRoute: ReadonlyMap<string, MethodDefinition>;
  /** method name → definition. */
  readonly byName: ReadonlyMap<string, MethodDefinition>;
}

/**
 * Reads a contract, or the class of an implementation (which extends its contract).
 *
 * @param type - the class
 * @param user - who asks, for the message: `createProxy()`, `serve()`, `plugin entry x`
 * @returns the contract
 * @throws {@link DefinitionError} when `type` is no class, or the class has no `@Method()` routes
 * @internal
 */
export function readContract(type: Type, user: string): Contract {
  // Plain JavaScript can pass anything, such as the undefined of a misspelled import:
  // reflect-metadata would throw a TypeError without a message.
  if (typeof type !== 'function') {
    throw new DefinitionError(`${user} takes a contract class, a @Plugin() class whose methods carry @Method(), got ${shown(type)}: check the name it was imported by`);
  }
  const byRoute = readMethods(type);
  if (!byRoute || byRoute.size === 0) {
    throw new DefinitionError(
      `${type.name || 'the class'} has no @Method() routes (${user}): a contract is a @Plugin() class whose methods carry @Method(), and serve() takes an instance of a class that extends one`,
    );
  }
  const byName = new Map<string, MethodDefinition>();
  for (const definition of byRoute.values()) byName.set(definition.propertyKey, definition);
  return { type, name: readPlugin(type)?.name ?? type.name, byRoute, byName };
}
