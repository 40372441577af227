// Attack: Ctrl-C, systemd and `timeout` signal the whole process group. The host cleaned
// up only on 'exit', which a death by signal never emits, so the private socket directory
// (/tmp/plugwire-XXXXXX) was left behind. A host that nothing else handles the signal for
// cleans up and then dies of the signal as before; its plugin ends too.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fixture, pidAlive, removeDir, waitForPidGone, within } from '../support/host-helpers';

interface Group {
  readonly pgid: number;
  readonly plugin: number;
  readonly socketDir: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly stderr: () => string;
  readonly lines: readonly string[];
}

const leftovers: Group[] = [];

/** host-parent as the leader of its own process group, as a shell runs a job. */
async function startGroup(host: 'host-parent' | 'attack-host-signal' = 'host-parent'): Promise<Group> {
  const child = spawn(process.execPath, [fixture(`host/${host}`), 'wait'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const lines: string[] = [];
  const reader = createInterface({ input: child.stdout });
  reader.on('line', (line) => lines.push(line));
  const line = await within(
    new Promise<string>((resolve, reject) => {
      reader.once('line', resolve);
      void exited.then(() => reject(new Error(`host exited before it was ready: ${stderr}`)));
    }),
    20_000,
    'the host to start its plugin',
  );
  const [, pid, socketDir] = /^plugin (\d+) (\S+)$/.exec(line) ?? [];
  const group = { pgid: child.pid!, plugin: Number(pid), socketDir: socketDir ?? '', exited, stderr: () => stderr, lines };
  leftovers.push(group);
  return group;
}

afterEach(async () => {
  for (const { pgid, plugin, socketDir, exited } of leftovers.splice(0)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // the group is gone
    }
    await exited;
    if (pidAlive(plugin)) process.kill(plugin, 'SIGKILL');
    removeDir(socketDir);
  }
});

describe('a signal to the process group of a host and its plugin', () => {
  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)('%s: the host dies of it, the plugin ends, and the socket directory is removed', async (signal) => {
    const group = await startGroup();
    expect(existsSync(group.socketDir)).toBe(true);

    process.kill(-group.pgid, signal);
    expect(await within(group.exited, 10_000, 'the host to end')).toEqual({ code: null, signal });
    await waitForPidGone(group.plugin, 10_000);
    expect(existsSync(group.socketDir)).toBe(false);
    expect(group.stderr()).toBe('');
  });

  it('SIGINT to a host that handles it itself: its handler runs to the end (term(), then exit 0), and the directory is removed', async () => {
    const group = await startGroup('attack-host-signal');
    process.kill(-group.pgid, 'SIGINT');
    expect(await within(group.exited, 10_000, 'the host to end')).toEqual({ code: 0, signal: null });
    expect(group.lines[group.lines.length - 1]).toBe('handled');
    await waitForPidGone(group.plugin, 10_000);
    expect(existsSync(group.socketDir)).toBe(false);
    expect(group.stderr()).toBe('');
  });
});
