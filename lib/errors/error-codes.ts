/**
 * Every code a {@link PluginError} can carry, with the HTTP status a plugwire plugin
 * answers with when it reports that error over the wire.
 *
 * @remarks
 * Match errors on `code`, never on the class or the message: codes are stable across
 * versions and survive two installed copies of the library.
 */
export const ErrorStatus = {
  /** The plugin method threw; the plugin's own name, message and code are kept. */
  PLUGWIRE_REMOTE: 500,
  /** A payload or a result failed conversion or validation; `details` lists the fields. */
  PLUGWIRE_VALIDATION: 422,
  /** The plugin has no method at that route. */
  PLUGWIRE_METHOD_NOT_FOUND: 404,
  /** The call's timeout or deadline passed before the answer arrived. */
  PLUGWIRE_TIMEOUT: 504,
  /** The caller aborted the call through its AbortSignal. */
  PLUGWIRE_ABORTED: 499,
  /** The plugin never became ready: it exited, printed the failure line, or timed out. */
  PLUGWIRE_START: 503,
  /** The plugin is gone and could not be restarted (or a non-idempotent call was cut off). */
  PLUGWIRE_UNAVAILABLE: 503,
  /** A call was made after `term()` or on a released proxy. */
  PLUGWIRE_CLOSED: 503,
  /** The peer broke the protocol: a malformed request or answer. */
  PLUGWIRE_PROTOCOL: 400,
  /** A contract or implementation is defined wrongly (bad route, duplicate route, untyped DTO). */
  PLUGWIRE_DEFINITION: 500,
  /** A contract's placeholder method body ({@link stub}) was run locally. */
  PLUGWIRE_STUB: 500,
  /** The plugin's manifest lacks routes of the host's contract (checked at start). */
  PLUGWIRE_CONTRACT: 409,
} as const;

/** For now the same map; becomes the code strings (issue 13). */
export const ErrorCodes = ErrorStatus;

/** The union of all error codes. */
export type ErrorCode = keyof typeof ErrorStatus;

/** @internal */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ErrorStatus, value);
}
