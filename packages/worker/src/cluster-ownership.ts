import type { Fence } from '@ratchet/event-store-postgres';
import type { Logger } from 'pino';
import type { PartitionOwnership } from './ownership.js';
import type { PartitionLeases } from './partition-leases.js';
import { PeerWatch, type PeerProbe } from './peer-watch.js';

/** What the ownership needs from membership (the cluster package's Membership fits). */
export interface MembershipView {
  /** Live members now, sorted. */
  members(): readonly string[];
  /** Called with the new member list whenever it changes. */
  onChange(listener: (members: readonly string[]) => void): void;
}

/** What ownership reads from the store: epochs and owners live in Postgres, the only authority. */
export interface EpochStore {
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
  /** Claims, renews and releases the partitions' leases (and epochs) in Postgres. */
  readonly leases: PartitionLeases;
  readonly logger: Logger;
  /** Most partitions taken over per second, so a join does not move everything at once. Default 32. */
  readonly movesPerSecond?: number;
  /**
   * How long a new owner waits for a live previous owner to release before trying to claim anyway
   * (ms); the claim still succeeds only once the previous holder's lease has run out. Default 5,000.
   */
  readonly handoverTimeoutMs?: number;
  /** Called after every ownership change (for metrics). */
  readonly onMove?: (kind: 'acquired' | 'released' | 'lost', partition: number) => void;
  /**
   * Asks NATS whether peers' connections are up: a member whose connection closed loses its
   * partitions at once (stolen under the epoch seen) instead of after its key and lease expire.
   * Default none: failover waits for the member TTL and the lease.
   */
  readonly peers?: PeerProbe;
  /** How often peers are asked (ms). Default 250. */
  readonly peerCheckIntervalMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/**
 * Partition ownership driven by membership: every worker computes the same assignment from the
 * live member set; a worker releases what it no longer owns (after finishing in-flight commands)
 * and claims what it gained by bumping the partition's fencing epoch in Postgres, which succeeds
 * only once the previous holder released it or let its lease run out. NATS KV only tells who is
 * alive; an append commits only under the partition's current epoch, so a worker that was paused
 * or cut off commits nothing once another has claimed, and its lapsed lease keeps it from
 * answering from memory.
 */
export class ClusterOwnership implements PartitionOwnership {
  readonly #workerId: string;
  readonly #partitionCount: number;
  readonly #membership: MembershipView;
  readonly #assign: ClusterOwnershipOptions['assign'];
  readonly #store: EpochStore;
  readonly #log: Logger;
  readonly #movesPerSecond: number;
  readonly #handoverTimeoutMs: number;
  readonly #onMove: ClusterOwnershipOptions['onMove'];
  readonly #leases: PartitionLeases;
  #host: PartitionHost | undefined;
  #target: readonly string[] = [];
  #members: readonly string[] = [];
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #dirty = false;
  #leaving = false;
  #moves = 0;
  /** Partitions served here (claimed and subscribed), a subset of what the leases hold until a release completes. */
  readonly #served = new Set<number>();
  readonly #peers: PeerWatch | undefined;

  constructor(options: ClusterOwnershipOptions) {
    this.#workerId = options.workerId;
    this.#partitionCount = options.partitionCount;
    this.#membership = options.membership;
    this.#assign = options.assign;
    this.#store = options.store;
    this.#log = options.logger;
    this.#movesPerSecond = options.movesPerSecond ?? 32;
    this.#handoverTimeoutMs = options.handoverTimeoutMs ?? 5_000;
    this.#onMove = options.onMove;
    this.#leases = options.leases;
    this.#peers =
      options.peers === undefined
        ? undefined
        : new PeerWatch({
            self: options.workerId,
            probe: options.peers,
            members: () => this.#members,
            onChange: () => this.#poke(),
            intervalMs: options.peerCheckIntervalMs,
            logger: options.logger,
          });
  }

  /** Partitions this worker serves now, with their epochs. */
  owned(): ReadonlyMap<number, number> {
    return this.#leases.epochs();
  }

  /** Moves (acquired + released) since start. */
  get moves(): number {
    return this.#moves;
  }

  /** Whether every partition assigned to this worker is served (steady state). */
  get settled(): boolean {
    if (this.#target.length === 0) return false;
    return this.#target.every((owner, p) => (owner === this.#workerId) === this.#leases.has(p));
  }

  /** The assignment computed from the latest member set. */
  assignment(): readonly string[] {
    return this.#target;
  }

  fenceFor(partition: number): Fence | undefined {
    return this.#leases.fenceFor(partition);
  }

  holds(partition: number): boolean {
    return this.#leases.holds(partition);
  }

  /** A write was fenced or a renewal found `partition` under another holder: stop serving it and reconcile. */
  lost(partition: number): void {
    this.#leases.drop(partition);
    if (!this.#served.delete(partition)) return;
    this.#log.warn({ partition }, 'partition lost: another worker holds a newer epoch');
    this.#onMove?.('lost', partition);
    void this.#host?.unserve(partition);
    this.#poke();
  }

  /** Start following membership and serving what is assigned here. */
  start(host: PartitionHost): void {
    this.#host = host;
    this.#running = true;
    this.#leases.start();
    this.#membership.onChange((members) => {
      this.#members = members;
      this.#poke();
    });
    this.#members = this.#membership.members();
    this.#peers?.start();
    this.#dirty = true;
    this.#loop = this.#run();
  }

