#!/usr/bin/env bash
# `make bench-gateway`: a signed 1.6 KB GitHub push under wrk (-t2 -c32, 15 s) against, each with a
# fresh embedded broker on loopback:
#   1. the HTTP-only ceiling: the gateway's HTTP stack answering 202 at once (no verify, no publish)
#   2. hookline-gateway: verify, publish to webhooks.github.push, 202 after the broker's ack
#   3. the produce-only ceiling: the Swift producer alone, 32 senders each awaiting its ack
#   4. the peer: Python aiohttp + confluent-kafka doing the gateway's work (bench/peers/)
# and prints requests/s, p50/p99 and the ratios. Knobs: WRK_DURATION (15s), WRK_CONNECTIONS (32).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench.sh
trap stop_all EXIT
bench_prepare
topic=webhooks.github.push
seconds=${WRK_DURATION%s}

measure_http() {  # NAME URL: warm up, run wrk, print the RESULT line
  run_wrk "$2" "${WARMUP:-2s}" >/dev/null
  run_wrk "$2"
}

# 1. HTTP-only ceiling
start_broker
port=$(free_port)
start_bg ceiling .build/release/hookline-bench http-ceiling --listen "127.0.0.1:$port"
wait_port "$port" ceiling
ceiling=$(measure_http ceiling "http://127.0.0.1:$port/webhooks/github")
bench_say "http-only ceiling: $ceiling"
stop_processes

# 2. the gateway
start_broker
port=$(free_port)
cat >"$BENCH_TMP/hookline.yaml" <<YAML
kafka: { brokers: "$BROKERS", partitions: 6 }
gateway: { listen: "127.0.0.1:$port", ack_timeout_ms: 5000 }
sources:
  github: { provider: github, secrets: ["\${BENCH_SECRET}"] }
YAML
BENCH_SECRET=$BENCH_SECRET start_bg gateway .build/release/hookline-gateway --config "$BENCH_TMP/hookline.yaml" --log-level warning
wait_port "$port" gateway
run_wrk "http://127.0.0.1:$port/webhooks/github" "${WARMUP:-2s}" >/dev/null
before=$(topic_messages "$topic")
gateway=$(run_wrk "http://127.0.0.1:$port/webhooks/github")
check_published "$gateway" "$before" "$topic"
bench_say "hookline-gateway: $gateway"
stop_processes

# 3. produce-only ceiling
start_broker
produce=$(.build/release/hookline-bench produce --brokers "$BROKERS" --topic "$topic" --size "$(stat -c %s "$BENCH_BODY")" \
  --mode concurrent --concurrency "$WRK_CONNECTIONS" --seconds "$seconds" --property linger.ms=1 | grep '^RESULT')
bench_say "produce-only ceiling: $produce"
stop_processes

# 4. the peer
start_broker
port=$(free_port)
start_bg peer "$BENCH_PY" bench/peers/github_gateway.py --listen "127.0.0.1:$port" --brokers "$BROKERS" \
  --secret "$BENCH_SECRET" --partitions 6 --linger-ms 1
wait_port "$port" peer
run_wrk "http://127.0.0.1:$port/webhooks/github" "${WARMUP:-2s}" >/dev/null
before=$(topic_messages "$topic")
peer=$(run_wrk "http://127.0.0.1:$port/webhooks/github")
check_published "$peer" "$before" "$topic"
bench_say "peer: $peer"
stop_processes

row() {  # NAME RESULT
  printf '  %-46s %8s req/s   p50 %6s ms   p99 %6s ms\n' "$1" "$(result_field "$2" rps)" \
    "$(printf '%.2f' "$(result_field "$2" p50_ms)")" "$(printf '%.2f' "$(result_field "$2" p99_ms)")"
}
ratio() { echo "scale=2; $(result_field "$1" rps) / $(result_field "$2" rps)" | bc; }
echo
echo "wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d$WRK_DURATION, signed $(stat -c %s "$BENCH_BODY")-byte GitHub push, fresh broker each:"
row "HTTP-only ceiling (same HTTP stack, 202 at once)" "$ceiling"
row "hookline-gateway (verify + publish + ack)" "$gateway"
row "produce-only ceiling (Swift producer, 32 senders)" "$produce"
row "peer (Python aiohttp + confluent-kafka)" "$peer"
echo "  gateway / peer:              $(ratio "$gateway" "$peer")x   (goal >= 3)"
echo "  gateway / HTTP-only ceiling: $(ratio "$gateway" "$ceiling")    (goal >= 0.60)"
echo "  gateway / produce-only:      $(ratio "$gateway" "$produce")"
echo "  gateway p99: $(result_field "$gateway" p99_ms) ms (goal < 25 ms)"
