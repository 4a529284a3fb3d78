import type { SendResult } from '@ratchet/client';
import { ErrorCode, type RatchetError, type ValidationIssue } from '@ratchet/core';
import { z } from 'zod';
import { bodyPath } from './body-path.js';

const version = z.number().int().min(0).describe('stream version');
const commandId = z.string().describe('the command id used (the Idempotency-Key); resend with it to learn the outcome of a TIMEOUT');
const attempts = z.number().int().min(0).describe('NATS requests sent; 0 when the gateway refused the request before sending');

/** A committed event as the gateway reports it (the protocol's reply event). */
export const GatewayEventSchema = z.object({
  version: z.number().int().min(1).describe('position in the stream, from 1'),
  type: z.string(),
  schemaVersion: z.number().int().min(1),
  data: z.unknown(),
});

/** The command was committed (or had been: `duplicate`). */
export const OkResultSchema = z.object({
  status: z.literal('ok'),
  version: version.describe('stream version after the command'),
  events: z.array(GatewayEventSchema),
  duplicate: z.boolean().describe('true when this command id had been committed before; nothing new was written'),
  commandId,
  attempts,
  waited: z
    .boolean()
    .optional()
    .describe(
      'present with ?waitFor: true when the projection applied the stream up to `version` before answering (200), false when the deadline passed first (202)',
    ),
});

/** The aggregate refused the command by a business rule; nothing was written. */
export const RejectedResultSchema = z.object({
  status: z.literal('rejected'),
  reason: z.string(),
  version: version.describe('stream version the decision was made against'),
  commandId,
  attempts,
});

/** The error part of an error result: the protocol's error (docs/protocol.md, section 8). */
export const GatewayErrorSchema = z.object({
  code: z.string().describe('a stable error code (ErrorCode); accept codes you do not know and go by `retryable`'),
  message: z.string(),
  retryable: z.boolean().describe('whether resending the same request (same Idempotency-Key) can help'),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** The command could not be handled, or the gateway refused the request before sending it. */
export const ErrorResultSchema = z.object({
  status: z.literal('error'),
  error: GatewayErrorSchema,
  commandId: commandId.optional(),
  attempts,
});

/** Every body the gateway answers a command request with. */
export const GatewayResultSchema = z.discriminatedUnion('status', [OkResultSchema, RejectedResultSchema, ErrorResultSchema]);

/** The body of every answer to a command request: ok, rejected or error. */
export type GatewayResult = z.output<typeof GatewayResultSchema>;
/** An ok answer. */
export type GatewayOkResult = z.output<typeof OkResultSchema>;
/** An error answer. */
export type GatewayErrorResult = z.output<typeof ErrorResultSchema>;

/** The wire form of an error (details left out when empty, as the workers do). */
export function errorResult(error: RatchetError, commandId: string | undefined, attemptCount = 0): GatewayErrorResult {
  const { code, message, retryable, details } = error;
  return {
    status: 'error',
    error: { code, message, retryable, ...(Object.keys(details).length > 0 ? { details: { ...details } } : {}) },
    ...(commandId === undefined ? {} : { commandId }),
    attempts: attemptCount,
  };
}

/** The client's result in wire form, fields in the protocol's order. */
export function resultOfSend(result: SendResult): GatewayResult {
  switch (result.status) {
    case 'ok':
      return {
        status: 'ok',
        version: result.version,
        events: result.events.map((e) => ({ version: e.version, type: e.type, schemaVersion: e.schemaVersion, data: e.data })),
        duplicate: result.duplicate,
        commandId: result.commandId,
        attempts: result.attempts,
      };
    case 'rejected':
      return { status: 'rejected', reason: result.reason, version: result.version, commandId: result.commandId, attempts: result.attempts };
    case 'error': {
      const issues = result.error.details.issues;
      const answer = errorResult(result.error, result.commandId, result.attempts);
      // The worker's issue paths are in its envelope; the caller sent the gateway's body.
      if (result.error.code !== ErrorCode.VALIDATION_FAILED || !Array.isArray(issues) || answer.error.details === undefined) return answer;
      const translated = issues.map((i: unknown) => (isIssue(i) ? { ...i, path: bodyPath(i.path) } : i));
      return { ...answer, error: { ...answer.error, details: { ...answer.error.details, issues: translated } } };
    }
  }
}

function isIssue(value: unknown): value is ValidationIssue {
  return typeof value === 'object' && value !== null && 'path' in value && Array.isArray(value.path);
}
