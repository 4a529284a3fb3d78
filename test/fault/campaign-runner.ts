// One fault campaign: start the topology, drive turnstile load while injecting mixed faults, heal,
// wait until everything has caught up, then let the history checker judge (C1…C12).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  checkHistory,
  HistoryRecorder,
  readJetStreamMessageIds,
  turnstileReadModelCheck,
  type CheckReport,
  type CommandOutcome,
} from '@ratchet/checker';
import { connectClient } from '@ratchet/client';
import { FEED_START, type FeedPage } from '@ratchet/event-store-postgres';
import { republish, type FeedReader } from '@ratchet/projector';
import { waitFor } from '@ratchet/launchers';
import { EVENTS_STREAM, eventMessageId } from '@ratchet/transport-nats';
import { Station } from '@ratchet/station';
import { Turnstile } from '@ratchet/turnstile';
import { technicianDispatch } from '@ratchet/turnstile-app';
import { FaultCluster, WORKER_CRASH_POINTS, type ProcessEvents, type WorkerCrashPoint } from './fault-cluster.js';
import { DEFAULT_WEIGHTS, FAULT_KINDS, FaultInjector, type FaultKind, type FaultWeights } from './faults.js';
import { startLoad } from './load.js';
import { PROCESS_CRASH_POINTS, processesCaughtUp, startTechnicians } from './process-faults.js';

/** Options of {@link runCampaign}. */
export interface CampaignOptions {
  /** Inject faults at least this long (ms). */
  readonly durationMs: number;
  /** …and until this many faults were injected and every crash point was hit, */
  readonly minFaults?: number;
  /** …and (when true) until every fault kind happened at least once; from half-time, missing kinds go first. */
  readonly everyKind?: boolean;
  /** …but never longer than this (ms). Default 2 × durationMs. */
  readonly maxDurationMs?: number;
  /** …and until each of these counts was reached ('worker-kills' = SIGKILLs + crash-point deaths). */
  readonly targets?: Partial<Record<FaultKind | 'worker-kills', number>>;
  /** The fault mix. Default {@link DEFAULT_WEIGHTS}. */
  readonly weights?: FaultWeights;
  /** Pause between faults, uniform in [min, max] ms. Default [200, 1000]. */
  readonly pauseMs?: readonly [number, number];
  /** Commands in flight. Default 12. */
  readonly lanes?: number;
  readonly log?: (line: string) => void;
  /** Abort: stop injecting, skip the check, tear every process down, reject. */
  readonly signal?: AbortSignal;
  /** How often to log progress (ms). Default 15 000. */
  readonly progressEveryMs?: number;
}

/** What a campaign did and what the checker found. */
export interface CampaignReport {
  readonly faults: Record<FaultKind, number>;
  readonly totalFaults: number;
  readonly crashHits: Record<WorkerCrashPoint, number>;
  readonly processes: ProcessEvents;
  readonly commands: Record<CommandOutcome, number>;
  /** Events missing from JetStream after the relay caught up (only possible after a nats-server SIGKILL), republished from Postgres. */
  readonly republished: number;
  readonly storeEvents: number;
  /** Runtime defects the harness noticed outside the checker (e.g. a projector that stopped projecting while up). */
  readonly anomalies: readonly string[];
  /** Injections the harness itself failed at (logged, skipped; not runtime defects). */
  readonly harnessErrors: readonly string[];
  readonly check: CheckReport;
  readonly historyPath: string;
  readonly faultPhaseMs: number;
  readonly totalMs: number;
}

