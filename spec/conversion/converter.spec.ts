// The argument check picks class-validator's validateSync() for classes whose constraints
// are all synchronous (no promise, no extra turn), and validate() for the others: both
// report the same violations.
import { IsDate, IsInt, IsOptional, IsString, Min, Validate, ValidateNested, ValidatorConstraint, type ValidatorConstraintInterface } from 'class-validator';
import { Type as NestedType } from 'class-transformer';
import { Method, PayloadValidationError, Plugin, stub } from '../../lib';
import { convertArgs, convertResult, resultToPlain } from '../../lib/conversion/converter';
import { pathsOf, refusalOf, routeOf } from '../support/conversion-helpers';

class Plain {
  @IsString()
  name!: string;

  @IsInt()
  @Min(1)
  count!: number;
}

@ValidatorConstraint({ name: 'slowlyKnown', async: true })
class SlowlyKnown implements ValidatorConstraintInterface {
  validate(value: unknown): Promise<boolean> {
    return new Promise((resolve) => setImmediate(() => resolve(value === 'known')));
  }

  defaultMessage(): string {
    return 'name is not known';
  }
}

class Checked {
  @Validate(SlowlyKnown)
  name!: string;
}

class Outer {
  @ValidateNested()
  @NestedType(() => Plain)
  inner!: Plain;
}

@ValidatorConstraint({ name: 'neverKnown', async: true })
class NeverKnown implements ValidatorConstraintInterface {
  validate(): Promise<boolean> {
    return Promise.resolve(false);
  }

  defaultMessage(): string {
    return 'code is never known';
  }
}

/** A subclass of a DTO whose own constraint is asynchronous, where Plain's are all synchronous. */
class PlainWithCode extends Plain {
  @Validate(NeverKnown)
  code!: string;
}

@Plugin()
class Contract {
  @Method('/plain')
  plain(value: Plain): Promise<void> {
    return stub(value);
  }

  @Method('/checked')
  checked(value: Checked): Promise<void> {
    return stub(value);
  }

  @Method('/outer')
  outer(value: Outer): Promise<void> {
    return stub(value);
  }
}

async function violationsOf(result: unknown): Promise<unknown> {
  return pathsOf(await refusalOf(result));
}

describe('convertArgs', () => {
  it('checks a class with synchronous constraints only without a promise, on both sides', () => {
    const plugin = convertArgs(routeOf(Contract, '/plain'), [{ name: 'a', count: 2 }], 'plugin');
    expect(plugin).not.toBeInstanceOf(Promise);
    expect((plugin as unknown[])[0]).toBeInstanceOf(Plain);
    const host = convertArgs(routeOf(Contract, '/plain'), [{ name: 'a', count: 2 }], 'host');
    expect(host).toEqual([{ name: 'a', count: 2 }]);
  });

  it('reports every failed field of a synchronous class at once', () => {
    expect(() => convertArgs(routeOf(Contract, '/plain'), [{ name: 5, count: 0 }], 'plugin')).toThrow(PayloadValidationError);
    try {
      void convertArgs(routeOf(Contract, '/plain'), [{ name: 5, count: 0 }], 'plugin');
    } catch (error) {
      expect((error as PayloadValidationError).violations.map((v) => v.path).sort()).toEqual(['count', 'name']);
    }
  });

  it('waits for a constraint declared async, and reports its verdict', async () => {
    const ok = convertArgs(routeOf(Contract, '/checked'), [{ name: 'known' }], 'plugin');
    expect(ok).toBeInstanceOf(Promise);
    await expect(ok).resolves.toEqual([expect.any(Checked)]);
    await expect(violationsOf(convertArgs(routeOf(Contract, '/checked'), [{ name: 'stranger' }], 'plugin'))).resolves.toEqual([['name', ['slowlyKnown']]]);
  });

  it('validates nested objects (whose classes come from the values) with validate(), reporting nested paths', async () => {
    const bad = convertArgs(routeOf(Contract, '/outer'), [{ inner: { name: 'x', count: 0 } }], 'plugin');
    expect(bad).toBeInstanceOf(Promise);
    await expect(violationsOf(bad)).resolves.toEqual([['inner.count', ['min']]]);
    await expect(convertArgs(routeOf(Contract, '/outer'), [{ inner: { name: 'x', count: 1 } }], 'host')).resolves.toEqual([{ inner: { name: 'x', count: 1 } }]);
  });
});

