import { ErrorCode, isRetryableCode, type AnyAggregate } from '@ratchet/core';
import { z } from 'zod';
import { CommandBodySchema } from './command-body-schema.js';
import { ErrorResultSchema, OkResultSchema, RejectedResultSchema } from './gateway-result.js';
import type { OpenApiInfo, ProjectionRef } from './gateway-options.js';
import { HTTP_STATUS } from './http-status.js';
import { OPENAPI_PATH } from './gateway-route.js';

/** A JSON object (an OpenAPI document or one of its parts). */
export type JsonObject = { [key: string]: unknown };

/** What {@link openApiDocument} describes. */
export interface OpenApiDocumentOptions {
  readonly aggregates: readonly AnyAggregate[];
  /** Projections `?waitFor=` may name. Default none. */
  readonly projections?: readonly ProjectionRef[];
  readonly info?: OpenApiInfo;
}

/**
 * The JSON Schema of a zod schema as the document embeds it: `z.toJSONSchema` (draft 2020-12),
 * unchanged except that a schema with local `$ref`s (recursion) gets an `$id`, so `#` means the
 * schema itself and not the OpenAPI document it sits in. Types JSON Schema cannot express (a
 * date, a function) become `{}` rather than failing the whole document.
 */
export function commandJsonSchema(schema: z.ZodType, io: 'input' | 'output', name: string): JsonObject {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonObject;
  return JSON.stringify(json).includes('"$ref":"#') ? { $id: `urn:ratchet:schema:${name}`, ...json } : json;
}

/** A generated schema without its `$schema` key (the document's dialect, OpenAPI 3.1's, applies). */
function plain(schema: z.ZodType, io: 'input' | 'output' = 'output'): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io }) as JsonObject;
  return rest;
}

const ref = (name: string): JsonObject => ({ $ref: `#/components/schemas/${name}` });
/** Component names may use `A-Z a-z 0-9 . - _` only. */
const componentName = (...parts: string[]): string => parts.map((p) => p.replace(/[^A-Za-z0-9_-]/g, '_')).join('.');

/** The HTTP statuses of error results and the codes answered with each. */
function errorStatuses(): Map<number, string[]> {
  const byStatus = new Map<number, string[]>();
  const add = (status: number, what: string): void => void byStatus.set(status, [...(byStatus.get(status) ?? []), what]);
  for (const [code, status] of Object.entries(HTTP_STATUS.errors)) add(status, code);
  for (const [reason, status] of Object.entries(HTTP_STATUS.malformedRequest)) add(status, `MALFORMED_REQUEST (${reason})`);
  return new Map([...byStatus].sort(([a], [b]) => a - b));
}

/**
 * The OpenAPI 3.1 document of a gateway, generated from the aggregates' zod schemas: one path per
 * aggregate type whose body is the union of its commands (discriminated by `command`), its ok
 * result with the aggregate's events, the rejected and error results, and every error code with
 * its HTTP status.
 * @example
 * const doc = openApiDocument({ aggregates: [Turnstile] });
 * doc.paths['/commands/turnstile/{id}'].post.requestBody;
 */
