// The JSON Schemas of a manifest say what the plugin takes: a Date field is an RFC 3339
// date-time (a date without a time is refused), and an enum lists its values, numbers for
// a numeric enum, without the names TypeScript maps back from them. A class nested in
// another has an entry of its own in `definitions`, even when another class has its name.
// An array parameter named [Item] in @Method({ params }) is described as an array of the item.
import { Type } from 'class-transformer';
import { IsArray, IsDate, IsEnum, IsString, ValidateNested } from 'class-validator';
import { JSONSchema } from 'class-validator-jsonschema';
import { Method, Plugin, stub } from '../../lib';
import { buildManifest, type Manifest } from '../../lib/manifest/manifest';
import type { Type as Class } from '../../lib/metadata/method-definition';
import { readMethods } from '../../lib/metadata/reflection-helpers';
import { Address as BillingAddress } from '../fixtures/manifest/addresses/billing-address';
import { Address as HomeAddress } from '../fixtures/manifest/addresses/home-address';

enum Level {
  Low = 1,
  High = 2,
}

enum Colour {
  Red = 'red',
  Blue = 'blue',
}

enum Mixed {
  One = 1,
  Two = 'two',
}

class Event {
  @IsDate()
  @Type(() => Date)
  at!: Date;

  @IsDate({ each: true })
  @Type(() => Date)
  also!: Date[];

  @IsEnum(Level)
  level!: Level;

  @IsEnum(Colour)
  colour!: Colour;

  @IsEnum(Mixed)
  mixed!: Mixed;
}

@Plugin('schemas')
class Schemas {
  @Method('/record')
  record(event: Event): Promise<void> {
    return stub(event);
  }
}

class Shipment {
  @ValidateNested()
  @Type(() => BillingAddress)
  to!: BillingAddress;
}

@Plugin('moves')
class Moves {
  // A parameter class named Address, and another Address nested in the next one's parameter.
  @Method('/move')
  move(address: HomeAddress): Promise<void> {
    return stub(address);
  }

  @Method('/ship')
  ship(shipment: Shipment): Promise<void> {
    return stub(shipment);
  }
}

class Tag {
  @IsString()
  label!: string;
}

class Note {
  // A $ref the generator does not write: the user's own, by the class's name.
  @IsArray()
  @JSONSchema({ items: { $ref: '#/definitions/Tag' } })
  tags!: Tag[];
}

@Plugin('notes')
class Notes {
  @Method('/note')
  note(note: Note): Promise<void> {
    return stub(note);
  }
}

@Plugin('bulk')
class Bulk {
  // Arrays named in params: of a class, of dates, of strings; and one TypeScript emits as Array only.
  @Method('/bulk', { params: [[Tag], [Date], [String], Array] })
  bulk(tags: Tag[], at: Date[], names: string[], rest: unknown[]): Promise<void> {
    return stub(tags, at, names, rest);
  }
}

/** The manifest of a contract's routes, with schemas or without. */
function manifestOf(contract: Class, schemas = true): Manifest {
  const sources = [...(readMethods(contract)?.values() ?? [])].map((definition) => ({ definition, contract: contract.name, implemented: true }));
  return buildManifest(sources, { name: contract.name, version: null }, schemas);
}

function properties(): Record<string, unknown> | undefined {
  return manifestOf(Schemas).definitions['Event']?.['properties'] as Record<string, unknown> | undefined;
}

describe('the schemas of a manifest', () => {
  it('give a Date field, and each Date of an array, as an RFC 3339 date-time', () => {
    const fields = properties();
    expect(fields?.['at']).toEqual({ type: 'string', format: 'date-time' });
    expect(fields?.['also']).toEqual({ type: 'array', items: { type: 'string', format: 'date-time' } });
  });

  it("give an enum's values, typed, without a numeric enum's reverse names", () => {
    const fields = properties();
    expect(fields?.['level']).toEqual({ enum: [1, 2], type: 'number' });
    expect(fields?.['colour']).toEqual({ enum: ['red', 'blue'], type: 'string' });
    expect(fields?.['mixed']).toEqual({ enum: [1, 'two'] });
  });
});

describe('the definitions of a manifest', () => {
  it('give a nested class that has the name of a parameter class its own entry, Address_2, and its $ref points there', () => {
    const manifest = manifestOf(Moves);
    expect(Object.keys(manifest.definitions)).toEqual(['Address', 'Shipment', 'Address_2']);
    expect(manifest.methods.map((m) => m.params[0]?.schema)).toEqual([{ $ref: '#/definitions/Address' }, { $ref: '#/definitions/Shipment' }]);
    expect(manifest.definitions['Address']).toMatchObject({ properties: { zip: { type: 'integer' } }, required: ['zip'] });
    expect(manifest.definitions['Shipment']).toMatchObject({ properties: { to: { $ref: '#/definitions/Address_2' } } });
    expect(manifest.definitions['Address_2']).toMatchObject({ properties: { street: { type: 'string' } }, required: ['street'] });
  });

  it("take a class that only a $ref of the user's own (@JSONSchema()) names by its name", () => {
    const { definitions } = manifestOf(Notes);
    expect(Object.keys(definitions)).toEqual(['Note', 'Tag']);
    expect(definitions['Note']).toMatchObject({ properties: { tags: { type: 'array', items: { $ref: '#/definitions/Tag' } } } });
    expect(definitions['Tag']).toEqual({ type: 'object', properties: { label: { type: 'string' } }, required: ['label'] });
  });
});

describe('the parameters of a manifest', () => {
  it('give an array named [Item] in params as an array of the item: its class in definitions, a date-time, a string', () => {
    const manifest = manifestOf(Bulk);
    expect(manifest.methods[0]?.params).toEqual([
      { type: 'Tag[]', schema: { type: 'array', items: { $ref: '#/definitions/Tag' } } },
      { type: 'Date[]', schema: { type: 'array', items: { type: 'string', format: 'date-time' } } },
      { type: 'string[]', schema: { type: 'array', items: { type: 'string' } } },
      { type: 'array', schema: { type: 'array' } },
    ]);
    expect(Object.keys(manifest.definitions)).toEqual(['Tag']);
  });

  it('give their types without schemas, as a host\'s contract check asks', () => {
    expect(manifestOf(Bulk, false).methods[0]?.params).toEqual([{ type: 'Tag[]' }, { type: 'Date[]' }, { type: 'string[]' }, { type: 'array' }]);
  });
});
