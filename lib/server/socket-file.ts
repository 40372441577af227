import { chmodSync, linkSync, statSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:http';
import { dirname, join } from 'node:path';
import { fitsSocketPath } from '../socket/directory';
import { removeStaleSocket } from '../socket/probe';

/*
 * The socket file of a plugin server: created with mode 0600 from its first instant,
 * never put over someone else's, and removed only while it is still this server's.
 *
 * libuv unlinks the path a pipe server was bound to when it closes, whoever's file is
 * there by then: a plugin that took the path over would be left alive and unreachable.
 * So the server is bound at a temporary name in the same directory, hard-linked at the
 * socket path (link() never replaces what is there), and the temporary name removed at
 * once. libuv's unlink at close then finds nothing, and the socket path is removed only
 * by removeSocketFile(), only if it is still the same file.
 */

/**
 * Listens on the socket path. A socket file left by a dead plugin (nobody answers on it)
 * is replaced; anything else at the path (a live socket, a regular file) fails with
 * `EADDRINUSE`.
 *
 * @param server - a server not listening yet
 * @param socket - the socket path
 * @returns the socket file's inode, for {@link removeSocketFile}
 * @internal
 */
export async function listenOnSocketFile(server: Server, socket: string): Promise<number> {
  try {
    return await listenOnce(server, socket);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || (await removeStaleSocket(socket)) !== 'removed') throw error;
    return listenOnce(server, socket);
  }
}

/**
 * Removes the socket file if it is still the one this server made: another server may
 * have bound the path since.
 *
 * @param ino - the inode {@link listenOnSocketFile} returned, if it did
 * @internal
 */
export function removeSocketFile(socket: string, ino: number | undefined): void {
  try {
    if (statSync(socket).ino === ino) unlinkSync(socket);
  } catch {
    // already gone
  }
}

/** Listens on the socket path, or fails with `EADDRINUSE` when something is there. */
async function listenOnce(server: Server, socket: string): Promise<number> {
  const temporary = temporaryPath(socket);
  if (temporary === undefined) {
    await bind(server, socket); // no room for a longer name: libuv owns the path
  } else {
    await bind(server, temporary);
    try {
      linkSync(temporary, socket);
    } catch (error) {
      await new Promise((resolve) => server.close(resolve));
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw Object.assign(new Error(`listen EADDRINUSE: address already in use ${socket}`, { cause: error }), { code: 'EADDRINUSE' });
      }
      // A file system without hard links for sockets: bind at the path itself.
      await bind(server, socket);
    }
    try {
      unlinkSync(temporary);
    } catch {
      // the server's close() removes it then
    }
  }
  chmodSync(socket, 0o600);
  return statSync(socket).ino;
}

/**
 * A name next to the socket path to bind at before the socket is linked there, or
 * undefined when it would not fit in a socket address.
 */
function temporaryPath(socket: string): string | undefined {
  const name = `.pw${process.pid.toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const temporary = join(dirname(socket), name);
  return fitsSocketPath(temporary) ? temporary : undefined;
}

async function bind(server: Server, path: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    // The socket file takes its mode from the umask at bind time: 0177 makes it 0600
    // from its first instant. bind() happens synchronously inside listen().
    let previous: number | undefined;
    try {
      previous = process.umask(0o177);
    } catch {
      previous = undefined; // worker threads cannot change the umask; the chmod after listening still applies
    }
    try {
      server.listen(path);
    } finally {
      if (previous !== undefined) process.umask(previous);
    }
  });
}
