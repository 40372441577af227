// The fast path in front of class-transformer (lib/conversion/transformer.ts) against
// class-transformer 0.5.1 itself: property-based tests (fast-check) that random plain
// objects, converted into undecorated classes of every shape (defaults, accessors, methods,
// inheritance, prototype data properties), come out as class-transformer makes them, field
// for field; that decorated classes and non-plain values go through class-transformer; and
// that toJsonValue() encodes random instances to the JSON instanceToPlain() encodes to,
// handing back the object itself when it is flat. Fixed cases pin inputs outside JSON
// (holes, Array subclasses, boxed primitives, getters...) on which a copy made field by
// field would part ways with class-transformer. FUZZ_SEED=<n> replays a run.
// lib/conversion/transformer.ts does not load reflect-metadata (lib/index.ts does), and
// @Type() reads design:type through it.
import 'reflect-metadata';
import * as vm from 'node:vm';
import { types } from 'node:util';
import fc from 'fast-check';
import * as classTransformer from 'class-transformer';
import { Exclude, Expose, instanceToPlain, Transform, Type as NestedType } from 'class-transformer';
import { hasFieldConversion, plainToInstance, toJsonValue, withoutTransformerMetadata } from '../../lib/conversion/transformer';
import type { Type } from '../../lib/metadata/method-definition';

const SEED = process.env['FUZZ_SEED'];

function runs<T>(numRuns = 300): fc.Parameters<T> {
  return { numRuns, ...(SEED ? { seed: Number(SEED) } : {}) };
}

// ---------------------------------------------------------------------------------------
// Classes without class-transformer metadata: plainToInstance() copies the fields itself
// ---------------------------------------------------------------------------------------

/** Where the setters below record the values they are called with (a symbol: no JSON key reaches it). */
const SEEN: unique symbol = Symbol('seen');

class Bare {
  id?: number;
  name?: string;
  tags?: string[];
}

class WithDefaults {
  id = 0;
  name = 'unnamed';
  tags = ['default'];
  flag = true;
}

class WithGetter {
  id?: number;

  get area(): number {
    return 42;
  }
}

class WithSetter {
  [SEEN]: unknown[] = [];
  stored: unknown = 'initial';

  get label(): unknown {
    return this.stored;
  }

  set label(value: unknown) {
    this[SEEN].push(value);
    this.stored = value;
  }
}

class WithMethod {
  id?: number;
  onChange = (): number => 1;

  describe(): string {
    return `#${String(this.id)}`;
  }
}

class Parent {
  [SEEN]: unknown[] = [];
  id = 1;
  shared?: number;

  get area(): number {
    return 7;
  }

  set label(value: unknown) {
    this[SEEN].push(value);
  }

  describe(): string {
    return 'parent';
  }
}
Parent.prototype.shared = 5;

class Child extends Parent {
  name = 'child';
  flag?: boolean;
}

class WithPrototypeData {
  id?: number;
  shared?: number;
}
WithPrototypeData.prototype.shared = 1;

/** class-transformer reads the exclusion strategy of a class itself only, not its parent's. */
@Exclude()
class ExcludedByClass {}

class ChildOfExcludedByClass extends ExcludedByClass {
  id?: number;
  name?: string;
}

/** Both class-level decorators: class-transformer's strategy is 'none' again. */
@Exclude()
@Expose()
class ExcludedAndExposed {
  id?: number;
}

const FAST: readonly Type[] = [Bare, WithDefaults, WithGetter, WithSetter, WithMethod, Parent, Child, WithPrototypeData, ChildOfExcludedByClass, ExcludedAndExposed];

/** Subclasses of built-ins: no metadata either, but class-transformer and JSON.stringify treat each its own way. */
class List extends Array<unknown> {}
class Stamp extends Date {
  constructor() {
    super(0);
  }
}
class Registry extends Map<unknown, unknown> {}
class Label extends String {}
class Failure extends Error {
  constructor() {
    super('failed');
    this.stack = 'Failure: failed';
  }
}

const BUILT_IN: readonly Type[] = [List, Stamp, Registry, Label, Failure];

// ---------------------------------------------------------------------------------------
// Classes with class-transformer metadata: everything goes through class-transformer
// ---------------------------------------------------------------------------------------

