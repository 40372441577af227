import { TimeoutError, ClosedError, PluginError, ProtocolError } from '../errors/plugin-error';
import { undici } from '../util/lazy';

/*
 * What a failed request says about the plugin: the error codes of Node.js and undici sorted
 * by whether the request reached the plugin, and the errors a caller sees for the rest.
 */

/**
 * What became of a request that failed before an answer began: `unreached` (never
 * delivered, so the method cannot have run), `lost` (the connection broke while the
 * request may have run), `busy` (the plugin's accept backlog is full), `invalid` (the
 * plugin answered, with something that is not HTTP/1.1 to the host: it had the request
 * and may have run it) or `other` (a failure that restarting cannot mend). @internal
 */
export type FailureKind = 'unreached' | 'lost' | 'busy' | 'invalid' | 'other';

// A failed write (EPIPE) means the request was never complete at the plugin, so its
// method cannot have run: the same as a refused connection (Go's nothingWrittenError).
// On Linux, a Unix socket is reset (ECONNRESET) only when its other end closes with data
// it never read, or was never accepted at all; a plugin that read the whole request and
// then died closes it (EOF: UND_ERR_SOCKET). Before an answer began, the unread data can
// only be the request (one request at a time per connection): the plugin never had all
// of it. That is how a request sent on a kept connection of a plugin that was dying (a
// crash between calls, or an idle connection the plugin closed as the request arrived)
// fails. Elsewhere a reset may come after the request was read: it may have run.
const RESET_UNREAD = process.platform === 'linux' ? ['ECONNRESET'] : [];
const UNREACHED = new Set(['ECONNREFUSED', 'ENOENT', 'ENOTSOCK', 'EACCES', 'EPIPE', ...RESET_UNREAD]);
const LOST = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'ECONNABORTED'].filter((code) => !RESET_UNREAD.includes(code)));
// The plugin's accept backlog is full: it listens but is busy (or frozen). The request was
// not delivered, and nothing is gone: wait and connect again, within the call's timeout.
const BUSY = 'EAGAIN';
// undici refuses some answers by destroying the connection with a SocketError, whose code
// (UND_ERR_SOCKET) is that of a connection that broke: only its message tells them apart.
// In undici 7 a request fails with `bad response` for an interim 100 Continue (it sends no
// `Expect: 100-continue`, so it takes none; 102 and 103 it skips), and with `bad upgrade`
// for a 101 Switching Protocols it did not ask for. Either way the plugin had the request
// and answered it: sending it again would run it again, and get the same answer.
const REFUSED_ANSWERS: ReadonlyMap<string, string> = new Map([
  ['bad response', 'an interim 100 Continue it did not ask for: the host sends no Expect: 100-continue, and takes no 100 Continue'],
  ['bad upgrade', 'a 101 Switching Protocols it did not ask for'],
]);

/**
 * The transport error code of a failure, looked up on the error and up to two causes
 * deep (undici wraps the socket's error).
 *
 * @param error - what the request failed with
 * @returns a code this module knows (a socket errno, `UND_ERR_*`, `HPE_*`), or `undefined`
 * @internal
 */
export function errorCode(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 3 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (UNREACHED.has(code) || LOST.has(code) || code === BUSY || code.startsWith('UND_ERR') || code.startsWith('HPE_'))) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * What undici said of an answer it could not take as HTTP/1.1, when that is why a request
 * failed: its parser's error (HTTPParserError), or a SocketError it refused the answer with.
 *
 * @param error - what the request failed with
 * @returns undici's reason, and for a refused answer what the plugin sent; `undefined`
 * for any other failure
 */
