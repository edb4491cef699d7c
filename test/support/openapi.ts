/**
 * docs/openapi.yaml for tests: loading, the operations it documents, and a small JSON
 * Schema checker (the subset the document uses: $ref, type, enum, properties, required,
 * additionalProperties, items, prefixItems, oneOf) that lists every mismatch by path.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const OPENAPI_PATH = fileURLToPath(new URL('../../docs/openapi.yaml', import.meta.url));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Doc = any;
export type Schema = Record<string, unknown>;

export function loadOpenApi(): Doc {
  return parse(readFileSync(OPENAPI_PATH, 'utf8'));
}

export const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** `METHOD /path` of every documented operation. */
export function documentedOperations(doc: Doc): string[] {
  const out: string[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
    for (const m of METHODS) if (item[m]) out.push(`${m.toUpperCase()} ${path}`);
  }
  return out;
}

export function resolveRef(doc: Doc, ref: string): Schema {
  if (!ref.startsWith('#/')) throw new Error(`only local refs: ${ref}`);
  let node = doc;
  for (const part of ref.slice(2).split('/')) {
    node = node?.[part];
    if (node === undefined) throw new Error(`unresolved $ref ${ref}`);
  }
  return node as Schema;
}

/** Every mismatch between `value` and `schema`, as `path: problem` lines. */
export function validate(doc: Doc, schema: Schema, value: unknown, path = '$'): string[] {
  if (typeof schema.$ref === 'string') return validate(doc, resolveRef(doc, schema.$ref), value, path);
  if (Array.isArray(schema.oneOf)) {
    const passing = (schema.oneOf as Schema[]).filter((s) => validate(doc, s, value, path).length === 0);
    return passing.length === 1 ? [] : [`${path}: matches ${passing.length} of oneOf`];
  }
  const errors: string[] = [];
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((t) => hasType(value, t))) return [`${path}: ${JSON.stringify(value)?.slice(0, 60)} is not ${types.join(' or ')}`];
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value))
    errors.push(`${path}: ${JSON.stringify(value)} is not one of ${schema.enum.join(', ')}`);
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const r of (schema.required ?? []) as string[]) if (!(r in obj)) errors.push(`${path}: missing required ${r}`);
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) errors.push(...validate(doc, props[k]!, v, `${path}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: undocumented property ${k}`);
      else if (typeof schema.additionalProperties === 'object')
        errors.push(...validate(doc, schema.additionalProperties as Schema, v, `${path}.${k}`));
    }
  }
  if (Array.isArray(value)) {
    const prefix = (schema.prefixItems ?? []) as Schema[];
    value.forEach((v, i) => {
      const s = prefix[i] ?? (schema.items as Schema | undefined);
      if (s) errors.push(...validate(doc, s, v, `${path}[${i}]`));
    });
  }
  return errors;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'null':
      return value === null;
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    default:
      return typeof value === type;
  }
}
