import type { Fence } from '@ratchet/event-store-postgres';
import type { Logger } from 'pino';
import type { PartitionOwnership } from './ownership.js';

/** What the ownership needs from membership (the cluster package's Membership fits). */
export interface MembershipView {
  /** Live members now, sorted. */
  members(): readonly string[];
  /** Called with the new member list whenever it changes. */
  onChange(listener: (members: readonly string[]) => void): void;
}

/** The store calls ownership makes: epochs live in Postgres, the only authority. */
export interface EpochStore {
  claimPartition(partition: number, owner: string): Promise<number>;
  releasePartition(partition: number, owner: string, epoch: number): Promise<boolean>;
  partitionEpochs(): Promise<ReadonlyArray<{ partition: number; epoch: number; owner: string | null }>>;
}

/** What the worker does when a partition starts or stops being served here. */
export interface PartitionHost {
  /** Start taking commands for the partition (subscribe). */
  serve(partition: number): void;
  /** Stop taking commands for the partition and finish the ones in flight. */
  unserve(partition: number): Promise<void>;
}

/** Options of {@link ClusterOwnership}. */
export interface ClusterOwnershipOptions {
  readonly workerId: string;
  readonly partitionCount: number;
  readonly membership: MembershipView;
  /** Owner per partition for a member set; must be the same function on every worker. */
  readonly assign: (members: readonly string[], partitionCount: number) => readonly string[];
  readonly store: EpochStore;
  readonly logger: Logger;
  /** Most partitions taken over per second, so a join does not move everything at once. Default 32. */
  readonly movesPerSecond?: number;
  /** How long a new owner waits for the previous (live) owner to release before claiming anyway (ms). Default 5,000. */
  readonly handoverTimeoutMs?: number;
  /** How often owned epochs are checked against Postgres to notice being fenced without a write (ms). Default 2,000. */
  readonly verifyIntervalMs?: number;
  /** Called after every ownership change (for metrics). */
  readonly onMove?: (kind: 'acquired' | 'released' | 'lost', partition: number) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/**
 * Partition ownership driven by membership: every worker computes the same assignment from the
 * live member set; a worker releases what it no longer owns (after finishing in-flight commands)
 * and claims what it gained by bumping the partition's fencing epoch in Postgres. NATS KV only
 * tells who is alive; an append commits only under the partition's current epoch, so a worker
 * that was paused or cut off commits nothing once another has claimed.
 */
export class ClusterOwnership implements PartitionOwnership {
  readonly #o: ClusterOwnershipOptions;
  readonly #epochs = new Map<number, number>();
  #host: PartitionHost | undefined;
  #target: readonly string[] = [];
  #members: readonly string[] = [];
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #dirty = false;
  #leaving = false;
  #moves = 0;

  constructor(options: ClusterOwnershipOptions) {
    this.#o = options;
  }

  /** Partitions this worker serves now, with their epochs. */
  owned(): ReadonlyMap<number, number> {
    return this.#epochs;
  }

  /** Moves (acquired + released) since start. */
  get moves(): number {
    return this.#moves;
  }

  /** Whether every partition assigned to this worker is served (steady state). */
  get settled(): boolean {
    if (this.#target.length === 0) return false;
    return this.#target.every((owner, p) => (owner === this.#o.workerId) === this.#epochs.has(p));
  }

  /** The assignment computed from the latest member set. */
  assignment(): readonly string[] {
    return this.#target;
  }

  fenceFor(partition: number): Fence | undefined {
    const epoch = this.#epochs.get(partition);
    return epoch === undefined ? undefined : { partition, epoch };
  }

  lost(partition: number): void {
    if (!this.#epochs.delete(partition)) return;
    this.#o.logger.warn({ partition }, 'partition lost: another worker holds a newer epoch');
    this.#o.onMove?.('lost', partition);
    void this.#host?.unserve(partition);
    this.#poke();
  }

  /** Start following membership and serving what is assigned here. */
  start(host: PartitionHost): void {
    this.#host = host;
    this.#running = true;
    this.#o.membership.onChange((members) => {
      this.#members = members;
      this.#poke();
    });
    this.#members = this.#o.membership.members();
    this.#dirty = true;
    this.#loop = this.#run();
  }

