// Liveness: a plugin that is alive but stopped answering (a busy loop, SIGSTOP) is
// replaced through the health route; a host frozen together with its plugin does not
// replace it after the thaw; `liveness: false` never probes; a version 1 plugin (no
// health route) falls back to timeouts. Real processes and sockets throughout.
import * as path from 'node:path';
import { connect, defaultConfig, type Connection, type PluginConfigInput } from '../../lib';
import { resolveConfig } from '../../lib/client/config';
import { LivenessTest } from '../fixtures/host/liveness-contract';
import { fixtureStarter, pidAlive, removeDir, tempDir, waitFor, settle, within, type CollectingLogger } from '../support/host-helpers';

/** The target: a wedged plugin is replaced and answering again within this, ms. */
const TARGET = 5000;

let dir: string;
let count = 0;
const open: Array<Connection<LivenessTest>> = [];
const stopped = new Set<number>();

beforeAll(() => {
  dir = tempDir();
});

afterEach(async () => {
  for (const pid of stopped) resume(pid);
  await Promise.all(open.splice(0).map((c) => c.term()));
});

afterAll(() => removeDir(dir));

function pause(pid: number): void {
  stopped.add(pid);
  process.kill(pid, 'SIGSTOP');
}

function resume(pid: number): void {
  stopped.delete(pid);
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    // gone
  }
}

