import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { ensureEventsStream, EVENTS_STREAM, EVENTS_STREAM_SUBJECTS } from './events-stream.js';

describe('ensureEventsStream', () => {
  let nc: NatsConnection | undefined;
  let jsm: JetStreamManager | undefined;
  // A private name and subject so the shared server's real RATCHET_EVENTS stream is untouched.
  const tag = `t${process.pid}x${Date.now()}`;
  const name = `RATCHET_EVENTS_TEST_${tag}`;
  const subjects = [`test.${tag}.evt.>`];

  beforeAll(async () => {
    nc = await connect({ servers: process.env.NATS_URL });
    jsm = await jetstreamManager(nc);
  });

  afterAll(async () => {
    await jsm?.streams.delete(name).catch(() => undefined);
    await nc?.close();
  });

  it('has the protocol defaults', () => {
    expect(EVENTS_STREAM).toBe('RATCHET_EVENTS');
    expect(EVENTS_STREAM_SUBJECTS).toEqual(['ratchet.evt.>']);
  });

  it('creates a file-backed stream, then updates it in place', async () => {
    const created = await ensureEventsStream(jsm!, { name, subjects, duplicateWindowMs: 60_000 });
    expect(created.config.storage).toBe(StorageType.File);
    expect(created.config.subjects).toEqual(subjects);
    expect(created.config.num_replicas).toBe(1);
    expect(created.config.duplicate_window).toBe(60_000 * 1_000_000);

    const updated = await ensureEventsStream(jsm!, { name, subjects });
    expect(updated.config.duplicate_window).toBe(120_000 * 1_000_000);
    expect(updated.state.first_seq).toBe(created.state.first_seq);
  });
});
