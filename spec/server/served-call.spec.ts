// The per-call pipeline without sockets: a ServedCall driven through stand-ins for the
// request, the response and its server, from the body to the answer and its release.
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { callContext, Method, Plugin, PluginError, stub, type CallContext } from '../../lib';
import { writeError, type Answer } from '../../lib/server/answers';
import { buildRouteTable } from '../../lib/server/route-table';
import { ServedCall, type CallServer } from '../../lib/server/served-call';

@Plugin('pipeline')
class Pipeline {
  @Method('/upper')
  upper(value: string): Promise<string> {
    return stub(value);
  }

  @Method('/fail')
  fail(): Promise<void> {
    return stub();
  }

  @Method('/wait')
  wait(): Promise<string> {
    return stub();
  }

  @Method('/context')
  context(): Promise<string> {
    return stub();
  }
}

class PipelineImpl extends Pipeline {
  seen: CallContext | undefined;

  override async upper(value: string): Promise<string> {
    return value.toUpperCase();
  }

  override async fail(): Promise<void> {
    throw new Error('broken');
  }

  /** Runs until its signal fires. */
  override wait(): Promise<string> {
    const { signal } = callContext();
    return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)));
  }

  override async context(): Promise<string> {
    this.seen = callContext();
    return 'seen';
  }
}

const table = buildRouteTable([new PipelineImpl()]);
const impl = table.get('/upper')?.target as PipelineImpl;

/** A response stand-in: what the pipeline writes, and the events a real one emits. */
class FakeResponse extends EventEmitter {
  headersSent = false;
  destroyed = false;
  writableFinished = false;
  statusCode = 200;
  headers: Record<string, string | number> = {};
  body: string | undefined;
  continued = false;

  writeHead(status: number, headers: Record<string, string | number> = {}): this {
    this.statusCode = status;
    this.headers = headers;
    this.headersSent = true;
    return this;
  }

  end(text?: string): this {
    this.body = text;
    return this;
  }

  writeContinue(): void {
    this.continued = true;
  }

  /** The answer was flushed to the socket. */
  flush(): void {
    this.writableFinished = true;
    this.emit('finish');
    this.emit('close');
  }
}

class FakeServer implements CallServer {
  readonly logErrors = true;
  readonly maxCollectedSize = 1024;
  readonly releases: ServedCall[] = [];
  readonly reports: string[] = [];
  readonly unexpectedErrors: unknown[] = [];

  constructor(readonly maxBodySize = 1024) {}

  sendError(req: IncomingMessage, res: ServerResponse, answer: Answer): void {
    if (res.headersSent || res.destroyed) return;
    writeError(req, res, answer);
  }

  unexpected(_req: IncomingMessage, _res: ServerResponse, error: unknown): void {
    this.unexpectedErrors.push(error);
  }

  report(what: string): void {
    this.reports.push(what);
  }

  released(call: ServedCall): void {
    this.releases.push(call);
  }

  holdUntil(): void {}
}

interface Served {
  call: ServedCall;
  req: EventEmitter & { headers: Record<string, string>; complete: boolean };
  res: FakeResponse;
  server: FakeServer;
}

function served(route: string, headers: Record<string, string> = {}, options: { hideAuthorization?: boolean; maxBodySize?: number } = {}): Served {
  const entry = table.get(route);
  if (!entry) throw new Error(`no route ${route}`);
  const req = Object.assign(new EventEmitter(), { headers, complete: false });
  const res = new FakeResponse();
  const server = new FakeServer(options.maxBodySize);
  const call = new ServedCall(server, req as unknown as IncomingMessage, res as unknown as ServerResponse, entry, route, options.hideAuthorization ?? false);
  call.start(false);
  return { call, req, res, server };
}

function send(req: Served['req'], body: string): void {
  req.emit('data', Buffer.from(body));
  req.complete = true;
  req.emit('end');
}

function envelope(payload: unknown, deadline: string | null = null): string {
  return JSON.stringify({ Context: { Deadline: deadline }, Payload: payload });
}

