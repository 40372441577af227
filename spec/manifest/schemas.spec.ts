// The JSON Schemas of a manifest say what the plugin takes: a Date field is an RFC 3339
// date-time (a date without a time is refused), and an enum lists its values, numbers for
// a numeric enum, without the names TypeScript maps back from them.
import { Type } from 'class-transformer';
import { IsDate, IsEnum } from 'class-validator';
import { Method, Plugin, stub } from '../../lib';
import { buildManifest } from '../../lib/manifest/manifest';
import { readMethods } from '../../lib/metadata/reflection-helpers';

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

function properties(): Record<string, unknown> | undefined {
  const definition = readMethods(Schemas)?.get('/record');
  if (!definition) throw new Error('no route');
  const { definitions } = buildManifest([{ definition, contract: 'Schemas', implemented: true }], { name: 'schemas', version: null });
  return definitions['Event']?.['properties'] as Record<string, unknown> | undefined;
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
