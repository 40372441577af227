// The stream method of the Python sample (samples/python-modifier/plugin.py, /decorate)
// read by a plugwire host through a contract's stream method, and on the wire: frames for a
// caller that sends x-plugwire-stream: 1, one JSON array for one that does not (a Go host,
// curl). Needs python3 (CI installs it), as spec/integration/samples/python-modifier.spec.ts.
import * as path from 'node:path';
import { Method, Plugin, PluginError, connect, readManifest, spawnCommand, stub, withOptions, type Connection } from 'plugwire';
import { collectingLogger, removeDir, tempDir, waitFor, type CollectingLogger } from '../../support/host-helpers';
import { spawnProcess, type PluginProcess } from '../../support/plugin-process';
import { rawRequest } from '../../support/raw-http';

const PLUGIN = path.join(__dirname, '../../../samples/python-modifier/plugin.py');

/** The host's view of the sample's stream method (its other methods are samples/modifier's). */
@Plugin('modifier')
class Decorator {
  @Method('/decorate', { stream: true })
  decorate(values: unknown[], everyMs: number): AsyncIterable<string> {
    return stub(values, everyMs);
  }
}

/** Every item of a stream, or the error that ended it with the items before it. */
async function drain(items: AsyncIterable<unknown>): Promise<{ items: unknown[]; error?: unknown }> {
  const seen: unknown[] = [];
  try {
    for await (const item of items) seen.push(item);
    return { items: seen };
  } catch (error) {
    return { items: seen, error };
  }
}

/** The `decorate: stopped after <n> items` line the sample prints when a stream ends early. */
function stoppedAfter(logger: CollectingLogger): number | undefined {
  for (const line of logger.errors) {
    const match = /decorate: stopped after (\d+) items/.exec(line);
    if (match) return Number(match[1]);
  }
  return undefined;
}

