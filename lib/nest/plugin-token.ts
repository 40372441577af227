import { Inject } from '@nestjs/common';
import type { Type } from '../metadata/method-definition';

/**
 * The injection token of a plugin's proxy: the contract class itself, or for a named
 * plugin a string made of the class's name and the plugin's name.
 */
export function getPluginToken(contract: Type, name?: string): Type | string {
  return name === undefined ? contract : `plugwire:${contract.name}:${name}`;
}

/**
 * Injects a plugin's proxy. For an unnamed plugin, the same as declaring the parameter
 * with the contract class as its type; for a named one the only way.
 *
 * @example
 * ```ts
 * constructor(@InjectPlugin(Modifier, 'second') private readonly second: Remote<Modifier>) {}
 * ```
 */
export function InjectPlugin(contract: Type, name?: string): PropertyDecorator & ParameterDecorator {
  return Inject(getPluginToken(contract, name));
}
