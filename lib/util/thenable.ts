/**
 * Whether a value is a promise or promise-like (has a `then` method): what a method or an
 * iterator of the user's code may return instead of its value. `instanceof Promise` first,
 * the common case, so a native promise costs no property read.
 * @internal
 */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value instanceof Promise || (typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function');
}
