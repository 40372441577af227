// `plugwire inspect` and `plugwire call`: start a plugin (or attach to --socket), ask it, stop
// it. Loaded by plugwire.ts only for these commands: they need the library, and
// `plugwire health` (a probe that starts every few seconds) does not.
import { attachToSocket, defaultConfig, PluginError, ProtocolError, readManifest, spawnCommand, StartError, startPlugin, TimeoutError, type StartResult } from '../index';
import { notASocket, notASocketText } from './health';
import { renderManifest } from './render';
import { isStreamRoute, printStream, type WatchStop } from './stream';
import { forTerminal, jsonForTerminal } from './terminal-text';
import { refusedToken, tokenFor, type TokenOptions } from './token';
import { Usage } from './usage';

/** Where the command writes; the tests pass their own. @internal */
export interface CliIo {
  /** Writes to standard output: the answer, or the manifest. */
  readonly stdout: (text: string) => void;
  /** Writes to standard error: the plugin's output, errors and usage. */
  readonly stderr: (text: string) => void;
  /** Standard input, when it is not a terminal; `undefined` for a terminal. */
  readonly stdin: () => Promise<string | undefined>;
  /** Resolves once standard output takes more, or `undefined` when it does already. */
  readonly drained?: () => Promise<void> | undefined;
  /** Watches for Ctrl-C and a closed standard output while a stream runs. */
  readonly watchStop?: WatchStop;
}

/** The options of inspect and call: where the plugin is, and the bounds. @internal */
export interface TargetOptions extends TokenOptions {
  /** --socket: attach to the plugin there instead of starting one. */
  readonly socket?: string;
  /** --timeout, ms. */
  readonly timeout: number;
  /** -q: drop the plugin's output. */
  readonly quiet?: boolean;
}

/** The options of call. @internal */
export interface CallCommandOptions extends TargetOptions {
  /** Read the answer as a stream, without asking the manifest (a plugin without one). */
  readonly stream?: boolean;
  /** Whether --timeout was given: a stream has no timeout unless it was. */
  readonly timeoutGiven: boolean;
}

/** A plugin the command started or attached to. */
interface Opened extends StartResult {
  /** The error to report for one its calls failed with. */
  readonly explain: (error: unknown) => unknown;
}

/** Starts the plugin command (or attaches to --socket) with plugin output on stderr. */
async function open(command: readonly string[], options: TargetOptions, io: CliIo): Promise<Opened> {
  // --timeout 0 lifts the call's timeout; a start that never ends would hang the shell,
  // so the start keeps its default bound then.
  const startTimeout = options.timeout > 0 ? options.timeout : defaultConfig().startTimeout;
  const config = { timeout: options.timeout, startTimeout, contractCheck: 'off' as const };
  const { socket } = options;
  if (socket !== undefined) {
    if (command.length > 0) throw new Usage('give either --socket or a plugin command after --, not both');
    const token = tokenFor(options, process.env);
    // Nothing listening is said at once: a command typed in a shell does not wait for a plugin to come up.
    const started = await startPlugin(attachToSocket({ name: socket, token, wait: false }), socket, config).catch((error: unknown) => {
      // A file or a directory refuses a connection as a stale socket does; what to check
      // differs (the path, a volume mount), so say what is there, as health does.
      const what = PluginError.is(error, 'PLUGWIRE_START') ? notASocket(socket) : undefined;
      throw what === undefined ? error : new StartError(`nothing listens on ${socket}: ${notASocketText(what)}`, 'socket', { cause: error });
    });
    // The plugin's own 401 says it answers only its host, which is true of a host's
    // plugin; this one runs apart, and the user gave no token or another: say, as health
    // does, how to give one.
    const explain = (error: unknown): unknown =>
      error instanceof ProtocolError && error.statusCode === 401 ? new ProtocolError(refusedToken(socket, token), { statusCode: 401, route: error.route, cause: error }) : error;
    return { ...started, explain };
  }
  // A plugin the command starts gets a fresh token of its own.
  if (options.token !== undefined || options.tokenFile !== undefined) throw new Usage('--token and --token-file go with --socket: a plugin this command starts gets a token of its own');
  const [program, ...args] = command;
  if (program === undefined) throw new Usage('no plugin: give its command after -- (e.g. -- node plugin.js), or --socket PATH');
  // The plugin's output is text of the plugin's: escaped, as everything of it the command prints.
  const line = (text: string): void => io.stderr(`${forTerminal(text)}\n`);
  const forward = options.quiet ? false : { log: line, error: line };
  const started = await startPlugin(spawnCommand(program, args, { logger: forward }), undefined, config);
  return { ...started, explain: (error) => error };
}

/**
 * `plugwire inspect`: prints the plugin's manifest (or says it has none).
 * @internal
 */
export async function inspect(command: readonly string[], options: TargetOptions & { json?: boolean }, io: CliIo): Promise<void> {
  const { client, close, explain } = await open(command, options, io);
  try {
    const manifest = await readManifest(client);
    if (options.json) io.stdout(`${jsonForTerminal(manifest ?? null, 2)}\n`);
    else if (!manifest) io.stdout(`plugin ${forTerminal(client.name)} has no manifest: it speaks protocol version 1 only (a Go plugin, or an older plugwire); its methods are not listed\n`);
    else io.stdout(`${renderManifest(manifest, client.name)}\n`);
  } catch (error) {
    throw explain(error);
  } finally {
    await close();
  }
}

