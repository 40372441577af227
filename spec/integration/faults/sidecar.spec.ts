// Fault: the plugin in a container of its own beside its host (a sidecar), which the host
// did not start and cannot restart: a container runtime (spec/fixtures/sidecar/
// container-runtime.ts) restarts it whenever it exits, and the host is attached to its
// socket with attachToSocket({ wait: true, tokenFile }). Under steady calls the plugin is
// killed again and again: every call settles with its own answer or a coded error, a
// call that must not run twice never does, and the host never starts a process. Also the
// order of things: a host that comes up before its sidecar, a sidecar that never comes,
// and a close() while the host waits for it.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { attachToSocket, connect, PluginError, StartError, type Connection, type PluginConfigInput } from '../../../lib';
import { SidecarTest } from '../../fixtures/sidecar/sidecar-contract';
import { codeOf, shown, timed, type Outcome } from '../../support/fault-helpers';
import { fixture, pidAlive, processesMarked, removeDir, spawnNode, tempDir, waitFor, waitForPidGone, within, type Spawned } from '../../support/host-helpers';

/** On every plugin command line, so that afterAll finds any plugin left behind. */
const MARKER = `sidecar-spec-${process.pid}`;
/** The host's configuration: short bounds, a quick back-off. */
const CONFIG = {
  timeout: 5000,
  startTimeout: 5000,
  restart: { initialDelay: 10, maxDelay: 100, cooldown: 500 },
} as const satisfies PluginConfigInput;

let dir: string;
let count = 0;
const runtimes: Spawned[] = [];
const open: Array<Connection<SidecarTest>> = [];

beforeEach(() => {
  dir = tempDir();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  for (const runtime of runtimes.splice(0)) {
    runtime.child.kill('SIGTERM');
    await within(runtime.exited, 5000, 'the container runtime to stop its plugin and exit');
  }
  removeDir(dir);
});

afterAll(() => {
  const left = processesMarked(MARKER);
  for (const pid of left) process.kill(pid, 'SIGKILL');
  expect(left).toEqual([]);
});

/** A sidecar's setting: its socket, the token file both sides read, the ledger of /charge. */
interface Sidecar {
  readonly socket: string;
  readonly tokenFile: string;
  readonly ledger: string;
}

function sidecar(): Sidecar {
  const n = ++count;
  const tokenFile = path.join(dir, `token-${n}`);
  // As `kubectl create secret --from-file` leaves it: with a newline.
  writeFileSync(tokenFile, `${randomBytes(32).toString('base64url')}\n`);
  return { socket: path.join(dir, `plugin-${n}.sock`), tokenFile, ledger: path.join(dir, `ledger-${n}`) };
}

/** Starts the container runtime of a sidecar (its first plugin after `startDelay` ms). */
function runtimeOf(side: Sidecar, startDelay = 0): Spawned {
  const runtime = spawnNode([fixture('sidecar/container-runtime'), MARKER], {
    SIDECAR_PLUGIN: fixture('sidecar/sidecar-plugin'),
    SIDECAR_SOCKET: side.socket,
    SIDECAR_TOKEN_FILE: side.tokenFile,
    SIDECAR_LEDGER: side.ledger,
    SIDECAR_RESTART_DELAY: '100',
    SIDECAR_START_DELAY: String(startDelay),
  });
  runtimes.push(runtime);
  return runtime;
}

/** The pids of the plugins the runtime reported ready, in order. */
function readyPids(runtime: Spawned): number[] {
  return runtime.lines.filter((line) => line.startsWith('ready ')).map((line) => Number(line.slice('ready '.length)));
}

async function attach(side: Sidecar, config: PluginConfigInput = {}): Promise<Connection<SidecarTest>> {
  const connection = await connect(SidecarTest, attachToSocket({ name: 'sidecar', wait: true, tokenFile: side.tokenFile }), { ...CONFIG, ...config, socket: side.socket });
  open.push(connection);
  return connection;
}

