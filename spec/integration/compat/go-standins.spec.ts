/**
 * Checks the two Go stand-ins (spec/fixtures/compat/go-plugin.ts and
 * spec/support/go-host.ts) against each other, so that both can be trusted
 * as "Go" in the plugwire interop specs. Needs `npx tsc -p tsconfig.build.json`
 * first (the plugin fixture runs from dist/).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

import { formatGoTime, goStart, GoHostError, type GoHostPlugin } from '../../support/go-host';

const FIXTURE = path.join(__dirname, '../../../dist/spec/fixtures/compat/go-plugin.js');

/** Sends a raw request to the socket (for what the Go host never sends). */
function rawRequest(socket: string, method: string, urlPath: string, body: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method, path: urlPath, agent: false, headers: { 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('Go stand-ins (go-plugin fixture + go-host)', () => {
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-'));
  });

  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('a running plugin', () => {
    let socket: string;
    let plugin: GoHostPlugin;

    beforeAll(async () => {
      socket = path.join(dir, 'main.sock');
      // a stale socket file is removed before the start
      fs.writeFileSync(socket, 'stale');
      plugin = await goStart(process.execPath, [FIXTURE], socket);
    });

    afterAll(async () => {
      await plugin.term();
    });

    it('printed only the ready line and listens on an owner-only socket', () => {
      expect(plugin.stdout).toEqual(['plugin is ready']);
      expect(plugin.pid).toBe(plugin.process.pid);
      const stat = fs.statSync(socket);
      expect(stat.isSocket()).toBe(true);
      expect(stat.mode & 0o077).toBe(0);
    });

    it('/modify decorates a string, answering like Go', async () => {
      const result = await plugin.call('/modify', 'hello');
      expect(result).toMatchObject({ status: 200, ok: true, value: 'hello decorated', rawBody: '"hello decorated"\n' });
      expect(result.error).toBeUndefined();
      expect(result.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(result.headers['content-length']).toBe(String(Buffer.byteLength(result.rawBody)));
    });

    it('escapes HTML characters in both directions like encoding/json', async () => {
      const result = await plugin.call('/modify', '<a&b>');
      expect(result.value).toBe('<a&b> decorated');
      expect(result.rawBody).toBe('"\\u003ca\\u0026b\\u003e decorated"\n');
    });

    it('/add matches lower-case keys to Go fields and answers with Go names', async () => {
      const result = await plugin.call('/add', { a: 1, b: 2 });
      expect(result).toMatchObject({ status: 200, value: { Sum: 3 }, rawBody: '{"Sum":3}\n' });
    });

    it('/fail is a 500 with the message as a JSON string', async () => {
      const result = await plugin.call('/fail', null);
      expect(result).toMatchObject({ status: 500, ok: false, error: 'it failed', rawBody: '"it failed"\n' });
      expect(result.value).toBeUndefined();
      expect(result.headers['content-type']).toBe('text/plain; charset=utf-8');
    });

    it('/panic is a 500 and the plugin keeps serving', async () => {
      const result = await plugin.call('/panic', null);
      expect(result.status).toBe(500);
      expect(typeof result.error).toBe('string');
      expect((await plugin.call('/modify', 'still')).value).toBe('still decorated');
    });

    it('an unknown method is a 404', async () => {
      const result = await plugin.call('/nope', 'x');
      expect(result.status).toBe(404);
      expect(result.error).toContain('/nope');
    });

    it('a payload of the wrong type is a 422', async () => {
      const result = await plugin.call('/modify', 42);
      expect(result.status).toBe(422);
      expect(typeof result.error).toBe('string');
    });

    it('/nil answers null', async () => {
      const result = await plugin.call('/nil', null);
      expect(result).toMatchObject({ status: 200, value: null, rawBody: 'null\n' });
    });

    it('/slow answers at the deadline with "context deadline exceeded"', async () => {
      const started = Date.now();
      const result = await plugin.call('/slow', 10_000, { deadline: new Date(started + 200) });
      const elapsed = Date.now() - started;
      expect(result).toMatchObject({ status: 500, error: 'context deadline exceeded' });
      expect(elapsed).toBeGreaterThanOrEqual(150);
      expect(elapsed).toBeLessThan(5_000);
    });

    it('/slow answers when done before the deadline', async () => {
      const result = await plugin.call('/slow', 20, { deadline: new Date(Date.now() + 10_000) });
      expect(result).toMatchObject({ status: 200, value: 20 });
    });

    it('the whole-call timeout bounds a call', async () => {
      await expect(plugin.call('/slow', 10_000, { timeoutMs: 100 })).rejects.toMatchObject({ kind: 'timeout' });
      // the plugin is unaffected
      expect((await plugin.call('/nil', null)).value).toBeNull();
    });

    it('sends the deadline as Go encodes time.Time', async () => {
      const deadline = new Date(Date.UTC(2099, 10, 25, 12, 0, 0, 120));
      expect(formatGoTime(deadline)).toBe('2099-11-25T12:00:00.12Z');
      expect(formatGoTime(new Date(Date.UTC(2099, 0, 2, 3, 4, 5, 0)))).toBe('2099-01-02T03:04:05Z');
      expect(formatGoTime(deadline, 60)).toBe('2099-11-25T13:00:00.12+01:00');
      expect(formatGoTime(deadline, -330)).toBe('2099-11-25T06:30:00.12-05:30');
      expect((await plugin.call('/echo-context', null, { deadline })).value).toEqual({ Deadline: '2099-11-25T12:00:00.12Z' });
      expect((await plugin.call('/echo-context', null, { deadline, zoneOffsetMinutes: 60 })).value).toEqual({ Deadline: '2099-11-25T13:00:00.12+01:00' });
      expect((await plugin.call('/echo-context', null)).value).toEqual({ Deadline: null });
      const nanos = '2099-11-25T12:00:00.123456789Z';
      expect((await plugin.call('/echo-context', null, { deadline: nanos })).value).toEqual({ Deadline: nanos });
    });

    it('rejects a malformed deadline with a 422', async () => {
      for (const deadline of ['tomorrow', '2099-02-30T00:00:00Z', '2099-01-01T00:00:00', '2099-01-01t00:00:00Z', '2099-01-01T00:00:00+24:00']) {
        const result = await plugin.call('/echo-context', null, { deadline });
        expect([deadline, result.status]).toEqual([deadline, 422]);
      }
    });

    it('sends exactly the Go host headers', async () => {
      const result = await plugin.call('/headers', null);
      const headers = result.value as Record<string, string>;
      const body = '{"Context":{"Deadline":null},"Payload":null}';
      expect(headers).toEqual({
        host: 'plugin',
        'user-agent': 'Go-http-client/1.1',
        'content-type': 'application/json',
        'accept-encoding': 'gzip',
        'content-length': String(body.length),
        // added by undici; Go sends no Connection header
        connection: 'keep-alive',
      });
    });

    it('is lenient like a Go plugin (raw requests)', async () => {
      // any HTTP method, lower-case keys, no Context, extra fields, trailing data
      let res = await rawRequest(socket, 'PUT', '/modify', '{"payload":"x","extra":[1,2]} trailing');
      expect([res.status, res.body]).toEqual([200, '"x decorated"\n']);
      // a top-level null leaves the request at its defaults
      res = await rawRequest(socket, 'POST', '/modify', 'null');
      expect([res.status, res.body]).toEqual([200, '" decorated"\n']);
      // mixed-case keys and a deadline with a zone offset
      res = await rawRequest(socket, 'POST', '/echo-context', '{"CONTEXT":{"deadline":"2099-01-01T00:00:00.5+01:00"}}');
      expect([res.status, res.body]).toEqual([200, '{"Deadline":"2099-01-01T00:00:00.5+01:00"}\n']);
      // not JSON / not an object / wrong field type
      for (const [route, body] of [['/modify', 'not json'], ['/modify', '[1]'], ['/modify', ''], ['/add', '{"Payload":{"a":"1"}}'], ['/slow', '{"Payload":1.5}']] as const) {
        res = await rawRequest(socket, 'POST', route, body);
        expect([route, body, res.status]).toEqual([route, body, 422]);
        expect(typeof JSON.parse(res.body)).toBe('string');
        expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
      }
      // 404 comes before decoding
      res = await rawRequest(socket, 'GET', '/x', 'not json');
      expect([res.status, res.body]).toEqual([404, '"method not found: /x"\n']);
    });

    it('never printed anything but the ready line', () => {
      expect(plugin.stdout).toEqual(['plugin is ready']);
    });
  });

  it('term() stops the plugin with exit code 0 and the socket file is gone', async () => {
    const socket = path.join(dir, 'term.sock');
    const plugin = await goStart(process.execPath, [FIXTURE], socket);
    expect(fs.existsSync(socket)).toBe(true);
    await plugin.term();
    await plugin.term(); // a second call is harmless
    await expect(plugin.exited).resolves.toEqual({ code: 0, signal: null });
    expect(fs.existsSync(socket)).toBe(false);
    await expect(plugin.call('/nil', null)).rejects.toBeInstanceOf(GoHostError);
  });

  it('SIGINT stops the plugin as well', async () => {
    const socket = path.join(dir, 'int.sock');
    const plugin = await goStart(process.execPath, [FIXTURE], socket);
    plugin.process.kill('SIGINT');
    await expect(plugin.exited).resolves.toEqual({ code: 0, signal: null });
    expect(fs.existsSync(socket)).toBe(false);
    await plugin.term();
  });

  it('/exit crashes the plugin: the call fails and the process exits with 2', async () => {
    const socket = path.join(dir, 'exit.sock');
    const plugin = await goStart(process.execPath, [FIXTURE], socket);
    await expect(plugin.call('/exit', null)).rejects.toMatchObject({ kind: 'transport' });
    await expect(plugin.exited).resolves.toEqual({ code: 2, signal: null });
    await plugin.term();
  });

  it('a plugin that cannot listen fails the start', async () => {
    const socket = path.join(dir, 'missing-dir', 'x.sock');
    const err = await goStart(process.execPath, [FIXTURE], socket).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GoHostError);
    expect(err).toMatchObject({ kind: 'start', stdout: ['failed to listen on socket'], exit: { code: 1, signal: null } });
    expect((err as Error).message).toMatch(/^plugin failed to start/);
  });

  it('a socket path longer than Go allows fails the start (libuv would truncate it)', async () => {
    const socket = path.join(dir, 'x'.repeat(120));
    const err = await goStart(process.execPath, [FIXTURE], socket).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'start', stdout: ['failed to listen on socket'], exit: { code: 1, signal: null } });
  });

  it('a plugin that exits before it is ready fails the start', async () => {
    await expect(goStart(process.execPath, ['-e', 'process.exit(3)'], path.join(dir, 'early.sock'))).rejects.toMatchObject({ kind: 'start', exit: { code: 3, signal: null } });
  });

  it('a command that cannot be spawned fails the start', async () => {
    await expect(goStart(path.join(dir, 'no-such-binary'), [], path.join(dir, 'enoent.sock'))).rejects.toMatchObject({ kind: 'start' });
  });

  it('a plugin that never gets ready times out and is killed', async () => {
    const script = "process.on('SIGTERM', () => process.exit(0)); setInterval(() => undefined, 1000); console.log('not ready');";
    await expect(goStart(process.execPath, ['-e', script], path.join(dir, 'slow.sock'), { startTimeoutMs: 300 })).rejects.toMatchObject({
      kind: 'start',
      message: 'could not start plugin within 300 ms',
      stdout: ['not ready'],
      exit: { code: 0, signal: null },
    });
  });

  it('passes the environment through and adds PLUGIN_SOCKET', async () => {
    const socket = path.join(dir, 'env.sock');
    const script = "console.log(JSON.stringify({s: process.env.PLUGIN_SOCKET, x: process.env.GO_HOST_X, p: process.env.PATH === undefined})); console.log('plugin is ready'); setInterval(() => undefined, 1000);";
    const plugin = await goStart(process.execPath, ['-e', script], socket, { env: { GO_HOST_X: 'y' } });
    await plugin.term();
    expect(JSON.parse(plugin.stdout[0] ?? '')).toEqual({ s: socket, x: 'y', p: process.env['PATH'] === undefined });
    expect(await plugin.exited).toEqual({ code: null, signal: 'SIGTERM' });
  });
});
