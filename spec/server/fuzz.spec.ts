/**
 * serve() under random requests: property-based tests (fast-check) that send a live plugin
 * process (spec/fixtures/server/fuzz-plugin.ts, spawned with PLUGIN_SOCKET and --expose-gc, as a
 * Go host would) random HTTP requests over raw Unix-socket connections, and check that
 * every request gets a well-formed answer from the documented set, that the plugin keeps
 * serving, that nothing reaches Object.prototype, that memory stays bounded, and that the
 * serve() limits hold. Needs `npm run build` first (the fixture runs from dist/).
 *
 * The random space is split: requests whose HTTP message is whole (or refused at its
 * headers) must be answered; requests broken after their headers must at least be cut off
 * (never left hanging). Inputs that fail today are pinned by fixed cases of their own
 * ("requests the fuzzing left out, because they fail today"), so that one known failure
 * does not hide others: a missing Host, an Expect other than 100-continue, CONNECT, a
 * nested Deadline, errors with a non-string message, and requests big enough to still be
 * on their way when the plugin answers early (headers are kept under 40 kB and bodies
 * under the limit in the properties; the tests that send more tolerate a lost 413).
 *
 * The hostile shapes of issue 15 that fit a property have one each: payloads nested around
 * the 1000-level limit, floods of header fields and bytes, bursts of connections that open
 * and close. Those that take time (headers or a body sent a byte at a time, a body that
 * never ends) are fixed cases, here and in attack-input.spec.ts.
 *
 * FUZZ_SEED=<n> replays a run; FUZZ_SCALE=<k> multiplies the number of runs.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import * as path from 'node:path';
import fc from 'fast-check';

import { MAX_NESTING } from '../../lib/protocol/envelope';
import type { MemoryReport, PollutionReport } from '../fixtures/contracts/fuzz-contract';
import {
  authArb,
  authHeaders,
  brokenFramingArb,
  deepArb,
  DEFAULT_MAX_BODY,
  describeOutcome,
  describeRequest,
  encodeRequest,
  envelopeText,
  exchange,
  extraHeadersArb,
  failArb,
  framingArb,
  headerOf,
  hostArb,
  hugeArb,
  invalidUtf8Arb,
  isTruncated,
  malformedArb,
  methodArb,
  pollutionArb,
  RawConnection,
  targetArb,
  validCallArb,
  versionArb,
  wrongTypeArb,
  type BodyCase,
  type Framing,
  type HttpAnswer,
  type Outcome,
  type WireRequest,
} from '../support/fuzz-arbitraries';
import { fixture, removeDir, spawnNode, tempDir, waitFor, within, type Spawned } from '../support/host-helpers';

/** The statuses a plugwire plugin answers with (docs/PROTOCOL.md). */
// 503: past maxInFlight (1000 calls at once), which the fuzz does not reach; documented all the same.
const DOCUMENTED = [200, 204, 400, 401, 404, 405, 408, 413, 417, 422, 431, 500, 501, 503, 504];
const MB = 1024 * 1024;
/** The plugin's limit on the request line and headers together (docs/security.md). */
const HEADER_BYTES = 16 * 1024;

/**
 * The header bytes of a request as Node's HTTP parser counts them against maxHeaderSize: the
 * request target and every field's name and value, without the method, the version, the
 * `: ` and the line ends (which add 4 bytes a field to the request's own length: with 87
 * fields, a head of 16,745 bytes still passes a limit of 16 KiB).
 */
function headerBytesAsNodeCounts(request: Buffer): number {
  const head = request.subarray(0, request.indexOf('\r\n\r\n')).toString('latin1');
  const [requestLine = '', ...fields] = head.split('\r\n');
  const target = requestLine.split(' ')[1] ?? '';
  return fields.reduce((sum, line) => {
    const colon = line.indexOf(':');
    return sum + colon + line.slice(colon + 1).trim().length;
  }, target.length);
}

const SCALE = Number(process.env['FUZZ_SCALE'] ?? '1') || 1;
const SEED = process.env['FUZZ_SEED'];

/**
 * fast-check parameters: `numRuns` (times FUZZ_SCALE), the FUZZ_SEED if set, and a time
 * limit, so that shrinking a failure against a live process cannot outlast the test.
 */
function runs<T>(numRuns: number, limitMs = 30_000): fc.Parameters<T> {
  return {
    numRuns: Math.max(1, Math.round(numRuns * SCALE)),
    plugins: [fc.interruptAfterTimeLimit(limitMs * SCALE, { failOnInterrupt: true }) as fc.Plugin<T>],
    ...(SEED ? { seed: Number(SEED) } : {}),
  };
}

// ---------------------------------------------------------------------------------------
// The plugin process
// ---------------------------------------------------------------------------------------

interface FuzzPlugin {
  readonly socket: string;
  readonly token: string | undefined;
  readonly process: Spawned;
}

/** Spawns the fixture with `--expose-gc` and waits for its ready line. */
async function startPlugin(dir: string, name: string, options: { token?: string; limits?: Record<string, number> } = {}): Promise<FuzzPlugin> {
  const socket = path.join(dir, `${name}.sock`);
  const spawned = spawnNode(['--expose-gc', fixture('server/fuzz-plugin')], {
    PLUGIN_SOCKET: socket,
    PLUGWIRE_TOKEN: options.token ?? '',
    PLUGWIRE_LIFELINE_FD: '',
    FUZZ_SERVE_OPTIONS: options.limits ? JSON.stringify(options.limits) : '',
  });
  try {
    await within(spawned.line(/^plugin is ready$/), 10_000, `the ready line of ${name}`);
  } catch (error) {
    spawned.child.kill('SIGKILL');
    await spawned.exited;
    throw error;
  }
  return { socket, token: options.token, process: spawned };
}

