// Fault: streams under faults, against a real plugin process (two-way-plugin.ts): the
// plugin killed with SIGKILL while consumers read (fast and slow, re-sendable and
// `idempotent: false` streams), killed before the first item, a hundred consumers that stop
// early at random points in every way there is, and close() while streams are read. Every
// loop settles, no item is delivered twice or out of order, every iterator of the plugin
// runs its finally, and nothing is left behind (processes, sockets, the socket directory).
// And a stream read as fast as it comes does not stall the host's timers (call timeouts).
import { PluginError, withOptions } from '../../../lib';
import type { Numbered } from '../../fixtures/faults/two-way-contract';
import { twoWayConnections, type TwoWayConnection } from '../../fixtures/faults/two-way-host';
import { waitFor, waitForPidGone, within } from '../../support/host-helpers';

/** What a loop may take to settle beyond its own bound: timers, a loaded machine. */
const SETTLE = 5000;

const connections = twoWayConnections({ timeout: 5000, terminationGrace: 2000, restart: { initialDelay: 10, maxDelay: 100 }, services: false });
const { connected } = connections;

/** Closes every connection of the test, and checks that each left nothing behind. */
afterEach(async () => {
  for (const left of await connections.closeAll()) expect(left).toEqual({ processes: [], dir: false });
});

/** mulberry32: seeded, so that a failing mix can be run again (the seed is in the test name). */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How a consumer's loop ended: the items it read (their numbers) and the error's code, if any. */
interface Read {
  readonly tag: string;
  readonly items: number[];
  readonly ended: string;
  /** Problems with the items: another tag, a number out of order or twice. */
  readonly wrong: string[];
}

/** Checks an item against the one expected next: its tag, and the next number. */
function checked(tag: string, items: number[], wrong: string[], item: Numbered): void {
  if (item.tag !== tag) wrong.push(`${tag}: an item of ${item.tag}`);
  if (item.n !== items.length + 1) wrong.push(`${tag}: item ${item.n} after ${items.length} items`);
  items.push(item.n);
}

function codeOf(error: unknown): string {
  return PluginError.is(error) ? error.code : `not a PluginError: ${String(error)}`;
}

/** Reads a stream with for await, pausing `pauseMs` after each item (a slow consumer), until it ends or throws. */
async function read(tag: string, stream: AsyncIterable<Numbered>, pauseMs = 0): Promise<Read> {
  const items: number[] = [];
  const wrong: string[] = [];
  try {
    for await (const item of stream) {
      checked(tag, items, wrong, item);
      // The consumer's own pace, not a wait for an event.
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    return { tag, items, ended: 'done', wrong };
  } catch (error) {
    return { tag, items, ended: codeOf(error), wrong };
  }
}

/** Tags the plugin printed `<what> <tag>` for, with how often. */
function printed(connection: TwoWayConnection, what: 'start' | 'once'): Map<string, number> {
  const seen = new Map<string, number>();
  for (const line of connection.logger.lines) {
    const match = /\] (start|once) (\S+)$/.exec(line);
    if (match?.[1] === what) seen.set(match[2]!, (seen.get(match[2]!) ?? 0) + 1);
  }
  return seen;
}

