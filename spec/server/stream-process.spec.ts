/**
 * A stream method served by a standalone plugin process (spec/fixtures/server/stream-plugin.ts,
 * spawned with PLUGIN_SOCKET as a Go host would): raw callers over the real socket. Needs
 * `npm run build` first (the fixture runs from dist/).
 */
import * as fs from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

import { goStart, type GoHostPlugin } from '../support/go-host';
import { rawRequest } from '../support/raw-http';
import { waitFor, within } from '../support/host-helpers';
import { envelope, spawnPluginProcess, type PluginProcess } from '../support/plugin-process';

const FIXTURE = path.join(__dirname, '../../dist/spec/fixtures/server/stream-plugin.js');

describe('a stream method in a plugin process', () => {
  let dir: string;
  let socket: string;
  let plugin: PluginProcess;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-'));
    socket = path.join(dir, 'stream.sock');
    const env: NodeJS.ProcessEnv = { ...process.env, PLUGIN_SOCKET: socket };
    delete env['PLUGWIRE_LIFELINE_FD'];
    delete env['PLUGWIRE_TOKEN'];
    plugin = spawnPluginProcess(FIXTURE, env);
    await plugin.line('stdout', 'plugin is ready');
  });

  afterAll(async () => {
    if (plugin && plugin.child.exitCode === null && plugin.child.signalCode === null) plugin.child.kill('SIGKILL');
    await plugin?.exit;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('streams frames to a caller that asks for them, and the whole stream as an array to one that does not (curl, a Go host)', async () => {
    const frames = await rawRequest(socket, { path: '/few', body: envelope(3), headers: { 'x-plugwire-version': '1', 'x-plugwire-stream': '1' } });
    expect(frames.status).toBe(200);
    expect(frames.headers['x-plugwire-stream']).toBe('1');
    expect(frames.body).toBe('{"item":1}\n{"item":2}\n{"item":3}\n{"end":true}\n');
    const plain = await rawRequest(socket, { path: '/few', body: envelope(3) });
    expect(plain.status).toBe(200);
    expect(plain.body).toBe('[1,2,3]\n');
  });

  it('awaits the promises of an array, and answers a rejected one as an error without the process dying of it', async () => {
    const frames = { 'x-plugwire-version': '1', 'x-plugwire-stream': '1' };
    expect((await rawRequest(socket, { path: '/promises', body: envelope(null), headers: frames })).body).toBe('{"item":1}\n{"item":2}\n{"item":3}\n{"end":true}\n');
    expect((await rawRequest(socket, { path: '/promises', body: envelope(null) })).body).toBe('[1,2,3]\n');
    const failed = await rawRequest(socket, { path: '/rejected', body: envelope(null), headers: frames });
    expect(failed.status).toBe(200);
    expect(failed.body).toBe('{"item":1}\n{"error":{"code":"PLUGWIRE_REMOTE","message":"item rejected","remote":{"name":"Error","message":"item rejected"}}}\n');
    const plain = await rawRequest(socket, { path: '/rejected', body: envelope(null) });
    expect(plain.status).toBe(500);
    expect(JSON.parse(plain.body)).toBe('item rejected');
    // Alive: a rejection nobody handled would have ended the process before this call.
    expect((await rawRequest(socket, { path: '/few', body: envelope(1) })).body).toBe('[1]\n');
    expect(plugin.child.exitCode).toBeNull();
  });

  it('ends the iterator (its finally runs) and aborts its signal when the caller disconnects mid-stream', async () => {
    const body = envelope('gone');
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(
        { socketPath: socket, path: '/count', method: 'POST', agent: false, headers: { 'x-plugwire-version': '1', 'x-plugwire-stream': '1', 'Content-Length': Buffer.byteLength(body) } },
        resolve,
      );
      req.on('error', reject);
      req.end(body);
    });
    await within(new Promise((resolve) => res.once('data', resolve)), 5000, 'the first frames');
    res.socket.destroy();
    await waitFor(() => plugin.stderr.some((line) => line.startsWith('finally: gone after ')), 5000, 'the finally line');
    expect(plugin.stderr).toContain('aborted: gone');
    // The plugin serves on.
    expect((await rawRequest(socket, { path: '/few', body: envelope(1) })).body).toBe('[1]\n');
  });

  it('answers another caller, and ends the stream at its deadline, while an iterator that never waits streams to a reader that keeps up', async () => {
    // Lines of about 40 bytes fill a 16 KiB write before the per-turn bound of items, and a
    // fast reader empties the socket at once: each write completes (and drains) in its turn.
    const body = JSON.stringify({ Context: { Deadline: new Date(Date.now() + 1500).toISOString() }, Payload: null });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(
        { socketPath: socket, path: '/wide', method: 'POST', agent: false, headers: { 'x-plugwire-version': '1', 'x-plugwire-stream': '1', 'Content-Length': Buffer.byteLength(body) } },
        resolve,
      );
      req.on('error', reject);
      req.end(body);
    });
    let received = 0;
    let tail = '';
    res.on('data', (chunk: Buffer) => {
      received += chunk.length;
      tail = (tail + chunk.toString('latin1')).slice(-400);
    });
    const ended = new Promise((resolve) => res.once('end', resolve));
    await waitFor(() => received > 1_000_000, 10_000, 'a megabyte of items');
    const other = await within(rawRequest(socket, { path: '/few', body: envelope(2) }), 3000, 'another call while the stream runs');
    expect(other.body).toBe('[1,2]\n');
    await within(ended, 5000, 'the stream to end at its deadline');
    expect(tail.trimEnd().split('\n').pop()).toMatch(/^\{"error":.*PLUGWIRE_TIMEOUT/);
  });

  it('closing on SIGTERM waits (within grace) for the finally of an iterator returned while it awaited', async () => {
    const own = spawnPluginProcess(FIXTURE, { ...process.env, PLUGIN_SOCKET: path.join(dir, 'slow.sock'), PLUGWIRE_TOKEN: undefined, PLUGWIRE_LIFELINE_FD: undefined });
    try {
      await own.line('stdout', 'plugin is ready');
      const body = envelope(null);
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = request(
          { socketPath: path.join(dir, 'slow.sock'), path: '/slow-finally', method: 'POST', agent: false, headers: { 'x-plugwire-version': '1', 'x-plugwire-stream': '1', 'Content-Length': Buffer.byteLength(body) } },
          resolve,
        );
        req.on('error', reject);
        req.end(body);
      });
      await within(new Promise((resolve) => res.once('data', resolve)), 5000, 'the first frame');
      // The caller goes away while the generator waits on its timer, and the plugin is told to stop.
      res.socket.destroy();
      await new Promise((resolve) => setImmediate(resolve));
      own.child.kill('SIGTERM');
      const exit = await own.exit;
      expect(exit).toMatchObject({ code: 0 });
      expect(own.stderr).toContain('finally: slow');
    } finally {
      if (own.child.exitCode === null && own.child.signalCode === null) own.child.kill('SIGKILL');
      await own.exit;
    }
  });

  describe('called by a Go host (version 1: no x-plugwire-stream)', () => {
    let go: GoHostPlugin;

    beforeAll(async () => {
      go = await goStart(process.execPath, [FIXTURE], path.join(dir, 'go.sock'), { env: { STREAM_MAX_COLLECTED: '1000', PLUGWIRE_TOKEN: undefined, PLUGWIRE_LIFELINE_FD: undefined } });
    });

    afterAll(() => go?.term());

    it('gets the whole stream as one JSON array', async () => {
      const result = await go.call('/few', 4);
      expect(result).toMatchObject({ status: 200, value: [1, 2, 3, 4] });
      expect(result.headers['x-plugwire-stream']).toBeUndefined();
    });

    it('gets a 500 with a message for a stream larger than maxCollectedSize, and the plugin ends the iterator', async () => {
      const result = await go.call('/count', 'go', { deadline: null });
      expect(result.status).toBe(500);
      expect(result.error).toBe('the stream of /count is larger than maxCollectedSize (1000 bytes) as one JSON array: read it as a stream (x-plugwire-stream: 1)');
      await waitFor(() => go.stderr.some((line) => line.startsWith('finally: go after ')), 5000, 'the finally line');
    });
  });
});
