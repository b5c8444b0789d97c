#!/usr/bin/env bash
# `make bench-instructions`: instructions a request, counted by valgrind's callgrind, for the
# gateway and for its HTTP-only ceilings (202 at once; with the verifier, answered from another
# thread), each under a bounded wrk load of the signed 1.6 KB GitHub push. Unlike requests/s on
# this shared virtual machine, whose speed drifts by a quarter within minutes, an instruction
# count repeats, so it can judge a change to the request path that wrk cannot tell from the noise.
# It counts user-space instructions only: the kernel's work (system calls, waking threads) and
# the broker's are not in it, and under callgrind BoringSSL hashes without the SHA extensions.
#
# Prints each row's instructions a request and its ratio to the ceiling, and the gateway's
# functions that cost the most (their own instructions, not their callees').
# Knobs: DURATION (wrk's -d while counting, 20s), CONNECTIONS (8), TOP (25), and INCLUSIVE, a
# regular expression: the gateway's functions whose names match it are also listed with their
# callees' instructions included (INCLUSIVE='GatewayReply.accepted' for the 202's body); and
# CALLERS, a regular expression: the functions that call those matching it, with their calls a
# request (CALLERS='^swift_beginAccess$' for what pays for exclusivity checks).
set -euo pipefail
source "$(dirname "$0")/lib/bench.sh"
trap stop_all EXIT
bench_prepare
command -v valgrind >/dev/null || bench_die "valgrind is missing: make bench-instructions installs it (scripts/setup.sh --bench)"
duration=${DURATION:-20s}
# valgrind 3.19 cannot read the debug information of a Swift release build: give it copies
# without (the symbol table, which names the functions, stays).
for binary in hookline-gateway hookline-bench; do
  strip --strip-debug -o "$BENCH_TMP/$binary" "$BENCH_ROOT/.build/release/$binary"
done

# count NAME PORT CMD...: runs CMD (which listens on PORT) under callgrind, warms it up, counts
# while wrk runs for $duration, and leaves "instructions requests" in $BENCH_TMP/NAME.count.
count() {
  local name=$1 port=$2 line; shift 2
  start_bg "$name" valgrind --tool=callgrind --callgrind-out-file="$BENCH_TMP/$name.callgrind" "$@"
  wait_port "$port" "$name" 120
  WRK_CONNECTIONS=${CONNECTIONS:-8} WRK_THREADS=1 run_wrk "http://127.0.0.1:$port/webhooks/github" 5s >/dev/null
  callgrind_control --zero "$(bg_pid "$name")" >/dev/null 2>&1 || bench_die "callgrind_control could not reach $name"
  line=$(WRK_CONNECTIONS=${CONNECTIONS:-8} WRK_THREADS=1 run_wrk "http://127.0.0.1:$port/webhooks/github" "$duration")
  callgrind_control --dump "$(bg_pid "$name")" >/dev/null 2>&1 || bench_die "callgrind_control could not reach $name"
  require_2xx "$line" "$name"
  stop_processes
  # The dump of the counted stretch is part 1 (the rest, up to the exit, is part 0).
  echo "$(awk '/^summary:/ { print $2 }' "$BENCH_TMP/$name.callgrind.1") $(result_field "$line" requests)" >"$BENCH_TMP/$name.count"
  bench_say "$name: $(cat "$BENCH_TMP/$name.count") (instructions, requests)"
}

port=$(free_port)
count ceiling "$port" "$BENCH_TMP/hookline-bench" http-ceiling --listen "127.0.0.1:$port"
port=$(free_port)
count resumed "$port" "$BENCH_TMP/hookline-bench" http-ceiling --listen "127.0.0.1:$port" \
  --verify-github "$BENCH_SECRET" --resume-from-thread
start_broker
port=$(free_port)
cat >"$BENCH_TMP/hookline.yaml" <<YAML
kafka: { brokers: "$BROKERS", properties: { "linger.ms": "$BENCH_LINGER_MS", "batch.num.messages": "$BENCH_BATCH_MESSAGES" } }
gateway: { listen: "127.0.0.1:$port", ack_timeout_ms: 30000 }
sources:
  github: { provider: github, secrets: ["\${BENCH_SECRET}"] }
YAML
BENCH_SECRET=$BENCH_SECRET count gateway "$port" "$BENCH_TMP/hookline-gateway" --config "$BENCH_TMP/hookline.yaml" --log-level warning

per_request() { awk '{ printf "%d", $1 / $2 }' "$BENCH_TMP/$1.count"; }
ceiling=$(per_request ceiling)
echo
echo "instructions a request under callgrind (wrk -t1 -c${CONNECTIONS:-8} -d$duration, signed $(stat -c %s "$BENCH_BODY")-byte GitHub push):"
for row in ceiling resumed gateway; do
  case $row in
    ceiling) label="HTTP-only ceiling (202 at once)" ;;
    resumed) label="  + verifier, answered from another thread" ;;
    gateway) label="hookline-gateway (verify + publish + ack)" ;;
  esac
  printf '  %-45s %9s   %s x the ceiling\n' "$label" "$(per_request "$row")" "$(awk -v a="$(per_request "$row")" -v b="$ceiling" 'BEGIN { printf "%.2f", a / b }')"
done
echo
echo "the gateway's functions by their own instructions a request:"
python3 "$BENCH_ROOT/scripts/lib/callgrind_top.py" "$BENCH_TMP/gateway.callgrind.1" "$(awk '{ print $2 }' "$BENCH_TMP/gateway.count")" \
  --top "${TOP:-25}" ${INCLUSIVE:+--inclusive "$INCLUSIVE"} ${CALLERS:+--callers "$CALLERS"}
