// Whatever a plugin method throws becomes a wire error: values that cannot be printed
// (a null-prototype object holding a BigInt, getters that throw, a hostile Proxy) and
// errors from another realm, thrown in a real plugin process.
import { connect, PluginError, RemoteError, type Connection } from '../../lib';
import { MAX_ERROR_TEXT } from '../../lib/protocol/wire-error';
import { AttackConv } from '../fixtures/conversion/attack-conv-contract';
import { fixtureStarter, rejectionOf, waitFor, type CollectingLogger } from '../support/host-helpers';

describe('a plugin method that throws a value which cannot be turned into a string', () => {
  let connection: Connection<AttackConv>;
  let logger: CollectingLogger;
  let pid: number | undefined;

  beforeAll(async () => {
    const fixture = fixtureStarter('conversion/attack-conv-plugin');
    logger = fixture.logger;
    connection = await connect(AttackConv, fixture.starter, { restart: { maxRestarts: 0 } });
    pid = connection.client.pid;
  });

  afterAll(async () => {
    await connection.term();
  });

  it.each([
    ['null-prototype-bigint', 'Error', /^non-error value thrown: an unprintable object$/],
    ['message-getter', 'Error', /^error with an unprintable message$/],
    ['name-getter', 'Error', /^visible message$/],
    ['stack-getter', 'TypeError', /^visible message$/],
    ['code-getter', 'Error', /^visible message$/],
    ['details-getter', 'Error', /^visible message$/],
    ['to-string-throws', 'Error', /^non-error value thrown: /],
    ['proxy', 'Error', /^non-error value thrown: an unprintable object$/],
    ['proxy-error', 'Error', /^non-error value thrown: /],
    ['symbol', 'Error', /^non-error value thrown: Symbol\(odd\)$/],
  ])('%s: the caller gets PLUGWIRE_REMOTE, calls in flight are answered, the process lives on', async (kind, name, message) => {
    const inFlight = connection.plugin.wait(300);
    const error = await rejectionOf(connection.plugin.throwOdd(kind));
    expect(PluginError.is(error, 'PLUGWIRE_REMOTE')).toBe(true);
    const { remote } = error as RemoteError;
    expect(remote.name).toBe(name);
    expect(remote.message).toMatch(message);
    await expect(inFlight).resolves.toBe('waited 300');
    expect(connection.client.pid).toBe(pid);
    expect(connection.client.stats.restarts).toBe(0);
  });

  it.each([
    ['huge', 'start mmm'],
    ['huge-string', 'start sss'],
  ])('%s: a message larger than maxResponseSize reaches the caller as PLUGWIRE_REMOTE, its start and a marker of what was cut', async (kind, start) => {
    const error = await rejectionOf(connection.plugin.throwOdd(kind));
    expect(PluginError.is(error, 'PLUGWIRE_REMOTE')).toBe(true);
    const { remote } = error as RemoteError;
    expect(remote.message.startsWith(start)).toBe(true);
    expect(remote.message).toMatch(/… \(\d+ more characters cut\)$/);
    expect(remote.message.length).toBeLessThan(MAX_ERROR_TEXT + 40);
    if (kind === 'huge') {
      expect(remote.name.length).toBeLessThan(MAX_ERROR_TEXT + 40);
      expect(String(remote.code).length).toBeLessThan(MAX_ERROR_TEXT + 40);
      expect(remote.details).toBeUndefined();
    }
    expect(connection.client.pid).toBe(pid);
  });

  it('reports an unexpected value on standard error without its stack getter', async () => {
    await rejectionOf(connection.plugin.throwOdd('stack-getter'));
    await waitFor(() => logger.errors.some((l) => /AttackConvPlugin\.throwOdd \(route \/throw\) threw: TypeError: visible message/.test(l)), 5000, 'the report');
  });

  it.each([
    ['other-realm', { name: 'RangeError', message: 'out of range in another realm' }],
    ['other-realm-coded', { name: 'Oops', message: 'custom in another realm', code: 'OOPS' }],
  ])('%s: an Error made in another realm (vm) keeps its name, message and code', async (kind, remote) => {
    const error = await rejectionOf(connection.plugin.throwOdd(kind));
    expect((error as RemoteError).remote).toEqual(remote);
  });
});
