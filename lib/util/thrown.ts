// Reading what was thrown, which may be anything: a value that is no Error, an Error of
// another realm, getters and toString methods that throw, a Proxy whose traps throw.
import { types } from 'node:util';

/**
 * Whether a value is an Error, from this realm or another (a `vm` context, a worker's
 * structured clone): `instanceof Error` sees only this realm's. Never throws, even for a
 * Proxy whose every trap throws. @internal
 */
export function isError(value: unknown): value is Error {
  if (typeof value !== 'object' || value === null) return false;
  try {
    return types.isNativeError(value) || value instanceof Error;
  } catch {
    return false; // a Proxy whose getPrototypeOf trap throws
  }
}

/**
 * Reads a property of a thrown value as a string, or `undefined` when reading or
 * printing it throws: a thrown value may have getters that throw, or a `toString` that
 * does. Never throws. @internal
 */
export function readText(value: object, key: string): string | undefined {
  try {
    const field: unknown = (value as Record<string, unknown>)[key];
    return typeof field === 'string' ? field : field === undefined ? undefined : describeThrown(field);
  } catch {
    return undefined;
  }
}

/** Reads a property of a thrown value, or `undefined` when reading it throws. @internal */
export function readField(value: object, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** A thrown value that is not an Error, as text: its JSON, else its string, else what kind of value it is. Never throws. @internal */
export function describeThrown(value: unknown): string {
  try {
    const json = JSON.stringify(value);
    if (json !== undefined) return json;
  } catch {
    // a BigInt, a cycle, a throwing toJSON or getter: try its string
  }
  try {
    return String(value);
  } catch {
    return `an unprintable ${typeof value}`;
  }
}

/**
 * A thrown value as a line of a log: an Error's stack (else its name and message), anything
 * else as {@link describeThrown} says. Never throws. @internal
 */
export function describeForLog(error: unknown): string {
  if (isError(error)) {
    const stack = readText(error, 'stack');
    if (stack !== undefined) return stack;
    return `${readText(error, 'name') ?? 'Error'}: ${readText(error, 'message') ?? 'error with an unprintable message'}`;
  }
  return typeof error === 'string' ? error : describeThrown(error);
}
