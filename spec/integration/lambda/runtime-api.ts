/**
 * The Lambda Runtime API (2018-06-01) as a runtime interface client sees it, served on
 * 127.0.0.1 for spec/integration/lambda/lambda.spec.ts: the client's GET of the next
 * invocation is held until the test invokes the function, as Lambda holds it while the
 * environment is idle; its POSTs of a response, an invocation error and an init error
 * settle the invocation.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const PREFIX = '/2018-06-01/runtime';

/** What Lambda reports of a failed invocation (the runtime client's body). */
export interface ErrorReport {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace?: readonly string[];
}

/** How an invocation ended, and when the runtime client posted it. */
export type Outcome =
  | { readonly kind: 'response'; readonly body: unknown; readonly at: number }
  | { readonly kind: 'error'; readonly body: ErrorReport; readonly errorTypeHeader: string | undefined; readonly at: number };

interface Pending {
  readonly id: string;
  readonly event: unknown;
  readonly deadline: number;
  readonly settle: (outcome: Outcome) => void;
  readonly fail: (error: Error) => void;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => resolve(body));
    request.on('error', reject);
  });
}

/** One function's Runtime API: one invocation at a time, as Lambda sends them to an environment. */
export class RuntimeApi {
  /** GETs of the next invocation so far. */
  nextRequests = 0;
  /** What the client posted to /runtime/init/error. */
  readonly initErrors: ErrorReport[] = [];
  private readonly server: Server;
  private readonly queue: Pending[] = [];
  private readonly running = new Map<string, Pending>();
  private waiting: ServerResponse | undefined;
  private idleWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  private broken: Error | undefined;

  constructor() {
    this.server = createServer((request, response) => void this.route(request, response));
  }

  /** Listens on a free port of 127.0.0.1. @returns `host:port`, for AWS_LAMBDA_RUNTIME_API */
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Resolves once the client waits for its next invocation: it is idle, its last answer posted. */
  idle(): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.waiting !== undefined) return Promise.resolve();
    return new Promise((resolve, reject) => this.idleWaiters.push({ resolve, reject }));
  }

  /**
   * Invokes the function with `event` and a deadline `timeoutMs` from now (the function's
   * timeout). @returns how the runtime client reported it
   */
  invoke(event: unknown, timeoutMs = 10_000): Promise<Outcome> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((settle, fail) => {
      this.queue.push({ id: randomUUID(), event, deadline: Date.now() + timeoutMs, settle, fail });
      this.deliver();
    });
  }

  /** The deadline (ms since the epoch) of the invocation that is running or was last sent. */
  lastDeadline = 0;

  /**
   * Fails every wait: the client went away (its process ended) or broke the protocol.
   * @param error - why
   */
  breakOff(error: Error): void {
    this.broken ??= error;
    for (const pending of [...this.queue.splice(0), ...this.running.values()]) pending.fail(error);
    this.running.clear();
    for (const waiter of this.idleWaiters.splice(0)) waiter.reject(error);
  }

  /** Stops listening and drops the connections of the client. */
  async close(): Promise<void> {
    this.breakOff(new Error('the Runtime API was closed'));
    this.waiting?.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private deliver(): void {
    const response = this.waiting;
    const next = this.queue[0];
    if (response === undefined || next === undefined) return;
    this.queue.shift();
    this.waiting = undefined;
    this.running.set(next.id, next);
    this.lastDeadline = next.deadline;
    const body = JSON.stringify(next.event);
    response.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'Lambda-Runtime-Aws-Request-Id': next.id,
      'Lambda-Runtime-Deadline-Ms': String(next.deadline),
      'Lambda-Runtime-Invoked-Function-Arn': 'arn:aws:lambda:eu-west-1:123456789012:function:shouter',
      'Lambda-Runtime-Trace-Id': `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomUUID().replace(/-/g, '').slice(0, 24)};Sampled=0`,
    });
    response.end(body);
  }

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = request.url ?? '';
    const body = await readBody(request);
    if (request.method === 'GET' && url === `${PREFIX}/invocation/next`) {
      if (this.running.size > 0) {
        this.fail(response, `the client asked for the next invocation while ${[...this.running.keys()].join(', ')} was not answered`);
        return;
      }
      this.nextRequests += 1;
      this.waiting = response;
      // The client's connection closing under a held GET (its process ended) is no idle client.
      response.on('close', () => {
        if (this.waiting === response) this.waiting = undefined;
      });
      for (const waiter of this.idleWaiters.splice(0)) waiter.resolve();
      this.deliver();
      return;
    }
    const answer = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url);
    if (request.method === 'POST' && answer) {
      const id = decodeURIComponent(answer[1] ?? '');
      const pending = this.running.get(id);
      if (pending === undefined) {
        this.fail(response, `an answer for ${id}, which is not running`);
        return;
      }
      this.running.delete(id);
      const at = Date.now();
      const errorTypeHeader = request.headers['lambda-runtime-function-error-type'];
      response.writeHead(202, { 'Content-Type': 'application/json' }).end('{"status":"OK"}');
      if (answer[2] === 'response') pending.settle({ kind: 'response', body: JSON.parse(body) as unknown, at });
      else pending.settle({ kind: 'error', body: JSON.parse(body) as ErrorReport, errorTypeHeader: typeof errorTypeHeader === 'string' ? errorTypeHeader : undefined, at });
      return;
    }
    if (request.method === 'POST' && url === `${PREFIX}/init/error`) {
      const report = JSON.parse(body) as ErrorReport;
      this.initErrors.push(report);
      response.writeHead(202, { 'Content-Type': 'application/json' }).end('{"status":"OK"}');
      this.breakOff(new Error(`the function failed to initialise: ${report.errorType}: ${report.errorMessage}`));
      return;
    }
    this.fail(response, `an unknown request ${String(request.method)} ${url}`);
  }

  private fail(response: ServerResponse, what: string): void {
    response.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errorMessage: what }));
    this.breakOff(new Error(`the runtime client sent ${what}`));
  }
}