// Classes without class-validator constraints, and DTOs whose nested objects or dates
// lack @Type: what class-validator's forbidUnknownValues used to turn into
// `undefined: an unknown value was passed to the validate function`.

/** A Go-style request: no decorators at all. */
class SumRequest {
  A!: number;
  B!: number;
}

class Greeting {
  text!: string;

  shout(): string {
    return this.text.toUpperCase();
  }
}

class PlainPoint {
  x!: number;
  y!: number;
}

/** Undecorated but for class-transformer's @Type: its points become PlainPoints. */
class PlainPath {
  @NestedType(() => PlainPoint)
  points!: PlainPoint[];
}

/** Validated, with nested instances of a class that has nothing to validate. */
class Shape {
  @IsString()
  name!: string;

  @ValidateNested({ each: true })
  @NestedType(() => PlainPoint)
  points!: PlainPoint[];
}

class Address {
  @IsString()
  city!: string;
}

class OrderWithoutType {
  @IsString()
  id!: string;

  @ValidateNested()
  address!: Address;
}

class OrderWithItemsWithoutType {
  @ValidateNested({ each: true })
  items!: Address[];
}

/** A DTO field that neither @ValidateNested nor @Type reaches: it would go unchecked. */
class OrderUnchecked {
  @IsOptional()
  address!: Address;
}

class MeetingWithoutType {
  @IsString()
  title!: string;

  @IsDate()
  at!: Date;
}

/** No date constraint: without the check the string would arrive silently. */
class NoteWithoutType {
  @IsOptional()
  at?: Date;
}

class Meeting {
  @IsDate()
  @NestedType(() => Date)
  at!: Date;
}

class Wrapper {
  @ValidateNested()
  @NestedType(() => OrderWithoutType)
  order!: OrderWithoutType;
}

/** Nested DTOs with @Type, which converts JSON but not the fields of an instance a caller built. */
class Delivery {
  @ValidateNested({ each: true })
  @NestedType(() => Address)
  stops!: Address[];

  @IsOptional()
  @ValidateNested()
  @NestedType(() => Address)
  from?: Address;
}

/** @Type names a class without constraints where a validated one is declared. */
class Mistyped {
  @ValidateNested()
  @NestedType(() => PlainPoint)
  address!: Address;
}

@Plugin()
class PlainContract {
  @Method('/sum', { returns: SumRequest }) sum(request: SumRequest): Promise<SumRequest> { return stub(request); }
  @Method('/greet', { returns: Greeting }) greet(): Promise<Greeting> { return stub(); }
  @Method('/greetings', { returns: [Greeting] }) greetings(): Promise<Greeting[]> { return stub(); }
  @Method('/path') path(path: PlainPath): Promise<void> { return stub(path); }
  @Method('/shape') shape(shape: Shape): Promise<void> { return stub(shape); }
  @Method('/order') order(order: OrderWithoutType): Promise<void> { return stub(order); }
  @Method('/items') items(order: OrderWithItemsWithoutType): Promise<void> { return stub(order); }
  @Method('/unchecked') unchecked(order: OrderUnchecked): Promise<void> { return stub(order); }
  @Method('/meeting-untyped') meetingUntyped(meeting: MeetingWithoutType): Promise<void> { return stub(meeting); }
  @Method('/note') note(note: NoteWithoutType): Promise<void> { return stub(note); }
  @Method('/meeting') meeting(meeting: Meeting): Promise<void> { return stub(meeting); }
  @Method('/wrapper') wrapper(wrapper: Wrapper): Promise<void> { return stub(wrapper); }
  @Method('/mistyped') mistyped(value: Mistyped): Promise<void> { return stub(value); }
  @Method('/delivery') delivery(delivery: Delivery): Promise<void> { return stub(delivery); }
  @Method('/two') two(a: OrderWithoutType, b: MeetingWithoutType): Promise<void> { return stub(a, b); }
  @Method('/now', { returns: Date }) now(): Promise<Date> { return stub(); }
  @Method('/days', { returns: [Date] }) days(): Promise<Date[]> { return stub(); }
}

