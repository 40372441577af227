import { DefinitionError } from '../errors/plugin-error';
import { MAX_TIMEOUT } from '../protocol/constants';
import { checkedNumber, countRule, msRule, type NumberRule } from '../util/checked-number';

/** Options of {@link serve}. Every field is optional; one left out or `undefined` takes its default. */
export interface ServeOptions {
  /** The socket path. Default: the `PLUGIN_SOCKET` environment variable that the host set. */
  readonly socket?: string | undefined;
  /**
   * The access token callers must send as `Authorization: Bearer <token>`; others get 401.
   * Default: the `PLUGWIRE_TOKEN` environment variable a plugwire host sets (removed from
   * the environment once read, so the plugin's children do not inherit it); none when
   * unset (and no `tokenFile`), as under a Go host.
   */
  readonly token?: string | undefined;
  /**
   * A file that holds the access token (a mounted Kubernetes Secret), for a plugin that no
   * plugwire host starts: a sidecar container. Used when neither `token` nor
   * `PLUGWIRE_TOKEN` gives one (a plugwire host that spawns the plugin sends its own
   * token). Default: the `PLUGWIRE_TOKEN_FILE` environment variable (removed from the
   * environment once read, as `PLUGWIRE_TOKEN` is, unless `token` is given: a host that
   * serves a plugin in its own process keeps its own). The whitespace around the token is
   * not part of it. The file is read once, when serve() starts: a rotated Secret takes
   * effect when the plugin restarts (a container runtime restarts it). A file that cannot be
   * read, is empty, or holds characters a header cannot carry fails serve() with a
   * {@link DefinitionError}. Giving both `token` and `tokenFile` is one too.
   */
  readonly tokenFile?: string | undefined;
  /**
   * The host services this plugin may call through {@link hostProxy}: the socket its host
   * serves them on and the token to send. Default: the `PLUGWIRE_HOST_SOCKET` and
   * `PLUGWIRE_HOST_TOKEN` environment variables a plugwire host sets when it offers
   * services (removed from the environment once read); none when unset.
   * {@link serveInProcess} passes the ones of its host.
   */
  readonly host?:
    | {
        /** The socket path the host serves its services on. */
        readonly socket: string;
        /** The token to send to them, as `Authorization: Bearer <token>`. */
        readonly token?: string | undefined;
      }
    | undefined;
  /** Print `plugin is ready` (or `failed to listen on socket`) on standard output. Default `true`. */
  readonly announce?: boolean | undefined;
  /**
   * Run as the plugin process: on SIGTERM or SIGINT, or when the plugwire host that
   * started it dies, close gracefully, run `onClose` and exit with status 0. Default `true`.
   */
  readonly standalone?: boolean | undefined;
  /**
   * Called when the server closed on SIGTERM or SIGINT, or because the host is gone, before
   * the process exits (close databases here). Only with `standalone`: a server closed by its
   * own close() does not call it. A rejection is reported to `logger`; the process exits
   * with status 0 either way.
   */
  readonly onClose?: (() => void | Promise<void>) | undefined;
  /**
   * @deprecated use `onClose`; removed in 0.3. The same hook under its old name; giving
   * both is a {@link DefinitionError}.
   */
  readonly onShutdown?: (() => void | Promise<void>) | undefined;
  /** How long in-flight calls may run on after close() before their connections are cut, ms. Default 5000. */
  readonly grace?: number | undefined;
  /** Largest request body accepted, bytes; larger ones get 413. Default 16 MiB. */
  readonly maxBodySize?: number | undefined;
  /**
   * Largest answer, bytes, into which a stream method's items are collected for a caller
   * that does not read streams (a version 1 host such as a Go host, or curl): it gets the
   * whole stream as one JSON array. Past it, the iterator is returned and the caller gets
   * a `PLUGWIRE_PROTOCOL` error answer with status 500 (a Go host sees its message). A
   * plugwire host reads a stream as it comes and is not bound by it. Default 16 MiB.
   */
  readonly maxCollectedSize?: number | undefined;
  /** Time a client has to send the request headers, ms. Default 5000. */
  readonly headersTimeout?: number | undefined;
  /** Time a client has to send the whole request, ms. Default 30000. */
  readonly requestTimeout?: number | undefined;
  /** Open connections at most; further ones are refused. Default 1024. */
  readonly maxConnections?: number | undefined;
  /**
   * Calls served at once at most (streams included). A call past it is refused at once,
   * without running, with 503 and `PLUGWIRE_OVERLOADED` (a Go host sees status 503 and
   * the message): the plugin sheds load rather than queue it without bound. Default 1000.
   */
  readonly maxInFlight?: number | undefined;
  /**
   * Idle keep-alive connections are closed after this, ms; `0` never closes them. Default 0:
   * the host closes idle connections. A Go host never does, and a connection that the
   * plugin closes just as the host reuses it makes a Go host restart the plugin.
   */
  readonly keepAliveTimeout?: number | undefined;
  /**
   * Where the server reports problems: a method's unexpected error (see `logErrors`), a
   * failure of the server's own, an `onClose` that failed. Default `console`.
   */
  readonly logger?:
    | {
        /**
         * Writes one report, a line that starts with `plugwire:`.
         *
         * @param message - the report
         */
        error(message: string): void;
      }
    | undefined;
  /**
   * Whether a method that throws an unexpected error has its stack written to `logger`
   * (standard error by default), so the host's forwarded output shows where it failed.
   * Unexpected: anything but an error with a `code` of your own (a Node.js system error
   * such as `ENOENT`, or an `ERR_*` code, counts as unexpected). The caller gets the
   * error either way. Default `true`.
   */
  readonly logErrors?: boolean | undefined;
  /**
   * What serve() does about a contract method that the served class does not override
   * (it would run the contract's `stub()`): `warn` emits a process warning
   * (`PLUGWIRE_NOT_IMPLEMENTED`, once per class) naming `Class.method` and the route,
   * `error` throws a {@link DefinitionError}, `ignore` says nothing (a plugin that
   * implements part of a contract on purpose). In every case the manifest marks the
   * method `implemented: false`, and a call to it fails with an error that names it.
   * Default `warn`.
   */
  readonly unimplemented?: 'warn' | 'error' | 'ignore' | undefined;
  /** The plugin's name in its manifest. Default: the `@Plugin()` names of the implementations. */
  readonly name?: string | undefined;
  /** The plugin's version in its manifest (e.g. your package.json's). Default: none (`null`). */
  readonly version?: string | undefined;
}

