/**
 * Outbox lag under full load: how long after its transaction an event is on JetStream, and how long
 * after the commit the turnstile read model shows it. Every service is a process of its own:
 * client (this process) → worker (group commit, outbox relay → JetStream) → projector service.
 * Two phases of `seconds` each at `concurrency`: the outbox alone (worker, relay, JetStream), then
 * with the projector service started (it writes its read model into the same database, so its
 * transactions also compete for the two cores and hold back the feed's commit-order horizon).
 * - outbox lag: for EVERY event, the time from its transaction's start (`recordedAt`, taken by
 *   Postgres when the group-commit transaction starts, so it over-states the lag by up to one
 *   commit) until a core NATS subscriber on `ratchet.evt.>` in a separate process
 *   (bench/responders/lag-observer.ts) receives its JetStream publish. Same machine, same clock.
 * - worker-side outbox lag: the worker's own `ratchet_outbox_lag_seconds` summary (from its group
 *   commit returning to JetStream's ack of each event; quantiles over its last 10 s), read from
 *   /metrics right after the load; this is the figure the ≤ 100 ms target is judged on.
 * - commit-to-read-model lag: for every 10th acknowledged command, from the reply until the
 *   projection's position for that stream reaches the version (one batched poll every 10 ms).
 * Run: node --conditions=source --import tsx bench/outbox-lag.bench.ts [--seconds N] [--concurrency N] [--quick]
 * Uses DATABASE_URL for a scratch database and a private nats-server (free port, temp dir).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { connectClient } from '@ratchet/client';
import { startNatsServer, startServiceProcess } from '@ratchet/launchers';
import { Turnstile } from '@ratchet/turnstile';
import pg from 'pg';
import { createScratchDatabase } from './scratch-database.js';
import { figure, parseBenchArgs, percentile, reportAll, stringArg, type Figure } from './stats.js';

/** Options of {@link runOutboxLagBench}. */
export interface OutboxLagBenchOptions {
  /** Seconds of load. Default 10. */
  readonly seconds?: number;
  /** Commands in flight. Default 256 (full load). */
  readonly concurrency?: number;
  readonly log?: (line: string) => void;
}

