// A field declared as one nested DTO (`@ValidateNested() @Type(() => Address) address!:
// Address`) takes an object, not an array: class-validator's @ValidateNested() validates
// each item of an array, and the method would get an Array where it declares an Address.
// A field declared `Address[]` with `{ each: true }` takes arrays as before. Both sides.
import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsOptional, IsString, ValidateNested } from 'class-validator';
import fc from 'fast-check';
import { Method, Plugin, stub } from '../../lib';
import { convertArgs } from '../../lib/conversion/converter';
import { refusalOf, routeOf } from '../support/conversion-helpers';

const SEED = process.env['FUZZ_SEED'];

class Address {
  @IsString()
  city!: string;
}

class Person {
  @IsString()
  name!: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => Address)
  address?: Address;

  @IsOptional()
  @ValidateNested({ each: true })
  @Type(() => Address)
  stops?: Address[];
}

/** Person one level down: the violation's path says where. */
class Trip {
  @ValidateNested()
  @Type(() => Person)
  driver!: Person;
}

@Plugin('nested-single')
class NestedContract {
  @Method('/person')
  person(person: Person): Promise<void> {
    return stub(person);
  }

  @Method('/trip')
  trip(trip: Trip): Promise<void> {
    return stub(trip);
  }
}

const ARRAY_REFUSED = { isObject: 'expected an object for Address, got an array' };

function plugin(route: string, json: unknown): Promise<unknown[]> {
  return Promise.resolve(convertArgs(routeOf(NestedContract, route), [json], 'plugin'));
}

function host(route: string, value: unknown): Promise<unknown[]> {
  return Promise.resolve(convertArgs(routeOf(NestedContract, route), [value], 'host'));
}

function address(city: string): Address {
  return Object.assign(new Address(), { city });
}

const addressJson = fc.record({ city: fc.string({ maxLength: 8 }) });
/** Anything JSON may put in an array where an Address is declared: addresses, junk, nothing. */
const arrayJson = fc.array(fc.oneof(addressJson, fc.jsonValue({ maxDepth: 2 })), { maxLength: 5 });

describe('a field declared as one nested DTO', () => {
  it('refuses a JSON array in the plugin, empty or of valid addresses, with one violation at the field', async () => {
    for (const given of [[], [{ city: 'A' }, { city: 'B' }]]) {
      const error = await refusalOf(plugin('/person', { name: 'Ada', address: given }));
      expect(error.side).toBe('plugin');
      expect(error.violations).toEqual([{ path: 'address', constraints: ARRAY_REFUSED }]);
    }
  });

  it('refuses any JSON array there, and only there, at its path one level down too', async () => {
    await fc.assert(
      fc.asyncProperty(arrayJson, fc.boolean(), async (given, nested) => {
        const error = nested
          ? await refusalOf(plugin('/trip', { driver: { name: 'Ada', address: given } }))
          : await refusalOf(plugin('/person', { name: 'Ada', address: given }));
        expect(error.violations).toEqual([{ path: nested ? 'driver.address' : 'address', constraints: ARRAY_REFUSED }]);
      }),
      { numRuns: 200, ...(SEED ? { seed: Number(SEED) } : {}) },
    );
  });

  it('takes an object as before, and gives the method an instance', async () => {
    await fc.assert(
      fc.asyncProperty(addressJson, async (given) => {
        const [person] = (await plugin('/person', { name: 'Ada', address: given })) as [Person];
        expect(person.address).toBeInstanceOf(Address);
        expect(person.address).toEqual(address(given.city));
      }),
      { numRuns: 100, ...(SEED ? { seed: Number(SEED) } : {}) },
    );
  });

  it('refuses an array on the host, in a plain object argument and in an instance the caller built', async () => {
    const plain = await refusalOf(host('/person', { name: 'Ada', address: [{ city: 'A' }] }));
    expect(plain.side).toBe('host');
    expect(plain.violations).toEqual([{ path: 'address', constraints: ARRAY_REFUSED }]);
    const built = Object.assign(new Person(), { name: 'Ada', address: [address('A')] });
    expect((await refusalOf(host('/person', built))).violations).toEqual([{ path: 'address', constraints: ARRAY_REFUSED }]);
  });

  it('leaves a field declared as an array with { each: true } taking arrays, valid items passing and invalid ones refused', async () => {
    const [person] = (await plugin('/person', { name: 'Ada', stops: [{ city: 'A' }, { city: 'B' }] })) as [Person];
    expect(person.stops).toEqual([address('A'), address('B')]);
    await expect(host('/person', { name: 'Ada', stops: [] })).resolves.toEqual([{ name: 'Ada', stops: [] }]);
    const error = await refusalOf(plugin('/person', { name: 'Ada', stops: [{ city: 'A' }, { city: 1 }] }));
    expect(error.violations).toEqual([expect.objectContaining({ path: 'stops[1].city' })]);
  });
});
