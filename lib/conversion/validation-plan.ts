import type { ValidationArguments, ValidatorOptions } from 'class-validator';
import { classValidator } from './class-plan';

// class-validator's own rules are right, but each validateSync() looks up and groups the
// class's metadata again, builds an error object per property and strips the empty ones:
// several microseconds for a ten-field DTO that is valid, as almost every call is. What
// its ValidationExecutor would do for a class is read once here, from the same metadata
// storage, into a list of the same constraint functions, called as it calls them. The plan
// only ever answers "valid": when a constraint fails, or anything the plan does not follow
// exactly is in play (groups, `always`, `validateIf`, nested, promise or async
// validation, whitelisting, options it does not know), class-validator itself is called,
// so every error and edge case is its own.

// class-validator's ValidationTypes, as its metadata spells them.
const CUSTOM = 'customValidation';
const IS_DEFINED = 'isDefined';
const CONDITIONAL = 'conditionalValidation';
const WHITELIST = 'whitelistValidation';

/** The parts of class-validator's ValidationMetadata the plan reads. */
interface Metadata {
  readonly type: string;
  readonly propertyName: string;
  readonly constraints: unknown[];
  readonly constraintCls?: unknown;
  readonly each?: boolean;
  readonly validateIf?: unknown;
}

/** class-validator's ConstraintMetadata: `instance` comes from its container at each use, as there. */
interface Constraint {
  readonly async: boolean;
  readonly instance: { validate(value: unknown, args: ValidationArguments): unknown };
}

/** One constraint decorator on a property: the constraint classes class-validator calls for it. */
interface Check {
  /** The decorator's `constraints`, the same array class-validator passes in its arguments. */
  readonly args: unknown[];
  readonly each: boolean;
  readonly constraints: readonly Constraint[];
}

/** What class-validator does with one property, in its order. */
interface PropertyPlan {
  readonly name: string;
  /** @IsOptional and @ValidateIf: the property is validated only when all of them say so. */
  readonly conditions: ReadonlyArray<(object: object, value: unknown) => unknown>;
  /** @IsDefined: run whatever the skip options say. */
  readonly defined: readonly Check[];
  readonly checks: readonly Check[];
}

/** The compiled validation of one class, or `null` where class-validator must be asked. */
type Plan = readonly PropertyPlan[] | null;

const plans = new WeakMap<object, Plan>();

function checkOf(metadata: Metadata, constraintsOf: (cls: unknown) => Constraint[]): Check | undefined {
  // `validateIf` decides whether the constraint is called; async ones are skipped by validateSync().
  if (metadata.validateIf) return undefined;
  const constraints = constraintsOf(metadata.constraintCls);
  if (constraints.some((c) => c.async)) return undefined;
  return { args: metadata.constraints, each: metadata.each === true, constraints };
}

/** Reads class-validator's metadata for a class as its ValidationExecutor does without groups. */
function compile(target: object): Plan {
  const storage = classValidator().getMetadataStorage();
  const metadatas = storage.getTargetValidationMetadatas(target as new () => object, undefined as unknown as string, false, false, undefined) as unknown as Metadata[];
  // No metadata is forbidUnknownValues' business (and plugwire does not validate such a class).
  if (metadatas.length === 0) return null;
  const constraintsOf = (cls: unknown): Constraint[] => storage.getTargetValidatorConstraints(cls as never);
  const grouped = storage.groupByPropertyName(metadatas as never) as Record<string, Metadata[]>;
  const out: PropertyPlan[] = [];
  for (const [name, group] of Object.entries(grouped)) {
    const conditions: Array<(object: object, value: unknown) => unknown> = [];
    const defined: Check[] = [];
    const checks: Check[] = [];
    for (const metadata of group) {
      if (metadata.type === WHITELIST) continue;
      if (metadata.type === CONDITIONAL) {
        const condition = metadata.constraints[0];
        if (typeof condition !== 'function') return null;
        conditions.push(condition as (object: object, value: unknown) => unknown);
        continue;
      }
      // Nested and promise validation, and types this class-validator does not know.
      if (metadata.type !== CUSTOM && metadata.type !== IS_DEFINED) return null;
      const check = checkOf(metadata, constraintsOf);
      if (!check) return null;
      (metadata.type === IS_DEFINED ? defined : checks).push(check);
    }
    out.push({ name, conditions, defined, checks });
  }
  return out;
}

/** The plan of an instance's class (class-validator looks up `object.constructor`), compiled at its first use. */
function planFor(instance: object): Plan {
  const target: unknown = instance.constructor;
  if (typeof target !== 'function') return null;
  let plan = plans.get(target);
  if (plan === undefined) {
    plan = compile(target);
    plans.set(target, plan);
  }
  return plan;
}

