import { ErrorStatus, type ErrorCode } from './error-codes';

const kPluginError = Symbol.for('plugwire:error');

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
 * The base class of every error plugwire throws.
 *
 * @remarks
 * Use {@link PluginError.is} (or compare `code`) rather than `instanceof`: it also
 * recognises errors created by another installed copy of plugwire.
 *
 * @example
 * ```ts
 * try { await plugin.modify('x'); }
 * catch (e) { if (PluginError.is(e, 'PLUGWIRE_TIMEOUT')) retryLater(); else throw e; }
 * ```
 */
export class PluginError extends Error {
  override name = 'PluginError';
  /** The stable code, one of {@link ErrorCodes}. */
  readonly code: ErrorCode;
  /** The route of the failed call, if any. */
  readonly route?: string;

  constructor(code: ErrorCode, message: string, options: PluginErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.route !== undefined) this.route = options.route;
    Object.defineProperty(this, kPluginError, { value: true });
  }

  /** The HTTP status a plugin answers with for this error. */
  get status(): number {
    return ErrorStatus[this.code];
  }

  /**
   * Tells whether `error` is a plugwire error, optionally with the given code.
   *
   * @param error - anything caught
   * @param code - the code to match, if any
   * @returns true for a plugwire error (with that code)
   */
  static is(error: unknown, code?: ErrorCode): error is PluginError {
    return (
      typeof error === 'object' &&
      error !== null &&
      (error as Record<symbol, unknown>)[kPluginError] === true &&
      (code === undefined || (error as PluginError).code === code)
    );
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
  /** Extra details the plugin attached, if any. */
  readonly details?: unknown;
}

/** `PLUGWIRE_REMOTE`: the plugin method threw or returned an error. */
export class RemoteError extends PluginError {
  override name = 'RemoteError';
  /** The plugin-side error: its name, message and code. */
  readonly remote: RemoteErrorInfo;
  /** The HTTP status the plugin answered with. */
  readonly statusCode: number;

  constructor(remote: RemoteErrorInfo, statusCode = 500, options: PluginErrorOptions = {}) {
    super('PLUGWIRE_REMOTE', remote.message, options);
    this.remote = remote;
    this.statusCode = statusCode;
  }
}

/** `PLUGWIRE_VALIDATION`: a payload or a result is invalid. */
export class PayloadValidationError extends PluginError {
  override name = 'PayloadValidationError';
  /** Which side found the problem: the host before sending, the plugin, or the host checking a result. */
  readonly side: 'host' | 'plugin' | 'result';
  /** Each failed field with its constraints. */
  readonly violations: readonly FieldViolation[];

  constructor(message: string, side: 'host' | 'plugin' | 'result', violations: readonly FieldViolation[] = [], options: PluginErrorOptions = {}) {
    super('PLUGWIRE_VALIDATION', message, options);
    this.side = side;
    this.violations = violations;
  }
}

/** `PLUGWIRE_METHOD_NOT_FOUND`: no method at that route. */
export class MethodNotFoundError extends PluginError {
  override name = 'MethodNotFoundError';
  constructor(message: string, options: PluginErrorOptions = {}) {
    super('PLUGWIRE_METHOD_NOT_FOUND', message, options);
  }
}

/** `PLUGWIRE_TIMEOUT`: the call's timeout or deadline passed. */
export class CallTimeoutError extends PluginError {
  override name = 'CallTimeoutError';
  constructor(message: string, options: PluginErrorOptions = {}) {
    super('PLUGWIRE_TIMEOUT', message, options);
  }
}

/** `PLUGWIRE_ABORTED`: the caller's AbortSignal fired. */
export class CallAbortedError extends PluginError {
  override name = 'CallAbortedError';
  constructor(message: string, options: PluginErrorOptions = {}) {
    super('PLUGWIRE_ABORTED', message, options);
  }
}

/** Why a start failed. */
export type StartFailure = 'exited' | 'failed-line' | 'timeout' | 'spawn' | 'socket' | 'aborted';

/** `PLUGWIRE_START`: the plugin never became ready. */
export class StartError extends PluginError {
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
  override name = 'UnavailableError';
  constructor(message: string, options: PluginErrorOptions = {}) {
    super('PLUGWIRE_UNAVAILABLE', message, options);
  }
}

/** `PLUGWIRE_CLOSED`: a call after `term()` or on a released proxy. */
export class ClosedError extends PluginError {
  override name = 'ClosedError';
  constructor(message: string, options: PluginErrorOptions = {}) {
    super('PLUGWIRE_CLOSED', message, options);
  }
}

/** `PLUGWIRE_PROTOCOL`: a malformed request or answer. */
export class ProtocolError extends PluginError {
  override name = 'ProtocolError';
  /** The HTTP status involved, where there was one. */
  readonly statusCode?: number;
  constructor(message: string, options: PluginErrorOptions & { statusCode?: number } = {}) {
    super('PLUGWIRE_PROTOCOL', message, options);
    if (options.statusCode !== undefined) this.statusCode = options.statusCode;
  }
}

/** `PLUGWIRE_DEFINITION`: a contract, route or implementation is defined wrongly. */
export class DefinitionError extends PluginError {
  override name = 'DefinitionError';
  constructor(message: string, options: PluginErrorOptions = {}) {
    super('PLUGWIRE_DEFINITION', message, options);
  }
}

/** `PLUGWIRE_CONTRACT`: the plugin does not serve routes of the host's contract. */
export class ContractError extends PluginError {
  override name = 'ContractError';
  /** The routes the contract needs and the plugin's manifest lacks. */
  readonly missing: readonly string[];
  constructor(message: string, missing: readonly string[], options: PluginErrorOptions = {}) {
    super('PLUGWIRE_CONTRACT', message, options);
    this.missing = [...missing];
  }
}

/** `PLUGWIRE_STUB`: a contract's placeholder body ran locally. */
export class StubCalledError extends PluginError {
  override name = 'StubCalledError';
  /** @param message - what ran the stub; by default, the message for a stub run in the host */
  constructor(message = 'a contract method stub was called locally: call it through createProxy()/connect(), or override it in the plugin implementation') {
    super('PLUGWIRE_STUB', message);
  }
}
