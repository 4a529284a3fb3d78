// Time travel (store.loadAt) on a fresh database: for random histories, the state after version N
// — or at a time — equals replaying that prefix of the history, whether it starts from a snapshot
// or not, and also for an aggregate whose events carry sealed sensitive values (opened; their
// placeholders once the subject is forgotten, when a sealed snapshot no longer opens). A version or
// time outside the stream is OUT_OF_RANGE, never an empty state.
import { defineAggregate, FORGOTTEN, RatchetError, sensitive, type StoredEventInput } from '@ratchet/core';
import { createPostgresEventStore, type PostgresEventStore } from '@ratchet/event-store-postgres';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { Turnstile } from '@ratchet/turnstile';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { z } from 'zod';

let db: TestDatabase;
let store: PostgresEventStore;
let streams = 0;

beforeAll(async () => {
  db = await createTestDatabase('load_at');
  store = createPostgresEventStore({ connectionString: db.url, poolSize: 4 });
  await store.migrate();
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

/** A valid turnstile history: installed, then coins (true) and pushes (false). */
function turnstileHistory(draws: readonly boolean[]): StoredEventInput[] {
  const events: StoredEventInput[] = [{ type: 'installed', data: {} }];
  let unlocked = false;
  for (const coin of draws) {
    events.push({ type: coin ? 'coinInserted' : unlocked ? 'armTurned' : 'armPushedIneffectively', data: {} });
    unlocked = coin;
  }
  return events;
}

/** Append `events` in chunks of the given sizes, each its own transaction (so recorded_at moves on). */
async function appendInChunks(
  streamId: string,
  events: readonly StoredEventInput[],
  chunks: readonly number[],
  seal?: (e: StoredEventInput[]) => Promise<StoredEventInput[]>,
): Promise<void> {
  let at = 0;
  let i = 0;
  while (at < events.length) {
    const size = Math.min(events.length - at, Math.max(1, chunks[i % chunks.length] ?? 1));
    const chunk = events.slice(at, at + size).map((e) => ({ type: e.type, data: e.data }));
    await store.append(streamId, at, seal === undefined ? chunk : await seal(chunk));
    at += size;
    i += 1;
  }
}

const history = fc.record({
  draws: fc.array(fc.boolean(), { maxLength: 60 }),
  chunks: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 }),
  snapshotAt: fc.option(fc.nat(), { nil: undefined }),
  targets: fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
});