/** Run one campaign; always tears its processes down. */
export async function runCampaign(options: CampaignOptions): Promise<CampaignReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const t0 = Date.now();
  const stamp = (): string => `[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s]`;
  const say = (line: string): void => log(`${stamp()} ${line}`);
  const historyPath = join(await mkdtemp(join(tmpdir(), 'ratchet-campaign-')), 'history.jsonl');
  say(`starting: private nats-server and Postgres, 3 workers behind TCP proxies, a projector; history in ${historyPath}`);
  const cluster = await FaultCluster.start({ log: say });
  const recorder = new HistoryRecorder({ path: historyPath });
  let stopLoad: (() => Promise<unknown>) | undefined;
  try {
    const client = await connectClient({ connection: cluster.nc, timeoutMs: 8_000 });
    const load = startLoad(client, recorder, {
      hot: 4,
      cold: 400,
      lanes: options.lanes ?? 12,
      hotShare: 0.5,
      timeoutMs: 8_000,
      prefix: 't',
    });
    // The riders' locked-arm pushes make the technician dispatch call stations; technicians complete visits.
    const technicians = startTechnicians(client, recorder, { everyMs: 250, timeoutMs: 8_000 });
    stopLoad = () => Promise.all([load.stop(), technicians.stop()]);
    const injector = new FaultInjector(cluster, say, options.weights ?? DEFAULT_WEIGHTS);
    const countOf = (k: FaultKind | 'worker-kills'): number =>
      k === 'worker-kills' ? injector.counts['worker-sigkill'] + injector.counts['worker-crash-point'] : injector.counts[k];
    const targetsMet = (): boolean =>
      Object.entries(options.targets ?? {}).every(([k, n]) => countOf(k as FaultKind | 'worker-kills') >= (n ?? 0));
    const phaseStart = Date.now();
    const maxDurationMs = options.maxDurationMs ?? options.durationMs * 2;
    const minFaults = options.minFaults ?? 0;
    const workerPointsHit = (): boolean => WORKER_CRASH_POINTS.every((p) => cluster.events.crashHits[p] > 0);
    const allHit = (): boolean => workerPointsHit() && PROCESS_CRASH_POINTS.every((p) => cluster.events.processCrashHits[p] > 0);
    let lastProgress = Date.now();
    // Runtime defects seen on the way (not checker violations): a projector that stopped projecting.
    const anomalies: string[] = [];
    const noteStall = async (): Promise<void> => {
      const stalled = await cluster.projectorStalled().catch(() => undefined);
      if (stalled !== undefined && !anomalies.some((a) => a.includes(`pid ${String(cluster.projector?.pid)}:`))) {
        anomalies.push(`projection runner stopped while its process stayed up: ${stalled}`);
        say(`ANOMALY: ${anomalies.at(-1)!}`);
      }
    };
    let round = 0;
    const harnessErrors: string[] = [];
    const progress = (): void =>
      say(
        `faults ${injector.total} ${JSON.stringify(injector.counts)} · commands ${JSON.stringify(load.counts)} · crash points hit ${JSON.stringify(cluster.events.crashHits)} · live workers ${cluster.liveSlots().length}`,
      );
    for (;;) {
      if (options.signal?.aborted === true) throw new Error('campaign interrupted; stopping every process it started');
      const elapsed = Date.now() - phaseStart;
      if (elapsed >= maxDurationMs) break;
      const missingKinds = options.everyKind === true ? FAULT_KINDS.filter((k) => injector.counts[k] === 0) : [];
      if (elapsed >= options.durationMs && injector.total >= minFaults && allHit() && missingKinds.length === 0 && targetsMet()) break;
      await injector.nudgeRelayCrashPoint().catch(() => undefined);
      round += 1;
      // Every third fault arms a crash point until each has been hit; then they take their turn by weight.
      const missing = elapsed >= options.durationMs / 2 ? missingKinds[0] : undefined;
      let kind: FaultKind | undefined;
      try {
        kind =
          missing !== undefined
            ? await injector.inject(missing).then((ok) => (ok ? missing : undefined))
            : !allHit() && round % 3 === 0
              ? await (workerPointsHit() ? injector.inject('process-crash-point') : injector.inject('worker-crash-point')).then((ok) =>
                  ok ? (workerPointsHit() ? 'process-crash-point' : 'worker-crash-point') : undefined,
                )
              : await injector.injectRandom();
      } catch (error) {
        // The harness failed to inject or heal (e.g. a server that would not come back in time):
        // note it and go on; the servers' own restart is retried inside the injector.
        harnessErrors.push(String(error));
        say(`HARNESS: injection failed: ${String(error)}`);
      }
      if (kind !== undefined && kind !== 'worker-sigkill' && kind !== 'proxy-reset') say(`fault ${injector.total}: ${kind}`);
      if (Date.now() - lastProgress >= (options.progressEveryMs ?? 15_000)) {
        progress();
        await noteStall();
        lastProgress = Date.now();
      }
      await delay((options.pauseMs?.[0] ?? 200) + Math.random() * ((options.pauseMs?.[1] ?? 1_000) - (options.pauseMs?.[0] ?? 200)));
    }
    const faultPhaseMs = Date.now() - phaseStart;
    await noteStall();
    progress();
    say('fault phase over: stopping the load, healing, waiting for the cluster to catch up');
    await load.stop();
    await technicians.stop();
    await cluster.heal();
    const { republished, storeEvents } = await quiesce(cluster, injector.natsKilled, anomalies, say);
    await processesCaughtUp(cluster.pool, say);
    say('running the history checker (C1…C12)');
    const check = await checkHistory({
      history: recorder.records,
      databaseUrl: cluster.databaseUrl,
      natsUrl: cluster.nats.url,
      readModel: turnstileReadModelCheck(),
      aggregates: [Turnstile, Station],
      processes: [technicianDispatch],
      scope: 'all',
    });
    return {
      faults: { ...injector.counts },
      totalFaults: injector.total,
      crashHits: { ...cluster.events.crashHits },
      processes: {
        ...cluster.events,
        crashHits: { ...cluster.events.crashHits },
        processCrashHits: { ...cluster.events.processCrashHits },
      },
      commands: {
        ok: load.counts.ok + technicians.counts.ok,
        rejected: load.counts.rejected + technicians.counts.rejected,
        failed: load.counts.failed + technicians.counts.failed,
        unknown: load.counts.unknown + technicians.counts.unknown,
      },
      republished,
      storeEvents,
      anomalies,
      harnessErrors,
      check,
      historyPath,
      faultPhaseMs,
      totalMs: Date.now() - t0,
    };
  } finally {
    // Lanes still running (an interrupted campaign) must stop before the history closes.
    await stopLoad?.().catch(() => undefined);
    await recorder.close();
    await cluster.stop();
  }
}

