import { PluginError } from '../errors/plugin-error';
import type { MethodDefinition } from '../metadata/method-definition';
import { race, sleep } from '../util/abortable';
import { BUSY_FIRST_WAIT, decideRetry, nextBusyWait, retryError } from './retry-policy';
import type { Supervisor } from './supervisor';
import { classify, errorCode, transportError } from './transport-error';

/** One request of a call, as far as retrying goes: whether its answer began, or why it failed before. @internal */
export interface Attempt {
  readonly failure: Error | undefined;
  readonly answering: boolean;
}

/** A call as {@link reach} sends it: a unary call or a stream. @internal */
export interface Attempting<A extends Attempt> {
  readonly route: string;
  readonly definition: MethodDefinition | undefined;
  /** Why the call was aborted, if it was. */
  readonly reason: Error | undefined;
  /** Fires when the call is aborted: ends the waits. */
  readonly signal: AbortSignal;
  /** The plugin generation its last request went to. */
  readonly generation: number;
  /** Sends one request to that generation; resolves when its answer began or it failed before. */
  exchange(generation: number): Promise<A>;
}

/**
 * Sends a call's request until an answer begins: restarts the plugin when it is gone and
 * sends again, as {@link decideRetry} says. The slow path of a unary call (whose request
 * failed before an answer began, or that was made while no plugin ran) and the way every
 * stream is opened.
 *
 * @param supervisor - the client's supervisor
 * @param connectTimeout - the client's connect timeout, for the message of one that passed
 * @param call - the call
 * @param failure - how its first request failed, if it was sent already
 * @returns the request whose answer began
 * @throws the call's own reason once aborted; `PLUGWIRE_UNAVAILABLE`, `PLUGWIRE_PROTOCOL`,
 * `PLUGWIRE_TIMEOUT` or `PLUGWIRE_CLOSED` when it gives up (see {@link retryError})
 * @internal
 */
export async function reach<A extends Attempt>(supervisor: Supervisor, connectTimeout: number, call: Attempting<A>, failure: Error | undefined): Promise<A> {
  const { route, definition } = call;
  const { name } = supervisor;
  const idempotent = definition?.idempotent !== false;
  let pending = failure;
  let sent = 0;
  let first: number | undefined;
  let busyWait = BUSY_FIRST_WAIT;
  for (let pass = 0; ; pass++) {
    if (!pending && supervisor.recovering) await race(supervisor.recovering.catch(() => undefined), call.signal);
    const generation = pending ? call.generation : supervisor.state === 'running' ? supervisor.generation : await supervisor.ensureRunning(route, call.signal);
    first ??= generation;
    try {
      if (pending) throw pending;
      const exchange = await call.exchange(generation);
      if (exchange.failure && !exchange.answering) throw exchange.failure;
      return exchange;
    } catch (error) {
      pending = undefined;
      if (call.reason) throw call.reason;
      if (PluginError.is(error)) throw error;
      const code = errorCode(error);
      const kind = classify(error);
      if (kind === 'lost') sent++;
      const verdict = decideRetry({ failure: kind, idempotent, sent, pass, restarted: generation !== first });
      switch (verdict) {
        case 'wait':
          // Waiting for a busy plugin is no pass: only the call's timeout (or its signal) ends that.
          await sleep(busyWait, call.signal);
          busyWait = nextBusyWait(busyWait);
          pass--;
          continue;
        case 'restart':
          await race(supervisor.recover(generation), call.signal);
          continue;
        case 'transport':
          throw transportError(name, route, code, error, connectTimeout);
        case 'not-idempotent':
          void supervisor.recover(generation).catch(() => undefined);
          throw retryError(verdict, name, route, code, error);
        case 'unreachable':
          throw retryError(supervisor.state === 'running' && (await supervisor.listening()) ? 'broken' : verdict, name, route, code, error);
        default:
          throw retryError(verdict, name, route, code, error);
      }
    }
  }
}
