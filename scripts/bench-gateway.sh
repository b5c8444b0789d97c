#!/usr/bin/env bash
# `make bench-gateway`: a signed 1.6 KB GitHub push under wrk (-t2 -c32, 15 s) against, each with a
# fresh embedded broker on loopback:
#   1. the HTTP-only ceiling: the gateway's HTTP stack (its own NIO HTTP/1.1 server, GatewayServer,
#      with the event-loop webhook handler) answering 202 at once (no verify, no publish), then
#      with the gateway's verifier, then also answered from another thread (as the gateway answers
#      from its delivery report, without a broker); and the same server answering through
#      Hummingbird's router instead (a task per connection: how the gateway answered until 11-26)
#   2. hookline-gateway: verify, publish to webhooks.github.push, 202 after the broker's ack
#   3. the produce-only ceiling: the Swift producer alone, 32 senders each awaiting its ack
#      (`send`, a task each, as the gateway), on a topic of the gateway's 6 partitions, with the
#      gateway's key (the push's repository.full_name: every record goes to one partition)
#   4. librdkafka's own ceiling there: 32 records in flight, each next one produced from the
#      delivery callback of the last (no Swift task, continuation or thread hop)
#   5. the peer: Python aiohttp + confluent-kafka doing the gateway's work (bench/peers/)
# and prints requests/s, p50/p99, the CPU time per request of the server, of the broker and of the
# whole machine (and how busy its cores were), and the ratios. From the two ceilings' machine CPU
# it also prints the most any gateway on this HTTP stack and librdkafka could serve here (the cores'
# time over the sum of the two), and that bound's ratios to the ceiling and the peer. Every
# producer (gateway, Swift, librdkafka, peer) gets the same linger.ms and batch.num.messages
# (scripts/lib/bench.sh: the gateway's defaults unless set).
# This shared 2-core machine drifts by a quarter within minutes, so the rows run in ROUNDS rounds,
# each in a rotated order; the table shows each row's median run, and each ratio is the median of
# the ratios within a round (the two runs it compares a few minutes apart at most).
# Knobs: ROWS (all of: ceiling verified resumed router gateway produce callbacks peer), ROUNDS (3),
# WRK_DURATION (15s), WRK_CONNECTIONS (32), WRK_CLOSE (1: every request on a new connection, as
# from a sender or proxy that does not keep connections alive), PARTITIONS (6), LINGER_MS (1),
# BATCH_MESSAGES (16), and
# GATEWAY_PROPERTIES: more librdkafka properties for the gateway row only, as YAML mapping entries
# (GATEWAY_PROPERTIES='"socket.nagle.disable": "true"').
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench.sh
trap stop_all EXIT
all_rows="ceiling verified resumed router gateway produce callbacks peer"
read -r -a rows <<<"${ROWS:-$all_rows}"
for name in "${rows[@]}"; do
  [[ " $all_rows " == *" $name "* ]] || bench_die "unknown row $name in ROWS (rows: $all_rows)"
