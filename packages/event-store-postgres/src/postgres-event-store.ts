import { ValidationError } from '@ratchet/core';
import type { NewEvent, RecordedEvent } from '@ratchet/core';
import pg from 'pg';
import type { AppendOptions, AppendOutcome, AppendRequest, AppendResult, ExpectedVersion, ProcessedCommand } from './append-request.js';
import { assertStreamId, encodeAppendRequest } from './encode-append-request.js';
import type { EncodedAppend } from './encode-append-request.js';
import { executeAppendBatch } from './execute-append-batch.js';
import { feedStore, type FeedStore } from './store-feed.js';
import { checkInt, checkText, invalid } from './store-input.js';
import { namedLeaseStore, type NamedLeaseStore } from './store-named-leases.js';
import { partitionStore, type PartitionStore } from './store-partitions.js';
import { storeQuery } from './store-query.js';
import { timerStore, type TimerStore } from './store-timers.js';
import { EVENT_COLUMNS, recordedEventFromRow } from './recorded-event-row.js';
import type { RecordedEventRow } from './recorded-event-row.js';
import { runMigrations } from './run-migrations.js';
import type { MigrationReport } from './run-migrations.js';
import { quoteSchemaName } from './schema-name.js';
import type { Snapshot, SnapshotInput } from './snapshot.js';
import { toStoreError } from './store-error.js';
import { handlePoolErrors } from './handle-pool-errors.js';
import { EventCipher } from './event-cipher.js';
import { listenForForgets } from './forget-listener.js';
import type { ReadStreamOptions } from './read-stream-options.js';
import { loadAt, type LoadAtOptions, type LoadAtTarget, type StateAt } from './load-at.js';
import type { MasterKey } from './master-key.js';
import { subjectKeyStore, type SubjectKeyStore } from './store-subject-keys.js';
import { SubjectKeys } from './subject-keys.js';
import type { AnyAggregate } from '@ratchet/core';

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
  /** Wraps the subject keys of sensitive fields (`parseMasterKey(RATCHET_MASTER_KEY)`); without it they are stored raw. Default none. */
  readonly masterKey?: MasterKey;
  /** How long `cipher` uses a subject key from memory before reading it again (ms). Default 10,000. */
  readonly keyCacheTtlMs?: number;
}

/** Options of {@link PostgresEventStore.appendBatch}. */
export interface AppendBatchOptions {
  /** Attempts in total when the batch transaction deadlocks or hits a serialization failure. Default 5. */
  readonly maxAttempts?: number;
}

export type { ReadStreamOptions } from './read-stream-options.js';

/**
 * The Postgres event store: the only source of truth of Ratchet. Streams, appends, snapshots and
 * the command log here; partitions (`PartitionStore`), the feed (`FeedStore`) and named leases
 * (`NamedLeaseStore`) and durable timers (`TimerStore`) in their own files.
 */
export interface PostgresEventStore extends PartitionStore, FeedStore, NamedLeaseStore, TimerStore, SubjectKeyStore {
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
  /** The first result of a processed command id, or null when it never committed. */
  findCommand(commandId: string): Promise<ProcessedCommand | null>;
  /** Seals and opens sensitive values, with this store's subject keys (docs/sensitive-data.md). */
  readonly cipher: EventCipher;
  /**
   * Time travel: the state of an aggregate after version N or at a time, with the events that led
   * there, from the snapshot when it helps; OUT_OF_RANGE outside the stream (docs/time-travel.md).
   * @example
   * const { value, context, events } = await store.loadAt(Turnstile, 't-1', { at: new Date('2026-11-01T12:00:00Z') });
   */
  loadAt<TAggregate extends AnyAggregate>(
    aggregate: TAggregate,
    id: string,
    target: LoadAtTarget,
    options?: LoadAtOptions,
  ): Promise<StateAt<TAggregate>>;
  /** End the pool if the store created it. */
  close(): Promise<void>;
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
    // A client losing its server must not crash the process; the query in progress, or the next, reports it.
    pool = handlePoolErrors(new pg.Pool({ connectionString: options.connectionString, max }));
  }

  const query = storeQuery(pool);
  const keyStore = subjectKeyStore(query, s);
  const cipher = new EventCipher({
    keys: new SubjectKeys({ store: keyStore, masterKey: options.masterKey, ttlMs: options.keyCacheTtlMs }),
    store: keyStore,
    listen: (onNotice) => listenForForgets(pool, { schema: s, onNotice }),
  });

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
      valid.forEach((v, i) => {
        outcomes[v.index] = results[i];
      });
    }
    return outcomes as AppendOutcome[];
  }

  const store: PostgresEventStore = {
    schema: schemaName,
    ...partitionStore(query, s),
    ...feedStore(query, s),
    ...namedLeaseStore(query, s),
    ...timerStore(query, s),
    ...keyStore,
    cipher,

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

    loadAt(aggregate, id, target, loadOptions) {
      return loadAt(store, query, s, aggregate, id, target, loadOptions);
    },

    async close() {
      await cipher.close();
      if (ownsPool) await pool.end();
    },
  };
  return store;
}
