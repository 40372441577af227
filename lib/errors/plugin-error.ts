// The error classes, one per code of ErrorCodes, each named after its code; the base class
// and its brand are in plugin-error-base.ts.
import { brandErrorClass, PluginError, type FieldViolation, type PluginErrorOptions } from './plugin-error-base';

export { PluginError } from './plugin-error-base';
export type { FieldViolation, PluginErrorOptions } from './plugin-error-base';

/** What a plugin reported about the error its method threw. */
export interface RemoteErrorInfo {
  /** The error's class name in the plugin (`Error` for a Go plugin). */
  readonly name: string;
  /** The message. */
  readonly message: string;
  /** The error's own `code` property, if it had one (plugwire plugins only). */
  readonly code?: string | number;
  /** The error's own `details` property as JSON, if it had one (plugwire plugins only). */
  readonly details?: unknown;
}

/** `PLUGWIRE_REMOTE`: the plugin method threw or returned an error. */
export class RemoteError extends PluginError {
  /** The class name, `'RemoteError'`. */
  override name = 'RemoteError';
  /** The plugin-side error: its name, message and code. */
  readonly remote: RemoteErrorInfo;
  readonly #status: number;

  /**
   * @param remote - what the plugin reported about its error
   * @param status - the HTTP status the plugin answered with
   * @param options - the cause and the route of the call
   */
  constructor(remote: RemoteErrorInfo, status = 500, options: PluginErrorOptions = {}) {
    super('PLUGWIRE_REMOTE', remote.message, options);
    this.remote = remote;
    this.#status = status;
  }

  /**
   * The HTTP status the plugin answered with: 500 from a plugwire plugin, any error
   * status from a Go plugin.
   *
   * @returns the status of the answer
   */
  override get status(): number {
    return this.#status;
  }

  /**
   * The HTTP status the plugin answered with.
   *
   * @deprecated use {@link RemoteError.status}; removed in 0.3
   * @returns the same as `status`
   */
  get statusCode(): number {
    return this.#status;
  }
}

/**
 * `PLUGWIRE_VALIDATION`: a payload or a result is invalid.
 *
 * @remarks
 * class-validator exports a `ValidationError` too (one failed field, which this error
 * lists as {@link FieldViolation}s). Where a file needs both, import this one under
 * another name: `import { ValidationError as PlugwireValidationError } from 'plugwire'`.
 */
export class ValidationError extends PluginError {
  /** The class name, `'ValidationError'`. */
  override name = 'ValidationError';
  /** Which side found the problem: the host before sending, the plugin, or the host checking a result. */
  readonly side: 'host' | 'plugin' | 'result';
  /** Each failed field with its constraints (empty where the plugin sent none, as a Go plugin does). */
  readonly violations: readonly FieldViolation[];

  /**
   * @param message - every failed field in one line
   * @param side - which side found the problem
   * @param violations - each failed field
   * @param options - the cause and the route of the call
   */
  constructor(message: string, side: 'host' | 'plugin' | 'result', violations: readonly FieldViolation[] = [], options: PluginErrorOptions = {}) {
    super('PLUGWIRE_VALIDATION', message, options);
    this.side = side;
    this.violations = violations;
  }
}

/** `PLUGWIRE_METHOD_NOT_FOUND`: no method at that route. */
export class MethodNotFoundError extends PluginError {
  /** The class name, `'MethodNotFoundError'`. */
  override name = 'MethodNotFoundError';
  /**
   * @param message - the route that was not found
   * @param options - the cause and the route of the call
   */
  constructor(message: string, options: PluginErrorOptions = {}) {
    super('PLUGWIRE_METHOD_NOT_FOUND', message, options);
  }
}

/** `PLUGWIRE_TIMEOUT`: the call's timeout or deadline passed. */
export class TimeoutError extends PluginError {
  /** The class name, `'TimeoutError'`. */
  override name = 'TimeoutError';
  /**
   * @param message - which time ran out
   * @param options - the cause and the route of the call
   */
  constructor(message: string, options: PluginErrorOptions = {}) {
    super('PLUGWIRE_TIMEOUT', message, options);
  }
}

