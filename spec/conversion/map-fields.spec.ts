// A DTO field that is a Map of DTOs (`@ValidateNested({ each: true }) @Type(() => Item)
// labels: Map<string, Item>`) crosses with every entry, whatever its key, and is
// validated entry by entry from a host's instance and from a host's plain object alike.
import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsString, ValidateNested } from 'class-validator';
import { Method, Plugin, stub } from '../../lib';
import { convertArgs } from '../../lib/conversion/converter';
import { routeOf } from '../support/conversion-helpers';

class Item {
  @IsString()
  name!: string;
}

class Labelled {
  @ValidateNested({ each: true })
  @Type(() => Item)
  labels!: Map<string, Item>;
}

@Plugin('map-fields')
class MapContract {
  @Method('/label')
  label(labelled: Labelled): Promise<void> {
    return stub(labelled);
  }
}

function item(name: string): Item {
  return Object.assign(new Item(), { name });
}

/** What the host sends, as the JSON text on the wire. */
async function sent(arg: unknown): Promise<string> {
  const [value] = await convertArgs(routeOf(MapContract, '/label'), [arg], 'host');
  return JSON.stringify(value);
}

/** What the plugin's method gets from that text. */
async function received(text: string): Promise<Labelled> {
  const [value] = await convertArgs(routeOf(MapContract, '/label'), [JSON.parse(text)], 'plugin');
  return value as Labelled;
}

const KEYS = ['__proto__', 'constructor', 'toString', '\u0000plugwire:x', 'x'];

describe('a Map field of DTOs', () => {
  it('sends every entry of an instance, "__proto__" and "constructor" keys too, and the plugin gets them all', async () => {
    const labelled = Object.assign(new Labelled(), { labels: new Map(KEYS.map((k) => [k, item(`of ${k}`)])) });
    const text = await sent(labelled);
    expect(Object.keys(JSON.parse(text).labels as object)).toEqual(KEYS);
    const got = await received(text);
    expect(got.labels).toBeInstanceOf(Map);
    expect([...got.labels.keys()]).toEqual(KEYS);
    for (const k of KEYS) expect(got.labels.get(k)).toEqual(item(`of ${k}`));
    expect(got.labels.get('x')).toBeInstanceOf(Item);
  });

  it('leaves the caller\'s Map as it was', async () => {
    const labels = new Map(KEYS.map((k) => [k, item(k)]));
    await sent(Object.assign(new Labelled(), { labels }));
    expect([...labels.keys()]).toEqual(KEYS);
  });

  it('sends the entries of a real Map in a plain object argument', async () => {
    const text = await sent({ labels: new Map([['a', { name: 'A' }], ['constructor', { name: 'C' }]]) });
    expect(JSON.parse(text)).toEqual({ labels: { a: { name: 'A' }, constructor: { name: 'C' } } });
    const got = await received(text);
    expect([...got.labels.entries()]).toEqual([['a', item('A')], ['constructor', item('C')]]);
  });

  it('validates the entries of a real Map in a plain object argument on the host', async () => {
    await expect(sent({ labels: new Map([['a', { name: 5 }]]) })).rejects.toMatchObject({
      side: 'host',
      violations: [expect.objectContaining({ path: 'labels.a.name' })],
    });
  });

  it('refuses an invalid entry in the plugin, whatever its key', async () => {
    await expect(received('{"labels":{"__proto__":{"name":1}}}')).rejects.toMatchObject({
      side: 'plugin',
      violations: [expect.objectContaining({ path: 'labels.__proto__.name' })],
    });
  });
});

describe('a Map field of DTOs, with keys that name a member of Map.prototype', () => {
  const MEMBERS = ['size', 'get', 'set', 'has', 'delete', 'clear', 'keys', 'values', 'entries', 'forEach'];

  it('sends and receives every such entry, as instances', async () => {
    const labelled = Object.assign(new Labelled(), { labels: new Map([...MEMBERS, 'x'].map((k) => [k, item(`of ${k}`)])) });
    const got = await received(await sent(labelled));
    expect([...got.labels.keys()].sort()).toEqual([...MEMBERS, 'x'].sort());
    for (const k of MEMBERS) expect(got.labels.get(k)).toEqual(item(`of ${k}`));
    expect(got.labels.get('size')).toBeInstanceOf(Item);
  });

  it('refuses an invalid entry under such a key in the plugin, rather than dropping it', async () => {
    await expect(received('{"labels":{"size":{"name":1}}}')).rejects.toMatchObject({
      side: 'plugin',
      violations: [expect.objectContaining({ path: 'labels.size.name' })],
    });
  });

  it('takes such entries of a real Map in a plain object argument on the host, and validates them', async () => {
    expect(JSON.parse(await sent({ labels: new Map([['keys', { name: 'K' }]]) }))).toEqual({ labels: { keys: { name: 'K' } } });
    await expect(sent({ labels: new Map([['values', { name: 5 }]]) })).rejects.toMatchObject({
      side: 'host',
      violations: [expect.objectContaining({ path: 'labels.values.name' })],
    });
  });
});

describe('a Map field of DTOs given something else', () => {
  it('refuses a JSON array in the plugin: the method would get an Array where it declares a Map', async () => {
    await expect(received('{"labels":[{"name":"x"}]}')).rejects.toMatchObject({
      side: 'plugin',
      violations: [expect.objectContaining({ path: 'labels', constraints: { isMap: 'expected an object of entries for a Map, got an array' } })],
    });
  });

  it('refuses an instance whose field holds a plain object instead of a Map, on the host', async () => {
    const labelled = Object.assign(new Labelled(), { labels: { a: item('A') } });
    await expect(sent(labelled)).rejects.toMatchObject({
      side: 'host',
      violations: [expect.objectContaining({ path: 'labels', constraints: expect.objectContaining({ isMap: 'expected a Map, got a plain object' }) })],
    });
  });
});

describe('a Map field of DTOs in an instance the host built', () => {
  it('says an entry that is a plain object must be an instance of the declared class, naming the field', async () => {
    const labelled = Object.assign(new Labelled(), { labels: new Map([['a', { name: 'x' }]]) });
    await expect(sent(labelled)).rejects.toMatchObject({
      violations: [
        {
          path: 'labels.a',
          constraints: {
            unknownValue: expect.stringMatching(/^expected an Item instance, got a plain object: @Type\(\(\) => Item\) on Labelled\.labels converts JSON/),
          },
        },
      ],
    });
  });
});
