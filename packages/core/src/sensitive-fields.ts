import type { AnyAggregate } from './aggregate.js';
import { sensitiveMarkOf, type SensitiveMark } from './sensitive.js';

/**
 * A step into an event's data: an object key, or `null` for every element of an array.
 */
export type SensitivePathStep = string | null;

/** One field of an event's schema marked by `sensitive`: where it is in the data, and its mark. */
export interface SensitiveField extends SensitiveMark {
  readonly path: readonly SensitivePathStep[];
}

/** Wrappers whose inner schema holds the field's value (optional, nullable, defaults…). */
const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional', 'catch']);
const MAX_DEPTH = 32;
const FIELDS = new WeakMap<object, readonly SensitiveField[]>();
const SENSITIVE_AGGREGATES = new WeakMap<object, boolean>();

interface SchemaDef {
  readonly type?: string;
  readonly shape?: Readonly<Record<string, unknown>>;
  readonly innerType?: unknown;
  readonly element?: unknown;
  readonly in?: unknown;
  readonly out?: unknown;
}

function defOf(schema: unknown): SchemaDef | undefined {
  return (schema as { _zod?: { def?: SchemaDef } } | null)?._zod?.def;
}

function walk(schema: unknown, path: SensitivePathStep[], out: SensitiveField[], depth: number): void {
  if (depth > MAX_DEPTH) return;
  const mark = sensitiveMarkOf(schema);
  if (mark !== undefined) {
    out.push({ ...mark, path });
    return;
  }
  const def = defOf(schema);
  if (def === undefined) return;
  if (def.type === 'object' && def.shape !== undefined) {
    for (const [key, field] of Object.entries(def.shape)) walk(field, [...path, key], out, depth + 1);
  } else if (def.type !== undefined && WRAPPERS.has(def.type)) {
    walk(def.innerType, path, out, depth + 1);
  } else if (def.type === 'array') {
    walk(def.element, [...path, null], out, depth + 1);
  } else if (def.type === 'pipe') {
    // A transform's input is what decide's data is checked against; its output is what is stored.
    const before = out.length;
    walk(def.out, path, out, depth + 1);
    if (out.length === before) walk(def.in, path, out, depth + 1);
  }
}

/**
 * The fields of an event schema marked by `sensitive` (looking through objects, arrays and the
 * optional/nullable/default wrappers), computed once per schema. Empty for most events.
 */
export function sensitiveFieldsOf(schema: unknown): readonly SensitiveField[] {
  if (typeof schema !== 'object' || schema === null) return [];
  let fields = FIELDS.get(schema);
  if (fields === undefined) {
    const found: SensitiveField[] = [];
    walk(schema, [], found, 0);
    fields = found;
    FIELDS.set(schema, fields);
  }
  return fields;
}

/** Whether any event of the aggregate has a sensitive field (its events are sealed, its snapshots too). */
export function hasSensitiveFields(aggregate: Pick<AnyAggregate, 'events'>): boolean {
  let has = SENSITIVE_AGGREGATES.get(aggregate);
  if (has === undefined) {
    has = Object.values(aggregate.events as Record<string, unknown>).some((schema) => sensitiveFieldsOf(schema).length > 0);
    SENSITIVE_AGGREGATES.set(aggregate, has);
  }
  return has;
}
