// A host that ends without term(), killed or by exiting: its plugin must not outlive it.
import { existsSync } from 'node:fs';
import { fixture, pidAlive, removeDir, spawnNode, waitForPidGone, within, type Spawned } from '../support/host-helpers';

/** Starts host-parent and reads the plugin's pid and socket directory from its first line. */
async function startParent(mode: 'wait' | 'exit' | 'idle-services'): Promise<{ parent: Spawned; pid: number; socketDir: string }> {
  const parent = spawnNode([fixture('host/host-parent'), mode]);
  const line = await parent.line(/^plugin \d+ \S+$/);
  const [, pid, socketDir] = /^plugin (\d+) (\S+)$/.exec(line) ?? [];
  return { parent, pid: Number(pid), socketDir: socketDir ?? '' };
}

describe('a host that ends without term()', () => {
  const leftovers: Array<{ parent: Spawned; pid: number; socketDir: string }> = [];

  afterEach(async () => {
    // Whatever a failed test left: the host, the plugin, the socket directory.
    for (const { parent, pid, socketDir } of leftovers.splice(0)) {
      if (parent.child.exitCode === null && parent.child.signalCode === null) {
        parent.child.kill('SIGKILL');
        await parent.exited;
      }
      if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
      removeDir(socketDir);
    }
  });

  it('killed with SIGKILL: the plugin exits within a few seconds', async () => {
    const started = await startParent('wait');
    leftovers.push(started);
    const { parent, pid } = started;
    expect(pidAlive(pid)).toBe(true);

    parent.child.kill('SIGKILL');
    await parent.exited;
    await waitForPidGone(pid, 5000);
  });

  it('exiting normally: the plugin is gone and its temporary socket directory removed', async () => {
    const started = await startParent('exit');
    leftovers.push(started);
    const { parent, pid, socketDir } = started;
    expect(socketDir).not.toBe('');

    expect(await parent.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(socketDir)).toBe(false);
    await waitForPidGone(pid, 5000);
    expect(parent.stderr()).toBe('');
  });

  it('offering host services, with nothing more to do after its calls: the host ends by itself, and its plugin with it', async () => {
    const started = await startParent('idle-services');
    leftovers.push(started);
    const { parent, pid, socketDir } = started;
    // The plugin's call to the host's services went through, on a connection it keeps.
    await parent.line(/"ok":true/);

    expect(await within(parent.exited, 10_000, 'the host to end by itself')).toEqual({ code: 0, signal: null });
    expect(existsSync(socketDir)).toBe(false);
    await waitForPidGone(pid, 5000);
    expect(parent.stderr()).toBe('');
  });
});