function running(plugin: FuzzPlugin): boolean {
  return plugin.process.child.exitCode === null && plugin.process.child.signalCode === null;
}

async function stopPlugin(plugin: FuzzPlugin | undefined): Promise<void> {
  if (!plugin) return;
  if (running(plugin)) plugin.process.child.kill('SIGTERM');
  await within(plugin.process.exited, 10_000, 'the plugin to exit');
}

/** Lines the plugin logged as unexpected server failures (its pipeline threw), since `from`. */
function unexpectedFailures(plugin: FuzzPlugin, from = 0): string[] {
  return plugin.process
    .stderr()
    .slice(from)
    .split('\n')
    .filter((line) => line.startsWith('plugwire: unexpected failure'));
}

// ---------------------------------------------------------------------------------------
// Requests and answers
// ---------------------------------------------------------------------------------------

/** A well-behaved request (Host, token, JSON content type, exact Content-Length) with the given pieces. */
function wellBehaved(plugin: FuzzPlugin, target: string, body: Buffer | string, more: Partial<WireRequest> = {}): WireRequest {
  const auth: Array<[string, string]> = plugin.token ? [['Authorization', `Bearer ${plugin.token}`]] : [];
  return {
    method: 'POST',
    target,
    version: 'HTTP/1.1',
    headers: [['Host', 'plugin'], ...auth, ['Content-Type', 'application/json']],
    framing: { kind: 'length', padded: false },
    body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
    ...more,
  };
}

function send(plugin: FuzzPlugin, request: WireRequest, options: { timeoutMs?: number } = {}): Promise<Outcome> {
  return exchange(plugin.socket, encodeRequest(request), { head: request.method === 'HEAD', halfClose: isTruncated(request.framing), timeoutMs: 5000, ...options });
}

/** Why an outcome is not a well-formed answer from the documented set; undefined when it is one. */
function problemWith(outcome: Outcome, head: boolean): string | undefined {
  if (outcome.kind !== 'answer') return `no answer: the connection was ${outcome.kind === 'closed' ? 'closed' : 'left open and silent'}`;
  const { answer } = outcome;
  if (!DOCUMENTED.includes(answer.status)) return `status ${answer.status} is not one of ${DOCUMENTED.join(', ')}`;
  if (answer.status === 401 && headerOf(answer, 'www-authenticate') !== 'Bearer') return '401 without WWW-Authenticate: Bearer';
  // A call route allows POST only; the plugin's own routes (the manifest, the health check) more, POST among them.
  if (answer.status === 405 && !(headerOf(answer, 'allow') ?? '').split(/,\s*/).includes('POST')) return '405 without POST in Allow';
  // A HEAD answer has no body, nor has a 204 (OPTIONS on the manifest or the health route).
  if (head || answer.status === 204) return undefined;
  const body = answer.body.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return `the body is not JSON`;
  }
  if (!body.endsWith('\n')) return 'the body does not end with a newline';
  if (answer.status === 200) return undefined;
  if (typeof value !== 'string') return `the error body is JSON but not a JSON string`;
  if (headerOf(answer, 'x-plugwire-error') === '1') {
    try {
      const wire = JSON.parse(value) as { code?: unknown; message?: unknown };
      if (typeof wire.code !== 'string' || typeof wire.message !== 'string') return 'the structured error lacks a string code or message';
    } catch {
      return 'x-plugwire-error: 1, but the JSON string does not hold JSON';
    }
  }
  return undefined;
}

/** Fails (with the request and what came back) unless the outcome is a well-formed answer; returns it. */
function expectAnswer(outcome: Outcome, request: WireRequest): HttpAnswer {
  const problem = problemWith(outcome, request.method === 'HEAD');
  if (problem !== undefined || outcome.kind !== 'answer') {
    throw new Error(`${problem ?? 'no answer'}\n  request: ${describeRequest(request)}\n  outcome: ${describeOutcome(outcome)}`);
  }
  return outcome.answer;
}

/** Fails unless the plugin process still runs and answers a good call. */
async function expectServing(plugin: FuzzPlugin): Promise<void> {
  if (!running(plugin)) throw new Error(`the plugin exited (${plugin.process.child.exitCode ?? plugin.process.child.signalCode}); stderr: ${plugin.process.stderr().slice(-2000)}`);
  const request = wellBehaved(plugin, '/ping', envelopeText('null'));
  const answer = expectAnswer(await send(plugin, request), request);
  if (answer.status !== 200 || answer.body.toString() !== '"pong"\n') throw new Error(`a good call after the run got ${describeOutcome({ kind: 'answer', answer })}`);
}

/** Calls a zero-parameter report route and returns its JSON. */
async function report<T>(plugin: FuzzPlugin, route: '/polluted' | '/memory'): Promise<T> {
  const request = wellBehaved(plugin, route, envelopeText('null'));
  const answer = expectAnswer(await send(plugin, request, { timeoutMs: 20_000 }), request);
  expect(answer.status).toBe(200);
  return JSON.parse(answer.body.toString('utf8')) as T;
}

/** Fails if the plugin logged an unexpected failure since `from` (its pipeline threw instead of answering). */
function expectNoUnexpectedFailure(plugin: FuzzPlugin, from: number, request?: WireRequest): void {
  const failures = unexpectedFailures(plugin, from);
  if (failures.length > 0) throw new Error(`the plugin logged: ${failures.join(' | ')}${request ? `\n  request: ${describeRequest(request)}` : ''}`);
}

