// Fault: a plugin that answers garbage. Every call ends with a coded error (PLUGWIRE_PROTOCOL,
// or PLUGWIRE_TIMEOUT for an answer that never ends) within its timeout: never a hang,
// never a restart of a plugin that is still there, never an unhandled rejection or an
// uncaught exception in the host. An answer that has begun is never sent again.
import * as path from 'node:path';
import { connect, type Connection, type ErrorCode } from '../../../lib';
import { FaultRaw } from '../../fixtures/faults/fault-contract';
import { codeOf, FAULT_CONFIG, rawStarter, timed, type Outcome } from '../../support/fault-helpers';
import { fixture, rejectionOf, removeDir, spawnNode, tempDir } from '../../support/host-helpers';

const TIMEOUT = 1000;
const MARGIN = 300;
const EARLY = 5;
const MAX_RESPONSE = 1024;

/** Route, what it does, the outcome, and how many times the request reaches the plugin. */
const GARBAGE: ReadonlyArray<readonly [string, string, ErrorCode, number]> = [
  ['/redirect', '302 with no body', 'PLUGWIRE_PROTOCOL', 1],
  ['/no-content', '204 with no body', 'PLUGWIRE_PROTOCOL', 1],
  ['/empty', '200 with an empty body', 'PLUGWIRE_PROTOCOL', 1],
  ['/not-json', '200 with a body that is not JSON', 'PLUGWIRE_PROTOCOL', 1],
  ['/error-object', '500 with a JSON object, not a string', 'PLUGWIRE_PROTOCOL', 1],
  ['/error-not-json', '500 with a body that is not JSON', 'PLUGWIRE_PROTOCOL', 1],
  ['/truncated', 'a body shorter than its Content-Length, then the connection closed', 'PLUGWIRE_PROTOCOL', 1],
  ['/cut-mid-answer', 'the connection destroyed after half a chunked body', 'PLUGWIRE_PROTOCOL', 1],
  ['/hangup', 'the connection destroyed inside the headers (sent twice: no answer had begun)', 'PLUGWIRE_PROTOCOL', 2],
  ['/reset', 'the connection destroyed without a byte (sent twice: no answer had begun)', 'PLUGWIRE_PROTOCOL', 2],
  ['/bad-status-line', 'a status line that is not HTTP', 'PLUGWIRE_PROTOCOL', 1],
  ['/bad-content-length', 'Content-Length: abc', 'PLUGWIRE_PROTOCOL', 1],
  // undici fails these with UND_ERR_SOCKET, as a broken connection: the plugin answered them all the same.
  ['/continue-unasked', 'an interim 100 Continue the host did not ask for, then 200', 'PLUGWIRE_PROTOCOL', 1],
  ['/switch-unasked', '101 Switching Protocols the host did not ask for', 'PLUGWIRE_PROTOCOL', 1],
  ['/invalid-chunk', 'a chunk size that is not hexadecimal', 'PLUGWIRE_PROTOCOL', 1],
  ['/huge-headers', '64 KiB of headers', 'PLUGWIRE_PROTOCOL', 1],
  ['/too-large-declared', `a Content-Length above maxResponseSize (${MAX_RESPONSE})`, 'PLUGWIRE_PROTOCOL', 1],
  ['/too-large-chunked', 'a chunked body above maxResponseSize', 'PLUGWIRE_PROTOCOL', 1],
  ['/fake-gzip', 'Content-Encoding: gzip on a body that is not gzip', 'PLUGWIRE_PROTOCOL', 1],
  ['/gzip-bomb', 'a gzip body that inflates beyond maxResponseSize', 'PLUGWIRE_PROTOCOL', 1],
  ['/never-ends', 'headers and a few bytes, then silence', 'PLUGWIRE_TIMEOUT', 1],
  ['/headers-then-silence', 'headers, then silence', 'PLUGWIRE_TIMEOUT', 1],
];

let dir: string;
let connection: Connection<FaultRaw>;

beforeAll(async () => {
  dir = tempDir();
  connection = await connect(FaultRaw, rawStarter().starter, {
    ...FAULT_CONFIG,
    timeout: TIMEOUT,
    maxResponseSize: MAX_RESPONSE,
    socket: path.join(dir, 'garbage.sock'),
  });
});

afterAll(async () => {
  await connection.term();
  removeDir(dir);
});

function expectOnTime(outcome: Outcome<unknown>, code: ErrorCode): void {
  if (code === 'PLUGWIRE_TIMEOUT') expect(outcome.ms).toBeGreaterThanOrEqual(TIMEOUT - EARLY);
  expect(outcome.ms).toBeLessThanOrEqual(TIMEOUT + MARGIN);
}

