import type { PluginLogger } from '../diagnostics/logger';
import { MAX_TIMEOUT } from '../protocol/constants';
import { checkedNumber, countRule, msRule, shown, type NumberRule } from '../util/checked-number';

export type { PluginLogger } from '../diagnostics/logger';

/** How a client restarts a plugin that is gone. */
export interface RestartPolicy {
  /**
   * Restarts in a row, without a successful call in between, before the plugin is given
   * up on with `PLUGWIRE_UNAVAILABLE`. Default 5; `0` turns restarts off.
   */
  readonly maxRestarts: number;
  /** Wait before the second restart in a row, ms; it doubles with each further one. Default 100. */
  readonly initialDelay: number;
  /** Longest wait between restarts, ms. Default 2000. */
  readonly maxDelay: number;
  /**
   * Once given up on, calls fail at once with `PLUGWIRE_UNAVAILABLE` for this long, ms;
   * the first call after it tries one more start. Default 10000.
   */
  readonly cooldown: number;
}

/** The configuration of a plugin client. Every duration is in milliseconds. */
export interface PluginConfig {
  /** Whole-call timeout, from the call to its answer, restarts included; `0` for none. Default 30000 (as Go). */
  readonly timeout: number;
  /** Time to open a connection to the socket. Default 5000 (as Go). */
  readonly connectTimeout: number;
  /**
   * How long an idle connection is kept for reuse (undici's and the server's
   * `keepAliveTimeout`); at least 1. Default 30000 (as Go).
   */
  readonly keepAliveTimeout: number;
  /**
   * @deprecated use {@link PluginConfig.keepAliveTimeout}; removed in 0.3. Given to
   * `connect()` or `startPlugin()`, it is taken as `keepAliveTimeout`; on a configuration
   * they made (`client.config`, `defaultConfig()`) it reads the same value, and is not
   * enumerable, so a copy carries only `keepAliveTimeout`.
   */
  readonly keepAlive?: number;
  /** Time a plugin has to print `plugin is ready`. Default 10000 (as Go). */
  readonly startTimeout: number;
  /** Time between SIGTERM and SIGKILL when terminating a plugin. Default 5000. */
  readonly terminationGrace: number;
  /** Connections to the plugin at most; more concurrent calls queue. Default 32. */
  readonly connections: number;
  /** Largest answer body accepted, bytes; a larger one is `PLUGWIRE_PROTOCOL`. Default 16 MiB. */
  readonly maxResponseSize: number;
  /** Restart back-off and give-up; see {@link RestartPolicy}. */
  readonly restart: RestartPolicy;
  /**
   * Where the client reports trouble, through `logger.error()`: a plugin that is gone, a
   * restart that failed, a plugin given up on, one that stopped answering (liveness) or
   * passed `limits.memoryMiB`, and missing routes under
   * `contractCheck: 'warn'`. The client never calls `logger.log()` (a command starter's
   * own `logger` option takes the plugin's output). Default: none; missing routes then
   * go to `console.warn`.
   */
  readonly logger?: PluginLogger;
  /**
   * What `connect()` does when the plugin's manifest lacks routes of the contract:
   * `strict` fails the start with `PLUGWIRE_CONTRACT`, `warn` reports it (to `logger`, else
   * `console.warn`) and goes on, `off` does not ask for the manifest. A plugin without a
   * manifest (a Go plugin) is accepted as version 1 either way. Default `strict`.
   */
  readonly contractCheck: ContractCheck;
  /**
   * How the client notices a plugin that is alive but stopped answering (a busy loop, a
   * deadlock, SIGSTOP) and replaces it, by probing the health route that the plugin's
   * server answers without running user code: see {@link LivenessPolicy}. `false` turns it
   * off: such a plugin then only makes calls time out. A version 1 plugin (no health
   * route) is not probed past its first 404. Default on, `{ interval: 1000, timeout: 500,
   * failures: 3 }`: a plugin wedged in a busy loop is replaced within about 3.5 s. The
   * probe cannot tell a wedge from a method that blocks its event loop on purpose: one
   * that computes synchronously for longer than about `interval + failures × timeout`
   * (2.5 s by default) is replaced too. Run such work in a worker thread, or widen the
   * policy.
   */
  readonly liveness: LivenessPolicy | false;
  /**
   * Calls of this client sent to the plugin at once (on its `connections`, or waiting in
   * the connection pool for one); a call past it waits in a queue of `maxQueued`. Streams
   * and calls back from a host service are not counted. Default 1000.
   */
  readonly maxInFlight: number;
  /**
   * Calls that wait for one of `maxInFlight` at most; one more is refused at once with
   * `PLUGWIRE_OVERLOADED`, so that a host that sends more than its plugin can take keeps
   * its memory bounded. A queued call's timeout runs while it waits. Default 10000.
   */
  readonly maxQueued: number;
  /** Resources the plugin may use before it is recycled: see {@link PluginLimits}. Default none. */
  readonly limits: PluginLimits;
  /**
   * Processes of the plugin to run, each on its own socket, behind one client (a pool):
   * each call goes to the least busy instance that runs, a stream stays on the instance
   * it started on, and each instance restarts, is probed and is recycled on its own. Every
   * other setting here holds per instance (`maxInFlight`, `connections`, `limits`...).
   * 1 to 64; default 1. A starter that attaches to a running plugin takes only 1.
   */
  readonly instances: number;
}

