// Fault: host services under faults, against a real plugin process (two-way-plugin.ts)
// calling the services of its host through hostProxy(): implementations that throw (a
// coded error, a plain one, a stream that fails) or hang, re-entrant calls in numbers, the
// plugin killed with SIGKILL while it calls its host, and close() while many plugin
// methods call host services. Every call settles with its right answer or a coded error,
// nothing hangs, and nothing is left behind (processes, sockets, the socket directory).
import { PluginError, RemoteError, withOptions } from '../../../lib';
import { described, reentered } from '../../fixtures/faults/two-way-contract';
import { twoWayConnections } from '../../fixtures/faults/two-way-host';
import { codeOf, shown, timed, type Outcome } from '../../support/fault-helpers';
import { rejectionOf, waitFor, waitForPidGone, within } from '../../support/host-helpers';

/** What a call may take beyond its bound: timers, a loaded machine. */
const MARGIN = 1000;

const connections = twoWayConnections({ timeout: 5000, terminationGrace: 2000, restart: { initialDelay: 10, maxDelay: 100 } });
const { connected } = connections;

/** Closes every connection of the test, and checks that each left nothing behind. */
afterEach(async () => {
  for (const left of await connections.closeAll()) expect(left).toEqual({ processes: [], dir: false });
});

// A plain Error of a service is logged by the host as unexpected (to connect()'s logger,
// or the console): expected here, so kept out of the test's output.
let quiet: jest.SpyInstance;
beforeEach(() => {
  quiet = jest.spyOn(console, 'error').mockImplementation(() => undefined);
});
afterEach(() => quiet.mockRestore());

describe('a host service that throws', () => {
  it('a coded error reaches the plugin as PLUGWIRE_REMOTE with its code, a plain one without a code', async () => {
    const { plugin } = await connected();
    await expect(plugin.askHost('coded', 'a', 0)).resolves.toBe('error:PLUGWIRE_REMOTE:E_HOST');
    await expect(plugin.askHost('plain', 'a', 0)).resolves.toBe('error:PLUGWIRE_REMOTE:-');
    await expect(plugin.askHost('echo', 'a', 0)).resolves.toBe('ok:host:a');
  });

  it('passed on by the plugin method, the host gets the service\'s own error: its name, message and code', async () => {
    const { plugin } = await connected();
    const coded = await rejectionOf(plugin.askHostRaw('coded', 'r'));
    expect(coded).toBeInstanceOf(RemoteError);
    expect(coded).toMatchObject({ code: 'PLUGWIRE_REMOTE', remote: { name: 'HostFailed', message: 'coded r', code: 'E_HOST' } });
    const plain = await rejectionOf(plugin.askHostRaw('plain', 'r'));
    expect(plain).toMatchObject({ code: 'PLUGWIRE_REMOTE', remote: { name: 'Error', message: 'plain r' } });
    expect((plain as RemoteError).remote.code).toBeUndefined();
  });

  it('a host stream that fails after its items: the plugin reads the items, then the coded error; its iterator ends', async () => {
    const { plugin, services } = await connected();
    await expect(plugin.hostStream('fails', 10, 3, 0)).resolves.toBe('1,2,3|E_TICKS');
    await expect(plugin.hostStream('whole', 4, 0, 0)).resolves.toBe('1,2,3,4');
    expect([...services.ticksFinished].sort()).toEqual(['fails', 'whole']);
  });

  it('a hundred concurrent calls that fail or not each get their own outcome, and the plugin goes on calling its host', async () => {
    const { plugin, services } = await connected();
    const modes = ['echo', 'coded', 'plain'] as const;
    const expected = (mode: string, tag: string): string =>
      mode === 'echo' ? `ok:host:${tag}` : mode === 'coded' ? 'error:PLUGWIRE_REMOTE:E_HOST' : 'error:PLUGWIRE_REMOTE:-';
    const calls = Array.from({ length: 100 }, (_, i) => ({ mode: modes[i % 3]!, tag: `m${i}` }));
    const answers = await within(Promise.all(calls.map(({ mode, tag }) => plugin.askHost(mode, tag, 0))), 20_000, 'a hundred calls');
    expect(answers).toEqual(calls.map(({ mode, tag }) => expected(mode, tag)));
    expect(services.callers).toHaveLength(100);
    await expect(plugin.askHost('echo', 'after', 0)).resolves.toBe('ok:host:after');
  });
});

