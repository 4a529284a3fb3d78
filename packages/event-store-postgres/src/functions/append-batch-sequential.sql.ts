import type { LiveFunction } from './live-function.js';

/**
 * `append_batch_sequential(requests)`: group commit one request at a time, for the batches that
 * `append_batch` cannot take set-based (one stream or one command id named twice, where each request
 * must see the ones before it). One outcome per request, none aborting the others. Lock order
 * (deadlock avoidance): fenced partition rows FOR SHARE by partition, then stream rows by stream id,
 * then command ids as requests are processed. Last changed by migration 8 (full variable names).
 */
export const appendBatchSequentialSql: LiveFunction = {
  signature: 'append_batch_sequential(jsonb)',
  sql: (s) => `
CREATE OR REPLACE FUNCTION ${s}.append_batch_sequential(requests jsonb) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  request jsonb;
  request_stream_id text;
  request_command_id text;
  command_hash text;
  expected_version int;
  event_count int;
  current_version int;
  fence_partition int;
  fence_epoch bigint;
  current_epoch bigint;
  epoch_by_partition jsonb;
  version_by_stream jsonb;
  stored_command record;
  positions jsonb;
  duplicate_events jsonb;
  outcomes jsonb[] := '{}';
BEGIN
  -- Share-lock the fenced partitions: claimPartition (an UPDATE) waits for this transaction, and
  -- a claim that committed first is seen here, so a stale epoch commits nothing.
  IF jsonb_path_exists(requests, '$[*].fence') THEN
    SELECT coalesce(jsonb_object_agg(p.partition::text, p.epoch), '{}'::jsonb) INTO epoch_by_partition
    FROM (
      SELECT t.partition, t.epoch FROM ${s}.partitions t
      WHERE t.partition IN (
        SELECT (r->'fence'->>'partition')::int FROM jsonb_array_elements(requests) r
        WHERE jsonb_typeof(r->'fence') = 'object')
      ORDER BY t.partition
      FOR SHARE
    ) p;
  ELSE
    epoch_by_partition := '{}'::jsonb;
  END IF;

  -- Lock every stream row in stream-id order, creating version-0 placeholders for new streams.
  WITH locked AS (
    INSERT INTO ${s}.streams AS t (stream_id, version)
    SELECT DISTINCT r->>'streamId', 0 FROM jsonb_array_elements(requests) r ORDER BY 1
    ON CONFLICT (stream_id) DO UPDATE SET version = t.version
    RETURNING t.stream_id, t.version
  )
  SELECT jsonb_object_agg(stream_id, version) INTO version_by_stream FROM locked;

  FOR request IN SELECT value FROM jsonb_array_elements(requests) LOOP
    request_stream_id := request->>'streamId';
    request_command_id := request->>'commandId';
    command_hash := request->>'requestHash';
    expected_version := (request->>'expectedVersion')::int;
    event_count := jsonb_array_length(request->'events');
    fence_partition := (request->'fence'->>'partition')::int;
    fence_epoch := (request->'fence'->>'epoch')::bigint;
    current_version := (version_by_stream->>request_stream_id)::int;

    IF fence_partition IS NOT NULL THEN
      current_epoch := coalesce((epoch_by_partition->>fence_partition::text)::bigint, 0);
      IF current_epoch <> fence_epoch THEN
        outcomes := array_append(outcomes, jsonb_build_object('ok', false, 'code', 'FENCED',
          'partition', fence_partition, 'heldEpoch', fence_epoch, 'currentEpoch', current_epoch));
        CONTINUE;
      END IF;
    END IF;

    IF request_command_id IS NOT NULL THEN
      -- A concurrent append of the same command id blocks here on the unique index until it ends.
      INSERT INTO ${s}.processed_commands (command_id, stream_id, request_hash, result)
      VALUES (request_command_id, request_stream_id, command_hash,
        jsonb_build_object('fromVersion', current_version + 1, 'version', current_version + event_count))
      ON CONFLICT (command_id) DO NOTHING;
      IF NOT FOUND THEN
        SELECT c.stream_id, c.request_hash, c.result INTO stored_command
        FROM ${s}.processed_commands c WHERE c.command_id = request_command_id;
        IF command_hash IS NOT NULL AND stored_command.request_hash IS NOT NULL AND stored_command.request_hash <> command_hash THEN
          outcomes := array_append(outcomes, jsonb_build_object('ok', false, 'code', 'COMMAND_ID_REUSED',
            'commandId', request_command_id, 'streamId', stored_command.stream_id));
        ELSE
          SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'version', e.version, 'type', e.type, 'schemaVersion', e.schema_version,
                   'data', e.data, 'metadata', e.metadata, 'globalPosition', e.global_position,
                   'transactionId', e.transaction_id::text, 'recordedAt', e.recorded_at, 'epoch', e.epoch)
                 ORDER BY e.version), '[]'::jsonb)
          INTO duplicate_events
          FROM ${s}.events e
          WHERE e.stream_id = stored_command.stream_id
            AND e.version BETWEEN (stored_command.result->>'fromVersion')::int AND (stored_command.result->>'version')::int;
          outcomes := array_append(outcomes, jsonb_build_object('ok', true, 'duplicate', true, 'streamId', stored_command.stream_id,
            'fromVersion', stored_command.result->'fromVersion', 'version', stored_command.result->'version',
            'events', duplicate_events));
        END IF;
        CONTINUE;
      END IF;
    END IF;

    IF expected_version IS NOT NULL AND expected_version <> current_version THEN
      IF request_command_id IS NOT NULL THEN
        DELETE FROM ${s}.processed_commands WHERE command_id = request_command_id;
      END IF;
      outcomes := array_append(outcomes, jsonb_build_object('ok', false, 'code', 'VERSION_CONFLICT',
        'streamId', request_stream_id, 'expectedVersion', expected_version, 'actualVersion', current_version));
      CONTINUE;
    END IF;

    UPDATE ${s}.streams SET version = current_version + event_count WHERE stream_id = request_stream_id;
    version_by_stream := jsonb_set(version_by_stream, ARRAY[request_stream_id], to_jsonb(current_version + event_count));

    WITH inserted AS (
      INSERT INTO ${s}.events (stream_id, version, type, schema_version, data, metadata, epoch, partition)
      SELECT request_stream_id, current_version + e.event_number::int, e.event->>'type', (e.event->>'schemaVersion')::int,
             e.event->'data', e.event->'metadata', fence_epoch, fence_partition
      FROM jsonb_array_elements(request->'events') WITH ORDINALITY AS e(event, event_number)
      ORDER BY e.event_number
      RETURNING global_position, version
    )
    SELECT jsonb_agg(global_position ORDER BY version) INTO positions FROM inserted;

    outcomes := array_append(outcomes, jsonb_build_object('ok', true, 'duplicate', false,
      'fromVersion', current_version + 1, 'version', current_version + event_count, 'positions', positions));
  END LOOP;

  -- Failed or fenced appends to new streams leave version-0 placeholders: remove them.
  IF jsonb_path_exists(version_by_stream, '$.* ? (@ == 0)') THEN
    DELETE FROM ${s}.streams t
    WHERE t.version = 0 AND t.stream_id IN (SELECT key FROM jsonb_each(version_by_stream) WHERE value = '0'::jsonb);
  END IF;

  RETURN jsonb_build_object('transactionId', pg_current_xact_id_if_assigned()::text, 'recordedAt', now(),
    'outcomes', to_jsonb(outcomes));
END
$fn$;
`,
};
