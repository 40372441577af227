// Silent misconfiguration made loud: parameters without emitted types, contract methods
// the plugin does not implement, and unexpected errors whose stack the plugin prints.
import * as path from 'node:path';
import {
  connect,
  DefinitionError,
  Method,
  Plugin,
  PluginError,
  readManifest,
  RemoteError,
  serve,
  start,
  startRunning,
  stub,
  type Connection,
} from '../../lib';
import { SetupTest } from '../fixtures/contracts/setup-contract';
import { SetupTestPlugin } from '../fixtures/diagnostics/setup-plugin';
import { fixtureStarter, rejectionOf, removeDir, tempDir, waitFor, type CollectingLogger } from '../support/host-helpers';

/** Waits until the plugin has printed a standard-error line that matches. */
async function stderrLine(logger: CollectingLogger, pattern: RegExp): Promise<string> {
  await waitFor(() => logger.errors.some((l) => pattern.test(l)), 5000, `a stderr line matching ${String(pattern)}`);
  return logger.errors.find((l) => pattern.test(l)) as string;
}

/** The process warnings emitted while `run` runs and its microtasks settle. */
async function warningsOf(run: () => void | Promise<void>): Promise<Array<{ message: string; code: string | undefined }>> {
  // Spied rather than listened to: jest's sandboxed process object does not see the real one's events.
  const spy = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  try {
    await run();
    await new Promise((resolve) => setImmediate(resolve));
    return spy.mock.calls.map(([warning, options]) => ({
      message: String(warning),
      code: typeof options === 'object' && options !== null ? (options as { code?: string }).code : undefined,
    }));
  } finally {
    spy.mockRestore();
  }
}

describe('a plugin with a contract method it does not implement', () => {
  let connection: Connection<SetupTest>;
  let logger: CollectingLogger;

  beforeAll(async () => {
    const fixture = fixtureStarter('diagnostics/setup-plugin');
    logger = fixture.logger;
    connection = await connect(SetupTest, fixture.starter);
  });

  afterAll(async () => {
    await connection.term();
  });

  it('warns at serve() naming the class, Class.method and the route', async () => {
    const line = await stderrLine(logger, /PLUGWIRE_NOT_IMPLEMENTED/);
    expect(line).toContain('SetupTestPlugin does not override SetupTest.missing (route /missing)');
    expect(line).not.toContain('/wait');
  });

  it('marks the method in its manifest, and only that one', async () => {
    const manifest = await readManifest(connection.client);
    const implemented = Object.fromEntries((manifest?.methods ?? []).map((m) => [m.route, m.implemented]));
    expect(implemented['/missing']).toBe(false);
    expect(implemented['/wait']).toBe(true);
  });

  it("answers a call with the stub's error, naming the class, Class.method and the route, without 'locally'", async () => {
    const error = await rejectionOf(connection.plugin.missing());
    expect(error).toBeInstanceOf(RemoteError);
    const { remote } = error as RemoteError;
    expect(remote).toMatchObject({ name: 'StubError', code: 'PLUGWIRE_STUB' });
    expect(remote.message).toBe('SetupTestPlugin does not implement SetupTest.missing (route /missing): override it in the class passed to serve()');
    expect(remote.message).not.toMatch(/locally/);
  });
});