/** Waits until the response has its answer (5 s at most). */
async function answered(res: FakeResponse): Promise<void> {
  for (let i = 0; i < 1000 && !res.headersSent; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(res.headersSent).toBe(true);
}

/** The structured error of an answer to a plugwire host. */
function wire(res: FakeResponse): { code: string; message: string; violations?: unknown[] } {
  return JSON.parse(JSON.parse(res.body ?? '') as string) as { code: string; message: string; violations?: unknown[] };
}

const STRUCTURED = { 'x-plugwire-version': '1' };

describe('ServedCall', () => {
  it("answers 200 with the method's result as JSON, and is released once its answer is flushed", async () => {
    const { req, res, server, call } = served('/upper');
    send(req, envelope('abc'));
    await answered(res);
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('"ABC"\n');
    expect(res.headers['Content-Type']).toBe('application/json; charset=utf-8');
    expect(res.headers['Content-Length']).toBe(6);
    expect(call.settled).toBe(true);
    expect(server.releases).toEqual([]); // still in flight until flushed
    res.flush();
    expect(server.releases).toEqual([call]);
    expect(call.counted).toBe(false);
  });

  it('answers 422 with the violations when the payload is invalid', async () => {
    const { req, res } = served('/upper', STRUCTURED);
    send(req, envelope(42));
    await answered(res);
    expect(res.statusCode).toBe(422);
    expect(res.headers['x-plugwire-error']).toBe('1');
    const error = wire(res);
    expect(error.code).toBe('PLUGWIRE_VALIDATION');
    expect(error.violations?.length).toBeGreaterThan(0);
  });

  it('answers 400 to a body that is not JSON', async () => {
    const { req, res } = served('/upper');
    send(req, '{');
    await answered(res);
    expect(res.statusCode).toBe(400);
    // A version 1 host gets the message alone, as a JSON string.
    expect(JSON.parse(res.body ?? '')).toMatch(/^request body is not valid JSON: /);
  });

  it('answers 504 at once to a deadline already past', async () => {
    const { req, res } = served('/upper');
    send(req, envelope('abc', '2000-01-01T00:00:00Z'));
    await answered(res);
    expect(res.statusCode).toBe(504);
    expect(res.body).toBe('"context deadline exceeded"\n');
  });

  it('answers 504 when the deadline passes while the method runs, and aborts its signal', async () => {
    const { req, res, call } = served('/wait', STRUCTURED);
    send(req, envelope(null, new Date(Date.now() + 50).toISOString()));
    await answered(res);
    expect(res.statusCode).toBe(504);
    expect(wire(res)).toEqual({ code: 'PLUGWIRE_TIMEOUT', message: 'context deadline exceeded' });
    expect(call.signal.aborted).toBe(true);
    expect(PluginError.is(call.signal.reason, 'PLUGWIRE_TIMEOUT')).toBe(true);
  });

  it("answers 500 with the method's error and reports it as unexpected", async () => {
    const { req, res, server } = served('/fail', STRUCTURED);
    send(req, envelope(null));
    await answered(res);
    expect(res.statusCode).toBe(500);
    expect(wire(res)).toMatchObject({ code: 'PLUGWIRE_REMOTE', message: 'broken' });
    expect(server.reports).toEqual(['PipelineImpl.fail (route /fail) threw']);
  });

  it('answers 413 once the body grows past maxBodySize, and stops reading it', async () => {
    const { req, res } = served('/upper', {}, { maxBodySize: 10 });
    req.emit('data', Buffer.from(envelope('a long enough value')));
    expect(res.statusCode).toBe(413);
    expect(JSON.parse(res.body ?? '')).toBe('request body larger than 10 bytes');
    expect(req.listenerCount('data')).toBe(0);
  });

  it('aborts the signal and is released when its caller goes away; a later result is not written', async () => {
    const { req, res, server, call } = served('/wait');
    send(req, envelope(null));
    await new Promise((resolve) => setImmediate(resolve));
    res.destroyed = true;
    res.emit('close');
    expect(call.signal.aborted).toBe(true);
    expect((call.signal.reason as Error).message).toBe('the caller went away');
    expect(server.releases).toEqual([call]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(res.headersSent).toBe(false);
  });

  it('aborts the signal with the timeout when its caller hangs up at its deadline, before the deadline watch fires', async () => {
    const { req, res, call } = served('/wait');
    const deadline = Date.now() + 30;
    send(req, envelope(null, new Date(deadline).toISOString()));
    await new Promise((resolve) => setImmediate(resolve));
    // A host whose own timer fired first hangs up; this process has not run its watch yet.
    while (Date.now() <= deadline) {
      // the deadline passes within this turn of the event loop
    }
    res.destroyed = true;
    res.emit('close');
    expect(call.signal.aborted).toBe(true);
    expect(PluginError.is(call.signal.reason, 'PLUGWIRE_TIMEOUT')).toBe(true);
  });

  it('is the call context: route, deadline and the headers without the token', async () => {
    const deadline = new Date(Date.now() + 60_000);
    const { req, res } = served('/context', { authorization: 'Bearer secret', 'x-trace': 't1' }, { hideAuthorization: true });
    send(req, envelope(null, deadline.toISOString()));
    await answered(res);
    const seen = impl.seen;
    expect(seen?.route).toBe('/context');
    expect(seen?.deadline?.getTime()).toBe(deadline.getTime());
    expect(seen?.headers).toEqual({ 'x-trace': 't1' });
  });
});

// Before Node.js 24 an AsyncLocalStorage that is on hooks every promise of the process, so
// the call context's storage is turned off once no method has run for a second.
describe('the call context storage', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('stays on while a method runs, is turned off a second after the last one ends, and on again for the next call', async () => {
    const disable = jest.spyOn(AsyncLocalStorage.prototype, 'disable');
    const run = jest.spyOn(AsyncLocalStorage.prototype, 'run');
    // Only this module's storage: a module loaded by an earlier spec file of this worker
    // may turn its own off meanwhile.
    const disabled = (): number => disable.mock.contexts.filter((storage) => run.mock.contexts.includes(storage)).length;
    // A method that runs 1.5 s, past the idle second, while a quick call comes and goes.
    const waiting = served('/wait', STRUCTURED);
    send(waiting.req, envelope(null, new Date(Date.now() + 1500).toISOString()));
    const quick = served('/upper');
    send(quick.req, envelope('abc'));
    await answered(quick.res);
    await answered(waiting.res);
    expect(waiting.res.statusCode).toBe(504);
    expect(run).toHaveBeenCalled();
    expect(disabled()).toBe(0);

    for (let i = 0; i < 600 && disabled() === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(disabled()).toBe(1);

    const deadline = new Date(Date.now() + 60_000);
    const { req, res } = served('/context');
    send(req, envelope(null, deadline.toISOString()));
    await answered(res);
    expect(impl.seen?.route).toBe('/context');
    expect(impl.seen?.deadline?.getTime()).toBe(deadline.getTime());
  });
});
