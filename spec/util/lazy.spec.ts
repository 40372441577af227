// Modules loaded at first use: once, and the same value after.
import { lazy, nodeCrypto } from '../../lib/util/lazy';

describe('lazy', () => {
  it('loads at the first call only, and gives the same value after', () => {
    const load = jest.fn(() => ({ loaded: true }));
    const get = lazy(load);
    expect(load).not.toHaveBeenCalled();
    const first = get();
    expect(get()).toBe(first);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('keeps a value that is undefined without loading again', () => {
    const load = jest.fn((): undefined => undefined);
    const get = lazy(load);
    get();
    get();
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('gives the node: module', () => {
    expect(typeof nodeCrypto().randomBytes).toBe('function');
  });
});
