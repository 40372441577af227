#!/usr/bin/env node
// The plugwire command: inspect a plugin and call it from the shell.
//   plugwire inspect [--json] -- <plugin command...>
//   plugwire call <route> [json] -- <plugin command...>
//   plugwire call <route> [json] --socket <path>
//   plugwire health --socket <path>            (exit 0 when the plugin answers: a probe)
// A stream method's call prints its items one JSON line each, as they arrive (stream.ts).
import { constants } from 'node:os';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import type * as Library from '../index';
import type * as Commands from './commands';
import type { CallCommandOptions, CliIo, TargetOptions } from './commands';
import { EXIT_CODES, exitStatusHelp } from './exit-codes';
import { checkHealth, HEALTH_TIMEOUT, HealthFailure } from './health';
import type { WatchStop } from './stream';
import { forTerminal } from './terminal-text';
import { tokenFor, type TokenOptions } from './token';
import { Usage } from './usage';

interface HealthOptions extends TokenOptions {
  readonly socket: string;
  readonly timeout: number;
  readonly verbose?: boolean;
}

export type { CliIo } from './commands';

/*
 * The library and inspect/call (commands.ts, which needs it) are loaded when a command
 * needs them: `plugwire health`, an exec probe run every few seconds, never does, and
 * starts faster without them (the library's bundle is most of the rest of the start).
 */
function library(): typeof Library {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../index') as typeof Library;
}
function commands(): typeof Commands {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./commands') as typeof Commands;
}

/** The longest timeout, ms: Node.js runs a longer timer at once (2^31 - 1 ms, about 24.8 days). */
const LONGEST_TIMEOUT = 2 ** 31 - 1;

function milliseconds(value: string): number {
  // Digits only: Number() reads '' and ' ' as 0, and takes 0x10 or 1e3.
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number of milliseconds');
  // A whole number past the limit is refused for what it is: its size, not its form.
  const n = Number(value);
  if (n > LONGEST_TIMEOUT) throw new InvalidArgumentError(`expected at most ${LONGEST_TIMEOUT} ms (about 24.8 days), the longest timer Node.js has`);
  return n;
}

/**
 * The value of --socket. An empty one (an unset shell variable, `--socket "$SOCK"`) is the
 * user's mistake and said as one at once: it would otherwise reach the library's config
 * check (a TypeError, exit 1) or, for health, a connect to '' ("connection refused", exit 3).
 */
function socketPath(value: string): string {
  if (value === '') throw new InvalidArgumentError('--socket needs a path, got an empty one (is the shell variable set?)');
  return value;
}

function version(): string {
  // dist/lib/cli -> the package root
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../../package.json') as { version: string }).version;
}

/**
 * `plugwire health`: exit 0 when the plugin on --socket answers its health route (or, as a
 * version 1 plugin without one, answers at all), else the reason's status and one line on
 * standard error. Nothing on standard output unless --verbose.
 */
async function health(command: readonly string[], options: HealthOptions, io: CliIo): Promise<void> {
  if (command.length > 0) throw new Usage('health starts no plugin: give the socket of one that runs with --socket, and no command after --');
  const answer = await checkHealth(options.socket, tokenFor(options, process.env), options.timeout);
  if (options.verbose) {
    const what = answer.status === 200 ? 'healthy' : 'alive: a protocol version 1 plugin (it has no health route and answered 404)';
    io.stdout(`${forTerminal(options.socket)}: ${what}, ${answer.elapsed} ms\n`);
  }
}

const EXIT_HELP = `\n${exitStatusHelp()}`;

/**
 * The command line's commands. With `healthOnly` (the command is `health`), inspect and call
 * are left out: their help needs the library, which a probe need not load.
 */
function program(io: CliIo, command: readonly string[], healthOnly: boolean, done: (work: Promise<void>, options: TargetOptions) => void): Command {
  const cli = new Command('plugwire')
    .description('Inspect and call plugwire (and go-plugin) plugins from the shell.')
    .version(version(), '-V, --version')
    .showHelpAfterError()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride()
    .addHelpText('after', `\nThe plugin command comes after --; with --socket, a plugin that already runs is used.\nplugwire health --socket PATH checks a plugin that runs (an exec probe).\n${EXIT_HELP}`);
  if (!healthOnly) inspectAndCall(cli, io, command, done);
  healthCommand(cli, io, command, done);
  return cli;
}

