// Wire compatibility with real Go programs, both ways: spec/fixtures/go holds a plugin and a
// host written with Go's standard library only, the way tilotech/go-plugin serves and calls
// a plugin (net/http on the Unix socket, encoding/json with its case-insensitive keys,
// time.Time deadlines, panics recovered as 500). A plugwire host loads the Go plugin; the
// Go host loads a plugwire plugin (dist/spec/fixtures/compat/compat-plugin.js: `npm run
// build` first). The spec builds both with `go build` (a Go build cache under the
// temporary directory keeps that to a second after the first run). Needs Go on the PATH:
// CI installs it (apt-get install golang-go); without it the spec fails and says so.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { Type } from 'class-transformer';
import { IsBoolean, IsDate, IsInt, IsOptional, IsString } from 'class-validator';
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
  type StartError,
  type Starter,
} from 'plugwire';
import { collectingLogger, fixture, pidAlive, rejectionOf, removeDir, tempDir, within } from '../../support/host-helpers';
import { rawRequest } from '../../support/raw-http';

const GO_SOURCES = path.join(__dirname, '../../fixtures/go');
const PLUGWIRE_PLUGIN = fixture('compat/compat-plugin');
/** Go's build cache and module path: kept between runs, so that a build takes a second. */
const GO_STATE = path.join(tmpdir(), 'plugwire-go-build');
const INSTALL = 'apt-get install -y --no-install-recommends golang-go';

const execFileAsync = promisify(execFile);

/** Fails (never skips) without Go, with a message that says how to install it. */
function requireGo(): void {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch (error) {
    throw new Error(
      `this spec builds the Go programs in spec/fixtures/go and needs Go (the go command) on the PATH; ` +
        `install it with \`${INSTALL}\` (CI does): ${(error as Error).message}`,
    );
  }
}

/** Builds the Go plugin and host into `dir`, from Go's standard library only. */
async function buildGo(dir: string): Promise<{ plugin: string; host: string }> {
  requireGo();
  mkdirSync(GO_STATE, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GOCACHE: path.join(GO_STATE, 'cache'),
    GOPATH: path.join(GO_STATE, 'path'),
    GOFLAGS: '-buildvcs=false',
    GOPROXY: 'off',
    GOTOOLCHAIN: 'local',
    GO111MODULE: 'on',
    GOWORK: 'off',
    CGO_ENABLED: '0',
  };
  try {
    await execFileAsync('go', ['build', '-o', `${dir}${path.sep}`, './goplugin', './gohost'], { cwd: GO_SOURCES, env, timeout: 240_000 });
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`go build in spec/fixtures/go failed: ${(error as Error).message}${stderr ? `\n${stderr}` : ''}`);
  }
  return { plugin: path.join(dir, 'goplugin'), host: path.join(dir, 'gohost') };
}

let dir: string;
let binaries: Promise<{ plugin: string; host: string }>;
beforeAll(() => {
  dir = tempDir();
  binaries = buildGo(dir);
  // Each block awaits the build in its own beforeAll, so a failed build fails every test with its message.
  binaries.catch(() => undefined);
});
afterAll(() => removeDir(dir));

// ---------------------------------------------------------------------------------------
// A plugwire host loading the Go plugin

/** The payload of /modify, with the names of a TypeScript contract: Go matches them to A, B, When, Tags. */
class Item {
  @IsInt() a!: number;
  @IsString() b!: string;
  @IsDate() @Type(() => Date) when!: Date;
  @IsString({ each: true }) tags!: string[];
}

/** The result of /modify, as Go writes a struct without JSON tags: its field names. */
class GoItem {
  @IsInt() A!: number;
  @IsString() B!: string;
  @IsDate() @Type(() => Date) When!: Date;
  @IsString({ each: true }) Tags!: string[];
}

class DeadlineSeen {
  @IsBoolean() HasDeadline!: boolean;
  @IsOptional() @IsDate() @Type(() => Date) Deadline!: Date | null;
}

