import { lstatSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';

/**
 * Whether something listens on a Unix socket path right now: it accepts connections, or
 * its accept backlog is full (EAGAIN).
 * @internal
 */
export function isListening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (error: NodeJS.ErrnoException) => {
      probe.destroy();
      // A full accept backlog: a process listens but is busy (or frozen). Busy is not gone.
      resolve(error.code === 'EAGAIN');
    });
  });
}

/** What {@link removeStaleSocket} found at a path. @internal */
export type SocketPathState = 'absent' | 'removed' | 'listening' | 'not-a-socket';

/**
 * Removes a socket file that nobody listens on any more (left by a dead plugin), and
 * leaves alone a live socket or anything that is not a socket.
 * @internal
 */
export async function removeStaleSocket(path: string): Promise<SocketPathState> {
  let stats;
  try {
    stats = lstatSync(path);
  } catch {
    return 'absent';
  }
  if (!stats.isSocket()) return 'not-a-socket';
  if (await isListening(path)) return 'listening';
  try {
    unlinkSync(path);
  } catch {
    // removed meanwhile
  }
  return 'removed';
}
