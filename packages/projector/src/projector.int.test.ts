// The projector runtime against a private nats-server and a fresh database: exactly-once apply on
// (stream, version) through redeliveries and gaps, poison events parked per stream, read-your-writes.
import { setTimeout as delay } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { ErrorCode, RatchetError, type RecordedEvent } from '@ratchet/core';
import { createPostgresEventStore, FEED_START, type FeedCheckpoint, type PostgresEventStore } from '@ratchet/event-store-postgres';
import { startNatsServer, waitFor, type NatsServerHandle } from '@ratchet/launchers';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { encodeEventMessage, ensureEventsStream } from '@ratchet/transport-nats';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineProjection, type Projection } from './define-projection.js';
import { migrateProjectionSchema } from './projection-schema.js';
import { createProjector, type Projector } from './projector.js';
import { republish } from './republish.js';

let nats: NatsServerHandle;
let nc: NatsConnection;
let db: TestDatabase;
let store: PostgresEventStore;
let pool: pg.Pool;
let relay: FeedRelay;
const poisoned = new Set<string>();
const calls = new Map<string, number>();

/** Counts every applied event per stream and remembers the versions it saw, so a double apply shows. */
function countingProjection(): Projection {
  return defineProjection({
    name: 'counting',
    version: 1,
    tables: ['counting'],
    aggregateTypes: ['counter'],
    setup: async (sql, t) => {
      await sql.query(
        `CREATE TABLE IF NOT EXISTS ${t.name('counting')} (stream_id text PRIMARY KEY, n int NOT NULL, versions int[] NOT NULL)`,
      );
    },
    handlers: {
      ticked: async (e, sql, t) => {
        const key = `${e.streamId}@${e.version}`;
        calls.set(key, (calls.get(key) ?? 0) + 1);
        if (poisoned.has(key)) throw new Error(`poison ${key}`);
        await sql.query(
          `INSERT INTO ${t.name('counting')} AS c VALUES ($1, 1, ARRAY[$2::int])
           ON CONFLICT (stream_id) DO UPDATE SET n = c.n + 1, versions = c.versions || $2::int`,
          [e.streamId, e.version],
        );
      },
    },
  });
}

async function tick(streamId: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1) {
    const v = await store.streamVersion(streamId);
    await store.append(streamId, v, [{ type: 'ticked', data: {} }]);
  }
}

async function rows(): Promise<Map<string, { n: number; versions: number[] }>> {
  const res = await pool.query<{ stream_id: string; n: number; versions: number[] }>('SELECT * FROM counting');
  return new Map(res.rows.map((r) => [r.stream_id, { n: r.n, versions: r.versions }]));
}

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  db = await createTestDatabase('projector');
  store = createPostgresEventStore({ connectionString: db.url });
  await store.migrate();
  pool = new pg.Pool({ connectionString: db.url });
  pool.on('error', () => undefined); // a connection still closing when afterAll drops the database
  await ensureEventsStream(await jetstreamManager(nc));
  relay = startRelay(FEED_START);
});

interface FeedRelay {
  /** Stop after the round in hand; resolves with the feed position published up to. */
  stop(): Promise<FeedCheckpoint>;
}

/**
 * Publishes what the tests append, as a worker's outbox relay does: the store's feed from `from` on,
 * in commit order, with the relay's subject, body and headers (`republish`), every 20 ms.
 */
