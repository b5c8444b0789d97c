#!/usr/bin/env bash
# `make bench-gateway`: a signed 1.6 KB GitHub push under wrk (-t2 -c32, 15 s) against, each with a
# fresh embedded broker on loopback:
#   1. the HTTP-only ceiling: the gateway's HTTP stack answering 202 at once (no verify, no publish),
#      then with the gateway's verifier, then also waiting for another thread to resume the request
#      (what waiting for a delivery report costs, without a broker)
#   2. hookline-gateway: verify, publish to webhooks.github.push, 202 after the broker's ack
#   3. the produce-only ceiling: the Swift producer alone, 32 senders each awaiting its ack
#      (`send`, a task each, as the gateway), on a topic of the gateway's 6 partitions, with the
#      gateway's key (the push's repository.full_name: every record goes to one partition)
#   4. librdkafka's own ceiling there: 32 records in flight, each next one produced from the
#      delivery callback of the last (no Swift task, continuation or thread hop)
#   5. the peer: Python aiohttp + confluent-kafka doing the gateway's work (bench/peers/)
# and prints requests/s, p50/p99, the CPU time per request of the server and of the broker,
# and the ratios. Every producer (gateway, Swift, librdkafka, peer) gets the same linger.ms and
# batch.num.messages (scripts/lib/bench.sh: the gateway's defaults unless set).
# Knobs: WRK_DURATION (15s), WRK_CONNECTIONS (32), PARTITIONS (6), LINGER_MS (1), BATCH_MESSAGES (16).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench.sh
trap stop_all EXIT
bench_prepare
topic=webhooks.github.push
seconds=${WRK_DURATION%s}
partitions=${PARTITIONS:-6}
# The gateway keys a GitHub push by its repository, so one entity's events stay in order.
key=$("$BENCH_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["repository"]["full_name"])' "$BENCH_BODY")

# 1. HTTP-only ceiling, then the same with the gateway's verifier, then also suspending each
#    request until another thread resumes it (the gateway's wait for its delivery report)
# Each measurement runs in this shell (not in a $(...) subshell, whose processes the EXIT trap would
# not stop on a failure) and leaves its RESULT line in $result.
ceiling_run() {  # ARGS...: hookline-bench http-ceiling ARGS (no broker needed)
  local port line
  port=$(free_port)
  start_bg ceiling .build/release/hookline-bench http-ceiling --listen "127.0.0.1:$port" "$@"
  wait_port "$port" ceiling
  run_wrk "http://127.0.0.1:$port/webhooks/github" "${WARMUP:-2s}" >/dev/null
  line=$(run_wrk_cpu "http://127.0.0.1:$port/webhooks/github" ceiling)
  stop_processes
  # With --verify-github a wrong signature would be a fast 401: those are not the figure.
  [ "$(result_field "$line" non2xx)" = 0 ] || bench_die "FAIL: http-ceiling $* answered non-2xx: $line"
  result=$line
}
ceiling_run
ceiling=$result
bench_say "http-only ceiling: $ceiling"
ceiling_run --verify-github "$BENCH_SECRET"
verified=$result
bench_say "http + verify: $verified"
ceiling_run --verify-github "$BENCH_SECRET" --resume-from-thread
resumed=$result
bench_say "http + verify + resumed from a thread: $resumed"

# 2. the gateway
start_broker
port=$(free_port)
cat >"$BENCH_TMP/hookline.yaml" <<YAML
kafka: { brokers: "$BROKERS", partitions: $partitions, properties: { "linger.ms": "$BENCH_LINGER_MS", "batch.num.messages": "$BENCH_BATCH_MESSAGES" } }
gateway: { listen: "127.0.0.1:$port", ack_timeout_ms: 5000 }
sources:
  github: { provider: github, secrets: ["\${BENCH_SECRET}"] }
YAML
BENCH_SECRET=$BENCH_SECRET measure_server gateway "$port" "$topic" \
  .build/release/hookline-gateway --config "$BENCH_TMP/hookline.yaml" --log-level warning
gateway=$result
bench_say "hookline-gateway: $gateway"

# 3. and 4. produce-only ceilings
produce() {  # MODE: hookline-bench produce on a fresh broker
  start_broker
  result=$(.build/release/hookline-bench produce --brokers "$BROKERS" --topic "$topic" --partitions "$partitions" --key "$key" \
    --size "$(stat -c %s "$BENCH_BODY")" --mode "$1" --concurrency "$WRK_CONNECTIONS" --seconds "$seconds" \
    --property linger.ms="$BENCH_LINGER_MS" --property batch.num.messages="$BENCH_BATCH_MESSAGES" | grep '^RESULT')
  stop_processes
}
produce concurrent
produce=$result
bench_say "produce-only ceiling: $produce"
produce callbacks
callbacks=$result
bench_say "librdkafka ceiling: $callbacks"

# 5. the peer
start_broker
port=$(free_port)
measure_peer "$port" "$topic" "$partitions"
peer=$result
bench_say "peer: $peer"

row() {  # NAME RESULT [SERVER]: requests/s, latency, and CPU per request when measured
  local cpu=""
  [ -n "${3:-}" ] && cpu=$(printf '   CPU/request: server %4s us' "$(result_field "$2" "cpu_us_$3")")
  [ -n "$(result_field "$2" cpu_us_broker)" ] && cpu+=$(printf ', broker %4s us' "$(result_field "$2" cpu_us_broker)")
  printf '  %-50s %8s req/s   p50 %6s ms   p99 %6s ms%s\n' "$1" "$(result_field "$2" rps)" \
    "$(printf '%.2f' "$(result_field "$2" p50_ms)")" "$(printf '%.2f' "$(result_field "$2" p99_ms)")" "$cpu"
}
ratio() { echo "scale=2; $(result_field "$1" rps) / $(result_field "$2" rps)" | bc; }
echo
echo "wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d$WRK_DURATION, signed $(stat -c %s "$BENCH_BODY")-byte GitHub push, fresh broker each,"
echo "topic of $partitions partitions, linger.ms=$BENCH_LINGER_MS, batch.num.messages=$BENCH_BATCH_MESSAGES:"
row "HTTP-only ceiling (same HTTP stack, 202 at once)" "$ceiling" ceiling
row "  + the gateway's verifier" "$verified" ceiling
row "  + resumed from another thread (no broker)" "$resumed" ceiling
row "hookline-gateway (verify + publish + ack)" "$gateway" gateway
row "produce-only ceiling (Swift producer, $WRK_CONNECTIONS senders)" "$produce"
row "librdkafka ceiling ($WRK_CONNECTIONS in flight, from callbacks)" "$callbacks"
row "peer (Python aiohttp + confluent-kafka)" "$peer" peer
echo "  gateway / peer:              $(ratio "$gateway" "$peer")x   (goal >= 3)"
echo "  gateway / HTTP-only ceiling: $(ratio "$gateway" "$ceiling")    (goal >= 0.60)"
echo "  gateway / produce-only:      $(ratio "$gateway" "$produce")"
echo "  gateway / librdkafka:        $(ratio "$gateway" "$callbacks")"
echo "  gateway p99: $(result_field "$gateway" p99_ms) ms (goal < 25 ms)"
