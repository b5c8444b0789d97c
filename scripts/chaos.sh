#!/usr/bin/env bash
# `make chaos`: the `make run` topology (three gateways behind HAProxy) under a load of signed
# webhooks; one gateway is SIGKILLed midway. Passes when every request that got a 2xx is in
# Kafka and applied by the orders service. Runs its own stack in .state/chaos (fresh each
# time) on the usual ports, so stop `make run` first.
# Environment: COUNT (4000 requests), CONCURRENCY (16), KILL_AFTER (COUNT/4), HOOKLINE_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${HOOKLINE_BIN:-$PWD/.build/release}
state=$PWD/.state/chaos
count=${COUNT:-4000}
rm -rf "$state"
mkdir -p "$state"

HOOKLINE_STATE=$state HOOKLINE_BIN=$bin GATEWAYS=3 scripts/run-local.sh >"$state/run.out" 2>&1 &
stack=$!
trap 'kill -TERM $stack 2>/dev/null; wait $stack 2>/dev/null || true' EXIT
for _ in $(seq 600); do [ -f "$state/ready" ] && break; kill -0 $stack 2>/dev/null || break; sleep 0.1; done
[ -f "$state/ready" ] || { echo "chaos: the stack did not start:"; cat "$state/run.out"; exit 1; }
source "$state/env"
victim=$(awk '$1 == "gateway-2" {print $2}' "$state/pids")
[ -n "$victim" ] || { echo "chaos: no gateway-2 in $state/pids" >&2; exit 1; }
echo "chaos: stack up (3 gateways behind HAProxy on 127.0.0.1:8080); SIGKILL gateway-2 (pid $victim) after $(( ${KILL_AFTER:-count / 4} )) of $count requests"

status=0
"$bin/hookline-bench" chaos --secret "$LEGACY_WEBHOOK_SECRET" --brokers "$KAFKA_BROKERS" \
  --orders-database "$state/data/orders.sqlite" --count "$count" --concurrency "${CONCURRENCY:-16}" \
  --kill "$victim" --kill-after "$(( ${KILL_AFTER:-count / 4} ))" || status=$?
grep -m1 'gateway-2 is DOWN' "$state/logs/haproxy.log" | sed 's/^/haproxy: /' || echo "haproxy: never marked gateway-2 DOWN"
exit $status
