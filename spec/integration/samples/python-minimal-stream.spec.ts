// The stream method of the minimal Python plugin (samples/minimal-python-plugin/plugin.py,
// /count): a version 1 plugin (no manifest, no token) that still answers a plugwire host's
// x-plugwire-stream: 1 with NDJSON frames, and a caller without it (a Go host, curl) with
// one JSON array, as docs/PROTOCOL.md's "Streamed results" says. Needs python3 (CI installs
// it), as spec/integration/compat/minimal-plugin.spec.ts.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { Method, Plugin, PluginError, connect, spawnCommand, stub, type Connection } from 'plugwire';
import { collectingLogger, removeDir, tempDir, type CollectingLogger } from '../../support/host-helpers';
import { spawnProcess, type PluginProcess } from '../../support/plugin-process';
import { rawRequest } from '../../support/raw-http';

const PLUGIN = path.join(__dirname, '../../../samples/minimal-python-plugin/plugin.py');

/** Fails (never skips) without python3, with a message that says what is missing, as the other Python specs. */
function requirePython(): void {
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
  } catch (error) {
    throw new Error(`this spec runs samples/minimal-python-plugin/plugin.py and needs python3 on the PATH; CI installs it: ${(error as Error).message}`);
  }
}

@Plugin('minimal')
class Counting {
  @Method('/count', { stream: true })
  count(n: number): AsyncIterable<number> {
    return stub(n);
  }

  @Method('/greet')
  greet(name: string): Promise<string> {
    return stub(name);
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

describe('samples/minimal-python-plugin: a stream method', () => {
  beforeAll(requirePython);

  describe('through connect()', () => {
    let conn: Connection<Counting> | undefined;
    let logger: CollectingLogger;

    beforeAll(async () => {
      logger = collectingLogger();
      conn = await connect(Counting, spawnCommand('python3', [PLUGIN], { name: 'minimal', logger }));
    });

    afterAll(async () => {
      await conn?.close();
    });

    const plugin = (): Connection<Counting>['plugin'] => (conn as Connection<Counting>).plugin;

    it('yields the items in order through for await, and an empty stream ends at once', async () => {
      await expect(drain(plugin().count(5))).resolves.toEqual({ items: [0, 1, 2, 3, 4] });
      await expect(drain(plugin().count(0))).resolves.toEqual({ items: [] });
    });

    it('an error after items reaches the loop after them; one before the first item is the ordinary error answer', async () => {
      const late = await drain(plugin().count(1001));
      expect(late.items).toHaveLength(1000);
      expect(PluginError.is(late.error, 'PLUGWIRE_REMOTE')).toBe(true);
      expect(late.error).toMatchObject({ message: 'count stops at 1000' });
      // A payload the plugin refuses (the untyped client sends it as it is).
      const early = await drain((conn as Connection<Counting>).client.stream('/count', 'three'));
      expect(early.items).toEqual([]);
      expect(PluginError.is(early.error, 'PLUGWIRE_VALIDATION')).toBe(true);
    });

    it('break ends the stream, and the connection serves the next calls', async () => {
      const seen: number[] = [];
      for await (const item of plugin().count(1000)) {
        seen.push(item);
        if (seen.length === 3) break;
      }
      expect(seen).toEqual([0, 1, 2]);
      await expect(plugin().greet('again')).resolves.toBe('hello again');
      await expect(drain(plugin().count(2))).resolves.toEqual({ items: [0, 1] });
    });

    it('printed nothing on stdout or stderr besides its ready line', () => {
      expect([...logger.lines, ...logger.errors]).toEqual([]);
    });
  });

  describe('on the wire', () => {
    let dir: string;
    let socket: string;
    let plugin: PluginProcess;

    beforeAll(async () => {
      dir = tempDir();
      socket = path.join(dir, 'minimal.sock');
      plugin = spawnProcess('python3', [PLUGIN], { ...process.env, PLUGIN_SOCKET: socket });
      await plugin.line('stdout', 'plugin is ready');
    });

    afterAll(async () => {
      await plugin.stop();
      removeDir(dir);
    });

    const body = (payload: unknown): string => JSON.stringify({ Context: { Deadline: null }, Payload: payload });
    const stream = { 'x-plugwire-version': '1', 'x-plugwire-stream': '1' };

    it('frames to a caller that sends x-plugwire-stream: 1: 200, x-plugwire-stream: 1, NDJSON, chunked, then {"end":true}', async () => {
      const answer = await rawRequest(socket, { path: '/count', headers: stream, body: body(3) });
      expect(answer.status).toBe(200);
      expect(answer.headers).toMatchObject({ 'x-plugwire-stream': '1', 'content-type': 'application/x-ndjson; charset=utf-8', 'transfer-encoding': 'chunked' });
      expect(answer.body).toBe('{"item": 0}\n{"item": 1}\n{"item": 2}\n{"end": true}\n');
    });

    it('a closing error frame after the items, and the deadline before the first item as the ordinary 504', async () => {
      const failed = await rawRequest(socket, { path: '/count', headers: stream, body: body(1001) });
      const frames = failed.body.trimEnd().split('\n').map((line) => JSON.parse(line) as unknown);
      expect(frames).toHaveLength(1001);
      expect(frames[1000]).toEqual({ error: { code: 'PLUGWIRE_REMOTE', message: 'count stops at 1000' } });
      const late = await rawRequest(socket, { path: '/count', headers: stream, body: JSON.stringify({ Context: { Deadline: '2000-01-01T00:00:00Z' }, Payload: 3 }) });
      expect(late).toMatchObject({ status: 504, body: '"context deadline exceeded"\n' });
    });

    it('one JSON array to a caller that does not ask for frames (a Go host), and a plain error message', async () => {
      const [array, failed, invalid] = await Promise.all([
        rawRequest(socket, { path: '/count', body: body(3) }),
        rawRequest(socket, { path: '/count', body: body(1001) }),
        rawRequest(socket, { path: '/count', body: body(-1) }),
      ]);
      expect(array).toMatchObject({ status: 200, body: '[0, 1, 2]\n' });
      expect(array.headers['x-plugwire-stream']).toBeUndefined();
      expect(failed).toMatchObject({ status: 500, body: '"count stops at 1000"\n' });
      expect(invalid).toMatchObject({ status: 422, body: '"count takes a whole number"\n' });
    });
  });
});
