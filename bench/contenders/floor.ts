// The floor: the fastest plugin call a user could write by hand with the same wire format.
// A bare node:http server process (bench/servers/floor-server.ts) and an undici client
// over a Unix socket, sending the body plugwire sends ({"Context":{"Deadline":null},
// "Payload":...}) and decoding the JSON answer. For one caller at a time it is a single
// undici Client (one keep-alive connection); for concurrent callers an undici Pool of
// Clients as large as plugwire's default (32 connections), else every call would queue on
// one connection (pipelining on one connection gains nothing against node:http).
//
// The client side comes in two styles: `dispatch` (default; the tightest: undici's
// dispatch() with a handler that collects the body chunks, about 30% more calls per second
// at 16 callers than request()) and `request` (request() and body.text(), the everyday API).
//
// The stream scenario's floor: POST /items answers NDJSON (bench/servers/floor-server.ts),
// one res.write() per item (or, `joined`, per 16 KB of items: /items-joined), which the
// client splits into lines at the newline byte and JSON.parses line by line as the chunks
// arrive: in a dispatch() handler, or with request() by iterating the body.
import * as path from 'node:path';
import { Client, Pool, type Dispatcher } from 'undici';
import { removeDir } from '../../spec/support/host-helpers';
import { checkItem, type EchoPayload, type OrderFields } from '../workloads';
import { startServer, type Contender, type Session, type Workload } from './contender';

export type FloorApi = 'dispatch' | 'request';
/** How the floor's server writes a stream's lines: one res.write() each, or joined per 16 KB. */
export type FloorWrites = 'each' | 'joined';

const SERVER = path.join(__dirname, '../servers/floor-server.js');
const ORIGIN = 'http://localhost';
const HEADERS = { 'content-type': 'application/json' };
/** As plugwire's defaults: connections and keep-alive. */
const CONNECTIONS = 32;
const KEEP_ALIVE = 30_000;

function envelope(payload: EchoPayload | OrderFields | number): string {
  return `{"Context":{"Deadline":null},"Payload":${JSON.stringify(payload)}}`;
}

/** Collects an answer's body and settles with its JSON value. */
class JsonAnswer implements Dispatcher.DispatchHandler {
  private status = 0;
  private readonly chunks: Buffer[] = [];

  constructor(
    private readonly route: string,
    private readonly resolve: (value: unknown) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  onRequestStart(): void {}

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.status = statusCode;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    const text = (this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks)).toString('utf8');
    if (this.status !== 200) {
      this.reject(new Error(`floor: ${this.route} answered ${this.status}: ${text.slice(0, 200)}`));
      return;
    }
    try {
      this.resolve(JSON.parse(text));
    } catch (error) {
      this.reject(error as Error);
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.reject(error);
  }
}

function dispatchPost(dispatcher: Dispatcher, route: string, payload: EchoPayload | OrderFields): Promise<unknown> {
  const body = envelope(payload);
  return new Promise((resolve, reject) => {
    dispatcher.dispatch({ path: route, method: 'POST', headers: HEADERS, body }, new JsonAnswer(route, resolve, reject));
  });
}

