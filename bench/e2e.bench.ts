/**
 * End-to-end commands/s and p50/p99 latency: client → NATS → worker process → group commit in
 * Postgres → reply, beside two baselines measured in the same run at the same concurrencies:
 * raw NATS request/reply echo, and a bare request → group-commit INSERT → reply responder.
 * Closed loop: N lanes, each sends its next command when the previous one is answered.
 * Run: node --conditions=source --import tsx bench/e2e.bench.ts [--seconds N] [--repeats N] [--quick]
 *      [--concurrency 1,16,256] [--paths echo,bare,e2e] [--profile DIR] [--worker-env RELAY_ENABLED=false,…]
 * Starts a private nats-server; uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
 * to create and drop a scratch database.
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { connectClient, type RatchetClient } from '@ratchet/client';
import { startNatsServer, startServiceProcess, type NatsServerHandle, type ServiceProcess } from '@ratchet/launchers';
import { Turnstile } from '@ratchet/turnstile';
import pg from 'pg';
import { closedLoop, commandType, type LoopMeasurement, type Send } from './closed-loop.js';
import { createScratchDatabase, type ScratchDatabase } from './scratch-database.js';
import { elapsedMs, figure, median, parseBenchArgs, reportAll, stringArg, summarizeLatencies, type Figure } from './stats.js';

/** The paths measured: two baselines over NATS, a raw Postgres insert from this process, and Ratchet. */
export type E2ePath = 'echo' | 'insert' | 'bare' | 'e2e';

/** Options of {@link runE2eBench}. */
export interface E2eBenchOptions {
  /** Duration of each measurement in seconds. Default 3. */
  readonly seconds?: number;
  /** Measurements per figure; the median is reported. Default 3. */
  readonly repeats?: number;
  /** Commands in flight (closed-loop lanes) per measurement. Default [1, 16, 256]. */
  readonly concurrencies?: readonly number[];
  /** Which paths to measure. Default all four. */
  readonly paths?: readonly E2ePath[];
  /** Turnstiles the load is spread over (installed during warm-up). Default 2,000. */
  readonly turnstiles?: number;
  /** Write a V8 CPU profile of the worker process into this directory (on its exit). Default: none. */
  readonly profileDir?: string;
  /** Extra environment for the worker process (e.g. GROUP_COMMIT_CONCURRENCY). */
  readonly workerEnv?: Readonly<Record<string, string>>;
  /** Where progress lines go. Default: nowhere. */
  readonly log?: (line: string) => void;
}

interface Measurement extends LoopMeasurement {
  /** Worker-side, from its /metrics (e2e only): mean group-commit batch size and transaction time, relay rate. */
  readonly batchSize?: number;
  readonly commitMs?: number;
  readonly publishedPerSecond?: number;
}

/** Counters read from the worker's Prometheus /metrics. */
interface WorkerCounters {
  readonly batches: number;
  readonly batchedCommands: number;
  readonly commitSeconds: number;
  readonly published: number;
}

