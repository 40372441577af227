import type { ValidationError as ClassValidationError, ValidatorOptions } from 'class-validator';
import { PayloadValidationError, type FieldViolation } from '../errors/plugin-error';
import type { MethodDefinition, ParamDefinition, Type } from '../metadata/method-definition';
import { plainToInstance, toJsonValue } from './transformer';

/** The class-validator options plugwire uses unless a method names its own. */
export const DEFAULT_VALIDATOR_OPTIONS: ValidatorOptions = Object.freeze({
  forbidUnknownValues: true,
  validationError: { target: false, value: true },
});

type Side = 'host' | 'plugin';

let validatorModule: typeof import('class-validator') | undefined;

/**
 * class-validator, loaded at the first validation: it takes about 50 ms to load, which a
 * plugin without DTOs (and a host calling one) should not pay at every start. A contract
 * with DTOs has loaded it already through its decorators.
 */
function classValidator(): typeof import('class-validator') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  validatorModule ??= require('class-validator') as typeof import('class-validator');
  return validatorModule;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function shown(value: unknown): unknown {
  if (value === null || typeof value === 'boolean' || typeof value === 'number') return value;
  if (typeof value === 'string') return value.length <= 200 ? value : `${value.slice(0, 200)}…`;
  return undefined;
}

/** Flattens class-validator's error tree into one violation per failed field. @internal */
export function flattenViolations(errors: readonly ClassValidationError[], prefix: string): FieldViolation[] {
  const out: FieldViolation[] = [];
  for (const e of errors) {
    const path = prefix === '' ? e.property : /^\d+$/.test(e.property) ? `${prefix}[${e.property}]` : `${prefix}.${e.property}`;
    if (e.constraints) {
      const value = shown(e.value);
      out.push(value === undefined ? { path, constraints: { ...e.constraints } } : { path, value, constraints: { ...e.constraints } });
    }
    if (e.children && e.children.length > 0) out.push(...flattenViolations(e.children, path));
  }
  return out;
}

function paramPath(definition: MethodDefinition, param: ParamDefinition): string {
  return definition.params.length === 1 ? '' : `[${param.index}]`;
}

function violation(path: string, value: unknown, constraint: string, message: string): FieldViolation {
  const v = shown(value);
  return v === undefined ? { path: path || '(payload)', constraints: { [constraint]: message } } : { path: path || '(payload)', value: v, constraints: { [constraint]: message } };
}

const synchronous = new WeakMap<Type, boolean>();

/**
 * Whether class-validator's validateSync() gives the same answer as validate() for a
 * class: none of its constraints is declared asynchronous, and it has no nested objects
 * (whose classes are only known from the values). Worked out once per class.
 */
function validatesSynchronously(type: Type): boolean {
  let known = synchronous.get(type);
  if (known === undefined) {
    const storage = classValidator().getMetadataStorage();
    known = storage
      .getTargetValidationMetadatas(type, '', true, false)
      .every((m) => m.type !== 'nestedValidation' && (!m.constraintCls || storage.getTargetValidatorConstraints(m.constraintCls).every((c) => !c.async)));
    synchronous.set(type, known);
  }
  return known;
}

interface Checked {
  readonly instance: object;
  readonly violations: FieldViolation[];
}

/**
 * Converts a value into its class and validates it: synchronously when the class allows
 * it (no promise, no extra turn of the event loop), else with class-validator's validate().
 */
function toInstance(type: Type, value: unknown, options: ValidatorOptions, path: string): Checked | Promise<Checked> {
  const instance: object = value instanceof type ? (value as object) : plainToInstance(type, value as object);
  const validator = classValidator();
  if (validatesSynchronously(type)) return { instance, violations: flattenViolations(validator.validateSync(instance, options), path) };
  return validator.validate(instance, options).then((errors) => ({ instance, violations: flattenViolations(errors, path) }));
}

/**
 * Converts and checks one argument. Absent values (`undefined`, `null`) pass: optional
 * parameters cannot be told from required ones at run time.
 */
function convertParam(
  definition: MethodDefinition,
  param: ParamDefinition,
  value: unknown,
  side: Side,
  violations: FieldViolation[],
): unknown {
  if (value === undefined || value === null) return value;
  const path = paramPath(definition, param);
  switch (param.kind) {
    case 'string':
    case 'boolean':
      if (typeof value !== param.kind) {
        violations.push(violation(path, value, param.kind === 'string' ? 'isString' : 'isBoolean', `expected a ${param.kind}, got ${describe(value)}`));
      }
      return value;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) violations.push(violation(path, value, 'isNumber', `expected a finite number, got ${describe(value)}`));
      return value;
    case 'array':
      if (!Array.isArray(value)) violations.push(violation(path, value, 'isArray', `expected an array, got ${describe(value)}`));
      return value;
    case 'date': {
      if (value instanceof Date && side === 'host') return value;
      const date = typeof value === 'string' || typeof value === 'number' ? new Date(value) : undefined;
      if (!date || Number.isNaN(date.getTime())) violations.push(violation(path, value, 'isDate', `expected a date, got ${describe(value)}`));
      return date;
    }
    case 'class':
      return convertClass(definition, param, value, side, violations, path);
    default:
      return value;
  }
}

