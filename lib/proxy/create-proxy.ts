import { checkCallOptions, mergeCallOptions, type CallOptions } from '../client/call-options';
import type { PluginClient } from '../client/plugin-client';
import { needsConversion } from '../conversion/converter';
import { ClosedError, DefinitionError } from '../errors/plugin-error';
import type { MethodDefinition, Type } from '../metadata/method-definition';
import { readContract } from '../metadata/contract';
import type { Remote } from './remote';

// Names that promise checks, jest matchers, util.inspect, React and serialisers probe on
// any object. Without a contract they must not turn into remote calls; with one, they stay
// undefined even when the contract class has such a method that is not a route.
const PROBES = new Set([
  'then', 'catch', 'finally', 'constructor', 'prototype', 'toJSON', 'toString', 'valueOf', 'inspect',
  'asymmetricMatch', '$$typeof', 'nodeType', 'tagName', 'length', 'name', 'apply', 'call', 'bind',
  '@@__IMMUTABLE_ITERABLE__@@', '@@__IMMUTABLE_RECORD__@@', '_isMockFunction', 'hasOwnProperty',
  'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', '__proto__',
]);

type Stub = (...args: unknown[]) => Promise<unknown> | AsyncIterableIterator<unknown>;

/** The stream of a closed proxy's stream method: its first `next()` rejects with `error`. */
function refusedStream(error: Error): AsyncIterableIterator<unknown> {
  let refused = false;
  const iterator: AsyncIterableIterator<unknown> = {
    [Symbol.asyncIterator]: () => iterator,
    next: () => (refused ? Promise.resolve({ done: true, value: undefined }) : ((refused = true), Promise.reject(error))),
    return: () => ((refused = true), Promise.resolve({ done: true, value: undefined })),
  };
  return iterator;
}

/**
 * The name of the class that declares `name` as a method on the contract's prototype chain
 * (short of Object.prototype), when that method is not a route: a call to it through the
 * proxy is a mistake in the contract. Accessors are not run.
 */
function declarerOfNonRoute(contract: Type, name: string): string | undefined {
  if (name === 'constructor' || PROBES.has(name)) return undefined;
  for (let p: unknown = contract.prototype; typeof p === 'object' && p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const descriptor = Object.getOwnPropertyDescriptor(p, name);
    if (!descriptor) continue;
    if (typeof descriptor.value !== 'function') return undefined;
    const owner: unknown = Object.getOwnPropertyDescriptor(p, 'constructor')?.value;
    return (typeof owner === 'function' && owner.name) || contract.name;
  }
  return undefined;
}

/**
 * A call's Promise made also an AsyncIterable whose first `next()` rejects with `error()`,
 * for a caller who iterates a call that answers once; the Promise's own rejection is then
 * handled, as the loop reports the mistake.
 */
function failingWhenIterated<T>(call: Promise<T>, error: () => Error): Promise<T> {
  return Object.assign(call, {
    [Symbol.asyncIterator]: () => {
      void call.catch(() => undefined);
      return refusedStream(error());
    },
  });
}

/**
 * What a call to a contract method that is not a route returns: a Promise that rejects with
 * `error`, and, in case the method was meant to stream, an AsyncIterable whose first
 * `next()` rejects with it.
 */
function refusedCall(error: Error): Promise<never> {
  return failingWhenIterated(Promise.reject(error), () => error);
}

/**
 * The call of a method that answers once, as an AsyncIterable too: a contract that types a
 * method `AsyncIterable<T>` without `stream: true` compiles, and `for await` over its call
 * would throw "is not async iterable" and leave the call's rejection unhandled, which ends
 * the process. The loop gets a DefinitionError instead.
 */
function answeringOnce(call: Promise<unknown>, route: string): Promise<unknown> {
  return failingWhenIterated(
    call,
    () =>
      new DefinitionError(`${route} is not a stream method: its call answers once, so await it; if the plugin streams it, declare @Method('${route}', { stream: true }) in the contract`),
  );
}

/** What a proxy sends its calls through: a {@link PluginClient}, or the link to a plugin's host. @internal */
export type ProxyClient = Pick<PluginClient, 'name' | 'call' | 'callMethod' | 'streamMethod'>;

