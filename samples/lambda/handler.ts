// An AWS Lambda function (Node.js runtime, handler `handler.handler`) that calls a plugin
// process. The plugin starts once per execution environment, at the first invocation, and
// later invocations reuse it; every wait on it ends before the invocation's deadline.
import { join } from 'node:path';
import type { Context, Handler } from 'aws-lambda';
import { PluginError, TimeoutError, connect, remainingTime, spawnCommand, withOptions, type Connection } from 'plugwire';
import { Shouter } from './contract';

/** The invocation's event. */
export interface ShoutEvent {
  /** The text to shout. */
  readonly text: string;
  /** How long the plugin works on it, in ms (default 0). */
  readonly workMs?: number;
}

/** The function's answer. */
export interface ShoutResult {
  /** What the plugin made of the text. */
  readonly text: string;
  /** The plugin process that answered. */
  readonly pid: number;
  /** How often this environment's plugin was restarted after it went away. */
  readonly restarts: number;
}

/**
 * The plugin executable: `plugin.js` next to this file in the function's package, or the
 * path in SHOUTER_PLUGIN (a layer's `/opt/shouter/plugin.js`). Read at each start.
 */
function pluginPath(): string {
  return process.env['SHOUTER_PLUGIN'] ?? join(__dirname, 'plugin.js');
}

// One start per execution environment, shared by every invocation it serves. A start that
// failed is forgotten, so that the next invocation tries again instead of failing for the
// rest of the environment's life.
let connection: Promise<Connection<Shouter>> | undefined;

function plugin(): Promise<Connection<Shouter>> {
  if (connection === undefined) {
    const attempt = connect(Shouter, spawnCommand(process.execPath, [pluginPath()], { name: 'shouter' }));
    connection = attempt;
    attempt.catch(() => {
      if (connection === attempt) connection = undefined;
    });
  }
  return connection;
}

/**
 * Waits for `promise`, but no longer than the invocation allows (less the margin of
 * remainingTime()). The start goes on after a timeout; a later invocation uses it.
 */
async function beforeDeadline<T>(promise: Promise<T>, context: Context, what: string): Promise<T> {
  const ms = remainingTime(context);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} did not finish within the invocation's ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Lambda reports a failed invocation by the error's `name` (`errorType`) and `message`.
 * A plugwire error is reported under its code (`PLUGWIRE_TIMEOUT`, `PLUGWIRE_START`), the
 * stable name that a caller or a Step Functions `Retry` matches on.
 */
function reported(error: unknown): unknown {
  if (!PluginError.is(error)) return error;
  const report = new Error(error.message, { cause: error });
  report.name = error.code;
  return report;
}

export const handler: Handler<ShoutEvent, ShoutResult> = async (event, context) => {
  try {
    const { plugin: shouter, client } = await beforeDeadline(plugin(), context, 'the start of the plugin');
    // The call's timeout is what is left of the invocation, read right before the call.
    const shouted = await withOptions(shouter, { timeout: remainingTime(context) }).shout(event.text, event.workMs ?? 0);
    return { text: shouted.text, pid: shouted.pid, restarts: client.stats.restarts };
  } catch (error) {
    throw reported(error);
  }
};
