// Overload answers with a retryable error instead of queueing without bound; trace context
// travels from the client into event metadata and JetStream headers.
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { RatchetClient } from '@ratchet/client';
import { ErrorCode } from '@ratchet/core';
import type { PostgresEventStore } from '@ratchet/event-store-postgres';
import { waitFor } from '@ratchet/launchers';
import { commandSubject, decodeReply, encodeCommandRequest, partitionOf } from '@ratchet/transport-nats';
import { Turnstile } from '@ratchet/turnstile';
import type { Worker } from '@ratchet/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcessWorker, type InProcessWorker } from './in-process-worker.js';

let fixture: InProcessWorker;
let nc: NatsConnection;
let store: PostgresEventStore;
let worker: Worker;
let client: RatchetClient;
const MAX_IN_FLIGHT = 8;

beforeAll(async () => {
  // One transaction at a time with tiny batches: commands pile up quickly.
  fixture = await startInProcessWorker({
    database: 'overload',
    poolSize: 2,
    worker: { maxInFlight: MAX_IN_FLIGHT, groupCommit: { maxBatchSize: 1, maxConcurrentBatches: 1 } },
    clientTimeoutMs: 20_000,
  });
  ({ nc, store, worker, client } = fixture);
});

afterAll(async () => {
  await fixture?.stop();
});

describe('overload', () => {
  it('answers past the bound with retryable OVERLOADED, keeps in-flight bounded, and keeps serving', async () => {
    let maxSeen = 0;
    const sampler = setInterval(() => (maxSeen = Math.max(maxSeen, worker.stats().inFlight)), 1);
    const replies = await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const id = `flood-${i}`;
        const body = encodeCommandRequest({ id, command: { type: 'install', payload: {} }, commandId: `flood-cmd-${i}` });
        const msg = await nc.request(commandSubject('turnstile', partitionOf(id, 64)), body, { timeout: 20_000 });
        return decodeReply(msg.data);
      }),
    );
    clearInterval(sampler);
    const overloaded = replies.filter((r) => r.status === 'error' && r.error.code === ErrorCode.OVERLOADED);
    const ok = replies.filter((r) => r.status === 'ok');
    expect(overloaded.length).toBeGreaterThan(0);
    expect(overloaded.every((r) => r.status === 'error' && r.error.retryable)).toBe(true);
    expect(ok.length + overloaded.length).toBe(300);
    expect(maxSeen).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    // Resent through the client (which retries OVERLOADED with the same command id), every
    // install lands exactly once: the first ones come back as duplicates of the first answer.
    const retried = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        client.send(Turnstile, `flood-${i}`, { type: 'install', payload: {} }, { commandId: `flood-cmd-${i}` }),
      ),
    );
    expect(retried.filter((r) => r.status !== 'ok')).toEqual([]);
    // At least the flood's successes come back as duplicates (a resend whose first attempt timed
    // out on a loaded machine after committing is a duplicate too); exactly once is checked below.
    expect(retried.filter((r) => r.status === 'ok' && r.duplicate).length).toBeGreaterThanOrEqual(ok.length);
    const streams = await Promise.all(Array.from({ length: 300 }, (_, i) => store.streamVersion(`turnstile/flood-${i}`)));
    expect(streams.every((v) => v === 1)).toBe(true);
  });
});

describe('tracing', () => {
  it('carries traceparent into event metadata and JetStream headers', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const r = await client.send(Turnstile, 'traced-1', { type: 'install', payload: {} }, { traceparent });
    expect(r.status).toBe('ok');
    const [event] = await store.readStream('turnstile/traced-1');
    expect(event?.metadata.traceparent).toBe(traceparent);
    const jsm = await jetstreamManager(nc);
    const msg = await waitFor(
      async () => (await jsm.streams.getMessage('RATCHET_EVENTS', { last_by_subj: 'ratchet.evt.turnstile.traced-1' })) ?? false,
      { what: 'the traced event in JetStream', timeoutMs: 10_000 },
    );
    expect(msg.header.get('traceparent')).toBe(traceparent);
    expect(msg.header.get('Nats-Msg-Id')).toBe('turnstile/traced-1:1');
  });
});
