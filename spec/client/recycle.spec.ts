// client.recycle(): the plugin process is replaced gracefully. New calls wait for the fresh
// process, calls in flight are answered by the old one, which is then terminated; no call
// is lost, failed or (for a method that must not run twice) sent twice. Real processes.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  connect,
  DiagnosticChannels,
  PluginError,
  StartError,
  type Connection,
  type PluginConfigInput,
  type PluginExitMessage,
  type PluginSpawnMessage,
  type Remote,
  type Starter,
  withOptions,
} from '../../lib';
import { LivenessTest } from '../fixtures/host/liveness-contract';
import { LimitsTest, type Answered } from '../fixtures/limits/limits-contract';
import { collectingLogger, fixtureStarter, pidAlive, rejectionOf, removeDir, tempDir, waitFor, within, type CollectingLogger } from '../support/host-helpers';

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

const FAST: PluginConfigInput = { timeout: 10_000, terminationGrace: 1000, restart: { initialDelay: 10, maxDelay: 50, cooldown: 500 } };

/** A connection to the fixture; `logger` has the plugin's output, `hostLog` the client's own reports. */
async function connectLimits(
  config: PluginConfigInput = {},
  starter?: Starter,
): Promise<Connection<LimitsTest> & { logger: CollectingLogger; hostLog: CollectingLogger; ledger: string }> {
  const ledger = path.join(dir, `ledger${++count}`);
  const fixture = fixtureStarter('limits/limits-plugin', { env: { LIMITS_LEDGER: ledger } });
  const hostLog = collectingLogger();
  const connection = await connect(LimitsTest, starter ?? fixture.starter, { ...FAST, logger: hostLog, ...config, socket: path.join(dir, `r${count}.sock`) });
  open.push(connection);
  return { ...connection, logger: fixture.logger, hostLog, ledger };
}

function codeOf(error: unknown): string {
  return PluginError.is(error) ? error.code : String(error);
}

/** What each call of a load gave: its answer, or its error's code. */
interface Outcome {
  readonly value: string;
  readonly answer?: Answered;
  readonly code?: string;
}

