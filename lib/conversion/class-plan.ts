import type { FieldViolation } from '../errors/plugin-error';
import type { Type } from '../metadata/method-definition';
import { readPropertyType } from '../metadata/reflection-helpers';
import { parseRfc3339 } from '../protocol/deadline';
import { requirePeer } from './peer-require';
import { messageOf } from '../diagnostics/channels';
import { classTransformerStorage, hasFieldConversion, isMapMember, plainToInstance } from './transformer';

// What validating a class takes is worked out once per class, from class-validator's and
// class-transformer's metadata: whether there is anything to validate at all (a Go-style
// `class SumRequest { A!: number; B!: number }` has nothing, and class-validator's
// forbidUnknownValues would reject it), whether validateSync() will do, and which fields
// class-transformer was not told to convert (a nested DTO or a Date without @Type), so a
// call says what to add instead of `address.undefined: an unknown value ...`.

let validatorModule: typeof import('class-validator') | undefined;

/**
 * class-validator, loaded at the first validation: it takes about 50 ms to load, which a
 * plugin without DTOs (and a host calling one) should not pay at every start. A contract
 * with DTOs has loaded it already through its decorators. @internal
 */
export function classValidator(): typeof import('class-validator') {
  validatorModule ??= requirePeer('class-validator') as typeof import('class-validator');
  return validatorModule;
}

/** A field whose declared type class-transformer does not know, so its JSON value is not converted. */
interface UntypedField {
  readonly key: string;
  /** `date`: a Date field; `nested`: a field with @ValidateNested; `unvalidated`: a field of a DTO class with neither. */
  readonly kind: 'date' | 'nested' | 'unvalidated';
  /** The declared class, when TypeScript emitted one (not for arrays). */
  readonly expected: Type | undefined;
}

/** What validating instances of one class takes. @internal */
export interface ClassPlan {
  /** Whether class-validator has any constraint for the class or an ancestor. */
  readonly validated: boolean;
  /** Whether validateSync() answers as validate() would: no async constraint, no nested objects. */
  readonly synchronous: boolean;
  /** Fields that stay plain objects or strings for want of @Type (see {@link checkFields}). */
  readonly untyped: readonly UntypedField[];
  /** Fields with @ValidateNested and @Type, whose values {@link checkFields} looks into. */
  readonly nested: readonly string[];
  /**
   * Those of them declared as one instance of a class (`address!: Address`, not `Address[]`
   * nor `{ each: true }`), where {@link checkFields} refuses an array: class-validator's
   * @ValidateNested() validates each item of one, and the method would get an Array.
   */
  readonly single: ReadonlyMap<string, Type>;
  /** Date fields with @Type(() => Date), whose JSON values {@link checkFields} checks are RFC 3339 date-times. */
  readonly dates: readonly string[];
  /** Map fields with @Type, whose entries {@link checkFields} completes (see {@link completeMap}). */
  readonly maps: readonly MapField[];
}

/** A `Map` field with `@Type(() => Item)`: the class of its values, when it is one the user wrote. */
interface MapField {
  readonly key: string;
  readonly item: Type | undefined;
}

const NONE: ReadonlyMap<string, Type> = new Map();
const UNVALIDATED: ClassPlan = Object.freeze({ validated: false, synchronous: true, untyped: [], nested: [], single: NONE, dates: [], maps: [] });
const NATIVE = /\{\s*\[native code\]\s*\}\s*$/;

/** A class the user wrote: a function that is not a built-in (Object, Array, Map...). */
function userClass(value: unknown): value is Type {
  return typeof value === 'function' && !NATIVE.test(Function.prototype.toString.call(value));
}

const plans = new WeakMap<Type, ClassPlan>();

/**
 * The {@link ClassPlan} of a class, worked out at its first use: decorators run when a
 * class is defined, before any of its values is converted. @internal
 */
export function planOf(type: Type): ClassPlan {
  let plan = plans.get(type);
  if (plan === undefined) {
    plan = makePlan(type);
    plans.set(type, plan);
  }
  return plan;
}

