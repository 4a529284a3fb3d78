import { setTimeout as sleep } from 'node:timers/promises';
import { assignPartitions } from '@ratchet/cluster';
import type { PartitionEpoch } from '@ratchet/event-store-postgres';

/** Options of {@link waitForAssignment}. */
export interface WaitForAssignmentOptions {
  /** The fencing authority's view: every partition's owner (the store's `partitionEpochs`). */
  readonly owners: () => Promise<readonly PartitionEpoch[]>;
  /** The workers that should share the partitions. */
  readonly workers: readonly string[];
  readonly partitions: number;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly pollMs?: number;
}

/** How the wait ended: `settled` false when the deadline passed first (the riders start anyway). */
export interface AssignmentWait {
  readonly settled: boolean;
  readonly waitedMs: number;
  /** Partitions whose owner differed from the target at the last look. */
  readonly misplaced: number;
}

/**
 * Wait until every partition is held by the worker the assignment gives it for `workers` — the
 * state a cluster of workers that started together converges to once each joined and the early
 * ones handed over what they had taken first. Commands sent before that meet partitions in
 * flight between owners and wait out the handover, which is the start-up and not the steady state
 * the demo's latency figures describe.
 */
export async function waitForAssignment(options: WaitForAssignmentOptions): Promise<AssignmentWait> {
  const target = assignPartitions(options.workers, options.partitions);
  const started = performance.now();
  let misplaced = options.partitions;
  for (;;) {
    const held = new Map((await options.owners()).map((p) => [p.partition, p.owner]));
    misplaced = target.filter((owner, partition) => held.get(partition) !== owner).length;
    const waitedMs = Math.round(performance.now() - started);
    if (misplaced === 0) return { settled: true, waitedMs, misplaced };
    if (waitedMs >= options.timeoutMs || options.signal?.aborted) return { settled: false, waitedMs, misplaced };
    await sleep(options.pollMs ?? 50);
  }
}
