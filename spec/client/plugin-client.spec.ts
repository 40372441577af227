// PluginClient from the host's side: every error code a host can meet, the deadline it
// sends, how arguments travel and how results are converted. In-process plugins
// (startWithProvider, or a raw node:http server behind a custom Starter) where no process
// behaviour is under test; fixture processes for start failures and malformed answers.
import * as path from 'node:path';
import {
  callContext,
  connect,
  createProxy,
  PayloadValidationError,
  PluginError,
  RemoteError,
  start,
  startWithProvider,
  type Connection,
  type ErrorCode,
  type StartContext,
  type StartedPlugin,
  type Starter,
  type StartResult,
} from '../../lib';
import { HostGreeting, HostTest, QuotaExceeded, type DeadlineReport, type HostPerson } from '../fixtures/contracts/host-contract';
import { bareHttpStarter, fixture, fixtureStarter, rejectionOf, removeDir, spawnNode, tempDir, waitFor } from '../support/host-helpers';

/** The in-process implementation: counts what reaches it and records the signals it saw. */
class InProcessHost extends HostTest {
  readonly calls: Record<string, number> = {};
  readonly started = new Set<string>();
  readonly aborted = new Map<string, unknown>();

  private count(name: string): void {
    this.calls[name] = (this.calls[name] ?? 0) + 1;
  }

  override async echo(value: string): Promise<string> {
    this.count('echo');
    return `${value} echoed`;
  }

  override async pid(): Promise<number> {
    this.count('pid');
    return process.pid;
  }