@Plugin('goplugin')
class GoPlugin {
  @Method('/decorate') decorate(value: string): Promise<string> { return stub(value); }
  @Method('/modify', { returns: GoItem }) modify(item: Item): Promise<GoItem> { return stub(item); }
  @Method('/fail') fail(): Promise<void> { return stub(); }
  @Method('/panic') panic(): Promise<void> { return stub(); }
  @Method('/wait') wait(ms: number): Promise<number> { return stub(ms); }
  @Method('/nothing') nothing(): Promise<null> { return stub(); }
  @Method('/deadline', { returns: DeadlineSeen }) deadline(): Promise<DeadlineSeen> { return stub(); }
  @Method('/pid') pid(): Promise<number> { return stub(); }
  @Method('/exit') exit(): Promise<void> { return stub(); }
  /** In the contract, not in the Go plugin, which has no manifest to check it against. */
  @Method('/missing') missing(): Promise<void> { return stub(); }
}

/** A command starter that hands out each started process's exit, in order. */
function recordingStarter(command: string, exits: Array<Promise<PluginExit>>, logger = collectingLogger()): Starter {
  const inner = startWithCommand(command, [], { logger });
  return {
    name: inner.name,
    async start(context) {
      const started = await inner.start(context);
      exits.push(started.exited);
      return started;
    },
  };
}

function envelope(payload: unknown, deadline: string | null): string {
  return JSON.stringify({ Context: { Deadline: deadline }, Payload: payload });
}