describe('convertArgs with classes that have no validation constraints', () => {
  it('converts a Go-style class without decorators, without a promise and without an error', () => {
    const plugin = convertArgs(routeOf(PlainContract, '/sum'), [{ A: 1, B: 2 }], 'plugin') as unknown[];
    expect(plugin).not.toBeInstanceOf(Promise);
    expect(plugin[0]).toBeInstanceOf(SumRequest);
    expect(plugin[0]).toEqual({ A: 1, B: 2 });
    expect(convertArgs(routeOf(PlainContract, '/sum'), [{ A: 1, B: 2 }], 'host')).toEqual([{ A: 1, B: 2 }]);
    const instance = Object.assign(new SumRequest(), { A: 3, B: 4 });
    expect(convertArgs(routeOf(PlainContract, '/sum'), [instance], 'host')).toEqual([{ A: 3, B: 4 }]);
  });

  it('converts nested plain classes that class-transformer\'s @Type names', () => {
    const [path] = convertArgs(routeOf(PlainContract, '/path'), [{ points: [{ x: 1, y: 2 }] }], 'plugin') as [PlainPath];
    expect(path).toBeInstanceOf(PlainPath);
    expect(path.points[0]).toBeInstanceOf(PlainPoint);
  });

  it('validates a DTO whose nested class has nothing to validate, and converts the nested values', async () => {
    const [shape] = (await convertArgs(routeOf(PlainContract, '/shape'), [{ name: 'line', points: [{ x: 0, y: 0 }, { x: 1, y: 1 }] }], 'plugin')) as [Shape];
    expect(shape).toBeInstanceOf(Shape);
    expect(shape.points.map((p) => p instanceof PlainPoint)).toEqual([true, true]);
    const failed = await refusalOf(convertArgs(routeOf(PlainContract, '/shape'), [{ name: 7, points: [{ x: 0, y: 0 }] }], 'plugin'));
    expect(failed.violations.map((v) => v.path)).toEqual(['name']);
  });

  it('keeps forbidUnknownValues for a class without constraints where a validated one is declared', async () => {
    const failed = await refusalOf(convertArgs(routeOf(PlainContract, '/mistyped'), [{ address: { city: 'Oslo' } }], 'plugin'));
    expect(failed.violations).toEqual([
      { path: 'address', constraints: { unknownValue: 'expected Address on Mistyped.address, got PlainPoint, which has no class-validator constraints' } },
    ]);
  });
});

