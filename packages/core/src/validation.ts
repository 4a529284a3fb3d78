import type { z } from 'zod';
import { ValidationError, type ValidationIssue } from './errors.js';

/** Turn zod issues into Ratchet's issue list (paths as strings and numbers). */
export function issuesFromZod(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map((p) => (typeof p === 'number' ? p : String(p))),
    message: issue.message,
  }));
}

/** Parse `value` with `schema`, or throw a {@link ValidationError} listing every issue. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = issuesFromZod(result.error);
  const summary = issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
  throw new ValidationError(`${what} is invalid: ${summary}`, issues, { cause: result.error });
}
