import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { StartError } from '../errors/plugin-error';
import { MAX_SOCKET_PATH_BYTES } from '../protocol/constants';
import { trackDirectory } from '../starters/process-registry';
import type { Starter } from '../starters/starter';
import { resolveConfig, type PluginConfigInput } from './config';
import { PluginClient } from './plugin-client';

/** A started plugin, as returned by {@link start}. */
export interface StartResult {
  /** The client: `client.call(route, payload)` for untyped calls, and the plugin's state. */
  readonly client: PluginClient;
  /** Terminates the plugin and frees everything; safe to call twice. */
  readonly term: () => Promise<void>;
}

const SOCKET_NAME = 'plugin.sock';

function tooLong(path: string): boolean {
  return Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES;
}

/** Makes a fresh private directory (mode 0700) for the socket. */
function privateSocket(): { socket: string; dir: string } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- host-only: not loaded by a plugin importing plugwire
  for (const base of [(require('node:os') as typeof import('node:os')).tmpdir(), '/tmp']) {
    const dir = mkdtempSync(join(base, 'plugwire-'));
    const socket = join(dir, SOCKET_NAME);
    if (!tooLong(socket)) return { socket, dir };
    rmSync(dir, { recursive: true, force: true });
  }
  throw new StartError(`no temporary directory gives a socket path within ${MAX_SOCKET_PATH_BYTES} bytes: pass a socket path`, 'socket');
}

/** Makes the directory of an explicit socket path, or says in a StartError why it cannot. */
function socketDirectory(path: string): void {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'EEXIST' || code === 'ENOTDIR'
        ? `${code === 'EEXIST' ? dir : 'a directory on the way to it'} is a file, not a directory`
        : (error as Error).message;
    throw new StartError(`cannot make the directory of the socket path ${path}: ${why}`, 'socket', { cause: error });
  }
}

/**
 * Starts a plugin and resolves once it is ready.
 *
 * @param starter - how to start it: {@link startWithCommand}, {@link startWithProvider}, or your own
 * @param socket - the socket path; default: `plugin.sock` in a fresh private directory
 * (mode 0700) under the temporary directory, removed again by `term()`
 * @param config - overrides of {@link defaultConfig}
 * @returns the client and `term()`
 * @throws {@link StartError} (`PLUGWIRE_START`) when the plugin exits, prints
 * `failed to listen on socket`, or stays silent past `startTimeout`, or when the socket
 * path is longer than a Unix socket allows (107 bytes) or its directory cannot be made
 *
 * @example
 * ```ts
 * const { client, term } = await start(startWithCommand('./plugin'));
 * console.log(await client.call('/modify', 'some value'));
 * await term();
 * ```
 */
export async function start(starter: Starter, socket?: string, config?: PluginConfigInput): Promise<StartResult> {
  if (!starter || typeof starter.start !== 'function') throw new TypeError('start(): the first argument must be a Starter');
  const resolved = resolveConfig(config);
  let path: string;
  let dir: string | undefined;
  if (socket === undefined) {
    ({ socket: path, dir } = privateSocket());
    trackDirectory(dir);
  } else {
    path = resolve(socket);
    if (tooLong(path)) {
      throw new StartError(
        `socket path is ${Buffer.byteLength(path)} bytes, longer than the ${MAX_SOCKET_PATH_BYTES} a Unix socket allows: ${path}`,
        'socket',
      );
    }
    socketDirectory(path);
  }
  const client = new PluginClient({
    starter,
    socket: path,
    socketDir: dir,
    config: resolved,
  });
  await client.start();
  return { client, term: () => client.close() };
}