describe('convertArgs with nested DTOs and dates that lack @Type', () => {
  it('names the field of a nested DTO without @Type and says what to add, on both sides', async () => {
    for (const side of ['plugin', 'host'] as const) {
      const failed = await refusalOf(convertArgs(routeOf(PlainContract, '/order'), [{ id: 'o-1', address: { city: 'Oslo' } }], side));
      expect(failed.violations).toEqual([
        { path: 'address', constraints: { missingType: 'nested object needs @Type(() => Address) from class-transformer on OrderWithoutType.address, or it is validated as a plain object' } },
      ]);
      expect(failed.message).toBe(
        'invalid payload for /order: address: nested object needs @Type(() => Address) from class-transformer on OrderWithoutType.address, or it is validated as a plain object',
      );
      expect(failed.message).not.toContain('undefined');
    }
  });

  it('reports the missing @Type together with the other failed fields', async () => {
    const failed = await refusalOf(convertArgs(routeOf(PlainContract, '/order'), [{ id: 5, address: { city: 'Oslo' } }], 'plugin'));
    expect(failed.violations.map((v) => [v.path, Object.keys(v.constraints)])).toEqual([
      ['address', ['missingType']],
      ['id', ['isString']],
    ]);
  });

  it('accepts a nested instance that the host passed as it is, though @Type is missing', async () => {
    const order = Object.assign(new OrderWithoutType(), { id: 'o-1', address: Object.assign(new Address(), { city: 'Oslo' }) });
    await expect(convertArgs(routeOf(PlainContract, '/order'), [order], 'host')).resolves.toEqual([{ id: 'o-1', address: { city: 'Oslo' } }]);
  });

  it('says what to add for an array of nested DTOs without @Type', async () => {
    const failed = await refusalOf(convertArgs(routeOf(PlainContract, '/items'), [{ items: [{ city: 'Oslo' }] }], 'plugin'));
    expect(failed.violations).toEqual([
      {
        path: 'items',
        constraints: { missingType: 'nested object needs @Type(() => the class of its items) from class-transformer on OrderWithItemsWithoutType.items, or it is validated as a plain object' },
      },
    ]);
  });

  it('says what to add for a nested DTO that neither @ValidateNested nor @Type reaches', () => {
    expect(() => convertArgs(routeOf(PlainContract, '/unchecked'), [{ address: { city: 5 } }], 'plugin')).toThrow(
      'address: nested object is neither converted nor validated: add @ValidateNested() and @Type(() => Address) to OrderUnchecked.address',
    );
    expect(convertArgs(routeOf(PlainContract, '/unchecked'), [{}], 'plugin')).toEqual([expect.any(OrderUnchecked)]);
  });

  it('says what to add for a Date field without @Type, with or without a date constraint', () => {
    const at = '2024-05-06T07:08:09.000Z';
    expect(() => convertArgs(routeOf(PlainContract, '/meeting-untyped'), [{ title: 'plan', at }], 'plugin')).toThrow(
      `invalid payload for /meeting-untyped: at: a date arrives as a string: add @Type(() => Date) from class-transformer to MeetingWithoutType.at`,
    );
    try {
      void convertArgs(routeOf(PlainContract, '/note'), [{ at }], 'plugin');
      throw new Error('expected a validation failure');
    } catch (error) {
      expect((error as PayloadValidationError).violations).toEqual([
        { path: 'at', constraints: { missingType: 'a date arrives as a string: add @Type(() => Date) from class-transformer to NoteWithoutType.at' } },
      ]);
    }
    // An absent optional date is no error.
    expect(convertArgs(routeOf(PlainContract, '/note'), [{}], 'plugin')).toEqual([expect.any(NoteWithoutType)]);
  });

  it('converts a Date field with @Type(() => Date)', () => {
    const [meeting] = convertArgs(routeOf(PlainContract, '/meeting'), [{ at: '2024-05-06T07:08:09.000Z' }], 'plugin') as [Meeting];
    expect(meeting.at).toEqual(new Date('2024-05-06T07:08:09.000Z'));
  });

  it('finds a missing @Type deeper down, at its full path, and in the second of two parameters', async () => {
    const deep = await refusalOf(convertArgs(routeOf(PlainContract, '/wrapper'), [{ order: { id: 'o', address: { city: 'Oslo' } } }], 'plugin'));
    expect(deep.violations.map((v) => [v.path, Object.keys(v.constraints)])).toEqual([['order.address', ['missingType']]]);
    const two = await refusalOf(convertArgs(routeOf(PlainContract, '/two'), [{ id: 'o', address: { city: 'Oslo' } }, { title: 't', at: '2024-01-01' }], 'plugin'));
    expect(two.violations.map((v) => [v.path, Object.keys(v.constraints)])).toEqual([
      ['[0].address', ['missingType']],
      ['[1].at', ['missingType']],
    ]);
  });
});

describe('convertArgs with an instance whose nested DTOs (with @Type) are plain objects', () => {
  const advice = (field: string): string =>
    `expected an Address instance, got a plain object: @Type(() => Address) on Delivery.${field} converts JSON, not the fields of a Delivery built by the caller: ` +
    'use Address instances there, or pass a plain object for the whole argument to have it converted';

  it('says that the items must be instances, not that @Type is missing, for an array and a single field', async () => {
    const delivery = Object.assign(new Delivery(), { stops: [Object.assign(new Address(), { city: 'Oslo' }), { city: 'Bergen' }], from: { city: 'Oslo' } });
    const failed = await refusalOf(convertArgs(routeOf(PlainContract, '/delivery'), [delivery], 'host'));
    expect(failed.violations).toEqual([
      { path: 'stops[1]', constraints: { unknownValue: advice('stops') } },
      { path: 'from', constraints: { unknownValue: advice('from') } },
    ]);
    expect(failed.message).not.toContain('needs @Type');
  });

  it('converts the same values passed as a plain object', async () => {
    await expect(convertArgs(routeOf(PlainContract, '/delivery'), [{ stops: [{ city: 'Oslo' }, { city: 'Bergen' }], from: { city: 'Oslo' } }], 'host')).resolves.toEqual([
      { stops: [{ city: 'Oslo' }, { city: 'Bergen' }], from: { city: 'Oslo' } },
    ]);
  });
});

