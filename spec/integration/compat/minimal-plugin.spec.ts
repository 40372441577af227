// Keeps docs/PROTOCOL.md honest: samples/minimal-python-plugin/plugin.py does only what the
// doc's "minimum compatible plugin" asks (Python's stock http.server, no token, lifeline,
// manifest or structured errors), and a plugwire host must load it, call it, map its errors,
// see its deadline answer, stop it and restart it. Needs python3 (CI installs it).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import {
  Method,
  Plugin,
  PluginError,
  connect,
  readManifest,
  startWithCommand,
  stub,
  withOptions,
  type Connection,
  type PayloadValidationError,
  type PluginExit,
  type RemoteError,
  type Starter,
} from 'plugwire';
import { collectingLogger, pidAlive, rejectionOf, removeDir, tempDir, waitForPidGone, type CollectingLogger } from '../../support/host-helpers';
import { rawRequest } from '../../support/raw-http';

const PLUGIN = path.join(__dirname, '../../../samples/minimal-python-plugin/plugin.py');

@Plugin('minimal')
class Minimal {
  @Method('/greet') greet(_name: string): Promise<string> { return stub(); }
  @Method('/add') add(_a: number, _b: number): Promise<number> { return stub(); }
  @Method('/slow') slow(_ms: number): Promise<string> { return stub(); }
  @Method('/fail') fail(): Promise<void> { return stub(); }
  @Method('/pid') pid(): Promise<number> { return stub(); }
  /** In the contract, not in the plugin: a version 1 plugin has no manifest to check it against. */
  @Method('/missing') missing(): Promise<void> { return stub(); }
}

/** Fails (never skips) without python3, with a message that says what is missing. */
function requirePython(): void {
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
  } catch (error) {
    throw new Error(`this spec runs samples/minimal-python-plugin/plugin.py and needs python3 on the PATH; CI installs it: ${(error as Error).message}`);
  }
}

/** A python3 starter that hands out each started process's exit. */
function minimalStarter(logger: CollectingLogger, exits: Array<Promise<PluginExit>>): Starter {
  const inner = startWithCommand('python3', [PLUGIN], { name: 'minimal', logger });
  return {
    name: inner.name,
    async start(context) {
      const started = await inner.start(context);
      exits.push(started.exited);
      return started;
    },
  };
}