  override async slow(ms: number, tag: string): Promise<string> {
    this.count('slow');
    const { signal } = callContext();
    this.started.add(tag);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener(
        'abort',
        () => {
          this.aborted.set(tag, signal.reason);
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
    return `slow ${tag}`;
  }

  override async fail(): Promise<void> {
    this.count('fail');
    throw new QuotaExceeded('quota exceeded');
  }

  override async greet(person: HostPerson): Promise<HostGreeting> {
    this.count('greet');
    const greeting = new HostGreeting();
    greeting.text = `hello ${person.name}`;
    greeting.length = greeting.text.length;
    return greeting;
  }

  override async badGreeting(): Promise<HostGreeting> {
    this.count('badGreeting');
    return { text: 42 } as unknown as HostGreeting;
  }

  override async join(text: string, times: number): Promise<string> {
    this.count('join');
    return text.repeat(times);
  }

  override async deadline(): Promise<DeadlineReport> {
    this.count('deadline');
    return { deadline: callContext().deadline?.toISOString() ?? null, now: new Date().toISOString() };
  }
}

/** A plugin made of a bare node:http server that records the request bodies it gets. */
function recordingStarter(bodies: unknown[]): Starter {
  return bareHttpStarter('recorder', (req, body, res) => {
    // Not the manifest request that connect() makes at start.
    if (!req.url?.startsWith('/.plugwire/')) bodies.push(JSON.parse(body.toString('utf8')));
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('"recorded"\n');
  });
}

/** A provider starter whose later starts fail while `broken` is set, and whose instance can be ended. */
function breakableStarter(impl: object): Starter & { broken: boolean; current: StartedPlugin | undefined } {
  const inner = startWithProvider(impl);
  const starter = {
    name: 'breakable',
    broken: false,
    current: undefined as StartedPlugin | undefined,
    async start(context: StartContext): Promise<StartedPlugin> {
      if (starter.broken) throw new Error('the plugin binary is gone');
      starter.current = await inner.start(context);
      return starter.current;
    },
  };
  return starter;
}

const RFC3339_NANO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

let dir: string;
let impl: InProcessHost;
let provided: Connection<HostTest>;
let garbage: StartResult;
const extra: Array<{ term: () => Promise<void> }> = [];

beforeAll(async () => {
  dir = tempDir();
  impl = new InProcessHost();
  provided = await connect(HostTest, startWithProvider(impl), { socket: path.join(dir, 'provided.sock'), timeout: 5000 });
  const { starter } = fixtureStarter('host/host-garbage-plugin');
  garbage = await start(starter, path.join(dir, 'garbage.sock'), { timeout: 3000 });
});

afterEach(async () => {
  await Promise.all(extra.splice(0).map((c) => c.term()));
});

afterAll(async () => {
  await Promise.all([provided?.term(), garbage?.term()]);
  removeDir(dir);
});

interface Scenario {
  readonly code: ErrorCode;
  readonly what: string;
  readonly run: () => Promise<unknown>;
  readonly check?: (error: PluginError, elapsedMs: number) => void | Promise<void>;
}

const scenarios: Scenario[] = [
  {
    code: 'PLUGWIRE_REMOTE',
    what: 'the plugin method threw: its name, message, code and details are kept',
    run: () => provided.plugin.fail(),
    check: (error) => {
      expect(error).toBeInstanceOf(RemoteError);
      const remote = error as RemoteError;
      expect(remote.remote).toEqual({ name: 'QuotaExceeded', message: 'quota exceeded', code: 'E_QUOTA', details: { limit: 3, used: 4 } });
      expect(remote.message).toBe('quota exceeded');
      expect(remote.statusCode).toBe(500);
      expect(remote.route).toBe('/fail');
    },
  },
  {
    code: 'PLUGWIRE_VALIDATION',
    what: 'an invalid DTO is refused on the host: no request reaches the plugin',
    run: () => provided.plugin.greet({ name: '', age: -1 }),
    check: (error) => {
      const validation = error as PayloadValidationError;
      expect(validation.side).toBe('host');
      expect(validation.violations.map((v) => v.path).sort()).toEqual(['age', 'name']);
      expect(impl.calls['greet'] ?? 0).toBe(0);
    },
  },
  {
    code: 'PLUGWIRE_VALIDATION',
    what: 'an invalid DTO sent past the host check is refused by the plugin, with the fields',
    run: () => provided.client.call('/greet', { name: 'Ada', age: 200 }),
    check: (error) => {
      const validation = error as PayloadValidationError;
      expect(validation.side).toBe('plugin');
      expect(validation.violations).toEqual([expect.objectContaining({ path: 'age', value: 200, constraints: expect.objectContaining({ max: expect.any(String) }) })]);
      expect(impl.calls['greet'] ?? 0).toBe(0);
    },
  },
  {
    code: 'PLUGWIRE_VALIDATION',
    what: 'an answer that is not a valid instance of the returns class is refused on the host',
    run: () => provided.plugin.badGreeting(),
    check: (error) => {
      const validation = error as PayloadValidationError;
      expect(validation.side).toBe('result');
      expect(validation.violations.map((v) => v.path).sort()).toEqual(['length', 'text']);
    },
  },
  {
    code: 'PLUGWIRE_METHOD_NOT_FOUND',
    what: 'the plugin has no such route',
    run: () => provided.client.call('/no-such-route', 1),
    check: (error) => expect(error.route).toBe('/no-such-route'),
  },
  {
    code: 'PLUGWIRE_TIMEOUT',
    what: 'a per-call timeout of 200 ms passes: it settles in time and the plugin-side signal fires',
    run: () => provided.client.call('/slow', [5000, 'timeout'], { timeout: 200 }),
    check: async (_error, elapsed) => {
      expect(elapsed).toBeGreaterThanOrEqual(190);
      expect(elapsed).toBeLessThan(700);
      await waitFor(() => impl.aborted.has('timeout'), 2000, 'the plugin-side signal');
    },
  },
  {
    code: 'PLUGWIRE_ABORTED',
    what: "the caller's AbortSignal fires during the call: the plugin-side signal fires too",
    run: async () => {
      const controller = new AbortController();
      const call = provided.client.call('/slow', [5000, 'abort'], { signal: controller.signal });
      await waitFor(() => impl.started.has('abort'), 2000, 'the call to start');
      controller.abort(new Error('user cancelled'));
      return call;
    },
    check: async (_error, elapsed) => {
      expect(elapsed).toBeLessThan(2500);
      await waitFor(() => impl.aborted.has('abort'), 2000, 'the plugin-side signal');
    },
  },
  {
    code: 'PLUGWIRE_ABORTED',
    what: 'an AbortSignal that has already fired: nothing is sent',
    run: () => provided.client.call('/slow', [5000, 'pre-aborted'], { signal: AbortSignal.abort() }),
    check: (_error, elapsed) => {
      expect(elapsed).toBeLessThan(100);
      expect(impl.started.has('pre-aborted')).toBe(false);
    },
  },
  {
    code: 'PLUGWIRE_START',
    what: 'the plugin exits before it is ready',
    run: () => start(fixtureStarter('host/host-exit-plugin').starter, path.join(dir, 'exits.sock')),
  },
  {
    code: 'PLUGWIRE_UNAVAILABLE',
    what: 'the plugin is gone and cannot be restarted',
    run: async () => {
      const starter = breakableStarter(new InProcessHost());
      const connection = await connect(HostTest, starter, { socket: path.join(dir, 'breakable.sock'), restart: { initialDelay: 10, maxDelay: 50 } });
      extra.push(connection);
      await expect(connection.plugin.echo('ok')).resolves.toBe('ok echoed');
      starter.broken = true;
      await starter.current?.term();
      await waitFor(() => connection.client.state === 'exited', 2000, "state 'exited'");
      return connection.plugin.echo('gone');
    },
  },
  {
    code: 'PLUGWIRE_CLOSED',
    what: 'a call after term()',
    run: async () => {
      const connection = await connect(HostTest, startWithProvider(new InProcessHost()), { socket: path.join(dir, 'closed.sock') });
      await connection.term();
      return connection.plugin.echo('late');
    },
  },
  {
    code: 'PLUGWIRE_PROTOCOL',
    what: 'a 200 answer whose body is not JSON',
    run: () => garbage.client.call('/not-json', null),
    check: (error) => expect(error.message).toMatch(/not JSON/),
  },
  {
    code: 'PLUGWIRE_PROTOCOL',
    what: 'a 500 answer whose body is not a JSON string',
    run: () => garbage.client.call('/error-not-string', null),
    check: (error) => expect(error.message).toMatch(/not a JSON string/),
  },
  {
    code: 'PLUGWIRE_PROTOCOL',
    what: 'a 200 answer whose body is cut short (the plugin stays up)',
    run: () => garbage.client.call('/truncated', null),
    check: () => expect(garbage.client.stats.restarts).toBe(0),
  },
  {
    code: 'PLUGWIRE_PROTOCOL',
    what: 'the connection closed in the middle of the answer (the plugin stays up)',
    run: () => garbage.client.call('/hangup', null),
    check: () => expect(garbage.client.stats.restarts).toBe(0),
  },
];

describe('PluginClient', () => {
  describe('errors a host can meet', () => {
    it.each(scenarios)('$code: $what', async ({ code, run, check }) => {
      const before = Date.now();
      const error = await rejectionOf(run());
      const elapsed = Date.now() - before;
      expect(PluginError.is(error)).toBe(true);
      expect((error as PluginError).code).toBe(code);
      expect(PluginError.is(error, code)).toBe(true);
      await check?.(error as PluginError, elapsed);
    });

    it('keeps working after the malformed answers', async () => {
      await expect(garbage.client.call('/ok', null)).resolves.toBe('fine');
      expect(garbage.client.state).toBe('running');
    });
  });

  describe('the deadline', () => {
    it('sends a deadline about `timeout` ms ahead, which the plugin sees through callContext()', async () => {
      const proxy = createProxy(provided.client, HostTest, { timeout: 1500 });
      const before = Date.now();
      const report = await proxy.deadline();
      const after = Date.now();
      expect(report.deadline).not.toBeNull();
      const deadline = Date.parse(report.deadline ?? '');
      expect(deadline).toBeGreaterThanOrEqual(before + 1500 - 1);
      expect(deadline).toBeLessThanOrEqual(after + 1500);
      expect(deadline).toBeGreaterThan(Date.parse(report.now));
    });

    it('sends it as an RFC 3339 UTC time on the wire, and null when the call has no timeout', async () => {
      const bodies: unknown[] = [];
      const connection = await connect(HostTest, recordingStarter(bodies), { socket: path.join(dir, 'deadline.sock') });
      extra.push(connection);
      const before = Date.now();
      await connection.client.call('/echo', 'x', { timeout: 2000 });
      await connection.client.call('/echo', 'y', { timeout: 0 });

      const [timed, open] = bodies as Array<{ Context: { Deadline: string | null }; Payload: unknown }>;
      expect(Object.keys(timed ?? {})).toEqual(['Context', 'Payload']);
      expect(timed?.Context.Deadline).toMatch(RFC3339_NANO_UTC);
      const deadline = Date.parse(timed?.Context.Deadline ?? '');
      expect(deadline - before).toBeGreaterThanOrEqual(1990);
      expect(deadline - before).toBeLessThanOrEqual(2500);
      expect(open?.Context.Deadline).toBeNull();
    });
  });

  describe('arguments and results', () => {
    it('sends several parameters as a JSON array, one as itself, and none as null', async () => {
      const bodies: unknown[] = [];
      const connection = await connect(HostTest, recordingStarter(bodies), { socket: path.join(dir, 'payload.sock') });
      extra.push(connection);
      await connection.plugin.join('ab', 3);
      await connection.plugin.echo('one');
      await connection.plugin.pid();
      expect((bodies as Array<{ Payload: unknown }>).map((b) => b.Payload)).toEqual([['ab', 3], 'one', null]);
    });

    it('passes several parameters through to the plugin method', async () => {
      await expect(provided.plugin.join('ab', 3)).resolves.toBe('ababab');
    });

    it('converts a result into an instance of the returns class', async () => {
      const greeting = await provided.plugin.greet({ name: 'Ada', age: 36 });
      expect(greeting).toBeInstanceOf(HostGreeting);
      expect(greeting.shout()).toBe('HELLO ADA');
      expect(greeting.length).toBe('hello Ada'.length);
    });
  });

  describe('many concurrent calls', () => {
    it('serves 50 concurrent calls without a MaxListenersExceededWarning', async () => {
      // In a host process of its own: a jest sandbox does not see the real process's warnings.
      const host = spawnNode([fixture('host/host-concurrent-host')]);
      await host.line(/^answers \d+$/);
      expect(await host.exited).toEqual({ code: 0, signal: null });
      expect(host.lines.filter((l) => l.startsWith('answers'))).toEqual(['answers 50']);
      expect(host.lines.filter((l) => l.startsWith('warning'))).toEqual([]);
    });
  });
});
