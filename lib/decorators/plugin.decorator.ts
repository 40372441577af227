import { DefinitionError, StubCalledError } from '../errors/plugin-error';
import { definePlugin } from '../metadata/reflection-helpers';
import { isStandardDecoratorContext, standardDecoratorError } from './method.decorator';

/**
 * Marks a class as a plugin contract, the class that host and plugin share.
 *
 * @param name - the plugin's name, used in logs and errors; defaults to the class name
 * @returns a class decorator
 * @throws {@link DefinitionError} for an empty name, or when compiled without
 * `experimentalDecorators` (as a TC39 standard decorator)
 *
 * @example
 * ```ts
 * @Plugin('modifier')
 * export class Modifier {
 *   @Method('/modify') modify(value: string): Promise<string> { return stub(); }
 * }
 * ```
 */
export function Plugin(name?: string): ClassDecorator {
  // A standard decorator gets a second argument, which a legacy class decorator never does.
  return (target: { readonly name: string }, context?: unknown) => {
    if (isStandardDecoratorContext(context)) {
      const className = context.name ?? target.name;
      throw standardDecoratorError('@Plugin()', className ? `class ${String(className)}` : 'an anonymous class');
    }
    if (name !== undefined && (typeof name !== 'string' || name.trim() === '')) {
      throw new DefinitionError(`@Plugin() on ${target.name}: the name must be a non-empty string`);
    }
    definePlugin(target, { name: name ?? target.name });
  };
}

/**
 * The body of a contract method. TypeScript refuses decorators on abstract methods
 * (TS1249), so contract methods need a body: `return stub();` says that the method is
 * implemented by the plugin and fails clearly if it is ever run locally.
 *
 * @param _parameters - optional: pass the method's parameters to keep
 * `noUnusedParameters` quiet, e.g. `return stub(value);`
 * @returns never: it always throws
 * @throws {@link StubCalledError} (`PLUGWIRE_STUB`), always
 *
 * @example
 * ```ts
 * @Method('/modify') modify(value: string): Promise<string> { return stub(value); }
 * ```
 */
export function stub(..._parameters: unknown[]): never {
  throw new StubCalledError();
}