class WithNestedType {
  @NestedType(() => Bare)
  inner?: Bare;

  @NestedType(() => Date)
  when?: Date;

  name?: string;
}

class WithExpose {
  @Expose({ name: 'display_name' })
  displayName?: string;

  id?: number;
}

class WithExclude {
  @Exclude()
  secret?: string;

  name?: string;
}

class WithTransform {
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toUpperCase() : value))
  name?: string;

  id?: number;
}

@Exclude()
class ExcludeAll {
  @Expose()
  id?: number;

  name?: string;
}

@Expose()
class ExposeAll {
  id?: number;
}

class ChildOfTransform extends WithTransform {
  flag?: boolean;
}

class ChildOfNestedType extends WithNestedType {
  id?: number;
}

const DECORATED: readonly Type[] = [WithNestedType, WithExpose, WithExclude, WithTransform, ExcludeAll, ExposeAll, ChildOfTransform, ChildOfNestedType];

/** A class with a toJSON method and one with a then method: toJsonValue() leaves both to instanceToPlain(). */
class WithToJson {
  id = 1;

  toJSON(): unknown {
    return { id: this.id, kind: 'custom' };
  }
}

class Thenable {
  id = 1;

  then(): void {
    // instanceToPlain() calls it (as for a promise); nothing to resolve.
  }
}

// ---------------------------------------------------------------------------------------
// Random values
// ---------------------------------------------------------------------------------------

/** Keys: ordinary names, the names Object.prototype and the classes above define, and now and then any string. */
const KEY_POOL = [
  'id',
  'name',
  'tags',
  'flag',
  'count',
  'stored',
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'area',
  'label',
  'describe',
  'onChange',
  'shared',
  'inner',
  'when',
  'secret',
  'display_name',
  'displayName',
  'then',
  'toJSON',
  '0',
  '',
];
const keyArb = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...KEY_POOL) }, { weight: 1, arbitrary: fc.string({ maxLength: 4 }) });

const primitiveArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 2, arbitrary: fc.double() },
  { weight: 2, arbitrary: fc.constantFrom(Number.NaN, -0, 0, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE) },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 2, arbitrary: fc.boolean() },
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);
const flatValueArb: fc.Arbitrary<unknown> = fc.oneof({ weight: 3, arbitrary: primitiveArb }, { weight: 2, arbitrary: fc.array(primitiveArb, { maxLength: 4 }) });
/** Nested plain data: keys naming a property of Object.prototype are kept there, where class-transformer drops them (attack-keys.spec.ts). */
const nestedObjectArb = fc.dictionary(fc.constantFrom(...KEY_POOL.filter((key) => !(key in Object.prototype))), flatValueArb, { maxKeys: 3 });
/** Values that make an object other than flat: class-transformer's business. */
const nestedValueArb: fc.Arbitrary<unknown> = fc.oneof(
  nestedObjectArb,
  fc.array(nestedObjectArb, { minLength: 1, maxLength: 3 }),
  fc.array(fc.array(primitiveArb, { maxLength: 2 }), { minLength: 1, maxLength: 3 }),
  fc.array(fc.oneof(primitiveArb, nestedObjectArb), { minLength: 1, maxLength: 3 }),
  fc.date(),
  fc.constant(new Map([['id', 1]])),
  fc.constant(new Set([1])),
);
type Entries = Array<[string, unknown]>;
const entriesArb = (valueArb: fc.Arbitrary<unknown>): fc.Arbitrary<Entries> => fc.uniqueArray(fc.tuple(keyArb, valueArb), { selector: (entry) => entry[0], maxLength: 8 });
const flatEntriesArb = entriesArb(flatValueArb);
const anyEntriesArb = fc.oneof({ weight: 3, arbitrary: flatEntriesArb }, { weight: 1, arbitrary: entriesArb(fc.oneof({ weight: 3, arbitrary: flatValueArb }, { weight: 1, arbitrary: nestedValueArb })) });

/**
 * A plain object as JSON.parse makes it: every field an own data property, `__proto__`
 * included (defined, as JSON.parse does, not set, which would change the prototype).
 */
function plainObject(entries: Entries): Record<string, unknown> {
  const object = JSON.parse('{}') as Record<string, unknown>;
  for (const [key, value] of entries) Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  return object;
}

