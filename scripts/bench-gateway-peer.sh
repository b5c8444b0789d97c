#!/usr/bin/env bash
# The peer half of `make bench-gateway`: the Python aiohttp + confluent-kafka gateway
# (bench/peers/github_gateway.py) under wrk, against a fresh embedded broker (Tansu, memory).
#
#   scripts/bench-gateway-peer.sh        # prints "peer …: RESULT rps=… p50_ms=… p99_ms=… …"
#
# Steps (measure_peer in scripts/lib/bench.sh): a fresh broker on a free loopback port, the peer
# (it creates webhooks.github.push with 6 partitions through the admin API on first use), a 2 s
# warm-up, wrk -t2 -c32 -d15s with a signed 1.6 KB push event, then a check that every answer was
# a 2xx and the topic gained at least as many messages as wrk counted. Everything is torn down on
# exit.
# Knobs: WRK_DURATION, WRK_CONNECTIONS, WRK_THREADS, WARMUP (2s), LINGER_MS (1) and
# BATCH_MESSAGES (16), the gateway's producer defaults, BENCH_KEEP_LOGS=1.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench.sh
trap stop_all EXIT

bench_prepare
start_broker
measure_peer "$(free_port)" webhooks.github.push 6
echo "peer (python aiohttp + confluent-kafka, 1 process): $result"
