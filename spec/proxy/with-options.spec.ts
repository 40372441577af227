// withOptions() and @Method({ timeout }) against a real plugin process: per-call timeouts,
// signals and headers, with validation and result conversion kept; and the one wording
// of a timeout, whichever side noticed it.
import {
  CallTimeoutError,
  connect,
  createProxy,
  Method,
  Plugin,
  PluginError,
  releaseProxy,
  start,
  stub,
  withOptions,
  type Connection,
  type Remote,
} from '../../lib';
import { SetupReceipt, SetupTest } from '../fixtures/contracts/setup-contract';
import { bareHttpStarter, fixtureStarter, rejectionOf } from '../support/host-helpers';

describe('withOptions() and per-method timeouts, against a plugin process', () => {
  let connection: Connection<SetupTest>;
  let plugin: Remote<SetupTest>;

  beforeAll(async () => {
    const { starter } = fixtureStarter('diagnostics/setup-plugin');
    connection = await connect(SetupTest, starter, { timeout: 5000 });
    plugin = connection.plugin;
  });

  afterAll(async () => {
    await connection.term();
  });

  it('gives a proxy whose calls time out after its own timeout, with the same wording as any timeout', async () => {
    const quick = withOptions(plugin, { timeout: 200 });
    const error = await rejectionOf(quick.wait(3000));
    expect(PluginError.is(error, 'PLUGWIRE_TIMEOUT')).toBe(true);
    expect((error as Error).message).toBe('call to /wait timed out after 200 ms');
    // The proxy it was made from keeps its own options.
    await expect(plugin.wait(300)).resolves.toBe('waited 300');
  });

  it("applies a method's own default timeout, which a per-call timeout overrides", async () => {
    const error = await rejectionOf(plugin.patient(3000));
    expect((error as Error).message).toBe('call to /patient timed out after 300 ms');
    await expect(withOptions(plugin, { timeout: 2000 }).patient(400)).resolves.toBe('waited 400');
    await expect(withOptions(plugin, { timeout: 0 }).patient(400)).resolves.toBe('waited 400');
  });

  it("gives untyped client.call() the client's timeout, not the method's, unless one is given per call", async () => {
    await expect(connection.client.call('/patient', 400)).resolves.toBe('waited 400');
    const error = await rejectionOf(connection.client.call('/patient', 3000, { timeout: 250 }));
    expect((error as Error).message).toBe('call to /patient timed out after 250 ms');
  });

  it('aborts calls through its signal with PLUGWIRE_ABORTED', async () => {
    const controller = new AbortController();
    const call = withOptions(plugin, { signal: controller.signal }).wait(3000);
    controller.abort(new Error('user went away'));
    const error = await rejectionOf(call);
    expect(PluginError.is(error, 'PLUGWIRE_ABORTED')).toBe(true);
  });

  it('aborts on either signal when a proxy with a signal is narrowed again', async () => {
    const outer = new AbortController();
    const inner = new AbortController();
    const narrowed = withOptions(withOptions(plugin, { signal: outer.signal }), { signal: inner.signal });
    const call = narrowed.wait(3000);
    outer.abort();
    expect(PluginError.is(await rejectionOf(call), 'PLUGWIRE_ABORTED')).toBe(true);
    expect(inner.signal.aborted).toBe(false);
  });

  it('sends its headers, which the plugin sees in callContext().headers, merged over the headers of the proxy it narrows', async () => {
    const traced = withOptions(plugin, { headers: { 'x-trace-id': 'abc', 'x-tenant': 'one' } });
    await expect(traced.header('x-trace-id')).resolves.toBe('abc');
    const narrowed = withOptions(traced, { headers: { 'x-tenant': 'two' } });
    await expect(narrowed.header('x-trace-id')).resolves.toBe('abc');
    await expect(narrowed.header('x-tenant')).resolves.toBe('two');
    await expect(plugin.header('x-trace-id')).resolves.toBeNull();
    await expect(connection.client.call('/header', 'x-raw', { headers: { 'x-raw': 'yes' } })).resolves.toBe('yes');
  });

  it('keeps the host-side validation and the result conversion', async () => {
    const quick = withOptions(plugin, { timeout: 2000 });
    const receipt = await quick.order({ sku: 'apple', quantity: 2 });
    expect(receipt).toBeInstanceOf(SetupReceipt);
    expect(receipt.loud()).toBe('2 X APPLE');
    const error = await rejectionOf(quick.order({ sku: '', quantity: 0 }));
    expect(PluginError.is(error, 'PLUGWIRE_VALIDATION')).toBe(true);
    expect(error).toMatchObject({ side: 'host' });
  });

  it.each([
    [{ timeout: -1 }, /timeout must be a number of ms from 0 to/],
    [{ timeout: Number.NaN }, /timeout must be a number/],
    [{ signal: 'abort' as unknown as AbortSignal }, /signal must be an AbortSignal/],
    [{ headers: { authorization: 'Bearer x' } }, /authorization is plugwire's own/],
    [{ headers: { 'Content-Type': 'text/plain' } }, /Content-Type is plugwire's own/],
    [{ headers: { 'x-plugwire-version': '2' } }, /plugwire's own/],
    [{ headers: { 'bad name': 'x' } }, /not a valid header name/],
    [{ headers: { 'x-split': 'a\r\nInjected: yes' } }, /without line breaks/],
    [{ headers: { 'x-number': 1 as unknown as string } }, /must be a string/],
    [JSON.parse('{"timout": 500}') as object, /withOptions\(\): unknown option 'timout'; the options are timeout, signal and headers/],
  ])('refuses bad options %p with a TypeError at once', (options, message) => {
    expect(() => withOptions(plugin, options)).toThrow(TypeError);
    expect(() => withOptions(plugin, options)).toThrow(message);
  });

  it('refuses bad per-call options of client.call() with a rejected TypeError', async () => {
    await expect(connection.client.call('/header', 'x', { headers: { host: 'elsewhere' } })).rejects.toThrow(TypeError);
    await expect(connection.client.call('/header', 'x', JSON.parse('{"deadline": 5}') as object)).rejects.toThrow("call to /header: unknown option 'deadline'");
  });

  it('refuses a value that is not a plugwire proxy', () => {
    expect(() => withOptions({}, { timeout: 1 })).toThrow(/not a plugwire proxy/);
  });

  it('is released with the proxy it was made from', async () => {
    const own = createProxy(connection.client, SetupTest);
    const derived = withOptions(own, { timeout: 1000 });
    releaseProxy(own);
    const error = await rejectionOf(derived.wait(1));
    expect(PluginError.is(error, 'PLUGWIRE_CLOSED')).toBe(true);
    // Releasing a derived proxy leaves the original alone.
    const other = withOptions(plugin, { timeout: 1000 });
    releaseProxy(other);
    await expect(plugin.wait(1)).resolves.toBe('waited 1');
  });
});

describe('@Method({ timeout })', () => {
  it.each([[-1], [2 ** 31], [Number.NaN], ['100' as unknown as number]])('refuses %p as a definition error', (timeout) => {
    const define = (): void => {
      @Plugin()
      class BadTimeout {
        @Method('/x', { timeout })
        x(): Promise<void> {
          return stub();
        }
      }
      void BadTimeout;
    };
    expect(define).toThrow(/'timeout' must be a number of ms from 0 to/);
  });
});

describe('a timeout noticed by the plugin first', () => {
  it('reads like the host\'s own, with the plugin\'s "context deadline exceeded" as its cause', async () => {
    // A hand-written plugin that answers every call at once with its deadline error, as a
    // plugin whose clock runs ahead (or a Go plugin's own context) would.
    const { client, term } = await start(
      bareHttpStarter('early-deadline', (_req, _body, res) => {
        const text = `${JSON.stringify(JSON.stringify({ code: 'PLUGWIRE_TIMEOUT', message: 'context deadline exceeded' }))}\n`;
        res.writeHead(504, { 'Content-Type': 'application/json', 'x-plugwire-error': '1' });
        res.end(text);
      }),
      undefined,
      { contractCheck: 'off' },
    );
    try {
      const error = await rejectionOf(client.call('/slow', null, { timeout: 1500 }));
      expect(error).toBeInstanceOf(CallTimeoutError);
      expect((error as Error).message).toBe('call to /slow timed out after 1500 ms');
      expect(((error as Error).cause as Error).message).toBe('context deadline exceeded');
    } finally {
      await term();
    }
  });

  it('reads the same from a version 1 plugin that sends only the plain message', async () => {
    const { client, term } = await start(
      bareHttpStarter('go-style-deadline', (_req, _body, res) => {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end('"context deadline exceeded"\n');
      }),
    );
    try {
      const error = await rejectionOf(client.call('/slow', null, { timeout: 800 }));
      expect(PluginError.is(error, 'PLUGWIRE_TIMEOUT')).toBe(true);
      expect((error as Error).message).toBe('call to /slow timed out after 800 ms');
      expect(((error as Error).cause as Error).message).toBe('context deadline exceeded');
    } finally {
      await term();
    }
  });
});
