#!/usr/bin/env bash
# Creates the peer gateway's virtualenv at .deps/peer-venv and installs
# bench/peers/requirements.txt into it, idempotently. A second run only compares
# a hash of the requirements file and returns at once.
# Uses Debian's python3 + python3-venv (installed with apt-get when missing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv="$root/.deps/peer-venv"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
# Debian's interpreter, not whatever python3 comes first on PATH (pyenv etc.).
py=/usr/bin/python3
if [ ! -x "$py" ] || ! "$py" -c 'import ensurepip, venv' 2>/dev/null; then
  echo "peer setup: installing python3-venv" >&2
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "peer setup: creating $venv" >&2
  mkdir -p "$(dirname "$venv")"
  "$py" -m venv "$venv"
fi
echo "peer setup: installing $(grep -cv '^\s*\(#\|$\)' "$req") pinned packages" >&2
"$venv/bin/python" -m pip install -q --disable-pip-version-check --only-binary confluent-kafka -r "$req"
echo "$want" >"$stamp"