/** `PLUGWIRE_ABORTED`: the caller's AbortSignal fired. */
export class AbortedError extends PluginError {
  /** The class name, `'AbortedError'`. */
  override name = 'AbortedError';
  /**
   * @param message - which call was aborted
   * @param options - the cause (the signal's reason) and the route of the call
   */
  constructor(message: string, options: PluginErrorOptions = {}) {
    super('PLUGWIRE_ABORTED', message, options);
  }
}

/** Why a start failed. */
export type StartFailure = 'exited' | 'failed-line' | 'timeout' | 'spawn' | 'socket' | 'aborted';

/** `PLUGWIRE_START`: the plugin never became ready. */
export class StartError extends PluginError {
  /** The class name, `'StartError'`. */
  override name = 'StartError';
  /** What went wrong. */
  readonly reason: StartFailure;
  /** The exit code, when the plugin exited before it was ready. */
  readonly exitCode?: number | null;
  /** The signal, when the plugin was killed before it was ready. */
  readonly signal?: NodeJS.Signals | null;
  /**
   * The end of what the plugin wrote to standard error before the start failed (at most
   * the last 20 lines and 4096 characters), for a plugin that ran as a process; `''` when
   * it wrote nothing. The message shows it too.
   */
  readonly stderr?: string;

  /**
   * @param message - why the start failed, with the end of the plugin's standard error
   * @param reason - what went wrong
   * @param options - the cause, and the exit code, signal and standard error of a process
   */
  constructor(
    message: string,
    reason: StartFailure,
    options: PluginErrorOptions & { exitCode?: number | null; signal?: NodeJS.Signals | null; stderr?: string } = {},
  ) {
    super('PLUGWIRE_START', message, options);
    this.reason = reason;
    if (options.exitCode !== undefined) this.exitCode = options.exitCode;
    if (options.signal !== undefined) this.signal = options.signal;
    if (options.stderr !== undefined) this.stderr = options.stderr;
  }
}

/** `PLUGWIRE_UNAVAILABLE`: the plugin is gone and could not be restarted, or the call could not be safely retried. */
export class UnavailableError extends PluginError {
  /** The class name, `'UnavailableError'`. */
  override name = 'UnavailableError';
  /**
   * @param message - why the plugin cannot be reached
   * @param options - the cause and the route of the call
   */
  constructor(message: string, options: PluginErrorOptions = {}) {
    super('PLUGWIRE_UNAVAILABLE', message, options);
  }
}

/** `PLUGWIRE_CLOSED`: a call after `close()` or on a closed proxy. */
export class ClosedError extends PluginError {
  /** The class name, `'ClosedError'`. */
  override name = 'ClosedError';
  /**
   * @param message - what was closed
   * @param options - the cause and the route of the call
   */
  constructor(message: string, options: PluginErrorOptions = {}) {
    super('PLUGWIRE_CLOSED', message, options);
  }
}

/** `PLUGWIRE_PROTOCOL`: a malformed request or answer. */
export class ProtocolError extends PluginError {
  /** The class name, `'ProtocolError'`. */
  override name = 'ProtocolError';
  /** The HTTP status of the answer involved, where there was one (`status` is always 400). */
  readonly statusCode?: number;
  /**
   * @param message - what broke the protocol
   * @param options - the cause, the route of the call, and the status of the answer
   */
  constructor(message: string, options: PluginErrorOptions & { statusCode?: number } = {}) {
    super('PLUGWIRE_PROTOCOL', message, options);
    if (options.statusCode !== undefined) this.statusCode = options.statusCode;
  }
}

/** `PLUGWIRE_DEFINITION`: a contract, route or implementation is defined wrongly. */
export class DefinitionError extends PluginError {
  /** The class name, `'DefinitionError'`. */
  override name = 'DefinitionError';
  /**
   * @param message - what is defined wrongly, and where
   * @param options - the cause
   */
  constructor(message: string, options: PluginErrorOptions = {}) {
    super('PLUGWIRE_DEFINITION', message, options);
  }
}