describe('samples/python-modifier: a stream method', () => {
  describe('through connect()', () => {
    let connection: Connection<Decorator>;
    let logger: CollectingLogger;

    beforeAll(async () => {
      logger = collectingLogger();
      connection = await connect(Decorator, spawnCommand('python3', [PLUGIN], { name: 'python-modifier', logger }), { contractCheck: 'strict' });
    });

    afterAll(async () => {
      await connection.close();
    });

    beforeEach(() => {
      logger.errors.length = 0;
    });

    it('its manifest marks /decorate stream: true, with the item type as its result', async () => {
      const manifest = await readManifest(connection.client);
      expect(manifest?.methods.find((m) => m.route === '/decorate')).toMatchObject({ stream: true, result: { type: 'string' } });
      expect(manifest?.methods.filter((m) => m.stream === true).map((m) => m.route)).toEqual(['/decorate']);
    });

    it('yields the items in order, and an empty stream ends at once', async () => {
      const { plugin } = connection;
      await expect(drain(plugin.decorate(['a', 'b', 'c'], 0))).resolves.toEqual({ items: ['a decorated', 'b decorated', 'c decorated'] });
      await expect(drain(plugin.decorate([], 0))).resolves.toEqual({ items: [] });
      await expect(drain(connection.client.stream('/decorate', [['x'], 0]))).resolves.toEqual({ items: ['x decorated'] });
    });

    it('an error after items reaches the loop after them, as PLUGWIRE_REMOTE with the exception\'s class', async () => {
      const { items, error } = await drain(connection.plugin.decorate(['a', 'b', 3], 0));
      expect(items).toEqual(['a decorated', 'b decorated']);
      expect(PluginError.is(error, 'PLUGWIRE_REMOTE')).toBe(true);
      expect(error).toMatchObject({ message: 'item 2 is not a string: 3', remote: { name: 'TypeError' } });
    });

    it('an error before the first item is the ordinary error answer, thrown at the first step', async () => {
      const first = await drain(connection.plugin.decorate([7], 0));
      expect(first.items).toEqual([]);
      expect(first.error).toMatchObject({ code: 'PLUGWIRE_REMOTE', message: 'item 0 is not a string: 7' });
      // A payload that is not an array: checked by Python (the proxy of an untyped call sends it).
      const invalid = await drain(connection.client.stream('/decorate', ['not a list', 0]));
      expect(invalid.error).toMatchObject({ code: 'PLUGWIRE_VALIDATION', message: 'invalid payload for /decorate: [0]: expected an array, got a string' });
    });

    it('break ends the generator in Python (its finally runs), and the client goes on', async () => {
      const values = Array.from({ length: 1000 }, (_, i) => `v${i}`);
      const seen: string[] = [];
      for await (const item of connection.plugin.decorate(values, 10)) {
        seen.push(item);
        if (seen.length === 3) break;
      }
      expect(seen).toEqual(['v0 decorated', 'v1 decorated', 'v2 decorated']);
      await waitFor(() => stoppedAfter(logger) !== undefined, 5000, 'the stopped line');
      expect(stoppedAfter(logger)).toBeLessThan(50);
      await expect(drain(connection.plugin.decorate(['after'], 0))).resolves.toEqual({ items: ['after decorated'] });
    });

    it('a slow loop holds the Python generator back (backpressure)', async () => {
      // Unpaced, Python makes tens of thousands of items a second; the loop takes one per
      // 100 ms for a second.
      const values = Array.from({ length: 200_000 }, () => 'x');
      let taken = 0;
      for await (const item of connection.plugin.decorate(values, 0)) {
        expect(item).toBe('x decorated');
        if (++taken === 10) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await waitFor(() => stoppedAfter(logger) !== undefined, 5000, 'the stopped line');
      // What the socket buffers and the host's small window hold (a few thousand), not what
      // a second of making items would give.
      expect(stoppedAfter(logger)).toBeLessThan(20_000);
    });

    it('the call\'s timeout bounds the whole stream: PLUGWIRE_TIMEOUT after the items before it', async () => {
      const values = Array.from({ length: 1000 }, (_, i) => `v${i}`);
      const began = Date.now();
      const { items, error } = await drain(withOptions(connection.plugin, { timeout: 600 }).decorate(values, 20));
      expect(PluginError.is(error, 'PLUGWIRE_TIMEOUT')).toBe(true);
      expect(items.length).toBeGreaterThan(0);
      expect(items.length).toBeLessThan(1000);
      expect(Date.now() - began).toBeGreaterThanOrEqual(550);
      await waitFor(() => stoppedAfter(logger) !== undefined, 5000, 'the stopped line');
    });

    it('an aborted signal ends the stream with PLUGWIRE_ABORTED', async () => {
      const controller = new AbortController();
      const values = Array.from({ length: 1000 }, (_, i) => `v${i}`);
      let seen = 0;
      let failure: unknown;
      try {
        for await (const item of withOptions(connection.plugin, { signal: controller.signal }).decorate(values, 10)) {
          expect(item).toBe(`v${seen} decorated`);
          if (++seen === 2) controller.abort();
        }
      } catch (error) {
        failure = error;
      }
      expect(seen).toBe(2);
      expect(PluginError.is(failure, 'PLUGWIRE_ABORTED')).toBe(true);
      await waitFor(() => stoppedAfter(logger) !== undefined, 5000, 'the stopped line');
    });
  });

  describe('on the wire', () => {
    let dir: string;
    let socket: string;
    let plugin: PluginProcess;

    beforeAll(async () => {
      dir = tempDir();
      socket = path.join(dir, 'python.sock');
      plugin = spawnProcess('python3', [PLUGIN], { ...process.env, PLUGIN_SOCKET: socket });
      await plugin.line('stdout', 'plugin is ready');
    });

    afterAll(async () => {
      await plugin.stop();
      removeDir(dir);
    });

    const body = (payload: unknown): string => JSON.stringify({ Context: { Deadline: null }, Payload: payload });

    it('frames to a caller that asks for them: 200, x-plugwire-stream: 1, NDJSON, chunked, then {"end":true}', async () => {
      const answer = await rawRequest(socket, { path: '/decorate', headers: { 'x-plugwire-version': '1', 'x-plugwire-stream': '1' }, body: body([['a', 'b'], 0]) });
      expect(answer.status).toBe(200);
      expect(answer.headers).toMatchObject({ 'x-plugwire-stream': '1', 'content-type': 'application/x-ndjson; charset=utf-8', 'transfer-encoding': 'chunked' });
      expect(answer.body).toBe('{"item":"a decorated"}\n{"item":"b decorated"}\n{"end":true}\n');
    });

    it('a closing error frame after items', async () => {
      const answer = await rawRequest(socket, { path: '/decorate', headers: { 'x-plugwire-version': '1', 'x-plugwire-stream': '1' }, body: body([['a', null], 0]) });
      const lines = answer.body.trimEnd().split('\n').map((line) => JSON.parse(line) as unknown);
      expect(lines).toEqual([{ item: 'a decorated' }, { error: { code: 'PLUGWIRE_REMOTE', message: 'item 1 is not a string: null', remote: { name: 'TypeError', message: 'item 1 is not a string: null' } } }]);
    });

    it('one JSON array to a caller that does not ask for frames (a Go host), and a plain error message', async () => {
      const [array, failed] = await Promise.all([
        rawRequest(socket, { path: '/decorate', body: body([['a', 'b'], 0]) }),
        rawRequest(socket, { path: '/decorate', body: body([['a', 1], 0]) }),
      ]);
      expect(array).toMatchObject({ status: 200, body: '["a decorated","b decorated"]\n' });
      expect(array.headers['x-plugwire-stream']).toBeUndefined();
      expect(failed).toMatchObject({ status: 500, body: '"item 1 is not a string: 1"\n' });
    });
  });
});
