import type { RecordedEvent } from '@ratchet/core';
import { createTestDatabase } from '@ratchet/testing';
import type { TestDatabase } from '@ratchet/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore, FEED_START } from './index.js';
import type { FeedCheckpoint, PostgresEventStore } from './index.js';

const WRITERS = 8;
const HELD_WRITERS = 2; // of the 8: append in a raw transaction that sleeps before COMMIT
const EVENTS_PER_APPEND = 5;
const APPENDS_PER_WRITER = 250; // 8 × 250 × 5 = 10,000 events
const TOTAL = WRITERS * APPENDS_PER_WRITER * EVENTS_PER_APPEND;

let db: TestDatabase;
let store: PostgresEventStore;

beforeAll(async () => {
  db = await createTestDatabase();
  store = createPostgresEventStore({ connectionString: db.url, poolSize: 8 });
  await store.migrate();
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

let stop = false;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function events(
  writer: number,
  n: number,
): Array<{ type: string; schemaVersion: number; data: unknown; metadata: Record<string, unknown> }> {
  return Array.from({ length: EVENTS_PER_APPEND }, (_, i) => ({ type: 'tick', schemaVersion: 1, data: { writer, n, i }, metadata: {} }));
}

async function heldWriter(writer: number): Promise<void> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    for (let n = 0; n < APPENDS_PER_WRITER && !stop; n++) {
      const streamId = `feed-${writer}-${n % 10}`;
      await client.query('BEGIN');
      const payload = JSON.stringify([{ streamId, expectedVersion: null, events: events(writer, n) }]);
      const reply = await client.query<{ r: { outcomes: Array<{ ok: boolean }> } }>('SELECT ratchet.append_batch($1::jsonb) AS r', [
        payload,
      ]);
      if (reply.rows[0]?.r.outcomes[0]?.ok !== true) throw new Error('held append failed');
      // Other writers commit higher global positions meanwhile: this one commits out of position order.
      await sleep(2 + Math.random() * 15);
      await client.query('COMMIT');
    }
  } finally {
    await client.end();
  }
}

async function storeWriter(writer: number): Promise<void> {
  for (let n = 0; n < APPENDS_PER_WRITER && !stop; n++) {
    await store.append(`feed-${writer}-${n % 10}`, 'any', events(writer, n));
  }
}

function after(a: FeedCheckpoint, b: FeedCheckpoint): boolean {
  const xa = BigInt(a.transactionId);
  const xb = BigInt(b.transactionId);
  return xa > xb || (xa === xb && a.globalPosition > b.globalPosition);
}

describe('readFeed', () => {
  it('starts empty', async () => {
    expect(await store.readFeed(null, 10)).toEqual({ events: [], checkpoint: FEED_START });
    expect((await store.feedHead()).eventCount).toBe(0);
  });

  it('a reader polling during 8 concurrent writers sees every one of 10k events exactly once, in commit order', async () => {
    let writing = true;
    stop = false;
    const writers = Promise.all(Array.from({ length: WRITERS }, (_, w) => (w < HELD_WRITERS ? heldWriter(w) : storeWriter(w)))).finally(
      () => {
        writing = false;
      },
    );

    const seen: RecordedEvent[] = [];
    let checkpoint: FeedCheckpoint = FEED_START;
    let sawLowerPositionLater = false;
    let maxPosition = 0;
    const deadline = Date.now() + 90_000;
    try {
      while (seen.length < TOTAL || writing) {
        if (Date.now() > deadline) throw new Error(`feed stalled at ${seen.length}/${TOTAL} events`);
        const page = await store.readFeed(checkpoint, 500);
        for (const e of page.events) {
          const position = { transactionId: e.transactionId, globalPosition: e.globalPosition };
          if (!after(position, checkpoint)) {
            throw new Error(`feed out of commit order: ${JSON.stringify(position)} after ${JSON.stringify(checkpoint)}`);
          }
          if (e.globalPosition < maxPosition) sawLowerPositionLater = true;
          maxPosition = Math.max(maxPosition, e.globalPosition);
          checkpoint = position;
          seen.push(e);
        }
        expect(page.checkpoint).toEqual(checkpoint);
        if (page.events.length === 0) await sleep(10);
        if (seen.length > TOTAL) break;
      }
    } finally {
      // On failure, stop the writers before afterAll closes the pool.
      stop = true;
      await writers.catch(() => undefined);
    }
    await writers;

    expect(seen).toHaveLength(TOTAL);
    expect(new Set(seen.map((e) => `${e.streamId}:${e.version}`)).size).toBe(TOTAL);
    expect(new Set(seen.map((e) => e.globalPosition)).size).toBe(TOTAL);
    // The scenario really happened: some event reached the feed after one with a higher position.
    expect(sawLowerPositionLater).toBe(true);
    // Nothing more arrives, and the head agrees with what the reader saw.
    expect((await store.readFeed(checkpoint, 10)).events).toEqual([]);
    const head = await store.feedHead();
    expect(head.eventCount).toBe(TOTAL);
    expect(head.checkpoint).toEqual(checkpoint);
    // Per stream: versions 1..n, gap-free, in feed order.
    const byStream = new Map<string, number[]>();
    for (const e of seen) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e.version]);
    for (const versions of byStream.values()) {
      expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1));
    }
  });
});
