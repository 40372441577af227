// NODE_DEBUG=plugwire: the lines a host and a plugin write to standard error (util.debuglog),
// read from real processes. A host script (fixtures/diagnostics/diagnostics-host.ts) starts
// setup-plugin, whose lines it forwards with the `[setup-plugin]` prefix; the plugin is also
// run alone to see its shutdown lines, which a host may exit before forwarding.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { READY_LINE, SOCKET_ENV } from '../../lib';
import { rawRequest } from '../support/raw-http';
import { fixture, removeDir, tempDir } from '../support/host-helpers';

/** What a process printed, read to the end of both pipes, and how it ended. */
interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Running {
  readonly child: ChildProcess;
  /** Resolves at the first stdout line that equals `line`; rejects if the process ends first. */
  readonly printed: (line: string) => Promise<void>;
  /** Resolves once the process exited and both pipes ended ('close', not 'exit'). */
  readonly finished: Promise<Finished>;
}

/** Runs this Node with arguments and extra environment, its output collected. */
function runNode(args: readonly string[], env: NodeJS.ProcessEnv, extraFds = 0): Running {
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe', ...Array<'pipe'>(extraFds).fill('pipe')],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  const lines: string[] = [];
  const waiters = new Set<{ line: string; resolve: () => void }>();
  child.stdout?.on('data', (chunk: Buffer) => (stdout += String(chunk)));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += String(chunk)));
  if (child.stdout) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      for (const waiter of waiters) {
        if (waiter.line === line) {
          waiters.delete(waiter);
          waiter.resolve();
        }
      }
    });
  }
  const finished = new Promise<Finished>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  const printed = (line: string): Promise<void> =>
    lines.includes(line)
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
          waiters.add({ line, resolve });
          void finished.then(({ code, signal }) => reject(new Error(`process ended (${signal ?? code}) before printing ${line}; stderr:\n${stderr}`)));
        });
  return { child, printed, finished };
}

/** Runs the host fixture in a scenario to its end. */
function runHost(scenario: 'restart' | 'giveup' | 'broken', nodeDebug: string): Promise<Finished> {
  return runNode([fixture('diagnostics/diagnostics-host'), scenario], { NODE_DEBUG: nodeDebug }).finished;
}

/** The text after `PLUGWIRE <pid>: ` of the debug lines of process `pid`, in order. */
function debugLines(stderr: string, pid: number | string, prefix = ''): string[] {
  const head = `${prefix}PLUGWIRE ${pid}: `;
  return stderr
    .split('\n')
    .filter((line) => line.startsWith(head))
    .map((line) => line.slice(head.length));
}

/** Checks that each pattern matches a line, each after the line the one before it matched. */
function expectInOrder(lines: readonly string[], patterns: readonly RegExp[]): void {
  let from = 0;
  for (const pattern of patterns) {
    const at = lines.findIndex((line, index) => index >= from && pattern.test(line));
    if (at < 0) throw new Error(`no line matching ${String(pattern)} after line ${from} of:\n${lines.join('\n')}`);
    from = at + 1;
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

const HOST_DEBUG = /^PLUGWIRE \d+: /m;
const PLUGIN_DEBUG = /^\[setup-plugin\] PLUGWIRE \d+: /m;

describe('NODE_DEBUG=plugwire in a host and the plugin it starts', () => {
  let run: Finished;
  let hostPid: number;
  let first: string;
  let second: string;

  beforeAll(async () => {
    const host = runNode([fixture('diagnostics/diagnostics-host'), 'restart'], { NODE_DEBUG: 'plugwire' });
    hostPid = host.child.pid as number;
    run = await host.finished;
    [, first = '', second = ''] = /^pids (\d+) (\d+)$/m.exec(run.stdout) ?? [];
  });

  it('runs the scenario to its end', () => {
    expect(run).toMatchObject({ code: 0, signal: null });
    expect(first).toMatch(/^\d+$/);
    expect(second).toMatch(/^\d+$/);
    expect(second).not.toBe(first);
  });

  it('writes the host lines: start, ready with the pid, the failed call with its code, the exit, the restart with its cause, close', () => {
    const lines = debugLines(run.stderr, hostPid);
    const socket = /^\[setup-plugin\] starting on (\S+)$/.exec(lines[0] ?? '')?.[1];
    expect(socket).toBeDefined();
    expectInOrder(lines, [
      /^\[setup-plugin\] starting on \S+$/,
      new RegExp(`^\\[setup-plugin\\] ready: pid ${first}, \\d+ ms$`),
      /^\[setup-plugin\] call to \/coded failed after \d+ ms: PLUGWIRE_REMOTE no apples left$/,
      new RegExp(`^\\[setup-plugin\\] pid ${first} killed by SIGKILL$`),
      /^\[setup-plugin\] plugin is gone \(killed by SIGKILL\); it is restarted at the next call$/,
      new RegExp(`^\\[setup-plugin\\] restarting on ${escape(socket ?? '')} \\(it was gone: killed by SIGKILL\\)$`),
      new RegExp(`^\\[setup-plugin\\] ready: pid ${second}, \\d+ ms$`),
      /^\[setup-plugin\] closing: 0 calls in flight$/,
      /^\[setup-plugin\] closed$/,
    ]);
    // A call that succeeds writes nothing.
    expect(lines.filter((line) => line.includes('/wait'))).toEqual([]);
  });

  it("forwards the plugin's own lines with its name in front: the socket and routes it listens on, its failed call", () => {
    const socket = /starting on (\S+)$/.exec(debugLines(run.stderr, hostPid)[0] ?? '')?.[1] ?? '';
    const plugin = debugLines(run.stderr, first, '[setup-plugin] ');
    expect(plugin).toEqual(
      expect.arrayContaining([
        `listening on ${socket}: /wait, /patient, /header, /order, /boom, /coded, /missing`,
        'call to /coded failed: OUT_OF_STOCK no apples left',
      ]),
    );
    expect(debugLines(run.stderr, second, '[setup-plugin] ')).toContain(`listening on ${socket}: /wait, /patient, /header, /order, /boom, /coded, /missing`);
  });

  it('writes that the host gave up on a plugin whose restarts fail, and why the restart failed', async () => {
    const giveup = await runHost('giveup', 'plugwire');
    expect(giveup).toMatchObject({ code: 0, stdout: expect.stringContaining('gave up PLUGWIRE_UNAVAILABLE') });
    expectInOrder(giveup.stderr.split('\n'), [
      /\] restarting on \S+ \(it was gone: killed by SIGKILL\)$/,
      /\] start failed: plugin setup-plugin exited before it was ready \(code 1\)/,
      /\] given up after 1 restart without a successful call: calls fail for 10000 ms$/,
      /\] call to \/wait failed after \d+ ms: PLUGWIRE_UNAVAILABLE /,
    ]);
  });

  it('writes why a plugin could not be started', async () => {
    const broken = await runHost('broken', 'plugwire');
    expect(broken).toMatchObject({ code: 0, stdout: 'start failed PLUGWIRE_START\n' });
    expect(broken.stderr).toMatch(/^PLUGWIRE \d+: \[setup-plugin\] start failed: plugin setup-plugin exited before it was ready \(code 1\)$/m);
  });
});

