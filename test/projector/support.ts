// Shared by the projector fault tests: a private nats-server and database, a worker whose relay
// publishes the store's feed, a turnstile load appended straight to the store, and the fold check.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { createPostgresEventStore, type PostgresEventStore } from '@ratchet/event-store-postgres';
import { startNatsServer, type NatsServerHandle } from '@ratchet/launchers';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { ensureEventsStream } from '@ratchet/transport-nats';
import { Turnstile } from '@ratchet/turnstile';
import { createWorker, type Worker } from '@ratchet/worker';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { pino } from 'pino';

/** Servers and clients of one test file. */
export interface ProjectorTestEnv {
  readonly nats: NatsServerHandle;
  readonly nc: NatsConnection;
  readonly db: TestDatabase;
  readonly store: PostgresEventStore;
  readonly pool: pg.Pool;
  /** A real worker whose outbox relay publishes what the tests append to the store. */
  worker: Worker;
  startWorker(): Promise<void>;
  close(): Promise<void>;
}

/** Start a private nats-server, a fresh database with the store migrated, and the outbox relay. */
export async function startProjectorTestEnv(prefix: string): Promise<ProjectorTestEnv> {
  const nats = await startNatsServer();
  const nc = await connect({ servers: nats.url });
  const db = await createTestDatabase(prefix);
  const store = createPostgresEventStore({ connectionString: db.url });
  await store.migrate();
  const pool = new pg.Pool({ connectionString: db.url, max: 6 });
  // close() drops the database right after pool.end(), which does not wait for the sockets to
  // close: a connection still closing gets FATAL 57P01, which must not be an unhandled error.
  pool.on('error', () => undefined);
  await ensureEventsStream(await jetstreamManager(nc));
  const makeWorker = (): Worker =>
    createWorker({
      nats: nc,
      jetstream: nc,
      store,
      aggregates: [Turnstile],
      relayPollIntervalMs: 20,
      relayLeaseTtlMs: 1_000,
      logger: pino({ level: 'silent' }),
    });
  const env: ProjectorTestEnv = {
    nats,
    nc,
    db,
    store,
    pool,
    worker: makeWorker(),
    async startWorker() {
      env.worker = makeWorker();
      await env.worker.start();
    },
    async close() {
      await env.worker.drain(5_000).catch(() => undefined);
      await pool.end().catch(() => undefined);
      await store.close().catch(() => undefined);
      await db.drop().catch(() => undefined);
      await nc.close().catch(() => undefined);
      await nats.stop();
    },
  };
  await env.worker.start();
  return env;
}

const COMMANDS = ['insertCoin', 'pushArm', 'pushArm', 'insertCoin', 'pushArm'] as const;

/** A running load of turnstile commands decided by the aggregate and appended to the store. */
export interface TurnstileAppender {
  /** Events appended so far. */
  readonly appended: () => number;
  stop(): Promise<number>;
}

/** Append `count` events (or until stopped, when count is Infinity) over `turnstiles` turnstiles in `lanes` loops, pausing `pauseMs` after each. */
export function appendTurnstileEvents(
  store: PostgresEventStore,
  options: { prefix: string; turnstiles: number; count: number; lanes?: number; pauseMs?: number },
): TurnstileAppender & { done: Promise<number> } {
  let appended = 0;
  let running = true;
  const lanes = options.lanes ?? 4;
  const lane = async (l: number): Promise<void> => {
    const ids: string[] = [];
    for (let i = l; i < options.turnstiles; i += lanes) ids.push(`${options.prefix}-${i}`);
    const states = new Map(ids.map((id) => [id, Turnstile.initialState()]));
    let n = 0;
    while (running && appended < options.count && ids.length > 0) {
      const id = ids[n % ids.length]!;
      const state = states.get(id)!;
      const command = state.version === 0 ? 'install' : COMMANDS[(n * 7 + l) % COMMANDS.length]!;
      n += 1;
      const decision = Turnstile.decide({ type: command, payload: {} } as never, state, { id });
      if (decision.status === 'rejected') continue;
      await store.append(
        `turnstile/${id}`,
        state.version,
        decision.events.map((e) => ({ type: e.type, data: e.data })),
      );
      states.set(id, decision.state);
      appended += decision.events.length;
      if (options.pauseMs !== undefined) await delay(options.pauseMs);
    }
  };
  const done = Promise.all(Array.from({ length: lanes }, (_, l) => lane(l))).then(() => appended);
  return {
    appended: () => appended,
    done,
    async stop() {
      running = false;
      return done;
    },
  };
}

