import { Inject } from '@nestjs/common';
import type { Type } from '../metadata/method-definition';

type Tokens = WeakMap<Type, symbol>;

// One symbol per contract class, not the class itself: a plugin that is also a host of
// another plugin with the same contract injects that plugin's proxy by the class. Kept
// under a registered symbol so that two installed copies of plugwire hand out the same one.
const TOKENS = Symbol.for('plugwire:nest:host-tokens');

function tokens(): Tokens {
  const holder = globalThis as unknown as Record<symbol, Tokens | undefined>;
  return (holder[TOKENS] ??= new WeakMap());
}

/**
 * The injection token of the proxy to a host service, as {@link PlugwireModule.forHost}
 * provides it: a symbol of the contract class (described as `plugwire:host:<class name>`).
 *
 * @param contract - the `@Plugin()` contract class of the host service
 * @returns the same token for the same class, every time
 *
 * @example
 * ```ts
 * const host = app.get<Remote<HostApi>>(getHostToken(HostApi));
 * ```
 */
export function getHostToken(contract: Type): symbol {
  const table = tokens();
  let token = table.get(contract);
  if (!token) table.set(contract, (token = Symbol(`plugwire:host:${contract.name}`)));
  return token;
}

/**
 * Injects the proxy to a service of the host that started this plugin, in a plugin written
 * as a Nest application context. The module that provides it is
 * {@link PlugwireModule.forHost}.
 *
 * @param contract - the `@Plugin()` contract class of the host service
 * @returns a decorator for a constructor parameter or a property
 *
 * @example
 * ```ts
 * constructor(@InjectHost(HostApi) private readonly host: Remote<HostApi>) { super(); }
 * ```
 */
export function InjectHost(contract: Type): PropertyDecorator & ParameterDecorator {
  return Inject(getHostToken(contract));
}
