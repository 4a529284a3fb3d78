// The turnstile read model applied by the projector in feed mode from an in-memory event store:
// with its batch handler (a whole batch in one statement) it ends exactly as with its per-event
// handlers, including a poison event (a turnstile that was never installed) parked the same way,
// and both equal Turnstile.replay of each stream. Batches grow while a backlog waits.
import type { RecordedEvent } from '@ratchet/core';
import type { FeedCheckpoint } from '@ratchet/event-store-postgres';
import { createProjector, type Projection, type ProjectorStore } from '@ratchet/projector';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { Turnstile } from '@ratchet/turnstile';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { defineTurnstileProjection } from './turnstile-projection.js';

const databases: TestDatabase[] = [];
const pools: pg.Pool[] = [];

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await Promise.all(databases.map((d) => d.drop()));
});

/** A history decided by the aggregate, over several seconds of recorded_at, plus two events of a turnstile never installed. */
function history(turnstiles: number, count: number): RecordedEvent[] {
  const commands = ['insertCoin', 'pushArm', 'pushArm', 'insertCoin', 'insertCoin', 'pushArm'] as const;
  const states = Array.from({ length: turnstiles }, () => Turnstile.initialState());
  const events: RecordedEvent[] = [];
  const record = (streamId: string, version: number, type: string): void => {
    events.push({
      streamId,
      version,
      type,
      schemaVersion: 1,
      data: {},
      metadata: {},
      globalPosition: events.length + 1,
      transactionId: '1',
      recordedAt: new Date(Date.UTC(2026, 0, 1) + events.length * 7),
      epoch: null,
    });
  };
  for (let n = 0; events.length < count; n += 1) {
    const i = (n * 7) % turnstiles;
    const state = states[i]!;
    const d = Turnstile.decide({ type: state.version === 0 ? 'install' : commands[n % commands.length]!, payload: {} } as never, state);
    if (d.status === 'rejected') continue;
    for (const [k, e] of d.events.entries()) record(`turnstile/t-${i}`, state.version + k + 1, e.type);
    states[i] = d.state;
    if (events.length === Math.floor(count / 2)) {
      record('turnstile/ghost', 1, 'coinInserted'); // poison: no row to update
      record('turnstile/ghost', 2, 'armTurned'); // waits behind it
    }
  }
  return events;
}

/** The event store's reads over an array in commit order; records the page sizes asked for. */
function memoryStore(events: readonly RecordedEvent[], limits: number[]): ProjectorStore {
  return {
    async readStream(streamId, options = {}) {
      return events.filter(
        (e) => e.streamId === streamId && e.version >= (options.fromVersion ?? 1) && e.version <= (options.toVersion ?? Infinity),
      );
    },
    async readFeed(after: FeedCheckpoint, limit: number) {
      limits.push(limit);
      const page = events.filter((e) => e.globalPosition > after.globalPosition).slice(0, limit);
      const last = page.at(-1);
      return {
        events: page,
        checkpoint: last === undefined ? after : { transactionId: last.transactionId, globalPosition: last.globalPosition },
      };
    },
    async feedHead() {
      return { eventCount: events.length };
    },
  };
}

/** Build `projection` from `events` in a database of its own; resolve its tables, marks, parked rows, batch count and page sizes. */
async function build(projection: Projection, events: readonly RecordedEvent[]) {
  const db = await createTestDatabase('turnstileproj');
  databases.push(db);
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => undefined);
  pools.push(pool);
  const limits: number[] = [];
  const projector = createProjector({
    source: 'feed',
    store: memoryStore(events, limits),
    pool,
    projections: [projection],
    batchSize: 50,
    maxBatchSize: 400,
    feedPollIntervalMs: 5,
    maxAttempts: 2,
    retryBackoffMs: 1,
  });
  await projector.start();
  try {
    await projector.whenFollowing('turnstile', projection.version);
    const q = async (sql: string): Promise<unknown[]> => (await pool.query(sql)).rows;
    const batches = (await projector.metrics.batchSeconds.get()).values.find(
      (v) => v.metricName === 'ratchet_projection_batch_seconds_count',
    )?.value;
    return {
      state: {
        turnstiles: await q('SELECT * FROM turnstiles ORDER BY id'),
        totals: await q('SELECT * FROM turnstile_totals'),
        perSecond: await q('SELECT second, events FROM turnstile_commands_per_second ORDER BY second'),
        positions: await q('SELECT stream_id, last_version, parked_version FROM ratchet_projections.positions ORDER BY stream_id'),
        parked: await q('SELECT stream_id, event_version, type, attempts FROM ratchet_projections.parked'),
      },
      batches: batches ?? 0,
      limits,
    };
  } finally {
    await projector.stop();
  }
}

describe('turnstile projection', () => {
  it.each([1, 2] as const)(
    'v%i: the batch handler gives the read model the per-event handlers give, equal to the fold',
    { timeout: 120_000 },
    async (version) => {
      const events = history(40, 3_000);
      const batched = await build(defineTurnstileProjection({ version }), events);
      const perEvent = await build(defineTurnstileProjection({ version, wrap: (_type, handler) => handler }), events);
      expect(batched.state).toEqual(perEvent.state);

      const rows = batched.state.turnstiles as Array<Record<string, unknown>>;
      expect(rows).toHaveLength(40);
      for (const row of rows) {
        const stream = events.filter((e) => e.streamId === `turnstile/${String(row.id)}`);
        const fold = Turnstile.replay(stream);
        expect(row).toMatchObject({
          state: String(fold.snapshot.value),
          coins: fold.snapshot.context.coins,
          turns: fold.snapshot.context.turns,
          pushes: fold.snapshot.context.pushes,
          version: stream.length,
          updated_at: stream.at(-1)!.recordedAt,
          ...(version === 2 ? { last_event_type: stream.at(-1)!.type } : {}),
        });
      }
      const perSecond = batched.state.perSecond as Array<{ events: number }>;
      expect(perSecond.length).toBeGreaterThan(10);
      expect(perSecond.reduce((n, s) => n + s.events, 0)).toBe(events.length - 2);
      expect(batched.state.parked).toEqual([{ stream_id: 'turnstile/ghost', event_version: 1, type: 'coinInserted', attempts: 2 }]);

      // A backlog: after a full page of 50, pages of up to 400.
      expect(batched.limits.slice(0, 4)).toEqual([50, 400, 400, 400]);
      expect(batched.batches).toBeLessThan(15); // 60 at a fixed 50 per batch
    },
  );
});
