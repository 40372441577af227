import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import * as fs from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

import { Exclude } from 'class-transformer';
import { callContext, Method, Plugin, serve, stub, type PluginServer } from '../../lib';
import { rawRequest, type RawResponse } from '../support/raw-http';
import { waitFor, within } from '../support/host-helpers';

// ---------------------------------------------------------------------------------------
// The fixture plugin, served in-process: what each stream did is recorded per tag
// ---------------------------------------------------------------------------------------

class Line {
  constructor(
    readonly n: number,
    readonly text: string,
  ) {}

  /** Left out by class-transformer: proves items are converted like unary results. */
  @Exclude()
  readonly secret = 'hidden';
}

/** What one stream did: items made, when its `finally` ran, when its signal fired. */
interface Run {
  made: number;
  finallyAt: number | undefined;
  abortedAt: number | undefined;
  readonly finished: Promise<void>;
  done(): void;
}

const runs = new Map<string, Run>();
/** What /after-abort's iterator saw, per tag. */
const late = new Map<string, { pulled: number; returned: boolean }>();
/** How many times /rejected-item's iterator was returned, per call (its `at`). */
const closed = new Map<number, number>();

function runFor(tag: string): Run {
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const run: Run = { made: 0, finallyAt: undefined, abortedAt: undefined, finished, done: () => done() };
  runs.set(tag, run);
  const { signal } = callContext();
  signal.addEventListener('abort', () => (run.abortedAt = Date.now()), { once: true });
  return run;
}

