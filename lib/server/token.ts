import type { IncomingHttpHeaders } from 'node:http';
import { DefinitionError } from '../errors/plugin-error';
import { TOKEN_ENV, TOKEN_FILE_ENV } from '../protocol/constants';
import { readTokenFile } from '../util/token-file';
import type { ServeOptions } from './options';

/*
 * The access token a plugwire host gives its plugin: callers must send it as
 * `Authorization: Bearer <token>`, and a plugin method never sees it.
 */

/** The message of the 401 answer to a request without the token. @internal */
export const UNAUTHORIZED = 'unauthorized: this plugin answers only the host that started it';

/**
 * Whether a request may be served: the plugin has no token, or the request's
 * `Authorization` header carries it.
 *
 * @param expected - the token's bytes, or `undefined` when the plugin has none
 * @param header - the request's `Authorization` header
 * @internal
 */
export function authorized(expected: Buffer | undefined, header: string | undefined): boolean {
  if (expected === undefined) return true;
  // `Bearer`, in any case (RFC 9110 §11.1: the scheme is case-insensitive), then spaces.
  if (header === undefined || header.charCodeAt(6) !== 0x20 || header.slice(0, 6).toLowerCase() !== 'bearer') return false;
  // Constant time for a token of the right length; the length itself (43 characters of
  // base64url for a plugwire host's token) is no secret.
  const given = Buffer.from(header.slice(7).replace(/^ +/, ''));
  return given.length === expected.length && sameBytes(given, expected);
}

/**
 * Whether two buffers of the same length are equal, in a time that does not depend on
 * where they differ: every byte is compared, the differences OR-ed together. It does what
 * `crypto.timingSafeEqual()` does (the npm package buffer-equal-constant-time, which
 * jsonwebtoken relies on, does the same) without loading `node:crypto` in every plugin
 * before its first call: a few milliseconds of a cold start on Node.js 24.
 */
function sameBytes(a: Buffer, b: Buffer): boolean {
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number);
  return difference === 0;
}

/** The request headers a method sees: all but the host's token. @internal */
export function withoutAuthorization(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const { authorization: _token, ...rest } = headers;
  return rest;
}

/**
 * The token a plugin server expects, from the first of: `options.token`, `PLUGWIRE_TOKEN`
 * (what a plugwire host that started this process sends), and the file named by
 * `options.tokenFile` or `PLUGWIRE_TOKEN_FILE` (a mounted Secret, in a container that
 * nobody spawned). `PLUGWIRE_TOKEN` beats a `tokenFile` the code names: a host that spawns
 * the same plugin on a developer's machine sends its own fresh token and could not call a
 * plugin that expected the file's. Both variables are removed from the environment, so
 * that the plugin's children (a plugin that serves or attaches to plugins of its own)
 * are not silently configured with this server's token; the file itself stays readable.
 * With `options.token`, `PLUGWIRE_TOKEN_FILE` stays: it did not configure this server.
 *
 * The file is read once, here: a rotated Secret takes effect when the plugin restarts.
 *
 * @param options - `token` and `tokenFile` of {@link ServeOptions}
 * @returns the token, or `undefined` for none (as under a Go host)
 * @throws {@link DefinitionError} when both options are given, or the file cannot be read,
 * is empty or holds what a header cannot carry
 * @internal
 */
export function servedToken(options: Pick<ServeOptions, 'token' | 'tokenFile'>): string | undefined {
  const fromEnv = process.env[TOKEN_ENV];
  const fileFromEnv = process.env[TOKEN_FILE_ENV];
  // Removed before anything can fail. A token given in the options (serveInProcess()
  // passes its host's) leaves PLUGWIRE_TOKEN_FILE alone: it is then not this server's,
  // and a host that serves a plugin in its own process may attach to a sidecar with it.
  delete process.env[TOKEN_ENV];
  if (options.token === undefined) delete process.env[TOKEN_FILE_ENV];
  if (options.token !== undefined && options.tokenFile !== undefined) {
    throw new DefinitionError('serve(): pass token or tokenFile, not both');
  }
  if (options.token !== undefined) return options.token;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (options.tokenFile !== undefined) return readTokenFile(options.tokenFile, 'serve({ tokenFile })');
  if (fileFromEnv !== undefined && fileFromEnv !== '') return readTokenFile(fileFromEnv, `serve(): ${TOKEN_FILE_ENV}`);
  return undefined;
}