/** A word in single quotes for a POSIX shell. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * Why a payload is not JSON, and what to type instead: the shell has already removed one
 * level of quotes, so `plugwire call /rates DE` sends `DE`, which JSON reads as nothing.
 */
function notJson(route: string, text: string, fromStdin: boolean, error: Error): Usage {
  const where = fromStdin ? 'the payload on standard input' : 'the payload';
  const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  const trimmed = text.trim();
  if (!/^[[{"]/.test(trimmed)) {
    const string = JSON.stringify(trimmed);
    const instead = fromStdin ? `send ${string}, with its double quotes` : `type plugwire call ${route} ${shellQuote(string)}`;
    return new Usage(`${where} must be JSON, and ${shown.trim()} is not: for the string ${string} ${instead}`);
  }
  const hint = fromStdin ? '' : `; in single quotes the shell keeps the double quotes JSON needs, e.g. plugwire call ${route} '{"name":"Ada"}'`;
  return new Usage(`${where} must be JSON, and ${shown} is not (${error.message})${hint}`);
}

/**
 * `plugwire call`: calls a route with a JSON payload and prints the answer, or a stream's
 * items as they arrive.
 * @internal
 */
export async function call(route: string, json: string | undefined, command: readonly string[], options: CallCommandOptions, io: CliIo): Promise<void> {
  if (!route.startsWith('/')) throw new Usage(`the route must start with '/', got ${JSON.stringify(route)}`);
  const text = json ?? (await io.stdin());
  let payload: unknown = null;
  if (text !== undefined && text.trim() !== '') {
    try {
      payload = JSON.parse(text);
    } catch (error) {
      throw notJson(route, text, json === undefined, error as Error);
    }
  }
  const { client, close, explain } = await open(command, options, io);
  const budget = callBudget(route, options.timeout);
  let streamed = false;
  try {
    // client.call() refuses a route it cannot send (a space, a line break) with a
    // TypeError: the caller's mistake, said as one.
    const asUsage = (error: unknown): never => {
      throw error instanceof TypeError ? new Usage(error.message) : error;
    };
    streamed = options.stream === true || (await isStreamRoute(client, route));
    if (streamed) {
      // A stream runs until it ends, like tail -f; a --timeout given bounds all of it.
      const streamOptions = { timeout: options.timeoutGiven ? budget.left() : 0 };
      await printStream(client, route, payload, streamOptions, io).catch(asUsage);
      return;
    }
    const answer = await client.call(route, payload, { timeout: budget.left() }).catch(asUsage);
    io.stdout(`${jsonForTerminal(answer, 2) ?? 'null'}\n`);
  } catch (error) {
    throw explain(tooLargeHint(budget.said(error), streamed));
  } finally {
    await close();
  }
}

/**
 * What is left of --timeout for the call once the manifest lookup (is it a stream?) took
 * its part: the docs give --timeout to the call, so the lookup and the call share it rather
 * than each taking all of it. A timeout then names the user's --timeout, not what was left.
 */
function callBudget(route: string, timeout: number): { left: () => number; said: (error: unknown) => unknown } {
  const began = performance.now();
  let given = timeout;
  return {
    left: () => {
      // 0 is no timeout for a call: a budget used up is 1 ms, which times out at once.
      if (timeout === 0) return 0;
      given = Math.max(1, timeout - Math.floor(performance.now() - began));
      return given;
    },
    said: (error) =>
      // Only the words call.ts writes for a call's own timeout: a connect timeout, or one the
      // plugin's deadline answered, says another time and keeps it.
      PluginError.is(error, 'PLUGWIRE_TIMEOUT') && given !== timeout && error.message === `call to ${route} timed out after ${given} ms`
        ? new TimeoutError(`call to ${route} timed out after ${timeout} ms`, { route, cause: error })
        : error,
  };
}

/** The most the command reads of an answer (or of a stream's item), bytes: the library's default, which it does not change. */
const MAX_ANSWER = defaultConfig().maxResponseSize;

/**
 * An answer larger than maxResponseSize, with what a user of the command can do about
 * it: the library's words name an option of a host's config, which the command does not
 * offer (see docs/cli.md).
 */
function tooLargeHint(error: unknown, stream: boolean): unknown {
  if (!(error instanceof ProtocolError) || !error.message.includes('maxResponseSize')) return error;
  const mib = MAX_ANSWER / 2 ** 20;
  const what = stream
    ? `plugwire reads each item of a stream up to ${mib} MiB: have the method send smaller items`
    : `plugwire reads answers up to ${mib} MiB: ask for a smaller answer, or make the method a stream method, whose items count one by one`;
  const options = error.statusCode === undefined ? { cause: error } : { cause: error, statusCode: error.statusCode };
  return new ProtocolError(`${error.message}; ${what}`, error.route === undefined ? options : { ...options, route: error.route });
}

/** The start timeout a plugin gets by default, ms, for the help of --timeout. @internal */
export function defaultStartTimeout(): number {
  return defaultConfig().startTimeout;
}
