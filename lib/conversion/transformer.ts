import type { Type } from '../metadata/method-definition';
import { requirePeer } from './peer-require';

// class-transformer converts between JSON values and DTO instances. For a class that has
// none of its decorators (@Type, @Transform, @Expose, @Exclude) and a value whose fields
// are JSON primitives or arrays of them, what it does comes down to copying the fields,
// yet it costs about 3 µs for ten fields each way (it looks up the metadata of every
// field, every time). Such a class is recognised once, and such values are copied as
// class-transformer would copy them; anything else goes through class-transformer.

let transformerModule: typeof import('class-transformer') | undefined;

/** class-transformer, loaded at the first conversion it is needed for (about 10 ms). */
function classTransformer(): typeof import('class-transformer') {
  transformerModule ??= requirePeer('class-transformer') as typeof import('class-transformer');
  return transformerModule;
}

// class-transformer takes a plain object's own `constructor` field for the object's class
// (and fails on it: `{"labels":{"constructor":"x"}}`), and drops the keys of plain data
// that name a property of Object.prototype (`constructor`, `__proto__`, `toString`...). Plain data must convert whatever its keys are called:
// before class-transformer sees a value holding such keys, a copy has them renamed with a
// prefix (and keys that already start with it get one more), and its result has them
// renamed back: in plain objects and Maps as data of their own, while on instances of a
// class they are left out, as class-transformer leaves them out.
const ESCAPE = '\u0000plugwire:';

function reservedKey(key: string): boolean {
  return key in Object.prototype;
}

/** Objects whose own keys class-transformer copies: plain objects and instances of classes (not Date, Map...). */
function keyed(value: object): boolean {
  return Object.prototype.toString.call(value) === '[object Object]';
}

function isPlain(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function defineData(target: object, key: string, value: unknown): void {
  // defineProperty: assigning `__proto__` would set the prototype instead.
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Which way class-transformer converts: `toPlain` (instanceToPlain) or `toClass` (plainToInstance). */
type Direction = 'toPlain' | 'toClass';

/**
 * Whether a key names a member of a Map (`size`, `get`, `keys`... and what it inherits):
 * class-transformer leaves such entries out of a Map it makes. @internal
 */
export function isMapMember(key: string): boolean {
  return key in Map.prototype;
}

/** A key of a Map or of plain data as {@link escapeKeys} renames it. */
function escapedKey(key: string): string {
  return key.startsWith(ESCAPE) || reservedKey(key) ? `${ESCAPE}${key}` : key;
}

/**
 * A Map whose entries class-transformer would lose, as it converts it: it skips the keys
 * `__proto__` and `constructor`, so those are renamed; and towards an instance it reads a
 * Map's values as properties (`map.x`, undefined), so the copy also holds each entry as a
 * property of its own: a Map of DTOs arrives whole, its entries validated.
 */
function escapeMap(value: Map<unknown, unknown>, path: Set<object>, direction: Direction): unknown {
  path.add(value);
  const entries: Array<[unknown, unknown]> = [];
  let changed = direction === 'toClass' && value.size > 0;
  // keys(), then get() for each, as class-transformer reads a Map (a subclass may override
  // either; an object that only inherits from a Map fails in keys(), as there).
  for (const key of Array.from(value.keys())) {
    const item = value.get(key);
    const escaped = escapeKeys(item, path, direction);
    const name = typeof key === 'string' ? escapedKey(key) : key;
    if (escaped !== item || name !== key) changed = true;
    entries.push([name, escaped]);
  }
  path.delete(value);
  if (!changed) return value;
  const copy = new Map(entries);
  if (direction !== 'toClass') return copy;
  for (const [key, item] of entries) {
    // Not the names of Map's own members (`keys`, `size`...), which class-transformer calls
    // or leaves out: a Map field gets those entries from checkFields() instead.
    if ((typeof key === 'string' || typeof key === 'number') && !isMapMember(String(key))) defineData(copy, String(key), item);
  }
  return copy;
}

/**
 * The value, or a copy of the part of it that holds keys to rename, or Maps whose
 * entries class-transformer would lose; cycles are left to class-transformer.
 * `renameHere` false: the value's own keys are left as they are (the object
 * plainToInstance() makes an instance of, whose keys class-transformer handles).
 */
function escapeKeys(value: unknown, path: Set<object>, direction: Direction, renameHere = true): unknown {
  if (typeof value !== 'object' || value === null || path.has(value)) return value;
  if (Array.isArray(value)) {
    path.add(value);
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const escaped = escapeKeys(item, path, direction);
      if (escaped !== item) (copy ??= value.slice())[i] = escaped;
    }
    path.delete(value);
    return copy ?? value;
  }
  if (value instanceof Map) return escapeMap(value as Map<unknown, unknown>, path, direction);
  if (!keyed(value)) return value;
  path.add(value);
  const plain = renameHere && isPlain(value);
  const keys = Object.keys(value);
  const fields = new Array<unknown>(keys.length);
  let changed = false;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const field: unknown = (value as Record<string, unknown>)[key];
    fields[i] = escapeKeys(field, path, direction);
    if (fields[i] !== field || (renameHere && key.startsWith(ESCAPE)) || (plain && reservedKey(key))) changed = true;
  }
  path.delete(value);
  if (!changed) return value;
  const copy = Object.create(Object.getPrototypeOf(value) as object | null) as object;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    defineData(copy, (renameHere && key.startsWith(ESCAPE)) || (plain && reservedKey(key)) ? `${ESCAPE}${key}` : key, fields[i]);
  }
  return copy;
}