describe('without NODE_DEBUG', () => {
  it.each(['', 'http,net'])('writes none of those lines (NODE_DEBUG=%j)', async (nodeDebug) => {
    const run = await runHost('restart', nodeDebug);
    expect(run).toMatchObject({ code: 0, stdout: expect.stringMatching(/^pids \d+ \d+$/m) });
    expect(run.stderr).not.toMatch(HOST_DEBUG);
    expect(run.stderr).not.toMatch(PLUGIN_DEBUG);
  });
});

describe('NODE_DEBUG=plugwire in a plugin run alone', () => {
  let dir: string;

  beforeEach(() => {
    dir = tempDir();
  });

  afterEach(() => {
    removeDir(dir);
  });

  /** Starts setup-plugin with NODE_DEBUG=plugwire on a socket in the temporary directory. */
  async function startPlugin(env: NodeJS.ProcessEnv = {}, extraFds = 0): Promise<{ plugin: Running; socket: string }> {
    const socket = path.join(dir, 'plugin.sock');
    const plugin = runNode([fixture('diagnostics/setup-plugin')], { NODE_DEBUG: 'plugwire', [SOCKET_ENV]: socket, ...env }, extraFds);
    await plugin.printed(READY_LINE);
    return { plugin, socket };
  }

  const body = JSON.stringify({ Context: { Deadline: null }, Payload: null });

  it('writes each failed call with its code (a refused one too), a route it does not serve, and its shutdown on SIGTERM', async () => {
    const { plugin, socket } = await startPlugin();
    expect((await rawRequest(socket, { path: '/nope', body })).status).toBe(404);
    expect((await rawRequest(socket, { path: '/coded', body })).status).toBe(500);
    expect((await rawRequest(socket, { path: '/wait', body: 'not json' })).status).toBe(400);
    expect((await rawRequest(socket, { path: '/wait', body: JSON.stringify({ Payload: 1 }) })).status).toBe(200);
    plugin.child.kill('SIGTERM');
    const { code, stderr } = await plugin.finished;
    expect(code).toBe(0);
    expect(debugLines(stderr, plugin.child.pid as number)).toEqual([
      `listening on ${socket}: /wait, /patient, /header, /order, /boom, /coded, /missing`,
      'call to /nope failed: PLUGWIRE_METHOD_NOT_FOUND',
      'call to /coded failed: OUT_OF_STOCK no apples left',
      expect.stringMatching(/^call to \/wait failed: PLUGWIRE_PROTOCOL request body is not valid JSON: /),
      'SIGTERM: closing, 0 calls in flight',
      `server on ${socket} closed`,
    ]);
  });

  it('writes that its host is gone when the lifeline closes', async () => {
    const { plugin, socket } = await startPlugin({ PLUGWIRE_LIFELINE_FD: '3' }, 1);
    // The host's end of the lifeline: closing it is what the death of a host looks like.
    plugin.child.stdio[3]?.destroy();
    const { code, stderr } = await plugin.finished;
    expect(code).toBe(0);
    expect(debugLines(stderr, plugin.child.pid as number).slice(1)).toEqual(['the host is gone: closing, 0 calls in flight', `server on ${socket} closed`]);
  });
});
