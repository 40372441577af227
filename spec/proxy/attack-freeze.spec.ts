// Object.freeze, Object.seal and Object.preventExtensions on plugin proxies, which once
// broke them for good (the traps broke the Proxy invariants): each must keep the proxy
// working, with its keys, inspection and calls to a real plugin process.
import * as path from 'node:path';
import { inspect } from 'node:util';
import { connect, createProxy, startWithCommand, withOptions, type Connection, type Remote } from '../../lib';
import { Modifier } from '../../samples/modifier/contract';

const SAMPLE = path.join(__dirname, '../../dist/samples/modifier/plugin.js');
const METHODS = ['greet', 'join', 'modify'];

let connection: Connection<Modifier>;

beforeAll(async () => {
  connection = await connect(Modifier, startWithCommand(process.execPath, [SAMPLE], { logger: false }));
});

afterAll(async () => {
  await connection.term();
});

const LOCKS = [
  ['Object.freeze', (o: object) => Object.freeze(o), Object.isFrozen],
  ['Object.seal', (o: object) => Object.seal(o), Object.isSealed],
  ['Object.preventExtensions', (o: object) => Object.preventExtensions(o), (o: object) => !Object.isExtensible(o)],
] as const;

describe.each(LOCKS)('%s on a proxy', (_name, lock, isLocked) => {
  it('with a contract: works, the proxy is locked, and its keys, inspection and calls still work', async () => {
    // A proxy of its own, so that the shared one stays as it is; one method is used first.
    const proxy = withOptions(connection.plugin, {});
    await expect(proxy.modify('before')).resolves.toBe('before decorated');
    expect(lock(proxy)).toBe(proxy);
    expect(isLocked(proxy)).toBe(true);
    expect(Object.keys(proxy).sort()).toEqual(METHODS);
    expect(Object.getOwnPropertyNames(proxy).sort()).toEqual(METHODS);
    expect(inspect(proxy)).toEqual(expect.stringContaining('modify'));
    expect('modify' in proxy).toBe(true);
    expect(Object.getOwnPropertyDescriptor(proxy, 'join')).toEqual(expect.objectContaining({ enumerable: true, writable: false }));
    await expect(proxy.modify('after')).resolves.toBe('after decorated');
    await expect(proxy.join(['a', 'b'], '+', 2)).resolves.toBe('a+b+a+b');
    // Still refuses changes, with the usual TypeError of a locked object in strict mode.
    expect(() => Object.defineProperty(proxy, 'modify', { value: () => 'replaced' })).toThrow(TypeError);
    expect(() => Object.defineProperty(proxy, 'other', { value: 1 })).toThrow(TypeError);
    expect(Reflect.set(proxy, 'modify', 1)).toBe(false);
    await expect(proxy.modify('again')).resolves.toBe('again decorated');
    // Locking twice changes nothing, and proxies made from it are not locked.
    expect(lock(proxy)).toBe(proxy);
    const derived = withOptions(proxy, { timeout: 5000 });
    expect(Object.isExtensible(derived)).toBe(true);
    await expect(derived.modify('derived')).resolves.toBe('derived decorated');
  });

  it('without a contract: works, and any method name still calls its route', async () => {
    const proxy = createProxy<{ modify(value: string): Promise<string> }>(connection.client);
    expect(lock(proxy)).toBe(proxy);
    expect(isLocked(proxy)).toBe(true);
    expect(Object.keys(proxy)).toEqual([]);
    expect(typeof inspect(proxy)).toBe('string');
    await expect(proxy.modify('loose')).resolves.toBe('loose decorated');
  });
});

it('a frozen proxy is what connect() gave, still typed and calling', async () => {
  const frozen: Readonly<Remote<Modifier>> = Object.freeze(withOptions(connection.plugin, {}));
  expect(Object.isFrozen(frozen)).toBe(true);
  await expect(frozen.modify('typed')).resolves.toBe('typed decorated');
});