function invalidAnswer(error: unknown): { readonly reason: string; readonly sent?: string } | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 3 && e && typeof e === 'object'; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    // undici 7 leaves the parser error's code undefined (it looks llhttp's error number up in
    // a map from names to numbers): it is known by its class, which answers by undici's brand.
    if (e instanceof undici().errors.HTTPParserError || (typeof code === 'string' && code.startsWith('HPE_'))) {
      const said = typeof message === 'string' && message !== '' ? message : 'HTTPParserError';
      return { reason: typeof code === 'string' ? `${code}: ${said}` : said };
    }
    const sent = code === 'UND_ERR_SOCKET' && typeof message === 'string' ? REFUSED_ANSWERS.get(message) : undefined;
    if (sent !== undefined) return { reason: message as string, sent };
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * What a failure says about the request.
 *
 * @param error - what the request failed with
 * @returns the kind of failure
 * @internal
 */
export function classify(error: unknown): FailureKind {
  if (invalidAnswer(error)) return 'invalid';
  const code = errorCode(error);
  if (code === undefined) return 'other';
  if (code === BUSY) return 'busy';
  if (UNREACHED.has(code)) return 'unreached';
  if (LOST.has(code)) return 'lost';
  return 'other';
}

/**
 * The error of a request that failed in a way restarting cannot mend (`other`), or that
 * the plugin answered with something the host cannot take (`invalid`).
 *
 * @param plugin - the plugin's name, for the message
 * @param route - the route called
 * @param code - from {@link errorCode}
 * @param error - the failure, kept as the cause
 * @param connectTimeout - the configured connect timeout, for the message
 * @returns `PLUGWIRE_TIMEOUT` for a connect timeout, `PLUGWIRE_CLOSED` for a pool
 * closed under the call, else `PLUGWIRE_PROTOCOL` (a malformed answer)
 * @internal
 */
export function transportError(plugin: string, route: string, code: string | undefined, error: unknown, connectTimeout: number): PluginError {
  const invalid = invalidAnswer(error);
  if (invalid) {
    const what = invalid.sent ? `${invalid.sent}; undici: ${invalid.reason}` : `undici: ${invalid.reason}`;
    return new ProtocolError(
      `plugin ${plugin} answered ${route} with something that is not valid HTTP/1.1 for the host (${what}): it was not sent again, as the plugin had the request and may have run it`,
      { route, cause: error },
    );
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new TimeoutError(`connecting to plugin ${plugin} timed out after ${connectTimeout} ms`, { route, cause: error });
  }
  if (code === 'UND_ERR_CLOSED' || code === 'UND_ERR_DESTROYED') {
    return new ClosedError(`plugin ${plugin} was terminated during the call to ${route}`, { route, cause: error });
  }
  return new ProtocolError(`malformed answer from plugin ${plugin} to ${route}: ${(error as Error).message}`, { route, cause: error });
}

/**
 * The error of an answer that began and then broke off: too large, or cut off. The plugin
 * has run the call, so it is never sent again; a plugin that died meanwhile is noticed by
 * its exit and restarted at the next call.
 *
 * @param plugin - the plugin's name, for the message
 * @param route - the route called
 * @param statusCode - the answer's status
 * @param failure - why the answer broke off, kept as the cause
 * @param maxSize - the configured `maxResponseSize`, for the message
 * @returns a `PLUGWIRE_PROTOCOL` error
 * @internal
 */
export function brokenAnswerError(plugin: string, route: string, statusCode: number, failure: Error, maxSize: number): ProtocolError {
  if (PluginError.is(failure)) {
    return new ProtocolError(`${failure.message.replace(/^answer/, `answer from plugin ${plugin} to ${route}`)}`, { route, statusCode, cause: failure });
  }
  if (errorCode(failure) === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
    return new ProtocolError(`answer from plugin ${plugin} to ${route} is larger than maxResponseSize (${maxSize})`, { route, statusCode, cause: failure });
  }
  const invalid = invalidAnswer(failure);
  if (invalid) {
    return new ProtocolError(`answer from plugin ${plugin} to ${route} is not valid HTTP/1.1 for the host (undici: ${invalid.reason})`, { route, statusCode, cause: failure });
  }
  return new ProtocolError(`answer from plugin ${plugin} to ${route} was cut off: ${failure.message}`, { route, statusCode, cause: failure });
}
