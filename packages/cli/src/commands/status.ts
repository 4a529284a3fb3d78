import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { parseMemberRecord, type MemberRecord } from '@ratchet/cluster';
import { createPostgresEventStore, type PartitionEpoch } from '@ratchet/event-store-postgres';
import { readProcessStates, type ProcessState } from '@ratchet/process/runner';
import { usageError } from '../cli-error.js';
import type { CliContext } from '../cli-context.js';
import { connectNats, openPostgres, requireEventStore } from '../connections.js';
import { ExitCode } from '../exit-code.js';
import { formatRanges, formatTable } from '../format-table.js';
import { readProjectionStates, type ProjectionVersionState } from '../projection-state.js';

/** The membership bucket the workers heartbeat into (@ratchet/cluster's default). */
const MEMBERS_BUCKET = 'ratchet_members';
/** The outbox relay's checkpoint name (@ratchet/worker's default). */
const OUTBOX_CHECKPOINT = 'outbox';

/** What `ratchet status --json` prints. */
export interface StatusReport {
  /** Live members from the membership bucket, plus owners in Postgres that are not members (static mode, or gone). */
  readonly workers: ReadonlyArray<{
    readonly workerId: string;
    /** Whether it heartbeats in the membership bucket. */
    readonly member: boolean;
    readonly heartbeatAt: string | null;
    readonly info: Readonly<Record<string, unknown>>;
    /** Partitions it holds in Postgres (the fencing authority), ascending. */
    readonly partitions: readonly number[];
  }>;
  /** Every partition with its owner and fencing epoch; never-claimed ones have epoch 0 and no owner. */
  readonly partitions: ReadonlyArray<{ readonly partition: number; readonly owner: string | null; readonly epoch: number }>;
  /** Events committed but not yet published to JetStream (an upper bound from global positions). */
  readonly outbox: { readonly lagEvents: number; readonly publishedThrough: number };
  readonly projections: readonly ProjectionVersionState[];
  /** Process managers: events handled, lag (events of their types not handled yet), commands answered, parked streams. */
  readonly processes: readonly ProcessState[];
  /** Parked events across every projection version. */
  readonly parked: number;
}

/**
 * `ratchet status`: workers and the partitions they hold, each partition's owner and epoch, outbox
 * lag, projection lag and parked events, process managers with their lag and answers. Read-only:
 * the CLI never joins the membership; ownership is read from Postgres, where the fencing epochs live.
 */
export async function runStatus(ctx: CliContext, positionals: readonly string[]): Promise<number> {
  if (positionals.length > 0) throw usageError('usage: ratchet status');
  const nc = await connectNats(ctx.options);
  try {
    const pool = await openPostgres(ctx.options);
    try {
      await requireEventStore(pool, ctx.options);
      const store = createPostgresEventStore({ pool });
      const [members, epochs, checkpoint, maxPosition, projections, processes] = await Promise.all([
        readMembers(nc),
        store.partitionEpochs(),
        store.loadCheckpoint(OUTBOX_CHECKPOINT),
        store.feedMaxPosition(),
        readProjectionStates(pool, nc),
        readProcessStates(pool),
      ]);
      const report = {
        ...buildReport(members, epochs, ctx.options.partitions, checkpoint?.globalPosition ?? 0, maxPosition, projections),
        processes,
      };
      if (ctx.options.json) ctx.out(JSON.stringify(report));
      else printReport(ctx.out, report);
      return ExitCode.OK;
    } finally {
      await pool.end().catch(() => undefined);
    }
  } finally {
    await nc.close().catch(() => undefined);
  }
}

/** Members heartbeating in the bucket; none when the bucket does not exist (static mode). */
async function readMembers(nc: NatsConnection): Promise<MemberRecord[]> {
  let kv: KV;
  try {
    kv = await new Kvm(nc).open(MEMBERS_BUCKET);
    await kv.status();
  } catch {
    return [];
  }
  const members: MemberRecord[] = [];
  // nats.js yields a key again when a heartbeat lands while the listing runs: read each key once.
  const keys = new Set<string>();
  for await (const key of await kv.keys()) keys.add(key);
  for (const key of keys) {
    const entry = await kv.get(key);
    if (entry === null || entry.operation !== 'PUT') continue;
    let value: unknown;
    try {
      value = entry.json();
    } catch {
      continue;
    }
    const record = parseMemberRecord(key, value);
    if (record !== undefined) members.push(record);
  }
  return members;
}

