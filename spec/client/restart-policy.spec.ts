// The restart policy without sockets or processes: the pure retry decision, and the
// supervisor driven by a fake starter whose plugins "exit" when a test says so, with the
// socket probe injected. Real plugin processes are restart.spec.ts and the fault suites.
import * as os from 'node:os';
import * as path from 'node:path';
import { errors } from 'undici';
import { resolveConfig, type PluginConfigInput } from '../../lib/client/config';
import { BUSY_FIRST_WAIT, BUSY_MAX_WAIT, decideRetry, nextBusyWait, restartDelay, retryError, type RetryInput, type RetryVerdict } from '../../lib/client/retry-policy';
import { Supervisor } from '../../lib/client/supervisor';
import { classify, errorCode } from '../../lib/client/transport-error';
import { PluginError } from '../../lib/errors/plugin-error';
import type { PluginExit, StartContext, StartedPlugin, Starter } from '../../lib/starters/starter';

/** A started plugin that exits when the test says so, or when it is closed. */
class FakePlugin implements StartedPlugin {
  readonly exited: Promise<PluginExit>;
  closes = 0;
  private settle!: (exit: PluginExit) => void;

  constructor(readonly pid: number) {
    this.exited = new Promise((resolve) => (this.settle = resolve));
  }

  /** The plugin dies on its own. */
  die(code = 1): void {
    this.settle({ code, signal: null });
  }

  close(): Promise<void> {
    this.closes += 1;
    this.settle({ code: null, signal: 'SIGTERM' });
    return this.exited.then(() => undefined);
  }

  term(): Promise<void> {
    return this.close();
  }
}

/** A starter that makes FakePlugins, or fails as often as told; it records when it was asked. */
class FakeStarter implements Starter {
  readonly name = 'fake';
  readonly plugins: FakePlugin[] = [];
  readonly contexts: StartContext[] = [];
  readonly askedAt: number[] = [];
  /** Starts to fail from now on. */
  failures = 0;
  /** Starts to hold until release() (the start is under way meanwhile). */
  private held: (() => void) | undefined;
  hold = false;

  async start(context: StartContext): Promise<StartedPlugin> {
    this.contexts.push(context);
    this.askedAt.push(Date.now());
    if (this.hold) await new Promise<void>((resolve) => (this.held = resolve));
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('no luck');
    }
    const plugin = new FakePlugin(1000 + this.plugins.length);
    this.plugins.push(plugin);
    return plugin;
  }

  release(): void {
    this.hold = false;
    this.held?.();
  }

  get last(): FakePlugin {
    const plugin = this.plugins[this.plugins.length - 1];
    if (!plugin) throw new Error('nothing started yet');
    return plugin;
  }
}

const SOCKET = path.join(os.tmpdir(), `plugwire-restart-policy-${process.pid}`, 'never-made.sock');
const NEVER = new AbortController().signal;

/** Lets the exit handlers and promise chains run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function rejection(promise: Promise<unknown>): Promise<PluginError> {
  try {
    await promise;
  } catch (error) {
    if (PluginError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

interface Harness {
  readonly supervisor: Supervisor;
  readonly starter: FakeStarter;
  readonly logged: string[];
  /** What the injected probe answers: whether the socket accepts connections. */
  listening: boolean;
}

function supervise(config: PluginConfigInput = {}): Harness {
  const starter = new FakeStarter();
  const logged: string[] = [];
  const harness = {
    starter,
    logged,
    listening: true,
  } as { -readonly [K in keyof Harness]: Harness[K] };
  harness.supervisor = new Supervisor({
    starter,
    socket: SOCKET,
    config: resolveConfig({
      ...config,
      restart: { maxRestarts: 3, initialDelay: 30, maxDelay: 60, cooldown: 300, ...config.restart },
      logger: { log: (line) => logged.push(line), error: (line) => logged.push(line) },
    }),
    isListening: () => Promise.resolve(harness.listening),
  });
  return harness;
}

