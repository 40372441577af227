// Host services' socket and lifetime, against a plugin process: where host.sock lives and
// who may use it, how the plugin learns of it, and that it lasts from the plugin's start
// to close(), across restarts, and leaves nothing behind.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { connect, startPlugin, type Connection, type Starter } from '../../lib';
import { HostApiImpl } from '../fixtures/services/host-api-impl';
import { ServicesPlugin } from '../fixtures/services/services-contract';
import { fixtureStarter, pidAlive, removeDir, tempDir, waitForPidGone, within } from '../support/host-helpers';
import { rawRequest } from '../support/raw-http';

/** An environment variable the plugin process was started with, read from /proc. */
function startEnv(pid: number, name: string): string | undefined {
  const entry = readFileSync(`/proc/${pid}/environ`, 'utf8')
    .split('\0')
    .find((e) => e.startsWith(`${name}=`));
  return entry?.slice(name.length + 1);
}

const envelope = JSON.stringify({ Context: { Deadline: null }, Payload: 'raw' });

async function open(impl: HostApiImpl, socket?: string): Promise<Connection<ServicesPlugin>> {
  const { starter } = fixtureStarter('services/services-plugin');
  return connect(ServicesPlugin, starter, { services: [impl], restart: { initialDelay: 10 }, ...(socket === undefined ? {} : { socket }) });
}

