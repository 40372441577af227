/**
 * Pipelined calls whose connection closes before their answers are out, with a raw
 * client against an in-process server. Node emits 'close' only on the response that has
 * the socket, not on those queued behind it: the server must still release their calls,
 * abort their signals as for a caller that went away, and drop their answers, or they
 * stay in flight for good (memory, maxInFlight, a graceful close that waits its grace).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import * as path from 'node:path';

import { callContext, Method, Plugin, serve, stub, type PluginServer } from '../../lib';
import { envelope, post, rawConnection } from '../support/attack-process';
import { removeDir, tempDir, within } from '../support/host-helpers';

const STREAMING = { 'x-plugwire-version': '1', 'x-plugwire-stream': '1' };

/** A promise with its resolve function, for waiting on what a method does. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((ok) => (resolve = ok));
  return { promise, resolve };
}

/** What one run of a method did: it started, its signal fired (and why), its stream was returned. */
interface Run {
  readonly started: ReturnType<typeof deferred<void>>;
  readonly aborted: ReturnType<typeof deferred<unknown>>;
  readonly returned: ReturnType<typeof deferred<void>>;
}

const runs = new Map<string, Run>();

function runOf(name: string): Run {
  let run = runs.get(name);
  if (!run) {
    run = { started: deferred(), aborted: deferred(), returned: deferred() };
    runs.set(name, run);
  }
  return run;
}

/** Notes that the method runs, and when its signal fires. */
function watch(name: string): { run: Run; signal: AbortSignal } {
  const run = runOf(name);
  const { signal } = callContext();
  signal.addEventListener('abort', () => run.aborted.resolve(signal.reason), { once: true });
  run.started.resolve();
  return { run, signal };
}

@Plugin('pipelined')
class Pipelined {
  @Method('/hold')
  hold(name: string): Promise<string> {
    return stub(name);
  }

  @Method('/echo')
  echo(value: string): Promise<string> {
    return stub(value);
  }

  @Method('/items', { stream: true })
  items(name: string): AsyncIterable<number> {
    return stub(name);
  }
}

class PipelinedImpl extends Pipelined {
  /** Runs until its signal fires. */
  override hold(name: string): Promise<string> {
    const { signal } = watch(name);
    return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
  }

  override async echo(value: string): Promise<string> {
    return value;
  }

  /** Yields as long as it is pulled: a response without the socket buffers its items until it holds more than it wants. */
  override async *items(name: string): AsyncIterable<number> {
    const { run } = watch(name);
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      run.returned.resolve();
    }
  }
}

/** Resolves once `count` calls have ended (published on `plugwire:serve:call:end`). */
function callsEnded(count: number): Promise<void> {
  let ended = 0;
  return new Promise((resolve) => {
    const onEnd = (): void => {
      if (++ended < count) return;
      unsubscribe('plugwire:serve:call:end', onEnd);
      resolve();
    };
    subscribe('plugwire:serve:call:end', onEnd);
  });
}

/** The reason a signal fired with: its message. */
function messageOf(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

describe('pipelined calls whose connection closes before their answers are out', () => {
  let dir: string;
  let socket: string;
  let server: PluginServer;
  /** The server's side of each connection, as it was accepted. */
  const accepted: Socket[] = [];

  beforeAll(async () => {
    dir = tempDir();
    socket = path.join(dir, 'pipelined.sock');
    // A grace longer than any test: a call left in flight makes close() wait for it.
    server = await serve(new PipelinedImpl(), { socket, standalone: false, announce: false, grace: 10_000 });
    // Node's HTTP server is not part of the API: reached here only to look at its sockets.
    (server as unknown as { server: Server }).server.on('connection', (connection: Socket) => accepted.push(connection));
  });

  beforeEach(() => {
    accepted.length = 0;
  });

  afterAll(async () => {
    await within(server.close(), 5000, 'the server to close');
    removeDir(dir);
  });

  it('are released and aborted as calls whose caller went away, answered ones and running ones alike', async () => {
    // /hold first has the socket; the three /echo answers and the second /hold wait behind it.
    const ended = callsEnded(5);
    const connection = await rawConnection(socket, post('/hold', envelope('first')) + post('/echo', envelope('a')).repeat(3) + post('/hold', envelope('queued')));
    await within(Promise.all([runOf('first').started.promise, runOf('queued').started.promise]), 5000, 'both held calls to run');
    expect(server.inflight).toBe(5);

    connection.socket.destroy();
    expect(messageOf(await within(runOf('first').aborted.promise, 5000, 'the signal of the call that had the socket'))).toBe('the caller went away');
    expect(messageOf(await within(runOf('queued').aborted.promise, 5000, 'the signal of the queued call'))).toBe('the caller went away');
    await within(ended, 5000, 'every call to end');
    expect(server.inflight).toBe(0);
  });

  it('return a queued frame stream and abort its signal', async () => {
    const ended = callsEnded(2);
    const connection = await rawConnection(socket, post('/hold', envelope('before-stream')) + post('/items', envelope('stream'), STREAMING));
    await within(Promise.all([runOf('before-stream').started.promise, runOf('stream').started.promise]), 5000, 'the held call and the stream to run');

    connection.socket.destroy();
    await within(runOf('stream').returned.promise, 5000, 'the queued stream to be returned');
    expect(messageOf(await within(runOf('stream').aborted.promise, 5000, 'the signal of the queued stream'))).toBe('the caller went away');
    await within(ended, 5000, 'both calls to end');
    expect(server.inflight).toBe(0);
  });

  it('leave a kept-alive connection with the listeners it had, however many pipelined calls it serves', async () => {
    const connection = await rawConnection(socket);
    const round = async (n: number): Promise<void> => {
      const answers = deferred<void>();
      const marker = `"done-${n}"\n`;
      connection.socket.write(post('/echo', envelope(`x-${n}`)).repeat(3) + post('/echo', envelope(`done-${n}`)));
      const check = (): void => {
        if (connection.received().includes(marker)) answers.resolve();
      };
      connection.socket.on('data', check);
      check();
      await within(answers.promise, 5000, `the answers of round ${n}`);
      connection.socket.off('data', check);
    };
    const listeners = (connection: Socket): number => connection.eventNames().reduce((sum, name) => sum + connection.listenerCount(name), 0);

    await round(0);
    const [own] = accepted;
    expect(own).toBeDefined();
    const before = listeners(own as Socket);
    for (let n = 1; n <= 300; n++) await round(n);
    expect(listeners(own as Socket)).toBe(before);
    connection.socket.destroy();
  });

  it('leave the server closing at once, nothing in flight', async () => {
    const own = path.join(dir, 'closing.sock');
    const closing = await serve(new PipelinedImpl(), { socket: own, standalone: false, announce: false, grace: 10_000 });
    const ended = callsEnded(3);
    const connection = await rawConnection(own, post('/hold', envelope('closing')) + post('/echo', envelope('b')).repeat(2));
    await within(runOf('closing').started.promise, 5000, 'the held call to run');
    connection.socket.destroy();
    await within(ended, 5000, 'every call to end');
    await within(closing.close(), 2000, 'the server to close without waiting its grace');
  });
});
