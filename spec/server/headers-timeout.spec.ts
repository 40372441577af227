/**
 * When `headersTimeout` runs (docs/security.md, "Input limits"): Node's HTTP server counts it
 * from the connection while nothing has come, so a connection that sends nothing is
 * answered 408 after it; a request's first byte starts the count anew, so headers that
 * begin late get the whole of it from that byte. A real plugin process (the fuzz fixture)
 * on raw Unix-socket connections; `npm run build` first.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as path from 'node:path';

import { rawConnection } from '../support/attack-process';
import { fixture, removeDir, spawnNode, tempDir, within, type Spawned } from '../support/host-helpers';

const HEADERS_TIMEOUT = 1500;
/** The server checks its connections once a second at most (connectionsCheckingInterval). */
const CHECK = 1000;

let dir: string;
let plugin: Spawned;
let socket: string;

beforeAll(async () => {
  dir = tempDir();
  socket = path.join(dir, 'p.sock');
  plugin = spawnNode([fixture('server/fuzz-plugin')], {
    PLUGIN_SOCKET: socket,
    PLUGWIRE_LIFELINE_FD: '',
    FUZZ_SERVE_OPTIONS: JSON.stringify({ headersTimeout: HEADERS_TIMEOUT, requestTimeout: 10_000 }),
  });
  await within(plugin.line(/^plugin is ready$/), 10_000, 'the ready line');
}, 20_000);

afterAll(async () => {
  if (plugin.child.exitCode === null && plugin.child.signalCode === null) plugin.child.kill('SIGKILL');
  await plugin.exited;
  removeDir(dir);
});

/** The status code of a raw answer (0 for none). */
function status(answer: Buffer): number {
  return Number(/^HTTP\/1\.1 (\d{3}) /.exec(answer.toString('latin1'))?.[1] ?? 0);
}

describe('headersTimeout', () => {
  it('answers a connection that sends nothing with 408 once headersTimeout passed from the connection', async () => {
    const began = Date.now();
    const connection = await rawConnection(socket);
    const closed = await within(connection.closed, HEADERS_TIMEOUT + CHECK + 2000, 'the 408');
    const elapsed = Date.now() - began;
    expect(status(closed)).toBe(408);
    expect(elapsed).toBeGreaterThanOrEqual(HEADERS_TIMEOUT - 50);
    expect(elapsed).toBeLessThan(HEADERS_TIMEOUT + CHECK + 1000);
  }, 10_000);

  it('counts anew from the first byte of headers that begin late, then trickle', async () => {
    const began = Date.now();
    const connection = await rawConnection(socket);
    const request = Buffer.from('POST /ping HTTP/1.1\r\nHost: p\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    let written = 0;
    let firstByte = 0;
    // Silent for most of headersTimeout, then a byte every 100 ms.
    const timer = setTimeout(() => {
      firstByte = Date.now();
      const each = setInterval(() => {
        if (connection.socket.destroyed || written >= request.length) return clearInterval(each);
        connection.socket.write(request.subarray(written, ++written));
      }, 100);
      connection.socket.once('close', () => clearInterval(each));
    }, HEADERS_TIMEOUT * 0.8);
    try {
      const closed = await within(connection.closed, 2 * HEADERS_TIMEOUT + CHECK + 2000, 'the 408');
      const cut = Date.now();
      expect(status(closed)).toBe(408);
      expect(firstByte).toBeGreaterThan(0);
      // Well past headersTimeout from the connection: the first byte started the count again.
      expect(cut - firstByte).toBeGreaterThanOrEqual(HEADERS_TIMEOUT - 50);
      expect(cut - began).toBeGreaterThan(HEADERS_TIMEOUT + CHECK);
      expect(written).toBeLessThan(request.length);
    } finally {
      clearTimeout(timer);
      connection.socket.destroy();
    }
  }, 15_000);
});
