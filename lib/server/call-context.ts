import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingHttpHeaders } from 'node:http';
import { PluginError } from '../errors/plugin-error';

/**
 * What a plugin method can know about the call it is serving.
 */
export interface CallContext {
  /** The route that was called, e.g. `/modify`. */
  readonly route: string;
  /** The caller's deadline, or `undefined` when it set none. */
  readonly deadline: Date | undefined;
  /**
   * Fires when the deadline passes or the caller goes away (it aborted, or its
   * connection closed). Pass it on to I/O the method starts.
   */
  readonly signal: AbortSignal;
  /** The request headers. */
  readonly headers: IncomingHttpHeaders;
}

const storage = new AsyncLocalStorage<CallContext>();

/** @internal */
export function runInCallContext<A extends unknown[], R>(context: CallContext, fn: (...args: A) => R, ...args: A): R {
  return storage.run(context, fn, ...args);
}

/**
 * The context of the call that the current plugin method is serving.
 *
 * @returns the deadline, an AbortSignal that fires at it, the route and the headers
 * @throws {@link PluginError} with code `PLUGWIRE_DEFINITION` when called outside a plugin method
 *
 * @example
 * ```ts
 * class ModifierImpl extends Modifier {
 *   override async modify(value: string) {
 *     const { signal } = callContext();
 *     const res = await fetch(url, { signal });
 *     return value + (await res.text());
 *   }
 * }
 * ```
 */
export function callContext(): CallContext {
  const context = storage.getStore();
  if (!context) {
    throw new PluginError('PLUGWIRE_DEFINITION', 'callContext() was called outside a plugin method serving a call');
  }
  return context;
}