function inspectAndCall(cli: Command, io: CliIo, command: readonly string[], done: (work: Promise<void>, options: TargetOptions) => void): void {
  const { call, defaultStartTimeout, inspect } = commands();
  const target = (c: Command): Command =>
    c
      .option('--socket <path>', 'use the plugin already listening on this socket instead of starting one', socketPath)
      .option('--token <token>', 'the access token of a plugin started with PLUGWIRE_TOKEN (with --socket)')
      .option('--token-file <path>', 'a file that holds the access token, e.g. a mounted Secret (with --socket; default: PLUGWIRE_TOKEN, then the file PLUGWIRE_TOKEN_FILE names)')
      .option('--timeout <ms>', `timeout of the start and of the call, ms (0: none for the call, ${defaultStartTimeout()} for the start)`, milliseconds, 10_000)
      .option('-q, --quiet', "drop the plugin's own output (default: on standard error)")
      .addHelpText('after', EXIT_HELP);

  target(cli.command('inspect').description("start the plugin, print its methods and their parameter and result schemas, and stop it"))
    .usage('[options] -- <plugin command...>')
    .option('--json', 'print the manifest as JSON')
    .action((options: TargetOptions & { json?: boolean }) => done(inspect(command, options, io), options));

  target(cli.command('call').description("call a route and print the answer as JSON; a stream method's items one JSON line each, as they arrive"))
    .usage('[options] <route> [json] -- <plugin command...>')
    .argument('<route>', "the method's route, e.g. /modify")
    .argument('[json]', 'the payload as JSON (default: standard input when it is not a terminal, else null)')
    .option('--stream', "read the answer as a stream even though no manifest says so (a Go plugin's JSON array: one line per element)")
    .addHelpText(
      'after',
      `\nA stream (a method the manifest marks stream, or --stream) runs until it ends or Ctrl-C, and has no timeout unless --timeout is given.` +
        `\n\nExamples:\n  plugwire call /modify '"some value"' -- node plugin.js\n  echo '{"name":"Ada","age":36}' | plugwire call /greet -- ./plugin\n  plugwire call /modify '"x"' --socket /tmp/modifier.sock` +
        `\n  plugwire call /tail '{"level":"warn"}' -- node logs.js | head -20`,
    )
    .action((route: string, json: string | undefined, options: TargetOptions & { stream?: boolean }, self: Command) => {
      const timeoutGiven = self.getOptionValueSource('timeout') !== 'default';
      done(call(route, json, command, { ...options, timeoutGiven } satisfies CallCommandOptions, io), options);
    });
}

function healthCommand(cli: Command, io: CliIo, command: readonly string[], done: (work: Promise<void>, options: TargetOptions) => void): void {
  cli
    .command('health')
    .description("ask a plugin that runs whether it is alive, for an exec liveness or readiness probe: exit 0 when it answers its health route")
    .usage('--socket <path> [options]')
    .requiredOption('--socket <path>', 'the socket the plugin listens on', socketPath)
    .option('--token <token>', 'the access token the plugin expects (default: PLUGWIRE_TOKEN, then the file PLUGWIRE_TOKEN_FILE names)')
    .option('--token-file <path>', 'a file that holds the access token, e.g. a mounted Secret')
    .option('--timeout <ms>', 'how long to wait for the answer, ms (0: no limit)', milliseconds, HEALTH_TIMEOUT)
    .option('-v, --verbose', 'print one line on success too')
    .addHelpText(
      'after',
      `\nNothing is printed on success unless --verbose; a failure prints one line on standard error.` +
        `\nA version 1 plugin (a Go plugin: no health route) that answers 404 counts as alive.` +
        `\n\nExample (a Kubernetes exec probe):\n  plugwire health --socket /run/plugwire/modifier.sock --token-file /var/run/secrets/plugwire/token\n${EXIT_HELP}`,
    )
    .action((options: HealthOptions) => done(health(command, options, io), { timeout: options.timeout }));
}

