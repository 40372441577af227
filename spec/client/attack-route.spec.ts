// Routes that cannot be sent as a request target (a space, a line break, a non-ASCII
// letter), called on a real plugin process: once the plugin's 400 came back as a
// malformed answer; now the call is refused up front with a TypeError.
import * as path from 'node:path';
import { createProxy, start, startWithCommand, type StartResult } from '../../lib';
import { rejectionOf } from '../support/host-helpers';

const SAMPLE = path.join(__dirname, '../../dist/samples/modifier/plugin.js');

let started: StartResult;

beforeAll(async () => {
  started = await start(startWithCommand(process.execPath, [SAMPLE], { logger: false }));
});

afterAll(async () => {
  await started.term();
});

describe('client.call() with a route that cannot be sent', () => {
  it.each(['/a b', '/modify\r\nx-injected: 1', '/é', '/a#b', '/a%2'])('refuses %j with a TypeError naming it', async (route) => {
    const error = await rejectionOf(started.client.call(route, 'x'));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe(
      `client.call(): the route must be a URL path (letters, digits, -._~!$&'()*+,;=:@/ and %XX for anything else, such as %20 for a space), got ${JSON.stringify(route)}`,
    );
  });

  it('refuses it through a proxy without a contract too', async () => {
    const loose = createProxy<Record<string, (value: string) => Promise<string>>>(started.client);
    await expect(loose['mod ify']!('x')).rejects.toThrow(TypeError);
  });

  it('sends percent-encoded routes and queries, and the plugin still answers', async () => {
    await expect(started.client.call('/modify?trace=1', 'x')).resolves.toBe('x decorated');
    await expect(rejectionOf(started.client.call('/a%20b', 'x'))).resolves.toMatchObject({ code: 'PLUGWIRE_METHOD_NOT_FOUND' });
  });
});
