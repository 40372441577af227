// Plugin pools (`instances`): N processes of one plugin behind one client and one proxy.
// Calls go to the least busy instance that runs, each instance restarts on its own while
// the others answer, a stream stays on its instance, host services reach every instance,
// recycle() replaces them one after the other, close() ends them all. Real processes.
import { existsSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { attachToSocket, connect, startPlugin, withOptions, type Connection, type PluginConfigInput } from '../../lib';
import { HostTest } from '../fixtures/contracts/host-contract';
import { LivenessTest } from '../fixtures/host/liveness-contract';
import { StreamTest } from '../fixtures/host/stream-contract';
import { HostApiImpl } from '../fixtures/services/host-api-impl';
import { ServicesPlugin } from '../fixtures/services/services-contract';
import { fixtureStarter, pidAlive, rejectionOf, settle, removeDir, tempDir, waitFor, waitForPidGone, within } from '../support/host-helpers';

let dir: string;
let count = 0;
const open: Array<{ close: () => Promise<void> }> = [];

beforeAll(() => {
  dir = tempDir();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});
afterAll(() => removeDir(dir));

const FAST: PluginConfigInput = { timeout: 10_000, terminationGrace: 1000, restart: { initialDelay: 10, maxDelay: 50, cooldown: 500 } };

async function pool(instances: number, config: PluginConfigInput = {}): Promise<Connection<HostTest>> {
  const { starter } = fixtureStarter('host/host-plugin');
  const connection = await connect(HostTest, starter, { ...FAST, ...config, instances, socket: path.join(dir, `p${++count}.sock`) });
  open.push(connection);
  return connection;
}

function pidsOf(connection: Connection<unknown>): number[] {
  return connection.client.stats.instances.map((one) => one.pid as number);
}

describe('a pool of plugin processes', () => {
  it('starts each instance on its own socket, and stats show each one', async () => {
    const conn = await pool(3);
    const { stats } = conn.client;
    expect(stats.instances).toHaveLength(3);
    expect(stats).toMatchObject({ starts: 3, restarts: 0, failedStarts: 0, recycles: 0 });
    const pids = pidsOf(conn);
    expect(new Set(pids).size).toBe(3);
    for (const pid of pids) expect(pidAlive(pid)).toBe(true);
    expect(stats.instances.map((one) => path.basename(one.socket))).toEqual([`p${count}.sock`, `p${count}-1.sock`, `p${count}-2.sock`]);
    expect(stats.instances.map((one) => [one.index, one.state, one.starts, one.load])).toEqual([
      [0, 'running', 1, { inFlight: 0, queued: 0 }],
      [1, 'running', 1, { inFlight: 0, queued: 0 }],
      [2, 'running', 1, { inFlight: 0, queued: 0 }],
    ]);
    expect(conn.client.pid).toBe(pids[0]);
    expect(conn.client.state).toBe('running');
  });

  it('sends concurrent calls to the least busy instance: each gets its share', async () => {
    const conn = await pool(3);
    const answered = await Promise.all(Array.from({ length: 12 }, () => conn.plugin.pid()));
    const perPid = new Map<number, number>();
    for (const pid of answered) perPid.set(pid, (perPid.get(pid) ?? 0) + 1);
    expect([...perPid.keys()].sort()).toEqual([...pidsOf(conn)].sort());
    expect([...perPid.values()]).toEqual([4, 4, 4]);
  });

  it('adds up the load of its instances', async () => {
    const conn = await pool(2);
    const calls = Array.from({ length: 4 }, (_, i) => conn.plugin.slow(300, `l${i}`));
    expect(conn.client.load).toEqual({ inFlight: 4, queued: 0 });
    expect(conn.client.stats.instances.map((one) => one.load.inFlight)).toEqual([2, 2]);
    await Promise.all(calls);
    expect(conn.client.load).toEqual({ inFlight: 0, queued: 0 });
  });

  it('restarts a killed instance on its own while the others answer: no call fails', async () => {
    const conn = await pool(2);
    const [first, second] = pidsOf(conn) as [number, number];
    let stop = false;
    const failures: unknown[] = [];
    let answered = 0;
    const callers = Array.from({ length: 8 }, async (_, c) => {
      for (let i = 0; !stop; i++) {
        try {
          expect(await conn.plugin.echo(`${c}-${i}`)).toBe(`${c}-${i} echoed`);
          answered++;
        } catch (error) {
          failures.push(error);
        }
      }
    });
    await waitFor(() => answered > 200, 10_000);
    process.kill(second, 'SIGKILL');
    await waitForPidGone(second);
    await waitFor(() => {
      const one = conn.client.stats.instances[1];
      return one?.state === 'running' && one.pid !== second;
    }, 10_000);
    const after = answered;
    await waitFor(() => answered > after + 200, 10_000);
    stop = true;
    await Promise.all(callers);
    expect(failures).toEqual([]);
    const [zero, one] = conn.client.stats.instances;
    expect(zero).toMatchObject({ pid: first, restarts: 0, state: 'running' });
    expect(one).toMatchObject({ restarts: 1, state: 'running' });
    expect(conn.client.stats.restarts).toBe(1);
  });

  it('keeps answering on the live instances while one cannot be restarted', async () => {
    const marker = path.join(dir, `crash${++count}`);
    const { starter } = fixtureStarter('host/host-plugin', { env: { HOST_FIXTURE_CRASH_MARKER: marker } });
    const conn = await connect(HostTest, starter, { ...FAST, instances: 2, socket: path.join(dir, `p${count}.sock`) });
    open.push(conn);
    const second = pidsOf(conn)[1] as number;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(marker, '');
    process.kill(second, 'SIGKILL');
    await waitForPidGone(second);
    // The instance that is gone is started again (and fails) in the background; every call is answered by the other.
    for (let i = 0; i < 50; i++) expect(await conn.plugin.echo(`x${i}`)).toBe(`x${i} echoed`);
    await waitFor(() => conn.client.stats.instances[1]?.state === 'unavailable', 10_000);
    expect(conn.client.state).toBe('running');
    expect(conn.client.stats.instances[1]?.failedStarts).toBeGreaterThan(0);
  });

  it('starts a killed instance again at once, without waiting for a call', async () => {
    const conn = await pool(2);
    const second = pidsOf(conn)[1] as number;
    process.kill(second, 'SIGKILL');
    await waitFor(() => conn.client.stats.instances[1]?.state === 'running' && conn.client.stats.instances[1]?.pid !== second, 5000, 'the instance to run again');
    expect(conn.client.stats.instances[1]).toMatchObject({ restarts: 1, starts: 2 });
  });

  it('close() resolves while an instance that cannot start again backs off, and nothing keeps spinning', async () => {
    const marker = path.join(dir, `crash${++count}`);
    const { starter } = fixtureStarter('host/host-plugin', { env: { HOST_FIXTURE_CRASH_MARKER: marker } });
    const conn = await connect(HostTest, starter, { ...FAST, restart: { initialDelay: 2000, maxDelay: 2000, cooldown: 5000 }, instances: 2, socket: path.join(dir, `p${count}.sock`) });
    const second = pidsOf(conn)[1] as number;
    writeFileSync(marker, '');
    process.kill(second, 'SIGKILL');
    // Its restart fails, and the next one waits out its back-off.
    await waitFor(() => (conn.client.stats.instances[1]?.failedStarts ?? 0) > 0, 5000, 'a failed restart');
    let ticks = 0;
    const clock = setInterval(() => ticks++, 10);
    try {
      await within(conn.close(), 5000, 'close()');
      // The event loop was free all along: a 10 ms timer kept firing.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(ticks).toBeGreaterThan(3);
    } finally {
      clearInterval(clock);
    }
    expect(conn.client.state).toBe('closed');
  });

  it('sends an idempotent call that its instance could not answer to another within what is left of its timeout', async () => {
    const conn = await pool(2, { restart: { maxRestarts: 0 } });
    // A call on each instance; most of the way through, one instance dies and cannot restart.
    const slow = withOptions(conn.plugin, { timeout: 1500 });
    const began = Date.now();
    const calls = [slow.slow(1000, 'a'), slow.slow(1000, 'b')];
    await waitFor(() => conn.client.stats.instances.every((one) => one.load.inFlight === 1), 3000, 'a call on each instance');
    await waitFor(() => Date.now() - began >= 800, 3000, '800 ms of the calls to pass');
    process.kill(pidsOf(conn)[0] as number, 'SIGKILL');
    const outcomes = await Promise.allSettled(calls);
    const elapsed = Date.now() - began;
    // One answered by its own instance; the other, sent again to it with 700 ms left of its
    // 1500, cut off by its timeout rather than given 1500 ms more.
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')!.reason as { code?: string };
    expect(failed.code).toBe('PLUGWIRE_TIMEOUT');
    expect(elapsed).toBeLessThan(1500 + 250);
  });

  it('replaces a wedged instance by its own liveness check while the other answers', async () => {
    const { starter, logger } = fixtureStarter('host/liveness-plugin');
    const conn = await connect(LivenessTest, starter, { ...FAST, instances: 2, socket: path.join(dir, `w${++count}.sock`) });
    open.push(conn);
    const wedged = await conn.plugin.wedgeLater(20);
    const other = pidsOf(conn).find((pid) => pid !== wedged) as number;
    await waitFor(() => logger.lines.some((l) => l.endsWith(`wedged ${wedged}`)), 2000, 'the instance to wedge');
    const outcomes = await within(Promise.all(Array.from({ length: 20 }, (_, i) => settle(conn.plugin.echo(`v${i}`)))), 8000, 'the calls to settle');
    expect(outcomes.map((o) => ('value' in o ? o.value.value : o.code))).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`));
    await waitForPidGone(wedged);
    const index = conn.client.stats.instances.findIndex((one) => one.pid !== other);
    await waitFor(() => conn.client.stats.instances[index]?.state === 'running', 5000, 'the wedged instance replaced');
    expect(conn.client.stats.instances.find((one) => one.pid === other)).toMatchObject({ restarts: 0, state: 'running' });
    expect(conn.client.stats.instances[index]?.restarts).toBe(1);
  });

  it('recycles its instances one after the other: every call is answered', async () => {
    const conn = await pool(2);
    const before = pidsOf(conn);
    const calls = Array.from({ length: 6 }, (_, i) => conn.plugin.slow(100, `r${i}`));
    const recycled = conn.client.recycle();
    const more = Array.from({ length: 6 }, (_, i) => conn.plugin.slow(50, `m${i}`));
    await within(recycled, 10_000, 'recycle of the pool');
    expect(await Promise.all([...calls, ...more])).toHaveLength(12);
    const after = pidsOf(conn);
    expect(after.filter((pid) => before.includes(pid))).toEqual([]);
    expect(conn.client.stats).toMatchObject({ recycles: 2, restarts: 0 });
    for (const pid of before) await waitForPidGone(pid);
  });

  it('close() ends every instance and removes every socket and its private directory', async () => {
    const { starter } = fixtureStarter('host/host-plugin');
    const conn = await connect(HostTest, starter, { ...FAST, instances: 3 });
    const sockets = conn.client.stats.instances.map((one) => one.socket);
    const pids = pidsOf(conn);
    for (const socket of sockets) expect(existsSync(socket)).toBe(true);
    await conn.close();
    for (const pid of pids) await waitForPidGone(pid);
    for (const socket of sockets) expect(existsSync(socket)).toBe(false);
    expect(existsSync(path.dirname(conn.client.socket))).toBe(false);
    expect(conn.client.state).toBe('closed');
    expect(await rejectionOf(conn.plugin.echo('late'))).toMatchObject({ code: 'PLUGWIRE_CLOSED' });
  });

  it('closes the instances that started when another one fails its start', async () => {
    const marker = path.join(dir, `counter${++count}`);
    let starts = 0;
    const { starter } = fixtureStarter('host/host-plugin', { env: { HOST_FIXTURE_COUNTER: marker } });
    const failing = {
      name: starter.name,
      start: (context: Parameters<typeof starter.start>[0]) => {
        if (++starts === 2) return Promise.reject(new Error('the second instance does not start'));
        return starter.start(context);
      },
    };
    expect(await rejectionOf(startPlugin(failing, path.join(dir, `p${count}.sock`), { ...FAST, instances: 3 }))).toMatchObject({
      message: expect.stringMatching(/the second instance does not start/),
    });
    const { readFileSync } = await import('node:fs');
    const started = readFileSync(marker, 'utf8').trim().split('\n').map(Number);
    expect(started).toHaveLength(2);
    for (const pid of started) await waitForPidGone(pid);
  });

  it('keeps a stream on its instance while another instance is killed', async () => {
    const { starter } = fixtureStarter('host/stream-plugin');
    const conn = await connect(StreamTest, starter, { ...FAST, instances: 2, socket: path.join(dir, `s${++count}.sock`) });
    open.push(conn);
    const items = conn.plugin.count(200)[Symbol.asyncIterator]();
    const firstItem = await items.next();
    expect(firstItem.done).toBe(false);
    // The stream holds one instance: a call goes to the other, which is then killed.
    const other = await conn.plugin.pid();
    const streaming = pidsOf(conn).find((pid) => pid !== other) as number;
    process.kill(other, 'SIGKILL');
    let received = 1;
    for (let next = await items.next(); !next.done; next = await items.next()) received++;
    expect(received).toBe(200);
    expect(pidAlive(streaming)).toBe(true);
  });

  it('offers the host services to every instance, and the service sees which one called', async () => {
    const { starter } = fixtureStarter('services/services-plugin');
    const conn = await connect(ServicesPlugin, starter, { ...FAST, instances: 2, services: [new HostApiImpl()], socket: path.join(dir, `h${++count}.sock`) });
    open.push(conn);
    const answers = await Promise.all([conn.plugin.attempt('whoami'), conn.plugin.attempt('whoami')]);
    const callers = answers.map((answer) => (answer as { value: { pid: number } }).value.pid);
    expect(callers.sort()).toEqual(pidsOf(conn).sort());
  });

  it('is refused for a starter that attaches to a plugin that runs already', async () => {
    expect(await rejectionOf(startPlugin(attachToSocket(), path.join(dir, 'none.sock'), { instances: 2 }))).toMatchObject({
      name: 'TypeError',
      message: expect.stringMatching(/instances must be 1/),
    });
  });

  it.each([0, 65, 1.5, 'two'])('refuses instances %p with a TypeError naming it', async (instances) => {
    const { starter } = fixtureStarter('host/host-plugin');
    expect(await rejectionOf(connect(HostTest, starter, { instances: instances as number }))).toMatchObject({
      name: 'TypeError',
      message: expect.stringMatching(/plugwire config: instances must be/),
    });
  });
});