/** An instance with the fields set by assignment (setters run, `__proto__` changes the prototype), or defined as own data properties. */
function instanceOf(type: Type, entries: Entries, define: boolean): object {
  const instance = new (type as new () => object)();
  if (define) {
    for (const [key, value] of entries) Object.defineProperty(instance, key, { value, enumerable: true, writable: true, configurable: true });
    return instance;
  }
  try {
    return Object.assign(instance, plainObject(entries));
  } catch {
    // A getter-only accessor: assignment throws.
    return instanceOf(type, entries, true);
  }
}

/**
 * Whether a value is a Map (a Set) that iterates as one: neither an object that only
 * inherits from one, whose iteration throws, nor one whose prototype an assigned
 * `__proto__` key replaced (both are made below).
 */
const isMap = (value: unknown): value is Map<unknown, unknown> => value instanceof Map && types.isMap(value);
const isSet = (value: unknown): value is Set<unknown> => value instanceof Set && types.isSet(value);

/** Whether a plain object in a value, at any depth, has a key naming a property of Object.prototype, or a Map a "__proto__" or "constructor" key. */
function plainWithReservedKey(value: unknown, seen = new Set<unknown>()): boolean {
  if (typeof value !== 'object' || value === null || seen.has(value) || isSet(value)) return false;
  seen.add(value);
  // A Map's "__proto__" and "constructor" entries, which class-transformer skips too.
  if (isMap(value)) return [...value].some(([key, item]) => key === '__proto__' || key === 'constructor' || plainWithReservedKey(item, seen));
  const prototype: unknown = Object.getPrototypeOf(value);
  if ((prototype === Object.prototype || prototype === null) && Object.keys(value).some((key) => key in Object.prototype)) return true;
  return Object.values(value).some((item) => plainWithReservedKey(item, seen));
}

function isPrimitive(value: unknown): boolean {
  return value === null || (typeof value !== 'object' && typeof value !== 'function');
}

/** Whether every field is a primitive or an array of primitives (the test's own reading of "flat"). */
function isFlat(object: object): boolean {
  return Object.values(object).every((v: unknown) => isPrimitive(v) || (Array.isArray(v) && (v as unknown[]).every(isPrimitive)));
}

// ---------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------

type Outcome = { readonly threw: false; readonly value: unknown } | { readonly threw: true; readonly error: string };

function attempt(run: () => unknown): Outcome {
  try {
    return { threw: false, value: run() };
  } catch (error) {
    return { threw: true, error: error instanceof Error ? `${error.constructor.name}: ${error.message}` : `thrown ${show(error)}` };
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Object.is(value, -0)) return '-0';
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'function') return `function ${value.name}`;
  if (typeof value === 'object' && value !== null) return Object.prototype.toString.call(value);
  return String(value);
}

function prototypeName(value: object): string {
  const prototype = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  return prototype === null ? 'null' : (prototype.constructor?.name ?? '?');
}

/**
 * The first difference between what the fast path made and what class-transformer made, or
 * `undefined`: same prototype, same own keys (symbols too: the setters' record), same property
 * flags, values the same by Object.is, objects and arrays (holes included) compared the same
 * way, all the way down; functions are compared by their source (each instance has its own).
 */
