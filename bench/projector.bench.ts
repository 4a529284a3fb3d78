/**
 * Projector throughput into the turnstile read model, beside raw multi-row INSERTs of the same
 * number of rows in the same run: JetStream-following (a projection consuming the whole stream)
 * and rebuild (a new version built from the Postgres feed).
 * Run: node --conditions=source --import tsx bench/projector.bench.ts [--events N] [--repeats N]
 * Uses DATABASE_URL for a scratch database and NATS_URL, else starts a private nats-server.
 */
import { pathToFileURL } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { createPostgresEventStore, FEED_START, type AppendRequest } from '@ratchet/event-store-postgres';
import { createProjector, migrateProjectionSchema, republish } from '@ratchet/projector';
import { startNatsServer } from '@ratchet/launchers';
import { EVENTS_STREAM, ensureEventsStream } from '@ratchet/transport-nats';
import { Turnstile } from '@ratchet/turnstile';
import { defineTurnstileProjection } from '@ratchet/turnstile-projections';
import pg from 'pg';
import { createScratchDatabase } from './scratch-database.js';

/** Options of {@link runProjectorBench}. */
export interface ProjectorBenchOptions {
  /** Events in the store. Default 20,000. */
  readonly events?: number;
  /** Turnstiles they spread over. Default 200. */
  readonly turnstiles?: number;
  /** Runs per figure; the median is reported. Default 3. */
  readonly repeats?: number;
  /** Projector batch size. Default 200. */
  readonly batchSize?: number;
  readonly log?: (line: string) => void;
}

/** One reported figure. */
export interface ProjectorBenchFigure {
  readonly name: string;
  readonly value: number;
  readonly unit: 'events/s';
  readonly baseline: string | null;
  readonly ratio: number | null;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Measure the projector and the raw INSERT baseline; resolves the figures (also printed as JSON lines by the CLI). */
export async function runProjectorBench(options: ProjectorBenchOptions = {}): Promise<ProjectorBenchFigure[]> {
  const total = options.events ?? 20_000;
  const turnstiles = options.turnstiles ?? 200;
  const repeats = options.repeats ?? 3;
  const batchSize = options.batchSize ?? 200;
  const log = options.log ?? (() => undefined);
  const db = await createScratchDatabase('projector');
  const natsServer = process.env.NATS_URL ? undefined : await startNatsServer();
  const nc = await connect({ servers: process.env.NATS_URL ?? natsServer!.url });
  const store = createPostgresEventStore({ connectionString: db.url });
  const pool = new pg.Pool({ connectionString: db.url, max: 8 });
  try {
    await store.migrate();
    // The same history for every run: turnstiles installed, then coins and pushes, decided by the aggregate.
    const states = Array.from({ length: turnstiles }, () => Turnstile.initialState());
    const commands = ['install', 'insertCoin', 'pushArm', 'pushArm'] as const;
    let appended = 0;
    for (let round = 0; appended < total; round += 1) {
      const requests: AppendRequest[] = [];
      for (let i = 0; i < turnstiles && appended + requests.length < total; i += 1) {
        const state = states[i]!;
        const d = Turnstile.decide(
          { type: state.version === 0 ? 'install' : commands[1 + ((round + i) % 3)]!, payload: {} } as never,
          state,
        );
        if (d.status === 'rejected') continue;
        requests.push({
          streamId: `turnstile/t-${i}`,
          expectedVersion: state.version,
          events: d.events.map((e) => ({ type: e.type, data: e.data })),
        });
        states[i] = d.state;
      }
      await store.appendBatch(requests);
      appended += requests.length;
    }
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(EVENTS_STREAM).catch(() => undefined);
    await ensureEventsStream(jsm);
    await republish(store, jetstream(nc), FEED_START, { batchSize: 1_000 });
    log(`history: ${total} events over ${turnstiles} turnstiles, in Postgres and JetStream`);

    const applied = async (): Promise<number> =>
      Number((await pool.query<{ n: string | null }>(`SELECT sum(last_version) AS n FROM ratchet_projections.positions`)).rows[0]?.n ?? 0);
    const fresh = async (): Promise<void> => {
      await pool.query('DROP SCHEMA IF EXISTS ratchet_projections CASCADE');
      await jsm.consumers.delete(EVENTS_STREAM, 'proj_turnstile_v1').catch(() => undefined);
    };
    const project = async (mode: 'jetstream' | 'rebuild'): Promise<number> => {
      await fresh();
      const projector = createProjector({ nats: nc, store, pool, projections: [defineTurnstileProjection()], batchSize });
      if (mode === 'jetstream') {
        // Mark the version as built so it follows JetStream from the stream's first message.
        await migrateProjectionSchema(pool);
        await pool.query(
          `INSERT INTO ratchet_projections.versions (name, version, status, tables)
           VALUES ('turnstile', 1, 'following', ARRAY['turnstiles','turnstile_totals','turnstile_commands_per_second'])`,
        );
      }
      const start = performance.now();
      await projector.start();
      while ((await applied()) < total) await new Promise((r) => setTimeout(r, 5));
      const seconds = (performance.now() - start) / 1000;
      await projector.stop();
      return total / seconds;
    };
    const raw = async (): Promise<number> => {
      await pool.query(
        'DROP TABLE IF EXISTS bench_raw; CREATE TABLE bench_raw (id text, state text, coins int, turns int, pushes int, version int, updated_at timestamptz)',
      );
      const start = performance.now();
      for (let done = 0; done < total; done += batchSize) {
        const n = Math.min(batchSize, total - done);
        const ids = Array.from({ length: n }, (_, i) => `t-${(done + i) % turnstiles}`);
        await pool.query(`INSERT INTO bench_raw SELECT id, 'locked', 1, 1, 1, 1, now() FROM unnest($1::text[]) AS id`, [ids]);
      }
      return total / ((performance.now() - start) / 1000);
    };

    const runs: Record<string, number[]> = { raw: [], jetstream: [], rebuild: [] };
    for (let r = 0; r < repeats; r += 1) {
      runs.raw!.push(await raw());
      runs.jetstream!.push(await project('jetstream'));
      runs.rebuild!.push(await project('rebuild'));
      log(
        `run ${r + 1}: raw ${Math.round(runs.raw!.at(-1)!)}, jetstream ${Math.round(runs.jetstream!.at(-1)!)}, rebuild ${Math.round(runs.rebuild!.at(-1)!)} events/s`,
      );
    }
    const base = median(runs.raw!);
    const figure = (name: string, value: number, baseline: string | null): ProjectorBenchFigure => ({
      name,
      value: Math.round(value),
      unit: 'events/s',
      baseline,
      ratio: baseline === null ? null : Math.round((value / base) * 1000) / 1000,
    });
    return [
      figure('raw multi-row insert (baseline)', base, null),
      figure('projector from JetStream (turnstile v1)', median(runs.jetstream!), 'raw multi-row insert (baseline)'),
      figure('projector rebuild from the feed (turnstile v1)', median(runs.rebuild!), 'raw multi-row insert (baseline)'),
    ];
  } finally {
    await pool.end();
    await store.close();
    await nc.close();
    await natsServer?.stop();
    await db.drop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name: string): number | undefined => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const figures = await runProjectorBench({
    events: arg('events'),
    repeats: arg('repeats'),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  for (const f of figures) process.stdout.write(`${JSON.stringify(f)}\n`);
}