/**
 * The liveness policy: how often a silent plugin is probed, how long a probe waits, how
 * many probes in a row may go unanswered. A probe that was due while the host itself was
 * frozen (its timers ran late) does not count.
 */
export interface LivenessPolicy {
  /** How long the plugin may stay silent (no call or probe answered) before it is probed, ms. Default 1000. */
  readonly interval: number;
  /** How long a probe waits for its answer, ms; also the grace between SIGTERM and SIGKILL on replacement. Default 500. */
  readonly timeout: number;
  /** Probes in a row without an answer after which the plugin is replaced. Default 3. */
  readonly failures: number;
}

/**
 * What a plugin may use before the client recycles it: a new process is started for new
 * calls once the calls in flight are done, as `client.recycle()` does.
 */
export interface PluginLimits {
  /**
   * Resident memory of the plugin process, MiB, checked once a second (on Linux, from
   * /proc; elsewhere it is not watched). A Node plugin started by a command also gets this
   * as its heap limit (`--max-old-space-size` in `NODE_OPTIONS`), so that it fails fast
   * rather than swap. Default none.
   */
  readonly memoryMiB?: number | undefined;
}

/** How `connect()` checks the plugin's manifest against the contract: see {@link PluginConfig.contractCheck}. */
export type ContractCheck = 'strict' | 'warn' | 'off';

/**
 * `T` with every field optional and open to `undefined`, as an input takes it: a field
 * left out or `undefined` keeps its default, also under a user's
 * `exactOptionalPropertyTypes`.
 */
type Optional<T> = { [K in keyof T]?: T[K] | undefined };

/**
 * A partial configuration, as `connect()` and `startPlugin()` take it: whatever is left
 * out (or `undefined`) takes its default, and a string of digits counts as its number.
 */
export type PluginConfigInput = Optional<Omit<PluginConfig, 'restart' | 'liveness' | 'limits'>> & {
  /** Overrides of the restart policy; the fields left out keep their defaults. */
  readonly restart?: Optional<RestartPolicy> | undefined;
  /** The liveness policy (the fields left out take their defaults; `{}` all of them), or `false` for none. */
  readonly liveness?: Optional<LivenessPolicy> | false | undefined;
  /** Resources the plugin may use before it is recycled: see {@link PluginLimits}. Default none. */
  readonly limits?: Optional<PluginLimits> | undefined;
};

