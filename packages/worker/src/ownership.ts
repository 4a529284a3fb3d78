import type { Fence } from '@ratchet/event-store-postgres';

/** Which partitions this worker may write, and under which fencing epoch. */
export interface PartitionOwnership {
  /** The fence to write `partition` under, or undefined when this worker does not own it now. */
  fenceFor(partition: number): Fence | undefined;
  /** The store refused a write for `partition`: another worker took it over. */
  lost(partition: number): void;
}

/** The part of the store a static owner needs. */
export interface PartitionClaimer {
  claimPartition(partition: number, owner: string): Promise<number>;
}

/**
 * A single worker owning every partition: it claims each one at start (bumping its epoch, so any
 * earlier owner is fenced). The scale-out issue replaces this with a membership-driven owner.
 */
export class StaticOwnership implements PartitionOwnership {
  readonly #epochs = new Map<number, number>();

  /** Claim partitions 0..count-1 for `owner`. */
  static async claimAll(store: PartitionClaimer, owner: string, count: number): Promise<StaticOwnership> {
    const ownership = new StaticOwnership();
    for (let p = 0; p < count; p += 1) ownership.#epochs.set(p, await store.claimPartition(p, owner));
    return ownership;
  }

  fenceFor(partition: number): Fence | undefined {
    const epoch = this.#epochs.get(partition);
    return epoch === undefined ? undefined : { partition, epoch };
  }

  lost(partition: number): void {
    this.#epochs.delete(partition);
  }
}
