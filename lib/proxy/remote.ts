/**
 * The type of a plugin proxy: every method of `T` returns a Promise of its awaited
 * result, except a stream method (declared as returning an `AsyncIterable` of items),
 * which returns an `AsyncIterable` of them; properties that are not methods are left out.
 *
 * @example
 * ```ts
 * const modifier: Remote<Modifier> = createProxy(client, Modifier);
 * const text: string = await modifier.modify('x');
 * const logs: Remote<Logs> = createProxy(client, Logs); // tail() is @Method('/tail', { stream: true })
 * for await (const line of logs.tail({ level: 'warn' })) console.log(line.text);
 * ```
 */
export type Remote<T> = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [K in keyof T as T[K] extends (...args: any[]) => unknown ? K : never]: T[K] extends (...args: infer A) => infer R
    ? [R] extends [AsyncIterable<infer Item>]
      ? (...args: A) => AsyncIterable<Item>
      : (...args: A) => Promise<Awaited<R>>
    : never;
};
