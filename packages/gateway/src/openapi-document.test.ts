import { defineAggregate, ErrorCode } from '@ratchet/core';
import { afterEach, describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { z } from 'zod';
import { Counter } from '../test/counter.js';
import { send, startTestGateway, type TestGateway } from '../test/support.js';
import type { JsonObject } from './openapi-document.js';
import { openApiDocument } from './openapi-document.js';

let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** A second aggregate, with a recursive payload schema (its JSON Schema refers to itself). */
const TreeNode: z.ZodType<{ name: string; children: unknown[] }> = z.object({
  name: z.string(),
  get children() {
    return z.array(TreeNode);
  },
});
const Folder = defineAggregate({
  type: 'folder',
  machine: setup({ types: { events: {} as { type: 'planted'; data: { at: string } } } }).createMachine({ id: 'folder' }),
  commands: { plant: z.object({ tree: TreeNode, when: z.date().optional() }) },
  events: { planted: z.object({ at: z.string() }) },
  decide: { plant: () => [{ type: 'planted', data: { at: 'now' } }] },
});

/** Follow a local `$ref` (`#/components/schemas/x`) in the document. */
function resolve(doc: JsonObject, ref: unknown): JsonObject {
  if (typeof ref !== 'string' || !ref.startsWith('#/')) throw new Error(`not a local ref: ${String(ref)}`);
  let node: unknown = doc;
  for (const key of ref.slice(2).split('/')) {
    if (typeof node !== 'object' || node === null || !(key in node)) throw new Error(`${ref} does not resolve`);
    node = (node as JsonObject)[key];
  }
  if (typeof node !== 'object' || node === null) throw new Error(`${ref} is not an object`);
  return node as JsonObject;
}

/** Every `$ref` string in a JSON value. */
function refsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => (k === '$ref' && typeof v === 'string' ? [v] : refsIn(v)));
}

describe('GET /openapi.json', () => {
  it('serves an OpenAPI 3.1 document that parses, with one path per aggregate type', async () => {
    t = await startTestGateway({ aggregates: [Counter, Folder] });
    const res = await send(t.port, { method: 'GET', path: '/openapi.json' });
    expect(res.status).toBe(200);
    const doc = res.body as JsonObject;
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths as JsonObject).sort()).toEqual(['/commands/counter/{id}', '/commands/folder/{id}', '/openapi.json']);
    expect(doc).toEqual(JSON.parse(JSON.stringify(t.gateway.openApi)));
    expect((await send(t.port, { method: 'POST', path: '/openapi.json', body: {} })).status).toBe(405);
  });

  it('gives each command its zod schema as z.toJSONSchema writes it, in a union discriminated by `command`', () => {
    const doc = openApiDocument({ aggregates: [Counter, Folder] });
    const body = ((((doc.paths as JsonObject)['/commands/counter/{id}'] as JsonObject).post as JsonObject).requestBody as JsonObject)
      .content as JsonObject;
    const union = resolve(doc, ((body['application/json'] as JsonObject).schema as JsonObject).$ref);
    const mapping = (union.discriminator as JsonObject).mapping as JsonObject;
    expect(Object.keys(mapping)).toEqual(Object.keys(Counter.commands));
    for (const [command, schema] of Object.entries(Counter.commands)) {
      const variant = resolve(doc, mapping[command]);
      const properties = variant.properties as JsonObject;
      expect(properties.command).toEqual({ type: 'string', const: command });
      expect(resolve(doc, (properties.payload as JsonObject).$ref)).toEqual(z.toJSONSchema(schema, { io: 'input' }));
      expect(variant.required).toEqual(['command']);
      expect(variant.additionalProperties).toBe(false);
    }
  });

  it('keeps a recursive schema resolvable (an $id makes `#` the schema itself) and turns unrepresentable types into {}', () => {
    const doc = openApiDocument({ aggregates: [Folder] });
    const payload = resolve(doc, '#/components/schemas/folder.plant.payload');
    const { $id, ...rest } = payload;
    expect($id).toBe('urn:ratchet:schema:folder.plant.payload');
    expect(rest).toEqual(z.toJSONSchema(Folder.commands.plant, { io: 'input', unrepresentable: 'any' }));
    expect((rest.properties as JsonObject).when as JsonObject).toEqual({});
  });

  it('resolves every $ref outside the payload schemas, and describes results, events and error codes', () => {
    const doc = openApiDocument({
      aggregates: [Counter],
      projections: [
        { name: 'totals', aggregateTypes: ['counter'] },
        { name: 'other', aggregateTypes: ['x'] },
      ],
    });
    for (const ref of refsIn(doc).filter((r) => r.startsWith('#/components'))) expect(() => resolve(doc, ref)).not.toThrow();
    const post = ((doc.paths as JsonObject)['/commands/counter/{id}'] as JsonObject).post as JsonObject;
    const responses = post.responses as JsonObject;
    expect(Object.keys(responses).sort()).toEqual([
      '200',
      '202',
      '400',
      '404',
      '405',
      '408',
      '409',
      '413',
      '415',
      '422',
      '500',
      '502',
      '503',
      '504',
    ]);
    expect((responses['409'] as JsonObject).description).toContain('VERSION_CONFLICT');
    const waitFor = (post.parameters as JsonObject[]).find((p) => p.name === 'waitFor');
    expect(waitFor?.schema).toEqual({ type: 'string', enum: ['totals'] });
    const schemas = (doc.components as JsonObject).schemas as JsonObject;
    expect((schemas.ErrorCode as JsonObject).enum).toEqual(Object.values(ErrorCode));
    expect(schemas['counter.added.data']).toEqual(z.toJSONSchema(Counter.events.added, { io: 'output' }));
    const events = ((schemas['counter.ok'] as JsonObject).properties as JsonObject).events as JsonObject;
    expect(((events.items as JsonObject).oneOf as unknown[]).length).toBe(Object.keys(Counter.events).length);
  });

  it('offers no waitFor parameter when no projection reads the type', () => {
    const doc = openApiDocument({ aggregates: [Counter] });
    const post = ((doc.paths as JsonObject)['/commands/counter/{id}'] as JsonObject).post as JsonObject;
    expect((post.parameters as JsonObject[]).map((p) => p.name)).toEqual(['id', 'Idempotency-Key', 'traceparent']);
  });
});
