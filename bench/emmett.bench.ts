/**
 * Peer benchmark: the e2e turnstile workload run through Emmett 0.42.0's PostgreSQL command handler
 * (@event-driven-io/emmett + @event-driven-io/emmett-postgresql, root dev dependencies of the benchmark only),
 * against the same Postgres, so bench/run.ts can set Ratchet's e2e commands/s beside it.
 *
 * Emmett is a library: the closed loop calls its command handler in this process, with no network hop
 * (Ratchet's e2e path goes client → NATS → worker → Postgres → reply). Each command is Emmett's idiomatic
 * path: read the whole stream, fold it with `evolve`, `decide`, append with the read version as the expected
 * version (optimistic concurrency; the append is one transaction). The read and the append use one pooled
 * connection held for the whole command (the handler opens a session); Emmett keeps no state between commands.
 *
 * Run: node --conditions=source --import tsx bench/emmett.bench.ts [--seconds N] [--repeats N] [--quick]
 *      [--concurrency 1,16,256] [--turnstiles 2000] [--pool-size N]
 * Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) to create and drop a scratch database.
 */
import { pathToFileURL } from 'node:url';
import {
  DeciderCommandHandler,
  IllegalStateError,
  isExpectedVersionConflictError,
  type Command,
  type Event,
} from '@event-driven-io/emmett';
import { getPostgreSQLEventStore, type PostgresEventStore } from '@event-driven-io/emmett-postgresql';
import { Turnstile } from '@ratchet/turnstile';
import pg from 'pg';
import { closedLoop, commandType, type LoopMeasurement, type Send } from './closed-loop.js';
import { createScratchDatabase, type ScratchDatabase } from './scratch-database.js';
import { elapsedMs, figure, median, parseBenchArgs, reportAll, stringArg, type Figure } from './stats.js';

// ---------------------------------------------------------------------------------------------------------
// The turnstile of packages/turnstile, written the Emmett way: plain types, a pure evolve, a decide that
// throws IllegalStateError to reject (Emmett's idiom; nothing is appended).

type NoData = Record<string, never>;

type TurnstileEmmettEvent =
  | Event<'installed', NoData>
  | Event<'coinInserted', NoData>
  | Event<'armTurned', NoData>
  | Event<'armPushedIneffectively', NoData>;

type TurnstileEmmettCommand = Command<'install', NoData> | Command<'insertCoin', NoData> | Command<'pushArm', NoData>;

interface TurnstileEmmettState {
  readonly status: 'not-installed' | 'locked' | 'unlocked';
  readonly coins: number;
  readonly turns: number;
  readonly pushes: number;
}

const initialState = (): TurnstileEmmettState => ({ status: 'not-installed', coins: 0, turns: 0, pushes: 0 });

/** Same transitions as turnstileMachine: installed → locked; a coin unlocks; a push on unlocked turns and locks. */
export function evolve(state: TurnstileEmmettState, event: TurnstileEmmettEvent): TurnstileEmmettState {
  switch (event.type) {
    case 'installed':
      return { status: 'locked', coins: 0, turns: 0, pushes: 0 };
    case 'coinInserted':
      return { ...state, status: 'unlocked', coins: state.coins + 1 };
    case 'armTurned':
      return { ...state, status: 'locked', turns: state.turns + 1, pushes: state.pushes + 1 };
    case 'armPushedIneffectively':
      return { ...state, pushes: state.pushes + 1 };
  }
}

/** Same rules as Turnstile.decide: install once; coins and pushes need an installed turnstile; a locked push is recorded. */
export function decide(command: TurnstileEmmettCommand, state: TurnstileEmmettState): TurnstileEmmettEvent {
  switch (command.type) {
    case 'install':
      if (state.status !== 'not-installed') throw new IllegalStateError('Turnstile already installed');
      return { type: 'installed', data: {} };
    case 'insertCoin':
      if (state.status === 'not-installed') throw new IllegalStateError('Turnstile not installed');
      return { type: 'coinInserted', data: {} };
    case 'pushArm':
      if (state.status === 'not-installed') throw new IllegalStateError('Turnstile not installed');
      return state.status === 'locked' ? { type: 'armPushedIneffectively', data: {} } : { type: 'armTurned', data: {} };
  }
}

