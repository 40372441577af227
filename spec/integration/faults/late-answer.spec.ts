// Fault: an answer that comes after the host gave up on the call (its timeout). It is
// dropped without harm: the timed-out call rejects with PLUGWIRE_TIMEOUT on time, and
// every later call on the same client gets its own answer, never the late one.
import * as path from 'node:path';
import { connect, type Connection, type PluginConfigInput } from '../../../lib';
import { FaultRaw, FaultTest } from '../../fixtures/faults/fault-contract';
import { codeOf, FAULT_CONFIG, faultStarter, rawStarter, shown, timed, type Outcome } from '../../support/fault-helpers';
import { collectingLogger, fixture, removeDir, spawnNode, tempDir, waitFor, type CollectingLogger } from '../../support/host-helpers';

const TIMEOUT = 1000;
const LATE_BY = 500;
const MARGIN = 300;
const EARLY = 5;

let dir: string;
let count = 0;
const open: Array<{ term(): Promise<void> }> = [];

beforeAll(() => {
  dir = tempDir();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.term()));
});

afterAll(() => removeDir(dir));

/** fault-raw-plugin, with the client's own notices collected in `notices`. */
async function connectRaw(config: PluginConfigInput): Promise<Connection<FaultRaw> & { output: CollectingLogger; notices: CollectingLogger }> {
  const { starter, logger: output } = rawStarter();
  const notices = collectingLogger();
  const connection = await connect(FaultRaw, starter, { ...FAULT_CONFIG, timeout: TIMEOUT, ...config, logger: notices, socket: path.join(dir, `l${++count}.sock`) });
  open.push(connection);
  return { ...connection, output, notices };
}

function expectTimedOutOnTime(outcome: Outcome<unknown>): void {
  expect(codeOf(outcome)).toBe('PLUGWIRE_TIMEOUT');
  expect(outcome.ms).toBeGreaterThanOrEqual(TIMEOUT - EARLY);
  expect(outcome.ms).toBeLessThanOrEqual(TIMEOUT + MARGIN);
}

const LATE_SENT = /^\[fault-raw-plugin\] late sent late (delivered|dropped)$/;