/** Checks an answer against what a case fixes (status, and body unless the error is structured). */
function expectAsCaseSays(answer: HttpAnswer, c: BodyCase, structured: boolean): void {
  if (!c.expect) return;
  const body = answer.body.toString('utf8');
  if (answer.status !== c.expect.status || (c.expect.body !== undefined && (!structured || answer.status === 200) && body !== c.expect.body)) {
    const shown = body.length > 300 ? `${body.slice(0, 300)}… (${body.length} chars)` : body;
    throw new Error(`${c.kind} on ${c.route}: expected ${c.expect.status}${c.expect.body !== undefined ? ` ${JSON.stringify(c.expect.body.slice(0, 300))}` : ''}, got ${answer.status} ${JSON.stringify(shown)}`);
  }
}

const V1: [string, string] = ['x-plugwire-version', '1'];

/**
 * The plugin answered early (413) and closed the connection while the client was still
 * sending, and the client's write failed before it read the answer: the known failure
 * pinned by "goes on reading a request it answered early". Tests about other things
 * tolerate it.
 */
function lostEarlyAnswer(outcome: Outcome): boolean {
  return outcome.kind === 'closed' && outcome.received.length === 0 && (outcome.error === 'EPIPE' || outcome.error === 'ECONNRESET');
}

// ---------------------------------------------------------------------------------------

