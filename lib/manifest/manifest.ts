import { classTransformerStorage } from '../conversion/transformer';
import type { MethodDefinition, ParamDefinition, Type } from '../metadata/method-definition';
import { readPropertyType } from '../metadata/reflection-helpers';
import { EXTENSION_VERSION } from '../protocol/constants';

export { MANIFEST_ROUTE } from '../protocol/constants';
import { classValidatorJsonSchema } from '../util/lazy';

/** A JSON Schema (draft 7 subset, as class-validator-jsonschema writes it). */
export type JsonSchema = Record<string, unknown>;

/** One parameter or result in a {@link Manifest}. */
export interface ManifestValue {
  /** The TypeScript type: `string`, `number`, `boolean`, `Date`, `array`, `unknown`, or a class name (`Person`, `Greeting[]`). */
  readonly type: string;
  /**
   * Its JSON Schema; class schemas refer to `definitions` with `$ref: '#/definitions/<Class>'`.
   * Absent in a manifest asked for without schemas (`?schemas=false`).
   */
  readonly schema?: JsonSchema;
}

/** One method in a {@link Manifest}. */
export interface ManifestMethod {
  /** The route the method is served at (`/greet`), as `@Method()` declares it. */
  readonly route: string;
  /** The method's name on the contract class. */
  readonly name: string;
  /** The name of the `@Plugin()` contract that declares it. */
  readonly contract: string;
  /** Whether a call cut off by a crash may be sent again (see `@Method({ idempotent })`). */
  readonly idempotent: boolean;
  /** Whether the plugin validates class-typed parameters. */
  readonly validated: boolean;
  /**
   * `false` when the served class does not override the contract's method: a call fails
   * with `PLUGWIRE_STUB`. Absent in manifests of plugwire before it was added (treat as `true`).
   */
  readonly implemented?: boolean;
  /**
   * `true` for a stream method (`@Method({ stream: true })`): `result` describes one item,
   * and a caller that sends `x-plugwire-stream: 1` reads the items as frames (else it gets
   * them all as one JSON array). Absent for a unary method.
   */
  readonly stream?: true;
  /** The parameters in order: one parameter travels as the payload itself, several as a JSON array. */
  readonly params: readonly ManifestValue[];
  /** The result (of a stream method: one item), `type: 'unknown'` when the contract does not say (no `returns`). */
  readonly result: ManifestValue;
}

/**
 * What a plugwire plugin answers at {@link MANIFEST_ROUTE}: its protocol versions, its
 * name and version, and for each method its route, parameter and result schemas, and
 * whether it streams its result ({@link ManifestMethod.stream}).
 */
export interface Manifest {
  /** The version of this document's format. */
  readonly manifest: 1;
  /** The wire protocol version (go-plugin's version 1). */
  readonly protocol: 1;
  /** The plugwire extension version the plugin speaks (`x-plugwire-version`). */
  readonly extensions: string;
  /** Who the plugin says it is (`serve(impl, { name, version })`). */
  readonly plugin: {
    /** Its name: the `name` option, else the `@Plugin()` names of the contracts it serves, joined by `, `. */
    readonly name: string;
    /** Its version, the `version` option; `null` when none was given. */
    readonly version: string | null;
  };
  /** Every method the plugin serves, one entry per route. */
  readonly methods: readonly ManifestMethod[];
  /** The JSON Schemas of the classes that parameters and results refer to (empty without schemas). */
  readonly definitions: Readonly<Record<string, JsonSchema>>;
}

/** What the manifest is built from: one entry per served route. @internal */
export interface ManifestSource {
  readonly definition: MethodDefinition;
  readonly contract: string;
  readonly implemented: boolean;
}

interface SchemaTools {
  /** The schema of one class, from its own metadata; a nested class is a `$ref` to the name `used` gives it. */
  of(type: Type): JsonSchema;
  /** Every class's schema by class name, for a `$ref` the generator did not write (an `@JSONSchema()` of the user's). */
  byName(): Record<string, JsonSchema>;
}

/** The fields of class-validator's metadata that say which field of which class a rule is on. */
interface RuleOn {
  readonly target: unknown;
  readonly propertyName: string;
}

