import { FEED_START } from './feed-checkpoint.js';
import type { FeedCheckpoint, FeedHead, FeedPage } from './feed-checkpoint.js';
import { EVENT_COLUMNS, recordedEventFromRow } from './recorded-event-row.js';
import type { RecordedEventRow } from './recorded-event-row.js';
import { checkInt, checkText, invalid } from './store-input.js';
import type { StoreQuery } from './store-query.js';

/** The global feed in commit order, and where its followers have got to. */
export interface FeedStore {
  /** Up to `limit` events after `after` in commit order; never skips an event that commits late. */
  readFeed(after: FeedCheckpoint | null, limit: number): Promise<FeedPage>;
  /** The end of the feed now, for lag. */
  feedHead(): Promise<FeedHead>;
  /** Highest global position written so far (committed or in flight), 0 when empty: a cheap upper bound for lag. */
  feedMaxPosition(): Promise<number>;
  /** A feed follower's saved checkpoint, or null. */
  loadCheckpoint(name: string): Promise<FeedCheckpoint | null>;
  /**
   * Save a feed follower's checkpoint. `{ durable: false }` commits without waiting for the WAL
   * flush (`synchronous_commit = off` for this transaction only): for followers whose work is
   * idempotent (the outbox relay), so a checkpoint lost in a server crash only means redoing a
   * little, while commands never queue behind its flush.
   */
  saveCheckpoint(name: string, checkpoint: FeedCheckpoint, options?: { readonly durable?: boolean }): Promise<void>;
}

/** The feed methods of a store in schema `s` (quoted). */
export function feedStore(query: StoreQuery, s: string): FeedStore {
  return {
    async readFeed(after, limit) {
      const from = after ?? FEED_START;
      if (typeof from.transactionId !== 'string' || !/^\d{1,20}$/.test(from.transactionId)) {
        invalid('invalid feed checkpoint', [{ path: ['after', 'transactionId'], message: 'must be a decimal xid8' }]);
      }
      checkInt(from.globalPosition, 'globalPosition', 0, Number.MAX_SAFE_INTEGER);
      checkInt(limit, 'limit', 1, 100_000);
      // Only transactions below the snapshot's xmin: every one of them has committed or aborted,
      // so no event can later appear behind the checkpoint.
      const res = await query<RecordedEventRow>(
        'readFeed',
        // ORDER BY names the table's columns: the select list casts transaction_id to text, and a text
        // order ('1000' < '986') would break commit order.
        `SELECT ${EVENT_COLUMNS} FROM ${s}.events e
       WHERE (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)
         AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
       ORDER BY e.transaction_id, e.global_position
       LIMIT $3`,
        [from.transactionId, from.globalPosition, limit],
      );
      const events = res.rows.map(recordedEventFromRow);
      const last = events[events.length - 1];
      return {
        events,
        checkpoint: last === undefined ? from : { transactionId: last.transactionId, globalPosition: last.globalPosition },
      };
    },
    async feedMaxPosition() {
      const res = await query<{ max: string | null }>('feedMaxPosition', `SELECT max(global_position) AS max FROM ${s}.events`);
      return Number(res.rows[0]?.max ?? 0);
    },
    async feedHead() {
      const res = await query<{
        transaction_id: string | null;
        global_position: string | null;
        max_position: string | null;
        count: string;
      }>(
        'feedHead',
        `WITH visible AS (
         SELECT e.transaction_id, e.global_position FROM ${s}.events e
         WHERE e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())),
       last AS (
         SELECT v.transaction_id, v.global_position FROM visible v
         ORDER BY v.transaction_id DESC, v.global_position DESC LIMIT 1)
       SELECT (SELECT l.transaction_id::text FROM last l) AS transaction_id,
              (SELECT l.global_position FROM last l) AS global_position,
              (SELECT max(e.global_position) FROM ${s}.events e) AS max_position,
              (SELECT count(*) FROM visible) AS count`,
      );
      const row = res.rows[0];
      return {
        checkpoint:
          row?.transaction_id == null || row.global_position == null
            ? FEED_START
            : { transactionId: row.transaction_id, globalPosition: Number(row.global_position) },
        maxGlobalPosition: Number(row?.max_position ?? 0),
        eventCount: Number(row?.count ?? 0),
      };
    },
    async loadCheckpoint(name) {
      checkText(name, 'name');
      const res = await query<{ transaction_id: string; global_position: string }>(
        'loadCheckpoint',
        `SELECT transaction_id::text AS transaction_id, global_position FROM ${s}.checkpoints WHERE name = $1`,
        [name],
      );
      const row = res.rows[0];
      return row === undefined ? null : { transactionId: row.transaction_id, globalPosition: Number(row.global_position) };
    },
    async saveCheckpoint(name, checkpoint, saveOptions = {}) {
      checkText(name, 'name');
      if (typeof checkpoint.transactionId !== 'string' || !/^\d{1,20}$/.test(checkpoint.transactionId)) {
        invalid('invalid feed checkpoint', [{ path: ['checkpoint', 'transactionId'], message: 'must be a decimal xid8' }]);
      }
      checkInt(checkpoint.globalPosition, 'globalPosition', 0, Number.MAX_SAFE_INTEGER);
      // set_config(..., true) lasts until this statement's implicit transaction commits, and the
      // commit reads synchronous_commit before the setting is reset.
      const values =
        saveOptions.durable === false
          ? `SELECT $1, $2::xid8, $3 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit`
          : `VALUES ($1, $2::xid8, $3)`;
      await query(
        'saveCheckpoint',
        `INSERT INTO ${s}.checkpoints (name, transaction_id, global_position) ${values}
       ON CONFLICT (name) DO UPDATE
         SET transaction_id = excluded.transaction_id, global_position = excluded.global_position, updated_at = now()`,
        [name, checkpoint.transactionId, checkpoint.globalPosition],
      );
    },
  };
}