  /** Planned leave: release every partition (in-flight commands finish first) and stop. */
  async leave(): Promise<void> {
    this.#leaving = true;
    this.#running = false;
    // Peers that stop now (every worker at a Ctrl-C) are leaving, not crashed: judge nobody.
    this.#peers?.stopJudging();
    this.#wake?.();
    await this.#loop;
    for (const partition of [...this.#served]) await this.#release(partition);
    await this.#leases.stop();
    await this.#peers?.stop();
  }

  async releaseAll(): Promise<void> {
    await this.leave();
  }

  #poke(): void {
    this.#dirty = true;
    this.#wake?.();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      try {
        if (this.#dirty) {
          this.#dirty = false;
          await this.#reconcile();
        }
      } catch (error) {
        this.#log.warn({ err: error }, 'partition reconcile failed; retrying');
        this.#dirty = true;
        await sleep(500);
      }
      if (!this.#dirty && this.#running) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, 1_000);
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

  /** The members whose connection is not known to be gone. */
  #alive(): readonly string[] {
    const gone = this.#peers?.gone();
    return gone === undefined || gone.size === 0 ? this.#members : this.#members.filter((m) => !gone.has(m));
  }

  async #reconcile(): Promise<void> {
    const me = this.#workerId;
    const alive = this.#alive();
    const members = alive.includes(me) || alive.length === 0 ? alive : [...alive, me].sort();
    this.#target = this.#assign(members, this.#partitionCount);
    // Release first, so partitions flow to their new owners while we take ours.
    for (const partition of [...this.#served]) {
      if (!this.#running) return;
      if (this.#target[partition] !== me) await this.#release(partition);
    }
    const wanted = this.#target.flatMap((owner, p) => (owner === me && !this.#served.has(p) ? [p] : []));
    if (wanted.length === 0) return;
    const perMove = 1_000 / this.#movesPerSecond;
    const deadline = Date.now() + this.#handoverTimeoutMs;
    let pending = wanted;
    // Partitions handed over by a live owner are paced; those of a crashed or absent owner are
    // taken at once, since nobody serves them (failover should not wait on the rate limit).
    let handedOver: Set<number> | undefined;
    while (pending.length > 0 && this.#running && !this.#dirty) {
      const rows = await this.#store.partitionEpochs();
      const holder = new Map(rows.map((r) => [r.partition, r.owner]));
      const epochOf = new Map(rows.map((r) => [r.partition, r.epoch]));
      const gone = this.#peers?.gone() ?? new Set<string>();
      handedOver ??= new Set(
        pending.filter((p) => {
          const owner = holder.get(p) ?? null;
          return owner !== null && owner !== me && alive.includes(owner);
        }),
      );
      const inHandover = handedOver;
      const next: number[] = [];
      const fromOf = (partition: number): { owner: string; epoch: number } | undefined => {
        const current = holder.get(partition) ?? null;
        // An owner whose NATS connection is gone cannot answer: its partitions are stolen under the epoch seen.
        return current !== null && current !== me && gone.has(current) ? { owner: current, epoch: epochOf.get(partition) ?? 0 } : undefined;
      };
      // Wait for a live previous owner to finish and release; a dead or absent one is not waited
      // for. Either way Postgres grants the claim only once the previous holder's lease is over
      // (or, for an owner proven gone, steals it under the epoch seen).
      const free = pending.filter((p) => {
        const current = holder.get(p) ?? null;
        return current === null || current === me || !alive.includes(current) || Date.now() >= deadline;
      });
      next.push(...pending.filter((p) => !free.includes(p)));
      // Orphans are taken at once, several claims at a time: nobody serves them.
      const orphans = free.filter((p) => !inHandover.has(p));
      for (let i = 0; i < orphans.length && this.#running && !this.#dirty; i += 8) {
        const batch = orphans.slice(i, i + 8);
        const taken = await Promise.all(batch.map((p) => this.#acquire(p, fromOf(p))));
        batch.forEach((p, j) => {
          if (!taken[j]) next.push(p);
        });
      }
      for (const partition of free.filter((p) => inHandover.has(p))) {
        if (!this.#running || this.#dirty) return;
        if (!(await this.#acquire(partition, fromOf(partition)))) {
          next.push(partition);
          continue;
        }
        await sleep(perMove);
      }
      if (!this.#running || this.#dirty) return;
      pending = next;
      if (pending.length > 0) await sleep(100);
    }
  }

  /** Claim `partition` (or steal it from an owner proven gone); false while the previous holder's lease still runs. */
  async #acquire(partition: number, from?: { readonly owner: string; readonly epoch: number }): Promise<boolean> {
    const epoch = from === undefined || from.epoch < 1 ? await this.#leases.claim(partition) : await this.#leases.steal(partition, from);
    if (epoch === null) return false;
    this.#served.add(partition);
    this.#moves += 1;
    this.#host?.serve(partition);
    this.#onMove?.('acquired', partition);
    this.#log.info({ partition, epoch, ...(from === undefined ? {} : { stolenFrom: from.owner }) }, 'partition acquired');
    return true;
  }

  async #release(partition: number): Promise<void> {
    if (!this.#served.delete(partition)) return;
    const epoch = this.#leases.fenceFor(partition)?.epoch;
    await this.#host?.unserve(partition);
    await this.#leases.release(partition);
    this.#moves += 1;
    this.#onMove?.('released', partition);
    this.#log.info({ partition, epoch, leaving: this.#leaving }, 'partition released');
  }
}
