import type { MemberRecord } from './member-record.js';

/** One member in a {@link ClusterView}. */
export interface ClusterMemberView {
  /** The member's id. */
  readonly workerId: string;
  /** How many partitions the assignment gives it. */
  readonly partitionCount: number;
  /** When it started (ISO-8601), when known from its record. */
  readonly startedAt?: string;
  /** Its last heartbeat (ISO-8601, its own clock), when known from its record. */
  readonly heartbeatAt?: string;
  /** What it published with its heartbeat (e.g. its HTTP port), when known. */
  readonly info?: Readonly<Record<string, unknown>>;
}

/** One partition in a {@link ClusterView}. */
export interface PartitionView {
  /** Partition number, 0-based. */
  readonly partition: number;
  /** The member the assignment names as owner. */
  readonly owner: string;
  /** The fencing epoch the owner holds in Postgres, or null when not known to the caller. */
  readonly epoch: number | null;
}

/** A JSON-ready picture of the cluster for a `/cluster` route or the CLI. */
export interface ClusterView {
  /** Live members, sorted by id. */
  readonly members: readonly ClusterMemberView[];
  /** Every partition with its owner and epoch, by partition number. */
  readonly partitions: readonly PartitionView[];
}

/**
 * Describe the cluster as plain JSON: members (ids or full records) with their partition counts, and each
 * partition's owner and fencing epoch. The view is what *this* process believes; the authority on who may
 * write a partition is the epoch in Postgres.
 * @param epochs fencing epoch per partition, as a map or an array indexed by partition; missing → `null`.
 * @example
 * app.get('/cluster', () => describeCluster(membership.records(), assignPartitions(membership.members(), 64), epochs));
 */
export function describeCluster(
  members: readonly (string | MemberRecord)[],
  assignment: readonly string[],
  epochs?: ReadonlyMap<number, number> | readonly (number | undefined)[],
): ClusterView {
  const counts = new Map<string, number>();
  for (const owner of assignment) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  const views = members.map((member): ClusterMemberView => {
    if (typeof member === 'string') return { workerId: member, partitionCount: counts.get(member) ?? 0 };
    const { workerId, startedAt, heartbeatAt, info } = member;
    return { workerId, partitionCount: counts.get(workerId) ?? 0, startedAt, heartbeatAt, info };
  });
  views.sort((a, b) => (a.workerId < b.workerId ? -1 : a.workerId > b.workerId ? 1 : 0));
  const epochOf = (partition: number): number | null => {
    const epoch = epochs instanceof Map ? epochs.get(partition) : (epochs as readonly (number | undefined)[] | undefined)?.[partition];
    return epoch ?? null;
  };
  return {
    members: views,
    partitions: assignment.map((owner, partition) => ({ partition, owner, epoch: epochOf(partition) })),
  };
}
