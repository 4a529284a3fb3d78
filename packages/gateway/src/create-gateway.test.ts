import { ErrorCode, RatchetError, ValidationError, VersionConflictError } from '@ratchet/core';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClient, send, startTestGateway, type TestGateway } from '../test/support.js';
import { GatewayResultSchema } from './gateway-result.js';
import { HTTP_STATUS } from './http-status.js';

let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const add = (headers: Record<string, string> = {}, body: Record<string, unknown> = { command: 'add', payload: { n: 2 } }) => ({
  path: '/commands/counter/c-1',
  body,
  headers,
});

describe('createGateway: what is sent', () => {
  it('sends the command with the Idempotency-Key as its command id, and answers the typed ok', async () => {
    t = await startTestGateway({ requestTimeoutMs: 3_000 });
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await send(
      t.port,
      add(
        { 'idempotency-key': 'key-1', traceparent },
        { command: 'add', payload: { n: 2, note: 'hi' }, expectedVersion: 0, metadata: { correlationId: 'x' } },
      ),
    );
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body).toEqual({
      status: 'ok',
      version: 1,
      events: [{ version: 1, type: 'added', schemaVersion: 1, data: { n: 1 } }],
      duplicate: false,
      commandId: 'key-1',
      attempts: 1,
    });
    expect(t.client.calls).toHaveLength(1);
    const call = t.client.calls[0]!;
    expect(call.aggregateType).toBe('counter');
    expect(call.id).toBe('c-1');
    expect(call.command).toEqual({ type: 'add', payload: { n: 2, note: 'hi' } });
    expect(call.options).toMatchObject({ commandId: 'key-1', expectedVersion: 0, metadata: { correlationId: 'x' }, traceparent });
    expect(call.options.timeoutMs).toBeGreaterThan(0);
    expect(call.options.timeoutMs).toBeLessThanOrEqual(3_000);
  });

  it('takes the body commandId when there is no header, a new UUID when there is neither, and the payload {} when absent', async () => {
    t = await startTestGateway();
    await send(t.port, add({}, { command: 'add', payload: { n: 1 }, commandId: 'body-id' }));
    await send(t.port, add());
    await send(t.port, { path: '/commands/counter/c-1', body: { command: 'clear' } });
    expect(t.client.calls.map((c) => c.options.commandId)[0]).toBe('body-id');
    expect(t.client.calls[1]!.options.commandId).toMatch(/^[0-9a-f-]{36}$/);
    expect(t.client.calls[2]!.command).toEqual({ type: 'clear', payload: {} });
  });

  it('accepts the same key in header and body, a quoted key, and an id with "/" sent either way', async () => {
    t = await startTestGateway();
    expect((await send(t.port, add({ 'idempotency-key': 'k' }, { command: 'add', payload: { n: 1 }, commandId: 'k' }))).status).toBe(200);
    expect((await send(t.port, add({ 'idempotency-key': '"quoted-key"' }))).status).toBe(200);
    expect((await send(t.port, { ...add(), path: '/commands/counter/eu/2024%2F17' })).status).toBe(200);
    expect(t.client.calls.map((c) => [c.options.commandId, c.id])).toEqual([
      ['k', 'c-1'],
      ['quoted-key', 'c-1'],
      [expect.any(String), 'eu/2024/17'],
    ]);
  });

  it('drops an invalid traceparent rather than failing the command', async () => {
    t = await startTestGateway();
    expect((await send(t.port, add({ traceparent: 'not-a-traceparent' }))).status).toBe(200);
    expect(t.client.calls[0]!.options.traceparent).toBeUndefined();
  });
});

