/**
 * Memory of resident turnstiles in one worker, in its two in-memory forms: live actors (the worker's
 * `ActorCache` of `AggregateActor`s, each holding an XState snapshot) and passivated entries (the
 * `PassivatedCache`, each a compact persisted form). Every state is a real one, produced by
 * `Turnstile.replay` of a short varied history. Each form is built in its own child process, so the
 * RSS figures are clean: RSS and heap are read once repeated `gc()` calls have settled them, against a
 * child that loads the same code and builds nothing (the baseline); the peak RSS while building is
 * reported too, since a worker filling up passes through it.
 * Goal (from the performance issue): ≥ 1,000,000 resident turnstiles in one worker within 4 GB RSS.
 * Run: node --conditions=source --import tsx bench/memory.bench.ts [--quick] [--aggregates N] [--worker [--worker-aggregates N]]
 * `--quick` builds 100,000 per form and reports per-aggregate bytes with a projection to 1,000,000
 * (labelled as projected); the default builds 1,000,000. `--worker` adds a cross-check through a real
 * worker process (services/worker over NATS, needs DATABASE_URL's server and nats-server on PATH).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { StoredEventInput } from '@ratchet/core';
import { partitionOf, streamIdOf } from '@ratchet/transport-nats';
import { Turnstile } from '@ratchet/turnstile';
import { ActorCache, AggregateActor, PassivatedCache } from '@ratchet/worker';
import { elapsedMs, figure, parseBenchArgs, reportAll, stringArg, type Figure } from './stats.js';
import { turnstileEvents } from './replay.bench.js';

/** Options of {@link runMemoryBench}. */
export interface MemoryBenchOptions {
  /** Aggregates per form. Default 1,000,000 (100,000 with `quick`). */
  readonly aggregates?: number;
  /** 100,000 aggregates (also built at half that), RSS at `projectTo` projected from the difference. Default false. */
  readonly quick?: boolean;
  /** The count the projection is made for. Default 1,000,000. */
  readonly projectTo?: number;
  /** Heap limit of each child (MB). Default: enough for the count (≈ 2.5 KB per aggregate + 512 MB). */
  readonly maxOldSpaceMb?: number;
  /** Also cross-check through a real worker process with this many turnstiles (0 = skip). Default 0. */
  readonly workerAggregates?: number;
  /** Where progress lines go. Default: nowhere. */
  readonly log?: (line: string) => void;
}

/** What a child measured, printed as one JSON line on its stdout. */
interface ChildResult {
  readonly form: Form;
  readonly count: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  /** Highest RSS of the child's life (bytes), reached while building. */
  readonly peakRss: number;
  readonly buildMs: number;
}

type Form = 'empty' | 'live' | 'passivated';

const MB = 1024 * 1024;
const PARTITIONS = 64;
const RESULT_PREFIX = 'MEMORY-RESULT ';
const thisFile = fileURLToPath(import.meta.url);
const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/**
 * Turnstile `i`'s history: installed, then 0–4 coins and pushes in an order drawn from `i`, so the
 * states differ (locked or unlocked, different counters) the way a fleet's would after a little use.
 */
export function historyOf(i: number): StoredEventInput[] {
  const bits = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  return turnstileEvents(Array.from({ length: bits % 5 }, (_, k) => ((bits >>> (3 + k)) & 1) === 1));
}

/** Ids as a client sends them and stream ids as the worker derives them (`streamIdOf`). */
function idOf(i: number): string {
  return `ts-${i.toString(36).padStart(5, '0')}`;
}

/**
 * Memory once the heap has settled: full collections, each followed by a pause (V8 sweeps, compacts
 * and returns pages to the OS partly in the background), until RSS stops falling. At 1,000,000
 * aggregates, RSS after a single `gc()` was about a third higher: the build leaves fragmented pages.
 */
async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run the child with --expose-gc');
  let last = Number.POSITIVE_INFINITY;
  let steady = 0;
  for (let round = 0; round < 20 && steady < 2; round += 1) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 250));
    const rss = process.memoryUsage().rss;
    steady = rss > last * 0.995 ? steady + 1 : 0;
    last = Math.min(last, rss);
  }
  gc();
  return process.memoryUsage();
}

