import type { JsonSchema, Manifest } from '../manifest/manifest';

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

/** A JSON Schema in a few words: `string, 1..50 chars`, `integer 0..150`, `Address`, `string[]`. */
export function describeSchema(schema: JsonSchema | undefined): string {
  if (!schema || Object.keys(schema).length === 0) return 'any';
  const ref = schema.$ref;
  if (typeof ref === 'string') return ref.replace(/^#\/definitions\//, '');
  const type = Array.isArray(schema.type) ? schema.type.join('|') : typeof schema.type === 'string' ? schema.type : 'object';
  if (type === 'array') return `${schema.items ? describeSchema(schema.items as JsonSchema) : 'any'}[]`;
  const notes: string[] = [];
  const range = (min: unknown, max: unknown, unit = ''): void => {
    if (min !== undefined || max !== undefined) notes.push(`${min === undefined ? '' : JSON.stringify(min)}..${max === undefined ? '' : JSON.stringify(max)}${unit}`);
  };
  range(schema.minLength, schema.maxLength, ' chars');
  range(schema.minimum, schema.maximum);
  range(schema.minItems, schema.maxItems, ' items');
  if (typeof schema.format === 'string') notes.push(schema.format);
  if (Array.isArray(schema.enum)) notes.push(`one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`);
  if (typeof schema.pattern === 'string') notes.push(`/${schema.pattern}/`);
  return notes.length === 0 ? type : `${type} (${notes.join(', ')})`;
}

/** The manifest as a table of methods, then the classes they use, field by field. */
export function renderManifest(manifest: Manifest): string {
  const { plugin } = manifest;
  const lines = [`plugin ${plugin.name}${plugin.version ? ` ${plugin.version}` : ''} (protocol ${manifest.protocol}, plugwire extensions ${manifest.extensions})`, ''];
  const rows = [['ROUTE', 'METHOD', 'PARAMETERS', 'RESULT', 'IDEMPOTENT']];
  for (const m of manifest.methods) {
    rows.push([m.route, m.name, m.params.map((p) => describeSchema(p.schema)).join(', ') || '-', describeSchema(m.result.schema), m.idempotent ? 'yes' : 'no']);
  }
  lines.push(table(rows));
  for (const [name, schema] of Object.entries(manifest.definitions)) {
    lines.push('', name);
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
    const fields = Object.entries(properties).map(([field, s]) => [`  ${field}${required.has(field) ? '' : '?'}`, describeSchema(s)]);
    lines.push(fields.length === 0 ? '  (no validated fields)' : table(fields));
  }
  return lines.join('\n');
}
