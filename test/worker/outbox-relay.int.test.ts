// The outbox relay against a real JetStream and a feed in memory: pages are pipelined (several
// published before their acks return), publishes are lost on the way, and still every event ends up
// on JetStream exactly once, and no saved checkpoint ever passes an event that never reached it.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { RecordedEvent } from '@ratchet/core';
import type { FeedCheckpoint, FeedPage } from '@ratchet/event-store-postgres';
import { startNatsServer, waitFor, type NatsServerHandle } from '@ratchet/launchers';
import { ensureEventsStream, EVENTS_STREAM } from '@ratchet/transport-nats';
import { OutboxRelay, type RelayStore } from '@ratchet/worker';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let server: NatsServerHandle;
let nc: NatsConnection;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  await ensureEventsStream(await jetstreamManager(nc));
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

const TOTAL = 3_000;

/** A feed of TOTAL committed events over 300 streams, one transaction per 7 events. */
function feedStore(): RelayStore & { saved: FeedCheckpoint[] } {
  const events: RecordedEvent[] = Array.from({ length: TOTAL }, (_, i) => ({
    streamId: `turnstile/r-${i % 300}`,
    version: Math.floor(i / 300) + 1,
    type: 'coinInserted',
    schemaVersion: 1,
    data: { i },
    metadata: {},
    globalPosition: i + 1,
    transactionId: String(1_000 + Math.floor(i / 7)),
    recordedAt: new Date(),
    epoch: null,
  }));
  const after = (e: RecordedEvent, c: FeedCheckpoint): boolean =>
    BigInt(e.transactionId) > BigInt(c.transactionId) || (e.transactionId === c.transactionId && e.globalPosition > c.globalPosition);
  const saved: FeedCheckpoint[] = [];
  return {
    saved,
    async readFeed(from: FeedCheckpoint, limit: number): Promise<FeedPage> {
      const page = events.filter((e) => after(e, from)).slice(0, limit);
      const last = page.at(-1);
      return {
        events: page,
        checkpoint: last === undefined ? from : { transactionId: last.transactionId, globalPosition: last.globalPosition },
      };
    },
    async feedMaxPosition() {
      return TOTAL;
    },
    async loadCheckpoint() {
      return saved.at(-1) ?? null;
    },
    async saveCheckpoint(_name: string, checkpoint: FeedCheckpoint) {
      saved.push(checkpoint);
    },
    async tryAcquireLease() {
      return true;
    },
    async releaseLease() {},
  };
}

describe('outbox relay', () => {
  it('with 4 pages in flight and every 9th publish lost, JetStream gets each event once and checkpoints never pass a lost one', async () => {
    const store = feedStore();
    // Publishes that reached the server, by global position; every 9th first attempt is dropped.
    const reached = new Set<number>();
    let attempts = 0;
    const violations: string[] = [];
    const lossy = new Proxy(nc, {
      get(target, prop, receiver) {
        if (prop !== 'publish') return Reflect.get(target, prop, receiver) as unknown;
        return (subject: string, data: Uint8Array, opts: { headers?: { get(k: string): string } }) => {
          const version = opts.headers?.get('Ratchet-Version');
          const stream = opts.headers?.get('Ratchet-Stream');
          attempts += 1;
          if (version !== undefined && stream !== undefined && stream !== '') {
            const position = (Number(version) - 1) * 300 + Number(stream.slice('turnstile/r-'.length)) + 1;
            if (attempts % 9 === 0 && !reached.has(position)) return; // lost on the way: no ack will come
            reached.add(position);
          }
          target.publish(subject, data, opts as never);
        };
      },
    });
    const checkSaved = store.saveCheckpoint.bind(store);
    store.saveCheckpoint = async (name, checkpoint) => {
      for (let p = 1; p <= checkpoint.globalPosition; p++)
        if (!reached.has(p)) violations.push(`checkpoint ${checkpoint.globalPosition} passed lost event ${p}`);
      await checkSaved(name, checkpoint);
    };
    const relay = new OutboxRelay({
      store,
      nats: lossy,
      holder: 'test',
      logger: pino({ level: 'silent' }),
      batchSize: 100,
      pagesInFlight: 4,
      publishTimeoutMs: 300,
      checkpointEveryMs: 0,
    });
    relay.start();
    try {
      await waitFor(async () => store.saved.at(-1)?.globalPosition === TOTAL, {
        what: 'the relay to checkpoint the whole feed',
        timeoutMs: 60_000,
        intervalMs: 100,
      });
    } finally {
      await relay.stop();
    }
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(EVENTS_STREAM);
    expect(info.state.messages).toBe(TOTAL);
    expect(violations).toEqual([]);
    expect(attempts).toBeGreaterThan(TOTAL); // some were lost and published again
    // Saved checkpoints only move forward.
    const positions = store.saved.map((c) => c.globalPosition);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });
});
