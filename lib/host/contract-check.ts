import type { CallOptions } from '../client/call-options';
import type { PluginClient } from '../client/plugin-client';
import { ContractError, PluginError, ProtocolError } from '../errors/plugin-error';
import type { Type } from '../metadata/method-definition';
import { readMethods } from '../metadata/reflection-helpers';
import { MANIFEST_ROUTE, type Manifest } from '../manifest/manifest';

/**
 * Whether an error answer means "no manifest here" (a version 1 plugin: 404, or any
 * answer but a refusal), rather than a refused or failed request.
 */
function withoutManifest(error: PluginError): boolean {
  if (error instanceof ProtocolError) return error.statusCode !== undefined && error.statusCode !== 401;
  return error.code === 'PLUGWIRE_METHOD_NOT_FOUND' || error.code === 'PLUGWIRE_REMOTE' || error.code === 'PLUGWIRE_VALIDATION';
}

function isManifest(value: unknown): value is Manifest {
  if (typeof value !== 'object' || value === null) return false;
  const { methods } = value as { methods?: unknown };
  return Array.isArray(methods) && methods.every((m) => typeof m === 'object' && m !== null && typeof (m as { route?: unknown }).route === 'string');
}

/** Options of {@link readManifest}. */
export interface ReadManifestOptions {
  /** Ask for the JSON Schemas too. Default `true`; `false` is cheaper for the plugin (no schema generator). */
  readonly schemas?: boolean;
}

/**
 * Asks a plugin for its manifest.
 *
 * @param client - a started client
 * @param options - `{ schemas: false }` for the routes and types only
 * @returns the manifest, or `undefined` for a plugin that has none (a version 1 plugin,
 * such as a Go plugin, answers 404 or an error)
 * @throws {@link PluginError} when the plugin refuses the request (401: `PLUGWIRE_PROTOCOL`)
 * or cannot be reached (`PLUGWIRE_UNAVAILABLE`, `PLUGWIRE_TIMEOUT`, `PLUGWIRE_CLOSED`), or
 * the answer is broken (`PLUGWIRE_PROTOCOL`)
 */
export function readManifest(client: PluginClient, options: ReadManifestOptions = {}): Promise<Manifest | undefined> {
  return fetchManifest(client, options.schemas !== false);
}

async function fetchManifest(client: PluginClient, schemas: boolean, callOptions?: CallOptions): Promise<Manifest | undefined> {
  let answer: unknown;
  try {
    answer = await client.call(schemas ? MANIFEST_ROUTE : `${MANIFEST_ROUTE}?schemas=false`, undefined, callOptions);
  } catch (error) {
    if (PluginError.is(error) && withoutManifest(error)) return undefined;
    throw error;
  }
  return isManifest(answer) ? answer : undefined;
}

/**
 * Compares a contract with the plugin's manifest, as `connect()` does at start.
 * @returns the routes the contract needs and the plugin lacks (empty when it has them
 * all, or has no manifest)
 * @internal
 */
export async function missingRoutes(client: PluginClient, contract: Type): Promise<string[]> {
  return routesNotIn(await readManifest(client, { schemas: false }), contract);
}

function routesNotIn(manifest: Manifest | undefined, contract: Type): string[] {
  if (!manifest) return [];
  const served = new Set(manifest.methods.map((m) => m.route));
  return [...(readMethods(contract)?.keys() ?? [])].filter((route) => !served.has(route));
}

/**
 * Resolves once the connection of a call that just ended takes calls again. undici waits
 * a whole turn of the event loop (a `setImmediate`) before it reuses a connection, so a
 * call sent sooner opens a second one: the first call after `connect()` would pay for a
 * connect and accept of its own, part of every cold start.
 */
function connectionFree(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Applies the client's `contractCheck` to a freshly started plugin.
 * @throws {@link ContractError} in `strict` mode when routes are missing
 * @internal
 */
export async function checkContract(client: PluginClient, contract: Type): Promise<void> {
  const mode = client.config.contractCheck;
  if (mode === 'off') return;
  // Part of the start: bounded by startTimeout, not by the calls' timeout (which may be none).
  const manifest = await fetchManifest(client, false, { timeout: client.config.startTimeout });
  await connectionFree();
  const missing = routesNotIn(manifest, contract);
  if (missing.length === 0) return;
  // The plugin's own name, not the starter's guess from a file name (`plugin plugin ...`).
  const name = manifest?.plugin?.name ?? client.name;
  const message = `plugin ${name} does not serve ${missing.length === 1 ? 'the route' : 'the routes'} ${missing.join(', ')} of the contract ${contract.name}`;
  if (mode === 'strict') throw new ContractError(message, missing);
  const logger = client.config.logger;
  if (logger) logger.error(`[${client.name}] ${message}`);
  else console.warn(`plugwire: ${message}`);
}
