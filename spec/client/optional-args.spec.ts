// Optional parameters left out by the host reach the plugin absent, so the plugin's
// default values apply as in a local call: trailing arguments that are undefined are not
// sent (PROTOCOL.md, "Parameters"). A null is sent as null; one left out before a given
// argument travels as null, since JSON has no undefined. A real plugin process.
import { connect, type Connection } from '../../lib';
import { Defaults } from '../fixtures/contracts/defaults-contract';
import { fixtureStarter } from '../support/host-helpers';

let conn: Connection<Defaults>;

beforeAll(async () => {
  conn = await connect(Defaults, fixtureStarter('conversion/defaults-plugin').starter);
});
afterAll(async () => {
  await conn?.close();
});

describe('optional parameters the host leaves out', () => {
  it('reach the plugin absent, so its defaults apply, whether left out or passed as undefined', async () => {
    const { plugin } = conn;
    await expect(plugin.list('a')).resolves.toBe('a 10 "asc"');
    await expect(plugin.list('a', undefined)).resolves.toBe('a 10 "asc"');
    await expect(plugin.list('a', 5)).resolves.toBe('a 5 "asc"');
    await expect(plugin.list('a', 5, undefined)).resolves.toBe('a 5 "asc"');
    await expect(plugin.list('a', 5, 'desc')).resolves.toBe('a 5 "desc"');
  });

  it('for a method of one parameter too', async () => {
    await expect(conn.plugin.page()).resolves.toBe('size 25');
    await expect(conn.plugin.page(undefined)).resolves.toBe('size 25');
    await expect(conn.plugin.page(3)).resolves.toBe('size 3');
  });

  it('and for a stream method', async () => {
    const items: number[] = [];
    for await (const item of conn.plugin.count(3)) items.push(item);
    expect(items).toEqual([0, 1, 2]);
  });

  it('keep a null as null, and send one left out before a given argument as null', async () => {
    const untyped = conn.plugin as unknown as { list(...args: unknown[]): Promise<string>; page(size: unknown): Promise<string> };
    await expect(untyped.page(null)).resolves.toBe('size null');
    await expect(untyped.list('a', null)).resolves.toBe('a null "asc"');
    await expect(conn.plugin.list('a', undefined, 'desc')).resolves.toBe('a null "desc"');
  });
});
