// PluginClient restarts: a plugin process that dies (SIGKILL, its own exit, a lost
// socket) is noticed, restarted through its starter, and calls keep working, within bounds.
import * as diagnostics from 'node:diagnostics_channel';
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { connect, PluginError, type Connection, type PluginConfigInput } from '../../lib';
import { HostTest } from '../fixtures/contracts/host-contract';
import { countLines, fixtureStarter, pidAlive, rejectionOf, removeDir, tempDir, waitFor, waitForPidGone } from '../support/host-helpers';

let dir: string;
let count = 0;
const socketPath = (): string => path.join(dir, `r${++count}.sock`);
const open: Array<Connection<HostTest>> = [];

const FAST: PluginConfigInput = { timeout: 5000, terminationGrace: 1000, restart: { initialDelay: 10, maxDelay: 50, cooldown: 500 } };

async function connectHost(env: Record<string, string> = {}, config: PluginConfigInput = FAST) {
  const { starter, logger } = fixtureStarter('host/host-plugin', { env });
  const connection = await connect(HostTest, starter, { ...config, socket: socketPath() });
  open.push(connection);
  return { ...connection, logger };
}

function expectCode(error: unknown, code: PluginError['code']): void {
  expect(error).toBeInstanceOf(Error);
  expect((error as PluginError).code).toBe(code);
  expect(PluginError.is(error, code)).toBe(true);
}

beforeAll(() => {
  dir = tempDir();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.term()));
});

afterAll(() => removeDir(dir));

