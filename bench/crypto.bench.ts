/**
 * The cost of sensitive fields (docs/sensitive-data.md): the same events with and without one field
 * marked `sensitive` — appended (sealed by `store.cipher`, AES-256-GCM, keys wrapped by a master
 * key, then `store.append`, 64 commands in flight, one event each, as a worker appends them) and
 * replayed (read, opened and folded, as a worker loads a cold actor), plus the in-memory rates of
 * sealing and of opening + folding, which isolate the CPU cost from Postgres.
 * Run: node --conditions=source --import tsx bench/crypto.bench.ts [--seconds N] [--repeats N] [--quick]
 * Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) to create and drop a scratch database.
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { defineAggregate, sensitive, type NewEvent } from '@ratchet/core';
import { createPostgresEventStore, parseMasterKey, type PostgresEventStore } from '@ratchet/event-store-postgres';
import { assign, setup } from 'xstate';
import { z } from 'zod';
import { createScratchDatabase } from './scratch-database.js';
import { figure, median, parseBenchArgs, reportAll, type Figure } from './stats.js';

/** Options of {@link runCryptoBench}. */
export interface CryptoBenchOptions {
  /** Duration of each measurement in seconds. Default 3. */
  readonly seconds?: number;
  /** Measurements per figure; the median is reported. Default 3. */
  readonly repeats?: number;
  /** Events in the replayed stream. Default 10,000. */
  readonly historyLength?: number;
  /** Where progress lines go. Default: nowhere. */
  readonly log?: (line: string) => void;
}

const IN_FLIGHT = 64;

/** A profile whose `email` is (or is not) personal data of the profile's owner. */
function profileAggregate(type: string, marked: boolean) {
  const email = marked ? sensitive(z.string(), { subject: (_data, where) => where.aggregateId }) : z.string();
  return defineAggregate({
    type,
    machine: setup({
      types: {
        context: {} as { email: string; visits: number },
        events: {} as { type: 'visited'; data: { email: string; visits: number } },
      },
    }).createMachine({
      id: type,
      context: { email: '', visits: 0 },
      on: { visited: { actions: assign(({ event }) => ({ email: event.data.email, visits: event.data.visits })) } },
    }),
    commands: {},
    events: { visited: z.object({ email, visits: z.number() }) },
    decide: {},
  });
}

const Plain = profileAggregate('plain', false);
const Sealed = profileAggregate('sealed', true);
type Profile = typeof Plain;

const eventOf = (n: number): NewEvent => ({ type: 'visited', data: { email: `visitor.${n % 1000}@example.com`, visits: n } });

/** Run `op` repeatedly for about `ms`; events per second (`op` resolves how many events it did). */
async function rate(op: () => Promise<number>, ms: number): Promise<number> {
  let events = 0;
  const start = performance.now();
  while (performance.now() - start < ms) events += await op();
  return events / ((performance.now() - start) / 1000);
}

/** `IN_FLIGHT` streams of `aggregate`, each appending one event per command, for about `ms`; events per second. */
async function appendRate(store: PostgresEventStore, aggregate: Profile, round: number, ms: number): Promise<number> {
  const loops = Array.from({ length: IN_FLIGHT }, async (_, i) => {
    const streamId = `${aggregate.type}/r${round}-${i}`;
    let version = 0;
    return rate(async () => {
      const events = await store.cipher.sealEvents(aggregate, streamId, [eventOf(version)]);
      await store.append(streamId, version, events);
      version += 1;
      return 1;
    }, ms);
  });
  return (await Promise.all(loops)).reduce((a, b) => a + b, 0);
}

