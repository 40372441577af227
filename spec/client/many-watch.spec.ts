// Many plugins on one host: their liveness probes are taken on one turn of the host's watch
// clock (one wake, not one per plugin), each monitor keeps one connection between probes, a
// plugin that answered within the interval is not probed, and nothing of it keeps the host
// alive. Real sockets: a node:http server per "plugin" that answers the health route.
import { createServer, type Server } from 'node:http';
import * as path from 'node:path';
import { LivenessMonitor, WATCH_GRID, watchClock } from '../../lib/client/liveness';
import { HEALTH_ROUTE } from '../../lib/protocol/constants';
import { removeDir, tempDir, waitFor } from '../support/host-helpers';

let dir: string;
let count = 0;
const servers: Server[] = [];
const monitors: LivenessMonitor[] = [];

beforeAll(() => {
  dir = tempDir();
});

afterEach(async () => {
  for (const m of monitors.splice(0)) m.stop();
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

afterAll(() => removeDir(dir));

/** A stand-in plugin: answers the health route 200 and notes when each probe came, and its connections. */
async function plugin(keepAliveTimeout = 0): Promise<{ socket: string; probes: number[]; connections: () => number; open: () => number }> {
  const socket = path.join(dir, `w${++count}.sock`);
  const probes: number[] = [];
  let connections = 0;
  let open = 0;
  const server = createServer((req, res) => {
    if (req.url === HEALTH_ROUTE) probes.push(performance.now());
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"ok"}');
  });
  server.keepAliveTimeout = keepAliveTimeout;
  server.on('connection', (s) => {
    connections++;
    open++;
    s.on('close', () => open--);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return { socket, probes, connections: () => connections, open: () => open };
}

function monitor(socket: string, interval: number, wedged: (why: string) => void = () => undefined): LivenessMonitor {
  const m = new LivenessMonitor({ interval, timeout: 500, failures: 1 }, { name: 'w', socket, headers: () => ({}), wedged });
  monitors.push(m);
  return m;
}

describe('the watch clock', () => {
  it('runs turns due on the same grid point on one wake, and never early', async () => {
    const ran: Array<{ name: string; at: number; now: number; sameWake: boolean }> = [];
    let waking = false;
    const note = (name: string) => (at: number) => {
      ran.push({ name, at, now: performance.now(), sameWake: waking });
      waking = true;
      queueMicrotask(() => (waking = false));
    };
    const a = watchClock.book(150, note('a'));
    // Booked later, for a little earlier: rounded up to the same point of the grid.
    const b = watchClock.book(a.at - performance.now() - 1, note('b'));
    expect(a.at % WATCH_GRID).toBe(0);
    expect(b.at).toBe(a.at);
    await waitFor(() => ran.length === 2, 2000, 'both turns');
    expect(ran.map((r) => r.name)).toEqual(['a', 'b']);
    expect(ran[1]?.sameWake).toBe(true);
    for (const r of ran) expect(r.now).toBeGreaterThanOrEqual(r.at - 2);
  });

  it('runs a turn early only on the wake of one that is due', async () => {
    const ran: Array<{ name: string; at: number; now: number }> = [];
    const note = (name: string) => (at: number) => ran.push({ name, at, now: performance.now() });
    // Alone, a turn that may run 400 ms early still waits until it is due.
    const alone = watchClock.book(300, note('alone'), WATCH_GRID, 400);
    await waitFor(() => ran.length === 1, 2000, 'the turn');
    expect(ran[0]?.now).toBeGreaterThanOrEqual(alone.at - 2);
    // With one due 200 ms before it, it goes along.
    const due = watchClock.book(100, note('due'), WATCH_GRID);
    const along = watchClock.book(300, note('along'), WATCH_GRID, 250);
    await waitFor(() => ran.length === 3, 2000, 'both turns');
    expect(ran.slice(1).map((r) => r.name)).toEqual(['due', 'along']);
    expect(ran[2]?.now).toBeLessThan(along.at - 100);
    expect(ran[2]?.now).toBeGreaterThanOrEqual(due.at - 2);
  });

  it('takes nothing off the clock but what is cancelled', async () => {
    const ran: string[] = [];
    const a = watchClock.book(20, () => ran.push('a'), 1);
    watchClock.book(40, () => ran.push('b'), 1);
    watchClock.cancel(a);
    watchClock.cancel(a);
    await waitFor(() => ran.length > 0, 2000, 'the turn left');
    expect(ran).toEqual(['b']);
  });
});

describe('liveness monitors of many plugins', () => {
  it('probe 12 silent plugins, started at different times, in one burst per interval rather than one each', async () => {
    const plugins = await Promise.all(Array.from({ length: 12 }, () => plugin()));
    // The clock's wakes: what the grid is for, and what no stall of this process can split.
    let wakes = 0;
    const fire = jest.spyOn(watchClock as unknown as { fire(): void }, 'fire').mockName('fire');
    try {
      // Interval 400 ms: a grid of 40 ms. Started 0 to 550 ms apart, as plugins that came up one after another.
      for (const [i, p] of plugins.entries()) {
        monitor(p.socket, 400);
        await new Promise((resolve) => setTimeout(resolve, (i * 30) % 110));
      }
      // Within two rounds the turns that may run early have joined those due: from then on, all probes go out on one wake.
      await waitFor(() => plugins.every((p) => p.probes.length >= 2), 5000, 'two probes of every plugin');
      const from = fire.mock.calls.length;
      await waitFor(() => plugins.every((p) => p.probes.length >= 5), 5000, 'five probes of every plugin');
      wakes = fire.mock.calls.length - from;
    } finally {
      fire.mockRestore();
    }
    for (const m of monitors) m.stop();
    // Three rounds (four, where the waits straddle one): one wake each, where unaligned monitors would wake 36 times.
    expect(wakes).toBeLessThanOrEqual(4);
    // Each on its one connection, kept between its probes.
    for (const p of plugins) expect(p.connections()).toBe(1);
  });

  it('does not probe a plugin that answered within the interval, and probes it once it is silent', async () => {
    const p = await plugin();
    const m = monitor(p.socket, 200);
    const busyUntil = performance.now() + 800;
    const heard = setInterval(() => m.heard(), 40);
    try {
      await waitFor(() => performance.now() >= busyUntil, 2000, 'the busy time');
      expect(p.probes).toEqual([]);
    } finally {
      clearInterval(heard);
    }
    await waitFor(() => p.probes.length >= 1, 2000, 'a probe once silent');
  });

  it('takes a connection the plugin closed meanwhile (its keepAliveTimeout) as no miss: a new one', async () => {
    const p = await plugin(30);
    const wedged = jest.fn();
    monitor(p.socket, 100, wedged);
    await waitFor(() => p.probes.length >= 5, 3000, 'five probes');
    expect(wedged).not.toHaveBeenCalled();
    expect(p.connections()).toBeGreaterThanOrEqual(2);
  });

  it('keeps nothing alive: no ref-ed timer while it waits, its connection closed on stop()', async () => {
    const p = await plugin();
    const m = monitor(p.socket, 100);
    await waitFor(() => p.probes.length >= 2, 3000, 'two probes');
    // Between probes: the clock's one timer is booked and unref'd, and the kept connection is idle.
    await waitFor(() => p.open() === 1, 1000, 'the kept connection');
    // While a probe is out, no turn is booked and the clock has no timer: wait for the next one.
    const clockTimer = (): NodeJS.Timeout | undefined => (watchClock as unknown as { timer: NodeJS.Timeout | undefined }).timer;
    await waitFor(() => clockTimer() !== undefined, 1000, 'the clock booked for the next probe');
    expect(clockTimer()?.hasRef()).toBe(false);
    m.stop();
    await waitFor(() => p.open() === 0, 1000, 'the connection to close');
  });
});
