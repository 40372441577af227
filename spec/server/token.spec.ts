// The access token: a plugwire host gives each plugin it starts a fresh token, sends it
// with every call, and the plugin refuses anyone else. It never shows up in the
// plugin's environment, its children, its methods' headers, logs or errors.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PluginError, connect, start, startWithProvider, type Connection, type ProtocolError, type Starter } from '../../lib';
import { TokenContract } from '../fixtures/contracts/token-contract';
import { fixtureStarter, removeDir, tempDir, type CollectingLogger } from '../support/host-helpers';
import { rawRequest } from '../support/raw-http';

/** The token as the host handed it over, read from the environment the plugin was started with. */
function tokenOf(pid: number): string {
  const entry = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((e) => e.startsWith('PLUGWIRE_TOKEN='));
  if (!entry) throw new Error(`plugin ${pid} was started without a token`);
  return entry.slice('PLUGWIRE_TOKEN='.length);
}

const envelope = JSON.stringify({ Context: { Deadline: null }, Payload: null });

describe('the access token', () => {
  let dir: string;
  let conn: Connection<TokenContract>;
  let logger: CollectingLogger;
  let socket: string;

  beforeAll(async () => {
    dir = tempDir();
    socket = path.join(dir, 'token.sock');
    const fixture = fixtureStarter('server/token-plugin');
    logger = fixture.logger;
    conn = await connect(TokenContract, fixture.starter, { socket, restart: { initialDelay: 10 } });
  });
  afterAll(async () => {
    await conn.term();
    removeDir(dir);
  });

  it('lets the host that started the plugin call it', async () => {
    await expect(conn.plugin.env()).resolves.toEqual({ PLUGWIRE_TOKEN: false, PLUGWIRE_LIFELINE_FD: false });
  });

  it.each([
    ['no Authorization header', {}],
    ['a wrong token', { Authorization: 'Bearer not-the-token' }],
    ['an empty bearer token', { Authorization: 'Bearer ' }],
    ['the token without the Bearer scheme', undefined],
  ])('answers 401 with a JSON-string body to %s, before routing', async (_what, given) => {
    const token = tokenOf(conn.client.pid as number);
    const headers = given ?? { Authorization: token };
    for (const route of ['/env', '/no-such-route']) {
      const res = await rawRequest(socket, { path: route, headers, body: envelope });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      const message: unknown = JSON.parse(res.body);
      expect(typeof message).toBe('string');
      expect(message).not.toContain(token);
    }
  });

  it('answers a raw request that carries the right token', async () => {
    const token = tokenOf(conn.client.pid as number);
    const res = await rawRequest(socket, { path: '/env', headers: { Authorization: `Bearer ${token}` }, body: envelope });
    expect(res.status).toBe(200);
  });

  it('keeps the token from the methods, the children and the output of the plugin', async () => {
    const token = tokenOf(conn.client.pid as number);
    await expect(conn.plugin.headers()).resolves.not.toContain('authorization');
    await expect(conn.plugin.childEnv()).resolves.toBe('none');
    await conn.plugin.print();
    expect([...logger.lines, ...logger.errors].join('\n')).not.toContain(token);
  });

  it('gives a restarted plugin a new token, and the old one stops working', async () => {
    const before = conn.client.pid as number;
    const old = tokenOf(before);
    process.kill(before, 'SIGKILL');
    await expect(conn.plugin.env()).resolves.toBeDefined();
    const after = conn.client.pid as number;
    expect(after).not.toBe(before);
    const fresh = tokenOf(after);
    expect(fresh).not.toBe(old);
    expect(fresh).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 random bits, base64url
    const res = await rawRequest(socket, { path: '/env', headers: { Authorization: `Bearer ${old}` }, body: envelope });
    expect(res.status).toBe(401);
  });

  it('lets a second host that reuses the running process call it with that process\'s token', async () => {
    const pid = conn.client.pid;
    const second = await start(fixtureStarter('server/token-plugin').starter, socket);
    try {
      expect(second.client.pid).toBe(pid);
      await expect(second.client.call('/env')).resolves.toEqual({ PLUGWIRE_TOKEN: false, PLUGWIRE_LIFELINE_FD: false });
    } finally {
      await second.term();
    }
  });

  it('maps a 401 to PLUGWIRE_PROTOCOL for a host that sends the wrong token', async () => {
    const inner = fixtureStarter('server/token-plugin').starter;
    const wrong: Starter = {
      name: 'wrong-token',
      async start(context) {
        const started = await inner.start(context);
        return { exited: started.exited, term: () => started.term(), token: 'wrong' };
      },
    };
    const other = await start(wrong, path.join(dir, 'wrong.sock'));
    try {
      const error = (await other.client.call('/env').catch((e: unknown) => e)) as ProtocolError;
      expect(PluginError.is(error, 'PLUGWIRE_PROTOCOL')).toBe(true);
      expect(error.statusCode).toBe(401);
      expect(other.client.stats.restarts).toBe(0);
    } finally {
      await other.term();
    }
  });
});

describe('the access token with the provider starter', () => {
  it('is set on the in-process server too', async () => {
    class Impl extends TokenContract {
      override async headers(): Promise<string[]> {
        return ['ok'];
      }
    }
    const dir = tempDir();
    const socket = path.join(dir, 'p.sock');
    const conn = await connect(TokenContract, startWithProvider(new Impl()), { socket });
    try {
      await expect(conn.plugin.headers()).resolves.toEqual(['ok']);
      const res = await rawRequest(socket, { path: '/headers', body: envelope });
      expect(res.status).toBe(401);
    } finally {
      await conn.term();
      removeDir(dir);
    }
  });
});
