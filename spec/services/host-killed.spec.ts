// A host with host services killed with SIGKILL: it cannot clean up, so its plugin does:
// the plugin exits, and removes host.sock and the private directory with its own socket.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fixture, pidAlive, removeDir, spawnNode, tempDir, waitFor, waitForPidGone, type Spawned } from '../support/host-helpers';

describe('a host with host services killed with SIGKILL', () => {
  let parent: Spawned | undefined;
  let pid = 0;
  const dirs: string[] = [];

  afterEach(async () => {
    if (parent && parent.child.exitCode === null && parent.child.signalCode === null) {
      parent.child.kill('SIGKILL');
      await parent.exited;
    }
    if (pid !== 0 && pidAlive(pid)) process.kill(pid, 'SIGKILL');
    for (const dir of dirs.splice(0)) removeDir(dir);
  });

  /** Starts services-host, and reads the plugin's pid and socket directory from its first line. */
  async function startHost(args: string[]): Promise<{ host: Spawned; socketDir: string }> {
    const host = (parent = spawnNode([fixture('services/services-host'), ...args]));
    const line = await host.line(/^plugin \d+ \S+$/);
    const [, pidText, dir] = /^plugin (\d+) (\S+)$/.exec(line) ?? [];
    pid = Number(pidText);
    dirs.push(dir ?? '');
    return { host, socketDir: dir ?? '' };
  }

  async function kill(host: Spawned): Promise<void> {
    host.child.kill('SIGKILL');
    await host.exited;
    await waitForPidGone(pid, 5000);
  }

  it('leaves neither the plugin nor anything on disk', async () => {
    const { host, socketDir } = await startHost([]);
    expect(readdirSync(socketDir).sort()).toEqual(['host.sock', 'plugin.sock']);
    await kill(host);
    // The plugin removes the directory as it exits; its exit may be seen a moment before.
    await waitFor(() => !existsSync(socketDir), 2000, `${socketDir} to be removed`);
  });

  it('with a socket path of the user’s: the plugin removes the services’ own directory', async () => {
    const userDir = tempDir();
    dirs.push(userDir);
    const { host } = await startHost([path.join(userDir, 'user.sock')]);
    const entry = readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .find((e) => e.startsWith('PLUGWIRE_HOST_SOCKET='));
    const hostDir = path.dirname(entry?.slice('PLUGWIRE_HOST_SOCKET='.length) ?? '');
    dirs.push(hostDir);
    expect(readdirSync(hostDir)).toEqual(['host.sock']);
    await kill(host);
    await waitFor(() => !existsSync(hostDir), 2000, `${hostDir} to be removed`);
    await waitFor(() => readdirSync(userDir).length === 0, 2000, 'the plugin socket to be removed');
  });
});
