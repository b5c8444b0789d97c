#!/usr/bin/env bash
# Checks deploy/ without a container engine (make test runs it): the compose files against the
# Compose schema, parity with `make run` and deploy/hookline.yaml, the Prometheus rules and the
# Dockerfile (scripts/lib/check_deploy.py). Python jsonschema and PyYAML live in a project-local
# virtual environment, .deps/deploy-venv, made on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.deps/deploy-venv
requirements="jsonschema==4.23.0 PyYAML==6.0.2"
if [ "$(cat "$venv/.requirements" 2>/dev/null)" != "$requirements" ]; then
  echo "check-deploy: installing $requirements into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check $requirements
  echo "$requirements" >"$venv/.requirements"
fi
exec "$venv/bin/python" scripts/lib/check_deploy.py