describe('a plugwire host loading a Go plugin (net/http, encoding/json)', () => {
  const logger = collectingLogger();
  const exits: Array<Promise<PluginExit>> = [];
  let conn: Connection<GoPlugin> | undefined;
  let goPlugin: string;

  beforeAll(async () => {
    goPlugin = (await binaries).plugin;
    conn = await connect(GoPlugin, recordingStarter(goPlugin, exits, logger), {
      socket: path.join(dir, 'go.sock'),
      contractCheck: 'strict',
      restart: { initialDelay: 10 },
      // Probes soon after each silence: the Go plugin answers them 404, and is probed no more.
      liveness: { interval: 50 },
    });
  }, 240_000);
  afterAll(async () => {
    await conn?.close();
  });

  const connection = (): Connection<GoPlugin> => conn as Connection<GoPlugin>;
  const lastExit = (): Promise<PluginExit> => exits[exits.length - 1] as Promise<PluginExit>;

  it('starts it with PLUGIN_SOCKET and its ready line; the strict contract check passes on its 404; the socket is for this user only', async () => {
    const { client } = connection();
    await expect(readManifest(client)).resolves.toBeUndefined();
    expect(statSync(client.socket).mode & 0o077).toBe(0);
    await expect(connection().plugin.pid()).resolves.toBe(client.pid);
  });

  it('calls a method with a string, which Go escapes as encoding/json does', async () => {
    await expect(connection().plugin.decorate('some value')).resolves.toBe('some value decorated');
    const raw = await rawRequest(connection().client.socket, { path: '/decorate', body: envelope('<a&b> \u2028 ☃', null) });
    expect(raw.body).toBe('"\\u003ca\\u0026b\\u003e \\u2028 ☃ decorated"\n');
    await expect(connection().plugin.decorate('<a&b> \u2028 ☃')).resolves.toBe('<a&b> \u2028 ☃ decorated');
  });

  it('sends a DTO that Go decodes case-insensitively, and converts the Go-named result, its time.Time with nanoseconds and an offset included', async () => {
    const item = Object.assign(new Item(), { a: 21, b: 'x', when: new Date('2026-01-01T00:00:00.500Z'), tags: ['t'] });
    const result = await connection().plugin.modify(item);
    expect(result).toBeInstanceOf(GoItem);
    expect(result.When).toBeInstanceOf(Date);
    // Go answered "2026-01-01T02:00:00.623456789+01:00": read down to its millisecond.
    expect({ ...result, When: result.When.toISOString() }).toEqual({ A: 42, B: 'x decorated', When: '2026-01-01T01:00:00.623Z', Tags: ['t', 'go'] });
  });

  it('takes the null body of a method without result', async () => {
    await expect(connection().plugin.nothing()).resolves.toBeNull();
  });

  it('serves many calls side by side over its connections', async () => {
    const values = Array.from({ length: 60 }, (_, i) => `v${i}`);
    const results = await Promise.all(values.map((v) => connection().plugin.decorate(v)));
    expect(results).toEqual(values.map((v) => `${v} decorated`));
  });

  it('sends a large payload and reads a large answer, which Go sends chunked', async () => {
    const { client, plugin } = connection();
    const large = 'x'.repeat(300_000);
    const raw = await rawRequest(client.socket, { path: '/decorate', body: envelope(large, null) });
    expect([raw.status, raw.headers['transfer-encoding'], raw.headers['content-length']]).toEqual([200, 'chunked', undefined]);
    await expect(plugin.decorate(large)).resolves.toBe(`${large} decorated`);
    // Go answers 404 before it reads the body, and closes the connection on the rest.
    const missing = await rejectionOf(client.call('/missing', 'y'.repeat(2_000_000)));
    expect(PluginError.is(missing, 'PLUGWIRE_METHOD_NOT_FOUND')).toBe(true);
    await expect(plugin.decorate('after')).resolves.toBe('after decorated');
  });

  it('reads an answer Go gzipped for a call that accepts gzip', async () => {
    const { client } = connection();
    const raw = await rawRequest(client.socket, { path: '/decorate', headers: { 'Accept-Encoding': 'gzip' }, body: envelope('zipped', null) });
    expect([raw.status, raw.headers['content-encoding']]).toEqual([200, 'gzip']);
    await expect(client.call('/decorate', 'zipped', { headers: { 'accept-encoding': 'gzip' } })).resolves.toBe('zipped decorated');
  });

  it('sends the deadline of the call, which Go parses as time.Time, and null without a timeout', async () => {
    const { plugin } = connection();
    const before = Date.now();
    const seen = await withOptions(plugin, { timeout: 5000 }).deadline();
    const after = Date.now();
    expect(seen).toBeInstanceOf(DeadlineSeen);
    expect(seen.HasDeadline).toBe(true);
    const at = (seen.Deadline as Date).getTime();
    expect(at).toBeGreaterThanOrEqual(before + 5000);
    expect(at).toBeLessThanOrEqual(after + 5000);
    await expect(withOptions(plugin, { timeout: 0 }).deadline()).resolves.toEqual(Object.assign(new DeadlineSeen(), { HasDeadline: false, Deadline: null }));
  });

  it('maps the JSON-string errors of Go: a returned error and a panic to PLUGWIRE_REMOTE, 404 to PLUGWIRE_METHOD_NOT_FOUND, 422 to PLUGWIRE_VALIDATION', async () => {
    const { plugin, client } = connection();
    const failed = (await rejectionOf(plugin.fail())) as RemoteError;
    expect(PluginError.is(failed, 'PLUGWIRE_REMOTE')).toBe(true);
    expect([failed.statusCode, failed.remote, failed.message]).toEqual([500, { name: 'Error', message: 'it failed' }, 'it failed']);

    const panicked = (await rejectionOf(plugin.panic())) as RemoteError;
    expect(PluginError.is(panicked, 'PLUGWIRE_REMOTE')).toBe(true);
    expect([panicked.statusCode, panicked.remote]).toEqual([500, { name: 'Error', message: 'forced panic' }]);

    const missing = await rejectionOf(plugin.missing());
    expect(PluginError.is(missing, 'PLUGWIRE_METHOD_NOT_FOUND')).toBe(true);
    expect((missing as Error).message).toBe('method not found: /missing');

    const invalid = (await rejectionOf(client.call('/decorate', 42))) as PayloadValidationError;
    expect(PluginError.is(invalid, 'PLUGWIRE_VALIDATION')).toBe(true);
    expect([invalid.side, invalid.violations]).toEqual(['plugin', []]);
    expect(invalid.message).toMatch(/^json: cannot unmarshal number into Go struct field .*Payload of type string$/);

    // The plugin serves on after each.
    await expect(plugin.pid()).resolves.toBe(client.pid);
  });

  it("answers 'context deadline exceeded' at the deadline by itself, which the host reports as PLUGWIRE_TIMEOUT; the plugin is not restarted", async () => {
    const { plugin, client } = connection();
    const pid = client.pid;
    // Straight to the socket, with no timer of the host: only Go's own deadline ends it.
    const since = Date.now();
    const raw = await rawRequest(client.socket, { path: '/wait', body: envelope(0, new Date(Date.now() + 300).toISOString()) });
    expect([raw.status, JSON.parse(raw.body)]).toEqual([500, 'context deadline exceeded']);
    expect(Date.now() - since).toBeLessThan(10_000);

    const timedOut = await rejectionOf(withOptions(plugin, { timeout: 300 }).wait(0));
    expect(PluginError.is(timedOut, 'PLUGWIRE_TIMEOUT')).toBe(true);
    expect((timedOut as Error).message).toBe('call to /wait timed out after 300 ms');

    await expect(withOptions(plugin, { timeout: 5000 }).wait(20)).resolves.toBe(20);
    expect(client.pid).toBe(pid);
    expect(client.stats.restarts).toBe(0);
  });

  it('restarts a Go plugin killed with SIGKILL at the next call (its socket file left behind)', async () => {
    const { plugin, client } = connection();
    const before = client.pid as number;
    const exited = lastExit();
    process.kill(before, 'SIGKILL');
    await expect(exited).resolves.toMatchObject({ code: null, signal: 'SIGKILL' });
    const after = await plugin.pid();
    expect(after).not.toBe(before);
    expect(after).toBe(client.pid);
    expect(pidAlive(before)).toBe(false);
    await expect(plugin.decorate('back')).resolves.toBe('back decorated');
  });

  it('sends a call again, once, when the Go plugin died under it, and fails it with PLUGWIRE_UNAVAILABLE when it dies again', async () => {
    const { plugin } = connection();
    const count = exits.length;
    const pid = connection().client.pid;
    // /exit ends the process on every delivery: two processes die, then a third serves.
    const error = await rejectionOf(plugin.exit());
    expect(PluginError.is(error, 'PLUGWIRE_UNAVAILABLE')).toBe(true);
    await expect(Promise.all(exits.slice(count - 1, count + 1))).resolves.toEqual([
      expect.objectContaining({ code: 2, signal: null }),
      expect.objectContaining({ code: 2, signal: null }),
    ]);
    const next = await plugin.pid();
    expect(next).not.toBe(pid);
  });

  it('printed nothing but its ready lines', () => {
    expect([...logger.lines, ...logger.errors]).toEqual([]);
  });

  it('stops it on close(), a call without timeout in flight: SIGTERM, exit status 0, the socket file removed by Go', async () => {
    const { client, plugin } = connection();
    const pid = client.pid as number;
    const socket = client.socket;
    const exited = lastExit();
    await expect(plugin.decorate('last')).resolves.toBe('last decorated');
    const inFlight = rejectionOf(withOptions(plugin, { timeout: 0 }).wait(0));
    await within(connection().close(), 10_000, 'close()');
    expect(PluginError.is(await inFlight, 'PLUGWIRE_CLOSED')).toBe(true);
    await expect(exited).resolves.toMatchObject({ code: 0, signal: null });
    expect(pidAlive(pid)).toBe(false);
    expect(existsSync(socket)).toBe(false);
  });

  it("fails the start with PLUGWIRE_START on Go's 'failed to listen on socket' line", async () => {
    // A shell hands the Go plugin a socket path in a directory that does not exist.
    const unusable = path.join(dir, 'no-such-dir', 'go.sock');
    const starter = startWithCommand('/bin/sh', ['-c', 'PLUGIN_SOCKET="$0" exec "$1"', unusable, goPlugin], { name: 'goplugin', logger: collectingLogger() });
    const error = (await rejectionOf(connect(GoPlugin, starter, { socket: path.join(dir, 'unused.sock') }))) as StartError;
    expect(PluginError.is(error, 'PLUGWIRE_START')).toBe(true);
    expect(error.reason).toBe('failed-line');
    expect(error.message).toMatch(/^plugin goplugin failed to listen on /);
  });
});

