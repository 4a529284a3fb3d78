import { COMMAND_ID_PATTERN, MAX_COMMAND_TYPE_LENGTH } from '@ratchet/transport-nats';
import { z } from 'zod';

/**
 * The body of `POST /commands/<type>/<id>`. Unknown fields are refused, as the protocol's envelope
 * does, so a typo such as `expectedVerison` cannot silently drop the concurrency check.
 */
export const CommandBodySchema = z.strictObject({
  command: z.string().min(1).max(MAX_COMMAND_TYPE_LENGTH).describe('the command type, e.g. `insertCoin`'),
  payload: z.unknown().optional().describe("the command's payload, checked against the aggregate's schema for it; default `{}`"),
  commandId: z
    .string()
    .regex(COMMAND_ID_PATTERN, 'must be 1 to 128 characters of A-Z a-z 0-9 _ : . -')
    .optional()
    .describe(
      'idempotency key; the Idempotency-Key header is the preferred place (they must agree when both are given); default a new UUID',
    ),
  expectedVersion: z
    .number()
    .int()
    .min(0)
    .max(Number.MAX_SAFE_INTEGER)
    .optional()
    .describe('fail with VERSION_CONFLICT unless the stream is at this version (0: no events yet)'),
  metadata: z.record(z.string(), z.string()).optional().describe('correlationId, causationId and other strings, stored with the events'),
});

/** A command request body as parsed. */
export type CommandBody = z.output<typeof CommandBodySchema>;
