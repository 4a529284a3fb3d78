import { ValidationError } from '@ratchet/core';
import type { NewEvent, RecordedEvent, ValidationIssue } from '@ratchet/core';
import pg from 'pg';
import type { AppendOptions, AppendOutcome, AppendRequest, AppendResult, ExpectedVersion, ProcessedCommand } from './append-request.js';
import { assertStreamId, encodeAppendRequest } from './encode-append-request.js';
import type { EncodedAppend } from './encode-append-request.js';
import { executeAppendBatch } from './execute-append-batch.js';
import { statementName } from './statement-name.js';
import { partitionLockClass } from './partition-lock-class.js';
import { FEED_START } from './feed-checkpoint.js';
import type { FeedCheckpoint, FeedHead, FeedPage } from './feed-checkpoint.js';
import type { PartitionClaim, PartitionEpoch, PartitionLeaseRenewal } from './partition-epoch.js';
import { EVENT_COLUMNS, recordedEventFromRow } from './recorded-event-row.js';
import type { RecordedEventRow } from './recorded-event-row.js';
import { runMigrations } from './run-migrations.js';
import type { MigrationReport } from './run-migrations.js';
import { quoteSchemaName } from './schema-name.js';
import type { Snapshot, SnapshotInput } from './snapshot.js';
import { toStoreError } from './store-error.js';

/** Options of {@link createPostgresEventStore}. Give `connectionString` or `pool`. */
export interface PostgresEventStoreOptions {
  /** Postgres URL; the store creates (and `close()` ends) its own pool. No default. */
  readonly connectionString?: string;
  /** A pool owned by the caller; `close()` leaves it open. Wins over `connectionString`. No default. */
  readonly pool?: pg.Pool;
  /** Schema holding the store's tables, a lower-case identifier. Default `'ratchet'`. */
  readonly schema?: string;
  /** Size of the pool created from `connectionString`. Default 10. */
  readonly poolSize?: number;
}

/** Options of {@link PostgresEventStore.appendBatch}. */
export interface AppendBatchOptions {
  /** Attempts in total when the batch transaction deadlocks or hits a serialization failure. Default 5. */
  readonly maxAttempts?: number;
}

/** Options of {@link PostgresEventStore.readStream}. */
export interface ReadStreamOptions {
  /** First version to read. Default 1. */
  readonly fromVersion?: number;
  /** Last version to read, inclusive. Default: the end of the stream. */
  readonly toVersion?: number;
  /** Most events to return. Default: no limit. */
  readonly limit?: number;
}

/** The Postgres event store: the only source of truth of Ratchet. */
export interface PostgresEventStore {
  /** The schema the store uses. */
  readonly schema: string;
  /** Create or upgrade the store's tables; idempotent and safe to run from many processes at once. */
  migrate(): Promise<MigrationReport>;
  /** Append events to one stream in one transaction; throws VersionConflictError, FencedError, COMMAND_ID_REUSED or ValidationError. */
  append(streamId: string, expectedVersion: ExpectedVersion, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  /** Group commit: many appends in one transaction and one round trip, one outcome per request in order. */
  appendBatch(requests: readonly AppendRequest[], options?: AppendBatchOptions): Promise<AppendOutcome[]>;
  /** A stream's events in version order. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** A stream's current version, 0 when it has no events. */
  streamVersion(streamId: string): Promise<number>;
  /** Save a snapshot unless a newer one (same machine version) is already stored; resolves true when saved. */
  saveSnapshot(snapshot: SnapshotInput): Promise<boolean>;
  /** The stream's snapshot if it was taken by `machineVersion`, else null. */
  loadSnapshot(streamId: string, machineVersion: string): Promise<Snapshot | null>;
  /** Up to `limit` events after `after` in commit order; never skips an event that commits late. */
  readFeed(after: FeedCheckpoint | null, limit: number): Promise<FeedPage>;
  /** The end of the feed now, for lag. */
  feedHead(): Promise<FeedHead>;
  /** Highest global position written so far (committed or in flight), 0 when empty: a cheap upper bound for lag. */
  feedMaxPosition(): Promise<number>;
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
   * Extend the lease of every listed partition that `holder` still holds at the listed epoch, to
   * `leaseMs` from now (Postgres's clock). Resolves the partitions renewed; a missing one was claimed by another.
   */
  renewPartitionLeases(renewal: PartitionLeaseRenewal): Promise<number[]>;
  /** Clear the owner and the lease if `owner` still holds `epoch`; resolves true when released. The epoch is kept. */
  releasePartition(partition: number, owner: string, epoch: number): Promise<boolean>;
  /** Every partition's epoch and owner. */
  partitionEpochs(): Promise<PartitionEpoch[]>;
  /** End the pool if the store created it. */
  /** The first result of a processed command id, or null when it never committed. */
  findCommand(commandId: string): Promise<ProcessedCommand | null>;
  /** A feed follower's saved checkpoint, or null. */
  loadCheckpoint(name: string): Promise<FeedCheckpoint | null>;
  /**
   * Save a feed follower's checkpoint. `{ durable: false }` commits without waiting for the WAL
   * flush (`synchronous_commit = off` for this transaction only): for followers whose work is
   * idempotent (the outbox relay), so a checkpoint lost in a server crash only means redoing a
   * little, while commands never queue behind its flush.
   */
  saveCheckpoint(name: string, checkpoint: FeedCheckpoint, options?: { readonly durable?: boolean }): Promise<void>;
  /** Take the named lease, or renew it when `holder` has it; false while someone else holds an unexpired one. */
  tryAcquireLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Give a lease up early (on drain) so another holder need not wait for it to expire. */
  releaseLease(name: string, holder: string): Promise<void>;
  close(): Promise<void>;
}

function invalid(message: string, issues: ValidationIssue[]): never {
  throw new ValidationError(message, issues);
}

function checkInt(value: unknown, path: string, min: number, max = 2_147_483_647): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    invalid(`invalid ${path}`, [{ path: [path], message: `must be an integer from ${min} to ${max}` }]);
  }
  return value;
}

