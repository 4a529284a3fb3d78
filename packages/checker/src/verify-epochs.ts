import type pg from 'pg';
import type { Tally } from './check-category.js';

/**
 * C9, store-wide (fencing is a property of each partition, not of one history): per partition, in
 * commit order (transaction_id, global_position), no event has a lower epoch than one committed
 * before it, and no event's epoch is above the partition's current epoch in `partitions`.
 */
export async function verifyEpochs(client: pg.ClientBase, schema: string, tally: Tally, maxDetails: number): Promise<void> {
  const s = `"${schema}"`;
  const stale = `
    WITH ordered AS (
      SELECT stream_id, version, partition, epoch, transaction_id, global_position,
             max(epoch) OVER (PARTITION BY partition ORDER BY transaction_id, global_position
                              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prior_max
      FROM ${s}.events WHERE epoch IS NOT NULL
    )
    SELECT o.stream_id, o.version, o.partition, o.epoch, o.prior_max, coalesce(p.epoch, 0) AS current_epoch
    FROM ordered o LEFT JOIN ${s}.partitions p ON p.partition = o.partition
    WHERE o.epoch < o.prior_max OR o.epoch > coalesce(p.epoch, 0) OR o.partition IS NULL`;
  // One client, so one query at a time.
  const checked = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${s}.events WHERE epoch IS NOT NULL`);
  const count = await client.query<{ n: string }>(`SELECT count(*) AS n FROM (${stale}) v`);
  const rows = await client.query<{
    stream_id: string;
    version: number;
    partition: number | null;
    epoch: string;
    prior_max: string | null;
    current_epoch: string;
  }>(`${stale} ORDER BY o.transaction_id, o.global_position LIMIT ${Math.max(0, Math.floor(maxDetails))}`);
  tally.checked('C9', Number(checked.rows[0]?.n ?? 0));
  const total = Number(count.rows[0]?.n ?? 0);
  for (const r of rows.rows) {
    const why =
      r.partition === null
        ? 'has an epoch but no partition'
        : r.prior_max !== null && Number(r.epoch) < Number(r.prior_max)
          ? `committed after an event with epoch ${r.prior_max} in partition ${r.partition}`
          : `is above partition ${r.partition}'s current epoch ${r.current_epoch}`;
    tally.violation('C9', `${r.stream_id}@${r.version} (epoch ${r.epoch}) ${why}`);
  }
  if (total > rows.rows.length)
    tally.violation('C9', `… and ${total - rows.rows.length} more stale-epoch events`, total - rows.rows.length);
}
