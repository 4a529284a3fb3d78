// The campaign's topology, all real processes: a private nats-server and a private Postgres (so
// they can be killed and restarted), one TCP proxy pair per worker slot in front of them, three
// workers that reach NATS and Postgres only through their slot's proxies, and a projector.
// Dead workers and projectors are restarted in the background until the campaign stops.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createPostgresEventStore, type PostgresEventStore } from '@ratchet/event-store-postgres';
import {
  startNatsServer,
  startPostgresServer,
  startServiceProcess,
  waitFor,
  type NatsServerHandle,
  type PostgresServerHandle,
  type ServiceProcess,
} from '@ratchet/launchers';
import pg from 'pg';
import { processCrashAfter, type ProcessCrashPointName } from './process-faults.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

// A campaign restarts hundreds of processes over half an hour: keep only each one's last lines.
const SERVICE_LOG_LINES = 200;

/** The worker's named crash points (packages/worker/src/crash-point.ts). */
export const WORKER_CRASH_POINTS = [
  'before-commit',
  'after-commit-before-reply',
  'after-commit-before-publish',
  'after-publish-before-checkpoint',
] as const;
export type WorkerCrashPoint = (typeof WORKER_CRASH_POINTS)[number];

/** Membership timings small enough that a crash or pause is noticed in about two seconds. */
export const TIMINGS = { HEARTBEAT_INTERVAL_MS: 250, MEMBER_TTL_MS: 1_500, RELAY_LEASE_TTL_MS: 1_500 } as const;

/** One worker position: its proxies stay, its process comes and goes. */
export interface WorkerSlot {
  readonly name: string;
  readonly natsProxy: TcpProxy;
  readonly pgProxy: TcpProxy;
  incarnation: number;
  service: ServiceProcess | undefined;
  /** The WORKER_ID of the current process. */
  workerId: string | undefined;
  /** The crash point the current process is armed with. */
  armed: WorkerCrashPoint | undefined;
  starting: Promise<void> | undefined;
}

/** What happened to the processes, for the report. */
export interface ProcessEvents {
  workerStarts: number;
  workerStartFailures: number;
  projectorStarts: number;
  /** Crash points confirmed: exit by SIGKILL after the "crash point … reached" line. */
  readonly crashHits: Record<WorkerCrashPoint, number>;
  /** Armed workers that died otherwise (killed by the campaign first, or a failed start). */
  crashMisses: number;
  /** Process-runner crash points confirmed in the projector (it runs the app's process managers). */
  readonly processCrashHits: Record<ProcessCrashPointName, number>;
}

type Log = (line: string) => void;

/** The running topology; `stop()` it in a finally. */
export class FaultCluster {
  readonly slots: WorkerSlot[] = [];
  readonly events: ProcessEvents = {
    workerStarts: 0,
    workerStartFailures: 0,
    projectorStarts: 0,
    crashHits: {
      'before-commit': 0,
      'after-commit-before-reply': 0,
      'after-commit-before-publish': 0,
      'after-publish-before-checkpoint': 0,
    },
    crashMisses: 0,
    processCrashHits: { 'process-before-emit': 0, 'process-after-emit-before-checkpoint': 0, 'process-after-checkpoint-before-ack': 0 },
  };
  /** The process crash point the next projector start is armed with (one at a time). */
  projectorCrashPoint: ProcessCrashPointName | undefined;
  /** The crash point the running projector is armed with. */
  projectorArmed: ProcessCrashPointName | undefined;
  /** Crash points to arm the next worker starts with, one armed worker at a time. */
  readonly pendingCrashPoints: WorkerCrashPoint[] = [];
  projector: ServiceProcess | undefined;
  #projectorStarting: Promise<void> | undefined;
  #stopping = false;
  #restarting = true;
  /** False once healing: no new crash point is armed and a disarmed worker's exit is no miss. */
  #arming = true;

  private constructor(
    readonly nats: NatsServerHandle,
    readonly postgres: PostgresServerHandle,
    readonly databaseUrl: string,
    /** The harness's own connections, straight to the servers (never through a proxy). */
    readonly nc: NatsConnection,
    readonly pool: pg.Pool,
    readonly store: PostgresEventStore,
    readonly log: Log,
  ) {}

