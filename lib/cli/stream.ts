// `plugwire call` of a stream method: the items, one JSON line each, as they arrive.
import { PluginError, ProtocolError, readManifest, type CallOptions, type PluginClient } from '../index';
import { jsonForTerminal } from './terminal-text';

/**
 * Ends a running stream early on the user's behalf: `onStop` runs once on Ctrl-C or when
 * standard output is closed (the reader of a pipe went away, `| head -3`).
 * @returns what uninstalls the watch once the stream is over
 */
export type WatchStop = (onStop: (why: StopReason) => void) => () => void;

/** Why a stream was ended early: Ctrl-C (`SIGINT`), or standard output closed (`EPIPE`). */
export type StopReason = 'SIGINT' | 'EPIPE';

/** What a stream call writes to and listens on. */
export interface StreamIo {
  /** Writes one line of standard output. */
  readonly stdout: (text: string) => void;
  /** Resolves once standard output takes more: a slow reader holds the stream back. */
  readonly drained?: () => Promise<void> | undefined;
  /** Watches for Ctrl-C and a closed standard output while the stream runs. */
  readonly watchStop?: WatchStop;
}

/**
 * Whether the plugin's manifest marks the route `stream: true`. A plugin without a
 * manifest (a Go plugin) has no stream methods to mark: `--stream` says so instead.
 */
export async function isStreamRoute(client: PluginClient, route: string): Promise<boolean> {
  let manifest;
  try {
    manifest = await readManifest(client, { schemas: false });
  } catch (error) {
    throw asCallOf(route, error);
  }
  // A query, which plugins ignore, is not part of the route the manifest lists.
  const path = route.split('?')[0];
  const methods = (manifest?.methods ?? []) as readonly unknown[];
  return methods.some((m) => typeof m === 'object' && m !== null && (m as Record<string, unknown>)['route'] === path && (m as Record<string, unknown>)['stream'] === true);
}

/**
 * The manifest lookup's failure as the call's: the user called `route`, and the lookup is
 * the command's own step of that call. A timeout or an answer that is not HTTP names the
 * route the user typed, with the same code (and exit status).
 */
function asCallOf(route: string, error: unknown): unknown {
  if (!PluginError.is(error) || error.route === undefined || error.route === route) return error;
  const message = error.message.split(error.route).join(route);
  if (error instanceof ProtocolError) {
    // The status stays: a 401 is told apart by it (the token hint of commands.ts's explain()).
    return new ProtocolError(message, error.statusCode === undefined ? { route, cause: error } : { route, cause: error, statusCode: error.statusCode });
  }
  return new PluginError(error.code, message, { route, cause: error });
}

/** Waits until standard output drained or the stream was stopped (a closed pipe never drains). */
async function drainedOrStopped(drained: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  let onAbort = (): void => undefined;
  const stopped = new Promise<void>((resolve) => {
    onAbort = resolve;
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([drained, stopped]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Calls a stream method and writes each item as one line of JSON as it arrives.
 * @returns `undefined` when the stream ended, else why it was ended early (the plugin's
 *   iterator was ended too, and the command stops the plugin as after any call)
 * @throws the error the stream ended with, after the items before it were written
 */
export async function printStream(client: PluginClient, route: string, payload: unknown, options: CallOptions, io: StreamIo): Promise<StopReason | undefined> {
  const stop = new AbortController();
  let stopped: StopReason | undefined;
  const unwatch = io.watchStop?.((why) => {
    stopped = why;
    stop.abort();
  });
  try {
    // One signal ends the loop whether the stream waits for its next item or for stdout.
    const items = client.stream(route, payload, { ...options, signal: stop.signal });
    for await (const item of items) {
      io.stdout(`${jsonForTerminal(item) ?? 'null'}\n`);
      const drained = io.drained?.();
      if (drained) await drainedOrStopped(drained, stop.signal);
      if (stopped) break;
    }
    return stopped;
  } catch (error) {
    // Ended by the user: the error is the stream's end (aborted, or the plugin stopped by
    // the same Ctrl-C), not a failure.
    if (stopped) return stopped;
    throw error;
  } finally {
    unwatch?.();
  }
}
