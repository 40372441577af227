// The proxy PlugwireModule injects is a plugwire proxy like connect()'s: stream methods
// work before the plugin runs (a lazy plugin's first call, an optional one that failed,
// after shutdown), and withOptions() and closeProxy() take it.
import { Injectable } from '@nestjs/common';
import { closeProxy, PluginError, StartError, withOptions, type Remote } from '../../lib';
import { InjectPlugin, PlugwireModule, PlugwireRegistry } from '../../lib/nest';
import { StreamTest } from '../fixtures/host/stream-contract';
import { fixture, rejectionOf } from '../support/host-helpers';
import { nestModules } from '../support/nest-modules';

const STREAM_PLUGIN = fixture('host/stream-plugin');

const modules = nestModules();
const { compile } = modules;
afterEach(() => modules.cleanup());

@Injectable()
class Reader {
  constructor(@InjectPlugin(StreamTest) readonly plugin: Remote<StreamTest>) {}
}

async function readAll(stream: AsyncIterable<{ n: number }>): Promise<number[]> {
  const seen: number[] = [];
  for await (const line of stream) seen.push(line.n);
  return seen;
}

/** A module with the stream plugin, initialised (compile() does it). */
async function readerWith(entry: { lazy?: boolean; optional?: boolean; args?: string[] }): Promise<{ reader: Reader; registry: PlugwireRegistry; close: () => Promise<void> }> {
  const moduleRef = await compile({
    imports: [
      PlugwireModule.register({
        plugins: [{ contract: StreamTest, command: process.execPath, args: entry.args ?? [STREAM_PLUGIN], logger: false, lazy: entry.lazy, optional: entry.optional }],
      }),
    ],
    providers: [Reader],
  });
  return { reader: moduleRef.get(Reader), registry: moduleRef.get(PlugwireRegistry), close: () => moduleRef.close() };
}

describe('the proxy PlugwireModule injects', () => {
  it("reads a lazy plugin's stream as its first call: the plugin starts, then the stream runs", async () => {
    const { reader, registry } = await readerWith({ lazy: true });
    expect(registry.list()[0]?.state).toBe('idle');
    await expect(readAll(reader.plugin.count(3))).resolves.toEqual([1, 2, 3]);
    expect(registry.list()[0]?.state).toBe('running');
  });

  it('ends a lazy stream returned before its plugin started without reading it, and the plugin still starts for the next call', async () => {
    const { reader } = await readerWith({ lazy: true });
    const stream = reader.plugin.count(3)[Symbol.asyncIterator]();
    await expect(stream.return!()).resolves.toEqual({ done: true, value: undefined });
    await expect(stream.next()).resolves.toEqual({ done: true, value: undefined });
    await expect(readAll(reader.plugin.count(2))).resolves.toEqual([1, 2]);
  });

  it("rejects the loop over an optional plugin's stream with its StartError while it cannot start, with no unhandled rejection", async () => {
    const { reader } = await readerWith({ optional: true, args: ['-e', 'process.exit(3)'] });
    const error = await rejectionOf(readAll(reader.plugin.count(3)));
    expect(error).toBeInstanceOf(StartError);
  });

  it('rejects the loop with PLUGWIRE_CLOSED after the application closed', async () => {
    const { reader, close } = await readerWith({});
    await close();
    const error = await rejectionOf(readAll(reader.plugin.count(3)));
    expect(PluginError.is(error, 'PLUGWIRE_CLOSED')).toBe(true);
  });

  it('takes withOptions() (a timeout for a stream that never ends) and closeProxy()', async () => {
    const { reader } = await readerWith({ lazy: true });
    const quick = withOptions(reader.plugin, { timeout: 300 });
    const error = await rejectionOf(readAll(quick.tail('t', 10)));
    expect(PluginError.is(error, 'PLUGWIRE_TIMEOUT')).toBe(true);

    closeProxy(quick);
    expect(PluginError.is(await rejectionOf(quick.count(1)[Symbol.asyncIterator]().next()), 'PLUGWIRE_CLOSED')).toBe(true);
    // The injected proxy itself goes on.
    await expect(readAll(reader.plugin.count(2))).resolves.toEqual([1, 2]);
  });
});

