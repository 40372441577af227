// A parameter declared `[Class]` in `params` (`items: Item[]`, which TypeScript emits as
// Array) is checked item by item as a `Class` parameter is: converted and validated on
// both sides, sent by the host as the JSON value of each item, given to the plugin as an
// array of instances.
import { Exclude, Expose, Type } from 'class-transformer';
import { IsInt, IsString, Length, Min, Validate, ValidateNested, ValidatorConstraint, type ValidatorConstraintInterface } from 'class-validator';
import { Method, Plugin, stub } from '../../lib';
import { convertArgs } from '../../lib/conversion/converter';
import { pathsOf, refusalOf, routeOf } from '../support/conversion-helpers';

class Item {
  @IsString()
  @Length(1, 20)
  name!: string;

  @IsInt()
  @Min(1)
  count!: number;

  /** Never sent: JSON.stringify would write it, class-transformer does not. */
  @Exclude()
  secret?: string;

  /** Sent as `item_code`. */
  @Expose({ name: 'item_code' })
  @IsString()
  code!: string;
}

/** Resolves after as many turns of the event loop as the name is long: later items may be checked first. */
@ValidatorConstraint({ name: 'knownName', async: true })
class KnownName implements ValidatorConstraintInterface {
  async validate(value: unknown): Promise<boolean> {
    for (let i = 0; i < String(value).length; i++) await new Promise((resolve) => setImmediate(resolve));
    return typeof value === 'string' && value.startsWith('known');
  }

  defaultMessage(): string {
    return 'name is not known';
  }
}

class Known {
  @Validate(KnownName)
  name!: string;
}

class Line {
  @ValidateNested()
  @Type(() => Item)
  item!: Item;
}

@Plugin('array-params')
class Bulk {
  @Method('/bulk', { params: [[Item]] })
  bulk(items: Item[]): Promise<number> {
    return stub(items);
  }

  @Method('/labelled', { params: [String, [Item]] })
  labelled(label: string, items: Item[]): Promise<number> {
    return stub(label, items);
  }

  @Method('/known', { params: [[Known], [Known]] })
  known(first: Known[], second: Known[]): Promise<number> {
    return stub(first, second);
  }

  @Method('/lines', { params: [[Line]] })
  lines(lines: Line[]): Promise<number> {
    return stub(lines);
  }

  @Method('/dates', { params: [[Date]] })
  dates(dates: Date[]): Promise<number> {
    return stub(dates);
  }

  @Method('/names', { params: [[String]] })
  names(names: string[]): Promise<number> {
    return stub(names);
  }

  @Method('/loose', { params: [[Item]], validate: false })
  loose(items: Item[]): Promise<number> {
    return stub(items);
  }

  @Method('/emitted')
  emitted(items: Item[]): Promise<number> {
    return stub(items);
  }
}

function item(name: string, count: number, secret?: string): Item {
  return Object.assign(new Item(), { name, count, code: `c-${name}`, ...(secret === undefined ? {} : { secret }) });
}