function checkText(value: unknown, path: string, maxLength = 200): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength || value.includes('\u0000')) {
    invalid(`invalid ${path}`, [{ path: [path], message: `must be a non-empty string of at most ${maxLength} characters` }]);
  }
  return value;
}

/**
 * Create a Postgres event store. Call `migrate()` once before use.
 * @example
 * const store = createPostgresEventStore({ connectionString: process.env.DATABASE_URL });
 * await store.migrate();
 * const { version } = await store.append('turnstile-1', 0, [{ type: 'installed', data: {} }], { commandId: 'c-1' });
 */
export function createPostgresEventStore(options: PostgresEventStoreOptions): PostgresEventStore {
  const schemaName = options.schema ?? 'ratchet';
  const s = quoteSchemaName(schemaName);
  const ownsPool = options.pool === undefined;
  let pool: pg.Pool;
  if (options.pool !== undefined) {
    pool = options.pool;
  } else {
    if (options.connectionString === undefined) {
      invalid('connectionString or pool is required', [{ path: ['connectionString'], message: 'required when no pool is given' }]);
    }
    const max = options.poolSize === undefined ? 10 : checkInt(options.poolSize, 'poolSize', 1, 1000);
    pool = new pg.Pool({ connectionString: options.connectionString, max });
    // An idle client losing its server must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
  }

  async function query<R extends pg.QueryResultRow>(operation: string, text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      // Named, so each pooled connection parses and plans the statement once (prepared statement).
      return await pool.query<R>({ name: statementName(text), text, values });
    } catch (err) {
      throw toStoreError(err, operation);
    }
  }

  async function appendBatch(requests: readonly AppendRequest[], batchOptions: AppendBatchOptions = {}): Promise<AppendOutcome[]> {
    if (!Array.isArray(requests)) invalid('requests must be an array', [{ path: ['requests'], message: 'must be an array' }]);
    const maxAttempts = batchOptions.maxAttempts === undefined ? 5 : checkInt(batchOptions.maxAttempts, 'maxAttempts', 1, 100);
    const outcomes: Array<AppendOutcome | undefined> = [];
    const valid: Array<{ index: number; encoded: EncodedAppend; fence: { epoch: number } | undefined }> = [];
    requests.forEach((request, index) => {
      try {
        valid.push({ index, encoded: encodeAppendRequest(request), fence: request.fence });
        outcomes.push(undefined);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        outcomes.push({ ok: false, error: err });
      }
    });
    if (valid.length > 0) {
      const results = await executeAppendBatch(pool, s, valid, { maxAttempts });
      results.forEach((outcome, i) => {
        outcomes[valid[i]!.index] = outcome;
      });
    }
    return outcomes as AppendOutcome[];
  }

  return {
    schema: schemaName,

    async migrate() {
      try {
        return await runMigrations(pool, schemaName, s);
      } catch (err) {
        throw toStoreError(err, 'migrate');
      }
    },

    async append(streamId, expectedVersion, events, appendOptions = {}) {
      const encoded = encodeAppendRequest({ ...appendOptions, streamId, expectedVersion, events });
      const [outcome] = await executeAppendBatch(pool, s, [{ encoded, fence: appendOptions.fence }], { maxAttempts: 5 });
      if (outcome === undefined) throw toStoreError(new Error('no outcome'), 'append');
      if (!outcome.ok) throw outcome.error;
      return outcome.result;
    },

    appendBatch,

    async readStream(streamId, readOptions = {}) {
      assertStreamId(streamId);
      const from = checkInt(readOptions.fromVersion ?? 1, 'fromVersion', 1);
      const to = readOptions.toVersion === undefined ? null : checkInt(readOptions.toVersion, 'toVersion', 0);
      const limit = readOptions.limit === undefined ? null : checkInt(readOptions.limit, 'limit', 0);
      const res = await query<RecordedEventRow>(
        'readStream',
        `SELECT ${EVENT_COLUMNS} FROM ${s}.events
         WHERE stream_id = $1 AND version >= $2 AND ($3::int IS NULL OR version <= $3)
         ORDER BY version LIMIT $4`,
        [streamId, from, to, limit],
      );
      return res.rows.map(recordedEventFromRow);
    },

    async streamVersion(streamId) {
      assertStreamId(streamId);
      const res = await query<{ version: number }>('streamVersion', `SELECT version FROM ${s}.streams WHERE stream_id = $1`, [streamId]);
      return res.rows[0]?.version ?? 0;
    },

    async saveSnapshot(snapshot) {
      assertStreamId(snapshot.streamId);
      const version = checkInt(snapshot.version, 'version', 1);
      const machineVersion = checkText(snapshot.machineVersion, 'machineVersion');
      let state: string | undefined;
      try {
        state = JSON.stringify(snapshot.state);
      } catch {
        state = undefined;
      }
      if (state === undefined || state.includes('\\u0000')) {
        invalid('invalid snapshot state', [{ path: ['state'], message: 'must be JSON-serialisable' }]);
      }
      // Replace an older snapshot, or any snapshot of another machine version (useless to this one).
      const res = await query(
        'saveSnapshot',
        `INSERT INTO ${s}.snapshots AS t (stream_id, version, machine_version, state) VALUES ($1, $2, $3, $4::jsonb)
         ON CONFLICT (stream_id) DO UPDATE
           SET version = excluded.version, machine_version = excluded.machine_version, state = excluded.state, taken_at = now()
         WHERE t.version < excluded.version OR t.machine_version <> excluded.machine_version`,
        [snapshot.streamId, version, machineVersion, state],
      );
      return res.rowCount === 1;
    },

    async loadSnapshot(streamId, machineVersion) {
      assertStreamId(streamId);
      checkText(machineVersion, 'machineVersion');
      const res = await query<{ version: number; state: unknown }>(
        'loadSnapshot',
        `SELECT version, state FROM ${s}.snapshots WHERE stream_id = $1 AND machine_version = $2`,
        [streamId, machineVersion],
      );
      const row = res.rows[0];
      return row === undefined ? null : { version: row.version, state: row.state };
    },

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
      const res = await query<{ transaction_id: string | null; global_position: string | null; max_position: string | null; count: string }>(
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
      const res = await query<{ epoch: string | null }>(
        'tryClaimPartition',
        `SELECT ${s}.try_claim_partition($1, $2, $3, $4) AS epoch`,
        [partition, claim.owner, claim.holder, claim.leaseMs],
      );
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

    async findCommand(commandId) {
      checkText(commandId, 'commandId');
      const res = await query<{ stream_id: string; request_hash: string | null; result: { fromVersion: number; version: number } }>(
        'findCommand',
        `SELECT stream_id, request_hash, result FROM ${s}.processed_commands WHERE command_id = $1`,
        [commandId],
      );
      const row = res.rows[0];
      if (row === undefined) return null;
      const events = await query<RecordedEventRow>(
        'findCommand',
        `SELECT ${EVENT_COLUMNS} FROM ${s}.events WHERE stream_id = $1 AND version BETWEEN $2 AND $3 ORDER BY version`,
        [row.stream_id, row.result.fromVersion, row.result.version],
      );
      return {
        commandId,
        requestHash: row.request_hash,
        result: {
          streamId: row.stream_id,
          fromVersion: row.result.fromVersion,
          version: row.result.version,
          events: events.rows.map(recordedEventFromRow),
          duplicate: true,
        },
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
      const values = saveOptions.durable === false
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

    async tryAcquireLease(name, holder, ttlMs) {
      checkText(name, 'name');
      checkText(holder, 'holder');
      checkInt(ttlMs, 'ttlMs', 1);
      // Postgres's clock decides expiry, so holders' clocks never need to agree.
      const res = await query(
        'tryAcquireLease',
        `INSERT INTO ${s}.leases AS t (name, holder, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE t.holder = excluded.holder OR t.expires_at < now()`,
        [name, holder, ttlMs],
      );
      return res.rowCount === 1;
    },

    async releaseLease(name, holder) {
      await query('releaseLease', `DELETE FROM ${s}.leases WHERE name = $1 AND holder = $2`, [name, holder]);
    },

    async close() {
      if (ownsPool) await pool.end();
    },
  };
}
