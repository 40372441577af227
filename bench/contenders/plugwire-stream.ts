// plugwire in the stream scenario: a plugin process (bench/servers/plugwire-stream-server.ts)
// whose `async *` method yields the items, started with connect() as the other plugwire
// contenders are, default configuration, no validation. Two contenders of one server:
// plugwire-stream iterates the proxy's stream method with `for await`; plugwire-calls
// fetches the same items with one unary call each (the scenario runs it at 16 callers,
// plugwire's best case for calls).
import * as path from 'node:path';
import { connect, PluginClient, spawnCommand, type Remote } from '../../lib';
import { BenchStream } from '../contracts/bench-stream.contract';
import { checkItem, type StreamItem } from '../workloads';
import { serverNodeArgs, type Contender, type ContenderName, type Session, type Workload } from './contender';
import { pluginLogger } from './plugwire';

const SERVER = path.join(__dirname, '../servers/plugwire-stream-server.js');

/** Thrown by plugwire-stream's start() when this build's host side cannot iterate a stream yet. */
export class StreamsMissing extends Error {}

/**
 * Why the host side cannot iterate a stream yet, or undefined when it can: PluginClient
 * has stream(), and the proxy's stream method returns an AsyncIterable (an empty stream
 * is read to make sure).
 */
async function streamsMissing(plugin: Remote<BenchStream>): Promise<string | undefined> {
  if (typeof (PluginClient.prototype as { stream?: unknown }).stream !== 'function') return "this build's PluginClient has no stream(): the host side of streamed results has not landed";
  const probe: unknown = plugin.items(0);
  if (typeof (probe as Partial<AsyncIterable<unknown>> | null)?.[Symbol.asyncIterator] !== 'function') {
    // The stream method was called as a unary one: let that call settle, whatever it answers.
    await Promise.resolve(probe).catch(() => undefined);
    return "the proxy's stream method returns no AsyncIterable in this build: the host side of streamed results has not landed";
  }
  for await (const item of probe as AsyncIterable<unknown>) throw new Error(`plugwire-stream: an empty stream yielded ${JSON.stringify(item)}`);
  return undefined;
}

function streamContender(name: ContenderName, kind: 'stream' | 'item', description: string): Contender {
  return {
    name,
    description,
    workloads: new Set([kind]),
    async start(): Promise<Session> {
      const { plugin, client, close } = await connect(BenchStream, spawnCommand(process.execPath, [...serverNodeArgs, SERVER], { name: `bench-${name}`, logger: pluginLogger }));
      if (kind === 'stream') {
        const missing = await streamsMissing(plugin).catch(async (error: unknown) => {
          await close();
          throw error;
        });
        if (missing !== undefined) {
          await close();
          throw new StreamsMissing(missing);
        }
      }
      return {
        get pid() {
          return client.pid;
        },
        caller(workload: Workload): () => Promise<unknown> {
          if (workload.kind === 'stream' && kind === 'stream') {
            const { count } = workload;
            return async () => {
              // Read as unknown: this file compiles whether or not Remote<T> already types a stream method's AsyncIterable.
              const items: unknown = plugin.items(count);
              let seq = 0;
              for await (const item of items as AsyncIterable<StreamItem>) checkItem(item, seq++, name);
              if (seq !== count) throw new Error(`${name}: the stream ended after ${seq} items of ${count}`);
              return seq;
            };
          }
          if (workload.kind === 'item' && kind === 'item') {
            let next = 0;
            return async () => {
              const seq = next++;
              const item = await plugin.item(seq);
              checkItem(item, seq, name);
              return item;
            };
          }
          throw new Error(`${name} runs the ${kind} workload only, not ${workload.kind}`);
        },
        close,
      };
    },
  };
}

export const plugwireStream = streamContender('plugwire-stream', 'stream', "plugwire connect() + createProxy, an async * method's items iterated with for await over the proxy's stream method");
export const plugwireCalls = streamContender('plugwire-calls', 'item', 'plugwire connect() + createProxy, the same items with one unary call each, 16 callers');