function difference(fast: unknown, reference: unknown, path = '$'): string | undefined {
  if (typeof fast === 'function' && typeof reference === 'function') {
    return String(fast) === String(reference) ? undefined : `${path}: different functions`;
  }
  if (typeof fast !== 'object' || fast === null || typeof reference !== 'object' || reference === null) {
    return Object.is(fast, reference) ? undefined : `${path}: ${show(fast)} (fast path) vs ${show(reference)} (class-transformer)`;
  }
  if (Object.getPrototypeOf(fast) !== Object.getPrototypeOf(reference)) {
    return `${path}: prototype ${prototypeName(fast)} (fast path) vs ${prototypeName(reference)} (class-transformer)`;
  }
  if (fast instanceof Date && reference instanceof Date && !Object.is(fast.getTime(), reference.getTime())) {
    return `${path}: ${fast.getTime()} vs ${reference.getTime()}`;
  }
  if (isMap(fast) && isMap(reference)) {
    const found = difference([...fast], [...reference], `${path}<entries>`);
    if (found) return found;
  }
  if (isSet(fast) && isSet(reference)) {
    const found = difference([...fast], [...reference], `${path}<values>`);
    if (found) return found;
  }
  const fastKeys = Reflect.ownKeys(fast);
  const referenceKeys = Reflect.ownKeys(reference);
  const names = (keys: Array<string | symbol>): string => keys.map((k) => (typeof k === 'symbol' ? k.toString() : JSON.stringify(k))).sort().join(', ');
  if (names(fastKeys) !== names(referenceKeys)) {
    return `${path}: own keys [${names(fastKeys)}] (fast path) vs [${names(referenceKeys)}] (class-transformer)`;
  }
  for (const key of fastKeys) {
    const at = `${path}[${typeof key === 'symbol' ? key.toString() : JSON.stringify(key)}]`;
    const a = Object.getOwnPropertyDescriptor(fast, key) as PropertyDescriptor;
    const b = Object.getOwnPropertyDescriptor(reference, key) as PropertyDescriptor;
    if (a.enumerable !== b.enumerable || a.configurable !== b.configurable || a.writable !== b.writable || 'value' in a !== 'value' in b) {
      return `${at}: property flags differ`;
    }
    const found = 'value' in a ? difference(a.value, b.value, at) : undefined;
    if (found) return found;
  }
  return undefined;
}

function compare(fast: Outcome, reference: Outcome): string | undefined {
  if (fast.threw || reference.threw) {
    const same = fast.threw && reference.threw && fast.error === reference.error;
    const describe = (o: Outcome): string => (o.threw ? `threw ${o.error}` : `returned ${show(o.value)}`);
    return same ? undefined : `fast path ${describe(fast)}, class-transformer ${describe(reference)}`;
  }
  return difference(fast.value, reference.value);
}

/** The objects a value holds, itself included. */
function objectsIn(value: unknown, found = new Set<object>()): Set<object> {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null || found.has(value)) return found;
  found.add(value);
  for (const key of Reflect.ownKeys(value)) {
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    if (descriptor && 'value' in descriptor) objectsIn(descriptor.value, found);
  }
  if (isMap(value)) for (const entry of value) objectsIn(entry, found);
  if (isSet(value)) for (const item of value) objectsIn(item, found);
  return found;
}

/** The objects (arrays above all) a conversion's result shares with its input. */
function sharedWithInput(result: unknown, input: unknown): number {
  const inInput = objectsIn(input);
  let shared = 0;
  for (const object of objectsIn(result)) if (inInput.has(object)) shared++;
  return shared;
}

/** class-transformer's plainToInstance: the reference, and a spy telling whether the code under test delegated to it. */
let delegations: jest.SpyInstance;

beforeAll(() => {
  delegations = jest.spyOn(classTransformer, 'plainToInstance');
});

afterAll(() => {
  delegations.mockRestore();
});

function reference(type: Type, value: object): Outcome {
  return attempt(() => classTransformer.plainToInstance(type as new () => object, readableMaps(value) as object));
}

/**
 * The value with each Map in it (in arrays and plain objects) copied into one that also
 * holds its entries as properties: class-transformer reads a Map's values as `map[key]`
 * towards an instance, so it loses them (a Map of undefined), which plugwire does not.
 */
function readableMaps(value: unknown): unknown {
  if (isMap(value)) {
    const copy = new Map(value);
    for (const [key, item] of value) Object.defineProperty(copy, String(key), { value: item, enumerable: true, writable: true, configurable: true });
    return copy;
  }
  if (Array.isArray(value)) return value.some((item) => readableMaps(item) !== item) ? value.map(readableMaps) : value;
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return value;
  // A getter is left to be read by class-transformer alone (some answer differently each time).
  if (Object.values(Object.getOwnPropertyDescriptors(value)).some((d) => d.get !== undefined)) return value;
  const entries = Object.entries(value);
  if (!entries.some(([, item]) => readableMaps(item) !== item)) return value;
  const copy = JSON.parse('{}') as Record<string, unknown>;
  for (const [key, item] of entries) Object.defineProperty(copy, key, { value: readableMaps(item), enumerable: true, writable: true, configurable: true });
  return copy;
}

