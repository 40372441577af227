// The sample end to end: the compiled host spawns the compiled plugin through the
// command starter, exactly as `npm start` runs it.
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { PayloadValidationError, PluginError, connect, startWithCommand, type Connection } from 'plugwire';
import { Greeting, Modifier } from '../../../samples/modifier/contract';

const SAMPLE = path.join(__dirname, '../../../dist/samples/modifier');

describe('samples/modifier', () => {
  it('runs the host, which spawns the plugin and prints "some value decorated"', async () => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [path.join(SAMPLE, 'host.js')], { timeout: 20_000 });
    expect(stdout.split('\n')[0]).toBe('some value decorated');
    expect(stdout).toContain('HELLO ADA FROM LONDON');
    expect(stdout).toContain('a-b-a-b');
    expect(stdout).toMatch(/refused before sending: invalid payload for \/greet/);
    expect(stderr).toBe('');
  });

  describe('the plugin through connect()', () => {
    let modifier: Connection<Modifier>;
    beforeAll(async () => {
      modifier = await connect(Modifier, startWithCommand(process.execPath, [path.join(SAMPLE, 'plugin.js')]));
    });
    afterAll(() => modifier.term());

    it('appends " decorated"', async () => {
      await expect(modifier.plugin.modify('some value')).resolves.toBe('some value decorated');
    });

    it('returns an instance of the returns class', async () => {
      const greeting = await modifier.plugin.greet({ name: 'Ada', age: 36 });
      expect(greeting).toBeInstanceOf(Greeting);
      expect(greeting.shout()).toBe('HELLO ADA');
    });

    it('sends several parameters', async () => {
      await expect(modifier.plugin.join(['x', 'y'], '+', 3)).resolves.toBe('x+y+x+y+x+y');
    });

    it('refuses an invalid DTO on the host, with the fields', async () => {
      const error = (await modifier.plugin.greet({ name: '', age: 200, email: 'nope' }).catch((e: unknown) => e)) as PayloadValidationError;
      expect(PluginError.is(error, 'PLUGWIRE_VALIDATION')).toBe(true);
      expect(error.side).toBe('host');
      expect(error.violations.map((v) => v.path).sort()).toEqual(['age', 'email', 'name']);
    });

    it('refuses an invalid nested DTO in the plugin too, when the host check is bypassed', async () => {
      const error = (await modifier.client.call('/greet', { name: 'Ada', age: 3, address: { city: 7 } }).catch((e: unknown) => e)) as PayloadValidationError;
      expect(PluginError.is(error, 'PLUGWIRE_VALIDATION')).toBe(true);
      expect(error.side).toBe('plugin');
      expect(error.violations).toEqual([
        expect.objectContaining({ path: 'address.city', value: 7, constraints: expect.objectContaining({ isString: expect.any(String) }) }),
      ]);
    });

    it('refuses an array where the one nested Address is declared, in the plugin and on the host', async () => {
      for (const address of [[], [{ city: 'A' }, { city: 'B' }]]) {
        const error = (await modifier.client.call('/greet', { name: 'Ada', age: 36, address }).catch((e: unknown) => e)) as PayloadValidationError;
        expect(PluginError.is(error, 'PLUGWIRE_VALIDATION')).toBe(true);
        expect(error.side).toBe('plugin');
        expect(error.violations).toEqual([{ path: 'address', constraints: { isObject: 'expected an object for Address, got an array' } }]);
      }
      const refused = (await modifier.plugin.greet({ name: 'Ada', age: 36, address: [{ city: 'A' }] as never }).catch((e: unknown) => e)) as PayloadValidationError;
      expect(refused.side).toBe('host');
      expect(refused.violations).toEqual([{ path: 'address', constraints: { isObject: 'expected an object for Address, got an array' } }]);
    });
  });
});
