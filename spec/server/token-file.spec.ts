// The token from a file (PLUGWIRE_TOKEN_FILE, serve({ tokenFile })), as a plugin in a
// sidecar container takes it from a mounted Secret: real plugin processes on real sockets,
// started the way a container runtime starts them (no plugwire host, no lifeline), and
// called by clients that send the right token, a wrong one or none.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { attachToSocket, connect, serve, type Connection } from '../../lib';
import { TOKEN_FILE_ENV } from '../../lib/protocol/constants';
import { FileTokenContract } from '../fixtures/tokenfile/file-token-contract';
import { fixture, fixtureStarter, processesMarked, removeDir, settle, spawnNode, tempDir, within, type Spawned } from '../support/host-helpers';
import { rawRequest } from '../support/raw-http';

const PLUGIN = fixture('tokenfile/file-token-plugin');
/** The last argument of every plugin this spec starts: finds one left behind. */
const MARKER = `pw-token-file-spec-${process.pid}`;
const READY_OR_FAILED = /^(plugin is ready|failed to listen on socket)$/;
const envelope = JSON.stringify({ Context: { Deadline: null }, Payload: null });

interface Running {
  readonly process: Spawned;
  readonly socket: string;
  /** `plugin is ready` or `failed to listen on socket`. */
  readonly first: string;
}

