#!/usr/bin/env bash
# `make bench-consumers`: preload 200,000 order events into a fresh embedded broker, then measure
# the Swift consumer's raw rate (no-op handler) and the orders service applying them with durable
# effects, in the same run; prints events/s of both and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
.deps/bin/tansu broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
  --storage-engine memory://tansu/ --cluster-id "hookline-bench-$port" >"$log" 2>&1 &
broker=$!
trap 'kill $broker 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
dir=$(mktemp -d)
.build/release/hookline-bench consume --brokers "127.0.0.1:$port" --count "${COUNT:-200000}" --directory "$dir"
rm -rf "$dir"
