import { randomUUID } from 'node:crypto';
import type { Fence, PartitionClaim, PartitionStore } from '@ratchet/event-store-postgres';
import type { Logger } from 'pino';

/** The store calls that leases make: Postgres holds every lease and decides every claim. */
export type LeaseStore = Pick<PartitionStore, 'tryClaimPartition' | 'stealPartition' | 'renewPartitionLeases' | 'releasePartition'>;

/** Options of {@link PartitionLeases}. */
export interface PartitionLeasesOptions {
  readonly store: LeaseStore;
  /** The worker id, recorded as the partitions' owner. */
  readonly owner: string;
  /** This process incarnation's holder token. Default `<owner>:<random UUID>`. */
  readonly holder?: string;
  /** Lease length granted by each claim and renewal, by Postgres's clock (ms). Default 5,000. */
  readonly leaseMs?: number;
  /** How often held leases are renewed (ms). Default a fifth of `leaseMs`. */
  readonly renewEveryMs?: number;
  /**
   * How much earlier than Postgres the local lease ends (ms): room for clock-rate drift between this
   * host and Postgres's. Default a fifth of `leaseMs`.
   */
  readonly marginMs?: number;
  /** Called when a renewal finds a partition claimed by another holder. */
  readonly onLost: (partition: number) => void;
  readonly logger: Logger;
  /** Monotonic clock in ms. Default `performance.now`. */
  readonly now?: () => number;
  /** Wall clock in ms, compared with the monotonic one to notice a suspended host. Default `Date.now`. */
  readonly wallNow?: () => number;
  /**
   * Identifies this process's NATS connection; when it changes (a reconnect), the leases do not hold
   * until a renewal started on the new connection succeeds — a partition may have been taken from
   * this worker while it was away from NATS (see `stealPartition`). Default: never changes.
   */
  readonly connectionId?: () => string | undefined;
}

interface Held {
  readonly epoch: number;
  /** Monotonic time until which this process may answer from memory for the partition. */
  deadline: number;
}

/**
 * The partitions this process holds, each with its fencing epoch and a local lease deadline.
 *
 * A claim or renewal sent at local time `t` gives Postgres `lease_expires_at = now() + leaseMs`,
 * where Postgres's `now()` is no earlier than `t`; no other holder can claim the partition before
 * that. Locally the lease ends at `t + leaseMs - marginMs` on the monotonic clock, so while
 * {@link holds} is true nobody else can have claimed the partition, let alone written to it: the
 * actors' in-memory state is the store's state, and an answer computed from it is true. A pause
 * (SIGSTOP, a long GC) longer than the rest of the lease shows up as the monotonic clock passing
 * the deadline, so a resumed process answers nothing from memory until a renewal succeeds, and a
 * renewal succeeds only under the epoch it held, so a partition taken over meanwhile is reported lost.
 */
export class PartitionLeases {
  readonly holder: string;
  readonly leaseMs: number;
  readonly #store: LeaseStore;
  readonly #owner: string;
  readonly #renewEveryMs: number;
  readonly #marginMs: number;
  readonly #onLost: (partition: number) => void;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #wallNow: () => number;
  readonly #connectionId: () => string | undefined;
  /** The connection the latest claim or successful renewal was sent on. */
  #connection: string | undefined;
  readonly #held = new Map<number, Held>();
  #timer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> | undefined;
  #running = false;
  #failing = false;
  /** Wall minus monotonic time at the last successful renewal; a jump means the host was suspended. */
  #clockOffset: number | undefined;
  /** When answers were first refused for a lapsed lease (monotonic), until the next renewal. */
  #lapsedSince: number | undefined;
  #refusals = 0;
  #refusedInLapse = 0;

  constructor(options: PartitionLeasesOptions) {
    this.#store = options.store;
    this.#owner = options.owner;
    this.holder = options.holder ?? `${options.owner}:${randomUUID()}`;
    this.leaseMs = options.leaseMs ?? 5_000;
    this.#renewEveryMs = options.renewEveryMs ?? Math.max(50, Math.floor(this.leaseMs / 5));
    this.#marginMs = options.marginMs ?? Math.max(50, Math.floor(this.leaseMs / 5));
    if (this.#marginMs + this.#renewEveryMs >= this.leaseMs) {
      throw new RangeError(
        `lease ${this.leaseMs} ms leaves no time between renewals (renew every ${this.#renewEveryMs} ms, margin ${this.#marginMs} ms)`,
      );
    }
    this.#onLost = options.onLost;
    this.#log = options.logger;
    this.#now = options.now ?? (() => performance.now());
    this.#wallNow = options.wallNow ?? Date.now;
    this.#connectionId = options.connectionId ?? (() => undefined);
    this.#connection = this.#connectionId();
  }