// ---------------------------------------------------------------------------------------
// The Go host loading a plugwire plugin

interface CallResult {
  op: 'call';
  method: string;
  ok: boolean;
  result?: unknown;
  error?: string;
  status?: number;
  timeout?: boolean;
  restarted?: boolean;
  deadline?: string;
  deadlineUnixMs?: number;
  pid?: number;
  ms: number;
}

interface GoExit {
  code: number | null;
  signal: string | null;
}

interface CallCommand {
  method: string;
  payload?: unknown;
  as?: 'tagged' | 'untagged';
  deadlineMs?: number;
  zoneMinutes?: number;
  timeoutMs?: number;
}

/** The Go host as a child process, driven one command at a time through its standard input. */
class GoHost {
  readonly child: ChildProcess;
  /** What the plugin printed on standard output, passed on by the host. */
  readonly pluginLines: string[] = [];
  /** Every pid the host started, for the clean-up. */
  readonly pids = new Set<number>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderr = '';
  private readonly waiting: Array<{ resolve: (result: Record<string, unknown>) => void; reject: (error: Error) => void }> = [];
  private readonly exits = new Map<number, GoExit>();
  private readonly exitWaiters = new Map<number, (exit: GoExit) => void>();

  constructor(binary: string, socket: string, command: readonly string[]) {
    this.child = spawn(binary, ['-socket', socket, '--', ...command], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.on('error', (error) => (this.stderr += `${error.message}\n`));
    this.child.stdin?.on('error', () => undefined); // a host that died: its close tells
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (line) => this.onLine(line));
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        for (const waiter of this.waiting.splice(0)) waiter.reject(new Error(`the Go host ended (${signal ?? code}); its standard error:\n${this.stderr}`));
        resolve({ code, signal });
      });
    });
  }

  private onLine(line: string): void {
    let parsed: unknown;
    try {
      parsed = line.startsWith('{') ? JSON.parse(line) : undefined;
    } catch {
      parsed = undefined;
    }
    const message = parsed as Record<string, unknown> | undefined;
    if (message && message['event'] === 'exit') {
      const pid = message['pid'] as number;
      const exit = message['exit'] as GoExit;
      this.exits.set(pid, exit);
      this.exitWaiters.get(pid)?.(exit);
      return;
    }
    if (!message || typeof message['op'] !== 'string') {
      this.pluginLines.push(line);
      return;
    }
    if (typeof message['pid'] === 'number') this.pids.add(message['pid']);
    this.waiting.shift()?.resolve(message);
  }

  /** Sends one command and resolves with its result line. */
  send(command: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin?.write(`${JSON.stringify(command)}\n`);
    });
  }

  async call(command: CallCommand): Promise<CallResult> {
    return (await this.send({ op: 'call', ...command })) as unknown as CallResult;
  }

  /** Resolves with the exit of a plugin process the host started, once the host saw it. */
  exitOf(pid: number): Promise<GoExit> {
    const known = this.exits.get(pid);
    if (known) return Promise.resolve(known);
    return new Promise((resolve) => this.exitWaiters.set(pid, resolve));
  }

  get errors(): string {
    return this.stderr;
  }

  /** Ends the host (which terminates its plugin) and any plugin process still alive. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.stdin?.end();
    try {
      await within(this.exited, 15_000, 'the Go host to exit');
    } catch {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    for (const pid of this.pids) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  }
}

describe('a Go host (net/http, encoding/json) loading a plugwire plugin', () => {
  let host: GoHost;
  let socket: string;
  let pid: number;

  beforeAll(async () => {
    const { host: binary } = await binaries;
    if (!existsSync(PLUGWIRE_PLUGIN)) throw new Error(`${PLUGWIRE_PLUGIN} is missing: run \`npm run build\` first`);
    socket = path.join(dir, 'pw.sock');
    host = new GoHost(binary, socket, [process.execPath, PLUGWIRE_PLUGIN]);
  }, 240_000);
  afterAll(async () => {
    await host?.stop();
  });

  it('removes a stale socket file, starts the plugin with PLUGIN_SOCKET and waits for its ready line, which it passes on', async () => {
    writeFileSync(socket, 'stale');
    const started = await host.send({ op: 'start' });
    expect(started).toMatchObject({ op: 'start', ok: true });
    pid = started['pid'] as number;
    expect(pidAlive(pid)).toBe(true);
    expect(host.pluginLines).toEqual(['plugin is ready']);
    expect(statSync(socket).isSocket()).toBe(true);
    expect(statSync(socket).mode & 0o777).toBe(0o600);
  });

  it('calls methods: a string, a struct with json tags, several parameters as an array, no result', async () => {
    await expect(host.call({ method: '/modify', payload: 'some value' })).resolves.toMatchObject({ ok: true, result: 'some value decorated', pid });
    await expect(host.call({ method: '/add', payload: { a: 1, b: 2 }, as: 'tagged' })).resolves.toMatchObject({ ok: true, result: 3 });
    await expect(host.call({ method: '/join', payload: ['a', 'b'] })).resolves.toMatchObject({ ok: true, result: 'ab' });
    await expect(host.call({ method: '/nothing' })).resolves.toMatchObject({ ok: true, result: null });
    // encoding/json writes <, > and & as \u003c, \u003e and \u0026, and U+2028 as \u2028.
    await expect(host.call({ method: '/modify', payload: '<a&b> \u2028 ☃' })).resolves.toMatchObject({ ok: true, result: '<a&b> \u2028 ☃ decorated' });
  });

  it('refuses a struct without json tags, sent with its Go names: a plugwire DTO takes the names of the contract (docs/PROTOCOL.md)', async () => {
    const result = await host.call({ method: '/add', payload: { a: 1, b: 2 }, as: 'untagged' });
    expect(result).toMatchObject({ ok: false, status: 422, restarted: false });
    expect(result.error).toMatch(/a must be an integer number/);
  });

  it('turns the plain JSON-string errors into Go errors with the message', async () => {
    await expect(host.call({ method: '/fail' })).resolves.toMatchObject({ ok: false, status: 500, error: 'out of stock' });
    await expect(host.call({ method: '/nope' })).resolves.toMatchObject({ ok: false, status: 404, error: 'method not found: /nope' });
    const invalid = await host.call({ method: '/modify', payload: 42 });
    expect([invalid.ok, invalid.status, typeof invalid.error, invalid.restarted]).toEqual([false, 422, 'string', false]);
  });

  it('serves calls side by side on the connections of Go\'s transport', async () => {
    const calls = Array.from({ length: 24 }, (_, i) => ({ method: '/add', payload: { a: i, b: 1 }, as: 'tagged' }));
    const { results } = (await host.send({ op: 'calls', calls })) as { results: CallResult[] };
    expect(results.map((r) => [r.ok, r.result])).toEqual(calls.map((_, i) => [true, i + 1]));
  });

  it('reads the deadline as Go writes time.Time, with nanoseconds, in UTC or with an offset', async () => {
    const utc = await host.call({ method: '/deadline', deadlineMs: 60_000 });
    expect(utc.deadline).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
    expect(utc).toMatchObject({ ok: true });
    expect(Date.parse(utc.result as string)).toBe(utc.deadlineUnixMs);

    const offset = await host.call({ method: '/deadline', deadlineMs: 60_000, zoneMinutes: 60 });
    expect(offset.deadline).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?\+01:00$/);
    expect(Date.parse(offset.result as string)).toBe(offset.deadlineUnixMs);

    const negative = await host.call({ method: '/deadline', deadlineMs: 60_000, zoneMinutes: -330 });
    expect(negative.deadline).toMatch(/-05:30$/);
    expect(Date.parse(negative.result as string)).toBe(negative.deadlineUnixMs);

    // Weeks away: further than a Node timer reaches.
    const far = await host.call({ method: '/deadline', deadlineMs: 40 * 24 * 3600 * 1000 });
    expect(Date.parse(far.result as string)).toBe(far.deadlineUnixMs);
    await expect(host.call({ method: '/sleep', payload: 10, deadlineMs: 40 * 24 * 3600 * 1000 })).resolves.toMatchObject({ ok: true, result: 'slept' });

    await expect(host.call({ method: '/deadline' })).resolves.toMatchObject({ ok: true, result: null });
  });

  it("answers 'context deadline exceeded' at the deadline, which the Go host does not enforce itself", async () => {
    const result = await host.call({ method: '/sleep', payload: 2000, deadlineMs: 300 });
    expect(result).toMatchObject({ ok: false, error: 'context deadline exceeded', restarted: false, timeout: false, pid });
    expect(result.ms).toBeGreaterThanOrEqual(250);
    expect(result.ms).toBeLessThan(1900);
  });

  it('answers at once for a deadline already past', async () => {
    const result = await host.call({ method: '/sleep', payload: 2000, deadlineMs: -1000 });
    expect(result).toMatchObject({ ok: false, error: 'context deadline exceeded', restarted: false, pid });
    expect(result.ms).toBeLessThan(1500);
  });

  it('keeps the plugin when the whole-call timeout of the Go host ends a call', async () => {
    const result = await host.call({ method: '/sleep', payload: 1000, timeoutMs: 300 });
    expect(result).toMatchObject({ ok: false, timeout: true, restarted: false, pid });
    expect(result.error).toMatch(/Client\.Timeout exceeded/);
    await expect(host.call({ method: '/modify', payload: 'still' })).resolves.toMatchObject({ ok: true, result: 'still decorated', pid });
  });

  it('starts the plugin again after SIGKILL and sends the failed call once more', async () => {
    process.kill(pid, 'SIGKILL');
    await expect(within(host.exitOf(pid), 10_000, 'the Go host to see the plugin exit')).resolves.toEqual({ code: null, signal: 'SIGKILL' });
    const result = await host.call({ method: '/modify', payload: 'again' });
    expect(result).toMatchObject({ ok: true, result: 'again decorated', restarted: true });
    expect(result.pid).not.toBe(pid);
    expect(pidAlive(pid)).toBe(false);
    pid = result.pid as number;
    expect(host.pluginLines).toEqual(['plugin is ready', 'plugin is ready']);
  });

  it("stops on the Go host's terminate (SIGTERM): exit status 0, socket file removed", async () => {
    const term = await host.send({ op: 'term' });
    expect(term).toEqual({ op: 'term', ok: true, exit: { code: 0, signal: null } });
    expect(pidAlive(pid)).toBe(false);
    expect(existsSync(socket)).toBe(false);
    expect(host.pluginLines).toEqual(['plugin is ready', 'plugin is ready']);
  });

  it('leaves with its host at the end of its input', async () => {
    host.child.stdin?.end();
    await expect(within(host.exited, 10_000, 'the Go host to exit')).resolves.toEqual({ code: 0, signal: null });
    for (const started of host.pids) expect(pidAlive(started)).toBe(false);
    expect(host.errors).toBe('');
  });
});
