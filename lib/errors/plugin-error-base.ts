import { ErrorStatus, type ErrorCode } from './error-codes';

/**
 * The brand every plugwire error carries. `Symbol.for`, so that the errors of another
 * installed copy of plugwire (0.1 included, which brands with the same key) are recognised.
 */
const kPluginError = Symbol.for('plugwire:error');

/** The code each plugwire error class stands for; a class not in here is a user's subclass. */
const classCodes = new Map<abstract new (...args: never[]) => PluginError, ErrorCode>();

/**
 * Makes `instanceof ErrorClass` hold for every plugwire error with that code, from this
 * copy of plugwire or another.
 *
 * @param errorClass - a plugwire error class
 * @param code - the one code it stands for
 * @internal
 */
export function brandErrorClass(errorClass: abstract new (...args: never[]) => PluginError, code: ErrorCode): void {
  classCodes.set(errorClass, code);
}

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
