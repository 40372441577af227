import type { ValidationError as ClassValidationError, ValidatorOptions } from 'class-validator';
import { PayloadValidationError, type FieldViolation } from '../errors/plugin-error';
import type { MethodDefinition, ParamDefinition, Type, ValueDefinition } from '../metadata/method-definition';
import { messageOf } from '../diagnostics/channels';
import { parseRfc3339 } from '../protocol/deadline';
import { checkFields, classValidator, declaredClass, hasValidation, isPlainObject, needsFieldCheck, planOf, typedClass, unwritableYear } from './class-plan';
import { plainToInstance, toJsonValue } from './transformer';
import { validWithoutErrors } from './validation-plan';

/** The class-validator options plugwire uses unless a method names its own. */
export const DEFAULT_VALIDATOR_OPTIONS: ValidatorOptions = Object.freeze({
  forbidUnknownValues: true,
  validationError: { target: false, value: true },
});

type Side = 'host' | 'plugin';

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  // A number that is not finite: `expected a finite number, got NaN`, not `got a number`.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** A class name with its indefinite article: `an Item`, `a Line`. */
function article(name: string): string {
  return `${/^[AEIOU]/i.test(name) ? 'an' : 'a'} ${name}`;
}

function shown(value: unknown): unknown {
  if (value === null || typeof value === 'boolean' || typeof value === 'number') return value;
  if (typeof value === 'string') return value.length <= 200 ? value : `${value.slice(0, 200)}…`;
  return undefined;
}

function violation(path: string, value: unknown, constraint: string, message: string): FieldViolation {
  const v = shown(value);
  return v === undefined ? { path: path || '(payload)', constraints: { [constraint]: message } } : { path: path || '(payload)', value: v, constraints: { [constraint]: message } };
}

/**
 * A violation for a value class-transformer could not convert: what a @Transform (or a
 * getter it read) threw, whatever was thrown; a string is as good a reason as an Error.
 */
function conversionFailed(path: string, error: unknown): FieldViolation {
  return { path: path || '(payload)', constraints: { conversion: `cannot be converted: ${messageOf(error)}` } };
}

/** Where a value was declared: the class and field that hold it (an array's items share their field). */
interface Owner {
  readonly type: Type;
  readonly key: string;
}

/**
 * class-validator's forbidUnknownValues verdict on a nested value (an error without a
 * property): a violation that says what to do, or `undefined` where there was nothing to
 * validate (an instance of a class without constraints, as @Type made it).
 */
function unknownValue(value: unknown, owner: Owner | undefined, path: string, error: ClassValidationError): FieldViolation | undefined {
  const declared = owner ? declaredClass(owner.type, owner.key) : undefined;
  const where = owner ? ` on ${owner.type.name}.${owner.key}` : '';
  if (isPlainObject(value)) {
    const typed = owner ? typedClass(owner.type, owner.key) : undefined;
    if (typed && owner) {
      // @Type is there, but it converts JSON: an instance the caller built keeps what it was given.
      return violation(
        path,
        value,
        'unknownValue',
        `expected ${article(typed.name)} instance, got a plain object: @Type(() => ${typed.name}) on ${owner.type.name}.${owner.key} converts JSON, ` +
          `not the fields of ${article(owner.type.name)} built by the caller: use ${typed.name} instances there, or pass a plain object for the whole argument to have it converted`,
      );
    }
    return violation(path, value, 'missingType', `nested object needs @Type(() => ${declared?.name ?? 'its class'}) from class-transformer${where}, or it is validated as a plain object`);
  }
  const type = typeof value === 'object' && value !== null ? (value as { constructor?: unknown }).constructor : undefined;
  if (typeof type === 'function' && !hasValidation(type)) {
    // What forbidUnknownValues is for: a class without constraints where the declared class has some.
    if (declared && hasValidation(declared) && !(value instanceof declared)) {
      return violation(path, value, 'unknownValue', `expected ${declared.name}${where}, got ${type.name}, which has no class-validator constraints`);
    }
    return undefined;
  }
  return { path: path || '(payload)', constraints: { ...error.constraints } };
}

/**
 * Flattens class-validator's error tree into one violation per failed field, following
 * the values in the instance to say where a nested value was declared. Fields in
 * `reported` were reported already, with what to add: nothing below them is repeated.
 * @internal
 */