/** A class-typed argument: converted and validated by class-validator, which may be asynchronous. */
function convertClass(definition: MethodDefinition, param: ParamDefinition, value: unknown, side: Side, violations: FieldViolation[], path: string): unknown {
  if (!definition.validate) return side === 'plugin' && param.type && typeof value === 'object' && value !== null ? plainToInstance(param.type, value) : value;
  if (typeof value !== 'object' || Array.isArray(value)) {
    violations.push(violation(path, value, 'isObject', `expected an object for ${param.type?.name ?? 'the parameter'}, got ${describe(value)}`));
    return value;
  }
  const done = ({ instance, violations: found }: Checked): unknown => {
    violations.push(...found);
    return side === 'host' ? toJsonValue(instance) : instance;
  };
  const checked = toInstance(param.type as Type, value, definition.validator ?? DEFAULT_VALIDATOR_OPTIONS, path);
  return checked instanceof Promise ? checked.then(done) : done(checked);
}

function failure(definition: MethodDefinition, side: 'host' | 'plugin' | 'result', violations: FieldViolation[]): PayloadValidationError {
  const what = side === 'result' ? 'result' : 'payload';
  const list = violations.map((v) => `${v.path}: ${Object.values(v.constraints).join(', ')}`).join('; ');
  return new PayloadValidationError(`invalid ${what} for ${definition.route}: ${list}`, side, violations, { route: definition.route });
}

/**
 * Checks the arguments of a call and converts them to what travels: on the host into
 * plain JSON values, in the plugin into DTO instances.
 *
 * @throws {@link PayloadValidationError} listing every failed field
 * @internal
 */
export function convertArgs(definition: MethodDefinition, args: readonly unknown[], side: Side): unknown[] | Promise<unknown[]> {
  const violations: FieldViolation[] = [];
  const out = new Array<unknown>(definition.params.length);
  let pending: Array<Promise<void>> | undefined;
  for (const param of definition.params) {
    const value = convertParam(definition, param, args[param.index], side, violations);
    // Only DTOs make the check asynchronous: primitives are answered without a promise.
    if (value instanceof Promise) (pending ??= []).push(value.then((v) => void (out[param.index] = v)));
    else out[param.index] = value;
  }
  const finish = (): unknown[] => {
    if (violations.length > 0) throw failure(definition, side, violations);
    return out;
  };
  return pending ? Promise.all(pending).then(finish) : finish();
}

/** Whether any parameter of a method needs conversion. @internal */
export function needsConversion(definition: MethodDefinition): boolean {
  return definition.params.some((p) => p.kind !== 'any');
}

/**
 * Converts an answer into the method's `returns` class and validates it (host side).
 * @throws {@link PayloadValidationError} with side `result`
 * @internal
 */
export async function convertResult(definition: MethodDefinition, value: unknown): Promise<unknown> {
  const type = definition.returns;
  if (!type || value === null || value === undefined) return value;
  const options = definition.validator ?? DEFAULT_VALIDATOR_OPTIONS;
  const violations: FieldViolation[] = [];
  if (definition.returnsArray) {
    if (!Array.isArray(value)) throw failure(definition, 'result', [violation('', value, 'isArray', `expected an array, got ${describe(value)}`)]);
    const out: object[] = [];
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item !== 'object' || item === null) {
        violations.push(violation(`[${i}]`, item, 'isObject', `expected an object, got ${describe(item)}`));
        continue;
      }
      const r = await toInstance(type, item, options, `[${i}]`);
      violations.push(...r.violations);
      out.push(r.instance);
    }
    if (violations.length > 0) throw failure(definition, 'result', violations);
    return out;
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw failure(definition, 'result', [violation('', value, 'isObject', `expected an object for ${type.name}, got ${describe(value)}`)]);
  }
  const r = await toInstance(type, value, options, '');
  if (r.violations.length > 0) throw failure(definition, 'result', r.violations);
  return r.instance;
}

/** Turns a method's result into what is sent (plugin side). @internal */
export function resultToPlain(definition: MethodDefinition, value: unknown): unknown {
  if (definition.returns && value !== null && typeof value === 'object') return toJsonValue(value);
  return value;
}
