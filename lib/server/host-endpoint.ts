import { rmdirSync, unlinkSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { HOST_SOCKET_ENV, HOST_TOKEN_ENV } from '../protocol/constants';
import type { HostEndpoint } from './call-context';

/*
 * The host services of this plugin process: where its host serves them, as the host said
 * in the environment, and the connections hostProxy() made to them, closed with the
 * server that was given them.
 */

let fromEnvironment: HostEndpoint | null | undefined;

/**
 * The host services named in this process's environment (`PLUGWIRE_HOST_SOCKET` and
 * `PLUGWIRE_HOST_TOKEN`), read once: the variables are removed, so that the plugin's
 * children do not inherit the token. `undefined` when the host offers none.
 * @internal
 */
export function processHostEndpoint(): HostEndpoint | undefined {
  if (fromEnvironment === undefined) {
    const socket = process.env[HOST_SOCKET_ENV];
    const token = process.env[HOST_TOKEN_ENV];
    delete process.env[HOST_SOCKET_ENV];
    delete process.env[HOST_TOKEN_ENV];
    fromEnvironment = socket ? { socket, token: token || undefined } : null;
  }
  return fromEnvironment ?? undefined;
}

const releasers = new Map<string, () => Promise<void>>();

/**
 * Has `release` run when the server given these host services closes (the connections
 * hostProxy() made to them). @internal
 */
export function onHostEndpointReleased(endpoint: HostEndpoint, release: () => Promise<void>): void {
  releasers.set(endpoint.socket, release);
}

/** Closes what was made for these host services. @internal */
export async function releaseHostEndpoint(endpoint: HostEndpoint): Promise<void> {
  const release = releasers.get(endpoint.socket);
  releasers.delete(endpoint.socket);
  await release?.();
}

/**
 * Removes the socket file of host services whose host is gone (killed with SIGKILL, it
 * could not), and its directory once empty when the host made it for its sockets
 * (`plugwire-XXXXXX`). Called by a plugin process whose lifeline closed. @internal
 */
export function removeOrphanedHostSocket(endpoint: HostEndpoint): void {
  try {
    unlinkSync(endpoint.socket);
  } catch {
    // already gone
  }
  const dir = dirname(endpoint.socket);
  if (!/^plugwire-[A-Za-z0-9]{6}$/.test(basename(dir))) return;
  try {
    rmdirSync(dir);
  } catch {
    // not empty (the plugin's own socket is removed after it), or already gone
  }
}
