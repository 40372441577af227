import {
  MethodNotFoundError,
  OverloadedError,
  PluginError,
  ProtocolError,
  RemoteError,
  type FieldViolation,
  TimeoutError,
  ValidationError,
  type RemoteErrorInfo,
} from '../errors/plugin-error';
import { describeThrown, isError, readField, readText } from '../util/thrown';
import { isErrorCode, type ErrorCode } from '../errors/error-codes';

/**
 * The structured error a plugwire plugin sends to a plugwire host, JSON-encoded inside
 * the JSON string that version 1 requires as the error body ({@link encodeWireError}).
 * @internal
 */
export interface WireError {
  /** What kind of error; the host throws the class of that code. */
  readonly code: ErrorCode;
  /** The message, also the whole body for a version 1 host. */
  readonly message: string;
  /** For `PLUGWIRE_REMOTE`: what the method threw. */
  readonly remote?: RemoteErrorInfo;
  /** For `PLUGWIRE_VALIDATION`: each failed field. */
  readonly violations?: readonly FieldViolation[];
}

/**
 * The body of an error answer: a JSON string and a newline, as version 1 (and a Go
 * plugin) sends it. For a plugwire host (`structured`, which the plugin then marks with the
 * `x-plugwire-error` header) the string holds the whole {@link WireError} as JSON; for a
 * version 1 host, the message alone. {@link fromWireError} reads it.
 *
 * @param wire - the error to send
 * @param structured - whether the caller is a plugwire host
 * @returns the answer's body
 * @internal
 */
export function encodeWireError(wire: WireError, structured: boolean): string {
  return `${JSON.stringify(structured ? JSON.stringify(wire) : wire.message)}\n`;
}

/**
 * The longest text, in UTF-16 code units, a plugin's error answer carries of what a method
 * threw: its name, message and string code, each; details whose JSON is longer are left
 * out. A method may throw a message of any size, and an answer larger than a host takes
 * (`maxResponseSize`, 16 MiB by default) would reach it as `PLUGWIRE_PROTOCOL` instead of
 * the method's error. What is cut ends with {@link cutText}'s marker. @internal
 */
export const MAX_ERROR_TEXT = 64 * 1024;

/**
 * A text within {@link MAX_ERROR_TEXT}: its start, then `… (N more characters cut)`.
 * Never cuts between the two halves of a surrogate pair. @internal
 */
