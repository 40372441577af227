// The NestJS sample end to end: the compiled HTTP host (samples/nest-host) starts the
// compiled Nest plugin (samples/nest-plugin) and answers through it; SIGTERM stops both.
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { pidAlive, spawnNode, waitForPidGone, within, type Spawned, httpGet } from '../support/host-helpers';

const HOST = path.join(__dirname, '../../dist/samples/nest-host/main.js');


/** The pids whose parent is `ppid`, from /proc/<pid>/stat ("pid (comm) state ppid ..."). */
function childrenOf(ppid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

describe('samples/nest-host with samples/nest-plugin', () => {
  let host: Spawned | undefined;
  const pluginPids: number[] = [];

  afterEach(async () => {
    if (host && host.child.exitCode === null && host.child.signalCode === null) host.child.kill('SIGKILL');
    await host?.exited;
    host = undefined;
    // Killed with its host, a plugin still ends through its lifeline; make sure of it.
    for (const pid of pluginPids.splice(0)) {
      if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
      await waitForPidGone(pid);
    }
  });

  it('answers GET /modify through the plugin, and SIGTERM stops the host and its plugin', async () => {
    host = spawnNode([HOST], { PORT: '0' });
    const line = await within(host.line(/^listening on \d+$/), 20_000, 'the listening line');
    const port = Number(/\d+$/.exec(line)![0]);
    expect(port).toBeGreaterThan(0);

    const plugins = childrenOf(host.child.pid!);
    pluginPids.push(...plugins);
    expect(plugins).toHaveLength(1);

    await expect(httpGet(port, '/modify?text=hello')).resolves.toEqual({ status: 200, body: { result: 'hello decorated' } });
    await expect(httpGet(port, `/modify?text=${encodeURIComponent('two words')}`)).resolves.toEqual({ status: 200, body: { result: 'two words decorated' } });
    const missing = await httpGet(port, '/modify');
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual(expect.objectContaining({ statusCode: 400, message: 'query parameter text is required' }));
    expect(childrenOf(host.child.pid!)).toEqual(plugins); // the same plugin answered every call

    host.child.kill('SIGTERM');
    // Nest's shutdown hooks close the application, then raise the signal again.
    await expect(within(host.exited, 10_000, 'the host to exit')).resolves.toEqual({ code: null, signal: 'SIGTERM' });
    // The host waited for its plugin to end before it exited: no polling needed.
    expect(pidAlive(plugins[0]!)).toBe(false);
    expect(host.lines).toContain('[Modifier] nest-plugin: context closed');
    expect(host.stderr()).toBe('');
  });
});
