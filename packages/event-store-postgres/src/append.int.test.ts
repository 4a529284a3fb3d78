import { ErrorCode, RatchetError, ValidationError, VersionConflictError } from '@ratchet/core';
import type { NewEvent } from '@ratchet/core';
import { createTestDatabase } from '@ratchet/testing';
import type { TestDatabase } from '@ratchet/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore, STREAM_ID_MAX_LENGTH } from './index.js';
import type { PostgresEventStore } from './index.js';

let db: TestDatabase;
let store: PostgresEventStore;
let admin: pg.Client;

const ev = (type: string, data: unknown = {}): NewEvent => ({ type, data });

async function rowCounts(): Promise<Record<string, number>> {
  const res = await admin.query<{ events: string; streams: string; commands: string }>(
    `SELECT (SELECT count(*) FROM ratchet.events) AS events, (SELECT count(*) FROM ratchet.streams) AS streams,
            (SELECT count(*) FROM ratchet.processed_commands) AS commands`,
  );
  const r = res.rows[0]!;
  return { events: Number(r.events), streams: Number(r.streams), commands: Number(r.commands) };
}

beforeAll(async () => {
  db = await createTestDatabase();
  store = createPostgresEventStore({ connectionString: db.url, poolSize: 9 });
  await store.migrate();
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
  await store?.close();
  await db?.drop();
});

