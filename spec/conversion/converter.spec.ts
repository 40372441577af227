// The argument check picks class-validator's validateSync() for classes whose constraints
// are all synchronous (no promise, no extra turn), and validate() for the others: both
// report the same violations.
import { IsInt, IsString, Min, Validate, ValidateNested, ValidatorConstraint, type ValidatorConstraintInterface } from 'class-validator';
import { Type as NestedType } from 'class-transformer';
import { Method, PayloadValidationError, Plugin, stub } from '../../lib';
import { convertArgs } from '../../lib/conversion/converter';
import { readMethods } from '../../lib/metadata/reflection-helpers';
import type { MethodDefinition } from '../../lib/metadata/method-definition';

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

function definition(route: string): MethodDefinition {
  const found = readMethods(Contract)?.get(route);
  if (!found) throw new Error(`no route ${route}`);
  return found;
}

async function violationsOf(result: unknown): Promise<unknown> {
  try {
    await result;
  } catch (error) {
    expect(error).toBeInstanceOf(PayloadValidationError);
    return (error as PayloadValidationError).violations.map((v) => [v.path, Object.keys(v.constraints)]);
  }
  throw new Error('expected a validation failure');
}

describe('convertArgs', () => {
  it('checks a class with synchronous constraints only without a promise, on both sides', () => {
    const plugin = convertArgs(definition('/plain'), [{ name: 'a', count: 2 }], 'plugin');
    expect(plugin).not.toBeInstanceOf(Promise);
    expect((plugin as unknown[])[0]).toBeInstanceOf(Plain);
    const host = convertArgs(definition('/plain'), [{ name: 'a', count: 2 }], 'host');
    expect(host).toEqual([{ name: 'a', count: 2 }]);
  });

  it('reports every failed field of a synchronous class at once', () => {
    expect(() => convertArgs(definition('/plain'), [{ name: 5, count: 0 }], 'plugin')).toThrow(PayloadValidationError);
    try {
      void convertArgs(definition('/plain'), [{ name: 5, count: 0 }], 'plugin');
    } catch (error) {
      expect((error as PayloadValidationError).violations.map((v) => v.path).sort()).toEqual(['count', 'name']);
    }
  });

  it('waits for a constraint declared async, and reports its verdict', async () => {
    const ok = convertArgs(definition('/checked'), [{ name: 'known' }], 'plugin');
    expect(ok).toBeInstanceOf(Promise);
    await expect(ok).resolves.toEqual([expect.any(Checked)]);
    await expect(violationsOf(convertArgs(definition('/checked'), [{ name: 'stranger' }], 'plugin'))).resolves.toEqual([['name', ['slowlyKnown']]]);
  });

  it('validates nested objects (whose classes come from the values) with validate(), reporting nested paths', async () => {
    const bad = convertArgs(definition('/outer'), [{ inner: { name: 'x', count: 0 } }], 'plugin');
    expect(bad).toBeInstanceOf(Promise);
    await expect(violationsOf(bad)).resolves.toEqual([['inner.count', ['min']]]);
    await expect(convertArgs(definition('/outer'), [{ inner: { name: 'x', count: 1 } }], 'host')).resolves.toEqual([{ inner: { name: 'x', count: 1 } }]);
  });
});
