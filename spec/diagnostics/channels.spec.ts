// The node:diagnostics_channel channels, subscribed to as a tracing or metrics tool would:
// a host's calls and its plugin's life (spawn, ready, exit, restart, a failed start) against
// setup-plugin as a real process, and a plugin server's calls served in this process.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import * as path from 'node:path';
import {
  connect,
  DiagnosticChannels,
  PluginError,
  serve,
  startWithCommand,
  withOptions,
  type CallMessage,
  type Connection,
  type PluginExitMessage,
  type PluginReadyMessage,
  type PluginServer,
  type PluginSpawnMessage,
  type PluginStartErrorMessage,
  type ServedCallMessage,
} from '../../lib';
import { OutOfStock, SetupOrder, SetupTest } from '../fixtures/contracts/setup-contract';
import { SetupTestPlugin } from '../fixtures/diagnostics/setup-plugin';
import { rawRequest, startRawRequest } from '../support/raw-http';
import { fixtureStarter, rejectionOf, removeDir, tempDir, waitFor } from '../support/host-helpers';

type ChannelName = (typeof DiagnosticChannels)[keyof typeof DiagnosticChannels];

/** A message as it was published: the object itself (later changed by plugwire) and a copy of it then. */
interface Published {
  readonly channel: ChannelName;
  readonly message: object;
  readonly then: Record<string, unknown>;
}

/**
 * Subscribes to channels and keeps what they publish. `next()` waits for a message, from
 * the ones seen since `mark()`: no sleeps, and nothing missed that came before the wait.
 */
class Recorder {
  readonly seen: Published[] = [];
  private from = 0;
  private readonly waiters = new Set<() => void>();
  private readonly listeners = new Map<ChannelName, (message: unknown) => void>();

  constructor(private readonly channels: readonly ChannelName[]) {}

  start(): void {
    for (const channel of this.channels) {
      const listener = (message: unknown): void => {
        this.seen.push({ channel, message: message as object, then: { ...(message as Record<string, unknown>) } });
        for (const waiter of this.waiters) waiter();
      };
      this.listeners.set(channel, listener);
      subscribe(channel, listener);
    }
  }

  stop(): void {
    for (const [channel, listener] of this.listeners) unsubscribe(channel, listener);
    this.listeners.clear();
  }

  /** Forgets what was published so far, for `since()` and `next()`. */
  mark(): void {
    this.from = this.seen.length;
  }

  /** What was published since the mark, on one channel or all. */
  since(channel?: ChannelName): Published[] {
    return this.seen.slice(this.from).filter((p) => channel === undefined || p.channel === channel);
  }

  /** The first message since the mark on `channel` that `match` accepts; waits for it (at most 10 s). */
  next<T>(channel: ChannelName, match: (message: T) => boolean = () => true): Promise<T> {
    const find = (): T | undefined => this.since(channel).find((p) => match(p.message as T))?.message as T | undefined;
    const found = find();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const message = find();
        if (message === undefined) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(message);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`nothing published on ${channel} within 10 s; seen: ${this.since().map((p) => p.channel).join(', ')}`));
      }, 10_000);
      this.waiters.add(check);
    });
  }
}

const HOST_CHANNELS: readonly ChannelName[] = [
  DiagnosticChannels.callStart,
  DiagnosticChannels.callEnd,
  DiagnosticChannels.callError,
  DiagnosticChannels.pluginSpawn,
  DiagnosticChannels.pluginReady,
  DiagnosticChannels.pluginStartError,
  DiagnosticChannels.pluginExit,
];

describe('the channel names, a stable API', () => {
  it('are the documented ones', () => {
    expect(DiagnosticChannels).toEqual({
      callStart: 'plugwire:call:start',
      callEnd: 'plugwire:call:end',
      callError: 'plugwire:call:error',
      pluginSpawn: 'plugwire:plugin:spawn',
      pluginReady: 'plugwire:plugin:ready',
      pluginStartError: 'plugwire:plugin:startError',
      pluginExit: 'plugwire:plugin:exit',
      serveCallStart: 'plugwire:serve:call:start',
      serveCallEnd: 'plugwire:serve:call:end',
    });
  });
});