/** plainToInstance() under test, and whether it called class-transformer. */
function underTest(type: Type, value: object): { outcome: Outcome; delegated: boolean } {
  const before = delegations.mock.calls.length;
  const outcome = attempt(() => plainToInstance(type, value));
  return { outcome, delegated: delegations.mock.calls.length > before };
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

describe('plainToInstance into classes without class-transformer metadata', () => {
  it.each(FAST.map((type) => [type.name, type] as const))('%s: recognised as without metadata', (_name, type) => {
    expect(withoutTransformerMetadata(type)).toBe(true);
  });

  it.each(FAST.map((type) => [type.name, type] as const))('%s: random plain objects come out as class-transformer makes them', (_name, type) => {
    fc.assert(
      fc.property(anyEntriesArb, (entries) => {
        const input = plainObject(entries);
        const fast = underTest(type, input);
        const slow = reference(type, input);
        expect(compare(fast.outcome, slow)).toBeUndefined();
        // Flat values are copied without class-transformer (what makes it cheap), the others go through it.
        expect(fast.delegated).toBe(!isFlat(input));
        // Arrays are copied, as class-transformer copies them.
        if (!fast.outcome.threw) expect(sharedWithInput(fast.outcome.value, input)).toBe(0);
      }),
      runs(),
    );
  });

  it('skips __proto__ and constructor fields made by JSON.parse, and leaves the prototype alone', () => {
    const input = JSON.parse('{"__proto__": "x", "constructor": 5, "id": 1, "tags": ["a", 2]}') as Record<string, unknown>;
    expect(Object.keys(input)).toEqual(['__proto__', 'constructor', 'id', 'tags']);
    const fast = underTest(Bare, input);
    expect(fast.delegated).toBe(false);
    expect(compare(fast.outcome, reference(Bare, input))).toBeUndefined();
    const value = (fast.outcome as { value: Bare }).value;
    expect(Object.getPrototypeOf(value)).toBe(Bare.prototype);
    expect(Object.getOwnPropertyNames(value).sort()).toEqual(['id', 'tags']);
    expect(value.tags).toEqual(['a', 2]);
    expect(value.tags).not.toBe(input['tags']);
  });

  it('sends nested __proto__ and constructor objects made by JSON.parse through class-transformer, with nothing polluted', () => {
    const input = JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 1}}, "id": 1}') as object;
    const fast = underTest(WithDefaults, input);
    expect(fast.delegated).toBe(true);
    expect(compare(fast.outcome, reference(WithDefaults, input))).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>)['polluted']).toBeUndefined();
    expect((WithDefaults.prototype as unknown as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('calls a setter, own or inherited, with the same values in the same order as class-transformer', () => {
    const input = { stored: 'a', label: ['x', 1], id: 2 };
    const own = plainToInstance(WithSetter, input) as WithSetter;
    expect(own[SEEN]).toEqual([['x', 1]]);
    expect(compare(attempt(() => own), reference(WithSetter, input))).toBeUndefined();
    const inherited = plainToInstance(Child, { label: 3, flag: false }) as Child;
    expect(inherited[SEEN]).toEqual([3]);
    expect(compare(attempt(() => inherited), reference(Child, { label: 3, flag: false }))).toBeUndefined();
  });

  it('leaves getter-only accessors, methods, function fields and prototype data properties alone, or throws as class-transformer does', () => {
    const input = { area: 1, describe: 'no', onChange: 'no', shared: 9, toString: 'no', id: 4 };
    for (const type of [WithGetter, WithMethod, WithPrototypeData, Child]) {
      expect(compare(underTest(type, input).outcome, reference(type, input))).toBeUndefined();
    }
    expect((plainToInstance(WithPrototypeData, input) as WithPrototypeData).shared).toBe(1);
    // An inherited getter-only accessor: both assign to it, which throws in strict mode.
    expect(underTest(Child, input).outcome).toMatchObject({ threw: true });
  });
});

describe('plainToInstance into subclasses of built-ins', () => {
  it.each(BUILT_IN.map((type) => [type.name, type] as const))('%s: random plain objects come out as class-transformer makes them', (_name, type) => {
    expect(withoutTransformerMetadata(type)).toBe(true);
    fc.assert(
      fc.property(anyEntriesArb, (entries) => {
        const input = plainObject(entries);
        expect(compare(underTest(type, input).outcome, reference(type, input))).toBeUndefined();
      }),
      runs(100),
    );
  });
});

