import { ErrorCode, RatchetError } from '@ratchet/core';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClient, send, startTestGateway, type TestGateway } from '../test/support.js';
import type { ProjectionWaiter } from './gateway-options.js';

let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** A waiter that records each wait and settles it with `outcome`. */
class FakeWaiter implements ProjectionWaiter {
  readonly waits: Array<{ name: string; streamId: string; version: number; timeoutMs: number | undefined }> = [];
  constructor(readonly outcome: () => Promise<void>) {}
  async waitFor(name: string, streamId: string, version: number, timeoutMs?: number): Promise<void> {
    this.waits.push({ name, streamId, version, timeoutMs });
    return this.outcome();
  }
}

const projections = (waiter: ProjectionWaiter) => ({
  definitions: [{ name: 'totals', aggregateTypes: ['counter'] }, { name: 'totals' }, { name: 'elsewhere', aggregateTypes: ['other'] }],
  waiter,
  timeoutMs: 1_500,
});
const add = { command: 'add', payload: { n: 1 } };

describe('?waitFor=<projection>', () => {
  it('waits for the stream up to the returned version, then answers 200 with waited: true', async () => {
    const waiter = new FakeWaiter(async () => undefined);
    t = await startTestGateway({ projections: projections(waiter) });
    const res = await send(t.port, { path: '/commands/counter/c-9?waitFor=totals', body: add });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', version: 1, waited: true });
    expect(waiter.waits).toEqual([{ name: 'totals', streamId: 'counter/c-9', version: 1, timeoutMs: 1_500 }]);
  });

  it('answers 202 with waited: false when the wait times out, or fails; the command is still committed', async () => {
    let outcome: Error = new RatchetError(ErrorCode.TIMEOUT, 'not yet');
    const waiter = new FakeWaiter(async () => {
      throw outcome;
    });
    t = await startTestGateway({ projections: projections(waiter) });
    const timedOut = await send(t.port, { path: '/commands/counter/c?waitFor=totals', body: add });
    expect(timedOut.status).toBe(202);
    expect(timedOut.body).toMatchObject({ status: 'ok', version: 1, waited: false });
    outcome = new RatchetError(ErrorCode.STORE_UNAVAILABLE, 'read-model database down');
    expect((await send(t.port, { path: '/commands/counter/c?waitFor=totals', body: add })).status).toBe(202);
    expect(t.client.calls).toHaveLength(2);
  });

  it('does not wait after a rejection or an error, and leaves waited out of results without waitFor', async () => {
    const waiter = new FakeWaiter(async () => undefined);
    const client = new FakeClient((call) => ({
      status: 'rejected',
      reason: 'nothing to clear',
      version: 0,
      commandId: call.options.commandId ?? '',
      attempts: 1,
    }));
    t = await startTestGateway({ client, projections: projections(waiter) });
    const rejected = await send(t.port, { path: '/commands/counter/c?waitFor=totals', body: { command: 'clear' } });
    expect(rejected.status).toBe(409);
    expect(rejected.body).not.toHaveProperty('waited');
    expect(waiter.waits).toEqual([]);
  });

  it('refuses, before sending, a projection it does not know or one that does not read the aggregate type', async () => {
    const waiter = new FakeWaiter(async () => undefined);
    t = await startTestGateway({ projections: projections(waiter) });
    const unknown = await send(t.port, { path: '/commands/counter/c?waitFor=nope', body: add });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({
      error: {
        code: 'VALIDATION_FAILED',
        details: { issues: [{ path: ['query', 'waitFor'], message: 'unknown projection; one of totals, elsewhere' }] },
      },
    });
    const elsewhere = await send(t.port, { path: '/commands/counter/c?waitFor=elsewhere', body: add });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body).toMatchObject({
      error: { details: { issues: [{ message: 'projection "elsewhere" does not read counter events' }] } },
    });
    expect(t.client.calls).toEqual([]);
  });
});
