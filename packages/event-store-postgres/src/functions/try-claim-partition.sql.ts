import { partitionLockClass } from '../partition-lock-class.js';
import type { LiveFunction } from './live-function.js';

/**
 * `try_claim_partition(partition, owner, holder, lease_ms)`: claim a partition for `new_holder`
 * unless another holder's lease is still running; returns the new epoch, or NULL when refused.
 * Called by `tryClaimPartition`. The fence lock is taken only for a claim that can succeed, so a
 * claimer waiting on a live lease never stalls the holder's appends; the upsert's condition is
 * evaluated again on the latest row after the lock, so a renewal that commits meanwhile wins.
 * Unchanged since migration 7.
 */
export const tryClaimPartitionSql: LiveFunction = {
  signature: 'try_claim_partition(integer,text,text,integer)',
  sql: (s) => `
CREATE OR REPLACE FUNCTION ${s}.try_claim_partition(claimed_partition int, new_owner text, new_holder text, lease_ms int)
RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
  current_holder text;
  current_lease_expires_at timestamptz;
  new_epoch bigint;
BEGIN
  SELECT holder, lease_expires_at INTO current_holder, current_lease_expires_at
  FROM ${s}.partitions WHERE partition = claimed_partition;
  IF current_holder IS NOT NULL AND current_holder <> new_holder AND current_lease_expires_at >= now() THEN
    RETURN NULL;
  END IF;
  PERFORM pg_advisory_xact_lock(${partitionLockClass(s)}, claimed_partition);
  INSERT INTO ${s}.partitions AS t (partition, epoch, owner, holder, lease_expires_at)
  VALUES (claimed_partition, 1, new_owner, new_holder, now() + lease_ms * interval '1 millisecond')
  ON CONFLICT (partition) DO UPDATE
    SET epoch = t.epoch + 1, owner = excluded.owner, holder = excluded.holder,
        lease_expires_at = excluded.lease_expires_at, updated_at = now()
    WHERE t.holder IS NULL OR t.holder = excluded.holder
       OR t.lease_expires_at IS NULL OR t.lease_expires_at < now()
  RETURNING epoch INTO new_epoch;
  RETURN new_epoch;
END
$fn$;
`,
};