describe('serve() with its token from a file', () => {
  let dir: string;
  let count = 0;
  const started: Spawned[] = [];
  const connections: Array<Connection<FileTokenContract>> = [];

  /** A file in the spec's directory holding `text`. */
  function tokenFile(text: string): string {
    const file = path.join(dir, `token-${++count}`);
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  }

  /** Starts the plugin as a container runtime would: its socket and environment, nothing else. */
  async function runPlugin(env: NodeJS.ProcessEnv, args: readonly string[] = []): Promise<Running> {
    const socket = path.join(dir, `plugin-${++count}.sock`);
    const spawned = spawnNode([PLUGIN, ...args, MARKER], { PLUGIN_SOCKET: socket, ...env });
    started.push(spawned);
    const first = await within(spawned.line(READY_OR_FAILED), 10_000, 'the ready or failed line');
    return { process: spawned, socket, first };
  }

  /** A host attached to the running plugin that sends `token`. */
  async function attach(socket: string, token: string | undefined): Promise<Connection<FileTokenContract>> {
    const conn = await connect(FileTokenContract, attachToSocket({ name: 'file-token', token }), { socket, contractCheck: 'off', restart: { maxRestarts: 0 } });
    connections.push(conn);
    return conn;
  }

  /** The status of a health request that sends `token` (none: no Authorization header). */
  async function healthStatus(socket: string, token: string | undefined): Promise<number> {
    const headers = token === undefined ? {} : { Authorization: `Bearer ${token}` };
    return (await rawRequest(socket, { method: 'GET', path: '/.plugwire/health', headers })).status;
  }

  beforeAll(() => {
    dir = tempDir();
  });
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((conn) => conn.close()));
    await Promise.all(
      started.splice(0).map(async ({ child, exited }) => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await within(exited, 5000, 'the plugin to exit');
      }),
    );
  });
  afterAll(() => {
    removeDir(dir);
    expect(processesMarked(MARKER)).toEqual([]);
  });

  it('answers a host that sends the token of PLUGWIRE_TOKEN_FILE, without the newline the file ends with', async () => {
    const plugin = await runPlugin({ [TOKEN_FILE_ENV]: tokenFile('from-the-secret\n') });
    expect(plugin.first).toBe('plugin is ready');
    const conn = await attach(plugin.socket, 'from-the-secret');
    // Neither variable outlives serve(), nor reaches the plugin's children.
    await expect(conn.plugin.env()).resolves.toEqual({ PLUGWIRE_TOKEN: false, PLUGWIRE_TOKEN_FILE: false });
    await expect(conn.plugin.childEnv()).resolves.toBe('none');
    expect(await healthStatus(plugin.socket, 'from-the-secret')).toBe(200);
  });

  it('refuses a wrong token and no token with 401, and a host that sends them gets a coded error', async () => {
    const plugin = await runPlugin({ [TOKEN_FILE_ENV]: tokenFile('from-the-secret') });
    for (const token of ['not-the-secret', 'from-the-secretx', undefined]) {
      expect(await healthStatus(plugin.socket, token)).toBe(401);
      const res = await rawRequest(plugin.socket, { path: '/env', headers: token === undefined ? {} : { Authorization: `Bearer ${token}` }, body: envelope });
      expect(res.status).toBe(401);
    }
    const wrong = await attach(plugin.socket, 'not-the-secret');
    await expect(settle(wrong.plugin.env())).resolves.toEqual({ code: 'PLUGWIRE_PROTOCOL' });
  });

  it.each([
    ['an empty file', () => tokenFile(''), 'is empty'],
    ['a file of whitespace only', () => tokenFile(' \n\n'), 'is empty'],
    ['a missing file', () => path.join(dir, 'no-such-token'), 'cannot read the token file'],
    ['a directory', () => dir, 'cannot read the token file'],
    ['a token with a space in it', () => tokenFile('two words\n'), 'characters a token cannot have'],
  ])('fails with %s: prints the failed line, exits 1 and says why, and leaves no socket file', async (_what, file, why) => {
    const tokenPath = file();
    const plugin = await runPlugin({ [TOKEN_FILE_ENV]: tokenPath });
    expect(plugin.first).toBe('failed to listen on socket');
    await expect(within(plugin.process.exited, 5000, 'the exit')).resolves.toEqual({ code: 1, signal: null });
    expect(plugin.process.stderr()).toContain(`PLUGWIRE_DEFINITION serve(): ${TOKEN_FILE_ENV}: `);
    expect(plugin.process.stderr()).toContain(tokenPath);
    expect(plugin.process.stderr()).toContain(why);
    expect(existsSync(plugin.socket)).toBe(false);
  });

  it('names serve({ tokenFile }) when the file given in the options is bad', async () => {
    const missing = path.join(dir, 'missing');
    const plugin = await runPlugin({}, ['--token-file', missing]);
    expect(plugin.first).toBe('failed to listen on socket');
    await within(plugin.process.exited, 5000, 'the exit');
    expect(plugin.process.stderr()).toContain(`serve({ tokenFile }): cannot read the token file ${missing}`);
  });

  it('refuses both token and tokenFile in the options', async () => {
    const plugin = await runPlugin({}, ['--token', 'a', '--token-file', tokenFile('b')]);
    expect(plugin.first).toBe('failed to listen on socket');
    await within(plugin.process.exited, 5000, 'the exit');
    expect(plugin.process.stderr()).toContain('serve(): pass token or tokenFile, not both');
  });

  // The order: options.token, PLUGWIRE_TOKEN (the token a plugwire host that spawned the
  // plugin sends), then options.tokenFile, then PLUGWIRE_TOKEN_FILE.
  it.each<[string, () => { env: NodeJS.ProcessEnv; args: string[] }, string, string]>([
    ['PLUGWIRE_TOKEN over PLUGWIRE_TOKEN_FILE', () => ({ env: { PLUGWIRE_TOKEN: 'spawned', [TOKEN_FILE_ENV]: tokenFile('file') }, args: [] }), 'spawned', 'file'],
    ['PLUGWIRE_TOKEN over a token file that is bad (not read at all)', () => ({ env: { PLUGWIRE_TOKEN: 'spawned', [TOKEN_FILE_ENV]: path.join(dir, 'missing') }, args: [] }), 'spawned', 'missing'],
    ['PLUGWIRE_TOKEN over serve({ tokenFile })', () => ({ env: { PLUGWIRE_TOKEN: 'spawned' }, args: ['--token-file', tokenFile('option-file')] }), 'spawned', 'option-file'],
    ['serve({ token }) over PLUGWIRE_TOKEN_FILE', () => ({ env: { [TOKEN_FILE_ENV]: tokenFile('file') }, args: ['--token', 'option'] }), 'option', 'file'],
    ['serve({ tokenFile }) over PLUGWIRE_TOKEN_FILE', () => ({ env: { [TOKEN_FILE_ENV]: tokenFile('env-file') }, args: ['--token-file', tokenFile('option-file')] }), 'option-file', 'env-file'],
  ])('takes %s', async (_what, given, wins, loses) => {
    const { env, args } = given();
    const plugin = await runPlugin(env, args);
    expect(plugin.first).toBe('plugin is ready');
    expect(await healthStatus(plugin.socket, wins)).toBe(200);
    expect(await healthStatus(plugin.socket, loses)).toBe(401);
  });

  describe('a host whose own environment has PLUGWIRE_TOKEN_FILE (a host in a container)', () => {
    let hostTokenFile: string;
    beforeEach(() => {
      hostTokenFile = tokenFile('the-hosts-secret');
      process.env[TOKEN_FILE_ENV] = hostTokenFile;
    });
    afterEach(() => {
      delete process.env[TOKEN_FILE_ENV];
    });

    /** The plugin process's environment as it was started. */
    function environOf(pid: number): string[] {
      return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    }

    it('does not pass it on to a plugin it spawns, which gets and expects a fresh token of its own', async () => {
      const socket = path.join(dir, `spawned-${++count}.sock`);
      const conn = await connect(FileTokenContract, fixtureStarter('tokenfile/file-token-plugin').starter, { socket });
      connections.push(conn);
      await expect(conn.plugin.env()).resolves.toEqual({ PLUGWIRE_TOKEN: false, PLUGWIRE_TOKEN_FILE: false });
      const environ = environOf(conn.client.pid as number);
      expect(environ.some((entry) => entry.startsWith(`${TOKEN_FILE_ENV}=`))).toBe(false);
      expect(environ.some((entry) => entry.startsWith('PLUGWIRE_TOKEN='))).toBe(true);
      expect(await healthStatus(socket, 'the-hosts-secret')).toBe(401);
    });

    it('passes on one given in its env option on purpose, and the fresh token still wins', async () => {
      const socket = path.join(dir, `spawned-${++count}.sock`);
      const given = tokenFile('meant-for-the-plugin');
      const conn = await connect(FileTokenContract, fixtureStarter('tokenfile/file-token-plugin', { env: { [TOKEN_FILE_ENV]: given } }).starter, { socket });
      connections.push(conn);
      expect(environOf(conn.client.pid as number)).toContain(`${TOKEN_FILE_ENV}=${given}`);
      await expect(conn.plugin.env()).resolves.toEqual({ PLUGWIRE_TOKEN: false, PLUGWIRE_TOKEN_FILE: false });
      expect(await healthStatus(socket, 'meant-for-the-plugin')).toBe(401);
    });
  });
});

