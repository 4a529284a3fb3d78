import { ErrorCode, RatchetError, type AggregateState, type AnyAggregate, type PersistedState, type RecordedEvent } from '@ratchet/core';
import { assertStreamId } from './encode-append-request.js';
import type { EventCipher } from './event-cipher.js';
import type { ReadStreamOptions } from './read-stream-options.js';
import type { Snapshot } from './snapshot.js';
import { checkInt, invalid } from './store-input.js';
import type { StoreQuery } from './store-query.js';

/** Where in a stream's history to look: after its event `version` (1 = the first), or as it stood at a time (by `recorded_at`). */
export type LoadAtTarget = { readonly version: number } | { readonly at: Date };

/** Options of {@link PostgresEventStore.loadAt}. */
export interface LoadAtOptions {
  /** Start from the stream's snapshot when it was taken by this machine version at or before the target. Default true. */
  readonly snapshots?: boolean;
}

/** A stream's state at a point of its history: what `loadAt` returns. */
export interface StateAt<TAggregate extends AnyAggregate = AnyAggregate> {
  readonly streamId: string;
  /** The version the state is after (the target version, or the last event recorded at or before the time). */
  readonly version: number;
  /** The stream's last version when it was read. */
  readonly head: number;
  /** The machine's state value at `version` (e.g. `'locked'`). */
  readonly value: PersistedState['value'];
  /** The machine's context at `version` (e.g. `{ coins: 3, turns: 2, pushes: 4 }`), sensitive values opened. */
  readonly context: unknown;
  /** The state as the runtime holds it (XState snapshot and version), to decide or fold further. */
  readonly state: ReturnType<TAggregate['initialState']>;
  /** The version the fold started from: 0, or the snapshot's. */
  readonly from: number;
  /** The events from `from + 1` to `version` that led there, sensitive values opened (placeholders once forgotten). */
  readonly events: readonly RecordedEvent[];
  /** When the event at `version` was recorded. */
  readonly recordedAt: Date;
}

/** What `loadAt` needs of the store. */
export interface LoadAtStore {
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  loadSnapshot(streamId: string, machineVersion: string): Promise<Snapshot | null>;
  readonly cipher: Pick<EventCipher, 'openEvents' | 'openSnapshot'>;
}

function outOfRange(streamId: string, message: string, details: Record<string, unknown>): RatchetError {
  return new RatchetError(ErrorCode.OUT_OF_RANGE, `${streamId}: ${message}`, { details: { streamId, ...details } });
}

/**
 * The state of `aggregate`'s stream `id` after version N, or as it stood at a time: the newest
 * snapshot at or before it (same machine version), then the events up to it, sensitive values
 * opened. A version outside 1..head, a time before the first event or in the future, and a stream
 * with no events are `OUT_OF_RANGE` errors, never an empty state.
 */
export async function loadAt<TAggregate extends AnyAggregate>(
  store: LoadAtStore,
  query: StoreQuery,
  s: string,
  aggregate: TAggregate,
  id: string,
  target: LoadAtTarget,
  options: LoadAtOptions = {},
): Promise<StateAt<TAggregate>> {
  const streamId = `${aggregate.type}/${id}`;
  assertStreamId(streamId);
  const version = await targetVersion(query, s, streamId, target);
  let from: AggregateState = aggregate.initialState();
  if (options.snapshots ?? true) {
    const snapshot = await store.loadSnapshot(streamId, aggregate.machineVersion);
    if (snapshot !== null && snapshot.version <= version.version) {
      const opened = await store.cipher.openSnapshot(streamId, snapshot.version, snapshot.state);
      if (opened !== undefined) from = aggregate.runtime.restore(opened as PersistedState, snapshot.version);
    }
  }
  const events = await store.cipher.openEvents(
    await store.readStream(streamId, { fromVersion: from.version + 1, toVersion: version.version }),
  );
  if (events.length !== version.version - from.version) {
    throw new RatchetError(
      ErrorCode.INTERNAL,
      `${streamId}: read ${events.length} events after version ${from.version}, expected ${version.version - from.version}`,
    );
  }
  const state = aggregate.replay(events, from) as ReturnType<TAggregate['initialState']>;
  const persisted = aggregate.runtime.persist(state);
  return {
    streamId,
    version: version.version,
    head: version.head,
    value: persisted.value,
    context: persisted.context,
    state,
    from: from.version,
    events,
    recordedAt: events.at(-1)?.recordedAt ?? version.recordedAt,
  };
}

