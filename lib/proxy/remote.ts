/**
 * The type of a plugin proxy: every method of `T` returns a Promise of its awaited
 * result; properties that are not methods are left out.
 *
 * @example
 * ```ts
 * const modifier: Remote<Modifier> = createProxy(client, Modifier);
 * const text: string = await modifier.modify('x');
 * ```
 */
export type Remote<T> = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [K in keyof T as T[K] extends (...args: any[]) => unknown ? K : never]: T[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
};
