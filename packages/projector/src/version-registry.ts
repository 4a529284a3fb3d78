import { requireItem } from '@ratchet/core';
import type { FeedCheckpoint } from '@ratchet/event-store-postgres';
import type pg from 'pg';
import type { Projection } from './define-projection.js';
import { PROJECTIONS_SCHEMA } from './define-projection.js';
import { inTransaction } from './in-transaction.js';

const S = `"${PROJECTIONS_SCHEMA}"`;

/** A projection version's row in `ratchet_projections.versions`, as far as running it needs. */
export interface VersionState {
  /** 'building': not yet caught up with the feed up to its fence; 'following': built. */
  readonly status: 'building' | 'following';
  /** How far the version's batches read the feed (rebuild, feed mode); they move it in their transaction. */
  readonly feed: FeedCheckpoint;
  /** The rebuild's transaction fence (an xid8, decimal), once taken. */
  readonly fence: string | null;
  /** Feed events the version's batches have read so far (rebuild progress survives a restart). */
  readonly feedEvents: number;
}

/**
 * One projection version's registry row: created as 'building' with the version's tables, its
 * rebuild fence, and the switch to 'following'. The row's feed checkpoint and counters move inside
 * each batch's transaction (apply-events.ts, `saveProgress`), not here.
 */
export class VersionRegistry {
  readonly #projection: Projection;
  readonly #pool: pg.Pool;
  readonly #storePool: pg.Pool;

  /** `pool` holds the registry and read models; `storePool` is on the event store's database (the fence). */
  constructor(projection: Projection, pool: pg.Pool, storePool: pg.Pool) {
    this.#projection = projection;
    this.#pool = pool;
    this.#storePool = storePool;
  }

  /**
   * Create the version's tables (its `setup`, idempotent) and its row, as 'building' when new,
   * under the projection's advisory lock so two processes starting at once do not race.
   */
  async register(): Promise<void> {
    const p = this.#projection;
    await inTransaction(this.#pool, async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('ratchet_projections:' || $1))`, [p.name]);
      await p.setup(client, p.tableNames);
      await client.query(
        `INSERT INTO ${S}.versions (name, version, status, tables) VALUES ($1, $2, 'building', $3) ON CONFLICT DO NOTHING`,
        [p.name, p.version, p.tables],
      );
    });
  }

  /** The row as it is now. */
  async state(): Promise<VersionState> {
    const p = this.#projection;
    const res = await this.#pool.query<{
      status: 'building' | 'following';
      feed_transaction_id: string;
      feed_global_position: string;
      feed_fence: string | null;
      feed_events: string;
    }>(
      `SELECT status, feed_transaction_id::text, feed_global_position, feed_fence::text, feed_events FROM ${S}.versions WHERE name = $1 AND version = $2`,
      [p.name, p.version],
    );
    const row = requireItem(res.rows, 0, `versions row of ${p.name} v${p.version}`);
    return {
      status: row.status,
      feed: { transactionId: row.feed_transaction_id, globalPosition: Number(row.feed_global_position) },
      fence: row.feed_fence,
      feedEvents: Number(row.feed_events),
    };
  }

  /**
   * Take the rebuild's fence now and keep it: `pg_snapshot_xmax` on the store's database, the first
   * transaction id not yet started. Every transaction below it is in the feed once
   * `pg_snapshot_xmin` passes it; every later one committed after the caller's consumer existed.
   */
  async takeFence(): Promise<string> {
    const p = this.#projection;
    const fence = requireItem(
      (await this.#storePool.query<{ x: string }>(`SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS x`)).rows,
      0,
      'row of pg_snapshot_xmax',
    ).x;
    await this.#pool.query(`UPDATE ${S}.versions SET feed_fence = $3::xid8 WHERE name = $1 AND version = $2`, [p.name, p.version, fence]);
    return fence;
  }

  /** The rebuild is done: from now on the version follows its source (and may be switched to). */
  async markFollowing(): Promise<void> {
    const p = this.#projection;
    await this.#pool.query(`UPDATE ${S}.versions SET status = 'following', following_at = now() WHERE name = $1 AND version = $2`, [
      p.name,
      p.version,
    ]);
  }
}
