import { randomUUID } from 'node:crypto';
import { ErrorCode } from '@ratchet/core';
import type { GatewayErrorResult } from '@ratchet/gateway';
import { z } from 'zod';
import { fieldErrors, issuesOf, type FieldErrors } from './field-errors.js';

/**
 * Why a form did not lead to a new row; the page shows it in the form, which keeps its hidden id
 * unless `retry` is false (that id is used up). `warning` is for the log: something an operator may
 * have to fix.
 */
export type FormRefusal =
  /** A field's value is wrong (the schema said so, here or at the gateway): fix and resubmit. */
  (
    | { readonly status: 'invalid'; readonly fields: FieldErrors }
    /** A business rule refused it (the address is taken, the author is unknown). */
    | { readonly status: 'refused'; readonly fields: FieldErrors }
    /** It could not be done (`retry` false), or its outcome is unknown (`retry`: submitting the same form again does nothing twice). */
    | { readonly status: 'failed'; readonly message: string; readonly retry: boolean }
  ) & { readonly warning?: string };

/** The message of a failure whose outcome is unknown. */
export const TRY_AGAIN = 'The bookstore could not confirm this in time. Submit the form again: nothing will be added twice.';

/** The page's reading of a gateway error answer. */
export function refusalOf(error: GatewayErrorResult['error']): FormRefusal {
  if (error.code === ErrorCode.VALIDATION_FAILED) return { status: 'invalid', fields: fieldErrors(issuesOf(error.details)) };
  if (error.retryable) return { status: 'failed', message: TRY_AGAIN, retry: true };
  return { status: 'failed', message: `This could not be done (${error.code}): ${error.message}`, retry: false };
}

const uuid = z.uuid();

/**
 * The id a form names (its hidden field, set when the page was rendered), else a new one. The
 * same form submitted twice thus means the same aggregate and the same command ids: one row.
 */
export function formId(value: string | undefined): string {
  return value !== undefined && uuid.safeParse(value).success ? value : randomUUID();
}