describe('append', () => {
  it('appends versions 1..n and reads them back', async () => {
    const first = await store.append('s-basic', 0, [ev('a', { n: 1 }), ev('b', { n: 2 })], { metadata: { correlationId: 'k' } });
    expect(first).toMatchObject({ streamId: 's-basic', fromVersion: 1, version: 2, duplicate: false });
    const second = await store.append('s-basic', 2, [{ type: 'c', data: [1, 'x'], schemaVersion: 3, metadata: { causationId: 'q' } }]);
    expect(second).toMatchObject({ fromVersion: 3, version: 3 });
    const read = await store.readStream('s-basic');
    expect(read.map((e) => [e.version, e.type, e.data])).toEqual([
      [1, 'a', { n: 1 }],
      [2, 'b', { n: 2 }],
      [3, 'c', [1, 'x']],
    ]);
    expect(read[2]!.schemaVersion).toBe(3);
    expect(read[0]!.metadata).toEqual({ correlationId: 'k' });
    expect(read[2]!.metadata).toEqual({ causationId: 'q' });
    // What append returned is what was stored.
    expect([...first.events, ...second.events]).toEqual(read);
    expect(await store.streamVersion('s-basic')).toBe(3);
    expect(await store.streamVersion('s-none')).toBe(0);
    expect((await store.readStream('s-basic', { fromVersion: 2, toVersion: 2 })).map((e) => e.version)).toEqual([2]);
    expect((await store.readStream('s-basic', { fromVersion: 2, limit: 1 })).map((e) => e.version)).toEqual([2]);
  });

  it("expected version 'any' appends at the end; 0 requires a new stream", async () => {
    await store.append('s-any', 'any', [ev('a')]);
    const r = await store.append('s-any', 'any', [ev('b')]);
    expect(r.version).toBe(2);
    await expect(store.append('s-any', 0, [ev('c')])).rejects.toMatchObject({ code: ErrorCode.VERSION_CONFLICT, actualVersion: 2 });
  });

  it('8 concurrent appends at the same expected version: exactly one wins, the others conflict with the actual version', async () => {
    await store.append('s-race', 0, [ev('created')]);
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => store.append('s-race', 1, [ev('raced', { i }), ev('raced-too', { i })])),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(7);
    for (const l of lost) {
      expect(l.reason).toBeInstanceOf(VersionConflictError);
      expect(l.reason).toMatchObject({ streamId: 's-race', expectedVersion: 1, actualVersion: 3 });
    }
    const events = await store.readStream('s-race');
    expect(events.map((e) => e.version)).toEqual([1, 2, 3]);
  });

  it('the same command id twice, sequentially: one set of events, the same result, duplicate flagged', async () => {
    const opts = { commandId: 'cmd-seq', requestHash: 'h1' };
    const first = await store.append('s-dedupe', 0, [ev('a'), ev('b')], opts);
    const again = await store.append('s-dedupe', 0, [ev('a'), ev('b')], opts);
    expect(first.duplicate).toBe(false);
    expect(again.duplicate).toBe(true);
    expect({ ...again, duplicate: false }).toEqual(first);
    expect(again.events[0]!.metadata.commandId).toBe('cmd-seq');
    // Without a hash it is a duplicate too.
    const noHash = await store.append('s-dedupe', 'any', [ev('z')], { commandId: 'cmd-seq' });
    expect(noHash).toMatchObject({ duplicate: true, fromVersion: 1, version: 2 });
    expect(await store.readStream('s-dedupe')).toHaveLength(2);
  });

  it('the same command id appended concurrently: one writes, the others return its result', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        store.append('s-dedupe-conc', 'any', [ev('once', { i })], { commandId: 'cmd-conc', requestHash: 'h' }),
      ),
    );
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    const first = results.find((r) => !r.duplicate)!;
    for (const r of results) expect({ ...r, duplicate: false }).toEqual(first);
    expect(await store.readStream('s-dedupe-conc')).toHaveLength(1);
    expect(await store.streamVersion('s-dedupe-conc')).toBe(1);
  });

  it('the same command id concurrently on two streams: exactly one stream gets the events', async () => {
    const [a, b] = await Promise.all([
      store.append('s-cross-a', 0, [ev('x')], { commandId: 'cmd-cross' }),
      store.append('s-cross-b', 0, [ev('x')], { commandId: 'cmd-cross' }),
    ]);
    expect([a.duplicate, b.duplicate].sort()).toEqual([false, true]);
    expect(a.streamId).toBe(b.streamId);
    const total = (await store.readStream('s-cross-a')).length + (await store.readStream('s-cross-b')).length;
    expect(total).toBe(1);
  });

  it('a reused command id with a different request hash is refused and writes nothing', async () => {
    await store.append('s-reuse', 0, [ev('a')], { commandId: 'cmd-reuse', requestHash: 'h1' });
    const before = await rowCounts();
    const err = await store.append('s-reuse', 1, [ev('b')], { commandId: 'cmd-reuse', requestHash: 'h2' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RatchetError);
    expect((err as RatchetError).code).toBe(ErrorCode.COMMAND_ID_REUSED);
    expect(await rowCounts()).toEqual(before);
    expect(await store.streamVersion('s-reuse')).toBe(1);
  });

  it('a conflicting append does not consume its command id', async () => {
    await store.append('s-retry', 0, [ev('a')]);
    await expect(store.append('s-retry', 0, [ev('b')], { commandId: 'cmd-retry' })).rejects.toBeInstanceOf(VersionConflictError);
    const retried = await store.append('s-retry', 1, [ev('b')], { commandId: 'cmd-retry' });
    expect(retried).toMatchObject({ duplicate: false, version: 2 });
  });

  it('bad input gets a ValidationError and writes nothing', async () => {
    const before = await rowCounts();
    const bad: Array<() => Promise<unknown>> = [
      () => store.append('s-bad', 0, []),
      () => store.append('s-bad', '1' as unknown as number, [ev('a')]),
      () => store.append('s-bad', -1, [ev('a')]),
      () => store.append('s-bad', 1.5, [ev('a')]),
      () => store.append('x'.repeat(STREAM_ID_MAX_LENGTH + 1), 0, [ev('a')]),
      () => store.append('', 0, [ev('a')]),
      () => store.append(42 as unknown as string, 0, [ev('a')]),
      () => store.append('s-bad', 0, [ev('')]),
      () => store.append('s-bad', 0, [ev('a', { n: 10n })]),
      () => store.append('s-bad', 0, [{ type: 'a', data: undefined }]),
      () => store.append('s-bad', 0, [ev('a', { f: () => 1 })]),
      () => store.append('s-bad', 0, [ev('a', { n: Number.NaN })]),
      () => store.append('s-bad', 0, [ev('a', { s: 'nul\u0000' })]),
    ];
    for (const call of bad) {
      await expect(call()).rejects.toBeInstanceOf(ValidationError);
    }
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(store.append('s-bad', 0, [ev('a', circular)])).rejects.toMatchObject({
      code: ErrorCode.VALIDATION_FAILED,
      issues: [{ path: ['events', 0, 'data'] }],
    });
    expect(await rowCounts()).toEqual(before);
    expect(await store.streamVersion('s-bad')).toBe(0);
  });

  it('a store whose Postgres is unreachable reports STORE_UNAVAILABLE, retryable', async () => {
    const down = createPostgresEventStore({ connectionString: 'postgres://postgres@127.0.0.1:1/postgres', poolSize: 1 });
    try {
      const err = await down.append('s-down', 0, [ev('a')]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RatchetError);
      expect(err).toMatchObject({ code: ErrorCode.STORE_UNAVAILABLE, retryable: true });
      await expect(down.readStream('s-down')).rejects.toMatchObject({ code: ErrorCode.STORE_UNAVAILABLE });
    } finally {
      await down.close();
    }
  });
});
