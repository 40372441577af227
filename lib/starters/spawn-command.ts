import type { ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { PluginLogger } from '../diagnostics/logger';
import { StartError } from '../errors/plugin-error';
import { FAILED_LINE, HOST_SOCKET_ENV, HOST_TOKEN_ENV, LIFELINE_ENV, READY_LINE, SOCKET_DIR_ENV, SOCKET_ENV, TOKEN_ENV, TOKEN_FILE_ENV } from '../protocol/constants';
import { isListening, removeStaleSocket } from '../socket/probe';
import { COMPILE_CACHE_ENV, compileCacheFor } from '../util/compile-cache';
import { shown } from '../util/checked-number';
import { race } from '../util/abortable';
import { trackChild } from '../util/exit-cleanup';
import { nodeChildProcess } from '../util/lazy';
import { defaultName } from './command-name';
import { CommandPlugin } from './command-process';
import { OutputTail, readLines, type LineReader } from './plugin-output';
import { launchKey, launching, running, share, type RunningPlugin } from './shared-process';
import type { StartContext, StartedPlugin, Starter } from './starter';

/** Options of {@link spawnCommand}; a field left out or `undefined` takes its default. */
export interface CommandOptions {
  /**
   * The plugin's name, the prefix of its output lines and the name in errors. Default: the
   * base name of the script (for `node`) or command, without `.js`; for a name that says
   * nothing (`plugin`, `index`, `main`) the nearest folder whose name does, so that
   * `dist/samples/modifier/plugin.js` is `modifier`.
   */
  readonly name?: string | undefined;
  /** Environment added to the host's own (which the plugin inherits, as in Go). */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** Working directory of the plugin. Default: the host's. */
  readonly cwd?: string | undefined;
  /**
   * Where the plugin's output goes, line by line with `[name] ` in front: standard output
   * to `log`, standard error to `error`. Default: the host's standard output and error.
   * `false` drops it.
   */
  readonly logger?: PluginLogger | false | undefined;
}

const FORWARD: PluginLogger = {
  log: (message) => process.stdout.write(`${message}\n`),
  error: (message) => process.stderr.write(`${message}\n`),
};

/** Removes the socket file a dead plugin left; refuses a file that is no socket, or one a live process listens on. */
async function clearStaleSocket(socket: string, name: string): Promise<void> {
  const state = await removeStaleSocket(socket);
  if (state === 'not-a-socket') {
    throw new StartError(`${socket} exists and is not a socket: plugwire will not remove it`, 'socket');
  }
  if (state === 'listening') {
    throw new StartError(`plugin ${name} cannot listen on ${socket}: another process is already listening on it`, 'socket');
  }
}

/** The outcome of another start, which this one only waits for. */
function ignore(): void {}

/** What the error of a start that timed out adds: the line the plugin left unfinished, if any. */
function unfinishedLine(partial: string): string {
  if (partial === '') return '';
  if (partial.endsWith(READY_LINE)) return `. It printed '${READY_LINE}' without a newline after it: the line must end with one`;
  const shown = partial.length > 200 ? `…${partial.slice(-199)}` : partial;
  return `. Its standard output ends with text that has no newline: ${JSON.stringify(shown)}`;
}

/**
 * `NODE_OPTIONS` with a heap limit of `memoryMiB` appended, keeping the options already
 * there; options that set a heap limit of their own are left as they are.
 */
function withHeapLimit(options: string | undefined, memoryMiB: number): string {
  if (options !== undefined && /(^|\s)--max[-_]old[-_]space[-_]size\b/.test(options)) return options;
  const limit = `--max-old-space-size=${memoryMiB}`;
  return options === undefined || options.trim() === '' ? limit : `${options} ${limit}`;
}

class CommandStarter implements Starter {
  readonly name: string;

  constructor(private readonly command: string, private readonly args: readonly string[], private readonly options: CommandOptions) {
    this.name = options.name ?? defaultName(command, args, options.cwd);
  }

  /**
   * Why spawn() failed: it reports a missing working directory as a missing program
   * (`spawn /usr/bin/node ENOENT`), and one that is a file as a bare `spawn ENOTDIR`.
   */
  private spawnFailure(error: Error): string {
    const cwd = this.options.cwd;
    const code = (error as NodeJS.ErrnoException).code;
    if ((code !== 'ENOENT' && code !== 'ENOTDIR') || cwd === undefined) return error.message;
    const stat = statSync(cwd, { throwIfNoEntry: false });
    if (!stat) return `its working directory ${resolvePath(cwd)} does not exist`;
    if (!stat.isDirectory()) return `its working directory ${resolvePath(cwd)} is not a directory`;
    return error.message;
  }

  private spawn(context: StartContext): ChildProcess {
    // The host's own token file (a host in a container attaching to a sidecar) is the
    // host's credential, not the plugin's: the plugin gets a fresh token of its own, and
    // a plugwire plugin that also attaches to a sidecar must not borrow the host's.
    // One passed on purpose in options.env is kept (the plugin's PLUGWIRE_TOKEN wins).
    // So are the host services this process may have inherited as a plugin itself, before
    // it read them (a NestJS plugin starts its own plugins before it serves): the plugin gets
    // this host's services or none, never a way to its grandparent's, and no directory of its
    // grandparent's to remove when this process dies.
    const {
      [TOKEN_FILE_ENV]: _hostTokenFile,
      [HOST_SOCKET_ENV]: _inheritedHostSocket,
      [HOST_TOKEN_ENV]: _inheritedHostToken,
      [SOCKET_DIR_ENV]: _inheritedSocketDir,
      ...inherited
    } = process.env;
    const env: NodeJS.ProcessEnv = {
      ...inherited,
      ...this.options.env,
      [SOCKET_ENV]: context.socket,
      [TOKEN_ENV]: context.token,
      [LIFELINE_ENV]: '3',
      ...(context.socketDir === undefined ? {} : { [SOCKET_DIR_ENV]: context.socketDir }),
      ...(context.host === undefined ? {} : { [HOST_SOCKET_ENV]: context.host.socket, [HOST_TOKEN_ENV]: context.host.token }),
    };
    // A Node plugin over its heap limit fails fast rather than swap; other programs ignore it.
    if (context.memoryMiB !== undefined) env['NODE_OPTIONS'] = withHeapLimit(env['NODE_OPTIONS'], context.memoryMiB);
    // A Node plugin's next start loads its modules' compiled code instead of compiling them.
    const cache = compileCacheFor(env);
    if (cache !== undefined) env[COMPILE_CACHE_ENV] = cache;
    return nodeChildProcess().spawn(this.command, this.args, {
      cwd: this.options.cwd,
      env,
      // fd 3 is the lifeline: the plugin exits when it closes, i.e. when this host dies.
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
  }

  async start(context: StartContext): Promise<StartedPlugin> {
    const key = launchKey(this.command, this.args, this.options);
    // Another start on this path under way: its process is this one's too, once it is ready.
    for (let pending = launching.get(context.socket); pending !== undefined; pending = launching.get(context.socket)) {
      if (pending.key !== key) {
        throw new StartError(
          `plugin ${this.name} cannot listen on ${context.socket}: another process is being started on it (plugin ${pending.name}, ` +
            'which this host starts with another command, arguments, environment or directory)',
          'socket',
        );
      }
      try {
        // Its outcome is not this start's: settled either way, it is looked at again.
        await race(pending.launched.then(ignore, ignore), context.signal);
      } catch {
        throw new StartError(`start of ${this.name} was cancelled`, 'aborted');
      }
    }
    const live = running.get(context.socket);
    if (live?.plugin.alive) {
      if (live.key === key) return share(context.socket, live);
      throw new StartError(
        `plugin ${this.name} cannot listen on ${context.socket}: another process is already listening on it (plugin ${live.name}, ` +
          `pid ${String(live.plugin.pid)}, which this host started with another command, arguments, environment or directory)`,
        'socket',
      );
    }
    const launch = { key, name: this.name, launched: this.launch(context, key) };
    launching.set(context.socket, launch);
    try {
      return share(context.socket, await launch.launched);
    } finally {
      if (launching.get(context.socket) === launch) launching.delete(context.socket);
    }
  }

  /** Spawns the process and waits for its ready line; once ready, it is the one this host runs on the path. */
  private async launch(context: StartContext, key: string): Promise<RunningPlugin> {
    await clearStaleSocket(context.socket, this.name);
    if (context.signal.aborted) throw new StartError(`start of ${this.name} was cancelled`, 'aborted');

    let child: ChildProcess;
    try {
      child = this.spawn(context);
    } catch (error) {
      throw new StartError(`plugin ${this.name} could not be started: ${this.spawnFailure(error as Error)}`, 'spawn', { cause: error });
    }
    trackChild(child);
    const plugin = new CommandPlugin(child, context.terminationGrace, context.token);
    try {
      await this.ready(child, context, plugin.stderrTail);
    } catch (error) {
      child.on('error', () => undefined);
      await plugin.close();
      throw error;
    }
    // Once ready, the plugin must not keep the host alive: a host that ends terminates it.
    child.unref();
    for (const stream of child.stdio) (stream as { unref?: () => void } | null)?.unref?.();
    const entry: RunningPlugin = { plugin, key, name: this.name, users: 0 };
    running.set(context.socket, entry);
    void plugin.exited.then(() => {
      if (running.get(context.socket) === entry) running.delete(context.socket);
    });
    return entry;
  }

  /**
   * Reads the plugin's output until it is ready: resolves at the ready line, rejects when
   * it fails, exits, or the start times out or is cancelled. Every other line is forwarded,
   * then and afterwards; the end of standard error goes into the error of a failed start.
   */
  private ready(child: ChildProcess, context: StartContext, stderrTail: OutputTail): Promise<void> {
    const logger = this.options.logger === false ? undefined : (this.options.logger ?? FORWARD);
    const prefix = `[${this.name}] `;
    let settled = false;

    return new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        settled = true;
        clearTimeout(timer);
        child.off('exit', onExit);
        child.off('error', onError);
        context.signal.removeEventListener('abort', onAbort);
      };
      const succeed = (): void => {
        if (settled) return;
        cleanup();
        // Nobody reads the output of a running plugin without a logger: drain it, keep only
        // the tail of standard error, for the diagnostics of an exit.
        if (!logger) stdout.discard();
        resolve();
      };
      const fail = (message: string, reason: StartError['reason'], options: ConstructorParameters<typeof StartError>[2] = {}): void => {
        if (settled) return;
        cleanup();
        reject(new StartError(message + stderrTail.describe('its standard error'), reason, { ...options, stderr: stderrTail.text }));
      };

      const stdout: LineReader = readLines(child.stdout, (line) => {
        if (settled) logger?.log(prefix + line);
        else if (line === READY_LINE) succeed();
        else if (line === FAILED_LINE) fail(`plugin ${this.name} failed to listen on ${context.socket}`, 'failed-line');
        else if (line.endsWith(READY_LINE)) this.readyAfterText(line, context.socket, succeed, () => settled, logger);
        else logger?.log(prefix + line);
      });
      const stderr = readLines(child.stderr, (line) => {
        stderrTail.push(line);
        logger?.error(prefix + line);
      });

      // Wait for the pipes to end, so that the plugin's last words are in the error.
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        void Promise.all([stdout.closed, stderr.closed]).then(() => fail(this.exitMessage(code, signal), 'exited', { exitCode: code, signal }));
      };
      const onError = (error: Error): void => fail(`plugin ${this.name} could not be started: ${this.spawnFailure(error)}`, 'spawn', { cause: error });
      const onAbort = (): void => fail(`start of ${this.name} was cancelled`, 'aborted');
      const timer = setTimeout(
        () =>
          fail(
            `plugin ${this.name} did not print '${READY_LINE}' within ${context.startTimeout} ms: check that it calls serve() ` +
              'and that nothing before it waits forever (a plugin in another language must write the line to standard output and flush it)' +
              unfinishedLine(stdout.partial()),
            'timeout',
          ),
        context.startTimeout,
      );
      child.once('exit', onExit);
      child.once('error', onError);
      context.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * A line that ends with the ready line: the plugin wrote text without a newline before
   * serve() printed it (`process.stdout.write('loading... ')`). The Go host waits for an
   * exact line in vain; plugwire accepts this one once the socket takes connections, so
   * that a line that merely ends with those words (`waiting until plugin is ready`) is
   * not taken for readiness.
   */
  private readyAfterText(line: string, socket: string, succeed: () => void, settled: () => boolean, logger: PluginLogger | undefined): void {
    const prefix = `[${this.name}] `;
    const text = line.slice(0, -READY_LINE.length);
    void isListening(socket).then((listening) => {
      if (listening && !settled()) {
        if (text.trim() !== '') logger?.log(prefix + text.trimEnd());
        succeed();
      } else {
        logger?.log(prefix + line);
      }
    });
  }

  /** Why the plugin's exit before its ready line failed the start, with a hint for the usual cause. */
  private exitMessage(code: number | null, signal: NodeJS.Signals | null): string {
    const message = `plugin ${this.name} exited before it was ready (${signal ? `signal ${signal}` : `code ${code}`})`;
    if (code !== 0) return message;
    return (
      `${message}: the program ended without serving. Check that it calls serve(), and that nothing ends the process ` +
      `before serve() has printed '${READY_LINE}' (such as process.exit() after a serve() that is not awaited)`
    );
  }
}

/**
 * A starter that runs the plugin as an executable, as the Go host does.
 *
 * @param command - the executable, e.g. `process.execPath` or `./plugin`
 * @param args - its arguments, e.g. the path of the plugin's script
 * @param options - name, environment, working directory and output handling
 * @returns a {@link Starter} for {@link startPlugin} or {@link connect}
 * @throws TypeError when `command` is not a non-empty string
 *
 * @remarks
 * The plugin gets the host's environment plus `PLUGIN_SOCKET` (and `PLUGWIRE_HOST_SOCKET`
 * and `PLUGWIRE_HOST_TOKEN` when the host offers services), and a fresh token of its own in
 * `PLUGWIRE_TOKEN`; the host's `PLUGWIRE_TOKEN_FILE` is not passed on (one in
 * `options.env` is). plugwire waits for the
 * line `plugin is ready` (any output before it is fine; so is text without a newline
 * right before it, once the socket takes connections), forwards every other line with
 * the plugin's name in front, removes a stale socket file first (and refuses a path that
 * another process listens on), reuses a live process it started earlier on the same
 * socket with the same command, arguments, environment and directory (a live process of
 * another program there fails the start with `PLUGWIRE_START`, and is left alone), and
 * stops it on `close()` with SIGTERM, then SIGKILL after the grace period (a process
 * shared by several clients once the last of them closes it, or one that stopped taking
 * connections). A plugin outlives neither the host's exit nor its death (even by
 * SIGKILL): it watches a lifeline pipe on file descriptor 3. With `limits.memoryMiB` set,
 * the plugin's `NODE_OPTIONS` get `--max-old-space-size=<memoryMiB>` appended (unless they
 * set a heap limit already): a Node plugin's heap limit.
 *
 * On Node.js 22.1 and later the plugin also gets `NODE_COMPILE_CACHE`: Node's module
 * compile cache, so that each start after the first loads the compiled code of plugwire,
 * its dependencies and the plugin's own modules instead of compiling them again (a Node
 * plugin writes its cache when it exits; a program that is not Node.js ignores the
 * variable, and the plugin's own child processes inherit it). The cache lives in
 * `<tmp>/plugwire-compile-cache-<uid>`, made with mode 0700 and used only while it is a
 * directory of this user that nobody else can write to (Node's default,
 * `<tmp>/node-compile-cache`, is shared by all users). A `NODE_COMPILE_CACHE` or
 * `NODE_DISABLE_COMPILE_CACHE` in the host's environment or in `options.env` is left as
 * it is: `env: { NODE_DISABLE_COMPILE_CACHE: '1' }` turns the cache off for this plugin.
 * On older Node.js the environment is not touched.
 *
 * A start that fails is a {@link StartError} whose message and `stderr` carry the last
 * lines the plugin wrote to standard error (at most 20 lines, 4096 characters); an exit
 * with code 0 before the ready line says that the program ended without serving.
 *
 * @example
 * ```ts
 * const { plugin, close } = await connect(Modifier, spawnCommand(process.execPath, ['dist/plugin.js']));
 * ```
 */
export function spawnCommand(command: string, args: readonly string[] = [], options: CommandOptions = {}): Starter {
  if (typeof command !== 'string' || command === '') throw new TypeError('spawnCommand(): the command must be a non-empty string');
  // Plain JavaScript may pass one string: spread, it would be an argument a character.
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string')) {
    throw new TypeError(`spawnCommand(): the arguments must be an array of strings, got ${Array.isArray(args) ? 'an array holding other values' : shown(args)}${typeof args === 'string' ? ` (write [${JSON.stringify(args)}])` : ''}`);
  }
  return new CommandStarter(command, [...args], options);
}

/** @deprecated use {@link spawnCommand}; removed in 0.3 */
export const startWithCommand: typeof spawnCommand = spawnCommand;
