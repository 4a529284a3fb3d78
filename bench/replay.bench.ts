/**
 * Replay speed of the turnstile: `Turnstile.replay` beside a bare XState fold over the same events,
 * and the cold load of a 10,000-event aggregate from Postgres with and without a snapshot.
 * Run: node --conditions=source --import tsx bench/replay.bench.ts [--seconds N] [--repeats N] [--quick]
 * Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) to create and drop a scratch database.
 */
import { pathToFileURL } from 'node:url';
import type { StoredEventInput } from '@ratchet/core';
import { createPostgresEventStore } from '@ratchet/event-store-postgres';
import { Turnstile, turnstileMachine } from '@ratchet/turnstile';
import { seededRandom } from '@ratchet/testing';
import { initialTransition, transition, type AnyMachineSnapshot } from 'xstate';
import { createScratchDatabase } from './scratch-database.js';
import { elapsedMs, figure, median, parseBenchArgs, reportAll, type Figure } from './stats.js';

/** Options of {@link runReplayBench}. */
export interface ReplayBenchOptions {
  /** Duration of each measurement in seconds. Default 3. */
  readonly seconds?: number;
  /** Measurements per figure; the median is reported. Default 3. */
  readonly repeats?: number;
  /** Events in the history. Default 10,000. */
  readonly historyLength?: number;
  /** Events the snapshot leaves as a tail to replay. Default 100. */
  readonly tailLength?: number;
  /** Where progress lines go. Default: nowhere. */
  readonly log?: (line: string) => void;
}

/** A turnstile's history: `installed`, then per draw a coin (true) or a push (false). */
export function turnstileEvents(coins: Iterable<boolean>): StoredEventInput[] {
  const events: StoredEventInput[] = [{ type: 'installed', data: {}, schemaVersion: 1 }];
  let unlocked = false;
  for (const coin of coins) {
    events.push(
      coin
        ? { type: 'coinInserted', data: {}, schemaVersion: 1 }
        : { type: unlocked ? 'armTurned' : 'armPushedIneffectively', data: {}, schemaVersion: 1 },
    );
    unlocked = coin;
  }
  return events;
}

/**
 * A realistic turnstile history: `installed`, then what a stream of riders produces — coins and
 * pushes about equally often, so the machine keeps flipping between locked and unlocked.
 */
export function turnstileHistory(length: number, seed = 42): StoredEventInput[] {
  const random = seededRandom(seed);
  return turnstileEvents(Array.from({ length: Math.max(0, length - 1) }, () => random() < 0.5));
}

/** Fold `events` repeatedly for about `ms`; events per second. */
function foldRate(fold: () => void, eventsPerFold: number, ms: number): number {
  let folds = 0;
  const start = process.hrtime.bigint();
  do {
    fold();
    folds += 1;
  } while (elapsedMs(start) < ms);
  return (folds * eventsPerFold) / (elapsedMs(start) / 1000);
}

/** Run `op` repeatedly for about `ms` (at least 3 times); median duration in ms. */
async function medianDuration(op: () => Promise<void>, ms: number): Promise<number> {
  const samples: number[] = [];
  const start = process.hrtime.bigint();
  while (samples.length < 3 || elapsedMs(start) < ms) {
    const t = process.hrtime.bigint();
    await op();
    samples.push(elapsedMs(t));
  }
  return median(samples);
}

