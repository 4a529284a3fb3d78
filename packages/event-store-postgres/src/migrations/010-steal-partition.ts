import type { Migration } from './migration.js';

/**
 * Migration 10: `steal_partition`, for failover in under a second: a worker proven gone (its NATS
 * connection closed, so NATS answers "no responders" for its subjects) loses its partitions at
 * once instead of when its lease runs out. A compare-and-set on the owner and epoch seen, under
 * the partition's fence lock (see functions/steal-partition.sql.ts for why it is safe).
 */
export const migration010: Migration = {
  version: 10,
  name: 'steal partitions of a worker proven gone',
  sql: (s) => `
CREATE OR REPLACE FUNCTION ${s}.steal_partition(stolen_partition int, new_owner text, new_holder text, lease_ms int, from_owner text, from_epoch bigint)
RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
  new_epoch bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('${s}.partitions'), stolen_partition);
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
