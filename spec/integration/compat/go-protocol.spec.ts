// Wire compatibility with tilotech/go-plugin, both ways, through stand-ins written
// without plugwire that follow PROTOCOL.md byte for byte: a raw node:http "Go plugin"
// loaded by a plugwire host, and a raw undici "Go host" loading a plugwire plugin.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IsNumber } from 'class-validator';
import {
  Method,
  Plugin,
  PluginError,
  RemoteError,
  connect,
  startWithCommand,
  stub,
  type Connection,
} from '../../../lib';
import { formatGoTime, goStart, type GoHostPlugin } from '../../support/go-host';

const GO_PLUGIN = path.join(__dirname, '../../../dist/spec/fixtures/compat/go-plugin.js');
const PLUGWIRE_PLUGIN = path.join(__dirname, '../../../dist/spec/fixtures/compat/compat-plugin.js');

class Sum {
  @IsNumber() Sum!: number;
}

@Plugin('go')
class GoContract {
  @Method('/modify') modify(value: string): Promise<string> { return stub(value); }
  @Method('/add', { returns: Sum, params: [Object] }) add(pair: { a: number; b: number }): Promise<Sum> { return stub(pair); }
  @Method('/fail') fail(): Promise<void> { return stub(); }
  @Method('/panic') panic(): Promise<void> { return stub(); }
  @Method('/slow') slow(ms: number): Promise<number> { return stub(ms); }
  @Method('/nil') nil(): Promise<null> { return stub(); }
  @Method('/echo-context') echoContext(): Promise<{ Deadline: string | null }> { return stub(); }
  @Method('/headers') headers(): Promise<Record<string, string>> { return stub(); }
  @Method('/exit') exit(): Promise<void> { return stub(); }
  @Method('/missing') missing(): Promise<void> { return stub(); }
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-compat-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a plugwire host loading a Go plugin', () => {
  let go: Connection<GoContract>;
  beforeAll(async () => {
    go = await connect(GoContract, startWithCommand(process.execPath, [GO_PLUGIN], { logger: false }), {
      socket: path.join(dir, 'go.sock'),
      restart: { initialDelay: 10 },
    });
  });
  afterAll(() => go.term());

  it('starts it through PLUGIN_SOCKET and the ready line, and calls a method', async () => {
    await expect(go.plugin.modify('some value')).resolves.toBe('some value decorated');
  });

  it('sends the Go envelope with a Go-encoded deadline about a timeout ahead', async () => {
    const before = Date.now();
    const { Deadline } = await go.client.call('/echo-context', null, { timeout: 5000 }) as { Deadline: string };
    expect(Deadline).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
    const at = Date.parse(Deadline);
    expect(at).toBeGreaterThanOrEqual(before + 5000 - 1);
    expect(at).toBeLessThanOrEqual(Date.now() + 5000 + 1);
  });

  it('sends a null deadline when the call has no timeout', async () => {
    await expect(go.client.call('/echo-context', null, { timeout: 0 })).resolves.toEqual({ Deadline: null });
  });

  it('converts the Go-cased result into the returns class', async () => {
    const sum = await go.plugin.add({ a: 2, b: 3 });
    expect(sum).toBeInstanceOf(Sum);
    expect(sum.Sum).toBe(5);
  });

  it('takes a null body for a method without result', async () => {
    await expect(go.plugin.nil()).resolves.toBeNull();
  });

  it.each([
    ['/fail', 'PLUGWIRE_REMOTE', 'it failed'],
    ['/panic', 'PLUGWIRE_REMOTE', undefined],
    ['/missing', 'PLUGWIRE_METHOD_NOT_FOUND', 'method not found: /missing'],
  ] as const)('turns the JSON-string error of %s into %s', async (route, code, message) => {
    const error: unknown = await go.client.call(route).catch((e: unknown) => e);
    expect(PluginError.is(error, code)).toBe(true);
    if (message) expect((error as Error).message).toBe(message);
  });

  it('keeps the message of a Go error as the remote message, named Error', async () => {
    const error = (await go.plugin.fail().catch((e: unknown) => e)) as RemoteError;
    expect(error.remote).toEqual({ name: 'Error', message: 'it failed' });
  });

  it('maps a 422 from the Go plugin to PLUGWIRE_VALIDATION', async () => {
    const error: unknown = await go.client.call('/modify', 42).catch((e: unknown) => e);
    expect(PluginError.is(error, 'PLUGWIRE_VALIDATION')).toBe(true);
  });