describe('the host services socket', () => {
  let impl: HostApiImpl;
  let conn: Connection<ServicesPlugin>;
  let pid: number;
  let hostSocket: string;

  beforeAll(async () => {
    impl = new HostApiImpl();
    conn = await open(impl);
    pid = conn.client.pid as number;
    hostSocket = startEnv(pid, 'PLUGWIRE_HOST_SOCKET') ?? '';
  });
  afterAll(async () => {
    await conn?.close();
  });

  it('is host.sock in the private directory of the plugin socket: directory 0700, socket 0600', () => {
    const dir = path.dirname(conn.client.socket);
    expect(hostSocket).toBe(path.join(dir, 'host.sock'));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const stat = statSync(hostSocket);
    expect(stat.isSocket()).toBe(true);
    expect(stat.mode & 0o777).toBe(0o600);
  });

  it('is what the plugin reaches from its first host call, made before serve()', async () => {
    expect(await conn.plugin.early()).toMatchObject({ ok: true, value: `host logged started ${pid}` });
    expect(impl.logged).toContainEqual({ line: `started ${pid}`, name: conn.client.name, pid });
    expect(await conn.plugin.attempt('log', 'first')).toMatchObject({ ok: true, value: 'host logged first' });
  });

  it('hands the plugin path and token in its environment, and the plugin removes them (its children do not inherit them)', async () => {
    const token = startEnv(pid, 'PLUGWIRE_HOST_TOKEN');
    expect(token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(token).not.toBe(startEnv(pid, 'PLUGWIRE_TOKEN'));
    expect(await conn.plugin.env()).toEqual({ hostSocket: null, hostToken: null, child: [], earlyChild: null });
  });

  it.each([
    ['no Authorization header', () => ({})],
    ['the plugin’s own token', (p: number) => ({ Authorization: `Bearer ${startEnv(p, 'PLUGWIRE_TOKEN') ?? ''}` })],
    ['a wrong token', () => ({ Authorization: 'Bearer not-the-token' })],
  ])('answers 401 to a request with %s', async (_what, headers) => {
    for (const route of ['/log', '/no-such-route']) {
      const res = await rawRequest(hostSocket, { path: route, headers: headers(pid), body: envelope });
      expect(res.status).toBe(401);
    }
    expect(impl.logged.map((l) => l.line)).not.toContain('raw');
  });

  it('answers a request with the host services token', async () => {
    const token = startEnv(pid, 'PLUGWIRE_HOST_TOKEN') ?? '';
    const res = await rawRequest(hostSocket, { path: '/log', headers: { Authorization: `Bearer ${token}` }, body: envelope });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toBe('host logged raw');
  });

  it('survives a plugin killed with SIGKILL: the restarted plugin reaches the same socket', async () => {
    const before = conn.client.pid as number;
    expect(await conn.plugin.attempt('log', 'before')).toMatchObject({ ok: true });
    process.kill(before, 'SIGKILL');
    await waitForPidGone(before);
    expect(await conn.plugin.attempt('log', 'after')).toMatchObject({ ok: true, value: 'host logged after' });
    const after = conn.client.pid as number;
    expect(after).not.toBe(before);
    expect(startEnv(after, 'PLUGWIRE_HOST_SOCKET')).toBe(hostSocket);
    expect(await conn.plugin.attempt('whoami')).toMatchObject({ ok: true, value: { pid: after } });
    expect(existsSync(hostSocket)).toBe(true);
  });
});

describe('close()', () => {
  it('stops the plugin before the services (its onClose still reaches them), and leaves no socket, no directory and no process behind', async () => {
    const impl = new HostApiImpl();
    const conn = await open(impl);
    const pid = conn.client.pid as number;
    const dir = path.dirname(conn.client.socket);
    expect(await conn.plugin.attempt('log', 'x')).toMatchObject({ ok: true });
    await conn.close();
    expect(impl.logged.map((l) => l.line)).toEqual([`started ${pid}`, 'x', `closing ${pid}`]);
    expect(existsSync(path.join(dir, 'host.sock'))).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(pidAlive(pid)).toBe(false);
  });

  it('with a socket path of the user’s: the services get a private directory of their own, removed by close()', async () => {
    const dir = tempDir();
    try {
      const socket = path.join(dir, 'user.sock');
      const conn = await open(new HostApiImpl(), socket);
      const pid = conn.client.pid as number;
      const hostSocket = startEnv(pid, 'PLUGWIRE_HOST_SOCKET') ?? '';
      const hostDir = path.dirname(hostSocket);
      expect(path.basename(hostSocket)).toBe('host.sock');
      expect(hostDir).not.toBe(dir);
      expect(path.dirname(hostDir)).toBe(tmpdir());
      expect(statSync(hostDir).mode & 0o777).toBe(0o700);
      expect(statSync(hostSocket).mode & 0o777).toBe(0o600);
      expect(await conn.plugin.attempt('log', 'x')).toMatchObject({ ok: true });
      await conn.close();
      expect(existsSync(hostDir)).toBe(false);
      expect(existsSync(socket)).toBe(false);
      expect(pidAlive(pid)).toBe(false);
    } finally {
      removeDir(dir);
    }
  });
});

describe('a host call under way', () => {
  // The service rejects with its signal's reason once its caller is gone, which the host's
  // server reports, as a plugin's would be.
  beforeEach(() => jest.spyOn(console, 'error').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it('ends, the service’s signal firing, when its plugin is killed with SIGKILL', async () => {
    const impl = new HostApiImpl();
    const conn = await open(impl);
    try {
      const served = conn.plugin.hang('killed').catch((error: unknown) => error);
      await within(impl.entered.wait('killed'), 3000, 'the service to be called');
      process.kill(conn.client.pid as number, 'SIGKILL');
      await within(impl.aborted.wait('killed'), 2000, 'the service’s signal');
      expect(await served).toMatchObject({ code: 'PLUGWIRE_UNAVAILABLE' });
      // The restarted plugin reaches the services as before.
      expect(await conn.plugin.attempt('log', 'again')).toMatchObject({ ok: true });
    } finally {
      await conn.close();
    }
  });

  it('ends, the service’s signal firing, when the host closes the plugin, and close() does not wait for it', async () => {
    const impl = new HostApiImpl();
    const conn = await open(impl);
    const pid = conn.client.pid as number;
    const served = conn.plugin.hang('closing').catch((error: unknown) => error);
    await within(impl.entered.wait('closing'), 3000, 'the service to be called');
    const closedAt = Date.now();
    await within(conn.close(), 3000, 'close()');
    expect(Date.now() - closedAt).toBeLessThan(2000);
    expect(impl.aborted.of('closing').settled).toBe(true);
    expect(await served).toMatchObject({ code: 'PLUGWIRE_CLOSED' });
    expect(pidAlive(pid)).toBe(false);
  });
});

describe('services that cannot be served', () => {
  /** A starter that only counts its starts. */
  function counting(): { starter: Starter; starts: () => number } {
    let starts = 0;
    const starter: Starter = {
      name: 'never',
      start: () => {
        starts++;
        return Promise.reject(new Error('not to be started'));
      },
    };
    return { starter, starts: () => starts };
  }

  it.each([
    ['an object of no @Plugin() class', [{}], /Object/],
    ['two services with one route', [new HostApiImpl('a'), new HostApiImpl('b')], /\/log/],
  ])('are refused (%s) with PLUGWIRE_DEFINITION before the plugin starts, nothing left behind', async (_what, services, message) => {
    const dir = tempDir();
    try {
      const { starter, starts } = counting();
      const socket = path.join(dir, 'p.sock');
      await expect(startPlugin(starter, socket, { services })).rejects.toMatchObject({ code: 'PLUGWIRE_DEFINITION', message: expect.stringMatching(message) });
      expect(starts()).toBe(0);
    } finally {
      removeDir(dir);
    }
  });
});
