// client.stream() and a contract proxy's stream methods against a bare node:http plugin that
// speaks the frame format of protocol/stream.ts by hand: normal streams, errors, cut-off and
// broken bodies, version 1 answers, backpressure, cancellation, the deadline and retries.
import * as path from 'node:path';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { IsIn, IsString } from 'class-validator';
import { Method, Plugin, PluginError, RemoteError, closeProxy, createProxy, start, stub, withOptions, type CallMessage, type StartResult } from '../../lib';
import { END_FRAME, STREAM_CONTENT_TYPE, encodeErrorFrame, encodeItemFrame } from '../../lib/protocol/stream';
import { bareHttpStarter, rejectionOf, removeDir, tempDir, waitFor, within } from '../support/host-helpers';

class LogLine {
  @IsString()
  text!: string;
}

class Filter {
  @IsIn(['info', 'warn'])
  level!: string;
}

@Plugin('logs')
class Logs {
  @Method('/items', { stream: true, returns: LogLine })
  items(filter: Filter): AsyncIterable<LogLine> {
    return stub(filter);
  }

  @Method('/bad-item', { stream: true, returns: LogLine })
  badItems(): AsyncIterable<LogLine> {
    return stub();
  }

  @Method('/lost-always', { stream: true, idempotent: false })
  lostAlways(): AsyncIterable<number> {
    return stub();
  }

  @Method('/cut-once', { stream: true, idempotent: false })
  once(): AsyncIterable<number> {
    return stub();
  }
}

/** What the plugin saw: requests per route, their headers and whether each connection closed early. */
interface Seen {
  requests: Record<string, number>;
  headers: IncomingMessage['headers'][];
  /** The Context.Deadline of each request, as sent. */
  deadlines: Array<string | null>;
  /** Items written per route, for the backpressure check. */
  produced: Record<string, number>;
  /** Routes whose answer was closed by the host before it ended. */
  closed: Set<string>;
}

const seen: Seen = { requests: {}, headers: [], deadlines: [], produced: {}, closed: new Set() };

function frames(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': STREAM_CONTENT_TYPE, 'x-plugwire-stream': '1' });
}