/** Blocks this process's event loop, as a frozen host: no timer, no I/O meanwhile. */
function freezeHost(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

async function connectTo(name: string, config: PluginConfigInput = {}): Promise<Connection<LivenessTest> & { logger: CollectingLogger }> {
  const { starter, logger } = fixtureStarter(`host/${name}`);
  const connection = await connect(LivenessTest, starter, { terminationGrace: 1000, logger, ...config, socket: path.join(dir, `l${++count}.sock`) });
  open.push(connection);
  return { ...connection, logger };
}

describe('the liveness option', () => {
  it('is on by default with 1000 ms, 500 ms, 3 failures, as {} gives it; fields are checked', () => {
    expect(defaultConfig().liveness).toEqual({ interval: 1000, timeout: 500, failures: 3 });
    expect(resolveConfig({}).liveness).toEqual({ interval: 1000, timeout: 500, failures: 3 });
    expect(resolveConfig({ liveness: {} }).liveness).toEqual({ interval: 1000, timeout: 500, failures: 3 });
    expect(resolveConfig({ liveness: { timeout: 2000 } }).liveness).toEqual({ interval: 1000, timeout: 2000, failures: 3 });
    expect(resolveConfig({ liveness: false }).liveness).toBe(false);
    expect(() => resolveConfig({ liveness: { failures: 0 } })).toThrow(/liveness\.failures must be a whole number from 1/);
    expect(() => resolveConfig({ liveness: { interval: -1 } })).toThrow(/liveness\.interval must be a number of ms/);
    expect(() => resolveConfig({ liveness: true as unknown as false })).toThrow(/liveness \(or false\) must be an object/);
  });
});

// No liveness option given: the default policy is what replaces the plugin.
describe('liveness by default (no liveness option)', () => {
  it('replaces a plugin wedged in a busy loop while idle, answering again within 5 s: every call in flight answered right, none unsettled', async () => {
    const { plugin, client, logger } = await connectTo('liveness-plugin');
    const first = await plugin.wedgeLater(20);
    const began = performance.now();
    await waitFor(() => logger.lines.some((l) => l.endsWith(`wedged ${first}`)), 2000, 'the plugin to wedge');
    // Calls made to the wedged plugin: idempotent, they are sent again to the new process.
    const calls = Array.from({ length: 20 }, (_, i) => settle(plugin.echo(`v${i}`)));
    const outcomes = await within(Promise.all(calls), TARGET + 1000, 'the calls to settle');
    const elapsed = performance.now() - began;
    const second = client.pid!;
    expect(second).not.toBe(first);
    expect(outcomes).toEqual(Array.from({ length: 20 }, (_, i) => ({ value: { value: `v${i}`, pid: second } })));
    expect(elapsed).toBeLessThan(TARGET);
    expect(pidAlive(first)).toBe(false);
    expect(logger.errors.join('\n')).toMatch(/stopped answering \(it failed 3 health probes in a row/);
  });

  it('replaces a plugin wedged by a call: that call (not idempotent) settles with a coded error, not its 30 s timeout', async () => {
    const { plugin, client } = await connectTo('liveness-plugin');
    const first = client.pid!;
    const began = performance.now();
    const spun = await within(settle(plugin.spin()), TARGET, 'the wedging call to settle');
    expect(spun).toHaveProperty('code');
    expect((spun as { code: string }).code).toMatch(/^PLUGWIRE_/);
    expect((spun as { code: string }).code).not.toBe('PLUGWIRE_TIMEOUT');
    const after = await plugin.echo('after');
    expect(after).toEqual({ value: 'after', pid: client.pid });
    expect(client.pid).not.toBe(first);
    expect(performance.now() - began).toBeLessThan(TARGET);
  });

  it('replaces a plugin stopped alone with SIGSTOP', async () => {
    const { plugin, client } = await connectTo('liveness-plugin');
    const first = client.pid!;
    pause(first);
    const answer = settle(plugin.echo('stopped'));
    await waitFor(() => client.pid !== first && client.state === 'running', TARGET, 'the stopped plugin to be replaced');
    await expect(within(answer, TARGET, 'the call to settle')).resolves.toEqual({ value: { value: 'stopped', pid: client.pid } });
    expect(client.stats.restarts).toBe(1);
  });
});

describe('liveness and a frozen host', () => {
  it('does not replace a healthy plugin after the host was frozen together with it for longer than the policy allows', async () => {
    // One unanswered probe would replace it: the probe cut short by the freeze must not count.
    const policy = { interval: 100, timeout: 400, failures: 1 };
    const { plugin, client } = await connectTo('liveness-plugin', { liveness: policy });
    const pid = client.pid!;
    await expect(plugin.echo('before')).resolves.toEqual({ value: 'before', pid });
    // Frozen together, as a Lambda between invocations: the plugin first, and once a probe
    // waits for its answer, the host, for longer than the policy allows; both thaw together.
    // A call that times out makes the client probe at once: that probe waits through the freeze.
    pause(pid);
    await expect(settle(client.call('/echo', 'stopped', { timeout: 50 }))).resolves.toEqual({ code: 'PLUGWIRE_TIMEOUT' });
    freezeHost(1500);
    resume(pid);
    // Its late timers and its probe cut short by the freeze do not count; the plugin answers the next probe.
    await expect(plugin.echo('after')).resolves.toEqual({ value: 'after', pid });
    await new Promise((resolve) => setTimeout(resolve, 5 * (policy.interval + policy.timeout)));
    expect(client.state).toBe('running');
    expect(pidAlive(pid)).toBe(true);
    await expect(plugin.echo('later')).resolves.toEqual({ value: 'later', pid });
    expect(client.stats.restarts).toBe(0);
  });
});

describe('liveness: false', () => {
  it('never probes: a stopped plugin only makes calls time out, and is not replaced', async () => {
    const { plugin, client, logger } = await connectTo('liveness-v1-plugin', { liveness: false, contractCheck: 'off' });
    const pid = client.pid!;
    await expect(plugin.echo('v1')).resolves.toEqual({ value: 'v1', pid });
    pause(pid);
    await expect(settle(client.call('/echo', 'late', { timeout: 300 }))).resolves.toEqual({ code: 'PLUGWIRE_TIMEOUT' });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    resume(pid);
    await expect(plugin.echo('again')).resolves.toEqual({ value: 'again', pid });
    expect(client.stats.restarts).toBe(0);
    expect(logger.lines.filter((l) => l.endsWith('health asked'))).toEqual([]);
  });
});

describe('liveness with a version 1 plugin', () => {
  it('asks the health route once, takes the 404 as no route, and never replaces the plugin for it', async () => {
    const { plugin, client, logger } = await connectTo('liveness-v1-plugin', { liveness: { interval: 50, timeout: 100, failures: 1 } });
    const pid = client.pid!;
    await waitFor(() => logger.lines.some((l) => l.endsWith('health asked')), 2000, 'the first probe');
    await expect(plugin.echo('one')).resolves.toEqual({ value: 'one', pid });
    // A timed-out call does not probe it again either.
    pause(pid);
    await expect(settle(client.call('/echo', 'late', { timeout: 200 }))).resolves.toEqual({ code: 'PLUGWIRE_TIMEOUT' });
    resume(pid);
    await expect(plugin.echo('two')).resolves.toEqual({ value: 'two', pid });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(logger.lines.filter((l) => l.endsWith('health asked'))).toHaveLength(1);
    expect(client.pid).toBe(pid);
  });
});
