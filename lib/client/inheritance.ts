import { AbortedError, PluginError, TimeoutError } from '../errors/plugin-error';
import { currentCall, type ServingContext } from '../server/call-context';
import { followSignal, keepFollowing, type SignalFollower } from './call-options';

/*
 * What a call takes from the call being served when it is made: a call made through any
 * plugwire client (a proxy, withOptions(), client.call(), a stream, hostProxy()) while a
 * method serves a call ends no later than that call's deadline, and is aborted when that
 * call's signal fires (its caller gave up: the deadline, an abort, a hang-up, a `break`).
 * As gRPC passes on a deadline. Calls and streams ask here, and nowhere else.
 */

/**
 * The served call a call made now inherits from: the one the current method serves, while
 * that method runs (a stream's, until its iterator is done), so that a call made after the
 * caller gave up is refused at once. Once the method has returned, a call made by work it
 * left running (a task that was not awaited) inherits nothing, whether the call was
 * answered or given up on: on Node.js 20 the context of such work is not even known (the
 * storage is turned off when idle), and the rule must not depend on it. @internal
 *
 * @param served - the call being served, if any: `currentCall()` unless the caller looked
 * it up earlier (a stream, at the proxy's call rather than at its first `next()`)
 */
export function inheritedFrom(served: ServingContext | undefined = currentCall()): ServingContext | undefined {
  return served?.running === true ? served : undefined;
}

/**
 * A call's deadline (epoch ms, 0 for none) brought forward to the served call's, if that
 * one is earlier. @internal
 */
export function inheritedDeadline(expiresAt: number, served: ServingContext): number {
  const limit = served.expiresAt;
  if (limit === Infinity) return expiresAt;
  return expiresAt === 0 || limit < expiresAt ? limit : expiresAt;
}

/**
 * Why a call made now is not sent at all, if it is not: the served call was given up on
 * already (the error its signal gives a call in flight), or its deadline has passed. @internal
 */
export function inheritedRefusal(served: ServingContext, route: string): PluginError | undefined {
  const { signal } = served;
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    if (PluginError.is(reason, 'PLUGWIRE_TIMEOUT')) return servedDeadlinePassed(served, route, reason);
    return new AbortedError(`call to ${route} was aborted: the call being served (${served.route}) was given up on`, { route, cause: reason });
  }
  return served.expiresAt <= Date.now() ? servedDeadlinePassed(served, route, undefined) : undefined;
}

function servedDeadlinePassed(served: ServingContext, route: string, cause: unknown): TimeoutError {
  const message = `call to ${route} timed out: the deadline of the call being served (${served.route}) has passed`;
  return new TimeoutError(message, cause === undefined ? { route } : { route, cause });
}

/**
 * A call's timeout (ms, 0 for none) and deadline (epoch ms, 0 for none) once it inherits
 * from `served`: the deadline brought forward to the served call's, and the timeout its
 * error then names, what was left of it; or why the call is not sent at all. @internal
 */
export function inheritedLimits(served: ServingContext, route: string, timeout: number, expiresAt: number): PluginError | { readonly timeout: number; readonly expiresAt: number } {
  const refused = inheritedRefusal(served, route);
  if (refused) return refused;
  const inherited = inheritedDeadline(expiresAt, served);
  if (inherited === expiresAt) return { timeout, expiresAt };
  return { timeout: Math.max(1, Math.ceil(inherited - Date.now())), expiresAt: inherited };
}

/**
 * Makes a call follow the served call's signal. Many calls follow it one after another
 * while it is served: its listener stays until it ends. @internal
 */
export function followServed(served: ServingContext, call: SignalFollower): void {
  keepFollowing(served.signal);
  followSignal(served.signal, call);
}

/** Why a call was aborted: its caller's signal, if that one fired, else the served call's. @internal */
export function abortCause(caller: AbortSignal | undefined, served: ServingContext | undefined): unknown {
  return caller?.aborted === true ? caller.reason : served?.signal.reason;
}