describe('plainToInstance into classes with class-transformer metadata', () => {
  it.each(DECORATED.map((type) => [type.name, type] as const))('%s: recognised as with metadata', (_name, type) => {
    expect(withoutTransformerMetadata(type)).toBe(false);
  });

  it.each(DECORATED.map((type) => [type.name, type] as const))('%s: random plain objects go through class-transformer', (_name, type) => {
    fc.assert(
      fc.property(anyEntriesArb, (entries) => {
        const input = plainObject(entries);
        const fast = underTest(type, input);
        expect(fast.delegated).toBe(true);
        expect(compare(fast.outcome, reference(type, input))).toBeUndefined();
      }),
      runs(),
    );
  });

  it('applies the decorators (a check that the classes above do carry metadata)', () => {
    const input = { display_name: 'Ann', secret: 's', name: 'low', inner: { id: 1 }, when: 0 };
    expect(plainToInstance(WithExpose, input)).toMatchObject({ displayName: 'Ann' });
    expect(plainToInstance(WithExclude, input)).not.toHaveProperty('secret');
    expect(plainToInstance(ChildOfTransform, input)).toMatchObject({ name: 'LOW' });
    expect((plainToInstance(ChildOfNestedType, input) as WithNestedType).inner).toBeInstanceOf(Bare);
    expect((plainToInstance(WithNestedType, input) as WithNestedType).when).toBeInstanceOf(Date);
    expect(plainToInstance(ExcludeAll, { id: 1, name: 'n' })).toEqual(Object.assign(new ExcludeAll(), { id: 1 }));
  });
});

describe('plainToInstance of values other than plain objects', () => {
  const otherThanPlain: ReadonlyArray<[string, (entries: Entries) => object]> = [
    ['a Map', (entries) => new Map(entries)],
    ['an array of plain objects', (entries) => [plainObject(entries), plainObject(entries.slice(1))]],
    ['an object with a null prototype', (entries) => Object.assign(Object.create(null) as object, plainObject(entries))],
    ['an instance of another class', (entries) => instanceOf(WithDefaults, entries, true)],
    ['an object with a prototype other than Object.prototype', (entries) => Object.assign(Object.create({ inherited: 1 }) as object, plainObject(entries))],
    ['a plain object of another realm', (entries) => Object.assign(vm.runInNewContext('({})') as object, plainObject(entries))],
    ['a Date', () => new Date(0)],
  ];

  it.each(otherThanPlain)('%s: goes through class-transformer', (_name, make) => {
    fc.assert(
      fc.property(fc.constantFrom(...FAST, ...DECORATED), flatEntriesArb, (type, entries) => {
        const input = make(entries);
        const fast = underTest(type, input);
        expect(fast.delegated).toBe(true);
        expect(compare(fast.outcome, reference(type, input))).toBeUndefined();
      }),
      runs(100),
    );
  });
});