describe('a plugin killed with SIGKILL while consumers read its streams', () => {
  it('three times over: every loop throws PLUGWIRE_UNAVAILABLE after the items it read, none twice, and the next call restarts the plugin', async () => {
    const connection = await connected();
    const { plugin, client } = connection;
    for (let round = 1; round <= 3; round++) {
      const pid = client.pid!;
      const progress = new Map<string, number>();
      const streams = Array.from({ length: 12 }, (_, i) => {
        const tag = `k${round}-${i}`;
        const once = i % 2 === 1;
        // Faster and slower producers, fast and slow consumers (a slow one keeps the window
        // full). Not as fast as the host can read: that starves its timers (see 'fairness').
        const everyMs = i % 3 === 0 ? 1 : 5;
        const source = once ? plugin.numbersOnce(tag, 0, everyMs) : plugin.numbers(tag, 0, everyMs);
        const counted = (async function* () {
          for await (const item of source) {
            progress.set(tag, item.n);
            yield item;
          }
        })();
        return read(tag, counted, i % 4 === 3 ? 20 : 0);
      });
      await waitFor(() => progress.size === 12 && [...progress.values()].every((n) => n >= 3), 5000, 'every stream to deliver three items');
      process.kill(pid, 'SIGKILL');

      const reads = await within(Promise.all(streams), SETTLE, 'every loop to settle');
      for (const r of reads) {
        expect(r.wrong).toEqual([]);
        expect({ tag: r.tag, ended: r.ended }).toEqual({ tag: r.tag, ended: 'PLUGWIRE_UNAVAILABLE' });
        expect(r.items.length).toBeGreaterThanOrEqual(3);
      }
      // Nothing was sent again once an item was delivered, `idempotent: false` or not.
      for (let i = 0; i < 12; i++) expect(printed(connection, 'start').get(`k${round}-${i}`)).toBe(1);
      await waitForPidGone(pid);

      await expect(plugin.pid()).resolves.not.toBe(pid);
      expect(client.stats.restarts).toBe(round);
      expect((await read(`after${round}`, plugin.numbers(`after${round}`, 5, 0))).items).toEqual([1, 2, 3, 4, 5]);
    }
  });

  it('before the first item: a re-sendable stream is sent again after the restart and read whole; an `idempotent: false` one throws PLUGWIRE_UNAVAILABLE and ran once', async () => {
    const connection = await connected();
    const { plugin, client } = connection;
    const pid = client.pid!;
    const tags = Array.from({ length: 8 }, (_, i) => `b${i}`);
    // The first item comes after 500 ms: the plugin dies before it.
    const streams = tags.map((tag, i) => read(tag, i % 2 === 0 ? plugin.numbers(tag, 3, 500) : plugin.numbersOnce(tag, 3, 500)));
    await waitFor(() => tags.every((tag) => printed(connection, 'start').has(tag)), 5000, 'every iterator to start');
    process.kill(pid, 'SIGKILL');

    const reads = await within(Promise.all(streams), 10_000, 'every loop to settle');
    reads.forEach((r, i) => {
      expect(r.wrong).toEqual([]);
      if (i % 2 === 0) expect(r).toMatchObject({ items: [1, 2, 3], ended: 'done' });
      else expect(r).toMatchObject({ items: [], ended: 'PLUGWIRE_UNAVAILABLE' });
    });
    for (const [i, tag] of tags.entries()) expect(printed(connection, 'start').get(tag)).toBe(i % 2 === 0 ? 2 : 1);
    expect(client.stats.restarts).toBe(1);
  });
});