describe('serve() and contract methods that are not overridden, in process', () => {
  let dir: string;
  const cleanups: Array<() => Promise<void>> = [];

  beforeEach(() => {
    dir = tempDir();
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    removeDir(dir);
  });

  it("with unimplemented: 'error' refuses to serve, naming the method and the route", async () => {
    const socket = path.join(dir, 'p.sock');
    const error = await rejectionOf(serve(new SetupTestPlugin(), { socket, standalone: false, announce: false, unimplemented: 'error' }));
    expect(error).toBeInstanceOf(DefinitionError);
    expect((error as Error).message).toContain('SetupTest.missing (route /missing)');
  });

  it("refuses an unimplemented option that is not 'warn', 'error' or 'ignore'", async () => {
    const socket = path.join(dir, 'p.sock');
    const error = await rejectionOf(serve(new SetupTestPlugin(), { socket, standalone: false, announce: false, unimplemented: 'skip' as 'warn' }));
    expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
  });

  it("with unimplemented: 'ignore' says nothing, and still marks the method and names it when called", async () => {
    class PartOnly extends SetupTestPlugin {}
    const socket = path.join(dir, 'part.sock');
    const warnings = await warningsOf(async () => {
      const server = await serve(new PartOnly(), { socket, standalone: false, announce: false, unimplemented: 'ignore' });
      cleanups.push(() => server.close());
    });
    expect(warnings.filter((w) => w.code === 'PLUGWIRE_NOT_IMPLEMENTED')).toEqual([]);
    const { client, term } = await start(startRunning({ name: 'part' }), socket, { contractCheck: 'off' });
    cleanups.push(term);
    const manifest = await readManifest(client);
    expect(manifest?.methods.find((m) => m.route === '/missing')?.implemented).toBe(false);
    const error = await rejectionOf(client.call('/missing'));
    expect((error as RemoteError).remote.message).toContain('PartOnly does not implement SetupTest.missing (route /missing)');
  });

  it('warns about a class once, however often it is served', async () => {
    class ServedTwice extends SetupTestPlugin {}
    const warnings = await warningsOf(async () => {
      for (const name of ['one.sock', 'two.sock']) {
        const server = await serve(new ServedTwice(), { socket: path.join(dir, name), standalone: false, announce: false });
        cleanups.push(() => server.close());
      }
    });
    expect(warnings.filter((w) => w.code === 'PLUGWIRE_NOT_IMPLEMENTED')).toHaveLength(1);
  });

  it('does not warn about a class that is its own contract, and runs a default body a contract gives', async () => {
    @Plugin('self-contained')
    class SelfContained {
      @Method('/hello')
      hello(): Promise<string> {
        return Promise.resolve('hello');
      }
    }
    class Inheriting extends SelfContained {}

    const socket = path.join(dir, 'self.sock');
    const warnings = await warningsOf(async () => {
      const server = await serve(new SelfContained(), { socket, standalone: false, announce: false });
      cleanups.push(() => server.close());
    });
    expect(warnings.filter((w) => w.code === 'PLUGWIRE_NOT_IMPLEMENTED')).toEqual([]);

    // A subclass that keeps the contract's body is warned about, and the body still runs.
    const other = path.join(dir, 'inheriting.sock');
    const inherited = await warningsOf(async () => {
      const server = await serve(new Inheriting(), { socket: other, standalone: false, announce: false });
      cleanups.push(() => server.close());
    });
    expect(inherited.map((w) => w.message).join('\n')).toContain('Inheriting does not override SelfContained.hello (route /hello)');
    const { client, term } = await start(startRunning({ name: 'inheriting' }), other, { contractCheck: 'off' });
    cleanups.push(term);
    await expect(client.call('/hello')).resolves.toBe('hello');
  });
});

describe('a method that throws', () => {
  it.each([
    ['on', {}],
    ['off', { SETUP_LOG_ERRORS: 'off' }],
  ])('with logErrors %s: the stack of an unexpected error goes to standard error only when on, never the stack of a coded one', async (mode, env) => {
    const { starter, logger } = fixtureStarter('diagnostics/setup-plugin', { env });
    const { plugin, term } = await connect(SetupTest, starter);
    try {
      const coded = await rejectionOf(plugin.coded());
      expect((coded as RemoteError).remote).toMatchObject({ name: 'OutOfStock', code: 'OUT_OF_STOCK', details: { sku: 'apple', available: 0 } });
      const boom = await rejectionOf(plugin.boom());
      expect((boom as RemoteError).remote).toMatchObject({ name: 'TypeError' });
      // A marker after both calls: standard error arrives in order, so once it is there,
      // anything the two calls printed is there too.
      await plugin.wait(1);
      if (mode === 'on') {
        const line = await stderrLine(logger, /SetupTestPlugin\.boom \(route \/boom\) threw/);
        expect(line).toMatch(/TypeError: Cannot read properties of undefined/);
        const at = logger.errors.findIndex((l) => l === line);
        expect(logger.errors[at + 1]).toMatch(/^\[setup-plugin\]\s+at /);
      } else {
        await term();
        expect(logger.errors.join('\n')).not.toMatch(/threw/);
      }
      expect(logger.errors.join('\n')).not.toMatch(/coded \(route \/coded\) threw|OutOfStock: no apples/);
    } finally {
      await term();
    }
  });
});