function makePlan(type: Type): ClassPlan {
  const storage = classValidator().getMetadataStorage();
  const metadatas = storage.getTargetValidationMetadatas(type, '', true, false);
  if (metadatas.length === 0) return UNVALIDATED;
  const synchronous = metadatas.every(
    (m) => m.type !== 'nestedValidation' && (!m.constraintCls || storage.getTargetValidatorConstraints(m.constraintCls).every((c) => !c.async)),
  );
  const validatesNested = new Map<string, boolean>();
  // Fields whose @ValidateNested says { each: true }: a collection, whatever TypeScript declared.
  const each = new Set<string>();
  for (const m of metadatas) {
    if (typeof m.propertyName === 'string') validatesNested.set(m.propertyName, validatesNested.get(m.propertyName) === true || m.type === 'nestedValidation');
    if (typeof m.propertyName === 'string' && m.type === 'nestedValidation' && m.each === true) each.add(m.propertyName);
  }
  const untyped: UntypedField[] = [];
  const nested: string[] = [];
  let single: Map<string, Type> | undefined;
  const dates: string[] = [];
  const maps: MapField[] = [];
  for (const [key, validated] of validatesNested) {
    // TypeScript emits a design type for each decorated property, and each of these is decorated.
    const declared = readPropertyType(type.prototype as object, key);
    const converted = hasFieldConversion(type, key);
    if (declared === Map && converted) {
      const item = typeTarget(type, key);
      maps.push({ key, item: userClass(item) ? item : undefined });
    }
    // A Date field, or an array of dates (`@Type(() => Date) dates: Date[]`).
    if (declared === Date || (declared === Array && converted && typeTarget(type, key) === Date)) {
      if (!converted) untyped.push({ key, kind: 'date', expected: Date });
      else dates.push(key);
    } else if (validated) {
      if (converted) {
        nested.push(key);
        if (userClass(declared) && !each.has(key)) (single ??= new Map()).set(key, declared);
      } else untyped.push({ key, kind: 'nested', expected: userClass(declared) ? declared : undefined });
    } else if (!converted && userClass(declared) && storage.getTargetValidationMetadatas(declared, '', true, false).length > 0) {
      untyped.push({ key, kind: 'unvalidated', expected: declared });
    }
  }
  return { validated: true, synchronous, untyped, nested, single: single ?? NONE, dates, maps };
}