/**
 * Wait until every worker is ready, the outbox relay has published the whole feed, JetStream holds
 * every event (republishing what a nats-server SIGKILL lost) and the projector has applied them all.
 */
async function quiesce(
  cluster: FaultCluster,
  natsKilled: boolean,
  anomalies: string[],
  say: (line: string) => void,
): Promise<{ republished: number; storeEvents: number }> {
  await waitFor(
    async () => {
      const codes = await Promise.all(
        cluster.slots.map(async (s) => {
          const port = String(s.service?.ready.httpPort);
          return (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) })).status;
        }),
      );
      return codes.every((c) => c === 200);
    },
    { what: 'every worker ready', timeoutMs: 120_000, intervalMs: 250 },
  );
  say('workers ready');
  await waitFor(
    async () => {
      const r = await cluster.pool.query<{ lag: string }>(
        `SELECT coalesce((SELECT max(global_position) FROM ratchet.events), 0)
              - coalesce((SELECT global_position FROM ratchet.checkpoints WHERE name = 'outbox'), 0) AS lag`,
      );
      return Number(r.rows[0]!.lag) <= 0;
    },
    { what: 'the outbox relay to catch up (lag 0)', timeoutMs: 120_000, intervalMs: 250 },
  );
  say('outbox lag 0');

  const stored = await cluster.pool.query<{ id: string }>(`SELECT stream_id || ':' || version AS id FROM ratchet.events`);
  const inJetStream = (await readJetStreamMessageIds(cluster.nats.url)) ?? new Set<string>();
  const missing = new Set(stored.rows.map((r) => r.id).filter((id) => !inJetStream.has(id)));
  let republished = 0;
  if (missing.size > 0) {
    say(
      `JetStream lacks ${missing.size} of ${stored.rows.length} committed events${natsKilled ? ' (a nats-server SIGKILL lost them)' : ''}`,
    );
    if (natsKilled) {
      // JetStream is a cache of Postgres: refill exactly what it lost, with the relay's message ids.
      republished = (await republish(onlyMissing(cluster, missing), jetstream(cluster.nc), FEED_START)).published;
      say(`republished ${republished} events from Postgres`);
    }
  }

  const consumer = (await jetstreamManager(cluster.nc)).consumers;
  await waitFor(
    async () => {
      const stalled = await cluster.projectorStalled().catch(() => undefined);
      if (stalled !== undefined) {
        // A runtime defect, not a fault we injected: record it, then restart the projector so the
        // checker can still judge the rest.
        if (!anomalies.some((a) => a.includes(`pid ${String(cluster.projector?.pid)}:`))) {
          anomalies.push(`projection runner stopped while its process stayed up: ${stalled}`);
          say(`ANOMALY: ${anomalies.at(-1)!}`);
        }
        cluster.projector?.kill('SIGKILL');
        return false;
      }
      const r = await cluster.pool.query<{ applied: string | null; events: string }>(
        `SELECT (SELECT sum(last_version) FROM ratchet_projections.positions WHERE name = 'turnstile' AND version = 1) AS applied,
                (SELECT count(*) FROM ratchet.events WHERE stream_id LIKE 'turnstile/%') AS events`,
      );
      if (Number(r.rows[0]!.applied ?? 0) !== Number(r.rows[0]!.events)) return false;
      const info = await consumer.info(EVENTS_STREAM, 'proj_turnstile_v1');
      return info.num_pending === 0 && info.num_ack_pending === 0;
    },
    { what: 'the projector to catch up', timeoutMs: 120_000, intervalMs: 250 },
  );
  say('projector caught up');
  return { republished, storeEvents: stored.rows.length };
}

/** The store's feed, filtered to the events JetStream lacks (pages that filter to nothing are skipped). */
function onlyMissing(cluster: FaultCluster, missing: ReadonlySet<string>): FeedReader {
  return {
    async readFeed(after, limit): Promise<FeedPage> {
      let checkpoint = after;
      for (;;) {
        const page = await cluster.store.readFeed(checkpoint, limit);
        if (page.events.length === 0) return page;
        const events = page.events.filter((e) => missing.has(eventMessageId(e.streamId, e.version)));
        if (events.length > 0) return { events, checkpoint: page.checkpoint };
        checkpoint = page.checkpoint;
      }
    },
  };
}
