// remainingTime(): the timeout a plugin call may take within a deadline (a Lambda
// invocation's), as a number withOptions() takes; never 0, which means "no timeout".
import { DEFAULT_REMAINING_MARGIN, PluginError, TimeoutError, connect, remainingTime, withOptions, type Connection } from '../../lib';
import { MAX_TIMEOUT } from '../../lib/protocol/constants';
import { SetupTest } from '../fixtures/contracts/setup-contract';
import { fixtureStarter, rejectionOf, thrownBy } from '../support/host-helpers';

/** A context whose deadline is `ms` from now, read as Lambda's does: deadline - Date.now(). */
function contextWithin(ms: number): { getRemainingTimeInMillis(): number } {
  const deadline = Date.now() + ms;
  return { getRemainingTimeInMillis: () => deadline - Date.now() };
}

const fixed = (ms: number): { getRemainingTimeInMillis(): number } => ({ getRemainingTimeInMillis: () => ms });

describe('remainingTime()', () => {
  it('is the time left less the default margin of 250 ms', () => {
    expect(DEFAULT_REMAINING_MARGIN).toBe(250);
    expect(remainingTime(fixed(3000))).toBe(2750);
    expect(remainingTime(fixed(3000), 1000)).toBe(2000);
    expect(remainingTime(fixed(3000), 0)).toBe(3000);
  });

  it('is a whole number of ms, at least 1, at most the largest timeout plugwire takes', () => {
    expect(remainingTime(fixed(1000.9), 0)).toBe(1000);
    expect(remainingTime(fixed(251))).toBe(1);
    expect(remainingTime(fixed(Number.POSITIVE_INFINITY))).toBe(MAX_TIMEOUT);
    expect(remainingTime(fixed(2 ** 40))).toBe(MAX_TIMEOUT);
  });

  it('throws PLUGWIRE_TIMEOUT when the margin takes all the time left (0 would mean no timeout at all)', () => {
    for (const left of [250, 100, 0, -5000]) {
      const error = thrownBy(() => remainingTime(fixed(left)));
      expect(error).toBeInstanceOf(TimeoutError);
      expect(PluginError.is(error, 'PLUGWIRE_TIMEOUT')).toBe(true);
      expect((error as Error).message).toBe(
        `no time left for a plugin call: ${Math.max(0, left)} ms remain before the deadline and 250 ms are kept back for the answer`,
      );
    }
    expect(thrownBy(() => remainingTime(fixed(0.5), 0))).toBeInstanceOf(TimeoutError);
  });

  it('refuses a bad margin, and a context whose time is not a number (a missing deadline)', () => {
    for (const margin of [-1, Number.NaN, Number.POSITIVE_INFINITY, '10' as unknown as number]) {
      expect(thrownBy(() => remainingTime(fixed(1000), margin))).toBeInstanceOf(TypeError);
    }
    expect((thrownBy(() => remainingTime(fixed(Number.NaN))) as Error).message).toBe(
      'remainingTime(): getRemainingTimeInMillis() must return a number of ms, got NaN',
    );
    expect(thrownBy(() => remainingTime(fixed(undefined as unknown as number)))).toBeInstanceOf(TypeError);
  });

  it('reads the clock at each call', () => {
    let left = 5000;
    const context = { getRemainingTimeInMillis: () => left };
    expect(remainingTime(context)).toBe(4750);
    left = 1000;
    expect(remainingTime(context)).toBe(750);
  });

  describe('as the timeout of withOptions(), against a plugin process', () => {
    let connection: Connection<SetupTest>;

    beforeAll(async () => {
      const { starter } = fixtureStarter('diagnostics/setup-plugin');
      connection = await connect(SetupTest, starter, { timeout: 0 });
    });

    afterAll(() => connection.close());

    it('bounds a call that would outlast the deadline, and lets one that fits finish', async () => {
      const started = Date.now();
      const error = await rejectionOf(withOptions(connection.plugin, { timeout: remainingTime(contextWithin(1500), 750) }).wait(5000));
      expect(PluginError.is(error, 'PLUGWIRE_TIMEOUT')).toBe(true);
      expect((error as Error).message).toMatch(/^call to \/wait timed out after (749|750) ms$/);
      // Settled before the deadline: the margin is the room left for the answer.
      expect(Date.now() - started).toBeLessThan(1500);
      await expect(withOptions(connection.plugin, { timeout: remainingTime(contextWithin(3000)) }).wait(50)).resolves.toBe('waited 50');
    });
  });
});
