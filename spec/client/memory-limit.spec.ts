// limits.memoryMiB: the client reads the plugin's resident memory (Linux, /proc) and
// recycles a plugin over the limit, every call meanwhile answered; a Node plugin started by
// spawnCommand gets the limit as its heap limit in NODE_OPTIONS. Real processes.
import * as path from 'node:path';
import { connect, PluginError, serveInProcess, type CommandOptions, type Connection, type PluginConfigInput, type Remote } from '../../lib';
import { MEMORY_CHECK_INTERVAL, residentMiB, watchMemory } from '../../lib/client/memory-watch';
import { LimitsTest, type Answered, type MemoryReport } from '../fixtures/limits/limits-contract';
import { collectingLogger, fixtureStarter, pidAlive, removeDir, tempDir, waitFor, within, type CollectingLogger } from '../support/host-helpers';

const linux = process.platform === 'linux';
const onLinux = linux ? it : it.skip;

let dir: string;
let count = 0;
const open: Array<Connection<LimitsTest>> = [];

beforeAll(() => {
  dir = tempDir();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

afterAll(() => removeDir(dir));

async function connectLimits(config: PluginConfigInput, options: Omit<CommandOptions, 'logger'> = {}): Promise<Connection<LimitsTest> & { hostLog: CollectingLogger }> {
  const { starter } = fixtureStarter('limits/limits-plugin', options);
  const hostLog = collectingLogger();
  const connection = await connect(LimitsTest, starter, { timeout: 10_000, terminationGrace: 1000, logger: hostLog, ...config, socket: path.join(dir, `m${++count}.sock`) });
  open.push(connection);
  return { ...connection, hostLog };
}

/** `callers` loops of echo calls until stop(); every answer or error code kept. */
function startLoad(plugin: Remote<LimitsTest>, callers: number): { outcomes: Array<{ value: string; answer?: Answered; code?: string }>; stop: () => Promise<void> } {
  let running = true;
  const outcomes: Array<{ value: string; answer?: Answered; code?: string }> = [];
  const loops = Array.from({ length: callers }, async (_, caller) => {
    for (let i = 0; running; i++) {
      const value = `${caller}-${i}`;
      try {
        outcomes.push({ value, answer: await plugin.echo(value) });
      } catch (error) {
        outcomes.push({ value, code: PluginError.is(error) ? error.code : String(error) });
      }
    }
  });
  return {
    outcomes,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe('limits.memoryMiB', () => {
  // The fixture uses about 50 MiB idle and 60 under load: 128 leaves room for another Node.
  onLinux('recycles a plugin that grows past the limit (200 MiB more, limit 128): a new process, every call meanwhile answered right', async () => {
    const { plugin, client, hostLog } = await connectLimits({ limits: { memoryMiB: 128 } });
    const old = client.pid as number;
    const before = await plugin.memory();
    expect(before.rssMiB).toBeLessThan(128);
    const load = startLoad(plugin, 4);

    await plugin.grow(200);
    await waitFor(() => client.pid !== old && client.state === 'running', 3 * MEMORY_CHECK_INTERVAL + 3000, 'the recycle');
    const atRecycle = load.outcomes.length;
    await waitFor(() => load.outcomes.length >= atRecycle + 20, 5000, 'calls after the recycle');
    await load.stop();

    expect(load.outcomes.filter((o) => o.code !== undefined)).toEqual([]);
    expect(load.outcomes.filter((o) => o.answer?.value !== o.value)).toEqual([]);
    expect(new Set(load.outcomes.map((o) => o.answer?.pid))).toEqual(new Set([old, client.pid]));
    await waitFor(() => !pidAlive(old), 3000, 'the old process to be gone');
    expect(hostLog.errors).toEqual([expect.stringMatching(/^\[limits-plugin\] plugin uses \d+ MiB, over limits\.memoryMiB 128: it is recycled$/)]);
    expect(client.stats).toMatchObject({ starts: 2, restarts: 0, failedStarts: 0, recycles: 1 });
    expect((await plugin.memory()).rssMiB).toBeLessThan(128);
  });

  onLinux('keeps a process shared by two clients (one socket path) while both hold it, reported once by each; recycles it once only one does', async () => {
    const socket = path.join(dir, `m${++count}.sock`);
    const join = async (): Promise<Connection<LimitsTest> & { hostLog: CollectingLogger }> => {
      const hostLog = collectingLogger();
      const connection = await connect(LimitsTest, fixtureStarter('limits/limits-plugin').starter, { logger: hostLog, limits: { memoryMiB: 128 }, socket });
      open.push(connection);
      return { ...connection, hostLog };
    };
    // One after the other: the second finds the first one's process and shares it.
    const first = await join();
    const second = await join();
    const clients = [first, second];
    const pid = first.client.pid as number;
    expect(second.client.pid).toBe(pid);
    await first.plugin.grow(200);
    const shared = /^\[limits-plugin\] plugin uses \d+ MiB, over limits\.memoryMiB 128, but other clients share its process: it is not recycled while they do$/;
    await waitFor(() => clients.every((c) => c.hostLog.errors.some((line) => shared.test(line))), 3 * MEMORY_CHECK_INTERVAL + 3000, 'both clients to report it');
    // Watched on for two more checks: kept, not reported again.
    const until = Date.now() + 2 * MEMORY_CHECK_INTERVAL + 200;
    await waitFor(() => Date.now() >= until, 5000, 'two more memory checks');
    for (const { client, plugin, hostLog } of clients) {
      expect(hostLog.errors).toEqual([expect.stringMatching(shared)]);
      expect(client.stats.recycles).toBe(0);
      expect(client.pid).toBe(pid);
      await expect(plugin.echo('still')).resolves.toEqual({ value: 'still', pid });
    }

    // The second lets it go: the first, alone with it now, recycles it.
    await second.close();
    expect(pidAlive(pid)).toBe(true);
    await waitFor(() => first.client.pid !== pid && first.client.state === 'running', 3 * MEMORY_CHECK_INTERVAL + 3000, 'the recycle');
    expect(first.client.stats.recycles).toBe(1);
    expect(first.hostLog.errors.at(-1)).toMatch(/^\[limits-plugin\] plugin uses \d+ MiB, over limits\.memoryMiB 128: it is recycled$/);
    await expect(first.plugin.echo('fresh')).resolves.toEqual({ value: 'fresh', pid: first.client.pid });
    await waitFor(() => !pidAlive(pid), 3000, 'the old process to be gone');
  });

  onLinux('never recycles a plugin that stays under the limit', async () => {
    const { plugin, client, hostLog } = await connectLimits({ limits: { memoryMiB: 128 } });
    const pid = client.pid;
    // Calls for three memory checks' time: each answered by the same process.
    const load = startLoad(plugin, 2);
    const until = Date.now() + 3 * MEMORY_CHECK_INTERVAL + 200;
    await waitFor(() => Date.now() >= until, 10_000, 'three memory checks');
    await load.stop();
    expect(load.outcomes.filter((o) => o.answer?.pid !== pid)).toEqual([]);
    expect(client.stats).toMatchObject({ starts: 1, restarts: 0, failedStarts: 0, recycles: 0 });
    expect(hostLog.errors).toEqual([]);
  });

  it('gives a Node plugin the limit as its heap limit, after the NODE_OPTIONS the user set', async () => {
    const { plugin } = await connectLimits({ limits: { memoryMiB: 64 } }, { env: { NODE_OPTIONS: '--no-deprecation' } });
    const report: MemoryReport = await plugin.memory();
    expect(report.nodeOptions).toBe('--no-deprecation --max-old-space-size=64');
    // heap_size_limit is the old space plus the young generation (112 MiB on Node.js 20, 256
    // on 24, for 64); the default is gigabytes.
    expect(report.heapLimitMiB).toBeGreaterThanOrEqual(64);
    expect(report.heapLimitMiB).toBeLessThan(512);
  });

  it("leaves a heap limit the user's NODE_OPTIONS set, and adds none without limits.memoryMiB", async () => {
    const own = await connectLimits({ limits: { memoryMiB: 64 } }, { env: { NODE_OPTIONS: '--max-old-space-size=300' } });
    const report = await own.plugin.memory();
    expect(report.nodeOptions).toBe('--max-old-space-size=300');
    expect(report.heapLimitMiB).toBeGreaterThanOrEqual(300);

    const none = await connectLimits({}, { env: { NODE_OPTIONS: '' } });
    expect((await none.plugin.memory()).nodeOptions).toBe('');
  });

  it('does not watch an in-process plugin (no process of its own): limit 16 under a host that uses more', async () => {
    class InProcess extends LimitsTest {
      override async echo(value: string): Promise<Answered> {
        return { value, pid: process.pid };
      }
      override async slow(value: string): Promise<Answered> {
        return this.echo(value);
      }
      override async charge(id: string): Promise<Answered> {
        return this.echo(id);
      }
      override async grow(): Promise<number> {
        return 0;
      }
      override async memory(): Promise<MemoryReport> {
        return { pid: process.pid, rssMiB: 0, heapLimitMiB: 0, nodeOptions: '' };
      }
      override async *ticks(): AsyncGenerator<number> {
        yield 1;
      }
    }
    const hostLog = collectingLogger();
    const connection = await connect(LimitsTest, serveInProcess(new InProcess()), { logger: hostLog, limits: { memoryMiB: 16 }, socket: path.join(dir, `m${++count}.sock`) });
    open.push(connection);
    expect(connection.client.pid).toBeUndefined();
    const until = Date.now() + 2 * MEMORY_CHECK_INTERVAL + 200;
    await waitFor(() => Date.now() >= until, 10_000, 'two memory checks');
    await expect(connection.plugin.echo('x')).resolves.toEqual({ value: 'x', pid: process.pid });
    expect(connection.client.stats.recycles).toBe(0);
    expect(hostLog.errors).toEqual([]);
  });
});

describe('the memory watch', () => {
  onLinux("reads a process's resident memory from /proc", async () => {
    const used = await residentMiB(process.pid);
    expect(used).toBeGreaterThan(10);
    expect(Math.abs((used as number) - process.memoryUsage.rss() / 1024 / 1024)).toBeLessThan(64);
  });

  it('watches nothing without a pid or a limit', () => {
    const over = jest.fn();
    expect(watchMemory({ name: 'x', pid: undefined, limitMiB: 64, over })).toBeUndefined();
    expect(watchMemory({ name: 'x', pid: process.pid, limitMiB: undefined, over })).toBeUndefined();
  });

  onLinux('tells once a process is over the limit, and stops by itself when the process is gone', async () => {
    const over = jest.fn((_used: number) => false);
    const watch = watchMemory({ name: 'x', pid: process.pid, limitMiB: 16, over });
    try {
      await waitFor(() => over.mock.calls.length > 0, 3 * MEMORY_CHECK_INTERVAL, 'the report');
      expect(over).toHaveBeenCalledTimes(1);
      expect(over.mock.calls[0]?.[0]).toBeGreaterThan(16);
    } finally {
      watch?.stop();
    }
    const gone = jest.fn(() => false);
    // A pid that is not in use: its /proc entry does not exist.
    const free = 4_194_304 - 1;
    expect(pidAlive(free)).toBe(false);
    const quiet = watchMemory({ name: 'x', pid: free, limitMiB: 16, over: gone });
    await within(
      waitFor(() => (quiet as unknown as { stopped: boolean }).stopped, 3 * MEMORY_CHECK_INTERVAL, 'the watch to stop'),
      4 * MEMORY_CHECK_INTERVAL,
      'the watch',
    );
    expect(gone).not.toHaveBeenCalled();
  });

  onLinux('goes on watching a process its target keeps (over() returns true, told it is again), and stops once over() returns false', async () => {
    let keep = true;
    const over = jest.fn((_used: number, _again: boolean) => keep);
    const watch = watchMemory({ name: 'x', pid: process.pid, limitMiB: 16, over });
    try {
      await waitFor(() => over.mock.calls.length >= 2, 4 * MEMORY_CHECK_INTERVAL, 'two reports');
      keep = false;
      await waitFor(() => (watch as unknown as { stopped: boolean }).stopped, 3 * MEMORY_CHECK_INTERVAL, 'the watch to stop');
      expect(over).toHaveBeenCalledTimes(3);
      expect(over.mock.calls.map(([, again]) => again)).toEqual([false, true, true]);
    } finally {
      watch?.stop();
    }
  });
});
