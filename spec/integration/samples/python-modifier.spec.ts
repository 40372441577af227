// The Python sample (samples/python-modifier/plugin.py) loaded by a plugwire host: the
// TypeScript contract on the host, a python3 process with no plugwire code on the other
// side. It must pass connect()'s strict contract check, answer like the TypeScript plugin
// (samples/modifier/plugin.ts), speak plugwire's extensions (structured errors, token,
// lifeline, manifest), and live and die like a plugwire plugin. Needs python3 (CI installs it).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import {
  PluginError,
  connect,
  readManifest,
  startWithCommand,
  type Connection,
  type PayloadValidationError,
  type PluginClient,
  type PluginExit,
  type RemoteError,
  type Starter,
} from 'plugwire';
import { Greeting, Modifier } from '../../../samples/modifier/contract';
import { collectingLogger, fixture, pidAlive, removeDir, spawnNode, tempDir, waitFor, waitForPidGone, within, type CollectingLogger } from '../../support/host-helpers';
import { rawRequest } from '../../support/raw-http';

const PLUGIN = path.join(__dirname, '../../../samples/python-modifier/plugin.py');
const TS_PLUGIN = path.join(__dirname, '../../../dist/samples/modifier/plugin.js');

/** `python3 --version`, once requirePython() found it. */
let pythonVersion: string | undefined;