describe("a host's channels, against a plugin process", () => {
  const recorder = new Recorder(HOST_CHANNELS);
  let connection: Connection<SetupTest>;

  beforeAll(async () => {
    recorder.start();
    connection = await connect(SetupTest, fixtureStarter('diagnostics/setup-plugin').starter, { timeout: 5000 });
  });

  afterAll(async () => {
    await connection?.term();
    recorder.stop();
  });

  /** The call messages since the mark, as [channel, message] pairs. */
  function calls(): Array<[ChannelName, CallMessage]> {
    return recorder
      .since()
      .filter((p) => p.channel.startsWith('plugwire:call:'))
      .map((p) => [p.channel, p.message as CallMessage]);
  }

  it('publishes spawn, then ready with the pid of the process, at the first start', () => {
    const { client } = connection;
    const life = recorder.seen.filter((p) => p.channel.startsWith('plugwire:plugin:'));
    expect(life.map((p) => p.channel)).toEqual([DiagnosticChannels.pluginSpawn, DiagnosticChannels.pluginReady]);
    const [spawn, ready] = life.map((p) => p.message) as [PluginSpawnMessage, PluginReadyMessage];
    expect(spawn).toEqual({ plugin: 'setup-plugin', socket: client.socket, restart: false });
    expect(ready).toEqual({ plugin: 'setup-plugin', socket: client.socket, pid: client.pid, duration: expect.any(Number) });
    expect(ready.pid).toEqual(expect.any(Number));
    expect(ready.duration).toBeGreaterThan(0);
  });

  it('publishes a successful call on start, then the same object on end with its duration', async () => {
    recorder.mark();
    await expect(connection.plugin.wait(20)).resolves.toBe('waited 20');
    const seen = calls();
    expect(seen.map(([channel]) => channel)).toEqual([DiagnosticChannels.callStart, DiagnosticChannels.callEnd]);
    const [[, started], [, ended]] = seen as [[ChannelName, CallMessage], [ChannelName, CallMessage]];
    expect(ended).toBe(started);
    expect(ended).toEqual({ plugin: 'setup-plugin', route: '/wait', startTime: expect.any(Number), duration: expect.any(Number) });
    expect(ended.duration).toBeGreaterThanOrEqual(19);
    expect(ended.error).toBeUndefined();
    // At its start, the message had no outcome yet.
    expect(recorder.since(DiagnosticChannels.callStart)[0]?.then).toEqual({ plugin: 'setup-plugin', route: '/wait', startTime: started.startTime });
  });

  it('publishes calls through client.call() too', async () => {
    recorder.mark();
    await connection.client.call('/wait', 1);
    expect(calls().map(([channel, message]) => [channel, message.route])).toEqual([
      [DiagnosticChannels.callStart, '/wait'],
      [DiagnosticChannels.callEnd, '/wait'],
    ]);
  });

  /** Runs a failing call; returns its error and the one message its start and its error published. */
  async function failing(call: () => Promise<unknown>): Promise<{ error: unknown; message: CallMessage }> {
    recorder.mark();
    const error = await rejectionOf(call());
    const seen = calls();
    expect(seen.map(([channel]) => channel)).toEqual([DiagnosticChannels.callStart, DiagnosticChannels.callError]);
    const [[, started], [, failed]] = seen as [[ChannelName, CallMessage], [ChannelName, CallMessage]];
    expect(failed).toBe(started);
    expect(failed.error).toBe(error);
    expect(failed.duration).toEqual(expect.any(Number));
    return { error, message: failed };
  }

  it("publishes the plugin's error on error, with its code (PLUGWIRE_REMOTE)", async () => {
    const { error, message } = await failing(() => connection.plugin.coded());
    expect(message).toMatchObject({ plugin: 'setup-plugin', route: '/coded' });
    expect(PluginError.is(error, 'PLUGWIRE_REMOTE')).toBe(true);
    expect((error as PluginError).message).toContain('no apples left');
  });

  it('publishes a payload the host refuses before sending it (PLUGWIRE_VALIDATION)', async () => {
    const order = Object.assign(new SetupOrder(), { sku: '', quantity: 0 });
    const { error, message } = await failing(() => connection.plugin.order(order));
    expect(message.route).toBe('/order');
    expect(PluginError.is(error, 'PLUGWIRE_VALIDATION')).toBe(true);
  });

  it('publishes a timeout (PLUGWIRE_TIMEOUT), its duration at least the timeout', async () => {
    const { error, message } = await failing(() => withOptions(connection.plugin, { timeout: 150 }).wait(1000));
    expect(PluginError.is(error, 'PLUGWIRE_TIMEOUT')).toBe(true);
    expect((error as Error).message).toBe('call to /wait timed out after 150 ms');
    expect(message.duration).toBeGreaterThanOrEqual(149);
  });

  it('publishes invalid call options as a TypeError', async () => {
    const { error, message } = await failing(() => connection.client.call('/wait', 1, { timeout: -1 }));
    expect(error).toBeInstanceOf(TypeError);
    expect(message.route).toBe('/wait');
  });

  it('publishes a killed plugin as an unexpected exit, and its restart at the next call with the cause', async () => {
    const { client, plugin } = connection;
    const first = client.pid as number;
    recorder.mark();
    process.kill(first, 'SIGKILL');
    const exit = await recorder.next<PluginExitMessage>(DiagnosticChannels.pluginExit);
    expect(exit).toEqual({ plugin: 'setup-plugin', pid: first, code: null, signal: 'SIGKILL', expected: false });
    expect(client.state).toBe('exited');

    await expect(plugin.wait(1)).resolves.toBe('waited 1');
    const life = recorder.since().filter((p) => p.channel.startsWith('plugwire:plugin:'));
    expect(life.map((p) => p.channel)).toEqual([DiagnosticChannels.pluginExit, DiagnosticChannels.pluginSpawn, DiagnosticChannels.pluginReady]);
    expect(life[1]?.message).toEqual({ plugin: 'setup-plugin', socket: client.socket, restart: true, cause: 'killed by SIGKILL' });
    expect(life[2]?.message).toMatchObject({ plugin: 'setup-plugin', pid: client.pid });
    expect(client.pid).not.toBe(first);
    expect(client.stats).toMatchObject({ starts: 2, restarts: 1, failedStarts: 0, recycles: 0 });
    // The call that restarted the plugin is one call: one start, one end.
    expect(calls().map(([channel]) => channel)).toEqual([DiagnosticChannels.callStart, DiagnosticChannels.callEnd]);
  });

  it('publishes a plugin killed with calls in flight as an unexpected exit too, round after round', async () => {
    const { client, plugin } = connection;
    for (let round = 0; round < 3; round++) {
      const pid = client.pid as number;
      const inFlight = Array.from({ length: 4 }, () => plugin.wait(2000).catch(() => undefined));
      await waitFor(() => client.load.inFlight === 4, 3000, 'the calls to be in flight');
      recorder.mark();
      process.kill(pid, 'SIGKILL');
      // The failed calls look into the plugin while it dies: it was not terminated by the host.
      const exit = await recorder.next<PluginExitMessage>(DiagnosticChannels.pluginExit);
      expect(exit).toEqual({ plugin: 'setup-plugin', pid, code: null, signal: 'SIGKILL', expected: false });
      await Promise.all(inFlight);
    }
  });

  it('publishes the exit of a plugin the host terminated as expected', async () => {
    const pid = connection.client.pid;
    recorder.mark();
    await connection.term();
    const exit = await recorder.next<PluginExitMessage>(DiagnosticChannels.pluginExit);
    expect(exit).toEqual({ plugin: 'setup-plugin', pid, code: 0, signal: null, expected: true });
    expect(connection.client.state).toBe('closed');
  });

  it('publishes spawn, then startError, for a plugin that cannot start', async () => {
    recorder.mark();
    const starter = startWithCommand(process.execPath, ['-e', 'process.exit(1)'], { name: 'broken', logger: false });
    const error = await rejectionOf(connect(SetupTest, starter));
    expect(PluginError.is(error, 'PLUGWIRE_START')).toBe(true);
    const seen = recorder.since();
    expect(seen.map((p) => p.channel)).toEqual([DiagnosticChannels.pluginSpawn, DiagnosticChannels.pluginStartError]);
    expect(seen[0]?.message).toMatchObject({ plugin: 'broken', restart: false });
    const failed = seen[1]?.message as PluginStartErrorMessage;
    expect(failed).toEqual({ plugin: 'broken', socket: (seen[0]?.message as PluginSpawnMessage).socket, error });
  });
});

