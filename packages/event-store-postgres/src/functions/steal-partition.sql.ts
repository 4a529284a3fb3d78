import { partitionLockClass } from '../partition-lock-class.js';
import type { LiveFunction } from './live-function.js';

/**
 * `steal_partition(partition, owner, holder, lease_ms, from_owner, from_epoch)`: take a partition
 * from an owner proven gone (its NATS connection closed) before its lease runs out: bump the epoch
 * only if `from_owner` still holds it at `from_epoch` — a compare-and-set, so a partition released,
 * re-claimed or stolen meanwhile is left alone. Returns the new epoch, or NULL when refused. Safe
 * without waiting for the lease because the old owner can neither receive a command (its
 * subscriptions went with its connection) nor answer one from memory after reconnecting before a
 * renewal under its old epoch — which now fails — and every append of it is fenced.
 * Since migration 10.
 */
export const stealPartitionSql: LiveFunction = {
  signature: 'steal_partition(integer,text,text,integer,text,bigint)',
  sql: (s) => `
CREATE OR REPLACE FUNCTION ${s}.steal_partition(stolen_partition int, new_owner text, new_holder text, lease_ms int, from_owner text, from_epoch bigint)
RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
  new_epoch bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(${partitionLockClass(s)}, stolen_partition);
  UPDATE ${s}.partitions AS t
     SET epoch = t.epoch + 1, owner = new_owner, holder = new_holder,
         lease_expires_at = now() + lease_ms * interval '1 millisecond', updated_at = now()
   WHERE t.partition = stolen_partition AND t.owner = from_owner AND t.epoch = from_epoch
  RETURNING t.epoch INTO new_epoch;
  RETURN new_epoch;
END
$fn$;
`,
};
