import type { JsonSchema, Manifest } from '../manifest/manifest';
import { forTerminal } from './terminal-text';

/** The rows as columns; each cell is the plugin's text, escaped for the terminal here (see terminal-text.ts). */
function table(cells: readonly (readonly string[])[]): string {
  const rows = cells.map((r) => r.map((cell) => forTerminal(cell)));
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A JSON Schema in a few words: `string, 1..50 chars`, `integer 0..150`, `Address`, `string[]`.
 * @param schema - a parameter's, result's or field's schema from a manifest
 * @returns the words; `any` without a schema
 */
export function describeSchema(schema: JsonSchema | undefined): string {
  if (!isObject(schema) || Object.keys(schema).length === 0) return 'any';
  const ref = schema.$ref;
  if (typeof ref === 'string') return ref.replace(/^#\/definitions\//, '');
  const type = Array.isArray(schema.type) ? schema.type.join('|') : typeof schema.type === 'string' ? schema.type : 'object';
  if (type === 'array') return `${isObject(schema.items) ? describeSchema(schema.items) : 'any'}[]`;
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

/**
 * A parameter or result: its schema in a few words, or without one (a manifest asked for
 * without schemas, or a plugin in another language that sends none) its declared type.
 */
function describeValue(value: unknown): string {
  if (!isObject(value)) return 'any';
  if (isObject(value['schema'])) return describeSchema(value['schema']);
  return typeof value['type'] === 'string' && value['type'] !== '' ? value['type'] : 'any';
}

/**
 * The manifest as a table of methods (a stream method's result reads `stream of Item`),
 * then the classes they use, field by field. Only
 * the routes are sure to be there (the host checks nothing else): a field that is
 * missing or of another type shows as `-` or `any`.
 * @param manifest - what the plugin answered at its manifest route, checked only loosely
 * @param fallbackName - the plugin's name when the manifest does not give one
 * @returns the text, one line per method and per field; what the manifest says is shown
 *   with its control and bidirectional formatting characters escaped (terminal-text.ts)
 */
export function renderManifest(manifest: Manifest, fallbackName = 'plugin'): string {
  const loose = manifest as Partial<Record<keyof Manifest, unknown>>;
  const plugin = isObject(loose.plugin) ? loose.plugin : {};
  const name = typeof plugin['name'] === 'string' && plugin['name'] !== '' ? plugin['name'] : fallbackName;
  const version = typeof plugin['version'] === 'string' && plugin['version'] !== '' ? ` ${plugin['version']}` : '';
  const shown = (value: unknown): string => (typeof value === 'string' || typeof value === 'number' ? String(value) : '?');
  const lines = [forTerminal(`plugin ${name}${version} (protocol ${shown(loose.protocol)}, plugwire extensions ${shown(loose.extensions)})`), ''];
  const rows = [['ROUTE', 'METHOD', 'PARAMETERS', 'RESULT', 'IDEMPOTENT']];
  for (const m of manifest.methods as unknown as readonly Record<string, unknown>[]) {
    const params = Array.isArray(m['params']) ? m['params'].map(describeValue).join(', ') : '';
    const idempotent = typeof m['idempotent'] === 'boolean' ? (m['idempotent'] ? 'yes' : 'no') : '-';
    // A stream method's result is the type of its items.
    const result = m['stream'] === true ? `stream of ${describeValue(m['result'])}` : describeValue(m['result']);
    rows.push([String(m['route']), typeof m['name'] === 'string' ? m['name'] : '-', params || '-', result, idempotent]);
  }
  lines.push(table(rows));
  const definitions = isObject(loose.definitions) ? loose.definitions : {};
  for (const [className, schema] of Object.entries(definitions)) {
    lines.push('', forTerminal(className));
    const properties = isObject(schema) && isObject(schema['properties']) ? schema['properties'] : {};
    const required = new Set(isObject(schema) && Array.isArray(schema['required']) ? (schema['required'] as unknown[]) : []);
    const fields = Object.entries(properties).map(([field, s]) => [`  ${field}${required.has(field) ? '' : '?'}`, describeSchema(s as JsonSchema)]);
    lines.push(fields.length === 0 ? '  (no validated fields)' : table(fields));
  }
  return lines.join('\n');
}
