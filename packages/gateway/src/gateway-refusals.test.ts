// Every bad input gets a clear, typed error and nothing is sent: each test ends by checking the
// fake client was never called.
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClient, okAnswer, send, startTestGateway, type SendRequest, type TestGateway } from '../test/support.js';
import { GatewayResultSchema } from './gateway-result.js';

let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const good = { command: 'add', payload: { n: 2 } };

/** Send `req`, check the typed error and that nothing was sent; returns the error for more checks. */
async function refused(
  req: SendRequest,
  status: number,
  code: string,
): Promise<{ message: string; retryable: boolean; details?: Record<string, unknown> }> {
  t ??= await startTestGateway();
  const res = await send(t.port, req);
  expect(res.status).toBe(status);
  const body = GatewayResultSchema.parse(res.body);
  if (body.status !== 'error') throw new Error(`expected an error, got ${JSON.stringify(body)}`);
  expect(body.error.code).toBe(code);
  expect(body.attempts).toBe(0);
  expect(t.client.calls).toEqual([]);
  return body.error;
}

describe('refused before the body is read', () => {
  it('an unknown aggregate type: 404 UNKNOWN_AGGREGATE naming the served ones', async () => {
    const error = await refused({ path: '/commands/nope/x', body: good }, 404, 'UNKNOWN_AGGREGATE');
    expect(error.details).toMatchObject({ aggregateType: 'nope', served: ['counter'] });
  });

  it.each([
    ['a dot', '/commands/counter/a.b'],
    ['a space', '/commands/counter/a%20b'],
    ['no id', '/commands/counter'],
    ['an empty id', '/commands/counter/'],
    ['129 characters', `/commands/counter/${'x'.repeat(129)}`],
    ['bad percent-encoding', '/commands/counter/a%E0%A4%A'],
  ])('a bad id (%s): 400 INVALID_ID with the reason', async (_what, path) => {
    const error = await refused({ path, body: good }, 400, 'INVALID_ID');
    expect(typeof error.details?.reason).toBe('string');
  });

  it.each([
    ['text/plain', 'text/plain'],
    ['form data', 'application/x-www-form-urlencoded'],
    ['JSON in latin1', 'application/json; charset=latin1'],
  ])('a wrong content type (%s): 415', async (_what, contentType) => {
    const error = await refused(
      { path: '/commands/counter/c', body: good, headers: { 'content-type': contentType } },
      415,
      'MALFORMED_REQUEST',
    );
    expect(error.details).toMatchObject({ reason: 'unsupported-media-type', contentType });
  });

  it('no content type: 415', async () => {
    t = await startTestGateway();
    // An empty value makes the helper send no Content-Type header at all.
    await refused({ path: '/commands/counter/c', body: good, headers: { 'content-type': '' } }, 415, 'MALFORMED_REQUEST');
  });

  it('accepts application/json with charset utf-8 and +json media types', async () => {
    t = await startTestGateway();
    for (const contentType of ['application/json; charset=UTF-8', 'application/vnd.ratchet+json']) {
      expect((await send(t.port, { path: '/commands/counter/c', body: good, headers: { 'content-type': contentType } })).status).toBe(200);
    }
  });

  it('another method: 405 with Allow: POST', async () => {
    t = await startTestGateway();
    const res = await send(t.port, { method: 'GET', path: '/commands/counter/c' });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    await refused({ method: 'PUT', path: '/commands/counter/c', body: good }, 405, 'MALFORMED_REQUEST');
  });

  it('an unknown path: 404 MALFORMED_REQUEST (no-route)', async () => {
    const error = await refused({ path: '/command/counter/c', body: good }, 404, 'MALFORMED_REQUEST');
    expect(error.details).toMatchObject({ reason: 'no-route' });
  });

  it('a bad Idempotency-Key, an unknown query parameter, a repeated waitFor, waitFor without projections: 400 with every issue', async () => {
    const error = await refused(
      { path: '/commands/counter/c?waitFor=a&waitFor=b&waitfor=c', body: good, headers: { 'idempotency-key': 'has space' } },
      400,
      'VALIDATION_FAILED',
    );
    expect(error.details?.issues).toEqual([
      { path: ['headers', 'Idempotency-Key'], message: expect.any(String) },
      { path: ['query', 'waitFor'], message: 'given more than once' },
      { path: ['query', 'waitfor'], message: 'unknown query parameter' },
      { path: ['query', 'waitFor'], message: 'read-your-writes is not configured on this gateway' },
    ]);
  });
});

