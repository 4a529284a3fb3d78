#!/bin/bash
# Arguments starting with "-" go to nats-server, as in the official image.
#
# One difference, said out loud at every start: Debian's nats-server 2.9 refuses `sync_interval`
# (2.10+), which deploy/nats/nats-*.conf set. On 2.9 a config given with -c/--config is copied
# (with the files beside it, for `include`) and run without that line; the copy is logged.
set -euo pipefail

if [[ ${1:-} == -* ]]; then set -- nats-server "$@"; fi
if [[ ${1:-} != nats-server ]]; then exec "$@"; fi

version=$(nats-server --version | grep -oE '[0-9]+\.[0-9]+' | head -n 1)
major=${version%%.*} minor=${version#*.}
if ((major == 2 && minor < 10)); then
  args=("$@")
  for ((i = 1; i < ${#args[@]} - 1; i++)); do
    if [[ ${args[i]} == -c || ${args[i]} == --config ]]; then
      config=${args[i + 1]}
      if grep -qE '^\s*sync_interval:' "$config"; then
        copy=$(mktemp -d /tmp/nats-config.XXXXXX)
        cp -r "$(dirname "$config")"/. "$copy"/
        sed -i -E '/^\s*sync_interval:/d' "$copy/$(basename "$config")"
        args[i + 1]="$copy/$(basename "$config")"
        echo "docker-entrypoint: nats-server $version has no sync_interval (2.10+): running $config without it (copy in $copy)" >&2
      fi
    fi
  done
  set -- "${args[@]}"
fi
exec "$@"
