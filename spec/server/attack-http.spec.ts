/**
 * Smaller HTTP deviations of the plugin server found with curl and raw sockets (issue
 * 12, item 10): the order of the token check and `Expect`, HEAD and OPTIONS on the
 * manifest, unknown transfer codings, the Authorization scheme's case, and headers past
 * the header count limit. A real plugin process with a token.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';

import { cleanUp, envelope, exchange, post, rawConnection, startAttackPlugin, type AttackPlugin } from '../support/attack-process';

const TOKEN = 'b'.repeat(43);
const AUTH = `Authorization: Bearer ${TOKEN}\r\n`;
const MANIFEST = '/.plugwire/manifest';

function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/usr/bin/curl', ['-sS', ...args], { encoding: 'latin1' }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The status line's code of a raw answer. */
function status(answer: string): number {
  return Number(/^HTTP\/1\.1 (\d{3}) /.exec(answer)?.[1] ?? 0);
}

let plugin: AttackPlugin;

beforeAll(async () => {
  plugin = await startAttackPlugin({ token: TOKEN });
});

afterAll(cleanUp);

describe('Expect', () => {
  it('answers an unknown expectation without the token with 401, not 417', async () => {
    const answer = await exchange(plugin.socket, `POST /ping HTTP/1.1\r\nHost: p\r\nExpect: bogus\r\nContent-Length: 2\r\n\r\n{}`);
    expect(status(answer)).toBe(401);
    expect(answer).toMatch(/\r\nWWW-Authenticate: Bearer\r\n/i);
  });

  it('still answers an unknown expectation with the token with 417', async () => {
    const answer = await exchange(plugin.socket, `POST /ping HTTP/1.1\r\nHost: p\r\nExpect: bogus\r\n${AUTH}Content-Length: 2\r\n\r\n{}`);
    expect(status(answer)).toBe(417);
  });

  it.each([
    ['a second Expect field', 'Expect: 100-continue\r\nExpect: foo\r\n'],
    ['a second expectation in the field', 'Expect: 100-continue, foo\r\n'],
    ['100-continue twice', 'Expect: 100-continue\r\nExpect: 100-continue\r\n'],
  ])('answers 100-continue with %s with 417, and no 100 Continue', async (_what, fields) => {
    const body = envelope(null);
    const answer = await exchange(plugin.socket, `POST /ping HTTP/1.1\r\nHost: p\r\n${fields}${AUTH}Content-Length: ${body.length}\r\n\r\n${body}`);
    expect(answer).not.toMatch(/100 Continue/);
    expect(status(answer)).toBe(417);
  });

  it('takes 100-continue in any case', async () => {
    const body = envelope(null);
    const answer = await exchange(plugin.socket, `POST /ping HTTP/1.1\r\nHost: p\r\nExpect: 100-Continue\r\n${AUTH}Content-Length: ${body.length}\r\n\r\n${body}`);
    expect(answer).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
  });

  it.each([
    ['without the token', '/ping', '', 401],
    ['to a route that does not exist', '/missing', AUTH, 404],
    ['with a method other than POST', '/ping', AUTH, 405],
  ])('gives no 100 Continue to a request %s, only the final answer', async (_what, route, auth, code) => {
    const method = code === 405 ? 'PUT' : 'POST';
    const connection = await rawConnection(plugin.socket, `${method} ${route} HTTP/1.1\r\nHost: p\r\nExpect: 100-continue\r\n${auth}Content-Length: 40\r\n\r\n`);
    await connection.waitFor('\r\n\r\n');
    const answer = connection.received().toString('latin1');
    expect(answer).not.toMatch(/100 Continue/);
    expect(status(answer)).toBe(code);
    connection.socket.destroy();
  });

  it('gives 100 Continue to a request it will read, then its answer', async () => {
    const body = envelope(null);
    const connection = await rawConnection(plugin.socket, `POST /ping HTTP/1.1\r\nHost: p\r\nExpect: 100-continue\r\n${AUTH}Content-Length: ${body.length}\r\n\r\n`);
    await connection.waitFor('HTTP/1.1 100 Continue\r\n\r\n');
    connection.socket.write(body);
    await connection.waitFor('"pong"\n');
    expect(connection.received().toString('latin1')).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    connection.socket.destroy();
  });

  it('works with curl sending Expect: 100-continue', async () => {
    const result = await curl(['--unix-socket', plugin.socket, '-H', `Authorization: Bearer ${TOKEN}`, '-H', 'Expect: 100-continue', '-H', 'Content-Type: application/json', '--data-binary', envelope(null), 'http://p/ping']);
    expect(result).toMatchObject({ code: 0, stdout: '"pong"\n' });
  });
});

