// Parameters declared `[Class]` in params between real processes: a plugwire host and
// the array-params-plugin fixture. The host checks and converts each item before
// sending; the plugin, called by the host or by a caller that checks nothing
// (client.call()), checks them again and gets instances.
import { connect, startWithCommand, type Connection } from '../../lib';
import { fixture } from '../support/host-helpers';
import { ArrayParams, Item } from '../fixtures/contracts/array-params-contract';
import { pathsOf, refusalOf } from '../support/conversion-helpers';

function item(name: string, count: number, code: string, secret?: string): Item {
  return Object.assign(new Item(), { name, count, code, ...(secret === undefined ? {} : { secret }) });
}

describe('a parameter declared [Class] in params, between a host and a plugin process', () => {
  let connection: Connection<ArrayParams>;
  beforeAll(async () => {
    connection = await connect(ArrayParams, startWithCommand(process.execPath, [fixture('conversion/array-params-plugin')], { logger: false }));
  });
  afterAll(() => connection.term());

  it('sends each item as class-transformer writes it, and the plugin gets instances', async () => {
    // The plugin reads `item_code`, which only class-transformer writes (JSON.stringify writes `code`), and never sees the @Exclude'd secret.
    await expect(connection.plugin.bulk([item('apple', 2, 'a-1', 'hidden'), item('pear', 1, 'p-1')])).resolves.toEqual(['2 × apple (a-1)', '1 × pear (p-1)']);
    await expect(connection.plugin.labelled('basket', [item('fig', 3, 'f-1')])).resolves.toBe('basket: 3 × fig (f-1)');
  });

  it('refuses invalid items on the host before sending, at [i].field', async () => {
    const error = await refusalOf(connection.plugin.bulk([item('apple', 2, 'a-1'), item('pear', 0, 'p-1')]));
    expect(error.side).toBe('host');
    expect(pathsOf(error)).toEqual([['[1].count', ['min']]]);
  });

  it('refuses them in the plugin for a caller that does not check, at [i].field and [p][i].field', async () => {
    const bulk = await refusalOf(connection.client.call('/bulk', [{ name: 'apple', count: 2, item_code: 'a-1' }, { name: '', count: 0, item_code: 'p-1' }]));
    expect(bulk.side).toBe('plugin');
    expect(pathsOf(bulk)).toEqual([
      ['[1].name', ['isLength']],
      ['[1].count', ['min']],
    ]);
    const labelled = await refusalOf(connection.client.call('/labelled', ['basket', [{ name: 'fig', count: 3, item_code: 'f-1' }, { name: 'kiwi', count: 1 }]]));
    expect(pathsOf(labelled)).toEqual([['[1][1].code', ['isString']]]);
    const notArray = await refusalOf(connection.client.call('/bulk', { name: 'apple', count: 2, item_code: 'a-1' }));
    expect(notArray.violations).toEqual([{ path: '(payload)', constraints: { isArray: 'expected an array, got an object' } }]);
  });

  it('waits for asynchronous constraints on both sides', async () => {
    await expect(connection.plugin.known([{ name: 'known-a' }, { name: 'known-b' }])).resolves.toEqual(['known-a', 'known-b']);
    const host = await refusalOf(connection.plugin.known([{ name: 'known-a' }, { name: 'stranger' }]));
    expect([host.side, ...pathsOf(host)]).toEqual(['host', ['[1].name', ['knownName']]]);
    const plugin = await refusalOf(connection.client.call('/known', [{ name: 'stranger' }, { name: 'known-b' }]));
    expect([plugin.side, ...pathsOf(plugin)]).toEqual(['plugin', ['[0].name', ['knownName']]]);
  });

  it('gives the plugin Dates for [Date], from RFC 3339 date-times only', async () => {
    await expect(connection.plugin.dates([new Date('2026-12-25T10:00:00.000Z'), new Date('2027-01-01T00:00:00.000Z')])).resolves.toEqual([
      '2026-12-25T10:00:00.000Z',
      '2027-01-01T00:00:00.000Z',
    ]);
    const error = await refusalOf(connection.client.call('/dates', ['2026-12-25T10:00:00Z', 'Dec 25 2026']));
    expect(pathsOf(error)).toEqual([['[1]', ['isDate']]]);
  });

  it('answers a payload of many invalid items with a 422 a host takes: the first 100 violations, a message of 20', async () => {
    // 60,000 items with two violations each: all of them would make an answer of megabytes.
    const items = Array.from({ length: 60_000 }, () => ({ name: '', count: 0, item_code: 'x' }));
    const error = await refusalOf(connection.client.call('/bulk', items));
    expect(error.side).toBe('plugin');
    expect(error.violations).toHaveLength(100);
    expect(pathsOf(error).slice(0, 2)).toEqual([
      ['[0].name', ['isLength']],
      ['[0].count', ['min']],
    ]);
    expect(error.message).toMatch(/; and 119980 more$/);
    expect(error.message.split('; ')).toHaveLength(21);
  });

  it('keeps every violation on the host, and lists 20 in the message', async () => {
    const error = await refusalOf(connection.plugin.bulk(Array.from({ length: 30 }, () => item('', 1, 'c'))));
    expect(error.side).toBe('host');
    expect(error.violations).toHaveLength(30);
    expect(error.message).toMatch(/\[19\]\.name: [^;]+; and 10 more$/);
  });

  it('with validate: false, sends each item as class-transformer writes it too, unchecked', async () => {
    // item_code, not code; no secret: before, the host sent JSON.stringify's fields, the @Exclude'd secret included.
    await expect(connection.plugin.loose([item('', 0, 'x', 'hidden'), item('pear', 1, 'p-1')])).resolves.toEqual(['0 ×  (x)', '1 × pear (p-1)']);
  });

  it('with validate: false, still gives the plugin instances, unchecked', async () => {
    await expect(connection.client.call('/loose', [{ name: '', count: 0, item_code: 'x' }])).resolves.toEqual(['0 ×  (x)']);
  });
});
