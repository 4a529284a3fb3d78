import { partitionLockClass } from '../partition-lock-class.js';
import type { LiveFunction } from './live-function.js';

/**
 * `append_one(request)`: a batch of ONE request (every commit at low load) as a few scalar
 * statements instead of `append_batch`'s set-based machinery, with the same locks in the same order
 * (the partition's fence lock, stream row, command id), the same checks in the same order (fence,
 * then command id before the expected version) and the same reply as `append_batch` with one
 * outcome. It advances the stream row first (UPDATE ... WHERE version = expected, or an upsert for a
 * new stream) and records the command id; a duplicate then puts the stream row back. Last changed by
 * migration 8 (full variable names).
 */
export const appendOneSql: LiveFunction = {
  signature: 'append_one(jsonb)',
  sql: (s) => `
CREATE OR REPLACE FUNCTION ${s}.append_one(request jsonb) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  request_stream_id text := request->>'streamId';
  expected_version int := (request->>'expectedVersion')::int;
  request_command_id text := request->>'commandId';
  command_hash text := request->>'requestHash';
  fence_partition int := (request->'fence'->>'partition')::int;
  fence_epoch bigint := (request->'fence'->>'epoch')::bigint;
  event_count int := jsonb_array_length(request->'events');
  current_epoch bigint;
  current_version int;  -- the stream's version before this append; NULL when the expected version does not hold
  outcome jsonb;
  positions jsonb;
BEGIN
  IF fence_partition IS NOT NULL THEN
    -- Hold the partition's fence lock shared: a claim takes it exclusively, so it waits for this
    -- transaction, and a claim that committed first is seen by the next statement's snapshot.
    PERFORM pg_advisory_xact_lock_shared(${partitionLockClass(s)}, fence_partition);
    SELECT p.epoch INTO current_epoch FROM ${s}.partitions p WHERE p.partition = fence_partition;
    current_epoch := coalesce(current_epoch, 0);
    IF current_epoch <> fence_epoch THEN
      outcome := jsonb_build_object('ok', false, 'code', 'FENCED',
        'partition', fence_partition, 'heldEpoch', fence_epoch, 'currentEpoch', current_epoch);
    END IF;
  END IF;

  IF outcome IS NULL THEN
    -- Lock the stream row and advance it when the expected version holds.
    IF expected_version IS NOT NULL AND expected_version > 0 THEN
      UPDATE ${s}.streams t SET version = t.version + event_count
      WHERE t.stream_id = request_stream_id AND t.version = expected_version
      RETURNING t.version - event_count INTO current_version;
    ELSE
      -- New stream (expected 0) or any version; an existing row is locked either way.
      INSERT INTO ${s}.streams AS t (stream_id, version) VALUES (request_stream_id, event_count)
      ON CONFLICT (stream_id) DO UPDATE SET version = t.version + event_count WHERE expected_version IS NULL
      RETURNING t.version - event_count INTO current_version;
    END IF;

    IF request_command_id IS NOT NULL THEN
      -- A concurrent append of the same command id blocks here on the unique index until it ends.
      INSERT INTO ${s}.processed_commands (command_id, stream_id, request_hash, result)
      VALUES (request_command_id, request_stream_id, command_hash,
        jsonb_build_object('fromVersion', coalesce(current_version, 0) + 1, 'version', coalesce(current_version, 0) + event_count))
      ON CONFLICT (command_id) DO NOTHING;
      IF NOT FOUND THEN
        -- A duplicate (checked before the expected version, so a retry gets its first result).
        IF current_version = 0 THEN
          DELETE FROM ${s}.streams t WHERE t.stream_id = request_stream_id;
        ELSIF current_version IS NOT NULL THEN
          UPDATE ${s}.streams t SET version = current_version WHERE t.stream_id = request_stream_id;
        END IF;
        outcome := ${s}.duplicate_outcome(request_command_id, command_hash);
      ELSIF current_version IS NULL THEN
        -- A conflicting append does not consume its command id.
        DELETE FROM ${s}.processed_commands p WHERE p.command_id = request_command_id;
      END IF;
    END IF;

    IF outcome IS NULL AND current_version IS NULL THEN
      outcome := jsonb_build_object('ok', false, 'code', 'VERSION_CONFLICT',
        'streamId', request_stream_id, 'expectedVersion', expected_version,
        'actualVersion', coalesce((SELECT t.version FROM ${s}.streams t WHERE t.stream_id = request_stream_id), 0));
    END IF;
  END IF;

  IF outcome IS NULL THEN
    WITH inserted AS (
      INSERT INTO ${s}.events (stream_id, version, type, schema_version, data, metadata, epoch, partition)
      SELECT request_stream_id, current_version + e.event_number::int, e.event->>'type', (e.event->>'schemaVersion')::int,
             e.event->'data', e.event->'metadata', fence_epoch, fence_partition
      FROM jsonb_array_elements(request->'events') WITH ORDINALITY AS e(event, event_number)
      ORDER BY e.event_number
      RETURNING global_position, version
    )
    SELECT jsonb_agg(global_position ORDER BY version) INTO positions FROM inserted;
    outcome := jsonb_build_object('ok', true, 'duplicate', false,
      'fromVersion', current_version + 1, 'version', current_version + event_count, 'positions', positions);
  END IF;

  RETURN jsonb_build_object('transactionId', pg_current_xact_id_if_assigned()::text, 'recordedAt', now(),
    'outcomes', jsonb_build_array(outcome));
END
$fn$;
`,
};