export function flattenViolations(
  errors: readonly ClassValidationError[],
  prefix: string,
  holder: unknown,
  reported?: ReadonlySet<string>,
  owner?: Owner,
  out: FieldViolation[] = [],
): FieldViolation[] {
  for (const e of errors) {
    if (typeof e.property !== 'string') {
      const v = unknownValue(holder, owner, prefix, e);
      if (v) out.push(v);
      continue;
    }
    const path = prefix === '' ? e.property : /^\d+$/.test(e.property) ? `${prefix}[${e.property}]` : `${prefix}.${e.property}`;
    if (reported?.has(path)) continue;
    // The value itself, to look into: class-validator keeps it only when the options say so.
    const value: unknown =
      typeof holder === 'object' && holder !== null && !(holder instanceof Set) && !(holder instanceof Map) ? (holder as Record<string, unknown>)[e.property] : e.value;
    if (e.constraints) {
      const v = shown(e.value);
      out.push(v === undefined ? { path, constraints: { ...e.constraints } } : { path, value: v, constraints: { ...e.constraints } });
    }
    if (e.children && e.children.length > 0) {
      const holderType = typeof holder === 'object' && holder !== null ? (holder as { constructor?: unknown }).constructor : undefined;
      // The items of an array, a Map or a Set were declared with the field that holds them.
      const collection = Array.isArray(holder) || holder instanceof Map || holder instanceof Set;
      const next = collection || typeof holderType !== 'function' ? owner : { type: holderType as Type, key: e.property };
      flattenViolations(e.children, path, value, reported, next, out);
    }
  }
  return out;
}

function paramPath(definition: MethodDefinition, param: ParamDefinition): string {
  return definition.params.length === 1 ? '' : `[${param.index}]`;
}

interface Checked {
  readonly instance: object;
  readonly violations: readonly FieldViolation[];
  /** On the host, for a check that ends later: what to send, taken when the method was called. */
  readonly json?: unknown;
}

/**
 * A deep copy of what JSON.stringify writes of a value: the values of a call, which the
 * caller may change while an asynchronous check runs. The value itself when JSON cannot
 * write it: sending it then says why.
 */
function jsonCopy(value: unknown): unknown {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? value : (JSON.parse(text) as unknown);
  } catch {
    return value;
  }
}

const NONE: readonly FieldViolation[] = Object.freeze([]);
const NO_ERRORS: readonly ClassValidationError[] = Object.freeze([]);

/**
 * Converts a value into its class and validates it: not at all for a class without
 * constraints, synchronously when the class allows it (no promise, no extra turn of the
 * event loop), else with class-validator's validate().
 */
function toInstance(type: Type, value: unknown, options: ValidatorOptions, path: string, side?: Side): Checked | Promise<Checked> {
  let instance: object;
  try {
    instance = value instanceof type ? (value as object) : plainToInstance(type, value as object);
  } catch (error) {
    return { instance: value as object, violations: [conversionFailed(path, error)] };
  }
  // class-validator validates an instance as its own class: a subclass may add constraints, async ones too.
  const own: unknown = instance.constructor;
  const plan = planOf(own !== type && typeof own === 'function' && instance instanceof type ? (own as Type) : type);
  if (!plan.validated) return { instance, violations: NONE };
  let untyped: FieldViolation[] | undefined;
  if (needsFieldCheck(plan)) {
    checkFields(instance, plan, path, (untyped = []), undefined, value);
    if (untyped.length === 0) untyped = undefined;
  }
  const validator = classValidator();
  if (plan.synchronous) {
    // Valid, as almost every call is: class-validator's constraints, without its per-call machinery.
    const errors = validWithoutErrors(instance, options) ? NO_ERRORS : validator.validateSync(instance, options);
    return checked(instance, errors, path, untyped);
  }
  // class-validator reads the values now, and the caller runs on meanwhile: a host sends
  // what was checked, the values of the call, taken now too.
  let json: unknown;
  if (side === 'host') {
    try {
      json = jsonCopy(toJsonValue(instance));
    } catch (error) {
      return { instance, violations: [conversionFailed(path, error)] };
    }
  }
  return validator.validate(instance, options).then((errors) => ({ ...checked(instance, errors, path, untyped), json }));
}

/** An instance with class-validator's verdict, after the fields reported for a missing @Type. */
function checked(instance: object, errors: readonly ClassValidationError[], path: string, untyped: FieldViolation[] | undefined): Checked {
  if (!untyped) return { instance, violations: errors.length === 0 ? NONE : flattenViolations(errors, path, instance) };
  return { instance, violations: flattenViolations(errors, path, instance, new Set(untyped.map((v) => v.path)), undefined, untyped) };
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
  if (param.items !== undefined && Array.isArray(value)) return convertItems(definition, param.items, value, side, violations, path);
  return convertValue(definition, param, value, side, violations, path);
}

