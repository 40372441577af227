// What every contender of the benchmark (bench/run.ts) provides, and the helpers of the
// contenders whose server is a process of their own (the floor and gRPC).
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { removeDir, tempDir } from '../../spec/support/host-helpers';
import type { EchoPayload, OrderFields } from '../workloads';

/** plugwire-host is the services scenario's plugin calling its host (bench/contenders/plugwire-services.ts). */
export type ContenderName = 'floor' | 'plugwire' | 'plugwire-dto' | 'grpc' | 'plugwire-stream' | 'plugwire-calls' | 'plugwire-host';

/**
 * One kind of call: an echo of a payload, the ten-field order (answered with its id), a
 * stream of `count` items (the call resolves with the count of items received, each
 * checked), or one item of such a stream (each call fetches the next one).
 */
export type Workload =
  | { readonly kind: 'echo'; readonly payload: EchoPayload }
  | { readonly kind: 'order'; readonly order: OrderFields }
  | { readonly kind: 'stream'; readonly count: number }
  | { readonly kind: 'item' };

/** A started server process and the host's client of it. */
export interface Session {
  /** The server process. */
  readonly pid: number | undefined;
  /**
   * A function that makes one call of the workload and resolves with the answer.
   * `callers` is how many will call it at once (default 1).
   */
  caller(workload: Workload, callers?: number): () => Promise<unknown>;
  /** Closes the client, ends the server process and removes its socket directory. */
  close(): Promise<void>;
}

export interface Contender {
  readonly name: ContenderName;
  /** What it is, for the report. */
  readonly description: string;
  /** The workloads it can run. */
  readonly workloads: ReadonlySet<Workload['kind']>;
  /** Starts a server process and a client; resolves once the server is ready (not yet called). */
  start(): Promise<Session>;
}

/**
 * Node options of every server process started from now on (e.g. `--cpu-prof`). The
 * servers exit with status 0 on SIGTERM, so that a profile is written.
 */
export const serverNodeArgs: string[] = [];

/** A fresh private directory for a socket: `<tmp>/pw-XXXXXX/bench.sock`. */
export function socketDir(): { dir: string; socket: string } {
  const dir = tempDir();
  return { dir, socket: path.join(dir, 'bench.sock') };
}

/** Starts a server script on a socket in a fresh directory, removing the directory again if the start fails. */
export async function startServer(script: string): Promise<{ dir: string; socket: string; server: ServerProcess }> {
  const { dir, socket } = socketDir();
  try {
    return { dir, socket, server: await spawnServer(script, socket) };
  } catch (error) {
    removeDir(dir);
    throw error;
  }
}

/** A server process started by {@link spawnServer}. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts `node <script> <socket>` and resolves once it prints `ready`. Its standard input
 * is a pipe held by this process: the server exits when this process is gone. Standard
 * error is passed through.
 */
export function spawnServer(script: string, socket: string): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...serverNodeArgs, script, socket], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const server: ServerProcess = {
    child,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('utf8');
      if (seen.includes('ready\n')) {
        child.stdout?.off('data', onData);
        child.off('exit', onExit);
        child.stdout?.resume(); // anything later is dropped
        resolve(server);
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      reject(new Error(`${path.basename(script)} ended (${signal ?? `code ${code}`}) before it was ready; it printed ${JSON.stringify(seen)}`));
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', reject);
  });
}
