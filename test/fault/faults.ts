// The faults a campaign injects, each by pid or through the slot proxies, and a scheduler that
// mixes them. Every injection is counted by kind; durations are part of a fault (how long a link
// is slow or dead), while waits for a condition (a paused worker's partitions claimed by others)
// are polls with deadlines.
import { setTimeout as delay } from 'node:timers/promises';
import { waitFor } from '@ratchet/launchers';
import { TIMINGS, WORKER_CRASH_POINTS, type FaultCluster, type WorkerSlot } from './fault-cluster.js';
import { PROCESS_CRASH_POINTS } from './process-faults.js';

/** Every kind of fault, as counted in the report. */
export const FAULT_KINDS = [
  'worker-sigkill',
  'worker-crash-point',
  'worker-sigstop',
  'projector-sigkill',
  'process-crash-point',
  'nats-sigkill',
  'postgres-immediate-stop',
  'proxy-latency',
  'proxy-reset',
  'proxy-blackhole',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Relative weights of the kinds the scheduler picks. */
export type FaultWeights = Record<FaultKind, number>;

/** The default mix (server restarts are rarer: they stall everyone). */
export const DEFAULT_WEIGHTS: FaultWeights = {
  'worker-sigkill': 4,
  'worker-crash-point': 2,
  'worker-sigstop': 2,
  'projector-sigkill': 2,
  'process-crash-point': 2,
  'nats-sigkill': 1,
  'postgres-immediate-stop': 1,
  'proxy-latency': 3,
  'proxy-reset': 3,
  'proxy-blackhole': 2,
};

/**
 * The long campaign's mix: weighted toward what its documented run must reach (worker kills,
 * pauses past the lease, nats-server and Postgres restarts), with the link faults kept in.
 */
export const LONG_WEIGHTS: FaultWeights = {
  'worker-sigkill': 60,
  'worker-crash-point': 5,
  'worker-sigstop': 14,
  'projector-sigkill': 3,
  'process-crash-point': 2,
  'nats-sigkill': 6,
  'postgres-immediate-stop': 4,
  'proxy-latency': 3,
  'proxy-reset': 8,
  'proxy-blackhole': 4,
};

const rand = (min: number, max: number): number => min + Math.floor(Math.random() * (max - min + 1));
const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(Math.random() * xs.length)];

/** Injects faults into a {@link FaultCluster} and counts them. */
export class FaultInjector {
  readonly counts = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  /** Whether JetStream may have lost acknowledged messages (a nats-server SIGKILL happened). */
  natsKilled = false;
  #crashCursor = 0;
  #processCrashCursor = 0;

