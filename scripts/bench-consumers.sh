#!/usr/bin/env bash
# `make bench-consumers`: preload 200,000 order events into a fresh embedded broker, then measure
# the Swift consumer's raw rate (no-op handler) and the orders service applying them with durable
# effects, in the same run; prints events/s of both and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/broker.sh
port=$(free_loopback_port)
log=$(mktemp)
(tansu_run "127.0.0.1:$port" "hookline-bench-$port") >"$log" 2>&1 &
broker=$!
trap 'kill $broker 2>/dev/null; rm -f "$log"' EXIT
wait_for_port "$port"
dir=$(mktemp -d)
.build/release/hookline-bench consume --brokers "127.0.0.1:$port" --count "${COUNT:-200000}" --directory "$dir"
rm -rf "$dir"
