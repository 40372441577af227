/**
 * A method that answers after its caller's deadline, with a real socket: the caller gets
 * 504 (PLUGWIRE_TIMEOUT) whether the method returned or threw. A method that blocks the
 * event loop past the deadline returns before the deadline watch can fire: its result is
 * not the answer (PROTOCOL.md, statuses: 504 when the deadline passed before the method
 * answered). The same for a stream whose iterator ends past the deadline.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as path from 'node:path';

import { Method, Plugin, serve, stub, type PluginServer } from '../../lib';
import { rawRequest, type RawResponse } from '../support/raw-http';
import { removeDir, tempDir } from '../support/host-helpers';

/** Keeps the event loop busy for `ms`: no timer fires meanwhile. */
function block(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

@Plugin('blocking')
class Blocking {
  @Method('/returns')
  returns(ms: number): Promise<string> {
    return stub(ms);
  }

  @Method('/throws')
  throws(ms: number): Promise<string> {
    return stub(ms);
  }

  @Method('/items', { stream: true })
  items(ms: number): AsyncIterable<number> {
    return stub(ms);
  }
}

class BlockingImpl extends Blocking {
  override async returns(ms: number): Promise<string> {
    block(ms);
    return 'blocked';
  }

  override async throws(ms: number): Promise<string> {
    block(ms);
    throw new Error('blocked');
  }

  /** One item, then it blocks past the deadline and ends. */
  override async *items(ms: number): AsyncIterable<number> {
    yield 1;
    block(ms);
  }
}

const STRUCTURED = { 'x-plugwire-version': '1' };
const STREAMING = { ...STRUCTURED, 'x-plugwire-stream': '1' };
const TIMEOUT = { code: 'PLUGWIRE_TIMEOUT', message: 'context deadline exceeded' };

/** A call whose deadline is 100 ms away, to a method that blocks for 300 ms. */
function late(socket: string, route: string, headers: Record<string, string> = STRUCTURED): Promise<RawResponse> {
  const body = JSON.stringify({ Context: { Deadline: new Date(Date.now() + 100).toISOString() }, Payload: 300 });
  return rawRequest(socket, { path: route, headers, body });
}

describe('a method that answers after the deadline', () => {
  let dir: string;
  let socket: string;
  let server: PluginServer;

  beforeAll(async () => {
    dir = tempDir();
    socket = path.join(dir, 'blocking.sock');
    server = await serve(new BlockingImpl(), { socket, standalone: false, announce: false, logErrors: false });
  });
  afterAll(async () => {
    await server.close();
    removeDir(dir);
  });

  it.each([
    ['returns', '/returns'],
    ['throws', '/throws'],
  ])('is answered 504 when it %s', async (_what, route) => {
    const res = await late(socket, route);
    expect(res.status).toBe(504);
    expect(JSON.parse(JSON.parse(res.body) as string)).toEqual(TIMEOUT);
  });

  it('is answered 504 when its stream ends, to a version 1 caller', async () => {
    const res = await late(socket, '/items');
    expect(res.status).toBe(504);
    expect(JSON.parse(JSON.parse(res.body) as string)).toEqual(TIMEOUT);
  });

  it('ends its frame stream with the PLUGWIRE_TIMEOUT frame instead of the end frame', async () => {
    const res = await late(socket, '/items', STREAMING);
    expect(res.status).toBe(200);
    const frames = res.body.trim().split('\n').map((line) => JSON.parse(line) as unknown);
    expect(frames).toEqual([{ item: 1 }, { error: TIMEOUT }]);
  });
});
