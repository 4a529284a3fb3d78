import type { z } from 'zod';

/**
 * What a sensitive value reads as once its subject was forgotten (`forget(subject)`), unless its
 * field names another placeholder: replay, `decide`, projections, rebuilds, the CLI and the
 * dashboard all see this string where the value was (docs/sensitive-data.md).
 */
export const FORGOTTEN = '[forgotten]';

/** Whether a value is the default placeholder of a forgotten sensitive value ({@link FORGOTTEN}). */
export function isForgotten(value: unknown): boolean {
  return value === FORGOTTEN;
}

/** Where a sensitive value is being stored, for its subject function. */
export interface SubjectContext {
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly eventType: string;
}

/**
 * Names the data subject a sensitive value belongs to (a user id, an author id…), from the whole
 * event's data as `decide` produced it and where it is stored. Called only when the event is
 * stored; the id is kept in clear beside the sealed value, so pick a pseudonymous one.
 */
// The data's type is the event's, which a field's schema cannot know: callers read it as they wrote it.
// biome-ignore lint/suspicious/noExplicitAny: with unknown a typed `(data: { userId: string }) => …` is not assignable (parameters are contravariant); with never the store cannot call it
export type SubjectOf = (data: any, where: SubjectContext) => string;

/**
 * Options of {@link sensitive}. A string field may leave `placeholder` out ({@link FORGOTTEN});
 * any other field must say what it reads as once forgotten, as a value of its own type.
 */
export type SensitiveOptions<TValue> = { readonly subject: SubjectOf } & ([TValue] extends [string]
  ? { readonly placeholder?: TValue }
  : { readonly placeholder: TValue });

/** How a schema was marked by {@link sensitive}. */
export interface SensitiveMark {
  readonly subject: SubjectOf;
  /** What the value reads as once forgotten. */
  readonly placeholder: unknown;
}

const MARKS = new WeakMap<object, SensitiveMark>();

/**
 * Mark a field of an event's zod schema as personal data of a data subject: the store keeps it
 * sealed (AES-256-GCM) under that subject's key, and after `forget(subject)` everyone reads the
 * placeholder instead. Returns a copy of the schema (the original stays unmarked, so a command can
 * share it); only events' schemas are looked at.
 * @example
 * const events = {
 *   authorAdded: z.object({ name: z.string(), email: sensitive(z.email(), { subject: (_data, { aggregateId }) => aggregateId }) }),
 * };
 */
export function sensitive<T extends z.ZodType>(schema: T, options: SensitiveOptions<z.output<T>>): T {
  const marked = schema.clone() as T;
  const placeholder = (options as { readonly placeholder?: unknown }).placeholder;
  MARKS.set(marked, { subject: options.subject, placeholder: placeholder === undefined ? FORGOTTEN : placeholder });
  return marked;
}

/** The mark {@link sensitive} put on this very schema, if any (wrappers are not looked through). */
export function sensitiveMarkOf(schema: unknown): SensitiveMark | undefined {
  return typeof schema === 'object' && schema !== null ? MARKS.get(schema) : undefined;
}
