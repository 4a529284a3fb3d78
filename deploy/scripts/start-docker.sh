#!/usr/bin/env bash
# Make a Docker engine answer on this machine, for the container tests (npm run test:deploy) and
# deploy/scripts/prepare-local-images.sh: if none answers, install Debian's docker.io when dockerd
# is missing, start dockerd in the background (log: /var/log/ratchet-dockerd.log) and wait for it.
# Also makes sure a compose tool exists (`docker compose`, else Debian's docker-compose 1.29).
#
# Exit 0 when the engine answers; exit 1 with one line saying why when it cannot (not root, the
# install failed, dockerd died: no privileges for cgroups or overlayfs in this sandbox, say).
# Callers decide what that means; .ci/run then reports the container tests as not run.
#   RATCHET_DOCKER_WAIT=<seconds>  how long dockerd may take to answer (default 60)
set -uo pipefail

readonly LOG=/var/log/ratchet-dockerd.log
readonly WAIT=${RATCHET_DOCKER_WAIT:-60}
log() { printf '[docker] %s\n' "$*" >&2; }
cannot() { log "CANNOT START DOCKER: $*"; exit 1; }
answers() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }
apt_install() {
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"; } >/tmp/ratchet-apt-docker.log 2>&1
}

ensure_compose() {
  docker compose version >/dev/null 2>&1 && return 0
  command -v docker-compose >/dev/null && return 0
  log 'no compose tool: installing docker-compose'
  apt_install docker-compose || cannot 'installing docker-compose failed (see /tmp/ratchet-apt-docker.log)'
}

if answers; then
  log 'a Docker engine answers'
  ensure_compose
  exit 0
fi
[[ $(id -u) -eq 0 ]] || cannot 'no engine answers and starting dockerd needs root'
if ! command -v dockerd >/dev/null; then
  log 'dockerd missing: installing docker.io'
  apt_install docker.io || cannot 'installing docker.io failed (see /tmp/ratchet-apt-docker.log)'
fi

log "starting dockerd (log: $LOG)"
nohup dockerd >"$LOG" 2>&1 &
pid=$!
deadline=$((SECONDS + WAIT))
until answers; do
  if ! kill -0 "$pid" 2>/dev/null; then
    cannot "dockerd exited: $(grep -iE 'level=(fatal|error)' "$LOG" | tail -n 1 | cut -c1-300)"
  fi
  ((SECONDS < deadline)) || cannot "dockerd (pid $pid) did not answer within ${WAIT}s (see $LOG)"
  sleep 0.5
done
log "dockerd answers (pid $pid, $(docker version --format '{{.Server.Version}}' 2>/dev/null))"
ensure_compose
