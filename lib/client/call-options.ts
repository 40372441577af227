import { CALLER_PID_HEADER, MAX_TIMEOUT, REENTRANT_HEADER, VERSION_HEADER } from '../protocol/constants';
import { STREAM_HEADER } from '../protocol/stream';

/**
 * Per-call options: of {@link PluginClient.call}, of {@link withOptions}, and the defaults of
 * {@link createProxy}. A field left out or `undefined` is not set.
 */
export interface CallOptions {
  /** Aborts the call: it rejects with `PLUGWIRE_ABORTED` and the plugin's signal fires. */
  readonly signal?: AbortSignal | undefined;
  /**
   * This call's timeout in ms, instead of the method's (`@Method({ timeout })`) or the
   * client's `timeout`; `0` for none. A call made while a method serves a call also ends
   * at that call's deadline, and is aborted with its signal.
   */
  readonly timeout?: number | undefined;
  /**
   * Extra request headers, seen by the plugin method in `callContext().headers` (a trace
   * id, a tenant). Names plugwire itself sends (`authorization`, `content-type`,
   * `x-plugwire-version`, `x-plugwire-stream`, `x-plugwire-caller-pid`,
   * `x-plugwire-reentrant`, and the HTTP
   * framing headers) are refused.
   */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

// Headers the client sends itself, or that would change how the request is framed.
const RESERVED_HEADERS = new Set([
  'authorization', 'content-type', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'host',
  'expect', 'upgrade', 'te', 'trailer', 'proxy-connection', VERSION_HEADER, STREAM_HEADER, CALLER_PID_HEADER, REENTRANT_HEADER,
]);
// An HTTP token (RFC 9110 §5.6.2).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// A field value: visible characters, spaces and tabs, no CR or LF.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

// A route as the request target: a URL path (unreserved, sub-delim, ':' '@' '/' or
// percent-encoded characters), and an optional query, which plugins ignore.
const PCHARS = "[A-Za-z0-9\\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2}";
const ROUTE = new RegExp(`^/(?:${PCHARS})*(?:\\?(?:${PCHARS}|\\?)*)?$`);

/**
 * Why a route cannot be sent as the request target of a call, or `undefined` when it
 * can: a plugin would otherwise answer 400 to a space or a line break, which reads as
 * a broken plugin. @internal
 */
export function routeProblem(route: unknown): string | undefined {
  if (typeof route !== 'string' || !route.startsWith('/')) return `the route must be a string starting with '/', got ${typeof route === 'string' ? JSON.stringify(route) : String(route)}`;
  if (!ROUTE.test(route)) {
    return `the route must be a URL path (letters, digits, -._~!$&'()*+,;=:@/ and %XX for anything else, such as %20 for a space), got ${JSON.stringify(route)}`;
  }
  return undefined;
}

/**
 * A call's timeout, ms: its own, else its method's (`@Method({ timeout })`), else the
 * client's; `0` for none. @internal
 */
export function callTimeout(options: CallOptions, definition: { readonly timeout?: number } | undefined, clientTimeout: number): number {
  return options.timeout ?? definition?.timeout ?? clientTimeout;
}

/**
 * Checks per-call options and throws a TypeError naming the bad one.
 * @param where - what the options are for, e.g. `withOptions()` or `call to /modify`
 * @internal
 */
export function checkCallOptions(options: CallOptions, where: string): void {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${where}: options must be an object`);
  // A misspelt option (`timout`) would leave the call without it, without a word.
  for (const key in options) if (key !== 'timeout' && key !== 'signal' && key !== 'headers') throw new TypeError(`${where}: unknown option '${key}'; the options are timeout, signal and headers`);
  const { timeout, signal, headers } = options;
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout >= 0 && timeout <= MAX_TIMEOUT))) {
    throw new TypeError(`${where}: timeout must be a number of ms from 0 to ${MAX_TIMEOUT}, got ${String(timeout)}`);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError(`${where}: signal must be an AbortSignal`);
  if (headers === undefined) return;
  if (typeof headers !== 'object' || headers === null) throw new TypeError(`${where}: headers must be an object of strings`);
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) throw new TypeError(`${where}: ${JSON.stringify(name)} is not a valid header name`);
    if (RESERVED_HEADERS.has(name.toLowerCase())) throw new TypeError(`${where}: the header ${name} is plugwire's own and cannot be set per call`);
    if (typeof value !== 'string' || !FIELD_VALUE.test(value)) throw new TypeError(`${where}: the value of header ${name} must be a string without line breaks`);
  }
}

/**
 * Lays `next` over `base`: a timeout or headers in `next` win; two signals both abort the call.
 * @internal
 */
export function mergeCallOptions(base: CallOptions, next: CallOptions): CallOptions {
  const signal = base.signal && next.signal ? AbortSignal.any([base.signal, next.signal]) : (next.signal ?? base.signal);
  const headers = base.headers && next.headers ? { ...base.headers, ...next.headers } : (next.headers ?? base.headers);
  const timeout = next.timeout ?? base.timeout;
  return {
    ...(signal === undefined ? {} : { signal }),
    ...(timeout === undefined ? {} : { timeout }),
    ...(headers === undefined ? {} : { headers: Object.freeze({ ...headers }) }),
  };
}

/** What a caller's AbortSignal aborts: a call in flight. @internal */
export interface SignalFollower {
  handleEvent(): void;
}

// The calls in flight per caller's signal, behind one listener per signal: one listener
// per call would warn of a leak (MaxListenersExceededWarning) at 11 calls in flight
// through a proxy made with one signal, and cost a listener per call.
const followers = new WeakMap<AbortSignal, Set<SignalFollower>>();

function abortFollowers(this: AbortSignal): void {
  const set = followers.get(this);
  followers.delete(this);
  // Each follower settles and unfollows as it runs: go through a copy.
  for (const follower of [...(set ?? [])]) follower.handleEvent();
}

/**
 * Runs `follower.handleEvent()` when `signal` aborts, with one listener on the signal
 * however many calls follow it. @internal
 */
export function followSignal(signal: AbortSignal, follower: SignalFollower): void {
  let set = followers.get(signal);
  if (!set) {
    followers.set(signal, (set = new Set()));
    signal.addEventListener('abort', abortFollowers, { once: true });
  }
  set.add(follower);
}

// Signals whose listener stays when their last follower goes (see keepFollowing).
const kept = new WeakSet<AbortSignal>();

/**
 * Keeps the listener on `signal` while it has no follower: for a signal that many calls
 * follow one after the other (the signal of a call a plugin serves, which each of its
 * calls to the host follows), rather than adding and removing one at each call. Only for
 * a signal that lives no longer than the calls it aborts: a listener keeps a signal of
 * `AbortSignal.any()` or `AbortSignal.timeout()` alive. @internal
 */
export function keepFollowing(signal: AbortSignal): void {
  kept.add(signal);
}

/** Stops following `signal`; its listener goes with the last follower, unless it is kept. @internal */
export function unfollowSignal(signal: AbortSignal, follower: SignalFollower): void {
  const set = followers.get(signal);
  if (!set?.delete(follower) || set.size > 0 || kept.has(signal)) return;
  followers.delete(signal);
  signal.removeEventListener('abort', abortFollowers);
}