/** The liveness policy's fields when it is on: a wedged plugin replaced within about 3.5 s (docs/reliability.md). */
const LIVENESS_DEFAULTS = { interval: 1_000, timeout: 500, failures: 3 };

/**
 * The default configuration, as a fresh object.
 *
 * @returns timeout 30 s, connectTimeout 5 s, keepAliveTimeout 30 s, startTimeout 10 s,
 * terminationGrace 5 s, 32 connections, 16 MiB answers, and restarts with back-off
 * (5 in a row, 100 ms doubling to 2 s, then 10 s of `PLUGWIRE_UNAVAILABLE`), the
 * liveness check (probes after 1 s of silence, 500 ms each, 3 failures), 1000 calls in
 * flight and 10000 queued, no limits, one instance
 *
 * @example
 * ```ts
 * const { plugin } = await connect(Modifier, starter, { ...defaultConfig(), timeout: 2000 });
 * ```
 */
export function defaultConfig(): PluginConfig {
  return withKeepAliveAlias({
    timeout: 30_000,
    connectTimeout: 5_000,
    keepAliveTimeout: 30_000,
    startTimeout: 10_000,
    terminationGrace: 5_000,
    connections: 32,
    maxResponseSize: 16 * 1024 * 1024,
    restart: { maxRestarts: 5, initialDelay: 100, maxDelay: 2_000, cooldown: 10_000 },
    contractCheck: 'strict',
    liveness: { ...LIVENESS_DEFAULTS },
    maxInFlight: 1000,
    maxQueued: 10_000,
    limits: {},
    instances: 1,
  });
}

/** Lets `config.keepAlive` read `keepAliveTimeout`, as before the rename, without copying it along. */
function withKeepAliveAlias<T extends { keepAliveTimeout: number }>(config: T): T {
  return Object.defineProperty(config, 'keepAlive', { value: config.keepAliveTimeout, enumerable: false });
}

const ms = (min: number): NumberRule => msRule(min, MAX_TIMEOUT);
const count = (min: number, max: number = MAX_TIMEOUT): NumberRule => countRule(min, max);

// undici refuses a keep-alive of 0 when it opens a connection, so every call would fail
// later: refused here. A start timeout of 0 would fail every start at once.
const KEEP_ALIVE = ms(1);
const RULES = {
  timeout: ms(0),
  connectTimeout: ms(0),
  keepAliveTimeout: KEEP_ALIVE,
  startTimeout: ms(1),
  terminationGrace: ms(0),
  connections: count(1),
  maxInFlight: count(1),
  maxQueued: count(0),
  instances: count(1, 64),
  maxResponseSize: { ...count(1, Number.MAX_SAFE_INTEGER), what: 'a whole number of bytes' },
} satisfies Record<string, NumberRule>;

// Typed by the interfaces' keys: a field added to one does not compile until it is checked here.
const RESTART_RULES: Readonly<Record<keyof RestartPolicy, NumberRule>> = {
  maxRestarts: count(0),
  initialDelay: ms(0),
  maxDelay: ms(0),
  cooldown: ms(0),
};

const LIVENESS_RULES: Readonly<Record<keyof LivenessPolicy, NumberRule>> = {
  interval: ms(1),
  timeout: ms(1),
  failures: count(1),
};

const LIMIT_RULES: Readonly<Record<keyof PluginLimits, NumberRule>> = {
  memoryMiB: { ...count(16, 1024 * 1024), what: 'a whole number of MiB' },
};

/** The fields that are not numbers, checked one by one in resolveConfig(). */
const OTHER_FIELDS: Readonly<Record<Exclude<keyof PluginConfig, keyof typeof RULES>, true>> = {
  restart: true,
  logger: true,
  contractCheck: true,
  liveness: true,
  limits: true,
  keepAlive: true,
};

