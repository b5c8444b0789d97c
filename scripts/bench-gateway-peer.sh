#!/usr/bin/env bash
# The peer half of `make bench-gateway`: the Python aiohttp + confluent-kafka gateway
# (bench/peers/github_gateway.py) under wrk, against a fresh embedded broker (Tansu, memory).
#
#   scripts/bench-gateway-peer.sh        # prints "RESULT rps=… p50_ms=… p99_ms=… …"
#
# Steps: wrk + the peer venv, a fresh broker on a free loopback port, the peer (it creates
# webhooks.github.push with 6 partitions through the admin API on first use), a 2 s warm-up,
# wrk -t2 -c32 -d15s with a signed 1.6 KB push event, then a check that the topic gained at least
# as many messages as wrk counted 2xx responses. Everything is torn down on exit.
# Knobs: WRK_DURATION, WRK_CONNECTIONS, WRK_THREADS, WARMUP (2s), LINGER_MS (1) and
# BATCH_MESSAGES (16), the gateway's producer defaults, BENCH_KEEP_LOGS=1.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench.sh
trap stop_all EXIT

topic=webhooks.github.push
bench_prepare
start_broker

port=$(free_port)
start_bg peer "$BENCH_PY" bench/peers/github_gateway.py --listen "127.0.0.1:$port" --brokers "$BROKERS" \
  --secret "$BENCH_SECRET" --partitions 6 \
  --property linger.ms="${LINGER_MS:-1}" --property batch.num.messages="${BATCH_MESSAGES:-16}"
wait_port "$port" peer
url="http://127.0.0.1:$port/webhooks/github"

bench_say "warm-up ${WARMUP:-2s}"
run_wrk "$url" "${WARMUP:-2s}" >/dev/null
before=$(topic_messages "$topic")

bench_say "wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d$WRK_DURATION -s bench/wrk/signed-post.lua $url"
line=$(run_wrk "$url")
echo "peer (python aiohttp + confluent-kafka, 1 process): $line"
check_published "$line" "$before" "$topic"