  /** Start the servers, the proxies, `workers` workers (one after another) and the projector. */
  static async start(options: { workers?: number; log: Log }): Promise<FaultCluster> {
    const nats = await startNatsServer();
    let postgres: PostgresServerHandle | undefined;
    try {
      postgres = await startPostgresServer({ settings: { max_connections: 300 } });
      const admin = new pg.Client({ connectionString: postgres.url });
      await admin.connect();
      await admin.query('CREATE DATABASE ratchet');
      await admin.end();
      const url = new URL(postgres.url);
      url.pathname = '/ratchet';
      const databaseUrl = url.toString();
      const store = createPostgresEventStore({ connectionString: databaseUrl, poolSize: 2 });
      await store.migrate();
      const pool = new pg.Pool({ connectionString: databaseUrl, max: 3 });
      pool.on('error', () => undefined);
      const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 250, name: 'fault-harness' });
      const cluster = new FaultCluster(nats, postgres, databaseUrl, nc, pool, store, options.log);
      try {
        for (let i = 1; i <= (options.workers ?? 3); i += 1) {
          cluster.slots.push({
            name: `w${i}`,
            natsProxy: await startTcpProxy({ targetPort: nats.port }),
            pgProxy: await startTcpProxy({ targetPort: postgres.port }),
            incarnation: 0,
            service: undefined,
            workerId: undefined,
            armed: undefined,
            starting: undefined,
          });
        }
        for (const slot of cluster.slots) await cluster.ensureWorker(slot);
        await cluster.ensureProjector();
      } catch (error) {
        await cluster.stop();
        throw error;
      }
      return cluster;
    } catch (error) {
      await postgres?.stop().catch(() => undefined);
      await nats.stop();
      throw error;
    }
  }

  /** Slots whose worker process runs now (possibly paused). */
  liveSlots(): WorkerSlot[] {
    return this.slots.filter((s) => s.service !== undefined && s.service.exit === undefined && s.starting === undefined);
  }

  /** Start the slot's worker if it has none (armed with the next pending crash point, if no other worker is). */
  ensureWorker(slot: WorkerSlot): Promise<void> {
    if (slot.starting !== undefined) return slot.starting;
    if (slot.service !== undefined && slot.service.exit === undefined) return Promise.resolve();
    const run = async (): Promise<void> => {
      for (let attempt = 1; !this.#stopping; attempt += 1) {
        const armed =
          !this.#arming || this.slots.some((s) => s.armed !== undefined && s !== slot) ? undefined : this.pendingCrashPoints.shift();
        slot.incarnation += 1;
        slot.armed = armed;
        const workerId = `${slot.name}-${slot.incarnation}`;
        try {
          const service = await startServiceProcess({
            name: workerId,
            entry: 'services/worker/src/main.ts',
            readyMessage: 'worker ready',
            maxLogLines: SERVICE_LOG_LINES,
            env: {
              NATS_URL: `nats://127.0.0.1:${slot.natsProxy.port}`,
              DATABASE_URL: this.databaseUrl.replace(`:${this.postgres.port}/`, `:${slot.pgProxy.port}/`),
              WORKER_ID: workerId,
              HTTP_PORT: '0',
              LOG_LEVEL: 'info',
              CLUSTER_MODE: 'membership',
              HEARTBEAT_INTERVAL_MS: String(TIMINGS.HEARTBEAT_INTERVAL_MS),
              MEMBER_TTL_MS: String(TIMINGS.MEMBER_TTL_MS),
              RELAY_LEASE_TTL_MS: String(TIMINGS.RELAY_LEASE_TTL_MS),
              HANDOVER_TIMEOUT_MS: '3000',
              SNAPSHOT_EVERY: '25',
              // Station visits escalate within a run: their durable timers fire under the faults too.
              STATION_VISIT_TIMEOUT_MS: '4000',
              PG_POOL_SIZE: '6',
              DRAIN_TIMEOUT_MS: '5000',
              RATCHET_CRASH_POINT: armed ?? '',
              RATCHET_CRASH_AFTER: armed === undefined ? '' : String(crashAfter(armed)),
            },
          });
          slot.service = service;
          slot.workerId = workerId;
          slot.armed = armed;
          this.events.workerStarts += 1;
          void service.exited.then(() => this.#onWorkerExit(slot, service, armed));
          return;
        } catch (error) {
          this.events.workerStartFailures += 1;
          slot.armed = undefined;
          if (armed !== undefined && this.#arming) this.pendingCrashPoints.unshift(armed);
          this.log(
            `worker ${workerId} failed to start (attempt ${attempt}): ${String(error).split('\n').slice(0, 4).join(' | ').slice(0, 600)}`,
          );
          // The servers may be down for a moment (a fault in progress): try again shortly.
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    };
    slot.starting = run().finally(() => {
      slot.starting = undefined;
    });
    return slot.starting;
  }

  #onWorkerExit(slot: WorkerSlot, service: ServiceProcess, armed: WorkerCrashPoint | undefined): void {
    if (armed !== undefined) {
      const reached = service.stderr.some((l) => l.includes(`crash point ${armed} reached`));
      if (service.exit === 'SIGKILL' && reached) {
        this.events.crashHits[armed] += 1;
        this.log(`crash point ${armed} hit by ${slot.workerId ?? slot.name} (SIGKILL after its stderr line)`);
      } else if (this.#arming) {
        this.events.crashMisses += 1;
        this.pendingCrashPoints.unshift(armed);
      }
    }
    if (slot.service === service) slot.armed = undefined;
    if (this.#restarting && !this.#stopping) void this.ensureWorker(slot);
  }

  /** Start the projector if it is not running. */
  ensureProjector(): Promise<void> {
    if (this.#projectorStarting !== undefined) return this.#projectorStarting;
    if (this.projector !== undefined && this.projector.exit === undefined) return Promise.resolve();
    const run = async (): Promise<void> => {
      for (let attempt = 1; !this.#stopping; attempt += 1) {
        const armed = this.#arming ? this.projectorCrashPoint : undefined;
        this.projectorCrashPoint = undefined;
        try {
          const service = await startServiceProcess({
            name: 'projector',
            entry: 'services/projector/src/main.ts',
            readyMessage: 'projector ready',
            maxLogLines: SERVICE_LOG_LINES,
            env: {
              NATS_URL: this.nats.url,
              DATABASE_URL: this.databaseUrl,
              HTTP_PORT: '0',
              LOG_LEVEL: 'info',
              PROJECTOR_BATCH_SIZE: '100',
              PROJECTOR_ACK_WAIT_MS: '2000',
              RATCHET_CRASH_POINT: armed ?? '',
              RATCHET_CRASH_AFTER: armed === undefined ? '' : String(processCrashAfter(armed)),
            },
          });
          this.projector = service;
          this.projectorArmed = armed;
          this.events.projectorStarts += 1;
          void service.exited.then(() => {
            if (armed !== undefined) {
              if (service.exit === 'SIGKILL' && service.stderr.some((l) => l.includes(`crash point ${armed} reached`))) {
                this.events.processCrashHits[armed] += 1;
                this.log(`crash point ${armed} hit by the projector (SIGKILL after its stderr line)`);
              } else if (this.#arming) this.projectorCrashPoint ??= armed;
            }
            if (this.projector === service) this.projectorArmed = undefined;
            if (this.#restarting && !this.#stopping) void this.ensureProjector();
          });
          return;
        } catch (error) {
          if (armed !== undefined && this.#arming) this.projectorCrashPoint ??= armed;
          this.log(`projector failed to start (attempt ${attempt}): ${String(error).split('\n').slice(0, 4).join(' | ').slice(0, 600)}`);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    };
    this.#projectorStarting = run().finally(() => {
      this.#projectorStarting = undefined;
    });
    return this.#projectorStarting;
  }

  /**
   * When the running projector's process is up but a projection runner has stopped (its /status
   * phase is "stopped"), what it logged at error level; undefined while it works (or is not up).
   */
  async projectorStalled(): Promise<string | undefined> {
    const p = this.projector;
    if (p === undefined || p.exit !== undefined) return undefined;
    const res = await fetch(`http://127.0.0.1:${String(p.ready.httpPort)}/status`, { signal: AbortSignal.timeout(2_000) });
    const status = (await res.json()) as Array<{ projection: string; phase: string }>;
    if (!status.some((s) => s.phase === 'stopped')) return undefined;
    const errors = p.logs.filter((l) => Number(l.level) >= 50).map((l) => JSON.stringify({ msg: l.msg, err: l.err }));
    return `projector pid ${p.pid}: ${JSON.stringify(status)}; error logs: ${errors.join(' ; ').slice(0, 2_000)}`;
  }

  /** The worker id holding the outbox relay lease now, if any. */
  async relayHolder(): Promise<string | undefined> {
    const r = await this.pool.query<{ holder: string }>(`SELECT holder FROM ratchet.leases WHERE name = 'outbox' AND expires_at > now()`);
    return r.rows[0]?.holder;
  }

  /** Heal every proxy, resume every paused process, disarm crash points, and bring every process back. */
  async heal(): Promise<void> {
    this.#arming = false;
    this.pendingCrashPoints.length = 0;
    this.projectorCrashPoint = undefined;
    for (const slot of this.slots) {
      slot.natsProxy.latencyMs = 0;
      slot.pgProxy.latencyMs = 0;
      slot.natsProxy.heal();
      slot.pgProxy.heal();
      slot.service?.kill('SIGCONT');
    }
    await waitFor(
      async () => {
        // An armed worker or projector could still die at its crash point: replace it with an unarmed one.
        for (const s of this.slots) if (s.armed !== undefined && s.starting === undefined) s.service?.kill('SIGKILL');
        if (this.projectorArmed !== undefined && this.#projectorStarting === undefined) this.projector?.kill('SIGKILL');
        await Promise.all([...this.slots.map((s) => this.ensureWorker(s)), this.ensureProjector()]);
        return (
          this.slots.every((s) => s.service?.exit === undefined && s.armed === undefined) &&
          this.projector?.exit === undefined &&
          this.projectorArmed === undefined
        );
      },
      { what: 'every worker and the projector running', timeoutMs: 120_000, intervalMs: 200 },
    );
  }

  /** Stop everything: processes first, then proxies and servers. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.slots.map((s) => s.starting?.catch(() => undefined)));
    await this.#projectorStarting?.catch(() => undefined);
    await Promise.all([...this.slots.map((s) => s.service?.stop(8_000)), this.projector?.stop(8_000)]);
    for (const slot of this.slots) {
      await slot.natsProxy.close();
      await slot.pgProxy.close();
    }
    await this.nc.close().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
    await this.store.close().catch(() => undefined);
    await this.postgres.stop().catch(() => undefined);
    await this.nats.stop();
  }
}

/** Which hit of the point kills the worker: soon, but after some real work. */
function crashAfter(point: WorkerCrashPoint): number {
  if (point === 'after-publish-before-checkpoint') return 1 + Math.floor(Math.random() * 4);
  return 3 + Math.floor(Math.random() * 30);
}
