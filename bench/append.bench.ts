/**
 * Append throughput of the Postgres event store against raw INSERT baselines: single-row for
 * `store.append`, multi-row (the same rows as the batch, into a copy of the events table without
 * triggers) for `store.appendBatch`.
 * Run: node --conditions=source --import tsx bench/append.bench.ts [--seconds N] [--repeats N]
 * Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) to create and drop a scratch database.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { createPostgresEventStore } from '@ratchet/event-store-postgres';
import type { AppendRequest, PostgresEventStore } from '@ratchet/event-store-postgres';
import pg from 'pg';

/** Options of {@link runAppendBench}. */
export interface AppendBenchOptions {
  /** Server to create the scratch database on. Default DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres. */
  readonly databaseUrl?: string;
  /** Duration of each measurement in seconds. Default 5. */
  readonly seconds?: number;
  /** Measurements per figure; the median is reported. Default 3. */
  readonly repeats?: number;
  /** 'batch': only appendBatch and its multi-row baseline. Default: every figure. */
  readonly only?: 'batch';
  /** Where progress lines go. Default: nowhere. */
  readonly log?: (line: string) => void;
}

/** One reported figure: the median throughput and its ratio to the raw INSERT baseline at the same concurrency. */
export interface BenchFigure {
  readonly name: string;
  readonly value: number;
  readonly unit: 'events/s';
  /** Name of the baseline figure, null for a baseline itself. */
  readonly baseline: string | null;
  /** value / baseline value, null for a baseline itself. */
  readonly ratio: number | null;
}

interface Workload {
  readonly name: string;
  readonly inFlight: number;
  readonly baseline: string | null;
  /** One operation; resolves the number of events (rows) it committed. */
  readonly make: (worker: number) => () => Promise<number>;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Run `inFlight` loops of `op` for `ms`; events per second. */
async function measure(workload: Workload, ms: number): Promise<number> {
  const ops = Array.from({ length: workload.inFlight }, (_, w) => workload.make(w));
  let events = 0;
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    ops.map(async (op) => {
      while (performance.now() < end) {
        // Not `events += await op()`: that reads `events` before the await and loses other loops' counts.
        const n = await op();
        events += n;
      }
    }),
  );
  return events / ((performance.now() - start) / 1000);
}

