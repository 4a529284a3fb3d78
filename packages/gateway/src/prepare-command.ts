import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ErrorCode, RatchetError, ValidationError, type AnyAggregate, type ValidationIssue } from '@ratchet/core';
import {
  COMMAND_ID_PATTERN,
  encodeCommandRequest,
  parseCommandRequest,
  streamIdOf,
  validateAggregateId,
  type CommandMetadata,
} from '@ratchet/transport-nats';
import type { z } from 'zod';
import { bodyPath } from './body-path.js';
import { CommandBodySchema } from './command-body-schema.js';
import type { GatewaySettings } from './gateway-options.js';
import { decodePathSegment } from './gateway-route.js';

/** A command request that passed every check the gateway makes before the head is answered. */
export interface CommandTarget {
  readonly aggregate: AnyAggregate;
  readonly id: string;
  /** From the Idempotency-Key header. */
  readonly idempotencyKey: string | undefined;
  /** The projection named by `?waitFor=`. */
  readonly waitFor: string | undefined;
}

/** A command ready to send: every check passed, nothing sent yet. */
export interface PreparedCommand extends CommandTarget {
  readonly streamId: string;
  readonly command: { readonly type: string; readonly payload: unknown };
  readonly commandId: string;
  readonly expectedVersion: number | undefined;
  readonly metadata: CommandMetadata | undefined;
}

const QUERY_PARAMETERS = new Set(['waitFor']);
// ignoreBOM keeps a byte-order mark in the text, so JSON.parse refuses it, as the workers do (docs/protocol.md, section 5).
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function invalid(what: string, issues: ValidationIssue[]): ValidationError {
  const summary = issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
  return new ValidationError(`${what} is invalid: ${summary}`, issues);
}

/** Whether a Content-Type is JSON in UTF-8: `application/json` or `application/<x>+json`, charset absent or utf-8. */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [media = '', ...params] = header.split(';').map((p) => p.trim().toLowerCase());
  if (media !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(media)) return false;
  return params.every((p) => !p.startsWith('charset=') || ['utf-8', 'utf8', '"utf-8"'].includes(p.slice('charset='.length)));
}

/**
 * Check what can be checked before reading the body, in this order: the aggregate type
 * (UNKNOWN_AGGREGATE), the id (INVALID_ID), the content type (MALFORMED_REQUEST,
 * `unsupported-media-type`), then the Idempotency-Key header and the query (VALIDATION_FAILED,
 * every issue). Throws RatchetError.
 */
export function checkTarget(
  settings: GatewaySettings,
  rawType: string,
  rawId: string | undefined,
  query: URLSearchParams,
  headers: IncomingHttpHeaders,
): CommandTarget {
  const type = decodePathSegment(rawType);
  const aggregate = type === undefined ? undefined : settings.aggregates.get(type);
  if (aggregate === undefined) {
    throw new RatchetError(ErrorCode.UNKNOWN_AGGREGATE, `aggregate type ${JSON.stringify(type ?? rawType)} is not served here`, {
      details: { aggregateType: type ?? rawType, served: [...settings.aggregates.keys()] },
    });
  }
  const id = rawId === undefined ? '' : decodePathSegment(rawId);
  if (id === undefined) {
    const reason = 'is not valid percent-encoded UTF-8';
    throw new RatchetError(ErrorCode.INVALID_ID, `aggregate id ${JSON.stringify(rawId)} ${reason}`, { details: { reason } });
  }
  validateAggregateId(id);
  const contentType = headers['content-type'];
  if (!isJsonContentType(contentType)) {
    throw new RatchetError(
      ErrorCode.MALFORMED_REQUEST,
      `content type must be application/json (UTF-8), got ${JSON.stringify(contentType ?? null)}`,
      {
        details: { reason: 'unsupported-media-type', contentType: contentType ?? null },
      },
    );
  }

  const issues: ValidationIssue[] = [];
  const idempotencyKey = idempotencyKeyOf(headers);
  if (idempotencyKey !== undefined && !COMMAND_ID_PATTERN.test(idempotencyKey)) {
    issues.push({ path: ['headers', 'Idempotency-Key'], message: 'must be 1 to 128 characters of A-Z a-z 0-9 _ : . -' });
  }
  for (const name of new Set(query.keys())) {
    if (!QUERY_PARAMETERS.has(name)) issues.push({ path: ['query', name], message: 'unknown query parameter' });
    else if (query.getAll(name).length > 1) issues.push({ path: ['query', name], message: 'given more than once' });
  }
  const waitFor = query.get('waitFor') ?? undefined;
  if (waitFor !== undefined && settings.waiter !== undefined && settings.projections.has(waitFor)) {
    const types = settings.projections.get(waitFor);
    if (types !== undefined && !types.has(aggregate.type)) {
      issues.push({ path: ['query', 'waitFor'], message: `projection "${waitFor}" does not read ${aggregate.type} events` });
    }
  } else if (waitFor !== undefined) {
    const known = settings.waiter === undefined ? [] : [...settings.projections.keys()];
    const message =
      known.length === 0 ? 'read-your-writes is not configured on this gateway' : `unknown projection; one of ${known.join(', ')}`;
    issues.push({ path: ['query', 'waitFor'], message });
  }
  if (issues.length > 0) throw invalid('request', issues);
  return { aggregate, id, idempotencyKey, waitFor };
}

