import { issuesFromZod, type ValidationIssue } from '@ratchet/core';
import type { z } from 'zod';

/** A message per form field (the first issue found for it). */
export type FieldErrors = Readonly<Record<string, string>>;

/**
 * The first message per field of validation issues, whether from a local parse (`["name"]`) or
 * from the gateway, whose paths start at its request body (`["payload", "name"]`). Issues not
 * about a payload field (the command id, the envelope) go under `form`.
 */
export function fieldErrors(issues: readonly ValidationIssue[]): FieldErrors {
  const fields: Record<string, string> = {};
  for (const issue of issues) {
    const path = issue.path[0] === 'payload' ? issue.path.slice(1) : issue.path;
    const field = path.length > 0 && typeof path[0] === 'string' ? path[0] : 'form';
    fields[field] ??= issue.message;
  }
  return fields;
}

/** Parse form values with a command's own schema: the values to send, or the field errors. */
export function checkForm<S extends z.ZodType>(
  schema: S,
  values: unknown,
): { readonly ok: true; readonly value: z.output<S> } | { readonly ok: false; readonly fields: FieldErrors } {
  const parsed = schema.safeParse(values);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, fields: fieldErrors(issuesFromZod(parsed.error)) };
}

/** The issues of a gateway error's details, when it has them. */
export function issuesOf(details: Readonly<Record<string, unknown>> | undefined): ValidationIssue[] {
  const issues = details?.issues;
  return Array.isArray(issues)
    ? issues.filter((i): i is ValidationIssue => typeof i === 'object' && i !== null && Array.isArray((i as ValidationIssue).path))
    : [];
}