/**
 * class-validator-jsonschema, loaded when a manifest is first asked for: it loads
 * class-validator, which a plugin without DTOs otherwise never needs.
 *
 * Its own converters refer to a nested class by the class's name alone (`Address`), so two
 * classes of that name would share one entry of `definitions`. The two that write such a
 * `$ref` are replaced: they find the class as the generator does (`@Type()`, else the field's
 * design type) and refer to it by the name `used` gives that class.
 */
function schemaTools(used: ClassNames): SchemaTools {
  const { targetConstructorToSchema, validationMetadatasToSchemas } = classValidatorJsonSchema();
  const storage = classTransformerStorage();
  const refTo = (type: unknown): GeneratedSchema | undefined => {
    if (typeof type !== 'function') return undefined;
    if (type === String || type === Symbol) return { type: 'string' };
    if (type === Number) return { type: 'number' };
    if (type === Boolean) return { type: 'boolean' };
    return { $ref: `#/definitions/${used.of(type as Type)}` } as GeneratedSchema;
  };
  const designType = (rule: RuleOn): unknown => (typeof rule.target === 'function' ? readPropertyType(rule.target.prototype as object, rule.propertyName) : undefined);
  const converters = {
    // What the plugin takes: an RFC 3339 date-time, not a date without a time.
    isDate: { type: 'string' as const, format: 'date-time' },
    isEnum: (meta: { constraints: unknown[] }) => enumSchema(meta.constraints[0]) as GeneratedSchema,
  };
  const base = { refPointerPrefix: '#/definitions/', classTransformerMetadataStorage: storage, additionalConverters: converters };
  const options = {
    ...base,
    additionalConverters: {
      ...converters,
      // ValidationTypes.NESTED_VALIDATION (@ValidateNested()): the class of @Type(), else the design type.
      nestedValidation: (rule: RuleOn) => {
        if (typeof rule.target !== 'function') return undefined;
        const typeMeta = storage.findTypeMetadata(rule.target, rule.propertyName);
        return refTo(typeMeta ? typeMeta.typeFunction() : designType(rule));
      },
      // ValidationTypes.CUSTOM_VALIDATION (@Validate() and any rule without a converter): the design type.
      customValidation: (rule: RuleOn) => refTo(designType(rule)),
    },
  };
  return {
    of: (type) => targetConstructorToSchema(type, options) as JsonSchema,
    // With the generator's own converters: every class of the program would take a name here.
    byName: () => validationMetadatasToSchemas(base) as Record<string, JsonSchema>,
  };
}

/** A schema as class-validator-jsonschema types them. */
type GeneratedSchema = ReturnType<typeof import('class-validator-jsonschema').targetConstructorToSchema>;

/**
 * The schema of `@IsEnum(entity)`: the enum's values, as class-validator checks them, without
 * the names a numeric TypeScript enum maps back from its numbers (`Level[1] === 'Low'`),
 * typed `number` or `string` when every value is one.
 */
function enumSchema(entity: unknown): JsonSchema {
  const members = typeof entity === 'object' && entity !== null ? (entity as Record<string, unknown>) : {};
  const values = Object.keys(members)
    .filter((key) => {
      const value = members[key];
      return !(typeof value === 'string' && members[value] === Number(key));
    })
    .map((key) => members[key]);
  const type = values.length > 0 && values.every((v) => typeof v === 'number') ? 'number' : values.every((v) => typeof v === 'string') ? 'string' : undefined;
  return type === undefined ? { enum: values } : { enum: values, type };
}

/**
 * The classes a manifest refers to, each under a name of its own: its class name, and for a
 * second class of that name `Options_2`, then `Options_3`, in the order they are met (the
 * parameters and results of the methods in order, then the classes their fields nest).
 */
class ClassNames {
  readonly names = new Map<Type, string>();
  readonly types = new Map<string, Type>();

  of(type: Type): string {
    let name = this.names.get(type);
    if (name === undefined) {
      name = type.name;
      for (let i = 2; this.types.has(name); i++) name = `${type.name}_${i}`;
      this.names.set(type, name);
      this.types.set(name, type);
    }
    return name;
  }
}

const PRIMITIVES: Record<Exclude<ParamDefinition['kind'], 'class'>, ManifestValue> = {
  string: { type: 'string', schema: { type: 'string' } },
  number: { type: 'number', schema: { type: 'number' } },
  boolean: { type: 'boolean', schema: { type: 'boolean' } },
  array: { type: 'array', schema: { type: 'array' } },
  date: { type: 'Date', schema: { type: 'string', format: 'date-time' } },
  any: { type: 'unknown', schema: {} },
};