/** The version a target names, checked against the stream: its head and the target's event time. */
async function targetVersion(
  query: StoreQuery,
  s: string,
  streamId: string,
  target: LoadAtTarget,
): Promise<{ version: number; head: number; recordedAt: Date }> {
  if ('version' in target) {
    const version = checkInt(target.version, 'version', 0);
    const res = await query<{ head: number | null; recorded_at: Date | null }>(
      'loadAt',
      `SELECT (SELECT max(version) FROM ${s}.events WHERE stream_id = $1) AS head,
              (SELECT recorded_at FROM ${s}.events WHERE stream_id = $1 AND version = $2) AS recorded_at`,
      [streamId, version],
    );
    const row = res.rows[0];
    const head = row?.head ?? 0;
    if (head === 0) throw outOfRange(streamId, 'the stream has no events', { version, first: 0, last: 0 });
    if (version < 1 || version > head)
      throw outOfRange(streamId, `version ${version} is outside its history (1..${head})`, { version, first: 1, last: head });
    const recordedAt = row?.recorded_at;
    if (recordedAt == null) throw new RatchetError(ErrorCode.INTERNAL, `stream ${streamId} has no event ${version} below its head ${head}`);
    return { version, head, recordedAt };
  }
  if (!(target.at instanceof Date) || Number.isNaN(target.at.getTime())) {
    invalid('invalid at', [{ path: ['at'], message: 'must be a valid Date' }]);
  }
  // recorded_at is the writing transaction's start, so within a stream it may step back where two
  // commits raced for the stream's lock: the state at a time is the longest prefix recorded by then.
  // Compared to the millisecond, as times are printed and a Date holds them: the time an event shows
  // includes that event.
  const res = await query<{ head: number | null; first_after: number | null; first_at: Date | null; now: Date }>(
    'loadAt',
    `SELECT (SELECT max(version) FROM ${s}.events WHERE stream_id = $1) AS head,
            (SELECT min(version) FROM ${s}.events WHERE stream_id = $1 AND date_trunc('milliseconds', recorded_at) > $2) AS first_after,
            (SELECT recorded_at FROM ${s}.events WHERE stream_id = $1 AND version = 1) AS first_at,
            now() AS now`,
    [streamId, target.at],
  );
  const row = res.rows[0];
  if (row === undefined) throw new RatchetError(ErrorCode.INTERNAL, "loadAt: the query for the stream's head returned no row");
  const head = row.head ?? 0;
  const at = target.at.toISOString();
  if (head === 0) throw outOfRange(streamId, 'the stream has no events', { at, first: null, last: null });
  if (target.at > row.now) throw outOfRange(streamId, `${at} is in the future`, { at, now: row.now.toISOString() });
  const version = row.first_after === null ? head : row.first_after - 1;
  if (version < 1)
    throw outOfRange(streamId, `${at} is before its first event (${row.first_at?.toISOString()})`, {
      at,
      first: row.first_at?.toISOString() ?? null,
    });
  const recordedAt = await query<{ recorded_at: Date }>(
    'loadAt',
    `SELECT recorded_at FROM ${s}.events WHERE stream_id = $1 AND version = $2`,
    [streamId, version],
  );
  const found = recordedAt.rows[0];
  if (found === undefined) throw new RatchetError(ErrorCode.INTERNAL, `stream ${streamId} has no event ${version} below its head ${head}`);
  return { version, head, recordedAt: found.recorded_at };
}
