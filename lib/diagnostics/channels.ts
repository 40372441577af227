import { channel } from 'node:diagnostics_channel';
import { debuglog } from 'node:util';
import { isError } from '../util/thrown';

/**
 * The `node:diagnostics_channel` channels plugwire publishes to. Their names and message
 * shapes are a stable API: tracing and metrics tools subscribe without plugwire depending
 * on them, and a channel without subscribers costs one property check.
 *
 * @example
 * ```ts
 * import { subscribe } from 'node:diagnostics_channel';
 * import { DiagnosticChannels, type CallMessage } from 'plugwire';
 *
 * subscribe(DiagnosticChannels.callEnd, (message) => {
 *   const { plugin, route, duration } = message as CallMessage;
 *   console.log(`${plugin} ${route} took ${duration?.toFixed(1)} ms`);
 * });
 * ```
 */
export const DiagnosticChannels = {
  /** A host starts a call (its arguments were not checked yet). Message: {@link CallMessage}. */
  callStart: 'plugwire:call:start',
  /** A host's call succeeded; the same message object as at its start, with `duration`. */
  callEnd: 'plugwire:call:end',
  /** A host's call failed; the same message object as at its start, with `duration` and `error`. */
  callError: 'plugwire:call:error',
  /** A host starts a plugin process (first start or restart). Message: {@link PluginSpawnMessage}. */
  pluginSpawn: 'plugwire:plugin:spawn',
  /** The plugin printed its ready line. Message: {@link PluginReadyMessage}. */
  pluginReady: 'plugwire:plugin:ready',
  /** A start failed. Message: {@link PluginStartErrorMessage}. */
  pluginStartError: 'plugwire:plugin:startError',
  /** A started plugin exited. Message: {@link PluginExitMessage}. */
  pluginExit: 'plugwire:plugin:exit',
  /** A plugin server received a call. Message: {@link ServedCallMessage}. */
  serveCallStart: 'plugwire:serve:call:start',
  /** A plugin server answered a call, or gave up on it; the same message object, with `status`, `duration` and maybe `error`. */
  serveCallEnd: 'plugwire:serve:call:end',
} as const;

/** A host's call, published on `plugwire:call:start`, then on `plugwire:call:end` or `plugwire:call:error`. */
export interface CallMessage {
  /** The plugin's name. */
  readonly plugin: string;
  /** The route called, as the contract declares it (`/greet`). */
  readonly route: string;
  /** When the call started, in `performance.now()` ms. */
  readonly startTime: number;
  /** ms from start to the outcome; set at the end. */
  duration?: number;
  /** Why the call failed: a `PluginError` (see its `code`) or a `TypeError` for bad options. */
  error?: Error;
}

/** Published on `plugwire:plugin:spawn`. */
export interface PluginSpawnMessage {
  /** The plugin's name. */
  readonly plugin: string;
  /** The socket path the plugin is told to listen on. */
  readonly socket: string;
  /** `false` for the first start, `true` for a restart or a recycle. */
  readonly restart: boolean;
  /**
   * Why the last process is gone, for a restart (`killed by SIGKILL`, `exited with code 1`);
   * for a recycle, `recycled: ` and why (`recycle() was called`, the memory limit).
   */
  readonly cause?: string;
}

/** Published on `plugwire:plugin:ready`. */
export interface PluginReadyMessage {
  /** The plugin's name. */
  readonly plugin: string;
  /** The socket path the plugin listens on. */
  readonly socket: string;
  /** The process id, when the plugin runs as a process. */
  readonly pid: number | undefined;
  /** ms from the spawn to the ready line. */
  readonly duration: number;
}

/** Published on `plugwire:plugin:startError`. */
export interface PluginStartErrorMessage {
  /** The plugin's name. */
  readonly plugin: string;
  /** The socket path the plugin was to listen on. */
  readonly socket: string;
  /** A `PluginError` with code `PLUGWIRE_START` (or `PLUGWIRE_CLOSED` when closed meanwhile). */
  readonly error: Error;
}

/** Published on `plugwire:plugin:exit`. */
export interface PluginExitMessage {
  /** The plugin's name. */
  readonly plugin: string;
  /** The process id of the process that exited (`undefined` for a starter without a process). */
  readonly pid: number | undefined;
  /** Its exit code, `null` when a signal ended it. */
  readonly code: number | null;
  /** The signal that ended it, `null` when it exited by itself. */
  readonly signal: NodeJS.Signals | null;
  /** Whether the host asked for it (`close()`, a replacement); `false` for a crash or kill. */
  readonly expected: boolean;
}

/** A call a plugin server serves, published on `plugwire:serve:call:start` and `plugwire:serve:call:end`. */
export interface ServedCallMessage {
  /** The route called (`/greet`). */
  readonly route: string;
  /** When the request arrived, in `performance.now()` ms. */
  readonly startTime: number;
  /** The HTTP status answered; set at the end (`0` when the caller went away first). */
  status?: number;
  /** ms from the request's arrival to the answer; set at the end. */
  duration?: number;
  /** What the method threw, or why the call was refused; set at the end. */
  error?: unknown;
}

/** The channels, made once. @internal */
export const channels = {
  callStart: channel(DiagnosticChannels.callStart),
  callEnd: channel(DiagnosticChannels.callEnd),
  callError: channel(DiagnosticChannels.callError),
  pluginSpawn: channel(DiagnosticChannels.pluginSpawn),
  pluginReady: channel(DiagnosticChannels.pluginReady),
  pluginStartError: channel(DiagnosticChannels.pluginStartError),
  pluginExit: channel(DiagnosticChannels.pluginExit),
  serveCallStart: channel(DiagnosticChannels.serveCallStart),
  serveCallEnd: channel(DiagnosticChannels.serveCallEnd),
};

/**
 * `NODE_DEBUG=plugwire` output on standard error (`PLUGWIRE <pid>: ...`), through Node's
 * `util.debuglog`. Check `debug.enabled` before building a message. @internal
 */
export const debug = debuglog('plugwire');

/** Whether anyone listens to a host's calls: subscribers or NODE_DEBUG. @internal */
export function observingCalls(): boolean {
  return channels.callStart.hasSubscribers || channels.callEnd.hasSubscribers || channels.callError.hasSubscribers || debug.enabled;
}

/** The code of an error, for a debug line. @internal */
export function codeOf(error: unknown): string {
  try {
    const code = (error as { code?: unknown } | null)?.code;
    return typeof code === 'string' ? code : isError(error) ? String(error.name) : typeof error;
  } catch {
    return 'unknown';
  }
}

/** The message of an error, for a debug line; never throws. @internal */
export function messageOf(error: unknown): string {
  try {
    return isError(error) ? String(error.message) : String(error);
  } catch {
    return 'unprintable error';
  }
}
