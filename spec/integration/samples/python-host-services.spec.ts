// The Python sample (samples/python-modifier/plugin.py) calling its host's services with
// only Python's standard library: a TypeScript host offers them with
// connect(..., { services }), the plugin finds them in PLUGWIRE_HOST_SOCKET and
// PLUGWIRE_HOST_TOKEN, and its /modify asks the host for a suffix (/kv/get) and logs on the
// host (/log). Also what docs/PROTOCOL.md says a peer sees on the host's socket, and that
// without services the plugin works as before. Needs python3 (CI installs it).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Method, Plugin, PluginError, callContext, connect, spawnCommand, stub, withOptions, type Connection, type RemoteError } from 'plugwire';
import { Modifier } from '../../../samples/modifier/contract';
import { HostApi } from '../../../samples/python-modifier/host-api';
import { collectingLogger, fixture, pidAlive, removeDir, spawnNode, waitFor, waitForPidGone, within, type CollectingLogger } from '../../support/host-helpers';
import { rawRequest } from '../../support/raw-http';

const PLUGIN = path.join(__dirname, '../../../samples/python-modifier/plugin.py');

/** Fails (never skips) without python3, with a message that says what is missing, as the other Python specs. */
function requirePython(): void {
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
  } catch (error) {
    throw new Error(`this spec runs samples/python-modifier/plugin.py and needs python3 on the PATH; CI installs it: ${(error as Error).message}`);
  }
}

/** The host's side of samples/python-modifier/host-api.ts: what the plugin logged, and who called. */
class HostApiImpl extends HostApi {
  readonly lines: Array<{ line: string; caller: unknown }> = [];
  readonly values = new Map<string, string>();
  /** Replaces get() for a test: a service that throws or hangs. */
  getInstead: ((key: string) => Promise<string | null>) | undefined;

  override async log(line: string): Promise<void> {
    this.lines.push({ line, caller: callContext().caller });
  }

  override async get(key: string): Promise<string | null> {
    return this.getInstead ? this.getInstead(key) : (this.values.get(key) ?? null);
  }
}

/** A host stream method beside the sample's services, for the frames on the host's socket. */
@Plugin('counter')
class Counter {
  @Method('/count', { stream: true })
  count(n: number): AsyncIterable<number> {
    return stub(n);
  }
}
class CounterImpl extends Counter {
  lastCaller: unknown;
  override async *count(n: number): AsyncIterable<number> {
    this.lastCaller = callContext().caller;
    for (let i = 0; i < n; i++) yield i;
  }
}

/** A host that offers a log but not the values: a contract the plugin needs is missing. */
@Plugin('log-only')
class LogOnly {
  @Method('/log')
  log(_line: string): Promise<void> {
    return stub();
  }
}
class LogOnlyImpl extends LogOnly {
  override async log(): Promise<void> {}
}

/** The variables the host started a plugin process with (the plugin removed them from its own environment). */
function startedWith(pid: number, name: string): string {
  const entry = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((e) => e.startsWith(`${name}=`));
  if (entry === undefined) throw new Error(`plugin ${pid} was started without ${name}`);
  return entry.slice(name.length + 1);
}

function envelope(payload: unknown): string {
  return JSON.stringify({ Context: { Deadline: null }, Payload: payload });
}