describe('an answer that comes after the host timed out', () => {
  it(`one connection: the call rejects with PLUGWIRE_TIMEOUT on time; calls made back to back until the answer comes ${LATE_BY} ms later, and after it, each get their own answer; not sent again, no restart, no notice`, async () => {
    const { plugin, client, output, notices } = await connectRaw({ connections: 1 });
    const late = await timed(() => client.call('/late', { ms: TIMEOUT + LATE_BY, tag: 'late' }));
    expectTimedOutOnTime(late);

    const answers: Array<Outcome<string>> = [];
    const tags: string[] = [];
    while (!output.lines.some((line) => LATE_SENT.test(line))) {
      tags.push(`during ${tags.length}`);
      answers.push(await timed(() => plugin.echo(tags[tags.length - 1]!)));
      expect(tags.length).toBeLessThan(100_000);
    }
    for (let i = 0; i < 5; i++) {
      tags.push(`after ${i}`);
      answers.push(await timed(() => plugin.echo(tags[tags.length - 1]!)));
    }

    expect(answers.map(shown)).toEqual(tags);
    await expect(plugin.requests()).resolves.toMatchObject({ '/late': 1 });
    expect(client.stats.restarts).toBe(0);
    expect(notices.lines).toEqual([]);
    expect(notices.errors).toEqual([]);
    expect(output.errors).toEqual([]);
  });

  it('two connections: calls running while the call times out and while its late answer comes each get their own answer', async () => {
    const { plugin, client, output } = await connectRaw({ connections: 2 });
    const late = timed(() => client.call('/late', { ms: TIMEOUT + LATE_BY, tag: 'late' }));
    const answers: Array<Promise<Outcome<string>>> = [];
    const tags: string[] = [];
    // Pairs of concurrent calls, one pair after another, until the late answer has come.
    while (!output.lines.some((line) => LATE_SENT.test(line))) {
      const pair = [`p${tags.length}`, `p${tags.length + 1}`];
      tags.push(...pair);
      const calls = pair.map((tag) => timed(() => plugin.echo(tag)));
      answers.push(...calls);
      await Promise.all(calls);
      expect(tags.length).toBeLessThan(200_000);
    }
    expectTimedOutOnTime(await late);
    expect((await Promise.all(answers)).map(shown)).toEqual(tags);
    expect(client.stats.restarts).toBe(0);
  });

  it('a plugwire plugin whose method ends after the deadline: the call rejects with PLUGWIRE_TIMEOUT on time; once the method has ended, the next calls get their own answers; nothing on the plugin\'s stderr', async () => {
    const { starter, logger } = faultStarter();
    const connection = await connect(FaultTest, starter, { ...FAULT_CONFIG, timeout: TIMEOUT, connections: 1, socket: path.join(dir, `l${++count}.sock`) });
    open.push(connection);
    const { plugin, client } = connection;

    expectTimedOutOnTime(await timed(() => plugin.slow(TIMEOUT + LATE_BY, 'late')));
    await waitFor(() => logger.lines.includes('[fault-plugin] slow ended late'), 3000, 'the method to end');
    await expect(plugin.echo('next')).resolves.toBe('next echoed');
    await expect(plugin.slow(0, 'quick')).resolves.toBe('slow quick');
    expect(client.stats.restarts).toBe(0);
    expect(logger.errors).toEqual([]);
  });

  it('a call queued behind a busy connection times out at its own timeout, not when the connection frees; the queued request is never sent', async () => {
    const { starter, logger } = faultStarter();
    const connection = await connect(FaultTest, starter, { ...FAULT_CONFIG, timeout: TIMEOUT, connections: 1, socket: path.join(dir, `l${++count}.sock`) });
    open.push(connection);
    const { plugin, client } = connection;

    // The busy call may take longer than the queued one's timeout.
    const busy = timed(() => client.call('/slow', [TIMEOUT * 2, 'busy'], { timeout: TIMEOUT * 4 }));
    await waitFor(() => logger.lines.includes('[fault-plugin] slow started busy'), 3000, 'the first call to run');
    const queued = await timed(() => plugin.slow(0, 'queued'));
    expect(codeOf(queued)).toBe('PLUGWIRE_TIMEOUT');
    expect(queued.ms).toBeLessThanOrEqual(TIMEOUT + MARGIN);
    expect(shown(await busy)).toBe('slow busy');
    await expect(plugin.echo('next')).resolves.toBe('next echoed');
    expect(logger.lines).not.toContain('[fault-plugin] slow started queued');
  });

  it('in a host process of its own: the same, with no unhandled rejection, no uncaught exception and no warning', async () => {
    const host = spawnNode([fixture('faults/fault-probe-host'), 'late']);
    const { code } = await host.exited;
    expect(code).toBe(0);
    const results = host.lines.filter((l) => l.startsWith('result ')).map((l) => l.split(' '));
    expect(results[0]?.slice(0, 3)).toEqual(['result', 'late', 'PLUGWIRE_TIMEOUT']);
    const others = results.slice(1);
    expect(others.length).toBeGreaterThan(5);
    for (const [, label, outcome] of others) {
      const [, when, i] = /^(during|after)-(\d+)$/.exec(label ?? '') ?? [];
      expect(outcome).toBe(`ok:"${when === 'during' ? 'd' : 'a'}${i}"`);
    }
    expect(host.lines.filter((l) => /^(unhandled|uncaught|restarts) /.test(l) || l.startsWith('warning '))).toEqual(['restarts 0', 'unhandled 0', 'uncaught 0']);
    expect(host.stderr()).toBe('');
  });
});
