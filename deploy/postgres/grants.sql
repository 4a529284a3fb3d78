-- Privileges on the event store's tables, applied by their owner (ratchet_migrator) after every
-- migration (deploy/scripts/migrate.ts does it), so a new table never exists with broader rights.
-- Idempotent. ratchet.events is append-only for the worker: SELECT and INSERT, never UPDATE,
-- DELETE or TRUNCATE (the store's trigger refuses those too; this keeps them from even being tried).
DO $$
DECLARE t text;
BEGIN
  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'ratchet' LOOP
    EXECUTE format('REVOKE ALL ON ratchet.%I FROM PUBLIC, ratchet_worker, ratchet_projector', t);
    -- Subject keys are read and written only through their SECURITY DEFINER functions (below).
    CONTINUE WHEN t = 'subject_keys';
    IF t = 'events' THEN
      EXECUTE 'GRANT SELECT, INSERT ON ratchet.events TO ratchet_worker';
    ELSE
      -- streams, processed_commands, snapshots, partitions, checkpoints, leases: mutable bookkeeping.
      EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ratchet.%I TO ratchet_worker', t);
    END IF;
    EXECUTE format('GRANT SELECT ON ratchet.%I TO ratchet_projector', t);
  END LOOP;
END
$$;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ratchet TO ratchet_worker;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ratchet FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ratchet TO ratchet_worker;
-- Sensitive data (docs/sensitive-data.md): the worker seals and opens (read_subject_keys,
-- ensure_subject_keys), the projector only opens (read_subject_keys). Nobody forgets by default:
-- grant forget_subject to the role of whatever serves "forget me" (the bookstore's page, an
-- operator's CLI), e.g. GRANT EXECUTE ON FUNCTION ratchet.forget_subject(text) TO bookstore_web.
REVOKE EXECUTE ON FUNCTION ratchet.forget_subject(text) FROM ratchet_worker;
GRANT EXECUTE ON FUNCTION ratchet.read_subject_keys(text[]) TO ratchet_projector;
