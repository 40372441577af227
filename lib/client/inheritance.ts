import { AbortedError, PluginError, TimeoutError } from '../errors/plugin-error';
import { currentCall, type ServingContext } from '../server/call-context';

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
