// resolveConfig() without a plugin: the keep-alive idle time is keepAliveTimeout, the name
// undici and serve() use; the old keepAlive is still read, as keepAliveTimeout.
import { defaultConfig, resolveConfig } from '../../lib/client/config';
import type { PluginConfigInput } from '../../lib/client/config';

describe('resolveConfig()', () => {
  it('keeps connections idle for 30 s by default, as Go', () => {
    expect(defaultConfig().keepAliveTimeout).toBe(30_000);
    expect(resolveConfig().keepAliveTimeout).toBe(30_000);
  });

  it('takes keepAliveTimeout, a string of digits included', () => {
    expect(resolveConfig({ keepAliveTimeout: 250 }).keepAliveTimeout).toBe(250);
    expect(resolveConfig({ keepAliveTimeout: '250' } as unknown as PluginConfigInput).keepAliveTimeout).toBe(250);
  });

  it('reads the deprecated keepAlive as keepAliveTimeout; the result shows it under both names, and copies only keepAliveTimeout', () => {
    const config = resolveConfig({ keepAlive: 1000 });
    expect(config.keepAliveTimeout).toBe(1000);
    expect(config.keepAlive).toBe(1000);
    expect(Object.keys(config)).not.toContain('keepAlive');
    expect({ ...config }).toEqual({ ...defaultConfig(), keepAliveTimeout: 1000 });
    expect(defaultConfig().keepAlive).toBe(30_000);
  });

  it('takes a configuration it made back unchanged', () => {
    const config = resolveConfig({ keepAliveTimeout: 1234 });
    expect(resolveConfig(config)).toEqual(config);
    expect(resolveConfig({ ...config, timeout: 5 }).keepAliveTimeout).toBe(1234);
  });

  it('accepts both names when they agree', () => {
    const config = resolveConfig({ keepAlive: '1000', keepAliveTimeout: 1000 } as unknown as PluginConfigInput);
    expect(config.keepAliveTimeout).toBe(1000);
  });

  it('refuses both names when they differ, with a TypeError that names both', () => {
    expect(() => resolveConfig({ keepAlive: 1000, keepAliveTimeout: 2000 })).toThrow(
      new TypeError(
        'plugwire config: keepAlive (deprecated) and keepAliveTimeout are both given and differ, got the number 1000 and the number 2000: give keepAliveTimeout only',
      ),
    );
  });

  it.each<[PluginConfigInput, string]>([
    [{ keepAliveTimeout: 0 }, 'keepAliveTimeout must be a number of ms from 1 to 2147483647, got the number 0'],
    [{ keepAlive: 0 }, 'keepAlive must be a number of ms from 1 to 2147483647, got the number 0'],
    [{ keepAlive: 0, keepAliveTimeout: 5 }, 'keepAlive must be a number of ms from 1 to 2147483647, got the number 0'],
  ])('names the field as it was written when it is out of range: %j', (input, message) => {
    expect(() => resolveConfig(input)).toThrow(new TypeError(`plugwire config: ${message}`));
  });

  it('lets an explicit undefined keepAlive leave keepAliveTimeout alone', () => {
    expect(resolveConfig({ keepAlive: undefined, keepAliveTimeout: 7 }).keepAliveTimeout).toBe(7);
  });
});
