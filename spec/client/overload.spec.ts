// A host that sends more than its plugin can take: `maxInFlight` calls are sent at once,
// `maxQueued` wait behind them in order, and one more is refused at once with
// PLUGWIRE_OVERLOADED instead of being buffered without bound. Real plugin processes.
import * as path from 'node:path';
import { connect, PluginError, type Connection, type PluginConfigInput } from '../../lib';
import { HostTest } from '../fixtures/contracts/host-contract';
import { fixtureStarter, removeDir, tempDir, settle, waitFor, type CollectingLogger } from '../support/host-helpers';

let dir: string;
let count = 0;
const open: Array<Connection<HostTest>> = [];

beforeAll(() => {
  dir = tempDir();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.term()));
});

afterAll(() => removeDir(dir));

async function connectTo(config: PluginConfigInput): Promise<Connection<HostTest> & { logger: CollectingLogger }> {
  const { starter, logger } = fixtureStarter('host/host-plugin');
  const connection = await connect(HostTest, starter, { ...config, socket: path.join(dir, `o${++count}.sock`) });
  open.push(connection);
  return { ...connection, logger };
}

/** The tags of the `/slow` calls the plugin started, in order. */
function started(logger: CollectingLogger): string[] {
  return logger.lines.flatMap((line) => /slow started (\S+)$/.exec(line)?.[1] ?? []);
}

describe('maxInFlight and maxQueued', () => {
  it('sends maxInFlight calls at once, queues maxQueued in order, and refuses one more at once with PLUGWIRE_OVERLOADED, unsent', async () => {
    const { plugin, logger, client } = await connectTo({ maxInFlight: 2, maxQueued: 3, connections: 2 });
    const calls = Array.from({ length: 7 }, (_, i) => settle(plugin.slow(100, `t${i}`)));
    // the two past the queue are refused before any call is answered
    let answered = false;
    void Promise.race(calls.slice(0, 5)).then(() => (answered = true));
    const refused = await Promise.all(calls.slice(5));
    expect(answered).toBe(false);
    expect(client.load).toEqual({ inFlight: 2, queued: 3 });
    expect(refused).toEqual([{ code: 'PLUGWIRE_OVERLOADED' }, { code: 'PLUGWIRE_OVERLOADED' }]);
    expect(await Promise.all(calls.slice(0, 5))).toEqual([0, 1, 2, 3, 4].map((i) => ({ value: `slow t${i}` })));
    await waitFor(() => started(logger).length === 5, 2000, 'the plugin to log its calls');
    expect(client.load).toEqual({ inFlight: 0, queued: 0 });
    const order = started(logger);
    expect(new Set(order.slice(0, 2))).toEqual(new Set(['t0', 't1']));
    expect(order.slice(2)).toEqual(['t2', 't3', 't4']);
  });

  it('tells which limits were reached in the refusal, and a refused call can be sent again later', async () => {
    const { plugin } = await connectTo({ maxInFlight: 1, maxQueued: 0 });
    const first = plugin.slow(100, 'first');
    const refused = (await plugin.slow(1, 'second').catch((error: unknown) => error)) as PluginError;
    expect(refused.code).toBe('PLUGWIRE_OVERLOADED');
    expect(refused.name).toBe('OverloadedError');
    expect(refused.message).toMatch(/call to \/slow refused: 1 calls to plugin .* are in flight and 0 wait \(maxInFlight, maxQueued\)/);
    await first;
    await expect(plugin.slow(1, 'again')).resolves.toBe('slow again');
  });

  it('settles a queued call that times out or is aborted at once, never sends it, and frees its place', async () => {
    const { plugin, logger, client } = await connectTo({ maxInFlight: 1, maxQueued: 2 });
    const busy = plugin.slow(600, 'busy');
    const controller = new AbortController();
    const timedOut = settle(client.call('/slow', [5, 'timed-out'], { timeout: 100 }));
    const aborted = settle(client.call('/slow', [5, 'aborted'], { signal: controller.signal }));
    controller.abort();
    expect(await aborted).toEqual({ code: 'PLUGWIRE_ABORTED' });
    expect(await timedOut).toEqual({ code: 'PLUGWIRE_TIMEOUT' });
    // both places are free again while the first call still runs
    const next = [settle(plugin.slow(5, 'next1')), settle(plugin.slow(5, 'next2'))];
    expect(await busy).toBe('slow busy');
    expect(await Promise.all(next)).toEqual([{ value: 'slow next1' }, { value: 'slow next2' }]);
    await waitFor(() => started(logger).length === 3, 2000, 'the plugin to log its calls');
    expect(started(logger)).toEqual(['busy', 'next1', 'next2']);
  });

  it('close() rejects the queued calls with PLUGWIRE_CLOSED without sending them', async () => {
    const { plugin, logger, term } = await connectTo({ maxInFlight: 1, maxQueued: 5 });
    const calls = Array.from({ length: 4 }, (_, i) => settle(plugin.slow(300, `c${i}`)));
    await waitFor(() => started(logger).length === 1, 5000, 'the first call to start');
    await term();
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 4 }, () => ({ code: 'PLUGWIRE_CLOSED' })));
    expect(started(logger)).toEqual(['c0']);
  });

  it('takes 20,000 calls fired at once at a 50 ms method: every call settles, the accepted ones all answered right, the rest refused, memory bounded, no restart', async () => {
    const maxInFlight = 256;
    const maxQueued = 1024;
    const { plugin, client } = await connectTo({ maxInFlight, maxQueued });
    const pid = client.pid;
    // The JavaScript heap, not the RSS: how much of the freed memory the process hands back
    // to the system, and when, depends on the allocator and the machine's load.
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 20);
    try {
      const outcomes = await Promise.all(Array.from({ length: 20_000 }, (_, i) => settle(plugin.slow(50, `f${i}`))));
      const answered = outcomes.filter((o, i) => 'value' in o && o.value === `slow f${i}`).length;
      const refused = outcomes.filter((o) => 'code' in o && o.code === 'PLUGWIRE_OVERLOADED').length;
      // the first maxInFlight + maxQueued are accepted, all the others refused: nothing else
      expect({ answered, refused }).toEqual({ answered: maxInFlight + maxQueued, refused: 20_000 - maxInFlight - maxQueued });
      expect(outcomes.slice(0, maxInFlight + maxQueued).every((o) => 'value' in o)).toBe(true);
    } finally {
      clearInterval(sampler);
    }
    expect(client.pid).toBe(pid);
    expect(client.stats).toMatchObject({ starts: 1, restarts: 0 });
    // 20,000 promises and outcomes are held by this test itself: well under 100 MB
    expect(peak - before).toBeLessThan(100 * 1024 * 1024);
    await expect(plugin.echo('after')).resolves.toBe('after echoed');
  }, 30_000);
});