/** Renames the keys {@link escapeKeys} renamed back, in place, in what class-transformer made of the copy. */
function restoreKeys(value: unknown, seen: Set<object>): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) {
    for (const item of value) restoreKeys(item, seen);
    return;
  }
  if (value instanceof Map) {
    const entries = [...(value as Map<unknown, unknown>)];
    for (const [, item] of entries) restoreKeys(item, seen);
    if (entries.some(([key]) => typeof key === 'string' && key.startsWith(ESCAPE))) {
      value.clear();
      for (const [key, item] of entries) value.set(typeof key === 'string' && key.startsWith(ESCAPE) ? key.slice(ESCAPE.length) : key, item);
    }
    return;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keyed(value)) for (const key of keys) restoreKeys(record[key], seen);
  // Renamed keys end up wherever class-transformer put them, as fields of whatever it made.
  if (!keys.some((key) => key.startsWith(ESCAPE))) return;
  if (!isPlain(value)) {
    for (const key of keys) {
      if (!key.startsWith(ESCAPE)) continue;
      const field = record[key];
      delete record[key];
      const original = key.slice(ESCAPE.length);
      if (!reservedKey(original)) defineData(record, original, field);
    }
    return;
  }
  // Rebuilt in the same order: the JSON written from it keeps the caller's order.
  const fields = keys.map((key) => record[key]);
  for (const key of keys) delete record[key];
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    defineData(record, key.startsWith(ESCAPE) ? key.slice(ESCAPE.length) : key, fields[i]);
  }
}

/** class-transformer's conversion of a value, with keys renamed around it where class-transformer would stumble on them. */
function throughClassTransformer<T>(value: object, convert: (value: object) => T, direction: Direction): T {
  const escaped = escapeKeys(value, new Set(), direction, direction === 'toPlain') as object;
  if (escaped === value) return convert(value);
  const result = convert(escaped);
  restoreKeys(result, new Set());
  return result;
}

/** The part of class-transformer's metadata storage that says whether a class has any of its decorators. */
interface TransformerStorage {
  getStrategy(target: Type): string;
  getExposedMetadatas(target: Type): unknown[];
  getExcludedMetadatas(target: Type): unknown[];
  readonly _typeMetadatas: Map<unknown, ReadonlyMap<unknown, unknown>>;
  readonly _transformMetadatas: Map<unknown, ReadonlyMap<unknown, unknown>>;
}

/**
 * class-transformer's metadata storage. The package root does not export it; the module
 * is small, and loading it does not load the rest. @internal
 */
export function classTransformerStorage(): typeof import('class-transformer/types/storage').defaultMetadataStorage {
  return (requirePeer('class-transformer', 'cjs/storage') as typeof import('class-transformer/types/storage')).defaultMetadataStorage;
}

let storage: TransformerStorage | null | undefined;

/**
 * The storage as {@link TransformerStorage}, or `null` when it is not as expected
 * (another major version): then every conversion goes through class-transformer.
 */
function transformerStorage(): TransformerStorage | null {
  if (storage === undefined) {
    try {
      const found = classTransformerStorage() as unknown as Partial<TransformerStorage> | undefined;
      const usable =
        found !== undefined &&
        typeof found.getStrategy === 'function' &&
        typeof found.getExposedMetadatas === 'function' &&
        typeof found.getExcludedMetadatas === 'function' &&
        found._typeMetadatas instanceof Map &&
        found._transformMetadatas instanceof Map;
      storage = usable ? (found as TransformerStorage) : null;
    } catch {
      storage = null;
    }
  }
  return storage;
}

/**
 * Whether class-transformer has no metadata for a class or its ancestors, i.e. converts
 * it field by field without renaming, skipping or changing a field.
 * @internal
 */
export function withoutTransformerMetadata(type: Type): boolean {
  const found = transformerStorage();
  if (found === null || found.getStrategy(type) !== 'none' || found.getExposedMetadatas(type).length > 0 || found.getExcludedMetadatas(type).length > 0) return false;
  for (let t: unknown = type; typeof t === 'function' && t !== Function.prototype; t = Object.getPrototypeOf(t)) {
    if (found._typeMetadatas.has(t) || found._transformMetadatas.has(t)) return false;
  }
  return true;
}

/**
 * Whether class-transformer is told how to convert a field of a class or of an ancestor
 * (`@Type()` or `@Transform()`); without either, a nested object stays a plain object
 * and a date stays a string. `true` when the storage is not as expected, so that nothing
 * is reported that may be wrong.
 * @internal
 */
