import { channels, debug } from '../diagnostics/channels';
import { PluginError, StartError } from '../errors/plugin-error';
import { EXTENSION_VERSION, VERSION_HEADER } from '../protocol/constants';
import type { StartedPlugin, Starter } from '../starters/starter';
import { nodeCrypto } from '../util/lazy';
import type { PluginConfig } from './config';

/** One start of a plugin process, as a supervisor asks for it. @internal */
export interface StartRequest {
  readonly starter: Starter;
  readonly socket: string;
  readonly socketDir: string | undefined;
  readonly host: { readonly socket: string; readonly token: string } | undefined;
  readonly config: PluginConfig;
  /** Fires when the client is closed meanwhile. */
  readonly signal: AbortSignal;
  /** Whether a process was started before: a restart or a recycle. */
  readonly restart: boolean;
  /** Why the last process is gone (or was recycled), for the diagnostics of a restart. */
  readonly cause: string | undefined;
}

/** The headers of every request to a plugin; a started process's add its token. @internal */
export const BASE_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'application/json', [VERSION_HEADER]: EXTENSION_VERSION });

/** A process that started: the plugin, the headers of a request to it (its token), ms it took. @internal */
export interface StartedProcess {
  readonly instance: StartedPlugin;
  readonly headers: Readonly<Record<string, string>>;
  readonly duration: number;
}

/**
 * Starts one plugin process through its starter, with a fresh token, the limits and the
 * host services, and publishes the start (`plugwire:plugin:spawn`) and its failure
 * (`plugwire:plugin:startError`).
 *
 * @param request - the starter, the socket, the configuration and what the diagnostics say
 * @returns the started plugin, the headers of a request to it and how long the start took
 * @throws {@link StartError} (or the starter's own PluginError) when the start fails
 * @internal
 */
export async function startProcess(request: StartRequest): Promise<StartedProcess> {
  const { starter, socket, config, restart, cause } = request;
  const plugin = starter.name;
  if (channels.pluginSpawn.hasSubscribers) channels.pluginSpawn.publish({ plugin, socket, restart, ...(cause === undefined ? {} : { cause }) });
  if (debug.enabled) debug('[%s] %s on %s%s', plugin, restart ? 'restarting' : 'starting', socket, cause === undefined ? '' : ` (it was gone: ${cause})`);
  const began = performance.now();
  const token = nodeCrypto().randomBytes(32).toString('base64url');
  const { memoryMiB } = config.limits;
  try {
    const instance = await starter.start({
      socket,
      socketDir: request.socketDir,
      startTimeout: config.startTimeout,
      terminationGrace: config.terminationGrace,
      signal: request.signal,
      token,
      ...(request.host === undefined ? {} : { host: request.host }),
      ...(memoryMiB === undefined ? {} : { memoryMiB }),
    });
    // A starter that reused a running plugin hands back that plugin's token.
    const headers = { ...BASE_HEADERS, authorization: `Bearer ${instance.token ?? token}` };
    return { instance, headers, duration: performance.now() - began };
  } catch (caught) {
    const error = PluginError.is(caught) ? caught : new StartError(`plugin ${plugin} could not be started: ${(caught as Error).message}`, 'spawn', { cause: caught });
    if (channels.pluginStartError.hasSubscribers) channels.pluginStartError.publish({ plugin, socket, error });
    if (debug.enabled) debug('[%s] start failed: %s', plugin, error.message);
    throw error;
  }
}
