// Fault: the socket file. Deleted under a live plugin, left behind by a killed plugin,
// taken by another process, and created with private permissions wherever it is.
import { existsSync, lstatSync, statSync, unlinkSync } from 'node:fs';
import { request } from 'node:http';
import * as path from 'node:path';
import { connect, PluginError, start, startWithCommand, startWithProvider, StartError, type Connection, type ContractCheck, type Starter } from '../../../lib';
import { FaultTest } from '../../fixtures/faults/fault-contract';
import { FAULT_CONFIG, faultStarter, openFds, shown, timed } from '../../support/fault-helpers';
import {
  collectingLogger,
  fixture,
  pidAlive,
  rejectionOf,
  removeDir,
  spawnNode,
  tempDir,
  waitFor,
  waitForPidGone,
  type CollectingLogger,
  type Spawned,
} from '../../support/host-helpers';

let dir: string;
let count = 0;
const socketPath = (): string => path.join(dir, `s${++count}.sock`);
const open: Array<{ term(): Promise<void> }> = [];
const others: Spawned[] = [];

beforeAll(() => {
  dir = tempDir();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.term()));
  for (const other of others.splice(0)) {
    if (other.child.exitCode === null && other.child.signalCode === null) {
      other.child.kill('SIGKILL');
      await other.exited;
    }
  }
});

afterAll(() => removeDir(dir));

async function connectFault(config: { socket?: string; keepAlive?: number; connections?: number; contractCheck?: ContractCheck } = {}): Promise<Connection<FaultTest> & { logger: CollectingLogger }> {
  const { starter, logger } = faultStarter();
  const connection = await connect(FaultTest, starter, { ...FAULT_CONFIG, socket: socketPath(), ...config });
  open.push(connection);
  return { ...connection, logger };
}

/** fault-plugin run by another process than this host (no token: open to anyone), listening on `socket`. */
async function foreignPlugin(socket: string): Promise<Spawned> {
  const other = spawnNode([fixture('faults/fault-plugin')], { PLUGIN_SOCKET: socket, PLUGWIRE_TOKEN: '' });
  others.push(other);
  await other.line(/^plugin is ready$/);
  return other;
}

/** A raw protocol call to whatever listens on `socket`: status and body. */
function rawCall(socket: string, route: string, payload: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path: route, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += String(chunk)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ Context: { Deadline: null }, Payload: payload }));
  });
}

function mode(file: string): number {
  return lstatSync(file).mode & 0o777;
}

