import { ErrorCode, FencedError, ValidationError, VersionConflictError } from '@ratchet/core';
import { createTestDatabase } from '@ratchet/testing';
import type { TestDatabase } from '@ratchet/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore } from './index.js';
import type { AppendRequest, PostgresEventStore } from './index.js';

let db: TestDatabase;
let store: PostgresEventStore;
let admin: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase();
  store = createPostgresEventStore({ connectionString: db.url, poolSize: 4 });
  await store.migrate();
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
  await store?.close();
  await db?.drop();
});

const one = (streamId: string, expectedVersion: number | 'any', extra: Partial<AppendRequest> = {}): AppendRequest => ({
  streamId,
  expectedVersion,
  events: [{ type: 'happened', data: { streamId } }],
  ...extra,
});

describe('appendBatch (group commit)', () => {
  it('commits the good requests of a batch in one transaction; a conflicting one gets its own error', async () => {
    await store.append('b-conflict', 0, [{ type: 'created', data: {} }]);
    const outcomes = await store.appendBatch([
      one('b-good-1', 0, { commandId: 'bc-1' }),
      one('b-conflict', 0, { commandId: 'bc-2' }),
      one('b-good-2', 0),
      one('b-good-3', 'any'),
      { streamId: 'b-invalid', expectedVersion: 0, events: [] },
    ]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true, true, false]);
    const conflict = outcomes[1]!;
    expect(!conflict.ok && conflict.error).toBeInstanceOf(VersionConflictError);
    expect(!conflict.ok && conflict.error).toMatchObject({ expectedVersion: 0, actualVersion: 1 });
    expect(!outcomes[4]!.ok && outcomes[4]!.error).toBeInstanceOf(ValidationError);
    const committed = outcomes.flatMap((o) => (o.ok ? o.result.events : []));
    expect(new Set(committed.map((e) => e.transactionId)).size).toBe(1);
    for (const id of ['b-good-1', 'b-good-2', 'b-good-3']) expect(await store.streamVersion(id)).toBe(1);
    expect(await store.streamVersion('b-conflict')).toBe(1);
    expect(await store.streamVersion('b-invalid')).toBe(0);
    // The conflicting request's command id was not consumed; no placeholder stream rows are left.
    const cmds = await admin.query(`SELECT command_id FROM ratchet.processed_commands ORDER BY 1`);
    expect(cmds.rows.map((r: { command_id: string }) => r.command_id)).toEqual(['bc-1']);
    const zero = await admin.query(`SELECT count(*)::int AS n FROM ratchet.streams WHERE version = 0`);
    expect(zero.rows[0].n).toBe(0);
  });

  it('a stale fence commits nothing for its partition; the current fence commits and events record the epoch', async () => {
    const oldEpoch = await store.claimPartition(7, 'worker-a');
    const newEpoch = await store.claimPartition(7, 'worker-b');
    expect(newEpoch).toBe(oldEpoch + 1);
    const otherEpoch = await store.claimPartition(8, 'worker-a');
    const before = await admin.query(`SELECT count(*)::int AS n FROM ratchet.events`);
    const outcomes = await store.appendBatch([
      one('f-stale', 0, { fence: { partition: 7, epoch: oldEpoch }, commandId: 'fc-stale' }),
      one('f-current', 0, { fence: { partition: 7, epoch: newEpoch } }),
      one('f-other', 0, { fence: { partition: 8, epoch: otherEpoch } }),
      one('f-unclaimed', 0, { fence: { partition: 99, epoch: 1 } }),
    ]);
    const [stale, current, other, unclaimed] = outcomes;
    expect(!stale!.ok && stale!.error).toBeInstanceOf(FencedError);
    expect(!stale!.ok && stale!.error).toMatchObject({ code: ErrorCode.FENCED, partition: 7, heldEpoch: oldEpoch, currentEpoch: newEpoch });
    expect(!unclaimed!.ok && unclaimed!.error).toMatchObject({ code: ErrorCode.FENCED, partition: 99, currentEpoch: 0 });
    expect(current!.ok && current!.result.events[0]!.epoch).toBe(newEpoch);
    expect(other!.ok && other!.result.events[0]!.epoch).toBe(otherEpoch);
    const after = await admin.query(`SELECT count(*)::int AS n FROM ratchet.events`);
    expect(after.rows[0].n - before.rows[0].n).toBe(2);
    expect(await store.streamVersion('f-stale')).toBe(0);
    const stored = await admin.query(`SELECT stream_id, epoch::int, partition FROM ratchet.events WHERE stream_id LIKE 'f-%' ORDER BY 1`);
    expect(stored.rows).toEqual([
      { stream_id: 'f-current', epoch: newEpoch, partition: 7 },
      { stream_id: 'f-other', epoch: otherEpoch, partition: 8 },
    ]);
    const cmds = await admin.query(`SELECT count(*)::int AS n FROM ratchet.processed_commands WHERE command_id = 'fc-stale'`);
    expect(cmds.rows[0].n).toBe(0);
    expect(await store.partitionEpochs()).toEqual(
      expect.arrayContaining([
        { partition: 7, epoch: newEpoch, owner: 'worker-b' },
        { partition: 8, epoch: otherEpoch, owner: 'worker-a' },
      ]),
    );
  });

  it.each([
    ['append_batch', 11],
    ['append_one', 12],
  ] as const)('claimPartition waits for an in-flight fenced %s, which commits under the epoch it checked', async (fn, partition) => {
    const epoch = await store.claimPartition(partition, 'holder');
    // Hold a batch open: run append_batch inside an explicit transaction on a raw client.
    const held = new pg.Client({ connectionString: db.url });
    await held.connect();
    try {
      await held.query('BEGIN');
      const request = {
        streamId: `w-held-${fn}`,
        expectedVersion: 0,
        fence: { partition, epoch },
        events: [{ type: 't', schemaVersion: 1, data: {}, metadata: {} }],
      };
      const payload = JSON.stringify(fn === 'append_batch' ? [request] : request);
      const reply = await held.query(`SELECT ratchet.${fn}($1::jsonb) AS r`, [payload]);
      expect(reply.rows[0].r.outcomes[0].ok).toBe(true);
      let claimed: number | undefined;
      const claim = store.claimPartition(partition, 'taker').then((e) => (claimed = e));
      // The claim is blocked on the batch's fence lock: wait until Postgres shows it waiting.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const waiting = await admin.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%partitions%'`,
        );
        if (waiting.rows[0].n === 1) break;
        if (Date.now() > deadline) throw new Error('claimPartition never waited on the batch');
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(claimed).toBeUndefined();
      await held.query('COMMIT');
      expect(await claim).toBe(epoch + 1);
    } finally {
      await held.end();
    }
    // The batch committed under the old epoch before the claim; a new batch with that epoch is fenced.
    expect((await store.readStream(`w-held-${fn}`))[0]!.epoch).toBe(epoch);
    const [late] = await store.appendBatch([one(`w-late-${fn}`, 0, { fence: { partition, epoch } })]);
    expect(late!.ok).toBe(false);
  });

  it('the same stream twice in one batch is applied in order', async () => {
    const outcomes = await store.appendBatch([one('b-twice', 0), one('b-twice', 1), one('b-twice', 1)]);
    expect(outcomes.map((o) => (o.ok ? o.result.version : o.error.code))).toEqual([1, 2, ErrorCode.VERSION_CONFLICT]);
  });

  it('a duplicate command id inside one batch returns the first result', async () => {
    const outcomes = await store.appendBatch([one('b-dup', 0, { commandId: 'bd' }), one('b-dup', 0, { commandId: 'bd' })]);
    expect(outcomes.map((o) => o.ok && o.result.duplicate)).toEqual([false, true]);
    expect(outcomes[1]!.ok && outcomes[1]!.result.events).toEqual(outcomes[0]!.ok && outcomes[0]!.result.events);
  });

  it('concurrent batches over overlapping streams, in opposite orders, all commit without a lost update', async () => {
    const streams = Array.from({ length: 10 }, (_, i) => `b-overlap-${i}`);
    const batches = Array.from({ length: 6 }, (_, b) => (b % 2 === 0 ? streams : [...streams].reverse()).map((s) => one(s, 'any')));
    const results = await Promise.all(batches.map((batch) => store.appendBatch(batch)));
    expect(results.flat().every((o) => o.ok)).toBe(true);
    for (const s of streams) {
      const events = await store.readStream(s);
      expect(events.map((e) => e.version)).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });

  it("retries the whole batch after a deadlock on command ids and then returns the winner's results", async () => {
    const held = new pg.Client({ connectionString: db.url });
    await held.connect();
    const raw = (streamId: string, commandId: string): string =>
      JSON.stringify([
        { streamId, expectedVersion: 0, commandId, events: [{ type: 't', schemaVersion: 1, data: {}, metadata: { commandId } }] },
      ]);
    try {
      await held.query('BEGIN');
      await held.query(`SELECT ratchet.append_batch($1::jsonb)`, [raw('dl-a1', 'dl-c1')]);
      // The batch takes dl-c2, then waits for dl-c1 held by the open transaction.
      const batch = store.appendBatch([one('dl-b1', 0, { commandId: 'dl-c2' }), one('dl-b2', 0, { commandId: 'dl-c1' })]);
      const deadline = Date.now() + 10_000;
      for (;;) {
        const waiting = await admin.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        if (waiting.rows[0].n === 1) break;
        if (Date.now() > deadline) throw new Error('the batch never waited for dl-c1');
        await new Promise((r) => setTimeout(r, 20));
      }
      // Now the open transaction wants dl-c2: a deadlock. The batch (first to wait) is the victim and retries.
      await held.query(`SELECT ratchet.append_batch($1::jsonb)`, [raw('dl-a2', 'dl-c2')]);
      await held.query('COMMIT');
      const outcomes = await batch;
      expect(outcomes.map((o) => o.ok && o.result.duplicate)).toEqual([true, true]);
      expect(outcomes.map((o) => o.ok && o.result.streamId)).toEqual(['dl-a2', 'dl-a1']);
      expect(await store.streamVersion('dl-b1')).toBe(0);
      expect(await store.streamVersion('dl-b2')).toBe(0);
    } finally {
      await held.end();
    }
  });
  it('retries the whole batch after a deadlock between a stream row and a command id', async () => {
    // Command ids are taken in sorted order, so the test above now waits instead of deadlocking;
    // a stream held by one side and a command id held by the other still deadlock.
    const held = new pg.Client({ connectionString: db.url });
    await held.connect();
    const raw = (streamId: string, commandId: string): string =>
      JSON.stringify([
        { streamId, expectedVersion: 0, commandId, events: [{ type: 't', schemaVersion: 1, data: {}, metadata: { commandId } }] },
      ]);
    try {
      await held.query('BEGIN');
      await held.query(`SELECT ratchet.append_batch($1::jsonb)`, [raw('sd-a', 'sd-c1')]);
      // The batch locks stream sd-b, then waits for sd-c1 held by the open transaction.
      const batch = store.appendBatch([one('sd-b', 0, { commandId: 'sd-c1' })]);
      const deadline = Date.now() + 10_000;
      for (;;) {
        const waiting = await admin.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        if (waiting.rows[0].n === 1) break;
        if (Date.now() > deadline) throw new Error('the batch never waited for sd-c1');
        await new Promise((r) => setTimeout(r, 20));
      }
      // Now the open transaction wants stream sd-b: a deadlock. The batch is the victim and retries.
      const reply = await held.query(`SELECT ratchet.append_batch($1::jsonb) AS r`, [raw('sd-b', 'sd-c2')]);
      expect(reply.rows[0].r.outcomes[0].ok).toBe(true);
      await held.query('COMMIT');
      const [outcome] = await batch;
      expect(outcome!.ok && outcome!.result).toMatchObject({ duplicate: true, streamId: 'sd-a', version: 1 });
      expect(await store.streamVersion('sd-b')).toBe(1);
      expect((await store.readStream('sd-b'))[0]!.metadata).toEqual({ commandId: 'sd-c2' });
    } finally {
      await held.end();
    }
  });
});