async function readWorkerCounters(httpPort: number): Promise<WorkerCounters> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const value = (metric: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${metric} `) || l.startsWith(`${metric}{`));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  return {
    batches: value('ratchet_group_commit_batch_size_count'),
    batchedCommands: value('ratchet_group_commit_batch_size_sum'),
    commitSeconds: value('ratchet_group_commit_seconds_sum'),
    published: value('ratchet_outbox_published_total'),
  };
}

const encoder = new TextEncoder();
const turnstileId = (t: number): string => `bench-${t}`;

/** The request body the client sends, so the baselines carry the same bytes. */
function requestBody(t: number, step: number): Uint8Array {
  return encoder.encode(JSON.stringify({ id: turnstileId(t), command: { type: commandType(step), payload: {} }, commandId: randomUUID() }));
}

const LABEL: Record<E2ePath, string> = {
  echo: 'nats echo',
  insert: 'postgres insert',
  bare: 'bare group commit',
  e2e: 'e2e turnstile',
};

/** Measure the three paths at each concurrency, interleaved per round; figures are medians over rounds. */
export async function runE2eBench(options: E2eBenchOptions = {}): Promise<Figure[]> {
  const seconds = options.seconds ?? 3;
  const repeats = options.repeats ?? 3;
  const concurrencies = options.concurrencies ?? [1, 16, 256];
  const paths = options.paths ?? ['echo', 'insert', 'bare', 'e2e'];
  const turnstiles = options.turnstiles ?? 2_000;
  const log = options.log ?? ((): void => undefined);
  const ms = seconds * 1000;

  let nats: NatsServerHandle | undefined;
  let db: ScratchDatabase | undefined;
  const processes: ServiceProcess[] = [];
  let nc: NatsConnection | undefined;
  let client: RatchetClient | undefined;
  let httpPort: number | undefined;
  let insertPool: pg.Pool | undefined;
  try {
    nats = await startNatsServer();
    db = await createScratchDatabase('e2e');
    const sends = new Map<E2ePath, Send>();
    nc = await connect({ servers: nats.url, name: 'bench-driver' });
    const conn = nc;
    if (paths.includes('echo')) {
      processes.push(
        await startServiceProcess({
          entry: 'bench/responders/echo-responder.ts',
          env: { NATS_URL: nats.url },
          readyMessage: 'responder ready',
        }),
      );
      sends.set('echo', async (t, step) => {
        await conn.request(`bench.echo.${t % 64}`, requestBody(t, step), { timeout: 10_000 });
        return true;
      });
    }
    if (paths.includes('insert')) {
      // One row per transaction (autocommit), the same bytes as an event's data: what one commit costs.
      const pool = (insertPool = new pg.Pool({ connectionString: db.url, max: 32 }));
      await pool.query('CREATE TABLE bench_insert (id bigserial PRIMARY KEY, stream_id text NOT NULL, data jsonb NOT NULL)');
      sends.set('insert', async (t) => {
        await pool.query('INSERT INTO bench_insert (stream_id, data) VALUES ($1, $2)', [turnstileId(t), '{"type":"coinInserted"}']);
        return true;
      });
    }
    if (paths.includes('bare')) {
      processes.push(
        await startServiceProcess({
          entry: 'bench/responders/group-commit-responder.ts',
          env: { NATS_URL: nats.url, DATABASE_URL: db.url },
          readyMessage: 'responder ready',
        }),
      );
      sends.set('bare', async (t, step) => {
        const reply = await conn.request(`bench.gc.${t % 64}`, requestBody(t, step), { timeout: 10_000 });
        return (JSON.parse(new TextDecoder().decode(reply.data)) as { status: string }).status === 'ok';
      });
    }
    if (paths.includes('e2e')) {
      const worker = await startServiceProcess({
        entry: 'services/worker/src/main.ts',
        // LOG_LEVEL=info, not warn: the worker logs "worker ready" at info, so warn would hide the line we wait for.
        // CLUSTER_MODE=static: one worker owning every partition from the start (ignored by workers without the setting).
        env: { NATS_URL: nats.url, DATABASE_URL: db.url, HTTP_PORT: '0', LOG_LEVEL: 'info', CLUSTER_MODE: 'static', ...options.workerEnv },
        nodeArgs: options.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`],
        readyMessage: 'worker ready',
      });
      processes.push(worker);
      log(`worker pid ${worker.pid} ready`);
      httpPort = Number(worker.ready.httpPort);
      client = await connectClient({ servers: nats.url, timeoutMs: 10_000, attemptTimeoutMs: 10_000 });
      const c = client;
      // "worker ready" may precede owning partitions (membership mode): wait until a command is answered.
      const readyBy = Date.now() + 60_000;
      for (;;) {
        const probe = await c.send(Turnstile, 'bench-probe', { type: 'insertCoin', payload: {} }, { timeoutMs: 2_000 });
        if (probe.status !== 'error') break;
        if (Date.now() > readyBy) throw new Error(`the worker answers no command: ${JSON.stringify(probe)}`);
        log(`worker not answering yet: ${probe.error.code}`);
      }
      // Install every turnstile first (this also activates its actor in the worker).
      let next = 0;
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          for (let t = next++; t < turnstiles; t = next++) {
            const r = await c.send(Turnstile, turnstileId(t), { type: 'install', payload: {} });
            if (r.status !== 'ok') throw new Error(`install of ${turnstileId(t)} failed: ${JSON.stringify(r)}`);
          }
        }),
      );
      sends.set('e2e', async (t, step) => {
        const r = await c.send(Turnstile, turnstileId(t), { type: commandType(step), payload: {} });
        return r.status === 'ok';
      });
    }

    for (const p of paths) await closedLoop(sends.get(p)!, 16, turnstiles, Math.min(1_000, ms)); // warm-up
    const samples = new Map<string, Measurement[]>();
    const hotSamples: Array<{ hot: LoopMeasurement; spread: LoopMeasurement }> = [];
    for (let r = 1; r <= repeats; r++) {
      for (const c of concurrencies) {
        // Interleave the paths so drift on a shared machine hits every figure alike.
        for (const p of paths) {
          const before = p === 'e2e' && httpPort !== undefined ? await readWorkerCounters(httpPort) : undefined;
          const started = process.hrtime.bigint();
          let m: Measurement = await closedLoop(sends.get(p)!, c, turnstiles, ms);
          if (before !== undefined && httpPort !== undefined) {
            const after = await readWorkerCounters(httpPort);
            const batches = after.batches - before.batches;
            m = {
              ...m,
              batchSize: batches === 0 ? 0 : (after.batchedCommands - before.batchedCommands) / batches,
              commitMs: batches === 0 ? 0 : ((after.commitSeconds - before.commitSeconds) * 1000) / batches,
              publishedPerSecond: (after.published - before.published) / (elapsedMs(started) / 1000),
            };
          }
          const key = `${p}@${c}`;
          samples.set(key, [...(samples.get(key) ?? []), m]);
          log(
            `round ${r}/${repeats}  ${LABEL[p].padEnd(18)} ${String(c).padStart(3)} in flight  ${m.rate.toFixed(0).padStart(6)} cmd/s  p50 ${m.p50.toFixed(2)} ms  p99 ${m.p99.toFixed(2)} ms${m.batchSize === undefined ? '' : `  batch ${m.batchSize.toFixed(1)}, commit ${m.commitMs!.toFixed(1)} ms, relay ${m.publishedPerSecond!.toFixed(0)} ev/s`}${m.failures > 0 ? `  ${m.failures} not ok` : ''}`,
          );
        }
      }
    }

    // One hot aggregate: 64 clients on one turnstile, against 64 clients on a turnstile each, same worker.
    const e2eSend = sends.get('e2e');
    if (e2eSend !== undefined) {
      for (let r = 1; r <= repeats; r++) {
        const hot = await hotLoop(e2eSend, HOT_CLIENTS, ms);
        const spread = await closedLoop(e2eSend, HOT_CLIENTS, HOT_CLIENTS, ms);
        hotSamples.push({ hot, spread });
        log(
          `round ${r}/${repeats}  hot aggregate (${HOT_CLIENTS} clients on 1) ${hot.rate.toFixed(0)} cmd/s p99 ${hot.p99.toFixed(2)} ms; spread (${HOT_CLIENTS} on ${HOT_CLIENTS}) ${spread.rate.toFixed(0)} cmd/s p99 ${spread.p99.toFixed(2)} ms`,
        );
      }
    }

    const figures: Figure[] = [];
    if (hotSamples.length > 0) {
      const med = (f: (s: { hot: LoopMeasurement; spread: LoopMeasurement }) => number): number => median(hotSamples.map(f));
      const spreadRate = med((s) => s.spread.rate);
      const spreadP99 = med((s) => s.spread.p99);
      const spreadName = `spread: ${HOT_CLIENTS} clients on ${HOT_CLIENTS} turnstiles`;
      figures.push(
        figure(`${spreadName} cmd/s`, spreadRate, 'cmd/s'),
        figure(`${spreadName} p99`, spreadP99, 'ms'),
        figure(
          `hot: ${HOT_CLIENTS} clients on 1 turnstile cmd/s`,
          med((s) => s.hot.rate),
          'cmd/s',
          `${spreadName} cmd/s`,
          med((s) => s.hot.rate) / spreadRate,
        ),
        figure(
          `hot: ${HOT_CLIENTS} clients on 1 turnstile p99`,
          med((s) => s.hot.p99),
          'ms',
          `${spreadName} p99`,
          med((s) => s.hot.p99) / spreadP99,
        ),
      );
    }
    let failures = hotSamples.reduce((n, s) => n + s.hot.failures + s.spread.failures, 0);
    for (const c of concurrencies) {
      const med = (p: E2ePath): Measurement | undefined => {
        const list = samples.get(`${p}@${c}`);
        if (list === undefined) return undefined;
        failures += p === 'e2e' ? list.reduce((n, m) => n + m.failures, 0) : 0;
        const opt = (f: (m: Measurement) => number | undefined): number | undefined =>
          list.every((m) => f(m) !== undefined) ? median(list.map((m) => f(m)!)) : undefined;
        return {
          rate: median(list.map((m) => m.rate)),
          p50: median(list.map((m) => m.p50)),
          p99: median(list.map((m) => m.p99)),
          failures: 0,
          batchSize: opt((m) => m.batchSize),
          commitMs: opt((m) => m.commitMs),
          publishedPerSecond: opt((m) => m.publishedPerSecond),
        };
      };
      const echo = med('echo');
      const bare = med('bare');
      const e2e = med('e2e');
      const name = (p: E2ePath, what: string): string => `${LABEL[p]} ${what}, ${c} in flight`;
      const insert = med('insert');
      for (const [p, m] of [
        ['echo', echo],
        ['insert', insert],
        ['bare', bare],
      ] as const) {
        if (m === undefined) continue;
        figures.push(figure(name(p, 'cmd/s'), m.rate, 'cmd/s'), figure(name(p, 'p50'), m.p50, 'ms'), figure(name(p, 'p99'), m.p99, 'ms'));
      }
      if (e2e !== undefined) {
        const vs = (base: Measurement | undefined, p: E2ePath, what: 'cmd/s' | 'p50' | 'p99', value: number): Figure =>
          base === undefined
            ? figure(name('e2e', what), value, what === 'cmd/s' ? 'cmd/s' : 'ms')
            : figure(
                name('e2e', what) + (p === 'echo' ? ' vs echo' : ''),
                value,
                what === 'cmd/s' ? 'cmd/s' : 'ms',
                name(p, what),
                value / (what === 'cmd/s' ? base.rate : what === 'p50' ? base.p50 : base.p99),
              );
        figures.push(vs(bare, 'bare', 'cmd/s', e2e.rate), vs(bare, 'bare', 'p50', e2e.p50), vs(bare, 'bare', 'p99', e2e.p99));
        if (echo !== undefined) figures.push(vs(echo, 'echo', 'cmd/s', e2e.rate), vs(echo, 'echo', 'p99', e2e.p99));
        if (e2e.batchSize !== undefined)
          figures.push(figure(`e2e worker mean group-commit batch, ${c} in flight`, e2e.batchSize, 'commands'));
        if (e2e.commitMs !== undefined) figures.push(figure(`e2e worker mean append_batch time, ${c} in flight`, e2e.commitMs, 'ms'));
        if (e2e.publishedPerSecond !== undefined)
          figures.push(figure(`e2e worker outbox relay rate, ${c} in flight`, e2e.publishedPerSecond, 'events/s'));
      }
    }
    if (paths.includes('e2e')) figures.push(figure('e2e turnstile replies not ok (all rounds)', failures, 'count'));
    return figures;
  } finally {
    await client?.close().catch(() => undefined);
    await nc?.close().catch(() => undefined);
    await insertPool?.end().catch(() => undefined);
    // Stop the worker first (SIGTERM drains; a CPU profile is written on its exit), then the responders.
    for (const p of processes.reverse()) await p.stop(30_000).catch(() => undefined);
    await nats?.stop().catch(() => undefined);
    await db?.drop().catch(() => undefined);
  }
}

