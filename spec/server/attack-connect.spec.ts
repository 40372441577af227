/**
 * A `CONNECT` request from a raw client against a standalone plugin process (issue 12,
 * item 1): it must neither crash the plugin nor be answered before the token check.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { rawConnection, cleanUp, envelope, exchange, post, startAttackPlugin } from '../support/attack-process';

const TOKEN = 'a'.repeat(43);
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const CONNECT = 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n';

afterEach(cleanUp);

describe('a CONNECT request to a plugin', () => {
  it('does not kill the plugin when the client closes at once', async () => {
    const plugin = await startAttackPlugin({ token: TOKEN });
    for (let i = 0; i < 20; i++) {
      const connection = await rawConnection(plugin.socket, CONNECT);
      connection.socket.destroy();
      await connection.closed;
    }
    // still serving, never crashed
    const answer = await exchange(plugin.socket, post('/ping', envelope(null), AUTH));
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer.endsWith('"pong"\n')).toBe(true);
    expect(plugin.child.exitCode).toBeNull();
    expect(plugin.stderr.join('\n')).not.toMatch(/EPIPE|Unhandled/);
  });

  it('answers 401 without the token, before anything about the method', async () => {
    const plugin = await startAttackPlugin({ token: TOKEN });
    const answer = await exchange(plugin.socket, CONNECT);
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer).toMatch(/\r\nWWW-Authenticate: Bearer\r\n/i);
    expect(answer).not.toMatch(/CONNECT/);
  });

  it('answers 405 with a JSON string to a CONNECT that carries the token', async () => {
    const plugin = await startAttackPlugin({ token: TOKEN });
    const answer = await exchange(plugin.socket, `CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 405 /);
    expect(answer).toMatch(/\r\nAllow: POST\r\n/i);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatch(/CONNECT not allowed/);
  });
});
