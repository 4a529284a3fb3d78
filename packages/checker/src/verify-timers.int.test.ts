// C11 against stores written by hand: a clean timer history passes; a fire after its cancel, a
// double fire, an early fire, an overdue timer, a row without a start and a delay removed while
// its state still takes it are each caught.
import { createPostgresEventStore, type PostgresEventStore } from '@ratchet/event-store-postgres';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineVisit, VISIT_TIMEOUT_EVENT } from '../../../test/support/visit-aggregate.js';
import { Tally } from './check-category.js';
import { verifyTimers } from './verify-timers.js';

const Visit = defineVisit({ visitTimeoutMs: 1_000 });
let db: TestDatabase;
let pool: pg.Pool;
const stores: PostgresEventStore[] = [];

beforeAll(async () => {
  db = await createTestDatabase('checker-timers');
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
});
afterAll(async () => {
  for (const s of stores) await s.close();
  await pool?.end();
  await db?.drop();
});

/** A fresh schema; events written with raw INSERTs so recorded_at can be set. */
async function scenario(schema: string) {
  const store = createPostgresEventStore({ pool, schema });
  stores.push(store);
  await store.migrate();
  const write = async (streamId: string, version: number, type: string, at: number, metadata: Record<string, unknown>) =>
    pool.query(
      `INSERT INTO "${schema}".events (stream_id, version, type, data, metadata, recorded_at) VALUES ($1, $2, $3, '{}', $4, to_timestamp($5 / 1000.0))`,
      [streamId, version, type, JSON.stringify(metadata), at],
    );
  const start = (delayMs: number) => ({ timers: { start: [{ id: VISIT_TIMEOUT_EVENT, kind: 'delay', delayMs }], cancel: [] } });
  const fire = (startedVersion: number) => ({
    timer: { id: VISIT_TIMEOUT_EVENT, kind: 'delay', startedVersion, dueAt: '' },
    timers: { start: [], cancel: [VISIT_TIMEOUT_EVENT] },
  });
  const check = async () => {
    const tally = new Tally(100);
    const client = await pool.connect();
    try {
      await verifyTimers(client, schema, { graceMs: 5_000, aggregates: [Visit] }, tally);
    } finally {
      client.release();
    }
    return tally.report();
  };
  return { write, start, fire, check, schema };
}

const T0 = Date.now() - 120_000;

describe('C11', () => {
  it('passes a timer started, fired once when due, and another cancelled by leaving its state', async () => {
    const s = await scenario('c11_clean');
    await s.write('visit/a', 1, 'called', T0, s.start(1_000));
    await s.write('visit/a', 2, VISIT_TIMEOUT_EVENT, T0 + 1_050, s.fire(1));
    await s.write('visit/b', 1, 'called', T0, s.start(1_000));
    await s.write('visit/b', 2, 'reported', T0 + 500, { timers: { start: [], cancel: [VISIT_TIMEOUT_EVENT] } });
    const report = await s.check();
    expect(report.violations).toEqual([]);
    expect(report.counts.C11.checked).toBe(3);
  });

  it('catches a fire after its cancel, a second fire and an early fire', async () => {
    const s = await scenario('c11_fires');
    await s.write('visit/left', 1, 'called', T0, s.start(1_000));
    await s.write('visit/left', 2, 'reported', T0 + 100, { timers: { start: [], cancel: [VISIT_TIMEOUT_EVENT] } });
    await s.write('visit/left', 3, VISIT_TIMEOUT_EVENT, T0 + 1_100, s.fire(1));
    await s.write('visit/twice', 1, 'called', T0, s.start(1_000));
    await s.write('visit/twice', 2, VISIT_TIMEOUT_EVENT, T0 + 1_100, s.fire(1));
    await s.write('visit/twice', 3, VISIT_TIMEOUT_EVENT, T0 + 1_200, s.fire(1));
    await s.write('visit/early', 1, 'called', T0, s.start(1_000));
    await s.write('visit/early', 2, VISIT_TIMEOUT_EVENT, T0 + 400, s.fire(1));
    const report = await s.check();
    expect(report.violations.map((v) => v.detail)).toEqual([
      expect.stringMatching(/visit\/early@2: fired timer .* 600 ms before it was due/),
      expect.stringMatching(/visit\/left@3: fired timer .* which was not pending/),
      expect.stringMatching(/visit\/twice@3: fired timer .* which was not pending/),
    ]);
  });

  it('catches an overdue timer, a row with no start, and a delay removed while its state still takes it', async () => {
    const s = await scenario('c11_left');
    await s.write('visit/overdue', 1, 'called', T0, s.start(1_000));
    await pool.query(
      `INSERT INTO "c11_left".timers (stream_id, timer_id, partition, kind, due_at, started_version, body) VALUES
         ('visit/overdue', $1, 0, 'delay', to_timestamp($2 / 1000.0), 1, '{}'),
         ('visit/stray', 'x', 0, 'delay', now(), 4, '{}')`,
      [VISIT_TIMEOUT_EVENT, T0 + 1_000],
    );
    await s.write('visit/lost', 1, 'called', T0, s.start(1_000)); // no row, no fire, still visiting
    const report = await s.check();
    expect(report.violations.map((v) => v.detail).sort()).toEqual([
      expect.stringMatching(/visit\/lost: timer .* was removed without firing, yet the stream's state still takes it/),
      expect.stringMatching(/visit\/overdue: timer .* overdue and has not fired/),
      expect.stringMatching(/visit\/stray: timer row x .* has no start in its stream/),
    ]);
  });
});
