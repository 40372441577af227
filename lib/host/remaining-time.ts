import { TimeoutError } from '../errors/plugin-error';
import { MAX_TIMEOUT } from '../protocol/constants';

/**
 * What {@link remainingTime} reads: anything that tells the time left before a deadline,
 * such as the `context` an AWS Lambda handler receives. Structural, so that plugwire needs
 * no AWS types.
 */
export interface RemainingTimeSource {
  /** The ms left before the deadline (Lambda: before it stops the invocation). */
  getRemainingTimeInMillis(): number;
}

/**
 * The default margin of {@link remainingTime}, in ms. After a plugin call the handler
 * still has to encode its answer and post it to the Lambda Runtime API; 250 ms leaves room
 * for that on a small (128 MB, a fraction of a CPU) function, so that the handler reports
 * a `PLUGWIRE_TIMEOUT` of its own rather than Lambda reporting `Task timed out`.
 */
export const DEFAULT_REMAINING_MARGIN = 250;

/**
 * The ms a plugin call may take so that it settles before an invocation's deadline: the
 * time the context has left less a margin. Meant for a call's `timeout`:
 * `withOptions(plugin, { timeout: remainingTime(context) })`.
 *
 * @remarks
 * The result is never 0 or less: a `timeout` of 0 means "no timeout" to plugwire, which is
 * the opposite of what a spent deadline asks for. When the margin takes all the time there
 * is left, this throws a {@link TimeoutError} (`PLUGWIRE_TIMEOUT`) at once, as the call
 * would have, without sending anything to the plugin. Reads the clock at each call: take
 * it right before the call it bounds, not once at the start of the handler.
 *
 * @param context - what tells the time left, e.g. a Lambda handler's `context`
 * @param margin - ms kept back for the handler after the call; default
 * {@link DEFAULT_REMAINING_MARGIN}
 * @returns a whole number of ms from 1 to the largest timeout plugwire takes
 * @throws {@link TimeoutError} when no more than `margin` ms are left; TypeError when
 * `margin` is not a finite number of 0 or more, or the context's time is not a number
 *
 * @example
 * ```ts
 * export const handler: Handler<{ text: string }, string> = async (event, context) => {
 *   const { plugin } = await connection();
 *   return withOptions(plugin, { timeout: remainingTime(context) }).modify(event.text);
 * };
 * ```
 */
export function remainingTime(context: RemainingTimeSource, margin: number = DEFAULT_REMAINING_MARGIN): number {
  if (typeof margin !== 'number' || !Number.isFinite(margin) || margin < 0) {
    throw new TypeError(`remainingTime(): margin must be a finite number of ms, 0 or more, got ${String(margin)}`);
  }
  const remaining = context.getRemainingTimeInMillis();
  // Lambda's context computes it from the invocation's deadline header: NaN when that was missing.
  if (typeof remaining !== 'number' || Number.isNaN(remaining)) {
    throw new TypeError(`remainingTime(): getRemainingTimeInMillis() must return a number of ms, got ${String(remaining)}`);
  }
  const available = Math.floor(remaining - margin);
  if (available <= 0) {
    throw new TimeoutError(`no time left for a plugin call: ${Math.max(0, Math.floor(remaining))} ms remain before the deadline and ${margin} ms are kept back for the answer`);
  }
  return Math.min(available, MAX_TIMEOUT);
}