describe('loadAt({ version })', () => {
  it('equals replaying the prefix of a random history, with and without a snapshot', async () => {
    await fc.assert(
      fc.asyncProperty(history, async ({ draws, chunks, snapshotAt, targets }) => {
        const events = turnstileHistory(draws);
        const id = `t-${(streams += 1)}`;
        const streamId = `turnstile/${id}`;
        await appendInChunks(streamId, events, chunks);
        const snapshot = snapshotAt === undefined ? undefined : 1 + (snapshotAt % events.length);
        if (snapshot !== undefined) {
          const state = Turnstile.replay(events.slice(0, snapshot));
          await store.saveSnapshot({
            streamId,
            version: snapshot,
            machineVersion: Turnstile.machineVersion,
            state: Turnstile.runtime.persist(state),
          });
        }
        for (const t of targets) {
          const version = 1 + (t % events.length);
          const expected = Turnstile.replay(events.slice(0, version));
          for (const snapshots of [true, false]) {
            const at = await store.loadAt(Turnstile, id, { version }, { snapshots });
            expect(at.version).toBe(version);
            expect(at.head).toBe(events.length);
            expect(at.value).toEqual(expected.snapshot.value);
            expect(at.context).toEqual(expected.snapshot.context);
            expect(at.state.snapshot.value).toEqual(expected.snapshot.value);
            const from = snapshots && snapshot !== undefined && snapshot <= version ? snapshot : 0;
            expect(at.from).toBe(from);
            expect(at.events.map((e) => e.version)).toEqual(Array.from({ length: version - from }, (_, i) => from + 1 + i));
            expect(at.events.map((e) => e.type)).toEqual(events.slice(from, version).map((e) => e.type));
          }
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe('loadAt({ at })', () => {
  it('is the longest prefix recorded by then (to the millisecond), equal to replaying it', async () => {
    await fc.assert(
      fc.asyncProperty(history, async ({ draws, chunks }) => {
        const events = turnstileHistory(draws);
        const id = `t-${(streams += 1)}`;
        await appendInChunks(`turnstile/${id}`, events, chunks);
        const stored = await store.readStream(`turnstile/${id}`);
        for (const event of stored) {
          const at = await store.loadAt(Turnstile, id, { at: event.recordedAt });
          // Every event up to the version was recorded by then, and the next one was not.
          const ms = (e: { recordedAt: Date }) => e.recordedAt.getTime();
          expect(stored.slice(0, at.version).every((e) => ms(e) <= ms(event))).toBe(true);
          if (at.version < stored.length) expect(ms(stored[at.version]!)).toBeGreaterThan(ms(event));
          expect(at.version).toBeGreaterThanOrEqual(event.version);
          const expected = Turnstile.replay(events.slice(0, at.version));
          expect([at.value, at.context]).toEqual([expected.snapshot.value, expected.snapshot.context]);
        }
      }),
      { numRuns: 15 },
    );
  });
});

describe('outside the stream', () => {
  it('is OUT_OF_RANGE: version 0 or past the head, a time before the first event or in the future, a stream with no events', async () => {
    await store.append('turnstile/range-1', 0, [
      { type: 'installed', data: {} },
      { type: 'coinInserted', data: {} },
    ]);
    const [first] = await store.readStream('turnstile/range-1');
    const cases: Array<[string, () => Promise<unknown>]> = [
      ['version 0', () => store.loadAt(Turnstile, 'range-1', { version: 0 })],
      ['version 3', () => store.loadAt(Turnstile, 'range-1', { version: 3 })],
      ['before', () => store.loadAt(Turnstile, 'range-1', { at: new Date(first!.recordedAt.getTime() - 1) })],
      ['future', () => store.loadAt(Turnstile, 'range-1', { at: new Date(Date.now() + 3_600_000) })],
      ['no events', () => store.loadAt(Turnstile, 'nobody', { version: 1 })],
      ['no events (at)', () => store.loadAt(Turnstile, 'nobody', { at: new Date() })],
    ];
    for (const [name, loading] of cases) {
      const error = await loading().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, name).toBeInstanceOf(RatchetError);
      expect((error as RatchetError).code, name).toBe('OUT_OF_RANGE');
      expect((error as RatchetError).details.streamId, name).toMatch(/^turnstile\//);
    }
    await expect(store.loadAt(Turnstile, 'range-1', { version: 1.5 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

/** A rider card: a name (personal data of the rider) and taps. */
const Rider = defineAggregate({
  type: 'rider',
  machine: setup({
    types: {
      context: {} as { name: string; taps: number },
      events: {} as
        | { type: 'registered'; data: { name: string } }
        | { type: 'renamed'; data: { name: string } }
        | { type: 'tapped'; data: Record<string, never> },
    },
  }).createMachine({
    id: 'rider',
    initial: 'new',
    context: { name: '', taps: 0 },
    states: {
      new: { on: { registered: { target: 'active', actions: assign({ name: ({ event }) => event.data.name }) } } },
      active: {
        on: {
          renamed: { actions: assign({ name: ({ event }) => event.data.name }) },
          tapped: { actions: assign({ taps: ({ context }) => context.taps + 1 }) },
        },
      },
    },
  }),
  commands: {},
  events: {
    registered: z.object({ name: sensitive(z.string(), { subject: (_d, where) => `rider:${where.aggregateId}` }) }),
    renamed: z.object({ name: sensitive(z.string(), { subject: (_d, where) => `rider:${where.aggregateId}` }) }),
    tapped: z.object({}),
  },
  decide: {},
});

describe('with sealed sensitive values', () => {
  it('opens them, starts from a sealed snapshot, and after a forget reads placeholders from a replay', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constant('tap'), fc.string({ minLength: 1, maxLength: 12 })), { maxLength: 25 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }),
        fc.nat(),
        async (steps, chunks, snapshotSeed) => {
          const id = `r-${(streams += 1)}`;
          const streamId = `rider/${id}`;
          const events: StoredEventInput[] = [{ type: 'registered', data: { name: `Rider ${id}` } }];
          for (const step of steps) events.push(step === 'tap' ? { type: 'tapped', data: {} } : { type: 'renamed', data: { name: step } });
          await appendInChunks(streamId, events, chunks, (chunk) => store.cipher.sealEvents(Rider, streamId, chunk));
          const snapshot = 1 + (snapshotSeed % events.length);
          const persisted = Rider.runtime.persist(Rider.replay(events.slice(0, snapshot)));
          const sealed = await store.cipher.sealSnapshot(streamId, snapshot, persisted);
          expect(JSON.stringify(sealed)).not.toContain(`Rider ${id}`);
          await store.saveSnapshot({ streamId, version: snapshot, machineVersion: Rider.machineVersion, state: sealed });

          const head = await store.loadAt(Rider, id, { version: events.length });
          expect(head.context).toEqual(Rider.replay(events).snapshot.context);
          expect(head.from).toBe(snapshot);

          await store.cipher.forget(`rider:${id}`);
          const forgotten = events.map((e) => (e.type === 'tapped' ? e : { ...e, data: { name: FORGOTTEN } }));
          for (const version of [1, snapshot, events.length]) {
            const at = await store.loadAt(Rider, id, { version });
            expect(at.from).toBe(0); // the sealed snapshot no longer opens
            expect(at.context).toEqual(Rider.replay(forgotten.slice(0, version)).snapshot.context);
          }
        },
      ),
      { numRuns: 20 },
    );
  });
});