done
rounds=${ROUNDS:-3}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || bench_die "ROUNDS must be a positive count, not $rounds"
bench_prepare
topic=webhooks.github.push
seconds=${WRK_DURATION%s}
partitions=${PARTITIONS:-6}
# The gateway keys a GitHub push by its repository, so one entity's events stay in order.
key=$("$BENCH_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["repository"]["full_name"])' "$BENCH_BODY")

# Each measurement runs in this shell (not in a $(...) subshell, whose processes the EXIT trap would
# not stop on a failure) and leaves its RESULT line in $result.

# The HTTP-only ceiling (no broker needed); with --verify-github the gateway's verifier too, with
# --resume-from-thread each request is answered from another thread (as the gateway answers from
# its delivery report), and with --router through Hummingbird's router instead.
ceiling_run() {  # ARGS...: hookline-bench http-ceiling ARGS
  local port line
  port=$(free_port)
  start_bg ceiling .build/release/hookline-bench http-ceiling --listen "127.0.0.1:$port" "$@"
  wait_port "$port" ceiling
  run_wrk "http://127.0.0.1:$port/webhooks/github" "${WARMUP:-2s}" >/dev/null
  line=$(run_wrk_cpu "http://127.0.0.1:$port/webhooks/github" ceiling)
  stop_processes
  # With --verify-github a wrong signature would be a fast 401: those are not the figure.
  require_2xx "$line" "http-ceiling $*"
  result=$line
}

gateway_run() {
  local port
  start_broker
  port=$(free_port)
  cat >"$BENCH_TMP/hookline.yaml" <<YAML
kafka: { brokers: "$BROKERS", partitions: $partitions, properties: { "linger.ms": "$BENCH_LINGER_MS", "batch.num.messages": "$BENCH_BATCH_MESSAGES"${GATEWAY_PROPERTIES:+, $GATEWAY_PROPERTIES} } }
gateway: { listen: "127.0.0.1:$port", ack_timeout_ms: 5000 }
sources:
  github: { provider: github, secrets: ["\${BENCH_SECRET}"] }
YAML
  BENCH_SECRET=$BENCH_SECRET measure_server gateway "$port" "$topic" \
    .build/release/hookline-gateway --config "$BENCH_TMP/hookline.yaml" --log-level warning
}

produce_run() {  # MODE: hookline-bench produce on a fresh broker, with the broker's CPU a record
  local broker_before
  start_broker
  broker_before=$(cpu_ticks broker)
  result=$(.build/release/hookline-bench produce --brokers "$BROKERS" --topic "$topic" --partitions "$partitions" --key "$key" \
    --size "$(stat -c %s "$BENCH_BODY")" --mode "$1" --concurrency "$WRK_CONNECTIONS" --seconds "$seconds" \
    --property linger.ms="$BENCH_LINGER_MS" --property batch.num.messages="$BENCH_BATCH_MESSAGES" | grep '^RESULT')
  # Over the whole command (the topic's creation and the first record too): a little high.
  result+=" cpu_us_broker=$(( ($(cpu_ticks broker) - broker_before) * 1000000 / $(getconf CLK_TCK) / $(result_field "$result" requests) ))"
  stop_processes
}

peer_run() {
  local port
  start_broker
  port=$(free_port)
  measure_peer "$port" "$topic" "$partitions"
}

# measure ROW: one run of a row, its RESULT line kept as results[ROW.ROUND].
measure() {
  case $1 in
    ceiling) ceiling_run ;;
    verified) ceiling_run --verify-github "$BENCH_SECRET" ;;
    resumed) ceiling_run --verify-github "$BENCH_SECRET" --resume-from-thread ;;
    router) ceiling_run --router ;;
    gateway) gateway_run ;;
    produce) produce_run concurrent ;;
    callbacks) produce_run callbacks ;;
    peer) peer_run ;;
  esac
  results[$1.$round]=$result
  bench_say "round $round, $1: $result"
}