/** The Idempotency-Key header's value: a bare token, or a quoted string as the IETF draft writes it (`"abc"`). */
function idempotencyKeyOf(headers: IncomingHttpHeaders): string | undefined {
  const header = headers['idempotency-key'];
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header.join(', ') : header.trim();
  return /^"[^"]*"$/.test(value) ? value.slice(1, -1) : value;
}

/** The Idempotency-Key when it is a valid command id, else undefined (for answers to requests refused early). */
export function validIdempotencyKey(headers: IncomingHttpHeaders): string | undefined {
  const key = idempotencyKeyOf(headers);
  return key !== undefined && COMMAND_ID_PATTERN.test(key) ? key : undefined;
}

/**
 * Parse and check the body, in this order: UTF-8 JSON (MALFORMED_REQUEST), the envelope and the
 * Idempotency-Key agreeing with `commandId` (VALIDATION_FAILED, every issue), the protocol's own
 * checks on the request the client will send (nesting depth, forbidden keys), the command type
 * (UNKNOWN_COMMAND), the payload against the aggregate's schema (VALIDATION_FAILED, paths from the
 * body: `["payload", …]`). Throws RatchetError.
 */
export function prepareCommand(target: CommandTarget, body: Uint8Array): PreparedCommand {
  let json: unknown;
  try {
    json = JSON.parse(strictUtf8.decode(body));
  } catch (err) {
    throw new RatchetError(ErrorCode.MALFORMED_REQUEST, 'request body is not valid UTF-8 JSON', {
      cause: err,
      details: { reason: 'not-json' },
    });
  }
  const parsed = CommandBodySchema.safeParse(json);
  const issues: ValidationIssue[] = parsed.success ? [] : issuesOf(parsed.error);
  const bodyId = parsed.success ? parsed.data.commandId : undefined;
  if (target.idempotencyKey !== undefined && bodyId !== undefined && bodyId !== target.idempotencyKey) {
    issues.push({ path: ['commandId'], message: `differs from the Idempotency-Key header (${JSON.stringify(target.idempotencyKey)})` });
  }
  if (!parsed.success || issues.length > 0) throw invalid('request body', issues);
  const fields = parsed.data;
  const command = { type: fields.command, payload: fields.payload ?? {} };
  const commandId = target.idempotencyKey ?? fields.commandId ?? randomUUID();

  // The transport's own checks, on the very request the client will encode, so no rule is restated here.
  try {
    parseCommandRequest(
      encodeCommandRequest({
        id: target.id,
        command,
        commandId,
        ...(fields.expectedVersion === undefined ? {} : { expectedVersion: fields.expectedVersion }),
        ...(fields.metadata === undefined ? {} : { metadata: fields.metadata }),
      }),
      // The size limit is the body limit's (and the client's); only the content is checked here.
      { maxBytes: Number.MAX_SAFE_INTEGER },
    );
  } catch (err) {
    if (err instanceof ValidationError)
      throw invalid(
        'request body',
        err.issues.map((i) => ({ ...i, path: bodyPath(i.path) })),
      );
    throw err;
  }

  try {
    target.aggregate.runtime.parseCommand(command);
  } catch (err) {
    if (err instanceof ValidationError) {
      throw invalid(
        `payload of command "${command.type}"`,
        err.issues.map((i) => ({ ...i, path: ['payload', ...i.path] })),
      );
    }
    throw err;
  }
  return {
    ...target,
    streamId: streamIdOf(target.aggregate.type, target.id),
    command,
    commandId,
    expectedVersion: fields.expectedVersion,
    metadata: fields.metadata,
  };
}

/** zod issues as the protocol lists them: one per unknown field, with its path. */
function issuesOf(error: z.ZodError): ValidationIssue[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ path: [...path, key], message: 'unknown field' }));
    return [{ path, message: issue.message }];
  });
}
