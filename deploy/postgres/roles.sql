-- Ratchet's Postgres roles. Run once per database as a superuser (or the database owner),
-- before the first migration:  psql "$ADMIN_URL" -v ON_ERROR_STOP=1 -f deploy/postgres/roles.sql
-- Then give the login roles passwords (ALTER ROLE ratchet_worker PASSWORD '…') and run
-- deploy/scripts/migrate.ts as ratchet_migrator: it migrates and then applies grants.sql, which
-- gives the other roles their privileges on the tables that exist now. Idempotent.
--
--   ratchet_migrator  owns the schema `ratchet` and every table in it (runs the migrations).
--   ratchet_worker    appends events (INSERT/SELECT, EXECUTE ratchet.append_batch) and keeps the
--                     mutable bookkeeping rows; never UPDATE/DELETE/TRUNCATE on ratchet.events.
--                     Subject keys only through read_subject_keys/ensure_subject_keys; never forgets.
--   ratchet_projector reads the event store; owns the read models (schema ratchet_projections and
--                     the stable views in public) and the process managers' state (ratchet_processes).
--                     Subject keys only through read_subject_keys (to open sealed values).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ratchet_migrator') THEN CREATE ROLE ratchet_migrator LOGIN; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ratchet_worker') THEN CREATE ROLE ratchet_worker LOGIN; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ratchet_projector') THEN CREATE ROLE ratchet_projector LOGIN; END IF;
END
$$;

-- The worker and projector services call migrate() at every start. When the schema is current that runs only
-- `CREATE SCHEMA IF NOT EXISTS` and `CREATE TABLE IF NOT EXISTS ratchet.schema_migrations`, which
-- Postgres checks against CREATE on the database and on the schema even when both exist. CREATE on
-- the schema lets a worker add new objects, never alter or empty the migrator's tables.
DO $$
BEGIN
  EXECUTE format('GRANT CONNECT, CREATE ON DATABASE %I TO ratchet_migrator, ratchet_worker, ratchet_projector', current_database());
END
$$;

CREATE SCHEMA IF NOT EXISTS ratchet AUTHORIZATION ratchet_migrator;
ALTER SCHEMA ratchet OWNER TO ratchet_migrator;
GRANT USAGE, CREATE ON SCHEMA ratchet TO ratchet_worker;
GRANT USAGE, CREATE ON SCHEMA ratchet TO ratchet_projector; -- its migrate() at start needs CREATE too (see above)

-- Read models: the projector creates versioned tables in ratchet_projections and points stable
-- views in public at them.
CREATE SCHEMA IF NOT EXISTS ratchet_projections AUTHORIZATION ratchet_projector;
ALTER SCHEMA ratchet_projections OWNER TO ratchet_projector;
GRANT USAGE, CREATE ON SCHEMA public TO ratchet_projector;

-- Process managers (run by the projector): positions, instance states, command log, journal.
CREATE SCHEMA IF NOT EXISTS ratchet_processes AUTHORIZATION ratchet_projector;
ALTER SCHEMA ratchet_processes OWNER TO ratchet_projector;
