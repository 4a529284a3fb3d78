/** A partition's fencing epoch and current owner. */
export interface PartitionEpoch {
  readonly partition: number;
  readonly epoch: number;
  readonly owner: string | null;
}

/** A leased claim of a partition (see `PostgresEventStore.tryClaimPartition`). */
export interface PartitionClaim {
  /** The worker id recorded as owner (shown by `ratchet status`). */
  readonly owner: string;
  /** The claiming process incarnation: only it may renew the lease or claim again while it runs. */
  readonly holder: string;
  /** Lease length from the claim, by Postgres's clock, in ms. */
  readonly leaseMs: number;
}

/** The leases a holder renews in one statement (see `PostgresEventStore.renewPartitionLeases`). */
export interface PartitionLeaseRenewal {
  readonly holder: string;
  readonly leaseMs: number;
  /** The partitions to renew, each with the epoch the holder claimed it at. */
  readonly partitions: ReadonlyArray<{ readonly partition: number; readonly epoch: number }>;
}
