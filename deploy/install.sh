#!/usr/bin/env bash
# Installs Shoal on a real host from a checkout: host packages, npm dependencies, a
# build, `shoal` and `shoald` on PATH (/usr/local/bin) and the systemd unit. Idempotent:
# running it again changes only what is missing or out of date.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
prefix=${PREFIX:-/usr/local}

if [ "$(id -u)" -ne 0 ]; then
  echo "Error: install.sh must run as root (it installs packages and a systemd unit)" >&2
  exit 1
fi

node "$repo/scripts/setup.mjs"
(cd "$repo" && npm run -s build)

for bin in shoal shoald; do
  target="$prefix/bin/$bin"
  if [ "$(readlink -f "$target" 2>/dev/null)" != "$repo/deploy/bin/$bin" ]; then
    ln -sfn "$repo/deploy/bin/$bin" "$target"
    echo "linked $target -> $repo/deploy/bin/$bin"
  fi
done

if [ -d /run/systemd/system ]; then
  unit=/etc/systemd/system/shoald.service
  if ! cmp -s "$here/systemd/shoald.service" "$unit"; then
    install -m 0644 "$here/systemd/shoald.service" "$unit"
    systemctl daemon-reload
    echo "installed $unit (start it with: systemctl enable --now shoald)"
  fi
else
  echo "systemd is not running here: start shoald by hand (shoald --help)"
fi
echo "installed: $(command -v shoal) $(command -v shoald)"