/** The fields a configuration may hold at its top. */
const TOP_FIELDS = [...Object.keys(RULES), ...Object.keys(OTHER_FIELDS)];

/**
 * What a slip of a name at the top may be meant for, and the options listed when it is
 * none: the fields but the deprecated keepAlive, and the options that `connect()` and
 * `startPlugin()` take beside them.
 */
const TOP_OPTIONS = [...TOP_FIELDS.filter((key) => key !== 'keepAlive'), 'services', 'socket'];

/** The edit distance of two names: letters inserted, removed or changed. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const next = [i];
    for (let j = 1; j <= b.length; j += 1) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/** The name that `key` is a slip of (case aside, a letter or three, by the name's length), if one is. */
function nearest(key: string, names: readonly string[]): string | undefined {
  let best: { name: string; by: number } | undefined;
  for (const name of names) {
    const by = distance(key.toLowerCase(), name.toLowerCase());
    if (by <= Math.min(3, Math.max(1, Math.floor(name.length / 3))) && (best === undefined || by < best.by)) best = { name, by };
  }
  return best?.name;
}

/**
 * Refuses a name in `given` that is not one of `fields`: a misspelt field would otherwise
 * leave its default in place without a word (`timout: 5000`, and calls time out after 30 s).
 * The message suggests the option it is a slip of, else lists `options`.
 */
function refuseUnknown(given: Record<string, unknown>, fields: readonly string[], prefix = '', options: readonly string[] = fields): void {
  for (const key of Object.keys(given)) {
    if (fields.includes(key)) continue;
    // A slip of the deprecated keepAlive is one of keepAliveTimeout, its name now.
    const near = nearest(key, prefix === '' ? [...options, 'keepAlive'] : options)?.replace(/^keepAlive$/, 'keepAliveTimeout');
    const hint = near === undefined || near === key ? `; the options are ${options.map((name) => prefix + name).join(', ')}` : ` (did you mean '${prefix}${near}'?)`;
    throw new TypeError(`plugwire config: unknown option '${prefix}${key}'${hint}`);
  }
}

const CONTRACT_CHECKS: readonly ContractCheck[] = ['strict', 'warn', 'off'];

