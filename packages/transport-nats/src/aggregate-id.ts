import { ErrorCode, RatchetError, ValidationError } from '@ratchet/core';

/** Longest aggregate id accepted, in UTF-16 code units (JavaScript string length). */
export const MAX_AGGREGATE_ID_LENGTH = 128;

/** Aggregate type names: they appear as one NATS subject token. */
export const AGGREGATE_TYPE_PATTERN = /^[a-z][a-z0-9-]{0,63}$/;

// `.`, `*`, `>` split or match NATS subject tokens; whitespace and controls (C0, DEL, C1) are
// not allowed in subjects at all. `\s` also covers Unicode spaces such as U+00A0 and U+2028.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the class lists the control characters an id must not contain
const FORBIDDEN_ID_CHARS = /[.*>\s\u0000-\u001f\u007f-\u009f]/u;

/** Why `id` is not a valid aggregate id, or `undefined` when it is. */
export function aggregateIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return 'must be a string';
  if (id.length === 0) return 'must not be empty';
  if (id.length > MAX_AGGREGATE_ID_LENGTH) return `must be at most ${MAX_AGGREGATE_ID_LENGTH} characters`;
  const bad = FORBIDDEN_ID_CHARS.exec(id);
  if (bad) return `must not contain ${JSON.stringify(bad[0])} (".", "*", ">", whitespace and control characters are not subject-safe)`;
  return undefined;
}

/** Throw RatchetError(INVALID_ID) unless `id` is a subject-safe aggregate id. */
export function validateAggregateId(id: unknown): asserts id is string {
  const problem = aggregateIdProblem(id);
  if (problem !== undefined) {
    const shown = typeof id === 'string' ? JSON.stringify(id.length > 40 ? `${id.slice(0, 40)}…` : id) : typeof id;
    throw new RatchetError(ErrorCode.INVALID_ID, `aggregate id ${shown} ${problem}`, { details: { reason: problem } });
  }
}

/** Throw a ValidationError unless `type` matches {@link AGGREGATE_TYPE_PATTERN}. */
export function validateAggregateType(type: unknown): asserts type is string {
  if (typeof type !== 'string' || !AGGREGATE_TYPE_PATTERN.test(type)) {
    const message = `aggregate type must match ${AGGREGATE_TYPE_PATTERN.source}`;
    throw new ValidationError(`${message}, got ${JSON.stringify(type) ?? typeof type}`, [{ path: ['aggregateType'], message }]);
  }
}
