// createProxy() against a fake client: which property accesses become calls, and how.
import { inspect } from 'node:util';
import { createProxy, Method, Plugin, PluginError, releaseProxy, stub, type PluginClient } from '../../lib';

@Plugin('proxied')
class Proxied {
  @Method('/modify')
  modify(value: string): Promise<string> {
    return stub(value);
  }

  @Method('/pair')
  pair(a: string, b: number): Promise<string> {
    return stub(a, b);
  }
}

class Undecorated {
  modify(value: string): Promise<string> {
    return Promise.resolve(value);
  }
}

interface FakeClient {
  readonly name: string;
  readonly call: jest.Mock<Promise<unknown>, [string, unknown?, unknown?]>;
  readonly callMethod: jest.Mock<Promise<unknown>, [unknown, readonly unknown[], unknown?]>;
}

function fakeClient(): FakeClient {
  return {
    name: 'fake',
    call: jest.fn((route: string, _payload?: unknown, _options?: unknown) => Promise.resolve(`called ${route}`)),
    callMethod: jest.fn((_definition: unknown, _args: readonly unknown[], _options?: unknown) => Promise.resolve('called method')),
  };
}

const asClient = (fake: FakeClient): PluginClient => fake as unknown as PluginClient;

/** The names that promise checks, jest, util.inspect and serialisers probe. */
const PROBED = ['then', 'asymmetricMatch', '$$typeof', 'toJSON', 'constructor', 'nodeType', 'toString', 'valueOf', 'inspect', '_isMockFunction'];
const SYMBOLS = [Symbol.iterator, Symbol.asyncIterator, Symbol.toPrimitive, Symbol.toStringTag, inspect.custom, Symbol.hasInstance, Symbol('unregistered')];

describe.each([
  ['without a contract', undefined],
  ['with a contract', Proxied],
])('createProxy() %s', (_label, contract) => {
  let fake: FakeClient;
  let proxy: Record<string | symbol, unknown>;

  beforeEach(() => {
    fake = fakeClient();
    proxy = createProxy(asClient(fake), contract);
  });

  afterEach(() => {
    // Whatever was probed, nothing may have become a call.
    expect(fake.call).not.toHaveBeenCalled();
    expect(fake.callMethod).not.toHaveBeenCalled();
  });

  it('returns undefined for "then", so that await resolves to the proxy itself', async () => {
    expect(proxy['then']).toBeUndefined();
    // Promise.resolve() follows a "then" exactly as await does.
    const awaited = await Promise.resolve(proxy);
    expect(awaited === proxy).toBe(true);
    const returned = await (async () => proxy)();
    expect(returned === proxy).toBe(true);
  });

  it.each(PROBED)('returns undefined for the probed name %s', (name) => {
    expect(proxy[name]).toBeUndefined();
  });

  it.each(SYMBOLS.map((s) => [s.toString(), s] as const))('returns undefined for the symbol %s', (_name, symbol) => {
    expect(proxy[symbol]).toBeUndefined();
  });

  it('can be inspected, stringified and matched by jest without a call', () => {
    expect(typeof inspect(proxy)).toBe('string');
    expect(typeof inspect(proxy, { showHidden: true, depth: 3 })).toBe('string');
    expect(proxy).toBeDefined();
    expect(proxy).toBeTruthy();
    expect(proxy).toBe(proxy);
    expect(proxy).toEqual(proxy);
    expect(proxy).toStrictEqual(proxy);
    expect(proxy).not.toBeNull();
    expect(() => JSON.stringify(proxy)).not.toThrow();
    expect(Object.prototype.toString.call(proxy)).toBe('[object Object]');
  });

  it('caches the stub: the same function on every access', () => {
    const first = proxy['modify'];
    expect(typeof first).toBe('function');
    expect(proxy['modify']).toBe(first);
  });
});

describe('createProxy()', () => {
  it('without a contract: proxy.foo(1) calls /foo with 1, bar(1, 2) with [1, 2], baz() with null', async () => {
    const fake = fakeClient();
    const proxy = createProxy<{ foo(a: number): Promise<unknown>; bar(a: number, b: number): Promise<unknown>; baz(): Promise<unknown> }>(asClient(fake));

    await expect(proxy.foo(1)).resolves.toBe('called /foo');
    await expect(proxy.bar(1, 2)).resolves.toBe('called /bar');
    await expect(proxy.baz()).resolves.toBe('called /baz');
    expect(fake.call.mock.calls.map((c) => [c[0], c[1]])).toEqual([
      ['/foo', 1],
      ['/bar', [1, 2]],
      ['/baz', null],
    ]);
    expect(fake.callMethod).not.toHaveBeenCalled();
  });

  it('passes its options to every call', async () => {
    const fake = fakeClient();
    const signal = new AbortController().signal;
    const proxy = createProxy<{ foo(a: number): Promise<unknown> }>(asClient(fake), undefined, { timeout: 1234, signal });
    await proxy.foo(1);
    expect(fake.call).toHaveBeenCalledWith('/foo', 1, expect.objectContaining({ timeout: 1234, signal }));
  });

  it('with a contract: only its methods exist, they are "in" the proxy, and calls go through callMethod', async () => {
    const fake = fakeClient();
    const proxy = createProxy(asClient(fake), Proxied);
    const loose = proxy as unknown as Record<string, unknown>;

    expect('modify' in proxy).toBe(true);
    expect('pair' in proxy).toBe(true);
    expect('other' in proxy).toBe(false);
    expect(loose['other']).toBeUndefined();
    expect(Object.keys(proxy).sort()).toEqual(['modify', 'pair']);

    await expect(proxy.pair('a', 2)).resolves.toBe('called method');
    expect(fake.callMethod).toHaveBeenCalledTimes(1);
    const [definition, args] = fake.callMethod.mock.calls[0] ?? [];
    expect(definition).toEqual(expect.objectContaining({ route: '/pair', propertyKey: 'pair' }));
    expect(args).toEqual(['a', 2]);
    expect(fake.call).not.toHaveBeenCalled();
  });

  it('refuses to be changed', () => {
    const proxy = createProxy(asClient(fakeClient()), Proxied) as unknown as Record<string, unknown>;
    expect(Reflect.set(proxy, 'modify', 1)).toBe(false);
    expect(Reflect.deleteProperty(proxy, 'modify')).toBe(false);
    expect(typeof proxy['modify']).toBe('function');
  });

  it.each([
    ['without a contract', undefined],
    ['with a contract', Proxied],
  ])('%s: after releaseProxy() calls reject with PLUGWIRE_CLOSED and reach no client', async (_label, contract) => {
    const fake = fakeClient();
    const proxy = createProxy(asClient(fake), contract) as unknown as { modify(v: string): Promise<string> };
    const stubBefore = proxy.modify;
    releaseProxy(proxy);

    for (const call of [proxy.modify('x'), stubBefore('y')]) {
      const error: unknown = await call.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(PluginError.is(error, 'PLUGWIRE_CLOSED')).toBe(true);
    }
    expect(fake.call).not.toHaveBeenCalled();
    expect(fake.callMethod).not.toHaveBeenCalled();
  });

  it('releaseProxy() refuses something that is not a proxy', () => {
    expect(() => releaseProxy({})).toThrow(TypeError);
  });

  it('refuses an undecorated class with PLUGWIRE_DEFINITION', () => {
    let error: unknown;
    try {
      createProxy(asClient(fakeClient()), Undecorated);
    } catch (e) {
      error = e;
    }
    expect(PluginError.is(error, 'PLUGWIRE_DEFINITION')).toBe(true);
    expect((error as Error).message).toContain('Undecorated');
  });
});
