import { resolve as resolvePath } from 'node:path';
import { isListening } from '../socket/probe';
import type { CommandPlugin } from './command-process';
import type { StartedPlugin } from './starter';

/** The options of a command that make it another program. */
interface LaunchOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** A process this host started on a socket path, and what it was started as. @internal */
export interface RunningPlugin {
  readonly plugin: CommandPlugin;
  /** The command, arguments, environment and directory, as {@link launchKey} writes them. */
  readonly key: string;
  readonly name: string;
  /** The clients the process was handed to and that have not closed it yet. */
  users: number;
}

/**
 * The processes this host started, by socket path. Go reuses a process it started earlier
 * on the same socket path; so does plugwire, but only one started as the same program:
 * another program's plugin is not a stand-in. @internal
 */
export const running = new Map<string, RunningPlugin>();

/**
 * The starts under way, by socket path: a start on a path where another is under way
 * waits for it and shares its process (the same program), instead of spawning a second
 * one that would find the path taken. @internal
 */
export const launching = new Map<string, { readonly key: string; readonly name: string; readonly launched: Promise<unknown> }>();

/**
 * What makes two starts the same program: command, arguments, environment and directory.
 *
 * @param command - the executable
 * @param args - its arguments
 * @param options - its environment and working directory
 * @returns a key equal for the same program
 * @internal
 */
export function launchKey(command: string, args: readonly string[], options: LaunchOptions): string {
  // spawn() leaves out a variable whose value is undefined: it is the same as no variable.
  const env = Object.entries(options.env ?? {})
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([command, args, env, resolvePath(options.cwd ?? process.cwd())]);
}

/**
 * Hands a process to one more client. Its close() ends the process only when no other
 * client holds it, or when it no longer takes connections (a client that found it broken
 * lets it go, and it is of no use to the others either): one host's close() or failed
 * contract check must not take a working plugin away from another.
 *
 * @param socket - the socket path the process listens on
 * @param entry - the process
 * @returns the started plugin for this client
 * @internal
 */
export function share(socket: string, entry: RunningPlugin): StartedPlugin {
  entry.users++;
  const { plugin } = entry;
  let released: Promise<void> | undefined;
  const release = async (): Promise<void> => {
    entry.users--;
    if (entry.users > 0 && plugin.alive && (await isListening(socket))) return;
    await plugin.close();
  };
  const close = (): Promise<void> => (released ??= release());
  const started: StartedPlugin = { pid: plugin.pid, token: plugin.token, exited: plugin.exited, close, term: close };
  holders.set(started, () => released === undefined && entry.users > 1 && plugin.alive);
  return started;
}

/** For each started plugin {@link share} made: whether other clients hold its process too. */
const holders = new WeakMap<StartedPlugin, () => boolean>();

/**
 * Whether other clients of this host hold a started plugin's process too (one socket
 * path, the same program), so that it outlives this client's close(). A recycle of such a
 * process would only hand it back; two clients that recycled it at once could each let it
 * go before either took it back, and end it for both.
 *
 * @param started - a started plugin, from any starter
 * @returns true while another client holds the same process
 * @internal
 */
export function heldByOthers(started: StartedPlugin): boolean {
  return holders.get(started)?.() === true;
}