/** Measure raw INSERT, store.append and store.appendBatch throughput; returns one figure per workload. */
export async function runAppendBench(options: AppendBenchOptions = {}): Promise<BenchFigure[]> {
  const serverUrl = options.databaseUrl ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const seconds = options.seconds ?? 5;
  const repeats = options.repeats ?? 3;
  const log = options.log ?? ((): void => undefined);
  const dbName = `bench_append_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${dbName}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 16 });
  pool.on('error', () => undefined);
  let store: PostgresEventStore | undefined;
  try {
    store = createPostgresEventStore({ pool });
    await store.migrate();
    await pool.query(
      'CREATE TABLE raw_insert (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, stream_id text NOT NULL, data jsonb NOT NULL)',
    );
    // Same columns, defaults, keys and indexes as the events table (no triggers, no dedupe, no streams).
    await pool.query('CREATE TABLE raw_events (LIKE ratchet.events INCLUDING ALL)');
    const s = store;
    const run = randomUUID().slice(0, 8);

    const raw = (inFlight: number): Workload => ({
      name: `raw insert, 1 row/tx, ${inFlight} in flight`,
      inFlight,
      baseline: null,
      make: (w) => async () => {
        await pool.query('INSERT INTO raw_insert (stream_id, data) VALUES ($1, $2)', [`raw-${w}`, '{"n":1}']);
        return 1;
      },
    });
    const rawBatch = (inFlight: number, size: number): Workload => ({
      name: `raw insert, ${size} rows/tx, ${inFlight} in flight`,
      inFlight,
      baseline: null,
      make: (w) => {
        // The rows appendBatch writes: one event per stream, next version, one multi-row INSERT per tx.
        const streams = Array.from({ length: size }, (_, i) => `rawb-${inFlight}-${w}-${i}-${randomUUID()}`);
        let version = 0;
        return async () => {
          version++;
          const v = version;
          await pool.query(
            `INSERT INTO raw_events (stream_id, version, type, schema_version, data, metadata)
             SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::int[], $5::jsonb[], $6::jsonb[])`,
            [
              streams,
              streams.map(() => v),
              streams.map(() => 'ticked'),
              streams.map(() => 1),
              streams.map(() => `{"n":${v - 1}}`),
              streams.map(() => `{"commandId":"${randomUUID()}"}`),
            ],
          );
          return size;
        };
      },
    });
    const append = (inFlight: number): Workload => ({
      name: `store.append, 1 event/tx, ${inFlight} in flight`,
      inFlight,
      baseline: `raw insert, 1 row/tx, ${inFlight} in flight`,
      make: (w) => {
        // Each loop owns a stream and appends at its exact version, with a command id (the production path).
        const streamId = `append-${inFlight}-${w}-${run}-${randomUUID()}`;
        let version = 0;
        return async () => {
          const r = await s.append(streamId, version, [{ type: 'ticked', data: { n: version } }], { commandId: randomUUID() });
          version = r.version;
          return 1;
        };
      },
    });
    const batch = (inFlight: number, size: number): Workload => ({
      name: `store.appendBatch, ${size} appends/tx, ${inFlight} in flight`,
      inFlight,
      baseline: `raw insert, ${size} rows/tx, ${inFlight} in flight`,
      make: (w) => {
        const streams = Array.from({ length: size }, (_, i) => ({ id: `batch-${inFlight}-${w}-${i}-${randomUUID()}`, version: 0 }));
        return async () => {
          const requests: AppendRequest[] = streams.map((st) => ({
            streamId: st.id,
            expectedVersion: st.version,
            events: [{ type: 'ticked', data: { n: st.version } }],
            commandId: randomUUID(),
          }));
          const outcomes = await s.appendBatch(requests);
          let n = 0;
          outcomes.forEach((o, i) => {
            if (!o.ok) throw o.error;
            streams[i]!.version = o.result.version;
            n += o.result.events.length;
          });
          return n;
        };
      },
    });

    const all = [raw(1), raw(4), raw(16), append(1), append(16), rawBatch(1, 100), rawBatch(4, 100), batch(1, 100), batch(4, 100)];
    // --only batch: just the group-commit figures and their multi-row baselines.
    const workloads = options.only === 'batch' ? all.filter((w) => w.name.includes('rows/tx') || w.name.includes('appends/tx')) : all;
    const samples = new Map<string, number[]>(workloads.map((w) => [w.name, []]));
    for (const w of workloads) await measure(w, Math.min(1000, seconds * 200)); // warm-up
    // Rounds interleave the workloads so drift on a shared machine hits every figure alike.
    for (let r = 1; r <= repeats; r++) {
      for (const w of workloads) {
        const value = await measure(w, seconds * 1000);
        samples.get(w.name)!.push(value);
        log(`round ${r}/${repeats}  ${w.name.padEnd(44)} ${value.toFixed(0).padStart(8)} events/s`);
      }
    }
    const medians = new Map(workloads.map((w) => [w.name, median(samples.get(w.name)!)]));
    return workloads.map((w) => {
      const value = medians.get(w.name)!;
      const base = w.baseline === null ? undefined : medians.get(w.baseline);
      return {
        name: w.name,
        value: Math.round(value),
        unit: 'events/s',
        baseline: w.baseline,
        ratio: base === undefined ? null : Number((value / base).toFixed(2)),
      };
    });
  } finally {
    await store?.close();
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

function arg(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return undefined;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const seconds = arg('seconds') ?? 5;
  const repeats = arg('repeats') ?? 3;
  const only = process.argv.includes('--batch-only') ? ('batch' as const) : undefined;
  const figures = await runAppendBench({ seconds, repeats, ...(only === undefined ? {} : { only }), log: (line) => console.error(line) });
  console.log(`\nmedian of ${repeats} × ${seconds}s`);
  for (const f of figures) {
    console.log(
      `${f.name.padEnd(44)} ${String(f.value).padStart(8)} ${f.unit}${f.ratio === null ? '' : `   ×${f.ratio} vs raw at same concurrency`}`,
    );
  }
  for (const f of figures) console.log(JSON.stringify(f));
}