/** Converts and checks a value as its definition says: an argument, or an item of an array argument. */
function convertValue(definition: MethodDefinition, what: ValueDefinition, value: unknown, side: Side, violations: FieldViolation[], path: string): unknown {
  // validate: false: a host checks nothing, and only writes class values as class-transformer does.
  if (side === 'host' && !definition.validate && what.kind !== 'class') return value;
  switch (what.kind) {
    case 'string':
    case 'boolean':
      if (typeof value !== what.kind) {
        violations.push(violation(path, value, what.kind === 'string' ? 'isString' : 'isBoolean', `expected a ${what.kind}, got ${describe(value)}`));
      }
      return value;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) violations.push(violation(path, value, 'isNumber', `expected a finite number, got ${describe(value)}`));
      return value;
    case 'array':
      if (!Array.isArray(value)) violations.push(violation(path, value, 'isArray', `expected an array, got ${describe(value)}`));
      return value;
    case 'date':
      return dateValue(value, path, violations, side);
    case 'class':
      return convertClass(definition, what.type as Type, value, side, violations, path);
    default:
      return value;
  }
}

/**
 * The items of an array argument declared `[Class]`, each converted and checked as an
 * argument of that class is, at `path[i]`: a new array, or its promise when a check is
 * asynchronous. Their violations join the call's in the order of the items.
 */
function convertItems(definition: MethodDefinition, items: ValueDefinition, value: readonly unknown[], side: Side, violations: FieldViolation[], path: string): unknown[] | Promise<unknown[]> {
  const out = new Array<unknown>(value.length);
  // Asynchronous checks end in any order: each item's violations wait in a list of their own.
  const found = new Array<FieldViolation[]>(value.length);
  let pending: Array<Promise<void>> | undefined;
  for (let i = 0; i < value.length; i++) {
    const item = convertValue(definition, items, value[i], side, (found[i] = []), `${path}[${i}]`);
    if (item instanceof Promise) (pending ??= []).push(item.then((v) => void (out[i] = v)));
    else out[i] = item;
  }
  const done = (): unknown[] => {
    for (const own of found) if (own.length > 0) violations.push(...own);
    return out;
  };
  return pending ? Promise.all(pending).then(done) : done();
}

/**
 * A date from its JSON form: an RFC 3339 date-time, what the manifest declares
 * (`format: date-time`) and all that Go's encoding/json reads into a time.Time. Not a
 * number, not a date without a time, not a time without an offset (whose zone would be
 * the plugin's), not whatever else `new Date()` makes something of.
 */
function toDate(value: unknown, path: string, violations: FieldViolation[]): Date | undefined {
  const time = typeof value === 'string' ? parseRfc3339(value) : undefined;
  if (time === undefined) {
    violations.push(violation(path, value, 'isDate', `expected an RFC 3339 date-time such as 2006-01-02T15:04:05Z, got ${describe(value)}`));
    return undefined;
  }
  // Down to the millisecond, as a `Date` field gets it: new Date() cuts toward zero, which
  // before 1970 is a millisecond late (Go writes nanoseconds: ...40.0005Z is ...40.000Z).
  return new Date(Math.floor(time));
}

/**
 * A date: from its JSON form, or on the host a Date of the call, which JSON must be able
 * to write as an RFC 3339 date-time (valid, of the years 0 to 9999).
 */
function dateValue(value: unknown, path: string, violations: FieldViolation[], side?: Side): Date | undefined {
  if (!(value instanceof Date && side === 'host')) return toDate(value, path, violations);
  const problem = unwritableYear(value);
  if (problem !== undefined) violations.push(violation(path, undefined, 'isDate', problem));
  return value;
}

/** A class-typed argument: converted and validated by class-validator, which may be asynchronous. */
function convertClass(definition: MethodDefinition, type: Type, value: unknown, side: Side, violations: FieldViolation[], path: string): unknown {
  if (!definition.validate) {
    if (typeof value !== 'object' || value === null) return value;
    try {
      // The plugin gets an instance; the host sends what class-transformer writes of one
      // (@Exclude, @Expose apply), a plain object being the DTO's JSON, as when validated.
      if (side === 'plugin') return plainToInstance(type, value);
      return toJsonValue(value instanceof type || Array.isArray(value) ? value : plainToInstance(type, value));
    } catch (error) {
      violations.push(conversionFailed(path, error));
      return value;
    }
  }
  return classValue(type, value, definition.validator ?? DEFAULT_VALIDATOR_OPTIONS, path, violations, side);
}