export function cutText(text: string): string {
  if (text.length <= MAX_ERROR_TEXT) return text;
  let end = MAX_ERROR_TEXT;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}… (${text.length - end} more characters cut)`;
}

/** A forwarded error, within {@link MAX_ERROR_TEXT}: the same object when nothing is cut, the common case. */
function withinBounds(info: RemoteErrorInfo): RemoteErrorInfo {
  const { name, message, code, details } = info;
  const long = (text: unknown): boolean => typeof text === 'string' && text.length > MAX_ERROR_TEXT;
  // details are a JSON copy (remoteInfo), or what a host read from JSON: they stringify.
  const detailsTooLong = details !== undefined && (JSON.stringify(details)?.length ?? 0) > MAX_ERROR_TEXT;
  if (!long(name) && !long(message) && !long(code) && !detailsTooLong) return info;
  const out: { name: string; message: string; code?: string | number; details?: unknown } = { name: cutText(name), message: cutText(message) };
  if (code !== undefined) out.code = typeof code === 'string' ? cutText(code) : code;
  if (details !== undefined && !detailsTooLong) out.details = details;
  return out;
}

/** Go's message for an exceeded deadline. @internal */
export const GO_DEADLINE_MESSAGE = 'context deadline exceeded';

function remoteInfo(error: unknown): RemoteErrorInfo {
  if (isError(error)) {
    const code = readField(error, 'code');
    const details = readField(error, 'details');
    // Name and message may be anything at run time, even getters that throw; on the wire they are strings.
    const info: { name: string; message: string; code?: string | number; details?: unknown } = {
      name: cutText(readText(error, 'name') ?? 'Error'),
      message: cutText(readText(error, 'message') ?? 'error with an unprintable message'),
    };
    if (typeof code === 'string' || typeof code === 'number') info.code = typeof code === 'string' ? cutText(code) : code;
    if (details !== undefined) {
      try {
        const json = JSON.stringify(details);
        // details too long for an answer are left out: unlike a text, JSON cannot be cut.
        if (json !== undefined && json.length <= MAX_ERROR_TEXT) info.details = JSON.parse(json) as unknown;
      } catch {
        // details that do not survive JSON are left out rather than failing the answer
      }
    }
    return info;
  }
  return { name: 'Error', message: cutText(typeof error === 'string' ? error : `non-error value thrown: ${describeThrown(error)}`) };
}

/** The plugin-side error of a call the method made and let through, if that is what it threw. */
function forwardedRemote(error: unknown): RemoteErrorInfo | undefined {
  try {
    // A Go plugin's message, or a host's RemoteError built by hand, may be of any size.
    return error instanceof RemoteError ? withinBounds(error.remote) : undefined;
  } catch {
    return undefined; // a Proxy whose getPrototypeOf trap throws
  }
}

/**
 * Describes anything a plugin method threw, for the wire: always `PLUGWIRE_REMOTE` (a
 * plugwire error the method let through, such as the timeout of a call it made, is the
 * method's failure, not the host's), with the thrown error's name, message, code and
 * details. Never throws, whatever was thrown.
 *
 * @param error - what the method threw
 * @returns the wire error to answer with (status 500)
 * @internal
 */
export function toWireError(error: unknown): WireError {
  const remote = forwardedRemote(error) ?? remoteInfo(error);
  return { code: 'PLUGWIRE_REMOTE', message: remote.message, remote };
}

/**
 * Builds the error a host throws for a non-200 answer.
 *
 * @param status - the HTTP status
 * @param body - the raw body
 * @param structured - whether the plugin marked the body as a structured plugwire error
 * @param route - the route of the call, for the error
 * @returns the error of the wire error's code; for a body that is not a structured error, the
 * error its status means (404, 422, 400...), else a {@link RemoteError}
 * @internal
 */
export function fromWireError(status: number, body: string, structured: boolean, route: string): PluginError {
  let message: unknown;
  try {
    message = JSON.parse(body);
  } catch {
    message = undefined;
  }
  if (typeof message !== 'string') {
    return new ProtocolError(`plugin answered ${route} with status ${status} and a body that is not a JSON string: ${preview(body)}`, { statusCode: status, route });
  }
  if (structured) {
    const parsed = parseStructured(message);
    if (parsed) return fromStructured(parsed, status, route);
  }
  switch (status) {
    case 404:
      return new MethodNotFoundError(message, { route });
    case 422:
      return new ValidationError(message, 'plugin', [], { route });
    case 400:
    case 405:
    case 413:
    case 431:
      return new ProtocolError(message, { statusCode: status, route });
    default:
      if (message === GO_DEADLINE_MESSAGE) return new TimeoutError(message, { route });
      return new RemoteError({ name: 'Error', message }, status, { route });
  }
}

function parseStructured(text: string): WireError | undefined {
  try {
    const value = JSON.parse(text) as Partial<WireError>;
    if (value && typeof value === 'object' && isErrorCode(value.code) && typeof value.message === 'string') return value as WireError;
  } catch {
    // fall back to the plain message
  }
  return undefined;
}

function fromStructured(wire: WireError, status: number, route: string): PluginError {
  switch (wire.code) {
    case 'PLUGWIRE_REMOTE': {
      const r = wire.remote;
      const remote: RemoteErrorInfo = r && typeof r.name === 'string' && typeof r.message === 'string' ? r : { name: 'Error', message: wire.message };
      return new RemoteError(remote, status, { route });
    }
    case 'PLUGWIRE_VALIDATION':
      return new ValidationError(wire.message, 'plugin', Array.isArray(wire.violations) ? wire.violations : [], { route });
    case 'PLUGWIRE_METHOD_NOT_FOUND':
      return new MethodNotFoundError(wire.message, { route });
    case 'PLUGWIRE_TIMEOUT':
      return new TimeoutError(wire.message, { route });
    case 'PLUGWIRE_PROTOCOL':
      return new ProtocolError(wire.message, { statusCode: status, route });
    case 'PLUGWIRE_OVERLOADED':
      return new OverloadedError(wire.message, { route });
    default:
      return new PluginError(wire.code, wire.message, { route });
  }
}

function preview(body: string): string {
  const text = body.length > 120 ? `${body.slice(0, 120)}…` : body;
  return JSON.stringify(text);
}