describe('one channel alone', () => {
  const recorder = new Recorder([DiagnosticChannels.callError]);
  let connection: Connection<SetupTest>;

  beforeAll(async () => {
    connection = await connect(SetupTest, fixtureStarter('diagnostics/setup-plugin').starter);
  });

  afterAll(async () => {
    recorder.stop();
    await connection?.term();
  });

  it('is enough: a subscriber of plugwire:call:error alone gets each failed call, with its duration and error', async () => {
    recorder.start();
    await connection.plugin.wait(1);
    const error = await rejectionOf(connection.plugin.coded());
    expect(recorder.seen.map((p) => p.message)).toEqual([{ plugin: 'setup-plugin', route: '/coded', startTime: expect.any(Number), duration: expect.any(Number), error }]);
  });
});

describe("a plugin server's channels, served in this process", () => {
  const recorder = new Recorder([DiagnosticChannels.serveCallStart, DiagnosticChannels.serveCallEnd]);
  const reported: string[] = [];
  let dir: string;
  let socket: string;
  let server: PluginServer;

  /** setup-plugin's class with /missing implemented: serve() has nothing to warn about. */
  class ServedPlugin extends SetupTestPlugin {
    override async missing(): Promise<string> {
      return 'here';
    }
  }

  beforeAll(async () => {
    recorder.start();
    dir = tempDir();
    socket = path.join(dir, 'served.sock');
    server = await serve(new ServedPlugin(), { socket, standalone: false, announce: false, logger: { error: (message) => reported.push(message) } });
  });

  afterAll(async () => {
    await server?.close();
    recorder.stop();
    removeDir(dir);
  });

  /** Posts one call; returns its status, and the message published on start and on end. */
  async function served(route: string, payload: unknown, deadline: string | null = null): Promise<{ status: number; message: ServedCallMessage }> {
    recorder.mark();
    const { status } = await rawRequest(socket, { path: route, body: JSON.stringify({ Context: { Deadline: deadline }, Payload: payload }) });
    const message = await recorder.next<ServedCallMessage>(DiagnosticChannels.serveCallEnd);
    const seen = recorder.since();
    expect(seen.map((p) => p.channel)).toEqual([DiagnosticChannels.serveCallStart, DiagnosticChannels.serveCallEnd]);
    expect(seen[0]?.message).toBe(message);
    expect(seen[0]?.then).toEqual({ route, startTime: message.startTime });
    expect(message).toMatchObject({ route, status, duration: expect.any(Number) });
    return { status, message };
  }

  it('publishes an answered call with status 200 and its duration', async () => {
    const { status, message } = await served('/wait', 20);
    expect(status).toBe(200);
    expect(message.error).toBeUndefined();
    expect(message.duration).toBeGreaterThanOrEqual(19);
  });

  it("publishes a method's deliberate error with status 500 and the error it threw", async () => {
    const { status, message } = await served('/coded', null);
    expect(status).toBe(500);
    expect(message.error).toBeInstanceOf(OutOfStock);
  });

  it('publishes an unexpected error with status 500, and the server reports its stack', async () => {
    const { status, message } = await served('/boom', null);
    expect(status).toBe(500);
    expect(message.error).toBeInstanceOf(TypeError);
    expect(reported.join('\n')).toMatch(/ServedPlugin\.boom \(route \/boom\) threw: TypeError/);
  });

  it('publishes an invalid payload with status 422 and a PLUGWIRE_VALIDATION error', async () => {
    const { status, message } = await served('/order', { sku: '', quantity: 0 });
    expect(status).toBe(422);
    expect(PluginError.is(message.error, 'PLUGWIRE_VALIDATION')).toBe(true);
  });

  it('publishes a call whose deadline has passed with status 504 and a PLUGWIRE_TIMEOUT error', async () => {
    const { status, message } = await served('/wait', 1, '2000-01-01T00:00:00Z');
    expect(status).toBe(504);
    expect(PluginError.is(message.error, 'PLUGWIRE_TIMEOUT')).toBe(true);
  });

  it.each<[string, string, number, 'PLUGWIRE_PROTOCOL' | 'PLUGWIRE_VALIDATION']>([
    ['a body that is not JSON', 'not json', 400, 'PLUGWIRE_PROTOCOL'],
    ['an envelope whose Context is not an object', JSON.stringify({ Context: 5, Payload: 1 }), 422, 'PLUGWIRE_VALIDATION'],
  ])('publishes %s as refused, with its status and error', async (_what, body, status, code) => {
    recorder.mark();
    expect((await rawRequest(socket, { path: '/wait', body })).status).toBe(status);
    const message = await recorder.next<ServedCallMessage>(DiagnosticChannels.serveCallEnd);
    expect(message).toMatchObject({ route: '/wait', status });
    expect(PluginError.is(message.error, code)).toBe(true);
  });

  it('publishes a call whose caller went away with status 0', async () => {
    recorder.mark();
    const exchange = startRawRequest(socket, { path: '/wait', body: JSON.stringify({ Payload: 100 }) });
    exchange.response.catch(() => undefined);
    const message = await recorder.next<ServedCallMessage>(DiagnosticChannels.serveCallStart);
    exchange.request.destroy();
    await recorder.next<ServedCallMessage>(DiagnosticChannels.serveCallEnd);
    expect(message).toMatchObject({ route: '/wait', status: 0, duration: expect.any(Number) });
  });
});
