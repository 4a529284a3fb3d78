import type { Fence } from '@ratchet/event-store-postgres';
import type { Logger } from 'pino';
import type { PartitionLeases } from './partition-leases.js';

/** Which partitions this worker may write, under which fencing epoch, and whether it may answer from memory. */
export interface PartitionOwnership {
  /** The fence to write `partition` under, or undefined when this worker does not own it now. */
  fenceFor(partition: number): Fence | undefined;
  /**
   * Whether this worker may answer for `partition` from its in-memory state now: it owns the
   * partition and its lease has not lapsed (see `PartitionLeases`).
   */
  holds(partition: number): boolean;
  /** The store refused a write for `partition`: another worker took it over. */
  lost(partition: number): void;
  /** Release every partition (planned stop); in-flight commands must be finished first. */
  releaseAll(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/**
 * A single worker owning every partition. At start it claims each one, waiting while an earlier
 * holder's lease still runs (a previous incarnation that crashed or was paused), then renews the
 * leases until it stops.
 */
export class StaticOwnership implements PartitionOwnership {
  readonly #leases: PartitionLeases;

  private constructor(leases: PartitionLeases) {
    this.#leases = leases;
  }

  /** Claim partitions 0..count-1 through `leases` and keep them renewed. */
  static async claimAll(leases: PartitionLeases, count: number, logger: Logger): Promise<StaticOwnership> {
    const ownership = new StaticOwnership(leases);
    leases.start();
    const waiting = new Set<number>();
    for (let p = 0; p < count; p += 1) {
      while ((await leases.claim(p)) === null) {
        if (!waiting.has(p))
          logger.info({ partition: p }, 'waiting for the previous holder of the partition to release it or its lease to expire');
        waiting.add(p);
        await sleep(Math.min(250, leases.leaseMs / 10));
      }
    }
    return ownership;
  }

  fenceFor(partition: number): Fence | undefined {
    return this.#leases.fenceFor(partition);
  }

  holds(partition: number): boolean {
    return this.#leases.holds(partition);
  }

  lost(partition: number): void {
    this.#leases.drop(partition);
  }

  async releaseAll(): Promise<void> {
    await this.#leases.stop();
    await Promise.all([...this.#leases.epochs().keys()].map((p) => this.#leases.release(p)));
  }
}