/** The child: build `count` aggregates in one form, then measure. */
async function child(form: Form, count: number): Promise<void> {
  const progress = (built: number, started: bigint): void => {
    const seconds = (elapsedMs(started) / 1000).toFixed(1);
    console.error(`  ${form}: ${built.toLocaleString('en')} built, ${seconds} s, RSS ${(process.memoryUsage().rss / MB).toFixed(0)} MB`);
  };
  // The same warm-up in every child (the baseline too), so compiled code is in the baseline.
  const warm = new PassivatedCache({ maxEntries: 100 });
  for (let i = 0; i < 100; i += 1) {
    const state = Turnstile.replay(historyOf(i));
    const streamId = streamIdOf(Turnstile.type, idOf(i));
    warm.put(streamId, partitionOf(idOf(i), PARTITIONS), {
      version: state.version,
      snapshotVersion: 0,
      state: Turnstile.runtime.persist(state),
    });
    if (warm.take(streamId) === undefined) throw new Error('warm-up entry lost');
    new ActorCache().get(streamId, () => new AggregateActor(Turnstile, idOf(i), streamId, 0)).state = state;
  }

  const started = process.hrtime.bigint();
  let held: ActorCache | PassivatedCache | undefined;
  if (form === 'live') {
    // The worker's own structures, filled the way #onCommand and #execute fill them.
    const cache = new ActorCache({ maxResident: count, idleTimeoutMs: Number.MAX_SAFE_INTEGER });
    for (let i = 0; i < count; i += 1) {
      const id = idOf(i);
      const streamId = streamIdOf(Turnstile.type, id);
      const actor = cache.get(streamId, () => new AggregateActor(Turnstile, id, streamId, partitionOf(id, PARTITIONS)));
      actor.state = Turnstile.replay(historyOf(i));
      if ((i + 1) % 100_000 === 0) progress(i + 1, started);
    }
    if (cache.size !== count) throw new Error(`${cache.size} live actors, expected ${count}`);
    held = cache;
  } else if (form === 'passivated') {
    // As the worker's onPassivate fills the tier: persist the actor's state, keep it under its stream id.
    const tier = new PassivatedCache({ maxEntries: count });
    for (let i = 0; i < count; i += 1) {
      const id = idOf(i);
      const state = Turnstile.replay(historyOf(i));
      tier.put(streamIdOf(Turnstile.type, id), partitionOf(id, PARTITIONS), {
        version: state.version,
        snapshotVersion: 0,
        state: Turnstile.runtime.persist(state),
      });
      if ((i + 1) % 100_000 === 0) progress(i + 1, started);
    }
    if (tier.size !== count) throw new Error(`${tier.size} passivated entries, expected ${count}`);
    held = tier;
  }
  const buildMs = elapsedMs(started);
  const memory = await settledMemory();

  // Still whole after the measurement (and kept reachable until here): spot-check a few states.
  for (const i of [0, 1, 2, 3, 4, count - 1].filter((n) => n >= 0 && n < count)) {
    const expected = Turnstile.replay(historyOf(i));
    const streamId = streamIdOf(Turnstile.type, idOf(i));
    let got: { value: unknown; context: unknown; version: number } | undefined;
    if (held instanceof ActorCache) {
      const state = held.get(streamId, () => new AggregateActor(Turnstile, idOf(i), streamId, 0)).state;
      got = state === undefined ? undefined : { ...Turnstile.runtime.persist(state), version: state.version };
    } else if (held instanceof PassivatedCache) {
      const entry = held.take(streamId);
      got = entry === undefined ? undefined : { ...entry.state, version: entry.version };
    }
    if (
      held !== undefined &&
      JSON.stringify(got) !== JSON.stringify({ ...Turnstile.runtime.persist(expected), version: expected.version })
    ) {
      throw new Error(`${form}: aggregate ${i} holds ${JSON.stringify(got)}, not its replayed state`);
    }
  }
  const result: ChildResult = {
    form,
    count: form === 'empty' ? 0 : count,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    heapTotal: memory.heapTotal,
    peakRss: process.resourceUsage().maxRSS * 1024,
    buildMs,
  };
  console.log(RESULT_PREFIX + JSON.stringify(result));
}

/** Run one child for `form` and return what it measured; its progress lines go to `log`. */
async function measureInChild(form: Form, count: number, maxOldSpaceMb: number, log: (line: string) => void): Promise<ChildResult> {
  const args = [
    '--conditions=source',
    '--import',
    'tsx',
    '--expose-gc',
    `--max-old-space-size=${maxOldSpaceMb}`,
    thisFile,
    '--child',
    form,
    String(count),
  ];
  const proc = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let result: ChildResult | undefined;
  const tail: string[] = [];
  createInterface({ input: proc.stdout }).on('line', (line) => {
    if (line.startsWith(RESULT_PREFIX)) result = JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildResult;
  });
  createInterface({ input: proc.stderr }).on('line', (line) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    if (line.startsWith('  ')) log(line);
  });
  const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
  if (code !== 0 || result === undefined) throw new Error(`memory child "${form}" failed (exit ${code}):\n${tail.join('\n')}`);
  return result;
}

