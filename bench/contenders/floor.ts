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
import * as path from 'node:path';
import { Client, Pool, type Dispatcher } from 'undici';
import { removeDir } from '../../spec/support/host-helpers';
import type { EchoPayload, OrderFields } from '../workloads';
import { startServer, type Contender, type Session, type Workload } from './contender';

export type FloorApi = 'dispatch' | 'request';

const SERVER = path.join(__dirname, '../servers/floor-server.js');
const ORIGIN = 'http://localhost';
const HEADERS = { 'content-type': 'application/json' };
/** As plugwire's defaults: connections and keep-alive. */
const CONNECTIONS = 32;
const KEEP_ALIVE = 30_000;

function envelope(payload: EchoPayload | OrderFields): string {
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

/** The floor contender, with the client side in the given style. */
export function floorContender(api: FloorApi): Contender {
  const post = api === 'dispatch' ? dispatchPost : requestPost;
  return {
    name: 'floor',
    description: `bare node:http server + undici ${api}() over a Unix socket (Client; Pool of ${CONNECTIONS} for concurrent callers), same JSON body, no validation`,
    workloads: new Set(['echo', 'order']),
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
          if (workload.kind === 'echo') {
            const { payload } = workload;
            return () => post(dispatcher, '/echo', payload);
          }
          const { order } = workload;
          return () => post(dispatcher, '/order', order);
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