/** `PLUGWIRE_CONTRACT`: the plugin does not serve routes of the host's contract. */
export class ContractError extends PluginError {
  /** The class name, `'ContractError'`. */
  override name = 'ContractError';
  /** The routes the contract needs and the plugin's manifest lacks. */
  readonly missing: readonly string[];
  /**
   * @param message - which plugin lacks which routes
   * @param missing - the routes it lacks
   * @param options - the cause
   */
  constructor(message: string, missing: readonly string[], options: PluginErrorOptions = {}) {
    super('PLUGWIRE_CONTRACT', message, options);
    this.missing = [...missing];
  }
}

/** `PLUGWIRE_STUB`: a contract's placeholder body ran. */
export class StubError extends PluginError {
  /** The class name, `'StubError'`. */
  override name = 'StubError';
  /** @param message - what ran the stub; by default, the message for a stub run in the host */
  constructor(message = 'a contract method stub was called locally: call it through createProxy()/connect(), or override it in the plugin implementation') {
    super('PLUGWIRE_STUB', message);
  }
}

/**
 * `PLUGWIRE_OVERLOADED`: the call was refused at once, because the host has as many calls
 * to the plugin in flight and waiting as it allows (the client's `maxInFlight` and
 * `maxQueued`), or because the plugin serves as many calls as it takes (the serve option
 * `maxInFlight`). It did not run: sending it again later is safe, whatever the method.
 */
export class OverloadedError extends PluginError {
  /** The class name, `'OverloadedError'`. */
  override name = 'OverloadedError';
  /**
   * @param message - which limit was reached
   * @param options - the cause and the route of the call
   */
  constructor(message: string, options: PluginErrorOptions = {}) {
    super('PLUGWIRE_OVERLOADED', message, options);
  }
}

brandErrorClass(RemoteError, 'PLUGWIRE_REMOTE');
brandErrorClass(ValidationError, 'PLUGWIRE_VALIDATION');
brandErrorClass(MethodNotFoundError, 'PLUGWIRE_METHOD_NOT_FOUND');
brandErrorClass(TimeoutError, 'PLUGWIRE_TIMEOUT');
brandErrorClass(AbortedError, 'PLUGWIRE_ABORTED');
brandErrorClass(StartError, 'PLUGWIRE_START');
brandErrorClass(UnavailableError, 'PLUGWIRE_UNAVAILABLE');
brandErrorClass(ClosedError, 'PLUGWIRE_CLOSED');
brandErrorClass(ProtocolError, 'PLUGWIRE_PROTOCOL');
brandErrorClass(DefinitionError, 'PLUGWIRE_DEFINITION');
brandErrorClass(ContractError, 'PLUGWIRE_CONTRACT');
brandErrorClass(StubError, 'PLUGWIRE_STUB');
brandErrorClass(OverloadedError, 'PLUGWIRE_OVERLOADED');

/** @deprecated use {@link TimeoutError}; removed in 0.3 */
export const CallTimeoutError = TimeoutError;
/** @deprecated use {@link TimeoutError}; removed in 0.3 */
export type CallTimeoutError = TimeoutError;
/** @deprecated use {@link AbortedError}; removed in 0.3 */
export const CallAbortedError = AbortedError;
/** @deprecated use {@link AbortedError}; removed in 0.3 */
export type CallAbortedError = AbortedError;
/** @deprecated use {@link ValidationError}; removed in 0.3 */
export const PayloadValidationError = ValidationError;
/** @deprecated use {@link ValidationError}; removed in 0.3 */
export type PayloadValidationError = ValidationError;
/** @deprecated use {@link StubError}; removed in 0.3 */
export const StubCalledError = StubError;
/** @deprecated use {@link StubError}; removed in 0.3 */
export type StubCalledError = StubError;