describe('PluginClient restart', () => {
  it('restarts a plugin killed with SIGKILL between calls: the next call answers from a new process', async () => {
    const { plugin, client } = await connectHost();
    const first = await plugin.pid();
    expect(client.pid).toBe(first);

    process.kill(first, 'SIGKILL');
    await waitForPidGone(first);

    await expect(plugin.echo('again')).resolves.toBe('again echoed');
    const second = await plugin.pid();
    expect(second).not.toBe(first);
    expect(client.pid).toBe(second);
    expect(client.stats.restarts).toBe(1);
    expect(client.stats.starts).toBe(2);
    expect(client.state).toBe('running');
  });

  it("notices the exit at once: state becomes 'exited' without a call", async () => {
    const { client } = await connectHost();
    expect(client.state).toBe('running');
    process.kill(client.pid!, 'SIGKILL');
    await waitFor(() => client.state === 'exited', 2000, "state 'exited'");
    expect(client.stats.restarts).toBe(0);
  });

  it('settles every one of 50 concurrent calls when the plugin is killed mid-flight, with exactly one restart', async () => {
    const { plugin, client, logger } = await connectHost();
    const pid = client.pid!;
    const calls = Array.from({ length: 50 }, (_, i) =>
      plugin.slow(200, String(i)).then(
        (value) => ({ i, value }),
        (error: unknown) => ({ i, error }),
      ),
    );
    await waitFor(() => logger.lines.filter((l) => l.includes('slow started')).length >= 10, 3000, 'calls in flight');
    process.kill(pid, 'SIGKILL');

    const bound = new Promise<'hung'>((resolve) => {
      const timer = setTimeout(() => resolve('hung'), 8000);
      void Promise.all(calls).then(() => clearTimeout(timer));
    });
    const outcome = await Promise.race([Promise.all(calls), bound]);
    expect(outcome).not.toBe('hung');
    const results = outcome as Array<{ i: number; value?: string; error?: unknown }>;
    expect(results).toHaveLength(50);
    for (const r of results) {
      if ('error' in r) {
        expect(PluginError.is(r.error)).toBe(true);
      } else {
        expect(r.value).toBe(`slow ${r.i}`);
      }
    }
    expect(client.stats.restarts).toBe(1);
    expect(client.pid).not.toBe(pid);
    await expect(plugin.echo('after')).resolves.toBe('after echoed');
  });

  it('answers every idempotent call in flight right after a SIGKILL, round after round (the dying process is waited for)', async () => {
    for (let round = 0; round < 5; round++) {
      const { plugin, client, logger, term } = await connectHost();
      const pid = client.pid!;
      const calls = Array.from({ length: 8 }, (_, i) => plugin.slow(300, `${round}.${i}`));
      await waitFor(() => logger.lines.filter((l) => l.includes('slow started')).length >= 8, 3000, 'calls in flight');
      process.kill(pid, 'SIGKILL');
      await expect(Promise.all(calls)).resolves.toEqual(Array.from({ length: 8 }, (_, i) => `slow ${round}.${i}`));
      expect(client.stats.restarts).toBe(1);
      await term();
    }
  });

  it('removes the socket file of a plugin that died, at a path the user chose, on term()', async () => {
    const { client, term } = await connectHost();
    const socket = client.socket;
    process.kill(client.pid!, 'SIGKILL');
    await waitFor(() => client.state === 'exited', 2000, "state 'exited'");
    expect(existsSync(socket)).toBe(true);
    await term();
    expect(existsSync(socket)).toBe(false);
  });

  it('rejects a non-idempotent call cut off by the plugin dying with PLUGWIRE_UNAVAILABLE, and the next call works', async () => {
    const { plugin, client, logger } = await connectHost();
    const pid = client.pid!;
    const call = rejectionOf(plugin.once(3000));
    await waitFor(() => logger.lines.includes('[host-plugin] once started'), 3000, 'the call to start');
    process.kill(pid, 'SIGKILL');

    expectCode(await call, 'PLUGWIRE_UNAVAILABLE');
    // It was not sent again: the new process never printed a second 'once started'.
    await expect(plugin.echo('next')).resolves.toBe('next echoed');
    expect(logger.lines.filter((l) => l.includes('once started'))).toHaveLength(1);
    expect(client.pid).not.toBe(pid);
  });

  it('sends a non-idempotent call again when the plugin died before reading it (Linux: the connection is reset)', async () => {
    if (process.platform !== 'linux') return;
    const { plugin, client, logger } = await connectHost();
    await expect(plugin.once(0)).resolves.toBe('once done');
    const pid = client.pid!;
    // A stopped process's socket still takes the request, unread; killed, it resets the connection.
    process.kill(pid, 'SIGSTOP');
    const sent = new Promise<void>((resolve) => {
      const onHeaders = (message: unknown): void => {
        if ((message as { request: { path: string } }).request.path !== '/once') return;
        diagnostics.unsubscribe('undici:client:sendHeaders', onHeaders);
        resolve();
      };
      diagnostics.subscribe('undici:client:sendHeaders', onHeaders);
    });
    const call = plugin.once(0);
    await sent;
    process.kill(pid, 'SIGKILL');

    await expect(call).resolves.toBe('once done');
    expect(client.pid).not.toBe(pid);
    // Run once by the first process (the first call) and once by the new one: never twice by one.
    expect(logger.lines.filter((l) => l.includes('once started'))).toHaveLength(2);
    expect(client.stats.restarts).toBe(1);
  });

  it('restarts a live plugin whose socket file was deleted, at the next call that needs a connection', async () => {
    // No contract check: its kept-alive connection would still reach the live plugin and
    // answer the call (faults/socket.spec covers that case); here no connection is open.
    const { plugin, client } = await connectHost({}, { ...FAST, contractCheck: 'off' });
    const pid = client.pid!;
    unlinkSync(client.socket);

    await expect(plugin.echo('lost socket')).resolves.toBe('lost socket echoed');
    expect(client.stats.restarts).toBe(1);
    expect(client.pid).not.toBe(pid);
    expect(existsSync(client.socket)).toBe(true);
    // The process that lost its socket is not left behind.
    await waitForPidGone(pid, 3000);
  });

  it('bounds the spawns of a plugin that crashes at every start, and recovers after the cooldown once it is fixed', async () => {
    const counter = path.join(dir, 'spawns.txt');
    const marker = path.join(dir, 'crash-marker');
    const { plugin, client } = await connectHost(
      { HOST_FIXTURE_COUNTER: counter, HOST_FIXTURE_CRASH_MARKER: marker },
      { ...FAST, restart: { maxRestarts: 3, initialDelay: 10, maxDelay: 50, cooldown: 500 } },
    );
    expect(countLines(counter)).toBe(1);

    writeFileSync(marker, 'broken');
    const pid = client.pid!;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => client.state === 'exited', 2000, "state 'exited'");

    for (let i = 0; i < 10; i++) {
      expectCode(await rejectionOf(plugin.echo(`try ${i}`)), 'PLUGWIRE_UNAVAILABLE');
    }
    expect(countLines(counter)).toBeGreaterThanOrEqual(2);
    expect(countLines(counter)).toBeLessThanOrEqual(1 + 3 + 1);
    expect(client.state).toBe('unavailable');

    unlinkSync(marker);
    // Poll until the cooldown has passed: calls fail at once until then.
    let answer: string | undefined;
    await waitFor(
      async () => {
        answer = await plugin.echo('fixed').catch((error: unknown) => {
          expectCode(error, 'PLUGWIRE_UNAVAILABLE');
          return undefined;
        });
        return answer !== undefined;
      },
      3000,
      'a call to succeed after the cooldown',
      50,
    );
    expect(answer).toBe('fixed echoed');
    expect(client.state).toBe('running');
    expect(countLines(counter)).toBeLessThanOrEqual(1 + 3 + 1 + 1);
  });

  it('rejects with a coded error after a bounded number of restarts when the plugin dies on every call', async () => {
    const counter = path.join(dir, 'die-spawns.txt');
    const { plugin, client } = await connectHost({ HOST_FIXTURE_COUNTER: counter });
    const before = Date.now();
    const error = await rejectionOf(plugin.die());
    expect(Date.now() - before).toBeLessThan(4000);
    expect(PluginError.is(error)).toBe(true);
    expectCode(error, 'PLUGWIRE_UNAVAILABLE');
    expect(countLines(counter)).toBeLessThanOrEqual(3);
    expect(client.stats.restarts).toBeLessThanOrEqual(2);
  });

  it('rejects calls after term() with PLUGWIRE_CLOSED', async () => {
    const { plugin, client, term } = await connectHost();
    const pid = client.pid!;
    await term();
    expect(pidAlive(pid)).toBe(false);
    expectCode(await rejectionOf(plugin.echo('late')), 'PLUGWIRE_CLOSED');
    expectCode(await rejectionOf(client.call('/echo', 'late')), 'PLUGWIRE_CLOSED');
    expect(client.stats.starts).toBe(1);
  });

  it('settles a call in flight when term() is called (an answer or PLUGWIRE_CLOSED)', async () => {
    const { plugin, client, term, logger } = await connectHost();
    const pid = client.pid!;
    const call = plugin.slow(600, 'during-term').then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    await waitFor(() => logger.lines.includes('[host-plugin] slow started during-term'), 3000, 'the call to start');
    await term();
    const outcome = await call;
    if ('error' in outcome) expectCode(outcome.error, 'PLUGWIRE_CLOSED');
    else expect(outcome.value).toBe('slow during-term');
    expect(pidAlive(pid)).toBe(false);
  });
});
