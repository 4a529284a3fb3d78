// Durable timers in the store: written and removed in the transaction of the append that started or
// cancelled them, only when that append commits new events; read back due-first.
import { ValidationError, type TimerEffects } from '@ratchet/core';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore, type AppendRequest, type PostgresEventStore } from './index.js';

let db: TestDatabase;
let store: PostgresEventStore;
let admin: pg.Client;
let epoch: number;

beforeAll(async () => {
  db = await createTestDatabase('timers');
  store = createPostgresEventStore({ connectionString: db.url, poolSize: 4 });
  await store.migrate();
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  epoch = await store.claimPartition(3, 'timer-test');
});

afterAll(async () => {
  await admin?.end();
  await store?.close();
  await db?.drop();
});

const delay = (id: string, delayMs: number): TimerEffects => ({
  start: [{ kind: 'delay', id, delayMs, event: { type: id, data: {} } }],
  cancel: [],
});

const request = (streamId: string, expectedVersion: number, extra: Partial<AppendRequest> = {}): AppendRequest => ({
  streamId,
  expectedVersion,
  events: [{ type: 'happened', data: {} }],
  fence: { partition: 3, epoch },
  ...extra,
});

async function rows(streamId: string) {
  const res = await admin.query<{ timer_id: string; started_version: number; ms: string; kind: string }>(
    `SELECT timer_id, started_version, kind, extract(epoch FROM due_at - started_at) * 1000 AS ms FROM ratchet.timers WHERE stream_id = $1 ORDER BY timer_id`,
    [streamId],
  );
  return res.rows.map((r) => ({ id: r.timer_id, startedVersion: r.started_version, kind: r.kind, ms: Math.round(Number(r.ms)) }));
}

describe('timers written with appends', () => {
  it('starts a timer in the append that commits, due from the transaction start, at the new version', async () => {
    await store.append(
      't-1',
      0,
      [
        { type: 'a', data: {} },
        { type: 'b', data: {} },
      ],
      { fence: { partition: 3, epoch }, timers: delay('visit', 30_000) },
    );
    expect(await rows('t-1')).toEqual([{ id: 'visit', startedVersion: 2, kind: 'delay', ms: 30_000 }]);
  });

  it('restarts a timer started again (re-entry) and removes a cancelled one, with the events that did it', async () => {
    await store.appendBatch([
      request('t-2', 0, { timers: { start: [...delay('a', 1_000).start, ...delay('b', 2_000).start], cancel: [] } }),
    ]);
    await store.appendBatch([request('t-2', 1, { timers: { start: delay('a', 5_000).start, cancel: ['b'] } })]);
    expect(await rows('t-2')).toEqual([{ id: 'a', startedVersion: 2, kind: 'delay', ms: 5_000 }]);
  });

  it('writes no timer for a failed, fenced or duplicate append, and the good ones of the same batch keep theirs', async () => {
    await store.append('t-3', 0, [{ type: 'a', data: {} }], { commandId: 'tc-1', fence: { partition: 3, epoch } });
    const outcomes = await store.appendBatch([
      request('t-3', 0, { timers: delay('conflict', 1) }), // stale expected version
      request('t-4', 0, { commandId: 'tc-1', timers: delay('duplicate', 1) }), // a command id already used: no new events
      request('t-5', 0, { fence: { partition: 3, epoch: epoch + 100 }, timers: delay('fenced', 1) }),
      request('t-6', 0, { timers: delay('good', 1) }),
    ]);
    expect(outcomes.map((o) => o.ok && !o.result.duplicate)).toEqual([false, false, false, true]);
    for (const s of ['t-3', 't-4', 't-5']) expect(await rows(s)).toEqual([]);
    expect((await rows('t-6')).map((r) => r.id)).toEqual(['good']);
  });

  it('a retried command id whose first append started a timer leaves it as the first append wrote it', async () => {
    await store.append('t-7', 0, [{ type: 'a', data: {} }], {
      commandId: 'tc-7',
      fence: { partition: 3, epoch },
      timers: delay('once', 60_000),
    });
    const [again] = await store.appendBatch([request('t-7', 0, { commandId: 'tc-7', timers: delay('once', 1) })]);
    expect(again?.ok && again.result.duplicate).toBe(true);
    expect(await rows('t-7')).toEqual([{ id: 'once', startedVersion: 1, kind: 'delay', ms: 60_000 }]);
  });

  it('refuses timers without a fence, and bad timer ids or times, as validation errors writing nothing', async () => {
    await expect(store.append('t-8', 0, [{ type: 'a', data: {} }], { timers: delay('x', 1) })).rejects.toBeInstanceOf(ValidationError);
    await expect(
      store.append('t-8', 0, [{ type: 'a', data: {} }], { fence: { partition: 3, epoch }, timers: delay('', 1) }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      store.append('t-8', 0, [{ type: 'a', data: {} }], {
        fence: { partition: 3, epoch },
        timers: { start: [{ kind: 'command', id: 'c', command: { type: 'x', payload: {} }, at: 'not a time' }], cancel: [] },
      }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(await store.streamVersion('t-8')).toBe(0);
  });
});

describe('reading timers', () => {
  it('lists the due ones of given partitions earliest first, says when the next is due, reads and deletes conditionally', async () => {
    const at = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();
    const command = (id: string, when: string) => ({ kind: 'command' as const, id, command: { type: 'ping', payload: {} }, at: when });
    await store.append('t-due', 0, [{ type: 'a', data: {} }], {
      fence: { partition: 3, epoch },
      timers: {
        start: [
          command('late', at(60_000)),
          command('later', at(1_000)),
          command('future', new Date(Date.now() + 3_600_000).toISOString()),
        ],
        cancel: [],
      },
    });
    const due = (await store.dueTimers([3], 100)).filter((t) => t.streamId === 't-due');
    expect(due.map((t) => t.timerId)).toEqual(['late', 'later']);
    expect(due[0]).toMatchObject({ kind: 'command', partition: 3, startedVersion: 1, body: { command: { type: 'ping', payload: {} } } });
    expect(await store.dueTimers([4], 100)).toEqual([]);
    expect(await store.nextTimerDueInMs([3])).toBe(0);
    expect(await store.nextTimerDueInMs([4])).toBeNull();
    expect((await store.readTimer('t-due', 'future'))?.timerId).toBe('future');
    expect(await store.deleteTimer('t-due', 'late', 99)).toBe(false); // another start of it
    expect(await store.deleteTimer('t-due', 'late', 1)).toBe(true);
    expect(await store.readTimer('t-due', 'late')).toBeNull();
    expect(await store.pendingTimers([3])).toBeGreaterThanOrEqual(2);
  });
});