function startRelay(from: FeedCheckpoint): FeedRelay {
  const js = jetstream(nc);
  let running = true;
  let checkpoint = from;
  const loop = (async () => {
    while (running) {
      try {
        checkpoint = (await republish(store, js, checkpoint)).checkpoint;
      } catch {
        // Published again from the same checkpoint next round; JetStream drops what it already has.
      }
      await delay(20);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return checkpoint;
    },
  };
}

afterAll(async () => {
  await relay?.stop();
  await pool?.end();
  await store?.close();
  await db?.drop();
  await nc?.close();
  await nats?.stop();
});

describe('projector runtime', () => {
  let projector: Projector;
  beforeAll(async () => {
    projector = createProjector({
      nats: nc,
      store,
      pool,
      projections: [countingProjection()],
      batchSize: 50,
      ackWaitMs: 1_000,
      maxAttempts: 3,
      retryBackoffMs: 1,
    });
    await projector.start();
    await projector.whenFollowing('counting', 1);
  });
  afterAll(async () => {
    await projector?.stop();
  });

  it('applies each (stream, version) once through redeliveries and a full republish', async () => {
    await tick('counter/a', 20);
    await tick('counter/b', 5);
    await projector.waitFor('counting', 'counter/a', 20, 10_000);
    await projector.waitFor('counting', 'counter/b', 5, 10_000);
    // A purged stream refilled from Postgres: every event comes again (unless JetStream's
    // dedupe window still remembers its id), and the projector must not count any twice.
    const jsm = await jetstreamManager(nc);
    await jsm.streams.purge('RATCHET_EVENTS');
    const { published } = await republish(store, jetstream(nc), FEED_START);
    expect(published).toBe(25);
    await tick('counter/a', 1);
    await projector.waitFor('counting', 'counter/a', 21, 10_000);
    const r = await rows();
    expect(r.get('counter/a')).toEqual({ n: 21, versions: Array.from({ length: 21 }, (_, i) => i + 1) });
    expect(r.get('counter/b')?.n).toBe(5);
  });

  it('drops duplicates JetStream cannot see (past its dedupe window) by the high-water mark', async () => {
    // Publish straight to JetStream with fresh message ids: what a republish looks like after the window.
    const js = jetstream(nc);
    const [e1, e2] = await store.readStream('counter/b', { fromVersion: 1, toVersion: 2 });
    const dupes = async (): Promise<number> =>
      (await projector.metrics.duplicates.get()).values.find((v) => v.labels.projection === 'counting@v1')?.value ?? 0;
    // Counted before publishing: the projector may drop the first ones before the next publish returns.
    const dupesBefore = await dupes();
    for (const e of [e1!, e2!, e1!]) await js.publish('ratchet.evt.counter.b', encodeEventMessage(e));
    const before = await pool.query<{ d: string }>(
      `SELECT coalesce(sum(events_applied), 0) AS d FROM ratchet_projections.versions WHERE name = 'counting'`,
    );
    await tick('counter/b', 1);
    await projector.waitFor('counting', 'counter/b', 6, 10_000);
    await waitFor(async () => (await jsm().then((m) => m.consumers.info('RATCHET_EVENTS', 'proj_counting_v1'))).num_ack_pending === 0, {
      what: 'every message acked',
      timeoutMs: 10_000,
    });
    const r = await rows();
    expect(r.get('counter/b')).toEqual({ n: 6, versions: [1, 2, 3, 4, 5, 6] });
    const after = await pool.query<{ d: string }>(
      `SELECT coalesce(sum(events_applied), 0) AS d FROM ratchet_projections.versions WHERE name = 'counting'`,
    );
    expect(Number(after.rows[0]!.d) - Number(before.rows[0]!.d)).toBe(1);
    expect((await dupes()) - dupesBefore).toBeGreaterThanOrEqual(3);
  });

  it('fills a gap from the store when an earlier event never arrives', async () => {
    // Append while no relay runs, then publish only the last event: versions 1 and 2 never arrive.
    const stoppedAt = await relay.stop();
    for (let i = 0; i < 3; i += 1) await store.append('counter/gap', i, [{ type: 'ticked', data: {} }]);
    const [, , third] = await store.readStream('counter/gap');
    await jetstream(nc).publish('ratchet.evt.counter.gap', encodeEventMessage(third!), { msgID: 'gap-test-3' });
    await projector.waitFor('counting', 'counter/gap', 3, 10_000);
    expect((await rows()).get('counter/gap')).toEqual({ n: 3, versions: [1, 2, 3] });
    relay = startRelay(stoppedAt);
  });

  it('parks a poison event, holds its stream, lets other streams flow, and catches up after a retry', async () => {
    await tick('counter/p', 2);
    await projector.waitFor('counting', 'counter/p', 2, 10_000);
    poisoned.add('counter/p@3');
    await tick('counter/p', 3); // v3 is poison, v4 and v5 wait behind it
    await tick('counter/ok', 4);
    await projector.waitFor('counting', 'counter/ok', 4, 10_000);
    const parked = await waitFor(async () => (await projector.listParked('counting')).find((p) => p.streamId === 'counter/p'), {
      what: 'counter/p parked',
      timeoutMs: 10_000,
    });
    expect(parked).toMatchObject({ version: 3, type: 'ticked', attempts: 3 });
    expect(parked.error).toMatch(/poison counter\/p@3/);
    expect(calls.get('counter/p@3')).toBeGreaterThanOrEqual(3);
    expect(calls.get('counter/p@4') ?? 0).toBe(0);
    // Later events of the parked stream are not applied while it is parked.
    await tick('counter/p', 1);
    await tick('counter/ok', 1);
    await projector.waitFor('counting', 'counter/ok', 5, 10_000);
    expect((await rows()).get('counter/p')?.versions).toEqual([1, 2]);
    expect(await projector.metrics.registry.getSingleMetricAsString('ratchet_projection_parked')).toMatch(/counting@v1"} 1/);
    const wait = projector.waitFor('counting', 'counter/p', 6, 200);
    await expect(wait).rejects.toBeInstanceOf(RatchetError);
    await expect(wait).rejects.toMatchObject({ code: ErrorCode.TIMEOUT });

    // A retry that fails again keeps it parked and counts the attempts.
    expect(await projector.retryParked('counting')).toEqual({ released: [], stillParked: ['counter/p'] });
    expect((await projector.listParked('counting'))[0]?.attempts).toBe(6);

    poisoned.delete('counter/p@3'); // the fix
    expect(await projector.retryParked('counting', 'counter/p')).toEqual({ released: ['counter/p'], stillParked: [] });
    await projector.waitFor('counting', 'counter/p', 6, 1_000);
    expect((await rows()).get('counter/p')).toEqual({ n: 6, versions: [1, 2, 3, 4, 5, 6] });
    expect(await projector.listParked('counting')).toEqual([]);
    await tick('counter/p', 1);
    await projector.waitFor('counting', 'counter/p', 7, 10_000);
    expect((await rows()).get('counter/p')?.n).toBe(7);
  });
});

describe('a JetStream backlog', () => {
  /** Counts events per stream; a batch handler, so a large batch costs a few statements. */
  const bulk = defineProjection({
    name: 'bulk',
    version: 1,
    tables: ['bulk_counts'],
    aggregateTypes: ['bulk'],
    setup: async (sql, t) => {
      await sql.query(
        `CREATE TABLE IF NOT EXISTS ${t.name('bulk_counts')} (stream_id text PRIMARY KEY, n int NOT NULL, last int NOT NULL)`,
      );
    },
    handlers: {
      ticked: async (e, sql, t) => {
        await sql.query(
          `INSERT INTO ${t.name('bulk_counts')} AS c VALUES ($1, 1, $2) ON CONFLICT (stream_id) DO UPDATE SET n = c.n + 1, last = excluded.last`,
          [e.streamId, e.version],
        );
      },
    },
    applyBatch: async (events: readonly RecordedEvent[], sql, t) => {
      await sql.query(
        `INSERT INTO ${t.name('bulk_counts')} AS c (stream_id, n, last)
         SELECT s, count(*), max(v) FROM unnest($1::text[], $2::int[]) AS x(s, v) GROUP BY s
         ON CONFLICT (stream_id) DO UPDATE SET n = c.n + excluded.n, last = excluded.last`,
        [events.map((e) => e.streamId), events.map((e) => e.version)],
      );
    },
  });

  it('is applied in batches that grow up to maxBatchSize; an older consumer gets room for them', async () => {
    const manager = await jsm();
    // The consumer as an older projector made it: room for 1,000 unacked messages.
    await manager.consumers.add('RATCHET_EVENTS', {
      durable_name: bulk.consumerName,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: 'ratchet.evt.bulk.>',
      max_ack_pending: 1_000,
      max_deliver: -1,
    });
    const streams = 30;
    const perStream = 100;
    await store.appendBatch(
      Array.from({ length: streams }, (_, i) => ({
        streamId: `bulk/s${i}`,
        expectedVersion: 0,
        events: Array.from({ length: perStream }, () => ({ type: 'ticked', data: {} })),
      })),
    );
    // The relay publishes the backlog before the projector starts.
    await waitFor(async () => (await manager.consumers.info('RATCHET_EVENTS', bulk.consumerName)).num_pending === streams * perStream, {
      what: 'the backlog in JetStream',
      timeoutMs: 30_000,
    });
    // Built already: the version follows JetStream from its consumer.
    await migrateProjectionSchema(pool);
    await pool.query(`INSERT INTO ratchet_projections.versions (name, version, status, tables) VALUES ('bulk', 1, 'following', $1)`, [
      bulk.tables,
    ]);
    const projector = createProjector({ nats: nc, store, pool, projections: [bulk], batchSize: 50, maxBatchSize: 1_000 });
    await projector.start();
    try {
      for (let i = 0; i < streams; i += 1) await projector.waitFor('bulk', `bulk/s${i}`, perStream, 30_000);
      expect((await manager.consumers.info('RATCHET_EVENTS', bulk.consumerName)).config.max_ack_pending).toBe(2_000);
      const counts = await pool.query<{ n: number; last: number }>('SELECT n, last FROM bulk_counts');
      expect(counts.rows).toHaveLength(streams);
      expect(counts.rows.every((r) => r.n === perStream && r.last === perStream)).toBe(true);
      const batches = (await projector.metrics.batchSeconds.get()).values.find(
        (v) => v.metricName === 'ratchet_projection_batch_seconds_count' && v.labels.projection === 'bulk@v1',
      )?.value;
      // 60 batches at a fixed 50; about 5 when they grow to 1,000 (more if messages trickle in).
      expect(batches).toBeLessThan(30);
    } finally {
      await projector.stop();
    }
  });
});

function jsm() {
  return jetstreamManager(nc);
}