describe('toJsonValue', () => {
  const subjectArb: fc.Arbitrary<object> = fc.oneof(
    fc.tuple(fc.constantFrom(...FAST, ...DECORATED, ...BUILT_IN), anyEntriesArb, fc.boolean()).map(([type, entries, define]) => instanceOf(type, entries, define)),
    anyEntriesArb.map(plainObject),
    anyEntriesArb.map((entries) => Object.assign(plainObject(entries), { constructor: 'own' })),
    anyEntriesArb.map((entries) => Object.assign(plainObject(entries), { fn: (): number => 7 })),
    anyEntriesArb.map((entries) => Object.assign(new WithToJson(), plainObject(entries))),
    flatEntriesArb.map((entries) => instanceOf(Thenable, entries, true)),
    anyEntriesArb.map((entries) => Object.assign(Object.create(null) as object, plainObject(entries))),
    flatEntriesArb.map((entries) => new Map(entries)),
    flatEntriesArb.map((entries) => new Set(entries.map(([, v]) => v))),
    fc.array(flatValueArb, { maxLength: 4 }),
    fc.date(),
  );

  it('encodes random values to the JSON instanceToPlain() encodes them to', () => {
    fc.assert(
      fc.property(subjectArb, (value) => {
        fc.pre(!plainWithReservedKey(value));
        const fast = attempt(() => JSON.stringify(toJsonValue(value)));
        const slow = attempt(() => JSON.stringify(instanceToPlain(value)));
        expect(fast).toEqual(slow);
      }),
      runs(),
    );
  });

  it('reads a Map as class-transformer does, keys() and then get(): a subclass that overrides them, and an object that only inherits from a Map', () => {
    class Renaming extends Map<string, unknown> {
      override keys(): MapIterator<string> {
        return ['shown'][Symbol.iterator]();
      }
      override get(key: string): unknown {
        return `${key}!`;
      }
    }
    const renaming = new Renaming([['hidden', 1]]);
    expect(attempt(() => JSON.stringify(toJsonValue({ field: renaming })))).toEqual(attempt(() => JSON.stringify(instanceToPlain({ field: renaming }))));
    // An own '__proto__' key, assigned: the instance now inherits from a Map it is not.
    const fake = Object.assign(new Bare(), plainObject([['__proto__', new Map([['a', 1]])]]));
    const fast = attempt(() => JSON.stringify(toJsonValue(fake)));
    expect(fast).toEqual(attempt(() => JSON.stringify(instanceToPlain(fake))));
    expect(fast.threw).toBe(true);
  });

  it('hands back a flat instance of a class without metadata itself, and a copy of anything else', () => {
    const flatEntries = flatEntriesArb.map((entries) => entries.filter(([key]) => key !== 'constructor' && key !== '__proto__'));
    fc.assert(
      fc.property(fc.constantFrom(...FAST), flatEntries, (type, entries) => {
        const value = instanceOf(type, entries, true);
        const result = toJsonValue(value);
        expect(result === value).toBe(isFlat(value));
        expect(JSON.stringify(result)).toBe(JSON.stringify(instanceToPlain(value)));
      }),
      runs(),
    );
  });

  it('hands back flat values themselves, and copies the others', () => {
    const flat = Object.assign(new Bare(), { id: 1, name: 'n', tags: ['a', 'b'] });
    expect(toJsonValue(flat)).toBe(flat);
    const plain = { id: -0, n: Number.NaN, list: [null, true, Infinity] };
    expect(toJsonValue(plain)).toBe(plain);
    expect(JSON.stringify(toJsonValue(plain))).toBe(JSON.stringify(instanceToPlain(plain)));
    for (const other of [
      new WithToJson(),
      Object.assign(new Bare(), { constructor: Bare }),
      new Map([['a', 1]]),
      new Set([1]),
      new Date(0),
      Object.assign(new Thenable(), { id: 2 }),
      new WithMethod(),
      { nested: { id: 1 } },
      Object.assign(new WithExpose(), { displayName: 'Ann' }),
      Object.assign(Object.create(null) as object, { id: 1 }),
    ]) {
      expect(toJsonValue(other)).not.toBe(other);
      expect(JSON.stringify(toJsonValue(other))).toBe(JSON.stringify(instanceToPlain(other)));
    }
    // A plain object keeps keys that class-transformer drops, as JSON.parse made them.
    const reserved = JSON.parse('{"__proto__": 1, "id": 2}') as object;
    expect(toJsonValue(reserved)).not.toBe(reserved);
    expect(JSON.stringify(toJsonValue(reserved))).toBe('{"__proto__":1,"id":2}');
    // An own `constructor` field that is not a class: class-transformer takes it for the
    // class and throws, and so does toJsonValue().
    const misleading = Object.assign(new Bare(), { constructor: 'x' });
    expect(attempt(() => toJsonValue(misleading))).toMatchObject({ threw: true });
    expect(attempt(() => toJsonValue(misleading))).toEqual(attempt(() => instanceToPlain(misleading)));
  });

  it('encodes other built-in objects as instanceToPlain() does', () => {
    const args = (function (..._rest: unknown[]): IArguments {
      // eslint-disable-next-line prefer-rest-params
      return arguments;
    })(1, 'a');
    for (const value of [/re/g, new Error('e'), new Uint8Array([1, 2]), new Float64Array([Number.NaN, -0]), new ArrayBuffer(2), args, Object.create([]) as object]) {
      expect(JSON.stringify(toJsonValue(value))).toBe(JSON.stringify(instanceToPlain(value)));
    }
  });
});

