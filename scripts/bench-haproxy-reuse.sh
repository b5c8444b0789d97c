#!/usr/bin/env bash
# `make bench-haproxy-reuse`: whether senders that open a connection per webhook cost the gateway a
# connection each when HAProxy stands in front, as in deploy/. One gateway on a fresh embedded
# broker behind Debian's HAProxy with deploy/'s settings (health checks, retries, buffered
# requests); wrk sends the signed GitHub push to HAProxy with `Connection: close` (WRK_CLOSE=1),
# once with HAProxy's default connection reuse and once with `http-reuse never` for contrast.
# Prints, for each, wrk's requests/s and the gateway's new connections against its requests
# (hookline_gateway_connections_total and _requests_total, read before and after; HAProxy's
# health checks open a connection each, once a second).
#
# Knobs: WRK_DURATION (5s), WRK_CONNECTIONS (16).
set -euo pipefail
cd "$(dirname "$0")/.."
WRK_CONNECTIONS=${WRK_CONNECTIONS:-16} WRK_DURATION=${WRK_DURATION:-5s}
source scripts/lib/bench.sh
source scripts/lib/haproxy.sh
trap stop_all EXIT
bench_prepare
command -v haproxy >/dev/null || bench_die "haproxy is missing (scripts/setup.sh --run installs it)"
export WRK_CLOSE=1

# counter PORT NAME: the sum of a gateway metric's samples.
counter() { curl -fsS "http://127.0.0.1:$1/metrics" | awk -v name="$2" '$1 ~ "^" name {sum += $2} END {print sum + 0}'; }

for reuse in default never; do
  start_broker
  port=$(free_port)
  lb_port=$(free_port)
  cat >"$BENCH_TMP/hookline.yaml" <<YAML
kafka: { brokers: "$BROKERS", partitions: 6 }
gateway: { listen: "127.0.0.1:$port" }
sources:
  github: { provider: github, secrets: ["\${BENCH_SECRET}"] }
YAML
  BENCH_SECRET=$BENCH_SECRET start_bg gateway .build/release/hookline-gateway --config "$BENCH_TMP/hookline.yaml" --log-level warning
  wait_port "$port" gateway
  haproxy_config "$lb_port" "    server gateway 127.0.0.1:$port check" \
    "$([ "$reuse" = default ] || echo "    http-reuse $reuse")" >"$BENCH_TMP/haproxy.cfg"
  start_bg haproxy haproxy -db -f "$BENCH_TMP/haproxy.cfg"
  wait_port "$lb_port" haproxy
  url="http://127.0.0.1:$lb_port/webhooks/github"
  run_wrk "$url" 2s >/dev/null
  connections=$(counter "$port" hookline_gateway_connections_total)
  requests=$(counter "$port" hookline_gateway_requests_total)
  line=$(run_wrk "$url")
  connections=$(($(counter "$port" hookline_gateway_connections_total) - connections))
  requests=$(($(counter "$port" hookline_gateway_requests_total) - requests))
  require_2xx "$line" "the gateway through HAProxy"
  printf 'http-reuse %-8s wrk %6s requests/s; the gateway got %6s requests on %6s connections\n' \
    "$reuse" "$(result_field "$line" rps)" "$requests" "$connections"
  stop_processes
done