/** Drive the pipeline at `concurrency` for `seconds` and return the lag figures. */
export async function runOutboxLagBench(options: OutboxLagBenchOptions = {}): Promise<Figure[]> {
  const seconds = options.seconds ?? 10;
  const concurrency = options.concurrency ?? 256;
  const log = options.log ?? (() => undefined);
  const db = await createScratchDatabase('lag');
  const natsServer = await startNatsServer();
  const cleanups: Array<() => Promise<unknown>> = [() => db.drop(), () => natsServer.stop()];
  try {
    const services = { NATS_URL: natsServer.url, DATABASE_URL: db.url, HTTP_PORT: '0', LOG_LEVEL: 'info' };
    const worker = await startServiceProcess({
      entry: 'services/worker/src/main.ts',
      env: { ...services, CLUSTER_MODE: 'static' },
      readyMessage: 'worker ready',
    });
    cleanups.unshift(() => worker.stop(30_000));
    const observer = await startServiceProcess({
      entry: 'bench/responders/lag-observer.ts',
      env: services,
      readyMessage: 'observer ready',
    });
    cleanups.unshift(() => observer.stop(10_000));
    const nc = await connect({ servers: natsServer.url });
    cleanups.unshift(() => nc.close());
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    cleanups.unshift(() => pool.end());
    const client = await connectClient({ servers: natsServer.url, timeoutMs: 30_000 });
    cleanups.unshift(() => client.close());

    const ids = Array.from({ length: 2_000 }, (_, i) => `lag-${i}`);
    for (let i = 0; i < ids.length; i += 200) {
      await Promise.all(ids.slice(i, i + 200).map((id) => client.send(Turnstile, id, { type: 'install', payload: {} })));
    }
    const report = async (): Promise<number[]> =>
      (await nc.request('bench.lag.report', '', { timeout: 30_000 })).json<{ lags: number[] }>().lags;
    /** Collect from the observer until it has seen `n` events (every ok command wrote one). */
    const collect = async (n: number): Promise<number[]> => {
      const lags: number[] = [];
      for (const deadline = Date.now() + 60_000; lags.length < n && Date.now() < deadline; ) {
        lags.push(...(await report()));
        if (lags.length < n) await delay(100);
      }
      return lags;
    };
    await collect(ids.length); // the installs: not measured

    /** Closed loop at `concurrency` for `seconds`; `onOk` sees each acknowledged command. */
    const drive = async (phase: string, onOk: (id: string, version: number, n: number) => void) => {
      let sent = 0;
      let notOk = 0;
      let running = true;
      const started = Date.now();
      const until = started + seconds * 1_000;
      let nextProgress = started + 5_000;
      const lane = async (n: number): Promise<void> => {
        for (let k = n; running; k += concurrency) {
          const id = ids[k % ids.length]!;
          const r = await client.send(Turnstile, id, {
            type: Math.floor(k / ids.length) % 2 === 0 ? 'insertCoin' : 'pushArm',
            payload: {},
          });
          sent += 1;
          if (r.status === 'ok') onOk(id, r.version, sent);
          else notOk += 1;
          const now = Date.now();
          if (now >= nextProgress) {
            nextProgress = now + 5_000;
            log(`  ${phase}: ${sent} commands, ${((now - started) / 1000).toFixed(0)} s`);
          }
          if (now >= until) running = false;
        }
      };
      await Promise.all(Array.from({ length: concurrency }, (_, n) => lane(n)));
      return { sent, notOk, rate: sent / ((Date.now() - started) / 1000) };
    };

    // Phase 1, the outbox alone: worker, relay, JetStream (no projector writing into the same database).
    const outbox = await drive('outbox lag', () => undefined);
    const metrics = await (await fetch(`http://127.0.0.1:${String(worker.ready.httpPort)}/metrics`)).text();
    const quantile = (q: string): number => {
      const line = metrics.split('\n').find((l) => l.startsWith(`ratchet_outbox_lag_seconds{quantile="${q}"}`));
      return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1)) * 1000;
    };
    const outboxLags = (await collect(outbox.sent - outbox.notOk)).sort((a, b) => a - b);
    if (outboxLags.length === 0) throw new Error('no outbox lag samples: is the relay stuck?');

    // Phase 2, with the projector service (same database) catching up first, then following.
    const projector = await startServiceProcess({
      entry: 'services/projector/src/main.ts',
      env: services,
      readyMessage: 'projector ready',
    });
    cleanups.unshift(() => projector.stop(30_000));
    const total = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM ratchet.events')).rows[0]!.n);
    for (const deadline = Date.now() + 180_000; ; ) {
      const applied = await pool
        .query<{ n: string | null }>(
          `SELECT sum(p.last_version) AS n FROM ratchet_projections.positions p
           JOIN ratchet_projections.active a ON a.name = p.name AND a.version = p.version WHERE p.name = 'turnstile'`,
        )
        .then((r) => Number(r.rows[0]?.n ?? 0))
        .catch(() => 0); // its tables may not exist yet
      if (applied >= total) break;
      if (Date.now() > deadline) throw new Error(`the projector did not catch up: ${applied} of ${total} events applied`);
      await delay(200);
    }
    log(`  projector caught up with ${total} events`);
    // Read-model samples: stream id → [version, acknowledged at]; one poll resolves all that arrived.
    const pending = new Map<string, { version: number; at: number }>();
    const readModelLags: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling || pending.size > 0) {
        if (pending.size > 0) {
          const res = await pool
            .query<{ stream_id: string; last_version: number }>(
              `SELECT p.stream_id, p.last_version FROM ratchet_projections.positions p
             JOIN ratchet_projections.active a ON a.name = p.name AND a.version = p.version
             WHERE p.name = 'turnstile' AND p.stream_id = ANY($1)`,
              [[...pending.keys()]],
            )
            .catch(() => ({ rows: [] }));
          const now = performance.now();
          for (const row of res.rows) {
            const sample = pending.get(row.stream_id);
            if (sample !== undefined && row.last_version >= sample.version) {
              readModelLags.push(now - sample.at);
              pending.delete(row.stream_id);
            }
          }
        }
        await delay(10);
      }
    })();
    const withProjector = await drive('commit to read model', (id, version, n) => {
      // Sample every 10th acknowledged command (one sample per stream at a time).
      if (n % 10 === 0 && !pending.has(`turnstile/${id}`)) pending.set(`turnstile/${id}`, { version, at: performance.now() });
    });
    polling = false;
    await Promise.race([poller, delay(60_000).then(() => pending.clear())]);
    if (readModelLags.length === 0) throw new Error('no read-model lag samples: is the projector stuck?');
    readModelLags.sort((a, b) => a - b);
    return [
      figure(`outbox lag p50, ${concurrency} in flight`, quantile('0.5'), 'ms'),
      figure(`outbox lag p99, ${concurrency} in flight`, quantile('0.99'), 'ms'),
      figure(`outbox lag p50 from transaction start (observer), ${concurrency} in flight`, percentile(outboxLags, 50, true), 'ms'),
      figure(`outbox lag p99 from transaction start (observer), ${concurrency} in flight`, percentile(outboxLags, 99, true), 'ms'),
      figure(`outbox lag max from transaction start (observer), ${concurrency} in flight`, outboxLags.at(-1)!, 'ms'),
      figure('outbox lag observer samples (every event)', outboxLags.length, 'events'),
      figure(`commands/s during the outbox lag run, ${concurrency} in flight`, outbox.rate, 'cmd/s'),
      figure(`commit-to-read-model lag p50, ${concurrency} in flight`, percentile(readModelLags, 50, true), 'ms'),
      figure(`commit-to-read-model lag p99, ${concurrency} in flight`, percentile(readModelLags, 99, true), 'ms'),
      figure(`commands/s with the projector running, ${concurrency} in flight`, withProjector.rate, 'cmd/s'),
      figure('lag runs replies not ok', outbox.notOk + withProjector.notOk, 'count'),
    ];
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}

/** Target line (reported, never asserted): outbox lag p99 ≤ 100 ms at full load. */
export function outboxLagTargetLines(figures: readonly Figure[], inFlight = 256): string[] {
  const p99 = figures.find((f) => f.name === `outbox lag p99, ${inFlight} in flight`);
  return p99 === undefined
    ? []
    : [`target outbox lag p99 ≤ 100 ms at ${inFlight} in flight: ${p99.value} ms — ${p99.value <= 100 ? 'met' : 'NOT met'}`];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = parseBenchArgs();
  const concurrency = Number(stringArg('concurrency') ?? 256);
  const figures = await runOutboxLagBench({
    seconds: args.quick ? 3 : Math.max(args.seconds, 10),
    concurrency,
    log: (l) => console.error(l),
  });
  reportAll(figures, `outbox lag — ${concurrency} in flight`);
  for (const line of outboxLagTargetLines(figures, concurrency)) console.log(line);
}