/** The child processes of this process (of each of its threads), from procfs. */
function children(): number[] {
  const found: number[] = [];
  for (const task of readdirSync(`/proc/${process.pid}/task`)) {
    let text = '';
    try {
      text = readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    found.push(...text.split(' ').filter((pid) => pid.trim() !== '').map(Number));
  }
  return found;
}

/** The parent of a process, from /proc/<pid>/stat ("pid (comm) state ppid ..."). */
function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** A caller that calls in a loop until told to stop, keeping each call's outcome. */
interface Caller {
  readonly idempotent: boolean;
  readonly outcomes: Array<{ id: string; outcome: Outcome<string> }>;
  readonly done: Promise<void>;
}

describe('a sidecar plugin that its container runtime restarts, the host attached to its socket', () => {
  it('under steady calls, killed with SIGKILL 8 times: every call settles with its own answer or a coded error, none runs twice, the host starts nothing', async () => {
    const side = sidecar();
    const runtime = runtimeOf(side);
    await within(runtime.line(/^ready /), 10_000, 'the first plugin to be ready');
    const before = children();
    const { plugin, client } = await attach(side);

    let stopped = false;
    let answered = 0;
    const caller = (idempotent: boolean, c: number): Caller => {
      const outcomes: Caller['outcomes'] = [];
      const done = (async () => {
        for (let n = 0; !stopped; n++) {
          const id = `${idempotent ? 'e' : 'c'}${c}-${n}`;
          const ms = n % 4 === 0 ? 30 : n % 7;
          const outcome = await timed(() => (idempotent ? plugin.echo(id, ms) : plugin.charge(id, ms)));
          outcomes.push({ id, outcome });
          if ('value' in outcome) answered++;
        }
      })();
      return { idempotent, outcomes, done };
    };
    const callers = [...[0, 1, 2, 3].map((c) => caller(true, c)), ...[0, 1, 2].map((c) => caller(false, c))];

    const killed: number[] = [];
    for (let k = 1; k <= 8; k++) {
      await waitFor(() => readyPids(runtime).length >= k, 10_000, `plugin ${k} to be ready`);
      const pid = readyPids(runtime)[k - 1]!;
      // Calls answered by this process: the host found it again.
      const base = answered;
      await waitFor(() => answered >= base + 20, 10_000, `calls answered by plugin ${k}`);
      // No process of the host's: only the runtime it was given, however often the plugin restarts.
      expect(children().filter((child) => !before.includes(child))).toEqual([]);
      expect(parentOf(pid)).toBe(runtime.child.pid);
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    }
    await waitFor(() => readyPids(runtime).length >= 9, 10_000, 'the ninth plugin to be ready');
    const base = answered;
    await waitFor(() => answered >= base + 20, 10_000, 'calls answered by the ninth plugin');
    stopped = true;
    await within(Promise.all(callers.map((c) => c.done)), CONFIG.timeout + 2000, 'every caller to see its last call settle');

    const wrong: unknown[] = [];
    const codes: Record<string, number> = {};
    for (const { idempotent, outcomes } of callers) {
      for (const { id, outcome } of outcomes) {
        const code = codeOf(outcome);
        const key = `${idempotent ? 'idempotent' : 'not idempotent'} ${code}`;
        codes[key] = (codes[key] ?? 0) + 1;
        if ('value' in outcome) {
          if (outcome.value !== `${idempotent ? 'echo' : 'charged'}:${id}`) wrong.push({ id, answer: outcome.value });
        } else if (!['PLUGWIRE_UNAVAILABLE', 'PLUGWIRE_TIMEOUT'].includes(code)) {
          wrong.push({ id, error: shown(outcome) });
        }
        expect(outcome.ms).toBeLessThanOrEqual(CONFIG.timeout + 1000);
      }
    }
    expect(wrong).toEqual([]);
    // An idempotent call waits for the restarted plugin and is sent again: each got its answer.
    expect(Object.keys(codes).filter((key) => key.startsWith('idempotent ') && key !== 'idempotent ok')).toEqual([]);
    // Only a call in flight at a kill fails: one per caller of /charge at each kill at most.
    expect(codes['not idempotent PLUGWIRE_UNAVAILABLE'] ?? 0).toBeLessThanOrEqual(3 * killed.length);

    // Each run of /charge is in the ledger: none ran twice, and each answered one ran once.
    const runs = readFileSync(side.ledger, 'utf8').split('\n').filter((line) => line !== '');
    const twice = runs.filter((id, i) => runs.indexOf(id) !== i);
    expect(twice).toEqual([]);
    for (const { outcomes } of callers.filter((c) => !c.idempotent)) {
      for (const { id, outcome } of outcomes) if ('value' in outcome) expect(runs).toContain(id);
    }

    expect(children().filter((child) => !before.includes(child))).toEqual([]);
    for (const pid of killed) expect(pidAlive(pid)).toBe(false);
    await expect(plugin.pid()).resolves.toBe(readyPids(runtime)[8]);
    expect(client.state).toBe('running');
    if (process.env['SIDECAR_REPORT']) console.log(JSON.stringify({ codes, restarts: client.stats.restarts, starts: client.stats.starts }));

    // close() leaves the sidecar running, its socket in place.
    const [connection] = open.splice(0);
    await connection!.close();
    expect(pidAlive(readyPids(runtime)[8]!)).toBe(true);
    expect(readdirSync(dir)).toContain(path.basename(side.socket));
  }, 120_000);

  it('a host that comes up before its sidecar waits for the socket and starts (the plugin listens 1 s later)', async () => {
    const side = sidecar();
    const began = Date.now();
    const connecting = attach(side);
    const runtime = runtimeOf(side, 1000);
    const { plugin } = await within(connecting, CONFIG.startTimeout + 1000, 'connect() to resolve');
    expect(Date.now() - began).toBeGreaterThanOrEqual(1000);
    await expect(plugin.echo('first', 0)).resolves.toBe('echo:first');
    await expect(plugin.pid()).resolves.toBe(readyPids(runtime)[0]);
  });

  it('a sidecar that never comes fails the start within startTimeout, saying what to check', async () => {
    const side = sidecar();
    const began = Date.now();
    const error = await attach(side, { startTimeout: 1000 }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    const took = Date.now() - began;
    expect(error).toBeInstanceOf(StartError);
    expect(error).toMatchObject({ code: 'PLUGWIRE_START', reason: 'socket' });
    expect((error as Error).message).toContain(`no plugin sidecar is listening on ${side.socket} after 1000 ms (startTimeout)`);
    expect((error as Error).message).toMatch(/container\) running.*through a volume.*raise startTimeout/s);
    expect(took).toBeGreaterThanOrEqual(990);
    expect(took).toBeLessThan(1000 + 1000);
  });

  it('a sidecar gone for good: calls fail with PLUGWIRE_UNAVAILABLE after each start waited startTimeout, then at once once given up on; back after the cooldown', async () => {
    const side = sidecar();
    const first = runtimeOf(side);
    await within(first.line(/^ready /), 10_000, 'the plugin to be ready');
    const { plugin } = await attach(side, { startTimeout: 300, restart: { maxRestarts: 2, initialDelay: 10, maxDelay: 50, cooldown: 1000 } });
    await expect(plugin.echo('before', 0)).resolves.toBe('echo:before');
    first.child.kill('SIGTERM');
    await within(first.exited, 5000, 'the runtime to exit');
    runtimes.splice(runtimes.indexOf(first), 1);
    await waitForPidGone(readyPids(first)[0]!);

    // Two restarts, each waiting startTimeout for the socket, then given up on.
    for (const tag of ['gone-1', 'gone-2']) {
      const outcome = await timed(() => plugin.echo(tag, 0));
      expect(codeOf(outcome)).toBe('PLUGWIRE_UNAVAILABLE');
      expect(shown(outcome)).toMatch(/could not be restarted: no plugin sidecar is listening on .* after 300 ms/);
      expect(outcome.ms).toBeGreaterThanOrEqual(290);
      expect(outcome.ms).toBeLessThan(300 + 700);
    }
    const fast = await timed(() => plugin.echo('given-up', 0));
    expect(shown(fast)).toMatch(/^PLUGWIRE_UNAVAILABLE: plugin sidecar was given up on/);
    expect(fast.ms).toBeLessThan(100);

    // The sidecar comes back: after the cooldown the next call waits for it again, and is answered.
    const second = runtimeOf(side);
    await within(second.line(/^ready /), 10_000, 'the plugin to be ready again');
    await waitFor(async () => codeOf(await timed(() => plugin.echo('back', 0))) === 'ok', 5000, 'a call to be answered after the cooldown');
    await expect(plugin.pid()).resolves.toBe(readyPids(second)[0]);
  });

  it('close() while the host waits for a sidecar that went away ends the wait at once: the waiting call fails with PLUGWIRE_CLOSED', async () => {
    const side = sidecar();
    const runtime = runtimeOf(side);
    await within(runtime.line(/^ready /), 10_000, 'the plugin to be ready');
    const { plugin, client, close } = await attach(side, { startTimeout: 20_000, timeout: 20_000 });
    await expect(plugin.echo('before', 0)).resolves.toBe('echo:before');
    // The runtime stops for good (the pod is being deleted, say): nothing will listen again.
    runtime.child.kill('SIGTERM');
    await within(runtime.exited, 5000, 'the runtime to exit');
    runtimes.splice(runtimes.indexOf(runtime), 1);
    const pid = readyPids(runtime)[0]!;
    await waitForPidGone(pid);

    const waiting = timed(() => plugin.echo('meanwhile', 0));
    await waitFor(() => client.state === 'starting', 5000, 'the host to wait for the socket');
    const closing = Date.now();
    await within(close(), 1000, 'close()');
    open.splice(0);
    const outcome = await within(waiting, 1000, 'the waiting call to settle');
    expect(Date.now() - closing).toBeLessThan(500);
    expect(codeOf(outcome)).toBe('PLUGWIRE_CLOSED');
    expect(PluginError.is((outcome as { error: unknown }).error)).toBe(true);
  });
});
