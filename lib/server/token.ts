import type { IncomingHttpHeaders } from 'node:http';

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
