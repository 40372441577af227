import type { ValidatorOptions } from 'class-validator';

/** A class constructor, as used for DTOs and contracts. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Type<T = unknown> = abstract new (...args: any[]) => T;

/** Options of {@link Method}. */
export interface MethodOptions {
  /**
   * The class of the method's result, or `[Class]` for an array of them. The host converts
   * the answer into an instance of it with class-transformer and validates it with
   * class-validator (a class without constraints is only converted); the plugin converts
   * its result with `instanceToPlain` before sending. `Date` and `[Date]` give `Date`s on
   * the host; other built-ins (`String`, `Number`...) are taken as they arrive.
   */
  readonly returns?: Type | readonly [Type];
  /**
   * The parameter types, overriding the ones TypeScript emitted: a class, or `[Class]` for
   * an array of them. Needed where the emitted type is useless: an interface, a union, or
   * a class imported with `import type` (all emitted as `Object`), and an array of DTOs,
   * which TypeScript emits as `Array`. A `[Class]` parameter is checked item by item as a
   * `Class` parameter is (violations at `[i].field`, or `[p][i].field` for parameter `p`
   * of several): the host sends the JSON value of each item, the plugin gets an array of
   * instances. `[Date]` gives `Date`s from RFC 3339 date-times; `[String]`, `[Number]`
   * and `[Boolean]` check the type of each item.
   *
   * @example
   * ```ts
   * @Method('/bulk', { params: [[Item], String] })
   * bulk(items: Item[], note: string): Promise<number> { return stub(items, note); }
   * ```
   */
  readonly params?: readonly (Type | readonly [Type])[];
  /**
   * Whether a call that may already have reached the plugin is sent again after a
   * restart. Default `true` (at-least-once); set `false` for methods that must not run twice.
   */
  readonly idempotent?: boolean;
  /**
   * Whether class-typed parameters are validated. Default: validate every parameter
   * whose type is a class, and report (with a warning) a parameter whose type is `Object`.
   * `true` makes an `Object` parameter a definition error; `false` turns validation off.
   */
  readonly validate?: boolean;
  /** class-validator options for this method's parameters and result. */
  readonly validator?: ValidatorOptions;
  /**
   * This method's default timeout in ms, instead of the client's `timeout`; `0` for none
   * (a long-running job). A per-call `timeout` ({@link withOptions}, `client.call()`)
   * still wins.
   */
  readonly timeout?: number;
  /**
   * Whether the method streams its result: it returns an `AsyncIterable` of items (an
   * `async *` method in the plugin), `returns` is the class of one item, and the host gets
   * an `AsyncIterable` it reads with `for await`. The call's timeout bounds the whole
   * stream; `timeout: 0` means none (a log tail). Default `false`.
   */
  readonly stream?: boolean;
}

/** How a method's parameter is converted and checked. @internal */
export type ParamKind = 'string' | 'number' | 'boolean' | 'array' | 'date' | 'class' | 'any';

/** How a value (a parameter, or an item of an array parameter) is converted and checked. @internal */
export interface ValueDefinition {
  readonly kind: ParamKind;
  readonly type: Type | undefined;
}

/** One parameter of a method. @internal */
export interface ParamDefinition extends ValueDefinition {
  readonly index: number;
  /** For an `array` parameter named `[Class]` in `params`: how each of its items is checked. */
  readonly items?: ValueDefinition;
}

/** Everything plugwire knows about one decorated method, read once at decoration time. */
export interface MethodDefinition {
  /** The route, e.g. `/modify`. */
  readonly route: string;
  /** The method's name on the class. */
  readonly propertyKey: string;
  /** The class that declared the route. */
  readonly declaringClass: Type;
  /** The parameters, in order. @internal */
  readonly params: readonly ParamDefinition[];
  /** The result class (or `Date`), if any. */
  readonly returns: Type | undefined;
  /** Whether the result is an array of `returns`. */
  readonly returnsArray: boolean;
  /** See {@link MethodOptions.idempotent}. */
  readonly idempotent: boolean;
  /** See {@link MethodOptions.validate}. */
  readonly validate: boolean;
  /** See {@link MethodOptions.validator}. */
  readonly validator: ValidatorOptions | undefined;
  /** See {@link MethodOptions.timeout}: `undefined` when the method does not set one. */
  readonly timeout: number | undefined;
  /** See {@link MethodOptions.stream}. */
  readonly stream: boolean;
}

/** What {@link Plugin} records on a contract class. */
export interface PluginDefinition {
  /** The plugin's name: the decorator's argument, or the class name. */
  readonly name: string;
}
