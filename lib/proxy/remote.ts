/** A function of any signature. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => unknown;

/**
 * Built-in classes a parameter may have, which have methods but are no DTO: taken as they
 * are, never as an object of their data properties (a `Date`'s would be `{}`, which takes
 * any value).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type BuiltIn = Date | RegExp | ReadonlyMap<any, any> | ReadonlySet<any> | WeakMap<object, unknown> | WeakSet<object> | ArrayBuffer | ArrayBufferView | PromiseLike<unknown> | AnyFunction;

/** The names of the properties of `T` that are not functions: its data, as JSON has it. */
type DataKeys<T> = { [K in keyof T]-?: T[K] extends AnyFunction ? never : K }[keyof T];

/**
 * A DTO as a parameter takes it: an instance, or, for a class with methods, a plain
 * object of its data properties (which the host converts, as docs/contracts-and-methods.md
 * says). A class without methods, a built-in, a primitive and a class with no data
 * property stay as they are. Shallow: the properties keep their types.
 */
type DtoArgument<P> = 0 extends 1 & P
  ? P
  : P extends BuiltIn
    ? P
    : P extends object
      ? [Exclude<keyof P, DataKeys<P>>] extends [never]
        ? P
        : [DataKeys<P>] extends [never]
          ? P
          : P | { [K in keyof P as K extends DataKeys<P> ? K : never]: P[K] }
      : P;

/**
 * A parameter's type as the proxy takes it: a DTO (see DtoArgument), or an array of them
 * (each item one); a tuple, and an array whose items need nothing, stay as they are.
 */
type ProxyArgument<P> = 0 extends 1 & P
  ? P
  : P extends readonly unknown[]
    ? number extends P['length']
      ? P extends readonly (infer Item)[]
        ? [DtoArgument<Item>] extends [Item]
          ? P
          : P extends unknown[]
            ? DtoArgument<Item>[]
            : readonly DtoArgument<Item>[]
        : P
      : P
    : DtoArgument<P>;

/** The parameters of a contract method as the proxy takes them, their names and optionality kept. */
type ProxyArguments<A extends unknown[]> = { [I in keyof A]: ProxyArgument<A[I]> };

/** A method of the proxy, from a contract method's parameters and result. */
type RemoteMethod<A extends unknown[], R> = [R] extends [never]
  ? (...args: ProxyArguments<A>) => Promise<never>
  : 0 extends 1 & R
    ? // eslint-disable-next-line @typescript-eslint/no-explicit-any
      (...args: ProxyArguments<A>) => Promise<any>
    : [R] extends [AsyncIterable<infer Item>]
      ? (...args: ProxyArguments<A>) => AsyncIterable<Item>
      : (...args: ProxyArguments<A>) => Promise<Awaited<R>>;

/**
 * The type of a plugin proxy: every method of `T` returns a Promise of its awaited
 * result, except a stream method (declared as returning an `AsyncIterable` of items),
 * which returns an `AsyncIterable` of them; properties that are not methods are left out.
 *
 * @remarks
 * A method whose result is typed `never` (a contract method `ping() { return stub(); }`
 * with no return type written) or `any` returns `Promise<never>` or `Promise<any>`: only a
 * result declared as an `AsyncIterable` makes a stream method. A parameter whose type is a
 * class with methods (or an array of them) also takes a plain object of the class's data
 * properties, which the host converts into an instance as it would the JSON
 * (docs/contracts-and-methods.md); its getters count as data.
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
  [K in keyof T as T[K] extends AnyFunction ? K : never]: T[K] extends (...args: infer A) => infer R ? RemoteMethod<A, R> : never;
};