describe('refused after the body is read', () => {
  it.each([
    ['not JSON', '{"command": "add", '],
    ['empty', ''],
    ['a byte-order mark', '\uFEFF{"command":"add"}'],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0x7d])],
  ])('malformed JSON (%s): 400 MALFORMED_REQUEST', async (_what, body) => {
    await refused({ path: '/commands/counter/c', body }, 400, 'MALFORMED_REQUEST');
  });

  it('a body larger than the limit, declared by Content-Length: 413 before reading it', async () => {
    t = await startTestGateway({ maxBodyBytes: 100 });
    const error = await refused(
      { path: '/commands/counter/c', body: { ...good, metadata: { pad: 'x'.repeat(200) } } },
      413,
      'PAYLOAD_TOO_LARGE',
    );
    expect(error.details).toMatchObject({ limit: 100 });
  });

  it('a chunked body that grows past the limit: 413 without waiting for its end', async () => {
    t = await startTestGateway({ maxBodyBytes: 100 });
    const piece = Buffer.from(' '.repeat(60));
    // The pieces would take 20 s; the answer comes after the second.
    const error = await refused(
      { path: '/commands/counter/c', chunks: { pieces: Array.from({ length: 200 }, () => piece), pauseMs: 100 } },
      413,
      'PAYLOAD_TOO_LARGE',
    );
    expect(error.details).toMatchObject({ size: 120, limit: 100 });
  });

  it('a body slower than the request timeout: 408, retryable', async () => {
    t = await startTestGateway({ requestTimeoutMs: 200 });
    const error = await refused(
      { path: '/commands/counter/c', chunks: { pieces: [Buffer.from('{'), Buffer.from('}')], pauseMs: 1_000 } },
      408,
      'MALFORMED_REQUEST',
    );
    expect(error).toMatchObject({ retryable: true, details: { reason: 'body-timeout' } });
  });

  it('envelope problems: 400 VALIDATION_FAILED listing every issue with its path', async () => {
    const error = await refused(
      {
        path: '/commands/counter/c',
        body: { command: '', payload: {}, expectedVerison: 1, expectedVersion: -1, commandId: 'a b', metadata: { k: 1 } },
      },
      400,
      'VALIDATION_FAILED',
    );
    const issues = error.details?.issues;
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: ['expectedVerison'], message: 'unknown field' },
        { path: ['command'], message: expect.any(String) },
        { path: ['expectedVersion'], message: expect.any(String) },
        { path: ['commandId'], message: expect.any(String) },
        { path: ['metadata', 'k'], message: expect.any(String) },
      ]),
    );
  });

  it('a body that is not an object: 400 VALIDATION_FAILED at the root', async () => {
    const error = await refused({ path: '/commands/counter/c', body: [good] }, 400, 'VALIDATION_FAILED');
    expect(error.details?.issues).toEqual([{ path: [], message: expect.any(String) }]);
  });

  it('a body commandId that differs from the Idempotency-Key: 400 VALIDATION_FAILED at commandId', async () => {
    const error = await refused(
      { path: '/commands/counter/c', body: { ...good, commandId: 'b' }, headers: { 'idempotency-key': 'a' } },
      400,
      'VALIDATION_FAILED',
    );
    expect(error.details?.issues).toEqual([{ path: ['commandId'], message: 'differs from the Idempotency-Key header ("a")' }]);
  });

  it('an unknown command: 400 UNKNOWN_COMMAND', async () => {
    const error = await refused({ path: '/commands/counter/c', body: { command: 'multiply', payload: {} } }, 400, 'UNKNOWN_COMMAND');
    expect(error.details).toMatchObject({ aggregateType: 'counter', commandType: 'multiply' });
  });

  it('a payload its schema refuses: 400 VALIDATION_FAILED with every issue under payload', async () => {
    const error = await refused(
      { path: '/commands/counter/c', body: { command: 'add', payload: { n: -1.5, note: 'far too long here' } } },
      400,
      'VALIDATION_FAILED',
    );
    expect(error.details?.issues).toEqual([
      { path: ['payload', 'n'], message: expect.any(String) },
      { path: ['payload', 'note'], message: expect.any(String) },
    ]);
    expect(error.message).toContain('payload of command "add" is invalid');
  });

  it('a strict payload with an extra key, and a missing payload where one is required', async () => {
    const strict = await refused(
      { path: '/commands/counter/c', body: { command: 'clear', payload: { extra: 1 } } },
      400,
      'VALIDATION_FAILED',
    );
    expect(strict.details?.issues).toEqual([{ path: ['payload'], message: expect.stringContaining('extra') }]);
    const missing = await refused({ path: '/commands/counter/c', body: { command: 'add' } }, 400, 'VALIDATION_FAILED');
    expect(missing.details?.issues).toEqual([{ path: ['payload', 'n'], message: expect.any(String) }]);
  });

  it('the protocol checks: a forbidden key (VALIDATION_FAILED at its path) and nesting past 32 levels (MALFORMED_REQUEST)', async () => {
    const forbidden = await refused(
      { path: '/commands/counter/c', body: '{"command":"add","payload":{"n":1,"list":[{"__proto__":{"x":1}}]}}' },
      400,
      'VALIDATION_FAILED',
    );
    expect(forbidden.details?.issues).toEqual([{ path: ['payload', 'list', 0, '__proto__'], message: expect.any(String) }]);
    let deep: unknown = 1;
    for (let i = 0; i < 40; i += 1) deep = [deep];
    await refused({ path: '/commands/counter/c', body: { command: 'add', payload: { n: 1, deep } } }, 400, 'MALFORMED_REQUEST');
  });
});

