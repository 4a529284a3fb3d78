import { ValidationError, type ValidationIssue } from '@ratchet/core';

/** Throw a ValidationError for bad store input. */
export function invalid(message: string, issues: ValidationIssue[]): never {
  throw new ValidationError(message, issues);
}

/** `value` as an integer in [min, max], or a ValidationError naming `path`. */
export function checkInt(value: unknown, path: string, min: number, max = 2_147_483_647): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    invalid(`invalid ${path}`, [{ path: [path], message: `must be an integer from ${min} to ${max}` }]);
  }
  return value;
}

/** `value` as a non-empty string without NUL, or a ValidationError naming `path`. */
export function checkText(value: unknown, path: string, maxLength = 200): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength || value.includes('\u0000')) {
    invalid(`invalid ${path}`, [{ path: [path], message: `must be a non-empty string of at most ${maxLength} characters` }]);
  }
  return value;
}
