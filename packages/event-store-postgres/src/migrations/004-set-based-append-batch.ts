import type { Migration } from './migration.js';

/**
 * Migration 4: set-based group commit (migration 2's per-request loop is kept as
 * `append_batch_sequential`). A batch is unpacked once into arrays, then each step is one statement
 * over the whole batch: fenced partitions FOR SHARE by partition; every live request's stream row
 * locked in one sorted upsert (`DO UPDATE ... WHERE false` locks without writing; new streams get a
 * version-0 placeholder); command ids inserted in one statement sorted by id (a concurrent holder of
 * the same id is waited for, as before) and the ones not inserted are duplicates; conflicts release
 * their command ids; stream heads updated in one UPDATE; events written in one multi-row INSERT. Lock
 * order is the same as before (partitions, streams by id, then command ids), and the outcomes JSON is
 * unchanged. A batch that names one stream or one command id twice depends on the order of its
 * requests: it takes the sequential function.
 */
export const migration004: Migration = {
  version: 4,
  name: 'set-based append_batch',
  sql: (s) => `
ALTER FUNCTION ${s}.append_batch(jsonb) RENAME TO append_batch_sequential;
COMMENT ON FUNCTION ${s}.append_batch_sequential(jsonb) IS
  'Migration 2 per-request group commit; used by append_batch for batches that repeat a stream id or a command id.';

CREATE FUNCTION ${s}.append_batch(requests jsonb) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  sids text[]; exps int[]; cmds text[]; hashes text[]; fps int[]; fes bigint[]; evs jsonb[]; ns int[];
  distinct_keys boolean;
  epochs bigint[];   -- current epoch of each fenced request's partition (0 if never claimed)
  curs int[];        -- current (locked) version of each live request's stream
  st text[];         -- NULL: commits; 'fenced', 'duplicate' (or reused), 'conflict'
  dups jsonb[];      -- the outcome of each duplicate request
  outcomes jsonb;
BEGIN
  SELECT array_agg(r.sid ORDER BY r.ord), array_agg(r.exp ORDER BY r.ord), array_agg(r.cmd ORDER BY r.ord),
         array_agg(r.hash ORDER BY r.ord), array_agg((r.fence->>'partition')::int ORDER BY r.ord),
         array_agg((r.fence->>'epoch')::bigint ORDER BY r.ord), array_agg(r.evs ORDER BY r.ord),
         array_agg(jsonb_array_length(r.evs) ORDER BY r.ord),
         count(DISTINCT r.sid) = count(*) AND count(DISTINCT r.cmd) = count(r.cmd)
  INTO sids, exps, cmds, hashes, fps, fes, evs, ns, distinct_keys
  FROM ROWS FROM (jsonb_to_recordset(requests)
         AS ("streamId" text, "expectedVersion" int, "commandId" text, "requestHash" text, fence jsonb, events jsonb))
       WITH ORDINALITY AS r(sid, exp, cmd, hash, fence, evs, ord);

  IF sids IS NULL THEN
    RETURN jsonb_build_object('transactionId', pg_current_xact_id_if_assigned()::text, 'recordedAt', now(), 'outcomes', '[]'::jsonb);
  END IF;
  IF NOT distinct_keys THEN
    RETURN ${s}.append_batch_sequential(requests);
  END IF;

  -- Share-lock the fenced partitions: claimPartition (an UPDATE) waits for this transaction, and
  -- a claim that committed first is seen here, so a stale epoch commits nothing.
  IF cardinality(array_remove(fps, NULL)) > 0 THEN
    WITH locked AS MATERIALIZED (
      SELECT p.partition, p.epoch FROM ${s}.partitions p WHERE p.partition = ANY(fps) ORDER BY p.partition FOR SHARE
    )
    SELECT array_agg(CASE WHEN r.fp IS NOT NULL THEN coalesce(l.epoch, 0) END ORDER BY r.ord),
           array_agg(CASE WHEN r.fp IS NOT NULL AND coalesce(l.epoch, 0) <> r.fe THEN 'fenced' END ORDER BY r.ord)
    INTO epochs, st
    FROM unnest(fps, fes) WITH ORDINALITY AS r(fp, fe, ord) LEFT JOIN locked l ON l.partition = r.fp;
  ELSE
    st := array_fill(NULL::text, ARRAY[cardinality(sids)]);
  END IF;

  -- Lock the live requests' stream rows in stream-id order; new streams get a version-0 placeholder.
  -- DO UPDATE ... WHERE false locks an existing row without writing a new version of it.
  INSERT INTO ${s}.streams AS t (stream_id, version)
  SELECT r.sid, 0 FROM unnest(sids, st) AS r(sid, st) WHERE r.st IS NULL ORDER BY r.sid
  ON CONFLICT (stream_id) DO UPDATE SET version = t.version WHERE false;

  -- Command ids, sorted: a concurrent append of the same id blocks here until it ends; an id not
  -- inserted is a duplicate (checked before the expected version, so a retry gets its first result).
  WITH cur AS MATERIALIZED (
    SELECT r.ord, r.sid, r.cmd, r.hash, r.exp, r.n, r.st, coalesce(t.version, 0) AS cur
    FROM unnest(sids, cmds, hashes, exps, ns, st) WITH ORDINALITY AS r(sid, cmd, hash, exp, n, st, ord)
    LEFT JOIN ${s}.streams t ON r.st IS NULL AND t.stream_id = r.sid
  ), ins AS (
    INSERT INTO ${s}.processed_commands (command_id, stream_id, request_hash, result)
    SELECT c.cmd, c.sid, c.hash, jsonb_build_object('fromVersion', c.cur + 1, 'version', c.cur + c.n)
    FROM cur c WHERE c.cmd IS NOT NULL AND c.st IS NULL
    ORDER BY c.cmd COLLATE "C"
    ON CONFLICT (command_id) DO NOTHING
    RETURNING command_id
  )
  SELECT array_agg(c.cur ORDER BY c.ord),
         array_agg(CASE WHEN c.st IS NOT NULL THEN c.st
                        WHEN c.cmd IS NOT NULL AND i.command_id IS NULL THEN 'duplicate'
                        WHEN c.exp IS NOT NULL AND c.exp <> c.cur THEN 'conflict' END ORDER BY c.ord)
  INTO curs, st
  FROM cur c LEFT JOIN ins i ON i.command_id = c.cmd;

  IF 'conflict' = ANY(st) THEN
    -- A conflicting append does not consume its command id.
    DELETE FROM ${s}.processed_commands p USING unnest(cmds, st) AS r(cmd, st)
    WHERE r.st = 'conflict' AND p.command_id = r.cmd;
  END IF;

  -- Failed appends to new streams leave version-0 placeholders: remove them.
  IF EXISTS (SELECT FROM unnest(st, curs) AS r(st, cur) WHERE r.st IN ('duplicate', 'conflict') AND r.cur = 0) THEN
    DELETE FROM ${s}.streams t USING unnest(sids, st) AS r(sid, st)
    WHERE r.st IN ('duplicate', 'conflict') AND t.stream_id = r.sid AND t.version = 0;
  END IF;

  UPDATE ${s}.streams t SET version = r.cur + r.n
  FROM unnest(sids, curs, ns, st) AS r(sid, cur, n, st)
  WHERE r.st IS NULL AND t.stream_id = r.sid;

  IF 'duplicate' = ANY(st) THEN
    -- The first result of each duplicate (or COMMAND_ID_REUSED when its request hash differs).
    SELECT array_agg(o.outcome ORDER BY o.ord) INTO dups
    FROM (
      SELECT r.ord, CASE
          WHEN r.st IS DISTINCT FROM 'duplicate' THEN NULL
          WHEN r.hash IS NOT NULL AND c.request_hash IS NOT NULL AND c.request_hash <> r.hash THEN
            jsonb_build_object('ok', false, 'code', 'COMMAND_ID_REUSED', 'commandId', r.cmd, 'streamId', c.stream_id)
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
      FROM unnest(cmds, hashes, st) WITH ORDINALITY AS r(cmd, hash, st, ord)
      -- OFFSET 0 keeps this a per-row index probe of the duplicates (never a scan of the table).
      LEFT JOIN LATERAL (
        SELECT pc.stream_id, pc.request_hash, pc.result FROM ${s}.processed_commands pc
        WHERE r.st = 'duplicate' AND pc.command_id = r.cmd OFFSET 0
      ) c ON true
    ) o;
  END IF;

  -- Every committed event in one INSERT, in request order; then one outcome per request.
  WITH ins AS (
    INSERT INTO ${s}.events (stream_id, version, type, schema_version, data, metadata, epoch, partition)
    SELECT r.sid, r.cur + e.ord::int, e.v->>'type', (e.v->>'schemaVersion')::int, e.v->'data', e.v->'metadata', r.fe, r.fp
    FROM unnest(sids, curs, evs, fps, fes, st) WITH ORDINALITY AS r(sid, cur, evs, fp, fe, st, ord)
    CROSS JOIN LATERAL jsonb_array_elements(r.evs) WITH ORDINALITY AS e(v, ord)
    WHERE r.st IS NULL
    ORDER BY r.ord, e.ord
    RETURNING stream_id, version, global_position
  ), pos AS (
    SELECT i.stream_id, jsonb_agg(i.global_position ORDER BY i.version) AS positions FROM ins i GROUP BY i.stream_id
  )
  SELECT jsonb_agg(CASE
      WHEN r.st IS NULL THEN jsonb_build_object('ok', true, 'duplicate', false,
        'fromVersion', r.cur + 1, 'version', r.cur + r.n, 'positions', p.positions)
      WHEN r.st = 'fenced' THEN jsonb_build_object('ok', false, 'code', 'FENCED',
        'partition', r.fp, 'heldEpoch', r.fe, 'currentEpoch', r.ce)
      WHEN r.st = 'conflict' THEN jsonb_build_object('ok', false, 'code', 'VERSION_CONFLICT',
        'streamId', r.sid, 'expectedVersion', r.exp, 'actualVersion', r.cur)
      ELSE dups[r.ord]
    END ORDER BY r.ord)
  INTO outcomes
  FROM unnest(sids, exps, cmds, hashes, fps, fes, epochs, curs, ns, st)
       WITH ORDINALITY AS r(sid, exp, cmd, hash, fp, fe, ce, cur, n, st, ord)
  LEFT JOIN pos p ON r.st IS NULL AND p.stream_id = r.sid;

  RETURN jsonb_build_object('transactionId', pg_current_xact_id_if_assigned()::text, 'recordedAt', now(),
    'outcomes', outcomes);
END
$fn$;
`,
};
