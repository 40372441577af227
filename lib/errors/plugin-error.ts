import { ErrorStatus, type ErrorCode } from './error-codes';

/**
 * The brand every plugwire error carries. `Symbol.for`, so that the errors of another
 * installed copy of plugwire (0.1 included, which brands with the same key) are recognised.
 */
const kPluginError = Symbol.for('plugwire:error');

/** The code each plugwire error class stands for; a class not in here is a user's subclass. */
const classCodes = new Map<abstract new (...args: never[]) => PluginError, ErrorCode>();

/** Whether a value carries the plugwire brand. Never throws, even for a Proxy whose traps throw. */
function isBranded(value: unknown): value is PluginError {
  try {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kPluginError] === true;
  } catch {
    return false;
  }
}

/** The code of a branded value, or `undefined` where reading it throws. */
function codeOf(value: PluginError): unknown {
  try {
    return value.code;
  } catch {
    return undefined;
  }
}

/**
 * One field that failed validation, flattened from class-validator's `ValidationError`.
 */
export interface FieldViolation {
  /** Dotted path of the field inside the value, e.g. `address.zip`, or `[1]` for a parameter. */
  readonly path: string;
  /** The rejected value, where it is small enough to show. */
  readonly value?: unknown;
  /** Constraint name to message, e.g. `{ isEmail: 'email must be an email' }`. */
  readonly constraints: Readonly<Record<string, string>>;
}

/** Options common to every plugwire error. */
export interface PluginErrorOptions {
  /** The error that caused this one. */
  readonly cause?: unknown;
  /** The route of the call that failed, where there was one. */
  readonly route?: string;
}

/**
 * The base class of every error plugwire throws. Each subclass stands for one code of
 * {@link ErrorCodes} and is named after it (`PLUGWIRE_TIMEOUT`: {@link TimeoutError}); its
 * `name` is its class name.
 *
 * @remarks
 * `instanceof` works by brand, as undici's errors do: an error of another installed copy of
 * plugwire is an instance of this copy's classes, and an error with code `C` is an instance
 * of the class of `C` (a `PluginError` that a plugin sent with code `PLUGWIRE_START` is a
 * {@link StartError}, without its `reason`). A class you derive from one of these is matched
 * by its prototype, as usual. {@link PluginError.is} does the same check with a code.
 *
 * @example
 * ```ts
 * try { await plugin.modify('x'); }
 * catch (e) { if (PluginError.is(e, 'PLUGWIRE_TIMEOUT')) retryLater(); else throw e; }
 * ```
 */
export class PluginError extends Error {
  /** The class name, `'PluginError'`. */
  override name = 'PluginError';
  /** The stable code, one of {@link ErrorCodes}. */
  readonly code: ErrorCode;
  /** The route of the failed call, if any. */
  readonly route?: string;

  /**
   * @param code - one of {@link ErrorCodes}
   * @param message - what went wrong
   * @param options - the cause and the route of the call, if any
   */
  constructor(code: ErrorCode, message: string, options: PluginErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.route !== undefined) this.route = options.route;
    Object.defineProperty(this, kPluginError, { value: true });
  }

  /**
   * The HTTP status a plugin answers with for this error: `ErrorStatus[code]` (for a
   * {@link RemoteError}, the status the plugin did answer with).
   *
   * @returns an HTTP status, e.g. 504 for `PLUGWIRE_TIMEOUT`
   */
  get status(): number {
    return ErrorStatus[this.code];
  }

  /**
   * Tells whether `error` is a plugwire error, optionally with the given code.
   *
   * @param error - anything caught
   * @param code - the code to match, if any
   * @returns true for a plugwire error (with that code), from this copy of plugwire or another
   */
  static is(error: unknown, code?: ErrorCode): error is PluginError {
    return isBranded(error) && (code === undefined || codeOf(error) === code);
  }

  /**
   * `value instanceof PluginError` (or a subclass): by the plugwire brand and the class's
   * code, so that errors of another copy of plugwire match; a user's subclass matches by
   * its prototype.
   *
   * @param value - the left side of `instanceof`
   * @returns whether `value` is an error of this class
   */
  static override [Symbol.hasInstance](this: abstract new (...args: never[]) => PluginError, value: unknown): boolean {
    if (this === PluginError) return isBranded(value);
    const code = classCodes.get(this);
    if (code === undefined) return Function.prototype[Symbol.hasInstance].call(this, value);
    return isBranded(value) && codeOf(value) === code;
  }
}

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

classCodes.set(RemoteError, 'PLUGWIRE_REMOTE');
classCodes.set(ValidationError, 'PLUGWIRE_VALIDATION');
classCodes.set(MethodNotFoundError, 'PLUGWIRE_METHOD_NOT_FOUND');
classCodes.set(TimeoutError, 'PLUGWIRE_TIMEOUT');
classCodes.set(AbortedError, 'PLUGWIRE_ABORTED');
classCodes.set(StartError, 'PLUGWIRE_START');
classCodes.set(UnavailableError, 'PLUGWIRE_UNAVAILABLE');
classCodes.set(ClosedError, 'PLUGWIRE_CLOSED');
classCodes.set(ProtocolError, 'PLUGWIRE_PROTOCOL');
classCodes.set(DefinitionError, 'PLUGWIRE_DEFINITION');
classCodes.set(ContractError, 'PLUGWIRE_CONTRACT');
classCodes.set(StubError, 'PLUGWIRE_STUB');

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
