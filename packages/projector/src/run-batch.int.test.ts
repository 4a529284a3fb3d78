// One read-model transaction against a fresh database: a batch that mixes duplicates, events out of
// order, a gap, a poison event, an event without a handler and another aggregate type's stream
// leaves the read model, the high-water marks and the parked events exactly as applying the same
// events one at a time does; concurrent batches over new streams neither deadlock nor apply twice;
// the feed checkpoint saved with a batch only moves forward.
import type { RecordedEvent } from '@ratchet/core';
import { createTestDatabase, seededRandom, type TestDatabase } from '@ratchet/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplyReport } from './apply-events.js';
import { defineProjection, type Projection } from './define-projection.js';
import { migrateProjectionSchema } from './projection-schema.js';
import { runBatch } from './run-batch.js';

let db: TestDatabase;
let pool: pg.Pool;
const poisoned = new Set<string>();

beforeAll(async () => {
  db = await createTestDatabase('runbatch');
  pool = new pg.Pool({ connectionString: db.url, max: 6 });
  pool.on('error', () => undefined);
  await migrateProjectionSchema(pool);
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/** Records every applied version per stream, so an event applied twice, skipped or out of order shows. */
function ledger(name: string, version: number, batched: boolean, slow = false): Projection {
  return defineProjection({
    name,
    version,
    tables: [name], // physical tables are proj_<table>_v<version>: one table name per test
    aggregateTypes: ['ledger'],
    setup: async (sql, t) => {
      await sql.query(`CREATE TABLE IF NOT EXISTS ${t.name(name)} (stream_id text PRIMARY KEY, n int NOT NULL, versions int[] NOT NULL)`);
    },
    handlers: {
      ticked: async (e, sql, t) => {
        if (poisoned.has(`${e.streamId}@${e.version}`)) throw new Error(`poison ${e.streamId}@${e.version}`);
        await sql.query(
          `INSERT INTO ${t.name(name)} AS c VALUES ($1, 1, ARRAY[$2::int])
           ON CONFLICT (stream_id) DO UPDATE SET n = c.n + 1, versions = c.versions || $2::int`,
          [e.streamId, e.version],
        );
      },
    },
    ...(batched
      ? {
          applyBatch: async (events: readonly RecordedEvent[], sql, t) => {
            const ticks = events.filter((e) => e.type === 'ticked');
            const poison = ticks.find((e) => poisoned.has(`${e.streamId}@${e.version}`));
            if (poison !== undefined) throw new Error(`poison ${poison.streamId}@${poison.version}`);
            // Between reading the marks and moving them: a batch that did not hold its marks locked would apply twice.
            if (slow) await sql.query('SELECT pg_sleep(0.01)');
            await sql.query(
              `INSERT INTO ${t.name(name)} AS c (stream_id, n, versions)
               SELECT s, count(*), array_agg(v ORDER BY o) FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS x(s, v, o) GROUP BY s
               ON CONFLICT (stream_id) DO UPDATE SET n = c.n + excluded.n, versions = c.versions || excluded.versions`,
              [ticks.map((e) => e.streamId), ticks.map((e) => e.version)],
            );
          },
        }
      : {}),
  });
}

async function install(p: Projection): Promise<void> {
  const client = await pool.connect();
  try {
    await p.setup(client, p.tableNames);
    await client.query(`INSERT INTO ratchet_projections.versions (name, version, status, tables) VALUES ($1, $2, 'following', $3)`, [
      p.name,
      p.version,
      p.tables,
    ]);
  } finally {
    client.release();
  }
}

/** The event store of these tests: streams of `ticked` events, some `noted` (no handler). */
function event(streamId: string, version: number, type = 'ticked'): RecordedEvent {
  return {
    streamId,
    version,
    type,
    schemaVersion: 1,
    data: {},
    metadata: {},
    globalPosition: 0,
    transactionId: '0',
    recordedAt: new Date(1_700_000_000_000 + version * 1_000),
    epoch: null,
  };
}
const NOTED = new Set(['ledger/d@2']);
const at = (streamId: string, version: number): RecordedEvent =>
  event(streamId, version, NOTED.has(`${streamId}@${version}`) ? 'noted' : 'ticked');
const readGap = async (streamId: string, from: number, to?: number): Promise<RecordedEvent[]> =>
  Array.from({ length: (to ?? from) - from + 1 }, (_, i) => at(streamId, from + i));
const options = { readGap, maxAttempts: 2, retryBackoffMs: 1 };

/** Everything a projection version committed: its rows, marks, parked events and counters. */
async function state(p: Projection): Promise<unknown> {
  const q = async (sql: string): Promise<unknown[]> => (await pool.query(sql, [p.name, p.version])).rows;
  return {
    entries: (await pool.query(`SELECT stream_id, n, versions FROM ${p.tableNames.name(p.name)} ORDER BY stream_id`)).rows,
    positions: await q(
      `SELECT stream_id, last_version, parked_version FROM ratchet_projections.positions WHERE name = $1 AND version = $2 ORDER BY stream_id`,
    ),
    parked: await q(
      `SELECT stream_id, event_version, type, attempts FROM ratchet_projections.parked WHERE name = $1 AND version = $2 ORDER BY stream_id`,
    ),
    counters: await q(`SELECT events_applied FROM ratchet_projections.versions WHERE name = $1 AND version = $2`),
  };
}

function sum(reports: ApplyReport[]): Omit<ApplyReport, 'parked' | 'lastRecordedAt'> & { parked: number } {
  const total = { applied: 0, duplicates: 0, waiting: 0, gapFilled: 0, parked: 0 };
  for (const r of reports) {
    total.applied += r.applied;
    total.duplicates += r.duplicates;
    total.waiting += r.waiting;
    total.gapFilled += r.gapFilled;
    total.parked += r.parked.length;
  }
  return total;
}

describe('runBatch', () => {
  it.each([
    ['with a batch handler', true],
    ['with per-event handlers only', false],
  ])('a mixed batch equals the same events applied one at a time (%s)', async (_label, batched) => {
    const name = batched ? 'mixed_batched' : 'mixed_handlers';
    const together = ledger(name, 1, batched);
    const oneByOne = ledger(name, 2, batched);
    await install(together);
    await install(oneByOne);
    poisoned.add('ledger/c@2');
    const before = [at('ledger/a', 1), at('ledger/a', 2), at('ledger/a', 3), at('ledger/b', 1), at('ledger/b', 2)];
    const mixed = [
      at('ledger/a', 5), // out of order: 4 comes later in the batch
      at('ledger/a', 2), // duplicate of an applied event
      at('ledger/a', 4),
      at('ledger/a', 3),
      at('ledger/b', 5), // gap: 3 and 4 never arrive, the store has them
      at('ledger/b', 6),
      at('ledger/c', 1),
      at('ledger/c', 2), // poison: parked, holds its stream
      at('ledger/c', 3), // waits behind it
      at('ledger/d', 1),
      at('ledger/d', 1), // duplicate inside the batch
      at('ledger/d', 2), // no handler: only moves the mark
      at('ledger/d', 3),
      event('other/x', 1), // not this projection's aggregate type
      at('ledger/a', 5), // duplicate inside the batch
    ];
    const after = [at('ledger/c', 4), at('ledger/a', 6)];

    const reports = [
      await runBatch(pool, together, before, options),
      await runBatch(pool, together, mixed, options),
      await runBatch(pool, together, after, options),
    ];
    const single: ApplyReport[] = [await runBatch(pool, oneByOne, before, options)];
    for (const e of [...mixed, ...after]) single.push(await runBatch(pool, oneByOne, [e], options));

    expect(await state(together)).toEqual(await state(oneByOne));
    expect(sum(reports)).toEqual({ applied: 5 + 2 + 4 + 1 + 3 + 1, duplicates: 4, waiting: 2, gapFilled: 2, parked: 1 });
    // One at a time, a5 arrives before a4 and fills it as a gap, so a4 then counts as a duplicate.
    expect(sum(single)).toEqual({ applied: 16, duplicates: 5, waiting: 2, gapFilled: 3, parked: 1 });
    expect(await state(together)).toMatchObject({
      entries: [
        { stream_id: 'ledger/a', n: 6, versions: [1, 2, 3, 4, 5, 6] },
        { stream_id: 'ledger/b', n: 6, versions: [1, 2, 3, 4, 5, 6] },
        { stream_id: 'ledger/c', n: 1, versions: [1] },
        { stream_id: 'ledger/d', n: 2, versions: [1, 3] },
      ],
      positions: [
        { stream_id: 'ledger/a', last_version: 6, parked_version: null },
        { stream_id: 'ledger/b', last_version: 6, parked_version: null },
        { stream_id: 'ledger/c', last_version: 1, parked_version: 2 },
        { stream_id: 'ledger/d', last_version: 3, parked_version: null },
      ],
      parked: [{ stream_id: 'ledger/c', event_version: 2, type: 'ticked', attempts: 2 }],
      counters: [{ events_applied: '16' }],
    });
    poisoned.clear();
  });

  it('concurrent batches over new, overlapping streams neither deadlock nor apply an event twice', async () => {
    const p = ledger('racing', 1, true, true);
    await install(p);
    // Deterministic, so a failure can be replayed.
    const next = seededRandom(7);
    const random = (n: number): number => Math.floor(next() * n);
    const streams = Array.from({ length: 12 }, (_, i) => `ledger/r${i}`);
    const batches: RecordedEvent[][] = Array.from({ length: 24 }, () => {
      const batch: RecordedEvent[] = [];
      for (const s of streams) {
        if (random(2) === 0) continue;
        const from = 1 + random(30);
        for (let v = from; v <= Math.min(30, from + random(8)); v += 1) batch.push(at(s, v));
      }
      // Delivery order is not stream order.
      return batch.sort(() => random(3) - 1);
    });
    await Promise.all(batches.map((b) => runBatch(pool, p, b, options)));
    await runBatch(
      pool,
      p,
      streams.map((s) => at(s, 30)),
      options,
    );
    const rows = (
      await pool.query<{ stream_id: string; versions: number[] }>(`SELECT stream_id, versions FROM ${p.tableNames.name(p.name)}`)
    ).rows;
    expect(rows).toHaveLength(streams.length);
    for (const row of rows) expect(row.versions).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('moves the feed checkpoint with the batch, forward only, also when nothing in the page is applied', async () => {
    const p = ledger('feed', 1, true);
    await install(p);
    const checkpoint = async (): Promise<unknown> =>
      (
        await pool.query(
          `SELECT feed_transaction_id::text AS tx, feed_global_position::int AS pos, feed_events::int AS events FROM ratchet_projections.versions WHERE name = $1`,
          [p.name],
        )
      ).rows[0];
    await runBatch(pool, p, [at('ledger/f', 1), at('ledger/f', 2)], {
      ...options,
      feed: { transactionId: '10', globalPosition: 5, events: 2 },
    });
    expect(await checkpoint()).toEqual({ tx: '10', pos: 5, events: 2 });
    // Another process's older page commits late: the checkpoint stays.
    await runBatch(pool, p, [at('ledger/f', 1)], { ...options, feed: { transactionId: '9', globalPosition: 100, events: 1 } });
    expect(await checkpoint()).toEqual({ tx: '10', pos: 5, events: 2 });
    // A page of other aggregate types: nothing applied, the checkpoint still moves.
    await runBatch(pool, p, [event('other/y', 1)], { ...options, feed: { transactionId: '10', globalPosition: 6, events: 1 } });
    expect(await checkpoint()).toEqual({ tx: '10', pos: 6, events: 3 });
    expect((await state(p)) as { counters: unknown }).toMatchObject({ counters: [{ events_applied: '2' }] });
  });
});