/** Fails (never skips) without python3 3.8 or later, with a message that says what is missing. */
function requirePython(): void {
  let version: string;
  try {
    version = execFileSync('python3', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    throw new Error(`this spec runs samples/python-modifier/plugin.py and needs python3 (3.8 or later) on the PATH; CI installs it. Running "python3 --version" failed: ${(error as Error).message}`);
  }
  const [, major, minor] = /Python (\d+)\.(\d+)/.exec(version) ?? [];
  if (Number(major) !== 3 || Number(minor) < 8) throw new Error(`samples/python-modifier/plugin.py needs python3 3.8 or later, found "${version}"`);
  pythonVersion = version;
}

function pythonStarter(logger: CollectingLogger = collectingLogger()): Starter {
  return startWithCommand('python3', [PLUGIN], { name: 'python-modifier', logger });
}

/** The token the host handed the plugin, from the environment it was started with. */
function tokenOf(pid: number): string {
  const entry = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((e) => e.startsWith('PLUGWIRE_TOKEN='));
  if (!entry) throw new Error(`plugin ${pid} was started without a token`);
  return entry.slice('PLUGWIRE_TOKEN='.length);
}

function envelope(payload: unknown, deadline: string | null = null): string {
  return JSON.stringify({ Context: { Deadline: deadline }, Payload: payload });
}

/** A call's result, or its error reduced to what the host sees of it. */
async function outcome(client: PluginClient, route: string, payload: unknown): Promise<unknown> {
  try {
    return { value: await client.call(route, payload) };
  } catch (error) {
    if (!PluginError.is(error)) throw error;
    const { code, message, violations, side } = error as PluginError & Partial<PayloadValidationError>;
    return { code, message, violations, side };
  }
}

/** Runs plugin.py directly on a socket path; resolves with its first stdout line and its exit. */
function runPython(socket: string): { pid: number; firstLine: Promise<string>; exited: Promise<number | null> } {
  const child = spawn('python3', [PLUGIN], { env: { ...process.env, PLUGIN_SOCKET: socket }, stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const reader = createInterface({ input: child.stdout });
  const firstLine = new Promise<string>((resolve, reject) => {
    reader.once('line', resolve);
    void exited.then((code) => reject(new Error(`plugin.py exited (${code}) before printing a line`)));
  });
  return { pid: child.pid as number, firstLine, exited };
}

describe('samples/python-modifier: the Modifier plugin in Python', () => {
  beforeAll(requirePython);

  describe('through connect()', () => {
    let py: Connection<Modifier> | undefined;
    let ts: Connection<Modifier> | undefined;
    let logger: CollectingLogger;

    beforeAll(async () => {
      logger = collectingLogger();
      if (pythonVersion === undefined) return; // the outer beforeAll failed every test already, with the reason
      const [python, typescript] = await Promise.allSettled([
        connect(Modifier, pythonStarter(logger), { contractCheck: 'strict' }),
        connect(Modifier, startWithCommand(process.execPath, [TS_PLUGIN], { logger: false })),
      ]);
      if (python.status === 'fulfilled') py = python.value;
      if (typescript.status === 'fulfilled') ts = typescript.value;
      for (const result of [python, typescript]) if (result.status === 'rejected') throw result.reason;
    });
    afterAll(async () => {
      await Promise.all([py?.term(), ts?.term()]);
    });

    /** The Python connection, which beforeAll made. */
    const python = (): Connection<Modifier> => py as Connection<Modifier>;

    it('passes the strict contract check, and its manifest describes the methods as the TypeScript plugin\'s does', async () => {
      // Beside them it serves a stream method of its own (python-stream.spec.ts tests it).
      const withoutStreams = <T extends { methods: ReadonlyArray<{ stream?: true }> }>(m: T | undefined) => m && { ...m, methods: m.methods.filter((each) => each.stream !== true) };
      const manifest = withoutStreams(await readManifest(python().client));
      const reference = await readManifest((ts as Connection<Modifier>).client);
      expect(manifest?.plugin).toEqual({ name: 'modifier', version: '1.0.0-python' });
      expect(manifest?.methods.map((m) => m.route)).toEqual(['/modify', '/greet', '/join']);
      expect(manifest).toEqual({ ...reference, plugin: { name: 'modifier', version: '1.0.0-python' } });
      const lean = withoutStreams(await readManifest(python().client, { schemas: false }));
      expect(lean).toEqual({ ...(await readManifest((ts as Connection<Modifier>).client, { schemas: false })), plugin: manifest?.plugin });
      expect(lean?.definitions).toEqual({});
    });

    it('modify appends " decorated"', async () => {
      await expect(python().plugin.modify('some value')).resolves.toBe('some value decorated');
    });

    it('greet returns a real Greeting, with the length in UTF-16 code units as JavaScript counts it', async () => {
      const greeting = await python().plugin.greet({ name: 'Ada', age: 36, address: { city: 'London' } });
      expect(greeting).toBeInstanceOf(Greeting);
      expect(greeting.shout()).toBe('HELLO ADA FROM LONDON');
      expect(greeting.length).toBe('hello Ada from London'.length);
      const emoji = await python().plugin.greet({ name: 'Zoë 😀', age: 7, email: 'zoe@example.com' });
      expect({ ...emoji }).toEqual({ text: 'hello Zoë 😀', length: 'hello Zoë 😀'.length });
    });

    it('join takes its three parameters as a JSON array', async () => {
      await expect(python().plugin.join(['a', 'b'], '-', 2)).resolves.toBe('a-b-a-b');
      await expect(python().plugin.join(['x', 'y'], '+', 3)).resolves.toBe('x+y+x+y+x+y');
    });

    it('an invalid Person is refused on the host, before it is sent', async () => {
      const error = (await python().plugin.greet({ name: '', age: 200, email: 'nope' }).catch((e: unknown) => e)) as PayloadValidationError;
      expect(PluginError.is(error, 'PLUGWIRE_VALIDATION')).toBe(true);
      expect(error.side).toBe('host');
      expect(error.violations.map((v) => v.path).sort()).toEqual(['age', 'email', 'name']);
    });

    it('an invalid Person sent raw is answered 422 by Python, with the violations class-validator would give', async () => {
      const error = (await python().client.call('/greet', { name: '', age: 200, email: 'nope', address: { city: 7 } }).catch((e: unknown) => e)) as PayloadValidationError;
      expect(PluginError.is(error, 'PLUGWIRE_VALIDATION')).toBe(true);
      expect(error.side).toBe('plugin');
      expect(error.violations).toEqual([
        { path: 'name', value: '', constraints: { isLength: 'name must be longer than or equal to 1 characters' } },
        { path: 'age', value: 200, constraints: { max: 'age must not be greater than 150' } },
        { path: 'email', value: 'nope', constraints: { isEmail: 'email must be an email' } },
        {
          path: 'address.city',
          value: 7,
          constraints: { isLength: 'city must be longer than or equal to 1 and shorter than or equal to 100 characters', isString: 'city must be a string' },
        },
      ]);
      expect(error.message).toMatch(/^invalid payload for \/greet: name: name must be longer/);
    });

    it('an unknown route is PLUGWIRE_METHOD_NOT_FOUND', async () => {
      const error = (await python().client.call('/no-such-route', 'x').catch((e: unknown) => e)) as PluginError;
      expect(PluginError.is(error, 'PLUGWIRE_METHOD_NOT_FOUND')).toBe(true);
      expect(error.message).toBe('method not found: /no-such-route');
    });

    it('a method that raises is PLUGWIRE_REMOTE with the exception\'s class name, as a TypeScript TypeError is', async () => {
      const errors = (await Promise.all(
        [python(), ts as Connection<Modifier>].map((c) => c.client.call('/greet', null).catch((e: unknown) => e)),
      )) as RemoteError[];
      expect(errors).toHaveLength(2);
      for (const error of errors) {
        expect(PluginError.is(error, 'PLUGWIRE_REMOTE')).toBe(true);
        expect(error.remote.name).toBe('TypeError');
        expect(error.statusCode).toBe(500);
      }
    });

    it.each([
      ['/modify', 'x'],
      ['/modify', null],
      ['/modify', 5],
      ['/modify', ['a']],
      ['/greet', { name: 'Ada', age: 36, address: { city: 'Paris' }, extra: true }],
      ['/greet', { name: 'a', age: 1, email: null, address: null }],
      ['/greet', {}],
      ['/greet', { name: 5, age: 1.5, email: 5, address: 5 }],
      ['/greet', { name: 'x'.repeat(51), age: -1, address: { city: '' } }],
      ['/greet', { name: 'a', age: '1' }],
      ['/greet', { name: 'a', age: true }],
      ['/greet', { name: 'a', age: 1, address: [{ city: 1 }] }],
      ['/greet', { name: '', age: 200, address: [] }],
      ['/greet', { name: 'a', age: 1, address: {} }],
      ['/greet', 'a string'],
      ['/greet', [1]],
      ['/join', [['a', null, 1, true, [1, 2], {}], '-', 1]],
      ['/join', [['a'], '-']],
      ['/join', [['a'], '-', 2.7]],
      ['/join', [['a'], null, 2]],
      ['/join', null],
      ['/join', 'x'],
      ['/join', [1, 2, 3, 4]],
      ['/join', ['a', 5, 'x']],
    ])('answers %s %j as the TypeScript plugin does', async (route, payload) => {
      const [fromPython, fromTs] = await Promise.all([outcome(python().client, route, payload), outcome((ts as Connection<Modifier>).client, route, payload)]);
      expect(fromPython).toEqual(fromTs);
    });

    it('serves 20 concurrent calls', async () => {
      const { plugin } = python();
      const calls = Array.from({ length: 20 }, (_, i) => {
        if (i % 3 === 0) return plugin.modify(`v${i}`);
        if (i % 3 === 1) return plugin.greet({ name: `n${i}`, age: i }).then((g) => g.text);
        return plugin.join([`${i}`, 'z'], '.', 2);
      });
      const expected = Array.from({ length: 20 }, (_, i) => (i % 3 === 0 ? `v${i} decorated` : i % 3 === 1 ? `hello n${i}` : `${i}.z.${i}.z`));
      await expect(Promise.all(calls)).resolves.toEqual(expected);
    });

    it('on the wire: 401 without the token, and with it plain or structured errors, 405, 504 and 400', async () => {
      const { client } = python();
      const socket = client.socket;
      const token = tokenOf(client.pid as number);
      const auth = { Authorization: `Bearer ${token}` };
      const structured = { ...auth, 'x-plugwire-version': '1' };

      for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: token }]) {
        const refused = await rawRequest(socket, { path: '/modify', headers, body: envelope('x') });
        expect(refused.status).toBe(401);
        expect(refused.headers['www-authenticate']).toBe('Bearer');
        expect(typeof JSON.parse(refused.body)).toBe('string');
      }

      const ok = await rawRequest(socket, { path: '/modify', headers: auth, body: envelope('x') });
      expect([ok.status, JSON.parse(ok.body), ok.headers['content-length']]).toEqual([200, 'x decorated', String(Buffer.byteLength(ok.body))]);

      const plain = await rawRequest(socket, { path: '/nope', headers: auth, body: envelope('x') });
      expect([plain.status, JSON.parse(plain.body), plain.headers['x-plugwire-error']]).toEqual([404, 'method not found: /nope', undefined]);
      const coded = await rawRequest(socket, { path: '/nope', headers: structured, body: envelope('x') });
      expect(coded.headers['x-plugwire-error']).toBe('1');
      expect(JSON.parse(JSON.parse(coded.body) as string)).toEqual({ code: 'PLUGWIRE_METHOD_NOT_FOUND', message: 'method not found: /nope' });

      const get = await rawRequest(socket, { method: 'GET', path: '/modify', headers: auth });
      expect([get.status, get.headers.allow, JSON.parse(get.body)]).toEqual([405, 'POST', 'method GET not allowed: calls are POST requests']);

      const late = await rawRequest(socket, { path: '/modify', headers: structured, body: envelope('x', '2020-01-01T00:00:00.123456789+01:00') });
      expect(late.status).toBe(504);
      expect(JSON.parse(JSON.parse(late.body) as string)).toEqual({ code: 'PLUGWIRE_TIMEOUT', message: 'context deadline exceeded' });

      const garbage = await rawRequest(socket, { path: '/modify', headers: auth, body: '{not json' });
      expect(garbage.status).toBe(400);
      expect(JSON.parse(garbage.body)).toMatch(/^request body is not valid JSON/);

      const manifest = await rawRequest(socket, { method: 'GET', path: '/.plugwire/manifest', headers: auth });
      expect(manifest.status).toBe(200);
      expect((JSON.parse(manifest.body) as { plugin: unknown }).plugin).toEqual({ name: 'modifier', version: '1.0.0-python' });
    });

    it('after kill -9 the next call restarts it and is answered', async () => {
      const { client, plugin } = python();
      const before = client.pid as number;
      process.kill(before, 'SIGKILL');
      await expect(plugin.modify('again')).resolves.toBe('again decorated');
      expect(client.pid).not.toBe(before);
      expect(client.stats.restarts).toBe(1);
      await waitForPidGone(before);
    });

    it('printed nothing on stdout or stderr besides its ready line', () => {
      expect([...logger.lines, ...logger.errors]).toEqual([]);
    });
  });

  it('term() stops it with SIGTERM: exit status 0 well within the grace period, socket (mode 0600) removed', async () => {
    const dir = tempDir();
    const socket = path.join(dir, 'python.sock');
    let exited: Promise<PluginExit> | undefined;
    const inner = pythonStarter();
    const starter: Starter = {
      name: inner.name,
      async start(context) {
        const started = await inner.start(context);
        exited = started.exited;
        return started;
      },
    };
    const conn = await connect(Modifier, starter, { socket });
    try {
      expect(statSync(socket).mode & 0o777).toBe(0o600);
      // Calls in parallel leave several idle keep-alive connections that the plugin must close.
      await Promise.all(Array.from({ length: 5 }, (_, i) => conn.plugin.modify(`${i}`)));
      const pid = conn.client.pid as number;
      const since = Date.now();
      await conn.term();
      await expect(exited).resolves.toEqual({ code: 0, signal: null });
      expect(Date.now() - since).toBeLessThan(2000); // not the SIGKILL at the end of the 5 s grace
      expect(pidAlive(pid)).toBe(false);
      expect(existsSync(socket)).toBe(false);
    } finally {
      await conn.term();
      removeDir(dir);
    }
  });

  it('replaces a stale socket file, and refuses a path another plugin listens on', async () => {
    const dir = tempDir();
    const socket = path.join(dir, 'python.sock');
    const running: number[] = [];
    try {
      const first = runPython(socket);
      running.push(first.pid);
      await expect(first.firstLine).resolves.toBe('plugin is ready');
      process.kill(first.pid, 'SIGKILL'); // leaves its socket file behind
      await first.exited;
      expect(existsSync(socket)).toBe(true);

      const second = runPython(socket);
      running.push(second.pid);
      await expect(second.firstLine).resolves.toBe('plugin is ready');

      const third = runPython(socket);
      running.push(third.pid);
      await expect(third.firstLine).resolves.toBe('failed to listen on socket');
      await expect(third.exited).resolves.toBe(1);

      process.kill(second.pid, 'SIGINT');
      await expect(second.exited).resolves.toBe(0);
      expect(existsSync(socket)).toBe(false);
    } finally {
      for (const pid of running) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
      removeDir(dir);
    }
  });

  it('dies with its host: SIGKILL the host, and the python process exits and removes its socket and its directory', async () => {
    const host = spawnNode([fixture('compat/python-host'), PLUGIN]);
    let plugin: { pid: number; socket: string } | undefined;
    try {
      const line = await within(host.line(/^plugin /), 10_000, 'the host to print the plugin pid');
      const [, pid, socket] = line.split(' ');
      plugin = { pid: Number(pid), socket: socket as string };
      expect(pidAlive(plugin.pid)).toBe(true);
      host.child.kill('SIGKILL');
      await host.exited;
      await waitForPidGone(plugin.pid, 5000);
      const { socket: file } = plugin;
      await waitFor(() => !existsSync(file), 1000, 'the socket file to be removed');
      await waitFor(() => !existsSync(path.dirname(file)), 1000, 'the socket directory to be removed');
    } finally {
      if (host.child.exitCode === null && host.child.signalCode === null) {
        host.child.kill('SIGKILL');
        await host.exited;
      }
      if (plugin) {
        if (pidAlive(plugin.pid)) process.kill(plugin.pid, 'SIGKILL');
        removeDir(path.dirname(plugin.socket)); // in case the plugin did not
      }
    }
  });
});