// ---------------------------------------------------------------------------------------
// Inputs outside JSON on which copying field by field parts ways with class-transformer.
// JSON.parse never makes them, but plainToInstance() also converts the host's arguments and
// toJsonValue() the plugin's results, both built by application code.
// ---------------------------------------------------------------------------------------

describe('inputs outside JSON', () => {
  it('plainToInstance: a sparse array field comes out as class-transformer makes it (holes dropped)', () => {
    const tags: unknown[] = ['a'];
    tags[2] = 'c';
    const input = { tags, slots: new Array<unknown>(2) };
    expect(compare(underTest(Bare, input).outcome, reference(Bare, input))).toBeUndefined();
  });

  it('plainToInstance: an array subclass field comes out as a plain array, as class-transformer makes it', () => {
    class Tags extends Array<string> {}
    const input = { tags: Tags.from(['a', 'b']) };
    expect(compare(underTest(Bare, input).outcome, reference(Bare, input))).toBeUndefined();
  });

  it('plainToInstance: a function default of another realm is overwritten, as class-transformer does', () => {
    class WithForeignFunction {
      handler: unknown = vm.runInNewContext('() => 1');
    }
    const input = { handler: 'replaced' };
    expect(compare(underTest(WithForeignFunction, input).outcome, reference(WithForeignFunction, input))).toBeUndefined();
  });

  it('plainToInstance: a constructor whose prototype does not point back to it is treated as class-transformer treats it', () => {
    class Detached {
      id?: number;
      shared?: number;
    }
    Detached.prototype.shared = 1;
    // As after `function Detached() {}; Detached.prototype = { shared: 1 }`: instances' constructor is Object.
    Reflect.deleteProperty(Detached.prototype, 'constructor');
    const input = { id: 1, shared: 2 };
    expect(compare(underTest(Detached, input).outcome, reference(Detached, input))).toBeUndefined();
  });

  it('plainToInstance: a getter of the input that answers differently each time is read as class-transformer reads it', () => {
    // class-transformer keeps the first value it reads; the two inputs are alike, each with its own count.
    const counting = (): object => {
      let reads = 0;
      return {
        get id(): number {
          return ++reads;
        },
      };
    };
    expect(compare(underTest(Bare, counting()).outcome, reference(Bare, counting()))).toBeUndefined();
  });

  it('toJsonValue: a sparse array field encodes as instanceToPlain() encodes it', () => {
    const tags: unknown[] = ['a'];
    tags[2] = 'c';
    const value = Object.assign(new Bare(), { tags });
    expect(JSON.stringify(toJsonValue(value))).toBe(JSON.stringify(instanceToPlain(value)));
  });

  it('toJsonValue: an array field with its own toJSON encodes as instanceToPlain() encodes it', () => {
    const value = Object.assign(new Bare(), { tags: Object.assign(['a'], { toJSON: (): string => 'tagged' }) });
    expect(JSON.stringify(toJsonValue(value))).toBe(JSON.stringify(instanceToPlain(value)));
  });

  it.each([
    ['String', Object('ab') as object],
    ['Number', Object(1) as object],
    ['Boolean', Object(true) as object],
  ])('toJsonValue: a boxed %s encodes as instanceToPlain() encodes it', (_name, value) => {
    expect(JSON.stringify(toJsonValue(value))).toBe(JSON.stringify(instanceToPlain(value)));
  });
});

// ---------------------------------------------------------------------------------------
// Which fields class-transformer is told how to convert (the class plan asks, to report a
// nested DTO or a Date that lacks @Type)
// ---------------------------------------------------------------------------------------

class TypedParent {
  @NestedType(() => Date)
  at!: Date;
}

class TypedChild extends TypedParent {
  @Transform(({ value }) => new Date(value as string))
  when!: Date;

  plain!: Date;
}

describe('hasFieldConversion', () => {
  it('finds @Type and @Transform on the class and its ancestors, and nothing on an undecorated field', () => {
    expect(hasFieldConversion(TypedParent, 'at')).toBe(true);
    expect(hasFieldConversion(TypedChild, 'at')).toBe(true);
    expect(hasFieldConversion(TypedChild, 'when')).toBe(true);
    expect(hasFieldConversion(TypedChild, 'plain')).toBe(false);
    expect(hasFieldConversion(TypedParent, 'when')).toBe(false);
  });
});