describe('refused for lack of capacity', () => {
  it('past maxInFlight: 503 OVERLOADED with Retry-After, nothing sent for it', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const client = new FakeClient(async (call) => {
      await held;
      return okAnswer(call);
    });
    t = await startTestGateway({ client, maxInFlight: 1, retryAfterSeconds: 3 });
    const first = send(t.port, { path: '/commands/counter/c', body: good });
    while (client.calls.length === 0) await new Promise((r) => setTimeout(r, 5));
    const second = await send(t.port, { path: '/commands/counter/c', body: good });
    expect(second.status).toBe(503);
    expect(second.headers['retry-after']).toBe('3');
    expect(second.body).toMatchObject({ status: 'error', error: { code: 'OVERLOADED', retryable: true } });
    expect(client.calls).toHaveLength(1);
    release();
    expect((await first).status).toBe(200);
    expect(t.gateway.inFlight()).toBe(0);
  });

  it('while draining: 503 UNAVAILABLE and the connection closed', async () => {
    t = await startTestGateway();
    expect(await t.gateway.drain(1_000)).toBe(true);
    const res = await send(t.port, { path: '/commands/counter/c', body: good });
    expect(res.status).toBe(503);
    expect(res.headers.connection).toBe('close');
    expect(res.body).toMatchObject({ error: { code: 'UNAVAILABLE', retryable: true, details: { reason: 'draining' } } });
    expect(t.client.calls).toEqual([]);
  });
});