/** Writes items as fast as the socket takes them, until the host closes the connection. */
function produce(route: string, res: ServerResponse, size: number): void {
  frames(res);
  const filler = 'x'.repeat(size);
  let n = 0;
  const pump = (): void => {
    while (!res.destroyed) {
      seen.produced[route] = ++n;
      if (!res.write(encodeItemFrame({ text: `${n} ${filler}` }))) {
        res.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

function answer(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
  const route = req.url ?? '';
  seen.requests[route] = (seen.requests[route] ?? 0) + 1;
  seen.headers.push(req.headers);
  res.on('close', () => {
    if (!res.writableFinished) seen.closed.add(route);
  });
  const envelope = JSON.parse(body.toString('utf8')) as { Context: { Deadline: string | null }; Payload: unknown };
  seen.deadlines.push(envelope.Context.Deadline);
  const payload = envelope.Payload;
  switch (route) {
    case '/items': {
      frames(res);
      const count = typeof payload === 'number' ? payload : 3;
      for (let i = 0; i < count; i++) res.write(encodeItemFrame({ text: `line ${i}` }));
      res.end(END_FRAME);
      return;
    }
    case '/bad-item':
      frames(res);
      res.write(encodeItemFrame({ text: 'fine' }));
      res.end(encodeItemFrame({ text: 42 }) + END_FRAME);
      return;
    case '/error-after-2':
      frames(res);
      res.write(encodeItemFrame(1));
      res.write(encodeItemFrame(2));
      res.end(encodeErrorFrame({ code: 'PLUGWIRE_REMOTE', message: 'quota exceeded', remote: { name: 'QuotaExceeded', message: 'quota exceeded', code: 'E_QUOTA' } }));
      return;
    case '/error-answer':
      res.writeHead(500, { 'content-type': 'application/json', 'x-plugwire-error': '1' });
      res.end(`${JSON.stringify(JSON.stringify({ code: 'PLUGWIRE_REMOTE', message: 'no such log', remote: { name: 'NotFound', message: 'no such log' } }))}\n`);
      return;
    case '/cut':
    case '/cut-once':
      frames(res);
      res.write(encodeItemFrame(1));
      res.write(encodeItemFrame(2), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    case '/no-end':
      frames(res);
      res.end(encodeItemFrame(1));
      return;
    case '/garbage':
      frames(res);
      res.end('{"item":1}\nnot a frame\n');
      return;
    case '/v1-array':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('[1,2,3]\n');
      return;
    case '/v1-value':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"a":1}\n');
      return;
    case '/lost-first':
      // The first request's connection is dropped before any answer: sent again.
      if (seen.requests[route] === 1) {
        req.socket.destroy();
        return;
      }
      frames(res);
      res.end(encodeItemFrame('second') + END_FRAME);
      return;
    case '/v1-big':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(Array.from({ length: 2000 }, (_, i) => i))}\n`);
      return;
    case '/timeout-frame':
      frames(res);
      res.end(encodeItemFrame(1) + encodeErrorFrame({ code: 'PLUGWIRE_TIMEOUT', message: 'deadline passed' }));
      return;
    case '/lost-always':
      req.socket.destroy();
      return;
    case '/forever':
      frames(res);
      res.write(encodeItemFrame('first'));
      return;
    default:
      if (route.startsWith('/flood')) produce(route, res, route === '/flood-big' ? 400_000 : 1000);
      else res.writeHead(404).end('"no route"\n');
  }
}

let dir: string;
let plugin: StartResult;

beforeAll(async () => {
  dir = tempDir();
  plugin = await start(bareHttpStarter('streams', answer), path.join(dir, 'streams.sock'), { timeout: 10_000 });
});

afterAll(async () => {
  await plugin?.close();
  removeDir(dir);
});

async function collect(iterable: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Collects the items until the loop throws; returns both. */
async function collectUntilError(iterable: AsyncIterable<unknown>): Promise<{ items: unknown[]; error: unknown }> {
  const items: unknown[] = [];
  try {
    for await (const item of iterable) items.push(item);
  } catch (error) {
    return { items, error };
  }
  throw new Error(`expected the loop to throw, got ${JSON.stringify(items)}`);
}

describe('client.stream()', () => {
  it('yields the items in order and sends x-plugwire-stream: 1', async () => {
    const before = seen.headers.length;
    expect(await collect(plugin.client.stream('/items', 4))).toEqual([0, 1, 2, 3].map((i) => ({ text: `line ${i}` })));
    expect(seen.headers[before]?.['x-plugwire-stream']).toBe('1');
  });

  it('sends nothing before the first next()', async () => {
    const before = seen.requests['/items'] ?? 0;
    const stream = plugin.client.stream('/items', 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.requests['/items'] ?? 0).toBe(before);
    await expect(stream.next()).resolves.toEqual({ done: false, value: { text: 'line 0' } });
    expect(seen.requests['/items']).toBe(before + 1);
    await expect(stream.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('rejects a bad route or option at the first next()', async () => {
    await expect(plugin.client.stream('no slash').next()).rejects.toThrow(TypeError);
    await expect(plugin.client.stream('/items', 1, { timeout: -1 }).next()).rejects.toThrow(/timeout/);
  });

  it('throws the coded error of an error frame after the items before it', async () => {
    const { items, error } = await collectUntilError(plugin.client.stream('/error-after-2'));
    expect(items).toEqual([1, 2]);
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ code: 'PLUGWIRE_REMOTE', remote: { name: 'QuotaExceeded', code: 'E_QUOTA' } });
  });

  it('rejects the first next() with the error of an error answer, as a call does', async () => {
    const streamed = await rejectionOf(plugin.client.stream('/error-answer').next());
    const called = await rejectionOf(plugin.client.call('/error-answer'));
    expect(streamed).toBeInstanceOf(RemoteError);
    expect(streamed).toMatchObject({ code: (called as PluginError).code, message: (called as PluginError).message });
  });

  it('reads a version 1 answer: an array as its items, another value as one item', async () => {
    expect(await collect(plugin.client.stream('/v1-array'))).toEqual([1, 2, 3]);
    expect(await collect(plugin.client.stream('/v1-value'))).toEqual([{ a: 1 }]);
  });

  it('throws PLUGWIRE_UNAVAILABLE for a body cut off after items, and does not send again', async () => {
    const { items, error } = await collectUntilError(plugin.client.stream('/cut'));
    expect(items).toEqual([1, 2]);
    expect(error).toMatchObject({ code: 'PLUGWIRE_UNAVAILABLE', message: expect.stringMatching(/cut off/) as unknown });
    expect(seen.requests['/cut']).toBe(1);
  });

  it('throws PLUGWIRE_PROTOCOL for a body that ends without its closing frame, or is not frames', async () => {
    expect((await collectUntilError(plugin.client.stream('/no-end'))).error).toMatchObject({ code: 'PLUGWIRE_PROTOCOL' });
    const garbage = await collectUntilError(plugin.client.stream('/garbage'));
    expect(garbage.error).toMatchObject({ code: 'PLUGWIRE_PROTOCOL', message: expect.stringMatching(/not a frame stream/) as unknown });
    expect(garbage.items).toEqual([1]);
  });

  it('sends a stream again when its first request was lost before any answer', async () => {
    expect(await collect(plugin.client.stream('/lost-first'))).toEqual(['second']);
    expect(seen.requests['/lost-first']).toBe(2);
  });

  it('ends the request at break: the plugin sees its connection close', async () => {
    for await (const item of plugin.client.stream('/forever')) {
      expect(item).toBe('first');
      break;
    }
    await waitFor(() => seen.closed.has('/forever'), 2000, 'the plugin to see the connection close');
  });

  it('return() resolves at once and ends the request', async () => {
    seen.closed.delete('/forever');
    const stream = plugin.client.stream('/forever');
    await stream.next();
    await within(stream.return!(), 100, 'return()');
    await expect(stream.next()).resolves.toEqual({ done: true, value: undefined });
    await waitFor(() => seen.closed.has('/forever'), 2000, 'the plugin to see the connection close');
  });

  it('throws PLUGWIRE_ABORTED in the loop when the signal aborts, and ends the request', async () => {
    seen.closed.delete('/forever');
    const controller = new AbortController();
    const stream = plugin.client.stream('/forever', null, { signal: controller.signal });
    await expect(stream.next()).resolves.toEqual({ done: false, value: 'first' });
    const pending = stream.next();
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'PLUGWIRE_ABORTED' });
    await waitFor(() => seen.closed.has('/forever'), 2000, 'the plugin to see the connection close');
  });

  it('throws the usual TimeoutError when the timeout passes, and sends the same deadline', async () => {
    seen.closed.delete('/forever');
    const before = seen.headers.length;
    const began = Date.now();
    const { items, error } = await collectUntilError(plugin.client.stream('/forever', null, { timeout: 300 }));
    expect(items).toEqual(['first']);
    expect(error).toMatchObject({ code: 'PLUGWIRE_TIMEOUT', message: 'call to /forever timed out after 300 ms' });
    expect(Date.now() - began).toBeGreaterThanOrEqual(250);
    expect(seen.headers.length).toBe(before + 1);
    // The deadline the plugin was told is the one the host enforces.
    expect(Math.abs(Date.parse(seen.deadlines[before] ?? '') - (began + 300))).toBeLessThan(200);
    await waitFor(() => seen.closed.has('/forever'), 2000, 'the plugin to see the connection close');
  });

  it('with timeout 0 runs past the client default', async () => {
    const quick = await start(bareHttpStarter('quick', answer), path.join(dir, 'quick.sock'), { timeout: 100 });
    try {
      const before = seen.deadlines.length;
      const stream = quick.client.stream('/forever', null, { timeout: 0 });
      await stream.next();
      expect(seen.deadlines[before]).toBeNull();
      const next = stream.next();
      const outcome = await Promise.race([next.then(() => 'item', () => 'error'), new Promise((resolve) => setTimeout(resolve, 400, 'still open'))]);
      expect(outcome).toBe('still open');
      await stream.return!();
      await expect(next).resolves.toEqual({ done: true, value: undefined });
    } finally {
      await quick.close();
    }
  });

  it('reads no faster than the consumer pulls: the producer stays a bounded window ahead', async () => {
    const stream = plugin.client.stream('/flood-slow');
    let taken = 0;
    for await (const item of stream) {
      expect(item).toMatchObject({ text: expect.stringMatching(new RegExp(`^${taken + 1} `)) as unknown });
      if (++taken === 30) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // Socket buffers on both sides hold some frames of 1 kB; a producer that was not held
    // back would have written hundreds of thousands meanwhile.
    expect(seen.produced['/flood-slow']).toBeLessThan(taken + 2000);
    await waitFor(() => seen.closed.has('/flood-slow'), 2000, 'the plugin to see the connection close');
  });

  it('refuses x-plugwire-stream as a per-call header', async () => {
    await expect(plugin.client.stream('/items', 1, { headers: { 'X-Plugwire-Stream': '0' } }).next()).rejects.toThrow(/plugwire's own/);
  });

  it('publishes the call message when the stream ends: end for a finished or abandoned one, error for a failed one', async () => {
    const ended: CallMessage[] = [];
    const failed: CallMessage[] = [];
    const onEnd = (message: unknown): number => ended.push(message as CallMessage);
    const onError = (message: unknown): number => failed.push(message as CallMessage);
    subscribe('plugwire:call:end', onEnd);
    subscribe('plugwire:call:error', onError);
    try {
      await collect(plugin.client.stream('/items', 2));
      for await (const item of plugin.client.stream('/forever')) {
        void item;
        break;
      }
      await collectUntilError(plugin.client.stream('/error-after-2'));
    } finally {
      unsubscribe('plugwire:call:end', onEnd);
      unsubscribe('plugwire:call:error', onError);
    }
    expect(ended.map((m) => m.route)).toEqual(['/items', '/forever']);
    expect(failed.map((m) => [m.route, (m.error as PluginError).code])).toEqual([['/error-after-2', 'PLUGWIRE_REMOTE']]);
    for (const message of [...ended, ...failed]) expect(message.duration).toBeGreaterThanOrEqual(0);
  });

  it('holds large items back by their bytes: about 1 MB ahead of the consumer, not 16 items', async () => {
    let taken = 0;
    for await (const item of plugin.client.stream('/flood-big')) {
      void item;
      if (++taken === 10) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // 16 items of 400 kB would be 6.4 MB; the window in bytes holds about 3, the sockets one or two more.
    expect(seen.produced['/flood-big']).toBeLessThan(taken + 10);
  });

  it('bounds each frame by maxResponseSize, not the whole stream; a version 1 answer as a whole', async () => {
    const small = await start(bareHttpStarter('small', answer), path.join(dir, 'small.sock'), { timeout: 10_000, maxResponseSize: 4096 });
    try {
      expect(await collect(small.client.stream('/items', 1000))).toHaveLength(1000);
      const big = await collectUntilError(small.client.stream('/flood-big'));
      expect(big.error).toMatchObject({ code: 'PLUGWIRE_PROTOCOL', message: expect.stringMatching(/larger than 4096 bytes/) as unknown });
      expect((await collectUntilError(small.client.stream('/v1-big'))).error).toMatchObject({ code: 'PLUGWIRE_PROTOCOL', message: expect.stringMatching(/maxResponseSize/) as unknown });
    } finally {
      await small.close();
    }
  });

  it('throws the usual TimeoutError for a PLUGWIRE_TIMEOUT frame of the plugin, with its words as the cause', async () => {
    const { items, error } = await collectUntilError(plugin.client.stream('/timeout-frame', null, { timeout: 5000 }));
    expect(items).toEqual([1]);
    expect(error).toMatchObject({ code: 'PLUGWIRE_TIMEOUT', message: 'call to /timeout-frame timed out after 5000 ms', cause: { message: 'deadline passed' } });
  });

  it('ends the streams under way at close(): PLUGWIRE_CLOSED in the loop', async () => {
    const own = await start(bareHttpStarter('closing', answer), path.join(dir, 'closing.sock'), { timeout: 10_000 });
    const stream = own.client.stream('/forever');
    await stream.next();
    const pending = stream.next();
    await own.close();
    await expect(pending).rejects.toMatchObject({ code: 'PLUGWIRE_CLOSED' });
    await expect(own.client.stream('/forever').next()).rejects.toMatchObject({ code: 'PLUGWIRE_CLOSED' });
  });
});

describe('a contract stream method', () => {
  it('converts and validates each item with returns', async () => {
    const logs = createProxy(plugin.client, Logs);
    const items = await collect(logs.items({ level: 'warn' }));
    expect(items).toHaveLength(3);
    expect(items[0]).toBeInstanceOf(LogLine);
  });

  it('rejects a bad argument at the first next(), before anything is sent', async () => {
    const logs = createProxy(plugin.client, Logs);
    const before = seen.requests['/items'] ?? 0;
    await expect(logs.items({ level: 'loud' })[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'PLUGWIRE_VALIDATION' });
    expect(seen.requests['/items'] ?? 0).toBe(before);
  });

  it('throws PLUGWIRE_VALIDATION for an item that fails returns, after the good ones', async () => {
    const logs = createProxy(plugin.client, Logs);
    const { items, error } = await collectUntilError(logs.badItems());
    expect(items).toEqual([expect.any(LogLine)]);
    expect(error).toMatchObject({ code: 'PLUGWIRE_VALIDATION' });
  });

  it('of a closed proxy rejects its first next() with PLUGWIRE_CLOSED, sending nothing', async () => {
    const logs = createProxy(plugin.client, Logs);
    closeProxy(logs);
    const before = seen.requests['/items'] ?? 0;
    await expect(logs.items({ level: 'warn' })[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'PLUGWIRE_CLOSED' });
    expect(seen.requests['/items'] ?? 0).toBe(before);
  });

  it('that is not idempotent is not sent again when its request was lost before an answer', async () => {
    const logs = createProxy(plugin.client, Logs);
    await expect(logs.lostAlways()[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'PLUGWIRE_UNAVAILABLE', message: expect.stringMatching(/not idempotent/) as unknown });
    expect(seen.requests['/lost-always']).toBe(1);
  });

  it('takes the timeout and signal of withOptions()', async () => {
    const logs = withOptions(createProxy(plugin.client, Logs), { timeout: 5000 });
    expect(await collect(logs.items({ level: 'info' }))).toHaveLength(3);
  });

  it('is not sent again when cut off, idempotent or not', async () => {
    const logs = createProxy(plugin.client, Logs);
    const { items, error } = await collectUntilError(logs.once());
    expect(items).toEqual([1, 2]);
    expect(error).toMatchObject({ code: 'PLUGWIRE_UNAVAILABLE' });
    expect(seen.requests['/cut-once']).toBe(1);
  });
});
