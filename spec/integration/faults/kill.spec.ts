// Fault: the plugin process killed with SIGKILL, between calls and while calls are in
// flight. A method that may be re-sent always gets its own answer after exactly one
// restart; an `idempotent: false` method that may have run gets PLUGWIRE_UNAVAILABLE and
// never runs twice; every call settles within its timeout.
import * as path from 'node:path';
import { connect, type Connection, type PluginConfigInput } from '../../../lib';
import { FaultTest } from '../../fixtures/faults/fault-contract';
import { codeOf, FAULT_CONFIG, faultStarter, shown, timed, type Outcome } from '../../support/fault-helpers';
import { removeDir, tempDir, waitFor, waitForPidGone, type CollectingLogger } from '../../support/host-helpers';

const TIMEOUT = FAULT_CONFIG.timeout;
/** What a call may take beyond its timeout: timers, a loaded machine. */
const MARGIN = 500;

let dir: string;
let count = 0;
const open: Array<Connection<FaultTest>> = [];

beforeAll(() => {
  dir = tempDir();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.term()));
});

afterAll(() => removeDir(dir));

async function connectFault(config: PluginConfigInput = {}): Promise<Connection<FaultTest> & { logger: CollectingLogger }> {
  const { starter, logger } = faultStarter();
  const connection = await connect(FaultTest, starter, { ...FAULT_CONFIG, ...config, socket: path.join(dir, `k${++count}.sock`) });
  open.push(connection);
  return { ...connection, logger };
}

/** Lines the plugin printed that start with `prefix`. */
function printed(logger: CollectingLogger, prefix: string): string[] {
  return logger.lines.filter((line) => line.startsWith(`[fault-plugin] ${prefix}`));
}

function expectWithinTimeout(outcomes: ReadonlyArray<Outcome<unknown>>): void {
  for (const outcome of outcomes) expect(outcome.ms).toBeLessThanOrEqual(TIMEOUT + MARGIN);
}