/**
 * A value of a declared class, of an argument or of a result: a `Date` (see
 * {@link dateValue}), or an object converted into the class and validated, which may be
 * asynchronous. On the host, an argument becomes the JSON value to send.
 */
function classValue(type: Type, value: unknown, options: ValidatorOptions, path: string, violations: FieldViolation[], side?: Side): unknown {
  if (type === Date) return dateValue(value, path, violations, side);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    violations.push(violation(path, value, 'isObject', `expected an object for ${type.name}, got ${describe(value)}`));
    return value;
  }
  const checked = toInstance(type, value, options, path, side);
  // A function of the module, not a closure made at each call: most checks end synchronously.
  return checked instanceof Promise ? checked.then((result) => classChecked(result, side, path, violations)) : classChecked(checked, side, path, violations);
}

/** What a checked class value becomes: its instance, or on the host the JSON value to send; its violations join the call's. */
function classChecked({ instance, violations: found, json }: Checked, side: Side | undefined, path: string, violations: FieldViolation[]): unknown {
  if (found.length > 0) violations.push(...found);
  if (side !== 'host' || found.length > 0) return instance;
  if (json !== undefined) return json;
  try {
    return toJsonValue(instance);
  } catch (error) {
    violations.push(conversionFailed(path, error));
    return instance;
  }
}

/** How many violations a message lists: the error carries them all (a plugin's answer, the first {@link WIRE_VIOLATIONS}). */
const MESSAGE_VIOLATIONS = 20;

/**
 * How many violations a plugin's 422 answer carries: a payload of many invalid items
 * must not make an answer larger than a host takes (`maxResponseSize`). @internal
 */
export const WIRE_VIOLATIONS = 100;

function failure(definition: MethodDefinition, side: 'host' | 'plugin' | 'result', violations: FieldViolation[]): PayloadValidationError {
  const what = side === 'result' ? 'result' : 'payload';
  const listed = violations.length > MESSAGE_VIOLATIONS ? violations.slice(0, MESSAGE_VIOLATIONS) : violations;
  const more = violations.length - listed.length;
  const list = listed.map((v) => `${v.path}: ${Object.values(v.constraints).join(', ')}`).join('; ') + (more > 0 ? `; and ${more} more` : '');
  return new PayloadValidationError(`invalid ${what} for ${definition.route}: ${list}`, side, violations, { route: definition.route });
}

/** The parameter a violation of a method with several parameters is about: its path starts with `[index]`. */
function parameterOf(violation: FieldViolation): number {
  return Number(/^\[(\d+)\]/.exec(violation.path)?.[1] ?? 0);
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
  if (pending && side === 'host') {
    // The other arguments are sent after the check too: with their values of the call.
    for (let i = 0; i < out.length; i++) if (typeof out[i] === 'object' && out[i] !== null) out[i] = jsonCopy(out[i]);
  }
  const finish = (): unknown[] => {
    if (violations.length === 0) return out;
    // Asynchronous checks end in any order: report by parameter, as the synchronous ones are.
    if (pending && definition.params.length > 1) violations.sort((a, b) => parameterOf(a) - parameterOf(b));
    throw failure(definition, side, violations);
  };
  return pending ? Promise.all(pending).then(finish) : finish();
}

/** Whether any parameter of a method needs conversion. @internal */
export function needsConversion(definition: MethodDefinition): boolean {
  return definition.params.some((p) => p.kind !== 'any');
}

/**
 * Converts an answer into the method's `returns` class (or `Date`) and validates it (host side).
 * @throws {@link PayloadValidationError} with side `result`
 * @internal
 */
export async function convertResult(definition: MethodDefinition, value: unknown): Promise<unknown> {
  const type = definition.returns;
  if (!type || value === null || value === undefined) return value;
  const options = definition.validator ?? DEFAULT_VALIDATOR_OPTIONS;
  const violations: FieldViolation[] = [];
  let out: unknown;
  if (definition.returnsArray) {
    if (!Array.isArray(value)) throw failure(definition, 'result', [violation('', value, 'isArray', `expected an array, got ${describe(value)}`)]);
    const items = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) items[i] = await classValue(type, value[i], options, `[${i}]`, violations);
    out = items;
  } else {
    out = await classValue(type, value, options, '', violations);
  }
  if (violations.length > 0) throw failure(definition, 'result', violations);
  return out;
}

/** Turns a method's result into what is sent (plugin side). @internal */
export function resultToPlain(definition: MethodDefinition, value: unknown): unknown {
  // JSON.stringify writes a Date (or an array of them) as its ISO string by itself.
  if (definition.returns && definition.returns !== Date && value !== null && typeof value === 'object') return toJsonValue(value);
  return value;
}
