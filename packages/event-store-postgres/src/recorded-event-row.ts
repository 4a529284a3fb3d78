import type { EventMetadata, RecordedEvent } from '@ratchet/core';

/** An `events` row as node-postgres returns it (int8 and xid8 as strings). */
export interface RecordedEventRow {
  readonly stream_id: string;
  readonly version: number;
  readonly type: string;
  readonly schema_version: number;
  readonly data: unknown;
  readonly metadata: EventMetadata;
  readonly global_position: string;
  readonly transaction_id: string;
  readonly recorded_at: Date;
  readonly epoch: string | null;
}

/** The select list matching {@link RecordedEventRow}. */
export const EVENT_COLUMNS =
  'stream_id, version, type, schema_version, data, metadata, global_position, transaction_id::text AS transaction_id, recorded_at, epoch';

/** Convert a row to a RecordedEvent (int8 columns fit a double up to 2^53). */
export function recordedEventFromRow(row: RecordedEventRow): RecordedEvent {
  return {
    streamId: row.stream_id,
    version: row.version,
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    globalPosition: Number(row.global_position),
    transactionId: row.transaction_id,
    recordedAt: row.recorded_at,
    epoch: row.epoch === null ? null : Number(row.epoch),
  };
}