describe('a parameter declared [Class] in params', () => {
  describe('in the plugin', () => {
    it('gives an array of instances, converted from JSON as a class parameter is, without a promise', () => {
      const converted = convertArgs(routeOf(Bulk, '/bulk'), [[{ name: 'a', count: 1, item_code: 'x' }, { name: 'b', count: 2, item_code: 'y' }]], 'plugin');
      expect(converted).not.toBeInstanceOf(Promise);
      const [items] = converted as [Item[]];
      expect(items.map((i) => i instanceof Item)).toEqual([true, true]);
      expect(items.map((i) => i.code)).toEqual(['x', 'y']);
    });

    it('reports each failed field at [i].field for a method of one parameter', async () => {
      const error = await refusalOf(() => convertArgs(routeOf(Bulk, '/bulk'), [[{ name: 'a', count: 1, item_code: 'x' }, { name: '', count: 1, item_code: 'y' }, { name: 'c', count: 0, item_code: 'z' }]], 'plugin'));
      expect(error.side).toBe('plugin');
      expect(pathsOf(error)).toEqual([
        ['[1].name', ['isLength']],
        ['[2].count', ['min']],
      ]);
      expect(error.message).toMatch(/^invalid payload for \/bulk: \[1\]\.name: .*; \[2\]\.count: /);
    });

    it('reports them at [p][i].field for parameter p of several', async () => {
      const error = await refusalOf(() => convertArgs(routeOf(Bulk, '/labelled'), [5, [{ name: 'a', count: 1, item_code: 'x' }, { name: 'b', count: 0, item_code: 'y' }]], 'plugin'));
      expect(pathsOf(error)).toEqual([
        ['[0]', ['isString']],
        ['[1][1].count', ['min']],
      ]);
    });

    it('refuses what is not an array with the isArray of an array parameter', async () => {
      expect(pathsOf(await refusalOf(() => convertArgs(routeOf(Bulk, '/bulk'), [{ name: 'a', count: 1 }], 'plugin')))).toEqual([['(payload)', ['isArray']]]);
      expect(pathsOf(await refusalOf(() => convertArgs(routeOf(Bulk, '/labelled'), ['l', 'items'], 'plugin')))).toEqual([['[1]', ['isArray']]]);
    });

    it('refuses an item that is not an object, null included, as a result array does', async () => {
      const error = await refusalOf(() => convertArgs(routeOf(Bulk, '/bulk'), [[5, null, [], 'x']], 'plugin'));
      expect(error.violations.map((v) => [v.path, v.constraints])).toEqual([
        ['[0]', { isObject: 'expected an object for Item, got a number' }],
        ['[1]', { isObject: 'expected an object for Item, got null' }],
        ['[2]', { isObject: 'expected an object for Item, got an array' }],
        ['[3]', { isObject: 'expected an object for Item, got a string' }],
      ]);
    });

    it('names undefined, a hole and NaN as what they are, as a host gives them', async () => {
      // eslint-disable-next-line no-sparse-arrays
      const error = await refusalOf(() => convertArgs(routeOf(Bulk, '/bulk'), [[undefined, , Number.NaN]], 'host'));
      expect(error.violations.map((v) => [v.path, v.constraints])).toEqual([
        ['[0]', { isObject: 'expected an object for Item, got undefined' }],
        ['[1]', { isObject: 'expected an object for Item, got undefined' }],
        ['[2]', { isObject: 'expected an object for Item, got NaN' }],
      ]);
    });

    it('waits for asynchronous constraints, and reports by parameter and item whichever ends first', async () => {
      const ok = convertArgs(routeOf(Bulk, '/known'), [[{ name: 'known-1' }], [{ name: 'known' }]], 'plugin');
      expect(ok).toBeInstanceOf(Promise);
      const [first, second] = (await ok) as [Known[], Known[]];
      expect([...first, ...second].map((k) => k instanceof Known)).toEqual([true, true]);
      // The longest names end last: the first items of each parameter.
      const error = await refusalOf(() => convertArgs(routeOf(Bulk, '/known'), [[{ name: 'stranger-stranger' }, { name: 'x' }], [{ name: 'other-other' }, { name: 'known' }, { name: 'y' }]], 'plugin'));
      expect(pathsOf(error)).toEqual([
        ['[0][0].name', ['knownName']],
        ['[0][1].name', ['knownName']],
        ['[1][0].name', ['knownName']],
        ['[1][2].name', ['knownName']],
      ]);
    });

    it('validates nested DTOs of the items at their full path', async () => {
      const error = await refusalOf(() => convertArgs(routeOf(Bulk, '/lines'), [[{ item: { name: 'a', count: 1, item_code: 'x' } }, { item: { name: 'b', count: 0, item_code: 'y' } }]], 'plugin'));
      expect(pathsOf(error)).toEqual([['[1].item.count', ['min']]]);
      const [lines] = (await convertArgs(routeOf(Bulk, '/lines'), [[{ item: { name: 'a', count: 1, item_code: 'x' } }]], 'plugin')) as [Line[]];
      expect(lines[0]).toBeInstanceOf(Line);
      expect(lines[0]?.item).toBeInstanceOf(Item);
    });

    it('gives Dates for [Date], from RFC 3339 date-times only', async () => {
      const [dates] = convertArgs(routeOf(Bulk, '/dates'), [['2026-12-25T10:00:00Z', '2026-12-25T12:00:00.5+02:00']], 'plugin') as [Date[]];
      expect(dates).toEqual([new Date('2026-12-25T10:00:00.000Z'), new Date('2026-12-25T10:00:00.500Z')]);
      const error = await refusalOf(() => convertArgs(routeOf(Bulk, '/dates'), [['2026-12-25T10:00:00Z', '1', 'Dec 25 2020', 5, null]], 'plugin'));
      expect(pathsOf(error)).toEqual([
        ['[1]', ['isDate']],
        ['[2]', ['isDate']],
        ['[3]', ['isDate']],
        ['[4]', ['isDate']],
      ]);
    });

    it('checks the type of each item of [String]', async () => {
      expect(convertArgs(routeOf(Bulk, '/names'), [['a', 'b']], 'plugin')).toEqual([['a', 'b']]);
      expect(pathsOf(await refusalOf(() => convertArgs(routeOf(Bulk, '/names'), [['a', 2]], 'plugin')))).toEqual([['[1]', ['isString']]]);
    });

    it('with validate: false, still gives instances, and checks nothing in them', () => {
      const [items] = convertArgs(routeOf(Bulk, '/loose'), [[{ name: '', count: 0 }, 5]], 'plugin') as [unknown[]];
      expect(items[0]).toBeInstanceOf(Item);
      expect(items[1]).toBe(5);
    });

    it('leaves the items of an emitted Item[] (no params) as they came, as before', () => {
      const items = [{ name: '', count: 0 }];
      expect(convertArgs(routeOf(Bulk, '/emitted'), [items], 'plugin')).toEqual([items]);
    });
  });

  describe('on the host', () => {
    it('sends the JSON value of each item, as class-transformer writes it (@Exclude, @Expose)', () => {
      const converted = convertArgs(routeOf(Bulk, '/bulk'), [[item('a', 1, 'hidden'), { name: 'b', count: 2, item_code: 'y' }]], 'host');
      expect(converted).not.toBeInstanceOf(Promise);
      expect(JSON.stringify(converted)).toBe('[[{"name":"a","count":1,"item_code":"c-a"},{"name":"b","count":2,"item_code":"y"}]]');
    });

    it('refuses invalid items before sending, at the paths the plugin reports', async () => {
      const error = await refusalOf(() => convertArgs(routeOf(Bulk, '/labelled'), ['l', [item('a', 1), item('', 0)]], 'host'));
      expect(error.side).toBe('host');
      expect(pathsOf(error)).toEqual([
        ['[1][1].name', ['isLength']],
        ['[1][1].count', ['min']],
      ]);
    });

    it('sends the values the items had when the method was called, though their check ends later', async () => {
      const known = Object.assign(new Known(), { name: 'known' });
      const sent = convertArgs(routeOf(Bulk, '/known'), [[known], []], 'host');
      known.name = 'changed';
      await expect(sent).resolves.toEqual([[{ name: 'known' }], []]);
    });

    it('takes Dates for [Date], refusing one that JSON cannot write as a date-time', async () => {
      expect(convertArgs(routeOf(Bulk, '/dates'), [[new Date('2026-12-25T10:00:00Z')]], 'host')).toEqual([[new Date('2026-12-25T10:00:00Z')]]);
      const far = new Date('2026-01-01T00:00:00Z');
      far.setUTCFullYear(10_000);
      const error = await refusalOf(() => convertArgs(routeOf(Bulk, '/dates'), [[new Date('2026-12-25T10:00:00Z'), far]], 'host'));
      expect(error.violations).toEqual([{ path: '[1]', constraints: { isDate: 'expected a date of the years 0 to 9999, got the year 10000' } }]);
    });
  });
});