async function requestPost(dispatcher: Dispatcher, route: string, payload: EchoPayload | OrderFields): Promise<unknown> {
  const { statusCode, body } = await dispatcher.request({ path: route, method: 'POST', headers: HEADERS, body: envelope(payload) });
  const text = await body.text();
  if (statusCode !== 200) throw new Error(`floor: ${route} answered ${statusCode}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as unknown;
}

/** Splits an NDJSON body into lines as its chunks arrive, parses and checks each item, counts them. */
class ItemLines {
  private pending: Buffer | undefined;
  count = 0;

  push(chunk: Buffer): void {
    let start = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, newline);
      start = newline + 1;
      const line = this.pending === undefined ? piece.toString('utf8') : Buffer.concat([this.pending, piece]).toString('utf8');
      this.pending = undefined;
      checkItem(JSON.parse(line), this.count, 'floor');
      this.count++;
    }
    if (start < chunk.length) this.pending = this.pending === undefined ? chunk.subarray(start) : Buffer.concat([this.pending, chunk.subarray(start)]);
  }

  /** The body ended: resolves with the count of items, which must be `expected`. */
  end(expected: number): number {
    if (this.pending !== undefined) throw new Error('floor: the stream ended inside a line');
    if (this.count !== expected) throw new Error(`floor: the stream ended after ${this.count} items of ${expected}`);
    return this.count;
  }
}

/** Reads a stream of items in a dispatch() handler. */
class StreamAnswer implements Dispatcher.DispatchHandler {
  private status = 0;
  private readonly lines = new ItemLines();
  private readonly errorText: Buffer[] = [];

  constructor(
    private readonly route: string,
    private readonly count: number,
    private readonly resolve: (value: number) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  onRequestStart(): void {}

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.status = statusCode;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.status !== 200) {
      this.errorText.push(chunk);
      return;
    }
    if (controller.aborted) return;
    try {
      this.lines.push(chunk);
    } catch (error) {
      controller.abort(error as Error);
    }
  }

  onResponseEnd(): void {
    if (this.status !== 200) {
      this.reject(new Error(`floor: ${this.route} answered ${this.status}: ${Buffer.concat(this.errorText).toString('utf8').slice(0, 200)}`));
      return;
    }
    try {
      this.resolve(this.lines.end(this.count));
    } catch (error) {
      this.reject(error as Error);
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.reject(error);
  }
}

function dispatchStream(dispatcher: Dispatcher, route: string, count: number): Promise<number> {
  const body = envelope(count);
  return new Promise((resolve, reject) => {
    dispatcher.dispatch({ path: route, method: 'POST', headers: HEADERS, body }, new StreamAnswer(route, count, resolve, reject));
  });
}

async function requestStream(dispatcher: Dispatcher, route: string, count: number): Promise<number> {
  const { statusCode, body } = await dispatcher.request({ path: route, method: 'POST', headers: HEADERS, body: envelope(count) });
  if (statusCode !== 200) throw new Error(`floor: ${route} answered ${statusCode}: ${(await body.text()).slice(0, 200)}`);
  const lines = new ItemLines();
  for await (const chunk of body) lines.push(chunk as Buffer);
  return lines.end(count);
}

/** The floor contender, with the client side in the given style, and the stream's lines written as `writes` says. */
export function floorContender(api: FloorApi, writes: FloorWrites = 'each'): Contender {
  const itemsRoute = writes === 'joined' ? '/items-joined' : '/items';
  const post = api === 'dispatch' ? dispatchPost : requestPost;
  const stream = api === 'dispatch' ? dispatchStream : requestStream;
  return {
    name: 'floor',
    description: `bare node:http server + undici ${api}() over a Unix socket (Client; Pool of ${CONNECTIONS} for concurrent callers), same JSON body, no validation; streams: NDJSON, one res.write() ${writes === 'joined' ? 'per 16 KB of lines' : 'per line'}, lines JSON.parsed as they arrive`,
    workloads: new Set(['echo', 'order', 'stream']),
    async start(): Promise<Session> {
      const { dir, socket, server } = await startServer(SERVER);
      const options = { socketPath: socket, keepAliveTimeout: KEEP_ALIVE, keepAliveMaxTimeout: KEEP_ALIVE };
      const client = new Client(ORIGIN, options);
      let pool: Pool | undefined;
      const stopped = server;
      return {
        pid: server.child.pid,
        caller(workload: Workload, callers = 1): () => Promise<unknown> {
          const dispatcher = callers > 1 ? (pool ??= new Pool(ORIGIN, { ...options, connections: CONNECTIONS })) : client;
          switch (workload.kind) {
            case 'echo': {
              const { payload } = workload;
              return () => post(dispatcher, '/echo', payload);
            }
            case 'order': {
              const { order } = workload;
              return () => post(dispatcher, '/order', order);
            }
            case 'stream': {
              const { count } = workload;
              return () => stream(dispatcher, itemsRoute, count);
            }
            case 'item':
              throw new Error('the floor streams its items; one call per item is plugwire-calls');
          }
        },
        async close(): Promise<void> {
          await Promise.all([client.destroy(), pool?.destroy()]);
          await stopped.stop();
          removeDir(dir);
        },
      };
    },
  };
}
