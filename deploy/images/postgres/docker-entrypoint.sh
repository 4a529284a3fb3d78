#!/bin/bash
# The official image's contract, reduced to what Ratchet uses: initialise PGDATA on first start
# (superuser POSTGRES_USER with POSTGRES_PASSWORD, database POSTGRES_DB, password auth over TCP from
# anywhere unless POSTGRES_HOST_AUTH_METHOD says otherwise), then run postgres as the postgres user.
set -euo pipefail

if [[ ${1:-} == -* ]]; then set -- postgres "$@"; fi
if [[ ${1:-} != postgres ]]; then exec "$@"; fi

user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
# As root (the default), every step runs as the postgres user; started with --user, as that user.
as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then setpriv --reuid=postgres --regid=postgres --init-groups "$@"; else "$@"; fi
}

if [[ $(id -u) -eq 0 ]]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
fi

if [[ ! -s $PGDATA/PG_VERSION ]]; then
  if [[ -z ${POSTGRES_PASSWORD:-} && $auth != trust ]]; then
    echo 'docker-entrypoint: set POSTGRES_PASSWORD, or POSTGRES_HOST_AUTH_METHOD=trust' >&2
    exit 1
  fi
  pwfile=$(mktemp)
  printf '%s\n' "${POSTGRES_PASSWORD:-unused}" >"$pwfile"
  [[ $(id -u) -ne 0 ]] || chown postgres "$pwfile"
  as_postgres initdb -D "$PGDATA" --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host="$auth" >/dev/null
  rm -f "$pwfile"
  printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  printf 'host all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
  if [[ $db != postgres ]]; then
    # Unix socket only while setting up, so nobody connects to a half-made server.
    as_postgres pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
    as_postgres psql -v ON_ERROR_STOP=1 -q -U "$user" -d postgres -c "CREATE DATABASE \"$db\""
    as_postgres pg_ctl -D "$PGDATA" -w -m fast stop >/dev/null
  fi
  echo "docker-entrypoint: initialised $PGDATA (user $user, database $db, host auth $auth)"
fi

if [[ $(id -u) -eq 0 ]]; then exec setpriv --reuid=postgres --regid=postgres --init-groups "$@"; fi
exec "$@"