describe('createGateway: every result and its status', () => {
  it('answers a duplicate 200 with duplicate: true, and a rejection 409', async () => {
    const client = new FakeClient();
    t = await startTestGateway({ client });
    client.answer = (call) => ({
      status: 'ok',
      version: 3,
      events: [],
      duplicate: true,
      commandId: call.options.commandId ?? '',
      attempts: 2,
    });
    const dup = await send(t.port, add({ 'idempotency-key': 'k' }));
    expect(dup.status).toBe(200);
    expect(dup.body).toMatchObject({ status: 'ok', duplicate: true, version: 3, commandId: 'k' });

    client.answer = (call) => ({
      status: 'rejected',
      reason: 'nothing to clear',
      version: 0,
      commandId: call.options.commandId ?? '',
      attempts: 1,
    });
    const rejected = await send(t.port, { path: '/commands/counter/c-1', body: { command: 'clear' }, headers: { 'idempotency-key': 'r' } });
    expect(rejected.status).toBe(409);
    expect(rejected.body).toEqual({ status: 'rejected', reason: 'nothing to clear', version: 0, commandId: 'r', attempts: 1 });
  });

  it.each(Object.values(ErrorCode))('answers an error %s from the client with its table status and the error as data', async (code) => {
    const client = new FakeClient((call) => ({
      status: 'error',
      error: new RatchetError(code, `failed with ${code}`, { details: { why: 'test' } }),
      commandId: call.options.commandId ?? '',
      attempts: 3,
    }));
    t = await startTestGateway({ client, retryAfterSeconds: 7 });
    const res = await send(t.port, add({ 'idempotency-key': 'k' }));
    const statuses: Record<string, number> = HTTP_STATUS.errors;
    expect(res.status).toBe(statuses[code]);
    const retryable = new RatchetError(code, '').retryable;
    expect(res.body).toEqual({
      status: 'error',
      error: { code, message: `failed with ${code}`, retryable, details: { why: 'test' } },
      commandId: 'k',
      attempts: 3,
    });
    expect(res.headers['retry-after']).toBe(res.status === 503 && retryable ? '7' : undefined);
    expect(GatewayResultSchema.safeParse(res.body).success).toBe(true);
  });

  it('carries a version conflict with its details, and a worker-side validation failure with paths in the body', async () => {
    const client = new FakeClient((call) => ({
      status: 'error',
      error: new VersionConflictError('counter/c-1', 0, 4),
      commandId: call.options.commandId ?? '',
      attempts: 1,
    }));
    t = await startTestGateway({ client });
    const conflict = await send(t.port, add());
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({
      error: { code: 'VERSION_CONFLICT', details: { streamId: 'counter/c-1', expectedVersion: 0, actualVersion: 4 } },
    });

    client.answer = (call) => ({
      status: 'error',
      error: new ValidationError('payload invalid', [{ path: ['command', 'payload', 'n'], message: 'too big' }]),
      commandId: call.options.commandId ?? '',
      attempts: 1,
    });
    const invalid = await send(t.port, add());
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({
      error: { code: 'VALIDATION_FAILED', details: { issues: [{ path: ['payload', 'n'], message: 'too big' }] } },
    });
  });

  it('answers 500 INTERNAL, without the message, when the client throws', async () => {
    const client = new FakeClient(() => {
      throw new TypeError('secret detail');
    });
    t = await startTestGateway({ client });
    const res = await send(t.port, add({ 'idempotency-key': 'k' }));
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      status: 'error',
      error: { code: 'INTERNAL', message: 'internal error', retryable: false },
      commandId: 'k',
      attempts: 0,
    });
  });

  it('counts requests by aggregate, result and status in its metrics', async () => {
    t = await startTestGateway();
    await send(t.port, add());
    await send(t.port, { ...add(), path: '/commands/nope/x' });
    const text = await t.gateway.metrics.registry.metrics();
    expect(text).toContain('ratchet_gateway_requests_total{aggregate="counter",result="ok",http_status="200"} 1');
    expect(text).toContain('ratchet_gateway_requests_total{aggregate="unknown",result="UNKNOWN_AGGREGATE",http_status="404"} 1');
  });
});