/** Whether a value is an object as JSON.parse makes them, not an instance of a class. @internal */
export function isPlainObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function join(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}.${key}`;
}

function untypedMessage(type: Type, field: UntypedField): string {
  const where = `${type.name}.${field.key}`;
  if (field.kind === 'date') return `a date arrives as a string: add @Type(() => Date) from class-transformer to ${where}`;
  const expected = field.expected ? field.expected.name : 'the class of its items';
  if (field.kind === 'unvalidated') return `nested object is neither converted nor validated: add @ValidateNested() and @Type(() => ${expected}) to ${where}`;
  return `nested object needs @Type(() => ${expected}) from class-transformer on ${where}, or it is validated as a plain object`;
}

/** Whether a field's value is what is left when class-transformer did not convert it. */
function unconverted(field: UntypedField, value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (field.kind === 'date') return !(value instanceof Date);
  return Array.isArray(value) ? value.some(isPlainObject) : isPlainObject(value);
}

/** Whether checkFields() has anything to look at in instances of a class. @internal */
export function needsFieldCheck(plan: ClassPlan): boolean {
  return plan.untyped.length > 0 || plan.nested.length > 0 || plan.dates.length > 0 || plan.maps.length > 0;
}

function fieldOf(raw: unknown, key: string): unknown {
  return typeof raw === 'object' && raw !== null && Object.prototype.hasOwnProperty.call(raw, key) ? (raw as Record<string, unknown>)[key] : undefined;
}

/**
 * Reports the fields of an instance (and of the nested instances it validates) that
 * class-transformer left unconverted for want of @Type, and Date fields whose JSON value
 * (in `raw`, what the instance was made from) is not an RFC 3339 date-time, which
 * class-transformer's `new Date()` takes anyway: one violation per field, at the field's
 * path. Costs nothing for a class without such fields.
 * @internal
 */
export function checkFields(instance: object, plan: ClassPlan, prefix: string, out: FieldViolation[], seen?: Set<object>, raw?: unknown): void {
  const fields = instance as Record<string, unknown>;
  for (const key of plan.dates) {
    const given = fieldOf(raw, key);
    const value = fields[key];
    if (Array.isArray(given) && Array.isArray(value)) {
      for (let i = 0; i < given.length; i++) checkDate(given[i], value[i], `${join(prefix, key)}[${i}]`, out);
    } else {
      checkDate(given, value, join(prefix, key), out);
    }
  }
  for (const field of plan.maps) completeMap(fields, field, fieldOf(raw, field.key), join(prefix, field.key), out);
  for (const field of plan.untyped) {
    const value = fields[field.key];
    if (unconverted(field, value)) {
      out.push({ path: join(prefix, field.key), constraints: { missingType: untypedMessage(instance.constructor as Type, field) } });
    }
  }
  if (plan.nested.length === 0) return;
  const visited = seen ?? new Set<object>([instance]);
  for (const key of plan.nested) {
    const value = fields[key];
    if (Array.isArray(value)) {
      // What class-transformer made of a JSON array, or what the caller put in its instance.
      const declared = plan.single.get(key);
      if (declared) {
        out.push({ path: join(prefix, key), constraints: { isObject: `expected an object for ${declared.name}, got an array` } });
        continue;
      }
    }
    const given = fieldOf(raw, key);
    const items: unknown[] = Array.isArray(value) ? value : [value];
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (typeof item !== 'object' || item === null || visited.has(item) || !userClass(item.constructor)) continue;
      visited.add(item);
      const path = Array.isArray(value) ? `${join(prefix, key)}[${i}]` : join(prefix, key);
      const nestedPlan = planOf(item.constructor);
      if (needsFieldCheck(nestedPlan)) checkFields(item, nestedPlan, path, out, visited, Array.isArray(value) ? (Array.isArray(given) ? (given as unknown[])[i] : undefined) : given);
    }
  }
}

/**
 * Completes a Map field as class-transformer made it from its JSON object (or a caller's
 * Map): the entries it left out, whose keys name a member of Map.prototype (`size`,
 * `get`...), are converted into the field's class and added, to be validated with the
 * others. A JSON value that is not an object of entries (an array, a string) is refused:
 * class-transformer would hand the method an Array where it declares a Map.
 */
function completeMap(fields: Record<string, unknown>, field: MapField, given: unknown, path: string, out: FieldViolation[]): void {
  if (given === undefined || given === null) return;
  const map = fields[field.key];
  if (typeof given !== 'object' || Array.isArray(given)) {
    out.push({ path, constraints: { isMap: `expected an object of entries for a Map, got ${Array.isArray(given) ? 'an array' : `a ${typeof given}`}` } });
    return;
  }
  if (!(map instanceof Map)) {
    // An instance the caller built, with something else than a Map there.
    out.push({ path, constraints: { isMap: `expected a Map, got ${isPlainObject(map) ? 'a plain object' : `a ${typeof map}`}` } });
    return;
  }
  const entries: Iterable<[unknown, unknown]> = given instanceof Map ? (given as Map<unknown, unknown>) : Object.entries(given);
  for (const [key, value] of entries) {
    if (typeof key !== 'string' || !isMapMember(key) || map.has(key) || value === undefined) continue;
    try {
      const converted = field.item && typeof value === 'object' && value !== null && !Array.isArray(value) ? plainToInstance(field.item, value) : value;
      (map as Map<unknown, unknown>).set(key, converted);
    } catch (error) {
      out.push({ path: `${path}.${key}`, constraints: { conversion: `cannot be converted: ${messageOf(error)}` } });
    }
  }
}

/**
 * Reports a date whose JSON value is not an RFC 3339 date-time, which class-transformer's
 * `new Date()` took anyway (`"1"`, `"Dec 25"`, a number).
 */
function checkDate(given: unknown, value: unknown, path: string, out: FieldViolation[]): void {
  if (given instanceof Date) {
    // A host's own Date: what JSON writes for it must be a date-time the plugin reads.
    const problem = unwritableYear(given);
    if (problem !== undefined) out.push({ path, constraints: { isDate: problem } });
    return;
  }
  if (given === undefined || given === null || !(value instanceof Date)) return;
  if (typeof given === 'string' && parseRfc3339(given) !== undefined) return;
  const shown = typeof given === 'string' && given.length <= 200 ? { value: given } : typeof given === 'number' || typeof given === 'boolean' ? { value: given } : {};
  out.push({ path, ...shown, constraints: { isDate: 'expected an RFC 3339 date-time such as 2006-01-02T15:04:05Z' } });
}

/**
 * Why JSON cannot write a Date as an RFC 3339 date-time, or `undefined` when it can: the
 * years past 9999 and before 0 come out as `+010000-01-01...`, which no plugin reads.
 * @internal
 */
export function unwritableYear(date: Date): string | undefined {
  const year = date.getUTCFullYear();
  if (Number.isNaN(year) || year < 0 || year > 9999) return `expected a date of the years 0 to 9999, got ${Number.isNaN(year) ? 'an invalid Date' : `the year ${year}`}`;
  return undefined;
}

/** The class a field's `@Type(() => X)` names (without a discriminator), if class-transformer knows one. */
function typeTarget(type: Type, key: string): unknown {
  try {
    const found = classTransformerStorage().findTypeMetadata(type, key) as { typeFunction?: () => unknown } | undefined;
    return found?.typeFunction?.();
  } catch {
    return undefined;
  }
}

/** The class a field's `@Type(() => X)` names, when it is one the user wrote. @internal */
export function typedClass(type: Type, key: string): Type | undefined {
  const target = typeTarget(type, key);
  return userClass(target) ? target : undefined;
}

/** Whether a class or an instance's class has anything for class-validator to check. @internal */
export function hasValidation(type: unknown): boolean {
  return userClass(type) && planOf(type).validated;
}

/** The class TypeScript declared for a field of a class, when it is one the user wrote. @internal */
export function declaredClass(type: Type, key: string): Type | undefined {
  const declared = readPropertyType(type.prototype as object, key);
  return userClass(declared) ? declared : undefined;
}
