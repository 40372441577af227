// What the conversion specs share: a route's definition, and the refusal a conversion or
// a call ended with.
import { PayloadValidationError } from '../../lib';
import type { MethodDefinition, Type } from '../../lib/metadata/method-definition';
import { readMethods } from '../../lib/metadata/reflection-helpers';

/** The definition of a contract's route; throws when the contract has none. */
export function routeOf(contract: Type, route: string): MethodDefinition {
  const found = readMethods(contract)?.get(route);
  if (!found) throw new Error(`${contract.name} has no route ${route}`);
  return found;
}

/**
 * The PayloadValidationError a conversion or a call ended with: `result` is its promise
 * (or value), or a function that runs it, for one that may throw synchronously. Anything
 * else it throws is thrown again; an end without one fails.
 */
export async function refusalOf(result: unknown): Promise<PayloadValidationError> {
  try {
    await (typeof result === 'function' ? (result as () => unknown)() : result);
  } catch (error) {
    if (error instanceof PayloadValidationError) return error;
    throw error;
  }
  throw new Error('expected a PayloadValidationError');
}

/** Each violation's path with the names of its constraints. */
export function pathsOf(error: PayloadValidationError): Array<[string, string[]]> {
  return error.violations.map((v) => [v.path, Object.keys(v.constraints)]);
}
