/**
 * A plugin started as a bare process (node:child_process with PLUGIN_SOCKET, as a Go host
 * would start it, not through plugwire's host), with its output read line by line: for
 * the specs that drive serve() from outside.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface PluginProcess {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves once the process exited and its output streams closed. */
  readonly exit: Promise<Exit>;
  /** Sends SIGTERM unless the process has exited, and resolves once it has. */
  stop(): Promise<Exit>;
  /** Resolves with the first line of the stream that equals `wanted`; fails on exit or after `ms`. */
  line(stream: 'stdout' | 'stderr', wanted: string, ms?: number): Promise<string>;
}

/** Runs `node script` with exactly `env`; standard output and error must be pipes. */
export function spawnPluginProcess(script: string, env: NodeJS.ProcessEnv, stdio: StdioOptions = ['pipe', 'pipe', 'pipe']): PluginProcess {
  return spawnProcess(process.execPath, [script], env, stdio);
}

/** Runs any plugin program (`python3 plugin.py`) with exactly `env`; standard output and error must be pipes. */
export function spawnProcess(command: string, args: readonly string[], env: NodeJS.ProcessEnv, stdio: StdioOptions = ['pipe', 'pipe', 'pipe']): PluginProcess {
  const child = spawn(command, args, { env, stdio });
  if (!child.stdout || !child.stderr) throw new Error('spawnProcess(): standard output and error must be pipes');
  const lines = { stdout: [] as string[], stderr: [] as string[] };
  const readers = { stdout: createInterface({ input: child.stdout }), stderr: createInterface({ input: child.stderr }) };
  readers.stdout.on('line', (l) => lines.stdout.push(l));
  readers.stderr.on('line', (l) => lines.stderr.push(l));
  let exited = false;
  const exit = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => {
      exited = true;
      resolve({ code, signal });
    });
  });
  const line = (stream: 'stdout' | 'stderr', wanted: string, ms = 10_000): Promise<string> =>
    new Promise((resolve, reject) => {
      if (lines[stream].includes(wanted)) return resolve(wanted);
      const cleanup = (): void => {
        clearTimeout(timer);
        readers[stream].off('line', onLine);
        child.off('close', onClose);
      };
      const onLine = (l: string): void => {
        if (l !== wanted) return;
        cleanup();
        resolve(l);
      };
      const onClose = (): void => {
        cleanup();
        reject(new Error(`plugin exited before printing ${JSON.stringify(wanted)} on ${stream}; stderr: ${lines.stderr.join('\n')}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${JSON.stringify(wanted)} on ${stream} within ${ms} ms; stderr: ${lines.stderr.join('\n')}`));
      }, ms);
      readers[stream].on('line', onLine);
      if (exited) return onClose();
      child.once('close', onClose);
    });
  const stop = (): Promise<Exit> => {
    if (!exited) child.kill('SIGTERM');
    return exit;
  };
  return { child, stdout: lines.stdout, stderr: lines.stderr, exit, line, stop };
}

/** A request envelope as a host sends it, without a deadline. */
export function envelope(payload: unknown): string {
  return JSON.stringify({ Context: { Deadline: null }, Payload: payload });
}