/** Clients of the hot-aggregate measurement. */
const HOT_CLIENTS = 64;

/** `lanes` closed loops all sending to turnstile 0: one hot aggregate. */
async function hotLoop(send: Send, lanes: number, ms: number): Promise<LoopMeasurement> {
  const latencies: number[] = [];
  let failures = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let k = 0; elapsedMs(start) < ms; k++) {
        const began = process.hrtime.bigint();
        if (!(await send(0, lane + k))) failures += 1;
        latencies.push(elapsedMs(began));
      }
    }),
  );
  const { p50, p99 } = summarizeLatencies(latencies);
  return { rate: latencies.length / (elapsedMs(start) / 1000), p50, p99, failures };
}

/**
 * The issue's targets (reported, never asserted): at `inFlight` (256), e2e ≥ 0.6 × bare group-commit
 * throughput, ≥ 0.4 × NATS echo throughput, p99 ≤ 2 × bare p99; at 1 in flight, e2e p50 ≤ NATS echo
 * p50 + Postgres one-row insert p50 + 0.3 ms.
 */
export function targetLines(figures: readonly Figure[], inFlight = 256): string[] {
  const get = (n: string): Figure | undefined => figures.find((f) => f.name === n);
  const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
  const lines: string[] = [];
  const rate = get(`e2e turnstile cmd/s, ${inFlight} in flight`);
  if (rate?.ratio != null)
    lines.push(`target e2e ≥ 0.6 × bare throughput at ${inFlight} in flight: ×${rate.ratio} — ${verdict(rate.ratio >= 0.6)}`);
  const vsEcho = get(`e2e turnstile cmd/s, ${inFlight} in flight vs echo`);
  if (vsEcho?.ratio != null)
    lines.push(`target e2e ≥ 0.4 × NATS echo throughput at ${inFlight} in flight: ×${vsEcho.ratio} — ${verdict(vsEcho.ratio >= 0.4)}`);
  const p99 = get(`e2e turnstile p99, ${inFlight} in flight`);
  if (p99?.ratio != null) lines.push(`target e2e p99 ≤ 2 × bare p99 at ${inFlight} in flight: ×${p99.ratio} — ${verdict(p99.ratio <= 2)}`);
  const hot = get(`hot: ${HOT_CLIENTS} clients on 1 turnstile cmd/s`);
  if (hot?.ratio != null)
    lines.push(`target hot aggregate ≥ 0.8 × spread throughput (${HOT_CLIENTS} clients): ×${hot.ratio} — ${verdict(hot.ratio >= 0.8)}`);
  const hotP99 = get(`hot: ${HOT_CLIENTS} clients on 1 turnstile p99`);
  if (hotP99?.ratio != null) lines.push(`target hot aggregate p99 ≤ 2 × spread p99: ×${hotP99.ratio} — ${verdict(hotP99.ratio <= 2)}`);
  const p50 = get('e2e turnstile p50, 1 in flight');
  const echo = get('nats echo p50, 1 in flight');
  const insert = get('postgres insert p50, 1 in flight');
  if (p50 !== undefined && echo !== undefined && insert !== undefined) {
    const bound = echo.value + insert.value + 0.3;
    lines.push(
      `target e2e p50 at 1 in flight ≤ echo p50 + insert p50 + 0.3 ms = ${bound.toFixed(2)} ms: ${p50.value} ms — ${verdict(p50.value <= bound)}`,
    );
  }
  return lines;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = parseBenchArgs();
  const concurrency = stringArg('concurrency');
  const pathArg = stringArg('paths');
  const figures = await runE2eBench({
    seconds: args.seconds,
    repeats: args.repeats,
    ...(concurrency === undefined ? {} : { concurrencies: concurrency.split(',').map(Number) }),
    ...(pathArg === undefined ? {} : { paths: pathArg.split(',') as E2ePath[] }),
    ...(stringArg('profile') === undefined ? {} : { profileDir: stringArg('profile')! }),
    ...(stringArg('worker-env') === undefined
      ? {}
      : {
          workerEnv: Object.fromEntries(
            stringArg('worker-env')!
              .split(',')
              .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
          ),
        }),
    log: (line) => console.error(line),
  });
  reportAll(figures, `e2e — median of ${args.repeats} × ${args.seconds}s`);
  for (const line of targetLines(figures)) console.log(line);
}