declare -A results
for ((round = 1; round <= rounds; round++)); do
  for ((i = 0; i < ${#rows[@]}; i++)); do
    measure "${rows[$(( (i + round - 1) % ${#rows[@]} ))]}"
  done
done

# The most webhooks/s any gateway could serve here with this HTTP stack and librdkafka, round by
# round, kept as a row of its own: the cores' time over the machine CPU that one request of the
# HTTP-only ceiling (wrk and the server) and one record of the librdkafka ceiling (producer and
# broker) cost. A gateway does both, and verifies and hands answers between threads on top, so it
# can do no better unless it is cheaper than either part measured alone. Optimistic besides: at a
# lower rate each request costs more (fewer events per wake-up).
if [ -n "${results[ceiling.1]:-}" ] && [ -n "${results[callbacks.1]:-}" ]; then
  for ((round = 1; round <= rounds; round++)); do
    http=$(result_field "${results[ceiling.$round]}" cpu_us_machine)
    produce=$(result_field "${results[callbacks.$round]}" cpu_us_machine)
    results[bound.$round]="RESULT rps=$(( $(nproc) * 1000000 / (http + produce) )) cpu_us_http=$http cpu_us_produce=$produce"
  done
fi

# middle: the lower middle one of the lines on stdin, in numeric order of their first field.
middle() { sort -n | awk '{ v[NR] = $0 } END { print v[int((NR + 1) / 2)] }'; }
# median ROW: the RESULT line of the row's median run by requests/s.
median() {
  local round
  for ((round = 1; round <= rounds; round++)); do
    printf '%s %s\n' "$(result_field "${results[$1.$round]}" rps)" "$round"
  done | middle | { read -r _ round; printf '%s\n' "${results[$1.$round]}"; }
}
# ratio A B: the median over the rounds of A's requests/s over B's in the same round, and each round's.
ratio() {
  local round each=()
  for ((round = 1; round <= rounds; round++)); do
    each+=("$(awk -v a="$(result_field "${results[$1.$round]}" rps)" -v b="$(result_field "${results[$2.$round]}" rps)" 'BEGIN { printf "%.2f", a / b }')")
  done
  printf '%s   (rounds: %s)' "$(printf '%s\n' "${each[@]}" | middle)" "${each[*]}"
}

row() {  # NAME RESULT [SERVER]: requests/s, latency, and the CPU per request that was measured
  local parts=()
  [ -n "${3:-}" ] && parts+=("$(printf 'server %4s us' "$(result_field "$2" "cpu_us_$3")")")
  [ -n "$(result_field "$2" cpu_us_broker)" ] && parts+=("$(printf 'broker %4s us' "$(result_field "$2" cpu_us_broker)")")
  [ -n "$(result_field "$2" cpu_us_machine)" ] &&
    parts+=("$(printf 'machine %4s us (%s%% busy, %s%% stolen)' "$(result_field "$2" cpu_us_machine)" "$(result_field "$2" busy_pct)" "$(result_field "$2" steal_pct)")")
  local cpu="" part
  for part in "${parts[@]}"; do cpu+="${cpu:+, }$part"; done
  [ -z "$cpu" ] || cpu="   CPU/request: $cpu"
  printf '  %-50s %8s req/s   p50 %6s ms   p99 %6s ms%s\n' "$1" "$(result_field "$2" rps)" \
    "$(printf '%.2f' "$(result_field "$2" p50_ms)")" "$(printf '%.2f' "$(result_field "$2" p99_ms)")" "$cpu"
}
echo
echo "wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d$WRK_DURATION, signed $(stat -c %s "$BENCH_BODY")-byte GitHub push, fresh broker each,"
echo "topic of $partitions partitions, linger.ms=$BENCH_LINGER_MS, batch.num.messages=$BENCH_BATCH_MESSAGES; median of $rounds rounds$( ((rounds % 2)) || echo ' (an even count: the lower of the two middle ones)'):"
measured() { [ -n "${results[$1.1]:-}" ]; }
show() {  # ROW NAME [SERVER]: the row's median run, if it was measured
  measured "$1" && row "$2" "$(median "$1")" "${3:-}"
  return 0
}
show_ratio() {  # A B LABEL [GOAL]: A over B, if both were measured
  measured "$1" && measured "$2" && printf '  %-28s %s%s\n' "$3:" "$(ratio "$1" "$2")" "${4:+   goal $4}"
  return 0
}
show ceiling "HTTP-only ceiling (same HTTP stack, 202 at once)" ceiling
show verified "  + the gateway's verifier" ceiling
show resumed "  + answered from another thread (no broker)" ceiling
show router "HTTP-only ceiling through Hummingbird's router" ceiling
show gateway "hookline-gateway (verify + publish + ack)" gateway
show produce "produce-only ceiling (Swift producer, $WRK_CONNECTIONS senders)"
show callbacks "librdkafka ceiling ($WRK_CONNECTIONS in flight, from callbacks)"
show peer "peer (Python aiohttp + confluent-kafka)" peer
show_ratio gateway peer "gateway / peer" ">= 3"
show_ratio gateway ceiling "gateway / HTTP-only ceiling" ">= 0.60"
show_ratio gateway router "gateway / router ceiling"
show_ratio gateway produce "gateway / produce-only"
show_ratio gateway callbacks "gateway / librdkafka"
if measured bound; then
  echo "  at most, any gateway here:   $(result_field "$(median bound)" rps) req/s = $(nproc) cores / (HTTP-only ceiling's + librdkafka ceiling's machine CPU a request)"
  show_ratio bound ceiling "  that / HTTP-only ceiling"
  show_ratio bound peer "  that / peer"
fi
if measured gateway; then echo "  gateway p99: $(result_field "$(median gateway)" p99_ms) ms (goal < 25 ms)"; fi
# Runs that lost a tenth of the cores' time or more to the hypervisor, round by round: their
# figures (and the ratios of their rounds) measure the host more than the code (docs/benchmarks.md).
for ((round = 1; round <= rounds; round++)); do
  stolen=""
  for name in "${rows[@]}"; do
    steal=$(result_field "${results[$name.$round]}" steal_pct)
    if [ -n "$steal" ] && (( steal >= 10 )); then stolen+="${stolen:+, }$name $steal%"; fi
  done
  [ -z "$stolen" ] || echo "  round $round lost time to the hypervisor: $stolen"
done