describe('a host service that hangs', () => {
  it("the plugin's call with a timeout of its own gets PLUGWIRE_TIMEOUT in time, and the hanging calls do not hold the plugin's connections to its host", async () => {
    const { plugin, services } = await connected();
    // More hanging calls at once than the plugin's client keeps connections (32).
    const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => timed(() => plugin.askHost('hang', `h${i}`, 300))));
    for (const outcome of outcomes) {
      expect(shown(outcome)).toBe('error:PLUGWIRE_TIMEOUT:-');
      expect(outcome.ms).toBeLessThan(300 + MARGIN);
    }
    // The plugin's call went away: the service's signal says so.
    await waitFor(() => services.hangsAborted === 40, 3000, 'the hanging services to see their signals abort');
    expect(services.hangsStarted).toBe(40);
    await expect(within(plugin.askHost('echo', 'after', 0), 3000, 'a call after the hanging ones')).resolves.toBe('ok:host:after');
  });

  it("without a timeout of its own, the host call is bounded by the deadline of the call being served: the host's call settles in time", async () => {
    const { plugin, services } = await connected();
    const bounded = withOptions(plugin, { timeout: 600 });
    const outcomes: Array<Outcome<string>> = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => timed(() => bounded.askHost('hang', `d${i}`, 0))),
      ...Array.from({ length: 10 }, (_, i) => timed(() => bounded.askHostRaw('hang', `r${i}`))),
    ]);
    for (const outcome of outcomes) {
      // Both sides watch the same deadline: the plugin's answer of its host call's
      // timeout, or the host's own timeout, whichever comes first.
      expect(['error:PLUGWIRE_TIMEOUT:-', 'PLUGWIRE_TIMEOUT']).toContain('value' in outcome ? outcome.value : codeOf(outcome));
      expect(outcome.ms).toBeGreaterThanOrEqual(550);
      expect(outcome.ms).toBeLessThan(600 + MARGIN);
    }
    await waitFor(() => services.hangsAborted === 20, 3000, 'the hanging services to see their signals abort');
    await expect(plugin.askHost('echo', 'after', 0)).resolves.toBe('ok:host:after');
  });
});

describe('re-entrant calls', () => {
  // With maxInFlight 2, the two calls sent hold both places while they wait on the host
  // service: its calls back must not queue behind the 48 others.
  it.each([
    { connections: 32, maxInFlight: 1000 },
    { connections: 2, maxInFlight: 1000 },
    { connections: 2, maxInFlight: 2 },
  ])(
    'fifty at once, up to four deep (plugin → host → plugin ...), each get their own answer (the host keeps $connections connections, maxInFlight $maxInFlight)',
    async ({ connections, maxInFlight }) => {
      const { plugin } = await connected({ connections, maxInFlight });
      const calls = Array.from({ length: 50 }, (_, i) => ({ tag: `r${i}`, depth: 1 + (i % 4) }));
      const answers = await within(Promise.all(calls.map(({ tag, depth }) => timed(() => plugin.reenter(tag, depth)))), 20_000, 'fifty re-entrant calls');
      expect(answers.map(shown)).toEqual(calls.map(({ tag, depth }) => reentered(tag, depth)));
    },
  );
});

describe('a plugin killed with SIGKILL while it calls its host', () => {
  it('every call settles with its answer (sent again after the restart) or a coded error, the hanging services see their signals abort, and the new process calls its host', async () => {
    const { plugin, client, services } = await connected();
    const pid = client.pid!;
    const calls = Array.from({ length: 30 }, (_, i) => {
      const mode = ['slow', 'hang', 'echo'][i % 3]!;
      const tag = `k${i}`;
      return { mode, tag, outcome: timed(() => plugin.askHost(mode, tag, mode === 'hang' ? 1500 : 0)) };
    });
    await waitFor(() => services.hangsStarted >= 10, 3000, 'the hanging calls to reach the host');
    process.kill(pid, 'SIGKILL');

    for (const { mode, tag, outcome } of calls) {
      const settled = await outcome;
      const right = mode === 'slow' ? `ok:slow:${tag}` : mode === 'echo' ? `ok:host:${tag}` : 'error:PLUGWIRE_TIMEOUT:-';
      // /ask-host is idempotent: after the restart it is sent again and answers anew.
      expect([right, 'PLUGWIRE_UNAVAILABLE']).toContain('value' in settled ? settled.value : codeOf(settled));
      expect(settled.ms).toBeLessThan(5000 + MARGIN);
    }
    await waitForPidGone(pid);
    await waitFor(() => services.hangsAborted === services.hangsStarted, 3000, 'every hanging service to see its signal abort');

    await expect(plugin.askHost('echo', 'after', 0)).resolves.toBe('ok:host:after');
    expect(client.pid).not.toBe(pid);
    expect(services.callers.at(-1)).toEqual({ route: '/echo', pid: client.pid });
  });
});