/** An array of a value: `Item[]`, its schema an array of the item's. */
function arrayOf(item: ManifestValue): ManifestValue {
  return item.schema === undefined ? { type: `${item.type}[]` } : { type: `${item.type}[]`, schema: { type: 'array', items: item.schema } };
}

function classValue(type: Type, array: boolean, used: ClassNames | undefined): ManifestValue {
  const value = used ? { type: type.name, schema: { $ref: `#/definitions/${used.of(type)}` } } : { type: type.name };
  return array ? arrayOf(value) : value;
}

/** A `returns: Date` or `returns: [Date]` result: ISO strings on the wire. */
function dateValue(array: boolean, schemas: boolean): ManifestValue {
  const date = primitive('date', schemas);
  return array ? arrayOf(date) : date;
}

/** A parameter: a class, an array named `[Item]` in `params` (of a class, dates or primitives), or a primitive. */
function paramValue(param: ParamDefinition, used: ClassNames | undefined, schemas: boolean): ManifestValue {
  if (param.kind === 'class' && param.type) return classValue(param.type, false, used);
  const items = param.kind === 'array' ? param.items : undefined;
  if (!items || items.kind === 'any' || items.kind === 'array') return primitive(param.kind, schemas);
  if (items.kind === 'class') return items.type ? classValue(items.type, true, used) : primitive('array', schemas);
  return arrayOf(primitive(items.kind, schemas));
}

/** The names a schema's `$ref`s point to in `definitions`, in order. */
function refsIn(schema: JsonSchema): string[] {
  return [...JSON.stringify(schema).matchAll(/"#\/definitions\/([^"]+)"/g)].map((m) => m[1] as string);
}

/**
 * Fills `definitions`: each parameter and result class, each followed by the classes its
 * fields nest, depth first, each from its own metadata (two classes may share a name).
 */
function collectDefinitions(used: ClassNames): Record<string, JsonSchema> {
  const tools = schemaTools(used);
  const definitions: Record<string, JsonSchema> = {};
  const topLevel = new Set(used.names.keys());
  let byName: Record<string, JsonSchema> | undefined;
  const add = (name: string): void => {
    if (Object.hasOwn(definitions, name)) return;
    const type = used.types.get(name);
    // A $ref of the user's own (@JSONSchema()) names a class the generator did not meet.
    const schema = type ? tools.of(type) : (byName ??= tools.byName())[name];
    // A class without any class-validator decorator has no schema of its own.
    definitions[name] = schema === undefined || Object.keys(schema).length === 0 ? { type: 'object' } : schema;
    for (const nested of refsIn(definitions[name])) {
      // A parameter or result class has its own turn, in the order of the methods.
      const nestedType = used.types.get(nested);
      if (!nestedType || !topLevel.has(nestedType)) add(nested);
    }
  };
  for (const type of topLevel) add(used.of(type));
  return definitions;
}

function primitive(kind: ParamDefinition['kind'], schemas: boolean): ManifestValue {
  const value = PRIMITIVES[kind === 'class' ? 'any' : kind];
  return schemas ? value : { type: value.type };
}

/**
 * Builds a plugin's manifest from its route table; without schemas (what a host's
 * contract check asks for) it does not load the schema generator.
 * @internal
 */
export function buildManifest(sources: readonly ManifestSource[], plugin: { name: string; version: string | null }, schemas = true): Manifest {
  const used = schemas ? new ClassNames() : undefined;
  const methods = sources.map(({ definition, contract, implemented }): ManifestMethod => ({
    route: definition.route,
    name: definition.propertyKey,
    contract,
    idempotent: definition.idempotent,
    validated: definition.validate,
    implemented,
    // Only on stream methods, so a host that predates streams sees the same entries as before.
    ...(definition.stream ? { stream: true as const } : {}),
    params: definition.params.map((p) => paramValue(p, used, schemas)),
    result: definition.returns === Date ? dateValue(definition.returnsArray, schemas) : definition.returns ? classValue(definition.returns, definition.returnsArray, used) : primitive('any', schemas),
  }));
  const definitions = used && used.names.size > 0 ? collectDefinitions(used) : {};
  return { manifest: 1, protocol: 1, extensions: EXTENSION_VERSION, plugin, methods, definitions };
}