/** A plain object, or `undefined` (as `{}`); anything else is a mistake. */
function record(name: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`plugwire config: ${name} must be an object, got ${shown(value)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * The options given to `connect()` or `startPlugin()`, before their own options are taken
 * out of them: configuration loaded at run time (JSON) may be anything.
 * @param input - the options given
 * @returns them, `{}` for `undefined`
 * @throws TypeError when they are not an object (null, a string, an array)
 * @internal
 */
export function configObject(input: unknown): Record<string, unknown> {
  return record('the configuration', input);
}

/**
 * Checks the socket path given to `connect()` or `startPlugin()`.
 * @param socket - the path, or `undefined` for a private directory
 * @throws TypeError when it is given and is not a non-empty string
 * @internal
 */
export function checkSocket(socket: unknown): void {
  if (socket !== undefined && (typeof socket !== 'string' || socket === '')) {
    throw new TypeError(`plugwire config: socket must be a path (a non-empty string), got ${shown(socket)}`);
  }
}

/** A configured number: see checkedNumber(). */
function numberOf(name: string, value: unknown, rule: NumberRule): number {
  return checkedNumber('plugwire config', name, value, rule);
}

/** The fields of `input` that are set: an explicit `undefined` leaves the default in place. */
function defined(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) if (value !== undefined) out[key] = value;
  return out;
}

/**
 * Merges a partial configuration onto the defaults and checks every field: numbers in
 * range (whole where they count something; a string of digits counts as its number),
 * `contractCheck` one of its words, `logger` an object with `log` and `error`, `liveness`
 * `false` or an object, and no name that is not a field, at the top or in `restart`,
 * `liveness` and `limits`.
 * Fields that are `undefined` take their default. The deprecated `keepAlive` is taken as
 * `keepAliveTimeout`.
 *
 * @param input - the configuration given, partial
 * @returns the whole configuration
 * @throws TypeError naming the field, what it must be, and the value and type it got;
 * naming an unknown option and the field it is close to (`unknown option 'timout' (did
 * you mean 'timeout'?)`); also when `keepAlive` and `keepAliveTimeout` are both given and differ
 * @internal
 */
export function resolveConfig(input: PluginConfigInput = {}): PluginConfig {
  const base = defaultConfig();
  const raw = record('the configuration', input);
  if ('socket' in raw) throw new TypeError(`plugwire config: unknown option 'socket': startPlugin() takes the socket path as its second argument`);
  refuseUnknown(raw, TOP_FIELDS, '', TOP_OPTIONS);
  const given = defined(raw);
  const restartGiven = defined(record('restart', given['restart']));
  refuseUnknown(restartGiven, Object.keys(RESTART_RULES), 'restart.');
  const merged: Record<string, unknown> = { ...base, ...given };
  const restart: Record<string, unknown> = { ...base.restart, ...restartGiven };
  // The deprecated keepAlive stands for keepAliveTimeout; a mistake in it is named as written.
  let keepAliveName = 'keepAliveTimeout';
  if (given['keepAlive'] !== undefined) {
    delete merged['keepAlive'];
    if (given['keepAliveTimeout'] === undefined) {
      merged['keepAliveTimeout'] = given['keepAlive'];
      keepAliveName = 'keepAlive';
    } else if (numberOf('keepAlive', given['keepAlive'], KEEP_ALIVE) !== numberOf('keepAliveTimeout', given['keepAliveTimeout'], KEEP_ALIVE)) {
      throw new TypeError(
        `plugwire config: keepAlive (deprecated) and keepAliveTimeout are both given and differ, got ${shown(given['keepAlive'])} and ${shown(given['keepAliveTimeout'])}: give keepAliveTimeout only`,
      );
    }
  }
  for (const [key, rule] of Object.entries(RULES)) merged[key] = numberOf(key === 'keepAliveTimeout' ? keepAliveName : key, merged[key], rule);
  for (const [key, rule] of Object.entries(RESTART_RULES)) restart[key] = numberOf(`restart.${key}`, restart[key], rule);
  merged['restart'] = restart;
  const limits = defined(record('limits', given['limits']));
  refuseUnknown(limits, Object.keys(LIMIT_RULES), 'limits.');
  for (const [key, rule] of Object.entries(LIMIT_RULES)) if (key in limits) limits[key] = numberOf(`limits.${key}`, limits[key], rule);
  merged['limits'] = limits;
  if (given['liveness'] !== undefined && given['liveness'] !== false) {
    const livenessGiven = defined(record('liveness (or false)', given['liveness']));
    refuseUnknown(livenessGiven, Object.keys(LIVENESS_RULES), 'liveness.');
    const liveness: Record<string, unknown> = { ...LIVENESS_DEFAULTS, ...livenessGiven };
    for (const [key, rule] of Object.entries(LIVENESS_RULES)) liveness[key] = numberOf(`liveness.${key}`, liveness[key], rule);
    merged['liveness'] = liveness;
  }
  if (!CONTRACT_CHECKS.includes(merged['contractCheck'] as ContractCheck)) {
    throw new TypeError(`plugwire config: contractCheck must be 'strict', 'warn' or 'off', got ${shown(merged['contractCheck'])}`);
  }
  const logger = merged['logger'] as Partial<PluginLogger> | undefined;
  if (logger !== undefined && (typeof logger !== 'object' || logger === null || typeof logger.log !== 'function' || typeof logger.error !== 'function')) {
    throw new TypeError(`plugwire config: logger must be an object with log() and error() (console fits), got ${shown(logger)}`);
  }
  return withKeepAliveAlias(merged as unknown as PluginConfig);
}
