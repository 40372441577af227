// The validation plan (lib/conversion/validation-plan.ts): what it answers itself (valid,
// by calling class-validator's own constraint functions) and what it leaves to
// class-validator (anything failed, and everything it does not follow exactly).
import 'reflect-metadata';
import * as classValidator from 'class-validator';
import {
  Allow,
  IsDefined,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Min,
  Validate,
  ValidateIf,
  ValidateNested,
  ValidatorConstraint,
  type ValidationArguments,
  type ValidatorConstraintInterface,
  validateSync,
} from 'class-validator';
import { Method, PayloadValidationError, Plugin, stub } from '../../lib';
import { convertArgs, DEFAULT_VALIDATOR_OPTIONS } from '../../lib/conversion/converter';
import { readMethods } from '../../lib/metadata/reflection-helpers';
import { validWithoutErrors } from '../../lib/conversion/validation-plan';

const OPTIONS = DEFAULT_VALIDATOR_OPTIONS;

function make<T extends object>(type: new () => T, fields: Partial<T>): T {
  return Object.assign(new type(), fields);
}

class Person {
  @IsString() @Length(1, 10) name!: string;
  @IsInt() @Min(0) age!: number;
  @IsOptional() @IsString() nick?: string;
}

describe('validation plan', () => {
  it('answers valid for a valid instance, as validateSync() finds nothing', () => {
    const p = make(Person, { name: 'Ann', age: 3 });
    expect(validateSync(p, OPTIONS)).toEqual([]);
    expect(validWithoutErrors(p, OPTIONS)).toBe(true);
  });

  it('leaves a failing instance to class-validator', () => {
    for (const p of [make(Person, { name: '', age: 3 }), make(Person, { name: 'Ann', age: -1 }), make(Person, { name: 'Ann', age: 1, nick: 5 as unknown as string })]) {
      expect(validateSync(p, OPTIONS).length).toBeGreaterThan(0);
      expect(validWithoutErrors(p, OPTIONS)).toBe(false);
    }
  });

  it('follows @IsOptional and @ValidateIf by calling their conditions', () => {
    class Conditional {
      @IsOptional() @IsInt() a?: number;
      @ValidateIf((o: Conditional) => o.a === 1) @IsString() b?: unknown;
    }
    expect(validWithoutErrors(make(Conditional, { a: null as unknown as number }), OPTIONS)).toBe(true);
    expect(validWithoutErrors(make(Conditional, { a: 2, b: 7 }), OPTIONS)).toBe(true);
    expect(validateSync(make(Conditional, { a: 2, b: 7 }), OPTIONS)).toEqual([]);
    expect(validWithoutErrors(make(Conditional, { a: 1, b: 7 }), OPTIONS)).toBe(false);
  });

  it('follows the skip options, and @IsDefined despite them', () => {
    class Skips {
      @IsInt() a?: number;
      @IsDefined() @IsInt() b?: number;
    }
    const skip = { ...OPTIONS, skipMissingProperties: true };
    expect(validWithoutErrors(make(Skips, { b: 1 }), skip)).toBe(true);
    expect(validateSync(make(Skips, { b: 1 }), skip)).toEqual([]);
    expect(validWithoutErrors(make(Skips, {}), skip)).toBe(false);
    expect(validateSync(make(Skips, {}), skip).map((e) => e.property)).toEqual(['b']);
    expect(validWithoutErrors(make(Skips, { b: 1 }), OPTIONS)).toBe(false);
  });

  it('reads inherited metadata as class-validator does, the subclass overriding', () => {
    class Base {
      @IsString() id!: unknown;
      @IsInt() n!: unknown;
    }
    class Derived extends Base {
      @IsInt() declare id: unknown;
    }
    expect(validWithoutErrors(make(Derived, { id: 1, n: 2 }), OPTIONS)).toBe(true);
    expect(validateSync(make(Derived, { id: 1, n: 2 }), OPTIONS)).toEqual([]);
    expect(validWithoutErrors(make(Derived, { id: 1, n: 'x' }), OPTIONS)).toBe(false);
  });

  it('follows each: every item of an array, a Set or a Map, and a value that is none of them', () => {
    class Each {
      @IsInt({ each: true }) xs!: unknown;
    }
    for (const xs of [[1, 2], new Set([1]), new Map([['a', 1]]), 3, [], [1, 'a'], new Set(['a']), new Map([['a', 'b']]), 'a']) {
      const e = make(Each, { xs });
      expect(validWithoutErrors(e, OPTIONS)).toBe(validateSync(e, OPTIONS).length === 0);
    }
    expect(validWithoutErrors(make(Each, { xs: new Set([1]) }), OPTIONS)).toBe(true);
  });

  it('calls a custom constraint with the arguments class-validator gives it', () => {
    const seen: ValidationArguments[] = [];
    @ValidatorConstraint({ name: 'recorded' })
    class Recorded implements ValidatorConstraintInterface {
      validate(_value: unknown, args: ValidationArguments): boolean {
        seen.push(args);
        return true;
      }
    }
    class Custom {
      @Validate(Recorded, [1, 'two']) x!: number;
    }
    const c = make(Custom, { x: 5 });
    validateSync(c, OPTIONS);
    expect(validWithoutErrors(c, OPTIONS)).toBe(true);
    expect(seen).toHaveLength(2);
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[1]).toEqual({ targetName: 'Custom', property: 'x', object: c, value: 5, constraints: [1, 'two'] });
  });

  it('gives every constraint the class name class-validator gives it, read from the constructor (a name defined on it too)', () => {
    const seen: string[] = [];
    @ValidatorConstraint({ name: 'named' })
    class Named implements ValidatorConstraintInterface {
      validate(_value: unknown, args: ValidationArguments): boolean {
        seen.push(args.targetName);
        return true;
      }
    }
    class Renamed {
      @Validate(Named) a!: number;
      @Validate(Named) @Validate(Named) b!: number;
    }
    Object.defineProperty(Renamed, 'name', { value: 'Shown' });
    const r = make(Renamed, { a: 1, b: 2 });
    validateSync(r, OPTIONS);
    const expected = [...seen];
    seen.length = 0;
    expect(validWithoutErrors(r, OPTIONS)).toBe(true);
    expect(seen).toEqual(expected);
    expect(seen).toEqual(['Shown', 'Shown', 'Shown']);
  });

  describe('leaves to class-validator', () => {
    it('options it does not follow: groups, always, strictGroups, whitelist', () => {
      const p = make(Person, { name: 'Ann', age: 3 });
      for (const options of [{ groups: ['a'] }, { always: true }, { strictGroups: true }, { whitelist: true }, { forbidNonWhitelisted: true }, { unknownOption: 1 }]) {
        expect(validWithoutErrors(p, { ...OPTIONS, ...options })).toBe(false);
      }
      expect(validWithoutErrors(p, { ...OPTIONS, groups: [], always: false, whitelist: false })).toBe(true);
      // Inherited options, which class-validator reads as well.
      expect(validWithoutErrors(p, Object.create({ whitelist: true }) as classValidator.ValidatorOptions)).toBe(false);
      // Frozen options are remembered, each its own: a supported set does not stand for the next.
      const frozen = Object.freeze({ forbidUnknownValues: false });
      const frozenGroups = Object.freeze({ forbidUnknownValues: false, groups: ['a'] });
      expect(validWithoutErrors(p, frozen)).toBe(true);
      expect(validWithoutErrors(p, frozenGroups)).toBe(false);
      expect(validWithoutErrors(p, frozen)).toBe(true);
      // Options changed after a first use.
      const changing: classValidator.ValidatorOptions = { forbidUnknownValues: true };
      expect(validWithoutErrors(p, changing)).toBe(true);
      changing.groups = ['a'];
      expect(validWithoutErrors(p, changing)).toBe(false);
    });

    it('nested validation, async constraints and a promise from a synchronous one', () => {
      @ValidatorConstraint({ name: 'later', async: true })
      class Later implements ValidatorConstraintInterface {
        validate(): Promise<boolean> {
          return Promise.resolve(true);
        }
      }
      @ValidatorConstraint({ name: 'sneaky' })
      class Sneaky implements ValidatorConstraintInterface {
        validate(): boolean {
          return Promise.resolve(true) as unknown as boolean;
        }
      }
      class Nested {
        @ValidateNested() p!: Person;
      }
      class Async {
        @Validate(Later) x!: number;
      }
      class Promised {
        @Validate(Sneaky) x!: number;
      }
      expect(validWithoutErrors(make(Nested, { p: make(Person, { name: 'A', age: 1 }) }), OPTIONS)).toBe(false);
      expect(validWithoutErrors(make(Async, { x: 1 }), OPTIONS)).toBe(false);
      expect(validWithoutErrors(make(Promised, { x: 1 }), OPTIONS)).toBe(false);
    });

    it('a class without constraints (forbidUnknownValues), and a constraint that throws', () => {
      class Bare {
        x = 1;
      }
      class OnlyAllow {
        @Allow() x = 1;
      }
      @ValidatorConstraint({ name: 'throws' })
      class Throws implements ValidatorConstraintInterface {
        validate(): boolean {
          throw new Error('no');
        }
      }
      class Throwing {
        @Validate(Throws) x!: number;
      }
      expect(validWithoutErrors(new Bare(), OPTIONS)).toBe(false);
      expect(validWithoutErrors(new OnlyAllow(), OPTIONS)).toBe(true);
      expect(validateSync(new OnlyAllow(), OPTIONS)).toEqual([]);
      expect(validWithoutErrors(make(Throwing, { x: 1 }), OPTIONS)).toBe(false);
    });
  });
});

@Plugin()
class Contract {
  @Method('/person')
  person(value: Person): Promise<void> {
    return stub(value);
  }
}

describe('the converter with the plan', () => {
  afterEach(() => jest.restoreAllMocks());

  it('does not call validateSync() for a valid DTO, and calls it for an invalid one: its errors are reported', () => {
    const spy = jest.spyOn(classValidator, 'validateSync');
    const definition = readMethods(Contract)?.get('/person');
    if (!definition) throw new Error('no route');
    const [converted] = convertArgs(definition, [{ name: 'Ann', age: 3 }], 'plugin') as unknown[];
    expect(converted).toBeInstanceOf(Person);
    expect(spy).not.toHaveBeenCalled();
    let thrown: unknown;
    try {
      void convertArgs(definition, [{ name: 'Ann', age: -3 }], 'plugin');
    } catch (error) {
      thrown = error;
    }
    expect(spy).toHaveBeenCalledTimes(1);
    expect(thrown).toBeInstanceOf(PayloadValidationError);
    expect((thrown as PayloadValidationError).violations).toEqual([{ path: 'age', value: -3, constraints: { min: 'age must not be less than 0' } }]);
  });
});

