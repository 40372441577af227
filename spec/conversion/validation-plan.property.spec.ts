// The validation plan (lib/conversion/validation-plan.ts) against class-validator itself:
// property-based tests (fast-check) on random DTO classes (random fields with random
// decorators, some with `each`, some inherited, some of them what the plan leaves to class-validator) and
// random values, under random validator options. Where the plan follows the class and the
// options, its verdict is class-validator's; where it does not, it answers nothing and
// class-validator is asked; whenever it says valid, validateSync() finds nothing.
// FUZZ_SEED=<n> replays a run.
import 'reflect-metadata';
import fc from 'fast-check';
import {
  Allow,
  IsBoolean,
  IsDefined,
  IsEmail,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsOptional,
  IsPositive,
  IsString,
  Length,
  Max,
  MaxLength,
  Min,
  Validate,
  ValidateIf,
  ValidateNested,
  ValidatorConstraint,
  type ValidatorConstraintInterface,
  type ValidatorOptions,
  validateSync,
} from 'class-validator';
import { DEFAULT_VALIDATOR_OPTIONS } from '../../lib/conversion/converter';
import { validWithoutErrors } from '../../lib/conversion/validation-plan';

const SEED = process.env['FUZZ_SEED'];

function runs<T>(numRuns: number): fc.Parameters<T> {
  return { numRuns, ...(SEED ? { seed: Number(SEED) } : {}) };
}

@ValidatorConstraint({ name: 'eventually', async: true })
class Eventually implements ValidatorConstraintInterface {
  validate(value: unknown): Promise<boolean> {
    return Promise.resolve(typeof value === 'number');
  }
}

type Decorate = (target: object, key: string) => void;

/** A decorator, and whether the plan follows it (else class-validator must be asked). */
interface Rule {
  readonly name: string;
  readonly make: () => Decorate;
  readonly covered: boolean;
}

const RULES: readonly Rule[] = [
  { name: 'IsString', make: () => IsString(), covered: true },
  { name: 'IsInt', make: () => IsInt(), covered: true },
  { name: 'IsNumber', make: () => IsNumber(), covered: true },
  { name: 'IsBoolean', make: () => IsBoolean(), covered: true },
  { name: 'Min(0)', make: () => Min(0), covered: true },
  { name: 'Max(10)', make: () => Max(10), covered: true },
  { name: 'IsPositive', make: () => IsPositive(), covered: true },
  { name: 'Length(1,4)', make: () => Length(1, 4), covered: true },
  { name: 'MaxLength(3)', make: () => MaxLength(3), covered: true },
  { name: 'IsNotEmpty', make: () => IsNotEmpty(), covered: true },
  { name: 'IsEmail', make: () => IsEmail(), covered: true },
  { name: 'IsIn', make: () => IsIn(['a', 1, true]), covered: true },
  { name: 'IsOptional', make: () => IsOptional(), covered: true },
  { name: 'IsDefined', make: () => IsDefined(), covered: true },
  { name: 'Allow', make: () => Allow(), covered: true },
  { name: 'ValidateIf', make: () => ValidateIf((o: Record<string, unknown>) => o['f0'] !== 1), covered: true },
  { name: 'IsString(groups)', make: () => IsString({ groups: ['g'] }), covered: true },
  { name: 'IsInt(always)', make: () => IsInt({ always: true }), covered: true },
  { name: 'IsInt(each)', make: () => IsInt({ each: true }), covered: true },
  { name: 'MaxLength(3, each)', make: () => MaxLength(3, { each: true }), covered: true },
  { name: 'ValidateNested', make: () => ValidateNested(), covered: false },
  { name: 'Eventually(async)', make: () => Validate(Eventually), covered: false },
  { name: 'IsString(validateIf)', make: () => IsString({ validateIf: (o: Record<string, unknown>) => o['f1'] !== 1 }), covered: false },
];

const VALUES: readonly unknown[] = [
  ...['', 'a', 'abcd', 'abcdefgh', 'a@b.io', 'not mail', 0, 1, -1, 3.5, 11, Number.NaN, Infinity, true, false, null, undefined],
  ...[[], [1, 2], ['a'], ['abcd', 1], new Set([1]), new Map([['k', 'ab']]), {}, { a: 1 }],
];
const MISSING = Symbol('missing');

interface Field {
  readonly rules: readonly number[];
  /** Declared on a base class, inherited. */
  readonly inherited: boolean;
}

// Mostly rules the plan follows, so that valid and invalid verdicts both come up often.
const indices = (covered: boolean): number[] => RULES.flatMap((r, i) => (r.covered === covered ? [i] : []));
const ruleArb = fc.oneof({ weight: 25, arbitrary: fc.constantFrom(...indices(true)) }, { weight: 1, arbitrary: fc.constantFrom(...indices(false)) });