describe('a plugin killed with SIGKILL', () => {
  describe('between calls', () => {
    it.each([
      ['echo', 'idempotent'],
      ['record', 'not idempotent'],
    ] as const)(
      'once the host noticed the exit, a %s call (%s) on a client with a kept-alive connection gets its answer after exactly one restart',
      async (method, _kind) => {
        const { plugin, client } = await connectFault();
        await expect(plugin[method]('warm')).resolves.toBe(method === 'echo' ? 'warm echoed' : 'warm recorded');
        const pid = client.pid!;

        process.kill(pid, 'SIGKILL');
        await waitFor(() => client.state === 'exited', 3000, "state 'exited'");

        const outcome = await timed(() => plugin[method]('after'));
        expect(outcome).toEqual({ ms: expect.any(Number), value: method === 'echo' ? 'after echoed' : 'after recorded' });
        expect(outcome.ms).toBeLessThanOrEqual(TIMEOUT + MARGIN);
        expect(client.stats).toMatchObject({ starts: 2, restarts: 1, failedStarts: 0, recycles: 0 });
        expect(client.pid).not.toBe(pid);
        await expect(plugin.pid()).resolves.toBe(client.pid);
      },
    );

    it('killed just before the call, before the host could notice: an idempotent call on the kept-alive connection gets its answer after exactly one restart', async () => {
      const { plugin, client } = await connectFault();
      await expect(plugin.echo('warm')).resolves.toBe('warm echoed');
      const pid = client.pid!;

      process.kill(pid, 'SIGKILL');
      const outcome = await timed(() => plugin.echo('right after'));

      expect(outcome).toEqual({ ms: expect.any(Number), value: 'right after echoed' });
      expect(outcome.ms).toBeLessThanOrEqual(TIMEOUT + MARGIN);
      expect(client.stats.restarts).toBe(1);
      expect(client.pid).not.toBe(pid);
      await waitForPidGone(pid, 3000);
    });

    it('killed just before the call: a non-idempotent call gets its answer or PLUGWIRE_UNAVAILABLE, runs at most once, and the next call works after one restart', async () => {
      const { plugin, client, logger } = await connectFault();
      await expect(plugin.record('warm')).resolves.toBe('warm recorded');
      const pid = client.pid!;

      process.kill(pid, 'SIGKILL');
      const outcome = await timed(() => plugin.record('right after'));

      expect(['ok', 'PLUGWIRE_UNAVAILABLE']).toContain(codeOf(outcome));
      if ('value' in outcome) expect(outcome.value).toBe('right after recorded');
      expect(outcome.ms).toBeLessThanOrEqual(TIMEOUT + MARGIN);
      await expect(plugin.record('next')).resolves.toBe('next recorded');
      expect(logger.lines.filter((l) => l === '[fault-plugin] record right after').length).toBeLessThanOrEqual(1);
      expect(client.stats.restarts).toBe(1);
    });
  });

  describe('during calls', () => {
    it.each([
      { calls: 40, connections: 32, ms: 400 },
      { calls: 24, connections: 4, ms: 150 },
      { calls: 6, connections: 1, ms: 150 },
    ])(
      'every one of $calls concurrent idempotent calls ($connections connections) gets its own answer after exactly one restart, within its timeout',
      async ({ calls, connections, ms }) => {
        const { plugin, client, logger } = await connectFault({ connections });
        const pid = client.pid!;
        const outcomes = Array.from({ length: calls }, (_, i) => timed(() => plugin.slow(ms, `c${i}`)));
        await waitFor(() => printed(logger, 'slow started').length >= Math.min(connections, calls), 3000, 'calls in flight');
        process.kill(pid, 'SIGKILL');

        const results = await Promise.all(outcomes);
        expect(results.map((r) => ('value' in r ? r.value : codeOf(r)))).toEqual(results.map((_, i) => `slow c${i}`));
        expectWithinTimeout(results);
        expect(client.stats).toMatchObject({ starts: 2, restarts: 1, failedStarts: 0, recycles: 0 });
        expect(client.pid).not.toBe(pid);
        await waitForPidGone(pid, 3000);
      },
    );

    it('every one of 20 concurrent non-idempotent calls in flight fails with PLUGWIRE_UNAVAILABLE within its timeout, none runs twice, and the next call works', async () => {
      const { plugin, client, logger } = await connectFault();
      const pid = client.pid!;
      const outcomes = Array.from({ length: 20 }, (_, i) => timed(() => plugin.slowOnce(1000, `n${i}`)));
      await waitFor(() => printed(logger, 'once started').length === 20, 3000, 'all 20 calls in flight');
      process.kill(pid, 'SIGKILL');

      const results = await Promise.all(outcomes);
      expect(results.map(codeOf)).toEqual(results.map(() => 'PLUGWIRE_UNAVAILABLE'));
      expectWithinTimeout(results);
      await expect(plugin.slowOnce(0, 'after')).resolves.toBe('once after');
      // Nothing was sent again: each tag started once, in the killed process.
      expect(printed(logger, 'once started n')).toHaveLength(20);
      expect(client.stats.restarts).toBe(1);
    });

    it('a mix of idempotent and non-idempotent calls: the idempotent ones all get their answers; a non-idempotent one that had started gets PLUGWIRE_UNAVAILABLE; none runs twice; one restart', async () => {
      const { plugin, client, logger } = await connectFault({ connections: 8 });
      const pid = client.pid!;
      const idempotent = Array.from({ length: 16 }, (_, i) => timed(() => plugin.slow(300, `i${i}`)));
      const once = Array.from({ length: 16 }, (_, i) => timed(() => plugin.slowOnce(300, `o${i}`)));
      await waitFor(() => printed(logger, 'slow started').length + printed(logger, 'once started').length >= 8, 3000, 'calls in flight');
      // Non-idempotent calls known to run in the process about to be killed.
      const startedBeforeKill = new Set(printed(logger, 'once started').map((line) => line.split(' ').pop()));
      process.kill(pid, 'SIGKILL');

      const [a, b] = await Promise.all([Promise.all(idempotent), Promise.all(once)]);
      expect(a.map((r) => ('value' in r ? r.value : codeOf(r)))).toEqual(a.map((_, i) => `slow i${i}`));
      b.forEach((r, i) => {
        if (startedBeforeKill.has(`o${i}`)) expect(codeOf(r)).toBe('PLUGWIRE_UNAVAILABLE');
        else expect(['ok', 'PLUGWIRE_UNAVAILABLE']).toContain(codeOf(r));
        if ('value' in r) expect(r.value).toBe(`once o${i}`);
      });
      expectWithinTimeout([...a, ...b]);
      for (let i = 0; i < 16; i++) expect(logger.lines.filter((l) => l === `[fault-plugin] once started o${i}`).length).toBeLessThanOrEqual(1);
      expect(client.stats.restarts).toBe(1);
    });

    it('killed again while the re-sent calls run: every call settles within its timeout with its own answer or PLUGWIRE_UNAVAILABLE, and the next call works', async () => {
      const { plugin, client, logger } = await connectFault();
      const first = client.pid!;
      const settled: string[] = [];
      const outcomes = Array.from({ length: 10 }, (_, i) =>
        timed(() => plugin.slow(600, `r${i}`)).then((outcome) => {
          settled.push(`r${i} after ${outcome.ms} ms: ${String(shown(outcome))}`);
          return outcome;
        }),
      );
      await waitFor(() => printed(logger, 'slow started').length >= 10, 3000, 'calls in flight');
      process.kill(first, 'SIGKILL');
      // The re-sent calls reach the new process; kill it too.
      await waitFor(() => client.pid !== first && printed(logger, 'slow started').length >= 20, 3000, 'the re-sent calls in flight').catch((error: Error) => {
        throw new Error(`${error.message}; plugin output ${JSON.stringify(logger.lines)}; calls settled ${JSON.stringify(settled)}; stats ${JSON.stringify(client.stats)}`);
      });
      const second = client.pid!;
      process.kill(second, 'SIGKILL');

      const results = await Promise.all(outcomes);
      // Anything but its own answer or PLUGWIRE_UNAVAILABLE, within the timeout, is shown in full.
      const unexpected = results
        .map((r, i) => ({ i, outcome: shown(r), ms: r.ms }))
        .filter(({ i, outcome, ms }) => !(outcome === `slow r${i}` || String(outcome).startsWith('PLUGWIRE_UNAVAILABLE:')) || ms > TIMEOUT + MARGIN);
      expect(unexpected).toEqual([]);
      await expect(plugin.echo('next')).resolves.toBe('next echoed');
      expect(client.pid).not.toBe(first);
      expect(client.pid).not.toBe(second);
      expect(client.stats.restarts).toBe(2);
    });
  });
});
