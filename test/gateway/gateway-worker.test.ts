// The gateway in front of a real worker (its own nats-server, a fresh database) and a real
// projector: typed answers from the worker, nothing written for refused input, and waitFor
// answering only once the read model shows the command.
import { startGateway, type RunningGateway } from '@ratchet/gateway';
import { createProjector, type Projector } from '@ratchet/projector';
import { Turnstile } from '@ratchet/turnstile';
import { defineTurnstileProjection } from '@ratchet/turnstile-projections';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcessWorker, type InProcessWorker } from '../worker/in-process-worker.js';

let w: InProcessWorker;
let pool: pg.Pool;
let projector: Projector;
let running: RunningGateway;
let base: string;

beforeAll(async () => {
  w = await startInProcessWorker({ database: 'gateway', worker: { relayPollIntervalMs: 20 } });
  pool = new pg.Pool({ connectionString: w.db.url, max: 4 });
  pool.on('error', () => undefined);
  projector = createProjector({ nats: w.nc, store: w.store, pool, projections: [defineTurnstileProjection()] });
  await projector.start();
  await projector.whenFollowing('turnstile', 1);
  running = await startGateway({
    port: 0,
    host: '127.0.0.1',
    client: w.client,
    aggregates: [Turnstile],
    projections: { definitions: [defineTurnstileProjection()], waiter: projector, timeoutMs: 10_000 },
  });
  base = `http://127.0.0.1:${running.port}`;
});

afterAll(async () => {
  await running?.close(1_000);
  await projector?.stop();
  await pool?.end();
  await w?.stop();
});

async function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const versionOf = async (id: string): Promise<number> => (await w.store.readStream(`turnstile/${id}`)).length;

describe('the gateway with a real worker and projector', () => {
  it('answers ok with the committed events, and with waitFor only once the read model shows them', async () => {
    const res = await post('/commands/turnstile/g-1?waitFor=turnstile', { command: 'install' }, { 'idempotency-key': 'g-1-install' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'ok',
      version: 1,
      duplicate: false,
      waited: true,
      commandId: 'g-1-install',
      events: [{ version: 1, type: 'installed' }],
    });
    // Read-your-writes: right after the answer, no polling.
    const row = await pool.query<{ state: string; version: number }>(`SELECT state, version FROM turnstiles WHERE id = $1`, ['g-1']);
    expect(row.rows).toEqual([{ state: 'locked', version: 1 }]);
  });

  it('answers a resend with the same Idempotency-Key as a duplicate and writes once', async () => {
    const first = await post('/commands/turnstile/g-1', { command: 'insertCoin' }, { 'idempotency-key': 'g-1-coin' });
    const again = await post(
      '/commands/turnstile/g-1',
      { command: 'insertCoin', commandId: 'g-1-coin' },
      { 'idempotency-key': 'g-1-coin' },
    );
    expect(first).toMatchObject({ status: 200, body: { status: 'ok', version: 2, duplicate: false } });
    expect(again).toMatchObject({ status: 200, body: { status: 'ok', version: 2, duplicate: true } });
    expect(await versionOf('g-1')).toBe(2);
  });

  it('answers a business rejection 409 rejected, a stale expectedVersion 409 VERSION_CONFLICT, a reused key 422', async () => {
    expect(await post('/commands/turnstile/g-1', { command: 'install' })).toMatchObject({
      status: 409,
      body: { status: 'rejected', reason: 'Turnstile already installed', version: 2 },
    });
    expect(await post('/commands/turnstile/g-1', { command: 'pushArm', expectedVersion: 1 })).toMatchObject({
      status: 409,
      body: { status: 'error', error: { code: 'VERSION_CONFLICT', details: { expectedVersion: 1, actualVersion: 2 } } },
    });
    expect(await post('/commands/turnstile/g-1', { command: 'pushArm' }, { 'idempotency-key': 'g-1-coin' })).toMatchObject({
      status: 422,
      body: { status: 'error', error: { code: 'COMMAND_ID_REUSED' } },
    });
    expect(await versionOf('g-1')).toBe(2);
  });

  it('writes nothing for a payload its schema refuses, an unknown command, an unknown aggregate or a bad id', async () => {
    expect(await post('/commands/turnstile/g-2', { command: 'install', payload: { colour: 'red' } })).toMatchObject({
      status: 400,
      body: { error: { code: 'VALIDATION_FAILED', details: { issues: [{ path: ['payload'] }] } } },
    });
    expect(await post('/commands/turnstile/g-2', { command: 'fly' })).toMatchObject({
      status: 400,
      body: { error: { code: 'UNKNOWN_COMMAND' } },
    });
    expect(await post('/commands/elevator/g-2', { command: 'install' })).toMatchObject({
      status: 404,
      body: { error: { code: 'UNKNOWN_AGGREGATE' } },
    });
    expect(await post('/commands/turnstile/g.2', { command: 'install' })).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_ID' } },
    });
    expect(await versionOf('g-2')).toBe(0);
  });

  it('answers 202 with waited: false when the projection does not catch up in time; the command is committed', async () => {
    await projector.stop();
    const gateway = await startGateway({
      port: 0,
      host: '127.0.0.1',
      client: w.client,
      aggregates: [Turnstile],
      projections: { definitions: [defineTurnstileProjection()], waiter: projector, timeoutMs: 300 },
    });
    try {
      const res = await fetch(`http://127.0.0.1:${gateway.port}/commands/turnstile/g-3?waitFor=turnstile`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ command: 'install' }),
      });
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ status: 'ok', version: 1, waited: false });
      expect(await versionOf('g-3')).toBe(1);
    } finally {
      await gateway.close(1_000);
    }
  });
});
