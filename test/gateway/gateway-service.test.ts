// services/gateway as a process (startServiceProcess), in front of an in-process worker and
// projector: ready, one command with read-your-writes, the OpenAPI document of the loaded app,
// a clean exit on SIGTERM, and exit 2 on a bad app.
import { startServiceProcess, type ServiceProcess } from '@ratchet/launchers';
import { createProjector, type Projector } from '@ratchet/projector';
import { defineTurnstileProjection } from '@ratchet/turnstile-projections';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcessWorker, type InProcessWorker } from '../worker/in-process-worker.js';

const entry = 'services/gateway/src/main.ts';
let w: InProcessWorker;
let pool: pg.Pool;
let projector: Projector;
let gateway: ServiceProcess | undefined;

beforeAll(async () => {
  w = await startInProcessWorker({ database: 'gateway_service', worker: { relayPollIntervalMs: 20 } });
  pool = new pg.Pool({ connectionString: w.db.url, max: 4 });
  pool.on('error', () => undefined);
  projector = createProjector({ nats: w.nc, store: w.store, pool, projections: [defineTurnstileProjection()] });
  await projector.start();
  await projector.whenFollowing('turnstile', 1);
});

afterAll(async () => {
  await gateway?.stop();
  await projector?.stop();
  await pool?.end();
  await w?.stop();
});

describe('services/gateway', () => {
  it('gets ready, answers a command with waitFor, serves the app OpenAPI document, and exits 0 on SIGTERM', async () => {
    gateway = await startServiceProcess({
      entry,
      name: 'gateway',
      readyMessage: 'gateway ready',
      env: { NATS_URL: w.natsServer.url, DATABASE_URL: w.db.url, HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    });
    expect(gateway.ready.waitFor).toEqual(['turnstile', 'stations']);
    const base = `http://127.0.0.1:${String(gateway.ready.httpPort)}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    const res = await fetch(`${base}/commands/turnstile/svc-1?waitFor=turnstile`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'svc-1-install' },
      body: JSON.stringify({ command: 'install' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', version: 1, waited: true, commandId: 'svc-1-install' });
    expect((await pool.query(`SELECT version FROM turnstiles WHERE id = 'svc-1'`)).rows).toEqual([{ version: 1 }]);

    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { info: { title: string }; paths: Record<string, unknown> };
    expect(doc.info.title).toBe('turnstile command gateway');
    expect(Object.keys(doc.paths)).toContain('/commands/turnstile/{id}');
    expect(await (await fetch(`${base}/metrics`)).text()).toContain(
      'ratchet_gateway_requests_total{aggregate="turnstile",result="ok",http_status="200"} 1',
    );

    expect(await gateway.stop()).toBe(0);
    expect(gateway.logs.some((l) => l.msg === 'drained; exiting')).toBe(true);
  });

  it('exits 2 naming the problem when RATCHET_APP is not an app module', async () => {
    const failed = startServiceProcess({
      entry,
      name: 'gateway-bad-app',
      readyMessage: 'gateway ready',
      env: { NATS_URL: w.natsServer.url, RATCHET_APP: 'no/such/app.ts', HTTP_PORT: '0' },
    });
    await expect(failed).rejects.toThrow(/exited with 2/);
  });
});
