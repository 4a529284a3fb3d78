import type { Migration } from './migration.js';

/**
 * Migration 7: partition leases. A claim by one worker must never overlap another worker's right
 * to answer from memory, so ownership carries a lease: the holder (one process incarnation) renews
 * `lease_expires_at` (Postgres's clock) while it serves the partition, and a claim succeeds only
 * when the row is released, held by the same incarnation, or its lease has run out. Rows written
 * by the unconditional `claimPartition` have no holder and no lease, and stay claimable at once.
 */
export const migration007: Migration = {
  version: 7,
  name: 'partition leases',
  sql: (s) => `
ALTER TABLE ${s}.partitions
  ADD COLUMN holder text NULL,
  ADD COLUMN lease_expires_at timestamptz NULL;

COMMENT ON COLUMN ${s}.partitions.holder IS
  'The process incarnation that holds the partition lease (NULL: released, or claimed without a lease).';
COMMENT ON COLUMN ${s}.partitions.lease_expires_at IS
  'Postgres time until which no other holder may claim the partition; renewed by the holder while it serves it.';

-- Claim a partition for new_holder unless another holder's lease is still running. Returns the new
-- epoch, or NULL when refused. The fence lock is taken only for a claim that can succeed, so a
-- claimer waiting on a live lease never stalls the holder's appends; the upsert's condition is
-- evaluated again on the latest row after the lock, so a renewal that commits meanwhile wins.
CREATE FUNCTION ${s}.try_claim_partition(claimed_partition int, new_owner text, new_holder text, lease_ms int)
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
  PERFORM pg_advisory_xact_lock(hashtext('${s}.partitions'), claimed_partition);
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