/** Emmett's decider command handler; no `retry` option, so a version conflict is not retried (Emmett's default). */
const handle = DeciderCommandHandler<TurnstileEmmettState, TurnstileEmmettCommand, TurnstileEmmettEvent>({
  evolve,
  decide,
  initialState,
  // Emmett takes the stream type from the name's first dash-separated part: "turnstile".
  mapToStreamId: (id) => `turnstile-${id}`,
});

// ---------------------------------------------------------------------------------------------------------

/** Options of {@link runEmmettBench}. */
export interface EmmettBenchOptions {
  /** Duration of each measurement in seconds. Default 3. */
  readonly seconds?: number;
  /** LoopMeasurements per figure; the median is reported. Default 3. */
  readonly repeats?: number;
  /** Commands in flight (closed-loop lanes) per measurement. Default [1, 16, 256]. */
  readonly concurrencies?: readonly number[];
  /** Turnstiles the load is spread over (installed first). Default 2,000, as in the e2e bench. */
  readonly turnstiles?: number;
  /**
   * Size of the pg pool Emmett uses. Default: Emmett's own, i.e. dumbo's `new pg.Pool({ connectionString })`
   * with no `max`, which is pg-pool's default of 10 connections.
   */
  readonly poolSize?: number;
  /** Where progress lines go. Default: nowhere. */
  readonly log?: (line: string) => void;
}

const turnstileId = (t: number): string => `bench-${t}`;

/**
 * Run `work(0 … count-1)` on `workers` concurrent loops; on the first error the loops stop taking work and it is
 * rethrown only once all have settled, so nothing is left in flight when the scratch database is dropped.
 */
async function forEachParallel(count: number, workers: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let i = next++; i < count && failure === undefined; i = next++) {
        try {
          await work(i);
        } catch (error) {
          failure ??= { error };
        }
      }
    }),
  );
  if (failure !== undefined) throw failure.error;
}

/*
 * Emmett's driver layer (dumbo) sets pg's global type parsers on first use: int8 → BigInt, json/jsonb through
 * its own serializer. bench/run.ts runs benchmarks in one process beside Ratchet's own pg code, so the parsers
 * found on entry are put back on exit, and Emmett's are put back on a later run (dumbo sets them only once).
 */
const EMMETT_PARSED_OIDS = [20, 114, 3802] as const; // int8, json, jsonb
type TypeParsers = ReadonlyMap<number, (value: string) => unknown>;
const readTypeParsers = (): TypeParsers => new Map(EMMETT_PARSED_OIDS.map((oid) => [oid, pg.types.getTypeParser(oid, 'text')]));
const installTypeParsers = (parsers: TypeParsers): void => {
  for (const [oid, parse] of parsers) pg.types.setTypeParser(oid, 'text', parse);
};
let emmettTypeParsers: TypeParsers | undefined;

/** Connections to `monitor`'s database other than its own. */
async function otherBackends(monitor: pg.Client): Promise<number> {
  const sql = 'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()';
  return (await monitor.query<{ n: number }>(sql)).rows[0]!.n;
}