function waitOrAbort(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

@Plugin('streams')
class Streams {
  @Method('/lines', { stream: true, returns: Line })
  lines(count: number): AsyncIterable<Line> {
    return stub(count);
  }

  @Method('/forever', { stream: true })
  forever(tag: string): AsyncIterable<string> {
    return stub(tag);
  }

  @Method('/ticks', { stream: true })
  ticks(tag: string): AsyncIterable<number> {
    return stub(tag);
  }

  @Method('/hang', { stream: true })
  hang(tag: string): AsyncIterable<number> {
    return stub(tag);
  }

  @Method('/fail-after', { stream: true })
  failAfter(count: number): AsyncIterable<number> {
    return stub(count);
  }

  @Method('/bigint', { stream: true })
  bigint(tag: string): AsyncIterable<unknown> {
    return stub(tag);
  }

  @Method('/sync', { stream: true })
  sync(count: number): Iterable<number> {
    return stub(count);
  }

  @Method('/later', { stream: true })
  later(count: number): Promise<Iterable<number>> {
    return stub(count);
  }

  @Method('/after-abort', { stream: true })
  afterAbort(tag: string): Promise<AsyncIterable<number>> {
    return stub(tag);
  }

  @Method('/promises', { stream: true })
  promises(): Iterable<Promise<number> | number> {
    return stub();
  }

  @Method('/rejected-item', { stream: true })
  rejectedItem(at: number): Iterable<Promise<number> | number> {
    return stub(at);
  }

  @Method('/not-iterable', { stream: true })
  notIterable(): AsyncIterable<number> {
    return stub();
  }

  @Method('/context', { stream: true })
  context(): AsyncIterable<string> {
    return stub();
  }

  @Method('/unary')
  unary(value: string): Promise<string> {
    return stub(value);
  }
}

class QuotaError extends Error {
  override name = 'QuotaError';
  readonly code = 'E_QUOTA';
}

class StreamsImpl extends Streams {
  override async *lines(count: number): AsyncIterable<Line> {
    for (let n = 1; n <= count; n++) yield new Line(n, `line ${n}`);
  }

  /** As fast as it can, forever, counting what it made. */
  override async *forever(tag: string): AsyncIterable<string> {
    const run = runFor(tag);
    try {
      for (;;) {
        run.made++;
        yield `item ${run.made} ${'x'.repeat(40)}`;
      }
    } finally {
      run.finallyAt = Date.now();
      run.done();
    }
  }

  /** One item every 20 ms, forever, waiting in a way its signal ends. */
  override async *ticks(tag: string): AsyncIterable<number> {
    const run = runFor(tag);
    const { signal } = callContext();
    try {
      for (;;) {
        yield ++run.made;
        await waitOrAbort(20, signal);
      }
    } finally {
      run.finallyAt = Date.now();
      run.done();
    }
  }

  /** One item, then waits until its signal fires. */
  override async *hang(tag: string): AsyncIterable<number> {
    const run = runFor(tag);
    const { signal } = callContext();
    try {
      yield ++run.made;
      await waitOrAbort(60_000, signal);
    } finally {
      run.finallyAt = Date.now();
      run.done();
    }
  }

  override async *failAfter(count: number): AsyncIterable<number> {
    for (let n = 1; n <= count; n++) {
      await Promise.resolve();
      yield n;
    }
    throw new QuotaError(`quota exceeded after ${count}`);
  }

  override async *bigint(tag: string): AsyncIterable<unknown> {
    const run = runFor(tag);
    try {
      yield 1;
      yield 2n;
      yield 3;
    } finally {
      run.finallyAt = Date.now();
      run.done();
    }
  }

  override *sync(count: number): Iterable<number> {
    for (let n = 1; n <= count; n++) yield n;
  }

  override async later(count: number): Promise<Iterable<number>> {
    await Promise.resolve();
    return Array.from({ length: count }, (_, i) => i + 1);
  }

  /** Resolves once its caller went away, to an iterator that records whether it was pulled or returned. */
  override async afterAbort(tag: string): Promise<AsyncIterable<number>> {
    const state = { pulled: 0, returned: false };
    late.set(tag, state);
    const { signal } = callContext();
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    return {
      [Symbol.asyncIterator]: () => ({
        next: async () => ({ done: false, value: ++state.pulled }),
        return: async () => {
          state.returned = true;
          return { done: true, value: undefined };
        },
      }),
    };
  }

  /** Promises (a native one, a later one, a thenable) among plain items, as an array. */
  override promises(): Iterable<Promise<number> | number> {
    const later = new Promise<number>((resolve) => setImmediate(() => resolve(2)));
    const thenable = { then: (resolve: (value: number) => void) => resolve(3) } as unknown as Promise<number>;
    return [Promise.resolve(1), later, thenable, 4];
  }

  /**
   * A sync iterator of 1, 2, 3 whose item `at` (from 0) is a rejected promise; `at` 3 is
   * its last result, `{ done: true }` with a rejected value. Counts its `return()` calls.
   */
  override rejectedItem(at: number): Iterable<Promise<number> | number> {
    let i = 0;
    closed.set(at, 0);
    const fail = (): Promise<number> => Promise.reject(new QuotaError(`item ${at} rejected`));
    return {
      [Symbol.iterator]: () => ({
        next: () => (i === 3 ? { done: true, value: at === 3 ? fail() : undefined } : { done: false, value: i++ === at ? fail() : i }),
        return: () => {
          closed.set(at, (closed.get(at) ?? 0) + 1);
          return { done: true, value: undefined };
        },
      }),
    } as Iterable<Promise<number> | number>;
  }

  override notIterable(): AsyncIterable<number> {
    return 42 as unknown as AsyncIterable<number>;
  }

  override async *context(): AsyncIterable<string> {
    yield callContext().route;
    await new Promise((resolve) => setImmediate(resolve));
    yield callContext().route;
  }

  override unary(value: string): Promise<string> {
    return Promise.resolve(`unary:${value}`);
  }
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

const STREAMING = { 'x-plugwire-version': '1', 'x-plugwire-stream': '1' };
const V1 = { 'x-plugwire-version': '1' };

function envelope(payload: unknown, deadline: string | null = null): string {
  return JSON.stringify({ Context: { Deadline: deadline }, Payload: payload });
}

function framesOf(res: RawResponse): unknown[] {
  expect(res.body.endsWith('\n')).toBe(true);
  return res.body
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);
}

/** The structured error inside a plugwire error answer's JSON string. */
function structured(res: RawResponse): { code: string; message: string; remote?: Record<string, unknown> } {
  expect(res.headers['x-plugwire-error']).toBe('1');
  return JSON.parse(JSON.parse(res.body) as string) as { code: string; message: string };
}

/** A streaming request whose answer the spec reads (or does not read) itself. */
function open(socketPath: string, route: string, payload: unknown, deadline: string | null = null): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const body = envelope(payload, deadline);
    const req = request({ socketPath, path: route, method: 'POST', agent: false, headers: { ...STREAMING, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, resolve);
    req.on('error', reject);
    req.end(body);
  });
}

