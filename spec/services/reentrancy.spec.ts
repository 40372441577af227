// Re-entrant calls: a plugin method that calls a host service that calls the same plugin's
// other method, which calls the host in turn, completes, one at a time and many at once
// (more than the host's and the plugin's connections), without a deadlock on connections
// or in-flight limits.
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

describe('plugin /a → host /call-back → plugin /b → host /log', () => {
  it('completes', async () => {
    expect(await within(conn.plugin.a(21), 5000, '/a')).toBe(42);
  });

  // More than the host's 32 connections and the plugin's 32 to the host: the host marks its
  // call back (x-plugwire-reentrant: 1) and sends it apart from its connections, and the
  // plugin's host calls while it serves a marked call do not wait for a connection either.
  it('completes 64 at once', async () => {
    const calls = Array.from({ length: 64 }, (_, i) => conn.plugin.a(i));
    expect(await within(Promise.all(calls), 8000, '64 calls of /a')).toEqual(Array.from({ length: 64 }, (_, i) => i * 2));
  });

  it('completes 64 at once through a fresh host and plugin', async () => {
    const own = new HostApiImpl();
    const { starter } = fixtureStarter('services/services-plugin');
    const fresh = await connect(ServicesPlugin, starter, { services: [own], timeout: 10_000 });
    own.plugin = fresh.plugin;
    try {
      const calls = Array.from({ length: 64 }, (_, i) => fresh.plugin.a(i));
      expect(await within(Promise.all(calls), 8000, '64 calls of /a')).toEqual(Array.from({ length: 64 }, (_, i) => i * 2));
    } finally {
      await fresh.close();
    }
  });
});
