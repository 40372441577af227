import type { IncomingHttpHeaders } from 'node:http';
import { nodeCrypto } from '../util/lazy';

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
  return given.length === expected.length && nodeCrypto().timingSafeEqual(given, expected);
}

/** The request headers a method sees: all but the host's token. @internal */
export function withoutAuthorization(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const { authorization: _token, ...rest } = headers;
  return rest;
}
