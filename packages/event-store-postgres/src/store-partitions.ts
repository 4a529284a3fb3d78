import type { PartitionClaim, PartitionEpoch, PartitionLeaseRenewal } from './partition-epoch.js';
import { partitionLockClass } from './partition-lock-class.js';
import { checkInt, checkText } from './store-input.js';
import type { StoreQuery } from './store-query.js';

/** Partition ownership in Postgres: fencing epochs, leases, owners. */
export interface PartitionStore {
  /**
   * Take a partition over unconditionally: bump its fencing epoch and return the new epoch (waits
   * for in-flight fenced appends). Holds no lease; for tools and tests. Workers use `tryClaimPartition`.
   */
  claimPartition(partition: number, owner: string): Promise<number>;
  /**
   * Take a partition over with a lease: bump its epoch unless another holder's lease is still
   * running (Postgres's clock). Resolves the new epoch, or null when refused.
   */
  tryClaimPartition(partition: number, claim: PartitionClaim): Promise<number | null>;
  /**
   * Take a partition from an owner proven gone (its NATS connection closed), without waiting for its
   * lease: bump the epoch only if `from.owner` still holds it at `from.epoch`. Resolves the new epoch,
   * or null when refused (released, re-claimed or stolen meanwhile).
   */
  stealPartition(
    partition: number,
    claim: PartitionClaim,
    from: { readonly owner: string; readonly epoch: number },
  ): Promise<number | null>;
  /**
   * Extend the lease of every listed partition that `holder` still holds at the listed epoch, to
   * `leaseMs` from now (Postgres's clock). Resolves the partitions renewed; a missing one was claimed by another.
   */
  renewPartitionLeases(renewal: PartitionLeaseRenewal): Promise<number[]>;
  /** Clear the owner and the lease if `owner` still holds `epoch`; resolves true when released. The epoch is kept. */
  releasePartition(partition: number, owner: string, epoch: number): Promise<boolean>;
  /** Every partition's epoch and owner. */
  partitionEpochs(): Promise<PartitionEpoch[]>;
}

/** The partition methods of a store in schema `s` (quoted). */
export function partitionStore(query: StoreQuery, s: string): PartitionStore {
  return {
    async claimPartition(partition, owner) {
      checkInt(partition, 'partition', 0);
      checkText(owner, 'owner');
      // The fence lock, exclusively: waits for fenced appends in flight (they hold it shared), and
      // appends that start meanwhile wait for this commit, then see the new epoch. The upsert
      // works on the latest row version, so its snapshot being older than the lock is harmless.
      const res = await query<{ epoch: string }>(
        'claimPartition',
        `WITH fence AS (SELECT pg_advisory_xact_lock(${partitionLockClass(s)}, $1))
       INSERT INTO ${s}.partitions AS t (partition, epoch, owner) SELECT $1, 1, $2 FROM fence
       ON CONFLICT (partition) DO UPDATE SET epoch = t.epoch + 1, owner = excluded.owner, holder = NULL, lease_expires_at = NULL, updated_at = now()
       RETURNING epoch`,
        [partition, owner],
      );
      return Number(res.rows[0]?.epoch);
    },
    async tryClaimPartition(partition, claim) {
      checkInt(partition, 'partition', 0);
      checkText(claim.owner, 'owner');
      checkText(claim.holder, 'holder');
      checkInt(claim.leaseMs, 'leaseMs', 1);
      const res = await query<{ epoch: string | null }>('tryClaimPartition', `SELECT ${s}.try_claim_partition($1, $2, $3, $4) AS epoch`, [
        partition,
        claim.owner,
        claim.holder,
        claim.leaseMs,
      ]);
      const epoch = res.rows[0]?.epoch;
      return epoch === null || epoch === undefined ? null : Number(epoch);
    },
    async stealPartition(partition, claim, from) {
      checkInt(partition, 'partition', 0);
      checkText(claim.owner, 'owner');
      checkText(claim.holder, 'holder');
      checkInt(claim.leaseMs, 'leaseMs', 1);
      checkText(from.owner, 'from.owner');
      checkInt(from.epoch, 'from.epoch', 1, Number.MAX_SAFE_INTEGER);
      const res = await query<{ epoch: string | null }>('stealPartition', `SELECT ${s}.steal_partition($1, $2, $3, $4, $5, $6) AS epoch`, [
        partition,
        claim.owner,
        claim.holder,
        claim.leaseMs,
        from.owner,
        from.epoch,
      ]);
      const epoch = res.rows[0]?.epoch;
      return epoch === null || epoch === undefined ? null : Number(epoch);
    },

    async renewPartitionLeases(renewal) {
      checkText(renewal.holder, 'holder');
      checkInt(renewal.leaseMs, 'leaseMs', 1);
      if (renewal.partitions.length === 0) return [];
      const partitions = renewal.partitions.map((p, i) => checkInt(p.partition, `partitions.${i}.partition`, 0));
      const epochs = renewal.partitions.map((p, i) => checkInt(p.epoch, `partitions.${i}.epoch`, 1, Number.MAX_SAFE_INTEGER));
      const res = await query<{ partition: number }>(
        'renewPartitionLeases',
        `UPDATE ${s}.partitions AS t SET lease_expires_at = now() + $3 * interval '1 millisecond'
       FROM unnest($1::int[], $2::bigint[]) AS r(partition, epoch)
       WHERE t.partition = r.partition AND t.epoch = r.epoch AND t.holder = $4
       RETURNING t.partition`,
        [partitions, epochs, renewal.leaseMs, renewal.holder],
      );
      return res.rows.map((r) => r.partition).sort((a, b) => a - b);
    },
    async releasePartition(partition, owner, epoch) {
      checkInt(partition, 'partition', 0);
      checkText(owner, 'owner');
      checkInt(epoch, 'epoch', 1, Number.MAX_SAFE_INTEGER);
      const res = await query(
        'releasePartition',
        `UPDATE ${s}.partitions SET owner = NULL, holder = NULL, lease_expires_at = NULL, updated_at = now()
       WHERE partition = $1 AND owner = $2 AND epoch = $3`,
        [partition, owner, epoch],
      );
      return res.rowCount === 1;
    },
    async partitionEpochs() {
      const res = await query<{ partition: number; epoch: string; owner: string | null }>(
        'partitionEpochs',
        `SELECT partition, epoch, owner FROM ${s}.partitions ORDER BY partition`,
      );
      return res.rows.map((r) => ({ partition: r.partition, epoch: Number(r.epoch), owner: r.owner }));
    },
  };
}
