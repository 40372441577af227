import type { MethodDefinition, ParamDefinition, Type } from '../metadata/method-definition';
import { EXTENSION_VERSION } from '../protocol/constants';

/** The reserved route where a plugwire plugin describes itself. A version 1 host never calls it. */
export const MANIFEST_ROUTE = '/.plugwire/manifest';

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
  readonly route: string;
  /** The method's name on the contract class. */
  readonly name: string;
  /** The name of the `@Plugin()` contract that declares it. */
  readonly contract: string;
  /** Whether a call cut off by a crash may be sent again (see `@Method({ idempotent })`). */
  readonly idempotent: boolean;
  /** Whether the plugin validates class-typed parameters. */
  readonly validated: boolean;
  /** The parameters in order: one parameter travels as the payload itself, several as a JSON array. */
  readonly params: readonly ManifestValue[];
  /** The result, `type: 'unknown'` when the contract does not say (no `returns`). */
  readonly result: ManifestValue;
}

/**
 * What a plugwire plugin answers at {@link MANIFEST_ROUTE}: its protocol versions, its
 * name and version, and for each method its route, parameter and result schemas.
 */
export interface Manifest {
  /** The version of this document's format. */
  readonly manifest: 1;
  /** The wire protocol version (go-plugin's version 1). */
  readonly protocol: 1;
  /** The plugwire extension version the plugin speaks (`x-plugwire-version`). */
  readonly extensions: string;
  readonly plugin: { readonly name: string; readonly version: string | null };
  readonly methods: readonly ManifestMethod[];
  /** The JSON Schemas of the classes that parameters and results refer to (empty without schemas). */
  readonly definitions: Readonly<Record<string, JsonSchema>>;
}

/** What the manifest is built from: one entry per served route. @internal */
export interface ManifestSource {
  readonly definition: MethodDefinition;
  readonly contract: string;
}

type SchemaTools = {
  schemas: Record<string, JsonSchema>;
};

/**
 * class-validator-jsonschema, loaded when a manifest is first asked for: it loads
 * class-validator, which a plugin without DTOs otherwise never needs.
 */
function schemaTools(): SchemaTools {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { validationMetadatasToSchemas } = require('class-validator-jsonschema') as typeof import('class-validator-jsonschema');
  const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as typeof import('class-transformer/types/storage');
  /* eslint-enable @typescript-eslint/no-require-imports */
  return { schemas: validationMetadatasToSchemas({ refPointerPrefix: '#/definitions/', classTransformerMetadataStorage: defaultMetadataStorage }) as Record<string, JsonSchema> };
}

const PRIMITIVES: Record<Exclude<ParamDefinition['kind'], 'class'>, ManifestValue> = {
  string: { type: 'string', schema: { type: 'string' } },
  number: { type: 'number', schema: { type: 'number' } },
  boolean: { type: 'boolean', schema: { type: 'boolean' } },
  array: { type: 'array', schema: { type: 'array' } },
  date: { type: 'Date', schema: { type: 'string', format: 'date-time' } },
  any: { type: 'unknown', schema: {} },
};

function classValue(type: Type, array: boolean, used: Set<string> | undefined): ManifestValue {
  if (!used) return { type: array ? `${type.name}[]` : type.name };
  used.add(type.name);
  const ref = { $ref: `#/definitions/${type.name}` };
  return array ? { type: `${type.name}[]`, schema: { type: 'array', items: ref } } : { type: type.name, schema: ref };
}

function collect(name: string, schemas: Record<string, JsonSchema>, into: Record<string, JsonSchema>): void {
  if (into[name] !== undefined) return;
  // A class without any class-validator decorator has no schema of its own.
  const schema = schemas[name] ?? { type: 'object' };
  into[name] = schema;
  const text = JSON.stringify(schema);
  for (const m of text.matchAll(/"#\/definitions\/([^"]+)"/g)) collect(m[1] as string, schemas, into);
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
  const used = schemas ? new Set<string>() : undefined;
  const methods = sources.map(({ definition, contract }): ManifestMethod => ({
    route: definition.route,
    name: definition.propertyKey,
    contract,
    idempotent: definition.idempotent,
    validated: definition.validate,
    params: definition.params.map((p) => (p.kind === 'class' && p.type ? classValue(p.type, false, used) : primitive(p.kind, schemas))),
    result: definition.returns ? classValue(definition.returns, definition.returnsArray, used) : primitive('any', schemas),
  }));
  const definitions: Record<string, JsonSchema> = {};
  if (used && used.size > 0) {
    const { schemas } = schemaTools();
    for (const name of used) collect(name, schemas, definitions);
  }
  return { manifest: 1, protocol: 1, extensions: EXTENSION_VERSION, plugin, methods, definitions };
}
