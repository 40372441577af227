// A host with host services killed with SIGKILL: it cannot clean up, so its plugin does:
// the plugin exits, and removes host.sock and the private directory with its own socket.
import { existsSync, readdirSync } from 'node:fs';
import { fixture, pidAlive, removeDir, spawnNode, waitFor, waitForPidGone, type Spawned } from '../support/host-helpers';

describe('a host with host services killed with SIGKILL', () => {
  let parent: Spawned | undefined;
  let pid = 0;
  let socketDir = '';

  afterEach(async () => {
    if (parent && parent.child.exitCode === null && parent.child.signalCode === null) {
      parent.child.kill('SIGKILL');
      await parent.exited;
    }
    if (pid !== 0 && pidAlive(pid)) process.kill(pid, 'SIGKILL');
    if (socketDir !== '') removeDir(socketDir);
  });

  it('leaves neither the plugin nor anything on disk', async () => {
    parent = spawnNode([fixture('services/services-host')]);
    const line = await parent.line(/^plugin \d+ \S+$/);
    const [, pidText, dir] = /^plugin (\d+) (\S+)$/.exec(line) ?? [];
    pid = Number(pidText);
    socketDir = dir ?? '';
    expect(readdirSync(socketDir).sort()).toEqual(['host.sock', 'plugin.sock']);

    parent.child.kill('SIGKILL');
    await parent.exited;
    await waitForPidGone(pid, 5000);
    // The plugin removes the directory as it exits; its exit may be seen a moment before.
    await waitFor(() => !existsSync(socketDir), 2000, `${socketDir} to be removed`);
  });
});