function buildReport(
  members: readonly MemberRecord[],
  epochs: readonly PartitionEpoch[],
  partitionCount: number,
  publishedThrough: number,
  maxPosition: number,
  projections: readonly ProjectionVersionState[],
): Omit<StatusReport, 'processes'> {
  const byPartition = new Map(epochs.map((e) => [e.partition, e]));
  const count = Math.max(partitionCount, ...epochs.map((e) => e.partition + 1));
  const partitions = Array.from({ length: count }, (_, partition) => {
    const e = byPartition.get(partition);
    return { partition, owner: e?.owner ?? null, epoch: e?.epoch ?? 0 };
  });
  const held = new Map<string, number[]>();
  for (const p of partitions) if (p.owner !== null) held.set(p.owner, [...(held.get(p.owner) ?? []), p.partition]);
  const workers: Array<StatusReport['workers'][number]> = members.map((m) => ({
    workerId: m.workerId,
    member: true,
    heartbeatAt: m.heartbeatAt,
    info: m.info,
    partitions: held.get(m.workerId) ?? [],
  }));
  for (const [owner, owned] of held) {
    if (!members.some((m) => m.workerId === owner))
      workers.push({ workerId: owner, member: false, heartbeatAt: null, info: {}, partitions: owned });
  }
  workers.sort((a, b) => (a.workerId < b.workerId ? -1 : a.workerId > b.workerId ? 1 : 0));
  return {
    workers,
    partitions,
    outbox: { lagEvents: Math.max(0, maxPosition - publishedThrough), publishedThrough },
    projections,
    parked: projections.reduce((n, p) => n + p.parked, 0),
  };
}

function printReport(out: (line: string) => void, r: StatusReport): void {
  out(`workers (${r.workers.filter((w) => w.member).length} in the membership)`);
  if (r.workers.length === 0) out('  none: no member heartbeats and no partition is owned');
  else {
    out(
      indent(
        formatTable(
          ['WORKER', 'MEMBER', 'PARTITIONS', 'OWNED', 'HEARTBEAT'],
          r.workers.map((w) => [
            w.workerId,
            w.member ? 'yes' : 'no',
            String(w.partitions.length),
            formatRanges(w.partitions) || '-',
            w.heartbeatAt ?? '-',
          ]),
        ),
      ),
    );
  }
  const unowned = r.partitions.filter((p) => p.owner === null).map((p) => p.partition);
  const epochs = r.partitions.map((p) => p.epoch);
  out(
    `partitions: ${r.partitions.length}, owned ${r.partitions.length - unowned.length}` +
      (unowned.length > 0 ? `, unowned ${formatRanges(unowned)}` : '') +
      `, epochs ${Math.min(...epochs)}..${Math.max(...epochs)}`,
  );
  out(`outbox lag: ${r.outbox.lagEvents} events (published through global position ${r.outbox.publishedThrough})`);
  if (r.projections.length === 0) out('projections: none (no projector has run against this database)');
  else {
    out('projections');
    out(indent(projectionTable(r.projections)));
  }
  out(`parked events: ${r.parked}`);
  if (r.processes.length === 0) out('process managers: none (no process runner has run against this database)');
  else {
    out('process managers');
    out(
      indent(
        formatTable(
          ['PROCESS', 'HANDLED', 'LAG', 'OK', 'REJECTED', 'FAILED', 'PARKED'],
          r.processes.map((p) => [
            p.name,
            String(p.eventsHandled),
            String(p.lagEvents),
            String(p.commands.ok),
            String(p.commands.rejected),
            String(p.commands.failed),
            String(p.parked),
          ]),
        ),
      ),
    );
  }
}

/** The projections table shared by `status` and `projections list`. */
export function projectionTable(states: readonly ProjectionVersionState[]): string {
  return formatTable(
    ['PROJECTION', 'STATUS', 'ACTIVE', 'APPLIED', 'LAG', 'PARKED'],
    states.map((s) => [
      `${s.name}@v${s.version}`,
      s.status,
      s.active ? 'yes' : 'no',
      String(s.eventsApplied),
      s.lagEvents === null ? '?' : String(s.lagEvents),
      String(s.parked),
    ]),
  );
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