/**
 * Build N live actors and N passivated entries (each in its own child, plus an empty child as the
 * baseline) and report RSS, heap and bytes per aggregate. With fewer than `projectTo` aggregates
 * (`quick`), each form is also built at N/2, and RSS at `projectTo` is projected from the marginal
 * bytes per aggregate between N/2 and N (which leaves out the heap's fixed overhead, large at 100k).
 */
export async function runMemoryBench(options: MemoryBenchOptions = {}): Promise<Figure[]> {
  const quick = options.quick ?? false;
  const count = options.aggregates ?? (quick ? 100_000 : 1_000_000);
  const projectTo = options.projectTo ?? 1_000_000;
  const project = count < projectTo;
  const log = options.log ?? ((): void => undefined);
  const maxOldSpaceMb = options.maxOldSpaceMb ?? Math.ceil((count * 2_500) / MB) + 512;
  const n = count.toLocaleString('en');
  const half = Math.floor(count / 2);

  log('baseline: an empty child (same code loaded, nothing built)');
  const empty = await measureInChild('empty', count, maxOldSpaceMb, log);
  const forms: Array<{ label: string; countName: string; full: ChildResult; half: ChildResult | undefined }> = [];
  for (const [form, label, countName, what] of [
    ['live', 'live actors', 'resident live actors', 'actors in an ActorCache'],
    ['passivated', 'passivated', 'passivated entries', 'entries in a PassivatedCache'],
  ] as const) {
    let halfResult: ChildResult | undefined;
    if (project) {
      log(`${form}: ${half.toLocaleString('en')} ${what} (for the projection)`);
      halfResult = await measureInChild(form, half, maxOldSpaceMb, log);
    }
    log(`${form}: ${n} ${what}`);
    forms.push({ label, countName, full: await measureInChild(form, count, maxOldSpaceMb, log), half: halfResult });
  }

  const baselineName = 'baseline RSS (empty child)';
  const figures: Figure[] = [
    figure(baselineName, empty.rss / MB, 'MB'),
    figure('baseline heap used (empty child)', empty.heapUsed / MB, 'MB'),
  ];
  const perAggregate = new Map<string, number>();
  for (const { label, countName, full, half: h } of forms) {
    const per = (full.rss - empty.rss) / full.count;
    perAggregate.set(label, per);
    figures.push(
      figure(countName, full.count, 'aggregates'),
      figure(`${label} RSS`, full.rss / MB, 'MB', baselineName, full.rss / empty.rss),
      figure(`${label} heap used`, full.heapUsed / MB, 'MB'),
      figure(`${label} bytes per aggregate`, per, 'B'),
      figure(`${label} heap bytes per aggregate`, (full.heapUsed - empty.heapUsed) / full.count, 'B'),
      figure(`${label} peak RSS while building`, full.peakRss / MB, 'MB'),
      figure(`${label} time to build`, full.buildMs / 1000, 's'),
    );
    if (h !== undefined) {
      const marginal = (full.rss - h.rss) / (full.count - h.count);
      const at = projectTo.toLocaleString('en');
      figures.push(
        figure(`${label} marginal bytes per aggregate (${h.count.toLocaleString('en')} to ${n})`, marginal, 'B'),
        figure(`${label} RSS at ${at} (PROJECTED from ${n}, not measured)`, (full.rss + marginal * (projectTo - full.count)) / MB, 'MB'),
      );
    }
  }
  const live = perAggregate.get('live actors') ?? Number.NaN;
  const passivated = perAggregate.get('passivated') ?? Number.NaN;
  figures.push(
    figure('passivated / live bytes per aggregate', passivated / live, 'ratio', 'live actors bytes per aggregate', passivated / live),
  );

  if ((options.workerAggregates ?? 0) > 0) figures.push(...(await workerCrossCheck(options.workerAggregates ?? 0, log)));
  return figures;
}

/**
 * The same question asked of a real worker process (services/worker, static mode, no relay): install
 * `count` turnstiles through NATS with the client, then read /stats and the process RSS. The worker
 * runs with a preload that makes SIGUSR2 call `gc()`, so RSS is read after collections there too; its
 * growth over a warmed-up worker, per aggregate held, is a cross-check of the child figures.
 * For the passivated form the live limit is 100 (above the 32 commands in flight, so a finished actor
 * is what the LRU lets go, and the tier keeps it).
 */