  it("maps Go's 'context deadline exceeded' to PLUGWIRE_TIMEOUT, worded as any timeout", async () => {
    const error: unknown = await go.client.call('/slow', 5000, { timeout: 300 }).catch((e: unknown) => e);
    expect(PluginError.is(error, 'PLUGWIRE_TIMEOUT')).toBe(true);
    // The Go plugin's deadline and the host's timer fire together: either may win, the wording is the same.
    expect((error as Error).message).toBe('call to /slow timed out after 300 ms');
  });

  it('adds only its own negotiation header, which a Go plugin ignores', async () => {
    const headers = await go.plugin.headers();
    expect(headers['x-plugwire-version']).toBe('1');
    expect(headers['content-type']).toBe('application/json');
    expect(Object.keys(headers).filter((h) => h.startsWith('x-plugwire') && h !== 'x-plugwire-version')).toEqual([]);
  });

  it('restarts a Go plugin that crashed during a call and sends the call again', async () => {
    const pid = go.client.pid;
    // /exit kills the plugin on every delivery: the retried call fails too, after one restart.
    const error: unknown = await go.plugin.exit().catch((e: unknown) => e);
    expect(PluginError.is(error, 'PLUGWIRE_UNAVAILABLE')).toBe(true);
    await expect(go.plugin.modify('back')).resolves.toBe('back decorated');
    expect(go.client.pid).not.toBe(pid);
  });
});

describe('a Go host loading a plugwire plugin', () => {
  let plugin: GoHostPlugin;
  let socket: string;
  beforeAll(async () => {
    socket = path.join(dir, 'pw.sock');
    plugin = await goStart(process.execPath, [PLUGWIRE_PLUGIN], socket);
  });
  afterAll(() => plugin.term());

  it('prints exactly the ready line and listens on a 0600 socket', () => {
    expect(plugin.stdout).toEqual(['plugin is ready']);
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
  });

  it('answers a call with JSON and a trailing newline', async () => {
    const result = await plugin.call('/modify', 'some value');
    expect(result.status).toBe(200);
    expect(result.rawBody).toBe('"some value decorated"\n');
  });

  it('validates a DTO payload decoded from Go-cased keys', async () => {
    await expect(plugin.call('/add', { a: 1, b: 2 })).resolves.toMatchObject({ status: 200, value: 3 });
  });

  it('takes several parameters as a JSON array', async () => {
    await expect(plugin.call('/join', ['a', 'b'])).resolves.toMatchObject({ status: 200, value: 'ab' });
  });

  it('answers null for a method without result', async () => {
    await expect(plugin.call('/nothing', null)).resolves.toMatchObject({ status: 200, rawBody: 'null\n' });
  });

  it('sends plain JSON-string errors, never the structured extension', async () => {
    const failed = await plugin.call('/fail', null);
    expect(failed.status).toBe(500);
    expect(failed.error).toBe('out of stock');
    expect(failed.headers['x-plugwire-error']).toBeUndefined();

    const invalid = await plugin.call('/add', { a: -1, b: 'x' });
    expect(invalid.status).toBe(422);
    expect(typeof invalid.error).toBe('string');
    expect(invalid.error).toMatch(/a must not be less than 0/);
    expect(invalid.headers['x-plugwire-error']).toBeUndefined();

    const missing = await plugin.call('/nope', null);
    expect(missing.status).toBe(404);
    expect(missing.error).toBe('method not found: /nope');
  });

  it('understands a Go deadline with nanoseconds and a zone offset', async () => {
    const at = new Date(Date.now() + 60_000);
    const local = formatGoTime(at, 60).replace(/(\.\d+)?\+01:00$/, (_m, frac: string | undefined) => `${(frac ?? '.').padEnd(10, '0').slice(0, 10)}+01:00`);
    expect(local).toMatch(/\.\d{9}\+01:00$/);
    const result = await plugin.call('/deadline', null, { deadline: local });
    expect(result.status).toBe(200);
    expect(Date.parse(result.value as string)).toBe(at.getTime());
  });

  it('answers at the deadline even when the method ignores it', async () => {
    const started = Date.now();
    const result = await plugin.call('/sleep', 5000, { deadline: new Date(Date.now() + 300) });
    expect(result.status).not.toBe(200);
    expect(result.error).toBe('context deadline exceeded');
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('exits with status 0 on SIGTERM and removes its socket', async () => {
    await plugin.term();
    await expect(plugin.exited).resolves.toEqual({ code: 0, signal: null });
    expect(fs.existsSync(socket)).toBe(false);
  });
});