describe('the manifest', () => {
  it('answers HEAD as GET without a body', async () => {
    const get = await exchange(plugin.socket, `GET ${MANIFEST} HTTP/1.1\r\nHost: p\r\n${AUTH}Connection: close\r\n\r\n`);
    const head = await exchange(plugin.socket, `HEAD ${MANIFEST} HTTP/1.1\r\nHost: p\r\n${AUTH}Connection: close\r\n\r\n`);
    expect(status(head)).toBe(200);
    const length = /\r\nContent-Length: (\d+)\r\n/i.exec(get)?.[1];
    expect(length).toBeDefined();
    expect(head).toMatch(new RegExp(`\\r\\nContent-Length: ${length ?? ''}\\r\\n`, 'i'));
    expect(head.endsWith('\r\n\r\n')).toBe(true);
  });

  it('answers HEAD with curl -I', async () => {
    const result = await curl(['--unix-socket', plugin.socket, '-I', '-H', `Authorization: Bearer ${TOKEN}`, `http://p${MANIFEST}`]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('answers OPTIONS with the methods it allows', async () => {
    const answer = await exchange(plugin.socket, `OPTIONS ${MANIFEST} HTTP/1.1\r\nHost: p\r\n${AUTH}\r\n`);
    expect(status(answer)).toBe(204);
    const allow = /\r\nAllow: ([^\r]*)\r\n/i.exec(answer)?.[1]?.split(/, */) ?? [];
    expect(allow).toEqual(expect.arrayContaining(['GET', 'POST', 'HEAD']));
  });

  it('answers another method with 405 naming what it allows', async () => {
    const answer = await exchange(plugin.socket, `DELETE ${MANIFEST} HTTP/1.1\r\nHost: p\r\n${AUTH}\r\n`);
    expect(status(answer)).toBe(405);
    const allow = /\r\nAllow: ([^\r]*)\r\n/i.exec(answer)?.[1]?.split(/, */) ?? [];
    expect(allow).toEqual(expect.arrayContaining(['GET', 'POST', 'HEAD']));
  });

  it('still answers HEAD on a call route with 405 Allow: POST', async () => {
    const answer = await exchange(plugin.socket, `HEAD /ping HTTP/1.1\r\nHost: p\r\n${AUTH}\r\n`);
    expect(status(answer)).toBe(405);
    expect(answer).toMatch(/\r\nAllow: POST\r\n/i);
  });
});

describe('Transfer-Encoding', () => {
  it('answers a transfer coding it does not implement (gzip, chunked) with 501', async () => {
    const answer = await exchange(plugin.socket, `POST /ping HTTP/1.1\r\nHost: p\r\n${AUTH}Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`);
    expect(status(answer)).toBe(501);
  });

  it('still reads a chunked body', async () => {
    const body = envelope(null);
    const answer = await exchange(plugin.socket, `POST /ping HTTP/1.1\r\nHost: p\r\n${AUTH}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
    expect(status(answer)).toBe(200);
  });
});

describe('Authorization', () => {
  it.each(['bearer', 'BEARER', 'BeArEr'])('accepts the scheme written %s (case-insensitive)', async (scheme) => {
    const answer = await exchange(plugin.socket, post('/ping', envelope(null), { Authorization: `${scheme} ${TOKEN}`, Connection: 'close' }));
    expect(status(answer)).toBe(200);
  });

  it('refuses another scheme or another token', async () => {
    for (const value of [`Basic ${TOKEN}`, `Bearer ${'c'.repeat(43)}`, `Bearer${TOKEN}`, TOKEN]) {
      const answer = await exchange(plugin.socket, post('/ping', envelope(null), { Authorization: value, Connection: 'close' }));
      expect(status(answer)).toBe(401);
    }
  });

  it('does not drop an Authorization header that comes after 100 other headers silently', async () => {
    const others = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`X-Filler-${i}`, 'x']));
    const answer = await exchange(plugin.socket, post('/ping', envelope(null), { ...others, Authorization: `Bearer ${TOKEN}`, Connection: 'close' }));
    // Refused for what it is (too many headers), never as a caller without a token.
    expect(status(answer)).toBe(431);
  });

  it('accepts 100 headers in all', async () => {
    // post() adds Host, Content-Type and Content-Length: with these, 100.
    const others = Object.fromEntries(Array.from({ length: 95 }, (_, i) => [`X-Filler-${i}`, 'x']));
    const answer = await exchange(plugin.socket, post('/ping', envelope(null), { ...others, Authorization: `Bearer ${TOKEN}`, Connection: 'close' }));
    expect(status(answer)).toBe(200);
  });
});
