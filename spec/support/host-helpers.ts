/**
 * Shared helpers for the host-side specs (starters, client, proxy): bounded polling,
 * process checks, temporary directories and the compiled fixture plugins.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { connect } from 'node:net';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { createInterface } from 'node:readline';
import type { CommandOptions, PluginExit, PluginLogger, StartContext, StartedPlugin, Starter } from '../../lib';
import { PluginError, startWithCommand } from '../../lib';
import { HEALTH_ROUTE } from '../../lib/protocol/constants';

/**
 * Polls a condition every `intervalMs` until it holds, for at most `timeoutMs`.
 * Only for what has no event to wait for (a pid disappearing, a file appearing).
 * @throws Error naming `what` when the bound passes
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what = 'condition',
  intervalMs = 20,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() >= until) throw new Error(`waitFor: ${what} did not hold within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Whether a process with this pid is still running. A zombie counts as gone: it has
 * ended, and only waits for its parent (for an orphan, init, which may reap it late).
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ..."; comm may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return !existsSync('/proc/self/stat'); // no procfs: trust kill(0); gone meanwhile: gone
  }
}

/**
 * The live processes whose command line has `marker` as one of its arguments: what a spec
 * that gives its plugin commands a marker looks for to find any it left behind (none known
 * without procfs).
 */
export function processesMarked(marker: string): number[] {
  const found: number[] = [];
  if (!existsSync('/proc/self/cmdline')) return found;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    if (cmdline.split('\0').includes(marker) && pidAlive(Number(entry))) found.push(Number(entry));
  }
  return found;
}

/** Waits until a pid is gone, polling every 20 ms for at most `timeoutMs`. */
export function waitForPidGone(pid: number, timeoutMs = 5000): Promise<void> {
  return waitFor(() => !pidAlive(pid), timeoutMs, `process ${pid} to exit`);
}

/** A fresh private directory under the temporary directory: `pw-XXXXXX`. */
export function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'pw-'));
}

/** Removes a directory tree, ignoring one that is already gone. */
export function removeDir(dir: string | undefined): void {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}

/** The compiled fixture `spec/fixtures/<group>/<name>.ts`, named `<group>/<name>` (`host/host-plugin`). */
export function fixture(name: string): string {
  return path.join(__dirname, '../../dist/spec/fixtures', `${name}.js`);
}

/** A logger that keeps every line, for checking what a plugin printed. */
export interface CollectingLogger extends PluginLogger {
  readonly lines: string[];
  readonly errors: string[];
}

export function collectingLogger(): CollectingLogger {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, log: (line) => lines.push(line), error: (line) => errors.push(line) };
}

/**
 * A command starter for a compiled fixture, run with this Node. Output goes to a
 * collecting logger (returned) instead of the test's output.
 */
export function fixtureStarter(
  name: string,
  options: Omit<CommandOptions, 'logger'> = {},
): { starter: Starter; logger: CollectingLogger } {
  const logger = collectingLogger();
  return { starter: startWithCommand(process.execPath, [fixture(name)], { ...options, logger }), logger };
}

/** What a function throws; fails if it returns. */
export function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected it to throw');
}

/** The error a promise rejects with; fails if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    const value = await promise;
    throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
  } catch (error) {
    return error;
  }
}

/** Lines in a counter file (one per plugin start), 0 when the file does not exist. */
export function countLines(file: string): number {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((line) => line !== '').length;
  } catch {
    return 0;
  }
}

/** A child process and a promise of its exit. */
export interface Spawned {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything on stderr so far. */
  readonly stderr: () => string;
  /** Every stdout line so far. */
  readonly lines: readonly string[];
  /** Resolves with the first stdout line that matches, rejects if the process ends first. */
  line(match: RegExp): Promise<string>;
}

/** Spawns this Node with arguments, stdout read line by line, stderr collected. */
export function spawnNode(args: readonly string[], env: NodeJS.ProcessEnv = {}): Spawned {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const seen: string[] = [];
  const waiters: Array<{ match: RegExp; resolve: (line: string) => void }> = [];
  const reader = createInterface({ input: child.stdout });
  reader.on('line', (line) => {
    seen.push(line);
    for (const waiter of waiters.splice(0)) {
      if (waiter.match.test(line)) waiter.resolve(line);
      else waiters.push(waiter);
    }
  });
  const line = (match: RegExp): Promise<string> => {
    const earlier = seen.find((l) => match.test(l));
    if (earlier !== undefined) return Promise.resolve(earlier);
    return new Promise((resolve, reject) => {
      waiters.push({ match, resolve });
      void exited.then(({ code, signal }) => reject(new Error(`process ended (${signal ?? code}) before printing ${String(match)}; it printed ${JSON.stringify(seen)}`)));
    });
  };
  return { child, exited, stderr: () => stderr, lines: seen, line };
}

/** Resolves with the promise's value, or fails after `ms` (a bound, not a wait). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** 'accepted', or the error code of a refused connection to a Unix socket. */
export function connectOutcome(socket: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(socket);
    s.once('connect', () => {
      s.destroy();
      resolve('accepted');
    });
    s.once('error', (error: NodeJS.ErrnoException) => {
      s.destroy();
      resolve(error.code ?? error.message);
    });
  });
}

/** A GET over a fresh connection (no agent: nothing stays open), with the JSON body. */
export function httpGet(port: number, urlPath: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, agent: false, headers: { connection: 'close' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown });
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A starter whose plugin is a bare node:http server in this process, answering every
 * request (its whole body read) with `answer`: a stand-in for a plugin written by hand.
 * The client's liveness probe (on by default) gets 404, as from a version 1 plugin, and
 * never reaches `answer`, which expects calls.
 */
export function bareHttpStarter(name: string, answer: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void): Starter {
  return {
    name,
    async start(context: StartContext): Promise<StartedPlugin> {
      const server = createServer((req, res) => {
        if (req.url === HEALTH_ROUTE) {
          res.writeHead(404).end();
          return;
        }
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => answer(req, Buffer.concat(chunks), res));
      });
      await new Promise<void>((resolve) => server.listen(context.socket, resolve));
      let closing: Promise<void> | undefined;
      let closed!: (exit: PluginExit) => void;
      const exited = new Promise<PluginExit>((resolve) => (closed = resolve));
      const term = (): Promise<void> => {
        closing ??= new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }).then(() => closed({ code: 0, signal: null }));
        return closing;
      };
      return { exited, term };
    },
  };
}

/** A call's outcome: its value, or its error's code (`PLUGWIRE_…`), for comparing outcomes whole. */
export function settle<T>(promise: Promise<T>): Promise<{ value: T } | { code: string }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ code: PluginError.is(error) ? error.code : String(error) }),
  );
}
