// Fault: the host killed with SIGKILL (no exit handler runs) while it has three plugins
// running, one idle, one busy with a long call, one already restarted once. All three
// plugin processes end within a few seconds, and remove their socket files and the
// private directories start() made for them (PLUGWIRE_SOCKET_DIR): the idle ones at once,
// the busy one once its call has had the server's grace period (serve()'s `grace`, 5 s by
// default) to finish.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fixture, pidAlive, removeDir, spawnNode, waitFor, waitForPidGone, type Spawned } from '../../support/host-helpers';

/** serve()'s default grace for calls in flight when the plugin closes. */
const GRACE = 5000;

describe('a host killed with SIGKILL', () => {
  let host: Spawned | undefined;
  let plugins: Array<{ pid: number; socket: string }> = [];

  afterEach(async () => {
    if (host && host.child.exitCode === null && host.child.signalCode === null) {
      host.child.kill('SIGKILL');
      await host.exited;
    }
    for (const { pid, socket } of plugins) {
      if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
      // Should a plugin not have removed the private directory start() made, the test does.
      removeDir(path.dirname(socket));
    }
    host = undefined;
    plugins = [];
  });

  it('with 3 plugins running (idle, busy with a 30 s call, restarted once): the idle and the restarted one exit within 2 s, the busy one within its 5 s grace, and all remove their socket files and directories', async () => {
    host = spawnNode([fixture('faults/fault-host')]);
    const line = await host.line(/^plugins /);
    const fields = line.split(' ').slice(1);
    for (let i = 0; i < fields.length; i += 2) plugins.push({ pid: Number(fields[i]), socket: fields[i + 1] ?? '' });
    expect(plugins).toHaveLength(3);
    for (const { pid, socket } of plugins) {
      expect(pidAlive(pid)).toBe(true);
      expect(existsSync(socket)).toBe(true);
    }

    const killedAt = Date.now();
    host.child.kill('SIGKILL');
    await host.exited;

    const goneAfter = await Promise.all(plugins.map(({ pid }) => waitForPidGone(pid, GRACE + 2000).then(() => Date.now() - killedAt)));
    const [idle, busy, restarted] = goneAfter;
    expect(idle).toBeLessThan(2000);
    expect(restarted).toBeLessThan(2000);
    expect(busy).toBeLessThan(GRACE + 1500);
    await waitFor(() => plugins.every(({ socket }) => !existsSync(socket)), 1000, 'the socket files to be removed');
    await waitFor(() => plugins.every(({ socket }) => !existsSync(path.dirname(socket))), 1000, 'the socket directories to be removed');
  });

  it('while a busy plugin already shuts down on SIGTERM (a signal to the whole process group): that plugin still removes the directory its host made', async () => {
    host = spawnNode([fixture('faults/fault-host')]);
    const line = await host.line(/^plugins /);
    const fields = line.split(' ').slice(1);
    for (let i = 0; i < fields.length; i += 2) plugins.push({ pid: Number(fields[i]), socket: fields[i + 1] ?? '' });
    const busy = plugins[1] as { pid: number; socket: string };

    // The busy plugin starts its graceful shutdown (its 30 s call holds it in the grace
    // period), then its host dies without cleaning anything up.
    process.kill(busy.pid, 'SIGTERM');
    await waitFor(() => !existsSync(busy.socket), 2000, 'the busy plugin to stop listening');
    host.child.kill('SIGKILL');
    await host.exited;

    await waitForPidGone(busy.pid, GRACE + 2000);
    await waitFor(() => !existsSync(path.dirname(busy.socket)), 1000, "the busy plugin's socket directory to be removed");
  });
});