/** Runs fault-probe-host (a host process of its own) and parses its report. */
async function probe(args: readonly string[]): Promise<{ results: Map<string, { outcome: string; ms: number }>; lines: readonly string[]; stderr: string; code: number | null }> {
  const host = spawnNode([fixture('faults/fault-probe-host'), ...args]);
  const { code } = await host.exited;
  const results = new Map<string, { outcome: string; ms: number }>();
  for (const line of host.lines) {
    const match = /^result (\S+) (\S+) (\d+)$/.exec(line);
    if (match) results.set(match[1]!, { outcome: match[2]!, ms: Number(match[3]) });
  }
  return { results, lines: host.lines, stderr: host.stderr(), code };
}

describe('a plugin that answers garbage', () => {
  it.each(GARBAGE)('%s (%s) → %s, the request reaching the plugin %i time(s), no restart, and the next call works', async (route, _what, code, sends) => {
    const { client, plugin } = connection;
    const pid = client.pid;
    const before = await plugin.requests();

    const outcome = await timed(() => client.call(route));
    expect(codeOf(outcome)).toBe(code);
    expectOnTime(outcome, code);

    await expect(client.call('/ok')).resolves.toBe('fine');
    const after = await plugin.requests();
    expect((after[route] ?? 0) - (before[route] ?? 0)).toBe(sends);
    expect(client.pid).toBe(pid);
    expect(client.stats.restarts).toBe(0);
  });

  it.each([
    ['/continue-unasked', 'an interim 100 Continue it did not ask for: the host sends no Expect: 100-continue, and takes no 100 Continue; undici: bad response'],
    ['/switch-unasked', 'a 101 Switching Protocols it did not ask for; undici: bad upgrade'],
    ['/bad-status-line', 'undici: Response does not match the HTTP/1.1 protocol (Expected HTTP/, RTSP/ or ICE/)'],
  ])('%s: the error says the plugin answered with something that is not HTTP/1.1 to the host, and why', async (route, why) => {
    const error = await rejectionOf(connection.client.call(route));
    expect(error).toMatchObject({ code: 'PLUGWIRE_PROTOCOL', route });
    expect((error as Error).message).toBe(
      `plugin fault-raw-plugin answered ${route} with something that is not valid HTTP/1.1 for the host (${why}): it was not sent again, as the plugin had the request and may have run it`,
    );
  });

  it('all of them at once, among well-formed calls: each garbage call gets its own coded error on time, each well-formed call its own answer', async () => {
    const { client } = connection;
    const garbage = GARBAGE.map(([route]) => timed(() => client.call(route)));
    const fine = GARBAGE.map((_, i) => timed(() => client.call('/echo', `fine ${i}`)));
    const [g, f] = await Promise.all([Promise.all(garbage), Promise.all(fine)]);

    expect(g.map(codeOf)).toEqual(GARBAGE.map(([, , code]) => code));
    g.forEach((outcome, i) => expectOnTime(outcome, GARBAGE[i]![2]));
    expect(f.map((o) => ('value' in o ? o.value : codeOf(o)))).toEqual(GARBAGE.map((_, i) => `fine ${i}`));
    expect(client.stats.restarts).toBe(0);
  });

  describe('in a host process of its own', () => {
    it('a Content-Length above maxResponseSize: the call fails with PLUGWIRE_PROTOCOL and the host has no uncaught exception (it would crash a host without a handler)', async () => {
      const { results, lines, stderr, code } = await probe(['garbage', '/too-large-declared']);
      expect(code).toBe(0);
      expect(results.get('alone/too-large-declared')?.outcome).toBe('PLUGWIRE_PROTOCOL');
      expect(lines).toContain('uncaught 0');
      expect(stderr).toBe('');
    });

    it('every garbage answer, alone and all at once: the same coded errors, and no unhandled rejection, no uncaught exception, no warning', async () => {
      const { results, lines, stderr, code } = await probe(['garbage', ...GARBAGE.map(([route]) => route)]);
      expect(code).toBe(0);
      for (const [route, , expected] of GARBAGE) {
        expect([route, results.get(`alone${route}`)?.outcome]).toEqual([route, expected]);
        expect([route, results.get(`together${route}`)?.outcome]).toEqual([route, expected]);
      }
      GARBAGE.forEach((_, i) => expect(results.get(`together/echo-${i}`)?.outcome).toBe(`ok:"e${i}"`));
      expect(results.get('after/ok')?.outcome).toBe('ok:"fine"');
      expect(lines.filter((l) => /^(unhandled|uncaught|restarts) /.test(l) || l.startsWith('warning '))).toEqual(['restarts 0', 'unhandled 0', 'uncaught 0']);
      expect(stderr).toBe('');
    });
  });
});