describe('decideRetry()', () => {
  const at = (failure: RetryInput['failure'], more: Partial<RetryInput> = {}): RetryInput => ({ failure, idempotent: true, sent: 0, pass: 0, restarted: false, ...more });

  it.each<[string, RetryInput, RetryVerdict]>([
    ['waits for a busy plugin, however long the call has gone on', at('busy', { sent: 5, pass: 9, restarted: true }), 'wait'],
    ['waits for a busy plugin even for a method that is not idempotent', at('busy', { idempotent: false }), 'wait'],
    ['throws the failure itself when restarting cannot mend it', at('other'), 'transport'],
    ['never sends again a request the plugin answered with something that is not HTTP/1.1', at('invalid'), 'transport'],
    ['looks into the plugin and sends again when the request never arrived', at('unreached'), 'restart'],
    ['sends a lost request of an idempotent method once more', at('lost', { sent: 1 }), 'restart'],
    ['never sends a lost request of a method that is not idempotent again', at('lost', { sent: 1, idempotent: false }), 'not-idempotent'],
    ['sends an unreached request of a method that is not idempotent again: it cannot have run', at('unreached', { idempotent: false }), 'restart'],
    ['gives up after two lost requests when nothing was restarted', at('lost', { sent: 2, pass: 1 }), 'unreachable'],
    ['gives up after two lost requests, across a restart', at('lost', { sent: 2, pass: 1, restarted: true }), 'gone-again'],
    ['tries up to four passes for a plugin that stays unreachable', at('unreached', { pass: 2 }), 'restart'],
    ['gives up at the fourth pass', at('unreached', { pass: 3 }), 'unreachable'],
    ['says the plugin went away again when a restart came between', at('unreached', { pass: 3, restarted: true }), 'gone-again'],
  ])('%s', (_label, input, verdict) => {
    expect(decideRetry(input)).toBe(verdict);
  });
});

describe('retryError()', () => {
  it.each([
    ['not-idempotent', 'PLUGWIRE_UNAVAILABLE', 'connection to plugin p was lost during /r, which is not idempotent: it was not sent again because it may have run (ECONNRESET)'],
    ['gone-again', 'PLUGWIRE_UNAVAILABLE', 'plugin p went away again after a restart during /r (ECONNRESET)'],
    ['unreachable', 'PLUGWIRE_UNAVAILABLE', 'plugin p is unreachable during /r (ECONNRESET)'],
    ['broken', 'PLUGWIRE_PROTOCOL', 'plugin p closed the connection without answering /r, twice, while still accepting connections (ECONNRESET)'],
  ] as const)('gives up with %s as %s', (verdict, code, message) => {
    const cause = new Error('reset');
    const error = retryError(verdict, 'p', '/r', 'ECONNRESET', cause);
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
    expect(error.route).toBe('/r');
    expect(error.cause).toBe(cause);
  });
});

describe('transport failures', () => {
  it.each<[string, unknown, string | undefined, string]>([
    ['a refused connection', { code: 'ECONNREFUSED' }, 'ECONNREFUSED', 'unreached'],
    ['a failed write', { code: 'EPIPE' }, 'EPIPE', 'unreached'],
    ['a reset under undici', { code: 'UND_ERR_SOCKET', cause: { code: 'ECONNRESET' } }, 'UND_ERR_SOCKET', 'lost'],
    // On Linux a Unix socket is reset only with data its other end never read: the request.
    ['a reset two causes deep', { cause: { cause: { code: 'ECONNRESET' } } }, 'ECONNRESET', process.platform === 'linux' ? 'unreached' : 'lost'],
    ['a connection the plugin closed after reading the request', { code: 'UND_ERR_SOCKET' }, 'UND_ERR_SOCKET', 'lost'],
    ['a full backlog', { code: 'EAGAIN' }, 'EAGAIN', 'busy'],
    ['a connect timeout', { code: 'UND_ERR_CONNECT_TIMEOUT' }, 'UND_ERR_CONNECT_TIMEOUT', 'other'],
    ['an error without a known code', Object.assign(new Error('odd'), { code: 'EWHATEVER' }), undefined, 'other'],
    // undici's own errors: a refused answer has the code of a broken connection.
    ['undici closing on a plugin that closed', new errors.SocketError('other side closed'), 'UND_ERR_SOCKET', 'lost'],
    ['undici refusing an interim 100 Continue', new errors.SocketError('bad response'), 'UND_ERR_SOCKET', 'invalid'],
    ['undici refusing an unasked-for 101', new errors.SocketError('bad upgrade'), 'UND_ERR_SOCKET', 'invalid'],
    // undici 7 gives its parser's error no code.
    ['an answer undici cannot parse', new errors.HTTPParserError('Response does not match the HTTP/1.1 protocol (Expected HTTP/, RTSP/ or ICE/)'), undefined, 'invalid'],
  ])('sorts %s', (_label, error, code, kind) => {
    expect(errorCode(error)).toBe(code);
    expect(classify(error)).toBe(kind);
  });
});