export function openApiDocument(options: OpenApiDocumentOptions): JsonObject {
  const schemas: JsonObject = {};
  const paths: JsonObject = {};
  const envelope = plain(CommandBodySchema, 'input');
  const envelopeProperties = envelope.properties as JsonObject;

  schemas.Rejected = plain(RejectedResultSchema);
  schemas.Error = plain(ErrorResultSchema);
  schemas.ErrorCode = {
    type: 'string',
    enum: Object.values(ErrorCode),
    description: 'Stable error codes (docs/protocol.md, section 8); clients must accept codes they do not know and go by `retryable`.',
    'x-ratchet-http-status': HTTP_STATUS.errors,
    'x-ratchet-retryable': Object.fromEntries(Object.values(ErrorCode).map((c) => [c, isRetryableCode(c)])),
  };

  for (const aggregate of options.aggregates) {
    const type = aggregate.type;
    const variants: JsonObject[] = [];
    const mapping: Record<string, string> = {};
    for (const [command, schema] of Object.entries(aggregate.commands as Record<string, z.ZodType>)) {
      const payloadName = componentName(type, command, 'payload');
      const bodyName = componentName(type, command);
      schemas[payloadName] = commandJsonSchema(schema, 'input', payloadName);
      schemas[bodyName] = {
        ...envelope,
        properties: { ...envelopeProperties, command: { type: 'string', const: command }, payload: ref(payloadName) },
      };
      variants.push(ref(bodyName));
      mapping[command] = `#/components/schemas/${bodyName}`;
    }
    const commandUnion = componentName(type, 'command');
    schemas[commandUnion] = { oneOf: variants, discriminator: { propertyName: 'command', mapping } };

    const events = Object.entries(aggregate.events as Record<string, z.ZodType>).map(([event, schema]) => {
      const dataName = componentName(type, event, 'data');
      schemas[dataName] = commandJsonSchema(schema, 'output', dataName);
      return {
        type: 'object',
        properties: {
          version: { type: 'integer', minimum: 1 },
          type: { type: 'string', const: event },
          schemaVersion: { type: 'integer', minimum: 1 },
          data: ref(dataName),
        },
        required: ['version', 'type', 'schemaVersion', 'data'],
        additionalProperties: false,
      };
    });
    const ok = plain(OkResultSchema);
    const okProperties = ok.properties as JsonObject;
    schemas[componentName(type, 'ok')] = { ...ok, properties: { ...okProperties, events: { type: 'array', items: { oneOf: events } } } };

    const waitFor = (options.projections ?? [])
      .filter((p) => p.aggregateTypes === undefined || p.aggregateTypes.includes(type))
      .map((p) => p.name);
    paths[`/commands/${type}/{id}`] = { post: commandOperation(type, commandUnion, componentName(type, 'ok'), [...new Set(waitFor)]) };
  }

  paths[OPENAPI_PATH] = {
    get: {
      operationId: 'openapi',
      summary: 'This document',
      responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } },
    },
  };

  const info = options.info ?? {};
  return {
    openapi: '3.1.0',
    info: {
      title: info.title ?? 'Ratchet command gateway',
      version: info.version ?? '1',
      description:
        'Send commands to event-sourced aggregates over HTTP. Every answer to a command is a typed result: `status` is ok, rejected or error, and an error carries a stable `error.code` (the HTTP status is a hint; the body is the answer). See docs/gateway.md.',
    },
    ...(info.servers === undefined ? {} : { servers: info.servers.map((url) => ({ url })) }),
    paths,
    components: { schemas },
  };
}

function commandOperation(type: string, body: string, ok: string, projections: string[]): JsonObject {
  const responses: JsonObject = {
    '200': {
      description: 'Committed (also a duplicate of a committed command); with `waitFor`, the projection has caught up (`waited: true`).',
      content: json(ref(ok)),
    },
    '202': {
      description: 'Committed, but the projection named in `waitFor` had not caught up by the deadline (`waited: false`).',
      content: json(ref(ok)),
    },
  };
  for (const [status, codes] of errorStatuses()) {
    const what = `error: ${codes.join(', ')}`;
    responses[String(status)] =
      status === HTTP_STATUS.rejected
        ? { description: `rejected by a business rule, or ${what}`, content: json({ oneOf: [ref('Rejected'), ref('Error')] }) }
        : { description: status === 503 ? `${what} (retryable ones with Retry-After)` : what, content: json(ref('Error')) };
  }
  return {
    operationId: `send_${type.replace(/-/g, '_')}_command`,
    summary: `Send a ${type} command`,
    tags: [type],
    parameters: [
      {
        name: 'id',
        in: 'path',
        required: true,
        description: 'aggregate id (docs/protocol.md, section 4); percent-encode `/`',
        schema: { type: 'string', minLength: 1, maxLength: 128 },
      },
      {
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        description: 'the command id: send the same key on every retry of one command; a body `commandId` must agree',
        schema: { type: 'string', pattern: '^[A-Za-z0-9_:.-]{1,128}$' },
      },
      // Without projections reading this type, any waitFor is refused: the parameter is not offered.
      ...(projections.length === 0
        ? []
        : [
            {
              name: 'waitFor',
              in: 'query',
              required: false,
              description:
                'after ok, wait until this projection has applied the stream up to the returned version (200 `waited: true`; 202 `waited: false` past the deadline)',
              schema: { type: 'string', enum: projections },
            },
          ]),
      { name: 'traceparent', in: 'header', required: false, description: 'W3C trace context to continue', schema: { type: 'string' } },
    ],
    requestBody: { required: true, content: json(ref(body)) },
    responses,
  };
}

function json(schema: JsonObject): JsonObject {
  return { 'application/json': { schema } };
}
