// connect()'s contract check is part of the start: a plugin that prints its ready line and
// never answers its manifest fails the start within startTimeout, with a StartError, even
// when calls have no timeout (it hung for ever then) or a long one (30 s by default).
// A bare node:http plugin on a real socket.
import { Method, Plugin, StartError, connect, stub } from '../../lib';
import { bareHttpStarter, rejectionOf, within } from '../support/host-helpers';

@Plugin('silent-manifest')
class Api {
  @Method('/ping')
  ping(): Promise<string> {
    return stub();
  }
}

/** A plugin that answers calls but never its manifest: the request is left open. */
const neverAnswersManifest = () =>
  bareHttpStarter('silent-manifest', (req, _body, res) => {
    if (req.url?.startsWith('/.plugwire/manifest')) return;
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('"pong"\n');
  });

describe("connect()'s contract check", () => {
  it.each([
    ['calls without a timeout', { timeout: 0 }],
    ['the default call timeout', {}],
  ])('fails the start within startTimeout when the plugin never answers its manifest, with %s', async (_, config) => {
    const began = Date.now();
    const error = await within(rejectionOf(connect(Api, neverAnswersManifest(), { ...config, startTimeout: 400 })), 10_000, 'connect() to settle');
    expect(error).toBeInstanceOf(StartError);
    expect((error as StartError).reason).toBe('timeout');
    expect((error as Error).message).toMatch(/did not answer the contract check \(its manifest\) within startTimeout 400 ms/);
    expect(Date.now() - began).toBeLessThan(10_000);
  });

  it("is not made with contractCheck: 'off', and the plugin's calls go through", async () => {
    const { plugin, close } = await connect(Api, neverAnswersManifest(), { startTimeout: 400, contractCheck: 'off' });
    try {
      await expect(plugin.ping()).resolves.toBe('pong');
    } finally {
      await close();
    }
  });
});
