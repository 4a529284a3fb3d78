import type { Migration } from './migration.js';

/**
 * Migration 11: keys of data subjects, for sensitive fields (docs/sensitive-data.md). One row per
 * subject: its AES-256 key (wrapped by the master key, or raw when none is configured) until it is
 * forgotten, then no key and the time of the forget. No role but the owner reads the table: the
 * worker and projector go through the SECURITY DEFINER functions `read_subject_keys`,
 * `ensure_subject_keys` and `forget_subject` (deploy/postgres/grants.sql says who may call which).
 */
export const migration011: Migration = {
  version: 11,
  name: 'subject keys for sensitive fields',
  sql: (s) => `
CREATE TABLE ${s}.subject_keys (
  subject      text        NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
  key          bytea       CHECK (length(key) BETWEEN 32 AND 128),
  wrapped_by   text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  forgotten_at timestamptz,
  CONSTRAINT subject_keys_pkey PRIMARY KEY (subject),
  CONSTRAINT subject_keys_key_or_forgotten CHECK ((key IS NULL) = (forgotten_at IS NOT NULL))
);
REVOKE ALL ON ${s}.subject_keys FROM PUBLIC;

COMMENT ON TABLE ${s}.subject_keys IS
  'A key per data subject for sealed sensitive values; forgetting a subject deletes its key and keeps the time.';
COMMENT ON COLUMN ${s}.subject_keys.wrapped_by IS
  'The master key (its id) that wrapped key, or none when it is stored raw.';

CREATE OR REPLACE FUNCTION ${s}.read_subject_keys(wanted text[])
RETURNS TABLE (subject text, key bytea, wrapped_by text, forgotten_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT k.subject, k.key, k.wrapped_by, k.forgotten_at FROM ${s}.subject_keys AS k WHERE k.subject = ANY (wanted);
$fn$;

CREATE OR REPLACE FUNCTION ${s}.ensure_subject_keys(wanted text[], offered bytea[], offered_wrapped_by text)
RETURNS TABLE (subject text, key bytea, wrapped_by text, forgotten_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
BEGIN
  INSERT INTO ${s}.subject_keys (subject, key, wrapped_by)
  SELECT w.subject, w.key, offered_wrapped_by FROM unnest(wanted, offered) AS w(subject, key) ORDER BY w.subject
  ON CONFLICT ON CONSTRAINT subject_keys_pkey DO NOTHING;
  RETURN QUERY SELECT k.subject, k.key, k.wrapped_by, k.forgotten_at FROM ${s}.subject_keys AS k WHERE k.subject = ANY (wanted);
END
$fn$;

CREATE OR REPLACE FUNCTION ${s}.forget_subject(forgotten text)
RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
DECLARE
  at timestamptz;
BEGIN
  IF forgotten IS NULL OR length(forgotten) NOT BETWEEN 1 AND 200 THEN
    RAISE EXCEPTION 'a subject is 1 to 200 characters' USING ERRCODE = '22023';
  END IF;
  INSERT INTO ${s}.subject_keys AS k (subject, key, wrapped_by, forgotten_at) VALUES (forgotten, NULL, 'none', now())
  ON CONFLICT ON CONSTRAINT subject_keys_pkey DO UPDATE SET key = NULL, forgotten_at = coalesce(k.forgotten_at, excluded.forgotten_at)
  RETURNING k.forgotten_at INTO at;
  PERFORM pg_notify('ratchet_forget', json_build_object('schema', '${s}', 'subject', forgotten)::text);
  RETURN at;
END
$fn$;

REVOKE ALL ON FUNCTION ${s}.read_subject_keys(text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION ${s}.ensure_subject_keys(text[], bytea[], text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ${s}.forget_subject(text) FROM PUBLIC;
`,
};
