import type { ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { nodeChildProcess } from '../util/lazy';
import { basename, dirname, resolve as resolvePath } from 'node:path';
import type { PluginLogger } from '../diagnostics/logger';
import { StartError } from '../errors/plugin-error';
import { FAILED_LINE, LIFELINE_ENV, READY_LINE, SOCKET_DIR_ENV, SOCKET_ENV, TOKEN_ENV } from '../protocol/constants';
import { isListening, removeStaleSocket } from '../socket/probe';
import { OutputTail, readLines, type LineReader } from './plugin-output';
import { trackChild, untrackChild } from '../util/exit-cleanup';
import type { PluginExit, StartContext, StartedPlugin, Starter } from './starter';

/** Options of {@link startWithCommand}. */
export interface CommandOptions {
  /**
   * The plugin's name, the prefix of its output lines and the name in errors. Default: the
   * base name of the script (for `node`) or command, without `.js`; for a name that says
   * nothing (`plugin`, `index`, `main`) the nearest folder whose name does, so that
   * `dist/samples/modifier/plugin.js` is `modifier`.
   */
  readonly name?: string;
  /** Environment added to the host's own (which the plugin inherits, as in Go). */
  readonly env?: NodeJS.ProcessEnv;
  /** Working directory of the plugin. Default: the host's. */
  readonly cwd?: string;
  /**
   * Where the plugin's output goes, line by line with `[name] ` in front: standard output
   * to `log`, standard error to `error`. Default: the host's standard output and error.
   * `false` drops it.
   */
  readonly logger?: PluginLogger | false;
}

const FORWARD: PluginLogger = {
  log: (message) => process.stdout.write(`${message}\n`),
  error: (message) => process.stderr.write(`${message}\n`),
};

/** A process this host started on a socket path, and what it was started as. */
interface RunningPlugin {
  readonly plugin: CommandPlugin;
  /** The command, arguments, environment and directory, as {@link launchKey} writes them. */
  readonly key: string;
  readonly name: string;
  /** The clients the process was handed to and that have not terminated it yet. */
  users: number;
}

// Go reuses a process it started earlier on the same socket path; so does plugwire, but
// only one started as the same program: another program's plugin is not a stand-in.
const running = new Map<string, RunningPlugin>();

/** What makes two starts the same program: command, arguments, environment and directory. */
function launchKey(command: string, args: readonly string[], options: CommandOptions): string {
  // spawn() leaves out a variable whose value is undefined: it is the same as no variable.
  const env = Object.entries(options.env ?? {})
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([command, args, env, resolvePath(options.cwd ?? process.cwd())]);
}

/**
 * How long the output pipes of a plugin that exited are still read. Usually they end at
 * once; the plugin's own children may hold them open, and then they are let go.
 */
const PIPE_DRAIN_MS = 250;

/** Closes the pipes to a process that exited, once what it wrote has been read. */
function releasePipes(child: ChildProcess): void {
  child.stdio.forEach((stream, fd) => {
    if (!stream || stream.destroyed) return;
    if (fd !== 1 && fd !== 2) {
      stream.destroy();
      return;
    }
    const timer = setTimeout(() => stream.destroy(), PIPE_DRAIN_MS);
    timer.unref();
    stream.once('close', () => clearTimeout(timer));
  });
}

class CommandPlugin implements StartedPlugin {
  readonly exited: Promise<PluginExit>;
  private terminating: Promise<void> | undefined;
  private exit: PluginExit | undefined;

  constructor(readonly child: ChildProcess, private readonly grace: number, readonly token: string) {
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.exit) return;
        this.exit = { code, signal };
        releasePipes(child);
        untrackChild(child);
        resolve(this.exit);
      };
      child.once('exit', done);
      // A process that could not be spawned emits 'error' and never 'exit'.
      child.on('error', () => {
        if (child.pid === undefined) done(null, null);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  term(): Promise<void> {
    this.terminating ??= this.stop();
    return this.terminating;
  }

  private async stop(): Promise<void> {
    if (this.exit === undefined) {
      // The running plugin does not keep the host alive, but a host awaiting its end must
      // see it through (grace, SIGKILL, exit): otherwise the event loop may empty at that
      // await and the host exit without running the code after it.
      this.child.ref();
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), this.grace);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

/**
 * Hands a process to one more client. Its term() ends the process only when no other
 * client holds it, or when it no longer takes connections (a client that found it broken
 * lets it go, and it is of no use to the others either): one host's term() or failed
 * contract check must not take a working plugin away from another.
 */
function share(socket: string, entry: RunningPlugin): StartedPlugin {
  entry.users++;
  const { plugin } = entry;
  let released: Promise<void> | undefined;
  const release = async (): Promise<void> => {
    entry.users--;
    if (entry.users > 0 && plugin.alive && (await isListening(socket))) return;
    await plugin.term();
  };
  return {
    pid: plugin.pid,
    token: plugin.token,
    exited: plugin.exited,
    term: () => (released ??= release()),
  };
}

async function clearStaleSocket(socket: string, name: string): Promise<void> {
  const state = await removeStaleSocket(socket);
  if (state === 'not-a-socket') {
    throw new StartError(`${socket} exists and is not a socket: plugwire will not remove it`, 'socket');
  }
  if (state === 'listening') {
    throw new StartError(`plugin ${name} cannot listen on ${socket}: another process is already listening on it`, 'socket');
  }
}

// Names that do not tell one plugin from another: look at the folders above instead.
const GENERIC_NAMES = new Set(['plugin', 'plugins', 'index', 'main', 'server', 'app', 'dist', 'build', 'out', 'lib', 'src', 'bin']);

/** The name of a plugin started as `command args`, when none was given. */
function defaultName(command: string, args: readonly string[], cwd: string | undefined): string {
  const node = /^node(js)?$|\/node$/.test(command);
  // node -e '...': the code is no name.
  if (node && /^(-e|-p|--eval|--print)$/.test(args[0] ?? '')) return 'node';
  const script = node ? args.find((a) => !a.startsWith('-')) : undefined;
  const file = script ?? command;
  const name = basename(file).replace(/\.[cm]?js$/, '');
  if (!GENERIC_NAMES.has(name.toLowerCase())) return name;
  let dir = dirname(resolvePath(cwd ?? process.cwd(), file));
  for (let depth = 0; depth < 4 && dir !== dirname(dir); depth++, dir = dirname(dir)) {
    if (!GENERIC_NAMES.has(basename(dir).toLowerCase())) return basename(dir);
  }
  return name;
}

/** What the error of a start that timed out adds: the line the plugin left unfinished, if any. */
function unfinishedLine(partial: string): string {
  if (partial === '') return '';
  if (partial.endsWith(READY_LINE)) return `. It printed '${READY_LINE}' without a newline after it: the line must end with one`;
  const shown = partial.length > 200 ? `…${partial.slice(-199)}` : partial;
  return `. Its standard output ends with text that has no newline: ${JSON.stringify(shown)}`;
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
    return nodeChildProcess().spawn(this.command, this.args, {
      cwd: this.options.cwd,
      env: {
        ...process.env,
        ...this.options.env,
        [SOCKET_ENV]: context.socket,
        [TOKEN_ENV]: context.token,
        [LIFELINE_ENV]: '3',
        ...(context.socketDir === undefined ? {} : { [SOCKET_DIR_ENV]: context.socketDir }),
      },
      // fd 3 is the lifeline: the plugin exits when it closes, i.e. when this host dies.
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
  }

  async start(context: StartContext): Promise<StartedPlugin> {
    const key = launchKey(this.command, this.args, this.options);
    const live = running.get(context.socket);
    if (live?.plugin.alive) {
      if (live.key === key) return share(context.socket, live);
      throw new StartError(
        `plugin ${this.name} cannot listen on ${context.socket}: another process is already listening on it (plugin ${live.name}, ` +
          `pid ${String(live.plugin.pid)}, which this host started with another command, arguments, environment or directory)`,
        'socket',
      );
    }
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
      await this.ready(child, context);
    } catch (error) {
      child.on('error', () => undefined);
      await plugin.term();
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
    return share(context.socket, entry);
  }

  /**
   * Reads the plugin's output until it is ready: resolves at the ready line, rejects when
   * it fails, exits, or the start times out or is cancelled. Every other line is forwarded,
   * then and afterwards; the end of standard error goes into the error of a failed start.
   */
  private ready(child: ChildProcess, context: StartContext): Promise<void> {
    const logger = this.options.logger === false ? undefined : (this.options.logger ?? FORWARD);
    const prefix = `[${this.name}] `;
    const stderrTail = new OutputTail();
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
        // Nobody reads the output of a running plugin without a logger: drain it, keep nothing.
        if (!logger) for (const reader of readers) reader.discard();
        resolve();
      };
      const readers: LineReader[] = [];
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
        if (!settled) stderrTail.push(line);
        logger?.error(prefix + line);
      });
      readers.push(stdout, stderr);

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
 * @returns a {@link Starter} for {@link start} or {@link connect}
 *
 * @remarks
 * The plugin gets the host's environment plus `PLUGIN_SOCKET`. plugwire waits for the
 * line `plugin is ready` (any output before it is fine; so is text without a newline
 * right before it, once the socket takes connections), forwards every other line with
 * the plugin's name in front, removes a stale socket file first (and refuses a path that
 * another process listens on), reuses a live process it started earlier on the same
 * socket with the same command, arguments, environment and directory (a live process of
 * another program there fails the start with `PLUGWIRE_START`, and is left alone), and
 * terminates with SIGTERM, then SIGKILL after the grace period (a process shared by
 * several clients once the last of them terminates it, or one that stopped taking
 * connections). A plugin
 * outlives neither the host's exit nor its death (even by SIGKILL): it watches a
 * lifeline pipe on file descriptor 3.
 *
 * A start that fails is a {@link StartError} whose message and `stderr` carry the last
 * lines the plugin wrote to standard error (at most 20 lines, 4096 characters); an exit
 * with code 0 before the ready line says that the program ended without serving.
 *
 * @example
 * ```ts
 * const { plugin, term } = await connect(Modifier, startWithCommand(process.execPath, ['dist/plugin.js']));
 * ```
 */
export function startWithCommand(command: string, args: readonly string[] = [], options: CommandOptions = {}): Starter {
  if (typeof command !== 'string' || command === '') throw new TypeError('startWithCommand(): the command must be a non-empty string');
  return new CommandStarter(command, [...args], options);
}
