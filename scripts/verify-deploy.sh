#!/usr/bin/env bash
# Checks deploy/: the systemd unit with systemd-analyze (when the machine has it) and
# the install script's syntax.
set -euo pipefail
cd "$(dirname "$0")/.."
bash -n deploy/install.sh
if command -v systemd-analyze >/dev/null; then
  unit=$(mktemp -d)/shoald.service
  # Verify against this checkout's entry point, which exists, instead of /usr/local/bin.
  sed "s#/usr/local/bin/shoald#$PWD/deploy/bin/shoald#" deploy/systemd/shoald.service > "$unit"
  systemd-analyze verify "$unit"
  rm -rf "$(dirname "$unit")"
  echo "deploy: shoald.service verified"
else
  echo "deploy: systemd-analyze not found; unit not verified"
fi
