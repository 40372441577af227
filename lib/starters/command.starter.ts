import type { ChildProcess } from 'node:child_process';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import type { PluginLogger } from '../client/config';
import { StartError } from '../errors/plugin-error';
import { FAILED_LINE, LIFELINE_ENV, READY_LINE, SOCKET_DIR_ENV, SOCKET_ENV, TOKEN_ENV } from '../protocol/constants';
import { removeStaleSocket } from '../protocol/socket-probe';
import { trackChild, untrackChild } from './process-registry';
import type { PluginExit, StartContext, StartedPlugin, Starter } from './starter';

/** Options of {@link startWithCommand}. */
export interface CommandOptions {
  /** The plugin's name, the prefix of its output lines. Default: the script or command's base name. */
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

// Go reuses a process it started earlier on the same socket path; so does plugwire.
const running = new Map<string, CommandPlugin>();

class CommandPlugin implements StartedPlugin {
  readonly exited: Promise<PluginExit>;
  private terminating: Promise<void> | undefined;
  private exit: PluginExit | undefined;

  constructor(readonly child: ChildProcess, private readonly grace: number, readonly token: string) {
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.exit) return;
        this.exit = { code, signal };
        // The pipes may be held open by the plugin's own children: let go of them.
        for (const stream of child.stdio) stream?.destroy();
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
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), this.grace);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

function lines(stream: Readable | null, onLine: (line: string) => void): void {
  if (!stream) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- host-only: not loaded by a plugin importing plugwire
  const reader = (require('node:readline') as typeof import('node:readline')).createInterface({ input: stream, crlfDelay: Infinity });
  reader.on('line', onLine);
  stream.once('close', () => reader.close());
}

async function clearStaleSocket(socket: string): Promise<void> {
  const state = await removeStaleSocket(socket);
  if (state === 'not-a-socket') {
    throw new StartError(`${socket} exists and is not a socket: plugwire will not remove it`, 'socket');
  }
  if (state === 'listening') {
    throw new StartError(`another process is already listening on ${socket}`, 'socket');
  }
}

class CommandStarter implements Starter {
  readonly name: string;

  constructor(private readonly command: string, private readonly args: readonly string[], private readonly options: CommandOptions) {
    const script = args.find((a) => !a.startsWith('-'));
    this.name = options.name ?? basename(/^node(js)?$|\/node$/.test(command) && script ? script : command).replace(/\.[cm]?js$/, '');
  }

  private spawn(context: StartContext): ChildProcess {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- host-only: not loaded by a plugin importing plugwire
    return (require('node:child_process') as typeof import('node:child_process')).spawn(this.command, this.args, {
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
    const live = running.get(context.socket);
    if (live?.alive) return live;
    await clearStaleSocket(context.socket);
    if (context.signal.aborted) throw new StartError(`start of ${this.name} was cancelled`, 'aborted');

    let child: ChildProcess;
    try {
      child = this.spawn(context);
    } catch (error) {
      throw new StartError(`plugin ${this.name} could not be started: ${(error as Error).message}`, 'spawn', { cause: error });
    }
    trackChild(child);
    const plugin = new CommandPlugin(child, context.terminationGrace, context.token);
    const logger = this.options.logger === false ? undefined : (this.options.logger ?? FORWARD);
    const prefix = `[${this.name}] `;

    let ready = false;
    try {
      await new Promise<void>((resolve, reject) => {
        const fail = (error: StartError): void => {
          cleanup();
          reject(error);
        };
        const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
          fail(new StartError(`plugin ${this.name} exited before it was ready (${signal ? `signal ${signal}` : `code ${code}`})`, 'exited', { exitCode: code, signal }));
        const onError = (error: Error): void =>
          fail(new StartError(`plugin ${this.name} could not be started: ${error.message}`, 'spawn', { cause: error }));
        const onAbort = (): void => fail(new StartError(`start of ${this.name} was cancelled`, 'aborted'));
        const timer = setTimeout(
          () => fail(new StartError(`plugin ${this.name} did not print '${READY_LINE}' within ${context.startTimeout} ms`, 'timeout')),
          context.startTimeout,
        );
        const cleanup = (): void => {
          clearTimeout(timer);
          child.off('exit', onExit);
          child.off('error', onError);
          context.signal.removeEventListener('abort', onAbort);
        };
        child.once('exit', onExit);
        child.once('error', onError);
        context.signal.addEventListener('abort', onAbort, { once: true });
        lines(child.stdout, (line) => {
          if (!ready && line === READY_LINE) {
            ready = true;
            cleanup();
            resolve();
          } else if (!ready && line === FAILED_LINE) {
            fail(new StartError(`plugin ${this.name} failed to listen on ${context.socket}`, 'failed-line'));
          } else {
            logger?.log(prefix + line);
          }
        });
        lines(child.stderr, (line) => logger?.error(prefix + line));
      });
    } catch (error) {
      child.on('error', () => undefined);
      await plugin.term();
      throw error;
    }
    // Once ready, the plugin must not keep the host alive: a host that ends terminates it.
    child.unref();
    for (const stream of child.stdio) (stream as { unref?: () => void } | null)?.unref?.();
    running.set(context.socket, plugin);
    void plugin.exited.then(() => {
      if (running.get(context.socket) === plugin) running.delete(context.socket);
    });
    return plugin;
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
 * line `plugin is ready` (any output before it is fine), forwards every other line with
 * the plugin's name in front, removes a stale socket file first (and refuses a path that
 * another process listens on), reuses a live process it started earlier on the same
 * socket, and terminates with SIGTERM, then SIGKILL after the grace period. A plugin
 * outlives neither the host's exit nor its death (even by SIGKILL): it watches a
 * lifeline pipe on file descriptor 3.
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
