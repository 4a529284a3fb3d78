import { ErrorCode, FencedError, VersionConflictError, type NewEvent } from '@ratchet/core';
import { createPostgresEventStore, FEED_START, type PostgresEventStore } from '@ratchet/event-store-postgres';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPglitePool } from './pglite-pool.js';

// The event store's key behaviours, run against PGlite through the pool adapter (in memory).
let pool: pg.Pool;
let store: PostgresEventStore;

const ev = (type: string, data: unknown = {}): NewEvent => ({ type, data });

beforeAll(async () => {
  pool = await createPglitePool();
  store = createPostgresEventStore({ pool });
  const report = await store.migrate();
  expect(report.applied.length).toBeGreaterThan(0);
}, 120_000);

afterAll(async () => {
  await pool?.end();
});

describe('the event store on PGlite', () => {
  it('migrates idempotently', async () => {
    expect((await store.migrate()).applied).toEqual([]);
  });

  it('parses types as node-postgres does: int8 as string, jsonb as values, timestamptz as Date', async () => {
    const res = await pool.query(`SELECT $1::bigint AS big, $2::jsonb AS doc, now() AS at, $3::int[] AS ints, 1.5::numeric AS num`, [
      '9007199254740993',
      JSON.stringify({ a: [1, 'x'] }),
      [1, 2],
    ]);
    expect(res.rows[0]).toMatchObject({ big: '9007199254740993', doc: { a: [1, 'x'] }, ints: [1, 2], num: '1.5' });
    expect(res.rows[0]!.at).toBeInstanceOf(Date);
    const updated = await pool.query(`SELECT 1 FROM generate_series(1, 3)`);
    expect(updated.rowCount).toBe(3);
  });

  it('appends versions 1..n, reads them back, and conflicts on a stale expected version', async () => {
    const first = await store.append('s-basic', 0, [ev('a', { n: 1 }), ev('b', { n: 2 })], { metadata: { correlationId: 'k' } });
    expect(first).toMatchObject({ streamId: 's-basic', fromVersion: 1, version: 2, duplicate: false });
    const read = await store.readStream('s-basic');
    expect(read.map((e) => [e.version, e.type, e.data])).toEqual([
      [1, 'a', { n: 1 }],
      [2, 'b', { n: 2 }],
    ]);
    expect(read[0]!.metadata).toEqual({ correlationId: 'k' });
    expect(read[0]!.recordedAt).toBeInstanceOf(Date);
    expect(typeof read[0]!.globalPosition).toBe('number');
    expect(first.events).toEqual(read);
    await expect(store.append('s-basic', 1, [ev('c')])).rejects.toBeInstanceOf(VersionConflictError);
    await expect(store.append('s-basic', 1, [ev('c')])).rejects.toMatchObject({ expectedVersion: 1, actualVersion: 2 });
    expect(await store.streamVersion('s-basic')).toBe(2);
  });

  it('8 concurrent appends at one expected version: exactly one wins', async () => {
    await store.append('s-race', 0, [ev('created')]);
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.append('s-race', 1, [ev('raced', { i })])));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await store.readStream('s-race')).map((e) => e.version)).toEqual([1, 2]);
  });

  it('dedupes a command id: the retry returns the first result and writes nothing; a new hash is refused', async () => {
    const opts = { commandId: 'cmd-1', requestHash: 'h1' };
    const first = await store.append('s-dedupe', 0, [ev('a'), ev('b')], opts);
    const again = await store.append('s-dedupe', 0, [ev('a'), ev('b')], opts);
    expect(again.duplicate).toBe(true);
    expect({ ...again, duplicate: false }).toEqual(first);
    await expect(store.append('s-dedupe', 2, [ev('c')], { commandId: 'cmd-1', requestHash: 'h2' })).rejects.toMatchObject({
      code: ErrorCode.COMMAND_ID_REUSED,
    });
    expect(await store.readStream('s-dedupe')).toHaveLength(2);
  });

  it('saves and loads snapshots, keeping the newest', async () => {
    expect(await store.saveSnapshot({ streamId: 's-snap', version: 5, machineVersion: 'm1', state: { value: 'locked', n: 5 } })).toBe(true);
    expect(await store.saveSnapshot({ streamId: 's-snap', version: 3, machineVersion: 'm1', state: { n: 3 } })).toBe(false);
    expect(await store.loadSnapshot('s-snap', 'm1')).toEqual({ version: 5, state: { value: 'locked', n: 5 } });
    expect(await store.loadSnapshot('s-snap', 'm2')).toBeNull();
  });

  it('fences: a stale epoch commits nothing for its partition, the current one commits', async () => {
    const oldEpoch = await store.claimPartition(7, 'worker-a');
    const newEpoch = await store.claimPartition(7, 'worker-b');
    expect(newEpoch).toBe(oldEpoch + 1);
    const [stale, current] = await store.appendBatch([
      { streamId: 'f-stale', expectedVersion: 0, events: [ev('x')], fence: { partition: 7, epoch: oldEpoch } },
      { streamId: 'f-current', expectedVersion: 0, events: [ev('x')], fence: { partition: 7, epoch: newEpoch } },
    ]);
    expect(!stale!.ok && stale!.error).toBeInstanceOf(FencedError);
    expect(current!.ok && current!.result.events[0]!.epoch).toBe(newEpoch);
    expect(await store.streamVersion('f-stale')).toBe(0);
    expect(await store.partitionEpochs()).toContainEqual({ partition: 7, epoch: newEpoch, owner: 'worker-b' });
    expect(await store.releasePartition(7, 'worker-a', oldEpoch)).toBe(false);
    expect(await store.releasePartition(7, 'worker-b', newEpoch)).toBe(true);
  });

  it('reads the feed in commit order, every event once, while writers append concurrently', async () => {
    const head = await store.feedHead();
    const seen: string[] = [];
    let checkpoint = head.checkpoint;
    const writers = Promise.all(
      Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; i < 25; i += 1) await store.append(`feed-${w}`, i, [ev('n', { i })]);
      }),
    );
    let done = false;
    void writers.then(() => {
      done = true;
    });
    for (;;) {
      const page = await store.readFeed(checkpoint, 17);
      for (const e of page.events) seen.push(`${e.streamId}@${e.version}`);
      checkpoint = page.checkpoint;
      if (page.events.length === 0 && done) {
        const last = await store.readFeed(checkpoint, 1_000);
        for (const e of last.events) seen.push(`${e.streamId}@${e.version}`);
        if (last.events.length === 0) break;
        checkpoint = last.checkpoint;
      }
    }
    expect(seen).toHaveLength(100);
    expect(new Set(seen).size).toBe(100);
    for (let w = 0; w < 4; w += 1) {
      const versions = seen.filter((s) => s.startsWith(`feed-${w}@`)).map((s) => Number(s.split('@')[1]));
      expect(versions).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    }
    const all = await store.readFeed(FEED_START, 100_000);
    expect((await store.feedHead()).eventCount).toBe(all.events.length);
  });

  it('rolls back a transaction on a checked-out client and lets others in only after release', async () => {
    const client = await pool.connect();
    let outsideRan = false;
    await client.query('BEGIN');
    await client.query('CREATE TABLE tx_probe (n int)');
    const outside = pool.query('SELECT count(*) AS n FROM tx_probe').then(
      (r) => {
        outsideRan = true;
        return r;
      },
      (e: unknown) => {
        outsideRan = true;
        return e;
      },
    );
    await client.query('INSERT INTO tx_probe VALUES ($1)', [1]);
    await new Promise((r) => setTimeout(r, 20));
    expect(outsideRan).toBe(false);
    await client.query('ROLLBACK');
    client.release();
    // The table never committed: the waiting query ran after the release and found none.
    await expect(outside).resolves.toMatchObject({ code: '42P01' });
  });
});