describe('the back-off', () => {
  const policy = { maxRestarts: 5, initialDelay: 100, maxDelay: 2000, cooldown: 10_000 };

  it('restarts at once the first time, then waits initialDelay, doubling up to maxDelay', () => {
    expect([0, 1, 2, 3, 4].map((failures) => restartDelay(failures, policy))).toEqual([0, 100, 200, 400, 800]);
    expect(restartDelay(4, { ...policy, initialDelay: 1000 })).toBe(2000);
  });

  it('does not wait for the start after a cooldown', () => {
    expect(restartDelay(5, policy)).toBe(0);
  });

  it('waits for a busy plugin from 5 ms, doubling to 200 ms', () => {
    const waits = [BUSY_FIRST_WAIT];
    while (waits.length < 8) waits.push(nextBusyWait(waits[waits.length - 1] as number));
    expect(waits).toEqual([5, 10, 20, 40, 80, 160, BUSY_MAX_WAIT, BUSY_MAX_WAIT]);
  });
});

describe('Supervisor', () => {
  const open: Supervisor[] = [];
  const track = (harness: Harness): Harness => {
    open.push(harness.supervisor);
    return harness;
  };
  afterEach(async () => {
    for (const supervisor of open.splice(0)) {
      supervisor.abort(new Error('test over'));
      await supervisor.stop();
    }
  });

  it('starts the first plugin as generation 1 and sends its token', async () => {
    const { supervisor, starter } = track(supervise());
    expect(supervisor.state).toBe('starting');
    await supervisor.launch();
    expect(supervisor.state).toBe('running');
    expect(supervisor.generation).toBe(1);
    expect(supervisor.pid).toBe(1000);
    expect(supervisor.stats).toEqual({ starts: 1, restarts: 0, failedStarts: 0, recycles: 0 });
    const context = starter.contexts[0] as StartContext;
    expect(context.socket).toBe(SOCKET);
    expect(supervisor.headers['authorization']).toBe(`Bearer ${context.token}`);
  });

  it('notices an exit at once and restarts at the next call, as a new generation, without waiting', async () => {
    const { supervisor, starter, logged } = track(supervise({ restart: { initialDelay: 5000, maxDelay: 5000 } }));
    await supervisor.launch();
    supervisor.succeeded();
    starter.last.die(3);
    await settle();
    expect(supervisor.state).toBe('exited');
    expect(logged).toEqual(['[fake] plugin is gone (exited with code 3); it is restarted at the next call']);
    await expect(supervisor.ensureRunning('/r', NEVER)).resolves.toBe(2);
    expect(supervisor.stats).toEqual({ starts: 2, restarts: 1, failedStarts: 0, recycles: 0 });
    // No back-off before the first restart (the policy's first wait would be 5 s).
    expect((starter.askedAt[1] as number) - (starter.askedAt[0] as number)).toBeLessThan(2500);
  });

  it('shares one restart among the calls that find the plugin gone', async () => {
    const { supervisor, starter } = track(supervise());
    await supervisor.launch();
    starter.last.die();
    await settle();
    await expect(Promise.all([1, 2, 3].map(() => supervisor.ensureRunning('/r', NEVER)))).resolves.toEqual([2, 2, 2]);
    expect(supervisor.stats.starts).toBe(2);
  });

  it('backs off between restarts in a row: at once, then initialDelay, doubling up to maxDelay', async () => {
    const { supervisor, starter } = track(supervise({ restart: { maxRestarts: 5, initialDelay: 40, maxDelay: 80 } }));
    await supervisor.launch();
    supervisor.succeeded();
    for (let i = 0; i < 4; i++) {
      starter.last.die();
      await settle();
      await supervisor.ensureRunning('/r', NEVER);
    }
    const [, first, second, third, fourth] = starter.askedAt as [number, number, number, number, number];
    // Timers may fire a ms early.
    expect(second - first).toBeGreaterThanOrEqual(39);
    expect(third - second).toBeGreaterThanOrEqual(79);
    expect(fourth - third).toBeGreaterThanOrEqual(79);
    expect(supervisor.stats).toEqual({ starts: 5, restarts: 4, failedStarts: 0, recycles: 0 });
  });

  it('ends the row of restarts at a successful call: the next restart does not wait', async () => {
    const { supervisor, starter } = track(supervise({ restart: { maxRestarts: 5, initialDelay: 5000, maxDelay: 5000 } }));
    await supervisor.launch();
    starter.last.die();
    await settle();
    await supervisor.ensureRunning('/r', NEVER);
    // Without this, the next restart would be the second in a row and wait 5 s.
    supervisor.succeeded();
    const before = Date.now();
    starter.last.die();
    await settle();
    await supervisor.ensureRunning('/r', NEVER);
    expect(Date.now() - before).toBeLessThan(2500);
  });

  it('gives up on a plugin that dies before any call succeeds, and tries again after the cooldown', async () => {
    const { supervisor, starter, logged } = track(supervise({ restart: { maxRestarts: 2, initialDelay: 1, cooldown: 200 } }));
    await supervisor.launch();
    for (let i = 0; i < 2; i++) {
      starter.last.die();
      await settle();
      await supervisor.ensureRunning('/r', NEVER);
    }
    starter.last.die();
    await settle();
    expect(supervisor.state).toBe('unavailable');
    expect(logged[logged.length - 1]).toBe(
      '[fake] plugin is gone (exited with code 1) before any call succeeded; given up after 2 restarts without a successful call: calls fail for 200 ms',
    );
    const error = await rejection(supervisor.ensureRunning('/r', NEVER));
    expect(error.code).toBe('PLUGWIRE_UNAVAILABLE');
    expect(error.message).toMatch(/^plugin fake was given up on after 2 restarts without a successful call; next try in \d+ ms$/);
    expect(supervisor.stats).toEqual({ starts: 3, restarts: 2, failedStarts: 0, recycles: 0 });
    await new Promise((resolve) => setTimeout(resolve, 220));
    await expect(supervisor.ensureRunning('/r', NEVER)).resolves.toBe(4);
  });

  it('keeps restarting a plugin that dies after calls succeeded', async () => {
    const { supervisor, starter } = track(supervise({ restart: { maxRestarts: 1, initialDelay: 1 } }));
    await supervisor.launch();
    for (let i = 0; i < 4; i++) {
      supervisor.succeeded();
      starter.last.die();
      await settle();
      await supervisor.ensureRunning('/r', NEVER);
    }
    expect(supervisor.state).toBe('running');
    expect(supervisor.stats.restarts).toBe(4);
  });

  it('counts failed restarts, tries again at the next call, and gives up after maxRestarts of them', async () => {
    const { supervisor, starter, logged } = track(supervise({ restart: { maxRestarts: 2, initialDelay: 1, cooldown: 10_000 } }));
    await supervisor.launch();
    supervisor.succeeded();
    starter.failures = 5;
    starter.last.die();
    await settle();
    let error = await rejection(supervisor.ensureRunning('/r', NEVER));
    expect(error.code).toBe('PLUGWIRE_UNAVAILABLE');
    expect(error.message).toBe('plugin fake is gone and could not be restarted: plugin fake could not be started: no luck');
    expect(supervisor.state).toBe('exited');
    expect(logged[logged.length - 1]).toBe('[fake] restart failed: plugin fake could not be started: no luck; it is tried again at the next call');
    error = await rejection(supervisor.ensureRunning('/r', NEVER));
    expect(error.code).toBe('PLUGWIRE_UNAVAILABLE');
    expect(supervisor.state).toBe('unavailable');
    expect(logged[logged.length - 1]).toBe(
      '[fake] restart failed: plugin fake could not be started: no luck; given up after 2 restarts without a successful call: calls fail for 10000 ms',
    );
    expect(supervisor.stats).toEqual({ starts: 3, restarts: 2, failedStarts: 2, recycles: 0 });
    // Given up: no start is asked for during the cooldown.
    await rejection(supervisor.ensureRunning('/r', NEVER));
    expect(starter.askedAt).toHaveLength(3);
  });

  it('does not restart at all when restart.maxRestarts is 0', async () => {
    const { supervisor, starter } = track(supervise({ restart: { maxRestarts: 0 } }));
    await supervisor.launch();
    starter.last.die();
    await settle();
    const error = await rejection(supervisor.ensureRunning('/r', NEVER));
    expect(error.message).toBe('plugin fake is gone, and restarts are turned off (restart.maxRestarts is 0)');
    expect(supervisor.state).toBe('unavailable');
    expect(starter.askedAt).toHaveLength(1);
  });

  it('keeps a plugin that still accepts connections and does not exit: the broken connection was stale', async () => {
    const harness = track(supervise());
    const { supervisor, starter } = harness;
    await supervisor.launch();
    harness.listening = true;
    await supervisor.recover(1);
    expect(supervisor.state).toBe('running');
    expect(starter.last.closes).toBe(0);
  });

  it('closes and replaces a plugin that stopped accepting connections; probes once for failures that come together', async () => {
    const harness = track(supervise());
    const { supervisor, starter, logged } = harness;
    await supervisor.launch();
    harness.listening = false;
    const probes = [supervisor.recover(1), supervisor.recover(1)];
    expect(probes[0]).toBe(probes[1]);
    expect(supervisor.recovering).toBe(probes[0]);
    await Promise.all(probes);
    expect(supervisor.recovering).toBeUndefined();
    expect(starter.last.closes).toBe(1);
    expect(supervisor.state).toBe('exited');
    // One notice, with the probe's reason: the SIGTERM its exit shows was the supervisor's own.
    expect(logged).toEqual(['[fake] plugin is gone (it stopped accepting connections); it is restarted at the next call']);
    expect(supervisor.diedUnanswered).toMatchObject({ how: 'killed by SIGTERM', endedBy: 'it stopped accepting connections' });
    await expect(supervisor.ensureRunning('/r', NEVER)).resolves.toBe(2);
  });

  it('does not take a plugin it recycled before any call succeeded for one that died unanswered', async () => {
    const { supervisor, starter, logged } = track(supervise());
    await supervisor.launch();
    await supervisor.recycle('a test');
    expect(starter.plugins[0]?.closes).toBe(1);
    expect(supervisor.generation).toBe(2);
    expect(supervisor.diedUnanswered).toBeUndefined();
    expect(logged).toEqual([]);
  });

  it('records a plugin that died by itself before any call succeeded, with no reason of its own', async () => {
    const { supervisor, starter } = track(supervise());
    await supervisor.launch();
    starter.last.die(7);
    await settle();
    expect(supervisor.diedUnanswered).toEqual({ how: 'exited with code 7', exit: { code: 7, signal: null } });
  });

  it('takes a failure seen on an older generation as no news', async () => {
    const harness = track(supervise());
    const { supervisor, starter } = harness;
    await supervisor.launch();
    starter.last.die();
    await settle();
    await supervisor.ensureRunning('/r', NEVER);
    harness.listening = false;
    await supervisor.recover(1);
    expect(supervisor.state).toBe('running');
    expect(starter.last.closes).toBe(0);
  });

  it('lets a caller stop waiting for a restart through its signal, while the restart goes on', async () => {
    const { supervisor, starter } = track(supervise());
    await supervisor.launch();
    starter.last.die();
    await settle();
    starter.hold = true;
    const caller = new AbortController();
    const waiting = supervisor.ensureRunning('/r', caller.signal);
    caller.abort(new Error('caller gave up'));
    await expect(waiting).rejects.toThrow('caller gave up');
    starter.release();
    await expect(supervisor.ensureRunning('/r', NEVER)).resolves.toBe(2);
  });

  it('once closed, refuses to start, ends a start under way and closes what it started', async () => {
    const { supervisor, starter } = supervise();
    await supervisor.launch();
    starter.last.die();
    await settle();
    starter.hold = true;
    const restarting = supervisor.ensureRunning('/r', NEVER);
    await settle();
    supervisor.abort(new Error('closing'));
    starter.release();
    const error = await rejection(restarting);
    expect(error.code).toBe('PLUGWIRE_CLOSED');
    expect(starter.last.closes).toBe(1);
    await supervisor.stop();
    expect(supervisor.state).toBe('closed');
    expect((await rejection(supervisor.ensureRunning('/r', NEVER))).message).toBe('plugin fake was terminated: call to /r refused');
  });

  it('closes the running plugin on stop(), its exit expected', async () => {
    const { supervisor, starter, logged } = supervise();
    await supervisor.launch();
    supervisor.abort(new Error('closing'));
    await supervisor.stop();
    expect(starter.last.closes).toBe(1);
    expect(supervisor.state).toBe('closed');
    await settle();
    expect(logged).toEqual([]);
  });
});