  /** Partitions held now, with their epochs. */
  epochs(): ReadonlyMap<number, number> {
    return new Map([...this.#held].map(([p, h]) => [p, h.epoch]));
  }

  /** How many partitions are held. */
  get size(): number {
    return this.#held.size;
  }

  /** Answers refused so far because a lease had lapsed. */
  get refusals(): number {
    return this.#refusals;
  }

  /** Whether this process holds `partition` (its lease may have lapsed: see {@link holds}). */
  has(partition: number): boolean {
    return this.#held.has(partition);
  }

  /** The fence to write `partition` under, or undefined when not held. */
  fenceFor(partition: number): Fence | undefined {
    const held = this.#held.get(partition);
    return held === undefined ? undefined : { partition, epoch: held.epoch };
  }

  /**
   * Whether this process may answer for `partition` from memory now: it holds the partition and its
   * local lease has not run out. A false answer counts as a refusal and asks for a renewal at once.
   */
  holds(partition: number): boolean {
    const held = this.#held.get(partition);
    if (held === undefined) return false;
    const now = this.#now();
    if (now < held.deadline && !this.#suspended(now) && this.#connectionId() === this.#connection) return true;
    this.#refusals += 1;
    this.#refusedInLapse += 1;
    if (this.#lapsedSince === undefined) {
      this.#lapsedSince = now;
      this.#log.warn(
        { partition, overdueMs: Math.round(now - held.deadline) },
        'partition lease lapsed: answering UNAVAILABLE until it is renewed',
      );
    }
    this.renewSoon();
    return false;
  }

  /** Claim `partition` with a lease; resolves its epoch, or null while another holder's lease runs. */
  async claim(partition: number): Promise<number | null> {
    return this.#take(partition, (claim) => this.#store.tryClaimPartition(partition, claim));
  }

  /** Take `partition` from `from.owner`, proven gone, at the epoch seen; null when refused (it moved meanwhile). */
  async steal(partition: number, from: { readonly owner: string; readonly epoch: number }): Promise<number | null> {
    return this.#take(partition, (claim) => this.#store.stealPartition(partition, claim, from));
  }

  async #take(partition: number, take: (claim: PartitionClaim) => Promise<number | null>): Promise<number | null> {
    const sentAt = this.#now();
    const connection = this.#connectionId();
    const epoch = await take({ owner: this.#owner, holder: this.holder, leaseMs: this.leaseMs });
    if (epoch === null) return null;
    // Claimed on another connection than the leases were last renewed on: the next renewal revalidates them all.
    if (connection !== this.#connection) this.renewSoon();
    this.#held.set(partition, { epoch, deadline: sentAt + this.leaseMs - this.#marginMs });
    return epoch;
  }

  /** Stop answering for `partition` at once, then clear its owner in Postgres (errors are logged). */
  async release(partition: number): Promise<void> {
    const held = this.#held.get(partition);
    if (held === undefined) return;
    this.#held.delete(partition);
    await this.#store.releasePartition(partition, this.#owner, held.epoch).catch((error: unknown) => {
      this.#log.warn({ err: error, partition }, 'release not recorded; the next owner waits for the lease to expire');
    });
  }

  /** Forget `partition` without releasing it (another holder has it now). */
  drop(partition: number): boolean {
    return this.#held.delete(partition);
  }

  /** Renew every held lease on a timer until {@link stop}. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(this.#renewEveryMs);
  }

  /** Stop renewing (held leases then run out in Postgres unless released). */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#renewing;
  }

  /** Renew now instead of at the next tick (after a lapse was noticed). */
  renewSoon(): void {
    if (!this.#running || this.#renewing !== undefined) return;
    clearTimeout(this.#timer);
    this.#schedule(0);
  }

  /** Renew every held lease once; partitions Postgres no longer has under our epoch are reported lost. */
  async renew(): Promise<void> {
    if (this.#renewing !== undefined) return this.#renewing;
    this.#renewing = this.#renewOnce().finally(() => {
      this.#renewing = undefined;
    });
    return this.#renewing;
  }

  async #renewOnce(): Promise<void> {
    const sent = [...this.#held].map(([partition, h]) => ({ partition, epoch: h.epoch }));
    const sentAt = this.#now();
    // Leases already over when this renewal starts: the process was paused or renewals failed.
    const lapsedAt = Math.min(...[...this.#held.values()].map((h) => h.deadline));
    const wallAt = this.#wallNow();
    const connection = this.#connectionId();
    let renewed: number[];
    try {
      renewed = await this.#store.renewPartitionLeases({ holder: this.holder, leaseMs: this.leaseMs, partitions: sent });
    } catch (error) {
      if (!this.#failing) this.#log.warn({ err: error }, 'partition lease renewal failed; retrying every renew interval');
      this.#failing = true;
      return;
    }
    if (this.#failing) this.#log.info('partition lease renewals recovered');
    this.#failing = false;
    this.#clockOffset = wallAt - sentAt;
    this.#connection = connection;
    const ok = new Set(renewed);
    for (const { partition, epoch } of sent) {
      const held = this.#held.get(partition);
      if (held === undefined || held.epoch !== epoch) continue; // released or re-claimed meanwhile
      if (ok.has(partition)) {
        held.deadline = Math.max(held.deadline, sentAt + this.leaseMs - this.#marginMs);
      } else {
        this.#held.delete(partition);
        this.#onLost(partition);
      }
    }
    if (this.#lapsedSince !== undefined || lapsedAt < sentAt) {
      const now = this.#now();
      this.#log.info(
        {
          lapsedMs: Math.round(now - Math.min(lapsedAt, this.#lapsedSince ?? lapsedAt)),
          renewalMs: Math.round(now - sentAt),
          refused: this.#refusedInLapse,
          lost: sent.length - renewed.length,
        },
        'partition leases renewed after a lapse',
      );
      this.#lapsedSince = undefined;
      this.#refusedInLapse = 0;
    }
  }

  #schedule(delayMs: number): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.renew().then(() => this.#schedule(this.#renewEveryMs));
    }, delayMs);
    this.#timer.unref();
  }

  /**
   * The monotonic clock stops while a host or VM is suspended but the wall clock catches up on
   * resume: a jump between them larger than the margin voids the leases until the next renewal.
   */
  #suspended(now: number): boolean {
    if (this.#clockOffset === undefined) return false;
    return Math.abs(this.#wallNow() - now - this.#clockOffset) > this.#marginMs;
  }
}