describe('the socket file', () => {
  describe('deleted under a live plugin', () => {
    // The right outcome: a connection that is already open still reaches the live plugin,
    // so calls on it are answered by that process, without a restart. Once the host has
    // closed its idle connection, nothing can reach that process any more: the next call
    // (even a non-idempotent one: a socket that is not there was not reached) terminates
    // it, starts a new plugin on the path, and is answered by it.
    // One connection, so that the pool can only reuse the kept-alive one while it lasts.
    it('calls on the kept-alive connection are answered by the same process; once the idle connection is gone, the next call (not idempotent) restarts the plugin once and succeeds, and the old process is terminated', async () => {
      // No manifest request at start: the first connection is the test's own.
      const { plugin, client } = await connectFault({ keepAlive: 300, connections: 1, contractCheck: 'off' });
      const pid = client.pid!;
      const baseline = openFds(pid);
      await expect(plugin.echo('before')).resolves.toBe('before echoed');
      unlinkSync(client.socket);

      await expect(plugin.pid()).resolves.toBe(pid);
      await expect(plugin.record('kept-alive')).resolves.toBe('kept-alive recorded');
      expect(client.stats.restarts).toBe(0);

      // The host closes the idle connection after keepAlive (300 ms): the plugin's descriptors drop back.
      await waitFor(() => openFds(pid) <= baseline, 3000, 'the idle connection to close');
      const outcome = await timed(() => plugin.record('after'));
      expect(shown(outcome)).toBe('after recorded');
      expect(client.stats.restarts).toBe(1);
      expect(client.pid).not.toBe(pid);
      await expect(plugin.pid()).resolves.toBe(client.pid);
      await waitForPidGone(pid, 3000);
      expect(lstatSync(client.socket).isSocket()).toBe(true);
      expect(mode(client.socket)).toBe(0o600);
    });

    it('a slow call holds the only open connection while a concurrent call needs a new one: both are answered (the old process finishes its call before it ends), with one restart', async () => {
      // No manifest request at start: the slow call's connection is the only one.
      const { plugin, client, logger } = await connectFault({ contractCheck: 'off' });
      const pid = client.pid!;
      // The only connection is busy with this call: the next call must open a new one.
      const slow = timed(() => plugin.slow(500, 'old'));
      await waitFor(() => logger.lines.includes('[fault-plugin] slow started old'), 3000, 'the slow call to start');
      unlinkSync(client.socket);

      const other = await timed(() => plugin.echo('new'));
      expect(shown(other)).toBe('new echoed');
      expect(shown(await slow)).toBe('slow old');
      expect(client.stats.restarts).toBe(1);
      expect(client.pid).not.toBe(pid);
      await waitForPidGone(pid, 3000);
    });
  });

  it('a stale socket file left by a plugin killed with SIGKILL at the chosen path is removed, and the new plugin starts and answers on a new socket', async () => {
    const socket = socketPath();
    const killed = await foreignPlugin(socket);
    killed.child.kill('SIGKILL');
    await killed.exited;
    expect(lstatSync(socket).isSocket()).toBe(true);

    const { plugin, client } = await connectFault({ socket });
    await expect(plugin.echo('fresh')).resolves.toBe('fresh echoed');
    await expect(plugin.pid()).resolves.toBe(client.pid);
    expect(mode(socket)).toBe(0o600);
    expect(client.stats.starts).toBe(1);
  });

  describe('another process already listens on the chosen path', () => {
    const starters: Array<[string, () => Starter]> = [
      ['startWithCommand', () => faultStarter().starter],
      ['startWithProvider', () => startWithProvider(new (class extends FaultTest {})())],
    ];

    it.each(starters)('%s: start() rejects with PLUGWIRE_START (reason socket), and the other plugin keeps its socket and answers', async (_name, makeStarter) => {
      const socket = socketPath();
      const other = await foreignPlugin(socket);
      const ino = lstatSync(socket).ino;

      const error = await rejectionOf(start(makeStarter(), socket, FAULT_CONFIG));
      expect(PluginError.is(error, 'PLUGWIRE_START')).toBe(true);
      expect((error as StartError).reason).toBe('socket');

      expect(lstatSync(socket).ino).toBe(ino);
      await expect(rawCall(socket, '/echo', 'still there')).resolves.toEqual({ status: 200, body: '"still there echoed"\n' });
      expect(pidAlive(other.child.pid!)).toBe(true);
    });
  });

  describe('permissions', () => {
    const starters: Array<[string, () => Starter]> = [
      ['startWithCommand', () => faultStarter().starter],
      ['startWithProvider', () => startWithProvider(new (class extends FaultTest {})())],
    ];

    it.each(starters)('%s: a chosen path in directories that do not exist yet creates each of them 0700, and the socket 0600', async (_name, makeStarter) => {
      const socket = path.join(dir, `new${++count}`, 'deeper', 'plugin.sock');
      const result = await start(makeStarter(), socket, FAULT_CONFIG);
      open.push(result);
      expect(statSync(path.dirname(path.dirname(socket))).mode & 0o777).toBe(0o700);
      expect(statSync(path.dirname(socket)).mode & 0o777).toBe(0o700);
      expect(lstatSync(socket).isSocket()).toBe(true);
      expect(mode(socket)).toBe(0o600);
    });

    it('with umask 0000 in the host and in the plugin, a chosen path still gets directories 0700 and a socket 0600', async () => {
      const previous = process.umask(0o000);
      try {
        const socket = path.join(dir, `open${++count}`, 'plugin.sock');
        const logger = collectingLogger();
        const starter = startWithCommand('/bin/sh', ['-c', 'umask 0000 && exec "$0" "$1"', process.execPath, fixture('faults/fault-plugin')], { logger, name: 'fault-plugin' });
        const result = await start(starter, socket, FAULT_CONFIG);
        open.push(result);
        await expect(result.client.call('/echo', 'umask')).resolves.toBe('umask echoed');
        expect(statSync(path.dirname(socket)).mode & 0o777).toBe(0o700);
        expect(mode(socket)).toBe(0o600);
      } finally {
        process.umask(previous);
      }
    });

    it('when start() chooses the path: a private directory 0700 with the socket 0600, both removed by term()', async () => {
      const result = await start(faultStarter().starter, undefined, FAULT_CONFIG);
      open.push(result);
      const socket = result.client.socket;
      expect(statSync(path.dirname(socket)).mode & 0o777).toBe(0o700);
      expect(mode(socket)).toBe(0o600);
      await result.term();
      expect(existsSync(path.dirname(socket))).toBe(false);
    });
  });
});