// ---------------------------------------------------------------------------------------

describe('serve(): stream methods', () => {
  let dir: string;
  let socket: string;
  let server: PluginServer;

  function call(route: string, payload: unknown, headers: Record<string, string> = STREAMING, deadline: string | null = null): Promise<RawResponse> {
    return rawRequest(socket, { path: route, body: envelope(payload, deadline), headers });
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-'));
    socket = path.join(dir, 'stream.sock');
    server = await serve(new StreamsImpl(), { socket, standalone: false, announce: false, grace: 200, maxCollectedSize: 4096, headersTimeout: 300, requestTimeout: 400, logger: { error: () => undefined } });
  });

  afterAll(async () => {
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('to a caller that reads frames (x-plugwire-stream: 1)', () => {
    it('answers 200, x-plugwire-stream: 1 and NDJSON, one item frame per item converted like a result, then the end frame', async () => {
      const res = await call('/lines', 3);
      expect(res.status).toBe(200);
      expect(res.headers['x-plugwire-stream']).toBe('1');
      expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
      expect(res.headers['transfer-encoding']).toBe('chunked');
      expect(framesOf(res)).toEqual([{ item: { n: 1, text: 'line 1' } }, { item: { n: 2, text: 'line 2' } }, { item: { n: 3, text: 'line 3' } }, { end: true }]);
    });

    it('answers an empty stream with the end frame alone', async () => {
      const res = await call('/lines', 0);
      expect(res.status).toBe(200);
      expect(framesOf(res)).toEqual([{ end: true }]);
    });

    it('takes a sync Iterable (a function*) and a promise of one', async () => {
      expect(framesOf(await call('/sync', 3))).toEqual([{ item: 1 }, { item: 2 }, { item: 3 }, { end: true }]);
      expect(framesOf(await call('/later', 2))).toEqual([{ item: 1 }, { item: 2 }, { end: true }]);
    });

    it('awaits the promises a sync iterable yields (an array of them), as for await does', async () => {
      expect(framesOf(await call('/promises', null))).toEqual([{ item: 1 }, { item: 2 }, { item: 3 }, { item: 4 }, { end: true }]);
      expect((await call('/promises', null, V1)).body).toBe('[1,2,3,4]\n');
    });

    it('ends with an error frame and returns the iterator when a promise a sync iterator yields rejects', async () => {
      const res = await call('/rejected-item', 1);
      expect(framesOf(res)).toEqual([
        { item: 1 },
        { error: { code: 'PLUGWIRE_REMOTE', message: 'item 1 rejected', remote: { name: 'QuotaError', message: 'item 1 rejected', code: 'E_QUOTA' } } },
      ]);
      expect(closed.get(1)).toBe(1);
      const first = await call('/rejected-item', 0);
      expect(first.status).toBe(500);
      expect(structured(first)).toMatchObject({ code: 'PLUGWIRE_REMOTE', message: 'item 0 rejected' });
      expect(closed.get(0)).toBe(1);
      const plain = await call('/rejected-item', 2, {});
      expect(plain.status).toBe(500);
      expect(JSON.parse(plain.body)).toBe('item 2 rejected');
      // A rejected value of the last result ({ done: true }): the iterator is done, not returned.
      expect(framesOf(await call('/rejected-item', 3))).toEqual([{ item: 1 }, { item: 2 }, { item: 3 }, { error: expect.objectContaining({ message: 'item 3 rejected' }) as unknown }]);
      expect(closed.get(3)).toBe(0);
    });

    it('streams many items from a sync iterator without blocking the server', async () => {
      const [big, other] = await Promise.all([call('/sync', 50_000), call('/unary', 'meanwhile')]);
      const frames = framesOf(big);
      expect(frames).toHaveLength(50_001);
      expect(frames[49_999]).toEqual({ item: 50_000 });
      expect(other.body).toBe('"unary:meanwhile"\n');
    });

    it('runs the iterator in the call context, also after it awaited', async () => {
      expect(framesOf(await call('/context', null))).toEqual([{ item: '/context' }, { item: '/context' }, { end: true }]);
    });

    it('answers an error thrown before the first item as an ordinary error answer', async () => {
      const res = await call('/fail-after', 0);
      expect(res.status).toBe(500);
      expect(res.headers['x-plugwire-stream']).toBeUndefined();
      expect(structured(res)).toEqual({ code: 'PLUGWIRE_REMOTE', message: 'quota exceeded after 0', remote: { name: 'QuotaError', message: 'quota exceeded after 0', code: 'E_QUOTA' } });
    });

    it('ends with an error frame (the unary call\'s wire error) after the items already yielded', async () => {
      const res = await call('/fail-after', 2);
      expect(res.status).toBe(200);
      expect(framesOf(res)).toEqual([
        { item: 1 },
        { item: 2 },
        { error: { code: 'PLUGWIRE_REMOTE', message: 'quota exceeded after 2', remote: { name: 'QuotaError', message: 'quota exceeded after 2', code: 'E_QUOTA' } } },
      ]);
    });

    it('ends with an error frame and returns the iterator when an item cannot be encoded', async () => {
      const res = await call('/bigint', 'bigint');
      const frames = framesOf(res);
      expect(frames.slice(0, 1)).toEqual([{ item: 1 }]);
      expect(frames[1]).toMatchObject({ error: { code: 'PLUGWIRE_REMOTE', message: expect.stringContaining('an item of /bigint cannot be encoded as JSON') as unknown } });
      expect(frames).toHaveLength(2);
      await within(runs.get('bigint')!.finished, 2000, 'the iterator to be returned');
    });

    it('answers a stream method that returns no iterable with PLUGWIRE_DEFINITION naming the method', async () => {
      const res = await call('/not-iterable', null);
      expect(res.status).toBe(500);
      const error = structured(res);
      expect(error.code).toBe('PLUGWIRE_DEFINITION');
      expect(error.message).toContain('StreamsImpl.notIterable (route /not-iterable) is a stream method');
      expect(error.message).toContain('returned a number');
    });

    it('answers a unary method as before, whatever the stream header says', async () => {
      const res = await call('/unary', 'x');
      expect(res.status).toBe(200);
      expect(res.headers['x-plugwire-stream']).toBeUndefined();
      expect(res.body).toBe('"unary:x"\n');
    });

    it('is not cut by requestTimeout: it bounds receiving the request, not the answer', async () => {
      const stream = await open(socket, '/ticks', 'long');
      const frames: string[] = [];
      stream.setEncoding('utf8').on('data', (text: string) => frames.push(text));
      // requestTimeout is 400 ms: the stream runs past twice that.
      await waitFor(() => (runs.get('long')?.made ?? 0) >= 45, 10_000, 'more than 800 ms of ticks');
      expect(stream.destroyed).toBe(false);
      stream.destroy();
      await within(runs.get('long')!.finished, 2000, 'the stream to end');
    });
  });

  describe('backpressure', () => {
    it('pulls no more items than the socket buffers hold while the reader pauses, however long it pauses', async () => {
      const stream = await open(socket, '/forever', 'paused');
      stream.pause();
      const run = (): Run => runs.get('paused')!;
      await waitFor(() => runs.has('paused'), 2000, 'the stream to start');
      // Wait until the producer stopped (the buffers are full), then check it stays stopped.
      let last = -1;
      await waitFor(
        () => {
          const same = run().made === last;
          last = run().made;
          return same;
        },
        5000,
        'the producer to stop',
        200,
      );
      const stopped = run().made;
      expect(stopped).toBeLessThan(20_000); // items of about 60 bytes: about 1 MB of buffers at most
      await new Promise((resolve) => setTimeout(resolve, 500)); // time passes; the count does not grow
      expect(run().made).toBe(stopped);

      // Reading again makes it go on, a few items at a time.
      let received = 0;
      stream.on('data', (chunk: Buffer) => (received += chunk.length));
      stream.resume();
      await waitFor(() => run().made > stopped + 1000, 5000, 'the producer to go on');
      stream.destroy();
      await within(run().finished, 2000, 'the iterator to be returned');
      expect(received).toBeGreaterThan(0);
    });

    it('keeps pace with a reader that takes one item every 100 ms', async () => {
      const stream = await open(socket, '/forever', 'slow');
      stream.pause();
      let buffered = '';
      const lines: string[] = [];
      const started = Date.now();
      while (Date.now() - started < 1000) {
        const chunk = stream.read(64) as Buffer | null;
        if (chunk) buffered += chunk.toString('utf8');
        const newline = buffered.indexOf('\n');
        if (newline !== -1) {
          lines.push(buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const made = runs.get('slow')!.made;
      expect(lines.length).toBeGreaterThan(0);
      expect(JSON.parse(lines[0]!)).toEqual({ item: `item 1 ${'x'.repeat(40)}` });
      expect(made).toBeLessThan(20_000);
      stream.destroy();
      await within(runs.get('slow')!.finished, 2000, 'the iterator to be returned');
    });
  });

  it('answers other calls while it streams an iterator that never waits to a reader that keeps up', async () => {
    const stream = await open(socket, '/forever', 'fast');
    let received = 0;
    stream.on('data', (chunk: Buffer) => (received += chunk.length));
    await waitFor(() => received > 1_000_000, 10_000, 'a megabyte of items');
    const other = await within(call('/unary', 'meanwhile'), 5000, 'the unary call');
    expect(other.body).toBe('"unary:meanwhile"\n');
    stream.destroy();
    await within(runs.get('fast')!.finished, 2000, 'the iterator to be returned');
  });

  describe('cancellation', () => {
    it('returns the iterator of a method that resolves only after its caller went away, and pulls nothing from it', async () => {
      const body = envelope('late', null);
      const req = request({ socketPath: socket, path: '/after-abort', method: 'POST', agent: false, headers: { ...STREAMING, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } });
      req.on('error', () => undefined);
      req.end(body);
      await waitFor(() => late.has('late'), 2000, 'the method to be called');
      req.destroy();
      await waitFor(() => late.get('late')?.returned === true, 2000, 'the iterator to be returned');
      expect(late.get('late')?.pulled).toBe(0);
    });

    it('returns the iterator and aborts the signal within 100 ms of a reader that disconnects while the producer waits on backpressure', async () => {
      const stream = await open(socket, '/forever', 'gone');
      stream.pause();
      await waitFor(() => (runs.get('gone')?.made ?? 0) > 100, 2000, 'items to be made');
      const cut = Date.now();
      stream.socket.destroy();
      const run = runs.get('gone')!;
      await within(run.finished, 2000, 'the iterator to be returned');
      await waitFor(() => run.abortedAt !== undefined, 2000, 'the signal to fire');
      expect(run.finallyAt! - cut).toBeLessThan(100);
      expect(run.abortedAt! - cut).toBeLessThan(100);
    });

    it('ends a producer that waits on its signal within 100 ms of the disconnect', async () => {
      const stream = await open(socket, '/hang', 'hung');
      await new Promise((resolve) => stream.once('data', resolve));
      const cut = Date.now();
      stream.socket.destroy();
      const run = runs.get('hung')!;
      await within(run.finished, 2000, 'the iterator to end');
      expect(run.finallyAt! - cut).toBeLessThan(100);
      expect(run.abortedAt! - cut).toBeLessThan(100);
    });
  });

  it('returns the iterator of a stream still running when the server closes, after its grace', async () => {
    const own = path.join(dir, 'closing.sock');
    const reports: string[] = [];
    const closing = await serve(new StreamsImpl(), { socket: own, standalone: false, announce: false, grace: 100, logger: { error: (line) => reports.push(line) } });
    const stream = await open(own, '/ticks', 'closing');
    stream.resume();
    await waitFor(() => (runs.get('closing')?.made ?? 0) > 2, 2000, 'a few ticks');
    await within(closing.close(), 5000, 'the server to close');
    await within(runs.get('closing')!.finished, 2000, 'the iterator to end');
    expect(runs.get('closing')!.abortedAt).toBeDefined();
    // The iterator failed with its signal's reason after it was stopped: not the plugin's error to report.
    expect(reports).toEqual([]);
  });

  describe('deadline', () => {
    it('ends the stream with a PLUGWIRE_TIMEOUT frame at the deadline, and returns the iterator and aborts its signal', async () => {
      const deadline = new Date(Date.now() + 400).toISOString();
      const res = await call('/ticks', 'deadline', STREAMING, deadline);
      expect(res.status).toBe(200);
      const frames = framesOf(res);
      expect(frames.length).toBeGreaterThan(2);
      expect(frames.at(-1)).toEqual({ error: { code: 'PLUGWIRE_TIMEOUT', message: 'context deadline exceeded' } });
      expect(frames.slice(0, -1).every((frame) => typeof (frame as { item?: unknown }).item === 'number')).toBe(true);
      const run = runs.get('deadline')!;
      await within(run.finished, 2000, 'the iterator to end');
      expect(run.abortedAt).toBeDefined();
    });

    it('answers 504 as a unary call when the deadline passes before the first item', async () => {
      const res = await call('/lines', 1, STREAMING, new Date(Date.now() - 1000).toISOString());
      expect(res.status).toBe(504);
      expect(structured(res)).toEqual({ code: 'PLUGWIRE_TIMEOUT', message: 'context deadline exceeded' });
    });
  });

  describe('to a version 1 caller (no x-plugwire-stream: a Go host, curl)', () => {
    it('answers the whole stream as one JSON array', async () => {
      const res = await call('/lines', 2, {});
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['x-plugwire-stream']).toBeUndefined();
      expect(res.body).toBe('[{"n":1,"text":"line 1"},{"n":2,"text":"line 2"}]\n');
      expect((await call('/lines', 0, {})).body).toBe('[]\n');
      expect((await call('/sync', 3, V1)).body).toBe('[1,2,3]\n');
    });

    it('answers an error during the stream as an ordinary error answer, nothing of the items', async () => {
      const res = await call('/fail-after', 2, {});
      expect(res.status).toBe(500);
      expect(JSON.parse(res.body)).toBe('quota exceeded after 2');
    });

    it('answers 500 with a message and returns the iterator when the array would pass maxCollectedSize', async () => {
      const res = await call('/forever', 'collect', {});
      expect(res.status).toBe(500);
      expect(JSON.parse(res.body)).toBe('the stream of /forever is larger than maxCollectedSize (4096 bytes) as one JSON array: read it as a stream (x-plugwire-stream: 1)');
      await within(runs.get('collect')!.finished, 2000, 'the iterator to be returned');
      const structuredRes = await call('/forever', 'collect2', V1);
      expect(structured(structuredRes)).toMatchObject({ code: 'PLUGWIRE_PROTOCOL' });
    });
  });

  it('publishes the served-call message when the stream ends', async () => {
    const ended: Array<{ route: string; status?: number; error?: unknown }> = [];
    const onEnd = (message: unknown): void => {
      ended.push(message as { route: string; status?: number });
    };
    subscribe('plugwire:serve:call:end', onEnd);
    try {
      const res = await call('/fail-after', 2);
      expect(res.status).toBe(200);
      await waitFor(() => ended.length > 0, 2000, 'the end message');
      expect(ended).toHaveLength(1);
      expect(ended[0]).toMatchObject({ route: '/fail-after', status: 200 });
      expect((ended[0]!.error as Error).message).toBe('quota exceeded after 2');
    } finally {
      unsubscribe('plugwire:serve:call:end', onEnd);
    }
  });

  it('marks stream methods in the manifest, and only them', async () => {
    const res = await rawRequest(socket, { method: 'GET', path: '/.plugwire/manifest?schemas=false' });
    const manifest = JSON.parse(res.body) as { methods: Array<{ route: string; stream?: boolean }> };
    const byRoute = new Map(manifest.methods.map((m) => [m.route, m]));
    expect(byRoute.get('/lines')).toMatchObject({ stream: true, result: { type: 'Line' } });
    expect(byRoute.get('/forever')?.stream).toBe(true);
    expect('stream' in byRoute.get('/unary')!).toBe(false);
  });
});
