/*
 * Checks of numbers a user configures (the client's configuration, serve()'s options):
 * the range, whether it must be whole, and a message that names the field and shows what
 * it got.
 */

/** How a number is checked: its range, whether it must be whole, and what it counts. @internal */
export interface NumberRule {
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
  /** What the number is, in messages: `a number of ms`, `a whole number`. */
  readonly what: string;
}

/** A duration from `min` to `max` ms. @internal */
export const msRule = (min: number, max: number): NumberRule => ({ min, max, integer: false, what: 'a number of ms' });

/** A whole number from `min` to `max`. @internal */
export const countRule = (min: number, max: number): NumberRule => ({ min, max, integer: true, what: 'a whole number' });

/** A value and its type, for messages: `the string "5 s"`, `the number -1`, `null`. @internal */
export function shown(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)}`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `the ${typeof value} ${String(value)}`;
    case 'undefined':
      return 'undefined';
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    default:
      return value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object';
  }
}

/**
 * A configured number. A string of decimal digits counts as its number: configuration
 * services and environment variables hand out strings.
 *
 * @param where - what is configured, for the message: `plugwire config`, `serve()`
 * @param fail - makes the error thrown; a TypeError by default
 * @throws the error `fail` makes (a TypeError) naming the field, what it must be, and the
 * value and type it got
 * @internal
 */
export function checkedNumber(where: string, name: string, value: unknown, rule: NumberRule, fail: (message: string) => Error = (message) => new TypeError(message)): number {
  const n = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < rule.min || n > rule.max || (rule.integer && !Number.isInteger(n))) {
    throw fail(`${where}: ${name} must be ${rule.what} from ${rule.min} to ${rule.max}, got ${shown(value)}`);
  }
  return n;
}
