/**
 * The HTTP status a plugwire plugin answers with for each error code: `ErrorStatus[error.code]`.
 *
 * @remarks
 * A host sees it as {@link PluginError.status}. To match an error, compare its `code` with
 * {@link ErrorCodes}, never its status: several codes share one.
 */
export const ErrorStatus = {
  /** 500: the plugin method threw. */
  PLUGWIRE_REMOTE: 500,
  /** 422: a payload or a result is invalid. */
  PLUGWIRE_VALIDATION: 422,
  /** 404: no method at that route. */
  PLUGWIRE_METHOD_NOT_FOUND: 404,
  /** 504: the call's timeout or deadline passed. */
  PLUGWIRE_TIMEOUT: 504,
  /** 499: the caller aborted the call. */
  PLUGWIRE_ABORTED: 499,
  /** 503: the plugin never became ready. */
  PLUGWIRE_START: 503,
  /** 503: the plugin is gone and could not be restarted. */
  PLUGWIRE_UNAVAILABLE: 503,
  /** 503: a call after `close()`. */
  PLUGWIRE_CLOSED: 503,
  /** 400: the peer broke the protocol. */
  PLUGWIRE_PROTOCOL: 400,
  /** 500: a contract or implementation is defined wrongly. */
  PLUGWIRE_DEFINITION: 500,
  /** 500: a contract's placeholder method body ran. */
  PLUGWIRE_STUB: 500,
  /** 409: the plugin's manifest lacks routes of the host's contract. */
  PLUGWIRE_CONTRACT: 409,
  /** 503: more calls than the plugin (or the host's limit for it) takes at once; the call did not run. */
  PLUGWIRE_OVERLOADED: 503,
} as const;

/** The union of all error codes: the keys of {@link ErrorCodes}. */
export type ErrorCode = keyof typeof ErrorStatus;

/**
 * Every code a {@link PluginError} can carry, each the string it names:
 * `ErrorCodes.PLUGWIRE_TIMEOUT === 'PLUGWIRE_TIMEOUT'`. {@link ErrorStatus} gives the HTTP
 * status of each.
 *
 * @remarks
 * Match errors on `code` (or {@link PluginError.is}): codes are stable across versions,
 * travel over the wire, and hold for errors of another installed copy of plugwire.
 *
 * @example
 * ```ts
 * if (PluginError.is(error) && error.code === ErrorCodes.PLUGWIRE_TIMEOUT) retryLater();
 * ```
 */
export const ErrorCodes = {
  /** The plugin method threw; the plugin's own name, message and code are kept ({@link RemoteError}). */
  PLUGWIRE_REMOTE: 'PLUGWIRE_REMOTE',
  /** A payload or a result failed conversion or validation; `violations` lists the fields ({@link ValidationError}). */
  PLUGWIRE_VALIDATION: 'PLUGWIRE_VALIDATION',
  /** The plugin has no method at that route ({@link MethodNotFoundError}). */
  PLUGWIRE_METHOD_NOT_FOUND: 'PLUGWIRE_METHOD_NOT_FOUND',
  /** The call's timeout or deadline passed before the answer arrived ({@link TimeoutError}). */
  PLUGWIRE_TIMEOUT: 'PLUGWIRE_TIMEOUT',
  /** The caller aborted the call through its AbortSignal ({@link AbortedError}). */
  PLUGWIRE_ABORTED: 'PLUGWIRE_ABORTED',
  /** The plugin never became ready: it exited, printed the failure line, or timed out ({@link StartError}). */
  PLUGWIRE_START: 'PLUGWIRE_START',
  /** The plugin is gone and could not be restarted, or a non-idempotent call was cut off ({@link UnavailableError}). */
  PLUGWIRE_UNAVAILABLE: 'PLUGWIRE_UNAVAILABLE',
  /** A call was made after `close()` or on a closed proxy ({@link ClosedError}). */
  PLUGWIRE_CLOSED: 'PLUGWIRE_CLOSED',
  /** The peer broke the protocol: a malformed request or answer ({@link ProtocolError}). */
  PLUGWIRE_PROTOCOL: 'PLUGWIRE_PROTOCOL',
  /** A contract or implementation is defined wrongly: a bad or duplicate route, an untyped DTO ({@link DefinitionError}). */
  PLUGWIRE_DEFINITION: 'PLUGWIRE_DEFINITION',
  /** A contract's placeholder method body ({@link stub}) ran ({@link StubError}). */
  PLUGWIRE_STUB: 'PLUGWIRE_STUB',
  /** The plugin's manifest lacks routes of the host's contract, checked at start ({@link ContractError}). */
  PLUGWIRE_CONTRACT: 'PLUGWIRE_CONTRACT',
  /** More calls at once than the plugin takes (`maxInFlight`): refused at once, not run ({@link OverloadedError}). */
  PLUGWIRE_OVERLOADED: 'PLUGWIRE_OVERLOADED',
} as const satisfies { readonly [K in ErrorCode]: K };

/**
 * Whether a value is one of the error codes.
 *
 * @param value - anything, e.g. a code read from the wire
 * @returns true for a key of {@link ErrorStatus}
 * @internal
 */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ErrorStatus, value);
}