interface ProxyState {
  closed: boolean;
  /** The proxy this one was made from by withOptions(): closed with it. */
  readonly parent: ProxyState | undefined;
  readonly client: ProxyClient;
  /** The contract class; `undefined` for a proxy without a contract. */
  readonly contract: Type | undefined;
  /** The contract's methods by name; `undefined` for a proxy without a contract. */
  readonly methods: ReadonlyMap<string, MethodDefinition> | undefined;
  readonly options: CallOptions;
}

function isClosed(state: ProxyState): boolean {
  for (let s: ProxyState | undefined = state; s; s = s.parent) if (s.closed) return true;
  return false;
}

const states = new WeakMap<object, ProxyState>();

/** Options of {@link createProxy}: defaults for every call made through the proxy. */
export type ProxyOptions = CallOptions;

/**
 * Makes a typed proxy whose method calls become calls of the plugin.
 *
 * @param client - the client from {@link startPlugin} or {@link connect}
 * @param contract - the `@Plugin()` contract class. With it, only its methods exist on
 * the proxy, arguments are validated before they are sent, and results are converted to
 * their `returns` class. Without it, any method name `m` calls the route `/m` unchecked.
 * @param options - a default timeout or AbortSignal for every call
 * @returns a {@link Remote} of the contract: every method returns a Promise, a stream
 * method (`@Method({ stream: true })`) an `AsyncIterable` of its items
 * @throws {@link DefinitionError} when the contract has no routes
 *
 * @remarks
 * `then`, symbols and the names that promise checks, jest and `util.inspect` probe
 * return `undefined`, so `await proxy` resolves to the proxy itself and logging it calls
 * nothing. A method of the contract class without `@Method()` gives a function that
 * rejects with `PLUGWIRE_DEFINITION`. One function per method is made and cached. After
 * {@link closeProxy} every call rejects with `PLUGWIRE_CLOSED`. `Object.freeze()`, `seal()`
 * and `preventExtensions()` lock the proxy without stopping its calls.
 *
 * @example
 * ```ts
 * const modifier = createProxy(client, Modifier);
 * await modifier.modify('some value'); // 'some value decorated'
 * ```
 */
export function createProxy<T>(client: PluginClient, contract?: Type<T>, options: ProxyOptions = {}): Remote<T> {
  return proxyOf(client, contract, options, 'createProxy()');
}

/**
 * Makes a proxy whose calls go through `client`: {@link createProxy}, and `hostProxy()`.
 * @param user - who asks, for the messages
 * @internal
 */
export function proxyOf<T>(client: ProxyClient, contract: Type<T> | undefined, options: ProxyOptions, user: string): Remote<T> {
  const methods = contract ? readContract(contract, user).byName : undefined;
  checkCallOptions(options, user);
  return makeProxy({ closed: false, parent: undefined, client, contract, methods, options }) as Remote<T>;
}