describe('consumers that stop early', () => {
  const ways = ['break', 'return', 'abort', 'timeout', 'throw', 'return unread', 'abort unread', 'whole'] as const;
  type Way = (typeof ways)[number];

  /** One consumer: reads `stopAt` items of an endless stream (or a whole one of 20), then stops its way. */
  async function consume(connection: TwoWayConnection, tag: string, way: Way, stopAt: number, everyMs: number): Promise<Read> {
    const controller = new AbortController();
    const api = way === 'timeout' ? withOptions(connection.plugin, { timeout: 1000 }) : withOptions(connection.plugin, { signal: controller.signal });
    const stream = way === 'whole' ? api.numbers(tag, 20, everyMs) : api.numbers(tag, 0, everyMs);
    const items: number[] = [];
    const wrong: string[] = [];
    const iterator = stream[Symbol.asyncIterator]();
    if (way === 'return unread') {
      await iterator.return?.();
      return { tag, items, ended: 'return', wrong };
    }
    if (way === 'abort unread') {
      controller.abort();
      const first = await iterator.next().then(
        () => 'an item after the abort',
        (error: unknown) => codeOf(error),
      );
      return { tag, items, ended: first, wrong };
    }
    try {
      for await (const item of { [Symbol.asyncIterator]: () => iterator }) {
        checked(tag, items, wrong, item);
        if (items.length < stopAt) continue;
        if (way === 'break') break;
        if (way === 'return') {
          await iterator.return?.();
          break;
        }
        if (way === 'abort') controller.abort();
        if (way === 'throw') throw new Error('the consumer gave up');
      }
      return { tag, items, ended: way === 'whole' ? 'done' : way, wrong };
    } catch (error) {
      return { tag, items, ended: error instanceof Error && error.message === 'the consumer gave up' ? 'throw' : codeOf(error), wrong };
    }
  }

  const expectedEnd: Record<Way, string> = {
    break: 'break',
    return: 'return',
    abort: 'PLUGWIRE_ABORTED',
    timeout: 'PLUGWIRE_TIMEOUT',
    throw: 'throw',
    'return unread': 'return',
    'abort unread': 'PLUGWIRE_ABORTED',
    whole: 'done',
  };

  const seed = Math.floor(Math.random() * 2 ** 32);
  it(`a hundred at once, each stopping its way at a random point (seed ${seed}): every loop settles as it should, and every iterator of the plugin runs its finally`, async () => {
    const connection = await connected();
    const random = generator(seed);
    const plan = Array.from({ length: 100 }, (_, i) => ({
      tag: `e${i}`,
      way: ways[Math.floor(random() * ways.length)]!,
      stopAt: 1 + Math.floor(random() * 30),
      everyMs: random() < 0.5 ? 0 : 2,
    }));
    const runs = plan.map(({ tag, way, stopAt, everyMs }) => consume(connection, tag, way, stopAt, everyMs));
    // Unary calls go on beside them.
    const calls = Array.from({ length: 20 }, () => connection.plugin.pid());
    const [reads, pids] = await within(Promise.all([Promise.all(runs), Promise.all(calls)]), 20_000, 'a hundred consumers');

    expect(new Set(pids)).toEqual(new Set([connection.client.pid]));
    reads.forEach((r, i) => {
      const { way, stopAt } = plan[i]!;
      expect(r.wrong).toEqual([]);
      // A timeout may end a stream before the items it meant to read first: ended by it all the same.
      expect({ tag: r.tag, way, ended: r.ended }).toEqual({ tag: r.tag, way, ended: expectedEnd[way] });
      if (way === 'whole') expect(r.items).toHaveLength(20);
      else if (['break', 'return', 'throw'].includes(way)) expect(r.items).toHaveLength(stopAt);
      else if (way.endsWith('unread')) expect(r.items).toEqual([]);
    });

    // Every iterator the plugin started ends. (Not every stream starts one: one never
    // pulled does not, and a timeout may pass before the plugin is asked.)
    const tags = plan.map((p) => p.tag);
    await waitFor(
      async () => {
        const report = await connection.plugin.report(tags);
        return report.active === 0 && report.finished.length === report.started.length;
      },
      5000,
      "every plugin iterator's finally",
    );
  });
});

describe('close() while consumers read', () => {
  it('every loop throws PLUGWIRE_CLOSED after the items it read, close() resolves, and nothing is left behind', async () => {
    const connection = await connected();
    const { plugin, client } = connection;
    const pid = client.pid!;
    const progress = new Map<string, number>();
    const streams = Array.from({ length: 20 }, (_, i) => {
      const tag = `c${i}`;
      const source = i % 2 === 0 ? plugin.numbers(tag, 0, 1 + (i % 3)) : plugin.numbersOnce(tag, 0, 1 + (i % 3));
      const counted = (async function* () {
        for await (const item of source) {
          progress.set(tag, item.n);
          yield item;
        }
      })();
      return read(tag, counted, i % 5 === 0 ? 10 : 0);
    });
    await waitFor(() => progress.size === 20, 5000, 'every stream to deliver an item');

    await within(connection.close(), 5000, 'close()');
    const reads = await within(Promise.all(streams), SETTLE, 'every loop to settle');
    for (const r of reads) {
      expect(r.wrong).toEqual([]);
      expect({ tag: r.tag, ended: r.ended }).toEqual({ tag: r.tag, ended: 'PLUGWIRE_CLOSED' });
    }
    await waitForPidGone(pid);
    expect(connection.leftovers()).toEqual({ processes: [], dir: false });
  });
});

describe('fairness', () => {
  it("a consumer that reads an endless stream as fast as it comes leaves the host's event loop free: timers beside it fire on time", async () => {
    const { plugin } = await connected();
    // The longest gap between the ticks of a 10 ms timer, while the stream is read.
    let last = Date.now();
    let longest = 0;
    const ticks = setInterval(() => {
      const now = Date.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 10);
    const began = Date.now();
    let read = 0;
    try {
      for await (const item of plugin.numbers('flood', 0, 0)) {
        read = item.n;
        if (Date.now() - began > 2500) break;
      }
    } finally {
      clearInterval(ticks);
    }
    expect(read).toBeGreaterThan(1000);
    // A stall this long would hold up every timer of the host, its calls' timeouts among them.
    expect(longest).toBeLessThan(250);
  });
});