/** Measure in-memory replay against a bare XState fold, then cold loads from Postgres; one figure each. */
export async function runReplayBench(options: ReplayBenchOptions = {}): Promise<Figure[]> {
  const seconds = options.seconds ?? 3;
  const repeats = options.repeats ?? 3;
  const length = options.historyLength ?? 10_000;
  const tail = options.tailLength ?? 100;
  const log = options.log ?? ((): void => undefined);
  const history = turnstileHistory(length);
  const domainEvents = history.map((e) => ({ type: e.type, data: e.data }));

  // Both folds must end in the same state, or the comparison means nothing.
  const viaAggregate = Turnstile.replay(history);
  let bare = initialTransition(turnstileMachine)[0];
  for (const e of domainEvents) bare = transition(turnstileMachine, bare, e as never)[0];
  const a = viaAggregate.snapshot as unknown as AnyMachineSnapshot;
  if (JSON.stringify([a.value, a.context]) !== JSON.stringify([bare.value, bare.context]) || viaAggregate.version !== length) {
    throw new Error('Turnstile.replay and the bare XState fold disagree on the final state');
  }

  const replayName = `replay Turnstile.replay, ${length} events`;
  const bareName = `replay bare xstate transition fold, ${length} events`;
  const replaySamples: number[] = [];
  const bareSamples: number[] = [];
  const ms = seconds * 1000;
  foldRate(() => Turnstile.replay(history), length, Math.min(500, ms / 2)); // warm-up (JIT)
  foldRate(
    () => {
      let s = initialTransition(turnstileMachine)[0];
      for (const e of domainEvents) s = transition(turnstileMachine, s, e as never)[0];
    },
    length,
    Math.min(500, ms / 2),
  );
  for (let r = 1; r <= repeats; r++) {
    // Alternate the two in each round so drift on a shared machine hits both alike.
    replaySamples.push(foldRate(() => Turnstile.replay(history), length, ms / 2));
    bareSamples.push(
      foldRate(
        () => {
          let s = initialTransition(turnstileMachine)[0];
          for (const e of domainEvents) s = transition(turnstileMachine, s, e as never)[0];
        },
        length,
        ms / 2,
      ),
    );
    log(`round ${r}/${repeats}  replay ${replaySamples.at(-1)!.toFixed(0)} events/s, bare fold ${bareSamples.at(-1)!.toFixed(0)} events/s`);
  }
  const replayRate = median(replaySamples);
  const bareRate = median(bareSamples);
  const figures: Figure[] = [
    figure(bareName, bareRate, 'events/s'),
    figure(replayName, replayRate, 'events/s', bareName, replayRate / bareRate),
  ];

  const db = await createScratchDatabase('replay');
  const store = createPostgresEventStore({ connectionString: db.url, poolSize: 2 });
  try {
    await store.migrate();
    const withSnapshot = 'turnstile:bench-snapshot';
    const withoutSnapshot = 'turnstile:bench-plain';
    for (const streamId of [withSnapshot, withoutSnapshot]) {
      for (let from = 0; from < length; from += 1_000) {
        const chunk = history.slice(from, from + 1_000).map((e) => ({ type: e.type, data: e.data }));
        await store.append(streamId, from, chunk, { commandId: `${streamId}-${from}` });
      }
    }
    const snapshotAt = length - tail;
    const saved = await store.saveSnapshot({
      streamId: withSnapshot,
      version: snapshotAt,
      machineVersion: Turnstile.machineVersion,
      state: Turnstile.runtime.persist(Turnstile.replay(history.slice(0, snapshotAt))),
    });
    if (!saved) throw new Error('snapshot was not saved');

    // The worker's cold path (#load): snapshot, the tail after it, restore, replay.
    const loadWithSnapshot = async (): Promise<void> => {
      const snapshot = await store.loadSnapshot(withSnapshot, Turnstile.machineVersion);
      if (snapshot === null) throw new Error('snapshot not found');
      const from = Turnstile.runtime.restore(snapshot.state as never, snapshot.version);
      const events = await store.readStream(withSnapshot, { fromVersion: from.version + 1 });
      const state = Turnstile.replay(events, from);
      if (state.version !== length) throw new Error(`loaded version ${state.version}, expected ${length}`);
    };
    const loadWithoutSnapshot = async (): Promise<void> => {
      const events = await store.readStream(withoutSnapshot);
      const state = Turnstile.replay(events);
      if (state.version !== length) throw new Error(`loaded version ${state.version}, expected ${length}`);
    };
    const snapName = `cold load ${length} events, snapshot at ${snapshotAt} + ${tail} tail`;
    const plainName = `cold load ${length} events, no snapshot`;
    const snapSamples: number[] = [];
    const plainSamples: number[] = [];
    await medianDuration(loadWithoutSnapshot, Math.min(500, ms / 2));
    await medianDuration(loadWithSnapshot, Math.min(500, ms / 2));
    for (let r = 1; r <= repeats; r++) {
      plainSamples.push(await medianDuration(loadWithoutSnapshot, ms / 2));
      snapSamples.push(await medianDuration(loadWithSnapshot, ms / 2));
      log(
        `round ${r}/${repeats}  cold load: no snapshot ${plainSamples.at(-1)!.toFixed(2)} ms, snapshot ${snapSamples.at(-1)!.toFixed(2)} ms`,
      );
    }
    const plain = median(plainSamples);
    const snap = median(snapSamples);
    figures.push(figure(plainName, plain, 'ms'), figure(snapName, snap, 'ms', plainName, snap / plain));
  } finally {
    await store.close();
    await db.drop();
  }
  return figures;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = parseBenchArgs();
  const figures = await runReplayBench({ seconds: args.seconds, repeats: args.repeats, log: (line) => console.error(line) });
  reportAll(figures, `replay — median of ${args.repeats} × ${args.seconds}s`);
}