const fieldArb: fc.Arbitrary<Field> = fc.record({
  rules: fc.uniqueArray(ruleArb, { minLength: 1, maxLength: 3 }),
  inherited: fc.boolean(),
});

interface OptionsCase {
  readonly options: ValidatorOptions;
  readonly covered: boolean;
}

const optionsArb: fc.Arbitrary<OptionsCase> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom<OptionsCase>(
      { options: DEFAULT_VALIDATOR_OPTIONS, covered: true },
      { options: { ...DEFAULT_VALIDATOR_OPTIONS, skipMissingProperties: true }, covered: true },
      { options: { ...DEFAULT_VALIDATOR_OPTIONS, stopAtFirstError: true }, covered: true },
      { options: { forbidUnknownValues: false }, covered: true },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<OptionsCase>(
      { options: { ...DEFAULT_VALIDATOR_OPTIONS, groups: ['g'] }, covered: false },
      { options: { ...DEFAULT_VALIDATOR_OPTIONS, whitelist: true }, covered: false },
      { options: { ...DEFAULT_VALIDATOR_OPTIONS, always: true }, covered: false },
    ),
  },
);

/** A fresh class (with a base class when a field is inherited) with the fields' decorators. */
function makeClass(fields: readonly Field[]): new () => object {
  class Base {}
  class Dto extends Base {}
  fields.forEach((field, i) => {
    for (const r of field.rules) RULES[r]?.make()(field.inherited ? Base.prototype : Dto.prototype, `f${i}`);
  });
  return Dto;
}

function instanceOf(type: new () => object, values: readonly unknown[]): object {
  const instance = new type() as Record<string, unknown>;
  values.forEach((v, i) => {
    if (v !== MISSING) instance[`f${i}`] = v;
  });
  return instance;
}

describe('validation plan against class-validator', () => {
  it('says valid exactly when class-validator finds nothing, where it follows the class and options; else leaves it to class-validator', () => {
    const caseArb = fc.array(fieldArb, { minLength: 1, maxLength: 5 }).chain((fields) =>
      fc.record({
        fields: fc.constant(fields),
        values: fc.array(fc.array(fc.constantFrom(MISSING, ...VALUES), { minLength: fields.length, maxLength: fields.length }), { minLength: 1, maxLength: 8 }),
        options: optionsArb,
      }),
    );
    const seen = { valid: 0, invalid: 0, leftOver: 0 };
    fc.assert(
      fc.property(caseArb, ({ fields, values, options }) => {
        const type = makeClass(fields);
        const covered = options.covered && fields.every((f) => f.rules.every((r) => RULES[r]?.covered));
        for (const v of values) {
          const verdict = validWithoutErrors(instanceOf(type, v), options.options);
          // Fresh instances: whitelisting deletes fields.
          const errors = validateSync(instanceOf(type, v), options.options);
          if (verdict) expect(errors).toEqual([]);
          if (covered) expect(verdict).toBe(errors.length === 0);
          else expect(verdict).toBe(false);
          seen[!covered ? 'leftOver' : verdict ? 'valid' : 'invalid']++;
        }
      }),
      runs(200),
    );
    if (process.env['FUZZ_STATS']) console.log(seen);
    // Not a vacuous run: each kind of case came up.
    expect(seen.valid).toBeGreaterThan(10);
    expect(seen.invalid).toBeGreaterThan(10);
    expect(seen.leftOver).toBeGreaterThan(10);
  });

  it('says valid for a ten-field DTO class-validator finds valid, and not when one field fails', () => {
    class Ten {
      @IsString() @Length(1, 20) a = 'name';
      @IsInt() @Min(0) b = 3;
      @IsEmail() c = 'a@b.io';
      @IsBoolean() d = true;
      @IsNumber() @Max(100) e = 2.5;
      @IsIn(['x', 'y']) f = 'x';
      @IsOptional() @IsString() g?: string;
      @IsPositive() h = 1;
      @IsNotEmpty() @MaxLength(8) i = 'ok';
      @IsDefined() j = 0;
    }
    fc.assert(
      fc.property(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'), fc.constantFrom(...VALUES), (key, value) => {
        const t = new Ten() as unknown as Record<string, unknown>;
        expect(validWithoutErrors(t, DEFAULT_VALIDATOR_OPTIONS)).toBe(true);
        t[key] = value;
        expect(validWithoutErrors(t, DEFAULT_VALIDATOR_OPTIONS)).toBe(validateSync(t, DEFAULT_VALIDATOR_OPTIONS).length === 0);
      }),
      runs(200),
    );
  });
});
