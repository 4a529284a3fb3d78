// Real worker processes in membership mode against one nats-server and one database, and the
// probes the cluster tests and the failover benchmark share: /cluster views, which worker serves
// which partition, the epochs events were written under and the claims the workers logged.
// No vitest import here, so benchmarks can use it too.
import { startServiceProcess, waitFor, type ServiceProcess } from '@ratchet/launchers';
import { partitionOf } from '@ratchet/transport-nats';
import pg from 'pg';

/** Partitions in the test cluster (the worker's default). */
export const PARTITIONS = 64;

/** Small membership timings so a crash is noticed in under two seconds. */
export const TIMINGS = { HEARTBEAT_INTERVAL_MS: 250, MEMBER_TTL_MS: 1_500, RELAY_LEASE_TTL_MS: 1_500 } as const;

/** The worker's `/cluster` answer. */
export interface ClusterView {
  readonly workerId: string;
  readonly members: ReadonlyArray<{ workerId: string; partitionCount: number }>;
  readonly partitions: ReadonlyArray<{ partition: number; owner: string | null; epoch: number; assignedTo: string | null }>;
  readonly owned: ReadonlyArray<{ partition: number; epoch: number }>;
}

/** Worker processes by id; every one is stopped (resumed first, if paused) by `stopAll`. */
export class TestCluster {
  readonly workers = new Map<string, ServiceProcess>();
  readonly #natsUrl: string;
  readonly #dbUrl: string;
  readonly #env: Readonly<Record<string, string>>;

  constructor(natsUrl: string, dbUrl: string, env: Readonly<Record<string, string>> = {}) {
    this.#natsUrl = natsUrl;
    this.#dbUrl = dbUrl;
    this.#env = env;
  }

  /** Start worker `id` and wait for its "worker ready" line. */
  async start(id: string, env: Readonly<Record<string, string>> = {}): Promise<ServiceProcess> {
    const p = await startServiceProcess({
      entry: 'services/worker/src/main.ts',
      env: {
        NATS_URL: this.#natsUrl,
        DATABASE_URL: this.#dbUrl,
        WORKER_ID: id,
        HTTP_PORT: '0',
        LOG_LEVEL: 'info',
        CLUSTER_MODE: 'membership',
        HEARTBEAT_INTERVAL_MS: String(TIMINGS.HEARTBEAT_INTERVAL_MS),
        MEMBER_TTL_MS: String(TIMINGS.MEMBER_TTL_MS),
        RELAY_LEASE_TTL_MS: String(TIMINGS.RELAY_LEASE_TTL_MS),
        HANDOVER_TIMEOUT_MS: '3000',
        ...this.#env,
        ...env,
      },
    });
    this.workers.set(id, p);
    return p;
  }

  process(id: string): ServiceProcess {
    const p = this.workers.get(id);
    if (p === undefined) throw new Error(`no worker ${id}`);
    return p;
  }

  #url(id: string, path: string): string {
    return `http://127.0.0.1:${String(this.process(id).ready.httpPort)}${path}`;
  }

  /** The worker's `/cluster` view. */
  async view(id: string): Promise<ClusterView> {
    const res = await fetch(this.#url(id, '/cluster'), { signal: AbortSignal.timeout(2_000) });
    return (await res.json()) as ClusterView;
  }

  /** The worker's `/stats` counters. */
  async stats(id: string): Promise<Record<string, number>> {
    const res = await fetch(this.#url(id, '/stats'), { signal: AbortSignal.timeout(2_000) });
    return (await res.json()) as Record<string, number>;
  }

  /** Resume any paused worker, then stop all (SIGTERM, SIGKILL past the deadline). */
  async stopAll(): Promise<void> {
    const all = [...this.workers.values()];
    this.workers.clear();
    for (const p of all) p.kill('SIGCONT');
    await Promise.all(all.map((p) => p.stop(8_000)));
  }
}

/** Where each partition is served, by the union of the given views' `owned` lists. */
export function servedBy(views: readonly ClusterView[]): Map<number, string[]> {
  const by = new Map<number, string[]>();
  for (const v of views) for (const o of v.owned) by.set(o.partition, [...(by.get(o.partition) ?? []), v.workerId]);
  return by;
}

/**
 * Wait until the given workers agree on the member set, each serves exactly what the assignment
 * gives it under the epoch Postgres holds, every partition is served exactly once and Postgres
 * names the same owners.
 */
export async function waitSettled(cluster: TestCluster, ids: readonly string[], timeoutMs = 30_000): Promise<ClusterView[]> {
  const sorted = [...ids].sort();
  return waitFor(
    async () => {
      const views = await Promise.all(sorted.map((id) => cluster.view(id)));
      for (const v of views) {
        if (v.members.map((m) => m.workerId).join() !== sorted.join()) return false;
        const assigned = v.partitions.filter((p) => p.assignedTo === v.workerId).map((p) => p.partition);
        if (assigned.join() !== v.owned.map((o) => o.partition).join()) return false;
        // Served under the epoch Postgres holds: a worker fenced while idle still believes an old one.
        const epochs = new Map(v.partitions.map((p) => [p.partition, p.epoch]));
        if (v.owned.some((o) => epochs.get(o.partition) !== o.epoch)) return false;
      }
      const by = servedBy(views);
      if (by.size !== PARTITIONS || [...by.values()].some((w) => w.length !== 1)) return false;
      const pgOwners = views[0]!.partitions;
      if (pgOwners.length !== PARTITIONS || pgOwners.some((p) => by.get(p.partition)?.[0] !== p.owner)) return false;
      return views;
    },
    { what: `workers ${sorted.join(', ')} to settle`, timeoutMs, intervalMs: 100 },
  );
}

/** An aggregate id of the given partition (deterministic, by probing suffixes). */
export function idInPartition(partition: number, prefix: string, nth = 0): string {
  let found = 0;
  for (let i = 0; ; i += 1) {
    const id = `${prefix}-${i}`;
    if (partitionOf(id, PARTITIONS) === partition && found++ === nth) return id;
  }
}

/** One event's fencing coordinates. */
export interface EventEpoch {
  readonly streamId: string;
  readonly version: number;
  readonly partition: number;
  readonly epoch: number;
  readonly globalPosition: number;
  readonly recordedAt: number;
}

/** Every event's stream, version, partition, epoch, global position and recorded_at (ms). */
export async function eventEpochs(dbUrl: string, afterPosition = 0): Promise<EventEpoch[]> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    const res = await c.query<{ stream_id: string; version: number; partition: number; epoch: string; global_position: string; t: string }>(
      `select stream_id, version, partition, epoch, global_position, extract(epoch from recorded_at) * 1000 as t
         from ratchet.events where global_position > $1 order by global_position`,
      [afterPosition],
    );
    return res.rows.map((r) => ({
      streamId: r.stream_id,
      version: r.version,
      partition: r.partition,
      epoch: Number(r.epoch),
      globalPosition: Number(r.global_position),
      recordedAt: Number(r.t),
    }));
  } finally {
    await c.end();
  }
}

