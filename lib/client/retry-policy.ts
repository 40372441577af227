import { ProtocolError, UnavailableError, type PluginError } from '../errors/plugin-error';
import type { RestartPolicy } from './config';
import type { FailureKind } from './transport-error';

/*
 * The restart policy as pure functions: what a call does after its request failed before
 * an answer began, and how long a restart in a row waits. The client and its supervisor
 * carry them out; nothing here touches a socket, a process or a timer.
 */

/** The first wait before connecting again to a busy plugin, ms; it doubles up to {@link BUSY_MAX_WAIT}. @internal */
export const BUSY_FIRST_WAIT = 5;
/** The longest wait between connection attempts to a busy plugin, ms. @internal */
export const BUSY_MAX_WAIT = 200;

/**
 * The wait before the next connection attempt to a busy plugin.
 *
 * @param wait - the last wait, ms
 * @returns twice as long, at most {@link BUSY_MAX_WAIT}
 * @internal
 */
export function nextBusyWait(wait: number): number {
  return Math.min(wait * 2, BUSY_MAX_WAIT);
}

/** What a call knows when one of its requests failed before an answer began. @internal */
export interface RetryInput {
  /** What became of the request. */
  readonly failure: FailureKind;
  /** Whether the method may run twice (`idempotent` is not `false`). */
  readonly idempotent: boolean;
  /** Requests of the call that were lost (`lost`), this one included. */
  readonly sent: number;
  /** Passes of the call so far, from 0; waiting for a busy plugin is no pass. */
  readonly pass: number;
  /** Whether the plugin was restarted since the call's first request. */
  readonly restarted: boolean;
}

/**
 * What a call does next:
 * - `wait`: the plugin is busy; wait ({@link nextBusyWait}) and send again, within the call's timeout;
 * - `restart`: find out whether the plugin is gone, restart it if so, and send again;
 * - `transport`: throw the error of the failure itself (`transportError`);
 * - `not-idempotent`: throw `PLUGWIRE_UNAVAILABLE`: a lost request of a method that must
 *   not run twice is not sent again (the plugin is looked into meanwhile);
 * - `gone-again`: throw `PLUGWIRE_UNAVAILABLE`: the plugin went away again after a restart;
 * - `unreachable`: throw `PLUGWIRE_UNAVAILABLE`, or `PLUGWIRE_PROTOCOL` (`broken`) when
 *   the plugin still runs and accepts connections: it drops calls without answering.
 * @internal
 */
export type RetryVerdict = 'wait' | 'restart' | 'transport' | 'not-idempotent' | 'gone-again' | 'unreachable';

/** A verdict that ends the call with an error of {@link retryError}; `broken` is an `unreachable` plugin that still listens. @internal */
export type GiveUpVerdict = 'not-idempotent' | 'gone-again' | 'unreachable' | 'broken';

/**
 * Decides what a call does after a request failed before an answer began. Each pass
 * either answers, throws, or replaces a plugin that is gone; the bound (two lost
 * requests, or four passes) keeps a plugin that dies on every request from looping
 * until the timeout. Delivery is at-least-once for a method that is not marked
 * `idempotent: false`.
 *
 * @param input - what failed and what the call has been through
 * @returns what to do next
 * @internal
 */
export function decideRetry(input: RetryInput): RetryVerdict {
  const { failure } = input;
  if (failure === 'busy') return 'wait';
  // An answer the host cannot take came from a plugin that had the request: never sent again.
  if (failure === 'other' || failure === 'invalid') return 'transport';
  if (failure === 'lost' && !input.idempotent) return 'not-idempotent';
  if (input.sent >= 2 || input.pass >= 3) return input.restarted ? 'gone-again' : 'unreachable';
  return 'restart';
}

/**
 * The error a call ends with when it gives up.
 *
 * @param verdict - why it gives up
 * @param plugin - the plugin's name, for the message
 * @param route - the route called
 * @param code - the transport error code, for the message
 * @param cause - the last failure
 * @returns `PLUGWIRE_PROTOCOL` for `broken`, else `PLUGWIRE_UNAVAILABLE`
 * @internal
 */
export function retryError(verdict: GiveUpVerdict, plugin: string, route: string, code: string | undefined, cause: unknown): PluginError {
  switch (verdict) {
    case 'not-idempotent':
      return new UnavailableError(
        `connection to plugin ${plugin} was lost during ${route}, which is not idempotent: it was not sent again because it may have run (${code})`,
        { route, cause },
      );
    case 'gone-again':
      return new UnavailableError(`plugin ${plugin} went away again after a restart during ${route} (${code})`, { route, cause });
    case 'broken':
      // Nothing was restarted: a live plugin that drops the connection without an answer is broken.
      return new ProtocolError(`plugin ${plugin} closed the connection without answering ${route}, twice, while still accepting connections (${code})`, { route, cause });
    case 'unreachable':
      return new UnavailableError(`plugin ${plugin} is unreachable during ${route} (${code})`, { route, cause });
  }
}

/**
 * How long a restart waits, given the restarts in a row before it: none for the first,
 * `initialDelay` for the second, doubling up to `maxDelay`; none once `maxRestarts` is
 * reached (the start after a cooldown).
 *
 * @param failures - restarts since the last successful call
 * @param policy - the client's restart policy
 * @returns the wait in ms
 * @internal
 */
export function restartDelay(failures: number, policy: RestartPolicy): number {
  if (failures <= 0 || failures >= policy.maxRestarts) return 0;
  return Math.min(policy.initialDelay * 2 ** (failures - 1), policy.maxDelay);
}
