// Where a validated DTO call's conversion time goes, in this process, without sockets:
// one side's conversion of the benchmark's ten-field order (bench/contracts/bench-dto.contract.ts)
// next to its parts — class-validator's validateSync(), plugwire's validation plan, and
// class-validator's constraint functions called directly, with no plugwire code around
// them (the least either could cost), IsEmail's alone. It says what the DTO rows of
// `npm run bench` can and cannot gain: the plan removes class-validator's per-call
// machinery, not its rules, and the rules run on both sides.
//
//   node dist/bench/dto-cost.js [--calls N]
import { parseArgs } from 'node:util';
import { getMetadataStorage, type ValidationArguments } from 'class-validator';
import { convertArgs, DEFAULT_VALIDATOR_OPTIONS } from '../lib/conversion/converter';
import { classValidator } from '../lib/conversion/class-plan';
import { validWithoutErrors } from '../lib/conversion/validation-plan';
import { readMethods } from '../lib/metadata/reflection-helpers';
import { BenchDto, BenchOrder } from './contracts/bench-dto.contract';
import { orderFields } from './workloads';

/** A constraint function class-validator calls, as its metadata storage holds it. */
interface Rule {
  readonly label: string;
  readonly property: keyof BenchOrder;
  readonly each: boolean;
  readonly constraints: unknown[];
  validate(value: unknown, args: ValidationArguments): unknown;
}

/** The constraint functions class-validator calls for a valid order, in its order. */
function rulesOf(): Rule[] {
  const storage = getMetadataStorage();
  const metadatas = storage.getTargetValidationMetadatas(BenchOrder, '', false, false, undefined);
  return metadatas
    .filter((m) => m.type === 'customValidation')
    .map((m) => {
      const constraint = storage.getTargetValidatorConstraints(m.constraintCls)[0] as { name?: string; instance: Pick<Rule, 'validate'> };
      return {
        label: `${m.propertyName}: ${constraint.name ?? 'constraint'}`,
        property: m.propertyName as keyof BenchOrder,
        each: m.each === true,
        constraints: m.constraints,
        validate: (value, args) => constraint.instance.validate(value, args),
      };
    });
}

/** µs per call of `fn`: the best of five rounds of `calls` calls, after a round to warm it up. */
function perCall(fn: () => unknown, calls: number): number {
  let best = Infinity;
  for (let round = 0; round <= 5; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) fn();
    if (round > 0) best = Math.min(best, Number(process.hrtime.bigint() - start) / calls / 1000);
  }
  return best;
}

function main(): void {
  const { values } = parseArgs({ options: { calls: { type: 'string', default: '50000' } } });
  const calls = Number(values.calls);
  if (!Number.isInteger(calls) || calls < 1000) throw new Error(`--calls takes a whole number of at least 1000, got ${values.calls}`);
  const definition = readMethods(BenchDto)?.get('/order');
  if (!definition) throw new Error('BenchDto has no /order method');
  const order = Object.assign(new BenchOrder(), orderFields());
  const wire: unknown = JSON.parse(JSON.stringify(order));
  const validator = classValidator();
  const rules = rulesOf();
  const args: ValidationArguments = { targetName: 'BenchOrder', property: '', object: order, value: undefined, constraints: [] };
  const call = (rule: Rule): unknown => {
    const value = order[rule.property];
    args.constraints = rule.constraints;
    return rule.each && Array.isArray(value) ? value.every((item) => rule.validate(item, args)) : rule.validate(value, args);
  };
  const email = rules.filter((r) => r.property === 'email');
  const rows: Array<[string, number]> = [
    ['host: convertArgs (check, then JSON values)', perCall(() => convertArgs(definition, [order], 'host'), calls)],
    ['plugin: convertArgs (instance, then check)', perCall(() => convertArgs(definition, [wire], 'plugin'), calls)],
    ["class-validator's validateSync()", perCall(() => validator.validateSync(order, DEFAULT_VALIDATOR_OPTIONS), calls / 10)],
    ["plugwire's validation plan", perCall(() => validWithoutErrors(order, DEFAULT_VALIDATOR_OPTIONS), calls)],
    [`the ${rules.length} constraint functions, called directly`, perCall(() => rules.forEach(call), calls)],
    ['  of which IsEmail', perCall(() => email.forEach(call), calls)],
  ];
  console.log(`One side's work on the ten-field order, µs per call (Node ${process.versions.node}; best of 5 rounds of ${calls} calls):`);
  for (const [label, us] of rows) console.log(`${label.padEnd(48)} ${us.toFixed(2).padStart(7)}`);
}

main();
