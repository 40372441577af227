// A contract method without @Method(): Remote<T> types it, so the host can call it. The
// proxy answers with a function that rejects with PLUGWIRE_DEFINITION saying to add
// @Method(), instead of `undefined` (`plugin.farewell is not a function`). Nothing else
// changes: `then`, symbols, probes, accessors, fields and names the contract lacks stay
// undefined, and the proxy's keys are still its routes.
import { inspect } from 'node:util';
import {
  closeProxy,
  connect,
  createProxy,
  DefinitionError,
  Method,
  Plugin,
  PluginError,
  serveInProcess,
  stub,
  withOptions,
  type Connection,
  type PluginClient,
} from '../../lib';
import { rejectionOf } from '../support/host-helpers';

let moodReads = 0;

class GreeterBase {
  /** Inherited, without @Method(). */
  wave(): Promise<string> {
    return stub();
  }
}

@Plugin('greeter')
class Greeter extends GreeterBase {
  label = 'a field';

  @Method('/greet')
  greet(name: string): Promise<string> {
    return stub(name);
  }

  /** @Method('/farewell') forgotten. */
  farewell(name: string): Promise<string> {
    return stub(name);
  }

  /** Tail of a stream method whose @Method('/tail', { stream: true }) was forgotten. */
  tail(): AsyncIterable<string> {
    return stub();
  }

  get mood(): string {
    moodReads++;
    return 'fine';
  }

  // Methods with the names that awaiting, serialising and printing look up.
  then(): void {
    throw new Error('then() ran');
  }

  toJSON(): object {
    return { greeter: true };
  }

  override toString(): string {
    return 'Greeter';
  }

  static create(): Greeter {
    return new Greeter();
  }
}

class GreeterImpl extends Greeter {
  override async greet(name: string): Promise<string> {
    return `hello ${name}`;
  }

  override async farewell(name: string): Promise<string> {
    return `bye ${name}`;
  }
}

function fakeClient(): PluginClient & { call: jest.Mock; callMethod: jest.Mock; streamMethod: jest.Mock } {
  const fake = {
    name: 'fake',
    call: jest.fn(() => Promise.resolve('called')),
    callMethod: jest.fn(() => Promise.resolve('called method')),
    streamMethod: jest.fn(),
  };
  return fake as unknown as PluginClient & typeof fake;
}

/** Expects the error that says to add @Method() to `Owner.name`. */
function expectNotARoute(error: unknown, owner: string, name: string): void {
  expect(error).toBeInstanceOf(DefinitionError);
  expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
  expect((error as Error).message).toMatch(new RegExp(`^${owner}\\.${name} is not a route\\b`));
  expect((error as Error).message).toContain(`add @Method('/${name}')`);
  expect((error as Error).message).toContain('contract');
}

describe('createProxy() with a contract: a contract method without @Method()', () => {
  let client: ReturnType<typeof fakeClient>;
  let proxy: Record<string | symbol, unknown>;

  beforeEach(() => {
    client = fakeClient();
    proxy = createProxy(client, Greeter);
  });

  afterEach(() => {
    expect(client.call).not.toHaveBeenCalled();
    expect(client.streamMethod).not.toHaveBeenCalled();
  });

  it('is a function that rejects with PLUGWIRE_DEFINITION saying to add @Method(), and calls nothing', async () => {
    const farewell = proxy['farewell'] as (name: string) => Promise<string>;
    expect(typeof farewell).toBe('function');
    expectNotARoute(await rejectionOf(farewell('Ada')), 'Greeter', 'farewell');
    expect(client.callMethod).not.toHaveBeenCalled();
  });

  it('is the same function on every access', () => {
    expect(proxy['farewell']).toBe(proxy['farewell']);
  });

  it('names the class that declares an inherited method', async () => {
    expectNotARoute(await rejectionOf((proxy['wave'] as () => Promise<string>)()), 'GreeterBase', 'wave');
  });

  it('rejects for await too, as a stream method whose @Method() was forgotten, leaving no unhandled rejection', async () => {
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      let error: unknown;
      try {
        for await (const item of (proxy['tail'] as () => AsyncIterable<string>)()) throw new Error(`got ${item}`);
      } catch (e) {
        error = e;
      }
      expectNotARoute(error, 'Greeter', 'tail');
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  it('rejects the same way on a closed proxy and on one made by withOptions()', async () => {
    const derived = withOptions(proxy, { timeout: 100 });
    expectNotARoute(await rejectionOf((derived['farewell'] as () => Promise<string>)()), 'Greeter', 'farewell');
    closeProxy(proxy);
    expectNotARoute(await rejectionOf((proxy['farewell'] as () => Promise<string>)()), 'Greeter', 'farewell');
  });

  it('leaves the routes callable', async () => {
    await expect((proxy['greet'] as (name: string) => Promise<string>)('Ada')).resolves.toBe('called method');
    expect(client.callMethod).toHaveBeenCalledTimes(1);
  });

  it('is not among the keys, nor "in" the proxy: those are its routes', () => {
    expect(Object.keys(proxy)).toEqual(['greet']);
    expect('farewell' in proxy).toBe(false);
    expect(Object.getOwnPropertyDescriptor(proxy, 'farewell')).toBeUndefined();
  });

  it.each(['then', 'toJSON', 'toString', 'constructor', 'hasOwnProperty', 'valueOf', 'label', 'create', 'other'])(
    'leaves %s undefined: probes, Object.prototype, fields, static members and unknown names',
    (name) => {
      expect(proxy[name]).toBeUndefined();
    },
  );

  it('leaves an accessor undefined without running it', () => {
    expect(proxy['mood']).toBeUndefined();
    expect(moodReads).toBe(0);
  });

  it('leaves symbols undefined', () => {
    for (const symbol of [Symbol.asyncIterator, Symbol.iterator, Symbol.toPrimitive, inspect.custom]) expect(proxy[symbol]).toBeUndefined();
  });

  it('stays not thenable: await gives the proxy, and printing or serialising it calls nothing', async () => {
    const awaited = await Promise.resolve(proxy);
    expect(awaited === proxy).toBe(true);
    expect(JSON.stringify(proxy)).toBe('{}');
    expect(typeof inspect(proxy)).toBe('string');
    expect(client.callMethod).not.toHaveBeenCalled();
  });
});

describe('connect(): a contract method without @Method(), which the plugin implements', () => {
  let connection: Connection<Greeter>;

  beforeAll(async () => {
    connection = await connect(Greeter, serveInProcess(new GreeterImpl()));
  });

  afterAll(async () => {
    await connection.close();
  });

  it('rejects with PLUGWIRE_DEFINITION naming the method, and the routes still work', async () => {
    await expect(connection.plugin.greet('Ada')).resolves.toBe('hello Ada');
    expectNotARoute(await rejectionOf(connection.plugin.farewell('Ada')), 'Greeter', 'farewell');
  });
});
