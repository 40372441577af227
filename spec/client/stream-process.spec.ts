// Stream methods end to end: a host's proxy and client against a real plugin process whose
// stream methods are `async *` methods served by serve(): items, errors, backpressure,
// cancellation reaching the plugin's iterator, the deadline, and a plugin that dies.
import * as path from 'node:path';
import { connect, RemoteError, withOptions, type Connection } from '../../lib';
import { StreamLine, StreamTest } from '../fixtures/host/stream-contract';
import { fixtureStarter, rejectionOf, removeDir, tempDir, waitFor, waitForPidGone, within } from '../support/host-helpers';

let dir: string;
let count = 0;
let shared: Connection<StreamTest>;

beforeAll(async () => {
  dir = tempDir();
  shared = await open();
});

afterAll(async () => {
  await shared?.close();
  removeDir(dir);
});

async function open(): Promise<Connection<StreamTest>> {
  const { starter } = fixtureStarter('host/stream-plugin');
  return connect(StreamTest, starter, { socket: path.join(dir, `s${++count}.sock`), timeout: 10_000, restart: { initialDelay: 10, maxDelay: 50 } });
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function collectUntilError<T>(iterable: AsyncIterable<T>): Promise<{ items: T[]; error: unknown }> {
  const items: T[] = [];
  try {
    for await (const item of iterable) items.push(item);
  } catch (error) {
    return { items, error };
  }
  throw new Error(`expected the loop to throw after ${items.length} items`);
}

/** Waits until the plugin's iterator of `tag` ran its finally and saw its signal abort. */
async function pluginSawTheEnd(plugin: Connection<StreamTest>['plugin'], tag: string): Promise<void> {
  await waitFor(async () => {
    const report = await plugin.report(tag);
    return report.finished && report.aborted;
  }, 3000, `the plugin's iterator of ${tag} to end`);
}

describe('a stream method of a plugin process', () => {
  it('yields the items of an async * method, converted to returns', async () => {
    const items = await collect(shared.plugin.count(5));
    expect(items.map((line) => line.n)).toEqual([1, 2, 3, 4, 5]);
    expect(items[0]).toBeInstanceOf(StreamLine);
    expect(await collect(shared.client.stream('/count', 2))).toEqual([
      { text: 'line 1', n: 1 },
      { text: 'line 2', n: 2 },
    ]);
  });

  it('throws the error the iterator threw, as a unary method gives it, after the items before it', async () => {
    const { items, error } = await collectUntilError(shared.plugin.failAfter(3));
    expect(items).toEqual([1, 2, 3]);
    const unary = await rejectionOf(shared.plugin.failNow());
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ code: (unary as RemoteError).code, message: (unary as RemoteError).message, remote: { name: 'TailFailed', code: 'E_TAIL' } });
  });

  it('break ends the plugin iterator: its finally runs and its signal aborts', async () => {
    let seen = 0;
    let stoppedAt = 0;
    for await (const line of shared.plugin.tail('break', 10)) {
      if ((seen = line.n) === 3) {
        stoppedAt = Date.now();
        break;
      }
    }
    expect(seen).toBe(3);
    await pluginSawTheEnd(shared.plugin, 'break');
    // The issue asks for 100 ms; the bound is generous for a loaded machine.
    expect((await shared.plugin.report('break')).abortedAt - stoppedAt).toBeLessThan(500);
  });

  it("an aborted signal throws PLUGWIRE_ABORTED in the loop and ends the plugin's iterator", async () => {
    const controller = new AbortController();
    const tail = withOptions(shared.plugin, { signal: controller.signal }).tail('signal', 10);
    const { items, error } = await collectUntilError(
      (async function* () {
        for await (const line of tail) {
          if (line.n === 2) controller.abort();
          yield line;
        }
      })(),
    );
    expect(items.length).toBeGreaterThanOrEqual(2);
    expect(error).toMatchObject({ code: 'PLUGWIRE_ABORTED' });
    await pluginSawTheEnd(shared.plugin, 'signal');
  });

  it("the timeout bounds the whole stream: TimeoutError in the loop, the plugin's iterator ends", async () => {
    const began = Date.now();
    const { items, error } = await collectUntilError(
      (async function* () {
        for await (const line of withOptions(shared.plugin, { timeout: 400 }).tail('deadline', 10)) {
          yield line;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })(),
    );
    expect(items.length).toBeGreaterThan(0);
    expect(error).toMatchObject({ code: 'PLUGWIRE_TIMEOUT', message: 'call to /tail timed out after 400 ms' });
    expect(Date.now() - began).toBeGreaterThanOrEqual(350);
    await pluginSawTheEnd(shared.plugin, 'deadline');
  });

  it('a slow consumer holds the producer back: one item per 100 ms from an endless iterator', async () => {
    let taken = 0;
    const marks: number[] = [];
    for await (const line of shared.plugin.tail('slow', 1000)) {
      expect(line.n).toBe(++taken);
      if (taken % 5 === 0) marks.push((await shared.plugin.report('slow')).produced - taken);
      if (taken === 15) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The window ahead of the consumer (socket buffers and the host's few frames) stays
    // the same size: it does not grow with time as an unbounded producer's would.
    for (const ahead of marks) expect(ahead).toBeLessThan(1500);
    expect(Math.max(...marks) - Math.min(...marks)).toBeLessThan(200);
    await pluginSawTheEnd(shared.plugin, 'slow');
  });

  it('return() resolves at once, and a stream that was never pulled sends nothing', async () => {
    const stream = shared.client.stream('/tail', ['return', 10]);
    await stream.next();
    await within(stream.return!(), 100, 'return()');
    await pluginSawTheEnd(shared.plugin, 'return');
    const unpulled = shared.client.stream('/tail', ['never', 10]);
    await within(unpulled.return!(), 100, 'return() of an unpulled stream');
    expect(await shared.plugin.report('never')).toEqual({ produced: 0, finished: false, aborted: false, abortedAt: 0 });
  });
});

describe('streams beside calls', () => {
  it('many streams at once and unary calls between them each get their own answers', async () => {
    const streams = Array.from({ length: 20 }, (_, i) => collect(shared.plugin.count(50 + i)));
    const calls = Array.from({ length: 20 }, () => shared.plugin.pid());
    const [lists, pids] = await Promise.all([Promise.all(streams), Promise.all(calls)]);
    lists.forEach((items, i) => expect(items.map((line) => line.n)).toEqual(Array.from({ length: 50 + i }, (_, k) => k + 1)));
    expect(new Set(pids)).toEqual(new Set([shared.client.pid]));
  });

  it('an endless stream does not hold up unary calls', async () => {
    const tail = shared.client.stream('/tail', ['beside', 10], { timeout: 0 });
    await tail.next();
    await expect(within(shared.plugin.pid(), 2000, 'a call beside an open stream')).resolves.toBe(shared.client.pid);
    await tail.return!();
    await pluginSawTheEnd(shared.plugin, 'beside');
  });

  it('a hundred streams ended every way at once all settle, and every iterator of the plugin ends', async () => {
    const ways = ['break', 'return', 'signal', 'timeout', 'whole'] as const;
    const runs = Array.from({ length: 100 }, async (_, i) => {
      const way = ways[i % ways.length]!;
      const tag = `mix-${i}`;
      const controller = new AbortController();
      if (way === 'whole') return (await collect(shared.plugin.count(20))).length === 20 ? 'ok' : 'short';
      const options = way === 'signal' ? { signal: controller.signal } : way === 'timeout' ? { timeout: 2000 } : {};
      const stream = shared.client.stream('/tail', [tag, 100], options);
      try {
        for (let n = 0; n < 5 + (i % 7); n++) await stream.next();
      } catch (error) {
        // On a loaded machine the timeout may end the stream before the items it reads first:
        // ended by its timeout all the same.
        if (way === 'timeout' && (error as { code?: string }).code === 'PLUGWIRE_TIMEOUT') return 'ok';
        return `${tag} failed early: ${String(error)}`;
      }
      try {
        if (way === 'signal') controller.abort();
        if (way === 'return') {
          await stream.return!();
        } else if (way === 'break') {
          for await (const item of stream) {
            void item;
            break;
          }
        } else {
          for (;;) await stream.next();
        }
        return 'ok';
      } catch (error) {
        return (error as { code?: string }).code === (way === 'signal' ? 'PLUGWIRE_ABORTED' : 'PLUGWIRE_TIMEOUT') ? 'ok' : String(error);
      }
    });
    const outcomes = await within(Promise.all(runs), 20_000, 'a hundred streams');
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
    for (let i = 0; i < 100; i++) if (i % ways.length !== 4) await pluginSawTheEnd(shared.plugin, `mix-${i}`);
    await expect(shared.plugin.pid()).resolves.toBe(shared.client.pid);
  });

  it('close() ends the streams under way with PLUGWIRE_CLOSED, and stops the plugin', async () => {
    const own = await open();
    const pid = own.client.pid!;
    const tail = own.client.stream('/tail', ['closing', 10], { timeout: 0 });
    await tail.next();
    // A loop that pulls as fast as items come, until the close ends it.
    const pending = rejectionOf(
      (async () => {
        for (;;) await tail.next();
      })(),
    );
    await own.close();
    expect(await pending).toMatchObject({ code: 'PLUGWIRE_CLOSED' });
    await waitForPidGone(pid);
  });
});

describe('a plugin that dies', () => {
  it('mid-stream: PLUGWIRE_UNAVAILABLE in the loop after the items, nothing sent again, the next call restarts it', async () => {
    const own = await open();
    try {
      const pid = own.client.pid!;
      const { items, error } = await collectUntilError(own.plugin.crashAfter(3));
      expect(items).toEqual([1, 2, 3]);
      expect(error).toMatchObject({ code: 'PLUGWIRE_UNAVAILABLE' });
      await waitForPidGone(pid);
      await waitFor(() => own.client.state === 'exited', 3000, "state 'exited'");
      expect(own.client.stats.starts).toBe(1);
      await expect(own.plugin.pid()).resolves.not.toBe(pid);
      expect(own.client.stats.starts).toBe(2);
    } finally {
      await own.close();
    }
  });

  it('before the first item: an idempotent stream is sent again after the restart', async () => {
    const own = await open();
    try {
      const pid = own.client.pid!;
      process.kill(pid, 'SIGKILL');
      await waitForPidGone(pid);
      expect((await collect(own.plugin.count(2))).map((line) => line.n)).toEqual([1, 2]);
      expect(own.client.pid).not.toBe(pid);
      expect(own.client.stats.restarts).toBe(1);
    } finally {
      await own.close();
    }
  });
});
