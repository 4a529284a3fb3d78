import { partitionLockClass } from '../partition-lock-class.js';
import type { LiveFunction } from './live-function.js';

/**
 * `append_batch(requests)`: group commit, many appends in the caller's transaction and one round
 * trip, one outcome per request, none aborting the others. Set-based: the batch is unpacked once
 * into arrays, then each step is one statement over the whole batch. Lock order (deadlock
 * avoidance): each fenced partition's fence lock, shared, by partition; the live requests' stream
 * rows by stream id; then command ids, sorted. A batch that names one stream or one command id twice
 * depends on the order of its requests: it takes `append_batch_sequential`. Last changed by
 * migration 8 (full variable names).
 */
export const appendBatchSql: LiveFunction = {
  signature: 'append_batch(jsonb)',
  sql: (s) => `
CREATE OR REPLACE FUNCTION ${s}.append_batch(requests jsonb) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  -- The requests, one array element per request, in request order.
  stream_ids text[];
  expected_versions int[];
  command_ids text[];
  command_hashes text[];
  fence_partitions int[];
  fence_epochs bigint[];
  request_events jsonb[];
  event_counts int[];
  distinct_keys boolean;       -- no stream id and no command id is named twice
  current_epochs bigint[];     -- current epoch of each fenced request's partition (0 if never claimed)
  current_versions int[];      -- current (locked) version of each live request's stream
  statuses text[];             -- NULL: commits; 'fenced', 'duplicate' (or reused), 'conflict'
  duplicate_outcomes jsonb[];  -- the outcome of each duplicate request
  outcomes jsonb;
BEGIN
  SELECT array_agg(r.stream_id ORDER BY r.request_number), array_agg(r.expected_version ORDER BY r.request_number),
         array_agg(r.command_id ORDER BY r.request_number), array_agg(r.command_hash ORDER BY r.request_number),
         array_agg((r.fence->>'partition')::int ORDER BY r.request_number),
         array_agg((r.fence->>'epoch')::bigint ORDER BY r.request_number), array_agg(r.events ORDER BY r.request_number),
         array_agg(jsonb_array_length(r.events) ORDER BY r.request_number),
         count(DISTINCT r.stream_id) = count(*) AND count(DISTINCT r.command_id) = count(r.command_id)
  INTO stream_ids, expected_versions, command_ids, command_hashes, fence_partitions, fence_epochs, request_events,
       event_counts, distinct_keys
  FROM ROWS FROM (jsonb_to_recordset(requests)
         AS ("streamId" text, "expectedVersion" int, "commandId" text, "requestHash" text, fence jsonb, events jsonb))
       WITH ORDINALITY AS r(stream_id, expected_version, command_id, command_hash, fence, events, request_number);

  IF stream_ids IS NULL THEN
    RETURN jsonb_build_object('transactionId', pg_current_xact_id_if_assigned()::text, 'recordedAt', now(), 'outcomes', '[]'::jsonb);
  END IF;
  IF NOT distinct_keys THEN
    RETURN ${s}.append_batch_sequential(requests);
  END IF;

  -- Hold each fenced partition's fence lock shared: a claim takes it exclusively, so it waits for
  -- this transaction, and a claim that committed first is seen here, so a stale epoch commits nothing.
  IF cardinality(array_remove(fence_partitions, NULL)) > 0 THEN
    PERFORM pg_advisory_xact_lock_shared(${partitionLockClass(s)}, x.fence_partition)
    FROM (SELECT DISTINCT f.fence_partition FROM unnest(fence_partitions) AS f(fence_partition)
          WHERE f.fence_partition IS NOT NULL ORDER BY f.fence_partition) AS x;
    WITH locked AS MATERIALIZED (
      SELECT p.partition, p.epoch FROM ${s}.partitions p WHERE p.partition = ANY(fence_partitions)
    )
    SELECT array_agg(CASE WHEN r.fence_partition IS NOT NULL THEN coalesce(l.epoch, 0) END ORDER BY r.request_number),
           array_agg(CASE WHEN r.fence_partition IS NOT NULL AND coalesce(l.epoch, 0) <> r.fence_epoch THEN 'fenced' END
                     ORDER BY r.request_number)
    INTO current_epochs, statuses
    FROM unnest(fence_partitions, fence_epochs) WITH ORDINALITY AS r(fence_partition, fence_epoch, request_number)
    LEFT JOIN locked l ON l.partition = r.fence_partition;
  ELSE
    statuses := array_fill(NULL::text, ARRAY[cardinality(stream_ids)]);
  END IF;

  -- Lock the live requests' stream rows in stream-id order; new streams get a version-0 placeholder.
  -- DO UPDATE ... WHERE false locks an existing row without writing a new version of it.
  INSERT INTO ${s}.streams AS t (stream_id, version)
  SELECT r.stream_id, 0 FROM unnest(stream_ids, statuses) AS r(stream_id, status) WHERE r.status IS NULL ORDER BY r.stream_id
  ON CONFLICT (stream_id) DO UPDATE SET version = t.version WHERE false;

  -- Command ids, sorted: a concurrent append of the same id blocks here until it ends; an id not
  -- inserted is a duplicate (checked before the expected version, so a retry gets its first result).
  WITH versioned AS MATERIALIZED (
    SELECT r.request_number, r.stream_id, r.command_id, r.command_hash, r.expected_version, r.event_count, r.status,
           coalesce(t.version, 0) AS current_version
    FROM unnest(stream_ids, command_ids, command_hashes, expected_versions, event_counts, statuses) WITH ORDINALITY
         AS r(stream_id, command_id, command_hash, expected_version, event_count, status, request_number)
    LEFT JOIN ${s}.streams t ON r.status IS NULL AND t.stream_id = r.stream_id
  ), inserted_commands AS (
    INSERT INTO ${s}.processed_commands (command_id, stream_id, request_hash, result)
    SELECT v.command_id, v.stream_id, v.command_hash,
           jsonb_build_object('fromVersion', v.current_version + 1, 'version', v.current_version + v.event_count)
    FROM versioned v WHERE v.command_id IS NOT NULL AND v.status IS NULL
    ORDER BY v.command_id COLLATE "C"
    ON CONFLICT (command_id) DO NOTHING
    RETURNING command_id
  )
  SELECT array_agg(v.current_version ORDER BY v.request_number),
         array_agg(CASE WHEN v.status IS NOT NULL THEN v.status
                        WHEN v.command_id IS NOT NULL AND i.command_id IS NULL THEN 'duplicate'
                        WHEN v.expected_version IS NOT NULL AND v.expected_version <> v.current_version THEN 'conflict'
                   END ORDER BY v.request_number)
  INTO current_versions, statuses
  FROM versioned v LEFT JOIN inserted_commands i ON i.command_id = v.command_id;

  IF 'conflict' = ANY(statuses) THEN
    -- A conflicting append does not consume its command id.
    DELETE FROM ${s}.processed_commands p USING unnest(command_ids, statuses) AS r(command_id, status)
    WHERE r.status = 'conflict' AND p.command_id = r.command_id;
  END IF;

  -- Failed appends to new streams leave version-0 placeholders: remove them.
  IF EXISTS (SELECT FROM unnest(statuses, current_versions) AS r(status, current_version)
             WHERE r.status IN ('duplicate', 'conflict') AND r.current_version = 0) THEN
    DELETE FROM ${s}.streams t USING unnest(stream_ids, statuses) AS r(stream_id, status)
    WHERE r.status IN ('duplicate', 'conflict') AND t.stream_id = r.stream_id AND t.version = 0;
  END IF;

  UPDATE ${s}.streams t SET version = r.current_version + r.event_count
  FROM unnest(stream_ids, current_versions, event_counts, statuses) AS r(stream_id, current_version, event_count, status)
  WHERE r.status IS NULL AND t.stream_id = r.stream_id;

  IF 'duplicate' = ANY(statuses) THEN
    -- The first result of each duplicate (or COMMAND_ID_REUSED when its request hash differs).
    SELECT array_agg(o.outcome ORDER BY o.request_number) INTO duplicate_outcomes
    FROM (
      SELECT r.request_number, CASE
          WHEN r.status IS DISTINCT FROM 'duplicate' THEN NULL
          WHEN r.command_hash IS NOT NULL AND c.request_hash IS NOT NULL AND c.request_hash <> r.command_hash THEN
            jsonb_build_object('ok', false, 'code', 'COMMAND_ID_REUSED', 'commandId', r.command_id, 'streamId', c.stream_id)
          ELSE jsonb_build_object('ok', true, 'duplicate', true, 'streamId', c.stream_id,
            'fromVersion', c.result->'fromVersion', 'version', c.result->'version',
            'events', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                         'version', e.version, 'type', e.type, 'schemaVersion', e.schema_version,
                         'data', e.data, 'metadata', e.metadata, 'globalPosition', e.global_position,
                         'transactionId', e.transaction_id::text, 'recordedAt', e.recorded_at, 'epoch', e.epoch)
                       ORDER BY e.version), '[]'::jsonb)
                       FROM ${s}.events e
                       WHERE e.stream_id = c.stream_id
                         AND e.version BETWEEN (c.result->>'fromVersion')::int AND (c.result->>'version')::int))
        END AS outcome
      FROM unnest(command_ids, command_hashes, statuses) WITH ORDINALITY AS r(command_id, command_hash, status, request_number)
      -- OFFSET 0 keeps this a per-row index probe of the duplicates (never a scan of the table).
      LEFT JOIN LATERAL (
        SELECT pc.stream_id, pc.request_hash, pc.result FROM ${s}.processed_commands pc
        WHERE r.status = 'duplicate' AND pc.command_id = r.command_id OFFSET 0
      ) c ON true
    ) o;
  END IF;

  -- Every committed event in one INSERT, in request order; then one outcome per request.
  WITH inserted_events AS (
    INSERT INTO ${s}.events (stream_id, version, type, schema_version, data, metadata, epoch, partition)
    SELECT r.stream_id, r.current_version + e.event_number::int, e.event->>'type', (e.event->>'schemaVersion')::int,
           e.event->'data', e.event->'metadata', r.fence_epoch, r.fence_partition
    FROM unnest(stream_ids, current_versions, request_events, fence_partitions, fence_epochs, statuses) WITH ORDINALITY
         AS r(stream_id, current_version, events, fence_partition, fence_epoch, status, request_number)
    CROSS JOIN LATERAL jsonb_array_elements(r.events) WITH ORDINALITY AS e(event, event_number)
    WHERE r.status IS NULL
    ORDER BY r.request_number, e.event_number
    RETURNING stream_id, version, global_position
  ), stream_positions AS (
    SELECT i.stream_id, jsonb_agg(i.global_position ORDER BY i.version) AS positions FROM inserted_events i GROUP BY i.stream_id
  )
  SELECT jsonb_agg(CASE
      WHEN r.status IS NULL THEN jsonb_build_object('ok', true, 'duplicate', false,
        'fromVersion', r.current_version + 1, 'version', r.current_version + r.event_count, 'positions', p.positions)
      WHEN r.status = 'fenced' THEN jsonb_build_object('ok', false, 'code', 'FENCED',
        'partition', r.fence_partition, 'heldEpoch', r.fence_epoch, 'currentEpoch', r.current_epoch)
      WHEN r.status = 'conflict' THEN jsonb_build_object('ok', false, 'code', 'VERSION_CONFLICT',
        'streamId', r.stream_id, 'expectedVersion', r.expected_version, 'actualVersion', r.current_version)
      ELSE duplicate_outcomes[r.request_number]
    END ORDER BY r.request_number)
  INTO outcomes
  FROM unnest(stream_ids, expected_versions, fence_partitions, fence_epochs, current_epochs, current_versions, event_counts, statuses)
       WITH ORDINALITY AS r(stream_id, expected_version, fence_partition, fence_epoch, current_epoch, current_version, event_count,
                            status, request_number)
  LEFT JOIN stream_positions p ON r.status IS NULL AND p.stream_id = r.stream_id;

  RETURN jsonb_build_object('transactionId', pg_current_xact_id_if_assigned()::text, 'recordedAt', now(),
    'outcomes', outcomes);
END
$fn$;
`,
};