/** The highest global position now (0 when empty). */
export async function headPosition(dbUrl: string): Promise<number> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    const res = await c.query<{ p: string | null }>('select max(global_position) as p from ratchet.events');
    return Number(res.rows[0]?.p ?? 0);
  } finally {
    await c.end();
  }
}

/**
 * Events whose epoch goes down: per partition in global-position order, and per stream in version
 * order. A stale owner that committed after a newer claim would show up here.
 */
export function epochRegressions(events: readonly EventEpoch[]): string[] {
  const out: string[] = [];
  const lastByPartition = new Map<number, EventEpoch>();
  const lastByStream = new Map<string, EventEpoch>();
  for (const e of events) {
    const p = lastByPartition.get(e.partition);
    if (p !== undefined && e.epoch < p.epoch)
      out.push(`partition ${e.partition}: ${e.streamId}@${e.version} epoch ${e.epoch} after epoch ${p.epoch}`);
    lastByPartition.set(e.partition, e);
  }
  for (const e of [...events].sort((a, b) => (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : a.version - b.version))) {
    const s = lastByStream.get(e.streamId);
    if (s !== undefined && e.epoch < s.epoch) out.push(`stream ${e.streamId}@${e.version}: epoch ${e.epoch} after epoch ${s.epoch}`);
    lastByStream.set(e.streamId, e);
  }
  return out;
}

/** A claim seen in a worker's log: `partition acquired` with its epoch, logged after the claim committed. */
export interface Claim {
  readonly workerId: string;
  readonly partition: number;
  readonly epoch: number;
  readonly at: number;
}

/** Every claim the given processes logged. */
export function claimsFromLogs(workers: ReadonlyArray<readonly [string, ServiceProcess]>): Claim[] {
  return workers.flatMap(([workerId, p]) =>
    p.logs
      .filter((l) => l.msg === 'partition acquired')
      .map((l) => ({ workerId, partition: Number(l.partition), epoch: Number(l.epoch), at: Number(l.time) })),
  );
}

/**
 * Events written under an epoch older than one already claimed when their transaction began:
 * `recorded_at` is the transaction's start, the claim log line comes after the claim committed, so
 * a legitimate old-epoch event always started before that line. `slackMs` absorbs clock granularity.
 */
export function staleEpochWrites(events: readonly EventEpoch[], claims: readonly Claim[], slackMs = 0): string[] {
  const byPartition = new Map<number, Claim[]>();
  for (const c of claims) byPartition.set(c.partition, [...(byPartition.get(c.partition) ?? []), c]);
  const out: string[] = [];
  for (const e of events) {
    const newer = (byPartition.get(e.partition) ?? []).find((c) => c.epoch > e.epoch && c.at + slackMs < e.recordedAt);
    if (newer !== undefined) {
      out.push(
        `${e.streamId}@${e.version} written under epoch ${e.epoch} at ${e.recordedAt}, after ${newer.workerId} claimed epoch ${newer.epoch} at ${newer.at}`,
      );
    }
  }
  return out;
}
