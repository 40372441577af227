import { Inject } from '@nestjs/common';
import type { Type } from '../metadata/method-definition';

type Tokens = WeakMap<Type, Map<string, symbol>>;

// Named plugins' tokens, one symbol per contract class and name: two contracts whose
// classes share a name (two packages each exporting `Api`) must not share a token. Kept
// under a registered symbol so that two installed copies of plugwire hand out the same one.
const TOKENS = Symbol.for('plugwire:nest:plugin-tokens');

function tokens(): Tokens {
  const holder = globalThis as unknown as Record<symbol, Tokens | undefined>;
  return (holder[TOKENS] ??= new WeakMap());
}

/**
 * The injection token of a plugin's proxy: the contract class itself, or for a named
 * plugin a symbol of that class and name (described as `plugwire:<class name>:<name>`).
 *
 * @param contract - the `@Plugin()` contract class of the entry
 * @param name - the entry's `name`, if it has one
 * @returns the same token for the same class and name, every time
 */
export function getPluginToken(contract: Type, name?: string): Type | symbol {
  if (name === undefined) return contract;
  const table = tokens();
  let byName = table.get(contract);
  if (!byName) table.set(contract, (byName = new Map<string, symbol>()));
  let token = byName.get(name);
  if (!token) byName.set(name, (token = Symbol(`plugwire:${contract.name}:${name}`)));
  return token;
}

/**
 * Injects a plugin's proxy. For an unnamed plugin, the same as declaring the parameter
 * with the contract class as its type; for a named one the only way.
 *
 * @param contract - the `@Plugin()` contract class of the entry
 * @param name - the entry's `name`, for a second plugin with the same contract
 * @returns a decorator for a constructor parameter or a property
 *
 * @example
 * ```ts
 * constructor(@InjectPlugin(Modifier, 'second') private readonly second: Remote<Modifier>) {}
 * ```
 */
export function InjectPlugin(contract: Type, name?: string): PropertyDecorator & ParameterDecorator {
  return Inject(getPluginToken(contract, name));
}