/** Rows of `relation` (a stable view or a physical table) that differ from the fold of the store, and the totals check. */
export async function diffFromFold(
  env: Pick<ProjectorTestEnv, 'pool' | 'store'>,
  relation = 'turnstiles',
  totals = 'turnstile_totals',
  perSecond = 'turnstile_commands_per_second',
): Promise<{ rows: number; streams: number; mismatches: string[] }> {
  const rows = await env.pool.query<{
    id: string;
    state: string;
    coins: number;
    turns: number;
    pushes: number;
    version: number;
    last_event_type?: string;
  }>(`SELECT * FROM ${relation}`);
  const streams = await env.pool.query<{ stream_id: string }>(
    `SELECT stream_id FROM ratchet.streams WHERE stream_id LIKE 'turnstile/%' AND version > 0`,
  );
  const mismatches: string[] = [];
  const byId = new Map(rows.rows.map((r) => [r.id, r]));
  const sums = { turnstiles: 0, coins: 0, turns: 0, pushes: 0, events: 0 };
  for (const { stream_id } of streams.rows) {
    const events = await env.store.readStream(stream_id);
    const state = Turnstile.replay(events);
    const id = stream_id.slice('turnstile/'.length);
    const want = {
      state: String(state.snapshot.value),
      coins: state.snapshot.context.coins,
      turns: state.snapshot.context.turns,
      pushes: state.snapshot.context.pushes,
      version: events.length,
    };
    sums.turnstiles += 1;
    sums.coins += want.coins;
    sums.turns += want.turns;
    sums.pushes += want.pushes;
    sums.events += events.length;
    const row = byId.get(id);
    byId.delete(id);
    const got =
      row === undefined ? undefined : { state: row.state, coins: row.coins, turns: row.turns, pushes: row.pushes, version: row.version };
    if (JSON.stringify(got) !== JSON.stringify(want)) mismatches.push(`${id}: got ${JSON.stringify(got)} want ${JSON.stringify(want)}`);
    if (row?.last_event_type !== undefined && row.last_event_type !== events.at(-1)?.type) {
      mismatches.push(`${id}: last_event_type ${row.last_event_type} want ${events.at(-1)?.type}`);
    }
  }
  for (const id of byId.keys()) mismatches.push(`${id}: row without a stream`);
  const t = (await env.pool.query(`SELECT turnstiles, coins, turns, pushes FROM ${totals}`)).rows[0] as Record<string, string>;
  const gotTotals = { turnstiles: Number(t.turnstiles), coins: Number(t.coins), turns: Number(t.turns), pushes: Number(t.pushes) };
  const wantTotals = { turnstiles: sums.turnstiles, coins: sums.coins, turns: sums.turns, pushes: sums.pushes };
  if (JSON.stringify(gotTotals) !== JSON.stringify(wantTotals))
    mismatches.push(`totals: got ${JSON.stringify(gotTotals)} want ${JSON.stringify(wantTotals)}`);
  const s = (await env.pool.query<{ n: string }>(`SELECT coalesce(sum(events), 0) AS n FROM ${perSecond}`)).rows[0]!;
  if (Number(s.n) !== sums.events) mismatches.push(`per-second buckets count ${s.n} events, the store has ${sums.events}`);
  return { rows: rows.rows.length, streams: streams.rows.length, mismatches };
}
