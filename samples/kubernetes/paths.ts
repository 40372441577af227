// Where the two containers of the pod meet, in one place for both entry points and for the
// spec that checks deployment.yaml against them: each value comes from the environment the
// manifest sets, with the manifest's own value as the default.
import { SOCKET_ENV, TOKEN_FILE_ENV } from 'plugwire';

/** The socket path in the shared `emptyDir` volume (mounted at `/run/plugwire` in both containers). */
export const DEFAULT_SOCKET = '/run/plugwire/modifier.sock';

/** The token file: the key `token` of the Secret, mounted read-only in both containers. */
export const DEFAULT_TOKEN_FILE = '/var/run/secrets/plugwire/token';

/** The environment variable that carries the host's HTTP port. */
export const PORT_ENV = 'PORT';

/** The host's HTTP port when {@link PORT_ENV} is not set. */
export const DEFAULT_PORT = 8080;

/** What each container of the pod reads from its environment. */
export interface PodSettings {
  /** The plugin's socket path (`PLUGIN_SOCKET`). */
  readonly socket: string;
  /** The file holding the access token (`PLUGWIRE_TOKEN_FILE`). */
  readonly tokenFile: string;
  /** The host's HTTP port (`PORT`); `0` takes a free one. */
  readonly port: number;
}

/**
 * Reads the pod's settings from the environment, each with its default.
 *
 * @param env - the environment; default `process.env`
 * @returns the socket path, the token file and the host's port
 * @throws Error when `PORT` is not a port number
 */
export function podSettings(env: NodeJS.ProcessEnv = process.env): PodSettings {
  const port = Number(env[PORT_ENV] || DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${PORT_ENV} must be a port number, not ${env[PORT_ENV]}`);
  return {
    socket: env[SOCKET_ENV] || DEFAULT_SOCKET,
    tokenFile: env[TOKEN_FILE_ENV] || DEFAULT_TOKEN_FILE,
    port,
  };
}