describe('serve() under random requests (fast-check, a live plugin process)', () => {
  let dir: string;

  beforeAll(() => {
    dir = tempDir();
  });

  afterAll(() => {
    removeDir(dir);
  });

  describe('a plugin with the default limits and an access token', () => {
    const token = randomBytes(32).toString('base64url');
    let plugin: FuzzPlugin;
    let baseline: MemoryReport;

    beforeAll(async () => {
      plugin = await startPlugin(dir, 'defaults', { token });
      // warm up (JIT, class-validator metadata, buffers) before taking the memory baseline
      for (let i = 0; i < 50; i++) await expectServing(plugin);
      const order = wellBehaved(plugin, '/order', envelopeText('{"name":"n","quantity":1,"address":{"city":"c"}}'));
      for (let i = 0; i < 20; i++) expectAnswer(await send(plugin, order), order);
      baseline = await report<MemoryReport>(plugin, '/memory');
      expect(baseline.gc).toBe(true);
    }, 30_000);

    afterAll(async () => {
      await stopPlugin(plugin);
    });

    it('answers random methods, request targets and HTTP versions with a well-formed answer from the documented set, and keeps serving', async () => {
      const from = plugin.process.stderr().length;
      await fc.assert(
        fc.asyncProperty(methodArb, targetArb, versionArb, async (method, target, version) => {
          const request = wellBehaved(plugin, target, envelopeText('"x"'), { method, version });
          expectAnswer(await send(plugin, request), request);
          await expectServing(plugin);
        }),
        runs(1000),
      );
      expectNoUnexpectedFailure(plugin, from);
    }, 45_000);

    it('answers random headers (duplicates, huge values, odd content types, bogus lengths, chunked) with a well-formed answer, and keeps serving', async () => {
      const from = plugin.process.stderr().length;
      const requestArb = fc
        .tuple(validCallArb, hostArb, authArb, extraHeadersArb)
        .chain(([c, host, auth, extra]) => fc.tuple(fc.constant(c), fc.constant(host), fc.constant(auth), fc.constant(extra), framingArb(c.body.length)));
      await fc.assert(
        fc.asyncProperty(requestArb, async ([c, host, auth, extra, framing]) => {
          const request: WireRequest = { ...wellBehaved(plugin, c.route, c.body), headers: [...host, ...authHeaders(auth, token), ...extra], framing };
          const answer = expectAnswer(await send(plugin, request), request);
          if ((auth === 'missing' || auth === 'wrong') && answer.status === 200) throw new Error(`answered 200 without the right token: ${describeRequest(request)}`);
          await expectServing(plugin);
        }),
        runs(800),
      );
      expectNoUnexpectedFailure(plugin, from);
    }, 45_000);

    it('answers random bodies (valid calls, wrong types, malformed JSON, invalid UTF-8, 100,000 levels of nesting, megabytes) as documented, and keeps serving', async () => {
      const from = plugin.process.stderr().length;
      const caseArb = fc.oneof(
        { weight: 6, arbitrary: validCallArb },
        { weight: 4, arbitrary: wrongTypeArb },
        { weight: 3, arbitrary: malformedArb },
        { weight: 2, arbitrary: invalidUtf8Arb },
        { weight: 2, arbitrary: deepArb },
        { weight: 1, arbitrary: hugeArb },
        { weight: 1, arbitrary: failArb },
      );
      const requestArb = caseArb.chain((c) =>
        fc.tuple(
          fc.constant(c),
          fc.oneof(
            { weight: 4, arbitrary: fc.constant<Framing>({ kind: 'length', padded: false }) },
            { weight: 1, arbitrary: fc.integer({ min: 1, max: 65_536 }).map((size): Framing => ({ kind: 'chunked', size: Math.max(size, Math.ceil(c.body.length / 2000)), extension: false, trailer: false })) },
          ),
          fc.boolean(),
        ),
      );
      await fc.assert(
        fc.asyncProperty(requestArb, async ([c, framing, structured]) => {
          const base = wellBehaved(plugin, c.route, c.body, { framing });
          const request = structured ? { ...base, headers: [...base.headers, V1] } : base;
          const mark = plugin.process.stderr().length;
          const answer = expectAnswer(await send(plugin, request, { timeoutMs: 15_000 }), request);
          expectAsCaseSays(answer, c, structured);
          expectNoUnexpectedFailure(plugin, mark, request);
          await expectServing(plugin);
        }),
        runs(250),
      );
      expectNoUnexpectedFailure(plugin, from);
    }, 60_000);

    it('never pollutes Object.prototype or the DTO classes, and hands /order real DTO instances, whatever __proto__ / constructor / prototype keys the JSON has', async () => {
      const before = await report<PollutionReport>(plugin, '/polluted');
      await fc.assert(
        fc.asyncProperty(pollutionArb, fc.boolean(), async (c, structured) => {
          const base = wellBehaved(plugin, c.route, c.body);
          const request = structured ? { ...base, headers: [...base.headers, V1] } : base;
          expectAnswer(await send(plugin, request), request);
          const state = await report<PollutionReport>(plugin, '/polluted');
          if (state.changed.length > 0 || state.polluted || state.anomalies.length > 0) {
            throw new Error(`after ${describeRequest(request)}: ${JSON.stringify(state)}`);
          }
          await expectServing(plugin);
        }),
        runs(500),
      );
      const after = await report<PollutionReport>(plugin, '/polluted');
      expect(after).toEqual({ changed: [], polluted: false, anomalies: [], orders: expect.any(Number) });
      // the DTO method did run on such payloads: the check above is not vacuous
      expect(after.orders - before.orders).toBeGreaterThanOrEqual(10);
    }, 45_000);

    it('cuts off requests broken after their headers (short, missing or too long Content-Length, broken or unfinished chunks, Transfer-Encoding: gzip) instead of hanging, and keeps serving', async () => {
      const requestArb = validCallArb.chain((c) => fc.tuple(fc.constant(c), brokenFramingArb(c.body.length)));
      await fc.assert(
        fc.asyncProperty(requestArb, async ([c, framing]) => {
          const request = wellBehaved(plugin, c.route, c.body, { framing });
          const outcome = await send(plugin, request, { timeoutMs: 5000 });
          if (outcome.kind === 'silent') throw new Error(`neither answered nor closed within 5 s: ${describeRequest(request)}`);
          // an answer, if any, is well-formed
          if (outcome.kind === 'answer') expectAnswer(outcome, request);
          else if (outcome.received.length > 0) throw new Error(`closed after a partial or malformed answer: ${describeOutcome(outcome)}\n  request: ${describeRequest(request)}`);
          await expectServing(plugin);
        }),
        runs(200),
      );
    }, 45_000);

    // The shapes of issue 15's hostile input that fit a property (the ones that take time,
    // headers or a body sent a byte at a time, are in attack-input.spec.ts).
    it('answers payloads nested around the 1000-level limit, in arrays and objects, with 200 up to it and 422 past it', async () => {
      const from = plugin.process.stderr().length;
      // depth of the payload (the envelope adds one), and which levels are objects
      const nestingArb = fc.tuple(fc.oneof(fc.integer({ min: MAX_NESTING - 20, max: MAX_NESTING + 20 }), fc.integer({ min: 1, max: 3 * MAX_NESTING })), fc.integer({ min: 0, max: 7 }));
      await fc.assert(
        fc.asyncProperty(nestingArb, fc.boolean(), async ([depth, pattern], structured) => {
          const object = (level: number): boolean => pattern !== 0 && level % (pattern + 1) === 0;
          let json = '1';
          for (let level = depth; level > 0; level--) json = object(level) ? `{"k":${json}}` : `[${json}]`;
          const base = wellBehaved(plugin, '/raw', envelopeText(json));
          const request = structured ? { ...base, headers: [...base.headers, V1] } : base;
          const answer = expectAnswer(await send(plugin, request), request);
          const expected = depth + 1 > MAX_NESTING ? 422 : 200;
          if (answer.status !== expected || (expected === 200 && answer.body.toString('utf8') !== `${json}\n`)) {
            throw new Error(`a payload ${depth} levels deep: expected ${expected}, got ${describeOutcome({ kind: 'answer', answer })}`);
          }
        }),
        runs(150),
      );
      expectNoUnexpectedFailure(plugin, from);
      await expectServing(plugin);
    }, 45_000);

    it('answers floods of header fields and header bytes with 431 past 100 fields or 16 KiB, and serves the rest', async () => {
      const from = plugin.process.stderr().length;
      const floodArb = fc.tuple(fc.oneof(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 5000 })), fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constant(0)));
      await fc.assert(
        fc.asyncProperty(floodArb, async ([count, size]) => {
          const base = wellBehaved(plugin, '/ping', envelopeText('null'));
          const request = { ...base, headers: [...base.headers, ...Array.from({ length: count }, (_, i): [string, string] => [`X-Flood-${i}`, 'v'.repeat(size)])] };
          const fields = request.headers.length + 1; // Content-Length
          const bytes = headerBytesAsNodeCounts(encodeRequest(request));
          const answer = expectAnswer(await send(plugin, request), request);
          // Node stops at maxHeaderSize of its own count; a few bytes either side of it, either answer
          const expected = fields > 100 || bytes > HEADER_BYTES + 16 ? [431] : bytes < HEADER_BYTES - 16 ? [200] : [200, 431];
          if (!expected.includes(answer.status)) throw new Error(`${fields} header fields, ${bytes} bytes: expected ${expected.join(' or ')}, got ${answer.status}`);
        }),
        runs(150),
      );
      expectNoUnexpectedFailure(plugin, from);
      await expectServing(plugin);
    }, 45_000);

    it('keeps serving after random bursts of connections that open and close (at once, mid-headers, mid-body, after a whole request)', async () => {
      const from = plugin.process.stderr().length;
      const ping = encodeRequest(wellBehaved(plugin, '/ping', envelopeText('null')));
      const actionArb = fc.constantFrom('close', 'mid-headers', 'mid-body', 'whole', 'whole-and-wait');
      await fc.assert(
        fc.asyncProperty(fc.array(actionArb, { minLength: 1, maxLength: 50 }), fc.boolean(), async (actions, halfClose) => {
          const connections = await Promise.all(actions.map(() => RawConnection.open(plugin.socket)));
          await Promise.all(
            actions.map(async (action, i) => {
              const connection = connections[i] as RawConnection;
              if (!connection.open) return; // refused by the kernel (a full accept queue): never reached the server
              if (action === 'mid-headers') await connection.send(ping.subarray(0, 20));
              else if (action === 'mid-body') await connection.send(ping.subarray(0, ping.length - 5));
              else if (action === 'whole') await connection.send(ping);
              else if (action === 'whole-and-wait') {
                const answer = connection.read();
                await connection.send(ping);
                const outcome = await answer;
                if (outcome.kind !== 'answer' || outcome.answer.status !== 200) throw new Error(`a whole request in a burst got ${describeOutcome(outcome)}`);
              }
              if (halfClose) connection.end();
              connection.destroy();
            }),
          );
          await Promise.all(connections.map((c) => c.closed));
          await expectServing(plugin);
        }),
        runs(40),
      );
      expectNoUnexpectedFailure(plugin, from);
    }, 45_000);

    // Runs after the properties above: with its own 600, the plugin has served some 6500
    // requests by then. RSS, even after GCs, is also what the allocator has not given back
    // yet, and moves with load and Node's version (60 to 150 MB over the baseline here with
    // nothing retained; a bound on it failed on CI). So the tight bounds are on what the
    // process retains, V8 heap used + external (Buffers included) after settled GCs, and
    // over two equal rounds: the first takes in what is allocated once (compiled code,
    // caches, pools) whatever ran before, the second must add next to nothing (measured:
    // under 0.1 MB; since the baseline, under 1.5 MB). A plugin that kept every call's
    // payload retains some 12 MB more per round. RSS keeps a generous bound, for memory
    // that neither the V8 heap nor external counts.
    it('keeps the memory it retains bounded after thousands of requests, megabyte-sized and rejected ones included (V8 heap + external after GCs: a second round of 300 adds under 2 MB)', async () => {
      const small = fc.sample(fc.oneof(validCallArb, wrongTypeArb, malformedArb, invalidUtf8Arb, failArb, pollutionArb), { numRuns: 200, seed: 42 });
      const requests = (i: number): WireRequest => {
        if (i % 100 === 0) return wellBehaved(plugin, '/echo', Buffer.alloc(DEFAULT_MAX_BODY + 4 * MB, 0x20)); // 413 at the headers
        if (i % 100 === 50) return wellBehaved(plugin, '/echo', Buffer.alloc(DEFAULT_MAX_BODY + 4 * MB, 0x20), { framing: { kind: 'chunked', size: 256 * 1024, extension: false, trailer: false } }); // 413 after 16 MiB read
        if (i % 20 === 10) return wellBehaved(plugin, '/echo', envelopeText(JSON.stringify('m'.repeat(MB))));
        const c = small[i % small.length] as BodyCase;
        return wellBehaved(plugin, c.route, c.body);
      };
      /** The same 300 requests each time, over four connections at once. */
      const round = async (): Promise<MemoryReport> => {
        const total = 300;
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < total) {
            const request = requests(next++);
            const outcome = await send(plugin, request, { timeoutMs: 15_000 });
            // a 413 the client could not read (see "requests the fuzzing left out") is not this test's subject
            if (request.body.length > DEFAULT_MAX_BODY && lostEarlyAnswer(outcome)) continue;
            expectAnswer(outcome, request);
          }
        };
        await Promise.all([worker(), worker(), worker(), worker()]);
        await expectServing(plugin);
        return report<MemoryReport>(plugin, '/memory');
      };
      const first = await round();
      const second = await round();
      const mb = (bytes: number): string => `${(bytes / MB).toFixed(1)} MB`;
      const problems = [
        second.retained - first.retained >= 2 * MB && `the second round retained ${mb(second.retained - first.retained)} more than the first (bound 2 MB)`,
        first.retained - baseline.retained >= 8 * MB && `the first round retained ${mb(first.retained - baseline.retained)} more than the baseline (bound 8 MB)`,
        second.rss >= baseline.rss + 300 * MB && `RSS ${mb(second.rss)} is over the baseline's ${mb(baseline.rss)} + 300 MB`,
      ].filter((problem) => problem !== false);
      expect(problems).toEqual([]);
    }, 60_000);

    it('accepts a body of exactly the default maxBodySize (16 MiB, as docs/plugins.md documents)', async () => {
      const empty = envelopeText('""');
      const exact = envelopeText(JSON.stringify('x'.repeat(DEFAULT_MAX_BODY - Buffer.byteLength(empty))));
      expect(Buffer.byteLength(exact)).toBe(DEFAULT_MAX_BODY);
      const request = wellBehaved(plugin, '/echo', exact);
      const answer = expectAnswer(await send(plugin, request, { timeoutMs: 20_000 }), request);
      expect(answer.status).toBe(200);
      expect(answer.body.length).toBe(DEFAULT_MAX_BODY - Buffer.byteLength(empty) + '"echo:"\n'.length);
    }, 30_000);

    it('answers a Content-Length one byte over the default maxBodySize with 413 and closes the connection, without waiting for the body', async () => {
      const connection = await RawConnection.open(plugin.socket);
      try {
        const answer = connection.read();
        // the headers alone: the server decides on the declared length
        await connection.send(Buffer.from(`POST /echo HTTP/1.1\r\nHost: plugin\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${DEFAULT_MAX_BODY + 1}\r\n\r\n`));
        const request = wellBehaved(plugin, '/echo', Buffer.alloc(DEFAULT_MAX_BODY + 1));
        expect(expectAnswer(await answer, request).status).toBe(413);
        await within(connection.closed, 5000, 'the server to close the connection');
      } finally {
        connection.destroy();
      }
      await expectServing(plugin);
    });

    describe('requests the fuzzing left out, because they fail today', () => {
      const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');
      const auth = `Authorization: Bearer ${token}\r\n`;
      const call = envelopeText('"x"');

      it.each<[string, () => Buffer]>([
        ['a chunk size that is not hexadecimal', () => bytes(`POST /echo HTTP/1.1\r\nHost: plugin\r\n${auth}Transfer-Encoding: chunked\r\n\r\nzz\r\n${call}\r\n0\r\n\r\n`)],
        ['Transfer-Encoding: gzip without chunked', () => bytes(`POST /echo HTTP/1.1\r\nHost: plugin\r\n${auth}Transfer-Encoding: gzip\r\n\r\n${call}`)],
        ['bytes after the body that are not a request', () => bytes(`POST /echo HTTP/1.1\r\nHost: plugin\r\n${auth}Content-Length: ${call.length - 1}\r\n\r\n${call}`)],
      ])('answers a message broken after its headers (%s) with a JSON-string error before closing', async (_what, request) => {
        const outcome = await exchange(plugin.socket, request());
        const problem = problemWith(outcome, false);
        expect(problem === undefined ? undefined : `${problem}: ${describeOutcome(outcome)}`).toBeUndefined();
        await expectServing(plugin);
      });

      // The plugin answers these before it has read the whole request, then closes the
      // connection at once. A client still sending gets EPIPE and, depending on timing, never
      // reads the answer (undici, plugwire's own host, loses about every other 413 this way and
      // re-sends the request). RFC 9112 section 9.6: close in stages, reading on until the
      // client is done. Each case sends the start of the request, reads the early answer, then
      // sends the rest, which must not fail.
      it.each<[string, number, () => string]>([
        ['a Content-Length over the default maxBodySize', 413, () => `POST /echo HTTP/1.1\r\nHost: plugin\r\n${auth}Content-Length: ${DEFAULT_MAX_BODY + MB}\r\n\r\n`],
        ['headers over the 16 KiB limit', 431, () => `POST /echo HTTP/1.1\r\nHost: plugin\r\n${auth}X-Big: ${'v'.repeat(20 * 1024)}`],
        ['an unknown route', 404, () => `POST /nowhere HTTP/1.1\r\nHost: plugin\r\n${auth}Content-Length: ${4 * MB}\r\n\r\n`],
        ['no access token', 401, () => `POST /echo HTTP/1.1\r\nHost: plugin\r\nContent-Length: ${4 * MB}\r\n\r\n`],
      ])('goes on reading a request it answered early (%s: %d), so that a client still sending it does not lose the answer', async (_what, status, start) => {
        const connection = await RawConnection.open(plugin.socket);
        try {
          const early = connection.read();
          await connection.send(bytes(start()));
          const outcome = await early;
          expect(outcome.kind === 'answer' ? outcome.answer.status : describeOutcome(outcome)).toBe(status);
          // the rest of the request, as a client that had not looked at the answer yet sends it
          await connection.send(Buffer.alloc(MB, 0x20));
          connection.end();
          await within(connection.closed, 5000, 'the connection to close');
          expect(connection.error ?? 'no error').toBe('no error');
        } finally {
          connection.destroy();
        }
        await expectServing(plugin);
      });

      it('stops reading a chunked body it answered with 413 once it discarded as much again as maxBodySize, from a client that sends on after the answer', async () => {
        // allowHalfOpen: the client goes on writing after the plugin's end of the connection,
        // as a client busy sending does; a plugin that read on would take all of it.
        const socket = connect({ path: plugin.socket, allowHalfOpen: true });
        let closed = false;
        let answer = '';
        socket.on('close', () => (closed = true));
        socket.on('error', () => undefined);
        socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
        const drainedOrClosed = (): Promise<void> =>
          new Promise((resolve) => {
            const done = (): void => {
              socket.off('drain', done);
              socket.off('close', done);
              resolve();
            };
            socket.on('drain', done);
            socket.on('close', done);
          });
        try {
          await within(once(socket, 'connect'), 5000, 'the connection');
          socket.write(bytes(`POST /echo HTTP/1.1\r\nHost: plugin\r\n${auth}Transfer-Encoding: chunked\r\n\r\n`));
          const piece = Buffer.concat([Buffer.from(`${MB.toString(16)}\r\n`), Buffer.alloc(MB, 0x61), Buffer.from('\r\n')]);
          let sent = 0;
          while (!closed && sent < 8 * DEFAULT_MAX_BODY) {
            if (!socket.write(piece)) await drainedOrClosed();
            sent += MB;
          }
          while (!closed) await within(drainedOrClosed(), 5000, 'the plugin to close the connection');
          expect(answer).toMatch(/^HTTP\/1\.1 413 /);
          expect(sent).toBeLessThan(3 * DEFAULT_MAX_BODY);
        } finally {
          socket.destroy();
        }
        await expectServing(plugin);
      }, 20_000);

      it.each<[string, () => Buffer]>([
        ['an HTTP/1.1 request without Host', () => bytes(`POST /echo HTTP/1.1\r\n${auth}Content-Length: ${call.length}\r\n\r\n${call}`)],
        ['an Expect header other than 100-continue', () => bytes(`POST /echo HTTP/1.1\r\nHost: plugin\r\n${auth}Expect: 200-ok\r\nContent-Length: ${call.length}\r\n\r\n${call}`)],
        ['a CONNECT request', () => bytes(`CONNECT plugin:80 HTTP/1.1\r\nHost: plugin:80\r\n${auth}\r\n`)],
      ])('answers %s with a documented status and a JSON-string body', async (_what, request) => {
        const outcome = await exchange(plugin.socket, request());
        const problem = problemWith(outcome, false);
        expect(problem === undefined ? undefined : `${problem}: ${describeOutcome(outcome)}`).toBeUndefined();
        await expectServing(plugin);
      });

      it.each([
        ['a number', 'number-message'],
        ['undefined', 'undefined-message'],
      ])('answers a method that throws an Error whose message is %s with 500 and a JSON string', async (_what, kind) => {
        for (const headers of [[], [V1]]) {
          const base = wellBehaved(plugin, '/fail', envelopeText(JSON.stringify(kind)));
          const request = { ...base, headers: [...base.headers, ...headers] };
          const answer = expectAnswer(await send(plugin, request), request);
          expect(answer.status).toBe(500);
        }
        await expectServing(plugin);
      });

      it('answers a Deadline nested 100,000 levels deep with 422, without an unexpected failure', async () => {
        const from = plugin.process.stderr().length;
        const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
        const request = wellBehaved(plugin, '/echo', envelopeText('"x"', `{"Deadline":${deep}}`));
        const answer = expectAnswer(await send(plugin, request), request);
        expect({ status: answer.status, failures: unexpectedFailures(plugin, from) }).toEqual({ status: 422, failures: [] });
      });
    });

    it('still runs after all of it, and exits with status 0 on SIGTERM', async () => {
      await expectServing(plugin);
      plugin.process.child.kill('SIGTERM');
      expect(await within(plugin.process.exited, 10_000, 'the plugin to exit')).toEqual({ code: 0, signal: null });
    });
  });

  describe('a plugin with short limits (maxBodySize 1 MiB, headersTimeout 500 ms, requestTimeout 1000 ms, maxConnections 20)', () => {
    const limits = { maxBodySize: MB, headersTimeout: 500, requestTimeout: 1000, maxConnections: 20 };
    let plugin: FuzzPlugin;

    beforeAll(async () => {
      plugin = await startPlugin(dir, 'limits', { limits });
    }, 20_000);

    afterAll(async () => {
      await stopPlugin(plugin);
    });

    // With chunked framing the body's first bytes go in a chunk of their own.
    const head = (framing: 'length' | 'chunked', size: number): Buffer =>
      Buffer.from(
        `POST /echo HTTP/1.1\r\nHost: plugin\r\nContent-Type: application/json\r\n${framing === 'length' ? `Content-Length: ${size}` : 'Transfer-Encoding: chunked'}\r\n\r\n` +
          (framing === 'length' ? '{"Payload":"' : 'c\r\n{"Payload":"\r\n'),
      );

    it.each<[string, 'length' | 'chunked']>([
      ['with Content-Length', 'length'],
      ['in chunks', 'chunked'],
    ])('answers a 200 MB body sent %s with 413, stops reading it, closes the connection, and does not buffer it (peak RSS below start + 100 MB)', async (_what, framing) => {
      const start = await report<MemoryReport>(plugin, '/memory');
      const total = 200 * MB;
      const connection = await RawConnection.open(plugin.socket);
      try {
        const answer = connection.read({ timeoutMs: 20_000 });
        await connection.send(head(framing, total));
        // the body, a slice at a time, until all of it is sent or the server closes the connection
        const slice = Buffer.alloc(256 * 1024, 0x61);
        const piece = framing === 'chunked' ? Buffer.concat([Buffer.from(`${slice.length.toString(16)}\r\n`), slice, Buffer.from('\r\n')]) : slice;
        let sent = 0;
        while (sent < total && connection.open) sent += await connection.send(piece);
        connection.end();
        // maxBodySize, then at most as much again discarded before the plugin stops reading
        // (a chunked body was read on, at gigabytes a second, until the connection closed),
        // and what the socket's buffers hold.
        expect(sent).toBeLessThan(16 * MB);
        const outcome = await answer;
        const request = wellBehaved(plugin, '/echo', '', { framing: framing === 'chunked' ? { kind: 'chunked', size: slice.length, extension: false, trailer: false } : { kind: 'length', padded: false } });
        // the 413 itself may be lost to the client (its own test pins that): here it is the connection and the memory
        if (!lostEarlyAnswer(outcome)) expect(expectAnswer(outcome, request).status).toBe(413);
        await within(connection.closed, 5000, 'the server to close the connection');
      } finally {
        connection.destroy();
      }
      const after = await report<MemoryReport>(plugin, '/memory');
      // The peak, not what is retained: a body buffered and then dropped leaves nothing behind.
      // It is not at the mercy of the GC's timing: with the server stopping at 1 MiB, the peak
      // did not move at all in 40 runs (Node 20 and 24, loaded too); buffering would add 200 MB.
      expect(after.maxRss).toBeLessThan(start.maxRss + 100 * MB);
      await expectServing(plugin);
    }, 30_000);

    it('cuts off a client that sends its headers a byte at a time, slower than headersTimeout, with 408', async () => {
      const request = Buffer.from('POST /ping HTTP/1.1\r\nHost: plugin\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
      const connection = await RawConnection.open(plugin.socket);
      let written = 0;
      // the client's own pace: one byte every 100 ms, until the server closes the connection
      const pace = setInterval(() => {
        if (connection.open && written < request.length) void connection.send(request.subarray(written, ++written));
      }, 100);
      const started = Date.now();
      try {
        const outcome = await connection.read({ timeoutMs: 5000 });
        await within(connection.closed, 5000, 'the server to close the connection');
        const elapsed = Date.now() - started;
        expect(written).toBeLessThan(request.length);
        expect(elapsed).toBeGreaterThanOrEqual(limits.headersTimeout - 50);
        expect(elapsed).toBeLessThan(limits.headersTimeout + 2500);
        const answer = expectAnswer(outcome, wellBehaved(plugin, '/ping', '{}'));
        expect(answer.status).toBe(408);
      } finally {
        clearInterval(pace);
        connection.destroy();
      }
      await expectServing(plugin);
    }, 15_000);

    it.each<[string, boolean]>([
      ['stops sending its body half-way', false],
      ['sends its body a byte at a time', true],
    ])('cuts off a client that %s and has not finished it within requestTimeout', async (_what, trickle) => {
      const body = Buffer.from(envelopeText(JSON.stringify('y'.repeat(200))));
      const connection = await RawConnection.open(plugin.socket);
      const started = Date.now();
      let written = 40;
      await connection.send(Buffer.concat([Buffer.from(`POST /echo HTTP/1.1\r\nHost: plugin\r\nContent-Length: ${body.length}\r\n\r\n`), body.subarray(0, written)]));
      const pace = setInterval(() => {
        if (trickle && connection.open && written < body.length) void connection.send(body.subarray(written, ++written));
      }, 50);
      try {
        const outcome = await connection.read({ timeoutMs: 6000 });
        await within(connection.closed, 6000, 'the server to close the connection');
        const elapsed = Date.now() - started;
        expect(written).toBeLessThan(body.length);
        expect(elapsed).toBeGreaterThanOrEqual(limits.requestTimeout - 50);
        expect(elapsed).toBeLessThan(limits.requestTimeout + 3000);
        // cut off: nothing, or a well-formed 408
        if (outcome.kind === 'answer') expect(expectAnswer(outcome, wellBehaved(plugin, '/echo', body)).status).toBe(408);
        else expect(outcome.received.length).toBe(0);
      } finally {
        clearInterval(pace);
        connection.destroy();
      }
      await expectServing(plugin);
    }, 15_000);

    it('answers a client that has not finished its body within requestTimeout with 408 before closing (docs/PROTOCOL.md: "408 the client did not send its request in time")', async () => {
      const body = Buffer.from(envelopeText('"z"'));
      const connection = await RawConnection.open(plugin.socket);
      try {
        await connection.send(Buffer.concat([Buffer.from(`POST /echo HTTP/1.1\r\nHost: plugin\r\nContent-Length: ${body.length}\r\n\r\n`), body.subarray(0, 5)]));
        const outcome = await connection.read({ timeoutMs: 6000 });
        const problem = problemWith(outcome, false);
        expect(problem === undefined ? undefined : `${problem}: ${describeOutcome(outcome)}`).toBeUndefined();
        if (outcome.kind === 'answer') expect(outcome.answer.status).toBe(408);
      } finally {
        connection.destroy();
      }
    }, 15_000);

    it('refuses a connection beyond maxConnections while the open ones keep working, and accepts new ones once they close', async () => {
      const ping = encodeRequest(wellBehaved(plugin, '/ping', envelopeText('null')));
      const expectPong = (outcome: Outcome): void => {
        if (outcome.kind !== 'answer' || outcome.answer.status !== 200) throw new Error(`expected 200 "pong", got ${describeOutcome(outcome)}`);
      };
      const open: RawConnection[] = [];
      try {
        // each connection is in use (answered once, kept alive): the server counts it
        for (let i = 0; i < limits.maxConnections; i++) {
          const connection = await RawConnection.open(plugin.socket);
          open.push(connection);
          const answer = connection.read();
          await connection.send(ping);
          expectPong(await answer);
        }

        const extra = await RawConnection.open(plugin.socket);
        try {
          const answer = extra.read({ timeoutMs: 5000 });
          await extra.send(ping);
          const outcome = await answer;
          expect(outcome.kind === 'closed' ? 'closed' : describeOutcome(outcome)).toBe('closed');
        } finally {
          extra.destroy();
        }

        // the first ones still work, on their kept-alive connections
        for (const connection of open) {
          const answer = connection.read();
          await connection.send(ping);
          expectPong(await answer);
        }
      } finally {
        for (const connection of open) connection.destroy();
      }
      await Promise.all(open.map((c) => c.closed));
      // the server notices the closes on its own schedule: poll (bounded) for a new connection to be served
      await waitFor(
        async () => {
          const outcome = await exchange(plugin.socket, ping, { timeoutMs: 1000 });
          return outcome.kind === 'answer' && outcome.answer.status === 200;
        },
        3000,
        'a new connection to be served',
      );
      // and as many as the limit again, at once
      const again = await Promise.all(Array.from({ length: limits.maxConnections }, () => exchange(plugin.socket, ping)));
      again.forEach(expectPong);
    }, 20_000);

    it('still runs after all of it', async () => {
      await expectServing(plugin);
      expect(running(plugin)).toBe(true);
    });
  });
});
