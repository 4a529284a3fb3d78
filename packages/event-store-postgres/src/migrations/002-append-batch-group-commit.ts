import type { Migration } from './migration.js';

/**
 * Migration 2: group commit in one round trip. `append_batch` appends many requests in the caller's
 * transaction and returns one outcome per request, deciding conflicts, fencing and duplicates per
 * item without aborting the rest. Lock order (deadlock avoidance): fenced partition rows FOR SHARE
 * by partition, then stream rows by stream id, then command ids as items are processed. Migration 4
 * renames it `append_batch_sequential`.
 */
export const migration002: Migration = {
  version: 2,
  name: 'append_batch group commit function',
  sql: (s) => `
CREATE OR REPLACE FUNCTION ${s}.append_batch(requests jsonb) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  req jsonb;
  sid text;
  cmd text;
  hash text;
  expected int;
  n int;
  cur int;
  fence_partition int;
  fence_epoch bigint;
  current_epoch bigint;
  epochs jsonb;
  versions jsonb;
  stored record;
  positions jsonb;
  dup_events jsonb;
  outcomes jsonb[] := '{}';
BEGIN
  -- Share-lock the fenced partitions: claimPartition (an UPDATE) waits for this transaction, and
  -- a claim that committed first is seen here, so a stale epoch commits nothing.
  IF jsonb_path_exists(requests, '$[*].fence') THEN
    SELECT coalesce(jsonb_object_agg(p.partition::text, p.epoch), '{}'::jsonb) INTO epochs
    FROM (
      SELECT t.partition, t.epoch FROM ${s}.partitions t
      WHERE t.partition IN (
        SELECT (r->'fence'->>'partition')::int FROM jsonb_array_elements(requests) r
        WHERE jsonb_typeof(r->'fence') = 'object')
      ORDER BY t.partition
      FOR SHARE
    ) p;
  ELSE
    epochs := '{}'::jsonb;
  END IF;

  -- Lock every stream row in stream-id order, creating version-0 placeholders for new streams.
  WITH locked AS (
    INSERT INTO ${s}.streams AS t (stream_id, version)
    SELECT DISTINCT r->>'streamId', 0 FROM jsonb_array_elements(requests) r ORDER BY 1
    ON CONFLICT (stream_id) DO UPDATE SET version = t.version
    RETURNING t.stream_id, t.version
  )
  SELECT jsonb_object_agg(stream_id, version) INTO versions FROM locked;

  FOR req IN SELECT value FROM jsonb_array_elements(requests) LOOP
    sid := req->>'streamId';
    cmd := req->>'commandId';
    hash := req->>'requestHash';
    expected := (req->>'expectedVersion')::int;
    n := jsonb_array_length(req->'events');
    fence_partition := (req->'fence'->>'partition')::int;
    fence_epoch := (req->'fence'->>'epoch')::bigint;
    cur := (versions->>sid)::int;

    IF fence_partition IS NOT NULL THEN
      current_epoch := coalesce((epochs->>fence_partition::text)::bigint, 0);
      IF current_epoch <> fence_epoch THEN
        outcomes := array_append(outcomes, jsonb_build_object('ok', false, 'code', 'FENCED',
          'partition', fence_partition, 'heldEpoch', fence_epoch, 'currentEpoch', current_epoch));
        CONTINUE;
      END IF;
    END IF;

    IF cmd IS NOT NULL THEN
      -- A concurrent append of the same command id blocks here on the unique index until it ends.
      INSERT INTO ${s}.processed_commands (command_id, stream_id, request_hash, result)
      VALUES (cmd, sid, hash, jsonb_build_object('fromVersion', cur + 1, 'version', cur + n))
      ON CONFLICT (command_id) DO NOTHING;
      IF NOT FOUND THEN
        SELECT c.stream_id, c.request_hash, c.result INTO stored
        FROM ${s}.processed_commands c WHERE c.command_id = cmd;
        IF hash IS NOT NULL AND stored.request_hash IS NOT NULL AND stored.request_hash <> hash THEN
          outcomes := array_append(outcomes, jsonb_build_object('ok', false, 'code', 'COMMAND_ID_REUSED',
            'commandId', cmd, 'streamId', stored.stream_id));
        ELSE
          SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'version', e.version, 'type', e.type, 'schemaVersion', e.schema_version,
                   'data', e.data, 'metadata', e.metadata, 'globalPosition', e.global_position,
                   'transactionId', e.transaction_id::text, 'recordedAt', e.recorded_at, 'epoch', e.epoch)
                 ORDER BY e.version), '[]'::jsonb)
          INTO dup_events
          FROM ${s}.events e
          WHERE e.stream_id = stored.stream_id
            AND e.version BETWEEN (stored.result->>'fromVersion')::int AND (stored.result->>'version')::int;
          outcomes := array_append(outcomes, jsonb_build_object('ok', true, 'duplicate', true, 'streamId', stored.stream_id,
            'fromVersion', stored.result->'fromVersion', 'version', stored.result->'version', 'events', dup_events));
        END IF;
        CONTINUE;
      END IF;
    END IF;

    IF expected IS NOT NULL AND expected <> cur THEN
      IF cmd IS NOT NULL THEN
        DELETE FROM ${s}.processed_commands WHERE command_id = cmd;
      END IF;
      outcomes := array_append(outcomes, jsonb_build_object('ok', false, 'code', 'VERSION_CONFLICT',
        'streamId', sid, 'expectedVersion', expected, 'actualVersion', cur));
      CONTINUE;
    END IF;

    UPDATE ${s}.streams SET version = cur + n WHERE stream_id = sid;
    versions := jsonb_set(versions, ARRAY[sid], to_jsonb(cur + n));

    WITH ins AS (
      INSERT INTO ${s}.events (stream_id, version, type, schema_version, data, metadata, epoch, partition)
      SELECT sid, cur + e.ord::int, e.v->>'type', (e.v->>'schemaVersion')::int, e.v->'data', e.v->'metadata',
             fence_epoch, fence_partition
      FROM jsonb_array_elements(req->'events') WITH ORDINALITY AS e(v, ord)
      ORDER BY e.ord
      RETURNING global_position, version
    )
    SELECT jsonb_agg(global_position ORDER BY version) INTO positions FROM ins;

    outcomes := array_append(outcomes, jsonb_build_object('ok', true, 'duplicate', false,
      'fromVersion', cur + 1, 'version', cur + n, 'positions', positions));
  END LOOP;

  -- Failed or fenced appends to new streams leave version-0 placeholders: remove them.
  IF jsonb_path_exists(versions, '$.* ? (@ == 0)') THEN
    DELETE FROM ${s}.streams t
    WHERE t.version = 0 AND t.stream_id IN (SELECT key FROM jsonb_each(versions) WHERE value = '0'::jsonb);
  END IF;

  RETURN jsonb_build_object('transactionId', pg_current_xact_id_if_assigned()::text, 'recordedAt', now(),
    'outcomes', to_jsonb(outcomes));
END
$fn$;
`,
};