/** A running plugin server, as returned by {@link serve}. */
export interface PluginServer {
  /** The socket path it listens on. */
  readonly socket: string;
  /** The routes it serves. */
  readonly routes: readonly string[];
  /** Calls being served right now. */
  readonly inflight: number;
  /** Resolves once the server has closed. */
  readonly closed: Promise<void>;
  /**
   * Stops accepting, lets in-flight calls finish within the grace period, cuts what is
   * left, and removes the socket file. Safe to call more than once.
   *
   * @returns the same promise as {@link PluginServer.closed}, on every call
   */
  close(): Promise<void>;
}

/** The defaults of the options that have one. */
const DEFAULTS = {
  grace: 5000,
  maxBodySize: 16 * 1024 * 1024,
  maxCollectedSize: 16 * 1024 * 1024,
  headersTimeout: 5000,
  requestTimeout: 30000,
  maxConnections: 1024,
  maxInFlight: 1000,
  keepAliveTimeout: 0,
};

/** The options with their defaults filled in. @internal */
export type ResolvedOptions = typeof DEFAULTS & ServeOptions;

const bytes: NumberRule = { ...countRule(1, Number.MAX_SAFE_INTEGER), what: 'a whole number of bytes' };

/** The numeric options' ranges. A headers timeout of 0 would turn Node's check of slow headers off. */
const RULES: Readonly<Record<keyof typeof DEFAULTS, NumberRule>> = {
  grace: msRule(0, MAX_TIMEOUT),
  maxBodySize: bytes,
  maxCollectedSize: bytes,
  headersTimeout: msRule(1, MAX_TIMEOUT),
  requestTimeout: msRule(0, MAX_TIMEOUT),
  maxConnections: countRule(1, MAX_TIMEOUT),
  maxInFlight: countRule(1, MAX_TIMEOUT),
  keepAliveTimeout: msRule(0, MAX_TIMEOUT),
};

const definitionError = (message: string): Error => new DefinitionError(message);

/**
 * The options with their defaults filled in; an option left out or `undefined` takes its
 * default, and a string of digits counts as its number.
 *
 * @throws {@link DefinitionError} naming a numeric option out of its range, and what it got
 * @internal
 */
export function withDefaults(options: ServeOptions): ResolvedOptions {
  const resolved: Record<string, unknown> = { ...DEFAULTS };
  for (const [key, value] of Object.entries(options)) if (value !== undefined) resolved[key] = value;
  for (const [key, rule] of Object.entries(RULES)) resolved[key] = checkedNumber('serve()', key, resolved[key], rule, definitionError);
  const checked = resolved as unknown as ResolvedOptions;
  // Node refuses it too, with a message that names neither option as serve() knows them.
  if (checked.requestTimeout > 0 && checked.headersTimeout > checked.requestTimeout) {
    throw new DefinitionError(`serve(): headersTimeout (${checked.headersTimeout} ms) must not be longer than requestTimeout (${checked.requestTimeout} ms), which bounds the whole request`);
  }
  return checked;
}

/**
 * The hook to run after a standalone server closed: `onClose`, or `onShutdown` (its
 * deprecated name).
 *
 * @throws {@link DefinitionError} when both are given: one of them would be ignored
 * @internal
 */
export function closeHook(options: ServeOptions): (() => void | Promise<void>) | undefined {
  const { onClose, onShutdown } = options;
  if (onClose !== undefined && onShutdown !== undefined) {
    throw new DefinitionError('serve(): pass onClose or onShutdown (its deprecated name), not both');
  }
  return onClose ?? onShutdown;
}