function makeProxy(state: ProxyState): object {
  const { client, contract, methods, options } = state;
  const stubs = new Map<string, Stub>();
  const refusal = (route: string): ClosedError => new ClosedError(`this proxy of plugin ${client.name} was closed: call to ${route} refused`, { route });
  const closed = (route: string): Promise<never> => Promise.reject(refusal(route));
  // `then` stays undefined even if a contract declares it, so that awaiting the proxy never calls.
  const isMethod = (property: string | symbol): property is string => typeof property === 'string' && property !== 'then' && methods !== undefined && methods.has(property);
  // A contract proxy's methods are kept on the target as read-only, non-configurable
  // properties, each once it is first used: what the traps report then holds whatever is
  // done to the proxy (Object.freeze, seal and preventExtensions check the traps against
  // the target), and a frozen proxy keeps calling.
  const target = Object.create(null) as Record<string, Stub>;

  const stubFor = (name: string): Stub | undefined => {
    let stub = stubs.get(name);
    if (stub) return stub;
    const definition = methods?.get(name);
    if (methods && !definition) {
      // A contract method without @Method(): Remote<T> types it, so say what is missing
      // rather than let the caller find `undefined` is not a function.
      const owner = contract && declarerOfNonRoute(contract, name);
      if (owner === undefined) return undefined;
      const message = `${owner}.${name} is not a route, so the proxy cannot call it: add @Method('/${name}') (or the route the plugin serves it at) to it in the contract`;
      stub = () => refusedCall(new DefinitionError(message));
    } else if (definition) {
      // Worked out once per method, not per call.
      // validate: false still writes DTOs as class-transformer does (convertArgs checks nothing then).
      const convert = needsConversion(definition);
      stub = definition.stream
        ? (...args) => (isClosed(state) ? refusedStream(refusal(definition.route)) : client.streamMethod(definition, args, options, convert))
        : (...args) => answeringOnce(isClosed(state) ? closed(definition.route) : client.callMethod(definition, args, options, convert), definition.route);
      Object.defineProperty(target, name, { value: stub, writable: false, enumerable: true, configurable: false });
    } else {
      const route = `/${name}`;
      stub = (...args) =>
        isClosed(state) ? closed(route) : client.call(route, args.length === 0 ? null : args.length === 1 ? args[0] : args, options);
    }
    stubs.set(name, stub);
    return stub;
  };

  const proxy = new Proxy(target, {
    get(_target, property) {
      if (typeof property !== 'string' || property === 'then' || (!methods && PROBES.has(property))) return undefined;
      return stubFor(property);
    },
    has(_target, property) {
      return isMethod(property);
    },
    ownKeys() {
      return methods ? [...methods.keys()].filter(isMethod) : [];
    },
    getOwnPropertyDescriptor(_target, property) {
      if (!isMethod(property)) return undefined;
      stubFor(property);
      return Reflect.getOwnPropertyDescriptor(target, property);
    },
    set() {
      return false;
    },
    defineProperty(_target, property, descriptor) {
      // Only what changes nothing succeeds (Object.freeze and seal ask for that).
      if (!isMethod(property)) return false;
      stubFor(property);
      return Reflect.defineProperty(target, property, descriptor);
    },
    deleteProperty() {
      return false;
    },
    preventExtensions() {
      // A target that can no longer grow must already hold every method ownKeys lists.
      for (const name of methods?.keys() ?? []) if (isMethod(name)) stubFor(name);
      return Reflect.preventExtensions(target);
    },
  });
  states.set(proxy, state);
  return proxy;
}

/**
 * A proxy of the same plugin and type whose calls use these options: a timeout, an
 * AbortSignal, extra headers. Arguments are validated and results converted as through
 * the proxy it was made from.
 *
 * @param proxy - a proxy from {@link createProxy} or {@link connect}, or one made by `withOptions()`
 * @param options - laid over the proxy's own: a timeout or headers here win (headers
 * are merged), and with two signals either aborts the call
 * @returns a new proxy of the same type; the original is unchanged
 * @throws TypeError when `proxy` is not a plugwire proxy or an option is invalid (a
 * timeout out of range, a header plugwire sends itself)
 *
 * @remarks
 * Closing a proxy also closes the proxies made from it. Making one is cheap (no
 * request, no contract reading), but it keeps its own cache of method functions: make it
 * once per timeout or signal, not once per call in a hot loop.
 *
 * @example
 * ```ts
 * const quick = withOptions(plugin, { timeout: 500 });
 * await quick.modify('x'); // PLUGWIRE_TIMEOUT after 500 ms
 *
 * const controller = new AbortController();
 * const traced = withOptions(plugin, { signal: controller.signal, headers: { 'x-trace-id': 'abc' } });
 * ```
 */
export function withOptions<R extends object>(proxy: R, options: CallOptions): R {
  const parent = states.get(proxy);
  if (!parent) throw new TypeError('withOptions(): not a plugwire proxy (use the proxy from connect() or createProxy())');
  checkCallOptions(options, 'withOptions()');
  return makeProxy({ ...parent, closed: false, parent, options: mergeCallOptions(parent.options, options) }) as R;
}

/**
 * Closes a proxy: every later call through it, and through the proxies made from it by
 * {@link withOptions}, rejects with `PLUGWIRE_CLOSED`. The plugin itself keeps running for
 * other proxies; stop it with the `close()` of {@link connect} or {@link startPlugin}.
 *
 * @param proxy - a proxy from {@link createProxy} or {@link connect}
 * @throws TypeError when `proxy` is not a plugwire proxy
 */
export function closeProxy(proxy: object): void {
  const state = states.get(proxy);
  if (!state) throw new TypeError('closeProxy(): not a plugwire proxy');
  state.closed = true;
}

/** @deprecated use {@link closeProxy}; removed in 0.3 */
export const releaseProxy: typeof closeProxy = closeProxy;