describe('serve() in a host that has PLUGWIRE_TOKEN_FILE (serveInProcess() in a container)', () => {
  class InProcess extends FileTokenContract {
    override async env(): Promise<Record<string, boolean>> {
      return {};
    }
    override async childEnv(): Promise<string> {
      return 'none';
    }
  }
  let dir: string;
  beforeAll(() => {
    dir = tempDir();
  });
  afterEach(() => {
    delete process.env[TOKEN_FILE_ENV];
  });
  afterAll(() => removeDir(dir));

  it('leaves the variable alone when given a token: it is the host\'s, for its own attachments', async () => {
    const file = path.join(dir, 'hosts-token');
    writeFileSync(file, 'the-hosts-secret');
    process.env[TOKEN_FILE_ENV] = file;
    const socket = path.join(dir, 'in-process.sock');
    const server = await serve(new InProcess(), { socket, token: 'in-process', announce: false, standalone: false });
    try {
      expect(process.env[TOKEN_FILE_ENV]).toBe(file);
      expect((await rawRequest(socket, { method: 'GET', path: '/.plugwire/health', headers: { Authorization: 'Bearer in-process' } })).status).toBe(200);
      expect((await rawRequest(socket, { method: 'GET', path: '/.plugwire/health', headers: { Authorization: 'Bearer the-hosts-secret' } })).status).toBe(401);
    } finally {
      await server.close();
    }
  });
});
