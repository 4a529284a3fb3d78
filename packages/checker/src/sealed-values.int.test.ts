// The checker on a store with sealed sensitive values: C10 decides rejections again on the stream
// as decide saw it (values opened with the master key), so a true rejection is not reported as a
// wrong answer because the replay folded ciphertext.
import { randomBytes } from 'node:crypto';
import { defineAggregate, reject, sensitive } from '@ratchet/core';
import { createPostgresEventStore, parseMasterKey } from '@ratchet/event-store-postgres';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { partitionOf } from '@ratchet/transport-nats';
import pg from 'pg';
import { assign, setup } from 'xstate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkHistory } from './check-history.js';
import type { HistoryRecord } from './history-record.js';

const email = z.string().email();
const events = {
  registered: z.object({ email: sensitive(email, { subject: (_data, { aggregateId }) => aggregateId }) }).strict(),
};
const Member = defineAggregate({
  type: 'member',
  machine: setup({
    types: { context: {} as { email: string }, events: {} as { type: 'registered'; data: { email: string } } },
  }).createMachine({
    id: 'member',
    initial: 'new',
    context: { email: '' },
    states: {
      new: { on: { registered: { target: 'member', actions: assign(({ event }) => ({ email: event.data.email })) } } },
      member: {},
    },
  }),
  commands: { register: z.object({ email }).strict() },
  events,
  decide: {
    // The reason depends on the sensitive value itself: only an opened replay decides it again.
    register: ({ email: wanted }, state) => {
      if (state.matches('new')) return [{ type: 'registered', data: { email: wanted } }];
      return reject(state.context.email === wanted ? 'already registered with this address' : 'registered with another address');
    },
  },
});

let db: TestDatabase;
let pool: pg.Pool;
const masterKey = parseMasterKey(randomBytes(32).toString('base64'));

beforeAll(async () => {
  db = await createTestDatabase('checker_sealed');
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

describe('checkHistory on sealed values', () => {
  it('decides rejections again on opened values (C10), and would misjudge them on ciphertext', async () => {
    const store = createPostgresEventStore({ pool, masterKey });
    await store.migrate();
    const id = 'm-1';
    const partition = partitionOf(id, 64);
    const epoch = await store.claimPartition(partition, 'checker-test');
    const sealed = await store.cipher.sealEvents(Member, `member/${id}`, [{ type: 'registered', data: { email: 'ada@example.com' } }]);
    const [outcome] = await store.appendBatch([
      { streamId: `member/${id}`, expectedVersion: 0, events: sealed, commandId: 'c-1', fence: { partition, epoch } },
    ]);
    expect(outcome?.ok).toBe(true);
    // The stored value is sealed: a replay of raw rows would fold an envelope, not the address.
    const row = await pool.query<{ data: { email: unknown } }>(`SELECT data FROM ratchet.events WHERE stream_id = 'member/m-1'`);
    expect(row.rows[0]?.data.email).not.toBe('ada@example.com');

    const base = { aggregateType: 'member', aggregateId: id, commandType: 'register', invokedAt: 1_000 } as const;
    const history: HistoryRecord[] = [
      { ...base, commandId: 'c-1', payload: { email: 'ada@example.com' }, completedAt: 1_005, outcome: 'ok', version: 1, events: 1 },
      {
        ...base,
        commandId: 'c-2',
        payload: { email: 'ada@example.com' },
        invokedAt: 1_010,
        completedAt: 1_015,
        outcome: 'rejected',
        version: 1,
        reason: 'already registered with this address',
      },
    ];
    const options = { databaseUrl: db.url, history, aggregates: [Member], timerGraceMs: 0 } as const;

    const opened = await checkHistory({ ...options, masterKey });
    expect(opened.violations).toEqual([]);
    expect(opened.counts.C10.checked).toBeGreaterThan(0);

    // Without the master key the values cannot be opened: a typed error, never a silent misjudgement.
    await expect(checkHistory(options)).rejects.toMatchObject({ code: 'SENSITIVE_DATA_UNREADABLE' });
    await store.close();
  });
});