describe('parameters without emitted types (emitDecoratorMetadata off, esbuild, tsx)', () => {
  it('warn once per class, naming every Class.method that has parameters and the compiler option', async () => {
    class Untyped {
      first(value: unknown): Promise<void> {
        return stub(value);
      }
      second(a: unknown, b: unknown): Promise<void> {
        return stub(a, b);
      }
      none(): Promise<void> {
        return stub();
      }
    }
    const warnings = await warningsOf(() => {
      for (const name of ['first', 'second', 'none'] as const) {
        Method(`/${name}`)(Untyped.prototype, name, Object.getOwnPropertyDescriptor(Untyped.prototype, name) as PropertyDescriptor);
      }
    });
    const ours = warnings.filter((w) => w.code === 'PLUGWIRE_NO_METADATA');
    expect(ours).toHaveLength(1);
    expect(ours[0]?.message).toContain('Untyped.first, Untyped.second:');
    expect(ours[0]?.message).toContain('emitDecoratorMetadata');
    expect(ours[0]?.message).not.toContain('Untyped.none');
  });

  it('are a definition error with validate: true', () => {
    class StrictUntyped {
      first(value: unknown): Promise<void> {
        return stub(value);
      }
    }
    const descriptor = Object.getOwnPropertyDescriptor(StrictUntyped.prototype, 'first') as PropertyDescriptor;
    expect(() => Method('/first', { validate: true })(StrictUntyped.prototype, 'first', descriptor)).toThrow(/StrictUntyped\.first has parameters but no emitted parameter types/);
  });

  it('are quiet with params named, or with validate: false', async () => {
    class Named {
      first(value: unknown): Promise<void> {
        return stub(value);
      }
      second(value: unknown): Promise<void> {
        return stub(value);
      }
    }
    const warnings = await warningsOf(() => {
      Method('/first', { params: [String] })(Named.prototype, 'first', Object.getOwnPropertyDescriptor(Named.prototype, 'first') as PropertyDescriptor);
      Method('/second', { validate: false })(Named.prototype, 'second', Object.getOwnPropertyDescriptor(Named.prototype, 'second') as PropertyDescriptor);
    });
    expect(warnings.filter((w) => w.code === 'PLUGWIRE_NO_METADATA')).toEqual([]);
  });

  it('are reported by a plugin process on its standard error, which still serves', async () => {
    const { starter, logger } = fixtureStarter('server/no-metadata-plugin');
    const { client, term } = await connect(
      // The host's view of the same routes, compiled with metadata.
      (() => {
        @Plugin('no-metadata')
        class NoMetadataHost {
          @Method('/add')
          add(a: number, b: number): Promise<number> {
            return stub(a, b);
          }
        }
        return NoMetadataHost;
      })(),
      starter,
    );
    try {
      const line = await stderrLine(logger, /PLUGWIRE_NO_METADATA/);
      expect(line).toContain('NoMetadata.place, NoMetadata.add:');
      expect(line).not.toContain('NoMetadata.ping');
      await expect(client.call('/add', [2, 3])).resolves.toBe(5);
      await expect(client.call('/place', { sku: 'apple', quantity: 2 })).resolves.toBe('a plain object: 2 x apple');
    } finally {
      await term();
    }
  });
});