/** `callers` loops of `slow(value, ms)` calls, each waiting for its answer, until stop(). */
function startLoad(plugin: Remote<LimitsTest>, callers: number, ms: number): { outcomes: Outcome[]; stop: () => Promise<void> } {
  let running = true;
  const outcomes: Outcome[] = [];
  const loops = Array.from({ length: callers }, async (_, caller) => {
    for (let i = 0; running; i++) {
      const value = `${caller}-${i}`;
      try {
        outcomes.push({ value, answer: await plugin.slow(value, ms) });
      } catch (error) {
        outcomes.push({ value, code: codeOf(error) });
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

/** Resolves once the plugin printed a line (it prints `slow <value> <pid>` as a slow call begins). */
function printed(logger: CollectingLogger, line: string): Promise<void> {
  return waitFor(() => logger.lines.some((l) => l.endsWith(line)), 5000, `the plugin to print ${line}`);
}

describe('client.recycle()', () => {
  it('replaces the process under steady load (8 callers of a 50 ms method): no call fails, every answer right, the old process gone', async () => {
    const { plugin, client } = await connectLimits();
    const old = client.pid as number;
    const load = startLoad(plugin, 8, 50);
    await waitFor(() => load.outcomes.length >= 16, 5000, 'calls before the recycle');

    await within(client.recycle(), 10_000, 'the recycle');
    const fresh = client.pid as number;
    expect(fresh).not.toBe(old);
    expect(pidAlive(old)).toBe(false);
    expect(client.state).toBe('running');
    const atRecycle = load.outcomes.length;
    await waitFor(() => load.outcomes.length >= atRecycle + 16, 5000, 'calls after the recycle');
    await load.stop();

    expect(load.outcomes.filter((o) => o.code !== undefined)).toEqual([]);
    expect(load.outcomes.filter((o) => o.answer?.value !== o.value)).toEqual([]);
    const pids = new Set(load.outcomes.map((o) => o.answer?.pid));
    expect([...pids].sort()).toEqual([old, fresh].sort());
    expect(client.stats).toMatchObject({ starts: 2, restarts: 0, failedStarts: 0, recycles: 1 });
  });

  it('lets a slow call in flight finish on the old process; calls made meanwhile wait for the new one', async () => {
    const { plugin, client, logger } = await connectLimits();
    const old = client.pid as number;
    let slowDone = 0;
    const slow = plugin.slow('long', 800).then((answer) => ((slowDone = performance.now()), answer));
    await printed(logger, `slow long ${old}`);

    const recycled = client.recycle().then(() => performance.now());
    expect(client.state).toBe('starting');
    const during = plugin.echo('during');

    await expect(slow).resolves.toEqual({ value: 'long', pid: old });
    const recycledAt = await within(recycled, 10_000, 'the recycle');
    expect(slowDone).toBeLessThan(recycledAt);
    expect(pidAlive(old)).toBe(false);
    await expect(during).resolves.toEqual({ value: 'during', pid: client.pid });
    expect(client.pid).not.toBe(old);
  });

  it('does not send a call of a method that must not run twice (idempotent: false) again: it runs once, on the old process', async () => {
    const { plugin, client, logger, ledger } = await connectLimits();
    const old = client.pid as number;
    const first = plugin.charge('c1', 500);
    await printed(logger, `charge c1 ${old}`);

    const recycled = client.recycle();
    const second = plugin.charge('c2', 10);
    await expect(first).resolves.toEqual({ value: 'c1', pid: old });
    await within(recycled, 10_000, 'the recycle');
    const fresh = client.pid as number;
    await expect(second).resolves.toEqual({ value: 'c2', pid: fresh });
    expect(readFileSync(ledger, 'utf8')).toBe(`c1 ${old}\nc2 ${fresh}\n`);
  });

  it('shares one recycle between calls made together; a later call recycles again', async () => {
    const { client } = await connectLimits();
    const old = client.pid as number;
    await within(Promise.all([client.recycle(), client.recycle(), client.recycle()]), 10_000, 'the recycles');
    const second = client.pid as number;
    expect(second).not.toBe(old);
    expect(client.stats).toMatchObject({ starts: 2, restarts: 0, failedStarts: 0, recycles: 1 });

    await within(client.recycle(), 10_000, 'the second recycle');
    expect(client.pid).not.toBe(second);
    expect(client.stats).toMatchObject({ starts: 3, restarts: 0, failedStarts: 0, recycles: 2 });
  });

  it('keeps a process other clients share (one socket path): each client gets it back at once, even two recycling together', async () => {
    const socket = path.join(dir, `shared${++count}.sock`);
    const join = async (): Promise<Connection<LimitsTest>> => {
      const connection = await connect(LimitsTest, fixtureStarter('limits/limits-plugin').starter, { ...FAST, socket });
      open.push(connection);
      return connection;
    };
    const clients = [await join(), await join()];
    const pid = clients[0]?.client.pid as number;
    expect(clients[1]?.client.pid).toBe(pid);

    await within(Promise.all(clients.map((c) => c.client.recycle())), 10_000, 'the recycles');
    await within(clients[0]!.client.recycle(), 10_000, 'one more');
    expect(pidAlive(pid)).toBe(true);
    for (const [i, { client, plugin }] of clients.entries()) {
      expect(client.pid).toBe(pid);
      expect(client.state).toBe('running');
      expect(client.stats).toMatchObject({ starts: 1, restarts: 0, failedStarts: 0, recycles: i === 0 ? 2 : 1 });
      await expect(plugin.echo('kept')).resolves.toEqual({ value: 'kept', pid });
    }

    // Alone with it, a client recycles it as usual.
    await clients[1]!.close();
    await within(clients[0]!.client.recycle(), 10_000, 'the last recycle');
    expect(clients[0]?.client.pid).not.toBe(pid);
    await waitFor(() => !pidAlive(pid), 5000, 'the shared process to be gone');
  });

  it('rejects with PLUGWIRE_CLOSED after close(), and when close() comes during the recycle', async () => {
    const closedFirst = await connectLimits();
    await closedFirst.close();
    expect(codeOf(await rejectionOf(closedFirst.client.recycle()))).toBe('PLUGWIRE_CLOSED');

    const { plugin, client, logger, close } = await connectLimits();
    const old = client.pid as number;
    const slow = rejectionOf(plugin.slow('cut', 5000));
    await printed(logger, `slow cut ${old}`);
    const recycled = rejectionOf(client.recycle());
    await close();
    expect(codeOf(await recycled)).toBe('PLUGWIRE_CLOSED');
    expect(codeOf(await slow)).toBe('PLUGWIRE_CLOSED');
    expect(pidAlive(old)).toBe(false);
    expect(client.state).toBe('closed');
  });

  it('starts a plugin that is gone (exited): no recycle to count, no restart either', async () => {
    const { plugin, client } = await connectLimits();
    const old = client.pid as number;
    process.kill(old, 'SIGKILL');
    await waitFor(() => client.state === 'exited', 5000, "state 'exited'");

    await within(client.recycle(), 10_000, 'the recycle');
    expect(client.state).toBe('running');
    expect((await plugin.echo('back')).pid).toBe(client.pid);
    expect(client.stats).toMatchObject({ starts: 2, restarts: 0, failedStarts: 0, recycles: 0 });
  });

  it('rejects with PLUGWIRE_UNAVAILABLE when the new process cannot start, and so do the calls waiting for it; the next call starts one', async () => {
    const { starter: real } = fixtureStarter('limits/limits-plugin', { env: { LIMITS_LEDGER: path.join(dir, 'unused') } });
    let starts = 0;
    const starter: Starter = {
      name: 'flaky',
      start: (context) => (++starts === 2 ? Promise.reject(new StartError('the second start fails', 'spawn')) : real.start(context)),
    };
    const { plugin, client } = await connectLimits({}, starter);
    const old = client.pid as number;

    const recycled = rejectionOf(client.recycle());
    const waiting = rejectionOf(plugin.echo('waiting'));
    const error = await recycled;
    expect(codeOf(error)).toBe('PLUGWIRE_UNAVAILABLE');
    expect((error as Error).message).toMatch(/was recycled and could not be started again: the second start fails/);
    expect(codeOf(await waiting)).toBe('PLUGWIRE_UNAVAILABLE');
    expect(pidAlive(old)).toBe(false);
    expect(client.state).toBe('exited');

    const later = await plugin.echo('later');
    expect(later).toEqual({ value: 'later', pid: client.pid });
    expect(later.pid).not.toBe(old);
    expect(client.stats).toMatchObject({ starts: 3, restarts: 1, failedStarts: 1, recycles: 1 });
  });

  it('cuts a stream in flight with PLUGWIRE_UNAVAILABLE after the grace of the SIGTERM, without holding up the recycle for longer', async () => {
    const { plugin, client } = await connectLimits({ terminationGrace: 500 });
    const old = client.pid as number;
    const seen: number[] = [];
    const reading = (async () => {
      for await (const n of plugin.ticks()) seen.push(n);
    })().then(
      () => 'ended',
      (error: unknown) => codeOf(error),
    );
    await waitFor(() => seen.length >= 2, 5000, 'two items');

    const began = performance.now();
    await within(client.recycle(), 10_000, 'the recycle');
    expect(performance.now() - began).toBeLessThan(3000);
    expect(await reading).toBe('PLUGWIRE_UNAVAILABLE');
    expect(pidAlive(old)).toBe(false);
    // A stream opened afterwards reads from the new process.
    for await (const n of plugin.ticks()) if (n >= 2) break;
    expect(client.pid).not.toBe(old);
  });

  it('publishes the start with the recycle as its cause, and the old process exit as expected', async () => {
    const spawns: PluginSpawnMessage[] = [];
    const exits: PluginExitMessage[] = [];
    const onSpawn = (message: unknown): number => spawns.push(message as PluginSpawnMessage);
    const onExit = (message: unknown): number => exits.push(message as PluginExitMessage);
    subscribe(DiagnosticChannels.pluginSpawn, onSpawn);
    subscribe(DiagnosticChannels.pluginExit, onExit);
    try {
      const { client, hostLog } = await connectLimits();
      const old = client.pid as number;
      await within(client.recycle(), 10_000, 'the recycle');
      await waitFor(() => exits.some((e) => e.pid === old), 5000, 'the exit message');
      expect(spawns.at(-1)).toMatchObject({ restart: true, cause: 'recycled: recycle() was called' });
      expect(exits.find((e) => e.pid === old)).toMatchObject({ expected: true, code: 0 });
      expect(hostLog.errors).toEqual([]); // an asked-for recycle is no trouble to report
    } finally {
      unsubscribe(DiagnosticChannels.pluginSpawn, onSpawn);
      unsubscribe(DiagnosticChannels.pluginExit, onExit);
    }
  });
});

describe('a recycle of a plugin that wedges while it drains', () => {
  it('is not held by a call without a timeout: liveness still watches the old process, kills it, and the recycle completes', async () => {
    const { starter, logger } = fixtureStarter('host/liveness-plugin');
    const hostLog = collectingLogger();
    const connection = await connect(LivenessTest, starter, { logger: hostLog, terminationGrace: 1000, socket: path.join(dir, `w${++count}.sock`) });
    try {
      const { plugin, client } = connection;
      const old = client.pid as number;
      // A call that wedges the plugin and never times out: the drain would wait for it for ever.
      const stuck = withOptions(plugin, { timeout: 0 })
        .spin()
        .then(
          () => 'answered',
          (error: unknown) => (PluginError.is(error) ? error.code : String(error)),
        );
      await waitFor(() => logger.lines.some((line) => line.endsWith(`wedged ${old}`)), 3000, 'the plugin to wedge');
      await within(client.recycle(), 10_000, 'the recycle');
      expect(client.pid).not.toBe(old);
      expect(pidAlive(old)).toBe(false);
      // /spin must not run twice: it fails rather than be sent again
      expect(await stuck).toBe('PLUGWIRE_UNAVAILABLE');
      expect((await plugin.echo('after')).pid).toBe(client.pid);
      expect(hostLog.errors.some((line) => line.includes('plugin stopped answering'))).toBe(true);
    } finally {
      await connection.close();
    }
  }, 20_000);
});