describe('close() while plugin methods call host services', () => {
  /** A caller that calls in a loop until a call fails, checking every answer. */
  async function loop(run: (n: number) => Promise<string>, right: (n: number) => string | RegExp): Promise<{ calls: number; wrong: string[]; ended: string }> {
    const wrong: string[] = [];
    for (let n = 1; ; n++) {
      let answer: string;
      try {
        answer = await run(n);
      } catch (error) {
        return { calls: n - 1, wrong, ended: PluginError.is(error) ? error.code : `not a PluginError: ${String(error)}` };
      }
      const expected = right(n);
      if (typeof expected === 'string' ? answer !== expected : !expected.test(answer)) wrong.push(`call ${n}: ${answer}, expected ${String(expected)}`);
    }
  }

  it.each([
    { when: 'as the first calls reach the host', after: 1 },
    { when: 'under load', after: 200 },
  ])('$when: every call and loop settles, close() resolves, nothing is left behind', async ({ after }) => {
    const connection = await connected({ timeout: 10_000 });
    const { plugin, services, close } = connection;
    const hostCalls = (): number => services.callers.length + services.ticksStarted.size;
    const loops = [
      ...Array.from({ length: 4 }, (_, i) => loop((n) => plugin.askHost('echo', `e${i}-${n}`, 0), (n) => `ok:host:e${i}-${n}`)),
      ...Array.from({ length: 4 }, (_, i) => loop((n) => plugin.askHost('slow', `s${i}-${n}`, 0), (n) => `ok:slow:s${i}-${n}`)),
      ...Array.from({ length: 2 }, (_, i) => loop((n) => plugin.askHost('hang', `h${i}-${n}`, 0), () => /^$/)),
      ...Array.from({ length: 2 }, (_, i) => loop((n) => plugin.askHost('coded', `c${i}-${n}`, 0), () => described({ code: 'PLUGWIRE_REMOTE', remote: { code: 'E_HOST' } }))),
      ...Array.from({ length: 4 }, (_, i) => loop((n) => plugin.reenter(`r${i}-${n}`, 1 + (n % 3)), (n) => reentered(`r${i}-${n}`, 1 + (n % 3)))),
      // Host streams that never end until the plugin's call ends.
      ...Array.from({ length: 2 }, (_, i) => loop((n) => plugin.hostStream(`t${i}-${n}`, 0, 0, 0), () => /^$/)),
      ...Array.from({ length: 2 }, (_, i) => loop((n) => plugin.hostStream(`u${i}-${n}`, 0, 0, 20), () => Array.from({ length: 20 }, (_, k) => k + 1).join(','))),
    ];
    await waitFor(() => hostCalls() >= after && services.hangsStarted >= 2, 10_000, `${after} calls to reach the host`);

    await within(close(), 5000, 'close()');
    const ended = await within(Promise.all(loops), 5000, 'every caller to see the end');
    for (const result of ended) {
      expect(result.wrong).toEqual([]);
      expect(['PLUGWIRE_CLOSED', 'PLUGWIRE_UNAVAILABLE']).toContain(result.ended);
    }
    // Every service call under way when the plugin went ended: none is left running.
    await waitFor(() => services.hangsAborted === services.hangsStarted, 3000, 'every hanging service to see its signal abort');
    await waitFor(() => services.slowSettled === services.slowStarted, 3000, 'every slow service call to settle');
    await waitFor(() => services.ticksFinished.size === services.ticksStarted.size, 3000, 'every host stream iterator to end');
    expect(connection.leftovers()).toEqual({ processes: [], dir: false });
  });
});
