import { afterEach, describe, expect, it } from 'vitest';
import { Counter } from '../test/counter.js';
import { FakeClient, okAnswer, send } from '../test/support.js';
import { startGateway, type RunningGateway } from './start-gateway.js';

let running: RunningGateway | undefined;
afterEach(async () => {
  await running?.close(1_000);
  running = undefined;
});

describe('startGateway', () => {
  it('serves /healthz, /readyz and /metrics beside the commands', async () => {
    let ready = false;
    running = await startGateway({ port: 0, host: '127.0.0.1', client: new FakeClient(), aggregates: [Counter], ready: () => ready });
    expect((await send(running.port, { method: 'GET', path: '/healthz' })).status).toBe(200);
    expect(await send(running.port, { method: 'GET', path: '/readyz' })).toMatchObject({ status: 503, body: { status: 'not ready' } });
    ready = true;
    expect(await send(running.port, { method: 'GET', path: '/readyz' })).toMatchObject({ status: 200, body: { status: 'ready' } });
    expect((await send(running.port, { path: '/commands/counter/c', body: { command: 'add', payload: { n: 1 } } })).status).toBe(200);
    const metrics = await send(running.port, { method: 'GET', path: '/metrics' });
    expect(metrics.status).toBe(200);
    expect(String(metrics.body)).toContain('ratchet_gateway_requests_total{aggregate="counter",result="ok",http_status="200"} 1');
  });

  it('drains on close: no new connections, the request in flight is answered, then it resolves true', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const client = new FakeClient(async (call) => {
      await held;
      return okAnswer(call);
    });
    const gateway = await startGateway({ port: 0, host: '127.0.0.1', client, aggregates: [Counter] });
    const inFlight = send(gateway.port, { path: '/commands/counter/c', body: { command: 'add', payload: { n: 1 } } });
    while (client.calls.length === 0) await new Promise((r) => setTimeout(r, 5));
    const closing = gateway.close(5_000);
    expect(gateway.gateway.draining()).toBe(true);
    await expect(send(gateway.port, { method: 'GET', path: '/healthz' })).rejects.toThrow(/ECONNREFUSED/);
    release();
    expect((await inFlight).status).toBe(200);
    expect(await closing).toBe(true);
  });

  it('cuts off what is still in flight at the drain deadline and resolves false', async () => {
    const client = new FakeClient(() => new Promise(() => undefined));
    const gateway = await startGateway({ port: 0, host: '127.0.0.1', client, aggregates: [Counter] });
    const inFlight = send(gateway.port, { path: '/commands/counter/c', body: { command: 'add', payload: { n: 1 } } }).catch(
      (error: unknown) => error,
    );
    while (client.calls.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(await gateway.close(100)).toBe(false);
    expect(await inFlight).toBeInstanceOf(Error);
  });
});
