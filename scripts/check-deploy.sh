#!/usr/bin/env bash
# Checks deploy/ without a container engine (make test runs it): the compose files against the
# Compose schema, parity with `make run` and deploy/hookline.yaml, the Prometheus rules and the
# Dockerfile (scripts/lib/check_deploy.py), then promtool on the Prometheus files. Python
# jsonschema and PyYAML live in a project-local virtual environment, .deps/deploy-venv, made on
# first use.
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
status=0
"$venv/bin/python" scripts/lib/check_deploy.py || status=1

# The Prometheus configuration and rules with promtool, taken from Debian's prometheus package
# (unpacked into .deps/promtool, nothing installed). The configuration names the rules by their
# path in the container, so both are checked from a copy.
promtool=.deps/promtool/usr/bin/promtool
if [ ! -x "$promtool" ]; then
  echo "check-deploy: fetching promtool (Debian package prometheus)"
  # Unpacked beside its place (on its file system, so the move is a rename) and moved there: a
  # cut-off unpack leaves no promtool to trust.
  tmp=$(mktemp -d .deps/promtool.XXXXXX)
  (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1) && dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/unpacked" \
    && rm -rf .deps/promtool && mv "$tmp/unpacked" .deps/promtool \
    || echo "check-deploy: could not fetch promtool; the Prometheus files are checked by the Python checks only" >&2
  rm -rf "$tmp"
fi
if [ ! -x "$promtool" ] && [ -n "${CI:-}" ]; then
  # In CI the alert tests are part of what passes: their absence is a failure, not a skip.
  echo "check-deploy: FAIL no promtool, so the alert rules and their tests were not checked" >&2; status=1
fi
if [ -x "$promtool" ]; then
  tmp=$(mktemp -d)
  cp deploy/prometheus/alerts.yml "$tmp/"
  sed "s#/etc/prometheus/#$tmp/#" deploy/prometheus/prometheus.yml >"$tmp/prometheus.yml"
  if out=$("$promtool" check config "$tmp/prometheus.yml" 2>&1); then
    echo "check-deploy: promtool: prometheus.yml and alerts.yml are valid ($(grep -o '[0-9]* rules found' <<<"$out" | tail -1))"
  else
    echo "$out" >&2; echo "check-deploy: FAIL promtool check config deploy/prometheus/prometheus.yml" >&2; status=1
  fi
  # Each alert fires on the series Hookline exports, after its `for:`, and not on what it must
  # leave alone (deploy/prometheus/alerts.test.yml).
  cp deploy/prometheus/alerts.test.yml "$tmp/"
  if out=$("$promtool" test rules "$tmp/alerts.test.yml" 2>&1); then
    echo "check-deploy: promtool: alerts.test.yml passes ($(grep -c 'alertname:' deploy/prometheus/alerts.test.yml) alert checks)"
  else
    echo "$out" >&2; echo "check-deploy: FAIL promtool test rules deploy/prometheus/alerts.test.yml" >&2; status=1
  fi
  rm -rf "$tmp"
fi
exit $status