export function hasFieldConversion(type: Type, key: string): boolean {
  const found = transformerStorage();
  if (found === null) return true;
  for (let t: unknown = type; typeof t === 'function' && t !== Function.prototype; t = Object.getPrototypeOf(t)) {
    if (found._typeMetadatas.get(t)?.has(key) === true || found._transformMetadatas.get(t)?.has(key) === true) return true;
  }
  return false;
}

const NATIVE = /\{\s*\[native code\]\s*\}\s*$/;
const plainClasses = new WeakMap<Type, boolean>();

/**
 * Whether the fast paths may take a class: no class-transformer metadata, and no built-in
 * class (String, Date, Map, an Array subclass...) in its chain but Object, which
 * class-transformer and JSON.stringify treat each their own way. Worked out once per
 * class: decorators run when a class is defined, before any of its values is converted.
 */
function plainClass(type: Type): boolean {
  let known = plainClasses.get(type);
  if (known === undefined) {
    known = withoutTransformerMetadata(type);
    for (let p: unknown = type.prototype; known && p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
      const ctor = typeof p === 'object' ? (p as { constructor?: unknown }).constructor : undefined;
      if (typeof p !== 'object' || (typeof ctor === 'function' && NATIVE.test(Function.prototype.toString.call(ctor)))) known = false;
    }
    plainClasses.set(type, known);
  }
  return known;
}

function isPrimitive(value: unknown): boolean {
  return value === null || (typeof value !== 'object' && typeof value !== 'function');
}

/** An array as JSON.parse makes them: a plain Array without holes or toJSON, of primitives. */
function isPrimitiveArray(value: unknown): value is unknown[] {
  if (!Array.isArray(value) || Object.getPrototypeOf(value) !== Array.prototype || typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  for (let i = 0; i < value.length; i++) {
    if (!(i in value) || !isPrimitive(value[i])) return false;
  }
  return true;
}

/** Whether a field is a primitive or an array of them, as JSON.parse makes them. */
function isFlat(field: unknown): boolean {
  return isPrimitive(field) || isPrimitiveArray(field);
}

/** Whether every field of an object is {@link isFlat}. */
function hasFlatFields(value: object): boolean {
  for (const key of Object.keys(value)) {
    if (!isFlat((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/**
 * class-transformer's plainToInstance(type, value), copying the fields itself when that
 * is all class-transformer would do (a plain object, as JSON.parse makes them, of
 * {@link isFlat} fields, and a {@link plainClass}): `new type()`, then each field of the
 * value but those class-transformer leaves alone (`__proto__`, `constructor`, a name the
 * prototype of the instance's constructor defines, other than by a setter, and a name
 * whose value on the new instance is a function); arrays are copied. Each field is read
 * once.
 * @internal
 */
export function plainToInstance(type: Type, value: object): object {
  if (Object.getPrototypeOf(value) !== Object.prototype || !plainClass(type)) return toInstanceByClassTransformer(type, value);
  const keys = Object.keys(value);
  const fields = new Array<unknown>(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const field: unknown = (value as Record<string, unknown>)[keys[i] as string];
    if (!isFlat(field)) return toInstanceByClassTransformer(type, value);
    fields[i] = field;
  }
  const instance = new (type as new () => object)() as Record<string, unknown>;
  const prototype = (instance.constructor as { prototype?: object } | undefined)?.prototype;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (key === '__proto__' || key === 'constructor') continue;
    // hasOwnProperty first: most keys are not on the prototype, and a descriptor is an object made per look.
    const descriptor = prototype && Object.prototype.hasOwnProperty.call(prototype, key) ? Object.getOwnPropertyDescriptor(prototype, key) : undefined;
    if ((descriptor && !descriptor.set) || instance[key] instanceof Function) continue;
    const field = fields[i];
    instance[key] = Array.isArray(field) ? field.slice() : field;
  }
  return instance;
}

/**
 * What to JSON-encode for an object: the object itself when class-transformer's
 * instanceToPlain() would only copy its fields, else instanceToPlain()'s result; both
 * encode to the same JSON. Copying is all it does for a plain object or an instance of a
 * {@link plainClass} whose fields are primitives or arrays of them, without `toJSON`
 * and without an own `constructor` or `__proto__` field (which class-transformer treats
 * its own way).
 * @internal
 */
export function toJsonValue(value: object): unknown {
  const type = (value as { constructor?: unknown }).constructor;
  if (
    typeof type === 'function' &&
    plainClass(type as Type) &&
    typeof (value as { toJSON?: unknown }).toJSON !== 'function' &&
    typeof (value as { then?: unknown }).then !== 'function' &&
    !Object.prototype.hasOwnProperty.call(value, 'constructor') &&
    !Object.prototype.hasOwnProperty.call(value, '__proto__') &&
    hasFlatFields(value)
  ) {
    return value;
  }
  return throughClassTransformer(value, (v) => classTransformer().instanceToPlain(v), 'toPlain');
}

function toInstanceByClassTransformer(type: Type, value: object): object {
  return throughClassTransformer(value, (v) => classTransformer().plainToInstance(type as new () => object, v), 'toClass');
}