  /** Planned leave: release every partition (in-flight commands finish first) and stop. */
  async leave(): Promise<void> {
    this.#leaving = true;
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    for (const partition of [...this.#epochs.keys()]) await this.#release(partition);
  }

  #poke(): void {
    this.#dirty = true;
    this.#wake?.();
  }

  async #run(): Promise<void> {
    let lastVerify = Date.now();
    while (this.#running) {
      try {
        if (this.#dirty) {
          this.#dirty = false;
          await this.#reconcile();
        }
        if (Date.now() - lastVerify >= (this.#o.verifyIntervalMs ?? 2_000)) {
          lastVerify = Date.now();
          await this.#verify();
        }
      } catch (error) {
        this.#o.logger.warn({ err: error }, 'partition reconcile failed; retrying');
        this.#dirty = true;
        await sleep(500);
      }
      if (!this.#dirty && this.#running) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, Math.min(1_000, this.#o.verifyIntervalMs ?? 2_000));
          timer.unref();
          function done(): void {
            clearTimeout(timer);
            resolve();
          }
          this.#wake = done;
        });
        this.#wake = undefined;
      }
    }
  }

  async #reconcile(): Promise<void> {
    const me = this.#o.workerId;
    const members = this.#members.includes(me) || this.#members.length === 0 ? this.#members : [...this.#members, me].sort();
    this.#target = this.#o.assign(members, this.#o.partitionCount);
    // Release first, so partitions flow to their new owners while we take ours.
    for (const partition of [...this.#epochs.keys()]) {
      if (!this.#running) return;
      if (this.#target[partition] !== me) await this.#release(partition);
    }
    const wanted = this.#target.flatMap((owner, p) => (owner === me && !this.#epochs.has(p) ? [p] : []));
    if (wanted.length === 0) return;
    const perMove = 1_000 / (this.#o.movesPerSecond ?? 32);
    const deadline = Date.now() + (this.#o.handoverTimeoutMs ?? 5_000);
    let pending = wanted;
    // Partitions handed over by a live owner are paced; those of a crashed or absent owner are
    // taken at once, since nobody serves them (failover should not wait on the rate limit).
    let handedOver: Set<number> | undefined;
    while (pending.length > 0 && this.#running && !this.#dirty) {
      const rows = await this.#o.store.partitionEpochs();
      const holder = new Map(rows.map((r) => [r.partition, r.owner]));
      handedOver ??= new Set(
        pending.filter((p) => {
          const owner = holder.get(p) ?? null;
          return owner !== null && owner !== me && this.#members.includes(owner);
        }),
      );
      const next: number[] = [];
      for (const partition of pending) {
        if (!this.#running || this.#dirty) return;
        const current = holder.get(partition) ?? null;
        // Wait for a live previous owner to finish and release; a dead or absent one is not waited for.
        const free = current === null || current === me || !this.#members.includes(current) || Date.now() >= deadline;
        if (!free) {
          next.push(partition);
          continue;
        }
        await this.#acquire(partition);
        if (handedOver.has(partition)) await sleep(perMove);
      }
      pending = next;
      if (pending.length > 0) await sleep(100);
    }
  }

  async #acquire(partition: number): Promise<void> {
    const epoch = await this.#o.store.claimPartition(partition, this.#o.workerId);
    this.#epochs.set(partition, epoch);
    this.#moves += 1;
    this.#host?.serve(partition);
    this.#o.onMove?.('acquired', partition);
    this.#o.logger.info({ partition, epoch }, 'partition acquired');
  }

  async #release(partition: number): Promise<void> {
    const epoch = this.#epochs.get(partition);
    if (epoch === undefined) return;
    await this.#host?.unserve(partition);
    this.#epochs.delete(partition);
    await this.#o.store.releasePartition(partition, this.#o.workerId, epoch).catch((error: unknown) => {
      this.#o.logger.warn({ err: error, partition }, 'release not recorded; the next owner waits for the handover timeout');
    });
    this.#moves += 1;
    this.#o.onMove?.('released', partition);
    this.#o.logger.info({ partition, epoch, leaving: this.#leaving }, 'partition released');
  }

  /** Drop partitions whose epoch moved on in Postgres (we were fenced while not writing). */
  async #verify(): Promise<void> {
    if (this.#epochs.size === 0) return;
    const rows = await this.#o.store.partitionEpochs();
    for (const row of rows) {
      const mine = this.#epochs.get(row.partition);
      if (mine !== undefined && row.epoch !== mine) this.lost(row.partition);
    }
  }
}
