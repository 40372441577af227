// The command-line frame shared by the bench scripts (run.ts, soak.ts): arguments,
// --help, exit codes, and a watchdog so that a run that hangs still ends.

import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A bad argument: the script prints it with a pointer to --help and exits with code 2. */
export class UsageError extends Error {}

/**
 * util.parseArgs (strict, no positionals) with its errors as {@link UsageError}s, and the
 * check every bench script makes of `--json`: a path, never an empty string.
 */
export function parseArgsOrUsage<T extends Options & { json: { type: 'string' } }>(args: readonly string[], options: T): ReturnType<typeof parseArgs<Config<T>>>['values'] {
  let parsed: ReturnType<typeof parseArgs<Config<T>>>;
  try {
    parsed = parseArgs<Config<T>>({ args: [...args], options, strict: true, allowPositionals: false });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if ((parsed.values as { json?: string }).json === '') throw new UsageError('--json must be a file path, got an empty string');
  return parsed.values;
}

type Options = NonNullable<ParseArgsConfig['options']>;
type Config<T extends Options> = { args: string[]; options: T; strict: true; allowPositionals: false };

/** What a bench script plugs into {@link runCli}. */
export interface CliSpec<O> {
  /** The prefix of every line the frame prints, e.g. `soak`. */
  readonly name: string;
  /** The compiled script, for the pointer to --help, e.g. `dist/bench/soak.js`. */
  readonly script: string;
  readonly usage: string;
  /** Parses the arguments; throws {@link UsageError} for bad ones. */
  parse(argv: string[]): O | 'help';
  /** The longest the run may take before the watchdog ends it, ms, and how to say it. */
  bound(options: O): { ms: number; text: string };
  /** The run itself; resolves with the exit code. */
  run(options: O): Promise<number>;
}

/** Parses, runs, and exits with the run's code; a run that does not end is stopped with code 1. */
export function runCli<O>(spec: CliSpec<O>): void {
  let options: O | 'help';
  try {
    options = spec.parse(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${spec.name}: ${error.message}\n(node ${spec.script} --help for the options)`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    console.log(spec.usage);
    return;
  }
  // The run bounds itself; this is the backstop for a hang.
  const bound = spec.bound(options);
  const watchdog = setTimeout(() => {
    console.error(`${spec.name}: FAIL: the run did not end within ${bound.text}; resources still active: ${process.getActiveResourcesInfo().join(', ')}`);
    process.exit(1);
  }, bound.ms);
  watchdog.unref();
  spec.run(options).then(
    (code) => {
      clearTimeout(watchdog);
      process.exitCode = code;
      // Nothing of the run may keep the process alive; say so if something does.
      setTimeout(() => {
        console.error(`${spec.name}: note: the process was still held open 3 s after the end by: ${process.getActiveResourcesInfo().join(', ')}`);
        process.exit(code);
      }, 3000).unref();
    },
    (error: unknown) => {
      clearTimeout(watchdog);
      console.error(`${spec.name}: FAIL: the run itself failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(1);
    },
  );
}