describe('convertArgs with an instance of a subclass of the declared DTO', () => {
  it("validates it as its own class, with the subclass's asynchronous constraints", async () => {
    const value = Object.assign(new PlainWithCode(), { name: 'n', count: 1, code: 'c' });
    await expect(violationsOf(convertArgs(routeOf(Contract, '/plain'), [value], 'host'))).resolves.toEqual([['code', ['neverKnown']]]);
  });
});

describe('convertResult and resultToPlain', () => {
  it('converts a result class without constraints into an instance with its methods', async () => {
    const greeting = (await convertResult(routeOf(PlainContract, '/greet'), { text: 'hi' })) as Greeting;
    expect(greeting).toBeInstanceOf(Greeting);
    expect(greeting.shout()).toBe('HI');
    const list = (await convertResult(routeOf(PlainContract, '/greetings'), [{ text: 'a' }, { text: 'b' }])) as Greeting[];
    expect(list.map((g) => g.shout())).toEqual(['A', 'B']);
  });

  it('gives Dates for returns: Date and returns: [Date], and rejects what is not a date', async () => {
    expect(routeOf(PlainContract, '/now').returns).toBe(Date);
    await expect(convertResult(routeOf(PlainContract, '/now'), '2024-05-06T07:08:09.000Z')).resolves.toEqual(new Date('2024-05-06T07:08:09.000Z'));
    await expect(convertResult(routeOf(PlainContract, '/days'), ['2024-01-01T00:00:00.000Z', '2024-01-02T00:00:00.000Z'])).resolves.toEqual([
      new Date('2024-01-01T00:00:00.000Z'),
      new Date('2024-01-02T00:00:00.000Z'),
    ]);
    const bad = await refusalOf(convertResult(routeOf(PlainContract, '/days'), ['2024-01-01', 'soon', true]));
    expect(bad.side).toBe('result');
    // A date without a time is no RFC 3339 date-time (attack-dates.spec.ts).
    expect(bad.violations.map((v) => [v.path, v.value, Object.keys(v.constraints)])).toEqual([
      ['[0]', '2024-01-01', ['isDate']],
      ['[1]', 'soon', ['isDate']],
      ['[2]', true, ['isDate']],
    ]);
    const notArray = await refusalOf(convertResult(routeOf(PlainContract, '/days'), 'today'));
    expect(notArray.violations.map((v) => v.constraints)).toEqual([{ isArray: 'expected an array, got a string' }]);
  });

  it('reads a date with digits past the millisecond down to its millisecond, before 1970 too (as a @Type(() => Date) field does)', async () => {
    // Go writes a time.Time with nanoseconds; new Date() alone cuts toward zero, a millisecond late before 1970.
    await expect(convertResult(routeOf(PlainContract, '/now'), '1969-07-20T20:17:40.0005Z')).resolves.toEqual(new Date('1969-07-20T20:17:40.000Z'));
    await expect(convertResult(routeOf(PlainContract, '/now'), '1969-12-31T23:59:59.9999999Z')).resolves.toEqual(new Date('1969-12-31T23:59:59.999Z'));
    await expect(convertResult(routeOf(PlainContract, '/now'), '2024-05-06T07:08:09.1239Z')).resolves.toEqual(new Date('2024-05-06T07:08:09.123Z'));
  });

  it('sends a returns: Date result as it is, for JSON.stringify to write as an ISO string', () => {
    const now = new Date('2024-05-06T07:08:09.000Z');
    expect(resultToPlain(routeOf(PlainContract, '/now'), now)).toBe(now);
    expect(JSON.stringify(resultToPlain(routeOf(PlainContract, '/days'), [now]))).toBe('["2024-05-06T07:08:09.000Z"]');
  });
});
