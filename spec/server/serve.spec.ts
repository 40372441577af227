import * as fs from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { callContext, Method, Plugin, PluginError, serve, stub, type CallContext, type PluginServer } from '../../lib';
import { ServerPerson } from '../fixtures/contracts/server-dtos';
import { rawRequest, startRawRequest, type RawResponse } from '../support/raw-http';
import { connectOutcome, within } from '../support/host-helpers';

// ---------------------------------------------------------------------------------------
// Fixture plugins, served in-process
// ---------------------------------------------------------------------------------------

interface Deferred<T> {
  readonly promise: Promise<T>;
  readonly settled: () => boolean;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let done = false;
  const promise = new Promise<T>((r) => (resolve = r));
  return {
    promise,
    settled: () => done,
    resolve: (value) => {
      done = true;
      resolve(value);
    },
  };
}

/** What a held call recorded: when it started (with its context), when its signal fired, and the latch that ends it. */
interface Hold {
  readonly started: Deferred<CallContext>;
  readonly aborted: Deferred<unknown>;
  readonly release: Deferred<void>;
}

const holds = new Map<string, Hold>();

function holdFor(tag: string): Hold {
  let hold = holds.get(tag);
  if (!hold) {
    hold = { started: deferred(), aborted: deferred(), release: deferred() };
    holds.set(tag, hold);
  }
  return hold;
}

class QuotaError extends Error {
  override name = 'QuotaError';
  readonly code = 'E_QUOTA';
}

class NumberedError extends Error {
  readonly code = 7;
}

class DetailedError extends Error {
  readonly details = { limit: 5, used: [1, 2] };
}

@Plugin('echo')
class EchoContract {
  @Method('/echo')
  echo(value: string): Promise<string> {
    return stub(value);
  }

  @Method('/add')
  add(a: number, b: number): Promise<number> {
    return stub(a, b);
  }

  @Method('/ping')
  ping(): Promise<string> {
    return stub();
  }

  @Method('/raw', { validate: false })
  raw(value: unknown): Promise<unknown> {
    return stub(value);
  }

  @Method('/person')
  person(person: ServerPerson): Promise<string> {
    return stub(person);
  }

  @Method('/flag')
  flag(value: boolean): Promise<boolean> {
    return stub(value);
  }

  @Method('/count')
  count(value: number): Promise<number> {
    return stub(value);
  }

  @Method('/list')
  list(values: string[]): Promise<number> {
    return stub(values);
  }

  @Method('/when')
  when(value: Date): Promise<string> {
    return stub(value);
  }

  @Method('/fail')
  fail(kind: string): Promise<never> {
    return stub(kind);
  }

  @Method('/big')
  big(): Promise<unknown> {
    return stub();
  }

  @Method('/nothing')
  nothing(): Promise<void> {
    return stub();
  }
}

class EchoPlugin extends EchoContract {
  override async echo(value: string): Promise<string> {
    return `echo:${value}`;
  }

  override async add(a: number, b: number): Promise<number> {
    return a + b;
  }

  override async ping(): Promise<string> {
    return 'pong';
  }

  override async raw(value: unknown): Promise<unknown> {
    return value;
  }

  override async person(person: ServerPerson): Promise<string> {
    return person.describe();
  }

  override async flag(value: boolean): Promise<boolean> {
    return !value;
  }

  override async count(value: number): Promise<number> {
    return value * 2;
  }

  override async list(values: string[]): Promise<number> {
    return values.length;
  }

  override async when(value: Date): Promise<string> {
    return value.toISOString();
  }

  override async fail(kind: string): Promise<never> {
    switch (kind) {
      case 'quota':
        throw new QuotaError('quota exceeded');
      case 'numbered':
        throw new NumberedError('numbered failure');
      case 'detailed':
        throw new DetailedError('detailed failure');
      case 'string':
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        throw 'plain string';
      case 'object':
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        throw { reason: 'x' };
      case 'undefined':
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        throw undefined;
      case 'null':
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        throw null;
      default:
        throw new Error(`failed: ${kind}`);
    }
  }

  override async big(): Promise<unknown> {
    return { value: 10n };
  }

  override async nothing(): Promise<void> {
    return undefined;
  }
}

/** What /context and /pause report about callContext(). */
interface ContextView {
  route: string;
  deadline: number | null;
  isDate: boolean;
  aborted: boolean;
  trace: string | null;
}