describe('samples/python-modifier: calling host services from Python', () => {
  beforeAll(requirePython);

  describe('a host that offers them', () => {
    let conn: Connection<Modifier>;
    let logger: CollectingLogger;
    const host = new HostApiImpl();
    const counter = new CounterImpl();

    beforeAll(async () => {
      logger = collectingLogger();
      conn = await connect(Modifier, spawnCommand('python3', [PLUGIN], { name: 'python-modifier', logger }), {
        contractCheck: 'strict',
        services: [host, counter],
      });
    });

    afterAll(async () => {
      await conn.close();
    });

    beforeEach(() => {
      host.lines.length = 0;
      host.values.clear();
      host.getInstead = undefined;
    });

    it('round trip: /modify takes its suffix from the host and logs there, named as the plugin with its pid', async () => {
      host.values.set('suffix', 'seen by the host');
      await expect(conn.plugin.modify('a')).resolves.toBe('a seen by the host');
      // No value on the host: the plugin's own suffix.
      host.values.clear();
      await expect(conn.plugin.modify('b')).resolves.toBe('b decorated');
      expect(host.lines).toEqual([
        { line: 'modify: a seen by the host', caller: { name: 'python-modifier', pid: conn.client.pid } },
        { line: 'modify: b decorated', caller: { name: 'python-modifier', pid: conn.client.pid } },
      ]);
    });

    it('serves calls to the host from concurrent calls of the plugin', async () => {
      host.values.set('suffix', 'x');
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => conn.plugin.modify(`${i}`)));
      expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => `${i} x`));
      expect(host.lines.map((l) => l.line).sort()).toEqual(answers.map((a) => `modify: ${a}`).sort());
    });

    it('re-entrancy: a service that calls the plugin back while the plugin waits for it completes', async () => {
      // Python serves a thread per connection: /join answers while /modify waits for /kv/get.
      host.getInstead = () => conn.plugin.join(['called', 'back'], ' ', 1);
      await expect(conn.plugin.modify('h')).resolves.toBe('h called back');
    });

    it('an error thrown by the service reaches the host\'s caller through the plugin, with the service\'s code', async () => {
      host.getInstead = () => Promise.reject(Object.assign(new Error('the store is down'), { code: 'E_STORE' }));
      const error = (await conn.plugin.modify('c').catch((e: unknown) => e)) as RemoteError;
      expect(PluginError.is(error, 'PLUGWIRE_REMOTE')).toBe(true);
      // Python's HostError carries the host's code and its structured error as details.
      expect(error.remote).toMatchObject({
        name: 'HostError',
        message: 'the store is down',
        code: 'PLUGWIRE_REMOTE',
        details: { code: 'PLUGWIRE_REMOTE', message: 'the store is down', remote: { name: 'Error', code: 'E_STORE' } },
      });
      expect(host.lines).toEqual([]);
    });

    it('a call to the host inherits the deadline of the call being served: a hung service is cut off with it', async () => {
      let serviceSignal: AbortSignal | undefined;
      host.getInstead = () => {
        serviceSignal = callContext().signal;
        const signal = serviceSignal;
        return new Promise((resolve) => signal.addEventListener('abort', () => resolve(null), { once: true }));
      };
      const began = Date.now();
      const error = await withOptions(conn.plugin, { timeout: 500 }).modify('slow').catch((e: unknown) => e);
      expect(PluginError.is(error, 'PLUGWIRE_TIMEOUT')).toBe(true);
      expect(Date.now() - began).toBeLessThan(3000);
      // The host's served call had the same deadline (Python sent it on): its signal fires.
      await waitFor(() => serviceSignal?.aborted === true, 3000, 'the service\'s signal to abort at the deadline');
      // The plugin goes on.
      host.getInstead = undefined;
      await expect(conn.plugin.modify('after')).resolves.toBe('after decorated');
    });

    it('the services survive a restart: after kill -9 the new process reaches them with the same socket and token', async () => {
      const before = conn.client.pid as number;
      const socket = startedWith(before, 'PLUGWIRE_HOST_SOCKET');
      process.kill(before, 'SIGKILL');
      await waitForPidGone(before);
      host.values.set('suffix', 'again');
      await expect(conn.plugin.modify('d')).resolves.toBe('d again');
      const after = conn.client.pid as number;
      expect(after).not.toBe(before);
      expect(startedWith(after, 'PLUGWIRE_HOST_SOCKET')).toBe(socket);
      expect(host.lines).toEqual([{ line: 'modify: d again', caller: { name: 'python-modifier', pid: after } }]);
    });

    describe('on the host\'s socket, as docs/PROTOCOL.md describes it', () => {
      let socket: string;
      let token: string;
      const auth = (): Record<string, string> => ({ authorization: `Bearer ${token}`, 'x-plugwire-version': '1' });

      beforeAll(() => {
        const pid = conn.client.pid as number;
        socket = startedWith(pid, 'PLUGWIRE_HOST_SOCKET');
        token = startedWith(pid, 'PLUGWIRE_HOST_TOKEN');
      });

      it('is host.sock, mode 0600, beside the plugin\'s socket in the private directory (0700), with a token of its own', () => {
        expect(path.basename(socket)).toBe('host.sock');
        expect(path.dirname(socket)).toBe(path.dirname(conn.client.socket));
        expect(statSync(socket).mode & 0o777).toBe(0o600);
        expect(statSync(path.dirname(socket)).mode & 0o777).toBe(0o700);
        expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(token).not.toBe(startedWith(conn.client.pid as number, 'PLUGWIRE_TOKEN'));
      });

      it('answers a call with the envelope: 401 without the token, 200 and JSON with it, a structured 404 for a route it does not serve', async () => {
        host.values.set('suffix', 'raw');
        const [refused, answered, unknown, plain] = await Promise.all([
          rawRequest(socket, { path: '/kv/get', body: envelope('suffix') }),
          rawRequest(socket, { path: '/kv/get', headers: auth(), body: envelope('suffix') }),
          rawRequest(socket, { path: '/kv/set', headers: auth(), body: envelope('suffix') }),
          rawRequest(socket, { path: '/kv/set', headers: { authorization: `Bearer ${token}` }, body: envelope('suffix') }),
        ]);
        expect(refused.status).toBe(401);
        expect(refused.headers['www-authenticate']).toBe('Bearer');
        expect(answered).toMatchObject({ status: 200, body: '"raw"\n' });
        expect(unknown.status).toBe(404);
        expect(unknown.headers['x-plugwire-error']).toBe('1');
        expect(JSON.parse(JSON.parse(unknown.body) as string)).toMatchObject({ code: 'PLUGWIRE_METHOD_NOT_FOUND' });
        // Without x-plugwire-version: a plain message, as a version 1 caller gets.
        expect(plain.headers['x-plugwire-error']).toBeUndefined();
        expect(JSON.parse(plain.body)).toBe('method not found: /kv/set');
      });

      it('callContext().caller.pid is the x-plugwire-caller-pid the caller sends, else the pid of the plugin the host started', async () => {
        await rawRequest(socket, { path: '/log', headers: { ...auth(), 'x-plugwire-caller-pid': '4242' }, body: envelope('named') });
        await rawRequest(socket, { path: '/log', headers: auth(), body: envelope('unnamed') });
        expect(host.lines).toEqual([
          { line: 'named', caller: { name: 'python-modifier', pid: 4242 } },
          { line: 'unnamed', caller: { name: 'python-modifier', pid: conn.client.pid } },
        ]);
      });

      it('describes the services at /.plugwire/manifest', async () => {
        const answer = await rawRequest(socket, { method: 'GET', path: '/.plugwire/manifest?schemas=false', headers: auth() });
        expect(answer.status).toBe(200);
        const manifest = JSON.parse(answer.body) as { plugin: unknown; methods: Array<{ route: string; contract: string; stream?: boolean }> };
        expect(manifest.plugin).toEqual({ name: 'host', version: null });
        expect(manifest.methods.map(({ route, contract, stream }) => ({ route, contract, stream }))).toEqual([
          { route: '/log', contract: 'host-api', stream: undefined },
          { route: '/kv/get', contract: 'host-api', stream: undefined },
          { route: '/count', contract: 'counter', stream: true },
        ]);
      });

      it('streams a host stream method as NDJSON frames to x-plugwire-stream: 1, and as one JSON array without it', async () => {
        const [frames, array] = await Promise.all([
          rawRequest(socket, { path: '/count', headers: { ...auth(), 'x-plugwire-stream': '1', 'x-plugwire-caller-pid': '77' }, body: envelope(3) }),
          rawRequest(socket, { path: '/count', headers: auth(), body: envelope(2) }),
        ]);
        expect(frames.status).toBe(200);
        expect(frames.headers).toMatchObject({ 'x-plugwire-stream': '1', 'content-type': 'application/x-ndjson; charset=utf-8' });
        expect(frames.body).toBe('{"item":0}\n{"item":1}\n{"item":2}\n{"end":true}\n');
        expect(array).toMatchObject({ status: 200, body: '[0,1]\n' });
      });
    });

    it('printed nothing on stdout or stderr besides its ready line', () => {
      expect([...logger.lines, ...logger.errors]).toEqual([]);
    });
  });

  it('a host that does not offer a contract the plugin calls: PLUGWIRE_CONTRACT, naming the route and the contract', async () => {
    const conn = await connect(Modifier, spawnCommand('python3', [PLUGIN], { name: 'python-modifier', logger: false }), { services: [new LogOnlyImpl()] });
    try {
      const error = (await conn.plugin.modify('e').catch((e: unknown) => e)) as RemoteError;
      expect(PluginError.is(error, 'PLUGWIRE_REMOTE')).toBe(true);
      expect(error.remote).toMatchObject({ name: 'HostError', code: 'PLUGWIRE_CONTRACT', message: expect.stringContaining('does not offer /kv/get of host-api') as unknown });
    } finally {
      await conn.close();
    }
  });

  it('without services the plugin works as before, and close() leaves no host socket behind', async () => {
    const conn = await connect(Modifier, spawnCommand('python3', [PLUGIN], { name: 'python-modifier', logger: false }));
    const dir = path.dirname(conn.client.socket);
    try {
      expect(() => startedWith(conn.client.pid as number, 'PLUGWIRE_HOST_SOCKET')).toThrow(/without PLUGWIRE_HOST_SOCKET/);
      await expect(conn.plugin.modify('f')).resolves.toBe('f decorated');
      expect(existsSync(path.join(dir, 'host.sock'))).toBe(false);
    } finally {
      await conn.close();
    }
    expect(existsSync(dir)).toBe(false);
  });

  it('close() removes the host\'s socket and the directory', async () => {
    const conn = await connect(Modifier, spawnCommand('python3', [PLUGIN], { name: 'python-modifier', logger: false }), { services: [new HostApiImpl()] });
    const socket = startedWith(conn.client.pid as number, 'PLUGWIRE_HOST_SOCKET');
    await expect(conn.plugin.modify('g')).resolves.toBe('g decorated');
    await conn.close();
    expect(existsSync(socket)).toBe(false);
    expect(existsSync(path.dirname(socket))).toBe(false);
  });

  it('dies with its host: SIGKILL the host, and the python process removes the host\'s socket, its own and the directory', async () => {
    const hostProcess = spawnNode([fixture('samples/python-services-host'), PLUGIN]);
    let plugin: { pid: number; dir: string } | undefined;
    try {
      const line = await within(hostProcess.line(/^plugin /), 10_000, 'the host to print the plugin pid');
      const [, pid, dir] = line.split(' ');
      plugin = { pid: Number(pid), dir: dir as string };
      expect(existsSync(path.join(plugin.dir, 'host.sock'))).toBe(true);
      hostProcess.child.kill('SIGKILL');
      await hostProcess.exited;
      await waitForPidGone(plugin.pid, 5000);
      const { dir: gone } = plugin;
      await waitFor(() => !existsSync(gone), 1000, 'the socket directory to be removed');
    } finally {
      if (hostProcess.child.exitCode === null && hostProcess.child.signalCode === null) {
        hostProcess.child.kill('SIGKILL');
        await hostProcess.exited;
      }
      if (plugin) {
        if (pidAlive(plugin.pid)) process.kill(plugin.pid, 'SIGKILL');
        removeDir(plugin.dir); // in case the plugin did not
      }
    }
  });
});
