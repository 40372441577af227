/**
 * Pipelined requests on one connection (valid HTTP/1.1, common in proxies and tools)
 * from a raw client against a plugin process (issue 12, item 6): the answers go out in
 * request order, whatever each request's fate, and none is lost to another's linger.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { cleanUp, envelope, post, rawConnection, startAttackPlugin, type AttackPlugin } from '../support/attack-process';

let plugin: AttackPlugin;

beforeAll(async () => {
  plugin = await startAttackPlugin();
});

afterAll(cleanUp);

/** The status codes of the answers in a raw byte stream, in the order they came. */
function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

describe('pipelined requests', () => {
  it('are answered in request order: a slow call, a missing route, a fast call', async () => {
    const connection = await rawConnection(plugin.socket, post('/wait', envelope(300)) + post('/missing', envelope(null)) + post('/ping', envelope(null)));
    await connection.waitFor('"pong"\n');
    const text = connection.received().toString('latin1');
    expect(statuses(text)).toEqual([200, 404, 200]);
    expect(text.indexOf('"waited:300"')).toBeLessThan(text.indexOf('method not found'));
    connection.socket.destroy();
  });

  it('keep an early answer (its body not sent yet) and the slow one before it: the linger starts once the early answer is out', async () => {
    // /wait takes longer than the 1 s a lingering connection may stay silent.
    const early = 'POST /missing HTTP/1.1\r\nHost: p\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"Payload":';
    const connection = await rawConnection(plugin.socket, post('/wait', envelope(1500)) + early);
    await connection.waitFor('method not found');
    const text = connection.received().toString('latin1');
    expect(statuses(text)).toEqual([200, 404]);
    expect(text).toContain('"waited:1500"\n');
    // then, the client still silent, the connection is closed
    await connection.closed;
  });

  it('answer a malformed request (400) after the answers of the requests before it', async () => {
    const connection = await rawConnection(plugin.socket, `${post('/wait', envelope(300))}BROKEN REQUEST\r\n\r\n`);
    await connection.waitFor('bad request');
    const text = connection.received().toString('latin1');
    expect(statuses(text)).toEqual([200, 400]);
    expect(text.indexOf('"waited:300"')).toBeLessThan(text.indexOf('HTTP/1.1 400 '));
    connection.socket.destroy();
  });

  it('answer a body broken off in a chunk (400) after the answer of the request before it', async () => {
    const broken = 'POST /ping HTTP/1.1\r\nHost: p\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n';
    const connection = await rawConnection(plugin.socket, post('/wait', envelope(300)) + broken);
    await connection.waitFor('bad request');
    const text = connection.received().toString('latin1');
    expect(statuses(text)).toEqual([200, 400]);
    expect(text).toContain('"waited:300"\n');
    connection.socket.destroy();
  });

  it('answer a CONNECT after the answer of the request before it', async () => {
    const connection = await rawConnection(plugin.socket, `${post('/wait', envelope(300))}CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n`);
    await connection.waitFor('CONNECT not allowed');
    const text = connection.received().toString('latin1');
    expect(statuses(text)).toEqual([200, 405]);
    connection.socket.destroy();
  });

  it('leave the plugin serving', async () => {
    const connection = await rawConnection(plugin.socket, post('/ping', envelope(null)));
    await connection.waitFor('"pong"\n');
    connection.socket.destroy();
  });
});
