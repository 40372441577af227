// closeStarted(): a started plugin stops through close(), or through the term() of a
// starter written for 0.1; one with neither is a TypeError that names its starter.
import { closeStarted, type PluginExit, type StartedPlugin } from '../../lib/starters/starter';

const exited = new Promise<PluginExit>(() => undefined);

describe('closeStarted()', () => {
  it('calls close() where there is one, and not term()', async () => {
    const close = jest.fn(() => Promise.resolve());
    const term = jest.fn(() => Promise.resolve());
    await closeStarted({ exited, close, term });
    expect(close).toHaveBeenCalledTimes(1);
    expect(term).not.toHaveBeenCalled();
  });

  it('calls the term() of a starter written for 0.1', async () => {
    const term = jest.fn(() => Promise.resolve());
    await closeStarted({ exited, term });
    expect(term).toHaveBeenCalledTimes(1);
  });

  it('rejects with a TypeError naming the starter when there is neither', async () => {
    const broken = { exited } as unknown as StartedPlugin;
    await expect(closeStarted(broken, 'modifier')).rejects.toThrow(new TypeError('the starter of modifier returned a started plugin without close(): it cannot be stopped'));
  });
});
