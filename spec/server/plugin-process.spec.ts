/**
 * serve() as a standalone plugin process (its defaults): the fixture
 * spec/fixtures/server/server-slow-plugin.ts is spawned directly with node:child_process and
 * PLUGIN_SOCKET, as a Go host would, not through plugwire's host. Needs
 * `npm run build` first (the fixture runs from dist/).
 */
import * as fs from 'node:fs';
import type { Socket } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { rawRequest, type RawResponse } from '../support/raw-http';
import { connectOutcome, within } from '../support/host-helpers';
import { envelope, spawnPluginProcess, type PluginProcess } from '../support/plugin-process';

const FIXTURE = path.join(__dirname, '../../dist/spec/fixtures/server/server-slow-plugin.js');
const READY = 'plugin is ready';
const FAILED = 'failed to listen on socket';

const started: PluginProcess[] = [];

function spawnPlugin(socket: string, options: { lifeline?: boolean } = {}): PluginProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, PLUGIN_SOCKET: socket };
  delete env['PLUGWIRE_LIFELINE_FD'];
  if (options.lifeline) env['PLUGWIRE_LIFELINE_FD'] = '3';
  const plugin = spawnPluginProcess(FIXTURE, env, options.lifeline ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe']);
  started.push(plugin);
  return plugin;
}

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
