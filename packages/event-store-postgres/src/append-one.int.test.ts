// append_one (the single-request fast path) must answer exactly as append_batch does for a batch of
// one: the same outcome for every request of a random history, the same rows left behind.
import { createTestDatabase, seededRandom } from '@ratchet/testing';
import type { TestDatabase } from '@ratchet/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore } from './index.js';

let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase();
  for (const schema of ['one_path', 'batch_path']) {
    const store = createPostgresEventStore({ connectionString: db.url, schema, poolSize: 1 });
    await store.migrate();
    await store.claimPartition(0, 'w'); // epoch 1
    await store.close();
  }
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await db?.drop();
});

/** Outcomes without what legitimately differs between two schemas (clock, transaction ids). */
function comparable(reply: { outcomes: unknown[] }): unknown {
  return JSON.parse(
    JSON.stringify(reply.outcomes, (key, value: unknown) => (key === 'recordedAt' || key === 'transactionId' ? undefined : value)),
  ) as unknown;
}

describe('append_one', () => {
  it('gives the outcome append_batch gives, request by request, over 600 random requests (dupes, reuse, conflicts, fences)', async () => {
    const next = seededRandom(20261127); // a failure replays from its seed
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
    const kinds = new Set<string>();
    for (let i = 0; i < 600; i++) {
      const request: Record<string, unknown> = {
        streamId: pick(['s1', 's2', 's3']),
        expectedVersion: pick([null, 0, 1, 2, 3, 4, 5, 6]),
        events: Array.from({ length: pick([1, 1, 2]) }, (_, k) => ({ type: 'happened', schemaVersion: 1, data: { i, k }, metadata: {} })),
      };
      if (next() < 0.8) request.commandId = `c${Math.floor(next() * 40)}`;
      if (next() < 0.7) request.requestHash = pick(['h1', 'h2']);
      if (next() < 0.5) request.fence = { partition: 0, epoch: pick([1, 1, 1, 2]) };
      const json = JSON.stringify(request);
      const one = await client.query<{ r: { outcomes: unknown[] } }>('SELECT one_path.append_one($1::jsonb) AS r', [json]);
      const batch = await client.query<{ r: { outcomes: unknown[] } }>('SELECT batch_path.append_batch($1::jsonb) AS r', [`[${json}]`]);
      const got = comparable(one.rows[0]!.r);
      expect(got, `request ${i}: ${json}`).toEqual(comparable(batch.rows[0]!.r));
      const item = (got as Array<Record<string, unknown>>)[0]!;
      kinds.add(item.ok === true ? (item.duplicate === true ? 'duplicate' : 'ok') : String(item.code));
    }
    // The history exercised every outcome.
    expect([...kinds].sort()).toEqual(['COMMAND_ID_REUSED', 'FENCED', 'VERSION_CONFLICT', 'duplicate', 'ok']);
    for (const table of ['events', 'streams', 'processed_commands']) {
      const rows = async (schema: string): Promise<unknown[]> =>
        (
          await client.query(
            table === 'events'
              ? `SELECT stream_id, version, type, data, metadata, epoch, partition, global_position FROM ${schema}.events ORDER BY stream_id, version`
              : table === 'streams'
                ? `SELECT stream_id, version FROM ${schema}.streams ORDER BY stream_id`
                : `SELECT command_id, stream_id, request_hash, result FROM ${schema}.processed_commands ORDER BY command_id`,
          )
        ).rows;
      expect(await rows('one_path'), table).toEqual(await rows('batch_path'));
    }
  });
});
