import {
  CallTimeoutError,
  MethodNotFoundError,
  PayloadValidationError,
  PluginError,
  ProtocolError,
  RemoteError,
  type FieldViolation,
  type RemoteErrorInfo,
} from '../errors/plugin-error';
import { isErrorCode, type ErrorCode } from '../errors/error-codes';

/**
 * The structured error a plugwire plugin sends to a plugwire host, JSON-encoded inside
 * the JSON string that version 1 requires as the error body. @internal
 */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly remote?: RemoteErrorInfo;
  readonly violations?: readonly FieldViolation[];
}

/** Go's message for an exceeded deadline. @internal */
export const GO_DEADLINE_MESSAGE = 'context deadline exceeded';

function remoteInfo(error: unknown): RemoteErrorInfo {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const details = (error as { details?: unknown }).details;
    // Name and message may be anything at run time; on the wire they are strings.
    const info: { name: string; message: string; code?: string | number; details?: unknown } = { name: String(error.name), message: String(error.message) };
    if (typeof code === 'string' || typeof code === 'number') info.code = code;
    if (details !== undefined) {
      try {
        info.details = JSON.parse(JSON.stringify(details)) as unknown;
      } catch {
        // details that do not survive JSON are left out rather than failing the answer
      }
    }
    return info;
  }
  return { name: 'Error', message: typeof error === 'string' ? error : `non-error value thrown: ${describeThrown(error)}` };
}

function describeThrown(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Describes anything a plugin method threw, for the wire. @internal */
export function toWireError(error: unknown): WireError {
  const remote = error instanceof RemoteError ? error.remote : remoteInfo(error);
  return { code: 'PLUGWIRE_REMOTE', message: remote.message, remote };
}

/**
 * Builds the error a host throws for a non-200 answer.
 *
 * @param status - the HTTP status
 * @param body - the raw body
 * @param structured - whether the plugin marked the body as a structured plugwire error
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
      return new PayloadValidationError(message, 'plugin', [], { route });
    case 400:
    case 405:
    case 413:
    case 431:
      return new ProtocolError(message, { statusCode: status, route });
    default:
      if (message === GO_DEADLINE_MESSAGE) return new CallTimeoutError(message, { route });
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
      return new PayloadValidationError(wire.message, 'plugin', Array.isArray(wire.violations) ? wire.violations : [], { route });
    case 'PLUGWIRE_METHOD_NOT_FOUND':
      return new MethodNotFoundError(wire.message, { route });
    case 'PLUGWIRE_TIMEOUT':
      return new CallTimeoutError(wire.message, { route });
    case 'PLUGWIRE_PROTOCOL':
      return new ProtocolError(wire.message, { statusCode: status, route });
    default:
      return new PluginError(wire.code, wire.message, { route });
  }
}

function preview(body: string): string {
  const text = body.length > 120 ? `${body.slice(0, 120)}…` : body;
  return JSON.stringify(text);
}
