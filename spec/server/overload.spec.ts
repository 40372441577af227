// The plugin server's in-flight limit (serve option maxInFlight), with a real plugin
// process: a call past it is refused at once with PLUGWIRE_OVERLOADED and does not run,
// a version 1 (Go) host gets 503 and the message, the calls held are not disturbed, and
// the plugin answers again once calls end: it is not restarted.
import { connect, OverloadedError, PluginError, withOptions, type Connection } from '../../lib';
import { Overload } from '../fixtures/server/overload-plugin';
import * as path from 'node:path';
import { envelope, spawnPluginProcess } from '../support/plugin-process';
import { fixture, fixtureStarter, rejectionOf, removeDir, tempDir, waitFor, within, type CollectingLogger } from '../support/host-helpers';
import { rawRequest, startRawRequest } from '../support/raw-http';

let conn: Connection<Overload>;
let logger: CollectingLogger;

beforeEach(async () => {
  const started = fixtureStarter('server/overload-plugin', { env: { ...process.env, MAX_IN_FLIGHT: '2' } });
  logger = started.logger;
  conn = await connect(Overload, started.starter, { timeout: 10_000 });
});
afterEach(async () => {
  await conn?.close();
});

/** Holds `count` calls in the plugin, and resolves once it runs them all. */
async function hold(count: number): Promise<{ controller: AbortController; calls: Array<Promise<unknown>> }> {
  const controller = new AbortController();
  const held = withOptions(conn.plugin, { signal: controller.signal });
  const calls = Array.from({ length: count }, (_, i) => held.hold(`h${i}`).catch((error: unknown) => error));
  await waitFor(() => Array.from({ length: count }, (_, i) => `holding h${i}`).every((line) => logger.lines.some((l) => l.endsWith(line))), 5000, 'the held calls to run');
  return { controller, calls };
}

describe('serve({ maxInFlight })', () => {
  it('refuses a call past the limit at once with PLUGWIRE_OVERLOADED, without running it, and answers again once calls end', async () => {
    const { controller, calls } = await hold(2);
    const refused = await within(rejectionOf(conn.plugin.echo('third')), 2000, 'the refusal');
    expect(refused).toBeInstanceOf(OverloadedError);
    expect(PluginError.is(refused, 'PLUGWIRE_OVERLOADED')).toBe(true);
    expect((refused as OverloadedError).status).toBe(503);
    expect((refused as Error).message).toMatch(/maxInFlight.*not run/);
    const refusedHold = await rejectionOf(conn.plugin.hold('h9'));
    expect(refusedHold).toBeInstanceOf(OverloadedError);
    expect(logger.lines.some((l) => l.endsWith('holding h9'))).toBe(false);

    controller.abort();
    for (const outcome of await within(Promise.all(calls), 5000, 'the held calls to end')) expect(PluginError.is(outcome, 'PLUGWIRE_ABORTED')).toBe(true);
    await waitFor(async () => (await conn.plugin.echo('again').catch(() => undefined)) === 'again', 5000, 'the plugin to answer again');
    expect(conn.client.stats.restarts).toBe(0);
  });

  it('answers a version 1 host (no x-plugwire-version, no token) with 503 and the message as a JSON string', async () => {
    const dir = tempDir();
    const socket = path.join(dir, 'plugin.sock');
    const plugin = spawnPluginProcess(fixture('server/overload-plugin'), { PATH: process.env['PATH'], PLUGIN_SOCKET: socket, MAX_IN_FLIGHT: '2' });
    try {
      await plugin.line('stdout', 'plugin is ready');
      const held = [startRawRequest(socket, { path: '/hold', body: envelope('g1') }), startRawRequest(socket, { path: '/hold', body: envelope('g2') })];
      await plugin.line('stdout', 'holding g1');
      await plugin.line('stdout', 'holding g2');
      const answer = await rawRequest(socket, { path: '/echo', body: envelope('go') });
      expect(answer.status).toBe(503);
      expect(answer.headers['retry-after']).toBe('1');
      expect(answer.headers['x-plugwire-error']).toBeUndefined();
      expect(JSON.parse(answer.body)).toMatch(/^plugin overloaded: it serves 2 calls/);
      for (const { request, response } of held) {
        response.catch(() => undefined); // cut here: no answer comes
        request.destroy();
      }
      await waitFor(async () => (await rawRequest(socket, { path: '/echo', body: envelope('again') })).status === 200, 5000, 'the plugin to answer again');
    } finally {
      await plugin.stop();
      removeDir(dir);
    }
  });
});
