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
  /**
   * In a host service method (`connect(..., { services })`): the plugin that called it, by
   * the name it has on the host and its process id. `undefined` in a plugin method.
   */
  readonly caller?: CallerInfo;
}

/** The plugin that called a host service: `callContext().caller` on the host. */
export interface CallerInfo {
  /** The plugin's name on the host (its starter's, or its NestJS entry's). */
  readonly name: string;
  /** The process id of the plugin that called, when it runs as a process of its own. */
  readonly pid: number | undefined;
}

/**
 * Where the host services a plugin may call are: the socket and the token to send. @internal
 */
export interface HostEndpoint {
  readonly socket: string;
  readonly token: string | undefined;
}

/** The context of a call as the server keeps it: with the host services of its plugin. @internal */
export interface ServingContext extends CallContext {
  /** The host services of the plugin serving the call, if its host offers any. */
  readonly hostServices: HostEndpoint | undefined;
  /** When the caller's deadline passes (epoch ms), `Infinity` without one: `deadline` without a Date. */
  readonly expiresAt: number;
  /** Whether the call is a host's call back from a host service (`x-plugwire-reentrant: 1`). */
  readonly reentrant: boolean;
  /** Whether it was answered (or given up). */
  readonly settled: boolean;
  /** Whether its method still runs (a stream's, until its iterator is done): only calls made meanwhile inherit from it. */
  readonly running: boolean;
}

const storage = new AsyncLocalStorage<ServingContext>();

/** Methods of served calls running in this process (a stream's until its iterator is done). */
let running = 0;
/** Turns the storage off once no method has run for {@link IDLE_MS}; made once, re-armed with refresh(). */
let idle: NodeJS.Timeout | undefined;
const IDLE_MS = 1000;

function disableWhenIdle(): void {
  if (running === 0) storage.disable();
}

/**
 * A served call's method starts to run in its call context. @internal
 *
 * Before Node.js 24, an AsyncLocalStorage that is on runs a hook for every promise the
 * whole process makes: a host that serves host services would pay it on all its own
 * calls and streams (streamed items per second halve on Node 20), and a plugin between
 * bursts of calls. So the storage is turned off once no method has run for a second;
 * the next call's `run()` turns it on again. On Node.js 24 (AsyncContextFrame) there is
 * no hook and turning it off changes nothing.
 */
export function methodStarted(): void {
  running++;
}

/** A served call's method finished (its promise settled, its stream's iterator is done): see {@link methodStarted}. @internal */
export function methodEnded(): void {
  if (--running > 0) return;
  // Made outside any call's context, so that its callback does not hold one.
  if (idle) idle.refresh();
  else idle = storage.exit(() => setTimeout(disableWhenIdle, IDLE_MS).unref());
}

/** The context of the call being served here, if any. @internal */
export function currentCall(): ServingContext | undefined {
  return storage.getStore();
}

/**
 * Runs `fn` outside the call being served: the calls it makes inherit neither that call's
 * deadline nor its signal, and `callContext()` in it throws. For work that must reach
 * another plugin even when the caller gave up, such as a cleanup in a `finally`.
 *
 * @param fn - what to run
 * @returns what `fn` returns
 *
 * @example
 * ```ts
 * class JobsImpl extends Jobs {
 *   override async run(job: string) {
 *     await locks.lock(job);
 *     try {
 *       return await work(job);
 *     } finally {
 *       // Sent even when the host gave up on run(): an inherited abort would refuse it.
 *       await outsideCall(() => locks.unlock(job));
 *     }
 *   }
 * }
 * ```
 */
export function outsideCall<R>(fn: () => R): R {
  return storage.exit(fn);
}

/** @internal */
export function runInCallContext<A extends unknown[], R>(context: ServingContext, fn: (...args: A) => R, ...args: A): R {
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