/** Runs plugin.py by itself; resolves with what it printed and its exit status. */
function runAlone(env: NodeJS.ProcessEnv): Promise<{ stdout: string; code: number | null }> {
  const { PLUGIN_SOCKET: _ignored, ...rest } = process.env;
  const child = spawn('python3', [PLUGIN], { env: { ...rest, ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  return new Promise((resolve) => child.once('close', (code) => resolve({ stdout, code })));
}

function envelope(payload: unknown, deadline: string | null): string {
  return JSON.stringify({ Context: { Deadline: deadline }, Payload: payload });
}

describe('a plugin written against the minimum of docs/PROTOCOL.md (Python, http.server)', () => {
  let dir: string;
  let conn: Connection<Minimal> | undefined;
  const logger = collectingLogger();
  const exits: Array<Promise<PluginExit>> = [];

  beforeAll(async () => {
    requirePython();
    dir = tempDir();
    conn = await connect(Minimal, minimalStarter(logger, exits), { socket: path.join(dir, 'minimal.sock'), contractCheck: 'strict' });
  });
  afterAll(async () => {
    await conn?.term();
    removeDir(dir);
  });

  const connection = (): Connection<Minimal> => conn as Connection<Minimal>;

  it('passes the strict contract check as a version 1 plugin: no manifest, and a socket for this user only', async () => {
    await expect(readManifest(connection().client)).resolves.toBeUndefined();
    expect(statSync(connection().client.socket).mode & 0o777).toBe(0o600);
  });

  it('answers calls: one parameter as the payload, several as an array, concurrent calls side by side', async () => {
    const { plugin } = connection();
    await expect(plugin.greet('Ada')).resolves.toBe('hello Ada');
    await expect(plugin.add(2, 3)).resolves.toBe(5);
    const many = await Promise.all(Array.from({ length: 40 }, (_, i) => plugin.add(i, 1)));
    expect(many).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('takes the route from the raw path: the query is dropped, nothing is percent-decoded', async () => {
    const { client } = connection();
    await expect(client.call('/greet?lang=en', 'Ada')).resolves.toBe('hello Ada');
    const encoded = await rejectionOf(client.call('/gr%65et', 'Ada'));
    expect(PluginError.is(encoded, 'PLUGWIRE_METHOD_NOT_FOUND')).toBe(true);
  });

  it('has its plain error answers mapped by status: 404, 422 and 500', async () => {
    const { plugin, client } = connection();
    const missing = (await rejectionOf(plugin.missing())) as PluginError;
    expect(PluginError.is(missing, 'PLUGWIRE_METHOD_NOT_FOUND')).toBe(true);
    expect(missing.message).toBe('method not found: /missing');

    const invalid = (await rejectionOf(client.call('/greet', 5))) as PayloadValidationError;
    expect(PluginError.is(invalid, 'PLUGWIRE_VALIDATION')).toBe(true);
    expect([invalid.side, invalid.violations, invalid.message]).toEqual(['plugin', [], 'greet takes a string, got 5']);

    const failed = (await rejectionOf(plugin.fail())) as RemoteError;
    expect(PluginError.is(failed, 'PLUGWIRE_REMOTE')).toBe(true);
    expect([failed.statusCode, failed.remote.message]).toEqual([500, 'fail always fails']);
  });

  it('answers 504 at the deadline while the method still runs, and the host reports PLUGWIRE_TIMEOUT', async () => {
    const { plugin, client } = connection();
    // Straight to the socket, so that only the plugin's own deadline can end the call.
    const soon = new Date(Date.now() + 300).toISOString();
    const since = Date.now();
    const answer = await rawRequest(client.socket, { path: '/slow', body: envelope(20_000, soon) });
    expect([answer.status, JSON.parse(answer.body)]).toEqual([504, 'context deadline exceeded']);
    expect(Date.now() - since).toBeLessThan(10_000);
    // Lower-case t and z and more than nine fraction digits are RFC 3339 too.
    const past = await rawRequest(client.socket, { path: '/slow', body: envelope(20_000, '2020-01-01t00:00:00.1234567890123z') });
    expect(past.status).toBe(504);

    const timedOut = await rejectionOf(withOptions(plugin, { timeout: 300 }).slow(20_000));
    expect(PluginError.is(timedOut, 'PLUGWIRE_TIMEOUT')).toBe(true);
    await expect(plugin.greet('again')).resolves.toBe('hello again');
  });

  it('is restarted after kill -9, and the next call is answered by the new process', async () => {
    const { plugin, client } = connection();
    const before = await plugin.pid();
    expect(before).toBe(client.pid);
    process.kill(before, 'SIGKILL');
    const after = await plugin.pid();
    expect(after).not.toBe(before);
    expect(client.stats.restarts).toBe(1);
    await waitForPidGone(before);
  });

  it('stops on term(): exit status 0, socket file gone', async () => {
    const { client } = connection();
    const pid = client.pid as number;
    const socket = client.socket;
    const exited = exits[exits.length - 1];
    await connection().term();
    await expect(exited).resolves.toEqual({ code: 0, signal: null });
    expect(pidAlive(pid)).toBe(false);
    expect(existsSync(socket)).toBe(false);
  });

  it('printed nothing but its ready line', () => {
    expect([...logger.lines, ...logger.errors]).toEqual([]);
  });

  it('exits with status 1 without PLUGIN_SOCKET, and when it cannot listen (after the failed line)', async () => {
    await expect(runAlone({})).resolves.toEqual({ stdout: '', code: 1 });
    await expect(runAlone({ PLUGIN_SOCKET: path.join(dir, 'no-such-dir', 'x.sock') })).resolves.toEqual({ stdout: 'failed to listen on socket\n', code: 1 });
  });
});