function viewOf(context: CallContext): ContextView {
  const trace = context.headers['x-trace'];
  return {
    route: context.route,
    deadline: context.deadline === undefined ? null : context.deadline.getTime(),
    isDate: context.deadline instanceof Date,
    aborted: context.signal.aborted,
    trace: typeof trace === 'string' ? trace : null,
  };
}

@Plugin('clock')
class ClockContract {
  @Method('/context')
  context(): Promise<ContextView> {
    return stub();
  }

  /** Takes `ms` of its own time (a timer inside the plugin), then reports its context. */
  @Method('/pause')
  pause(ms: number): Promise<ContextView> {
    return stub(ms);
  }

  /** Ignores its deadline: runs until the spec releases it. */
  @Method('/hold')
  hold(tag: string): Promise<string> {
    return stub(tag);
  }
}

class ClockPlugin extends ClockContract {
  override async context(): Promise<ContextView> {
    return viewOf(callContext());
  }

  override async pause(ms: number): Promise<ContextView> {
    await delay(ms);
    return viewOf(callContext());
  }

  override async hold(tag: string): Promise<string> {
    const hold = holdFor(tag);
    const context = callContext();
    context.signal.addEventListener('abort', () => hold.aborted.resolve(context.signal.reason), { once: true });
    hold.started.resolve(context);
    await hold.release.promise;
    return `held:${tag}`;
  }
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

const V1 = { 'x-plugwire-version': '1' };

/** The structured error a plugwire host gets (header x-plugwire-version: 1). */
interface WireShape {
  code: string;
  message: string;
  remote?: { name: string; message: string; code?: string | number; details?: unknown };
  violations?: Array<{ path: string; value?: unknown; constraints: Record<string, string> }>;
}

function envelope(payload: unknown, deadline: unknown = null): string {
  return JSON.stringify({ Context: { Deadline: deadline }, Payload: payload });
}

/** The message of a version 1 error answer: a JSON string and a newline, no structure. */
function plainMessage(res: RawResponse): string {
  expect(res.headers['x-plugwire-error']).toBeUndefined();
  expect(res.body.endsWith('\n')).toBe(true);
  const message: unknown = JSON.parse(res.body);
  expect(typeof message).toBe('string');
  return message as string;
}

/** The structured error inside the JSON string of a version-header answer. */
function structuredError(res: RawResponse): WireShape {
  expect(res.headers['x-plugwire-error']).toBe('1');
  const text: unknown = JSON.parse(res.body);
  expect(typeof text).toBe('string');
  return JSON.parse(text as string) as WireShape;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/**
 * An RFC 3339 time as Go writes it: `epochMs` shown in the zone `offsetMinutes` east of
 * UTC, with the milliseconds followed by `extraDigits` (null: no fraction at all).
 */
function goTime(epochMs: number, offsetMinutes: number, extraDigits: string | null): string {
  const local = new Date(epochMs + offsetMinutes * 60_000).toISOString();
  const fraction = extraDigits === null ? '' : `.${local.slice(20, 23)}${extraDigits}`;
  const abs = Math.abs(offsetMinutes);
  const zone = offsetMinutes === 0 ? 'Z' : `${offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  return `${local.slice(0, 19)}${fraction}${zone}`;
}

/** Resolves with the promise's value, or fails after `ms` (a bound, not a wait). */

/** Whether a new connection to the socket is accepted. */

// ---------------------------------------------------------------------------------------

describe('serve()', () => {
  const MAX_BODY = 1024;
  let dir: string;
  let socket: string;
  let server: PluginServer;

  function post(route: string, body: string, headers: Record<string, string> = {}): Promise<RawResponse> {
    return rawRequest(socket, { path: route, body, headers });
  }

  function call(route: string, payload: unknown, deadline: unknown = null, headers: Record<string, string> = {}): Promise<RawResponse> {
    return post(route, envelope(payload, deadline), headers);
  }

  async function expectStillServing(): Promise<void> {
    const res = await call('/echo', 'still there');
    expect(res.status).toBe(200);
    expect(res.body).toBe('"echo:still there"\n');
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-'));
    socket = path.join(dir, 'serve.sock');
    server = await serve([new EchoPlugin(), new ClockPlugin()], {
      socket,
      standalone: false,
      announce: false,
      maxBodySize: MAX_BODY,
      grace: 500,
    });
  });

  afterAll(async () => {
    for (const hold of holds.values()) hold.release.resolve();
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('successful calls', () => {
    it('answers 200 with the JSON encoding of the result and a trailing newline', async () => {
      const res = await call('/echo', 'hi');
      expect(res.status).toBe(200);
      expect(res.body).toBe('"echo:hi"\n');
      expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.body)));
    });

    it('answers null for a method without a result', async () => {
      const res = await call('/nothing', null);
      expect(res).toMatchObject({ status: 200, body: 'null\n' });
    });

    it.each<[string, unknown, string]>([
      ['an array', [1, 2], '[1,2]\n'],
      ['an object', { a: 1 }, '{"a":1}\n'],
      ['a string', 'text', '"text"\n'],
      ['null', null, 'null\n'],
    ])('passes %s Payload itself to a method with one parameter', async (_what, payload, body) => {
      const res = await call('/raw', payload);
      expect(res).toMatchObject({ status: 200, body });
    });

    it('spreads a JSON array Payload over the parameters of a method with several', async () => {
      const res = await call('/add', [2, 3]);
      expect(res).toMatchObject({ status: 200, body: '5\n' });
    });

    it.each<[string, string]>([
      ['an object Payload', envelope({ x: 1 })],
      ['an array Payload', envelope([1, 2, 3])],
      ['a string Payload', envelope('ignored')],
      ['no Payload', JSON.stringify({ Context: { Deadline: null } })],
    ])('ignores %s for a method without parameters', async (_what, body) => {
      const res = await post('/ping', body);
      expect(res).toMatchObject({ status: 200, body: '"pong"\n' });
    });

    it.each<[string, string]>([
      ['Go field names', '{"Context":{"Deadline":null},"Payload":"k"}'],
      ['lower-case keys', '{"context":{"deadline":null},"payload":"k"}'],
      ['upper-case keys', '{"CONTEXT":{"DEADLINE":null},"PAYLOAD":"k"}'],
      ['no Context', '{"Payload":"k"}'],
      ['a null Context', '{"Context":null,"Payload":"k"}'],
      ['an empty Context', '{"Context":{},"Payload":"k"}'],
      ['extra fields', '{"Context":{"Deadline":null,"Trace":"t"},"Payload":"k","Extra":[1,2],"meta":{"a":1}}'],
    ])('accepts a body with %s', async (_what, body) => {
      const res = await post('/echo', body);
      expect(res).toMatchObject({ status: 200, body: '"echo:k"\n' });
    });

    it('decodes multi-byte UTF-8 split across chunks', async () => {
      const res = await rawRequest(socket, { path: '/echo', body: envelope('héllo € 😀'), chunked: true, chunkSize: 1 });
      expect(res).toMatchObject({ status: 200, body: '"echo:héllo € 😀"\n' });
    });

    it('ignores a query string in the URL', async () => {
      const res = await rawRequest(socket, { path: '/echo?x=1', body: envelope('q') });
      expect(res).toMatchObject({ status: 200, body: '"echo:q"\n' });
    });

    it.each<[string, string, unknown, string]>([
      ['a boolean', '/flag', false, 'true\n'],
      ['a number', '/count', 2.5, '5\n'],
      ['an array', '/list', ['a', 'b'], '2\n'],
      ['a date string', '/when', '2026-11-25T12:00:00.5+01:00', '"2026-11-25T11:00:00.500Z"\n'],
    ])('converts %s parameter', async (_what, route, payload, body) => {
      const res = await call(route, payload);
      expect(res).toMatchObject({ status: 200, body });
    });

    it('serves several implementations on one server', async () => {
      expect([...server.routes].sort()).toEqual(
        ['/add', '/big', '/context', '/count', '/echo', '/fail', '/flag', '/hold', '/list', '/nothing', '/pause', '/person', '/ping', '/raw', '/when'].sort(),
      );
      const [echo, context] = await Promise.all([call('/echo', 'one'), call('/context', null)]);
      expect(echo).toMatchObject({ status: 200, body: '"echo:one"\n' });
      expect(context.status).toBe(200);
      expect(JSON.parse(context.body)).toMatchObject({ route: '/context' });
    });
  });

  describe('bad requests, each followed by a good one', () => {
    interface BadCase {
      route: string;
      body: string;
      status: number;
      message: string | RegExp;
      code: string;
      method?: string;
    }

    const cases: Array<[string, BadCase]> = [
      ['malformed JSON', { route: '/echo', body: '{"Payload":', status: 400, message: /not valid JSON/, code: 'PLUGWIRE_PROTOCOL' }],
      ['an empty body', { route: '/echo', body: '', status: 400, message: /not valid JSON/, code: 'PLUGWIRE_PROTOCOL' }],
      ['a body that is an array', { route: '/echo', body: '["k"]', status: 422, message: /JSON object/, code: 'PLUGWIRE_VALIDATION' }],
      ['a body that is a string', { route: '/echo', body: '"k"', status: 422, message: /JSON object/, code: 'PLUGWIRE_VALIDATION' }],
      ['a body that is a number', { route: '/echo', body: '42', status: 422, message: /JSON object/, code: 'PLUGWIRE_VALIDATION' }],
      ['a body that is null', { route: '/echo', body: 'null', status: 422, message: /JSON object/, code: 'PLUGWIRE_VALIDATION' }],
      ['a Context that is not an object', { route: '/echo', body: '{"Context":"soon","Payload":"k"}', status: 422, message: /Context/, code: 'PLUGWIRE_VALIDATION' }],
      ['a number for a string parameter', { route: '/echo', body: envelope(42), status: 422, message: /expected a string/, code: 'PLUGWIRE_VALIDATION' }],
      ['a string for a number parameter', { route: '/count', body: envelope('5'), status: 422, message: /expected a finite number/, code: 'PLUGWIRE_VALIDATION' }],
      ['a non-array Payload for several parameters', { route: '/add', body: envelope(5), status: 422, message: /must be a JSON array/, code: 'PLUGWIRE_VALIDATION' }],
      ['too many array elements for several parameters', { route: '/add', body: envelope([1, 2, 3]), status: 422, message: /takes 2 parameters/, code: 'PLUGWIRE_VALIDATION' }],
      ['a wrong element type among several parameters', { route: '/add', body: envelope(['1', 2]), status: 422, message: /\[0\]/, code: 'PLUGWIRE_VALIDATION' }],
      ['a Deadline that is not a time', { route: '/echo', body: envelope('k', 'tomorrow'), status: 422, message: /Deadline/, code: 'PLUGWIRE_VALIDATION' }],
      ['a Deadline with month 13', { route: '/echo', body: envelope('k', '2026-13-01T00:00:00Z'), status: 422, message: /Deadline/, code: 'PLUGWIRE_VALIDATION' }],
      ['a Deadline on 30 February', { route: '/echo', body: envelope('k', '2026-02-30T00:00:00Z'), status: 422, message: /Deadline/, code: 'PLUGWIRE_VALIDATION' }],
      ['a Deadline without a zone', { route: '/echo', body: envelope('k', '2026-11-25T12:00:00'), status: 422, message: /Deadline/, code: 'PLUGWIRE_VALIDATION' }],
      ['a Deadline that is a number', { route: '/echo', body: envelope('k', 1764072000000), status: 422, message: /Deadline/, code: 'PLUGWIRE_VALIDATION' }],
      ['an unknown route', { route: '/nope', body: envelope('k'), status: 404, message: 'method not found: /nope', code: 'PLUGWIRE_METHOD_NOT_FOUND' }],
      ['a GET request', { route: '/echo', body: '', status: 405, message: /not allowed/, code: 'PLUGWIRE_PROTOCOL', method: 'GET' }],
      ['a PUT request', { route: '/echo', body: envelope('k'), status: 405, message: /not allowed/, code: 'PLUGWIRE_PROTOCOL', method: 'PUT' }],
    ];

    it.each(cases)('answers %s with its status and a JSON string message', async (_what, c) => {
      const res = await rawRequest(socket, { method: c.method ?? 'POST', path: c.route, body: c.body });
      expect(res.status).toBe(c.status);
      const message = plainMessage(res);
      if (typeof c.message === 'string') expect(message).toBe(c.message);
      else expect(message).toMatch(c.message);
      if (c.status === 405) expect(res.headers['allow']).toBe('POST');
      await expectStillServing();
    });

    it.each(cases)('answers %s with a structured error to a plugwire host', async (_what, c) => {
      const res = await rawRequest(socket, { method: c.method ?? 'POST', path: c.route, body: c.body, headers: V1 });
      expect(res.status).toBe(c.status);
      const wire = structuredError(res);
      expect(wire.code).toBe(c.code);
      if (typeof c.message === 'string') expect(wire.message).toBe(c.message);
      else expect(wire.message).toMatch(c.message);
      await expectStillServing();
    });
  });

  describe('parameter kinds', () => {
    it.each<[string, string, unknown, string]>([
      ['string', '/echo', 42, 'isString'],
      ['number', '/count', '5', 'isNumber'],
      ['boolean', '/flag', 'yes', 'isBoolean'],
      ['array', '/list', 'a', 'isArray'],
      ['date', '/when', 'not a date', 'isDate'],
    ])('reports a wrong %s with the class-validator constraint name', async (_what, route, payload, constraint) => {
      const res = await call(route, payload, null, V1);
      expect(res.status).toBe(422);
      const wire = structuredError(res);
      expect(wire.code).toBe('PLUGWIRE_VALIDATION');
      expect(wire.violations).toEqual([{ path: '(payload)', value: payload, constraints: { [constraint]: expect.any(String) } }]);
    });
  });

  describe('DTO validation', () => {
    const invalid = { name: '', age: -1, address: { city: '' } };

    it('converts a valid payload into the DTO class before the method runs', async () => {
      const res = await call('/person', { name: 'Ann', age: 33, address: { city: 'Rome' } });
      expect(res).toMatchObject({ status: 200, body: '"Ann (33) from Rome"\n' });
    });

    it('answers an invalid DTO with 422 and a plain message naming every field (version 1)', async () => {
      const res = await call('/person', invalid);
      expect(res.status).toBe(422);
      const message = plainMessage(res);
      expect(message).toContain('/person');
      expect(message).toMatch(/\bname: /);
      expect(message).toMatch(/\bage: /);
      expect(message).toMatch(/address\.city: /);
      await expectStillServing();
    });

    it('answers an invalid DTO with per-field violations to a plugwire host', async () => {
      const res = await call('/person', invalid, null, V1);
      expect(res.status).toBe(422);
      const wire = structuredError(res);
      expect(wire.code).toBe('PLUGWIRE_VALIDATION');
      expect(wire.violations).toEqual(
        expect.arrayContaining([
          { path: 'name', value: '', constraints: { isLength: expect.any(String) } },
          { path: 'age', value: -1, constraints: { min: expect.any(String) } },
          { path: 'address.city', value: '', constraints: { isLength: expect.any(String) } },
        ]),
      );
      expect(wire.violations).toHaveLength(3);
      await expectStillServing();
    });

    it('answers a DTO payload that is not an object with 422', async () => {
      const res = await call('/person', 'Ann', null, V1);
      expect(res.status).toBe(422);
      expect(structuredError(res).violations).toEqual([{ path: '(payload)', value: 'Ann', constraints: { isObject: expect.any(String) } }]);
    });
  });

  describe(`bodies larger than maxBodySize (${MAX_BODY} bytes)`, () => {
    /** An envelope for /echo of exactly `size` bytes. */
    function bodyOf(size: number): string {
      const empty = envelope('');
      return envelope('x'.repeat(size - Buffer.byteLength(empty)));
    }

    it.each([
      ['with Content-Length', false],
      ['with chunked transfer encoding', true],
    ])('answers 413 %s and keeps serving', async (_what, chunked) => {
      const res = await rawRequest(socket, { path: '/echo', body: bodyOf(4 * MAX_BODY), chunked });
      expect(res.status).toBe(413);
      expect(plainMessage(res)).toContain(String(MAX_BODY));
      expect(res.headers['connection']).toBe('close');
      await expectStillServing();
    });

    it.each([
      ['with Content-Length', false],
      ['with chunked transfer encoding', true],
    ])('accepts a body of exactly maxBodySize bytes %s', async (_what, chunked) => {
      const body = bodyOf(MAX_BODY);
      expect(Buffer.byteLength(body)).toBe(MAX_BODY);
      const res = await rawRequest(socket, { path: '/echo', body, chunked });
      expect(res.status).toBe(200);
    });
  });

  describe('a method that fails', () => {
    it('answers 500 with the error message as a JSON string (version 1)', async () => {
      const res = await call('/fail', 'quota');
      expect(res.status).toBe(500);
      expect(res.body).toBe('"quota exceeded"\n');
      expect(res.headers['x-plugwire-error']).toBeUndefined();
      await expectStillServing();
    });

    it.each<[string, string, { name: string; message: string; code?: string | number; details?: unknown }]>([
      ['an Error subclass with a string code', 'quota', { name: 'QuotaError', message: 'quota exceeded', code: 'E_QUOTA' }],
      ['an Error with a numeric code', 'numbered', { name: 'Error', message: 'numbered failure', code: 7 }],
      ['an Error with details', 'detailed', { name: 'Error', message: 'detailed failure', details: { limit: 5, used: [1, 2] } }],
      ['a plain Error', 'other', { name: 'Error', message: 'failed: other' }],
    ])('keeps the name, message and code of %s in the structured error', async (_what, kind, remote) => {
      const res = await call('/fail', kind, null, V1);
      expect(res.status).toBe(500);
      const wire = structuredError(res);
      expect(wire).toEqual({ code: 'PLUGWIRE_REMOTE', message: remote.message, remote });
    });

    it.each<[string, string, string]>([
      ['a string', 'string', 'plain string'],
      ['a plain object', 'object', 'non-error value thrown: {"reason":"x"}'],
      ['undefined', 'undefined', 'non-error value thrown: undefined'],
      ['null', 'null', 'non-error value thrown: null'],
    ])('answers 500 when the method throws %s', async (_what, kind, message) => {
      const plain = await call('/fail', kind);
      expect(plain.status).toBe(500);
      expect(plainMessage(plain)).toBe(message);
      const structured = await call('/fail', kind, null, V1);
      expect(structured.status).toBe(500);
      expect(structuredError(structured)).toEqual({ code: 'PLUGWIRE_REMOTE', message, remote: { name: 'Error', message } });
      await expectStillServing();
    });

    it('answers 500 for a result that cannot be encoded as JSON (a BigInt) and keeps serving', async () => {
      const res = await call('/big', null, null, V1);
      expect(res.status).toBe(500);
      const wire = structuredError(res);
      expect(wire.message).toContain('/big');
      expect(wire.message).toContain('cannot be encoded as JSON');
      await expectStillServing();
    });
  });

  describe('__proto__ keys in a request', () => {
    afterEach(() => {
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    });

    it.each<[string, string, string, number]>([
      ['the envelope', '/echo', '{"__proto__":{"polluted":"envelope"},"Payload":"k"}', 200],
      ['the Context', '/echo', '{"Context":{"__proto__":{"polluted":"context"},"Deadline":null},"Payload":"k"}', 200],
      ['an untyped Payload', '/raw', '{"Payload":{"__proto__":{"polluted":"raw"},"a":1}}', 200],
      ['a DTO', '/person', '{"Payload":{"name":"Ann","age":33,"__proto__":{"polluted":"dto"}}}', 200],
      ['a nested DTO', '/person', '{"Payload":{"name":"Ann","age":33,"address":{"city":"Rome","__proto__":{"polluted":"nested"}}}}', 200],
      ['a constructor.prototype path', '/person', '{"Payload":{"name":"Ann","age":33,"constructor":{"prototype":{"polluted":"ctor"}}}}', 200],
      ['an array of parameters', '/add', '{"Payload":[1,2],"__proto__":[]}', 200],
    ])('does not pollute Object.prototype through %s', async (_what, route, body, status) => {
      const res = await post(route, body);
      expect(res.status).toBe(status);
    });

    it('still hands a DTO with a __proto__ key to the method as a DTO instance', async () => {
      const res = await post('/person', '{"Payload":{"name":"Ann","age":33,"__proto__":{"polluted":"dto"}}}');
      expect(res).toMatchObject({ status: 200, body: '"Ann (33)"\n' });
    });
  });

  describe('the socket', () => {
    it('is a socket file with mode 0600', () => {
      const stat = fs.statSync(socket);
      expect(stat.isSocket()).toBe(true);
      expect(stat.mode & 0o777).toBe(0o600);
    });

    it('is removed by close(), which can be called again', async () => {
      const own = path.join(dir, 'closing.sock');
      const closing = await serve(new EchoPlugin(), { socket: own, standalone: false, announce: false });
      expect(closing.socket).toBe(own);
      expect((await rawRequest(own, { path: '/echo', body: envelope('a') })).status).toBe(200);

      const first = closing.close();
      const second = closing.close();
      await Promise.all([first, second, closing.closed]);
      expect(fs.existsSync(own)).toBe(false);
      await expect(closing.close()).resolves.toBeUndefined();
      expect(await connectOutcome(own)).not.toBe('accepted');
    });

    it('replaces a stale socket file that nobody listens on', async () => {
      const own = path.join(dir, 'stale.sock');
      const first = await serve(new EchoPlugin(), { socket: own, standalone: false, announce: false });
      // leave the socket file behind as a crashed plugin would
      const stat = fs.statSync(own);
      fs.renameSync(own, `${own}.moved`);
      await first.close();
      fs.renameSync(`${own}.moved`, own);
      expect(fs.statSync(own).ino).toBe(stat.ino);

      const second = await serve(new EchoPlugin(), { socket: own, standalone: false, announce: false });
      try {
        expect((await rawRequest(own, { path: '/echo', body: envelope('b') })).body).toBe('"echo:b"\n');
      } finally {
        await second.close();
      }
    });

    it('refuses a socket path that another server listens on', async () => {
      let error: unknown;
      try {
        const other = await serve(new EchoPlugin(), { socket, standalone: false, announce: false });
        await other.close();
      } catch (e) {
        error = e;
      }
      expect(PluginError.is(error, 'PLUGWIRE_START')).toBe(true);
      await expectStillServing();
    });

    it('never deletes a file that is not a socket at the path: it fails to start and the file stays', async () => {
      const file = path.join(dir, 'notes.txt');
      fs.writeFileSync(file, 'keep me');
      const error = await serve(new EchoPlugin(), { socket: file, standalone: false, announce: false }).then(
        async (server) => {
          await server.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(PluginError.is(error, 'PLUGWIRE_START')).toBe(true);
      expect(fs.readFileSync(file, 'utf8')).toBe('keep me');
    });
  });

  describe('requests that are not HTTP', () => {
    /** Writes raw bytes on a new connection and returns everything the server sent back. */
    function rawBytes(bytes: string): Promise<string> {
      return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        const conn = connect(socket, () => conn.end(bytes));
        conn.on('data', (chunk: Buffer) => chunks.push(chunk));
        conn.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
        conn.on('error', reject);
      });
    }

    it.each<[string, string, number]>([
      ['a request line that is not HTTP', 'HELLO THERE\r\n\r\n', 400],
      ['a header block larger than 16 KiB', `POST /echo HTTP/1.1\r\nHost: plugin\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`, 431],
    ])('answers %s with %d and a JSON string, and keeps serving', async (_what, bytes, status) => {
      const answer = await rawBytes(bytes);
      expect(answer.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
      const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
      expect(body.endsWith('\n')).toBe(true);
      expect(typeof JSON.parse(body)).toBe('string');
      await expectStillServing();
    });
  });

  describe('close()', () => {
    it('does not wait for idle keep-alive connections', async () => {
      const own = path.join(dir, 'keep-alive.sock');
      const closing = await serve(new EchoPlugin(), { socket: own, standalone: false, announce: false });
      const agent = new Agent({ keepAlive: true });
      try {
        const status = await new Promise<number>((resolve, reject) => {
          const body = envelope('kept');
          const req = request({ socketPath: own, path: '/echo', method: 'POST', agent, headers: { 'Content-Length': Buffer.byteLength(body) } }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.end(body);
        });
        expect(status).toBe(200);
        const start = Date.now();
        await closing.close();
        expect(Date.now() - start).toBeLessThan(1000);
      } finally {
        agent.destroy();
        await closing.close();
      }
    });

    it('cuts a call that outlives the grace period and fires its signal', async () => {
      const own = path.join(dir, 'grace.sock');
      const grace = 200;
      const closing = await serve(new ClockPlugin(), { socket: own, standalone: false, announce: false, grace });
      const hold = holdFor('cut');
      const exchange = startRawRequest(own, { path: '/hold', body: envelope('cut') });
      const outcome = exchange.response.then(
        (res) => `answered ${res.status}`,
        () => 'cut',
      );
      try {
        await within(hold.started.promise, 5000, 'the call to start');
        const start = Date.now();
        await closing.close();
        const elapsed = Date.now() - start;
        expect(elapsed).toBeGreaterThanOrEqual(grace - 10);
        expect(elapsed).toBeLessThan(grace + 1000);
        const reason = await within(hold.aborted.promise, 1000, 'the abort signal');
        expect((reason as Error).message).toMatch(/closing/);
        expect(await outcome).toBe('cut');
        expect(fs.existsSync(own)).toBe(false);
      } finally {
        hold.release.resolve();
        await closing.close();
      }
    });
  });

  describe('deadlines and callContext()', () => {
    it('answers a method that ignores its deadline with 504 at the deadline, and fires its signal', async () => {
      const hold = holdFor('late');
      const start = Date.now();
      const deadline = start + 400;
      const res = await call('/hold', 'late', goTime(deadline, 60, '000000'));
      const elapsed = Date.now() - start;
      try {
        expect(res.status).toBe(504);
        expect(res.body).toBe('"context deadline exceeded"\n');
        expect(elapsed).toBeGreaterThanOrEqual(390);
        expect(elapsed).toBeLessThan(400 + 1000);
        expect(hold.started.settled()).toBe(true);
        const reason = await within(hold.aborted.promise, 2000, 'the abort signal');
        expect(PluginError.is(reason, 'PLUGWIRE_TIMEOUT')).toBe(true);
        // The call is answered, so it no longer counts as in flight (a graceful close does not
        // wait for it), although the method itself has not returned yet.
        expect(hold.release.settled()).toBe(false);
        expect(server.inflight).toBe(0);
      } finally {
        hold.release.resolve();
      }
      await expectStillServing();
    });

    it('answers 504 "context deadline exceeded" at once for a deadline already past, without running the method', async () => {
      const plain = await call('/hold', 'past', goTime(Date.now() - 1000, 0, '456789'));
      expect(plain.status).toBe(504);
      expect(plain.body).toBe('"context deadline exceeded"\n');
      const structured = await call('/hold', 'past', goTime(Date.now() - 1000, 0, '456789'), V1);
      expect(structured.status).toBe(504);
      expect(structuredError(structured)).toEqual({ code: 'PLUGWIRE_TIMEOUT', message: 'context deadline exceeded' });
      expect(holds.has('past')).toBe(false);
    });

    it.each<[string, number, string | null]>([
      ['UTC with nanoseconds', 0, '456789'],
      ['a +01:00 offset with nanoseconds', 60, '456789'],
      ['a -05:30 offset with microseconds', -330, '456'],
      ['a +14:00 offset with milliseconds', 14 * 60, ''],
      ['no fraction', 0, null],
    ])('exposes a Deadline in %s as the Date that was sent', async (_what, offset, extra) => {
      const epochMs = extra === null ? Math.floor((Date.now() + 60_000) / 1000) * 1000 : Date.now() + 60_000;
      const deadline = goTime(epochMs, offset, extra);
      const res = await call('/context', null, deadline);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ route: '/context', deadline: epochMs, isDate: true, aborted: false, trace: null });
    });

    it('honours a Deadline more than 24.8 days away (beyond a single timer) instead of firing at once', async () => {
      const epochMs = Date.now() + 30 * 24 * 3600 * 1000;
      const res = await call('/pause', 20, goTime(epochMs, 0, '456789'));
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toMatchObject({ deadline: epochMs, aborted: false });
    });

    it.each<[string, string]>([
      ['a null Deadline', envelope(null, null)],
      ['no Context', '{"Payload":null}'],
      ['a Context without Deadline', '{"Context":{},"Payload":null}'],
    ])('has no deadline for %s', async (_what, body) => {
      const res = await post('/context', body);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ route: '/context', deadline: null, isDate: false, aborted: false, trace: null });
    });

    it('exposes the route and the request headers', async () => {
      const res = await call('/pause', 1, null, { 'X-Trace': 'abc-123' });
      expect(JSON.parse(res.body)).toMatchObject({ route: '/pause', trace: 'abc-123' });
    });

    it('fires the signal when the caller aborts the request', async () => {
      const hold = holdFor('abort');
      const exchange = startRawRequest(socket, { path: '/hold', body: envelope('abort') });
      const outcome = exchange.response.then(
        () => 'answered',
        () => 'failed',
      );
      try {
        const context = await within(hold.started.promise, 5000, 'the call to start');
        expect(context.signal.aborted).toBe(false);
        exchange.request.destroy();
        const reason = await within(hold.aborted.promise, 5000, 'the abort signal');
        expect(context.signal.aborted).toBe(true);
        expect(reason).toBeInstanceOf(Error);
        expect(await outcome).toBe('failed');
      } finally {
        hold.release.resolve();
      }
      await expectStillServing();
    });

    it('throws PLUGWIRE_DEFINITION outside a plugin method', () => {
      let error: unknown;
      try {
        callContext();
      } catch (e) {
        error = e;
      }
      expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
      expect((error as Error).message).toContain('outside');
    });
  });
});