/**
 * The one line on standard error for a failure, and the exit status. A message may hold the
 * plugin's text (a remote error's message, the end of its standard error, a name): it is
 * escaped for the terminal, as everything of the plugin's the command prints.
 */
function failure(error: unknown, io: CliIo, quiet: boolean): number {
  const say = (text: string): void => io.stderr(`plugwire: ${forTerminal(text)}\n`);
  if (error instanceof Usage) {
    say(error.message);
    return EXIT_CODES.USAGE;
  }
  if (error instanceof HealthFailure) {
    say(`${error.reason}: ${error.message}`);
    return EXIT_CODES[error.reason];
  }
  const { PluginError } = library();
  if (PluginError.is(error)) {
    if (error.code === 'PLUGWIRE_START') {
      // Its first line says what happened; the lines after it are the end of the plugin's
      // standard error, which was forwarded above unless -q dropped it.
      const [summary = '', ...tail] = error.message.split('\n');
      const lines = [`plugwire: ${forTerminal(`${error.code}: ${summary}`)}`, ...(quiet ? tail.map((line) => forTerminal(line)) : [])];
      io.stderr(`${lines.join('\n')}\n`);
    } else {
      say(`${error.code}: ${error.message.replace(/\s*\n\s*/g, ' ')}`);
    }
    return EXIT_CODES[error.code];
  }
  say(error instanceof Error ? error.message : String(error));
  return EXIT_CODES.UNEXPECTED;
}

/**
 * Runs the command with its arguments (without `node` and the script).
 * @param argv - the arguments: a command (`inspect`, `call`), its options, `--` and the
 *   plugin's command line
 * @param io - where the command reads and writes
 * @returns the exit status (see {@link EXIT_CODES})
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  // What follows the first -- is the plugin's command line, untouched.
  const split = argv.indexOf('--');
  const own = split === -1 ? argv : argv.slice(0, split);
  const command = split === -1 ? [] : argv.slice(split + 1);
  let work: Promise<void> | undefined;
  let quiet = false;
  try {
    program(io, command, own[0] === 'health', (w, options) => {
      work = w;
      quiet = options.quiet === true;
    }).parse([...own], { from: 'user' });
    if (!work) return 0; // --help or --version
    await work;
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : EXIT_CODES.USAGE;
    }
    return failure(error, io, quiet);
  }
}

/** Standard input to its end (a producer may write late), or `undefined` for a terminal. */
async function readStdin(): Promise<string | undefined> {
  if (process.stdin.isTTY) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Resolves once the stream drained (or closed), or `undefined` when it takes more already. */
function drained(stream: NodeJS.WriteStream): Promise<void> | undefined {
  if (!stream.writableNeedDrain) return undefined;
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

if (require.main === module) {
  // While a stream runs, Ctrl-C and a closed standard output end it (and stop the plugin)
  // instead of the process.
  let pipeClosed: (() => void) | undefined;
  let interrupted = false;
  const watchStop: WatchStop = (onStop) => {
    const onSigint = (): void => {
      if (interrupted) {
        // A second Ctrl-C: the user does not want to wait for the plugin to stop.
        process.off('SIGINT', onSigint);
        process.kill(process.pid, 'SIGINT');
        return;
      }
      interrupted = true;
      onStop('SIGINT');
    };
    process.on('SIGINT', onSigint);
    pipeClosed = () => onStop('EPIPE');
    return () => {
      process.off('SIGINT', onSigint);
      pipeClosed = undefined;
    };
  };
  // Output into a closed pipe (plugwire --help | head -3) is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      if (pipeClosed && stream === process.stdout) pipeClosed();
      else process.exit(process.exitCode ?? 0);
    });
  }
  void main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stdin: readStdin,
    drained: () => drained(process.stdout),
    watchStop,
  }).then((status) => {
    // Ended by Ctrl-C (the plugin stopped cleanly): 130, as a shell reports a process
    // ended by SIGINT, so that a script can tell it from a stream that ended.
    process.exitCode = interrupted && status === 0 ? 128 + constants.signals.SIGINT : status;
  });
}
