import { mkdirSync, mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StartError } from '../errors/plugin-error';
import { trackDirectory, untrackDirectory } from '../util/exit-cleanup';
import { nodeOs } from '../util/lazy';

/*
 * Where a plugin's socket lives: the length a Unix socket path may have, the private
 * directory a host makes for it when it is given no path, the directory of a path it is
 * given, and removing them again. Host and plugin both use it.
 */

/** Linux limits a socket path to 108 bytes including the terminating NUL. @internal */
export const MAX_SOCKET_PATH_BYTES = 107;

const SOCKET_NAME = 'plugin.sock';

/** Whether a Unix socket can be bound at this path (its length in bytes). @internal */
export function fitsSocketPath(path: string): boolean {
  return Buffer.byteLength(path) <= MAX_SOCKET_PATH_BYTES;
}

/**
 * Throws a {@link StartError} (`socket`) when a path is longer than a Unix socket allows.
 * @internal
 */
export function checkSocketPath(path: string): void {
  if (!fitsSocketPath(path)) {
    throw new StartError(`socket path is ${Buffer.byteLength(path)} bytes, longer than the ${MAX_SOCKET_PATH_BYTES} a Unix socket allows: ${path}`, 'socket');
  }
}

/**
 * Makes a fresh private directory (mode 0700) for a socket under the temporary directory
 * (or /tmp, when the temporary directory's path is too long for a socket path), and has it
 * removed when this process exits. Remove it earlier with {@link removeSocketDirectory}.
 * @internal
 */
export function makePrivateSocketDirectory(): { readonly socket: string; readonly dir: string } {
  for (const base of [nodeOs().tmpdir(), '/tmp']) {
    const dir = mkdtempSync(join(base, 'plugwire-'));
    const socket = join(dir, SOCKET_NAME);
    if (fitsSocketPath(socket)) {
      trackDirectory(dir);
      return { socket, dir };
    }
    rmSync(dir, { recursive: true, force: true });
  }
  throw new StartError(`no temporary directory gives a socket path within ${MAX_SOCKET_PATH_BYTES} bytes: pass a socket path`, 'socket');
}

/** Makes the directory of a socket path given by the user, or says in a StartError why it cannot. @internal */
export function makeSocketDirectory(path: string): void {
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

/** Removes a directory made by {@link makePrivateSocketDirectory}, with whatever is in it. @internal */
export function removeSocketDirectory(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  untrackDirectory(dir);
}

/**
 * Removes the socket directory a host made, from the plugin's side, once the host is gone
 * and the socket file removed: only if it is empty, since anything else in it is not ours.
 * @internal
 */
export function removeOrphanedSocketDirectory(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // not empty, or already gone
  }
}
