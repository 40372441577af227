/** Where plugin output and client notices go. `console` fits, and so does a NestJS `Logger`. */
export interface PluginLogger {
  /** Ordinary output: the plugin's standard output, restarts. */
  log(message: string): void;
  /** Problems: the plugin's standard error, exits, failed restarts. */
  error(message: string): void;
}

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
  /** How long an idle connection is kept for reuse. Default 30000 (as Go). */
  readonly keepAlive: number;
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
  /** Where client notices go (a plugin gone, a restart that failed). Default: none. */
  readonly logger?: PluginLogger;
  /**
   * What `connect()` does when the plugin's manifest lacks routes of the contract:
   * `strict` fails the start with `PLUGWIRE_CONTRACT`, `warn` reports it (to `logger`, else
   * `console.warn`) and goes on, `off` does not ask for the manifest. A plugin without a
   * manifest (a Go plugin) is accepted as version 1 either way. Default `strict`.
   */
  readonly contractCheck: ContractCheck;
}

/** See {@link PluginConfig.contractCheck}. */
export type ContractCheck = 'strict' | 'warn' | 'off';

/** A partial configuration: whatever is left out takes its default. */
export type PluginConfigInput = Partial<Omit<PluginConfig, 'restart'>> & { readonly restart?: Partial<RestartPolicy> };

/**
 * The default configuration, as a fresh object.
 *
 * @returns timeout 30 s, connectTimeout 5 s, keepAlive 30 s, startTimeout 10 s,
 * terminationGrace 5 s, 32 connections, 16 MiB answers, and restarts with back-off
 * (5 in a row, 100 ms doubling to 2 s, then 10 s of `PLUGWIRE_UNAVAILABLE`)
 *
 * @example
 * ```ts
 * const { plugin } = await connect(Modifier, starter, { ...defaultConfig(), timeout: 2000 });
 * ```
 */
export function defaultConfig(): PluginConfig {
  return {
    timeout: 30_000,
    connectTimeout: 5_000,
    keepAlive: 30_000,
    startTimeout: 10_000,
    terminationGrace: 5_000,
    connections: 32,
    maxResponseSize: 16 * 1024 * 1024,
    restart: { maxRestarts: 5, initialDelay: 100, maxDelay: 2_000, cooldown: 10_000 },
    contractCheck: 'strict',
  };
}

const DURATIONS = ['timeout', 'connectTimeout', 'keepAlive', 'startTimeout', 'terminationGrace'] as const;

/**
 * Merges a partial configuration onto the defaults and checks every field.
 * @throws TypeError naming the bad field
 * @internal
 */
export function resolveConfig(input: PluginConfigInput = {}): PluginConfig {
  const base = defaultConfig();
  const config: PluginConfig = { ...base, ...input, restart: { ...base.restart, ...input.restart } };
  const check = (name: string, value: unknown, min: number, max = 2 ** 31 - 1): void => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      throw new TypeError(`plugwire config: ${name} must be a number from ${min} to ${max}, got ${String(value)}`);
    }
  };
  for (const key of DURATIONS) check(key, config[key], 0);
  check('connections', config.connections, 1);
  check('maxResponseSize', config.maxResponseSize, 1, Number.MAX_SAFE_INTEGER);
  check('restart.maxRestarts', config.restart.maxRestarts, 0);
  check('restart.initialDelay', config.restart.initialDelay, 0);
  check('restart.maxDelay', config.restart.maxDelay, 0);
  check('restart.cooldown', config.restart.cooldown, 0);
  if (!['strict', 'warn', 'off'].includes(config.contractCheck)) {
    throw new TypeError(`plugwire config: contractCheck must be 'strict', 'warn' or 'off', got ${String(config.contractCheck)}`);
  }
  return config;
}