/** Measure appends, sealing, and replays with and without the sensitive field; one figure each. */
export async function runCryptoBench(options: CryptoBenchOptions = {}): Promise<Figure[]> {
  const ms = (options.seconds ?? 3) * 1000;
  const repeats = options.repeats ?? 3;
  const length = options.historyLength ?? 10_000;
  const log = options.log ?? ((): void => undefined);
  const db = await createScratchDatabase('crypto');
  const store = createPostgresEventStore({
    connectionString: db.url,
    poolSize: 16,
    masterKey: parseMasterKey(randomBytes(32).toString('base64')),
  });
  const figures: Figure[] = [];
  try {
    await store.migrate();
    const samples = {
      plain: [] as number[],
      sealed: [] as number[],
      seal: [] as number[],
      open: [] as number[],
      foldPlain: [] as number[],
      foldSealed: [] as number[],
      loadPlain: [] as number[],
      loadSealed: [] as number[],
    };

    // The streams to replay: one subject's stream, and the same events unsealed.
    const history = Array.from({ length }, (_, n) => eventOf(n));
    for (const [aggregate, streamId] of [
      [Plain, 'plain/history'],
      [Sealed, 'sealed/history'],
    ] as const) {
      for (let from = 0; from < length; from += 1_000)
        await store.append(streamId, from, await store.cipher.sealEvents(aggregate, streamId, history.slice(from, from + 1_000)));
    }
    const storedPlain = await store.readStream('plain/history');
    const storedSealed = await store.readStream('sealed/history');
    if (JSON.stringify(storedSealed).includes('visitor.')) throw new Error('the sealed stream holds the value in clear');
    const check = (state: { snapshot: { context: unknown }; version: number }): void => {
      if (
        state.version !== length ||
        JSON.stringify(state.snapshot.context) !==
          JSON.stringify({ email: `visitor.${(length - 1) % 1000}@example.com`, visits: length - 1 })
      ) {
        throw new Error('the replay did not end where the history does');
      }
    };

    for (let r = 1; r <= repeats; r += 1) {
      // Alternate plain and sealed in each round so drift on a shared machine hits both alike.
      samples.plain.push(await appendRate(store, Plain, r, ms / 2));
      samples.sealed.push(await appendRate(store, Sealed, r, ms / 2));
      samples.seal.push(
        await rate(async () => (await store.cipher.sealEvents(Sealed, 'sealed/mem', history.slice(0, 1_000))).length, ms / 4),
      );
      samples.open.push(await rate(async () => (await store.cipher.openEvents(storedSealed)).length, ms / 4));
      samples.foldPlain.push(
        await rate(async () => {
          check(Plain.replay(await store.cipher.openEvents(storedPlain)));
          return length;
        }, ms / 4),
      );
      samples.foldSealed.push(
        await rate(async () => {
          check(Sealed.replay(await store.cipher.openEvents(storedSealed)));
          return length;
        }, ms / 4),
      );
      samples.loadPlain.push(
        await rate(async () => {
          check(Plain.replay(await store.cipher.openEvents(await store.readStream('plain/history'))));
          return length;
        }, ms / 4),
      );
      samples.loadSealed.push(
        await rate(async () => {
          check(Sealed.replay(await store.cipher.openEvents(await store.readStream('sealed/history'))));
          return length;
        }, ms / 4),
      );
      log(
        `round ${r}/${repeats}  append plain ${samples.plain.at(-1)!.toFixed(0)}/s, sealed ${samples.sealed.at(-1)!.toFixed(0)}/s; load plain ${samples.loadPlain.at(-1)!.toFixed(0)}/s, sealed ${samples.loadSealed.at(-1)!.toFixed(0)}/s`,
      );
    }
    const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])) as Record<keyof typeof samples, number>;
    const append = `append, ${IN_FLIGHT} in flight, 1 event each, no sensitive field`;
    const fold = `open + replay in memory, ${length} events, no sensitive field`;
    const load = `read + open + replay from Postgres, ${length} events, no sensitive field`;
    figures.push(
      figure(append, m.plain, 'events/s'),
      figure(`append, ${IN_FLIGHT} in flight, 1 event each, 1 sealed field`, m.sealed, 'events/s', append, m.sealed / m.plain),
      figure('seal in memory (AES-256-GCM), 1 field per event', m.seal, 'events/s'),
      figure('open in memory (AES-256-GCM), 1 field per event', m.open, 'events/s'),
      figure(fold, m.foldPlain, 'events/s'),
      figure(`open + replay in memory, ${length} events, 1 sealed field`, m.foldSealed, 'events/s', fold, m.foldSealed / m.foldPlain),
      figure(load, m.loadPlain, 'events/s'),
      figure(
        `read + open + replay from Postgres, ${length} events, 1 sealed field`,
        m.loadSealed,
        'events/s',
        load,
        m.loadSealed / m.loadPlain,
      ),
    );
  } finally {
    await store.close();
    await db.drop();
  }
  return figures;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = parseBenchArgs();
  const figures = await runCryptoBench({
    seconds: args.seconds,
    repeats: args.repeats,
    historyLength: args.quick ? 2_000 : 10_000,
    log: (line) => console.error(line),
  });
  reportAll(figures, `sensitive fields — median of ${args.repeats} × ${args.seconds}s`);
}