/** Measure Emmett's command handler on the turnstile workload at each concurrency; figures are medians over rounds. */
export async function runEmmettBench(options: EmmettBenchOptions = {}): Promise<Figure[]> {
  const seconds = options.seconds ?? 3;
  const repeats = options.repeats ?? 3;
  const concurrencies = options.concurrencies ?? [1, 16, 256];
  const turnstiles = options.turnstiles ?? 2_000;
  const log = options.log ?? ((): void => undefined);
  const ms = seconds * 1000;

  const pgTypeParsersOnEntry = readTypeParsers();
  let db: ScratchDatabase | undefined;
  let ownPool: pg.Pool | undefined;
  let store: PostgresEventStore | undefined;
  let monitor: pg.Client | undefined;
  try {
    db = await createScratchDatabase('emmett');
    // Counts Emmett's connections, and waits for them to be gone before the drop.
    monitor = new pg.Client({ connectionString: db.url });
    monitor.on('error', () => undefined); // the scratch database is dropped WITH (FORCE) at the end
    await monitor.connect();
    const mon = monitor;
    if (options.poolSize !== undefined) {
      ownPool = new pg.Pool({ connectionString: db.url, max: options.poolSize });
      ownPool.on('error', () => undefined); // idle clients may see the scratch database dropped
    }
    store = getPostgreSQLEventStore(db.url, ownPool === undefined ? undefined : { connectionOptions: { pool: ownPool } });
    if (emmettTypeParsers === undefined) emmettTypeParsers = readTypeParsers();
    else installTypeParsers(emmettTypeParsers);
    const es = store;
    // Emmett migrates its schema (emt_streams, emt_messages, emt_append_to_stream, …) on first use when
    // autoMigration is left at its default 'CreateOrUpdate'; do it up front, outside any measurement.
    const migrateStart = process.hrtime.bigint();
    await es.schema.migrate();
    log(
      `emmett schema migrated in ${elapsedMs(migrateStart).toFixed(0)} ms; pg pool: ${options.poolSize ?? 'Emmett default (pg-pool max 10)'}`,
    );

    let maxBackends = 0;

    // The rules hold through Emmett: rejections throw IllegalStateError and append nothing.
    const expectRejected = async (id: string, command: TurnstileEmmettCommand): Promise<void> => {
      const outcome = await handle(es, id, command).then(
        () => 'accepted',
        (error: unknown) => (error instanceof IllegalStateError ? 'rejected' : `failed: ${String(error)}`),
      );
      if (outcome !== 'rejected') throw new Error(`emmett turnstile: ${command.type} on ${id} was ${outcome}, expected a rejection`);
    };
    // Read a stream back: it must hold `expected` events, and Ratchet's own Turnstile.replay of them must
    // end in the state Emmett's evolve folds them to.
    const verifyStream = async (id: string, expected: number): Promise<readonly string[]> => {
      const read = await es.readStream<TurnstileEmmettEvent>(`turnstile-${id}`);
      const events = read.events;
      if (events.length !== expected || read.currentStreamVersion !== BigInt(expected)) {
        throw new Error(
          `emmett turnstile ${id}: ${events.length} events stored (version ${read.currentStreamVersion}), ${expected} expected from the commands reported ok`,
        );
      }
      const folded = events.reduce(evolve, initialState());
      const replayed = Turnstile.replay(events.map((e) => ({ type: e.type, data: {} })));
      const ctx = replayed.snapshot.context;
      if (
        folded.status !== replayed.snapshot.value ||
        folded.coins !== ctx.coins ||
        folded.turns !== ctx.turns ||
        folded.pushes !== ctx.pushes
      ) {
        throw new Error(
          `emmett turnstile ${id}: evolve gives ${JSON.stringify(folded)}, Turnstile.replay gives ${JSON.stringify([replayed.snapshot.value, ctx])}`,
        );
      }
      return events.map((e) => e.type);
    };

    // A probe stream that goes through every rule and event type (the measured loop never pushes a locked arm).
    await expectRejected('bench-probe', { type: 'insertCoin', data: {} });
    await expectRejected('bench-probe', { type: 'pushArm', data: {} });
    if (await es.streamExists('turnstile-bench-probe')) throw new Error('emmett turnstile: a rejected command created a stream');
    for (const type of ['install', 'pushArm', 'insertCoin', 'insertCoin', 'pushArm'] as const)
      await handle(es, 'bench-probe', { type, data: {} });
    await expectRejected('bench-probe', { type: 'install', data: {} });
    const probeTypes = (await verifyStream('bench-probe', 5)).join(',');
    if (probeTypes !== 'installed,armPushedIneffectively,coinInserted,coinInserted,armTurned') {
      throw new Error(`emmett turnstile probe stream holds ${probeTypes}`);
    }

    // Events each turnstile should hold, counted from the commands Emmett reported ok.
    const expectedEvents = new Array<number>(turnstiles).fill(0);
    let errorCount = 0;
    let conflictCount = 0;
    let firstError: unknown;
    const run = async (t: number, command: TurnstileEmmettCommand): Promise<boolean> => {
      try {
        const result = await handle(es, turnstileId(t), command);
        if (result.newEvents.length !== 1) throw new Error(`${command.type} appended ${result.newEvents.length} events, expected 1`);
        expectedEvents[t]! += 1;
        return true;
      } catch (error) {
        errorCount += 1;
        if (isExpectedVersionConflictError(error)) conflictCount += 1;
        firstError ??= error;
        return false;
      }
    };

    // Install every turnstile first, 64 at a time as the e2e bench does.
    const installStart = process.hrtime.bigint();
    await forEachParallel(turnstiles, 64, async (t) => {
      if (!(await run(t, { type: 'install', data: {} })))
        throw new Error(`emmett turnstile: install of ${turnstileId(t)} failed: ${String(firstError)}`);
    });
    log(`${turnstiles} turnstiles installed in ${elapsedMs(installStart).toFixed(0)} ms`);

    const send: Send = (t, step) => run(t, { type: commandType(step), data: {} });
    await closedLoop(send, 16, turnstiles, Math.min(1_000, ms)); // warm-up
    maxBackends = Math.max(maxBackends, await otherBackends(mon));
    const errorsBeforeRounds = errorCount;
    const conflictsBeforeRounds = conflictCount;

    const samples = new Map<number, LoopMeasurement[]>();
    for (let r = 1; r <= repeats; r++) {
      for (const c of concurrencies) {
        const m = await closedLoop(send, c, turnstiles, ms);
        maxBackends = Math.max(maxBackends, await otherBackends(mon));
        samples.set(c, [...(samples.get(c) ?? []), m]);
        log(
          `round ${r}/${repeats}  emmett turnstile ${String(c).padStart(3)} in flight  ${m.rate.toFixed(0).padStart(6)} cmd/s  p50 ${m.p50.toFixed(2)} ms  p99 ${m.p99.toFixed(2)} ms${m.failures > 0 ? `  ${m.failures} not ok` : ''}`,
        );
      }
    }
    const roundErrors = errorCount - errorsBeforeRounds;
    if (errorCount > 0) {
      log(
        `emmett errors: ${errorCount} (${conflictCount - conflictsBeforeRounds} version conflicts in the rounds, ${conflictCount} in all); first: ${String(firstError)}`,
      );
    }

    // Read every stream back and check it against the commands reported ok (fails the run loudly if not).
    const verifyStart = process.hrtime.bigint();
    await forEachParallel(turnstiles, 4, async (t) => {
      await verifyStream(turnstileId(t), expectedEvents[t]!);
    });
    const total = expectedEvents.reduce((a, b) => a + b, 0);
    log(
      `verified ${turnstiles} streams, ${total} events, in ${elapsedMs(verifyStart).toFixed(0)} ms; max ${maxBackends} pg connections seen`,
    );

    const figures: Figure[] = [];
    for (const c of concurrencies) {
      const list = samples.get(c)!;
      figures.push(
        figure(`emmett turnstile cmd/s, ${c} in flight`, median(list.map((m) => m.rate)), 'cmd/s'),
        figure(`emmett turnstile p50, ${c} in flight`, median(list.map((m) => m.p50)), 'ms'),
        figure(`emmett turnstile p99, ${c} in flight`, median(list.map((m) => m.p99)), 'ms'),
      );
    }
    figures.push(figure('emmett turnstile errors (all rounds)', roundErrors, 'count'));
    figures.push(figure('emmett pg pool connections (max seen)', maxBackends, 'connections'));
    return figures;
  } finally {
    await store?.close().catch(() => undefined);
    await ownPool?.end().catch(() => undefined);
    // pg-pool's end() resolves before its clients' connections are gone, and a pool without an 'error' listener
    // (Emmett's own) would crash the process if DROP … WITH (FORCE) killed one: wait for them to leave first.
    if (monitor !== undefined) {
      const mon = monitor;
      const leaveBy = Date.now() + 5_000;
      while (Date.now() < leaveBy && (await otherBackends(mon).catch(() => 0)) > 0) await new Promise((resolve) => setTimeout(resolve, 20));
      await mon.end().catch(() => undefined);
    }
    installTypeParsers(pgTypeParsersOnEntry);
    await db?.drop().catch(() => undefined);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = parseBenchArgs();
  const concurrency = stringArg('concurrency');
  const turnstiles = stringArg('turnstiles');
  const poolSize = stringArg('pool-size');
  const figures = await runEmmettBench({
    seconds: args.seconds,
    repeats: args.repeats,
    ...(concurrency === undefined ? {} : { concurrencies: concurrency.split(',').map(Number) }),
    ...(turnstiles === undefined ? {} : { turnstiles: Number(turnstiles) }),
    ...(poolSize === undefined ? {} : { poolSize: Number(poolSize) }),
    log: (line) => console.error(line),
  });
  reportAll(figures, `emmett — median of ${args.repeats} × ${args.seconds}s`);
}
