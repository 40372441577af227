// Re-entrant calls: a plugin method that calls a host service that calls the same plugin's
// other method completes, one at a time and many at once (more than the host's and the
// plugin's connections), without a deadlock on connections or in-flight limits.
import { connect, type Connection } from '../../lib';
import { HostApiImpl } from '../fixtures/services/host-api-impl';
import { ServicesPlugin } from '../fixtures/services/services-contract';
import { fixtureStarter, within } from '../support/host-helpers';

let impl: HostApiImpl;
let conn: Connection<ServicesPlugin>;

beforeAll(async () => {
  impl = new HostApiImpl();
  const { starter } = fixtureStarter('services/services-plugin');
  conn = await connect(ServicesPlugin, starter, { services: [impl], timeout: 10_000 });
  impl.plugin = conn.plugin;
});
afterAll(async () => {
  await conn?.close();
});

describe('plugin /a → host /call-back → plugin /b', () => {
  it('completes', async () => {
    expect(await within(conn.plugin.a(21), 5000, '/a')).toBe(42);
  });

  it('completes 64 at once, twice the connections of either side', async () => {
    const calls = Array.from({ length: 64 }, (_, i) => conn.plugin.a(i));
    expect(await within(Promise.all(calls), 8000, '64 calls of /a')).toEqual(Array.from({ length: 64 }, (_, i) => i * 2));
  });
});