  constructor(
    private readonly cluster: FaultCluster,
    private readonly log: (line: string) => void,
    private readonly weights: FaultWeights = DEFAULT_WEIGHTS,
  ) {}

  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }

  /** Inject one fault of a kind picked by weight; returns the kind, or undefined when none could be injected now. */
  async injectRandom(): Promise<FaultKind | undefined> {
    const total = Object.values(this.weights).reduce((a, b) => a + b, 0);
    let r = Math.random() * total;
    for (const kind of FAULT_KINDS) {
      r -= this.weights[kind];
      if (r < 0) return (await this.inject(kind)) ? kind : undefined;
    }
    return undefined;
  }

  /** Inject one fault of `kind`; false when the topology did not allow it right now (e.g. no live worker). */
  async inject(kind: FaultKind): Promise<boolean> {
    const done = await this.#run(kind);
    if (done) this.counts[kind] += 1;
    return done;
  }

  /** Keep a crash-point-armed worker from waiting forever for the relay lease: kill whoever holds it. */
  async nudgeRelayCrashPoint(): Promise<void> {
    const armed = this.cluster.liveSlots().find((s) => s.armed === 'after-publish-before-checkpoint');
    if (armed === undefined) return;
    const holder = await this.cluster.relayHolder().catch(() => undefined);
    if (holder === undefined || holder === armed.workerId) return;
    const slot = this.cluster.liveSlots().find((s) => s.workerId === holder);
    if (slot === undefined) return;
    this.log(`killing relay holder ${holder} so the armed ${armed.workerId} can take the lease`);
    slot.service?.kill('SIGKILL');
    this.counts['worker-sigkill'] += 1;
  }

  async #run(kind: FaultKind): Promise<boolean> {
    const c = this.cluster;
    // Keep at least one worker up for worker faults, so the load keeps making progress.
    const victims = c.liveSlots().filter((s) => s.armed === undefined);
    switch (kind) {
      case 'worker-sigkill': {
        const slot = c.liveSlots().length >= 2 ? pick(victims) : undefined;
        if (slot === undefined) return false;
        slot.service?.kill('SIGKILL');
        return true;
      }
      case 'worker-crash-point': {
        // Arm the next crash point (round robin) and kill a worker: its replacement starts armed.
        if (c.pendingCrashPoints.length > 0 || c.slots.some((s) => s.armed !== undefined)) return false;
        const slot = c.liveSlots().length >= 2 ? pick(victims) : undefined;
        if (slot === undefined) return false;
        const point = WORKER_CRASH_POINTS[this.#crashCursor++ % WORKER_CRASH_POINTS.length]!;
        c.pendingCrashPoints.push(point);
        this.log(`arming ${point} on the next start of ${slot.name}`);
        slot.service?.kill('SIGKILL');
        return true;
      }
      case 'worker-sigstop': {
        const slot = c.liveSlots().length >= 2 ? pick(victims) : undefined;
        if (slot === undefined || slot.service === undefined) return false;
        await this.#pausePastLease(slot);
        return true;
      }
      case 'projector-sigkill': {
        const p = c.projector;
        if (p === undefined || p.exit !== undefined) return false;
        // Mid-batch: right after it is seen applying events.
        const before = await this.#appliedCount();
        try {
          await waitFor(async () => (await this.#appliedCount()) > before, {
            what: 'the projector applying',
            timeoutMs: 10_000,
            intervalMs: 50,
          });
        } catch {
          return false;
        }
        p.kill('SIGKILL');
        return true;
      }
      case 'process-crash-point': {
        // Arm the next process crash point (round robin) and kill the projector: its replacement
        // runs the technician dispatch armed, and dies there.
        const p = c.projector;
        if (p === undefined || p.exit !== undefined || c.projectorArmed !== undefined || c.projectorCrashPoint !== undefined) return false;
        const point = PROCESS_CRASH_POINTS[this.#processCrashCursor++ % PROCESS_CRASH_POINTS.length]!;
        c.projectorCrashPoint = point;
        this.log(`arming ${point} on the projector's next start`);
        p.kill('SIGKILL');
        return true;
      }
      case 'nats-sigkill': {
        c.nats.kill('SIGKILL');
        this.natsKilled = true;
        await this.#restart('nats-server', () => c.nats.restart());
        return true;
      }
      case 'postgres-immediate-stop': {
        // SIGQUIT is Postgres' immediate shutdown (pg_ctl stop -m immediate): no checkpoint, crash recovery on start.
        c.postgres.kill('SIGQUIT');
        await this.#restart('Postgres', () => c.postgres.restart());
        return true;
      }
      case 'proxy-latency': {
        const proxy = this.#pickProxy();
        proxy.latencyMs = rand(20, 150);
        await delay(rand(1_500, 4_000));
        proxy.latencyMs = 0;
        return true;
      }
      case 'proxy-reset': {
        this.#pickProxy().resetAll();
        return true;
      }
      case 'proxy-blackhole': {
        const proxy = this.#pickProxy();
        proxy.blackhole();
        await delay(rand(1_000, 4_000));
        proxy.heal({ reset: Math.random() < 0.5 });
        return true;
      }
    }
  }

  /** Bring a killed server back; a start that fails (slow machine, port not yet free) is tried again. */
  async #restart(what: string, restart: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await restart();
        return;
      } catch (error) {
        if (attempt >= 10) throw error;
        this.log(`${what} did not come back (attempt ${attempt}): ${String(error)}; trying again`);
        await delay(1_000);
      }
    }
  }

  #pickProxy() {
    const slot = pick(this.cluster.slots)!;
    return Math.random() < 0.5 ? slot.natsProxy : slot.pgProxy;
  }

  /** SIGSTOP until Postgres shows every partition the worker owned claimed by others (or a deadline), then SIGCONT. */
  async #pausePastLease(slot: WorkerSlot): Promise<void> {
    const service = slot.service!;
    const id = slot.workerId;
    service.kill('SIGSTOP');
    try {
      await waitFor(
        async () => {
          const r = await this.cluster.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ratchet.partitions WHERE owner = $1`, [id]);
          return Number(r.rows[0]!.n) === 0;
        },
        { what: `partitions of paused ${id} claimed by others`, timeoutMs: TIMINGS.MEMBER_TTL_MS * 8, intervalMs: 200 },
      );
    } catch {
      // Another fault may hold Postgres or the other workers down; the pause still went past the lease TTL.
    } finally {
      service.kill('SIGCONT');
    }
  }

  async #appliedCount(): Promise<number> {
    try {
      const r = await this.cluster.pool.query<{ n: string | null }>(`SELECT sum(events_applied) AS n FROM ratchet_projections.versions`);
      return Number(r.rows[0]?.n ?? 0);
    } catch {
      return 0;
    }
  }
}