// Options that change nothing about a valid instance: they only shape errors, or skip
// constraints on missing values, which the plan follows.
const NEUTRAL = new Set(['forbidUnknownValues', 'validationError', 'stopAtFirstError', 'dismissDefaultMessages', 'enableDebugMessages', 'skipMissingProperties', 'skipNullProperties', 'skipUndefinedProperties']);
const supported = new WeakMap<ValidatorOptions, boolean>();
/** The frozen options last found supported. */
let lastSupported: ValidatorOptions | undefined;

/** Whether class-validator reads the same metadata for these options as for none, and validates as the plan does. */
function optionsSupported(options: ValidatorOptions): boolean {
  // Most calls use the same frozen options (plugwire's defaults): no WeakMap lookup for them.
  if (options === lastSupported) return true;
  let ok = supported.get(options);
  if (ok !== undefined) return ok;
  // class-validator reads inherited options too: only a plain object's own keys are all there is.
  const prototype: unknown = Object.getPrototypeOf(options);
  ok =
    (prototype === Object.prototype || prototype === null) &&
    Object.entries(options).every(([key, value]) => {
      if (value === undefined || NEUTRAL.has(key)) return true;
      // Without groups, `always` and `strictGroups` off, class-validator filters no metadata.
      if (key === 'groups') return Array.isArray(value) && value.length === 0;
      if (key === 'always' || key === 'strictGroups' || key === 'whitelist' || key === 'forbidNonWhitelisted') return value === false;
      return false;
    });
  // Options that can change are looked at each time (a few keys: well under a microsecond).
  if (Object.isFrozen(options)) {
    supported.set(options, ok);
    if (ok) lastSupported = options;
  }
  return ok;
}

/** Whether a constraint's answer is a pass; a promise from one not declared async is not: validateSync() would not wait for it. */
function accepted(result: unknown): boolean {
  return result === true || (Boolean(result) && !(typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function'));
}

/**
 * Runs class-validator's constraint functions of one decorator, as its customValidations()
 * does: whether all pass. `targetName` is read once per validation rather than at each
 * constraint (the same value unless a constraint renames the class while it runs).
 */
function passes(object: object, targetName: string, property: string, value: unknown, check: Check): boolean {
  const { constraints } = check;
  const each = check.each && (Array.isArray(value) || value instanceof Set || value instanceof Map);
  for (let i = 0; i < constraints.length; i++) {
    // class-validator makes the arguments afresh for each call, and a constraint may keep them.
    const args: ValidationArguments = { targetName, property, object, value, constraints: check.args };
    const { instance } = constraints[i] as Constraint;
    if (!each) {
      if (!accepted(instance.validate(value, args))) return false;
      continue;
    }
    // `each`: every item, with the same arguments; map() skips the holes of an array, as there.
    const items: unknown[] = value instanceof Map ? Array.from(value.values()) : Array.isArray(value) ? value : Array.from(value as Set<unknown>);
    if (!items.map((item) => instance.validate(item, args)).every(accepted)) return false;
  }
  return true;
}

function skipped(value: unknown, options: ValidatorOptions): boolean {
  if (value === undefined && options.skipUndefinedProperties === true) return true;
  if (value === null && options.skipNullProperties === true) return true;
  return (value === null || value === undefined) && options.skipMissingProperties === true;
}

/**
 * Whether class-validator's validateSync(instance, options) is sure to find nothing,
 * found by calling the constraint functions it would call. `false` says only that
 * class-validator must be asked: a constraint failed, threw, or something is in play that
 * the plan does not follow.
 * @internal
 */
export function validWithoutErrors(instance: object, options: ValidatorOptions): boolean {
  if (!optionsSupported(options)) return false;
  const plan = planFor(instance);
  if (plan === null) return false;
  const fields = instance as Record<string, unknown>;
  // planFor() found a class: class-validator's `object.constructor ? object.constructor.name : undefined` is its name.
  const targetName = (instance.constructor as { name: string }).name;
  try {
    for (let p = 0; p < plan.length; p++) {
      const property = plan[p] as PropertyPlan;
      const { name } = property;
      const value = fields[name];
      let validated = true;
      // Every condition is called, as class-validator calls them all.
      for (const condition of property.conditions) validated = Boolean(condition(instance, value)) && validated;
      if (!validated) continue;
      for (const check of property.defined) if (!passes(instance, targetName, name, value, check)) return false;
      if (skipped(value, options)) continue;
      for (const check of property.checks) if (!passes(instance, targetName, name, value, check)) return false;
    }
  } catch {
    // class-validator, asked in turn, throws what it throws.
    return false;
  }
  return true;
}
