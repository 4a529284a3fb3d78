/**
 * Durable timer firing lag: `timers` visit timeouts (default 100,000) pending in the store with due
 * times spread evenly over the next `windowSeconds` (default 60), one worker process owning every
 * partition (static mode) firing them. Each fire loads a cold actor (one event), checks the timer,
 * and appends the delay's event in a group commit with the timer removed.
 * - lag: for every fired timer, its event's commit-transaction start minus its due time, both by
 *   Postgres's clock (`recorded_at` − `metadata.timer.dueAt`); p50, p99, max.
 * - rate: fires per second over the window, against the rate the schedule asks for.
 * The timers are written with SQL (events, stream heads and timer rows as the worker writes them),
 * so setting up 100,000 timers takes seconds and they are really due within the window.
 * Run: node --conditions=source --import tsx bench/timers.bench.ts [--timers N] [--window-seconds N] [--quick]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startNatsServer, startServiceProcess, waitFor } from '@ratchet/launchers';
import { partitionOf } from '@ratchet/transport-nats';
import pg from 'pg';
import { VISIT_TIMEOUT_EVENT } from '../test/support/visit-aggregate.js';
import { createScratchDatabase } from './scratch-database.js';
import { figure, parseBenchArgs, percentile, reportAll, stringArg, type Figure } from './stats.js';

const APP = resolve(import.meta.dirname, '../test/support/visit-app.ts');

/** Options of {@link runTimersBench}. */
export interface TimersBenchOptions {
  readonly timers?: number;
  readonly windowSeconds?: number;
  readonly log?: (line: string) => void;
}

/** Write the timers, start one worker, wait until every timer fired, and return the figures. */
export async function runTimersBench(options: TimersBenchOptions = {}): Promise<Figure[]> {
  const count = options.timers ?? 100_000;
  const windowSeconds = options.windowSeconds ?? 60;
  const log = options.log ?? (() => undefined);
  const db = await createScratchDatabase('timers');
  const natsServer = await startNatsServer();
  const cleanups: Array<() => Promise<unknown>> = [() => db.drop(), () => natsServer.stop()];
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  cleanups.unshift(() => pool.end());
  try {
    const env = {
      NATS_URL: natsServer.url,
      DATABASE_URL: db.url,
      HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
      CLUSTER_MODE: 'static',
      RATCHET_APP: APP,
      RELAY_ENABLED: 'false',
    };
    // The first start migrates the schema; stop it before writing the timers, then start the measured one.
    const migrator = await startServiceProcess({
      entry: 'services/worker/src/main.ts',
      env: { ...env, LOG_LEVEL: 'info' },
      readyMessage: 'worker ready',
    });
    await migrator.stop(30_000);

    const headStartMs = 5_000;
    log(`writing ${count.toLocaleString()} pending visit timeouts due over ${windowSeconds} s, starting in ${headStartMs / 1000} s`);
    await writeTimers(pool, count, windowSeconds, headStartMs);
    const worker = await startServiceProcess({
      entry: 'services/worker/src/main.ts',
      env: { ...env, LOG_LEVEL: 'info' },
      readyMessage: 'worker ready',
    });
    cleanups.unshift(() => worker.stop(30_000));

    await waitFor(
      async () => {
        // Each fire starts the escalated state's (hour-long) delay: count only the visit timeouts.
        const left = Number(
          (await pool.query<{ n: string }>('SELECT count(*) AS n FROM ratchet.timers WHERE timer_id = $1', [VISIT_TIMEOUT_EVENT])).rows[0]
            ?.n ?? 0,
        );
        return left === 0;
      },
      { what: `all ${count} timers to fire`, timeoutMs: (windowSeconds + 600) * 1_000, intervalMs: 1_000 },
    );
    const lags = (
      await pool.query<{ lag: string }>(
        `SELECT extract(epoch FROM recorded_at - (metadata->'timer'->>'dueAt')::timestamptz) * 1000 AS lag FROM ratchet.events WHERE type = $1`,
        [VISIT_TIMEOUT_EVENT],
      )
    ).rows.map((r) => Number(r.lag));
    const span = await pool.query<{ first: string; last: string }>(
      `SELECT extract(epoch FROM min(recorded_at)) * 1000 AS first, extract(epoch FROM max(recorded_at)) * 1000 AS last FROM ratchet.events WHERE type = $1`,
      [VISIT_TIMEOUT_EVENT],
    );
    const fired = lags.length;
    const seconds = (Number(span.rows[0]!.last) - Number(span.rows[0]!.first)) / 1000;
    const asked = count / windowSeconds;
    const early = lags.filter((l) => l < 0).length;
    if (fired !== count || early > 0) log(`WARNING: ${fired} of ${count} fired, ${early} early`);
    return [
      figure(`timers fired (${count} due over ${windowSeconds} s)`, fired, 'timers'),
      figure('timer lag p50', percentile(lags, 50), 'ms'),
      figure('timer lag p99', percentile(lags, 99), 'ms'),
      figure('timer lag max', Math.max(...lags), 'ms'),
      figure(
        'timer fires/s over the window',
        fired / Math.max(seconds, 1e-3),
        'fires/s',
        'timers due/s',
        fired / Math.max(seconds, 1e-3) / asked,
      ),
      figure('timers due/s', asked, 'fires/s'),
    ];
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
  }
}

/** Streams `visit/b-<i>` at version 1 (called), each with its timeout pending, due evenly over the window. */
async function writeTimers(pool: pg.Pool, count: number, windowSeconds: number, headStartMs: number): Promise<void> {
  const chunk = 10_000;
  for (let from = 0; from < count; from += chunk) {
    const ids = Array.from({ length: Math.min(chunk, count - from) }, (_, i) => `b-${from + i}`);
    const streams = ids.map((id) => `visit/${id}`);
    const partitions = ids.map((id) => partitionOf(id, 64));
    const dueMs = ids.map((_, i) => headStartMs + Math.floor(((from + i) / count) * windowSeconds * 1_000));
    await pool.query(
      `WITH t AS (SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[]) AS t(stream_id, partition, due_ms)),
       e AS (INSERT INTO ratchet.events (stream_id, version, type, data, metadata, epoch, partition)
             SELECT stream_id, 1, 'called', '{}', jsonb_build_object('commandId', 'bench-' || stream_id), NULL, partition FROM t),
       s AS (INSERT INTO ratchet.streams (stream_id, version) SELECT stream_id, 1 FROM t)
       INSERT INTO ratchet.timers (stream_id, timer_id, partition, kind, due_at, started_version, body)
       SELECT stream_id, $4, partition, 'delay', now() + due_ms * interval '1 millisecond', 1,
              jsonb_build_object('event', jsonb_build_object('type', $4::text, 'data', '{}'::jsonb))
       FROM t`,
      [streams, partitions, dueMs, VISIT_TIMEOUT_EVENT],
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = parseBenchArgs();
  const timers = Number(stringArg('timers') ?? (args.quick ? 10_000 : 100_000));
  const windowSeconds = Number(stringArg('window-seconds') ?? (args.quick ? 10 : 60));
  const figures = await runTimersBench({ timers, windowSeconds, log: (l) => console.error(l) });
  reportAll(figures, '— durable timers');
}