async function workerCrossCheck(count: number, log: (line: string) => void): Promise<Figure[]> {
  const { connectClient } = await import('@ratchet/client');
  const { startNatsServer, startServiceProcess } = await import('@ratchet/launchers');
  const { createScratchDatabase } = await import('./scratch-database.js');
  const figures: Figure[] = [];
  const nats = await startNatsServer();
  const db = await createScratchDatabase('memory');
  const inFlight = 32;
  const warmUp = 500;
  try {
    for (const [label, env] of [
      ['live', { MAX_RESIDENT_ACTORS: String(count + warmUp + 1_000), MAX_PASSIVATED_ACTORS: '0' }],
      ['passivated', { MAX_RESIDENT_ACTORS: '100', MAX_PASSIVATED_ACTORS: String(count + warmUp + 1_000) }],
    ] as const) {
      const worker = await startServiceProcess({
        entry: 'services/worker/src/main.ts',
        nodeArgs: ['--expose-gc', '--import', 'data:text/javascript,process.on("SIGUSR2",()=>globalThis.gc())'],
        env: {
          NATS_URL: nats.url,
          DATABASE_URL: db.url,
          HTTP_PORT: '0',
          LOG_LEVEL: 'info',
          CLUSTER_MODE: 'static',
          RELAY_ENABLED: 'false',
          ...env,
        },
        readyMessage: 'worker ready',
      });
      const client = await connectClient({ servers: nats.url, timeoutMs: 30_000 });
      try {
        const port = Number(worker.ready.httpPort);
        const stats = async (): Promise<Record<string, number>> =>
          (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as Record<string, number>;
        const settledRss = async (): Promise<number> => {
          let last = Number.POSITIVE_INFINITY;
          for (let round = 0, steady = 0; round < 20 && steady < 2; round += 1) {
            process.kill(worker.pid, 'SIGUSR2');
            await new Promise((resolve) => setTimeout(resolve, 500));
            const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
            const rss = Number(
              text
                .split('\n')
                .find((l) => l.startsWith('process_resident_memory_bytes '))
                ?.split(' ')[1],
            );
            steady = rss > last * 0.995 ? steady + 1 : 0;
            last = Math.min(last, rss);
          }
          return last;
        };
        const install = async (prefix: string, n: number): Promise<number> => {
          const started = process.hrtime.bigint();
          let next = 0;
          const sender = async (): Promise<void> => {
            for (let i = next++; i < n; i = next++) {
              const r = await client.send(Turnstile, `${prefix}-${i}`, { type: 'install', payload: {} });
              if (r.status !== 'ok') throw new Error(`install ${prefix}-${i}: ${JSON.stringify(r)}`);
              if ((i + 1) % 5_000 === 0) log(`  worker ${label}: ${(i + 1).toLocaleString('en')} installed`);
            }
          };
          await Promise.all(Array.from({ length: inFlight }, sender));
          return elapsedMs(started) / 1000;
        };
        await install(`w${label[0]}`, warmUp);
        const before = await stats();
        const rss0 = await settledRss();
        const seconds = await install(`x${label[0]}`, count);
        const after = await stats();
        const rss1 = await settledRss();
        const key = label === 'live' ? 'residentActors' : 'passivatedActors';
        const held = (after[key] ?? 0) - (before[key] ?? 0);
        figures.push(
          figure(`worker ${label}: ${key} (/stats)`, after[key] ?? 0, 'aggregates'),
          figure(`worker ${label}: RSS after ${count.toLocaleString('en')} installs`, rss1 / MB, 'MB'),
          figure(`worker ${label}: RSS growth per aggregate held`, (rss1 - rss0) / Math.max(1, held), 'B'),
          figure(`worker ${label}: install rate (${inFlight} in flight)`, count / seconds, 'cmd/s'),
        );
      } finally {
        await client.close();
        await worker.stop(30_000);
      }
    }
  } finally {
    await db.drop();
    await nats.stop();
  }
  return figures;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const childAt = argv.indexOf('--child');
  if (childAt !== -1) {
    await child(argv[childAt + 1] as Form, Number(argv[childAt + 2]));
  } else {
    const args = parseBenchArgs();
    const aggregates = stringArg('aggregates');
    const workerAggregates = stringArg('worker-aggregates');
    const figures = await runMemoryBench({
      quick: args.quick,
      ...(aggregates === undefined ? {} : { aggregates: Number(aggregates) }),
      workerAggregates: argv.includes('--worker') ? Number(workerAggregates ?? 20_000) : 0,
      log: (line) => console.error(line),
    });
    const note = args.quick ? ' (--quick: the 1,000,000 figures are PROJECTED)' : '';
    reportAll(figures, `memory — resident turnstiles per form, RSS and heap settled after gc()${note}`);
  }
}
