/**
 * serve() as a standalone plugin process (its defaults): the fixture
 * spec/fixtures/server-slow-plugin.ts is spawned directly with node:child_process and
 * PLUGIN_SOCKET, as a Go host would, not through plugwire's host. Needs
 * `npm run build` first (the fixture runs from dist/).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import type { Socket } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';

import { rawRequest, type RawResponse } from '../support/raw-http';
import { connectOutcome, within } from '../support/host-helpers';

const FIXTURE = path.join(__dirname, '../../dist/spec/fixtures/server-slow-plugin.js');
const READY = 'plugin is ready';
const FAILED = 'failed to listen on socket';

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface PluginProcess {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves once the process exited and its output streams closed. */
  readonly exit: Promise<Exit>;
  /** Resolves with the first line of the stream that matches, failing on exit or after `ms`. */
  line(stream: 'stdout' | 'stderr', wanted: string, ms?: number): Promise<string>;
}

const started: PluginProcess[] = [];

function spawnPlugin(socket: string, options: { lifeline?: boolean } = {}): PluginProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, PLUGIN_SOCKET: socket };
  delete env['PLUGWIRE_LIFELINE_FD'];
  if (options.lifeline) env['PLUGWIRE_LIFELINE_FD'] = '3';
  const child = spawn(process.execPath, [FIXTURE], {
    env,
    stdio: options.lifeline ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'],
  });
  const lines = { stdout: [] as string[], stderr: [] as string[] };
  const readers = {
    stdout: createInterface({ input: child.stdout! }),
    stderr: createInterface({ input: child.stderr! }),
  };
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
        reject(new Error(`no ${JSON.stringify(wanted)} on ${stream} within ${ms} ms`));
      }, ms);
      readers[stream].on('line', onLine);
      if (exited) return onClose();
      child.once('close', onClose);
    });

  const plugin: PluginProcess = { child, stdout: lines.stdout, stderr: lines.stderr, exit, line };
  started.push(plugin);
  return plugin;
}

/** Resolves with the promise's value, or fails after `ms` (a bound, not a wait). */

/** 'accepted', or the error code of a refused connection. */

/** Polls (every 20 ms, at most `ms`) until new connections to the socket are refused; returns the refusal code. */
async function refusedWithin(socket: string, ms: number): Promise<string> {
  const until = Date.now() + ms;
  for (;;) {
    const outcome = await connectOutcome(socket);
    if (outcome !== 'accepted') return outcome;
    if (Date.now() > until) throw new Error(`${socket} still accepted connections after ${ms} ms`);
    await delay(20);
  }
}

function envelope(payload: unknown): string {
  return JSON.stringify({ Context: { Deadline: null }, Payload: payload });
}

describe('a standalone plugin process (serve() defaults)', () => {
  let dir: string;
  let count = 0;
  const nextSocket = (): string => path.join(dir, `p${++count}.sock`);

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-'));
  });

  afterEach(async () => {
    for (const plugin of started.splice(0)) {
      if (plugin.child.exitCode === null && plugin.child.signalCode === null) plugin.child.kill('SIGKILL');
      await plugin.exit;
    }
  });

  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prints exactly "plugin is ready" once it listens on an owner-only socket', async () => {
    const socket = nextSocket();
    const plugin = spawnPlugin(socket);
    await plugin.line('stdout', READY);
    // listening already when the line arrives
    const stat = fs.statSync(socket);
    expect(stat.isSocket()).toBe(true);
    expect(stat.mode & 0o777).toBe(0o600);
    expect(await rawRequest(socket, { path: '/ping', body: envelope(null) })).toMatchObject({ status: 200, body: '"pong"\n' });

    plugin.child.kill('SIGTERM');
    expect(await within(plugin.exit, 10_000, 'the exit')).toEqual({ code: 0, signal: null });
    expect(plugin.stdout).toEqual([READY]);
  });

  it('prints "failed to listen on socket" and exits non-zero for a socket in a missing directory', async () => {
    const socket = path.join(dir, 'missing', 'deeper', 'p.sock');
    const plugin = spawnPlugin(socket);
    const exit = await within(plugin.exit, 10_000, 'the exit');
    expect(plugin.stdout).toEqual([FAILED]);
    expect(exit.signal).toBeNull();
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
  });

  it('on SIGTERM refuses new connections, finishes the call in flight with 200, exits 0 and removes the socket', async () => {
    const socket = nextSocket();
    const plugin = spawnPlugin(socket);
    await plugin.line('stdout', READY);

    let answered = false;
    const slow = rawRequest(socket, { path: '/slow', body: envelope('in-flight') }).then((res: RawResponse) => {
      answered = true;
      return res;
    });
    await plugin.line('stderr', 'slow call started: in-flight');

    plugin.child.kill('SIGTERM');
    const refusal = await refusedWithin(socket, 5000);
    expect(['ENOENT', 'ECONNREFUSED']).toContain(refusal);
    // the process waits for the call it is serving
    expect(answered).toBe(false);
    expect(plugin.child.exitCode).toBeNull();

    plugin.child.stdin!.end('release\n');
    const res = await within(slow, 10_000, 'the slow answer');
    expect(res.status).toBe(200);
    expect(res.body).toBe('"done:in-flight"\n');

    expect(await within(plugin.exit, 10_000, 'the exit')).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(socket)).toBe(false);
    expect(plugin.stdout).toEqual([READY]);
  });

  it('on SIGINT exits 0 and removes the socket', async () => {
    const socket = nextSocket();
    const plugin = spawnPlugin(socket);
    await plugin.line('stdout', READY);
    plugin.child.kill('SIGINT');
    expect(await within(plugin.exit, 10_000, 'the exit')).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(socket)).toBe(false);
  });

  it('exits 0 by itself when the host end of its lifeline (fd 3) closes', async () => {
    const socket = nextSocket();
    const plugin = spawnPlugin(socket, { lifeline: true });
    await plugin.line('stdout', READY);
    expect(await rawRequest(socket, { path: '/ping', body: envelope(null) })).toMatchObject({ status: 200 });

    (plugin.child.stdio[3] as Socket).destroy();
    expect(await within(plugin.exit, 10_000, 'the exit')).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(socket)).toBe(false);
    expect(plugin.stdout).toEqual([READY]);
  });
});
