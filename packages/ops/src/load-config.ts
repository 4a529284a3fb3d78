import { ValidationError, issuesFromZod } from '@ratchet/core';
import type { z } from 'zod';

/**
 * Read a process's config from the environment with a zod schema. Throws a ValidationError that
 * names every bad or missing variable, so a misconfigured process says what to fix and exits.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  // Empty strings mean "unset", as in most deploy tools.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const issues = issuesFromZod(result.error);
  const list = issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`).join('; ');
  throw new ValidationError(`invalid configuration: ${list}`, issues);
}
